"""Backends: local transformers, llama.cpp (optional), any OpenAI-compatible server, and a
scripted test double. `make_llm` is the one place that turns a model name into a backend."""


from tooltune.errors import TooltuneError
from tooltune.llm.base import LLM, Completion, GenerationRequest
from tooltune.llm.int8 import check_weights
from tooltune.llm.scripted import ScriptedLLM

BACKENDS = ("auto", "transformers", "llamacpp", "ort")


def check_backend(backend: str) -> None:
    """Fail before any model loads: a typo in --backend should cost a second, not a model load."""
    if backend not in BACKENDS:
        raise TooltuneError(f"unknown backend {backend!r}: use one of {', '.join(BACKENDS)}")


def make_llm(
    model: str | None = None, base_url: str | None = None, api_key: str | None = None, *,
    adapter: str | None = None, backend: str = "auto", weights: str = "fp32", **kwargs,
) -> LLM:
    """A server when `base_url` is given, else a local model.

    `model`: None / "embedded" (the embedded SmolLM2 plus the shipped tuned adapter, when one is
    shipped), "embedded-v2" (the previous default adapter), "embedded-base", a HF model folder or a .gguf file. `adapter`: a PEFT LoRA folder
    (or, for llama.cpp, a GGUF LoRA file) applied on top. `backend`: "transformers", "llamacpp",
    or "auto" = llama.cpp for a .gguf when `llama-cpp-python` is installed and no PEFT adapter is
    involved, else transformers; "ort" = the same fp32 weights as transformers through
    onnxruntime-genai (`tooltune.llm.ort_backend`). `weights`: "fp32" or "int8" for transformers (`tooltune.llm.int8`)."""
    check_backend(backend)
    check_weights(weights)
    if weights != "fp32" and base_url:
        raise TooltuneError("--weights applies to local transformers models; a server (--base-url) chooses its own")
    if base_url:
        if adapter:
            raise TooltuneError("--adapter applies to local models; a server (--base-url) loads its own adapters")
        from tooltune.llm.openai_backend import OpenAILLM

        return OpenAILLM(base_url, api_key=api_key, model=model, **kwargs)
    from tooltune.llm.embedded import resolve_model

    base, shipped = resolve_model(model)
    adapter = adapter or shipped
    if backend == "auto":
        backend = "llamacpp" if prefers_llamacpp(base, adapter) and weights == "fp32" else "transformers"
    if backend == "llamacpp":
        if weights != "fp32":
            raise TooltuneError("--weights int8 is for the transformers backend; llama.cpp runs the GGUF's own quantisation")
        from tooltune.llm.llamacpp_backend import LlamaCppLLM

        return LlamaCppLLM(base, adapter=adapter, **_accepted(LlamaCppLLM, kwargs))
    if backend == "ort":
        if weights != "fp32":
            raise TooltuneError("--weights int8 is for the transformers backend; --backend ort runs the fp32 weights")
        from tooltune.llm.ort_backend import OrtLLM

        return OrtLLM(base, adapter=adapter, **_accepted(OrtLLM, kwargs))
    from tooltune.llm.transformers_backend import TransformersLLM

    return TransformersLLM(base, adapter=adapter, weights=weights, **_accepted(TransformersLLM, kwargs))


def enforces_constraints(model: str | None, base_url: str | None, *, adapter: str | None = None, backend: str = "auto", weights: str = "fp32") -> bool:
    """Whether `make_llm` with these arguments gives a backend that enforces a request's
    `constraint` (the local transformers one); servers and llama.cpp decode free."""
    if base_url or backend == "llamacpp":
        return False
    if backend in ("transformers", "ort") or weights != "fp32":
        return True
    from tooltune.llm.embedded import resolve_model

    base, shipped = resolve_model(model)
    return not prefers_llamacpp(base, adapter or shipped)


def _accepted(cls: type, kwargs: dict) -> dict:
    """Server-only options (tool_role, continue_mode, …) mean nothing to a local model and are
    dropped, as they always were; options the local backend takes are passed on."""
    import inspect

    params = inspect.signature(cls.__init__).parameters
    return {k: v for k, v in kwargs.items() if k in params}


def prefers_llamacpp(base: str, adapter: str | None) -> bool:
    """What backend="auto" picks: llama.cpp for a GGUF (with no adapter, or a GGUF LoRA) when installed."""
    from tooltune.llm.llamacpp_backend import available

    return base.endswith(".gguf") and (adapter is None or str(adapter).endswith(".gguf")) and available()


__all__ = ["LLM", "Completion", "GenerationRequest", "ScriptedLLM", "make_llm", "enforces_constraints", "BACKENDS"]
