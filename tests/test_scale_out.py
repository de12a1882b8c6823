"""Two app servers behind one name, sharing PostgreSQL and Redis, behave as one service."""

from __future__ import annotations

import json
import os
import re
import time
import urllib.request

import pytest
import redis

from tests.factories import SLUG, links_in, signer
from tests.parts import require_part
from tests.processes import WORKER, Gunicorn, background
from tests.test_faults import form_token, post

pytestmark = pytest.mark.postgres

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def shared_redis() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).flushdb()
    except redis.RedisError as exc:
        require_part("Redis", REDIS_URL, str(exc))
    return REDIS_URL


def count(base: str) -> int:
    with urllib.request.urlopen(f"{base}/api/v1/petitions/{SLUG}", timeout=5) as response:
        return json.loads(response.read())["signature_count"]


def test_two_servers_share_rate_limits_counts_and_links(app, postgres_url, shared_redis, mailbox):
    env = {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": "a-secret-key-shared-by-every-host-of-the-service",
        "EMAIL_HASH_KEY": "an-email-hash-key-shared-by-every-host-of-the-service",
        "ORGANISATION_NAME": "Example News Ltd",
        "PRIVACY_CONTACT": "privacy@example.org",
        "ALLOW_LOCAL_PUBLIC_URL": "true",
        "DATABASE_URL": postgres_url,
        "REDIS_URL": shared_redis,
        "MAIL_URL": mailbox.url,
        "MAIL_FROM": "Refugees Welcome <petition@petition.example>",
        "SIGN_RATE_LIMIT": "3 per minute",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "4",
    }
    first = Gunicorn("app:app", env)
    # Both answer for one public address, as behind a load balancer; one worker for both.
    with (
        first,
        Gunicorn("app:app", env, public_url=first.url) as second,
        background(WORKER, {**env, "PUBLIC_URL": first.url}),
    ):
        token = form_token(first.url)
        sign = f"/petitions/{SLUG}/sign"
        codes = [
            post(
                first.url + sign, {**signer(email="a@example.org"), "form_token": token}, first.url
            )[0],
            post(
                second.url + sign, {**signer(email="b@example.org"), "form_token": token}, first.url
            )[0],
            post(
                first.url + sign, {**signer(email="c@example.org"), "form_token": token}, first.url
            )[0],
            post(
                second.url + sign, {**signer(email="d@example.org"), "form_token": token}, first.url
            )[0],
        ]
        # One budget for the address across both servers: the fourth attempt is over it.
        assert codes == [303, 303, 303, 429]

        # Signed through the first, confirmed through the second.
        message = next(
            m for m in mailbox.wait_for(3, timeout=15) if "a@example.org" in str(m["To"])
        )
        link = links_in(message)["confirm"]
        assert post(second.url + link, {}, first.url)[0] == 200

        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (count(first.url), count(second.url)) != (1, 1):
            time.sleep(0.1)
        assert (count(first.url), count(second.url)) == (1, 1)

        # Pages are kept a second at most (COUNT_CACHE_SECONDS): the page soon agrees.
        def page_count() -> str:
            url = f"{second.url}/petitions/{SLUG}"
            return urllib.request.urlopen(url, timeout=5).read().decode()

        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not re.search(r"data-count>1<", page_count()):
            time.sleep(0.1)
        assert re.search(r"data-count>1<", page_count())
