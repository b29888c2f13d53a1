"""Prompt KV caches on disk (`tooltune.llm.disk_prefix`), on a tiny random model.

A fresh TransformersLLM stands for a fresh process: its in-memory cache is empty, so only the
disk can save it the prefill. Whatever the disk holds, greedy output must be what a model with
no cache at all produces. The tiny model never emits its end token within these budgets."""

import os

import pytest
import safetensors.torch

from tooltune.agent import Agent
from tooltune.llm import disk_prefix
from tooltune.llm.disk_prefix import DiskPrefixCache, model_key
from tooltune.llm.prefix_cache import common_prefix
from tooltune.llm.transformers_backend import TransformersLLM
from tooltune.messages import Message
from tooltune.tools import builtin_registry


@pytest.fixture()
def make(tiny_model, smol_tokenizer, tmp_path):
    """A 'new process': a fresh TransformersLLM on the tiny model, sharing one disk folder."""

    def new_llm(kept: int = 4, key: str = "tiny") -> TransformersLLM:
        return TransformersLLM(model_obj=tiny_model, tokenizer=smol_tokenizer, disk_prefix=DiskPrefixCache(key, tmp_path, kept))

    return new_llm


@pytest.fixture()
def plain(tiny_model, smol_tokenizer):
    return TransformersLLM(model_obj=tiny_model, tokenizer=smol_tokenizer, prefix_cache=False)


def request(llm, question="What is 2 + 2?", system=None, max_tokens=12):
    return Agent(llm, builtin_registry(), "json", max_tokens=max_tokens).request(
        ([Message("system", system)] if system else []) + [Message("user", question)])


def entries(llm) -> list:
    return sorted(p.name for p in llm.disk_prefix.folder.iterdir())


def test_a_second_process_loads_the_prompt_from_disk_and_answers_the_same(make, plain):
    first = make()
    expected = plain.complete(request(plain)).text
    assert first.complete(request(first)).text == expected
    assert first.disk_prefix.hits == 0 and len(entries(first)) == 1
    second = make()
    (entry,) = second.disk_prefix.folder.iterdir()
    inode = entry.stat().st_ino
    req = request(second)
    assert second.complete(req).text == expected
    assert second.disk_prefix.hits == len(second.prompt_ids(req)) - 1  # all but the last token came from disk
    assert second.prefix_cache.hits == 0 and entry.stat().st_ino == inode  # nothing new to write


def test_a_new_question_reuses_the_shared_system_and_tools_prefix(make, plain):
    make().complete(request(plain))
    second = make()
    req = request(second, "Compute 17 * 3 for me")
    assert second.complete(req).text == plain.complete(req).text
    shared = common_prefix(second.prompt_ids(request(second)), second.prompt_ids(req))
    assert second.disk_prefix.hits == shared
    assert len(entries(second)) == 2  # the new prompt is saved too


def test_a_changed_system_prompt_reuses_only_what_precedes_the_change(make, plain):
    make().complete(request(plain))
    second = make()
    req = request(second, system="You are a terse assistant.")
    assert second.complete(req).text == plain.complete(req).text
    assert second.disk_prefix.hits == common_prefix(second.prompt_ids(request(second)), second.prompt_ids(req))
    assert second.disk_prefix.hits < 10  # only the chat template's opening tokens


def test_another_model_never_sees_the_entries(make, plain):
    make(key="model-a").complete(request(plain))
    other = make(key="model-b")
    assert other.complete(request(other)).text == plain.complete(request(plain)).text
    assert other.disk_prefix.hits == 0


def test_later_agent_steps_use_memory_and_write_nothing(make):
    llm = make()
    agent = Agent(llm, builtin_registry(), "react", max_tokens=8)
    history = [Message("user", "What is 3*7?")]
    first = llm.complete(agent.request(history))
    history += [Message("assistant", first.text), Message("user", "Observation: 21")]
    llm.complete(agent.request(history))
    assert llm.prefix_cache.hits > 0 and len(entries(llm)) == 1


def test_a_damaged_file_is_reported_deleted_and_ignored(make, plain, capsys):
    make().complete(request(plain))
    second = make()
    (entry,) = second.disk_prefix.folder.iterdir()
    entry.write_bytes(entry.read_bytes()[:5000])  # cut short, as by a full disk
    req = request(second)
    assert second.complete(req).text == plain.complete(req).text
    assert second.disk_prefix.hits == 0
    err = capsys.readouterr().err
    assert f"warning: ignoring the damaged KV cache file {entry}" in err
    assert entries(second) == [entry.name]  # rewritten whole by this run
    assert make().complete(req).text == plain.complete(req).text


@pytest.mark.parametrize("change", ["drop layer 1", "add layer 2", "cut the tensors"])
def test_a_file_that_does_not_fit_the_model_is_ignored(make, plain, capsys, change):
    make().complete(request(plain))
    (entry,) = make().disk_prefix.folder.iterdir()
    tensors = safetensors.torch.load_file(entry)
    if change == "drop layer 1":
        tensors = {k: v for k, v in tensors.items() if not k.endswith(".1")}
    elif change == "add layer 2":
        tensors.update({"k.2": tensors["k.1"].clone(), "v.2": tensors["v.1"].clone()})
    else:
        tensors = {k: v if k == "ids" else v[..., :3, :].contiguous() for k, v in tensors.items()}
    safetensors.torch.save_file(tensors, entry)
    third = make()
    assert third.complete(request(third)).text == plain.complete(request(plain)).text
    assert third.disk_prefix.hits == 0
    assert "damaged KV cache file" in capsys.readouterr().err


