"""The onnxruntime-genai backend (`--backend ort`, `pip install 'tooltune[ort]'`): the same
fp32 weights as the transformers backend, run as one ONNX graph, about three times faster a
token at batch 1 on a 2-core CPU and greedy token for token the same (the embedded model with its
adapter: 20 of 20 prompts of 32 tokens, 12 of 12 agent requests; benchmarks/decode_paths.py).

Why it is faster with the same weights: the transformers forward launches ~400 small PyTorch
operations a token, whose overhead, not reading the weights, dominates a 135M model; onnxruntime
runs the graph with fused kernels and a preallocated KV cache.

The weights are converted once, by onnxruntime-genai's model builder, from the fp32 folder the
transformers backend already caches (the GGUF de-quantised, the adapter merged in) into the same
cache (`weights_cache`). The decoding loop is `tooltune.llm.decode`'s: tooltune picks every
token from the logits, so greedy and sampled decoding, the llguidance constraint with copy help,
stop strings, streaming and cancel behave exactly as in `TransformersLLM`. One generator holds
the KV cache of the previous request; a new prompt rewinds it to their common prefix and
prefills only the rest (llama.cpp's single-slot reuse), so requests run one at a time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tooltune.errors import TooltuneError
from tooltune.formats.chat import ChatRenderer
from tooltune.llm.base import LLM, Completion, GenerationRequest, OnText
from tooltune.llm.constrain import Guided
from tooltune.llm.context import RenderedPrompt, fit_context, model_context
from tooltune.llm.prefix_cache import common_prefix

INSTALL_HINT = "pip install 'tooltune[ort]' (onnxruntime-genai, onnx, onnx-ir)"
CONTEXT = 4096  # the most the generator preallocates KV for (prompt + new tokens), or the model's own context when shorter


def available() -> bool:
    return importlib.util.find_spec("onnxruntime_genai") is not None


def onnx_folder(weights: Path, tokenizer: Path) -> Path:
    """The cached fp32 ONNX folder for a fp32 HF folder `weights` (and its tokenizer folder),
    converted on first use; keyed by the weight files' hashes."""
    from tooltune.llm import weights_cache

    files = sorted(weights.glob("*.safetensors"))
    if not files or not (weights / "config.json").is_file():
        raise TooltuneError(f"--backend ort converts fp32 safetensors folders; {weights} has none")
    key = hashlib.sha256("".join(weights_cache.file_hash(f) for f in files).encode()).hexdigest()[:20]
    folder = weights_cache.cache_root() / f"onnx-v{weights_cache.FORMAT_VERSION}-fp32-{key}"
    if (folder / "genai_config.json").is_file():
        return folder
    print(f"converting {weights.name} to ONNX once (about a minute); cached in {folder}", file=sys.stderr)
    built = weights_cache.build_folder(folder, lambda tmp: _convert(weights, tokenizer, tmp))
    if built is None:
        raise TooltuneError(f"--backend ort: cannot write the ONNX copy in {folder.parent}; set {weights_cache.CACHE_ENV} to a writable folder")
    return built


