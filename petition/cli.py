"""Operator commands: `flask --app app seed | worker | recount | verify-digests | …` (and
`db …` from Flask-Migrate)."""

from __future__ import annotations

import getpass
import os
import signal
import sys
import threading
import time
from typing import TextIO

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import OperationalError

from petition.extensions import db
from petition.mail import bounces, sent_log
from petition.models import Role, SignatureState
from petition.services import (
    accounts,
    counting,
    digests,
    exports,
    partners,
    privacy,
    retention,
    two_factor,
)
from petition.services.audit import Actor
from petition.services.errors import InvalidInput, NotFound
from petition.services.exports import ExportFilter
from petition.services.seed import seed

# A notification carries the headers of what bounced, sometimes the whole message: ours are
# tens of kilobytes.
MAX_BOUNCE_BYTES = 1024 * 1024
EX_TEMPFAIL = 75  # sysexits.h: the mail server tries the delivery again later


def register_commands(app: Flask) -> None:
    for command in (
        seed_command,
        worker_command,
        recount_command,
        verify_digests_command,
        create_admin_command,
        reset_two_factor_command,
        export_command,
        purge_command,
        erase_again_command,
        mark_sent_command,
        dkim_record_command,
        bounce_command,
        partner_group,
    ):
        app.cli.add_command(command)


@click.command("seed")
@with_appcontext
def seed_command() -> None:
    """Create the Refugees Welcome campaign and its petition if they are missing."""
    click.echo(f"Seed: {seed()}.")


@click.command("worker")
@with_appcontext
@click.option("--once", is_flag=True, help="Run one round of every job, then exit.")
def worker_command(once: bool) -> None:
    """Deliver queued mail, refresh counts and apply retention, until stopped."""
    from petition.worker import Worker

    worker = Worker(current_app._get_current_object())  # type: ignore[attr-defined]
    if once:
        done = worker.run_once()
        click.echo(
            f"Sent {done.mail_sent} email(s), deferred {done.mail_deferred}, "
            f"folded {done.counts_folded} count change(s)."
        )
        return
    # Web requests come first on a shared host: mail and counts can wait a moment.
    os.nice(current_app.config["WORKER_NICENESS"])
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    click.echo("Worker running: mail outbox and counts. Ctrl+C to stop.")
    worker.run(stop)
    click.echo("Worker stopped.")


@click.command("recount")
@with_appcontext
@click.argument("slug", required=False)
def recount_command(slug: str | None) -> None:
    """Recompute stored counts from the signatures themselves (all petitions, or SLUG)."""
    try:
        results = counting.recount(slug)
    except NotFound as exc:
        raise click.ClickException(str(exc)) from None
    for result in results:
        if result.changed:
            click.echo(f"{result.slug}: corrected {result.before} -> {result.after}")
        else:
            click.echo(
                f"{result.slug}: counts already right ({result.after['confirmed_count']} confirmed)"
            )


@click.command("verify-digests")
@with_appcontext
def verify_digests_command() -> None:
    """Recompute every published digest from the database and compare the chain with the
    signatures counted now; exits 1 and names each digest broken if anything differs."""
    result = digests.verify()
    for problem in result.problems:
        click.echo(f"MISMATCH {problem}", err=True)
    if result.problems:
        raise SystemExit(1)
    click.echo(
        f"{result.digests} digest(s) recomputed, {result.receipts} counted receipt(s): "
        "everything matches."
    )


@click.command("create-admin")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default=Role.ADMIN.value,
    show_default=True,
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def create_admin_command(email: str, role: str, password_stdin: bool) -> None:
    """Create an admin account, or reset the password and role of an existing one."""
    try:
        accounts.admin_address(email)  # before asking for a password, not after
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = click.prompt(
                "Password", hide_input=True, confirmation_prompt=True, value_proc=_new_password
            )
        user, created = accounts.save_admin(email, password, Role(role))
    except InvalidInput as exc:
        raise click.ClickException(" ".join(exc.errors.values())) from None
    click.echo(f"{'Created' if created else 'Updated'} {user.role.value} {user.email}.")


def _new_password(password: str) -> str:
    """At the prompt, a password that will not do is asked for again."""
    problem = accounts.password_problem(password)
    if problem:
        raise click.BadParameter(problem)
    return password


@click.command("reset-two-factor")
@click.argument("email")
@with_appcontext
def reset_two_factor_command(email: str) -> None:
    """Turn off two-step verification for an admin who lost their authenticator (audited)."""
    if not two_factor.reset(email):
        raise click.ClickException(f"No admin {email} with two-step verification.")
    click.echo(f"Two-step verification is off for {email}; they sign in with their password.")