def test_a_crash_while_writing_leaves_no_entry_and_no_temp_file(make, plain, monkeypatch):
    def crash(tensors, path):
        with open(path, "wb") as f:
            f.write(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(safetensors.torch, "save_file", crash)
    llm = make()
    with pytest.raises(KeyboardInterrupt):
        llm.complete(request(llm))
    assert entries(llm) == []


def test_pruning_drops_the_least_recently_used(tmp_path, tiny_model, smol_tokenizer):
    cache = DiskPrefixCache("tiny", tmp_path, kept=2)
    llm = TransformersLLM(model_obj=tiny_model, tokenizer=smol_tokenizer, disk_prefix=cache)
    paths = []
    for i, question in enumerate(("one", "two", "three")):
        TransformersLLM(model_obj=tiny_model, tokenizer=smol_tokenizer, disk_prefix=cache).complete(request(llm, question))
        (newest,) = set(cache.folder.iterdir()) - set(paths)
        os.utime(newest, ns=(i * 10**9, i * 10**9))  # distinct, ordered use times
        paths.append(newest)
    assert sorted(cache.folder.iterdir()) == sorted(paths[1:])


def test_the_switch_and_a_model_object_without_files(monkeypatch, tiny_model, smol_tokenizer, tmp_path):
    assert TransformersLLM(model_obj=tiny_model, tokenizer=smol_tokenizer, disk_prefix=True).disk_prefix is None
    cache = DiskPrefixCache("tiny", tmp_path)
    monkeypatch.setenv(disk_prefix.DISABLE_ENV, "1")
    assert TransformersLLM(model_obj=tiny_model, tokenizer=smol_tokenizer, disk_prefix=cache).disk_prefix is None
    monkeypatch.delenv(disk_prefix.DISABLE_ENV)
    assert TransformersLLM(model_obj=tiny_model, tokenizer=smol_tokenizer, disk_prefix=cache).disk_prefix is cache
    assert TransformersLLM(model_obj=tiny_model, tokenizer=smol_tokenizer, disk_prefix=cache, prefix_cache=False).disk_prefix is None


def test_the_model_key_follows_weights_adapter_and_mode(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"weights")
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_model.safetensors").write_bytes(b"lora")
    base = model_key(model, adapter, "fp32")
    assert model_key(model, adapter, "fp32") == base
    assert model_key(model, adapter, "int8") != base
    assert model_key(model, None, "fp32") != base
    (adapter / "adapter_model.safetensors").write_bytes(b"lora, retrained")
    retrained = model_key(model, adapter, "fp32")
    assert retrained != base
    (model / "model.safetensors").write_bytes(b"weights")  # same bytes, rewritten: new mtime
    os.utime(model / "model.safetensors", ns=(1, 1))
    assert model_key(model, adapter, "fp32") != retrained


def test_a_hit_counts_as_use_for_pruning(tmp_path, tiny_model, smol_tokenizer):
    cache = DiskPrefixCache("tiny", tmp_path, kept=2)

    def run(question):
        llm = TransformersLLM(model_obj=tiny_model, tokenizer=smol_tokenizer, disk_prefix=cache)
        llm.complete(request(llm, question))

    written = []
    for i, question in enumerate(("one", "two")):
        run(question)
        (newest,) = set(cache.folder.iterdir()) - set(written)
        os.utime(newest, ns=((i + 1) * 10**9, (i + 1) * 10**9))
        written.append(newest)
    run("one")  # an exact hit on the older entry: now the most recently used, so pruning keeps it
    assert written[0].stat().st_mtime_ns > written[1].stat().st_mtime_ns == 2 * 10**9
    assert set(cache.folder.iterdir()) == set(written)  # nothing new was written


@pytest.mark.slow
def test_the_embedded_model_answers_the_same_from_a_disk_prefix(tmp_path):
    """The real model, fp32: a second 'process' loads the first one's prompt from disk."""
    first = TransformersLLM(None, disk_prefix=DiskPrefixCache("embedded", tmp_path))
    plain = TransformersLLM(model_obj=first.model, tokenizer=first.tokenizer, prefix_cache=False)
    questions = ("What is 23 * 47 + 12? Use the calculator.", "What time is it in Tokyo?")
    for i, question in enumerate(questions):
        llm = TransformersLLM(model_obj=first.model, tokenizer=first.tokenizer, disk_prefix=first.disk_prefix) if i else first
        req = request(llm, question, max_tokens=40)
        req.stop = []
        mine, theirs = llm.complete(req), plain.complete(req)
        assert mine.text == theirs.text and mine.completion_tokens == theirs.completion_tokens
    assert first.disk_prefix.hits > 300  # the second question reused the system prompt and tools
