"""A real PgBouncer (Debian's package) in transaction mode in front of the test PostgreSQL, on a free
loopback port, for as long as a `with` block lasts."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from shared.testing.fakes.server import free_port


def pgbouncer_binary() -> str | None:
    return shutil.which("pgbouncer") or next(
        (p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.access(p, os.X_OK)), None
    )


@contextmanager
def running_pgbouncer(server_url: str, *, pool_size: int = 2) -> Iterator[str]:
    """Start PgBouncer in front of the server of `server_url` (a SQLAlchemy URL) and yield the same URL
    through it. `pool_size` server connections per database and user: few, so that the clients (every
    service's pool) share them and anything a client left on one would show in another's transaction."""
    binary = pgbouncer_binary()
    assert binary is not None
    server = make_url(server_url)
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    folder.chmod(0o755)  # readable by the unprivileged user it drops to when started as root
    user = server.username or "postgres"
    (folder / "userlist.txt").write_text(f'"{user}" "{server.password or ""}"\n', encoding="utf-8")
    (folder / "pgbouncer.ini").write_text(
        f"""[databases]
* = host={server.host or "127.0.0.1"} port={server.port or 5432}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder / "userlist.txt"}
pool_mode = transaction
default_pool_size = {pool_size}
reserve_pool_size = 0
max_client_conn = 500
server_reset_query =
""",
        encoding="utf-8",
    )
    for path in folder.iterdir():
        path.chmod(0o644)
    command = [binary]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        command += ["-u", next(u for u in ("postgres", "nobody") if _exists(u))]
    log = (folder / "pgbouncer.log").open("w", encoding="utf-8")
    process = subprocess.Popen([*command, str(folder / "pgbouncer.ini")], stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for(port, process, folder / "pgbouncer.log")
        yield server.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


def _exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True


def _wait_for(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"pgbouncer exited {process.returncode}: {log.read_text(encoding='utf-8')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"pgbouncer did not listen on {port}: {log.read_text(encoding='utf-8')}")
