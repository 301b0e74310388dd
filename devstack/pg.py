"""A private PostgreSQL cluster on 127.0.0.1, in a folder we own.

When the environment names an external server (``PGHOST``), nothing is started
and the connection settings are taken from ``PGHOST``/``PGPORT``/``PGUSER``/
``PGPASSWORD`` instead.
"""

import glob
import os
import subprocess

from .util import (
    LOOPBACK,
    as_service_user,
    find_binary,
    free_port,
    give_to_service_user,
    stop_process,
    wait_port,
)

ODOO_ROLE = "odoo"  # Odoo refuses to connect as "postgres"


def _pg_bin(name):
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    found = find_binary(name, dirs)
    if not found:
        raise RuntimeError(
            f"PostgreSQL's {name} was not found: install Debian's postgresql package "
            "or set PGHOST, PGPORT, PGUSER and PGPASSWORD to use an existing server."
        )
    return found


class PostgresCluster:
    """Start (creating it if needed) a cluster in ``folder``; stop it on exit."""

    def __init__(self, folder, port=None):
        self.folder = os.path.abspath(folder)
        self.datadir = os.path.join(self.folder, "data")
        self.sockdir = os.path.join(self.folder, "sock")
        self.port = port
        self.proc = None
        self.external = bool(os.environ.get("PGHOST"))

    # connection settings for Odoo and psql
    @property
    def settings(self):
        if self.external:
            return {
                "db_host": os.environ["PGHOST"],
                "db_port": os.environ.get("PGPORT", "5432"),
                "db_user": os.environ.get("PGUSER", ODOO_ROLE),
                "db_password": os.environ.get("PGPASSWORD", ""),
            }
        return {"db_host": LOOPBACK, "db_port": str(self.port), "db_user": ODOO_ROLE, "db_password": "odoo"}

    def start(self):
        if self.external:
            return self
        os.makedirs(self.folder, exist_ok=True)
        fresh = not os.path.exists(os.path.join(self.datadir, "PG_VERSION"))
        if fresh:
            os.makedirs(self.datadir, exist_ok=True)
            give_to_service_user(self.folder)
            subprocess.run(
                as_service_user(
                    [
                        _pg_bin("initdb"),
                        "-D",
                        self.datadir,
                        "-U",
                        "postgres",
                        "--auth=trust",
                        "-E",
                        "UTF8",
                        "--locale=C.UTF-8",
                    ]
                ),
                check=True,
                stdout=subprocess.DEVNULL,
            )
        os.makedirs(self.sockdir, exist_ok=True)
        give_to_service_user(self.sockdir)
        self.port = self.port or free_port()
        self.proc = subprocess.Popen(
            as_service_user(
                [
                    _pg_bin("postgres"),
                    "-D",
                    self.datadir,
                    "-h",
                    LOOPBACK,
                    "-p",
                    str(self.port),
                    "-k",
                    self.sockdir,
                    "-c",
                    "fsync=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "max_connections=200",
                ]
            ),
            stdout=open(os.path.join(self.folder, "postgres.log"), "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_port(self.port, 60, self.proc)
        self._wait_ready()
        if fresh:
            self.psql(f"CREATE ROLE {ODOO_ROLE} LOGIN SUPERUSER PASSWORD 'odoo'", user="postgres")
        return self

    def _wait_ready(self):
        for _ in range(200):
            done = subprocess.run([_pg_bin("pg_isready"), "-h", LOOPBACK, "-p", str(self.port), "-q"], check=False)
            if done.returncode == 0:
                return
            if self.proc.poll() is not None:
                break
            subprocess.run(["sleep", "0.1"], check=False)
        raise RuntimeError(f"PostgreSQL did not start; see {self.folder}/postgres.log")

    def psql(self, sql, user=None, dbname="postgres"):
        env = dict(os.environ, PGPASSWORD=self.settings["db_password"])
        return subprocess.run(
            [
                "psql",
                "-X",
                "-q",
                "-tA",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                self.settings["db_host"],
                "-p",
                self.settings["db_port"],
                "-U",
                user or self.settings["db_user"],
                "-d",
                dbname,
                "-c",
                sql,
            ],
            check=True,
            env=env,
            capture_output=True,
            text=True,
        ).stdout

    def drop_database(self, name):
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self):
        stop_process(self.proc, 30)
        self.proc = None

    def restart(self):
        """A fast shutdown (every session ends at once), then a start on the same port
        with the same data."""
        stop = [_pg_bin("pg_ctl"), "stop", "-D", self.datadir, "-m", "fast", "-w"]
        subprocess.run(as_service_user(stop), check=True, capture_output=True)
        self.proc.wait(60)
        self.proc = None
        return self.start()

    def copy_database(self, name, source):
        """Database ``name`` of another server (``source``: its ``settings``) copied here
        (``pg_dump | psql``)."""
        self.psql(f'CREATE DATABASE "{name}"')
        dump = subprocess.Popen(
            [_pg_bin("pg_dump"), "--no-owner", "-d", name, *_where(source)],
            stdout=subprocess.PIPE,
            env=dict(os.environ, PGPASSWORD=source["db_password"] or ""),
        )
        subprocess.run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", name, *_where(self.settings)],
            stdin=dump.stdout,
            stdout=subprocess.DEVNULL,
            env=dict(os.environ, PGPASSWORD=self.settings["db_password"]),
            check=True,
        )
        dump.stdout.close()
        if dump.wait() != 0:
            raise RuntimeError(f"pg_dump of {name} failed")

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _where(settings):
    """psql's and pg_dump's options to reach the server of ``settings``."""
    return ["-h", settings["db_host"], "-p", str(settings["db_port"]), "-U", settings["db_user"]]
