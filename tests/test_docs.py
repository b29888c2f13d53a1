"""Docs that cannot rot: the commands the README and the quickstart show parse against the real CLI,
the blocks marked runnable run, the README's relative links lead somewhere, and the README stays a
short front page.

Every command is parsed: each `tooltune …` line of a ```bash block (and each `$ tooltune …` line of
a ```console transcript) is resolved to its click command and handed to `command.make_context`,
which rejects an unknown or renamed flag, a missing required option and a value of the wrong
type, exactly as the shell would.

A block is also RUN when the line just before its opening fence is the HTML comment
`<!-- runnable -->` (invisible on GitHub and on the docs site). Its `tooltune` lines run in order,
in-process through the real CLI, in a fresh empty folder, with their arguments exactly as printed,
and each must exit 0. Two things are arranged first, and nothing else:
- the embedded model is the tiny random test model (2 layers, the SmolLM2 tokenizer, its final
  norm zeroed so that it ends every reply at once): the commands run in seconds and test the
  flags and the plumbing from the command line to the report, not the model's answers;
- every ```python block of the same page whose first line is `# NAME.py` is written to NAME.py in
  that folder, so `--tools my_tools.py` finds the file the page shows.

What stays parsed only, unmarked: commands that run until stopped (`serve`), that need a network or
a program outside the package (an OpenAI server at `--base-url`, `uvx`, an MCP server at a `.venv`
path), that need an earlier command's 15-minute output (`specialize`, then `--adapter
runs/mine/adapter`), and `export-model --gguf` (it needs a GGUF base; tests/serve/test_export.py
covers exports). A flag renamed in the CLI fails both the parse and the run of every block that
shows it. (`mkdocs build --strict` in `make test` checks the links and anchors of the docs site.)"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer.main

from tooltune.cli import app  # imported by a test, tooltune.cli registers every subcommand (cli._modules_for)

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
RUNNABLE = [README, DOCS / "quickstart.md"]  # their command lines are checked against the CLI
README_MAX_LINES = 220
SHELL_BLOCKS = {"bash", "sh", "shell", "console"}
SHELL_OPERATORS = {"|", "||", "&&", ";", ">", ">>", "<", "&", "2>", "2>&1"}


# -- reading markdown --------------------------------------------------------------------------
def fenced_blocks(path: Path) -> list[tuple[str, int, list[str]]]:
    """(info word, line number of the first content line, content lines) of every fenced block."""
    blocks, lines = [], path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = re.match(r"^\s*(`{3,}|~{3,})\s*([^`\s]*)", lines[i])
        if not opening:
            i += 1
            continue
        fence, info = opening.group(1), opening.group(2).lower()
        body, start = [], i + 2
        i += 1
        while i < len(lines) and not re.match(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$", lines[i]):
            body.append(lines[i])
            i += 1
        blocks.append((info, start, body))
        i += 1
    return blocks


def block_commands(info: str, start: int, body: list[str]) -> list[tuple[int, str]]:
    """(line number, command) for every `tooltune …` command a block shows to be run (module docstring)."""
    found = []
    if info not in SHELL_BLOCKS:
        return found
    n = 0
    while n < len(body):
        lineno, line = start + n, body[n].strip()
        while line.endswith("\\") and n + 1 < len(body):  # a continued line
            n += 1
            line = line[:-1].rstrip() + " " + body[n].strip()
        n += 1
        if info == "console":
            if not line.startswith("$ "):
                continue  # output, not a command
            line = line[2:].strip()
        if line.startswith("tooltune ") or line == "tooltune":
            found.append((lineno, line))
    return found


def command_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, command) for every `tooltune …` command of the page's shell blocks."""
    return [found for block in fenced_blocks(path) for found in block_commands(*block)]


RUNNABLE_MARK = "<!-- runnable -->"


