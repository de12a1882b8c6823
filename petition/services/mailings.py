"""Campaign mailings: petition news emailed once to the signers who want updates.

A mailing stores its text once (the news item) and queues one small outbox row per recipient,
a chunk at a time, each chunk its own transaction, so a list of any length never makes one long
transaction. Whether a recipient still wants updates is checked again as each email is sent:
someone who stops updates, is erased, or whose mailing is stopped gets nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import func, insert, literal, select
from sqlalchemy.exc import IntegrityError

from petition.extensions import db
from petition.mail import mark_queued, queue_email
from petition.mail.delivery import Drop, Outgoing
from petition.mail.outbox import KINDS, NEWS
from petition.models import (
    Lane,
    Mailing,
    MailingState,
    OutboxMessage,
    Petition,
    PetitionNews,
    Signature,
    utcnow,
)
from petition.security.stop_links import stop_token
from petition.services import audit, consent
from petition.services.audit import Actor
from petition.services.errors import InvalidInput, NotFound
from petition.urls import external_url

OUTBOX = OutboxMessage.__table__


@dataclass(frozen=True)
class MailingPlan:
    """What pressing "Email it" would do: shown to staff before they confirm."""

    news: PetitionNews
    recipients: int


def plan(slug: str, news_id: int) -> MailingPlan:
    news = news_item(slug, news_id)
    if news.mailing is not None:
        raise InvalidInput({"news": "This news has already been emailed"})
    recipients = db.session.scalar(
        select(func.count()).where(*consent.update_recipients(news.petition_id))
    )
    return MailingPlan(news, recipients or 0)


def start(slug: str, news_id: int, actor: Actor) -> int:
    """Email news, once, to every confirmed signer who wants updates; how many that is now.

    The worker queues the recipients, a chunk at a time. The news can be emailed only once: a
    second press, or two staff at once, adds nothing.
    """
    news = news_item(slug, news_id)
    mailing = Mailing(
        news_id=news.id,
        petition_id=news.petition_id,
        subject=news_subject(news.title, news.petition.title),
        state=MailingState.QUEUEING,
        created_at=utcnow(),
        created_by=actor.label,
    )
    db.session.add(mailing)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise InvalidInput({"news": "This news has already been emailed"}) from None
    recipients = db.session.scalar(
        select(func.count()).where(*consent.update_recipients(news.petition_id))
    )
    audit.record(
        actor,
        "news_emailed",
        news.petition.slug,
        {"title": news.title, "mailing": mailing.id},
        row_count=recipients,
    )
    mark_queued()  # wakes the worker, which queues the recipients
    db.session.commit()
    return recipients or 0


def queue_next_chunk() -> int:
    """Add the next chunk of one mailing's recipients to the outbox; how many were added.

    Safe in several workers at once: a mailing being queued by one is skipped by the others.
    """
    pick = select(Mailing).where(Mailing.state == MailingState.QUEUEING).order_by(Mailing.id)
    mailing = db.session.scalar(pick.limit(1).with_for_update(skip_locked=True))
    if mailing is None:
        db.session.rollback()
        return 0
    chunk = current_app.config["MAILING_CHUNK"]
    recipients = (*consent.update_recipients(mailing.petition_id), Signature.id > mailing.cursor)
    ids = select(Signature.id).where(*recipients).order_by(Signature.id).limit(chunk).subquery()
    last = db.session.scalar(select(func.max(ids.c.id)))
    added = 0
    if last is not None:
        now = utcnow()
        rows = select(
            literal(int(Lane.BULK)),
            literal(NEWS),
            Signature.id,
            literal(mailing.id),
            literal(now, OUTBOX.c.created_at.type),
            literal(now, OUTBOX.c.next_attempt_at.type),
            literal(0),
        ).where(*recipients, Signature.id <= last)
        columns = ["lane", "kind", "signature_id", "mailing_id", "created_at"]
        columns += ["next_attempt_at", "attempts"]
        queued = insert(OUTBOX).from_select(columns, rows).returning(OUTBOX.c.id)
        added = len(db.session.execute(queued).all())  # rowcount is not told for INSERT … SELECT
        mailing.cursor = last
        mailing.queued_count += added
    if last is None or added < chunk:
        mailing.state = MailingState.QUEUED
        mailing.queued_at = utcnow()
    if added:
        mark_queued()
    db.session.commit()
    return added


def stop(slug: str, news_id: int, actor: Actor) -> int:
    """Stop a mailing: nothing still queued is sent. How many emails that keeps back."""
    news = news_item(slug, news_id)
    mailing = news.mailing
    if mailing is None:
        raise InvalidInput({"news": "This news has not been emailed"})
    waiting = _stop(mailing, actor)
    audit.record(
        actor, "mailing_stopped", news.petition.slug, {"title": news.title}, row_count=waiting
    )
    db.session.commit()
    return waiting


def _stop(mailing: Mailing, actor: Actor) -> int:
    """Mark a mailing stopped, in the caller's transaction; how many emails were still waiting."""
    waiting = db.session.scalar(
        select(func.count()).where(
            OUTBOX.c.mailing_id == mailing.id,
            OUTBOX.c.sent_at.is_(None),
            OUTBOX.c.failed_at.is_(None),
        )
    )
    if mailing.state != MailingState.STOPPED:
        mailing.state = MailingState.STOPPED
        mailing.stopped_at = utcnow()
        mailing.stopped_by = actor.label
    return waiting or 0


