"""The learning-rate schedule (train/schedule.py): exact values per step, the same as transformers'
cosine and linear, constant after its warm-up, and checkpoints written before it still resume."""

import math

import pytest
import torch

from tooltune.errors import TooltuneError
from tooltune.train.schedule import get_lr, lr_factor, make_scheduler


def test_each_schedule_step_by_step_against_its_formula():
    total, warmup = 10, 2
    steps = range(12)
    assert [lr_factor(s, "constant", total, warmup) for s in steps] == [0.0, 0.5] + [1.0] * 10  # past `total` too
    assert [lr_factor(s, "linear", total, warmup) for s in steps] == [0.0, 0.5] + [(10 - s) / 8 for s in range(2, 11)] + [0.0]
    assert [lr_factor(s, "linear", total, warmup) for s in (2, 3, 6, 10)] == [1.0, 0.875, 0.5, 0.0]
    cosine = [lr_factor(s, "cosine", total, warmup) for s in steps]
    assert cosine == [0.0, 0.5] + [0.5 * (1.0 + math.cos(math.pi * (s - 2) / 8)) for s in range(2, 12)]
    assert (cosine[2], cosine[4], cosine[6], cosine[10]) == (1.0, 0.8535533905932737, 0.5, 0.0)
    assert get_lr(4, 2e-4, "cosine", total, warmup) == 2e-4 * 0.8535533905932737
    assert [lr_factor(s, "cosine", 5, 0) for s in (0, 5)] == [1.0, 0.0]  # no warm-up: the peak at once


def _lrs(scheduler, optimizer, n):
    out = []
    for _ in range(n):
        out.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    return out


def _optimizer(lr=3e-4):
    return torch.optim.AdamW([torch.nn.Parameter(torch.zeros(2))], lr=lr)


@pytest.mark.parametrize("kind", ["cosine", "linear"])
@pytest.mark.parametrize("total,warmup", [(37, 4), (10, 0), (3, 3), (800, 40)])
def test_cosine_and_linear_are_transformers_values_exactly(kind, total, warmup):
    from transformers import get_scheduler

    ours, theirs = _optimizer(), _optimizer()
    expected = _lrs(get_scheduler(kind, theirs, num_warmup_steps=warmup, num_training_steps=total), theirs, total + 1)
    got = _lrs(make_scheduler(ours, kind, total, warmup), ours, total + 1)
    assert got == expected
    assert got == [get_lr(s, 3e-4, kind, total, warmup) for s in range(total + 1)]


def test_constant_is_constant_after_the_warm_up():
    opt = _optimizer(1e-3)
    assert _lrs(make_scheduler(opt, "constant", 8, 4), opt, 8) == [0.0, 2.5e-4, 5e-4, 7.5e-4, 1e-3, 1e-3, 1e-3, 1e-3]


def test_a_checkpoint_of_the_transformers_scheduler_resumes_on_the_same_curve():
    from transformers import get_scheduler

    old_opt = _optimizer()
    old = get_scheduler("cosine", old_opt, num_warmup_steps=2, num_training_steps=10)
    _lrs(old, old_opt, 5)
    opt = _optimizer()
    new = make_scheduler(opt, "cosine", 10, 2)
    new.load_state_dict(old.state_dict())
    assert _lrs(new, opt, 3) == [get_lr(s, 3e-4, "cosine", 10, 2) for s in (5, 6, 7)]


def test_an_unknown_schedule_is_a_one_line_error():
    with pytest.raises(TooltuneError, match=r"^--scheduler 'step': use one of cosine, linear, constant$"):
        make_scheduler(_optimizer(), "step", 10, 1)