@click.command("export-signatures")
@click.argument("slug")
@click.option(
    "--state",
    type=click.Choice([*(s.value for s in SignatureState), "all"]),
    default="confirmed",
    show_default=True,
)
@click.option(
    "--consent", type=click.Choice(["any", "yes", "no"]), default="any", show_default=True
)
@click.option(
    "--layout",
    type=click.Choice(exports.LAYOUTS),
    default="ours",
    show_default=True,
    help="action_network: its column names, and only those who agreed to updates.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="File to write (default: standard output).",
)
@with_appcontext
def export_command(slug: str, state: str, consent: str, layout: str, output: str | None) -> None:
    """Export a petition's signatures as CSV (audited, like exports from the admin)."""
    f = ExportFilter(
        state=None if state == "all" else SignatureState(state),
        consent={"yes": True, "no": False}.get(consent),
        layout=layout,
    )
    who = _operator()
    try:
        export = exports.start_export(slug, f, who)
    except NotFound as exc:
        raise click.ClickException(str(exc)) from None
    started = time.perf_counter()
    stream = open(output, "wb") if output else sys.stdout.buffer  # noqa: SIM115
    try:
        for chunk in export.chunks():
            stream.write(chunk)
    finally:
        if output:
            stream.close()
    seconds = time.perf_counter() - started
    if output:
        click.echo(
            f"Wrote {export.rows} signature(s) to {output} in {seconds:.2f} s "
            f"({export.rows / max(seconds, 1e-9):,.0f} rows/s).",
            err=True,
        )


@click.command("purge")
@with_appcontext
def purge_command() -> None:
    """Apply retention now: old unconfirmed signatures, old IP addresses, old mail records."""
    click.echo(f"Purge: {retention.purge(actor=Actor('command line'))}.")


@click.command("erase-again")
@with_appcontext
@click.argument("logs", nargs=-1, type=click.File("r", errors="replace"))
def erase_again_command(logs: tuple[TextIO, ...]) -> None:
    """After restoring a backup: erase again everyone the logs (files, or stdin) say was
    erased; give it the app's logs since the backup was made."""
    people = privacy.erased_in_log(line for log in logs or (sys.stdin,) for line in log)
    erased = privacy.erase_again(people)
    click.echo(
        f"{len(people)} erasure(s) in the log; {erased} signature(s) brought back by the "
        "restore erased again."
    )


@click.command("mark-sent")
@with_appcontext
@click.argument("logs", nargs=-1, type=click.File("r", errors="replace"))
def mark_sent_command(logs: tuple[TextIO, ...]) -> None:
    """After restoring a backup: mark sent the mail the logs (files, or stdin) say went out,
    so nobody gets it twice; give it the app's logs since the backup was made."""
    sent = sent_log.sent_in_log(line for log in logs or (sys.stdin,) for line in log)
    marked = sent_log.mark_sent(sent)
    click.echo(
        f"{len(sent)} sent message(s) in the log; {marked} brought back unsent by the restore "
        "marked sent."
    )


@click.command("dkim-record")
@with_appcontext
def dkim_record_command() -> None:
    """The DNS record that lets mailbox providers check our DKIM signatures."""
    key = current_app.extensions["dkim"]
    if key is None:
        raise click.ClickException(
            "Mail is not signed here: set MAIL_DKIM_KEY_FILE and MAIL_DKIM_SELECTOR first."
        )
    name, text = key.dns_record()
    # A TXT record's strings hold 255 characters each; a 2048-bit key needs two.
    strings = " ".join(f'"{text[i : i + 255]}"' for i in range(0, len(text), 255))
    click.echo(f"{name}. IN TXT {strings}")
    click.echo(
        f"Publish it in the DNS of {key.domain}; mail is signed from now on, and checks out "
        "once the record is there.",
        err=True,
    )