def runnable_blocks(path: Path) -> list[tuple[int, list[str]]]:
    """(line number, commands) of every shell block marked runnable (module docstring)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []
    for info, start, body in fenced_blocks(path):
        fence = start - 2  # 0-based index of the opening fence
        before = next((lines[i].strip() for i in range(fence - 1, -1, -1) if lines[i].strip()), "")
        if before == RUNNABLE_MARK:
            assert info in SHELL_BLOCKS, f"{path.name}:{start}: only shell blocks run, not ```{info}"
            found.append((start, [line for _, line in block_commands(info, start, body)]))
    return found


def page_files(path: Path) -> dict[str, str]:
    """The files a page shows: ```python blocks whose first line is `# NAME.py`."""
    files = {}
    for info, _, body in fenced_blocks(path):
        first = re.match(r"^#\s*([\w.-]+\.py)\s*$", body[0].strip()) if info == "python" and body else None
        if first:
            files[first.group(1)] = "\n".join(body) + "\n"
    return files


# -- checking a command line against the CLI ---------------------------------------------------
def command_args(line: str) -> list[str]:
    """The arguments of a `tooltune …` line: comments dropped, cut at the first shell operator."""
    args = shlex.split(line, comments=True)
    for i, arg in enumerate(args):
        if arg in SHELL_OPERATORS:
            args = args[:i]
            break
    assert args and args[0] == "tooltune", line
    return args


def check_command(line: str) -> None:
    """Parse `line` with tooltune's click commands without running it; raise on any usage error."""
    args = command_args(line)
    command, path, rest = typer.main.get_command(app), ["tooltune"], args[1:]
    while hasattr(command, "commands"):  # a group: the next word names a subcommand
        if not rest or rest[0] not in command.commands:
            raise AssertionError(f"{line!r}: {rest[0] if rest else '(nothing)'} is not a command of {' '.join(path)} "
                                 f"(it has: {', '.join(sorted(command.commands))})")
        path.append(rest[0])
        command, rest = command.commands[rest[0]], rest[1:]
    command.make_context(" ".join(path), rest)  # unknown flag, missing option, bad value: a click UsageError


COMMANDS = [(path, lineno, line) for path in RUNNABLE for lineno, line in command_lines(path)]


@pytest.mark.parametrize(("path", "lineno", "line"), COMMANDS, ids=[f"{p.name}:{n}" for p, n, _ in COMMANDS])
def test_documented_command_parses(path: Path, lineno: int, line: str) -> None:
    try:
        check_command(line)
    except Exception as exc:  # a click UsageError (typer's vendored click or click itself), or our own
        pytest.fail(f"{path.relative_to(ROOT)}:{lineno}: `{line}` does not parse: {exc}")


def test_the_front_pages_show_commands() -> None:
    """The checker sees the commands (a broken block reader would pass every test above vacuously)."""
    readme = [line for p, _, line in COMMANDS if p == README]
    quickstart = [line for p, _, line in COMMANDS if p.name == "quickstart.md"]
    assert len(readme) >= 4 and len(quickstart) >= 8, (readme, quickstart)
    for needed in ("tooltune run ", "tooltune specialize ", "tooltune serve", "tooltune export-model "):
        assert any(line.startswith(needed) for line in readme), f"the README shows no `{needed.strip()}` command"


# -- running the blocks marked runnable ----------------------------------------------------------
BLOCKS = [(path, start, commands) for path in RUNNABLE for start, commands in runnable_blocks(path)]


@pytest.fixture(scope="session")
def tiny_embedded(tmp_path_factory, tiny_llama, smol_tokenizer) -> Path:
    """The tiny random test model saved as a model folder, its final norm zeroed: every logit is 0,
    so greedy decoding picks token 0, which its generation config makes a stop token — each reply
    ends at once, and a documented evaluation runs in seconds."""
    import torch

    model = tiny_llama(2048)
    with torch.no_grad():
        model.model.norm.weight.zero_()
    model.generation_config.eos_token_id = [0, smol_tokenizer.eos_token_id]
    folder = tmp_path_factory.mktemp("tiny-embedded")
    model.save_pretrained(folder)
    smol_tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture
