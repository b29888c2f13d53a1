"""Dataset building: labels exactly on assistant spans, loss weights, data sources, inspect."""

from __future__ import annotations

import json

import pytest

from tooltune.errors import TooltuneError
from tooltune.formats import get_format
from tooltune.formats.chat import ChatRenderer
from tooltune.lang import dialogue_lang
from tooltune.messages import Sample
from tooltune.train.dataset import DEMO_CORPUS, IGNORE, build_corpus, build_example, load_samples
from tooltune.train.inspect import highlight, summary


def _decode_trained(tokenizer, example, min_weight=None):
    keep = [t for i, (t, lab) in enumerate(zip(example.input_ids, example.labels))
            if lab != IGNORE and (min_weight is None or example.weights[i] >= min_weight)]
    return tokenizer.decode(keep)


def test_demo_corpus_is_canonical_with_hard_negatives(demo_samples):
    assert 20 <= len(demo_samples) <= 40
    no_tool = [s for s in demo_samples if not any(m.tool_calls for m in s.messages)]
    assert 0.1 <= len(no_tool) / len(demo_samples) <= 0.35
    used = {c.name for s in demo_samples for m in s.messages for c in m.tool_calls}
    assert used == {"calculator", "current_time", "web_search"}
    assert any("\u4e00" <= ch <= "\u9fff" for s in demo_samples for ch in s.messages[0].text)  # zh too
    # Tool results are what the real tools return.
    from tooltune.tools import builtin_registry

    calc = next(m for s in demo_samples for m in s.messages if m.role == "tool" and m.name == "calculator")
    call = next(c for s in demo_samples for m in s.messages for c in m.tool_calls if c.id == calc.tool_call_id)
    assert builtin_registry().get("calculator").invoke(call.arguments).output == calc.content


def test_labels_are_the_ids_on_assistant_spans_and_minus_100_elsewhere(smol_tokenizer, demo_samples):
    sample = next(s for s in demo_samples if sum(m.role == "user" for m in s.messages) == 3)
    example = build_example(sample, get_format("react"), ChatRenderer(smol_tokenizer))
    assert all(lab in (IGNORE, tok) for tok, lab in zip(example.input_ids, example.labels))
    trained = _decode_trained(smol_tokenizer, example)
    assert 'Action: calculator\nAction Input: {"expression": "144 + 56"}\nObservation:' in trained
    assert "Thought: Add 56 to 144." in trained and "Final Answer: You're welcome!" in trained
    assert trained.count("<|im_end|>") == 3  # one end-of-turn per assistant turn
    for untrained in ("And what is that plus 56?", "Thanks!", "<|im_start|>", "calculator: Call this tool", ' {"result": 200}\n'):
        assert untrained not in trained
    # Observations are context, not learned: trained text jumps from "Observation:" to the next Thought.
    assert trained.count("Observation:Thought:") == 2 and " 144\n" not in trained


def test_react_loss_scale_doubles_action_spans(smol_tokenizer, demo_samples):
    sample = demo_samples[0]
    example = build_example(sample, get_format("react"), ChatRenderer(smol_tokenizer), loss_scale="react")
    plain = build_example(sample, get_format("react"), ChatRenderer(smol_tokenizer))
    assert example.input_ids == plain.input_ids and example.labels == plain.labels
    doubled = _decode_trained(smol_tokenizer, example, min_weight=2.0)
    assert "Action: calculator" in doubled and '"expression": "23 * 47 + 12"' in doubled
    assert "Thought" not in doubled and "Final Answer" not in doubled
    assert all(w == 0.0 for w, lab in zip(example.weights, example.labels) if lab == IGNORE)
    with pytest.raises(TooltuneError, match="unknown loss scale"):
        build_example(sample, get_format("react"), ChatRenderer(smol_tokenizer), loss_scale="agentflan")


def _full(sample, tokenizer, fmt="json"):
    return build_example(sample, get_format(fmt, dialogue_lang(sample.messages)), ChatRenderer(tokenizer))


def test_overlong_samples_go_whole_to_eval_never_truncated(smol_tokenizer, demo_samples):
    full = [_full(s, smol_tokenizer) for s in demo_samples]
    too_long = {i for i, e in enumerate(full) if len(e) > 600}
    corpus = build_corpus(demo_samples, smol_tokenizer, "json", max_length=600, eval_split=0.2)
    fitting = len(demo_samples) - len(too_long)
    assert 0 < len(too_long) < len(demo_samples)
    assert (corpus.overlong, corpus.trimmed) == (len(too_long), 0)
    assert len(corpus.train) + len(corpus.eval) == len(demo_samples)
    assert len(corpus.eval) == round(0.2 * fitting) + len(too_long)
    assert too_long <= {e.source for e in corpus.eval} and too_long.isdisjoint(e.source for e in corpus.train)
    for e in corpus.train + corpus.eval:  # every example is its whole sample, never a cut one
        assert (e.input_ids, e.labels) == (full[e.source].input_ids, full[e.source].labels)
    with pytest.raises(TooltuneError, match="no sample fits --max-length 64"):
        build_corpus(demo_samples, smol_tokenizer, "react", max_length=64)