@click.command("bounce")
@click.option("--recipient", help="The address it was delivered to (Postfix: ${recipient}).")
@with_appcontext
def bounce_command(recipient: str | None) -> None:
    """Read a message sent back to MAIL_BOUNCE_ADDRESS on standard input, and suppress the
    address it says failed for good. For a mail server's pipe: a message that is not ours is
    left alone (exit 0, nothing to bounce again); a database that is down is exit 75, so the
    mail server keeps the message and tries again."""
    if not current_app.config["MAIL_BOUNCE_ADDRESS"]:
        raise click.ClickException("MAIL_BOUNCE_ADDRESS is not set: no bounces come back here.")
    raw = sys.stdin.buffer.read(MAX_BOUNCE_BYTES)
    try:
        done = bounces.take(raw, recipient)
    except OperationalError as exc:
        db.session.rollback()
        click.echo(f"Bounce not read, the database is unavailable: {exc.orig}", err=True)
        sys.exit(EX_TEMPFAIL)
    for line in done:
        click.echo(line)


def _operator() -> Actor:
    return Actor(f"command line ({getpass.getuser()})")


def _refused(exc: InvalidInput | NotFound) -> click.ClickException:
    message = " ".join(exc.errors.values()) if isinstance(exc, InvalidInput) else str(exc)
    return click.ClickException(message)


@click.group("partner")
def partner_group() -> None:
    """Partners: organisations with API keys, their own opt-in question and webhooks."""


@partner_group.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="The partner's name, as signers see it.")
@click.option("--website", default="", help="Its website, https://…")
@click.option("--question", help="Its own opt-in question, shown to signers beside ours.")
@with_appcontext
def partner_create_command(slug: str, name: str, website: str, question: str | None) -> None:
    """Add a partner (audited)."""
    try:
        partner = partners.create(slug, name, _operator(), website=website, question=question)
    except (InvalidInput, NotFound) as exc:
        raise _refused(exc) from None
    asks = "asks its own question" if partner.asks_opt_in else "asks no question of its own"
    click.echo(f"Created partner {partner.slug} ({partner.name}); it {asks}.")


@partner_group.command("question")
@click.argument("slug")
@click.argument("words", required=False)
@with_appcontext
def partner_question_command(slug: str, words: str | None) -> None:
    """Ask signers the partner's own question in WORDS (none: ask nothing), audited."""
    try:
        partner = partners.set_question(slug, words, _operator())
    except (InvalidInput, NotFound) as exc:
        raise _refused(exc) from None
    if partner.question:
        click.echo(f"{partner.name} asks: {partner.question.text}")
    else:
        click.echo(f"{partner.name} asks nothing of its own.")


@partner_group.command("key")
@click.argument("slug")
@click.option("--write", is_flag=True, help="The key may also record signatures.")
@click.option(
    "--trusted",
    is_flag=True,
    help="Signatures it records count as confirmed, with no email from us (audited).",
)
@with_appcontext
def partner_key_command(slug: str, write: bool, trusted: bool) -> None:
    """Make a new API key for a partner and print it, this once."""
    try:
        new = partners.issue_key(slug, _operator(), can_write=write, trusted=trusted)
    except (InvalidInput, NotFound) as exc:
        raise _refused(exc) from None
    scope = "read and write" if new.can_write else "read only"
    click.echo(new.key)
    click.echo(
        f"A {scope}{', trusted' if new.trusted else ''} key for {slug}, shown only now: "
        f"give it to the partner safely. Revoke it with `partner revoke-key {new.prefix}`.",
        err=True,
    )


@partner_group.command("revoke-key")
@click.argument("prefix")
@with_appcontext
def partner_revoke_key_command(prefix: str) -> None:
    """Stop a key working at once (by the first characters it is listed by)."""
    try:
        key = partners.revoke_key(prefix, _operator())
    except NotFound as exc:
        raise _refused(exc) from None
    click.echo(f"Revoked {prefix} of {key.partner.slug}.")


@partner_group.command("webhook")
@click.argument("slug")
@click.argument("url")
@with_appcontext
def partner_webhook_command(slug: str, url: str) -> None:
    """Send a partner's events to URL; prints the secret they are signed with."""
    try:
        endpoint, secret = partners.add_webhook(slug, url, _operator())
    except (InvalidInput, NotFound) as exc:
        raise _refused(exc) from None
    click.echo(secret)
    click.echo(f"Events for {slug} go to {endpoint.url}, signed with the secret above.", err=True)


@partner_group.command("list")
@with_appcontext
def partner_list_command() -> None:
    """Every partner, with its keys in use."""
    for partner in partners.all_partners():
        keys = [k for k in partner.keys if k.revoked_at is None]
        described = ", ".join(
            f"{k.prefix} ({'write' if k.can_write else 'read'}{', trusted' if k.trusted else ''})"
            for k in keys
        )
        click.echo(f"{partner.slug}\t{partner.name}\tkeys: {described or 'none'}")
