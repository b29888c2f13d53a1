"""A LoRA run on the real embedded SmolLM2-135M over a small corpus completes on CPU and lowers
the loss (three steps on two short samples: well under a minute of training on two idle cores)."""

from __future__ import annotations

import pytest

from tooltune.train.config import TrainConfig
from tooltune.train.trainer import train


@pytest.mark.slow
def test_lora_on_the_embedded_model_lowers_the_loss(tmp_path, demo_samples, trim):
    # Two short samples (tool list trimmed to the tool each calls) -> one batch per step, so every
    # step's loss is measured on the same tokens and the first one is the untrained loss.
    small = [trim(demo_samples[0]), trim(next(s for s in demo_samples if not any(m.tool_calls for m in s.messages)))]
    cfg = TrainConfig(out=str(tmp_path / "lora"), lora=True, rank=8, alpha=16, lr=2e-3, max_steps=3, batch_size=2,
                      max_length=512, eval_split=0.0, warmup_ratio=0.0, scheduler="constant", progress=False, report_to="none")
    result = train(cfg, samples=small)
    losses = [row["loss"] for row in result.history]
    assert result.steps == 3 and result.corpus_info["overlong_to_eval"] == 0
    assert losses[-1] < losses[0] - 0.1, losses
    assert (tmp_path / "lora" / "adapter_config.json").exists()
