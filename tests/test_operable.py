"""Running it in production: metrics, JSON logs without personal data, worker health, safe
defaults, bounded caches, key rotation, PgBouncer, and nginx in front of slow clients."""

from __future__ import annotations

import http.client
import json
import logging
import re
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from petition.extensions import cache, db
from petition.models import ArticleDailyViews, Signature, SignatureState
from petition.services import privacy
from tests.conftest import TEST_DATABASE_URL
from tests.factories import SLUG, form_token, links_in, send_all_mail, sign, signer
from tests.parts import eventually, postgres_database, require_part, start_mailbox, text_of
from tests.processes import (
    BROTLI_MODULE,
    ROOT,
    WORKER,
    Gunicorn,
    Nginx,
    PgBouncer,
    background,
    prepare_database,
    production_env,
    production_settings,
)

TOKEN = "a-metrics-token-long-enough-for-production"


def get(url: str, headers: dict[str, str] | None = None, timeout: float = 10) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003
        return None


def post(url: str, fields: dict[str, str], origin: str) -> int:
    data = urllib.parse.urlencode(fields).encode()
    request = urllib.request.Request(url, data=data, headers={"Origin": origin})
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def sign_at(base: str, email: str, token: str) -> int:
    return post(f"{base}/petitions/{SLUG}/sign", {**signer(email=email), "form_token": token}, base)


def page_token(base: str) -> str:
    page = urllib.request.urlopen(f"{base}/petitions/{SLUG}", timeout=10).read().decode()
    return re.search(r'name="form_token" value="([^"]+)"', page).group(1)


@pytest.fixture
def database():
    require_part("PostgreSQL", TEST_DATABASE_URL)
    with postgres_database(TEST_DATABASE_URL, f"petition_ops_{uuid.uuid4().hex[:12]}") as url:
        yield url


