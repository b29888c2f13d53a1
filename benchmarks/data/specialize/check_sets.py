"""Sanity check for the hand-written specialisation eval sets (evaluation only; never training data).
Usage: python check_sets.py <set_dir> [<set_dir> ...]   (needs `jsonschema`)"""
import collections, json, sys
from pathlib import Path
import jsonschema

def check(set_dir: Path) -> None:
    tools = json.loads((set_dir / "tools.json").read_text(encoding="utf-8"))
    schemas = {t["function"]["name"]: t["function"]["parameters"] for t in tools}
    items = [json.loads(l) for l in (set_dir / "questions.jsonl").read_text(encoding="utf-8").splitlines() if l.strip()]
    errors, per_tool, langs = [], collections.Counter(), collections.Counter()
    ids = [it["id"] for it in items]
    if len(ids) != len(set(ids)):
        errors.append("duplicate ids")
    for it in items:
        if set(it) - {"id", "lang", "question", "calls", "note"} or not {"id", "lang", "question", "calls"} <= set(it):
            errors.append(f"{it.get('id')}: bad keys {sorted(it)}")
        if it["lang"] not in ("en", "zh"):
            errors.append(f"{it['id']}: lang {it['lang']}")
        langs[it["lang"]] += 1
        for call in it["calls"]:
            name, args = call["name"], call["arguments"]
            if name not in schemas:
                errors.append(f"{it['id']}: unknown tool {name}"); continue
            per_tool[name] += 1
            schema = schemas[name]
            jsonschema.Draft202012Validator.check_schema(schema)
            for e in jsonschema.Draft202012Validator(schema).iter_errors(args):
                errors.append(f"{it['id']}: {name}: {e.message}")
            extra = set(args) - set(schema.get("properties", {}))
            if extra:
                errors.append(f"{it['id']}: {name}: undeclared args {sorted(extra)}")
    unused = sorted(set(schemas) - set(per_tool))
    n_call = sum(1 for it in items if it["calls"])
    n_par = sum(1 for it in items if len(it["calls"]) > 1)
    print(f"== {set_dir.name}")
    print(f"tools: {len(schemas)}  items: {len(items)}  call items: {n_call}  no-call items: {len(items) - n_call}  "
          f"parallel (>1 call) items: {n_par}  total expected calls: {sum(per_tool.values())}")
    print("languages:", dict(sorted(langs.items())))
    print("per-tool expected calls:")
    for name in schemas:
        print(f"  {name}: {per_tool[name]}")
    print("unused tools:", unused or "none")
    print("schema errors:", errors or "none")
    if errors or unused:
        sys.exit(1)

if __name__ == "__main__":
    for d in sys.argv[1:] or ["mcp_git_time", "webapi_zh_en"]:
        check(Path(d))
