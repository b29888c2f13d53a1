"""`tooltune annotate`: binds 127.0.0.1 by default, --auth becomes the login, bad flags are one-line errors."""

import subprocess
import sys

from typer.testing import CliRunner

from tooltune.cli import app
from tooltune.data.store import Store
from tooltune.llm import ScriptedLLM


def tooltune(*args):
    return subprocess.run([sys.executable, "-c", "from tooltune.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=120)


def test_serves_on_localhost_with_the_login(tmp_path, monkeypatch):
    import tooltune.annotate.page as page
    import tooltune.llm as llm

    Store(tmp_path / "c.db").close()
    seen = {}
    monkeypatch.setattr(llm, "make_llm", lambda model, base_url, api_key: seen.update(model=(model, base_url)) or ScriptedLLM([]))
    monkeypatch.setattr(page, "launch", lambda demo, host, port, auth: seen.update(host=host, port=port, auth=auth, demo=demo))
    result = CliRunner().invoke(app, ["annotate", "--db", str(tmp_path / "c.db"), "--auth", "ann:s3:cret", "--port", "7999"])
    assert result.exit_code == 0, result.output
    assert (seen["host"], seen["port"], seen["auth"], seen["model"]) == ("127.0.0.1", 7999, ("ann", "s3:cret"), (None, None))
    assert seen["demo"].title == "tooltune · annotate"


def test_bad_flags_are_one_line_errors(tmp_path):
    Store(tmp_path / "c.db").close()
    for args, message in ((["--db", str(tmp_path / "missing.db")], "no such corpus"),
                          (["--db", str(tmp_path / "c.db"), "--auth", "ann"], "--auth must look like user:password"),
                          (["--db", str(tmp_path / "c.db"), "--format", "yaml"], "unknown format 'yaml'")):
        result = tooltune("annotate", *args)
        assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr, result.stderr