def metric(text: str, name: str, **labels: str) -> float:
    """A sample's value from Prometheus text format (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = rf"^{re.escape(name)}(?:\{{([^}}]*)\}})? (\S+)$"
    total = 0.0
    for match in re.finditer(pattern, text, re.M):
        if all(part in (match.group(1) or "") for part in wanted.split(",") if part):
            total += float(match.group(2))
    return total


@pytest.mark.postgres
def test_metrics_move_while_readers_sign_and_need_the_token(database):
    env = production_env(database, METRICS_TOKEN=TOKEN, WEB_CONCURRENCY="2")
    prepare_database(env)
    with Gunicorn("app:app", env) as server:
        assert get(f"{server.url}/metrics")[0] == 401
        assert get(f"{server.url}/metrics", {"Authorization": "Bearer wrong"})[0] == 401
        auth = {"Authorization": f"Bearer {TOKEN}"}
        status, before = get(f"{server.url}/metrics", auth)
        assert status == 200
        token = page_token(server.url)
        codes = [sign_at(server.url, f"m{i}@example.org", token) for i in range(12)]
        assert set(codes) == {303}
        after = get(f"{server.url}/metrics", auth)[1]
    received = metric(after, "petition_signatures_received_total", outcome="new")
    assert received - metric(before, "petition_signatures_received_total", outcome="new") == 12
    signs = [
        metric(text, "petition_http_requests_total", endpoint="public.sign", status="303")
        for text in (before, after)
    ]
    assert signs[1] - signs[0] == 12  # counted across both worker processes
    # The queue per lane, as the database sees it: 12 confirmations waiting (no worker runs).
    assert metric(after, "petition_outbox_pending", lane="transactional") == 12
    assert metric(after, "petition_outbox_pending", lane="bulk") == 0
    assert "petition_outbox_oldest_due_age_seconds" in after
    assert metric(after, "petition_count_journal_backlog") == 12
    assert "petition_http_request_duration_seconds_bucket" in after
    assert "petition_db_pool_connections_in_use" in after
    assert metric(after, "petition_worker_heartbeat_age_seconds") == -1  # none has run


def test_metrics_are_not_there_without_a_token(client):
    assert client.get("/metrics").status_code == 404


@pytest.mark.postgres
def test_json_logs_carry_request_ids_and_no_personal_data(database):
    mailbox = start_mailbox()
    env = production_env(database, MAIL_URL=mailbox.url, WEB_CONCURRENCY="1")
    env.pop("LOG_FORMAT", None)  # production's default
    prepare_database(env)
    emails = ["logged.reader@example.org", "Second.Reader+x@example.net"]
    try:
        with Gunicorn("app:app", env) as server, background(WORKER, env):
            token = page_token(server.url)
            for email in emails:
                assert sign_at(server.url, email, token) == 303
            sign_at(server.url, emails[0], token)  # again: the worker tells them
            messages = mailbox.wait_for(3, timeout=30)
            link = links_in(messages[0])["confirm"]
            assert post(server.url + link, {}, server.url) == 200
            # The first reader erases their data from their own page: the one line a restore
            # needs later (README, Backups), with the keyed hashes and never the address.
            privacy_page = urllib.request.urlopen(f"{server.url}/privacy/me", timeout=10).read()
            privacy_token = re.search(rb'name="form_token" value="([^"]+)"', privacy_page)
            asked = {"email": emails[0], "form_token": privacy_token.group(1).decode()}
            assert post(f"{server.url}/privacy/me", asked, server.url) == 303
            own = eventually(
                lambda: [
                    found.group(0)
                    for m in list(mailbox.messages)
                    if (found := re.search(r"/privacy/me/[\w.-]+", text_of(m)))
                ],
                timeout=30,
            )[0]
            assert post(f"{server.url}{own}/erase", {"confirm": "yes"}, server.url) == 200
            request = urllib.request.Request(
                f"{server.url}/healthz", headers={"X-Request-ID": "from-a-stranger"}
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                echoed = response.headers["X-Request-ID"]
            log = server.log.read_text()
    finally:
        mailbox.stop()
    # Not behind a proxy of ours: a client's own request id is not believed.
    assert echoed and echoed != "from-a-stranger"
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line["logger"] == "petition.access"]
    assert len(requests) >= 5
    assert all(line["request_id"] and line["status"] and "duration_ms" in line for line in requests)
    assert {"method", "path", "time", "level"} <= set(requests[0])
    paths = {line["path"] for line in requests}
    assert "/signatures/confirm/<token>" in paths  # the route, never the link itself
    lowered = log.lower()
    for email in emails:
        assert email.lower() not in lowered and email.split("@")[0].lower() not in lowered
    assert link.rsplit("/", 1)[1] not in log and own.rsplit("/", 1)[1] not in log
    assert "127.0.0.1" not in "".join(json.dumps(line) for line in requests)  # LOG_IPS off
    [erasure] = [line for line in lines if line["logger"] == "petition.privacy"]
    assert erasure["message"] == privacy.ERASED and erasure["signatures"] == 1
    assert privacy.erased_in_log(log.splitlines()) == [tuple(erasure["erased"].split(","))]


@pytest.mark.postgres
def test_readiness_says_when_the_worker_has_stopped(database):
    env = production_env(database, WORKER_STALE_SECONDS="3", WEB_CONCURRENCY="1")
    prepare_database(env)
    with Gunicorn("app:app", env) as server:
        assert get(f"{server.url}/readyz/worker")[0] == 503  # no worker yet
        with background(WORKER, env):
            deadline = time.monotonic() + 20
            while get(f"{server.url}/readyz/worker")[0] != 200:
                assert time.monotonic() < deadline, "the worker never reported in"
                time.sleep(0.2)
        stopped = time.monotonic()
        while get(f"{server.url}/readyz/worker")[0] == 200:
            time.sleep(0.2)
        noticed = time.monotonic() - stopped
        status, body = get(f"{server.url}/readyz/worker")
        # The web server itself stays ready: it takes signatures, mail waits.
        assert get(f"{server.url}/readyz")[0] == 200
    assert status == 503 and "no worker has reported in" in body
    assert noticed <= 3 + 5 + 1  # the stale limit, plus at most one reporting interval


@pytest.mark.postgres
def test_article_views_are_kept_with_a_separate_worker(database):
    env = production_env(database, WEB_CONCURRENCY="2")
    assert env["EMBEDDED_WORKER"] == "false"
    prepare_database(env)
    with Gunicorn("app:app", env) as server, background(WORKER, env):
        status, page = get(f"{server.url}/articles")
        story = re.search(r'href="(/articles/[a-z0-9-]+)"', page).group(1)
        for _ in range(10):
            assert get(server.url + story)[0] == 200
    # The servers have stopped: whatever they counted is written down.
    import psycopg

    with psycopg.connect(database) as conn:
        assert conn.execute(
            "SELECT coalesce(sum(views), 0) FROM article_daily_views"
        ).fetchone() == (10,)


def test_views_are_written_by_the_request_every_few_seconds(app, client):
    from petition.services import article_stats

    story = client.get("/articles").get_data(as_text=True)
    path = re.search(r'href="(/articles/[a-z0-9-]+)"', story).group(1)
    client.get(path)  # the first view is written at once
    with app.app_context():
        assert db.session.scalar(select(func.sum(ArticleDailyViews.views))) == 1
    client.get(path)
    client.get(path)
    app.extensions["article_views"].flushed_at -= article_stats.VIEW_FLUSH_SECONDS
    client.get(path)  # a few seconds on: this request writes what was counted
    with app.app_context():
        assert db.session.scalar(select(func.sum(ArticleDailyViews.views))) == 4


def test_made_up_addresses_cannot_grow_the_caches(app, client):
    microcache = app.extensions["microcache"]
    for i in range(10_000):
        made_up = uuid.uuid4().hex
        path = f"/api/v1/petitions/{made_up}" if i % 2 else f"/petitions/{made_up}"
        assert client.get(path).status_code == 404
    assert len(cache) < 10  # nothing stored for what does not exist
    assert len(microcache.store) <= 2000
    # What exists is cached (the positive control).
    client.get(f"/api/v1/petitions/{SLUG}")
    assert any(SLUG in key for key in cache._local)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"PUBLIC_URL": None}, "PUBLIC_URL is 'http://127.0.0.1:5000'"),
        ({"PUBLIC_URL": "http://localhost:8000"}, "every link in every email would point"),
        ({"PUBLIC_URL": "http://petition.example"}, "unencrypted"),
        ({"MAIL_URL": "console"}, "MAIL_URL is console"),
        ({"STRIPE_SECRET_KEY": "sk_live_x"}, "donations would be taken and never recorded"),
        ({"MAIL_FROM": None}, "MAIL_FROM is 'Refugees Welcome <petition@localhost>'"),
        ({"MAIL_FROM": "petition@mailhost"}, "relays refuse mail from such an address"),
    ],
)
def test_production_refuses_defaults_that_would_quietly_break_it(tmp_path, changes, message):
    import subprocess

    env = production_settings(tmp_path)
    run = lambda e: subprocess.run(  # noqa: E731
        [sys.executable, "-c", "import app"], env=e, capture_output=True, text=True, cwd=ROOT
    )
    assert run(env).returncode == 0  # the positive control
    for name, value in changes.items():
        if value is None:
            env.pop(name)
        else:
            env[name] = value
    result = run(env)
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert message in result.stderr
    if "MAIL_URL" in changes:  # a staging site may print mail on purpose
        assert run({**env, "ALLOW_CONSOLE_MAIL": "true"}).returncode == 0
    if "STRIPE_SECRET_KEY" in changes:  # with the webhook's secret, cards are taken
        assert run({**env, "STRIPE_WEBHOOK_SECRET": "whsec_x"}).returncode == 0


def test_production_runs_no_worker_in_web_processes_unless_asked(tmp_path):
    from petition import create_app

    config: dict[str, object] = {**production_settings(tmp_path), "AUTO_SETUP": False}
    del config["INSTANCE_PATH"]
    app = create_app(config)
    assert app.config["EMBEDDED_WORKER"] is False and "petition_worker" not in app.extensions
    assert app.config["LOG_FORMAT"] == "json"
    asked = create_app({**config, "EMBEDDED_WORKER": True})
    assert "petition_worker" in asked.extensions


def test_links_signed_with_the_old_key_work_after_rotation(app, client, mailbox):
    from urllib.parse import urlsplit

    from petition.security.stop_links import stop_token
    from petition.services import mailings, privacy

    token = form_token(client)  # a page someone left open
    assert sign(client, email="keeps@example.org", consent_updates="y").status_code == 303
    send_all_mail(app)
    link = links_in(mailbox.messages[0])["confirm"]
    client.post(link)
    with app.app_context():
        signature = db.session.scalar(select(Signature))
        assert signature.state == SignatureState.CONFIRMED
    with app.test_request_context():
        stop = urlsplit(mailings.unsubscribe_url(signature.id)).path
        own_page = privacy.link_token(privacy.Person.by_address("keeps@example.org"))
    old = app.config["SECRET_KEY"]
    app.config.update(SECRET_KEY="the-new-secret-key", SECRET_KEY_FALLBACKS=(old,))
    assert client.get(stop).status_code == 200
    assert client.get(f"/privacy/me/{own_page}").status_code == 200
    assert sign(client, email="late@example.org", token=token).status_code == 303
    with app.test_request_context():
        assert stop_token(signature.id) != stop.rsplit("/", 1)[1]  # new links use the new key
    # Once the old key is dropped, its links stop working (the control).
    app.config["SECRET_KEY_FALLBACKS"] = ()
    assert client.get(stop).status_code == 404
    assert client.get(f"/privacy/me/{own_page}").status_code == 404


def test_admin_sessions_survive_a_key_rotation(app, admin):
    cookie = admin.get_cookie("rw_admin", path="/admin").value
    old = app.config["SECRET_KEY"]
    app.config.update(SECRET_KEY="the-new-secret-key", SECRET_KEY_FALLBACKS=(old,))
    assert admin.get("/admin/").status_code == 200  # and its cookie is now signed anew
    app.config["SECRET_KEY_FALLBACKS"] = ()
    assert admin.get("/admin/").status_code == 200
    # A cookie still signed with the old key, once that key is gone: signed out (the control).
    stale = app.test_client()
    stale.set_cookie("rw_admin", cookie, path="/admin")
    assert stale.get("/admin/").status_code in (302, 303)


def sign_in_parallel(app, prefix: str, readers: int = 8, each: int = 10) -> list[int]:
    """Readers signing at once through a live server: connections change hands in PgBouncer."""
    from tests.parts import LiveServer

    token = form_token(app.test_client())
    codes: list[int] = []
    with LiveServer(app) as server:

        def reader(n: int) -> None:
            for i in range(each):
                codes.append(sign_at(server.url, f"{prefix}{n}.{i}@example.org", token))

        threads = [threading.Thread(target=reader, args=(n,)) for n in range(readers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return codes


@pytest.mark.postgres
def test_signing_and_everything_else_work_through_pgbouncer(postgres_url, make_app, mailbox):
    bouncer = PgBouncer(postgres_url, pool_size=2).start()
    try:
        app = make_app(DATABASE_URL=bouncer.url_for(postgres_url), DB_PREPARE=False)
        codes = sign_in_parallel(app, "b")
        assert codes == [303] * 80, sorted(set(codes))
        client = app.test_client()
        assert sign(client, email="b0.0@example.org").status_code == 303  # already signed
        send_all_mail(app)
        messages = mailbox.wait_for(81)
        confirms = [m for m in messages if "confirm your signature" in m["Subject"].lower()]
        for message in confirms[:10]:
            assert client.post(links_in(message)["confirm"]).status_code == 200
        with app.app_context():
            from petition.services.counting import flush_counts, recount

            flush_counts()
            assert not any(r.changed for r in recount())
            confirmed = db.session.scalar(
                select(func.count()).where(Signature.state == SignatureState.CONFIRMED)
            )
        assert confirmed == 10
        assert client.get(f"/api/v1/petitions/{SLUG}").status_code == 200
    finally:
        bouncer.stop()


@pytest.mark.postgres
def test_server_side_prepared_statements_break_behind_pgbouncer(postgres_url, make_app):
    """Why DB_PREPARE exists: with it on, transaction pooling loses prepared statements."""
    bouncer = PgBouncer(postgres_url, pool_size=2).start()
    try:
        app = make_app(DATABASE_URL=bouncer.url_for(postgres_url), DB_PREPARE=True)
        codes = sign_in_parallel(app, "p")
    finally:
        bouncer.stop()
    assert set(codes) != {303}


def test_the_shipped_nginx_config_is_valid():
    nginx = Nginx("127.0.0.1:9")
    try:
        checked = nginx.check()
    finally:
        nginx.stop()
    assert checked.returncode == 0, checked.stderr


@pytest.mark.postgres
def test_slow_clients_through_nginx_do_not_stall_the_service(database):
    env = production_env(database, WEB_CONCURRENCY="1", GUNICORN_THREADS="2")
    prepare_database(env)
    with Gunicorn("app:app", env) as server:
        upstream = server.url.removeprefix("http://")
        direct_stalls = slow_header_attack(upstream, server.url)
        with Nginx(upstream) as nginx:
            through_nginx = slow_header_attack(f"127.0.0.1:{nginx.port}", nginx.url)
    # Facing gunicorn directly, the slow clients hold its threads; behind nginx they do not.
    assert direct_stalls, "the attack should stall gunicorn on its own (the control)"
    assert not through_nginx, through_nginx


@pytest.mark.postgres
def test_nginx_sends_text_compressed_and_pictures_as_they_are(database):
    import gzip

    env = production_env(database, WEB_CONCURRENCY="1", GUNICORN_THREADS="2")
    prepare_database(env)
    with Gunicorn("app:app", env) as server, Nginx(server.url.removeprefix("http://")) as nginx:
        page = urllib.request.urlopen(f"{nginx.url}/petitions/{SLUG}", timeout=10).read()
        assets = re.findall(r'(?:href|src)="(/static/[^"]+\.(?:css|js)\?v=[^"]+)"', page.decode())
        assert len(assets) >= 2
        sizes = {}
        for path in [f"/petitions/{SLUG}", *assets, f"/api/v1/petitions/{SLUG}"]:
            request = urllib.request.Request(nginx.url + path, headers={"Accept-Encoding": "gzip"})
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.headers["Content-Encoding"] == "gzip", path
                assert "Accept-Encoding" in response.headers["Vary"], path
                body = response.read()
            plain = urllib.request.urlopen(nginx.url + path, timeout=10).read()
            assert gzip.decompress(body) == plain  # the same bytes, smaller
            sizes[path] = (len(body), len(plain))
        # Fingerprinted assets are cached for a year.
        with urllib.request.urlopen(nginx.url + assets[0], timeout=10) as response:
            assert "max-age=31536000" in response.headers["Cache-Control"]
        request = urllib.request.Request(
            f"{nginx.url}/static/share-card.png", headers={"Accept-Encoding": "gzip, br"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.headers.get("Content-Encoding") is None
        # Brotli too, for browsers that take it (deploy/nginx/brotli.conf).
        if not nginx.brotli:
            require_part("nginx's brotli module", BROTLI_MODULE, "apt-get install it")
        for path in [f"/petitions/{SLUG}", *assets]:
            request = urllib.request.Request(
                nginx.url + path, headers={"Accept-Encoding": "gzip, deflate, br"}
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.headers["Content-Encoding"] == "br", path
                assert "Accept-Encoding" in response.headers["Vary"], path
                assert len(response.read()) < sizes[path][0], path  # smaller than gzip
    page_gz, page_plain = sizes[f"/petitions/{SLUG}"]
    assert page_gz < page_plain / 3, sizes


@pytest.mark.postgres
def test_nginx_lets_pictures_through_to_the_upload_only(database):
    env = production_env(database, WEB_CONCURRENCY="1", GUNICORN_THREADS="2")
    prepare_database(env)

    class Stay(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object) -> None:
            return None  # report the redirect itself

    opener = urllib.request.build_opener(Stay)

    def post(path: str, size: int = 5 * 1024 * 1024) -> int:
        request = urllib.request.Request(
            nginx.url + path, data=b"x" * size, headers={"Content-Type": "multipart/form-data; b=x"}
        )
        try:
            with opener.open(request, timeout=20) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    with Gunicorn("app:app", env) as server, Nginx(server.url.removeprefix("http://")) as nginx:
        # Anywhere else, nginx refuses a body this size before the app sees it.
        assert post(f"/admin/petitions/{SLUG}") == 413
        assert post(f"/petitions/{SLUG}/sign") == 413
        # The picture upload reaches the app (which asks a stranger to sign in first).
        assert post(f"/admin/petitions/{SLUG}/picture") in (302, 303)
        # A body nginx lets through but the app refuses gets the app's answer, not a 502.
        assert post(f"/petitions/{SLUG}/sign", 200 * 1024) == 413


@pytest.mark.postgres
def test_an_answer_given_before_the_body_was_read_leaves_the_connection_open(database):
    """gunicorn drops a connection with more than 64 KB of body left unread, and the reset can
    beat the answer to nginx (a 502). The app reads the rest of what it refused unread."""
    env = production_env(database, WEB_CONCURRENCY="1", GUNICORN_THREADS="2")
    prepare_database(env)
    picture, sign = f"/admin/petitions/{SLUG}/picture", f"/petitions/{SLUG}/sign"
    multipart, form = "multipart/form-data; boundary=x", "application/x-www-form-urlencoded"
    with Gunicorn("app:app", env) as server:
        host, port = server.url.removeprefix("http://").split(":")
        for path, content_type, size, status in (
            (picture, multipart, 1024, 302),  # the control: a small body gunicorn reads itself
            (picture, multipart, 5 * 1024 * 1024, 302),  # a stranger is sent to sign in
            (sign, form, 200 * 1024, 413),  # more than a form may hold
        ):
            connection = http.client.HTTPConnection(host, int(port), timeout=20)
            body = b"a=" + b"x" * size
            connection.request("POST", path, body=body, headers={"Content-Type": content_type})
            answer = connection.getresponse()
            answer.read()
            assert answer.status == status, (path, size)
            first = connection.sock
            connection.request("GET", "/healthz")
            again = connection.getresponse()
            again.read()
            assert again.status == 200 and connection.sock is first, (path, size)
            connection.close()


def slow_header_attack(address: str, base: str, clients: int = 200) -> list[float]:
    """200 connections sending one header line every 4 s; /healthz meanwhile. How many of
    the health checks took over a second (or failed)."""
    host, port = address.split(":")
    stop = threading.Event()
    sockets: list[socket.socket] = []

    def drip() -> None:
        for _ in range(clients):
            try:
                s = socket.create_connection((host, int(port)), timeout=2)
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                sockets.append(s)
            except OSError:
                pass
        while not stop.wait(4):
            for s in list(sockets):
                try:
                    s.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    sockets.remove(s)

    attacker = threading.Thread(target=drip, daemon=True)
    attacker.start()
    time.sleep(2)
    slow: list[float] = []
    try:
        for _ in range(6):
            started = time.monotonic()
            try:
                status, _ = get(f"{base}/healthz", timeout=3)
            except OSError:
                status = 0
            took = time.monotonic() - started
            if status != 200 or took > 1:
                slow.append(round(took, 2))
            time.sleep(0.5)
    finally:
        stop.set()
        for s in sockets:
            s.close()
        attacker.join(10)
    return slow


def test_the_compose_file_runs_what_the_readme_says():
    import yaml

    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    services = compose["services"]
    assert {"db", "redis", "mail", "migrate", "web", "worker", "nginx"} <= set(services)
    assert services["worker"]["command"] == ["flask", "--app", "app", "worker"]
    # Every setting in deploy/.env reaches the app (Stripe's keys, say), not only those the
    # file names; the names it fixes (the database, Redis, production) still win.
    for name in ("migrate", "web", "worker"):
        assert services[name]["env_file"] == [{"path": ".env", "required": False}]
        assert services[name]["environment"]["APP_ENV"] == "production"
    assert services["nginx"]["volumes"][0].startswith("./nginx/petition.conf:")
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "USER petition" in dockerfile and "HEALTHCHECK" in dockerfile
    for path in re.findall(r"^COPY (\S+) ", dockerfile, re.M):
        assert all((ROOT / part).exists() for part in path.split() if part != ".")
    assert Path(ROOT / "deploy" / "nginx" / "petition.conf").exists()


def test_text_logs_show_their_fields_and_no_addresses():
    """Development's log lines: readable, with what JSON lines carry, scrubbed the same way."""
    from petition.ops.logs import JsonFormatter, TextFormatter

    record = logging.makeLogRecord(
        {
            "name": "petition.access",
            "levelname": "INFO",
            "msg": "request from %s",
            "args": ("ada@example.org",),
            "path": "/petitions/<slug>/sign",
            "status": 303,
            "note": "sent to bob@example.net",
        }
    )
    line = TextFormatter().format(record)
    assert line.endswith(
        "petition.access: request from [email] path=/petitions/<slug>/sign status=303 "
        "note=sent to [email]"
    )
    entry = json.loads(JsonFormatter().format(record))
    assert (entry["message"], entry["status"], entry["note"]) == (
        "request from [email]",
        303,
        "sent to [email]",
    )
