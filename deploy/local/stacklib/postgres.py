"""PostgreSQL: Debian install, initdb, start, application role and database, health, stop."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from urllib.parse import unquote, urlsplit

from .health import port_open
from .host import apt_install, chown_tree, safe_mkdir
from .layout import Endpoint, Layout, endpoint, is_root
from .output import StackError, say
from .processes import (
    STOP_TIMEOUT,
    child_env,
    drop_privileges,
    pid_alive,
    run_checked,
    spawn,
    terminate,
)

PG_OS_USER = "postgres"
PG_SUPERUSER = "postgres"


def pg_user() -> str | None:
    """OS user PostgreSQL runs as (None: the invoking user)."""
    return PG_OS_USER if is_root() else None


def pg_install(lay: Layout) -> None:
    """apt-get install PostgreSQL when its server binaries are missing."""
    if (lay.pg_bin / "initdb").exists():
        return
    apt_install([f"postgresql-{lay.v('POSTGRES_MAJOR')}"])
    if not (lay.pg_bin / "initdb").exists():
        raise StackError(f"{lay.pg_bin}/initdb still missing after apt-get install")
    pg_stop_debian_clusters(endpoint("postgres").port)


def pg_stop_debian_clusters(port: int) -> None:
    """Stop a Debian default cluster that the fresh apt install started on our port."""
    if shutil.which("pg_lsclusters") is None:
        return
    res = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True)
    for line in res.stdout.splitlines():
        cols = line.split()
        if len(cols) >= 4 and cols[2] == str(port) and cols[3].startswith("online"):
            say("postgres", f"stopping Debian's default cluster {cols[0]}/{cols[1]} on {port}")
            subprocess.run(["pg_ctlcluster", cols[0], cols[1], "stop"], check=False)


def pg_init(lay: Layout) -> None:
    """initdb the cluster once (superuser `postgres`, trust on the private socket)."""
    user = pg_user()
    safe_mkdir(lay.pg_base, 0o700)
    safe_mkdir(lay.pg_sock, 0o700)
    chown_tree(lay.pg_base, user)
    if (lay.pg_data / "PG_VERSION").exists():
        return
    say("postgres", f"initdb {lay.pg_data}")
    run_checked(
        [
            str(lay.pg_bin / "initdb"),
            "-D",
            str(lay.pg_data),
            "-U",
            PG_SUPERUSER,
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
        ],
        "initdb",
        log=lay.log("postgres"),
        cwd=lay.pg_base,
        env=child_env(user, LANG="C.UTF-8"),
        **drop_privileges(user),
    )


def pg_start(lay: Layout, ep: Endpoint) -> subprocess.Popen[bytes]:
    """Install if needed, initdb once and start the postmaster."""
    pg_install(lay)
    pg_init(lay)
    argv = [
        str(lay.pg_bin / "postgres"),
        "-D",
        str(lay.pg_data),
        "-c",
        f"port={ep.port}",
        "-c",
        "listen_addresses=localhost",
        "-c",
        f"unix_socket_directories={lay.pg_sock}",
        "-c",
        "max_connections=200",
    ]
    user = pg_user()
    return spawn(lay, "postgres", argv, lay.pg_base, child_env(user, LANG="C.UTF-8"), user)


def pg_bootstrap(lay: Layout, ep: Endpoint) -> bool:
    """Create/refresh the application role and database from the DSN; False if not up yet."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(ep.url)
    role = unquote(parts.username or "skald")
    password = unquote(parts.password or "skald")
    dbname = unquote(parts.path.lstrip("/") or role)
    try:
        conn = psycopg.connect(
            host=str(lay.pg_sock),
            port=ep.port,
            user=PG_SUPERUSER,
            dbname="postgres",
            autocommit=True,
            connect_timeout=3,
        )
    except psycopg.OperationalError:
        return False
    with conn:
        exists = conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone()
        verb = "ALTER" if exists else "CREATE"
        conn.execute(
            sql.SQL(verb + " ROLE {} LOGIN CREATEDB PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(password)
            )
        )
        if not conn.execute("select 1 from pg_database where datname = %s", (dbname,)).fetchone():
            say("postgres", f"creating role {role!r} and database {dbname!r}")
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(dbname), sql.Identifier(role)
                )
            )
    return True


def pg_healthy(ep: Endpoint, timeout: float = 3.0) -> bool:
    """Whether `select 1` works with the application DSN."""
    if not port_open(ep.host, ep.port):
        return False
    import psycopg

    try:
        with psycopg.connect(ep.url, connect_timeout=max(1, int(timeout))) as conn:
            return conn.execute("select 1").fetchone() == (1,)
    except psycopg.Error:
        return False


def pg_stop(lay: Layout, pid: int) -> None:
    """Stop PostgreSQL with `pg_ctl stop -m fast`, falling back to signals."""
    user = pg_user()
    with contextlib.suppress(OSError):
        subprocess.run(
            [
                str(lay.pg_bin / "pg_ctl"),
                "stop",
                "-D",
                str(lay.pg_data),
                "-m",
                "fast",
                "-w",
                "-t",
                str(int(STOP_TIMEOUT)),
            ],
            cwd=lay.pg_base,
            env=child_env(user),
            capture_output=True,
            check=False,
            **drop_privileges(user),
        )
    if pid_alive(pid):
        terminate(pid)
