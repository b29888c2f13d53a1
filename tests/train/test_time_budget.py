"""A time-budgeted LoRA run stops with a checkpoint that holds the adapter alone, and a rerun
continues from it: how the recipe trains across sessions on a CPU."""

from __future__ import annotations

from peft import PeftModel

from tooltune.train.config import TrainConfig
from tooltune.train.trainer import checkpoints, train


def test_time_budget_stops_with_an_adapter_checkpoint_and_resume_continues(tmp_path, make_tiny, smol_tokenizer, short_samples):
    cfg = TrainConfig(lora=True, rank=4, alpha=8, lr=1e-3, max_steps=4, batch_size=2, max_length=1024, eval_split=0.0,
                      out=str(tmp_path / "run"), progress=False, report_to="none", scheduler="constant", max_minutes=1e-6)
    first = train(cfg, make_tiny(), smol_tokenizer, short_samples)
    assert first.steps == 1  # out of time after the first step, not after max_steps
    (ckpt,) = checkpoints(tmp_path / "run")
    assert ckpt.name == "step-000001"
    assert (ckpt / "adapter" / "adapter_config.json").exists()
    PeftModel.from_pretrained(make_tiny(), str(ckpt / "adapter"))  # loads on its own
    cfg.max_minutes, cfg.resume = None, True
    second = train(cfg, make_tiny(), smol_tokenizer, short_samples)
    assert second.steps == 4 and len(second.history) == 3  # steps 2..4 only


def test_ctrl_c_ends_the_step_saves_a_checkpoint_there_and_resume_continues(tmp_path, make_tiny, smol_tokenizer, short_samples, monkeypatch):
    import signal

    from tooltune.train import trainer as trainer_module

    logged = trainer_module.MetricsLogger.log

    def log_then_interrupt(self, row):  # the user presses Ctrl-C during step 2
        logged(self, row)
        if row["step"] == 2:
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(trainer_module.MetricsLogger, "log", log_then_interrupt)
    before = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal (CI may run us with SIGINT ignored)
    try:
        _interrupt_at_step_2_then_resume(tmp_path, make_tiny, smol_tokenizer, short_samples, monkeypatch, trainer_module, logged)
    finally:
        signal.signal(signal.SIGINT, before)


def _interrupt_at_step_2_then_resume(tmp_path, make_tiny, smol_tokenizer, short_samples, monkeypatch, trainer_module, logged):
    import signal

    cfg = TrainConfig(lora=True, rank=4, alpha=8, lr=1e-3, max_steps=6, batch_size=2, max_length=1024, eval_split=0.0, save_steps=0,
                      out=str(tmp_path / "run"), progress=False, report_to="none", scheduler="constant")
    first = train(cfg, make_tiny(), smol_tokenizer, short_samples)
    assert first.steps == 2
    assert [c.name for c in checkpoints(tmp_path / "run")] == ["step-000002"]  # save_steps=0: only the interrupt saved one
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the previous handler is back
    monkeypatch.setattr(trainer_module.MetricsLogger, "log", logged)
    cfg.resume = True
    second = train(cfg, make_tiny(), smol_tokenizer, short_samples)
    assert second.steps == 6 and [r["step"] for r in second.history] == [3, 4, 5, 6]


def test_an_ignored_sigint_stays_ignored():
    import signal

    from tooltune.train.interrupt import graceful_stop

    before = signal.signal(signal.SIGINT, signal.SIG_IGN)  # e.g. a background job started with `nohup … &`
    try:
        with graceful_stop() as stop:
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            signal.raise_signal(signal.SIGINT)
            assert not stop.is_set()
            assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL  # SIGTERM is still caught
    finally:
        signal.signal(signal.SIGINT, before)


def test_fitted_total_is_the_last_step_the_time_left_can_hold():
    from tooltune.train.schedule import fitted_total

    assert fitted_total(step=3, total=20, seconds_per_step=10.0, seconds_left=45.0) == 7  # four more steps fit
    assert fitted_total(step=3, total=5, seconds_per_step=10.0, seconds_left=450.0) == 5  # never longer than planned
    assert fitted_total(step=3, total=20, seconds_per_step=10.0, seconds_left=1.0) == 4  # at least one more step
    assert fitted_total(step=3, total=20, seconds_per_step=0.0, seconds_left=1.0) == 20


def test_fit_deadline_ends_the_decay_where_the_time_runs_out(tmp_path, make_tiny, smol_tokenizer, short_samples, monkeypatch):
    """A machine slower than planned: every step takes 10 s of a 65 s budget, so six steps fit of
    the twenty planned. With fit_deadline the cosine is shortened to end at step 6; without it the
    deadline cuts the run at step 7 at a high rate."""
    from tooltune.train import trainer as trainer_module
    from tooltune.train.schedule import get_lr

    class SlowClock:  # the clock moves only while a step computes: 10 s a step
        now = 0.0

        def monotonic(self):
            return self.now

        perf_counter = monotonic

    clock = SlowClock()
    accumulate = trainer_module.Trainer._accumulate

    def slow_accumulate(self, *args):
        clock.now += 10.0
        return accumulate(self, *args)

    monkeypatch.setattr(trainer_module.Trainer, "_accumulate", slow_accumulate)
    runs = {}
    for fit in (False, True):
        clock.now = 0.0
        monkeypatch.setattr(trainer_module, "time", clock)
        cfg = TrainConfig(lora=True, rank=4, alpha=8, lr=1e-3, max_steps=20, batch_size=1, max_length=1024, eval_split=0.0, warmup_ratio=0.0,
                          out=str(tmp_path / f"fit{fit}"), progress=False, report_to="none", scheduler="cosine", max_minutes=65 / 60, fit_deadline=fit)
        runs[fit] = train(cfg, make_tiny(), smol_tokenizer, short_samples)
    plain, fitted = runs[False], runs[True]
    assert [r["lr"] for r in plain.history] == [get_lr(s, 1e-3, "cosine", 20, 0) for s in range(len(plain.history))]
    assert plain.steps == 7 and plain.history[-1]["lr"] > 0.75e-3  # cut off near the peak
    lrs = [r["lr"] for r in fitted.history]
    assert fitted.steps == len(lrs) == 6 and lrs[-1] == get_lr(5, 1e-3, "cosine", 6, 0) < 0.1e-3  # decayed to its low end by the deadline
    assert lrs == sorted(lrs, reverse=True)
