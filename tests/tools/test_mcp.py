"""MCP servers as tools, against real servers run as subprocesses: mcp-server-time and
mcp-server-git from PyPI, and tests/tools/fixtures/mcp_fixture_server.py (the SDK's MCPServer)
for what those two do not cover. Each server starts once per module (as once per process in
tooltune); the tests that kill or break a server use a server of their own."""

from __future__ import annotations

import functools
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from tooltune.errors import TooltuneError
from tooltune.tools import mcp_session
from tooltune.tools.mcp import (
    MAX_OBSERVATION_CHARS,
    MCPTool,
    ServerSpec,
    close_all,
    load_mcp_config,
    mcp_tools,
    parse_mcp_source,
    sanitize_name,
)
from tooltune.tools.mcp_session import default_log_dir

FIXTURE = Path(__file__).parent / "fixtures" / "mcp_fixture_server.py"
TIME = ServerSpec(name="time", command=sys.executable, args=("-m", "mcp_server_time", "--local-timezone", "UTC"))
FIXTURE_SPEC = ServerSpec(name="fixture", command=sys.executable, args=(str(FIXTURE),))
GIT_TOOLS = {
    "git_status", "git_diff_unstaged", "git_diff_staged", "git_diff", "git_commit", "git_add",
    "git_reset", "git_log", "git_create_branch", "git_checkout", "git_show", "git_branch",
}
GIT_WRITES = {"git_commit", "git_add", "git_reset", "git_create_branch", "git_checkout"}


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    yield tmp_path_factory.mktemp("mcp-logs")
    close_all()


def by_name(tools):
    return {t.name: t for t in tools}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def commit_count(repo: Path) -> int:
    return int(git(repo, "rev-list", "--count", "HEAD"))


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """A repository with one commit, one staged file and one untracked file."""
    path = tmp_path_factory.mktemp("repo")
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "t@example.com")
    git(path, "config", "user.name", "T")
    (path / "README").write_text("hello\n")
    git(path, "add", "README")
    git(path, "commit", "-q", "-m", "first")
    (path / "staged.txt").write_text("staged\n")
    git(path, "add", "staged.txt")
    (path / "untracked.txt").write_text("new\n")
    return path


def git_spec(repo: Path) -> ServerSpec:
    return ServerSpec(name="git", command=sys.executable, args=("-m", "mcp_server_git", "--repository", str(repo)))


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for a parent that is gone."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")


# -- sources ------------------------------------------------------------------------------------
def test_parse_stdio_and_http_sources():
    spec = parse_mcp_source("mcp:stdio:uvx mcp-server-time --local-timezone 'America/New_York'")
    assert (spec.name, spec.command, spec.args, spec.transport) == ("mcp-server-time", "uvx", ("mcp-server-time", "--local-timezone", "America/New_York"), "stdio")
    assert parse_mcp_source(f"mcp:stdio:{sys.executable} -m mcp_server_git -r /tmp/x").name == "mcp_server_git"
    assert parse_mcp_source("mcp:stdio:npx -y @modelcontextprotocol/server-filesystem /tmp").name == "server-filesystem"
    assert parse_mcp_source("mcp:stdio:python -c 'print(1)'").name == "python"
    http = parse_mcp_source("mcp:http://127.0.0.1:8123/mcp")
    assert (http.url, http.name, http.transport, http.command) == ("http://127.0.0.1:8123/mcp", "127_0_0_1_8123", "http", None)
    assert parse_mcp_source("mcp:https://tools.example.com/mcp", name="mine").name == "mine"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("stdio:uvx x", "mcp:stdio:COMMAND"),
        ("mcp:stdio:", "names no command"),
        ("mcp:stdio:   ", "names no command"),
        ("mcp:stdio:run 'unclosed", "check its quotes"),
        ("mcp:sse://host/x", "unknown MCP transport"),
        ("mcp:http:///mcp", "e.g. mcp:http://127.0.0.1:8000/mcp"),
    ],
)
def test_bad_sources_say_how_to_write_them(text, says):
    with pytest.raises(TooltuneError) as err:
        parse_mcp_source(text)
    assert says in str(err.value) and "\n" not in str(err.value)


