"""The chat in a real browser: Debian's Chromium driven by Playwright (installed by `make test`).

Screenshots of every step go to test-artifacts/browser/ (kept after the run, ignored by git).
"""

import json
import shutil
import time

import pytest
from playwright.sync_api import expect

from bot.app import build_app
from bot.paths import PROJECT_ROOT
from bot.personas import load_catalog
from bot.store import ConversationStore
from finetune.feedback import export_feedback
from tests.conftest import EchoChatModel, echo_header, serving

ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "browser"
CHROMIUM = shutil.which("chromium")


class SlowEchoModel(EchoChatModel):
    """The echo model, one word every 60 ms, so the page has a stream to watch."""

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        for chunk in super()._stream(messages, stop, run_manager, **kwargs):
            time.sleep(0.06)
            yield chunk


@pytest.fixture
def served(tmp_path):
    store = ConversationStore(tmp_path / "conversations.sqlite3")
    with serving(build_app(SlowEchoModel(), load_catalog(), "slow echo (test fake)", store=store)) as url:
        yield url, store


@pytest.fixture
def page():
    if CHROMIUM is None:
        pytest.fail("Debian's chromium is not installed; `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.set_default_timeout(30_000)
        try:
            yield page
        finally:
            browser.close()


def choose(page, label: str, option: str) -> None:
    """Pick an option of a Gradio dropdown by its visible text."""
    page.get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option).click()


def bot_messages(page):
    return page.locator("[data-testid='bot']")


def test_chat_persona_switch_and_thumbs_down_with_correction_end_in_the_log_and_the_export(served, page, tmp_path):
    url, store = served
    catalog = load_catalog()
    page.goto(url)
    page.get_by_text("Tandem chat").first.wait_for()
    page.screenshot(path=ARTIFACTS / "1-opened.png")

    choose(page, "Persona (audience)", catalog.persona("plain").label())
    page.get_by_placeholder("Ask a question").fill("How do I reset my password?")
    page.get_by_role("button", name="Send", exact=True).click()
    # Watch the reply grow: several different partial texts before the final one.
    seen = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if bot_messages(page).count():
            text = bot_messages(page).last.inner_text()
            if text and (not seen or text != seen[-1]):
                seen.append(text)
            if text.rstrip().endswith("| How do I reset my password?"):  # the echo ends with the question
                break
        time.sleep(0.05)
    page.screenshot(path=ARTIFACTS / "2-answered.png")
    assert len(seen) >= 3, f"the answer did not stream: {seen}"
    assert echo_header(catalog.persona("plain").system_prompt) in seen[-1]

    choose(page, "Persona (audience)", catalog.persona("executive").label())
    page.get_by_placeholder("Ask a question").fill("And what does it cost us?")
    page.get_by_role("button", name="Send", exact=True).click()
    page.get_by_text("Persona switched").wait_for()
    page.get_by_text("| How do I reset my password? | And what does it cost us?").wait_for()
    page.screenshot(path=ARTIFACTS / "3-persona-switched.png")

    bot_messages(page).last.hover()
    page.get_by_role("button", name="Dislike").last.click()
    page.get_by_label("What should it have said?").fill("Open Settings, choose Security, then Reset password.")
    page.screenshot(path=ARTIFACTS / "4-correction.png")
    page.get_by_role("button", name="Save correction").click()
    page.get_by_text("Correction saved").wait_for()
    page.screenshot(path=ARTIFACTS / "5-saved.png")

    turns = store.turns()
    assert [t["persona_id"] for t in turns] == ["plain", "executive"]
    assert turns[1]["rating"] == -1
    assert turns[1]["correction"] == "Open Settings, choose Security, then Reset password."
    assert turns[1]["persona_hash"] == catalog.persona("executive").content_hash

    report = export_feedback(store, tmp_path / "feedback.jsonl", existing=[])
    exported = [json.loads(line) for line in (tmp_path / "feedback.jsonl").read_text().splitlines()]
    assert report.exported == 1
    assert exported[0]["messages"] == [
        {"role": "user", "content": "And what does it cost us?"},
        {"role": "assistant", "content": "Open Settings, choose Security, then Reset password."}]

    page.get_by_role("tab", name="Rated answers").click()
    expect(page.locator("table").last).to_contain_text("Open Settings, choose Security, then Reset password.")
    expect(page.locator("table").last).to_contain_text("And what does it cost us?")
    page.screenshot(path=ARTIFACTS / "6-rated-tab.png")
