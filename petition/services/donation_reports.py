"""Figures about giving for the campaign team: totals, the list, fundraiser clicks, an export."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import String, func, select, type_coerce

from petition.database import Page, iso_utc, paginate, pounds_text
from petition.extensions import db
from petition.models import Donation, DonationStatus, OutboundClick
from petition.services import audit
from petition.services.audit import Actor
from petition.services.exports import Export, neutralised

PAGE_SIZE = 50
HEADER = (
    "created_at",
    "amount_gbp",
    "refunded_gbp",
    "status",
    "source",
    "stripe_session_id",
    "paid_at",
)


@dataclass(frozen=True)
class StatusTotal:
    status: DonationStatus
    count: int
    amount_minor: int


def totals() -> list[StatusTotal]:
    rows = db.session.execute(
        select(
            Donation.status,
            func.count(),
            func.coalesce(func.sum(Donation.amount_minor - Donation.refunded_minor), 0),
        ).group_by(Donation.status)
    ).all()
    found = {status: StatusTotal(status, count, int(amount)) for status, count, amount in rows}
    return [found.get(s, StatusTotal(s, 0, 0)) for s in DonationStatus]


def page_of_donations(page: int) -> Page:
    return paginate(select(Donation).order_by(Donation.id.desc()), page, PAGE_SIZE)


def clicks_by_source(limit: int = 15) -> list[tuple[str, int]]:
    return [
        (source, n)
        for source, n in db.session.execute(
            select(OutboundClick.source, func.count())
            .where(OutboundClick.target == "gofundme")
            .group_by(OutboundClick.source)
            .order_by(func.count().desc())
            .limit(limit)
        )
    ]


def start_export(actor: Actor) -> Export:
    """Every donation as CSV, streamed and audited like the signature export."""
    query = select(
        func.coalesce(iso_utc(Donation.created_at), ""),
        pounds_text(Donation.amount_minor),
        pounds_text(Donation.refunded_minor),
        type_coerce(Donation.status, String),
        neutralised(Donation.source),
        func.coalesce(Donation.stripe_session_id, ""),
        func.coalesce(iso_utc(Donation.paid_at), ""),
    ).order_by(Donation.id)
    entry = audit.record(actor, "export_donations", "donations")
    db.session.flush()
    audit_id, stamp = entry.id, entry.at.strftime("%Y%m%d-%H%M")
    db.session.commit()
    return Export(filename=f"donations-{stamp}.csv", audit_id=audit_id, query=query, header=HEADER)
