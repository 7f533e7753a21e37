"""A real PostgreSQL server for the tests: initdb + pg_ctl from the Debian `postgresql` package.

One server per test session, in a temporary directory, on a free loopback port
(and a Unix socket in the same directory); every test that asks gets a fresh
database on it. Where the binaries are missing the tests skip, saying how to
install them (`apt-get install postgresql`); in CI (.ci/run installs them)
nothing skips. PostgreSQL refuses to run as root, so as root the server runs
as the `postgres` user the package creates (`runuser`).

pytest-postgresql's executor was the first choice, but it runs initdb as the
current user, which PostgreSQL refuses for root (CI's user); this is the
same few commands with that one difference.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Iterator, Optional

import pytest

INSTALL_HINT = "PostgreSQL binaries not found: install them with `apt-get install postgresql` (Debian/Ubuntu)"
USER = "faqbot"


def find_bindir() -> Optional[Path]:
    """The folder holding initdb and pg_ctl ($FAQBOT_PG_BINDIR, pg_config, PATH, /usr/lib/postgresql/*/bin)."""
    candidates = [os.environ.get("FAQBOT_PG_BINDIR", "")]
    if shutil.which("pg_config"):
        try:
            candidates.append(subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, timeout=10).stdout.strip())
        except (OSError, subprocess.SubprocessError):
            pass
    if shutil.which("pg_ctl"):
        candidates.append(str(Path(shutil.which("pg_ctl")).parent))
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True)
    for folder in candidates:
        if folder and (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self, bindir: Path, root: Path):
        self.bindir = bindir
        self.root = root
        self.data = root / "data"
        self.port = _free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("running as root and there is no `postgres` user to run PostgreSQL as (apt-get install postgresql creates it)")
            self.as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(root, "postgres")
            os.chmod(root, 0o755)

    def _run(self, *cmd: str, timeout: float = 60) -> None:
        result = subprocess.run([*self.as_user, *cmd], capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {result.stdout}\n{result.stderr}")

    def start(self) -> None:
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", USER, "-A", "trust", "-E", "UTF8", "--no-locale")
        self.resume()

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def resume(self) -> None:
        """Start again after stop(), on the same port and data."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", self._options(), "-l", str(self.root / "log"), "-w", "start")

    def restart(self) -> None:
        """Stop (immediate: like a crash, connections cut) and start again on the same port."""
        self.stop("immediate")
        self.resume()

    def _options(self) -> str:
        return f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=200"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user={USER} dbname=postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = find_bindir()
    if bindir is None:
        if os.environ.get("FAQBOT_REQUIRE_POSTGRES"):  # CI (.ci/run): nothing skips
            pytest.fail(INSTALL_HINT)
        pytest.skip(INSTALL_HINT)
    root = Path(tempfile.mkdtemp(prefix="faqbot-pg-"))
    server = PostgresServer(bindir, root)
    server.start()
    try:
        yield server
    finally:
        try:
            server.stop("immediate")
        finally:
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that takes it runs twice: SQLite in tmp_path, and a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return ""  # the default: SQLite in the data directory
    return request.getfixturevalue("postgres_server").new_database()
