"""Local generation with Hugging Face transformers: any HF model folder or GGUF file.

The prompt is the format's turns rendered through the model's own chat template by
`ChatRenderer` — the same code that builds training labels. Greedy by default. The KV cache of
recent prompts is reused (`prefix_cache.PrefixCache`), so an agent step or an evaluation item
only prefills what differs from an earlier prompt; a GGUF is de-quantised once and cached
(`weights_cache`).
"""

from __future__ import annotations

import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from transformers import StoppingCriteria, StoppingCriteriaList

from tooltune.errors import TooltuneError
from tooltune.formats.chat import ChatRenderer
from tooltune.llm.base import LLM, Completion, GenerationRequest, OnText
from tooltune.llm.constrain import Guided
from tooltune.llm.context import RenderedPrompt, fit_context, model_context
from tooltune.llm.embedded import embedded_model_path
from tooltune.llm.loading import apply_adapter, load_pretrained, load_tokenizer, load_with_adapter, merged_source, split_source
from tooltune.llm.prefix_cache import PrefixCache, reusable

# Loading lives in `tooltune.llm.loading`; these names stay importable from here for callers.
__all__ = ["TransformersLLM", "load_model", "load_pretrained", "load_tokenizer", "apply_adapter", "split_source",
           "check_device", "resolve_device", "DEVICES"]


class _Cancelled(StoppingCriteria):
    """Stops each row of `generate` as soon as its request's cancel event is set (Agent.cancel()).
    One event per row, so requests of different agents (an eval's items) still share a batch."""

    def __init__(self, events: list[threading.Event | None]) -> None:
        self.events = events

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        flags = [e is not None and e.is_set() for e in self.events]
        return torch.tensor(flags, dtype=torch.bool, device=input_ids.device)


DEVICES = ("cpu", "cuda", "auto")


def check_device(device: str) -> None:
    """A one-line error for a `--device` value that is none of DEVICES (before anything runs)."""
    if device not in DEVICES:
        raise TooltuneError(f"--device {device!r}: use one of {', '.join(DEVICES)}")


def resolve_device(device: str, weights: str = "fp32") -> str:
    """"cpu" or "cuda" for a `--device` value; "auto" takes a GPU when torch sees one. int8 is
    the CPU weight-only kernel, so it stays on the CPU."""
    check_device(device)
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() and weights == "fp32" else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise TooltuneError("--device cuda: torch sees no GPU here; use --device cpu (or auto)")
    if device == "cuda" and weights != "fp32":
        raise TooltuneError("--weights int8 is a CPU kernel: use it with --device cpu")
    return device


def load_model(path: str | None = None, adapter: str | None = None, weights: str = "fp32", device: str = "cpu") -> tuple[Any, Any]:
    """Load (model, tokenizer) for inference once per process; `None` means the embedded SmolLM2.
    One cache entry per (file, adapter, weights, device), however the path was spelled or the
    arguments passed. `weights="int8"`: see `tooltune.llm.int8`."""
    from tooltune.llm.int8 import check_weights

    check_weights(weights)
    return _load_model(_model_path(path), str(adapter) if adapter else None, weights, resolve_device(device, weights))


def _model_path(path: str | None) -> str:
    """One spelling per model file: the resolved path, or the embedded GGUF for None."""
    return str(Path(path).expanduser().resolve()) if path else str(embedded_model_path())


@lru_cache(maxsize=2)
def _load_model(path: str, adapter: str | None, weights: str, device: str = "cpu") -> tuple[Any, Any]:
    model, tokenizer = load_with_adapter(path, adapter)
    if weights == "int8":
        from tooltune.llm.int8 import quantize_int8

        model = quantize_int8(model)
    model.to(device).eval()
    return model, tokenizer


def _load_lite(model: str | None, adapter: str | None, weights: str) -> tuple[Any, Any] | None:
    """(model, tokenizer) through `lite_llama` from the cached fp32 folder of a GGUF (with its
    adapter merged in), or from a model folder; None when it does not apply."""
    from tooltune.llm import lite_llama, weights_cache

    if weights != "fp32":
        return None
    source, extra = split_source(model)
    if not extra:  # a model folder; with a PEFT adapter it needs transformers to merge
        return None if adapter else lite_llama.load_folder(Path(source), Path(source))
    gguf = Path(source) / extra["gguf_file"]
    folder = merged_source(str(gguf.resolve()), adapter) if adapter else weights_cache.fp32_folder(gguf)
    tokenizer = weights_cache.tokenizer_folder(gguf)
    return lite_llama.load_folder(Path(folder), tokenizer) if folder and tokenizer else None


def _disk_prefix(choice: Any, model: str | None, adapter: str | None, weights: str, from_path: bool) -> Any:
    """The on-disk prompt cache `TransformersLLM(disk_prefix=…)` asked for, or None. True needs
    a model loaded from a path: a model object has no files to key its cache by."""
    from tooltune.llm import disk_prefix

    if choice is False or choice is None or not disk_prefix.enabled():
        return None
    if choice is not True:
        return choice
    if not from_path:
        return None
    return disk_prefix.DiskPrefixCache(disk_prefix.model_key(_model_path(model), adapter, weights))


