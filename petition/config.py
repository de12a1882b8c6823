"""Configuration: defaults, then `instance/config.py`, then the environment, then test overrides."""

from __future__ import annotations

import hmac
import os
import re
import secrets
from email.utils import parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flask import Flask

if TYPE_CHECKING:
    from petition.mail.dkim import DkimKey

ENVIRONMENTS = ("development", "production", "testing")


class Defaults:
    """Values used when neither the instance file nor the environment says otherwise."""

    APP_ENV = "development"
    PUBLIC_URL = "http://127.0.0.1:5000"
    MAIL_URL = "console"
    MAIL_FROM = "Refugees Welcome <petition@localhost>"
    # Sign mail with DKIM for MAIL_FROM's domain (for a relay that does not sign it): an RSA
    # private key in a PEM file, and the selector its public key is published under.
    MAIL_DKIM_KEY_FILE = ""
    MAIL_DKIM_SELECTOR = ""
    # Where bounces come back, one address per message (bounces+token@domain), to be piped to
    # `flask bounce`; unset, the envelope sender is MAIL_FROM's address.
    MAIL_BOUNCE_ADDRESS = ""
    # A server that is down delays mail; only after this long does a message count as failed.
    MAIL_GIVE_UP_HOURS = 72
    MAIL_RETRY_BASE_SECONDS = 5.0
    MAIL_RETRY_MAX_SECONDS = 300.0
    # How long a worker holds the messages it took before another may take them. A worker
    # renews its hold before each send and keeps it while a send waits, so this only decides
    # how soon the messages of a worker that died go out.
    OUTBOX_LEASE_SECONDS = 300.0
    # Campaign mailings: messages per second per worker, within what a shared relay accepts.
    # Transactional mail (confirmations, privacy links) is never held back by it.
    MAIL_BULK_RATE = 10.0
    # Messages a worker takes at a time, and its sending threads (one SMTP connection each).
    # Fifty: each batch costs a claim, a look at who still wants what, and an SMTP session;
    # at twenty those were a fifth of a worker's time under a signing rush.
    MAIL_BATCH_SIZE = 50
    MAIL_WORKER_THREADS = 2
    # How often an idle mail thread looks for new mail (one indexed query): a worker in its
    # own process cannot be woken by the web processes' commits.
    MAIL_POLL_SECONDS = 0.2
    # Recipients added to the outbox per transaction when a mailing is queued.
    MAILING_CHUNK = 5000
    # The key of the keyed hash that recognises an address without keeping it (erasure,
    # suppression); older keys, space separated, still match. Required outside development.
    EMAIL_HASH_KEY = ""
    EMAIL_HASH_KEY_FALLBACKS: tuple[str, ...] = ()
    REDIS_URL = ""
    STRIPE_SECRET_KEY: str | None = None  # card donations are off without it
    STRIPE_WEBHOOK_SECRET: str | None = None
    STRIPE_API_BASE = ""
    GOFUNDME_URL = ""
    # The only hosts a fundraiser address may be on (space separated).
    FUNDRAISER_HOSTS = "gofundme.com www.gofundme.com"
    # Picture servers whose images stories may show (space separated hosts, https unless an
    # origin with its scheme is given): allowed by the pages' content policy.
    IMAGE_HOSTS = ""
    EMBED_ALLOWED_ORIGINS = "*"
    SIGN_RATE_LIMIT = "10 per minute; 200 per hour"
    DONATE_RATE_LIMIT = "10 per minute; 100 per hour"
    PRIVACY_RATE_LIMIT = "5 per minute; 30 per hour"
    PRIVACY_ADDRESS_RATE_LIMIT = "3 per hour"
    VERIFY_RATE_LIMIT = "20 per minute; 300 per hour"
    PARTNER_RATE_LIMIT = "600 per minute"
    RATELIMIT_ENABLED = True
    # A sliding window: no burst of twice the limit either side of a minute's turn.
    RATELIMIT_STRATEGY = "moving-window"
    TRUSTED_PROXY_COUNT = 0
    # Rate limits count an IPv6 client by its network: a single host owns a whole /64.
    RATELIMIT_IPV6_PREFIX = 64
    # Whether each web process also runs the worker in a thread: yes in development (so
    # `flask run` needs nothing else), no elsewhere unless asked for (`flask worker` runs it).
    EMBEDDED_WORKER: bool | None = None
    WORKER_POLL_SECONDS = 1.0
    # The worker reports in every few seconds; /readyz/worker answers 503 once its last word
    # is older than this.
    WORKER_STALE_SECONDS = 60
    # Logs: `json` (one object a line; the default outside development) or `text`. IP
    # addresses appear in them only when LOG_IPS is true.
    LOG_FORMAT: str | None = None
    LOG_IPS = False
    # Error reports to Sentry (personal data scrubbed); off when empty.
    SENTRY_DSN = ""
    # GET /metrics answers only with `Authorization: Bearer METRICS_TOKEN` (404 when unset:
    # empty is "no metrics", not a password).
    METRICS_TOKEN = ""  # nosec B105
    # Production refuses console mail unless told this is a staging site.
    ALLOW_CONSOLE_MAIL = False
    # Production refuses a PUBLIC_URL on this machine (every link would point there) unless
    # told this is a test run on one machine.
    ALLOW_LOCAL_PUBLIC_URL = False
    # Older SECRET_KEYs, space separated, still accepted (form tokens, stop and privacy links,
    # admin sessions) while they are rotated out.
    SECRET_KEY_FALLBACKS: tuple[str, ...] = ()
    # Server-side prepared statements (faster repeats). Turn off behind PgBouncer in
    # transaction pooling mode older than 1.21 (or without max_prepared_statements).
    DB_PREPARE = True
    # How long a migration waits for a lock before giving up (PostgreSQL), and how long any
    # one of its statements may run.
    MIGRATION_LOCK_TIMEOUT = "5s"
    MIGRATION_STATEMENT_TIMEOUT = "30min"
    WORKER_NICENESS = 5
    COUNT_CACHE_SECONDS = 1.0
    # How often open petition pages and widgets ask for the count (0: never). On a viral day
    # every open page asks; a longer interval trades freshness for fewer requests.
    LIVE_COUNT_SECONDS = 30
    FORM_TOKEN_MAX_AGE = 12 * 3600
    CONFIRM_TOKEN_DAYS = 30
    CONFIRM_GRACE_HOURS = 24
    # One reminder to confirm goes this long after signing, if the signature still waits and
    # the petition is open (0: no reminders).
    CONFIRM_REMINDER_HOURS = 24
    DUPLICATE_NOTICE_LIMIT = 3
    UNCONFIRMED_RETENTION_DAYS = 30
    IP_RETENTION_DAYS = 90
    # Withdrawn signatures are anonymised this long after withdrawal; every signature of a
    # closed petition this long after it closed (the counts stay).
    WITHDRAWN_RETENTION_DAYS = 30
    CLOSED_RETENTION_DAYS = 180
    # How long the operator keeps database backups (README, Production: Backups); the privacy
    # notice tells readers that erased details leave the backups this much later.
    BACKUP_RETENTION_DAYS = 30
    # Who is responsible for readers' data, as the privacy notice and the footer say it.
    # Production refuses to start without ORGANISATION_NAME and PRIVACY_CONTACT.
    ORGANISATION_NAME = ""
    ORGANISATION_ADDRESS = ""
    PRIVACY_CONTACT = ""
    DPO_CONTACT = ""
    # Where to report a security problem (an address or https:// page, space separated):
    # /.well-known/security.txt (RFC 9116) says it; unset, there is none.
    SECURITY_CONTACT = ""
    DONATIONS_RECIPIENT = ""
    # The lawful basis for keeping a signature, as the organisation decides it (updates are
    # always by consent).
    PETITION_LAWFUL_BASIS = (
        "our legitimate interests (UK GDPR Article 6(1)(f)): running a public campaign and "
        "showing the government how many people support it, in a way each signer has chosen"
    )
    # How long the link to a reader's own privacy page works.
    PRIVACY_LINK_MINUTES = 60
    SENT_MAIL_RETENTION_DAYS = 7
    DB_POOL_SIZE = 5
    DB_MAX_OVERFLOW = 5
    DB_POOL_TIMEOUT = 2.0
    DB_CONNECT_TIMEOUT = 2
    # Bigger bodies than any form of ours needs are refused with 413 before parsing.
    MAX_CONTENT_LENGTH = 64 * 1024
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    # Static files are linked with a content hash (see templating.asset_url).
    SEND_FILE_MAX_AGE_DEFAULT = 365 * 24 * 3600


