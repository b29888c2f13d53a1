"""`tooltune export-model` (merged weights, chat template, GGUF, ollama Modelfile, vLLM plugin).
`tooltune export` is the corpus exporter, hence `export-model`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.console import Console

from tooltune.cli_options import adapter_option, lang_option, model_option, out_option
from tooltune.errors import TooltuneError
from tooltune.lang import LANG_HELP, check_lang

console = Console(stderr=True)

ModelOpt = Annotated[str, model_option("embedded | embedded-v2 | embedded-base | HF model folder | .gguf file")]
AdapterOpt = Annotated[Optional[str], adapter_option("PEFT LoRA folder applied on top of --model")]


def export_model_cmd(
    out: Annotated[str, out_option("New folder to write (must not exist or be empty)")],
    model: ModelOpt = "embedded",
    adapter: AdapterOpt = None,
    gguf: Annotated[Optional[str], typer.Option("--gguf", help="Also write a GGUF: f16 | q8_0")] = None,
    ollama: Annotated[bool, typer.Option("--ollama", help="Also write an ollama Modelfile (with --gguf: FROM the GGUF)")] = False,
    lang: Annotated[str, lang_option(f"Language of the json format's tool prompt: {LANG_HELP}")] = "en",
    dtype: Annotated[str, typer.Option(help="safetensors dtype: float32 | bfloat16 | float16")] = "float32",
) -> None:
    """Export merged weights + tokenizer + a chat template in the training layout (json format),
    optionally GGUF and an ollama Modelfile; a vLLM tool-parser plugin is included."""
    from tooltune.export.folder import export_model
    from tooltune.export.gguf_writer import GGUF_TYPES
    from tooltune.export.merged import load_merged, resolve, source_gguf

    if gguf is not None and gguf not in GGUF_TYPES:
        raise TooltuneError(f"--gguf {gguf}: use one of {', '.join(GGUF_TYPES)}")
    if dtype not in ("float32", "bfloat16", "float16"):
        raise TooltuneError(f"--dtype {dtype}: use float32, bfloat16 or float16")
    check_lang(lang)
    base, shipped = resolve(model)
    with console.status(f"loading and merging {model}…"):
        merged, tokenizer = load_merged(base, adapter or shipped)
    with console.status(f"writing {out}…"):
        result = export_model(merged, tokenizer, out, gguf=gguf, gguf_source=source_gguf(base), ollama=ollama,
                              lang=lang, dtype=dtype)
    console.print(f"wrote {result.out}: {', '.join(result.files)}")


def register(app: typer.Typer) -> None:
    app.command("export-model")(export_model_cmd)
