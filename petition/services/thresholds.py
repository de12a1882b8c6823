"""What happens when a petition's count passes a number, as staff write it and readers see it.

Staff write one line per threshold ("10,000: We hand it in at Downing Street"); the petition
keeps them as [{"count": 10000, "text": "…"}], ascending. In another language staff write the
same lines with the same numbers, kept as that language's "thresholds" text beside the
petition's other translations; a threshold with no line in the reader's language shows the
English, marked as English.
"""

from __future__ import annotations

import re
from typing import Any

from petition import i18n
from petition.services.errors import InvalidInput

MAX_THRESHOLDS = 8
# "10,000: We hand it in at Downing Street" (a dash or colon after the number).
THRESHOLD_LINE = re.compile(r"^\s*([\d][\d,. \u00a0]*)\s*[:\-\u2013\u2014]\s*(\S.*)$")


def from_text(text: str, field: str = "thresholds") -> list[dict[str, Any]]:
    """What happens at which count, from staff's lines, in ascending order; raises
    InvalidInput naming the line that is not one (against `field`)."""
    found: dict[int, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = THRESHOLD_LINE.match(line)
        digits = re.sub(r"\D", "", match.group(1)) if match else ""
        if not match or not digits or not 0 < int(digits) <= 100_000_000:
            raise InvalidInput(
                {
                    field: f"Line {number} should be a number, a colon and what happens, "
                    "like “10,000: We hand it in at Downing Street”"
                }
            )
        words = match.group(2).strip()
        if len(words) > 200:
            raise InvalidInput({field: f"Line {number} is longer than 200 characters"})
        found[int(digits)] = words
    if len(found) > MAX_THRESHOLDS:
        raise InvalidInput({field: f"Give at most {MAX_THRESHOLDS} thresholds"})
    return [{"count": count, "text": found[count]} for count in sorted(found)]


def as_text(thresholds: list[dict[str, Any]]) -> str:
    """The lines staff edit, from stored thresholds."""
    return "\n".join(f"{t['count']:,}: {t['text']}" for t in thresholds)


def translated(english: list[dict[str, Any]], text: str, code: str) -> str:
    """Another language's lines, checked against the English thresholds and tidied: the same
    numbers only (a translation cannot add a threshold), some of them or all. Refusals are
    against that language's field (`uk_thresholds`)."""
    field = f"{code}_thresholds"
    found = from_text(text, field)
    counts = {t["count"] for t in english}
    for t in found:
        if t["count"] not in counts:
            shown = ", ".join(f"{c:,}" for c in sorted(counts)) or "none yet"
            raise InvalidInput(
                {
                    field: f"{t['count']:,} is not one of the thresholds in English "
                    f"({shown}): use the same numbers"
                }
            )
    return as_text(found)


def shown(english: list[dict[str, Any]], translations: dict[str, dict[str, str]]) -> list[dict]:
    """The thresholds as pages show them: each with its words in every language staff wrote
    them in ("texts"); a line whose number is no longer a threshold is left out."""
    written = {
        code: {t["count"]: t["text"] for t in _readable(fields["thresholds"])}
        for code, fields in translations.items()
        if fields.get("thresholds")
    }
    return [
        {**t, "texts": {code: w[t["count"]] for code, w in written.items() if t["count"] in w}}
        for t in english
    ]


def _readable(text: str) -> list[dict[str, Any]]:
    """Stored lines as thresholds; none from lines that no longer read as such (they were
    checked when saved), rather than no page."""
    try:
        return from_text(text)
    except InvalidInput:
        return []


def in_language(thresholds: list[dict[str, Any]], language: str) -> list[dict[str, Any]]:
    """Each threshold in `language` where staff wrote it, saying so (`text_language`, read by
    the templates' text_lang), else in English."""
    if language == i18n.DEFAULT:
        return thresholds
    return [
        {**t, "text": t["texts"][language], "text_language": {"text": language}}
        if language in t.get("texts", {})
        else t
        for t in thresholds
    ]
