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
from contextlib import contextmanager
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
        if shutil.which("apt-get") is None:
            pytest.skip(f"no Chromium at {CHROMIUM}, and no apt-get on this machine to install Debian's chromium package")
        pytest.skip(f"no Chromium at {CHROMIUM}: `make test` installs it with `apt-get install -y chromium` when it runs as "
                    "root or with passwordless sudo; neither was possible here (or the install failed)")
    pytest.importorskip("playwright", reason="playwright is not installed: pip install -e '.[annotate]'")
    return CHROMIUM


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _serve(tmp_path, setup, replies=()):
    from tooltune.annotate.page import build_app, launch
    from tooltune.annotate.session import Annotator
    from tooltune.data.store import Store
    from tooltune.llm import ScriptedLLM
    from tooltune.tools import builtin_registry

    db = tmp_path / "corpus.db"
    store = Store(db)
    setup(store)
    annotator = Annotator(Store(db), ScriptedLLM(replies), "react", builtin_registry(), model_name="scripted")
    demo = build_app(annotator)
    port = _free_port()
    launch(demo, "127.0.0.1", port, auth=("ann", "secret"), block=False)
    try:
        yield f"http://127.0.0.1:{port}/", store
    finally:
        demo.close()


@contextmanager
def _browser_page(url):
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=60_000)  # a wait limit, not a timing: generous for a loaded CI machine

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_chromium_or_skip(), headless=True, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.set_default_timeout(30_000)
            page.goto(url)
            page.get_by_label("username").fill("ann")
            page.get_by_label("password").fill("secret")
            page.get_by_role("button", name="Login").click()
            yield page
        finally:
            browser.close()


def _questions(store):
    from tooltune.tools import builtin_registry

    store.add_question("What is 3*8?", tools=builtin_registry().select(["calculator"]).to_openai())
    store.add_question("What time is it in Tokyo?")


@pytest.fixture
def served(tmp_path):
    _chromium_or_skip()
    with _serve(tmp_path, _questions, [CALL, FINAL]) as served:
        yield served


def test_annotate_in_a_real_browser(served, tmp_path):
    from playwright.sync_api import expect

    url, store = served
    with _browser_page(url) as page:
        if True:  # keeps the steps below at one indentation level
            expect(page.locator("#counts")).to_contain_text("remaining 2")
            page.locator("#queue input").click()
            page.get_by_role("option", name=re.compile(r"What is 3\*8")).click()
            expect(page.locator("#trajectory")).to_contain_text("What is 3*8?")
            page.locator("#step-btn").click()
            expect(page.locator("#trajectory")).to_contain_text('observation (calculator): {"result": 21}')
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
            expect(page.locator("#trajectory")).to_contain_text('observation (calculator): {"result": 24}')
            page.get_by_label("5 · fully correct").check()
            page.locator("#comment textarea").fill("fixed the expression")
            page.keyboard.press("Alt+KeyS")
            expect(page.locator("#notice")).to_contain_text("Saved as approved")
            expect(page.locator("#counts")).to_contain_text("approved 1")
            expect(page.locator("#history")).to_contain_text("model:scripted")
            # The README's screenshot is refreshed on request only, so `make test` leaves the tree clean.
            shot = SCREENSHOT if os.environ.get("TOOLTUNE_UPDATE_SCREENSHOTS") else tmp_path / "annotate.png"
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
    saved = [s for s in store.samples(status="approved")]
    assert len(saved) == 1
    got = saved[0]
    assert (got.human_score, got.human_comment, got.source) == (5, "fixed the expression", "human")
    assert [m.role for m in got.sample.messages] == ["user", "assistant", "tool", "assistant"]
    assert got.sample.messages[1].tool_calls[0].arguments == {"expression": "3*8"}
    assert [m.content for m in got.sample.messages[2:]] == ['{"result": 24}', "The answer is 24."]
    history = store.revisions(got.id)
    assert [(r.author, r.changes) for r in history] == [
        ("model:scripted", ["created"]), ("ann", ["messages"]), ("model:scripted", ["messages"]),
        ("ann", ["status", "human_score", "human_comment"])]
    assert history[0].sample.messages[1].tool_calls[0].arguments == {"expression": "3*7"}


def _draft(store):
    from tooltune.messages import Message, Sample

    store.add_sample(Sample([Message("user", "What is 3*7?"), Message("assistant", "22")]), source="rollout")
    store.add_sample(Sample([Message("user", "Capital of France?"), Message("assistant", "Paris")]), source="rollout")


def test_a_stale_save_in_the_browser_is_refused_and_the_fresh_version_offered(tmp_path):
    _chromium_or_skip()
    from playwright.sync_api import expect

    with _serve(tmp_path, _draft) as (url, store), _browser_page(url) as page:
        page.locator("#queue input").click()
        page.get_by_role("option", name=re.compile(r"What is 3\*7")).click()
        expect(page.locator("#answer textarea")).to_have_value("22")
        store.set_status(1, "rejected", author="bob")  # someone else saves while the page has it open
        page.locator("#answer textarea").fill("21")
        page.locator("#apply-btn").click()
        expect(page.locator("#notice")).to_contain_text("Not saved: sample 1 is at revision 2, not 1")
        expect(page.locator("#reload-btn")).to_be_visible()
        assert store.get_sample(1).sample.messages[-1].content == "22"  # bob's version untouched
        expect(page.locator("#answer textarea")).to_have_value("21")  # the person's edit is kept on the page
        expect(page.locator("#history")).to_contain_text("bob")  # and who saved meanwhile is shown
        page.locator("#reload-btn").click()
        expect(page.locator("#notice")).to_contain_text("Opened S1")
        expect(page.locator("#answer textarea")).to_have_value("22")
        expect(page.locator("#reload-btn")).to_be_hidden()
        page.locator("#answer textarea").fill("21")
        page.locator("#apply-btn").click()
        expect(page.locator("#notice")).to_contain_text("Edit stored as revision 3")
        page.keyboard.press("Alt+KeyR")  # reject shortcut
        expect(page.locator("#notice")).to_contain_text("Saved as rejected")
        page.keyboard.press("Alt+KeyN")  # next shortcut
        expect(page.locator("#trajectory")).to_contain_text("Capital of France?")
        expect(page.locator("#counts")).to_contain_text("rejected 1")
    got = store.get_sample(1)
    assert (got.status, got.sample.messages[-1].content) == ("rejected", "21")
    assert [(r.author, r.changes) for r in store.revisions(1)] == [
        ("rollout", ["created"]), ("bob", ["status"]), ("ann", ["messages"])]
