"""Figures for staff that read many signatures (who wants updates, where signatures came from,
each story's funnel): worked out by the worker every few minutes and kept, so the dashboard
answers at once at any scale and says how old each figure is."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update

from petition.database import dialect_insert
from petition.extensions import db
from petition.models import Figure, utcnow

# How old a figure may get before the worker works it out again.
MAX_AGE = timedelta(minutes=5)
# How long a worker holds a figure it is working out (then another may take it over).
CLAIM = timedelta(minutes=10)

_computations: dict[str, Callable[..., Any]] = {}
# Functions naming the figures staff pages will ask for (e.g. each petition's), so the worker
# works them out before anyone asks, however big the tables are.
_standing: list[Callable[[], Iterable[tuple[str, tuple[int, ...]]]]] = []


def figure(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register how a figure is worked out (its arguments go into its key)."""

    def register(compute: Callable[..., Any]) -> Callable[..., Any]:
        _computations[name] = compute
        return compute

    return register


def standing(
    keys: Callable[[], Iterable[tuple[str, tuple[int, ...]]]],
) -> Callable[[], Iterable[tuple[str, tuple[int, ...]]]]:
    """Register a function naming figures the worker keeps ready: (name, arguments) pairs."""
    _standing.append(keys)
    return keys


@dataclass(frozen=True)
class Stored:
    value: Any
    computed_at: datetime

    @property
    def age(self) -> timedelta:
        return utcnow() - self.computed_at


def get(name: str, *args: int) -> Stored:
    """The figure as last worked out (worked out now if it never was)."""
    key = _key(name, args)
    found = db.session.get(Figure, key)
    if found is not None:
        return Stored(found.value, found.computed_at)
    return _compute(key, name, args)


def refresh_due(now: datetime | None = None) -> int:
    """Work out every standing figure never worked out, and again every figure older than
    MAX_AGE that no other worker holds (the worker's job); how many it worked out."""
    now = now or utcnow()
    known = set(db.session.scalars(select(Figure.key)))
    stale = db.session.scalars(
        select(Figure.key).where(Figure.computed_at < now - MAX_AGE).order_by(Figure.key)
    ).all()
    db.session.rollback()
    done = 0
    for keys in _standing:
        for name, args in keys():
            if (key := _key(name, args)) not in known:
                _compute(key, name, args)
                done += 1
    for key in stale:
        name, _, rest = key.partition(":")
        if name in _computations and _claim(key, now):
            _compute(key, name, tuple(int(a) for a in rest.split(",") if a))
            done += 1
    return done


def _claim(key: str, now: datetime) -> bool:
    claimed = db.session.execute(
        update(Figure)
        .where(
            Figure.key == key,
            Figure.computed_at < now - MAX_AGE,
            or_(Figure.claimed_until.is_(None), Figure.claimed_until < now),
        )
        .values(claimed_until=now + CLAIM)
    ).rowcount
    db.session.commit()
    return claimed == 1


def _key(name: str, args: tuple[int, ...]) -> str:
    return f"{name}:{','.join(str(a) for a in args)}"


def _compute(key: str, name: str, args: tuple[int, ...]) -> Stored:
    value = _computations[name](*args)
    now = utcnow()
    db.session.execute(
        dialect_insert(Figure)
        .values(key=key, value=value, computed_at=now)
        .on_conflict_do_update(
            index_elements=["key"], set_={"value": value, "computed_at": now, "claimed_until": None}
        )
    )
    db.session.commit()
    return Stored(value, now)