# Environment variables read at start-up, with the type each one is parsed as.
ENV_VARS: dict[str, type] = {
    "APP_ENV": str,
    # INSTANCE_PATH (read by create_app) moves instance/ somewhere writable.
    "SECRET_KEY": str,
    "DATABASE_URL": str,
    "PUBLIC_URL": str,
    "MAIL_URL": str,
    "MAIL_FROM": str,
    "MAIL_DKIM_KEY_FILE": str,
    "MAIL_DKIM_SELECTOR": str,
    "MAIL_BOUNCE_ADDRESS": str,
    "MAIL_GIVE_UP_HOURS": float,
    "MAIL_BULK_RATE": float,
    "MAIL_BATCH_SIZE": int,
    "MAIL_WORKER_THREADS": int,
    "MAIL_POLL_SECONDS": float,
    "WORKER_POLL_SECONDS": float,
    "MAILING_CHUNK": int,
    "OUTBOX_LEASE_SECONDS": float,
    "EMAIL_HASH_KEY": str,
    "EMAIL_HASH_KEY_FALLBACKS": str,
    "REDIS_URL": str,
    "STRIPE_SECRET_KEY": str,
    "STRIPE_WEBHOOK_SECRET": str,
    "STRIPE_API_BASE": str,
    "GOFUNDME_URL": str,
    "FUNDRAISER_HOSTS": str,
    "IMAGE_HOSTS": str,
    "EMBED_ALLOWED_ORIGINS": str,
    "SIGN_RATE_LIMIT": str,
    "DONATE_RATE_LIMIT": str,
    "PRIVACY_RATE_LIMIT": str,
    "PRIVACY_ADDRESS_RATE_LIMIT": str,
    "VERIFY_RATE_LIMIT": str,
    "PARTNER_RATE_LIMIT": str,
    "RATELIMIT_ENABLED": bool,
    "TRUSTED_PROXY_COUNT": int,
    "RATELIMIT_IPV6_PREFIX": int,
    "EMBEDDED_WORKER": bool,
    "WORKER_STALE_SECONDS": int,
    "LOG_FORMAT": str,
    "LOG_IPS": bool,
    "SENTRY_DSN": str,
    "METRICS_TOKEN": str,
    "ALLOW_CONSOLE_MAIL": bool,
    "ALLOW_LOCAL_PUBLIC_URL": bool,
    "SECRET_KEY_FALLBACKS": str,
    "DB_PREPARE": bool,
    "MIGRATION_LOCK_TIMEOUT": str,
    "MIGRATION_STATEMENT_TIMEOUT": str,
    "WORKER_NICENESS": int,
    "AUTO_SETUP": bool,
    "DB_POOL_SIZE": int,
    "DB_MAX_OVERFLOW": int,
    "DB_POOL_TIMEOUT": float,
    "CONFIRM_REMINDER_HOURS": float,
    "UNCONFIRMED_RETENTION_DAYS": int,
    "IP_RETENTION_DAYS": int,
    "WITHDRAWN_RETENTION_DAYS": int,
    "CLOSED_RETENTION_DAYS": int,
    "BACKUP_RETENTION_DAYS": int,
    "ORGANISATION_NAME": str,
    "ORGANISATION_ADDRESS": str,
    "PRIVACY_CONTACT": str,
    "DPO_CONTACT": str,
    "SECURITY_CONTACT": str,
    "DONATIONS_RECIPIENT": str,
    "PETITION_LAWFUL_BASIS": str,
    "LIVE_COUNT_SECONDS": int,
}


