"""Signature exports: streamed row by row (flat memory at any size), safe to open in Excel."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import String, case, func, literal, select, type_coerce, update

from petition.database import iso_utc
from petition.extensions import db
from petition.models import AuditLog, ConsentWording, Petition, Signature, SignatureState
from petition.services import audit, consent
from petition.services.audit import Actor
from petition.services.errors import InvalidInput, NotFound
from petition.services.moderation import SignatureFilter, conditions
from petition.services.names import FORMULA_STARTS, given_and_family

HEADER = (
    "name",
    "email",
    "postcode",
    "country",
    "state",
    "consent_to_updates",
    "consent_version",
    "signed_at",
    "confirmed_at",
    "source",
    "language",
)
# Action Network's own field names, so its upload matches the columns by itself; it takes
# only people who agreed to hear from the uploader (its 100% opt-in policy).
ACTION_NETWORK_HEADER = (
    "first_name",
    "last_name",
    "email",
    "zip_code",
    "country",
    "language",
    "signed_at",
    "confirmed_at",
)
LAYOUTS = ("ours", "action_network")
CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class ExportFilter:
    state: SignatureState | None = SignatureState.CONFIRMED  # None: every state
    consent: bool | None = None  # None: either
    since: datetime | None = None
    until: datetime | None = None
    # "ours", or "action_network" (whose layout is for people who agreed to updates only).
    layout: str = "ours"

    def describe(self) -> dict[str, str]:
        values = asdict(self)
        values["state"] = self.state.value if self.state else "all"
        values["consent"] = {None: "any", True: "yes", False: "no"}[self.consent]
        return {
            k: (v.isoformat() if isinstance(v, datetime) else str(v))
            for k, v in values.items()
            if v is not None
        }


def neutralise(value: str) -> str:
    """Prefix a would-be formula with an apostrophe so spreadsheets show it as text."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def neutralised(column: Any) -> Any:
    """The same rule, applied by the database: text that cannot run as a formula."""
    text = func.coalesce(type_coerce(column, String), "")
    return case((func.substr(text, 1, 1).in_(FORMULA_STARTS), literal("'") + text), else_=text)


BOM = "\ufeff".encode()


@dataclass
class Export:
    """A started export: its file name, and its rows as CSV text in chunks."""

    filename: str
    audit_id: int
    query: Any
    header: tuple[str, ...] = HEADER
    rows: int = 0
    # Rows reshaped in Python on their way out (then written by the csv module, not COPY).
    transform: Callable[[Any], Any] | None = None

    def chunks(self) -> Iterator[bytes]:
        """Stream the CSV as UTF-8; the audit row learns how many rows went out at the end."""
        # End the session's transaction first: the rows come through a connection of their own.
        db.session.close()
        with db.engine.connect() as connection:
            if connection.dialect.name == "postgresql" and self.transform is None:
                yield from self._copy(connection)
            else:
                yield from self._write(connection)
        db.session.execute(
            update(AuditLog).where(AuditLog.id == self.audit_id).values(row_count=self.rows)
        )
        db.session.commit()

    def _copy(self, connection: Any) -> Iterator[bytes]:
        """PostgreSQL writes the CSV itself (COPY), from the same query: as fast as it gets."""
        compiled = self.query.compile(
            dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
        )
        statement = f"COPY ({compiled}) TO STDOUT WITH (FORMAT csv, FORCE_QUOTE *)"
        buffer = bytearray(self._header())
        with connection.connection.driver_connection.cursor() as cursor:
            with cursor.copy(statement, compiled.params) as copy:
                for data in copy:
                    buffer += data
                    if len(buffer) >= CHUNK_BYTES:
                        yield bytes(buffer)
                        buffer.clear()
            self.rows = cursor.rowcount
        yield bytes(buffer)

    def _write(self, connection: Any) -> Iterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
        buffer.write(self._header().decode())
        result = connection.execution_options(stream_results=True, yield_per=5000).execute(
            self.query
        )
        for partition in result.partitions():
            writer.writerows(map(self.transform, partition) if self.transform else partition)
            self.rows += len(partition)
            if buffer.tell() >= CHUNK_BYTES:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode()

    def _header(self) -> bytes:
        # The byte-order mark tells Excel the file is UTF-8: without it, a double-click shows
        # Cyrillic and accented names as mojibake.
        return BOM + (",".join(f'"{name}"' for name in self.header) + "\n").encode()