class TransformersLLM(RenderedPrompt, Guided, LLM):
    name = "transformers"

    def __init__(
        self, model: str | None = None, adapter: str | None = None, *, model_obj: Any = None,
        tokenizer: Any = None, prefix_cache: bool = True, cache_entries: int = 8, weights: str = "fp32",
        device: str = "cpu", disk_prefix: Any = False, lite: bool = False,
    ) -> None:
        """For `tooltune run`, whose start-up matters: `disk_prefix` True keeps prompt KV caches
        on disk across processes (`disk_prefix` module), or pass a `DiskPrefixCache`; `lite`
        runs a model `lite_llama` reproduces bit for bit without importing transformers' model
        code (else it loads as usual)."""
        if model_obj is not None:
            self.model, self.tokenizer = (apply_adapter(model_obj, adapter).eval() if adapter else model_obj), tokenizer
        else:
            started = time.perf_counter()
            loaded = _load_lite(model, adapter, weights) if lite and resolve_device(device, weights) == "cpu" else None
            self.model, self.tokenizer = loaded or load_model(model, adapter, weights, device)
            self.load_seconds = time.perf_counter() - started
        self.renderer = ChatRenderer(self.tokenizer)
        enabled = prefix_cache and reusable(self.model)
        self.prefix_cache = PrefixCache(self.model.config, cache_entries if enabled else 0)
        on_cpu = getattr(self.model, "device", None) is None or str(self.model.device) == "cpu"  # saved caches load onto the CPU
        self.disk_prefix = _disk_prefix(disk_prefix, model, adapter, weights, model_obj is None) if enabled and on_cpu else None

    def _generate_kwargs(self, request: GenerationRequest, cancels: list[threading.Event | None] | None = None) -> dict[str, Any]:
        """`generate` options for `request`'s settings; `cancels`: one cancel event per batch row
        (default: the request's own)."""
        kwargs: dict[str, Any] = {"max_new_tokens": request.max_tokens, "pad_token_id": self.tokenizer.pad_token_id}
        if request.temperature > 0:
            kwargs.update(do_sample=True, temperature=request.temperature)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if request.stop:
            kwargs.update(stop_strings=request.stop, tokenizer=self.tokenizer)
        events = cancels if cancels is not None else [request.cancel]
        if any(e is not None for e in events):
            kwargs["stopping_criteria"] = StoppingCriteriaList([_Cancelled(events)])
        return kwargs

    def complete(self, request: GenerationRequest, on_text: OnText | None = None) -> Completion:
        """One request through `tooltune.llm.decode` (not `generate`, which costs as much per
        token as the model here), starting from the longest cached prefix of its prompt."""
        from tooltune.llm.decode import TextRelay, decode

        ids = self.prompt_ids(request)
        request = fit_context(request, len(ids), model_context(self))
        cache = self.prefix_cache.lookup(ids)[0] if self.prefix_cache.enabled else None
        disk = self.disk_prefix if cache is None else None  # a new prompt: maybe an earlier process prefilled it
        cache, from_disk = disk.lookup(ids, self.model.config) if disk else (cache, 0)
        cache = cache if cache is not None else self._empty_cache()
        relay = TextRelay(list(request.stop), on_text)

        def text_of(new: list[int]) -> str:
            return self.tokenizer.decode(new, skip_special_tokens=True)

        new = decode(self.model, ids, cache, request.max_tokens, self._eos_ids, lambda new: relay.update(text_of(new)),
                     request.temperature, request.cancel, self.guide(request))
        text = relay.finish(text_of(new))
        if self.prefix_cache.enabled:
            self.prefix_cache.store((ids + new)[: cache.get_seq_length()], cache)
        if disk and from_disk < len(ids) - 1:
            disk.store(ids, cache)
        finish = "stop" if relay.stopped or len(new) < request.max_tokens else "length"
        return Completion(text, None, finish, len(ids), len(new))

    def _empty_cache(self) -> Any:
        from transformers import DynamicCache

        return DynamicCache(config=self.model.config)

    def complete_batch(self, requests: list[GenerationRequest]) -> list[Completion]:
        """Requests that share their settings (temperature, max_tokens, stop strings) are
        generated together, each row keeping its own cancel flag; each group is one `generate` call."""
        from tooltune.llm.batch import generate_group

        if not hasattr(self.model, "generate"):  # lite_llama: no batched generation
            return [self.complete(r) for r in requests]
        groups: dict[tuple, list[int]] = {}
        for i, r in enumerate(requests):
            if r.cancel is not None and r.cancel.is_set():  # cancelled before it starts: nothing generated
                groups.setdefault(("cancelled", i), []).append(i)
                continue
            key = (r.temperature, r.max_tokens, tuple(r.stop))  # cancel flags are per row
            groups.setdefault(key, []).append(i)
        results: list[Completion | None] = [None] * len(requests)
        for members in groups.values():
            if len(members) == 1:
                results[members[0]] = self.complete(requests[members[0]])
                continue
            for i, completion in zip(members, generate_group(self, [requests[i] for i in members])):
                results[i] = completion
        return results  # type: ignore[return-value]
