"""How pages load, checked the way Lighthouse does in Chromium: no script holds up the first
paint, and every picture says its size (so nothing jumps as it arrives)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import SLUG
from tests.parts import LiveServer, StaticSite

pytestmark = pytest.mark.browser

PAGES = [
    "/",
    f"/petitions/{SLUG}",
    f"/petitions/{SLUG}/integrity",
    "/articles/krasnodar-riot-police-sue-over-dismissal",
    "/articles",
    "/verify",
    "/privacy",
    f"/embed/petitions/{SLUG}",
]

# What Chromium says of every resource: whether it held up rendering (Resource Timing Level 2).
LOADED = """() => performance.getEntriesByType("resource").map(r => ({
    name: r.name, type: r.initiatorType, blocking: r.renderBlockingStatus}))"""
UNSIZED = """() => [...document.images]
    .filter(img => !img.getAttribute("width") || !img.getAttribute("height"))
    .map(img => img.src)"""


def loaded(browser: Any, url: str) -> tuple[list[dict[str, str]], list[str]]:
    page = browser.new_page()
    try:
        page.goto(url, wait_until="load")
        return page.evaluate(LOADED), page.evaluate(UNSIZED)
    finally:
        page.close()


def test_the_check_sees_a_render_blocking_script(browser):
    """The control: a plain <script src> in <head> is reported as blocking."""
    with StaticSite() as site:
        site.pages["/page"] = (
            '<!doctype html><html lang="en"><head><title>t</title><script src="/s.js"></script>'
            '<script src="/d.js" defer></script></head><body><p>Hello</p></body></html>'
        )
        site.files["/s.js"] = ("text/javascript", b"window.s = 1;")
        site.files["/d.js"] = ("text/javascript", b"window.d = 1;")
        resources, _ = loaded(browser, f"{site.url}/page")
    # (Chromium may also have asked for /favicon.ico by then: only the scripts matter here.)
    scripts = [r for r in resources if r["type"] == "script"]
    status = {r["name"].rsplit("/", 1)[1]: r["blocking"] for r in scripts}
    assert status == {"s.js": "blocking", "d.js": "non-blocking"}


def test_no_script_holds_up_the_first_paint_and_every_picture_has_a_size(app, browser):
    with LiveServer(app) as server:
        app.config["PUBLIC_URL"] = server.url
        problems = {}
        scripts = 0
        for path in PAGES:
            resources, unsized = loaded(browser, server.url + path)
            js = [r for r in resources if r["type"] == "script"]
            scripts += len(js)
            blocking = [r["name"] for r in js if r["blocking"] != "non-blocking"]
            if blocking or unsized:
                problems[path] = {"blocking scripts": blocking, "pictures without a size": unsized}
    assert problems == {}
    assert scripts >= len(PAGES)  # every page loads its script (site.js or widget.js)
