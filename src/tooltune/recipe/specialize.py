"""`tooltune specialize`: a model that calls *your* tools, trained from their schemas on a CPU.

    tools -> corpus (schemas alone) -> [review] -> eval before -> train -> eval after -> report

Everything lands in one folder, each stage written whole (a temp file renamed into place), so a
rerun after Ctrl-C or kill -9 resumes where it stopped: a finished stage is skipped, evaluation
picks up after its last item, training from its last checkpoint. Bad input fails before the folder
exists. The time budget (`minutes`) covers the whole run: training gets what synthesis and the two
evaluations leave, and stops early once the held-out loss stops falling.

    OUT/tools.json        the tools, as the prompt shows them
    OUT/corpus/           train.jsonl, heldout.jsonl ({"kind", "sample"} rows), corpus.db with --review
    OUT/train/            the training run (checkpoints, metrics)
    OUT/adapter/          the LoRA adapter: `tooltune run --adapter OUT/adapter`, serve, export-model
    OUT/eval/             held-out results of the model before and after, charts
    OUT/report.md, OUT/specialize.png
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tooltune.errors import TooltuneError
from tooltune.lang import LANGS, detect_lang
from tooltune.messages import Sample, read_jsonl, write_jsonl_atomic, write_text_atomic

MAX_TOOLS = 64  # more than one prompt of a 135M model can usefully hold: split the list
MAX_PROMPT_TOKENS = 3072  # the tool prompt, leaving room for the dialogue in a 4,096-token row
BRANCH_TOKENS = 2400  # requests after the tool prompt in one tree row: memory grows ~2.5 MB a token
# A tree row's cost on a 2-core CPU: its prompt runs forward only (a third of a trained token's
# work), its requests forward and backward, at about this many tokens/s
# (benchmarks/train_throughput.py --systems shared-frozen)
STEP_TOKENS_S = 68.0
EARLY_STOP_ITEMS = 8  # held-out requests whose loss decides early stopping


@dataclass
class SpecializeConfig:
    tools: list[str]
    out: str
    langs: list[str] = field(default_factory=list)  # [] = the languages of the tool descriptions
    minutes: float = 15.0
    review: bool = False
    model: str | None = None  # the base; None = the embedded SmolLM2
    init_adapter: str | None = None  # None = the shipped adapter
    samples: int = 1500
    held_out: int = 30
    lr: float = 1e-3
    execute: bool = False
    mcp_config: str | None = None
    seed: int = 0
    format: str = "json"

    def validate(self) -> None:
        if self.minutes <= 0:
            raise TooltuneError(f"--minutes {self.minutes:g}: give a positive time budget (15 is the default)")
        if self.samples < 20 or self.held_out < 10:
            raise TooltuneError("--samples must be at least 20 and --held-out at least 10")
        for lang in self.langs:
            if lang not in LANGS:
                raise TooltuneError(f"--lang {lang!r}: use one or more of {', '.join(LANGS)}, comma-separated")


def load_checked(cfg: SpecializeConfig) -> Any:
    """The tool registry, checked for what specialisation needs (before OUT is touched)."""
    from tooltune.tools.sources import load_tools

    registry = load_tools(cfg.tools, execute=cfg.execute, mcp_config=cfg.mcp_config)
    if len(registry) > MAX_TOOLS:
        raise TooltuneError(f"{len(registry)} tools is too many for one prompt: specialise on at most {MAX_TOOLS} "
                            "(split them into groups, one --out each)")
    return registry


def prompt_tokens(tools: list[dict[str, Any]], tokenizer: Any, fmt: str, lang: str) -> int:
    from tooltune.formats import get_format
    from tooltune.formats.chat import ChatRenderer

    return len(ChatRenderer(tokenizer).system_ids(get_format(fmt, lang).render([], tools)))


class Run:
    """One specialisation run in its folder (module docstring)."""

    def __init__(self, cfg: SpecializeConfig, log: Callable[[str], None] = print) -> None:
        cfg.validate()
        self.cfg, self.log, self.started = cfg, log, time.monotonic()
        self.registry = load_checked(cfg)
        self.specs = self.registry.to_openai()
        self.out = Path(cfg.out)
        self.fingerprint = hashlib.sha256(json.dumps(self.specs, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]
        state = self._state()
        if state and state.get("tools") != self.fingerprint:
            raise TooltuneError(f"{self.out} holds a specialisation for other tools: choose another --out, or delete it to start over")
        self.langs = cfg.langs or sorted({detect_lang(t.description) for t in self.registry}) or ["en"]
        from tooltune.llm.loading import load_tokenizer

        self.tokenizer = load_tokenizer(cfg.model)
        self.init = None if cfg.init_adapter == "none" else (cfg.init_adapter or (None if cfg.model else _shipped()))
        longest = max(prompt_tokens(self.specs, self.tokenizer, cfg.format, lang) for lang in self.langs)
        if longest > MAX_PROMPT_TOKENS:
            raise TooltuneError(f"the tool prompt is {longest} tokens (at most {MAX_PROMPT_TOKENS}): shorten the descriptions or split the tools")
        self.out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.out / "tools.json", json.dumps(self.specs, ensure_ascii=False, indent=2))
        self._save_state({"tools": self.fingerprint, "config": asdict(cfg), "prompt_tokens": longest, "langs": self.langs})

    # -- state ------------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        path = self.out / "state.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    def _save_state(self, update: dict[str, Any]) -> None:
        write_text_atomic(self.out / "state.json", json.dumps({**self._state(), **update}, ensure_ascii=False, indent=2))

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    # -- stages -----------------------------------------------------------------------------
    def corpus(self) -> tuple[list[Sample], list[dict[str, Any]]]:
        """(training samples, held-out rows), synthesised once."""
        from tooltune.data.synth.specialize import Plan, synthesize

        cdir = self.out / "corpus"
        train_path, held_path = cdir / "train.jsonl", cdir / "heldout.jsonl"
        if not (train_path.exists() and held_path.exists()):
            # Python and built-in tools run for real; MCP tools (remote_name) only with --execute
            real = {t.name for t in self.registry if t.func is not None and (self.cfg.execute or not hasattr(t, "remote_name"))}
            from tqdm import tqdm

            with tqdm(total=self.cfg.samples + self.cfg.held_out, desc="synthesis", unit="sample") as bar:
                held = synthesize(Plan(self.registry, self.langs, real, held=True), self.cfg.held_out, self.cfg.seed + 1, on_sample=bar.update)
                asked = {r["sample"]["messages"][0]["content"] for r in held}
                train = synthesize(Plan(self.registry, self.langs, real), self.cfg.samples, self.cfg.seed, exclude=asked, on_sample=bar.update)
            cdir.mkdir(parents=True, exist_ok=True)
            write_jsonl_atomic(held_path, held)
            write_jsonl_atomic(train_path, train)
            kinds = Counter(r["kind"] for r in train)
            self._save_state({"corpus": {"train": len(train), "held_out": len(held), "kinds": dict(kinds)}})
            self.log(f"corpus: {len(train)} training and {len(held)} held-out samples ({', '.join(f'{k} {n}' for k, n in kinds.most_common())})")
        held_rows = [obj for _, obj in read_jsonl(held_path)]
        if self.cfg.review:
            return self._reviewed(train_path), held_rows
        return [Sample.from_openai(obj["sample"]) for _, obj in read_jsonl(train_path)], held_rows

    def _reviewed(self, train_path: Path) -> list[Sample]:
        """--review: the corpus goes into a store for `tooltune annotate`; training waits for it."""
        from tooltune.data.store import Store

        db = self.out / "corpus" / "corpus.db"
        fresh = not db.exists()
        store = Store(db)
        try:
            if fresh:
                store.add_samples({"sample": Sample.from_openai(obj["sample"]), "status": "draft", "source": f"specialize:{obj['kind']}"}
                                  for _, obj in read_jsonl(train_path))
            approved = [row.sample for row in store.samples(status="approved")]
        finally:
            store.close()
        if not approved:
            raise TooltuneError(f"review the corpus first: tooltune annotate --data {db} (approve the samples to train on), "
                                "then run the same specialize command again")
        return approved

    def score(self, model: Any, held: list[Sample], label: str) -> dict[str, Any]:
        """Teacher-forced scores of the held-out requests (eval/forced.py), saved in the state."""
        from tooltune.eval.forced import score_forced, summarize_forced

        started = time.monotonic()
        results = score_forced(model, self.tokenizer, held, self.cfg.format)
        summary = summarize_forced(results)
        write_jsonl_atomic(self.out / "eval" / f"{label}.jsonl", results)
        self._save_state({label: summary, "score_seconds": time.monotonic() - started})
        return summary

    def trainer(self, samples: list[Sample], held: list[Sample]) -> Any:
        """The trainer (model loaded, the starting adapter attached) over as many samples as the
        budget can use; its step count is set in `train` once the time left is known."""
        import random

        from tooltune.train.dataset import build_corpus
        from tooltune.train.config import TrainConfig
        from tooltune.train.trainer import Trainer, checkpoints

        cfg = self.cfg
        row = self._state()["prompt_tokens"] + BRANCH_TOKENS
        most = int(cfg.minutes * 60 / self.step_seconds()) * 24  # samples the whole budget could ever train
        if len(samples) > most:  # tokenising samples nobody trains on costs minutes
            samples = random.Random(cfg.seed).sample(samples, most)
        built = build_corpus(samples, self.tokenizer, cfg.format, max_length=row, seed=cfg.seed)
        built.eval = build_corpus(held[:EARLY_STOP_ITEMS], self.tokenizer, cfg.format, max_length=row).train
        tdir = self.out / "train"
        tcfg = TrainConfig.of(cfg, out=str(tdir), init_adapter=self.init, max_steps=1,  # its model, format, lr and seed
                              batch_size=1, max_length=row, scheduler="cosine", warmup_ratio=0.1, early_stop=2, save_steps=2,
                              tree_prefix_grad=False, fit_deadline=True, resume=bool(checkpoints(tdir)), report_to="none")
        return Trainer(tcfg, tokenizer=self.tokenizer, corpus=built)

    def step_seconds(self) -> float:
        return (self._state()["prompt_tokens"] / 3 + BRANCH_TOKENS) / STEP_TOKENS_S

    def train(self, trainer: Any, seconds: float) -> dict[str, Any]:
        """LoRA on tree rows (the tool prompt once, without gradient, and BRANCH_TOKENS of requests
        after it) for as many steps as `seconds` allow, cosine-decayed; stops early when the loss
        on held-out requests stops falling, and at the deadline in any case."""
        steps = max(2, round(seconds / self.step_seconds()))
        trainer.cfg.max_steps, trainer.cfg.eval_steps, trainer.cfg.max_minutes = steps, max(2, steps // 4), max(seconds, 30.0) / 60
        self.log(f"training: up to {steps} steps of one tree row each ({len(trainer.corpus.train)} samples in {len(trainer.rows)} rows), "
                 f"{seconds / 60:.1f} minutes at most")
        started = time.monotonic()
        result = trainer.run()
        tdir, adapter, tmp = self.out / "train", self.out / "adapter", self.out / "adapter.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(tdir, tmp, ignore=shutil.ignore_patterns("checkpoints", "metrics*", "*.csv", "runs"))
        shutil.rmtree(adapter, ignore_errors=True)
        tmp.rename(adapter)
        info = {"steps": result.steps, "tokens_per_s": round(result.tokens_per_s), "eval_loss": result.eval_loss,
                "samples_seen": round(result.steps * len(trainer.corpus.train) / len(trainer.rows)), "rows": len(trainer.rows),
                "minutes": round((time.monotonic() - started) / 60, 1)}
        self._save_state({"train": info})
        return info

    def run(self) -> dict[str, Any]:
        samples, held_rows = self.corpus()
        held = [Sample.from_openai(r["sample"]) for r in held_rows]
        if "after" not in self._state():
            trainer = self.trainer(samples, held)
            if "before" not in self._state():
                self.score(trainer.model, held, "before")
                self.log(_line("before", self._state()["before"]))
            if "train" not in self._state():
                self.train(trainer, self.cfg.minutes * 60 - self.elapsed() - 1.2 * self._state()["score_seconds"] - 10)
                model = trainer.model
            else:  # trained before a crash: score the saved adapter
                from tooltune.llm.loading import attach_adapter
                from tooltune.train.model import load_training_model

                model = attach_adapter(load_training_model(self.cfg.model), str(self.out / "adapter"), "adapter")
            self.score(model, held, "after")
            self.log(_line("after", self._state()["after"]))
        from tooltune.recipe.specialize_report import write_summary

        summary = write_summary(self.out, self._state(), self.elapsed())
        self._save_state({"done": True, "summary": summary})
        return summary


def _line(label: str, s: dict[str, Any]) -> str:
    def pct(v: float | None) -> str:
        return "–" if v is None else f"{100 * v:.0f} %"

    return f"{label}: tool + exact arguments {pct(s['args_em'])}, tool name {pct(s['tool_name_em'])}, no call where none is due {pct(s['no_call_accuracy'])}"


def _shipped() -> str:
    from tooltune.llm.embedded import shipped_adapter

    found = shipped_adapter()
    if found is None:
        raise TooltuneError("no shipped adapter in this install: pass --init-adapter, or --init-adapter none to start from the base")
    return str(found)
