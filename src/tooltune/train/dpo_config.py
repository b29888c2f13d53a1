"""`DPOConfig`: the settings of preference training, in a module without torch so the CLI can
take `tooltune train --ref/--beta`'s defaults from it at start-up (train/dpo.py is the loop)."""

from __future__ import annotations

from dataclasses import dataclass

from tooltune.errors import TooltuneError
from tooltune.llm.loading import require_adapter
from tooltune.train.trainer import TrainConfig


@dataclass
class DPOConfig(TrainConfig):
    ref: str = "base"  # "base" or the folder of an SFT adapter (`tooltune train --out`)
    beta: float = 0.1

    def validate(self) -> None:
        super().validate()
        if self.beta <= 0:
            raise TooltuneError(f"--beta {self.beta:g}: must be positive (0.1 is the usual value; larger keeps closer to the reference)")
        if self.ref != "base":
            require_adapter(self.ref, "--ref", " or 'base'")
        if self.loss_scale:
            raise TooltuneError("--loss-scale applies to SFT; DPO weighs every step token the same")