def _convert(weights: Path, tokenizer: Path, out: Path) -> None:
    """Run the model builder on a staging folder of links: the weights folder (the weights cache's
    copies hold no tokenizer) plus the tokenizer files."""
    stage, cache = out / "hf", out / "builder-cache"
    stage.mkdir()
    names = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json")
    for f in [*weights.glob("*.safetensors"), *(weights / n for n in names[:2]), *(tokenizer / n for n in names[2:])]:
        if f.is_file():
            (stage / f.name).symlink_to(f.resolve())
    command = [sys.executable, "-m", "onnxruntime_genai.models.builder", "-i", str(stage), "-o", str(out), "-p", "fp32", "-e", "cpu", "-c", str(cache)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0 or not (out / "genai_config.json").is_file():
        raise TooltuneError(f"--backend ort: the ONNX conversion failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}")
    for path in (stage, cache):
        shutil.rmtree(path, ignore_errors=True)


class _Model:
    """What `tooltune.llm.decode` calls: `model(input_ids=, past_key_values=, ...)` appends the
    ids to the generator and returns the last position's logits."""

    device = "cpu"

    def __init__(self, generator: Any) -> None:
        self.generator = generator

    def forward(self, input_ids: Any, past_key_values: Any = None, use_cache: bool = True, logits_to_keep: int = 1) -> Any:
        import numpy as np
        import torch

        self.generator.append_tokens(np.asarray(input_ids[0].tolist(), dtype=np.int32))
        return SimpleNamespace(logits=torch.from_numpy(np.array(self.generator.get_logits())).reshape(1, 1, -1))

    __call__ = forward


class _Length:
    """The cache `decode` reads its start from: the generator's token count."""

    def __init__(self, generator: Any) -> None:
        self.generator = generator

    def get_seq_length(self) -> int:
        return int(self.generator.token_count())


class OrtLLM(RenderedPrompt, Guided, LLM):
    name = "ort"

    def __init__(self, model: str | None = None, adapter: str | None = None, *, threads: int | None = None) -> None:
        if not available():
            raise TooltuneError(f"--backend ort needs onnxruntime-genai: {INSTALL_HINT}")
        import onnxruntime_genai as og

        from tooltune.llm.embedded import embedded_model_path
        from tooltune.llm.loading import load_tokenizer

        started = time.perf_counter()
        source = str(Path(model).expanduser().resolve()) if model else str(embedded_model_path())
        weights, tokenizer = _fp32_folders(source, adapter)
        self.folder = onnx_folder(weights, tokenizer)
        config = og.Config(str(self.folder))
        if threads:
            config.overlay(json.dumps({"model": {"decoder": {"session_options": {"intra_op_num_threads": threads}}}}))
        self.og, self.model_og = og, og.Model(config)
        self.tokenizer = load_tokenizer(source)
        self.renderer = ChatRenderer(self.tokenizer)
        context = min(json.loads((weights / "config.json").read_text()).get("max_position_embeddings", CONTEXT), CONTEXT)
        eos = json.loads((weights / "config.json").read_text()).get("eos_token_id")
        # What `model_context` and `Guided` read of a model.
        self.model = SimpleNamespace(config=SimpleNamespace(max_position_embeddings=context), generation_config=SimpleNamespace(eos_token_id=eos))
        self.load_seconds = time.perf_counter() - started
        self._generator: Any = None
        self._tokens: list[int] = []  # what the generator's KV cache holds
        self._lock = threading.Lock()

    def complete(self, request: GenerationRequest, on_text: OnText | None = None) -> Completion:
        from tooltune.llm.decode import TextRelay, decode

        ids = self.prompt_ids(request)
        request = fit_context(request, len(ids), model_context(self))
        relay = TextRelay(list(request.stop), on_text)

        def text_of(new: list[int]) -> str:
            return self.tokenizer.decode(new, skip_special_tokens=True)

        with self._lock:
            generator = self._reuse(ids)
            new = decode(_Model(generator), ids, _Length(generator), request.max_tokens, self._eos_ids,
                         lambda new: relay.update(text_of(new)), request.temperature, request.cancel, self.guide(request))
            self._tokens = (ids + new)[: int(generator.token_count())]
        text = relay.finish(text_of(new))
        finish = "stop" if relay.stopped or len(new) < request.max_tokens else "length"
        return Completion(text, None, finish, len(ids), len(new))

    def _reuse(self, ids: list[int]) -> Any:
        """The generator rewound to the longest prefix it shares with `ids` (at least the last
        prompt token is left to feed), or a fresh one."""
        keep = min(common_prefix(self._tokens, ids), len(ids) - 1)
        if self._generator is not None and keep > 0:
            self._generator.rewind_to(keep)
            return self._generator
        params = self.og.GeneratorParams(self.model_og)
        params.set_search_options(max_length=self.model.config.max_position_embeddings)
        self._generator, self._tokens = self.og.Generator(self.model_og, params), []
        return self._generator


def _fp32_folders(source: str, adapter: str | None) -> tuple[Path, Path]:
    """(fp32 weights folder, tokenizer folder) for a GGUF (de-quantised, `adapter` merged, both
    cached) or a HF model folder without an adapter."""
    from tooltune.llm import weights_cache
    from tooltune.llm.loading import merged_source

    if source.endswith(".gguf"):
        gguf = Path(source)
        folder = merged_source(source, adapter) if adapter else weights_cache.fp32_folder(gguf)
        tokenizer = weights_cache.tokenizer_folder(gguf)
        if folder and tokenizer:
            return Path(folder), tokenizer
        raise TooltuneError(f"--backend ort needs the weights cache for {gguf.name}: unset {weights_cache.DISABLE_ENV}")
    if adapter:
        raise TooltuneError("--backend ort runs a model folder as it is: merge the adapter first (`tooltune export`), or use --backend transformers")
    return Path(source), Path(source)
