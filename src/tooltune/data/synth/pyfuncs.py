"""Real Python functions as tools, called for real: functions of Python's standard library
(pyfuncs.jsonl: typeshed stub types + CPython docstrings, scripts/extract_pyfuncs.py), arguments
drawn until a call succeeds, and requests for them whose tool message carries the true result.
Recipe v3's synthesis (data/synth/corpus_v3.py) draws them beside the restyled bank tools."""

from __future__ import annotations

import importlib
import json
import random
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tooltune.data.synth.dialogues import Call, Episode
from tooltune.data.synth.realistic import RESULT_ANSWER, compose, intent, needs_verb, words
from tooltune.toolspec import make_spec

PYFUNCS_PATH = Path(__file__).resolve().parent / "pyfuncs.jsonl"
CALL_SECONDS = 1.0  # a real call takes microseconds; one that runs this long never ends (`time_limit`)


@dataclass
class PyFunc:
    """A standard-library function as a tool (pyfuncs.jsonl), callable for real."""

    module: str
    name: str  # the tool name: module.function (dotted, as BFCL-style APIs write them) or function
    description: str
    properties: dict[str, Any]
    required: list[str]
    positional_only: list[str]
    vararg: str | None

    def spec(self) -> dict[str, Any]:
        params: dict[str, Any] = {"type": "object", "properties": self.properties}
        if self.required:
            params["required"] = list(self.required)
        return make_spec(self.name, self.description, params)

    def execute(self, args: dict[str, Any], seconds: float = CALL_SECONDS) -> Any:
        """The real call; TimeoutError past `seconds` (see `time_limit`)."""
        fn = getattr(importlib.import_module(self.module), self.name.rsplit(".", 1)[-1])
        pos = [args[k] for k in self.properties if k in self.positional_only and k in args]
        kw = {k: v for k, v in args.items() if k not in self.positional_only and k != self.vararg}
        if self.vararg:
            pos += list(args.get(self.vararg, []))
        with time_limit(seconds):
            return fn(*pos, **kw)


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise TimeoutError in the block after `seconds`. Some standard-library calls with drawn
    arguments never end — `textwrap.fill(width=14, subsequent_indent=<a 44-character line>)`
    loops forever, growing a list, and stopped a 30,000-sample corpus at 12 GB. A timer signal
    reaches pure-Python loops; off the main thread (no signals there) the call runs unguarded.
    A timer someone else armed (pytest-timeout, an application's own alarm) is armed again
    afterwards with the time it had left, so the guard never silently cancels it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(*_: Any) -> None:
        raise TimeoutError(f"a call ran past {seconds} s")

    outer = signal.getitimer(signal.ITIMER_REAL)[0]
    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, min(seconds, outer) if outer else seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer:  # due during the call: it fires at once now
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - started), 1e-3))


def load_pyfuncs(path: Path = PYFUNCS_PATH) -> list[PyFunc]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        short = r["module"].split(".")[-1].replace("posixpath", "path")
        out.append(PyFunc(r["module"], f"{short}.{r['name']}", r["description"], r["properties"], r["required"], r["positional_only"], r["vararg"]))
    return out


_TEXT = ["The quick brown fox jumps over the lazy dog.", "hello world", "Tool calling with small models", "Data science 101",
         "café au lait", "2026-12-01", "a,b,c", "Hello, World!", "  padded text  ", "The rain in Spain stays mainly in the plain."]
_STR_BY_NAME = {"url": ["https://example.com/a b?q=1", "https://docs.python.org/3/library/math.html#math.gcd", "http://example.org/path;p?x=1#frag"],
                "path": ["/home/user/docs/report.txt", "/var/log/app/error.log", "data/train.jsonl", "~/notes/todo.md"],
                "pat": ["*.py", "data_*.csv", r"\d+", r"[a-z]+"], "pattern": [r"\d+", r"\w+@\w+\.com", r"[A-Z]\w+", "o"],
                "repl": ["#", "-", "X"], "sep": [",", ";", " "], "chars": [" ", ".", "x"], "name": ["LATIN SMALL LETTER A", "EURO SIGN", "BLACK STAR"],
                "chr": ["a", "é", "€"], "unistr": ["Å", "ﬁ", "café"], "form": ["NFC", "NFKD"], "address": ["192.168.1.10", "10.0.0.1", "2001:db8::1"],
                "word": ["apple", "appel", "ape", "peach"], "s": _TEXT, "string": _TEXT, "text": _TEXT, "qs": ["a=1&b=2", "name=Ada&lang=en"]}


def py_value(name: str, schema: dict[str, Any], rng: random.Random) -> Any:
    t = schema.get("type")
    if "enum" in schema:
        return rng.choice(schema["enum"])
    if t == "integer":
        return rng.choice([rng.randint(1, 20), rng.randint(2, 100), rng.randint(100, 2026)])
    if t == "number":
        return rng.choice([rng.randint(1, 50), round(rng.uniform(0.1, 0.9), 2), round(rng.uniform(1, 100), 1)])
    if t == "boolean":
        return rng.random() < 0.5
    if t == "array":
        return [py_value(name, schema.get("items") or {"type": "number"}, rng) for _ in range(rng.randint(2, 6))]
    for key, pool in _STR_BY_NAME.items():
        if name == key or name.endswith(key):
            return rng.choice(pool)
    return rng.choice(_TEXT)


def py_call(fn: PyFunc, rng: random.Random, tries: int = 6) -> tuple[dict[str, Any], Any] | None:
    """Arguments the function accepts, and its true result (JSON-able, short), or None."""
    for _ in range(tries):
        args = {k: py_value(k, s, rng) for k, s in fn.properties.items() if k in fn.required or rng.random() < 0.25}
        try:
            result = fn.execute(args)
            text = json.dumps(result, ensure_ascii=False)
        except Exception:  # a value the function refuses: draw again
            continue
        if len(text) <= 160:
            return args, result
    return None


def py_episode(fn: PyFunc, rng: random.Random, lang: str = "en") -> tuple[Episode, Any] | None:
    """A request for one real function call; the tool message carries its true result."""
    found = py_call(fn, rng)
    if found is None:
        return None
    args, result = found
    purpose = intent(fn.description, "en") if lang == "en" else f"用{fn.name}计算"
    stated = [(words(k) if rng.random() < 0.7 else k, v) for k, v in args.items()]
    rng.shuffle(stated)
    verb = (rng.choice(["compute", "find", "get", "calculate", "work out"]) if needs_verb(fn.description) else "") if lang == "en" else None
    q = compose(purpose, stated, lang, rng, verb=verb)
    r = json.dumps(result, ensure_ascii=False)
    call = Call(fn, args, {"result": result})  # type: ignore[arg-type]  (Call only reads .name)
    return Episode(q, [[call]], rng.choice(RESULT_ANSWER[lang]).format(r=r, name=fn.name)), result
