"""The app in headless Chromium over the offline catalog, driven as a listener would drive it."""

from __future__ import annotations

import pytest

from browser import browser_page, screenshot, serve
from segue.app.build import build_app

PLAYLIST = "mpd:2482"  # "tyga", a test playlist of 184 songs


@pytest.fixture
def page(mpd_markov_run, feedback_log):
    app, recommender = build_app(mpd_markov_run, feedback=feedback_log)
    with serve(app) as address, browser_page() as opened:
        opened.goto(address + "/")
        opened.wait_for_selector("#playlists li")
        yield opened
    recommender.close()


def titles(page, table: str) -> list[str]:
    return page.locator(f"#{table} tbody tr td:nth-child(2)").all_inner_texts()


def uris(page, table: str) -> list[str]:
    return page.eval_on_selector_all(f"#{table} tbody tr", "rows => rows.map(row => row.dataset.uri)")


def open_playlist(page, key: str = PLAYLIST) -> None:
    page.click(f"#playlists li[data-id='{key}']")
    page.wait_for_selector("#recommendations tbody tr")


def test_select_playlist_shows_tracks_and_recommendations(page, mpd_sample):
    # Before a playlist is picked, only the hint shows: no empty header with a Play button.
    assert not page.is_visible("#playlist-header")
    assert page.is_visible("#empty-state")
    assert page.locator("#playlists li").count() == 100
    assert page.is_visible("#more-playlists")
    assert "offline catalog" in page.inner_text("#status")

    open_playlist(page)
    assert page.inner_text("#playlist-name") == "tyga"
    assert page.inner_text("#playlist-meta") == "test split · 184 songs"
    assert page.locator("#tracks tbody tr").count() == 184
    with mpd_sample.catalog() as catalog:
        row = catalog.execute("SELECT row FROM playlists WHERE key = ?", (PLAYLIST,)).fetchone()[0]
        names = [
            catalog.execute("SELECT name FROM tracks WHERE idx = ?", (index,)).fetchone()[0]
            for index in mpd_sample.sequence(row, full=True).tolist()
        ]
    assert titles(page, "tracks") == names
    assert page.locator("#recommendations tbody tr").count() == 10
    assert not set(uris(page, "recommendations")) & set(uris(page, "tracks"))
    screenshot(page, "playlist")


def test_refresh_and_double_click_to_play(page):
    open_playlist(page)
    before = uris(page, "recommendations")
    page.click("#refresh")
    page.wait_for_timeout(300)
    assert uris(page, "recommendations") == before

    page.dblclick("#tracks tbody tr:nth-child(4)")
    page.wait_for_function("document.getElementById('now-title').textContent === 'Maniac (feat. Fabolous)'")
    assert page.inner_text("#now-artist") == "Tyga"
    assert page.is_visible("#preview-note")
    assert page.get_attribute("#toggle", "aria-label") == "Pause"
    assert "playing" in page.get_attribute("#tracks tbody tr:nth-child(4)", "class")

    page.dblclick("#recommendations tbody tr:nth-child(2)")
    second = titles(page, "recommendations")[1]
    page.wait_for_function(f"document.getElementById('now-title').textContent === {second!r}")


def test_thumbs_down_removes_the_song_for_good(page):
    open_playlist(page)
    disliked = uris(page, "recommendations")[0]
    page.dblclick("#recommendations tbody tr:nth-child(1)")
    page.wait_for_function("document.getElementById('toggle').getAttribute('aria-label') === 'Pause'")
    page.click("#thumb-down")
    page.wait_for_function(
        f"!Array.from(document.querySelectorAll('#recommendations tbody tr')).some(row => row.dataset.uri === {disliked!r})"
    )
    assert "will not be recommended again" in page.inner_text("#toast")
    assert page.locator("#recommendations tbody tr").count() == 10

    page.click("#refresh")
    page.wait_for_timeout(300)
    assert disliked not in uris(page, "recommendations")
    # Not after reloading the page either: the session lives on the server.
    page.reload()
    page.wait_for_selector("#playlists li")
    open_playlist(page)
    assert disliked not in uris(page, "recommendations")
    screenshot(page, "thumbs-down")


def test_thumbs_up_changes_the_recommendations(page):
    open_playlist(page)
    before = uris(page, "recommendations")
    liked = before[3]
    page.dblclick("#recommendations tbody tr:nth-child(4)")
    page.wait_for_function("document.getElementById('toggle').getAttribute('aria-label') === 'Pause'")
    page.click("#thumb-up")
    page.wait_for_function("document.getElementById('recommendations-note').textContent.includes('1 liked')")
    after = uris(page, "recommendations")
    assert after != before
    assert liked not in after
    assert "to the recommender's input" in page.inner_text("#toast")


def test_device_picker_and_keyboard(page):
    options = page.locator("#devices option").all_inner_texts()
    assert options == ["Preview (no audio) · Computer"]

    open_playlist(page)
    page.click("#play-playlist")
    page.wait_for_function("document.getElementById('now-title').textContent === 'Throw It Up'")
    page.click("#playlist-name")  # focus the page, not a control
    page.keyboard.press("Space")
    page.wait_for_function("document.getElementById('toggle').getAttribute('aria-label') === 'Play'")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("document.getElementById('now-title').textContent === 'Switch Lanes'")
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("document.getElementById('now-title').textContent === 'Throw It Up'")
    page.keyboard.press("Space")
    page.wait_for_function("document.getElementById('toggle').getAttribute('aria-label') === 'Pause'")
    page.wait_for_timeout(1500)
    screenshot(page, "playing")

    # After a click on a button or the volume slider, the keys still drive the player.
    page.click("#next")
    page.wait_for_function("document.getElementById('now-title').textContent === 'Switch Lanes'")
    page.keyboard.press("Space")
    page.wait_for_function("document.getElementById('toggle').getAttribute('aria-label') === 'Play'")
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("document.getElementById('now-title').textContent === 'Throw It Up'")
    page.focus("#volume")
    page.keyboard.press("Space")
    page.wait_for_function("document.getElementById('toggle').getAttribute('aria-label') === 'Pause'")

    page.fill("#volume", "20")
    page.dispatch_event("#volume", "change")
    page.wait_for_timeout(300)
    page.click("#mute")
    page.wait_for_function("document.getElementById('volume').value === '0'")
    page.click("#mute")
    page.wait_for_function("document.getElementById('volume').value === '20'")


def test_errors_show_as_a_sentence(page):
    # Thumbs with nothing playing: the page shows what to do instead of failing silently.
    open_playlist(page)
    page.click("#thumb-up")
    page.wait_for_selector("#toast:not([hidden])")
    assert page.inner_text("#toast") == "Nothing is playing: play a song first, then rate it."


def test_screenshot_of_a_session(page):
    # The picture in the README: a playlist, a song playing, and recommendations after a thumbs-up.
    open_playlist(page, "mpd:4658")  # "Wanderlust"
    assert page.inner_text("#playlist-name") == "Wanderlust"
    page.dblclick("#tracks tbody tr:nth-child(1)")
    page.wait_for_function("document.getElementById('toggle').getAttribute('aria-label') === 'Pause'")
    page.click("#thumb-up")
    page.wait_for_function("document.getElementById('recommendations-note').textContent.includes('1 liked')")
    page.wait_for_timeout(6500)  # the toast fades after 6 s
    screenshot(page, "app")
