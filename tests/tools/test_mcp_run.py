"""`tooltune run --tools mcp:stdio:…` end to end: the shipped model, the real mcp-server-time from
PyPI, the call through the MCP session and the server's answer back as an observation."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_the_agent_calls_a_real_mcp_server():
    source = f"mcp:stdio:{sys.executable} -m mcp_server_time --local-timezone UTC"
    result = subprocess.run([sys.executable, "-c", "from tooltune.cli import main; main()", "run", "What time is it in Tokyo?",
                             "--tools", source, "--format", "json", "--max-steps", "3", "--json"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    trajectory = json.loads(result.stdout)
    calls = [c for m in trajectory["messages"] for c in m.get("tool_calls", [])]
    assert calls and calls[0]["function"]["name"] == "get_current_time"
    observations = [m["content"] for m in trajectory["messages"] if m["role"] == "tool"]
    # the server's own words: a time for a valid zone, or its error for an invalid one
    assert observations and ("Invalid timezone" in observations[0] or '"timezone"' in observations[0])
    assert "mcp_server_time" not in result.stdout  # the server's stderr goes to its log, not to the terminal
