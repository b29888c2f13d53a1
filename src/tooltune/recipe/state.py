"""The recipe's state: its settings (`RecipeConfig`), its stages, and where each stage keeps its
output and its `done.json`. Every recipe module reads and writes stage state through here; the
runner (smollm2_tools.py) and the stages import it, never each other."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tooltune.errors import TooltuneError
from tooltune.messages import write_text_atomic

RECIPE = "smollm2-tools"
# 2: hard negatives raised from 22 % to 33 % of episodes (v1 over-called on unseen tools).
# 3: real-API schemas, composed questions, enumerations -> parallel calls, standard-library
#    functions called for real, knowledge answered with the base model's own answers
#    (data/synth/corpus_v3.py), with a replay share of the v2 corpus.
VERSION = 3
STAGES = ("sources", "corpus", "sweep", "train", "prefer", "eval", "export")
OPTIONAL_STAGES = ("prefer",)  # run only when named in --stages (recipe/prefer.py)


@dataclass
class RecipeConfig:
    out: str = "runs/smollm2-tools"
    n_synth: int = 4000  # synthetic training samples (each 1-3 episodes)
    corpus_version: int = 3  # 2: v2's bank dialogues only; 3: v3 samples + `replay` of v2's
    # Share of v2 samples in a v3 corpus. Training continues the v2 adapter on a small CPU budget:
    # a third of every batch from the distribution it was trained on keeps the own held-out score
    # from sliding while the other two thirds teach v3's new behaviours.
    replay: float = 0.3
    init_adapter: str | None = None  # continue this adapter ("v2" / "shipped": a packaged one) instead of a fresh LoRA
    # Episode weights of the hard negatives (the other kinds keep synth.Mix's weights). v1 used
    # 0.12 / 0.10 (22 % negatives) and its adapter called a tool on 92 % of unseen no-fit requests.
    no_fit: float = 0.22
    chat: float = 0.12
    text_results: float = 0.0  # share of samples with plain-text tool results (synth Mix.text_results)
    glaive: bool = True
    formats: str = "json:3,react:1"  # training mix of prompt formats, by weight
    held_out: float = 0.2  # share of bank tools kept out of training
    eval_per_tool: int = 2  # eval questions per held-out tool (en and zh)
    eval_limit: int | None = None
    # 2048: v3 prompts offer 8-16 real-API tools; at 1024 the corpus stage's 6,490 rows lost 2,448
    # as overlong, most of the parallel and many-tool ones (at 2048: 246).
    max_length: int = 2048
    # 1 x 4 rows per step: on the CPU, unpadded single rows ran at 104-124 tokens/s where 2 x 2
    # padded rows ran at 59-65 (the same v3 corpus, steps 1-3 of each, runs/v3b/train/metrics.csv).
    batch_size: int = 1
    grad_accum: int = 4
    rank: int = 16
    alpha: int = 32
    lr: float = 1e-3
    lr_from_sweep: bool = False  # train at the rate the sweep stage picked (its done.json), not `lr`
    scheduler: str = "constant"  # constant can stop on a time budget and grow session by session; cosine needs a fixed end
    steps: int = 1200
    save_steps: int = 10
    minutes: float | None = None  # time budget of one invocation of the train stage
    sweep_lrs: str = "3e-4,1e-3,2e-3"
    sweep_steps: int = 5
    eval_formats: str = "json,react"
    eval_max_tokens: int = 128
    eval_weights: str = "fp32"  # "int8": measure what --weights int8 costs (results kept apart)
    bench_limit: int = 100  # BFCL items per category in the eval stage (0: skip; recipe/bench_stage.py)
    bench_categories: str = "simple_python,multiple,parallel,irrelevance"
    chat_check: bool = True  # eval stage: held-out knowledge questions with tools offered (recipe/chat_stage.py)
    device: str = "auto"  # where the eval stage runs the models; training goes where accelerate finds a GPU
    seed: int = 0
    teacher_base_url: str | None = None  # a teacher server: its rows replace the synthesis (recipe/teacher.py)
    teacher_model: str | None = None
    teacher_api_key: str | None = field(default=None, repr=False)  # never recorded
    teacher_count: int = 500  # teacher questions per language (en, zh), about 1 in 5 hard negatives
    teacher_format: str = "json"
    mix_synth: bool = False  # with a teacher: keep the synthesis too, teacher rows added to it
    review: bool = False  # write corpus/corpus.db for the human pass (the annotation page)
    # The prefer stage (recipe/prefer.py). Its defaults are how v3 was made from v2 (docs/results.md, "Preference training: four DPO runs";
    # run 4): draws by episode kind where v2 erred most, the argument kinds left out of the mix
    # (they cost run 3 the held-out set), the calls-preferring kind capped (run 1 learnt to call everywhere).
    prefer_from: str = "train"  # the SFT adapter: "train" (this recipe's), "v2" / "shipped" (packaged) or a folder
    prefer_draws: str = "3:no_fit=50,knowledge=25,single=25,lookup=8,chat=7,parallel=5;4:no_fit=70,knowledge=30"  # SEED:kind=N,...;...
    prefer_caps: str = "too_few_calls=8,wrong_value=0,extra_argument=0,missing_argument=0,wrong_tool=0"  # mined pairs kept per kind
    prefer_format: str = "json"  # mined, trained and judged in this format
    prefer_weights: str = "int8"  # the SFT adapter's weights while mining (int8: 2x faster on the CPU)
    prefer_epochs: float = 1.0  # passes over the mixed pairs
    prefer_max_length: int = 2560
    prefer_lr: float = 5e-5  # DPO run 2 in docs/results.md; 2e-4 collapsed (run 1)
    prefer_beta: float = 0.1
    prefer_nll_weight: float = 1.0  # prefer stage: RPO's NLL term on the chosen step (train --dpo --nll-weight)

    def validate(self) -> None:
        """The one check of the settings, before any stage starts (one-line errors naming the
        `tooltune recipe` option; the learning-rate texts are parsed by the command)."""
        from tooltune.formats import FORMATS
        from tooltune.llm.int8 import check_weights
        from tooltune.llm.transformers_backend import check_device
        from tooltune.train.schedule import check_scheduler

        for f in self.eval_formats.split(","):
            if f.strip() not in FORMATS:
                raise TooltuneError(f"--eval-formats: unknown format {f.strip()!r}; use {', '.join(FORMATS)}")
        self._validate_teacher(FORMATS)
        check_weights(self.eval_weights, "--eval-weights")
        if self.bench_limit < 0:
            raise TooltuneError(f"--bench-limit {self.bench_limit}: give 0 (skip BFCL) or a number of items per category")
        counts = (self.n_synth, self.steps, self.batch_size, self.grad_accum, self.max_length, self.rank, self.sweep_steps, self.save_steps)
        if min(counts) < 1 or self.lr <= 0 or (self.minutes is not None and self.minutes <= 0):
            raise TooltuneError("--n-synth, --steps, --batch-size, --grad-accum, --max-length, --rank, --sweep-steps and --save-steps must be at least 1, --lr and --minutes positive")
        if not 0.0 <= self.text_results <= 1.0:
            raise TooltuneError(f"--text-results {self.text_results:g}: give a share between 0 and 1, e.g. 0.2")
        check_scheduler(self.scheduler)
        check_device(self.device)
        check_weights(self.prefer_weights, "--prefer-weights")
        if self.prefer_format not in FORMATS or self.prefer_epochs <= 0:
            raise TooltuneError(f"--prefer-format {self.prefer_format!r} / --prefer-epochs {self.prefer_epochs:g}: give one of {', '.join(FORMATS)} and a positive number of passes")
        parse_draws(self.prefer_draws), parse_counts(self.prefer_caps, "--prefer-caps")
        if self.corpus_version not in (2, 3) or not 0.0 <= self.replay <= 1.0:
            raise TooltuneError(f"--corpus-version {self.corpus_version} / --replay {self.replay:g}: give version 2 or 3 and a replay share between 0 and 1")

    def _validate_teacher(self, formats: dict[str, Any]) -> None:
        url = self.teacher_base_url
        if url is None and (self.teacher_model or self.mix_synth):
            raise TooltuneError("--model and --mix-synth are for a teacher: pass its server as --base-url too")
        if url is not None and not url.startswith(("http://", "https://")):
            raise TooltuneError(f"--base-url {url!r} is not an http(s) URL: pass e.g. http://localhost:8000/v1")
        if self.teacher_count < 1 or self.teacher_format not in formats:
            raise TooltuneError(f"--teacher-count must be at least 1 and --teacher-format one of {', '.join(formats)}")


def parse_counts(text: str, option: str) -> dict[str, int]:
    """`kind=N,kind=N` -> {kind: N}."""
    try:
        counts = {k.strip(): int(n) for k, n in (part.split("=") for part in text.split(",") if part.strip())}
    except ValueError:
        counts = {"": -1}
    if any(n < 0 or not k for k, n in counts.items()):
        raise TooltuneError(f"{option} {text!r}: give kind=N pairs separated by commas, e.g. no_fit=50,knowledge=25")
    return counts


def parse_draws(text: str) -> list[tuple[int, dict[str, int]]]:
    """`SEED:kind=N,...;SEED:kind=N,...` -> [(seed, {kind: N})]: one stratified draw each."""
    draws = []
    for part in text.split(";"):
        seed, _, counts = part.partition(":")
        if not seed.strip().isdigit() or not counts:
            raise TooltuneError(f"--prefer-draws {text!r}: give SEED:kind=N,... draws separated by ';', e.g. 3:no_fit=50,knowledge=25")
        draws.append((int(seed), parse_counts(counts, "--prefer-draws")))
    return draws


def stage_dir(cfg: RecipeConfig, stage: str) -> Path:
    return Path(cfg.out) / stage


def is_done(cfg: RecipeConfig, stage: str) -> bool:
    return (stage_dir(cfg, stage) / "done.json").exists()


def read_done(cfg: RecipeConfig, stage: str) -> dict[str, Any]:
    """What a finished stage recorded in its done.json."""
    return read_done_file(stage_dir(cfg, stage))


def read_done_file(stage_folder: Path) -> dict[str, Any]:
    """A stage folder's done.json, or {} when the stage has not finished."""
    path = stage_folder / "done.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def mark_done(cfg: RecipeConfig, stage: str, info: dict[str, Any]) -> dict[str, Any]:
    write_text_atomic(stage_dir(cfg, stage) / "done.json", json.dumps(info, indent=2, ensure_ascii=False))
    return info


def config_json(cfg: RecipeConfig) -> dict[str, Any]:
    """The settings as recorded with the adapter: no API key, the teacher server as its host only."""
    from tooltune.recipe.teacher import base_url_host

    record = asdict(cfg)
    del record["teacher_api_key"]
    if record["teacher_base_url"]:
        record["teacher_base_url"] = base_url_host(record["teacher_base_url"])
    return {"recipe": RECIPE, "version": VERSION, **record}
