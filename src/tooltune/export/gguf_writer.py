"""Write a merged llama-architecture model as GGUF with the `gguf` package's GGUFWriter.

Why this route: llama.cpp's converter is not on PyPI, but the `gguf` package (same project) is.
The tokenizer metadata (vocab, merges, special ids) is copied from a source GGUF — the embedded
SmolLM2 file — and the hyper-parameters are written from the model's own config, so the result is
exactly what llama.cpp's converter would describe. Q/K projections are permuted the way llama.cpp
expects (and transformers' GGUF loader undoes), and `tokenizer.chat_template` carries the training
layout.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from tooltune.errors import TooltuneError

GGUF_TYPES = ("f16", "q8_0")


def _permute(weights: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's rotary layout for Q/K rows (as convert_hf_to_gguf writes them)."""
    return weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:]).swapaxes(1, 2).reshape(weights.shape)


def _rope_theta(config: Any) -> float:
    theta = getattr(config, "rope_theta", None)
    if theta is None:
        theta = (getattr(config, "rope_parameters", None) or {}).get("rope_theta", 10000.0)
    return float(theta)


def _copy_tokenizer_metadata(writer: Any, source: Path) -> None:
    import gguf

    reader = gguf.GGUFReader(source)
    skip_prefixes = ("GGUF.", "llama.", "general.architecture", "general.file_type", "general.quantization_version",
                     "tokenizer.chat_template")
    for key, field in reader.fields.items():
        if key.startswith(skip_prefixes):
            continue
        vtype = field.types[0]
        sub_type = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(key, field.contents(), vtype, sub_type=sub_type)


def _write_hparams(writer: Any, config: Any) -> None:
    if getattr(config, "model_type", "llama") != "llama":
        raise TooltuneError(f"--gguf supports llama-architecture models (SmolLM2, Llama); this one is {config.model_type!r}")
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_rope_freq_base(_rope_theta(config))
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_vocab_size(config.vocab_size)
    writer.add_rope_dimension_count(head_dim)


def _tensors(model: Any) -> list[tuple[str, np.ndarray]]:
    """(GGUF name, float32 array) for every weight, in llama.cpp's naming and Q/K layout."""
    import gguf

    config = model.config
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, config.num_hidden_layers)
    tied = bool(getattr(config, "tie_word_embeddings", False))
    out = []
    for hf_name, tensor in model.state_dict().items():
        if tied and hf_name == "lm_head.weight":
            continue  # llama.cpp reuses token_embd when output.weight is absent
        name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if name is None:
            raise TooltuneError(f"--gguf: no GGUF name for tensor {hf_name}; only plain llama weights can be written")
        data = tensor.detach().float().cpu().numpy()
        if hf_name.endswith("q_proj.weight"):
            data = _permute(data, config.num_attention_heads)
        elif hf_name.endswith("k_proj.weight"):
            data = _permute(data, config.num_key_value_heads)
        out.append((name, data))
    return out


def write_gguf(model: Any, source_gguf: Path, path: Path, qtype: str, chat_template: str) -> Path:
    """Write `model` (a merged HF llama) to `path` as f16 or q8_0, atomically (temp file + rename)."""
    import gguf

    if qtype not in GGUF_TYPES:
        raise TooltuneError(f"--gguf {qtype}: use one of {', '.join(GGUF_TYPES)}")
    tmp = path.with_name(f".{path.name}.tmp")
    writer = gguf.GGUFWriter(tmp, arch="llama")
    try:
        _copy_tokenizer_metadata(writer, source_gguf)
        _write_hparams(writer, model.config)
        writer.add_chat_template(chat_template)
        writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16 if qtype == "f16" else gguf.LlamaFileType.MOSTLY_Q8_0)
        writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
        for name, data in _tensors(model):
            _add_tensor(writer, name, data, qtype)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.replace(tmp, path)
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
    return path


def _add_tensor(writer: Any, name: str, data: np.ndarray, qtype: str) -> None:
    """Norms (1-D) stay F32 as llama.cpp keeps them; matrices become F16 or Q8_0 (rows whose
    length is not a multiple of Q8_0's 32-wide block fall back to F16)."""
    import gguf

    if data.ndim == 1:
        writer.add_tensor(name, data.astype(np.float32))
    elif qtype == "q8_0" and data.shape[-1] % 32 == 0:
        q = gguf.GGMLQuantizationType.Q8_0
        writer.add_tensor(name, gguf.quants.quantize(data, q), raw_dtype=q)
    else:
        writer.add_tensor(name, data.astype(np.float16))
