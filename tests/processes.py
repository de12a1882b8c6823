"""Parts that run as processes of their own: gunicorn servers, workers, and a PostgreSQL and a
Redis that a test may stop and start at will (never the machine's own servers)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.parts import free_port, libpq_url, require_part

ROOT = Path(__file__).resolve().parent.parent


def production_env(database_url: str, **extra: str) -> dict[str, str]:
    """The service configured as the README's production section says, plus `extra`."""
    inherited = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    return {
        **inherited,
        "APP_ENV": "production",
        "SECRET_KEY": "a-secret-for-tests-and-benchmarks",
        "EMAIL_HASH_KEY": "an-email-hash-key-for-tests-and-benchmarks",
        "ORGANISATION_NAME": "Example News Ltd",
        "PRIVACY_CONTACT": "privacy@example.org",
        "DATABASE_URL": database_url,
        "EMBEDDED_WORKER": "false",
        # Every request comes from one address here; real readers come from many.
        "RATELIMIT_ENABLED": "false",
        "MAIL_URL": "console",
        "MAIL_FROM": "Refugees Welcome <petition@petition.example>",
        # A test run on one machine: links point here and mail may go to the log.
        "ALLOW_LOCAL_PUBLIC_URL": "true",
        "ALLOW_CONSOLE_MAIL": "true",
        **extra,
    }


def production_settings(tmp_path: Path) -> dict[str, str]:
    """Everything production requires, set to values that start: tests take one away."""
    return {
        "APP_ENV": "production",
        "SECRET_KEY": "x" * 32,
        "EMAIL_HASH_KEY": "y" * 32,
        "ORGANISATION_NAME": "Example News Ltd",
        "PRIVACY_CONTACT": "privacy@example.org",
        "PUBLIC_URL": "https://petition.example",
        "MAIL_URL": "smtp://mail.example:25",
        "MAIL_FROM": "Refugees Welcome <petition@petition.example>",
        "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
        "INSTANCE_PATH": str(tmp_path),
    }


def flask_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`flask --app app ARGS…` in a process of its own, as an operator runs it."""
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


def prepare_database(env: dict[str, str]) -> None:
    """`db upgrade` and `seed`, as the README's production section says."""
    for command in (("db", "upgrade"), ("seed",)):
        result = flask_command(env, *command)
        assert result.returncode == 0, result.stderr


WORKER = [sys.executable, "-m", "flask", "--app", "app", "worker"]


class Gunicorn:
    """The app under gunicorn, configured by the project's gunicorn.conf.py, on a free port."""

    def __init__(self, app_spec: str, env: dict[str, str], public_url: str | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**env, "PUBLIC_URL": public_url or self.url}
        self.log = Path(tempfile.mkstemp(prefix="gunicorn-", suffix=".log")[1])
        self.app_spec = app_spec
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Gunicorn:
        args = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")]
        args += ["--bind", f"127.0.0.1:{self.port}", self.app_spec]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                args,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until_up(f"{self.url}/healthz", self.process, self.log)
        return self

    def worker_pids(self) -> list[int]:
        """The pids of gunicorn's worker processes (children of the master)."""
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(30)

    def __enter__(self) -> Gunicorn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def gunicorn(app_spec: str, env: dict[str, str]) -> Iterator[str]:
    with Gunicorn(app_spec, env) as server:
        yield server.url


@contextmanager
def background(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """A long-running command (e.g. `flask worker`), stopped with SIGTERM at the end."""
    process = subprocess.Popen(
        args,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(30)


def wait_for_port(
    port: int, process: subprocess.Popen[bytes], name: str, log: Path, timeout: float
) -> None:
    """Until a server of ours takes connections on a loopback port; its log's end if it dies
    or never does."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start: {_tail(log)}") from None
            time.sleep(0.05)


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:] if log.exists() else "no log"


def wait_until_up(
    url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 30
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not come up at {url}:\n{log.read_text()[-3000:]}")


def _postgres_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return versions[-1].parent if versions else None


class PrivatePostgres:
    """A PostgreSQL server of the test's own, in a temporary folder, on a free port."""

    def __init__(self) -> None:
        bindir = _postgres_bin()
        if bindir is None:
            require_part(
                "PostgreSQL server binaries", "pg_ctl", "not installed (apt-get install postgresql)"
            )
        assert bindir is not None
        self.bindir = bindir
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="private-pg-"))
        self.data = self.folder / "data"
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=False)

    def start(self) -> PrivatePostgres:
        if not self.data.exists():
            if os.geteuid() == 0:
                shutil.chown(self.folder, "postgres", "postgres")
            made = self._run(
                "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync"
            )
            if made.returncode:
                raise RuntimeError(f"initdb failed: {made.stderr}")
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        started = self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "log"),
            "-w",
            "start",
        )
        if started.returncode:
            log = (self.folder / "log").read_text()[-2000:]
            raise RuntimeError(f"pg_ctl start failed: {started.stderr}\n{log}")
        return self

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