def test_config_file_in_the_desktop_layout(tmp_path):
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {
        "time": {"command": "uvx", "args": ["mcp-server-time"], "env": {"TZ": "UTC"}},
        "remote": {"url": "http://127.0.0.1:9000/mcp"},
        "off": {"command": "never", "disabled": True},
    }}))
    time_spec, remote = load_mcp_config(config)
    assert (time_spec.name, time_spec.command, time_spec.args, time_spec.env) == ("time", "uvx", ("mcp-server-time",), {"TZ": "UTC"})
    assert (remote.name, remote.url) == ("remote", "http://127.0.0.1:9000/mcp")


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "does not exist"),
        ("{not json", "not valid JSON (line 1"),
        ('{"servers": {}}', '"mcpServers"'),
        ('{"mcpServers": {"a": {"command": "x", "url": "http://h/mcp"}}}', "server 'a': give either"),
        ('{"mcpServers": {"a": {"command": "x", "args": "--flag"}}}', '"args" must be a list'),
        ('{"mcpServers": {"a": {"command": "x", "env": {"PORT": 80}}}}', 'quote numbers'),
        ('{"mcpServers": {"a": {"url": "http://h/sse", "type": "sse"}}}', "SSE transport is not supported"),
        ('{"mcpServers": {"a": {"url": "ftp://h/mcp"}}}', "not an http(s) URL"),
    ],
)
def test_bad_config_files_are_one_line_errors(tmp_path, content, says):
    config = tmp_path / "mcp.json"
    if content is not None:
        config.write_text(content)
    with pytest.raises(TooltuneError) as err:
        load_mcp_config(config)
    assert says in str(err.value) and str(config) in str(err.value) and "\n" not in str(err.value)


def test_names_are_sanitised_for_openai():
    assert sanitize_name("météo") == "meteo"
    assert sanitize_name("files.read") == "files_read"
    weird = sanitize_name("天気")
    assert weird.startswith("tool_") and weird != sanitize_name("天気予報")
    long_a, long_b = sanitize_name("a" * 70), sanitize_name("a" * 71)
    assert len(long_a) == len(long_b) == 64 and long_a != long_b


