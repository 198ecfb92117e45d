"""End to end, the playground in a real browser: Debian's Chromium (`make browser` installs it; Playwright drives
it and never downloads one), headless, against the shared server. The page loads, lists the voices and
languages from the API, Speak plays streamed audio (the page reports its time to first audio and the samples
it received), and an error is shown to the person; "speak as I type" streams the typed text over the WebSocket:
the first sentence is heard while the rest is typed, Stop cuts the turn, the next turn on the same socket is
spoken. Screenshots are saved in the tests' tmp dirs."""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"]


@pytest.fixture(scope="module")
def page(cv_server):
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed: run `make browser` (Debian's chromium package)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 900, "height": 1100})
            page.set_default_timeout(60_000)
            yield page
        finally:
            browser.close()


def test_the_playground_speaks_a_stream_and_shows_errors(cv_server, page, tmp_path):
    console_errors: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and console_errors.append(msg.text))
    page.goto(cv_server.http_url + "/")
    page.wait_for_selector("body[data-state=idle]")  # model and voices loaded from the API
    assert "Qwen3-TTS" in page.title()
    voices = page.eval_on_selector_all("#voice option", "options => options.map(o => o.value)")
    assert "vivian" in voices and "alloy" in voices  # built-in speakers and the aliases
    languages = page.eval_on_selector_all("#language option", "options => options.map(o => o.value)")
    assert languages[0] == "auto" and "english" in languages
    assert page.is_hidden("#clone")  # a CustomVoice checkpoint cannot clone

    page.select_option("#voice", "vivian")
    page.select_option("#language", "english")
    page.fill("#text", "Hello from the browser.")
    page.click("#speak")
    page.wait_for_selector("body[data-state=done]", timeout=120_000)
    samples = int(page.get_attribute("body", "data-samples"))
    ttfa_ms = int(page.get_attribute("body", "data-ttfa-ms"))
    assert samples > 0 and samples % 1920 == 0  # whole 80 ms frames of 24 kHz audio
    assert 0 < ttfa_ms < 60_000
    assert page.inner_text("#samples") == f"{samples:,}" and page.inner_text("#ttfa") == f"{ttfa_ms} ms"
    assert page.inner_text("#seed").isdigit() and page.is_visible("#download")
    assert page.evaluate("document.getElementById('download').href").startswith("blob:")
    shot = tmp_path / "playground.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"\nplayground screenshot: {shot} ({samples} samples, time to first audio {ttfa_ms} ms)")

    # an error is shown to the person: an empty text is refused by the server (400, param input)
    page.fill("#text", "")
    page.click("#speak")
    page.wait_for_selector("#error:not([hidden])")
    assert "input" in page.inner_text("#error") and page.get_attribute("#error", "data-param") == "input"
    assert page.get_attribute("body", "data-state") == "error"
    page.screenshot(path=str(tmp_path / "playground-error.png"), full_page=True)
    assert not [e for e in console_errors if "400" not in e], console_errors  # only the refused request


TYPED = ("Hello from the browser, typed one key at a time. Every sentence is spoken once it is complete, "
         "while the next one is still being typed. This one ends the text.")


def test_speak_as_i_type_streams_the_text_box_over_the_websocket(cv_server, page, tmp_path):
    console_errors: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and console_errors.append(msg.text))
    page.goto(cv_server.http_url + "/")
    page.wait_for_selector("body[data-state=idle]")
    page.select_option("#voice", "vivian")
    page.select_option("#language", "english")
    page.check("#live")  # opens the session (session.config) and empties the text box
    page.wait_for_selector("body[data-live=open]")
    assert page.input_value("#text") == "" and page.inner_text("#speak") == "▶ Speak the rest"
    assert page.is_visible("#live-hint")

    page.type("#text", TYPED, delay=40)  # one input event per key, ~6 s of typing
    typed_at = page.evaluate("performance.now()")
    page.wait_for_function("Number(document.body.dataset.samples) > 0", timeout=120_000)
    first_audio_at = float(page.get_attribute("body", "data-first-audio-at"))
    assert first_audio_at < typed_at, "the first sentence was not heard while the text was being typed"
    page.wait_for_selector("#now:not([hidden])")
    # a piece of the typed text (where it was cut depends on the typing's pauses: over 500 ms flushes it)
    assert page.inner_text("#now-text") in TYPED
    assert page.inner_text("#seed").isdigit() and int(page.get_attribute("body", "data-ttfa-ms")) > 0
    shot = tmp_path / "playground-live.png"
    page.screenshot(path=str(shot), full_page=True)

    page.click("#stop")  # barge-in: response.cancel, the turn ends cancelled
    page.wait_for_selector("body[data-state=stopped]", timeout=60_000)
    assert page.get_attribute("body", "data-turns") == "1"

    page.type("#text", " Bye now.", delay=20)  # the next turn, on the same socket
    page.click("#speak")  # input_text.end: speak the rest
    page.wait_for_selector("body[data-state=done]", timeout=120_000)
    assert page.get_attribute("body", "data-turns") == "2" and page.get_attribute("body", "data-live") == "open"
    samples = int(page.get_attribute("body", "data-samples"))
    assert samples > 0 and samples % 1920 == 0 and page.is_visible("#download")
    page.screenshot(path=str(tmp_path / "playground-live-done.png"), full_page=True)
    print(f"\nplayground speak-as-I-type screenshot: {shot} (first audio {typed_at - first_audio_at:.0f} ms "
          f"before the typing ended)")

    page.uncheck("#live")  # back to Speak: the socket is closed
    assert page.get_attribute("body", "data-live") == "closed" and page.inner_text("#speak") == "▶ Speak"
    assert not console_errors, console_errors