class PrivateRedis:
    """A Redis of the test's own, on a free port, that keeps nothing on disk."""

    def __init__(self) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            require_part("Redis", "redis-server", "not installed (apt-get install redis-server)")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> PrivateRedis:
        assert self.binary is not None
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url).ping()
                return self
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


class PgBouncer:
    """Debian's PgBouncer on a free loopback port, in transaction pooling mode, in front of a
    PostgreSQL server (how many app hosts share one database)."""

    def __init__(self, server_url: str, pool_size: int = 10) -> None:
        self.pool_size = pool_size
        binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        if not Path(binary).exists():
            require_part("PgBouncer", "pgbouncer", "not installed (apt-get install pgbouncer)")
        self.binary = binary
        parts = urlsplit(libpq_url(server_url))
        self.target = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
        self.process: subprocess.Popen[bytes] | None = None

    def url_for(self, database_url: str) -> str:
        """The same database, through PgBouncer."""
        parts = urlsplit(database_url)
        return urlunsplit(parts._replace(netloc=f"postgres@127.0.0.1:{self.port}"))

    def start(self) -> PgBouncer:
        host, port = self.target
        (self.folder / "userlist.txt").write_text('"postgres" ""\n')
        (self.folder / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host={host} port={port}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\n"
            f"auth_type = trust\nauth_file = {self.folder}/userlist.txt\n"
            "pool_mode = transaction\nunix_socket_dir =\n"
            f"logfile = {self.folder}/pgbouncer.log\n"
            f"max_client_conn = 500\ndefault_pool_size = {self.pool_size}\n"
            "ignore_startup_parameters = extra_float_digits,options\n"
        )
        command = [self.binary, str(self.folder / "pgbouncer.ini")]
        if os.geteuid() == 0:  # PgBouncer refuses to run as root
            shutil.chown(self.folder, "postgres", "postgres")
            for path in self.folder.iterdir():
                shutil.chown(path, "postgres", "postgres")
            command = ["runuser", "-u", "postgres", "--", *command]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        wait_for_port(self.port, self.process, "PgBouncer", self.folder / "pgbouncer.log", 10)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(10)
        shutil.rmtree(self.folder, ignore_errors=True)


BROTLI_MODULE = "/usr/lib/nginx/modules/ngx_http_brotli_filter_module.so"