def test_default_log_dir_follows_the_cache_root(monkeypatch, tmp_path):
    monkeypatch.setenv("TOOLTUNE_CACHE_DIR", str(tmp_path))
    assert default_log_dir() == tmp_path / "mcp"
    monkeypatch.delenv("TOOLTUNE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_log_dir() == tmp_path / "xdg" / "tooltune" / "mcp"


def test_a_schema_jsonschema_cannot_compile_never_makes_invoke_raise():
    odd = MCPTool(name="odd", description="", parameters={"type": "object", "properties": {"x": {"type": "wibble"}}}, func=lambda **a: "sent")
    assert odd.invoke({"x": 1}).output == "sent"  # the server judges the arguments instead


# -- mcp-server-time ----------------------------------------------------------------------------
def test_time_server_lists_and_answers(logs):
    tools = mcp_tools([TIME], log_dir=logs)
    assert [t.name for t in tools] == ["get_current_time", "convert_time"]
    now, convert = tools
    assert not now.changes_state and not convert.changes_state  # readOnlyHint: true
    assert now.parameters["required"] == ["timezone"] and now.output_schema["properties"]["timezone"]["type"] == "string"
    tokyo = now.invoke({"timezone": "Asia/Tokyo"}, call_id="c1")
    assert not tokyo.is_error and tokyo.call_id == "c1"
    answer = json.loads(tokyo.output)  # text and structured content say the same: shown once
    assert answer["timezone"] == "Asia/Tokyo" and answer["datetime"].endswith("+09:00")
    moved = convert.invoke({"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"})
    assert not moved.is_error
    assert json.loads(moved.output)["target"]["datetime"].endswith("T21:00:00+09:00")
    assert (logs / "time.log").exists()


def test_a_tool_error_is_an_error_observation(logs):
    now = by_name(mcp_tools([TIME], log_dir=logs))["get_current_time"]
    bad = now.invoke({"timezone": "Mars/Olympus"})
    assert bad.is_error and "Invalid timezone" in bad.output and "Mars/Olympus" in bad.output
    unsent = now.invoke({"zone": "UTC"})  # schema checked here: the server never sees it
    assert unsent.is_error and "'timezone' is a required property" in unsent.output


# -- mcp-server-git -----------------------------------------------------------------------------
def test_git_tools_and_which_change_state(logs, repo):
    tools = by_name(mcp_tools([git_spec(repo)], log_dir=logs))
    assert set(tools) == GIT_TOOLS and len(tools) == 12
    assert {n for n, t in tools.items() if t.changes_state} == GIT_WRITES
    status = tools["git_status"].invoke({"repo_path": str(repo)})
    assert not status.is_error
    assert status.output.startswith("Repository status:\nOn branch main")
    assert "new file:   staged.txt" in status.output and "untracked.txt" in status.output


def test_a_commit_is_held_back_without_execute_and_made_with_it(logs, repo):
    args = {"repo_path": str(repo), "message": "second"}
    before = commit_count(repo)
    held = by_name(mcp_tools([git_spec(repo)], log_dir=logs))["git_commit"].invoke(args)
    assert held.is_error and held.output.startswith("not run: git_commit(") and "--execute" in held.output
    assert commit_count(repo) == before
    declined = by_name(mcp_tools([git_spec(repo)], log_dir=logs, confirm=lambda name, a: False))["git_commit"].invoke(args)
    assert declined.output.startswith("not run") and commit_count(repo) == before
    made = by_name(mcp_tools([git_spec(repo)], log_dir=logs, execute=True))["git_commit"].invoke(args)
    assert not made.is_error and "Changes committed successfully" in made.output
    assert commit_count(repo) == before + 1 and git(repo, "log", "-1", "--format=%s").strip() == "second"


def test_confirm_is_asked_with_the_call(logs, tmp_path):
    asked = []
    note = tmp_path / "note.txt"

    def confirm(name, arguments):
        asked.append((name, arguments))
        return True

    write = by_name(mcp_tools([FIXTURE_SPEC], log_dir=logs, confirm=confirm))["write_note"]
    assert write.changes_state  # the fixture gives it no annotations at all
    done = write.invoke({"path": str(note), "text": "hi"})
    assert not done.is_error and note.read_text() == "hi"
    assert asked == [("write_note", {"path": str(note), "text": "hi"})]
    read_only = by_name(mcp_tools([FIXTURE_SPEC], log_dir=logs, confirm=confirm))["echo"]
    assert read_only.invoke({"text": "x"}).output == "x" and len(asked) == 1  # never asked


# -- the fixture server -------------------------------------------------------------------------
def test_fixture_tools_all_pages_and_non_ascii_names(logs):
    tools = by_name(mcp_tools([FIXTURE_SPEC], log_dir=logs))
    tenki = sanitize_name("天気")
    assert set(tools) == {"echo", "meteo", tenki, "big", "slow", "search", "fail", "pid", "get_current_time", "write_note"}
    assert tools["meteo"].remote_name == "météo" and tools[tenki].remote_name == "天気"
    assert tools["meteo"].invoke({"ville": "Paris"}).output == "Paris: soleil"
    assert tools[tenki].invoke({"city": "Kyoto"}).output == "Kyoto: 晴れ"
    assert tools["pid"].invoke({}).output.isdigit()  # {"result": N} is not repeated


def test_schema_with_anyof_and_null_defaults(logs):
    search = by_name(mcp_tools([FIXTURE_SPEC], log_dir=logs))["search"]
    limit = search.parameters["properties"]["limit"]
    assert limit["anyOf"] == [{"type": "integer"}, {"type": "null"}] and limit["default"] is None
    assert search.parameters["required"] == ["query"]
    assert search.invoke({"query": "q"}).output == "query=q limit=None mode=None"
    assert search.invoke({"query": "q", "limit": None, "mode": "exact"}).output == "query=q limit=None mode=exact"
    wrong = search.invoke({"query": "q", "mode": "slow"})
    assert wrong.is_error and "mode" in wrong.output


def test_a_5_mb_result_arrives_and_is_cut_for_the_model(logs):
    big = by_name(mcp_tools([FIXTURE_SPEC], log_dir=logs))["big"].invoke({"megabytes": 5})
    assert not big.is_error and big.output.startswith("x" * MAX_OBSERVATION_CHARS + "\n[cut")
    assert "5,000,000 characters" in big.output and len(big.output) < MAX_OBSERVATION_CHARS + 200


def test_is_error_result_reaches_the_model(logs):
    failed = by_name(mcp_tools([FIXTURE_SPEC], log_dir=logs))["fail"].invoke({"reason": "disk full"})
    assert failed.is_error and "refused: disk full" in failed.output


def test_a_slow_call_times_out_and_the_server_goes_on(logs):
    tools = by_name(mcp_tools([FIXTURE_SPEC], log_dir=logs, timeout_s=1.0))
    began = time.monotonic()
    slow = tools["slow"].invoke({"seconds": 20})
    assert slow.is_error and "timed out after 1s" in slow.output and time.monotonic() - began < 3
    assert tools["echo"].invoke({"text": "still here"}).output == "still here"


def test_name_clash_is_prefixed_with_the_server_and_told(logs, capsys):
    tools = by_name(mcp_tools([TIME, FIXTURE_SPEC], log_dir=logs))
    assert "get_current_time" not in tools
    assert tools["fixture__get_current_time"].invoke({"timezone": "UTC"}).output == "fixture time in UTC"
    real = tools["time__get_current_time"].invoke({"timezone": "UTC"})
    assert json.loads(real.output)["timezone"] == "UTC"
    notices = [ln for ln in capsys.readouterr().err.splitlines() if "get_current_time" in ln]
    assert notices == [
        "tooltune: MCP tool 'get_current_time' of server 'time' is called 'time__get_current_time' here (another tool has that name)",
        "tooltune: MCP tool 'get_current_time' of server 'fixture' is called 'fixture__get_current_time' here (another tool has that name)",
    ]


def test_each_server_is_started_once_per_process(logs):
    first = by_name(mcp_tools([FIXTURE_SPEC], log_dir=logs))["pid"].invoke({}).output
    again = by_name(mcp_tools([replace(FIXTURE_SPEC, name="renamed")], log_dir=logs, execute=True))["pid"].invoke({}).output
    other = ServerSpec(name="other", command=sys.executable, args=(str(FIXTURE),), env={"FIXTURE_ROLE": "other"})
    assert first == again != by_name(mcp_tools([other], log_dir=logs))["pid"].invoke({}).output


# -- failures -----------------------------------------------------------------------------------
def test_a_server_killed_mid_call_gives_error_observations_fast(logs):
    doomed = ServerSpec(name="doomed", command=sys.executable, args=(str(FIXTURE),), env={"FIXTURE_ROLE": "doomed"})
    tools = by_name(mcp_tools([doomed], log_dir=logs))
    pid = int(tools["pid"].invoke({}).output)
    result = {}
    call = threading.Thread(target=lambda: result.update(slow=tools["slow"].invoke({"seconds": 20})))
    call.start()
    time.sleep(0.3)
    os.kill(pid, signal.SIGKILL)
    call.join(5)
    assert not call.is_alive() and result["slow"].is_error and "'doomed' has stopped" in result["slow"].output
    began = time.monotonic()
    after = tools["echo"].invoke({"text": "anyone?"})
    assert after.is_error and "has stopped" in after.output and "doomed.log" in after.output
    assert time.monotonic() - began < 0.5


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["/nonexistent/mcp-server"], "No such file or directory"),
        ([sys.executable, "-c", "import sys; print('boom: TOKEN is not set', file=sys.stderr); sys.exit(3)"],
         "closed the connection before answering (did it exit?); its last stderr line: boom: TOKEN is not set"),
        ([sys.executable, "-c", "import time; time.sleep(60)"], "no answer to initialize and tools/list within 1s"),
    ],
    ids=["bad-command", "exits-at-once", "never-answers"],
)
def test_a_server_that_will_not_start_is_one_line(logs, argv, says):
    spec = ServerSpec(name="broken", command=argv[0], args=tuple(argv[1:]))
    began = time.monotonic()
    with pytest.raises(TooltuneError) as err:
        mcp_tools([spec], log_dir=logs, timeout_s=1.0)
    message = str(err.value)
    assert "\n" not in message and says in message
    assert message.startswith(f"MCP server 'broken' ({spec.describe()}) did not start")
    assert str(logs / "broken.log") in message
    assert time.monotonic() - began < 8  # the hung one: 1 s, then the SDK's stdin/SIGTERM steps


