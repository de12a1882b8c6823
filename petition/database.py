"""Engine settings per database, and the few statements whose spelling differs between them."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from select import POLLIN, poll
from typing import Any, TypeVar

from flask import Flask
from sqlalchemy import Select, cast, event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import INET
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

from petition.extensions import db


def engine_options(config: dict[str, Any]) -> dict[str, Any]:
    """Pool settings that fail fast: a full pool or a dead database answers 503, not a hang."""
    url = config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 5}}
    # No pre-ping: it costs a round trip per request. A connection the server has hung up on
    # is caught more cheaply at checkout instead (see _drop_hung_up_connections).
    connect_args: dict[str, Any] = {"connect_timeout": config["DB_CONNECT_TIMEOUT"]}
    if not config["DB_PREPARE"]:
        # Behind PgBouncer in transaction pooling, a statement prepared on one server
        # connection is unknown on the next: psycopg must never prepare one.
        connect_args["prepare_threshold"] = None
    return {
        "pool_size": config["DB_POOL_SIZE"],
        "max_overflow": config["DB_MAX_OVERFLOW"],
        "pool_timeout": config["DB_POOL_TIMEOUT"],
        "pool_recycle": 1800,
        "connect_args": connect_args,
    }


def init_engine(app: Flask) -> None:
    """Tune SQLite for a web process: WAL, a busy timeout, foreign keys, immediate writes."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        _tune_sqlite(engine)
    elif engine.dialect.name == "postgresql":
        _drop_hung_up_connections(engine)


def _drop_hung_up_connections(engine: Engine) -> None:
    """Replace a pooled connection the server has closed before a request gets to use it.

    When PostgreSQL restarts, it tells every client it is going away and closes the socket, so
    an idle connection with something to read is dead. Checking costs one poll() and no round
    trip; the pool then reconnects (or answers 503 if the database is still down).
    """

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        poller = poll()
        poller.register(dbapi_connection.fileno(), POLLIN)
        if poller.poll(0):
            raise DisconnectionError("the database server closed this connection")


def _sqlite_ip_in_network(address: str | None, network: str) -> int:
    if not address:
        return 0
    try:
        return int(ipaddress.ip_address(address) in ipaddress.ip_network(network, strict=False))
    except ValueError:
        return 0


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        dbapi_connection.create_function(
            "ip_in_network", 2, _sqlite_ip_in_network, deterministic=True
        )
        # SQLite's lower() only knows ASCII; readers' names do not.
        dbapi_connection.create_function(
            "unicode_lower", 1, lambda v: v.lower() if isinstance(v, str) else v, deterministic=True
        )
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Take the write lock up front: a deferred transaction that later writes can fail with
        # "database is locked" instead of waiting its turn.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def ip_in_network(column: Any, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> Any:
    """A condition: the address in `column` lies in `network` (PostgreSQL's inet, or ours)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return cast(column, INET).op("<<=")(cast(str(network), INET))
    return func.ip_in_network(column, str(network)) == 1


def lower(column: Any) -> Any:
    """Lower-case text in the database, for every alphabet."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.lower(column)
    return func.unicode_lower(column)


def contains_folded(column: Any, text: str) -> Any:
    """`column` contains `text`, whatever the case: ILIKE on PostgreSQL (which a trigram index
    serves), lower-cased on both sides elsewhere."""
    if db.session.get_bind().dialect.name == "postgresql":
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return column.ilike(f"%{escaped}%", escape="\\")
    return lower(column).contains(text.lower(), autoescape=True)


def time_bucket(column: Any, unit: str) -> Any:
    """`column` truncated to the hour or day, as text sortable in time order."""
    if db.session.get_bind().dialect.name == "postgresql":
        pattern = "YYYY-MM-DD HH24:00" if unit == "hour" else "YYYY-MM-DD"
        return func.to_char(func.timezone("UTC", column), pattern)
    return func.strftime("%Y-%m-%d %H:00" if unit == "hour" else "%Y-%m-%d", column)


def iso_utc(column: Any) -> Any:
    """A timestamp as ISO 8601 text in UTC, formatted by the database (exports stay fast)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
    return func.strftime("%Y-%m-%dT%H:%M:%SZ", column)


def pounds_text(minor: Any) -> Any:
    """Pence as "12.50", formatted by the database."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.to_char(minor / 100.0, "FM99999999990.00")
    return func.printf("%.2f", minor / 100.0)


@dataclass
class Page:
    """One page of a longer list."""

    items: list[Any]
    total: int
    page: int
    pages: int
    more: bool = False  # more than `total` match: counting stopped there


def paginate(
    query: Select[Any],
    page: int,
    per_page: int = 50,
    count_limit: int | None = None,
    total: int | None = None,
) -> Page:
    """The `page`-th page (from 1) of an ordered query, and how many there are (`total`, when
    the caller has counted them already).

    With `count_limit`, counting stops there (a search matching millions answers at once)
    and the page says there are more.
    """
    if total is None:
        total = count_up_to(query, count_limit)
    more = count_limit is not None and total > count_limit
    if more:
        total = count_limit  # type: ignore[assignment]
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    items = db.session.scalars(query.offset((page - 1) * per_page).limit(per_page)).all()
    return Page(list(items), total, page, pages, more)


def count_up_to(query: Select[Any], limit: int | None = None) -> int:
    """How many rows `query` finds, counting no further than one past `limit`."""
    counted = query.order_by(None)
    if limit is not None:
        counted = counted.limit(limit + 1)
    return db.session.scalar(select(func.count()).select_from(counted.subquery())) or 0


Loaded = TypeVar("Loaded")


def read_alone(load: Callable[[], Loaded]) -> Loaded:
    """Run a read through the session and end the transaction it began, if it began one.

    For cached loaders, which run in the middle of whatever request finds the cache stale: the
    request goes on with no transaction open (none idling on a pooled connection, and a sign
    request's insert still takes its one-statement path). A caller's own transaction is left
    as it was.
    """
    began = not db.session().in_transaction()
    try:
        return load()
    finally:
        if began:
            db.session.rollback()


def execute_alone(statement: Any, params: dict[str, Any] | None = None) -> int:
    """Run one statement as a transaction of its own; how many rows it changed.

    On PostgreSQL it runs in autocommit on a pooled connection: one round trip, where BEGIN,
    the statement and COMMIT take three. Only for a statement that needs nothing else in its
    transaction, from code whose session holds no uncommitted work.
    """
    if db.engine.dialect.name != "postgresql":
        changed = db.session.execute(statement, params).rowcount
        db.session.commit()
        return changed
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        return connection.execute(statement, params).rowcount


def dialect_insert(table: Any) -> Any:
    """An INSERT that knows `ON CONFLICT` on both PostgreSQL and SQLite."""
    if db.session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def add_to_tally(model: Any, key: dict[str, Any], column: str, n: int) -> None:
    """Add `n` to `column` of the row identified by `key`, creating the row if it is missing.

    One statement, so concurrent adders never lose each other's counts.
    """
    insert = dialect_insert(model).values(**key, **{column: n})
    db.session.execute(
        insert.on_conflict_do_update(
            index_elements=list(key), set_={column: getattr(model, column) + n}
        )
    )


def for_this_database(obj: Any, name: Any, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic's include_object: leave out what the models make on another database only
    (marked `info={"only_on": "postgresql"}`, made with `.ddl_if(dialect=…)`)."""
    only_on = getattr(obj, "info", {}).get("only_on")
    return only_on is None or only_on == db.session.get_bind().dialect.name
