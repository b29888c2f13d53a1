"""The annotation page in a real browser: Debian's Chromium driven by Playwright (no browser
download), against the page served in-process with a scripted model.

Open the page, log in, pick a question, run one step, edit the arguments, continue, rate, save
(with the keyboard shortcut) — then read the store and find the edited trajectory, its rubric
and its revision history. Saves the README screenshot to docs/images/annotate.png.
"""

import os
import re
import shutil
import socket
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("TOOLTUNE_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "images" / "annotate.png"
CALL = 'Thought: I will compute it.\nAction: calculator\nAction Input: {"expression": "3*7"}'
FINAL = "Thought: I have it.\nFinal Answer: The answer is 24."


def _chromium_or_skip() -> str:
    if not Path(CHROMIUM).exists():
        reason = ("no Chromium at /usr/bin/chromium and it could not be installed here: `make test` runs "
                  "`apt-get install -y chromium`, which needs root and Debian/Ubuntu package sources")
        if shutil.which("apt-get") is None:
            reason = "no Chromium and no apt-get on this machine to install Debian's chromium package"
        pytest.skip(reason)
    pytest.importorskip("playwright", reason="playwright is not installed: pip install -e '.[annotate]'")
    return CHROMIUM


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(tmp_path):
    from tooltune.annotate.page import build_app, launch
    from tooltune.annotate.session import Annotator
    from tooltune.data.store import Store
    from tooltune.llm import ScriptedLLM
    from tooltune.tools import builtin_registry

    db = tmp_path / "corpus.db"
    store = Store(db)
    store.add_question("What is 3*8?", tools=builtin_registry().select(["calculator"]).to_openai())
    store.add_question("What time is it in Tokyo?")
    annotator = Annotator(Store(db), ScriptedLLM([CALL, FINAL]), "react", builtin_registry(), model_name="scripted")
    demo = build_app(annotator)
    port = _free_port()
    launch(demo, "127.0.0.1", port, auth=("ann", "secret"), block=False)
    try:
        yield f"http://127.0.0.1:{port}/", store
    finally:
        demo.close()


def test_annotate_in_a_real_browser(served):
    chromium = _chromium_or_skip()
    from playwright.sync_api import expect, sync_playwright

    url, store = served
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.set_default_timeout(30_000)
            page.goto(url)
            page.get_by_label("username").fill("ann")
            page.get_by_label("password").fill("secret")
            page.get_by_role("button", name="Login").click()
            expect(page.locator("#counts")).to_contain_text("remaining 2")
            page.locator("#queue input").click()
            page.get_by_role("option", name=re.compile(r"What is 3\*8")).click()
            expect(page.locator("#trajectory")).to_contain_text("What is 3*8?")
            page.locator("#step-btn").click()
            expect(page.locator("#trajectory")).to_contain_text("observation (calculator): 21")
            expect(page.locator("#arguments textarea")).to_have_value(re.compile(r'"expression": "3\*7"'))
            # Refused before anything runs: arguments that are not JSON, then JSON the tool's schema rejects.
            page.locator("#arguments textarea").fill('{"expression": 38')
            page.locator("#apply-btn").click()
            expect(page.locator("#notice")).to_contain_text("not valid JSON")
            page.locator("#arguments textarea").fill('{"expr": "3*8"}')
            page.locator("#apply-btn").click()
            expect(page.locator("#notice")).to_contain_text("'expression' is a required property")
            page.locator("#arguments textarea").fill('{"expression": "3*8"}')
            page.locator("#continue-btn").click()
            expect(page.locator("#trajectory")).to_contain_text("The answer is 24.")
            expect(page.locator("#trajectory")).to_contain_text("observation (calculator): 24")
            page.get_by_label("5 · fully correct").check()
            page.locator("#comment textarea").fill("fixed the expression")
            page.keyboard.press("Alt+KeyS")
            expect(page.locator("#notice")).to_contain_text("Saved as approved")
            expect(page.locator("#counts")).to_contain_text("approved 1")
            expect(page.locator("#history")).to_contain_text("model:scripted")
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            browser.close()
    saved = [s for s in store.samples(status="approved")]
    assert len(saved) == 1
    got = saved[0]
    assert (got.human_score, got.human_comment, got.source) == (5, "fixed the expression", "human")
    assert [m.role for m in got.sample.messages] == ["user", "assistant", "tool", "assistant"]
    assert got.sample.messages[1].tool_calls[0].arguments == {"expression": "3*8"}
    assert [m.content for m in got.sample.messages[2:]] == ["24", "The answer is 24."]
    history = store.revisions(got.id)
    assert [(r.author, r.changes) for r in history] == [
        ("model:scripted", ["created"]), ("ann", ["messages"]), ("model:scripted", ["messages"]),
        ("ann", ["status", "human_score", "human_comment"])]
    assert history[0].sample.messages[1].tool_calls[0].arguments == {"expression": "3*7"}
