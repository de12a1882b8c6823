"""Configuration from the environment, and refusing to start without secrets in production."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from petition import create_app
from petition.config import database_url, parse_bool
from tests.parts import free_port
from tests.processes import Gunicorn, production_settings

ROOT = Path(__file__).resolve().parent.parent


def test_postgres_urls_are_driven_by_psycopg_3():
    assert (
        database_url("postgresql://u:p@db:5432/petition")
        == "postgresql+psycopg://u:p@db:5432/petition"
    )
    assert database_url("postgres://u@db/petition") == "postgresql+psycopg://u@db/petition"
    assert database_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


def test_booleans_are_read_strictly():
    assert parse_bool("false") is False and parse_bool("TRUE") is True
    with pytest.raises(ValueError):
        parse_bool("maybe")


def test_production_without_a_secret_key_stops_with_one_line(tmp_path):
    env = {
        "APP_ENV": "production",
        "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
        "INSTANCE_PATH": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-c", "import app"], env=env, capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("SECRET_KEY is not set")


def test_development_generates_a_key_once_and_keeps_it(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    config = {"APP_ENV": "development", "AUTO_SETUP": False}
    first = create_app(config)
    assert first.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/petition.db"
    assert len(first.config["SECRET_KEY"]) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    second = create_app(config)
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]


def test_environment_variables_override_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("RATELIMIT_ENABLED", "false")
    monkeypatch.setenv("SIGN_RATE_LIMIT", "2 per minute")
    monkeypatch.setenv("PUBLIC_URL", "https://petition.example/")
    app = create_app(
        {"SECRET_KEY": "x", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "AUTO_SETUP": False}
    )
    assert app.config["RATELIMIT_ENABLED"] is False
    assert app.config["SIGN_RATE_LIMIT"] == "2 per minute"
    assert app.config["PUBLIC_URL"] == "https://petition.example"


def test_a_bad_value_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXY_COUNT", "two")
    with pytest.raises(SystemExit, match="TRUSTED_PROXY_COUNT"):
        create_app({"SECRET_KEY": "x", "AUTO_SETUP": False, "DATABASE_URL": "sqlite://"})


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("EMAIL_HASH_KEY", "EMAIL_HASH_KEY is not set"),
        ("ORGANISATION_NAME", "ORGANISATION_NAME not set"),
        ("PRIVACY_CONTACT", "PRIVACY_CONTACT not set"),
    ],
)
def test_production_without_who_holds_the_data_stops_with_one_line(tmp_path, missing, message):
    env = production_settings(tmp_path)
    started = subprocess.run(
        [sys.executable, "-c", "import app"], env=env, capture_output=True, text=True, cwd=ROOT
    )
    assert started.returncode == 0, started.stderr  # the positive control
    del env[missing]
    result = subprocess.run(
        [sys.executable, "-c", "import app"], env=env, capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith(message)


def test_gunicorn_stops_with_the_message_when_a_setting_is_refused(tmp_path):
    """Each worker used to refuse on its own and end; gunicorn started another, once a second,
    for as long as nobody looked (a server "up" that never answered)."""
    env = {**os.environ, **production_settings(tmp_path), "ALLOW_LOCAL_PUBLIC_URL": "true"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env["WEB_CONCURRENCY"] = "1"
    with Gunicorn("app:app", env) as server:  # the control: with every setting, it serves
        assert urllib.request.urlopen(f"{server.url}/healthz", timeout=5).status == 200
    del env["SECRET_KEY"]
    command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")]
    command += ["--bind", f"127.0.0.1:{free_port()}", "app:app"]
    refused = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert refused.returncode == 4, refused.stderr  # gunicorn's "App failed to load"
    assert refused.stderr.count("SECRET_KEY is not set") == 1
    assert "Reason: App failed to load." in refused.stderr
    assert (
        "Traceback" not in refused.stderr and "Exception during worker exit" not in refused.stderr
    )


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("SECRET_KEY", "change-me", "SECRET_KEY has a key of 9 characters"),
        ("EMAIL_HASH_KEY", "y" * 31, "EMAIL_HASH_KEY has a key of 31 characters"),
        ("SECRET_KEY_FALLBACKS", f"{'o' * 40} old", "SECRET_KEY_FALLBACKS has a key of 3"),
        ("EMAIL_HASH_KEY_FALLBACKS", "short", "EMAIL_HASH_KEY_FALLBACKS has a key of 5"),
        ("EMAIL_HASH_KEY", "x" * 32, "EMAIL_HASH_KEY is the same as SECRET_KEY"),
        ("METRICS_TOKEN", "metrics", "METRICS_TOKEN has a key of 7 characters"),
    ],
)
def test_production_refuses_keys_that_can_be_guessed(tmp_path, setting, value, message):
    """Whoever guesses SECRET_KEY can sign in as any admin and open any reader's privacy page."""
    env = production_settings(tmp_path)
    good = {
        **env,
        "SECRET_KEY_FALLBACKS": "o" * 40,
        "EMAIL_HASH_KEY_FALLBACKS": "p" * 32,
        "METRICS_TOKEN": "m" * 32,
    }
    started = subprocess.run(
        [sys.executable, "-c", "import app"], env=good, capture_output=True, text=True, cwd=ROOT
    )
    assert started.returncode == 0, started.stderr  # the positive control: 32 and more start
    result = subprocess.run(
        [sys.executable, "-c", "import app"],
        env={**env, setting: value},
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith(message)


def test_on_a_laptop_the_first_command_sets_up_the_database_and_the_next_say_only_theirs(
    tmp_path,
):
    """The first `flask` command on a new laptop applies the migrations (saying so) and seeds;
    later ones find the schema up to date and print only their own output."""
    env = {"PATH": "/usr/bin:/bin", "APP_ENV": "development", "INSTANCE_PATH": str(tmp_path)}
    runs = [
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "app", "recount"],
            env=env,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        for _ in range(2)
    ]
    for run in runs:
        assert run.returncode == 0, run.stderr
        assert "help-ukraine-refugees: counts already right" in run.stdout  # seeded
    assert "Running upgrade" in runs[0].stderr
    assert runs[1].stderr == ""