def stop_for_removed_news(news: PetitionNews, actor: Actor) -> None:
    """News taken off the page is not emailed any further (in the caller's transaction)."""
    if news.mailing is not None:
        _stop(news.mailing, actor)


def drop_stopped_chunk() -> int:
    """Delete a chunk of the emails stopped mailings still have queued; how many."""
    stopped = select(Mailing.id).where(Mailing.state == MailingState.STOPPED)
    doomed = (
        select(OUTBOX.c.id)
        .where(
            OUTBOX.c.mailing_id.in_(stopped.scalar_subquery()),
            OUTBOX.c.sent_at.is_(None),
            OUTBOX.c.failed_at.is_(None),
            OUTBOX.c.claim.is_(None),
        )
        .limit(current_app.config["MAILING_CHUNK"])
    )
    ids = db.session.scalars(doomed).all()
    if ids:
        db.session.execute(OUTBOX.delete().where(OUTBOX.c.id.in_(ids)))
    db.session.commit()
    return len(ids)


def send_test(slug: str, news_id: int, actor: Actor, address: str) -> None:
    """Email the news to one member of staff first, to see it as signers will."""
    news = news_item(slug, news_id)
    queue_email(
        NEWS,
        address,
        f"[Test] {news_subject(news.title, news.petition.title)}",
        lane=Lane.TRANSACTIONAL,  # staff are waiting for it
        test=True,
        **_content(news, news.petition),
    )
    audit.record(actor, "news_test_sent", news.petition.slug, {"title": news.title})
    db.session.commit()


@dataclass(frozen=True)
class MailingProgress:
    mailing: Mailing
    sent: int
    failed: int
    waiting: int


def progress(mailing: Mailing) -> MailingProgress:
    """How far a mailing has gone (while its outbox rows are kept)."""
    rows = db.session.execute(
        select(
            func.count(OUTBOX.c.sent_at),
            func.count(OUTBOX.c.failed_at),
            func.count().filter(OUTBOX.c.sent_at.is_(None), OUTBOX.c.failed_at.is_(None)),
        ).where(OUTBOX.c.mailing_id == mailing.id)
    ).one()
    return MailingProgress(mailing, *rows)


def news_item(slug: str, news_id: int) -> PetitionNews:
    news = db.session.scalar(
        select(PetitionNews)
        .join(PetitionNews.petition)
        .where(PetitionNews.id == news_id, Petition.slug == slug)
    )
    if news is None:
        raise NotFound(f"no news {news_id} on petition {slug!r}")
    return news