def test_drop_turns_keeps_whole_assistant_steps_only(smol_tokenizer, demo_samples):
    full = [_full(s, smol_tokenizer) for s in demo_samples]
    corpus = build_corpus(demo_samples, smol_tokenizer, "json", max_length=600, overlong="drop-turns")
    cut = [e for e in corpus.train if len(e) < len(full[e.source])]
    assert corpus.trimmed == len(cut) > 0 and corpus.overlong == len(corpus.eval)
    for e in cut:
        whole = full[e.source]
        assert len(e) <= 600 and e.input_ids == whole.input_ids[:len(e)] and e.labels == whole.labels[:len(e)]
        assert len(e) in {end for _, end in whole.turn_spans()}  # ends exactly where an assistant step ends
        # and it is the longest such prefix that fits
        assert max(end for _, end in whole.turn_spans() if end <= 600) == len(e)


def test_each_sample_is_rendered_in_its_own_language(smol_tokenizer, demo_samples):
    by_lang = {lang: [s for s in demo_samples if dialogue_lang(s.messages) == lang] for lang in ("en", "zh")}
    mixed = [by_lang["en"][0], by_lang["zh"][0]]
    corpus = build_corpus(mixed, smol_tokenizer, "react", max_length=4096)
    assert corpus.langs == {"en": 1, "zh": 1}
    got = {e.source: e.input_ids for e in corpus.train}
    for i, lang in enumerate(("en", "zh")):
        assert got[i] == build_example(mixed[i], get_format("react", lang), ChatRenderer(smol_tokenizer)).input_ids
    forced = build_corpus(mixed, smol_tokenizer, "react", lang="en", max_length=4096)
    assert forced.langs == {"en": 2}
    assert {e.source: e.input_ids for e in forced.train}[1] != got[1]


def test_load_samples_errors_name_the_problem(tmp_path):
    assert len(load_samples(DEMO_CORPUS)) > 20
    with pytest.raises(TooltuneError, match="not found"):
        load_samples(tmp_path / "missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": []}\n{"tools": []}\n', encoding="utf-8")
    with pytest.raises(TooltuneError, match=r"bad.jsonl:2: a sample needs a 'messages' list"):
        load_samples(bad)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(TooltuneError, match="no samples"):
        load_samples(empty)


def test_corpus_db_yields_only_approved_samples(tmp_path, demo_samples):
    import tooltune.data.store as store_mod
    db = tmp_path / "corpus.db"
    store = store_mod.Store(db)
    store.add_sample(demo_samples[0], status="approved")
    store.add_sample(demo_samples[1], status="draft")
    store.add_sample(demo_samples[2], status="approved")
    store.close()
    loaded = load_samples(db)
    assert [s.to_openai() for s in loaded] == [demo_samples[0].to_openai(), demo_samples[2].to_openai()]


def test_inspect_highlights_exactly_the_trained_text(smol_tokenizer, demo_samples):
    example = build_example(demo_samples[0], get_format("react"), ChatRenderer(smol_tokenizer), loss_scale="react")
    text = highlight(example, smol_tokenizer)
    styled = {str(span.style): "" for span in text.spans}
    for span in text.spans:
        styled[str(span.style)] += text.plain[span.start:span.end]
    assert "Final Answer:" in styled["bold green"] and "Action: calculator" in styled["bold magenta"]
    assert "What is 23 * 47 + 12?" in styled["dim"]
    assert text.plain.startswith("<|im_start|>system")
    assert "3 assistant spans" not in summary(example) and "2 assistant spans" in summary(example)


def test_sample_json_roundtrip_feeds_the_same_example(smol_tokenizer, demo_samples):
    again = Sample.from_openai(json.loads(demo_samples[3].to_json()))
    fmt, renderer = get_format("react"), ChatRenderer(smol_tokenizer)
    assert build_example(again, fmt, renderer).input_ids == build_example(demo_samples[3], fmt, renderer).input_ids


def test_inspect_tree_shows_the_row_that_trains_a_sample(smol_tokenizer, demo_samples):
    from tooltune.train.inspect import tree_view
    from tooltune.train.tree import tree_rows

    fmt, renderer = get_format("react"), ChatRenderer(smol_tokenizer)
    english = [i for i, s in enumerate(demo_samples) if dialogue_lang(s.messages) == "en"]
    examples = [build_example(demo_samples[i], fmt, renderer, source=i) for i in english]
    rows = tree_rows(examples, 4096)
    row = next(r for r in rows if r.prefix and any(b.source == english[1] for b in r.branches))
    text, line = tree_view(rows, english[1], smol_tokenizer, prefix_chars=30)
    plain = text.plain
    prefix_text = smol_tokenizer.decode(row.prefix)
    assert plain.startswith(f"── shared prefix: {len(row.prefix)} tokens, computed once for {len(row.branches)} branches ──\n"
                            f"{prefix_text[:30]} … ({len(prefix_text) - 30} more characters)\n")
    assert plain.count("── branch ") == len(row.branches) and plain.count("← --index") == 1
    mine = next(k for k, b in enumerate(row.branches) if b.source == english[1])
    assert f"── branch {mine + 1}/{len(row.branches)}: sample {english[1]}, {len(row.branches[mine])} tokens  ← --index ──" in plain
    assert demo_samples[english[1]].messages[0].text in plain  # the branch's own request, highlighted
    flat = sum(len(row.prefix) + len(b) for b in row.branches)
    assert line == f"tree row: {len(row)} tokens for {len(row.branches)} samples that as plain rows take {flat} ({1 - len(row) / flat:.0%} fewer tokens to run)"
    assert tree_view(rows, 10_000, smol_tokenizer) is None  # no such sample: no row
