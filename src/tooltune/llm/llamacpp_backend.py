"""The optional llama.cpp backend (`pip install 'tooltune[llamacpp]'`): a GGUF run natively by
llama.cpp through `llama-cpp-python`, with the same `LLM` interface as `TransformersLLM`.

The prompt is rendered and tokenised by the model's Hugging Face tokenizer (the same text and
token ids as the transformers backend and training), then fed to llama.cpp as token ids.
`Llama.generate` keeps the previous sequence's KV cache and prefills only what follows the
longest common token prefix, so agent steps and evaluation items sharing the system prompt and
tool descriptions skip most of the prefill. Greedy when temperature is 0.

Where the default (native CPU flags) build crashes, build it with
`CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF"`.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import time
from pathlib import Path

from tooltune.errors import TooltuneError
from tooltune.formats.chat import ChatRenderer
from tooltune.llm.base import LLM, Completion, GenerationRequest, OnText, cut_at_stop
from tooltune.llm.context import RenderedPrompt

INSTALL_HINT = "install it with: pip install 'tooltune[llamacpp]' (see docs/inference.md for the build flags)"


def available() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


class LlamaCppLLM(RenderedPrompt, LLM):
    name = "llamacpp"

    def __init__(self, model: str | Path, adapter: str | Path | None = None, *, n_ctx: int = 4096, n_threads: int | None = None, seed: int = 0) -> None:
        if not available():
            raise TooltuneError(f"--backend llamacpp needs llama-cpp-python: {INSTALL_HINT}")
        path = Path(model).expanduser()
        if path.suffix != ".gguf" or not path.is_file():
            raise TooltuneError(f"--backend llamacpp runs .gguf files; {model} is not one (use --backend transformers for a model folder)")
        if adapter and not str(adapter).endswith(".gguf"):
            raise TooltuneError(
                f"llama.cpp applies LoRA adapters as GGUF files, and {adapter} is a PEFT folder: convert it with llama.cpp's "
                "convert_lora_to_gguf.py, export a merged GGUF, or use --backend transformers"
            )
        from llama_cpp import Llama

        from tooltune.llm.loading import load_tokenizer

        started = time.perf_counter()
        # llama.cpp's own default is half the cores; its threads spin-wait, so on a busy machine
        # more threads than free cores is many times slower. OMP_NUM_THREADS overrides it.
        threads = n_threads or int(os.environ.get("OMP_NUM_THREADS") or 0) or None
        self.llama = Llama(
            model_path=str(path), lora_path=str(adapter) if adapter else None, n_ctx=n_ctx,
            n_threads=threads, n_threads_batch=threads, seed=seed, verbose=False,
        )
        self.tokenizer = load_tokenizer(path)
        self.renderer = ChatRenderer(self.tokenizer)
        self.load_seconds = time.perf_counter() - started
        self._lock = threading.Lock()  # one llama.cpp context: one generation at a time

    def complete(self, request: GenerationRequest, on_text: OnText | None = None) -> Completion:
        ids = self.prompt_ids(request)
        if len(ids) + request.max_tokens > self.llama.n_ctx():
            raise TooltuneError(f"prompt ({len(ids)} tokens) plus max_tokens ({request.max_tokens}) exceeds the llama.cpp context of {self.llama.n_ctx()}; pass a larger n_ctx")
        with self._lock:
            new, text, stopped = self._generate(ids, request, on_text)
        finish = "stop" if stopped or len(new) < request.max_tokens else "length"
        return Completion(text, None, finish, len(ids), len(new))

    def _generate(self, ids: list[int], request: GenerationRequest, on_text: OnText | None) -> tuple[list[int], str, bool]:
        """Token by token, so stop strings, cancel and streaming behave as in TransformersLLM."""
        eos = self.llama.token_eos()
        sampling = {"temp": request.temperature} if request.temperature > 0 else {"temp": 0.0, "top_k": 1}
        new: list[int] = []
        emitted, text, stopped = "", "", False
        hold = max((len(s) for s in request.stop), default=0)
        for token in self.llama.generate(ids, reset=True, **sampling):
            if request.cancel is not None and request.cancel.is_set():
                break
            new.append(token)
            if token == eos:
                break
            text = self.tokenizer.decode(new, skip_special_tokens=True)
            visible, stopped = cut_at_stop(text, request.stop)
            safe = visible if stopped else visible[: max(len(emitted), len(visible) - hold)]
            if on_text and len(safe) > len(emitted):
                on_text(safe[len(emitted):])
                emitted = safe
            if stopped or len(new) >= request.max_tokens:
                break
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        text, stopped = cut_at_stop(text, request.stop)
        if on_text and len(text) > len(emitted):
            on_text(text[len(emitted):])
        return new, text, stopped
