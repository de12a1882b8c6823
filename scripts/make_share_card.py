"""Draw the campaign's share card, `petition/static/share-card.png` (1200×630).

Link previews on WhatsApp, Facebook, X and Bluesky show this picture for the campaign's pages
that have none of their own. Run `python scripts/make_share_card.py` after changing the words
or colours below; it renders the card in Debian's Chromium (`apt-get install chromium`).
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import sync_playwright

OUT = Path(__file__).resolve().parent.parent / "petition" / "static" / "share-card.png"
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


def main() -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page(viewport={"width": 1200, "height": 630})
        page.set_content(CARD)
        page.screenshot(path=str(OUT))
        browser.close()
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
