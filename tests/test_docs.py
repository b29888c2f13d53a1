"""Docs that cannot rot: the commands the README and the quickstart show parse against the real CLI,
the README's relative links lead somewhere, and the README stays a short front page.

Commands are parsed, never run: each `tooltune …` line of a ```bash block (and each `$ tooltune …`
line of a ```console transcript) is resolved to its click command and handed to
`command.make_context`, which rejects an unknown or renamed flag, a missing required option and a
value of the wrong type, exactly as the shell would. (`mkdocs build --strict` in `make test` checks
the links and anchors of the docs site itself.)"""

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


def command_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, command) for every `tooltune …` command shown to be run (module docstring)."""
    found = []
    for info, start, body in fenced_blocks(path):
        if info not in SHELL_BLOCKS:
            continue
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


# -- checking a command line against the CLI ---------------------------------------------------
def check_command(line: str) -> None:
    """Parse `line` with tooltune's click commands without running it; raise on any usage error."""
    args = shlex.split(line, comments=True)
    for i, arg in enumerate(args):
        if arg in SHELL_OPERATORS:
            args = args[:i]
            break
    assert args and args[0] == "tooltune", line
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


def test_no_issue_numbers_in_readme_or_docs() -> None:
    """Readers of the docs have no issue tracker in front of them: say what a number stood for."""
    for path in [README, *sorted(DOCS.rglob("*.md"))]:
        text = outside_code(path.read_text(encoding="utf-8"))
        found = re.findall(r"(?<![\w&/#])#\d+\b|\bissue\s+#?\d+", text, re.I)
        assert not found, f"{path.relative_to(ROOT)} mentions {found}"