def start_export(slug: str, f: ExportFilter, actor: Actor) -> Export:
    """Audit the export (before a single row leaves) and prepare its query."""
    petition = db.session.scalar(select(Petition).where(Petition.slug == slug))
    if petition is None:
        raise NotFound(f"no petition {slug!r}")
    if f.layout not in LAYOUTS:
        raise InvalidInput({"layout": f"Choose one of {', '.join(LAYOUTS)}"})
    action_network = f.layout == "action_network"
    if action_network:
        f = replace(f, consent=True)  # Action Network takes opted-in people only
    query = (_action_network_rows() if action_network else _rows()).where(
        Signature.petition_id == petition.id
    )
    if f.state is not None:
        query = query.where(Signature.state == f.state)
    if f.consent is not None:
        wants = consent.signer_wants_updates()
        query = query.where(wants if f.consent else ~wants)
    if f.since:
        query = query.where(Signature.created_at >= f.since)
    if f.until:
        query = query.where(Signature.created_at < f.until)
    entry = audit.record(actor, "export", slug, {"filters": f.describe()})
    db.session.flush()
    audit_id, stamp = entry.id, entry.at.strftime("%Y%m%d-%H%M")
    db.session.commit()
    state = f.state.value if f.state else "all"
    if action_network:
        return Export(
            filename=f"{slug}-{state}-action-network-{stamp}.csv",
            audit_id=audit_id,
            query=query,
            header=ACTION_NETWORK_HEADER,
            transform=_split_name,
        )
    return Export(filename=f"{slug}-{state}-signatures-{stamp}.csv", audit_id=audit_id, query=query)


def start_search_export(f: SignatureFilter, actor: Actor) -> Export:
    """Export exactly the signatures a staff search finds (the same filters, the same rows),
    audited with those filters before a single row leaves."""
    if f.is_empty():
        raise InvalidInput({"filters": "Search for something before exporting what it finds"})
    query = _rows().where(*conditions(f))
    target = f.petition or "all petitions"
    entry = audit.record(actor, "export", target, {"filters": f.describe(), "from": "search"})
    db.session.flush()
    audit_id, stamp = entry.id, entry.at.strftime("%Y%m%d-%H%M")
    db.session.commit()
    return Export(filename=f"signature-search-{stamp}.csv", audit_id=audit_id, query=query)


def _rows() -> Any:
    """The export's columns, in signature order."""
    # Every cell is text made by the database, so rows go straight from the cursor to the
    # csv writer's C loop: several hundred thousand rows a second.
    return (
        select(
            neutralised(Signature.name),
            neutralised(Signature.email),
            neutralised(Signature.postcode),
            type_coerce(Signature.country, String),
            type_coerce(Signature.state, String),
            case((consent.signer_wants_updates(), "yes"), else_="no"),
            func.coalesce(ConsentWording.version, ""),
            func.coalesce(iso_utc(Signature.created_at), ""),
            func.coalesce(iso_utc(Signature.confirmed_at), ""),
            neutralised(Signature.source),
            Signature.language,
        )
        .outerjoin(ConsentWording, ConsentWording.id == Signature.consent_wording_id)
        .order_by(Signature.id)
    )


def _action_network_rows() -> Any:
    """The Action Network layout's columns, but the name whole (split on its way out)."""
    return select(
        func.coalesce(Signature.name, ""),
        neutralised(Signature.email),
        neutralised(Signature.postcode),
        type_coerce(Signature.country, String),
        Signature.language,
        func.coalesce(iso_utc(Signature.created_at), ""),
        func.coalesce(iso_utc(Signature.confirmed_at), ""),
    ).order_by(Signature.id)


def _split_name(row: Any) -> tuple[str, ...]:
    """ "Olena Kovalenko" → "Olena", "Kovalenko": the last word is the family name (one word
    is a first name alone); each part kept from running as a spreadsheet formula."""
    name, *rest = row
    given, family = given_and_family(name)
    return (neutralise(given), neutralise(family), *rest)