def test_an_http_server_that_is_not_there(logs):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(TooltuneError) as err:
        mcp_tools([parse_mcp_source(f"mcp:http://127.0.0.1:{port}/mcp")], log_dir=logs, timeout_s=5)
    assert str(err.value) == (
        f"MCP server '127_0_0_1_{port}' (http://127.0.0.1:{port}/mcp) did not start: "
        "ConnectError: All connection attempts failed; is the URL right and the server up?"
    )


def test_streamable_http(logs, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, str(FIXTURE), "--http", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        tools = by_name(mcp_tools([parse_mcp_source(f"mcp:http://127.0.0.1:{port}/mcp")], log_dir=logs))
        assert len(tools) == 10 and tools["meteo"].server == f"127_0_0_1_{port}"
        assert tools["echo"].invoke({"text": "over http"}).output == "over http"
        assert "refused: no" in tools["fail"].invoke({"reason": "no"}).output
        # A 2025-era connection answers over SSE, where the SDK caps one event at 1 MiB by default.
        monkeypatch.setattr(mcp_session, "Client", functools.partial(mcp_session.Client, mode="legacy"))

        def legacy(tag):
            return by_name(mcp_tools([parse_mcp_source(f"mcp:http://127.0.0.1:{port}/mcp?{tag}", name=tag)], log_dir=logs))

        big = legacy("roomy")["big"].invoke({"megabytes": 2})
        assert not big.is_error and "2,000,000 characters" in big.output
        monkeypatch.setattr(mcp_session, "_MAX_SSE_EVENT", 100_000)
        tight = legacy("tight")
        lost = tight["big"].invoke({"megabytes": 2})  # one lost answer, not a lost server
        assert lost.is_error and "exceeded the 100000 byte limit" in lost.output and "stopped" not in lost.output
        assert tight["echo"].invoke({"text": "still here"}).output == "still here"
        server.kill()
        server.wait()
        gone = tools["echo"].invoke({"text": "x"})
        assert gone.is_error and "has stopped" in gone.output
    finally:
        server.kill()


CHILD = """
import sys
from tooltune.tools.mcp import ServerSpec, mcp_tools
spec = ServerSpec(name="child", command=sys.executable, args=({fixture!r},), env={{"FIXTURE_STUBBORN": "1"}})
tools = {{t.name: t for t in mcp_tools([spec], log_dir={logs!r})}}
print(tools["pid"].invoke({{}}).output, flush=True)
if sys.argv[1] == "wait":
    print("calling", flush=True)
    tools["slow"].invoke({{"seconds": 60}})
"""


@pytest.mark.parametrize("how", ["exit", "ctrl-c"])
def test_servers_close_on_exit_and_on_ctrl_c(logs, how):
    """The server outlives its stdin closing, so only tooltune's close at exit (which escalates
    to SIGTERM) stops it: a child that just dies would leave it running."""
    code = textwrap.dedent(CHILD.format(fixture=str(FIXTURE), logs=str(logs)))
    # SIGINT as a terminal delivers it: a process that ignores it (an earlier test, a CI runner) would hand the ignore down
    child = subprocess.Popen([sys.executable, "-c", code, "wait" if how == "ctrl-c" else "exit"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    pid = int(child.stdout.readline())
    assert alive(pid)
    if how == "ctrl-c":
        assert child.stdout.readline().strip() == "calling"
        time.sleep(1.0)  # inside the call by now, even on a loaded machine
        child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)  # shutdown is bounded (mcp_session._CLOSE_S, twice); under load the child also needs time to start
    assert (how == "exit") == (child.returncode == 0), err
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        assert not alive(pid)
    finally:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    assert "fixture server starting" not in err  # server stderr goes to its log, not the terminal
