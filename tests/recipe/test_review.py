"""The recipe's human pass: corpus rows in corpus.db for the annotation page, and the train
stage's corpus honouring what a person rejected or edited — and nothing else."""

from __future__ import annotations

import json

import pytest

from tooltune.data.store import Store
from tooltune.messages import Message, Sample, read_jsonl
from tooltune.recipe.mixed_corpus import build_mixed_corpus, load_corpus
from tooltune.recipe.smollm2_tools import run
from tooltune.recipe.state import RecipeConfig, stage_dir


def _key(ex):
    return ex.source, ex.input_ids, ex.labels


def _examples(corpus):
    """(train, eval-loss) examples as comparable tuples."""
    return [_key(ex) for ex in corpus.train], [_key(ex) for ex in corpus.eval]


@pytest.fixture(scope="module")
def built(tmp_path_factory, smol_tokenizer):
    """A small synthetic corpus written with --review; eval_share high enough that both splits have rows."""
    out = tmp_path_factory.mktemp("recipe")
    cfg = RecipeConfig(out=str(out), glaive=False, n_synth=40, review=True)
    logs: list[str] = []
    run(cfg, ["corpus"], log=logs.append)
    rows = [obj for _, obj in read_jsonl(out / "corpus" / "train.jsonl")]
    return cfg, rows, logs


def test_the_store_holds_the_rows_in_order_and_the_log_says_how_to_open_it(built):
    cfg, rows, logs = built
    db = f"{cfg.out}/corpus/corpus.db"
    assert f"[corpus] human pass: tooltune annotate --data {db}  (rows you reject are left out of training, edited rows replace theirs)" in logs
    with Store(db) as store:
        stored = list(store.samples())
        assert store.counts()["samples"] == {"draft": 40}
    assert [s.meta["row"] for s in stored] == list(range(40))
    assert [s.sample.to_openai() for s in stored] == [Sample.from_openai(r).to_openai() for r in rows]
    assert [s.lang for s in stored] == [r["lang"] for r in rows]


def test_human_decisions_drop_and_replace_exactly_those_rows(built, smol_tokenizer, tmp_path):
    import shutil

    cfg, rows, _ = built
    # Work on a copy of the corpus folder so the module's store stays untouched for the other test.
    cfg = RecipeConfig(**{**cfg.__dict__, "out": str(tmp_path)})
    shutil.copytree(f"{built[0].out}/corpus", tmp_path / "corpus")
    untouched = build_mixed_corpus(rows, smol_tokenizer, cfg)
    assert _examples(load_corpus(stage_dir(cfg, "corpus"), cfg, smol_tokenizer)) == _examples(untouched)  # no decision: the very same corpus

    rejected, edited, approved = 3, 7, 11
    with Store(tmp_path / "corpus" / "corpus.db") as store:
        ids = {s.meta["row"]: s.id for s in store.samples()}
        store.set_status(ids[rejected], "rejected", author="ann")
        store.set_status(ids[approved], "approved", author="ann")  # approving as it is changes nothing
        s = store.get_sample(ids[edited])
        messages = [*s.sample.messages[:-1], Message("assistant", "A person wrote this answer.")]
        store.update_sample(ids[edited], Sample(messages, s.sample.tools), author="ann", status="approved")
    logs: list[str] = []
    got = load_corpus(stage_dir(cfg, "corpus"), cfg, smol_tokenizer, logs.append)
    assert logs == ["[corpus] human pass: 1 rows left out, 1 edited"]

    edited_row = {**rows[edited], "messages": [m.to_openai() for m in messages]}
    expected = build_mixed_corpus(rows[:edited] + [edited_row] + rows[edited + 1:], smol_tokenizer, cfg)
    assert _examples(got) == tuple([k for k in keys if k[0] != rejected] for keys in _examples(expected))
    # Every untouched row is exactly what it was, in the same order (a resumed run sees the same data).
    before = {k[0]: k for k in _examples(untouched)[0]}
    for key in _examples(got)[0]:
        if key[0] == edited:
            assert key != before[edited] and "A person wrote this answer." in smol_tokenizer.decode(key[1])
        else:
            assert key == before[key[0]]
    assert [k[0] for k in _examples(got)[0]] == [k[0] for k in _examples(untouched)[0] if k[0] != rejected]


def test_a_corpus_rebuilt_without_review_drops_the_old_store(tmp_path):
    cfg = RecipeConfig(out=str(tmp_path), glaive=False, n_synth=5, review=True)
    run(cfg, ["corpus"], log=lambda _: None)
    assert (tmp_path / "corpus" / "corpus.db").exists()
    (tmp_path / "corpus" / "done.json").unlink()
    logs: list[str] = []
    run(RecipeConfig(out=str(tmp_path), glaive=False, n_synth=6), ["corpus"], log=logs.append)
    assert not (tmp_path / "corpus" / "corpus.db").exists()  # its row numbers named the old corpus's rows
    assert f"[corpus] removed {tmp_path / 'corpus' / 'corpus.db'}: it reviewed an earlier corpus" in logs
    # --review after the corpus was built writes the store from train.jsonl.
    run(RecipeConfig(out=str(tmp_path), glaive=False, n_synth=6, review=True), ["corpus"], log=logs.append)
    with Store(tmp_path / "corpus" / "corpus.db") as store:
        assert [json.loads(s.sample.to_json()) for s in store.samples()] == [
            Sample.from_openai(r).to_openai() for _, r in read_jsonl(tmp_path / "corpus" / "train.jsonl")]


def test_a_rejection_on_the_annotation_page_reaches_the_train_stage(tmp_path):
    """Through the page's own session (what the Reject button calls), not only the store API."""
    from tooltune.annotate.session import Annotator
    from tooltune.llm import ScriptedLLM
    from tooltune.recipe.review import human_decisions

    run(RecipeConfig(out=str(tmp_path), glaive=False, n_synth=4, review=True), ["corpus"], log=lambda _: None)
    db = tmp_path / "corpus" / "corpus.db"
    with Store(db) as store:
        ann = Annotator(store, ScriptedLLM([]))
        keys = [key for _, key in ann.queue("draft")]
        assert len(keys) == 4
        ann.save(ann.open(keys[2]), "ann", "rejected")
        ann.save(ann.open(keys[0]), "ann", "approved", score=5)
    assert human_decisions(db) == {2: None}
