"""Operator commands: `flask --app app seed | worker | recount` (and `db …` from Flask-Migrate)."""

from __future__ import annotations

import signal
import threading

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from petition.services import counting
from petition.services.errors import NotFound
from petition.services.seed import seed


def register_commands(app: Flask) -> None:
    app.cli.add_command(seed_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(recount_command)


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
