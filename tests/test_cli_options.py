"""The option tables of `train`, `recipe`, `run` and `eval`: every flag users' scripts rely on is
still there, every default is the config dataclass's, and each command fills its config from
its parameters (a flag that stopped reaching the config would show here)."""

from dataclasses import fields, replace

import pytest
import typer.main
from typer.testing import CliRunner

from tooltune.agent.planning import PlanLimits
from tooltune.cli import app
from tooltune.cli_options import API_KEY_ENV
from tooltune.errors import TooltuneError
from tooltune.eval.runner import EvalSettings
from tooltune.recipe.state import RecipeConfig
from tooltune.train.dpo_config import DPOConfig
from tooltune.train.config import TrainConfig

runner = CliRunner()

FLAGS = {
    "train": ["--data", "--db", "--model", "--format", "--lang", "--lora", "--full", "--rank", "--alpha", "--targets", "--lr", "--epochs",
              "--max-steps", "--batch-size", "--grad-accum", "--max-length", "--overlong", "--pack", "--no-pack", "--tree", "--no-tree", "--eval-split", "--eval-steps",
              "--save-steps", "--scheduler", "--warmup-ratio", "--loss-scale", "--gradient-checkpointing", "--compile", "--precision",
              "--init-adapter", "--seed", "--report-to", "--out", "--resume", "--dpo", "--ref", "--beta", "--nll-weight"],
    "recipe": ["--out", "--stages", "--n-synth", "--steps", "--lr", "--scheduler", "--batch-size", "--grad-accum", "--max-length", "--rank",
               "--sweep-lrs", "--sweep-steps", "--save-steps", "--device", "--eval-limit", "--minutes", "--eval-formats", "--eval-weights",
               "--bench-limit", "--no-glaive", "--base-url", "--model", "--api-key", "--teacher-count", "--teacher-format", "--text-results",
               "--mix-synth", "--corpus-version", "--replay", "--init-adapter", "--prefer-from", "--prefer-draws", "--prefer-caps", "--prefer-epochs",
               "--review"],
    "run": ["--tools", "--format", "--lang", "--model", "--base-url", "--api-key", "--backend", "--weights", "--adapter", "--max-steps",
            "--max-tokens", "--search-dir", "--search-backend", "--system", "--tool-role", "--continue-mode", "--json", "--save", "--plan",
            "--plan-steps", "--max-subtasks", "--max-retries", "--max-replans", "--max-tools", "--memory", "--auto-memory", "--no-auto-memory", "--context-window",
            "--max-repeats", "--constrain", "--no-constrain", "--execute", "--mcp-config"],
    "eval": ["--data", "--db", "--model", "--backend", "--adapter", "--weights", "--compare", "--format", "--formats", "--base-url", "--api-key",
             "--out", "--max-tokens", "--batch-size", "--lambda", "--string-numbers", "--no-string-numbers", "--normalize-strings",
             "--no-normalize-strings", "--prompt-lang", "--tool-role", "--free-run", "--no-free-run", "--extra-steps", "--plan", "--limit",
             "--status", "--judge-model", "--judge-base-url", "--restart", "--no-restart", "--constrain", "--no-constrain", "--tools", "--execute", "--mcp-config"],
}


def options(command: str) -> dict:
    """The click options of a command by parameter name (what `tooltune COMMAND --help` lists)."""
    cmd = typer.main.get_command(app).commands[command]
    return {p.name: p for p in cmd.params if p.param_type_name == "option"}


def defaults(command: str) -> dict:
    return {name: p.default for name, p in options(command).items()}


def field_defaults(cls) -> dict:
    return {f.name: getattr(cls, f.name) for f in fields(cls) if hasattr(cls, f.name)}


@pytest.mark.parametrize("command", sorted(FLAGS))
def test_every_flag_is_kept(command):
    flags = [flag for p in options(command).values() for flag in (*p.opts, *p.secondary_opts)]
    assert flags == FLAGS[command]


def test_train_defaults_are_the_configs():
    got, want = defaults("train"), field_defaults(DPOConfig)
    shared = {name: got[name] for name in got if name in want and name not in ("data", "lora", "ref")}
    assert shared == {name: want[name] for name in shared}
    assert len(shared) == 31  # every TrainConfig/DPOConfig option but --data ('demo'), --lora (a no-op flag) and --ref (None: "not given")
    assert want["lora"] is True and got["lora"] is False and got["full"] is False and got["ref"] is None and want["ref"] == "base"
    assert {k: v for k, v in defaults("sweep").items() if k in ("batch_size", "max_length", "eval_split", "format", "lang", "model")} == \
        {k: getattr(TrainConfig, k) for k in ("batch_size", "max_length", "eval_split", "format", "lang", "model")}


def test_recipe_defaults_are_the_configs():
    got, want = defaults("recipe"), field_defaults(RecipeConfig)
    renamed = {"base_url": "teacher_base_url", "model": "teacher_model", "api_key": "teacher_api_key"}
    shared = {name: got[name] for name in got if (renamed.get(name, name) in want and name != "lr")}
    assert shared == {name: want[renamed.get(name, name)] for name in shared}
    assert len(shared) == 32
    assert float(got["lr"]) == want["lr"] and got["no_glaive"] is not want["glaive"] and got["stages"] is None


def test_eval_and_run_defaults_are_the_configs():
    got, want = defaults("eval"), field_defaults(EvalSettings)
    shared = {name: got[name] for name in got if name in want and name not in ("format", "constrain")}
    assert shared == {name: want[name] for name in shared} and len(shared) == 9
    assert got["format"] is None and got["constrain"] is True  # None: --formats may be given instead; the CLI constrains where it can
    plan = defaults("run")
    assert (plan["plan_steps"], plan["max_subtasks"], plan["max_retries"], plan["max_replans"]) == \
        (PlanLimits.max_steps, PlanLimits.max_subtasks, PlanLimits.max_retries, PlanLimits.max_replans)