class Nginx:
    """Debian's nginx with the shipped config (deploy/nginx/petition.conf) in front of a server
    of ours: the upstream and the listen address are the only things changed."""

    def __init__(self, upstream: str) -> None:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(binary).exists():
            require_part("nginx", "nginx", "not installed (apt-get install nginx)")
        self.binary = binary
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.folder = Path(tempfile.mkdtemp(prefix="nginx-"))
        site = (ROOT / "deploy" / "nginx" / "petition.conf").read_text()
        site = site.replace("server web:8000;", f"server {upstream};")
        site = site.replace("listen 80;", f"listen 127.0.0.1:{self.port};")
        (self.folder / "petition.conf").write_text(site)
        # Brotli as deployed where the module is installed (deploy/nginx/brotli.conf).
        self.brotli = Path(BROTLI_MODULE).exists()
        if self.brotli:
            brotli = (ROOT / "deploy" / "nginx" / "brotli.conf").read_text()
            (self.folder / "petition-brotli.conf").write_text(brotli)
        temp = self.folder / "temp"
        temp.mkdir()
        # Run as root, nginx's workers are `nobody`: they must reach the folder and write the
        # request bodies they buffer (a picture upload) into `temp`.
        self.folder.chmod(0o755)
        temp.chmod(0o777)
        (self.folder / "nginx.conf").write_text(
            (f"load_module {BROTLI_MODULE};\n" if self.brotli else "")
            + f"pid {self.folder}/nginx.pid;\n"
            f"error_log {self.folder}/error.log warn;\n"
            "worker_processes 1;\n"
            "events { worker_connections 2048; }\n"
            "http {\n"
            f"  access_log off;\n  client_body_temp_path {temp}/body;\n"
            f"  proxy_temp_path {temp}/proxy;\n  fastcgi_temp_path {temp}/fastcgi;\n"
            f"  uwsgi_temp_path {temp}/uwsgi;\n  scgi_temp_path {temp}/scgi;\n"
            f"  include {self.folder}/petition.conf;\n"
            "}\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    def check(self) -> subprocess.CompletedProcess[str]:
        """`nginx -t` on the configuration."""
        return subprocess.run(
            [self.binary, "-t", "-c", str(self.folder / "nginx.conf"), "-p", str(self.folder)],
            capture_output=True,
            text=True,
            check=False,
        )

    def start(self) -> Nginx:
        self.process = subprocess.Popen(
            [
                self.binary,
                "-c",
                str(self.folder / "nginx.conf"),
                "-p",
                str(self.folder),
                "-g",
                "daemon off;",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until_up(f"{self.url}/healthz", self.process, self.folder / "error.log")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(10)
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Nginx:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# Postfix's own services, none chrooted (the instance lives in a temporary folder).
POSTFIX_SERVICES = """\
pickup     unix  n  -  n  60     1  pickup
cleanup    unix  n  -  n  -      0  cleanup
qmgr       unix  n  -  n  300    1  qmgr
tlsmgr     unix  -  -  n  1000?  1  tlsmgr
rewrite    unix  -  -  n  -      -  trivial-rewrite
bounce     unix  -  -  n  -      0  bounce
defer      unix  -  -  n  -      0  bounce
trace      unix  -  -  n  -      0  bounce
verify     unix  -  -  n  -      1  verify
flush      unix  n  -  n  1000?  0  flush
proxymap   unix  -  -  n  -      -  proxymap
proxywrite unix  -  -  n  -      1  proxymap
smtp       unix  -  -  n  -      -  smtp
relay      unix  -  -  n  -      -  smtp
showq      unix  n  -  n  -      -  showq
error      unix  -  -  n  -      -  error
retry      unix  -  -  n  -      -  error
discard    unix  -  -  n  -      -  discard
anvil      unix  -  -  n  -      1  anvil
scache     unix  -  -  n  -      1  scache
postlog    unix-dgram n - n -    1  postlogd
"""


class Postfix:
    """Debian's Postfix as the relay a newspaper runs: it takes our mail on a loopback port and
    passes it on to the domains' mail servers (here, SMTP servers of the tests', by
    `routes`: domain → port), and when one refuses an address it writes the bounce itself and
    sends it to the message's envelope sender, as a real smarthost does."""

    def __init__(self, routes: dict[str, int]) -> None:
        binary = shutil.which("postfix") or "/usr/sbin/postfix"
        if not Path(binary).exists():
            require_part("Postfix", "postfix", "not installed (apt-get install postfix)")
        if os.geteuid() != 0:
            require_part("Postfix", "postfix", "a Postfix instance of its own needs root")
        self.binary = binary
        self.port = free_port()
        self.url = f"smtp://127.0.0.1:{self.port}"
        self.folder = Path(tempfile.mkdtemp(prefix="postfix-"))
        self.folder.chmod(0o755)
        conf = self.folder / "conf"
        conf.mkdir()
        (self.folder / "queue").mkdir()
        data = self.folder / "data"
        data.mkdir()
        shutil.chown(data, "postfix")
        (self.folder / "transport").write_text(
            "".join(f"{domain} smtp:[127.0.0.1]:{port}\n" for domain, port in routes.items())
        )
        (conf / "main.cf").write_text(
            "compatibility_level = 3.6\n"
            f"queue_directory = {self.folder}/queue\n"
            f"data_directory = {data}\n"
            f"maillog_file = {self.folder}/maillog\n"
            f"maillog_file_prefixes = {self.folder}\n"
            "myhostname = relay.test\nmydestination =\n"
            "inet_protocols = ipv4\nmynetworks = 127.0.0.0/8\n"
            f"transport_maps = texthash:{self.folder}/transport\n"
            "smtp_tls_security_level = none\nbiff = no\n"
            "alias_maps =\nalias_database =\n"
        )
        (conf / "master.cf").write_text(
            f"127.0.0.1:{self.port} inet n - n - - smtpd\n" + POSTFIX_SERVICES
        )
        self.conf = conf
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Postfix:
        # Makes the queue's folders, owned as Postfix wants them.
        made = subprocess.run(
            [self.binary, "-c", str(self.conf), "check"], capture_output=True, text=True
        )
        if made.returncode:
            raise RuntimeError(f"postfix check: {made.stderr}{self.log()}")
        self.process = subprocess.Popen(
            [self.binary, "-c", str(self.conf), "start-fg"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for_port(self.port, self.process, "Postfix", self.folder / "maillog", 20)
        return self

    def log(self) -> str:
        return _tail(self.folder / "maillog")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            subprocess.run([self.binary, "-c", str(self.conf), "stop"], capture_output=True)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        shutil.rmtree(self.folder, ignore_errors=True)
