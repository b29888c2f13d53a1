"""Chat templates that reproduce tooltune's `json` training layout outside tooltune.

`jinja_template` is for `tokenizer_config.json` / GGUF `tokenizer.chat_template` (transformers,
vLLM, llama.cpp); `ollama_template` is the same layout in Go's text/template with ollama's data
(`.System`, `.Messages` with `.ToolCalls`/`.Thinking`, `.Tools`). Both are built from the very
prompt text tooltune renders (`tooltune/prompts/json_*.txt`) and the call layout it writes
(`formats/json_layout.py`) around ChatML turns, so a served
model sees the bytes it was trained on: system prompt + `<tools>` block, `<tool_call>` blocks in
assistant turns, `<tool_response>` blocks in one user turn per run of tool results.

The thought before a call is read from `reasoning` (vLLM's field for it), else `content`, never from
`reasoning_content`: llama.cpp renders a probe message carrying `reasoning_content`, and a template
that shows it is taken for a reasoning model, so every plain answer would come back in
`reasoning_content` with `content` empty. tooltune's own `Message.from_openai` reads both names.
"""

from __future__ import annotations

from tooltune.errors import TooltuneError
from tooltune.formats import json_layout as layout
from tooltune.prompts import fill

_MARK = "\x00TOOLS\x00"


def _prompt_parts(lang: str) -> tuple[str, str]:
    """The json format's tool instructions, split around where the tool list goes."""
    before, after = fill("json", lang, tools_json=_MARK).split(_MARK)
    for text in (before, after):
        if any(tag in text for tag in ("{{", "{%", "{#", '"""')):
            raise TooltuneError("the json prompt template contains template syntax; it cannot be embedded in a chat template")
    return before, after


def _nl(text: str) -> str:
    """Raw template text, except newlines written as expressions: transformers renders with
    trim_blocks, which would eat a newline that directly follows a block tag."""
    return text.replace("\n", "{{ '\\n' }}")


def jinja_template(lang: str = "en", tool_role: str = "user") -> str:
    before, after = _prompt_parts(lang)
    block = _nl(layout.call_block_text(
        "{{ f.name | tojson }}", "{% if f.arguments is string %}{{ f.arguments }}{% else %}{{ f.arguments | tojson }}{% endif %}"))
    sep = _nl(layout.SEPARATOR)
    return "".join([
        "{% set ns = namespace(system='', tool_open=false) %}",
        "{% for m in messages %}{% if m.role == 'system' and m.content %}",
        "{% set ns.system = ns.system + ('\\n\\n' if ns.system else '') + m.content %}{% endif %}{% endfor %}",
        _nl("<|im_start|>system\n"), "{{ ns.system }}",
        "{% if tools %}{% if ns.system %}{{ '\\n\\n' }}{% endif %}", _nl(before),
        "{% for t in tools %}{% if not loop.first %}{{ '\\n' }}{% endif %}{{ t | tojson }}{% endfor %}",
        _nl(after), "{% endif %}", _nl("<|im_end|>\n"),
        "{% for m in messages %}{% if m.role == 'tool' %}",
        "{% if ns.tool_open %}", sep, "{% else %}", _nl(f"<|im_start|>{tool_role}\n"), "{% set ns.tool_open = true %}{% endif %}",
        _nl(layout.response_block("{{ m.content or '' }}")),
        "{% elif m.role != 'system' %}",
        "{% if ns.tool_open %}", _nl("<|im_end|>\n"), "{% set ns.tool_open = false %}{% endif %}",
        "<|im_start|>{{ m.role }}", _nl("\n"),
        "{% if m.role == 'assistant' and m.tool_calls %}",
        "{% set thought = (m.reasoning or m.content or '') | trim %}",
        "{% if thought %}{{ thought }}", sep, "{% endif %}",
        "{% for c in m.tool_calls %}{% set f = c.function if c.function is defined else c %}",
        "{% if not loop.first %}", sep, "{% endif %}", block, "{% endfor %}",
        "{% else %}{{ m.content or '' }}{% endif %}", _nl("<|im_end|>\n"),
        "{% endif %}{% endfor %}",
        "{% if ns.tool_open %}", _nl("<|im_end|>\n"), "{% endif %}",
        "{% if add_generation_prompt %}", _nl("<|im_start|>assistant\n"), "{% endif %}",
    ])


def ollama_template(lang: str = "en", tool_role: str = "user") -> str:
    """Go text/template for ollama. It mentions `.Tools` (ollama refuses tools otherwise), and its
    `{{ if .ToolCalls }}` block starts with the literal `<tool_call>`, the tag ollama's parser
    then looks for in the output. Tool specs and arguments are JSON as Go writes it (compact)."""
    before, after = _prompt_parts(lang)
    call = layout.call_block_text('"{{ .Function.Name }}"', "{{ .Function.Arguments }}")
    sep = layout.SEPARATOR
    return "".join([
        "<|im_start|>system\n{{ if .System }}{{ .System }}{{ if .Tools }}\n\n{{ end }}{{ end }}",
        "{{ if .Tools }}", before, "{{ range $i, $t := .Tools }}{{ if $i }}\n{{ end }}{{ json $t }}{{ end }}", after, "{{ end }}",
        "<|im_end|>\n",
        '{{ $open := false }}{{ $last := "" }}{{ range .Messages }}{{ if eq .Role "tool" }}',
        "{{ if $open }}", sep, "{{ else }}<|im_start|>", tool_role, "\n{{ $open = true }}{{ end }}",
        layout.response_block("{{ .Content }}"), "{{ $last = .Role }}",
        '{{ else if ne .Role "system" }}{{ if $open }}<|im_end|>\n{{ $open = false }}{{ end }}',
        "<|im_start|>{{ .Role }}\n",
        "{{ $calls := .ToolCalls }}{{ if $calls }}{{ if .Thinking }}{{ .Thinking }}", sep, "{{ else if .Content }}{{ .Content }}", sep, "{{ end }}",
        "{{ else }}{{ .Content }}{{ end }}",
        "{{ if .ToolCalls }}{{ with index .ToolCalls 0 }}", call, "{{ end }}",
        "{{ range slice .ToolCalls 1 }}", sep, call, "{{ end }}{{ end }}",
        "<|im_end|>\n{{ $last = .Role }}{{ end }}{{ end }}",
        "{{ if $open }}<|im_end|>\n{{ end }}",
        '{{ if ne $last "assistant" }}<|im_start|>assistant\n{{ end }}',
    ])


def modelfile(gguf_name: str | None, lang: str = "en", tool_role: str = "user") -> str:
    """An ollama Modelfile for the exported GGUF (or, without one, the safetensors folder)."""
    return "\n".join([
        f"FROM ./{gguf_name}" if gguf_name else "FROM .",
        f'TEMPLATE """{ollama_template(lang, tool_role)}"""',
        'PARAMETER stop "<|im_end|>"',
        f'PARAMETER stop "{layout.RESPONSE_OPEN}"',
        "PARAMETER temperature 0",
        "",
    ])
