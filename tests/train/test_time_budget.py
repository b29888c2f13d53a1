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
