"""Draw the site's pictures into `petition/static/`: the share card and the icons.

- `share-card.png` (1200×630): what link previews on WhatsApp, Facebook, X and Bluesky show for
  the campaign's pages that have no picture of their own.
- `favicon.ico` (32×32) and `apple-touch-icon.png` (180×180): the campaign's mark, the same
  as `favicon.svg`, which browsers that read SVG use instead.

Run `python scripts/make_images.py` after changing the words, colours or mark below; it renders
them in Debian's Chromium (`apt-get install chromium`).
"""

from __future__ import annotations

import struct
from pathlib import Path

from playwright.sync_api import sync_playwright

STATIC = Path(__file__).resolve().parent.parent / "petition" / "static"
CHROMIUM = "/usr/bin/chromium"

CARD = """<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8"><style>
  * { box-sizing: border-box; margin: 0; }
  body { width: 1200px; height: 630px; font-family: "DejaVu Sans", sans-serif; color: #fff;
         background: #0b3d91; display: flex; flex-direction: column; }
  .stripe { height: 24px; background: #ffd500; }
  .inner { flex: 1; padding: 64px 80px; display: flex; flex-direction: column; }
  .brand { display: flex; align-items: center; gap: 20px; font-size: 40px; font-weight: 700; }
  .mark { width: 56px; height: 56px; border-radius: 50%; border: 5px solid #fff;
          background: linear-gradient(180deg, #4d8fe8 50%, #ffd500 50%); }
  h1 { margin-top: 56px; font-size: 64px; line-height: 1.12; letter-spacing: -1px; }
  p { margin-top: auto; font-size: 34px; color: #dbe4f3; }
  p strong { color: #ffd500; }
</style></head>
<body>
  <div class="stripe"></div>
  <div class="inner">
    <div class="brand"><span class="mark"></span>Refugees Welcome</div>
    <h1>Go further and faster to help people fleeing the war in Ukraine</h1>
    <p><strong>Sign the petition</strong> · share it · give what you can</p>
  </div>
</body></html>"""

# The mark on a transparent background, for the browser tab; on brand blue, for home screens.
ICON = """<!doctype html><html><head><style>
  html, body {{ margin: 0; width: {size}px; height: {size}px; background: {background}; }}
  img {{ display: block; width: {mark}px; height: {mark}px; margin: {inset}px; }}
</style></head><body><img src="data:image/svg+xml;base64,{svg}"></body></html>"""


def render(page, html: str, width: int, height: int, transparent: bool = False) -> bytes:
    page.set_viewport_size({"width": width, "height": height})
    page.set_content(html)
    return page.screenshot(omit_background=transparent)


def ico_holding(png: bytes, size: int) -> bytes:
    """An .ico file whose one image is a PNG (every browser since 2010 reads these)."""
    header = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack("<BBBBHHII", size, size, 0, 0, 1, 32, len(png), 6 + 16)
    return header + entry + png


def main() -> None:
    import base64

    svg = base64.b64encode((STATIC / "favicon.svg").read_bytes()).decode()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page()
        outputs = {
            "share-card.png": render(page, CARD, 1200, 630),
            "favicon.ico": ico_holding(
                render(
                    page,
                    ICON.format(size=32, mark=32, inset=0, background="transparent", svg=svg),
                    32,
                    32,
                    transparent=True,
                ),
                32,
            ),
            "apple-touch-icon.png": render(
                page,
                ICON.format(size=180, mark=140, inset=20, background="#0b3d91", svg=svg),
                180,
                180,
            ),
        }
        browser.close()
    for name, data in outputs.items():
        (STATIC / name).write_bytes(data)
        print(f"wrote {STATIC / name} ({len(data):,} bytes)")


if __name__ == "__main__":
    main()
