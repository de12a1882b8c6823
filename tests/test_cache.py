"""The per-process read cache: stale values are refreshed by one thread, not by all at once."""

from __future__ import annotations

import gc
import importlib.util
import threading
import time
from types import SimpleNamespace

from petition.cache import Cache
from tests.processes import ROOT


def test_a_stale_value_is_refreshed_by_one_thread_while_the_others_answer_with_it():
    cache = Cache()
    assert cache.get("k", 0.01, lambda: "old") == "old"
    time.sleep(0.02)
    loading, release = threading.Event(), threading.Event()
    loads = []

    def slow_load() -> str:
        loads.append(threading.current_thread().name)
        loading.set()
        release.wait(5)
        return "new"

    refresher = threading.Thread(target=lambda: cache.get("k", 60, slow_load), name="refresher")
    refresher.start()
    assert loading.wait(5)
    # Meanwhile every other thread gets the old value at once, without a query of its own.
    answers = []
    others = [
        threading.Thread(target=lambda: answers.append(cache.get("k", 60, slow_load)))
        for _ in range(8)
    ]
    for thread in others:
        thread.start()
    for thread in others:
        thread.join(5)
    assert answers == ["old"] * 8
    release.set()
    refresher.join(5)
    assert loads == ["refresher"]
    assert cache.get("k", 60, slow_load) == "new"


def test_a_failed_refresh_lets_the_next_reader_try_again():
    cache = Cache()
    cache.get("k", 0.01, lambda: "old")
    time.sleep(0.02)

    def broken() -> str:
        raise RuntimeError("database down")

    try:
        cache.get("k", 60, broken)
    except RuntimeError:
        pass
    assert cache.get("k", 60, lambda: "new") == "new"


def test_a_missing_value_is_loaded_by_whoever_asks():
    cache = Cache()
    assert cache.get("k", 60, lambda: 1) == 1
    cache.delete("k")
    assert cache.get("k", 60, lambda: 2) == 2


def test_gunicorn_workers_freeze_the_loaded_app_out_of_the_collectors_sight(
    app, monkeypatch, tmp_path
):
    """A full collection over the app's own objects takes ~100 ms on a small machine, holding
    every thread of the worker; frozen, it walks only what requests made. The templates are
    compiled first, so a new worker's first readers do not wait for them."""
    # Loading the config sets up a metrics folder in the environment: keep it to this test.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    spec = importlib.util.spec_from_file_location("gunicorn_conf", ROOT / "gunicorn.conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    assert "public/integrity.html" not in [t for (_, t) in app.jinja_env.cache.keys()]
    try:
        conf.post_worker_init(SimpleNamespace(wsgi=app))
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    compiled = [name for (_, name) in app.jinja_env.cache.keys()]
    assert "public/integrity.html" in compiled and "emails/receipt.txt" in compiled
