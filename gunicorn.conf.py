"""Gunicorn settings for production (read automatically from the working directory).

Threads overlap the waits on PostgreSQL; processes use the cores. Size the database pool
(DB_POOL_SIZE + DB_MAX_OVERFLOW) to at least `threads`, and keep
`workers × (pool size + overflow)` below PostgreSQL's max_connections.
"""

import multiprocessing
import os
import shutil
import tempfile

# Metrics from every worker process, added up at each scrape (prometheus-client's multiprocess
# mode): a fresh folder per server start, unless the operator names one.
METRICS_DIR_OURS = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if METRICS_DIR_OURS:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="petition-metrics-")

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
worker_class = "gthread"
# Two threads: enough to overlap a nearby database's waits; more only queue for the interpreter
# lock (measured: four doubled signing's p99 on two cores). Raise it for a distant database.
threads = int(os.environ.get("GUNICORN_THREADS", 2))
# A request that takes longer than this is killed; readers see a quick error, not a hang.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 20
keepalive = 5
# Bound the queue of connections waiting for a thread, so overload answers fast.
backlog = int(os.environ.get("GUNICORN_BACKLOG", 256))
max_requests = 20_000
max_requests_jitter = 2_000
accesslog = os.environ.get("ACCESS_LOG") or None
errorlog = "-"


def post_fork(server, worker):
    """A worker checks the settings before it loads the app. A missing or unsafe one stops
    gunicorn with its message ("App failed to load"); the app's own refusal would only end the
    worker, and gunicorn would start another, once a second, for as long as nobody looked."""
    from gunicorn.errors import AppImportError

    from petition.config import check_settings

    try:
        check_settings()
    except SystemExit as refusal:
        raise AppImportError(str(refusal)) from None


def post_worker_init(worker):
    """Compile the templates before the first request, then move everything loaded so far (the
    app, its libraries, the templates) out of the garbage collector's sight: its full
    collections then walk only what requests create, so they stay short."""
    import gc

    if hasattr(worker.wsgi, "jinja_env"):
        from petition.templating import compile_templates

        compile_templates(worker.wsgi)
    gc.freeze()


def worker_exit(server, worker):
    """A worker stopping lets the mail worker it runs, if any (EMBEDDED_WORKER), finish the
    message it is sending, and writes the article views it counted and has not written yet."""
    from petition.services.article_stats import flush_every_app

    # A worker whose app failed to load has none.
    app = getattr(worker, "wsgi", None)
    embedded = getattr(app, "extensions", {}).get("petition_worker")
    if embedded is not None:
        embedded.shutdown()
    flush_every_app()


def child_exit(server, worker):
    """A worker gone (restarted after max_requests, or killed): its gauges stop counting."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if METRICS_DIR_OURS:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
