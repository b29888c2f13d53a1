"""`TrainConfig.of`, the one way a training config is made: by field name from a command's
parameters, another config or a recipe's settings, with explicit overrides."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from tooltune.recipe.state import RecipeConfig
from tooltune.train.dpo_config import DPOConfig
from tooltune.train.config import TrainConfig


def test_fields_by_name_then_overrides_the_rest_default():
    cfg = TrainConfig.of({"lr": 3e-4, "rank": 4, "dpo": True, "full": True}, lora=False, rank=2)
    assert (cfg.lr, cfg.rank, cfg.lora, cfg.alpha) == (3e-4, 2, False, TrainConfig.alpha)  # 'dpo', 'full': no such fields
    assert TrainConfig.of() == TrainConfig()


def test_a_config_copied_with_overrides_keeps_every_other_field():
    base = TrainConfig(data="d.jsonl", lr=1e-5, batch_size=2, max_steps=7, format="json", loss_scale="react")
    run = base.of(base, lr=5e-5, out="runs/x", save_model=False)
    assert asdict(run) == {**asdict(base), "lr": 5e-5, "out": "runs/x", "save_model": False}
    dpo = DPOConfig.of(base, beta=0.2)
    assert type(dpo) is DPOConfig and (dpo.lr, dpo.max_steps, dpo.beta, dpo.ref) == (1e-5, 7, 0.2, "base")


def test_the_recipe_hands_its_training_options_over_by_name(tmp_path):
    from tooltune.recipe.smollm2_tools import _train_config

    rc = RecipeConfig(out=str(tmp_path), rank=32, alpha=64, batch_size=3, grad_accum=5, max_length=777, scheduler="cosine",
                      seed=9, init_adapter="v2")
    tc = _train_config(rc, tmp_path / "train", 2e-4, 11, 4, save_model=False)
    assert (tc.rank, tc.alpha, tc.batch_size, tc.grad_accum, tc.max_length, tc.scheduler, tc.seed) == (32, 64, 3, 5, 777, "cosine", 9)
    assert (tc.out, tc.lr, tc.max_steps, tc.save_steps, tc.save_model, tc.warmup_ratio) == (str(Path(tmp_path / "train")), 2e-4, 11, 4, False, 0.05)
    assert tc.init_adapter is None  # "v2" is the train stage's to resolve into a folder, never passed on raw
    assert _train_config(rc, tmp_path, 1e-3, 1, 0, init_adapter="/a").init_adapter == "/a"
