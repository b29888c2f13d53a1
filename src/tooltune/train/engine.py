"""The accelerate engine a training run gets: one Accelerator per run, and a warning when the
launch config asked for an engine that accelerate did not set up."""

from __future__ import annotations

from typing import Any


def engine_mismatch(env: dict[str, str], distributed_type: str) -> str | None:
    """A one-line warning when the launch config asked for FSDP or DeepSpeed and accelerate set up
    something else. accelerate (1.15) builds FSDP only on accelerators: on CPU it runs plain DDP
    without a word, which a user would otherwise take for a sharded run."""
    for engine, flag in (("FSDP", "ACCELERATE_USE_FSDP"), ("DEEPSPEED", "ACCELERATE_USE_DEEPSPEED")):
        if env.get(flag, "false").lower() == "true" and distributed_type != engine:
            return (f"the launch config asks for {engine}, but accelerate set up {distributed_type} (on CPU it only does data "
                    "parallelism): weights and optimizer state are replicated on every process, not sharded")
    return None


def accelerator(mixed_precision: str, cpu: bool) -> Any:
    """accelerate keeps one AcceleratorState per process and refuses a second Accelerator with
    another mixed precision. A single process may train twice with different precisions (the
    benchmark compares fp32 and bf16 in one run), so its state is reset first; never under a
    distributed launch, whose process group lives in that state."""
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState, PartialState

    shared = AcceleratorState._shared_state
    if shared and shared.get("_mixed_precision") != mixed_precision and PartialState().num_processes == 1:
        AcceleratorState._reset_state()
    return Accelerator(mixed_precision=mixed_precision, cpu=cpu)
