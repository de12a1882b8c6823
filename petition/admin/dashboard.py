"""The dashboard: every petition's counts, how it is moving, and where signers come from."""

from __future__ import annotations

from flask import render_template

from petition.admin import bp
from petition.services import article_stats, dashboard, partners


@bp.get("/", endpoint="dashboard")
def dashboard_view() -> str:
    petitions = dashboard.petition_overview()
    panels = [
        {
            "petition": p,
            "hours": dashboard.activity(p.id, "hour"),
            "days": dashboard.activity(p.id, "day"),
            "countries": dashboard.top_countries(p.id),
            "sources": dashboard.top_sources(p.id),
            "languages": dashboard.languages(p.id),
            "partners": partners.by_partner(p.id),
            "wanting_updates": dashboard.wanting_updates(p.id),
        }
        for p in petitions
        if p.state.value != "draft"
    ]
    for panel in panels:
        panel["through_partners"] = [
            [f"{name} ({yes:,} said yes to its question)" if name else "Directly", made, ok]
            for name, made, ok, yes in panel["partners"].value
        ]
    return render_template(
        "admin/dashboard.html", petitions=petitions, panels=panels, funnels=article_stats.funnels()
    )