# Used by the deliverer, as each batch of campaign mail is sent.


def outgoing(rows: list[Any]) -> dict[int, Outgoing | Drop]:
    """For a batch of campaign emails: whom each goes to and what it says, or why it is not sent."""
    campaign = [r for r in rows if r.kind in KINDS and KINDS[r.kind].unsubscribe]
    if not campaign:
        return {}
    mailing_ids = {r.mailing_id for r in campaign if r.mailing_id is not None}
    contents = _mailing_contents(mailing_ids) if mailing_ids else {}
    signature_ids = {r.signature_id for r in campaign if r.signature_id is not None}
    wanting: dict[int, tuple[str, str]] = {}
    if signature_ids:
        still = select(Signature.id, Signature.email, Signature.language).where(
            Signature.id.in_(signature_ids), *consent.wanting_updates()
        )
        wanting = {id_: (email, language) for id_, email, language in db.session.execute(still)}
    prepared: dict[int, Outgoing | Drop] = {}
    for row in campaign:
        if row.signature_id is None:  # a test send to staff: as queued, with no stop link
            prepared[row.id] = Outgoing(row.to_address or "", row.subject or "", row.context or {})
            continue
        found = wanting.get(row.signature_id)
        if found is None:
            prepared[row.id] = Drop("the signer no longer wants updates")
            continue
        address, language = found
        if row.mailing_id is None:  # queued before mailings were stored by reference
            subject, context = row.subject or "", dict(row.context or {})
        elif row.mailing_id in contents:
            subject, context = contents[row.mailing_id]
        else:
            prepared[row.id] = Drop("the mailing was stopped")
            continue
        # In the language they signed in: the email's own words, the pages it links to, and
        # the news itself where staff translated it (else as written, marked English).
        context = {**context, "language": language}
        if language != "en" and context.get("petition_slug"):
            subject, context = _in_language(subject, context, language)
        prepared[row.id] = Outgoing(
            address, subject, context, unsubscribe_url(row.signature_id, language)
        )
    return prepared


def unsubscribe_url(signature_id: int, language: str = "en") -> str:
    token = stop_token(signature_id)
    return external_url("public.stop_updates_link", token=token, _language=language)


def _mailing_contents(ids: set[int]) -> dict[int, tuple[str, dict[str, Any]]]:
    """The subject and template context of each mailing still going out."""
    found = db.session.execute(
        select(Mailing.id, Mailing.subject, PetitionNews, Petition)
        .join(PetitionNews, PetitionNews.id == Mailing.news_id)
        .join(Petition, Petition.id == Mailing.petition_id)
        .where(Mailing.id.in_(ids), Mailing.state != MailingState.STOPPED)
    ).all()
    return {
        mailing_id: (subject, _content(news, petition))
        for mailing_id, subject, news, petition in found
    }


def news_subject(title: str, petition_title: str) -> str:
    """A news email's subject: the news, then the petition it is about."""
    return f"{title} – {petition_title}"[:200]


def _in_language(
    subject: str, context: dict[str, Any], language: str
) -> tuple[str, dict[str, Any]]:
    """A news email's subject and words for a signer who signed in `language`."""
    context = {
        **context,
        "petition_url": external_url(
            "public.petition", slug=context["petition_slug"], _language=language
        ),
    }
    news = context.get("translations", {}).get(language, {})
    title = context.get("petition_translations", {}).get(language, {}).get("title")
    if title:
        context["petition_title"] = title
    if news.get("title") and news.get("body"):
        context.update(title=news["title"], body=news["body"], news_language=language)
        subject = news_subject(news["title"], context["petition_title"])
    return subject, context


def _content(news: PetitionNews, petition: Petition) -> dict[str, Any]:
    return {
        "translations": news.translations or {},
        "petition_translations": petition.translations or {},
        "petition_title": petition.title,
        "petition_slug": petition.slug,
        "petition_url": external_url("public.petition", slug=petition.slug),
        "title": news.title,
        "body": news.body,
    }
