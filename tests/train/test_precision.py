"""`--precision`: auto keeps the CPU in fp32 (bf16 measured slower there), bf16 turns autocast on
anywhere, a wrong value is a one-line error."""

from __future__ import annotations

import pytest
import torch

from tooltune.errors import TooltuneError
from tooltune.train.config import TrainConfig
from tooltune.train.trainer import train


def test_precision_maps_to_accelerate_and_rejects_unknown_values():
    assert TrainConfig(precision="fp32").mixed_precision() == "no"
    assert TrainConfig(precision="bf16").mixed_precision() == "bf16"
    want_auto = "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "no"
    assert TrainConfig().mixed_precision() == want_auto
    with pytest.raises(TooltuneError, match=r"--precision 'fp16': use one of auto, fp32, bf16"):
        TrainConfig(precision="fp16").validate()


def test_bf16_autocast_trains_the_same_steps_within_a_percent(tmp_path, make_tiny, smol_tokenizer, short_samples):
    """Same model, data and steps: bf16 autocast changes the losses (so it is really on) but by
    under 1 %, and the master weights stay fp32."""
    runs = {}
    for precision in ("fp32", "bf16"):
        cfg = TrainConfig(out=str(tmp_path / precision), lora=False, lr=3e-3, max_steps=3, batch_size=2, max_length=512, eval_split=0.0,
                          progress=False, report_to="none", save_model=False, precision=precision)
        model = make_tiny()
        runs[precision] = [row["loss"] for row in train(cfg, model, smol_tokenizer, short_samples[:6]).history]
        assert {p.dtype for p in model.parameters()} == {torch.float32}
    assert runs["bf16"] != runs["fp32"]
    assert runs["bf16"] == pytest.approx(runs["fp32"], rel=0.01)
