"""The listener inside the Odoo server: real Odoo servers (``odoo`` with the addon loaded
server-wide, HTTP on a free port, no cron thread) on the test database (committed data,
removed afterwards) and the local Dovecot.

* threaded server: a message appended to a connected mailbox's Inbox is in Odoo within
  seconds, synced by the server process itself (it holds the mailbox's lock), no cron
  run; SIGTERM stops the server and lets the mailbox go;
* prefork server (two HTTP workers): the listener is a process of its own, a child of
  the server; killed, it is started again and holds the mailbox again while the server
  goes on answering; SIGTERM stops the server and leaves no listener process behind;
* a server's listener and a ``mailbox-listen`` command never hold the same mailbox; the
  server's takes over those of the command killed.
"""

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import psutil

import odoo
from odoo import sql_db
from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL, config

from ..devstack.util import free_port
from . import test_listener
from .test_listener import DEADLINE

ADDON = "mail_connected_mailbox"


def odoo_command():
    """How to start Odoo: its script, which a prefork server runs again for its websocket
    process (``python -m odoo`` cannot be run again that way)."""
    for script in (
        os.path.join(os.path.dirname(sys.executable), "odoo"),
        os.path.join(os.path.dirname(os.path.dirname(odoo.__file__)), "odoo-bin"),
    ):
        if os.path.isfile(script):
            return [sys.executable, script]
    return [sys.executable, "-m", "odoo"]


@tagged("post_install", "-at_install")
class TestListenerServer(test_listener.ListenerMixin, TransactionCase):
    def server(self, *options, dbfilter=None):
        """An Odoo server on the test database (or on those ``dbfilter`` lets through) with
        the addon loaded server-wide, HTTP on a free port, no cron thread (what is synced
        came through the listener)."""
        port = free_port()
        log = tempfile.TemporaryFile("w+")  # noqa: SIM115 (read when the test fails)
        self.addCleanup(log.close)
        process = subprocess.Popen(
            [
                *odoo_command(),
                f"--addons-path={config['addons_path']}",
                "-c",
                config.rcfile,
                *(["-d", self.env.cr.dbname] if dbfilter is None else [f"--db-filter={dbfilter}"]),
                f"--load=base,web,{ADDON}",
                "--http-interface=127.0.0.1",
                f"--http-port={port}",
                "--max-cron-threads=0",
                "--log-level=warn",
                *options,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        process.log, process.http_port = log, port
        self.processes.append(process)
        return process

    def wait_until(self, condition, what, process=None):
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            found = condition()
            if found:
                return found
            if process is not None and process.poll() is not None:
                self.fail(f"the Odoo process ended ({process.returncode}): {self.output(process)}")
            time.sleep(0.2)
        self.fail(f"never came: {what}" + (f"\n{self.output(process)}" if process is not None else ""))

    def output(self, process):
        if not hasattr(process, "log"):
            return process.stderr.read()[-3000:]
        process.log.seek(0)
        return process.log.read()[-3000:]

    def stop(self, process):
        """SIGTERM, as a service manager stops the server; its exit code."""
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            self.fail(f"the server did not stop on SIGTERM: {self.output(process)}")

    def answers(self, process):
        with urllib.request.urlopen(f"http://127.0.0.1:{process.http_port}/web/health", timeout=10) as response:
            return response.status == 200

    @staticmethod
    def gone(pid):
        try:
            return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    # -- tests ---------------------------------------------------------------------------
    def plain_database(self):
        """A database without Odoo in it (the server serves it too; its listener skips it)."""
        name = f"{self.env.cr.dbname}_plain"
        with contextlib.closing(sql_db.db_connect("postgres").cursor()) as cr:
            cr._cnx.autocommit = True
            cr.execute(SQL("CREATE DATABASE %s", SQL.identifier(name)))
        self.addCleanup(self.drop_database, name)
        return name

    @staticmethod
    def drop_database(name):
        with contextlib.closing(sql_db.db_connect("postgres").cursor()) as cr:
            cr._cnx.autocommit = True
            cr.execute(SQL("DROP DATABASE IF EXISTS %s WITH (FORCE)", SQL.identifier(name)))

    def test_a_threaded_server_syncs_new_mail_at_once_and_stops_with_its_listener(self):
        (box_id,) = self.mailboxes(1)
        plain = self.plain_database()
        # no -d: the databases the filter lets through, one without the addon
        server = self.server("--workers=0", dbfilter=f"^({self.env.cr.dbname}|{plain})$")
        self.wait_until(lambda: self.holders([box_id]), "the server's listener holds the mailbox", server)
        self.assertEqual(self.holders([box_id]), {box_id: server.pid})  # in the server process itself
        message_id = self.append()
        self.wait_until(lambda: self.synced([box_id], message_id), "the new message in Odoo", server)
        self.assertTrue(self.answers(server))
        self.assertEqual(self.stop(server), 0, self.output(server))
        self.assertEqual(self.holders([box_id]), {})  # the mailbox let go: another listener may take it
        self.assertNotIn(plain, self.output(server))  # skipped quietly

    def test_a_prefork_server_runs_its_listener_in_a_process_it_starts_again_and_stops(self):
        (box_id,) = self.mailboxes(1)
        server = self.server("--workers=2")
        holder = self.wait_until(lambda: self.holders([box_id]).get(box_id), "the listener holds the mailbox", server)
        self.assertNotEqual(holder, server.pid)
        self.assertEqual(psutil.Process(holder).ppid(), server.pid)  # a process of the server's
        message_id = self.append()
        self.wait_until(lambda: self.synced([box_id], message_id), "the new message in Odoo", server)

        psutil.Process(holder).kill()  # the listener dies: the server starts another one

        def another():
            pid = self.holders([box_id]).get(box_id)
            return pid if pid not in (None, holder) else None

        again = self.wait_until(another, "a new listener process", server)
        self.assertEqual(psutil.Process(again).ppid(), server.pid)
        self.assertTrue(self.answers(server))
        message_id = self.append()
        self.wait_until(lambda: self.synced([box_id], message_id), "the next message in Odoo", server)

        self.assertEqual(self.stop(server), 0, self.output(server))
        self.wait_until(lambda: self.gone(again), "the listener process gone with the server")
        self.assertEqual(self.holders([box_id]), {})

    def test_a_server_and_a_command_never_hold_one_mailbox_and_the_server_takes_over(self):
        ids = self.mailboxes(2)
        command = self.listener()
        self.wait_until(lambda: set(self.holders(ids)) == set(ids), "the command holds the mailboxes", command)
        server = self.server("--workers=0")
        self.wait_until(lambda: self.tried_locks(server.pid), "the server's listener scanned", server)
        self.assertEqual(set(self.holders(ids).values()), {command.pid})  # none taken from the command
        command.send_signal(signal.SIGKILL)
        command.wait(timeout=30)
        self.wait_until(
            lambda: self.holders(ids) == dict.fromkeys(ids, server.pid), "the server took them over", server
        )
        message_id = self.append()
        self.wait_until(lambda: self.synced(ids, message_id) == set(ids), "the new message in Odoo", server)
