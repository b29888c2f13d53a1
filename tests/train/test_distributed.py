"""Data parallelism on an existing engine, on the CPU: `accelerate launch` with
configs/accelerate_ddp_cpu.yaml (two processes, torch DDP over gloo) runs the real `tooltune
train` command (through tests/train/ddp_probe.py, which records what each rank did) and must
train exactly like one process with the same global batch.

The data is arranged so that rank 0 gets long dialogues and rank 1 one-line answers (the batch
order is a seeded shuffle of row indices, so which row lands on which rank is known in advance):
a loss averaged per rank instead of per token would differ from the single process at once.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tooltune.messages import Sample, write_jsonl_atomic
from tooltune.train.dataset import split_eval
from tooltune.train.packing import batches
from tooltune.train.config import TrainConfig
from tooltune.train.trainer import Trainer, train
from tooltune.train.tree import TreeRow

ROOT = Path(__file__).resolve().parents[2]
DDP_CPU = ROOT / "configs" / "accelerate_ddp_cpu.yaml"
PROBE = Path(__file__).with_name("ddp_probe.py")
N_SAMPLES, EVAL_SPLIT, SEED, BATCH, STEPS = 36, 0.1, 0, 2, 4
TRAIN_ARGS = dict(lr=3e-3, max_steps=STEPS, batch_size=BATCH, eval_split=EVAL_SPLIT, seed=SEED, max_length=1024)


def _short(i: int) -> Sample:
    return Sample.from_openai({"messages": [{"role": "user", "content": f"Say {i}."}, {"role": "assistant", "content": f"{i}."}], "tools": []})


def _skewed_samples(long: list[Sample]) -> list[Sample]:
    """N_SAMPLES samples where every training batch of rank 0 holds long dialogues and every one
    of rank 1 short answers (two ranks: rank = batch index % 2, see trainer._micro_batches)."""
    train_idx, _ = split_eval(list(range(N_SAMPLES)), EVAL_SPLIT, SEED)
    on_rank0 = {i for k, batch in enumerate(batches([[i] for i in train_idx], BATCH, SEED, 0)) if k % 2 == 0 for [i] in batch}
    return [long[i % len(long)] if i in on_rank0 or i not in train_idx else _short(i) for i in range(N_SAMPLES)]


def _launch(config: Path, probe: Path, *args: str, world: int = 2) -> list[dict[str, Any]]:
    """`accelerate launch --config_file CONFIG ddp_probe.py PROBE train ARGS`; the per-rank records
    (with the launch's stderr under "stderr")."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    src = str(ROOT / "src")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config), "--main_process_port", str(port),
           str(PROBE), str(probe), "train", *args, "--report-to", "none"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return [{**json.loads((probe / f"rank-{r}.json").read_text(encoding="utf-8")), "stderr": proc.stderr} for r in range(world)]


def _cli_args(data: Path, base: Path, out: Path, mode: str = "--full", tree: bool = False, **kw: Any) -> list[str]:
    """The probe's `train` arguments; plain rows unless `tree` (the skewed data is laid out for them)."""
    args = ["--data", str(data), "--model", str(base), mode, "--out", str(out), "--tree" if tree else "--no-tree"]
    for key, value in {**TRAIN_ARGS, **kw}.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    return args


@pytest.fixture(scope="module")
def setup(tmp_path_factory, tiny_llama, smol_tokenizer, short_samples):
    root = tmp_path_factory.mktemp("ddp")
    base = root / "base"
    tiny_llama(2048).save_pretrained(base)
    smol_tokenizer.save_pretrained(base)
    long = sorted(short_samples, key=lambda s: -sum(len(m.content or "") + 200 * len(m.tool_calls) for m in s.messages))[:6]
    data = root / "skewed.jsonl"
    write_jsonl_atomic(data, [s.to_openai() for s in _skewed_samples(long)])
    return root, base, data


def _single(setup: tuple[Path, Path, Path], lora: bool) -> Any:
    """One process, the same global batch: 2 rows x 4 micro-batches per optimizer step."""
    root, base, data = setup
    cfg = TrainConfig(data=str(data), model=str(base), lora=lora, grad_accum=4, out=str(root / f"single-{lora}"), progress=False,
                      report_to="none", save_model=False, tree=False, **TRAIN_ARGS)
    return train(cfg)


@pytest.fixture(scope="module")
def single(setup):
    return _single(setup, lora=False)


@pytest.fixture(scope="module")
def ddp(setup):
    """Two processes: 2 rows x 2 micro-batches each per optimizer step; checkpoints at steps 2 and 4."""
    root, base, data = setup
    out = root / "ddp"
    return out, _launch(DDP_CPU, root / "probe-ddp", *_cli_args(data, base, out, grad_accum=2, save_steps=2))


def test_two_processes_train_exactly_like_one_with_the_same_global_batch(single, ddp):
    out, ranks = ddp
    assert [r["world"] for r in ranks] == [2, 2] and [r["threads"] for r in ranks] == [1, 1]
    for rank in ranks:  # both ranks report the global loss, and it is the single process's
        assert [h["step"] for h in rank["history"]] == [1, 2, 3, 4]
        for got, want in zip(rank["history"], single.history):
            assert got["loss"] == pytest.approx(want["loss"], rel=1e-5, abs=1e-6)
            assert got["grad_norm"] == pytest.approx(want["grad_norm"], rel=1e-4)
            assert got["tokens"] == want["tokens"]  # real tokens of both ranks, not rank 0's times two
        assert rank["eval_loss"] == pytest.approx(single.eval_loss, rel=1e-5)  # every eval row once
    # The token-weighted loss holds across very uneven ranks: rank 0 trains on long dialogues,
    # rank 1 on one-line answers, in every step.
    for step0, step1 in zip(ranks[0]["steps"], ranks[1]["steps"]):
        assert step0["trained_tokens"] >= 4 * step1["trained_tokens"] > 0
    assert ranks[0]["param_sum"] == ranks[1]["param_sum"]


def test_gradients_are_all_reduced_once_per_optimizer_step_not_per_micro_batch(ddp):
    _, ranks = ddp
    for rank in ranks:
        assert [(s["micro_batches"], s["rounds"]) for s in rank["steps"]] == [(2, 1)] * STEPS


def test_rank0_alone_writes_checkpoints_and_both_ranks_resume_from_them(setup, ddp):
    root, base, data = setup
    out, ranks = ddp
    ckpt = out / "checkpoints"

    def rel(paths: list[str]) -> set[str]:
        return {str(Path(p).relative_to(out)) for p in paths if Path(p).is_relative_to(out)}

    # Rank 1 writes only its own RNG state into each checkpoint (accelerate keeps one per rank
    # for an exact resume); model, optimizer, scheduler, step, renames and logs are rank 0's.
    assert rel(ranks[1]["written"]) == {f"checkpoints/step-00000{s}.tmp/random_states_1.pkl" for s in (2, 4)}
    assert ranks[1]["renamed"] == []
    for s in (2, 4):
        assert {f"checkpoints/step-00000{s}.tmp/{name}" for name in ("model.safetensors", "optimizer.bin", "random_states_0.pkl",
                                                                       "scheduler_tooltune.pt", "trainer_state.json")} <= rel(ranks[0]["written"])
    assert sorted(p.name for p in ckpt.iterdir()) == ["step-000002", "step-000004"]

    shutil.rmtree(ckpt / "step-000004")  # as if both processes died after step 3's work began
    resumed = _launch(DDP_CPU, root / "probe-resume", *_cli_args(data, base, out, grad_accum=2, save_steps=2), "--resume")
    for rank, straight in zip(resumed, ranks):
        assert [h["step"] for h in rank["history"]] == [3, 4]
        for got, want in zip(rank["history"], straight["history"][2:]):
            assert got["loss"] == pytest.approx(want["loss"], rel=1e-6)
        assert rank["param_sum"] == pytest.approx(straight["param_sum"], rel=1e-9)
        assert rank["param_abs"] == pytest.approx(straight["param_abs"], rel=1e-9)


def test_the_fsdp_config_on_cpu_runs_as_ddp_and_says_so(setup, tmp_path):
    """accelerate 1.15 builds FSDP only on accelerators (torch's own FSDP2 does run on gloo): with
    configs/accelerate_fsdp.yaml moved to the CPU it silently sets up DDP. Pinned here so the
    docs/distributed.md's "FSDP on the CPU: not through accelerate" is re-checked when accelerate changes; the trainer warns.
    Run with --lora (what the DDP configs' comments suggest), so LoRA under DDP is checked too."""
    root, base, data = setup
    config = tmp_path / "fsdp_cpu.yaml"
    text = (ROOT / "configs" / "accelerate_fsdp.yaml").read_text(encoding="utf-8")
    text = text.replace("mixed_precision: bf16", "mixed_precision: 'no'").replace("num_processes: 8", "num_processes: 2")
    config.write_text(text.replace("use_cpu: false", "use_cpu: true"), encoding="utf-8")
    ranks = _launch(config, tmp_path / "probe", *_cli_args(data, base, tmp_path / "out", "--lora", grad_accum=2))
    single = _single(setup, lora=True)
    assert "warning: the launch config asks for FSDP, but accelerate set up MULTI_CPU" in ranks[0]["stderr"]
    for rank in ranks:
        assert [s["rounds"] for s in rank["steps"]] == [1] * STEPS  # a DDP module took the comm hook
        for got, want in zip(rank["history"], single.history):
            assert got["loss"] == pytest.approx(want["loss"], rel=1e-5, abs=1e-6)
            assert got["grad_norm"] == pytest.approx(want["grad_norm"], rel=1e-4)
        assert rank["param_sum"] == pytest.approx(ranks[0]["param_sum"], rel=1e-12)


def test_engine_mismatch_names_what_was_asked_and_what_runs():
    from tooltune.train.engine import engine_mismatch

    assert engine_mismatch({"ACCELERATE_USE_FSDP": "true"}, "MULTI_CPU").startswith("the launch config asks for FSDP, but accelerate set up MULTI_CPU")
    assert engine_mismatch({"ACCELERATE_USE_DEEPSPEED": "True"}, "MULTI_CPU").startswith("the launch config asks for DEEPSPEED")
    assert engine_mismatch({"ACCELERATE_USE_FSDP": "true"}, "FSDP") is None
    assert engine_mismatch({"ACCELERATE_USE_FSDP": "false"}, "MULTI_CPU") is None
    assert engine_mismatch({}, "NO") is None


def test_tree_rows_train_under_ddp_exactly_like_one_process(tmp_path, tiny_llama, smol_tokenizer, short_samples):
    """Samples over one tool list become tree rows (the prompt once); two processes with half the
    accumulation each train exactly as one process does."""
    base = tmp_path / "base"
    tiny_llama(2048).save_pretrained(base)
    smol_tokenizer.save_pretrained(base)
    tools = list({t["function"]["name"]: t for s in short_samples for t in s.tools}.values())
    english = [s for s in short_samples if not any("\u4e00" <= ch <= "\u9fff" for m in s.messages for ch in (m.content or ""))]
    data = tmp_path / "shared.jsonl"
    write_jsonl_atomic(data, [Sample(english[i % len(english)].messages, tools).to_openai() for i in range(24)])
    args = dict(TRAIN_ARGS, max_length=4096, batch_size=2)
    trainer = Trainer(TrainConfig(data=str(data), model=str(base), lora=False, grad_accum=2, out=str(tmp_path / "single"), progress=False,
                                  report_to="none", save_model=False, **args))
    assert trainer.trees and all(isinstance(r, TreeRow) and len(r.branches) > 1 for r in trainer.rows)
    single = trainer.run()
    ranks = _launch(DDP_CPU, tmp_path / "probe", *_cli_args(data, base, tmp_path / "ddp", tree=True, grad_accum=1, **{"max_length": 4096}))
    for rank in ranks:
        assert [h["step"] for h in rank["history"]] == [1, 2, 3, 4]
        for got, want in zip(rank["history"], single.history):
            assert got["loss"] == pytest.approx(want["loss"], rel=1e-5, abs=1e-6)
            assert got["tokens"] == want["tokens"]
        assert rank["eval_loss"] == pytest.approx(single.eval_loss, rel=1e-5)
    assert ranks[0]["param_sum"] == ranks[1]["param_sum"]
