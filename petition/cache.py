"""A small read cache: per process, over Redis when REDIS_URL is set (shared by every host)."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from cachetools import LRUCache
from flask import Flask

log = logging.getLogger(__name__)


# Entries kept per process at most (the least recently used go first): petitions, pages'
# parts, counts. Plenty for every real key; a flood of made-up ones cannot grow it.
MAX_ENTRIES = 1000


class Cache:
    """Values are JSON-able; a Redis fault never fails a read, it only costs a database query.

    Nothing is stored for a key whose loader found nothing (an unknown petition, say): made-up
    addresses cost a query each, never memory.
    """

    def __init__(self) -> None:
        self._local: LRUCache[str, tuple[float, Any]] = LRUCache(maxsize=MAX_ENTRIES)
        self._redis: redis.Redis | None = None
        self._redis_down_until = 0.0
        self._lock = threading.Lock()
        self._refreshing: set[str] = set()

    def init_app(self, app: Flask) -> None:
        self._local.clear()
        url = app.config.get("REDIS_URL")
        self._redis = (
            redis.Redis.from_url(url, socket_timeout=0.25, socket_connect_timeout=0.25)
            if url
            else None
        )
        app.extensions["petition_cache"] = self

    def get(self, key: str, ttl: float, load: Callable[[], Any]) -> Any:
        """The cached value of `key`, loading and storing it when missing or older than `ttl`.

        When a value goes stale, one thread of the process refreshes it while the others go on
        answering with the old one for those few milliseconds, rather than all of them running
        the same queries at once just as the process is busiest.
        """
        now = time.monotonic()
        with self._lock:
            hit = self._local.get(key)
        if hit and hit[0] > now:
            return hit[1]
        if hit and not self._claim(key):
            return hit[1]
        try:
            value = self._shared_get(key)
            if value is None:
                value = load()
                if value is None:
                    return None
                self._shared_set(key, value, ttl * 2)
            with self._lock:
                self._local[key] = (now + ttl, value)
            return value
        finally:
            if hit:
                self._refreshing.discard(key)

    def __len__(self) -> int:
        return len(self._local)

    def _claim(self, key: str) -> bool:
        """Whether this thread is the one to refresh `key` (no other is doing it)."""
        with self._lock:
            if key in self._refreshing:
                return False
            self._refreshing.add(key)
            return True

    def delete(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._local.pop(key, None)
        if self._usable():
            try:
                self._redis.delete(*keys)  # type: ignore[union-attr]
            except redis.RedisError as exc:
                self._mark_down(exc)

    def clear_local(self) -> None:
        with self._lock:
            self._local.clear()

    def _usable(self) -> bool:
        return self._redis is not None and time.monotonic() >= self._redis_down_until

    def _shared_get(self, key: str) -> Any:
        if not self._usable():
            return None
        try:
            raw = self._redis.get(key)  # type: ignore[union-attr]
        except redis.RedisError as exc:
            self._mark_down(exc)
            return None
        return None if raw is None else json.loads(raw)

    def _shared_set(self, key: str, value: Any, ttl: float) -> None:
        if not self._usable():
            return
        try:
            self._redis.set(key, json.dumps(value), px=int(ttl * 1000))  # type: ignore[union-attr]
        except redis.RedisError as exc:
            self._mark_down(exc)

    def _mark_down(self, exc: Exception) -> None:
        # Back off for a few seconds so a dead Redis does not add a timeout to every request.
        with self._lock:
            if time.monotonic() >= self._redis_down_until:
                log.warning("Redis unavailable, reading counts from the database: %s", exc)
            self._redis_down_until = time.monotonic() + 5.0