def parse_bool(value: str) -> bool:
    """Read the usual spellings of true and false; anything else is an error."""
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def database_url(url: str) -> str:
    """Accept URLs as operators write them and drive PostgreSQL with psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def check_settings() -> None:
    """Read and check the settings from the environment as `create_app` does, without building
    the app (gunicorn's workers call it first, to stop the server on a refusal)."""
    instance = os.environ.get("INSTANCE_PATH") or None
    load_config(Flask("petition", instance_relative_config=True, instance_path=instance), None)


def load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Fill `app.config`, refusing to start outside development without a secret key."""
    app.config.from_object(Defaults)
    app.config.from_pyfile("config.py", silent=True)
    for name, kind in ENV_VARS.items():
        raw = os.environ.get(name)
        if raw is None:
            continue
        try:
            app.config[name] = parse_bool(raw) if kind is bool else kind(raw)
        except ValueError as exc:
            raise SystemExit(f"Configuration error: {name}: {exc}") from None
    if test_config:
        app.config.update(test_config)
    # Nobody said where readers reach us: in development, the address `flask run` serves on.
    app.config["PUBLIC_URL_FROM_REQUEST"] = (
        app.config["PUBLIC_URL"] == Defaults.PUBLIC_URL
        and "PUBLIC_URL" not in os.environ
        and "PUBLIC_URL" not in (test_config or {})
    )

    env = app.config["APP_ENV"]
    if env not in ENVIRONMENTS:
        raise SystemExit(f"Configuration error: APP_ENV must be one of {', '.join(ENVIRONMENTS)}")

    instance = Path(app.instance_path)
    url = app.config.get("DATABASE_URL") or f"sqlite:///{instance / 'petition.db'}"
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url(url)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        instance.mkdir(parents=True, exist_ok=True)
    app.config.setdefault(
        "AUTO_SETUP",
        env == "development" and app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"),
    )

    if not app.config.get("SECRET_KEY"):
        if env != "development":
            raise SystemExit(
                "SECRET_KEY is not set: export a long random SECRET_KEY before starting "
                f"in {env} (python -c 'import secrets; print(secrets.token_hex(32))')."
            )
        app.config["SECRET_KEY"] = _development_secret(instance)
    if not app.config.get("EMAIL_HASH_KEY"):
        if env != "development":
            raise SystemExit(
                "EMAIL_HASH_KEY is not set: export a long random EMAIL_HASH_KEY (it recognises "
                "erased signers and refused addresses; keep it apart from SECRET_KEY)."
            )
        # A laptop's data is its own: a key derived from the development secret will do.
        derived = hmac.new(app.config["SECRET_KEY"].encode(), b"email-hash-key", "sha256")
        app.config["EMAIL_HASH_KEY"] = derived.hexdigest()
    for name in ("SECRET_KEY_FALLBACKS", "EMAIL_HASH_KEY_FALLBACKS"):
        if isinstance(app.config[name], str):
            app.config[name] = tuple(app.config[name].split())
    _check_keys(app.config, env)

    _check_organisation(app.config, env)
    _check_security_contact(app.config)
    _check_fundraiser(app.config)
    _check_card_donations(app.config)
    _check_safe_for_production(app.config, env)
    app.extensions["dkim"] = _dkim_key(app.config)
    _check_bounce_address(app.config)
    app.config["PUBLIC_URL"] = app.config["PUBLIC_URL"].rstrip("/")
    app.config["PUBLIC_URL_FROM_REQUEST"] &= env == "development"
    if app.config["EMBEDDED_WORKER"] is None:
        app.config["EMBEDDED_WORKER"] = env == "development"
    if app.config["LOG_FORMAT"] is None:
        app.config["LOG_FORMAT"] = "text" if env == "development" else "json"
    if app.config["LOG_FORMAT"] not in ("json", "text"):
        raise SystemExit("Configuration error: LOG_FORMAT must be json or text")
    app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"] or "memory://"


# Whoever guesses SECRET_KEY can forge an admin's session and any reader's privacy link, and
# whoever guesses EMAIL_HASH_KEY can test addresses against the suppression list, and whoever
# guesses METRICS_TOKEN can watch the campaign's traffic: in production each must be long enough
# that nobody can (secrets.token_hex(32) makes 64 characters).
SHORTEST_KEY = 32


def _check_keys(config: dict[str, Any], env: str) -> None:
    """Refuse, in production, a key short enough to guess, or one key doing both jobs."""
    if env != "production":
        return
    keys = [("SECRET_KEY", config["SECRET_KEY"]), ("EMAIL_HASH_KEY", config["EMAIL_HASH_KEY"])]
    keys += [("SECRET_KEY_FALLBACKS", key) for key in config["SECRET_KEY_FALLBACKS"]]
    keys += [("EMAIL_HASH_KEY_FALLBACKS", key) for key in config["EMAIL_HASH_KEY_FALLBACKS"]]
    if config["METRICS_TOKEN"]:
        keys.append(("METRICS_TOKEN", config["METRICS_TOKEN"]))
    for name, key in keys:
        if len(key) < SHORTEST_KEY:
            raise SystemExit(
                f"{name} has a key of {len(key)} characters: one that short can be guessed. "
                f"Use at least {SHORTEST_KEY} random characters "
                "(python -c 'import secrets; print(secrets.token_hex(32))')."
            )
    if config["SECRET_KEY"] == config["EMAIL_HASH_KEY"]:
        raise SystemExit(
            "EMAIL_HASH_KEY is the same as SECRET_KEY: give each a random key of its own "
            "(SECRET_KEY is changed whenever it may have leaked; what EMAIL_HASH_KEY hashes is "
            "kept for years)."
        )


# Host names that mean this machine (not addresses to bind to).
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0")  # nosec B104


def _check_safe_for_production(config: dict[str, Any], env: str) -> None:
    """Refuse the defaults that would quietly break production: links to this machine or
    unencrypted, mail printed to a log nobody reads or sent from this machine's name."""
    if env != "production":
        return
    address = urlsplit(config["PUBLIC_URL"])
    host = (address.hostname or "").lower()
    if host in LOOPBACK_HOSTS or host.startswith("127.") or not host:
        if not config["ALLOW_LOCAL_PUBLIC_URL"]:
            raise SystemExit(
                f"PUBLIC_URL is {config['PUBLIC_URL']!r}: every link in every email would point "
                "at this machine. Set PUBLIC_URL to the address readers use (https://…)."
            )
    elif address.scheme != "https":
        raise SystemExit(
            f"PUBLIC_URL is {config['PUBLIC_URL']!r}: readers' links would carry their secrets, "
            "and staff their passwords, unencrypted. Serve the site over TLS (at nginx or the "
            "load balancer) and set PUBLIC_URL=https://…."
        )
    if config["MAIL_URL"] == "console" and not config["ALLOW_CONSOLE_MAIL"]:
        raise SystemExit(
            "MAIL_URL is console: no email would leave. Set MAIL_URL=smtp://… (or "
            "ALLOW_CONSOLE_MAIL=true on a staging site)."
        )
    sender = parseaddr(config["MAIL_FROM"])[1]
    domain = sender.rpartition("@")[2].lower()
    if config["MAIL_URL"] != "console" and (domain in LOOPBACK_HOSTS or "." not in domain):
        raise SystemExit(
            f"MAIL_FROM is {config['MAIL_FROM']!r}: relays refuse mail from such an address, "
            "and mailbox providers bin it. Set MAIL_FROM to an address on your own domain "
            "(e.g. 'Refugees Welcome <petition@news.example>'), one the relay may send for."
        )


def _dkim_key(config: dict[str, Any]) -> DkimKey | None:
    """The key that signs our mail, read once at start: a key that cannot sign stops the start
    rather than every message."""
    path, selector = config["MAIL_DKIM_KEY_FILE"], config["MAIL_DKIM_SELECTOR"]
    if not path and not selector:
        return None
    if not (path and selector):
        raise SystemExit(
            "MAIL_DKIM_KEY_FILE and MAIL_DKIM_SELECTOR go together: the key signs, and the "
            "selector says where in DNS its public half is (selector._domainkey.your-domain)."
        )
    from petition.mail.dkim import load_key

    domain = parseaddr(config["MAIL_FROM"])[1].rpartition("@")[2]
    try:
        return load_key(path, selector, domain)
    except ValueError as exc:
        raise SystemExit(
            f"MAIL_DKIM_KEY_FILE: {exc}. Make one with `openssl genpkey -algorithm RSA "
            "-pkeyopt rsa_keygen_bits:2048 -out dkim.pem`."
        ) from None


def _check_bounce_address(config: dict[str, Any]) -> None:
    """A plain address on a real domain, short enough to carry each message's token."""
    address = config["MAIL_BOUNCE_ADDRESS"]
    if not address:
        return
    from petition.mail.bounces import LOCAL_PART_ROOM

    local, _, domain = address.rpartition("@")
    if not re.fullmatch(rf"[A-Za-z0-9._-]{{1,{LOCAL_PART_ROOM}}}", local) or not re.fullmatch(
        r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", domain
    ):
        raise SystemExit(
            f"MAIL_BOUNCE_ADDRESS {address!r} is not a plain address: give one like "
            f"bounces@news.example (up to {LOCAL_PART_ROOM} letters, digits, dots or hyphens "
            "before the @; each message adds +token to it)."
        )


def image_origins(config: Any) -> tuple[str, ...]:
    """IMAGE_HOSTS as origins (https://host unless a scheme is given), in the order given."""
    entries = config["IMAGE_HOSTS"].replace(",", " ").split()
    return tuple(
        entry.rstrip("/").lower() if "://" in entry else f"https://{entry.lower()}"
        for entry in entries
    )


def _check_card_donations(config: dict[str, Any]) -> None:
    """Card donations are recorded when Stripe's webhook says they were paid: without its
    secret, no webhook can be believed, and money would be taken and never recorded."""
    if config["STRIPE_SECRET_KEY"] and not config["STRIPE_WEBHOOK_SECRET"]:
        raise SystemExit(
            "STRIPE_SECRET_KEY is set without STRIPE_WEBHOOK_SECRET: donations would be taken "
            "and never recorded. Add the webhook's signing secret (whsec_…, from Stripe's "
            "dashboard for the endpoint /stripe/webhook), or unset both to offer GoFundMe only."
        )


def _check_fundraiser(config: dict[str, Any]) -> None:
    """Donate links lead only to fundraiser hosts we allow; a configured one must be on them."""
    hosts = config["FUNDRAISER_HOSTS"]
    if isinstance(hosts, str):
        config["FUNDRAISER_HOSTS"] = frozenset(h.lower() for h in hosts.replace(",", " ").split())
    url = config["GOFUNDME_URL"]
    if url:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.scheme != "https" or host not in config["FUNDRAISER_HOSTS"]:
            raise SystemExit(
                f"Configuration error: GOFUNDME_URL must be an https:// address on one of "
                f"FUNDRAISER_HOSTS ({' '.join(sorted(config['FUNDRAISER_HOSTS']))})."
            )


def _check_organisation(config: dict[str, Any], env: str) -> None:
    """Readers are told who holds their data: production names an organisation and a contact."""
    if env == "development":
        config["ORGANISATION_NAME"] = config["ORGANISATION_NAME"] or "Refugees Welcome (dev)"
        config["PRIVACY_CONTACT"] = config["PRIVACY_CONTACT"] or "privacy@localhost"
        return
    missing = [name for name in ("ORGANISATION_NAME", "PRIVACY_CONTACT") if not config[name]]
    if missing:
        raise SystemExit(
            f"{' and '.join(missing)} not set: the privacy notice must say who holds readers' "
            "data and how to reach them (e.g. ORGANISATION_NAME='Example News Ltd', "
            "PRIVACY_CONTACT=privacy@example.org)."
        )


def _check_security_contact(config: dict[str, Any]) -> None:
    """SECURITY_CONTACT as security.txt's Contact lines: mailto: for an address, or https."""
    given = config["SECURITY_CONTACT"]
    contacts = []
    for contact in given.split() if isinstance(given, str) else given:
        if contact.startswith("https://") and urlsplit(contact).hostname:
            contacts.append(contact)
        elif re.fullmatch(r"(mailto:)?[^@\s:/]+@[^@\s:/]+\.[^@\s:/]+", contact):
            contacts.append(contact if contact.startswith("mailto:") else f"mailto:{contact}")
        else:
            raise SystemExit(
                f"SECURITY_CONTACT {contact!r} is neither an email address nor an https:// "
                "address: security.txt would send researchers nowhere."
            )
    config["SECURITY_CONTACT"] = tuple(contacts)


def _development_secret(instance: Path) -> str:
    """Generate a key once and keep it in the instance folder, so restarts keep links valid."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