def as_embedded(tiny_embedded, monkeypatch, tmp_path) -> Path:
    """`embedded` (and `embedded-base`) name the tiny model, with no adapter; caches and outputs
    go under a fresh folder, which is also the working folder."""
    import tooltune.llm.embedded as embedded
    import tooltune.llm.loading as loading
    import tooltune.llm.transformers_backend as transformers_backend

    for module in (embedded, loading, transformers_backend):
        monkeypatch.setattr(module, "embedded_model_path", lambda: tiny_embedded)
    monkeypatch.setattr(embedded, "shipped_adapter", lambda: None)
    monkeypatch.setenv("TOOLTUNE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("BFCL_PROJECT_ROOT", str(tmp_path / "bfcl"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.mark.parametrize(("path", "start", "commands"), BLOCKS, ids=[f"{p.name}:{n}" for p, n, _ in BLOCKS])
def test_runnable_block_runs(path: Path, start: int, commands: list[str], as_embedded: Path) -> None:
    from typer.testing import CliRunner

    for name, text in page_files(path).items():
        (as_embedded / name).write_text(text, encoding="utf-8")
    if any(command_args(line)[1:3] == ["bench", "bfcl"] for line in commands):
        pytest.importorskip("bfcl_eval", reason="BFCL's items come with the bfcl extra (make install)")
    for line in commands:
        result = CliRunner().invoke(app, command_args(line)[1:])
        where = f"{path.relative_to(ROOT)}:{start}: `{line}`"
        assert result.exception is None or isinstance(result.exception, SystemExit), f"{where} raised {result.exception!r}\n{result.output[-2000:]}"
        assert result.exit_code == 0, f"{where} exited {result.exit_code}:\n{result.output[-2000:]}"


def test_the_front_pages_mark_blocks_runnable() -> None:
    """Blocks are marked (a lost marker would silently turn every block back into parse-only)."""
    ran = {line.split(" ")[1] for _, _, commands in BLOCKS for line in commands}
    assert {"run", "tools", "eval", "bench"} <= ran, ran
    assert any(p == README for p, _, _ in BLOCKS), "the README's own tour runs"


def test_runnable_blocks_and_page_files_are_read(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("```python\n# t.py\nx = 1\n```\n\n<!-- runnable -->\n\n```bash\ntooltune tools   # all\n```\n\n"
                    "```bash\ntooltune serve\n```\n\n<!-- runnable -->\n```console\n$ tooltune run 'a' \\\n  --max-steps 2\nout\n```\n",
                    encoding="utf-8")
    assert runnable_blocks(page) == [(9, ["tooltune tools   # all"]), (18, ["tooltune run 'a' --max-steps 2"])]
    assert page_files(page) == {"t.py": "# t.py\nx = 1\n"}
    assert command_args("tooltune run 'a b' --x 1 | head  # c") == ["tooltune", "run", "a b", "--x", "1"]


@pytest.mark.parametrize("line", [
    "tooltune run 'What is 2 + 2?' --max-stepz 4",        # misspelt flag
    "tooltune run 'What is 2 + 2?' --max-steps four",     # wrong type
    "tooltune specialize --tools my_tools.py",            # required --out missing
    "tooltune serve --port 8000 --formatt json",          # misspelt flag
    "tooltune bench bfcll --limit 5",                     # unknown subcommand
    "tooltune specialise --tools my_tools.py --out x",    # unknown command
])
def test_a_broken_command_fails(line: str) -> None:
    with pytest.raises(Exception):
        check_command(line)


def test_command_lines_are_read_from_bash_and_console_blocks(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("```bash\ntooltune run 'a' \\\n  --max-steps 2   # comment\nmake run\n```\n\n"
                    "```console\n$ tooltune tools\ntooltune output line, not a command\n```\n\n"
                    "```python\ntooltune = 1\n```\n\n```text\ntooltune parse\n```\n", encoding="utf-8")
    assert command_lines(page) == [(2, "tooltune run 'a' --max-steps 2   # comment"), (8, "tooltune tools")]


# -- the README's links ------------------------------------------------------------------------
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|^\s*\[[^\]]+\]:\s*(\S+)", re.M)


def outside_code(text: str) -> str:
    """The markdown text with fenced blocks and inline code blanked out (links there are not links)."""
    text = re.sub(r"(?ms)^\s*(`{3,}|~{3,}).*?^\s*\1\s*$", "", text)
    return re.sub(r"`[^`\n]*`", "", text)


def relative_links(path: Path) -> list[str]:
    targets = [a or b for a, b in LINK.findall(outside_code(path.read_text(encoding="utf-8")))]
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", t, re.I)]  # http:, https:, mailto:


def heading_ids(path: Path) -> set[str] | None:
    """The anchors a page's headings get (python-markdown's toc, as mkdocs renders them); None
    without python-markdown (it comes with mkdocs, in the dev extra)."""
    try:
        import markdown
    except ModuleNotFoundError:
        return None
    md = markdown.Markdown(extensions=["toc", "attr_list", "fenced_code", "tables"])
    md.convert(path.read_text(encoding="utf-8"))
    ids: set[str] = set()

    def walk(tokens: list[dict]) -> None:
        for token in tokens:
            ids.add(token["id"])
            walk(token["children"])

    walk(md.toc_tokens)
    return ids


def test_readme_links_point_at_files_that_exist() -> None:
    links = relative_links(README)
    assert links, "the README links into the docs"
    for link in links:
        target, _, anchor = link.partition("#")
        path = (README.parent / target).resolve() if target else README
        assert path.exists(), f"README.md links to {link}, but {target} does not exist"
        ids = heading_ids(path) if anchor and path.suffix == ".md" else None
        if ids is not None:
            assert anchor in ids, f"README.md links to {link}, but {path.name} has no heading #{anchor}"


def test_the_link_reader_finds_links(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("See [a](docs/a.md#x), ![pic](docs/images/p.png) and [web](https://example.com).\n"
                    "`[not](a-link.md)`\n\n```md\n[not](either.md)\n```\n\n[ref]: docs/b.md\n", encoding="utf-8")
    assert relative_links(page) == ["docs/a.md#x", "docs/images/p.png", "docs/b.md"]


# -- the README as a front page ----------------------------------------------------------------
def test_readme_is_a_short_front_page() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines: move detail into docs/ (at most {README_MAX_LINES})"
    head = "\n".join(lines[:30])
    assert "make run" in head and "make test" in head, "the two set-up commands belong in the README's first 30 lines"


MEASUREMENT = re.compile(r"\d+(?:\.\d+)?\s?(?:%|GB\b|min\b)|\b\d+/\d+\b")  # 54.5 %, 9.2 GB, 13.5 min, 5/8


def unlinked_measurements(text: str) -> list[str]:
    """Measured numbers of a page that are not inside a link to a results page entry."""
    linked = re.sub(r"\[[^\]]*\]\((?:docs/)?results\.md#[^)]+\)", "", outside_code(text))
    return MEASUREMENT.findall(linked)


def test_every_number_in_the_readme_links_to_its_measurement() -> None:
    """A number on the front page links to the results entry that measured it (command, hardware)."""
    assert unlinked_measurements(README.read_text(encoding="utf-8")) == []
    assert unlinked_measurements("[54.5 %](docs/results.md#x) vs 61.6 %, 9.2 GB, 5/8, `3 %` [2 %](docs/a.md#x)") == \
        ["61.6 %", "9.2 GB", "5/8", "2 %"]


def test_no_issue_numbers_in_readme_or_docs() -> None:
    """Readers of the docs have no issue tracker in front of them: say what a number stood for."""
    for path in [README, *sorted(DOCS.rglob("*.md"))]:
        text = outside_code(path.read_text(encoding="utf-8"))
        found = re.findall(r"(?<![\w&/#])#\d+\b|\bissue\s+#?\d+", text, re.I)
        assert not found, f"{path.relative_to(ROOT)} mentions {found}"
