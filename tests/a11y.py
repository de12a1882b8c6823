"""What every page in Chromium is checked for: WCAG 2.2 A and AA by axe-core (in the page and
its frames), and what axe cannot see (one h1, reflow, readable chart labels, cells not squeezed
to a few letters, text kept inside its box). Used by the accessibility tests of readers' pages,
staff's pages and the petition page."""

from __future__ import annotations

from typing import Any

from tests.factories import SLUG
from tests.parts import LiveServer

WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
WIDTHS = [320, 1280]
ARTICLE = "/articles/krasnodar-riot-police-sue-over-dismissal"


def audit(page: Any, axe: str) -> list[dict[str, Any]]:
    """Run axe-core in the page and every frame in it; return the violations."""
    for frame in page.frames:
        frame.evaluate(axe)
    result = page.evaluate(
        """async (tags) => {
            const options = {runOnly: {type: "tag", values: tags}, iframes: true};
            const r = await axe.run(document, options);
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.map(n => n.target.join(" ")).slice(0, 5)}));
        }""",
        WCAG,
    )
    return result


def news_story(server: LiveServer, before: str = "", after: str = "", lang: str = "en") -> str:
    """A news site's page with our snippet on it (which speaks the page's language)."""
    title = "Новини" if lang == "uk" else "News"
    return (
        f'<!doctype html><html lang="{lang}"><head><title>{title}</title></head><body><main>'
        f'<h1>{title}</h1>{before}<div data-petition="{SLUG}"></div>'
        f'<script src="{server.url}/embed.js" async></script>{after}</main></body></html>'
    )


def post_some_news() -> None:
    from petition.services.audit import Actor
    from petition.services.petitions import NewsDraft, post_news

    news = NewsDraft("We handed the petition in", "It went to Downing Street.\n\nMore soon.")
    post_news(SLUG, news, Actor("editor@example.org"))


def page_rules(
    page: Any, name: str, one_h1: bool = True, tables_fit: bool = True
) -> dict[str, list[dict[str, str]]]:
    """What axe cannot see: one h1, reflow (WCAG 1.4.10): nothing scrolls sideways, the charts'
    labels readable, and no table cell squeezed to a few characters a line. Readers' tables
    fit the page too; staff's wide ones may scroll in their own box."""
    broken = []
    h1s = page.locator("h1").count()
    if one_h1 and h1s != 1:
        broken.append({"id": "one-h1", "help": f"{h1s} h1 elements"})
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    if overflow > 0:
        broken.append({"id": "reflow", "help": f"the page scrolls sideways by {overflow} px"})
    labels = page.evaluate(CHART_LABEL_PROBLEMS)
    if labels:
        broken.append({"id": "chart-labels", "help": labels})
    squeezed = page.evaluate(SQUEEZED_CELLS)
    if squeezed:
        broken.append({"id": "squeezed-cells", "help": squeezed})
    spilling = page.evaluate(SPILLING_TEXT)
    if spilling:
        broken.append({"id": "text-spills", "help": spilling})
    wider = page.evaluate(
        "() => [...document.querySelectorAll('table')]"
        ".map(t => t.parentElement.scrollWidth - t.parentElement.clientWidth)"
        ".filter(by => by > 0)"
    )
    if tables_fit and wider:
        broken.append({"id": "table-fits", "help": f"a table scrolls sideways by {wider} px"})
    return {name: broken} if broken else {}


# The charts' time labels, as a reader sees them: big enough to read, none overlapping
# another or running out of its chart. Measured on the text itself, not its cell.
CHART_LABEL_PROBLEMS = """() => {
    const problems = [];
    for (const chart of document.querySelectorAll("figure.chart")) {
        const box = chart.getBoundingClientRect();
        let previous = null;
        const shown = [...chart.querySelectorAll(".chart__label")]
            .filter(l => getComputedStyle(l).visibility !== "hidden");
        for (const label of shown) {
            const range = document.createRange();
            range.selectNodeContents(label);
            const text = range.getBoundingClientRect();
            const name = label.textContent;
            if (text.height < 12) problems.push(`${name} ${text.height.toFixed(1)}px high`);
            if (text.right > box.right + 0.5) problems.push(`${name} runs out`);
            if (previous && text.left < previous.right) problems.push(`${name} overlaps`);
            previous = text;
        }
    }
    return problems.join("; ");
}"""


# A word in a table cell that a narrow column breaks where it has no hyphen, into pieces of under
# eight characters: a hash five characters a line, which makes each row a column of letters.
# Breaking between words or at a hyphen ("sign-" / "ins"), or a hash into four lines, is fine.
SQUEEZED_CELLS = """() => {
    const problems = [];
    for (const cell of document.querySelectorAll("table :is(th, td)")) {
        const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
        while (walker.nextNode()) {
            const node = walker.currentNode;
            for (const word of node.data.matchAll(/\\S+/g)) {
                const range = document.createRange();
                range.setStart(node, word.index);
                range.setEnd(node, word.index + word[0].length);
                const tops = [];
                for (const r of range.getClientRects()) {
                    if (r.width && !tops.some(top => Math.abs(top - r.top) < 4)) tops.push(r.top);
                }
                const hyphens = word[0].split("-").length - 1;
                if (tops.length > hyphens + 1 && word[0].length / tops.length < 8) {
                    problems.push(`"${word[0].slice(0, 12)}" in ${tops.length} pieces`);
                }
            }
        }
    }
    return problems.join("; ");
}"""


# Text wider than its own box runs into its neighbour (a long word in a narrow label column,
# "Зараховано?" over its answer): boxes that do not scroll, whose content is wider than they are.
SPILLING_TEXT = """() => [...document.querySelectorAll(
        "dt, dd, th, td, label, legend, h1, h2, h3, p, li, button, .button, summary")]
    .filter(el => {
        const style = getComputedStyle(el);
        return style.display !== "inline" && style.overflowX === "visible"
            && el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1;
    })
    .map(el => `${el.tagName.toLowerCase()} "${el.textContent.trim().slice(0, 24)}" by `
        + `${el.scrollWidth - el.clientWidth}px`)
    .join("; ")"""
