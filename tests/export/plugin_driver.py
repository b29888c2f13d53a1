"""Runs the exported vLLM plugin in a bare interpreter (`python -S -I`: the standard library only)
against the stand-in vLLM in argv[1]; argv[3:] are further folders to put on sys.path. Reads the
cases as JSON on stdin; prints, as JSON, which libraries were importable and, for each case,
what the plugin returned for the whole output and when streamed a few characters at a time."""

import importlib.util
import json
import sys

sys.path[:0] = [sys.argv[1], *sys.argv[3:]]


def importable(name):
    try:
        __import__(name)
    except ImportError:
        return False
    return True


def calls_of(items):
    return [[c.function.name, json.loads(c.function.arguments)] for c in items or []]


def run(parser_cls, takes_tools, case):
    request = type("Request", (), {"tools": case["tools"]})()
    make = (lambda: parser_cls(None, case["tools"])) if takes_tools else (lambda: parser_cls(None))
    info = make().extract_tool_calls(case["text"], request)
    whole = {"tools_called": info.tools_called, "content": info.content, "calls": calls_of(info.tool_calls)}
    parser, previous, content, calls = make(), "", "", []
    for end in range(case["step"], len(case["text"]) + case["step"], case["step"]):
        current = case["text"][:end]
        delta = parser.extract_tool_calls_streaming(previous, current, current[len(previous):], [], [], [], request)
        previous = current
        if delta is not None:
            content += delta.content or ""
            calls += delta.tool_calls or []
    stream = {"content": content, "calls": calls_of(calls), "indexes": [c.index for c in calls],
              "ids": all(c.id.startswith("call_") for c in calls)}
    return {"whole": whole, "stream": stream}


def main():
    cases = json.load(sys.stdin)
    out = {"importable": {n: importable(n) for n in ("tooltune", "json_repair", "rapidfuzz", "jsonschema")}}
    spec = importlib.util.spec_from_file_location("tooltune_tool_parser", sys.argv[2])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    parser_cls = module.ToolParserManager.tool_parsers["tooltune"]  # registered as vLLM would find it
    out["results"] = [run(parser_cls, module._TAKES_TOOLS, case) for case in cases]
    print(json.dumps(out))


main()