def test_api_key_reads_one_env_var_everywhere():
    group = typer.main.get_command(app)  # `serve --api-key` is the key clients must send, not one for a server: its own variable
    commands = [c for name, c in group.commands.items() if hasattr(c, "params") and name != "serve"]
    keys = [p for c in commands for p in c.params if "--api-key" in getattr(p, "opts", ())]
    assert len(keys) >= 6 and {p.envvar for p in keys} == {API_KEY_ENV}


class Captured(Exception):
    """Raised by the stand-ins below with what the command built, before anything slow runs."""


def capture(monkeypatch, target: str, arg: int = 0):
    def stand_in(*args, **kwargs):
        raise Captured(args[arg])

    monkeypatch.setattr(target, stand_in)


def built(args: list[str], **kw):
    result = runner.invoke(app, args, **kw)
    assert isinstance(result.exception, Captured), result.output
    return result.exception.args[0]


def test_train_fills_its_config_from_the_flags(monkeypatch):
    from tooltune.train.dataset import DEMO_CORPUS

    capture(monkeypatch, "tooltune.train.trainer.Trainer")
    assert built(["train"]) == TrainConfig(data=str(DEMO_CORPUS))
    assert built(["train", "--full", "--rank", "4", "--loss-scale", "none", "--pack", "--lr", "2e-4", "--out", "o"]) == \
        TrainConfig(data=str(DEMO_CORPUS), lora=False, rank=4, loss_scale=None, pack=True, lr=2e-4, out="o")
    capture(monkeypatch, "tooltune.train.commands._train_dpo")
    assert built(["train", "--dpo", "--data", "p.jsonl", "--beta", "0.2", "--pack"]) == DPOConfig(data="p.jsonl", beta=0.2)  # no packing for pairs
    result = runner.invoke(app, ["train", "--beta", "0.2"])
    assert isinstance(result.exception, TooltuneError) and "add --dpo" in str(result.exception)


def test_recipe_fills_its_config_from_the_flags(monkeypatch, tmp_path):
    capture(monkeypatch, "tooltune.recipe.smollm2_tools.run")
    out = str(tmp_path / "r")
    # the command writes --sweep-lrs as it parsed them (`:g`), as it always has
    assert built(["recipe", "smollm2-tools", "--out", out], env={API_KEY_ENV: ""}) == RecipeConfig(out=out, sweep_lrs="0.0003,0.001,0.002")
    got = built(["recipe", "smollm2-tools", "--out", out, "--base-url", "http://x/v1", "--model", "m", "--no-glaive", "--rank", "8",
                 "--lr", "sweep", "--sweep-lrs", "1e-3,0.002"], env={API_KEY_ENV: "sk-test"})
    assert got == RecipeConfig(out=out, teacher_base_url="http://x/v1", teacher_model="m", teacher_api_key="sk-test", glaive=False, rank=8,
                               alpha=16, lr_from_sweep=True, sweep_lrs="0.001,0.002")


def test_eval_fills_its_settings_from_the_flags(monkeypatch):
    capture(monkeypatch, "tooltune.eval.evaluate.run_eval", arg=3)
    assert built(["eval", "--no-constrain", "--limit", "1"]) == EvalSettings()
    got = built(["eval", "--no-constrain", "--limit", "1", "--formats", "json,react", "--lambda", "0.5", "--prompt-lang", "zh",
                 "--no-free-run", "--max-tokens", "64"])
    assert got == replace(EvalSettings(), format="json", lam=0.5, prompt_lang="zh", free_run=False, max_tokens=64)


def test_run_checks_the_agent_limits_before_loading_a_model(monkeypatch):
    capture(monkeypatch, "tooltune.llm.make_llm")
    result = runner.invoke(app, ["run", "hi", "--context-window", "200", "--max-tokens", "256"])
    assert isinstance(result.exception, TooltuneError)
    assert str(result.exception) == "--context-window (200) must be larger than --max-tokens (256)"
    assert isinstance(runner.invoke(app, ["run", "hi", "--max-repeats", "-1"]).exception, TooltuneError)


def test_rollout_defaults_are_the_configs():
    from tooltune.data.rollout import RolloutConfig

    got = defaults("rollout")
    assert (got["format"], got["max_steps"], got["max_tokens"], got["batch_size"], not got["sequential"], got["system"], got["retry_failed"]) == \
        (RolloutConfig.fmt, RolloutConfig.max_steps, RolloutConfig.max_tokens, RolloutConfig.batch_size, RolloutConfig.batched,
         RolloutConfig.system, RolloutConfig.retry_failed)


def test_the_command_table_names_what_each_module_registers():
    import importlib

    import typer

    from tooltune.cli import COMMAND_MODULES, _modules_for

    for module, names in COMMAND_MODULES.items():
        sub = typer.Typer()
        sub.callback()(lambda: None)  # a group even for one command
        importlib.import_module(module).register(sub)
        assert sorted(typer.main.get_command(sub).commands) == sorted(names), module
    assert _modules_for(["/venv/bin/tooltune", "train", "--rank", "4"]) == ["tooltune.train.commands"]
    assert _modules_for(["/venv/bin/tooltune", "run", "hi"]) == []
    assert _modules_for(["/venv/bin/tooltune", "--help"]) == _modules_for(["/venv/bin/tooltune", "trian"]) == list(COMMAND_MODULES)
    assert _modules_for(["-c", "train"]) == list(COMMAND_MODULES)  # not the console script: every command
