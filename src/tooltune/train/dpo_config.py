"""`DPOConfig`: the settings of preference training, in a module without torch so the CLI can
take `tooltune train --ref/--beta`'s defaults from it at start-up (train/dpo.py is the loop)."""

from __future__ import annotations

from dataclasses import dataclass

from tooltune.errors import TooltuneError
from tooltune.llm.loading import require_adapter
from tooltune.train.config import TrainConfig


@dataclass
class DPOConfig(TrainConfig):
    ref: str = "base"  # "base" or the folder of an SFT adapter (`tooltune train --out`)
    beta: float = 0.1
    nll_weight: float = 0.0  # RPO: + weight x the chosen step's mean token NLL (0: plain DPO)

    def validate(self) -> None:
        super().validate()
        if self.beta <= 0:
            raise TooltuneError(f"--beta {self.beta:g}: must be positive (0.1 is the usual value; larger keeps closer to the reference)")
        if self.nll_weight < 0:
            raise TooltuneError(f"--nll-weight {self.nll_weight:g}: must be 0 (plain DPO) or positive (1.0 is RPO's value)")
        if self.ref != "base":
            require_adapter(self.ref, "--ref", " or 'base'")
        if self.loss_scale:
            raise TooltuneError("--loss-scale applies to SFT; DPO weighs every step token the same")
