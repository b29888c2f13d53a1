"""The exported model in the real engines, driven by the official `openai` client (`make test-engines`).

Exports the embedded model once (`tooltune export-model --model embedded --gguf f16`), then for each
engine that is available starts its server on the export, sends the same requests and checks what
comes back — structure only (a tool call is a structured `tool_calls` entry whose arguments parse as
JSON, an answer is in `content` and not in `reasoning_content`); what the small model chooses to say
is reported, not judged. Engines that are not installed are reported as not run, never as passed.

    python tests/engines/engines_check.py [--engines tooltune,vllm-tooltune,vllm-hermes,llama.cpp,llama.cpp-q8_0]

Environment: ENGINE_CACHE (default /work/engine-cache: the export, results.json),
VLLM_PYTHON (default /work/vllm-venv/bin/python), LLAMA_SERVER (default ENGINE_CACHE/llama-build/bin/llama-server).
Opt-in because it needs engines that are not Python dependencies of tooltune and minutes of CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import openai

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("ENGINE_CACHE", "/work/engine-cache"))
VLLM_PY = os.environ.get("VLLM_PYTHON", "/work/vllm-venv/bin/python")
LLAMA = os.environ.get("LLAMA_SERVER", str(CACHE / "llama-build" / "bin" / "llama-server"))
CALC = {"type": "function", "function": {"name": "calculator", "description": "Evaluate arithmetic.",
        "parameters": {"type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]}}}
CLOCK = {"type": "function", "function": {"name": "current_time", "description": "The time now in a city.",
         "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
TOOLS = [CALC, CLOCK]
ASK = [{"role": "user", "content": "What is 23*47? Use the calculator."}]
ANSWERED = ASK + [
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "calculator", "arguments": '{"expression": "23*47"}'}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "1081"},
]


def export(gguf: str = "f16") -> Path:
    out = CACHE / ("export" if gguf == "f16" else f"export-{gguf}")
    if not (out / "tooltune_export.json").exists():
        subprocess.run([sys.executable, "-m", "tooltune.cli", "export-model", "--model", "embedded", "--out", str(out),
                        "--gguf", gguf], check=True, cwd=ROOT)
    from tooltune.export.vllm_plugin import write_plugin

    write_plugin(out / "tooltune_tool_parser.py")  # a cached export gets this tooltune's plugin
    return out


def engines(out: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    vllm = [VLLM_PY, "-m", "vllm.entrypoints.openai.api_server", "--model", str(out), "--dtype", "float32",
            "--max-model-len", "4096", "--enforce-eager", "--enable-auto-tool-choice",
            "--exclude-tools-when-tool-choice-none", "--chat-template", str(out / "chat_template.jinja")]
    vllm_env = {"VLLM_CPU_KVCACHE_SPACE": "1", "PYTHONPATH": ""}  # no tooltune there: the plugin stands alone
    return {
        "tooltune": ([sys.executable, "-m", "tooltune.cli", "serve", "--model", str(out), "--format", "json"], {}),
        "vllm-tooltune": (vllm + ["--tool-parser-plugin", str(out / "tooltune_tool_parser.py"), "--tool-call-parser", "tooltune"], vllm_env),
        "vllm-hermes": (vllm + ["--tool-call-parser", "hermes"], vllm_env),
        "llama.cpp": ([LLAMA, "-m", str(out / "model-f16.gguf"), "--jinja", "-c", "4096", "-t", "2"], {}),
        "llama.cpp-q8_0": ([LLAMA, "-m", str(CACHE / "export-q8_0" / "model-q8_0.gguf"), "--jinja", "-c", "4096", "-t", "2"], {}),
    }


def port_flag(name: str, port: int) -> list[str]:
    return ["--port", str(port)] + (["--host", "127.0.0.1"] if name != "tooltune" else [])


# -- checks: each returns (passed, what came back) ------------------------------------------------
# MODEL: the engine returned the right structure but the model did less than asked (one call where
# two were asked for) — a fact about the small model, not the engine; not a failure.
MODEL = "model"

def reasoning(msg: Any) -> str:
    return getattr(msg, "reasoning_content", None) or getattr(msg, "reasoning", None) or ""


def calls_ok(msg: Any, want: str | None = None, at_least: int = 1) -> tuple[bool, str]:
    calls = msg.tool_calls or []
    try:
        got = [(c.function.name, json.loads(c.function.arguments)) for c in calls]
    except json.JSONDecodeError as e:
        return False, f"arguments not JSON: {e}"
    ok = len(got) >= 1 and all(isinstance(a, dict) for _, a in got) and (want is None or got[0][0] == want)
    detail = f"tool_calls={got} content={msg.content!r}" if got else f"no tool_calls; content={msg.content!r} reasoning={reasoning(msg)!r}"
    if ok and len(got) < at_least:  # structured and right, but the model made fewer calls than asked
        return MODEL, f"model made {len(got)} call(s): {detail}"
    return ok, detail


def answer_ok(msg: Any) -> tuple[bool, str]:
    ok = bool((msg.content or "").strip()) and not msg.tool_calls and not reasoning(msg)
    return ok, f"content={msg.content!r} reasoning={reasoning(msg)!r} tool_calls={len(msg.tool_calls or [])}"


def streamed_call(c: openai.OpenAI, model: str) -> tuple[bool, str]:
    names: dict[int, str] = {}
    args: dict[int, str] = {}
    text = ""
    for chunk in c.chat.completions.create(model=model, messages=ASK, tools=TOOLS, stream=True, temperature=0, max_tokens=200):
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        text += delta.content or ""
        for tc in delta.tool_calls or []:
            if tc.function and tc.function.name:
                names[tc.index] = tc.function.name
            args[tc.index] = args.get(tc.index, "") + ((tc.function.arguments or "") if tc.function else "")
    try:
        got = [(names.get(i), json.loads(args[i])) for i in sorted(args)]
    except json.JSONDecodeError as e:
        return False, f"assembled arguments not JSON: {args} ({e})"
    return bool(got) and all(n for n, _ in got), f"tool_calls={got} content={text!r}"


def requests(c: openai.OpenAI, model: str) -> dict[str, Callable[[], tuple[bool, str]]]:
    def ask(messages: list[dict[str, Any]], **kw: Any) -> Any:
        return c.chat.completions.create(model=model, messages=messages, temperature=0, max_tokens=200, **kw).choices[0].message

    return {
        "tool call": lambda: calls_ok(ask(ASK, tools=TOOLS), "calculator"),
        "tool call, streamed": lambda: streamed_call(c, model),
        "plain answer (no tools)": lambda: answer_ok(ask([{"role": "user", "content": "Say hello to Ada."}])),
        "answer after tool result": lambda: answer_ok(ask(ANSWERED, tools=TOOLS)),
        "parallel calls": lambda: calls_ok(ask([{"role": "user", "content": "What time is it in Paris and in Tokyo? Call current_time for each city."}],
                                               tools=TOOLS), "current_time", at_least=2),
        "tool_choice none": lambda: answer_ok(ask(ASK, tools=TOOLS, tool_choice="none")),
        "tool_choice required": lambda: calls_ok(ask(ASK, tools=TOOLS, tool_choice="required")),
        "tool_choice named": lambda: calls_ok(ask(ASK, tools=TOOLS, tool_choice={"type": "function", "function": {"name": "calculator"}}), "calculator"),
    }


def run_engine(name: str, cmd: list[str], env: dict[str, str], port: int, wait_s: int) -> dict[str, Any]:
    if not Path(cmd[0]).exists():
        return {"status": f"not run: {cmd[0]} not found"}
    log = open(CACHE / f"{name}.log", "w")
    proc = subprocess.Popen(cmd + port_flag(name, port), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                            env={**os.environ, **env}, start_new_session=True)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.time() + wait_s
        while True:
            if proc.poll() is not None:
                return {"status": f"not run: server exited {proc.returncode} (see {log.name})"}
            try:
                model = httpx.get(base + "/models", timeout=5).json()["data"][0]["id"]
                break
            except (httpx.HTTPError, KeyError, IndexError, ValueError):
                if time.time() > deadline:
                    return {"status": f"not run: not ready after {wait_s}s (see {log.name})"}
                time.sleep(3)
        client = openai.OpenAI(base_url=base, api_key="none", max_retries=0, timeout=600)
        results = {}
        for req, check in requests(client, model).items():
            try:
                ok, detail = check()
            except openai.APIError as e:
                ok, detail = False, f"{type(e).__name__}: {str(e)[:300]}"
            results[req] = {"pass": ok, "detail": detail}
            print(f"[{name}] {req}: {cell(ok)} {detail[:300]}", flush=True)
        return {"status": "run", "results": results}
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
        log.close()


def cell(ok: bool | str) -> str:
    return "structured, model made fewer calls" if ok == MODEL else "pass" if ok else "FAIL"


def table(report: dict[str, dict[str, Any]]) -> str:
    names = list(report)
    reqs = next((list(r["results"]) for r in report.values() if r.get("results")), [])
    lines = ["| request | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for req in reqs:
        cells = [cell(r["results"][req]["pass"]) if r.get("results") else r["status"] for r in report.values()]
        lines.append(f"| {req} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--engines", default="tooltune,vllm-tooltune,vllm-hermes,llama.cpp,llama.cpp-q8_0")
    ap.add_argument("--wait", type=int, default=900, help="seconds to wait for a server to come up")
    args = ap.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    out = export()
    if "llama.cpp-q8_0" in args.engines.split(","):
        export("q8_0")
    known = engines(out)
    report = {}
    results_file = CACHE / "results.json"
    previous = json.loads(results_file.read_text()) if results_file.exists() else {}
    for i, name in enumerate(args.engines.split(",")):
        cmd, env = known[name]
        report[name] = run_engine(name, cmd, env, 8300 + i, args.wait)
        previous[name] = report[name]
        tmp = results_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(previous, indent=2, ensure_ascii=False))
        os.replace(tmp, results_file)
    print(table(report))
    failed = [n for n, r in report.items() if r.get("results") and not all(x["pass"] for x in r["results"].values())]  # MODEL is truthy
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
