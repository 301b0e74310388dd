"""The sync under faults, in real Odoo processes (``odoo shell``) on committed data, with
the stack's TCP proxy between Odoo and the IMAP server:

* the process killed (SIGKILL) in the middle of a backfill batch, of a flag change
  made in Odoo, of the Sent copy's append;
* the IMAP server restarted, the connection cut in the middle of a ``FETCH`` literal,
  PostgreSQL restarted, each while a sync is under way.

After each, the next runs alone (no repair) leave exactly the server's messages (every
Message-ID once, read and starred as on the server), and the mailbox says what happened.
"""

import collections
import secrets
import shutil
import signal
import tempfile
import threading
from datetime import UTC, datetime, timedelta

from imapclient import IMAPClient

from odoo.tests import TransactionCase, tagged

from ..devstack.pg import PostgresCluster
from ..devstack.tcp_proxy import DOWN, Proxy
from ..devstack.testkit import stack_parameters
from .common import (
    OdooProcessesMixin,
    StackMixin,
    configure_stack,
    custom_mailbox_values,
    received_all,
)

BOB = "bob@mail.test"
ALICE = "alice@mail.test"
MESSAGES = 150
READ = len(range(0, MESSAGES, 3))  # read on the server from the start
BUDGET = 50  # messages per round: a round is one batch, committed with its checkpoint
PARAMS = ("mail_connected_mailbox.sync_budget",)
HEADER = b"BODY[HEADER.FIELDS (MESSAGE-ID)]"

# sync rounds of one mailbox as the cron runs them, each committed, until it is up to
# date or a round fails (the failure is then on the mailbox's sync row)
ROUNDS = """
Mailbox = env["mail.mailbox"]
for _round in range(40):
    Mailbox._ensure_sync_rows()
    claimed = Mailbox._claim_sync(ids=[{box_id}], limit=1)
    assert claimed, "not claimed"
    more = claimed._sync_round()
    env.cr.commit()
    if not more:
        break
print("ROUNDS", _round + 1)
"""


# the same rounds as the cron runs them, each on a new cursor: a round whose database
# went away fails, the next one goes on (as the cron's next run would)
PG_ROUNDS = """
import os, sys, time
import psycopg2
from odoo import SUPERUSER_ID, api
lost = 0
for _round in range(60):
    try:
        with env.registry.cursor() as cr:
            Mailbox = api.Environment(cr, SUPERUSER_ID, {{}})["mail.mailbox"]
            Mailbox._ensure_sync_rows()
            claimed = Mailbox._claim_sync(ids=[{box_id}], limit=1)
            assert claimed, "not claimed"
            more = claimed._sync_round()
    except (psycopg2.OperationalError, psycopg2.InterfaceError):
        lost += 1
        time.sleep(0.5)
        continue
    if not more:
        break
print("LOST", lost)
sys.stdout.flush()
os._exit(0)  # the shell's own cursor went with the restart: nothing of it to close
"""


# what the private cluster holds, read with psql
MESSAGES_SQL = "SELECT mailbox_id, message_id_header, seen, flagged FROM mail_mailbox_message"
STATUS = (
    "SELECT m.id, m.state, coalesce(s.problem, ''), coalesce(s.failures_in_row, 0), s.remaining, "
    "s.last_sync_date IS NOT NULL, coalesce(f.sync_problem, ''), f.last_sync_date IS NOT NULL "
    "FROM mail_mailbox m JOIN mail_mailbox_sync s ON s.mailbox_id = m.id "
    "JOIN mail_mailbox_folder f ON f.mailbox_id = m.id"
)


def body_line(line):
    return line.startswith(b"* ") and b" FETCH " in line and b"BODY[] {" in line


def cluster_options(cluster):
    """Odoo's options that point a process at ``cluster`` (a private PostgreSQL)."""
    return [f"--{key}={value}" for key, value in cluster.settings.items()]


@tagged("post_install", "-at_install")
class TestSyncFaults(StackMixin, OdooProcessesMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._require_stack()

    def setUp(self):
        super().setUp()
        self.ids = []
        self.imap = self.client(self.stack["imap_port"])
        self.paths = []
        with self.committed() as env:
            params = env["ir.config_parameter"]
            self.before = {key: params.get_param(key) for key in [*stack_parameters(self.stack), *PARAMS]}
            configure_stack(env, self.stack)
            params.set_param(PARAMS[0], str(BUDGET))
        self.addCleanup(self.cleanup)
        self.proxy = Proxy(self.stack["imap_port"]).start()
        self.addCleanup(self.proxy.stop)

    def cleanup(self):
        with self.committed() as env:
            env["mail.mailbox"].with_context(active_test=False).browse(self.ids).unlink()
            for key, value in self.before.items():
                env["ir.config_parameter"].set_param(key, value or False)
        for path in self.paths:
            self.imap.delete_folder(path)
        self.imap.logout()

    # ------------------------------------------------------------------ helpers
    def unlink_committed(self, model, record_id):
        with self.committed() as env:
            env[model].browse(record_id).exists().unlink()

    def client(self, port, address=BOB):
        imap = IMAPClient("127.0.0.1", port=port, ssl=False, timeout=10)
        imap.login(address, self.stack["accounts"][address])
        return imap

    def fill(self, imap, count=MESSAGES):
        """A new folder of ``count`` messages over 50 days, a third read, a seventh starred."""
        path = "Faults-" + secrets.token_hex(3)
        imap.create_folder(path)
        for n in range(count):
            raw = (
                f"From: lead{n}@customer.test\r\nTo: {BOB}\r\nSubject: m{n}\r\n"
                f"Message-ID: <{secrets.token_hex(8)}@customer.test>\r\n\r\nHello {n}\r\n" + "x" * 400 + "\r\n"
            ).encode()
            flags = [b"\\Seen"] * (n % 3 == 0) + [b"\\Flagged"] * (n % 7 == 0)
            imap.append(path, raw, flags=flags, msg_time=datetime.now(UTC) - timedelta(days=n % 50))
        return path

    def mailbox(self, paths, port=None, address=None, **values):
        """A connected custom mailbox of Bob's account, its IMAP through the proxy, syncing ``paths``."""
        address = address or f"faults-{secrets.token_hex(3)}@custom.test"
        with self.committed() as env:
            box = env["mail.mailbox"].create(
                {
                    **custom_mailbox_values(self.stack, address, login=BOB),
                    "imap_port": port or self.proxy.port,
                    "password": self.stack["accounts"][BOB],
                    **values,
                }
            )
            box._set_state("connected")
            for path in paths:
                env["mail.mailbox.folder"].create({"mailbox_id": box.id, "path": path, "name": path, "selected": True})
            self.ids.append(box.id)
            return box.id

    def sync(self, box_id, **kwargs):
        """Sync rounds in a new Odoo process until the mailbox is up to date or a round fails."""
        return self.finished(self.odoo_process(ROUNDS.format(box_id=box_id)), **kwargs)

    def killer(self):
        """``(holder, kill)``: ``kill()`` SIGKILLs ``holder["process"]`` and waits for it,
        then cuts the proxy's connections (what the dead process had sent stops there)."""
        holder = {"killed": threading.Event()}

        def kill():
            process = holder["process"]
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            self.proxy.drop_all()
            holder["killed"].set()

        return holder, kill

    def wait_killed(self, holder):
        self.assertTrue(holder["killed"].wait(180), "the process was never killed")
        process = holder["process"]
        self.assertEqual(process.returncode, -signal.SIGKILL, process.stderr.read()[-2000:])

    def stored(self, box_id):
        with self.committed() as env:
            return (
                env["mail.mailbox.message"].with_context(active_test=False).search_count([("mailbox_id", "=", box_id)])
            )

    def server_marks(self, imap, paths):
        """{Message-ID: (read, starred)} of the server: read or starred in any folder."""
        marks = {}
        for path in paths:
            imap.select_folder(path, readonly=True)
            uids = imap.search(["ALL"])
            for data in imap.fetch(uids, ["FLAGS", "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]).values():
                key = data[HEADER].decode().split(":", 1)[1].strip()
                seen, flagged = marks.get(key, (False, False))
                marks[key] = (seen or b"\\Seen" in data[b"FLAGS"], flagged or b"\\Flagged" in data[b"FLAGS"])
        return marks

    def assert_exactly_the_server_s(self, box_id, imap, paths, count=MESSAGES):
        """Every Message-ID of the server once, read and starred as there; the mailbox,
        its sync and its folders say all is well."""
        expected = self.server_marks(imap, paths)
        self.assertEqual(len(expected), count)
        with self.committed() as env:
            messages = env["mail.mailbox.message"].with_context(active_test=False).search([("mailbox_id", "=", box_id)])
            twice = [key for key, n in collections.Counter(messages.mapped("message_id_header")).items() if n > 1]
            self.assertEqual(twice, [])
            self.assertEqual(len(set(messages.mapped("message_key"))), len(messages))
            self.assertEqual({m.message_id_header: (m.seen, m.flagged) for m in messages}, expected)
            box = env["mail.mailbox"].browse(box_id)
            row = env["mail.mailbox.sync"].search([("mailbox_id", "=", box_id)])
            self.assertEqual(
                (box.state, row.problem, row.failures_in_row, row.remaining, bool(row.last_sync_date)),
                ("connected", False, 0, 0, True),
            )
            for folder in box.folder_ids.filtered("selected"):
                self.assertEqual((folder.sync_problem, bool(folder.last_sync_date)), (False, True), folder.path)

    def sync_row(self, box_id):
        with self.committed() as env:
            row = env["mail.mailbox.sync"].search([("mailbox_id", "=", box_id)])
            box = env["mail.mailbox"].browse(box_id)
            return row.problem, row.failures_in_row, box.state

    # ------------------------------------------------------------------ the tests
    def test_killed_in_the_middle_of_a_backfill_batch(self):
        path = self.fill(self.imap)
        self.paths.append(path)
        box_id = self.mailbox([path])
        holder, kill = self.killer()
        bodies = []

        def count(line, _conn):
            if body_line(line):
                bodies.append(line)
                if len(bodies) == BUDGET + 20:  # 20 bodies into the second batch
                    kill()
            return line

        self.proxy.rewrite(count)
        holder["process"] = self.odoo_process(ROUNDS.format(box_id=box_id))
        self.wait_killed(holder)
        self.proxy.clear()
        self.assertEqual(self.stored(box_id), BUDGET)  # the first batch, nothing of the second
        self.sync(box_id)
        self.assert_exactly_the_server_s(box_id, self.imap, [path])

    def test_connection_cut_in_the_middle_of_a_fetch_literal(self):
        path = self.fill(self.imap)
        self.paths.append(path)
        box_id = self.mailbox([path])
        bodies = []

        def count(line, _conn):
            if body_line(line):
                bodies.append(line)
                if len(bodies) == BUDGET:  # the next round's connection is cut inside its first body
                    self.proxy.cut(DOWN, after=200, pattern=b"BODY[] {")  # (each body is over 400 bytes)
            return line

        self.proxy.rewrite(count)
        self.sync(box_id)  # until a round fails
        self.proxy.clear()
        self.assertEqual(self.proxy.cuts, 1)
        self.assertEqual(self.stored(box_id), BUDGET)  # the first batch, nothing of the one cut
        problem, failures, state = self.sync_row(box_id)
        self.assertIn(f"127.0.0.1 on port {self.proxy.port}", problem or "")
        self.assertIn("dropped", problem or "")  # the sync says the connection dropped
        self.assertEqual((failures, state), (1, "connected"))
        self.sync(box_id)  # the next run (a minute later for the cron)
        self.assert_exactly_the_server_s(box_id, self.imap, [path])

    def test_killed_in_the_middle_of_a_flag_change_made_in_odoo(self):
        inbox = self.fill(self.imap)
        copy = "Faults-" + secrets.token_hex(3)
        self.imap.create_folder(copy)
        self.paths += [inbox, copy]
        self.imap.select_folder(inbox)
        self.imap.copy(self.imap.search(["ALL"]), copy)  # each message in two folders
        box_id = self.mailbox([inbox, copy])
        self.sync(box_id)
        self.assert_exactly_the_server_s(box_id, self.imap, [inbox, copy])
        holder, kill = self.killer()
        stores = []

        def watch(line, _conn):
            if b" STORE " in line.upper():
                stores.append(line)
                if len(stores) == 2:  # the first folder changed, the second not yet
                    kill()

        self.proxy.watch(watch)
        holder["process"] = self.odoo_process(
            f'env["mail.mailbox.message"].search([("mailbox_id", "=", {box_id})]).action_mark_read()\nenv.cr.commit()\n'
        )
        self.wait_killed(holder)
        self.proxy.clear()
        read = [sum(seen for seen, _flagged in self.server_marks(self.imap, [path]).values()) for path in (inbox, copy)]
        self.assertEqual(sorted(read), [READ, MESSAGES])  # the first folder took it, the other not
        with self.committed() as env:
            unread = env["mail.mailbox.message"].search_count([("mailbox_id", "=", box_id), ("seen", "=", False)])
        self.assertEqual(unread, MESSAGES - READ)  # Odoo never committed it
        self.sync(box_id)
        self.assert_exactly_the_server_s(box_id, self.imap, [inbox, copy])

    def test_killed_before_the_sent_copy_s_append_reaches_the_server(self):
        self.killed_while_filing_the_sent_copy(filed=False)

    def test_killed_once_the_server_stored_the_sent_copy(self):
        self.killed_while_filing_the_sent_copy(filed=True)

    def killed_while_filing_the_sent_copy(self, filed):
        """A mail sent through a custom mailbox, the sending process killed while it files
        the Sent copy (the ``APPEND`` sent, or answered): the next runs of the queue and of
        the sync file it once and send nothing again."""
        box_id = self.mailbox([], address=ALICE, login=ALICE, password=self.stack["accounts"][ALICE])
        subject = "faults sent copy " + secrets.token_hex(4)
        with self.committed() as env:
            env["mail.mailbox"].browse(box_id)._sync_mail_server()
            env["mail.mailbox.folder"].sudo().create(
                {"mailbox_id": box_id, "path": "Sent", "name": "Sent", "special_use": "\\Sent", "selected": False}
            )
            mail = env["mail.mail"].create(
                {"email_from": ALICE, "email_to": "lead@customer.test", "subject": subject, "auto_delete": False}
            )
            mail_id = mail.id
        self.addCleanup(self.unlink_committed, "mail.mail", mail_id)
        holder, kill = self.killer()
        appending = {}

        def watch(line, _conn):
            if b" APPEND " in line.upper():
                appending["tag"] = line.split(b" ", 1)[0]
                if not filed:
                    kill()

        def answer(line, _conn):
            if filed and appending and line.startswith(appending["tag"] + b" OK"):
                kill()
            return line

        self.proxy.watch(watch)
        self.proxy.rewrite(answer)
        holder["process"] = self.odoo_process(f'env["mail.mail"].process_email_queue(ids=[{mail_id}])\n')
        self.wait_killed(holder)
        self.proxy.clear()
        alice = self.client(self.stack["imap_port"], ALICE)
        self.addCleanup(alice.logout)

        def state():
            alice.select_folder("Sent", readonly=True)
            with self.committed() as env:
                waiting = env["mail.mailbox.sent.copy"].search_count([("mailbox_id", "=", box_id)])
                mail_state = env["mail.mail"].browse(mail_id).state
            return len(received_all(self, subject)), len(alice.search(["SUBJECT", subject])), waiting, mail_state

        self.assertEqual(state(), (1, int(filed), 1, "sent"))  # sent; its copy waits in Odoo
        # the next runs of the queue and of the sync
        self.finished(self.odoo_process(f'env["mail.mail"].process_email_queue(ids=[{mail_id}])\nenv.cr.commit()\n'))
        self.finished(self.odoo_process('env["mail.mailbox"]._cron_sync()\nenv.cr.commit()\n'))
        self.assertEqual(state(), (1, 1, 0, "sent"))  # sent once, filed once

    def test_imap_server_restarted_while_a_sync_is_under_way(self):
        from ..devstack.dovecot import Dovecot

        folder = tempfile.mkdtemp(prefix="mcm-faults-dovecot-")
        self.addCleanup(shutil.rmtree, folder, ignore_errors=True)
        accounts = {BOB: self.stack["accounts"][BOB]}
        introspection = f"{self.stack['google']['url']}/introspect"
        dovecot = Dovecot(folder, introspection, self.stack["sink_port"], accounts).start()
        self.addCleanup(dovecot.stop)
        imap = self.client(dovecot.imap_port)
        path = self.fill(imap)
        imap.logout()
        proxy = Proxy(dovecot.imap_port).start()
        self.addCleanup(proxy.stop)
        box_id = self.mailbox([path], port=proxy.port)
        restarted = threading.Event()
        bodies = []

        def start():
            dovecot.start()  # the same ports, the same mail
            restarted.set()

        def count(line, _conn):
            if body_line(line):
                bodies.append(line)
                if len(bodies) == BUDGET + 20:  # 20 bodies into the second batch
                    dovecot.stop()  # its connections go with it,
                    proxy.drop_all()  # and what the proxy holds of them
                    threading.Thread(target=start, daemon=True).start()
            return line

        proxy.rewrite(count)
        self.sync(box_id)  # until a round fails
        self.assertTrue(restarted.wait(60), "the IMAP server was never restarted")
        proxy.clear()
        self.assertEqual(self.stored(box_id), BUDGET)  # the first batch, nothing of the second
        problem, failures, state = self.sync_row(box_id)
        self.assertIn("dropped", problem or "")
        self.assertEqual((failures, state), (1, "connected"))
        imap = self.client(dovecot.imap_port)
        self.addCleanup(imap.logout)
        self.sync(box_id)
        self.assert_exactly_the_server_s(box_id, imap, [path])

    def test_postgresql_restarted_in_the_middle_of_a_sync_round(self):
        # a cluster of the test's own (the test runner's cluster is not restarted under it),
        # with a copy of the test database, committed mailbox included
        path = self.fill(self.imap)
        self.paths.append(path)
        box_id = self.mailbox([path])
        folder = tempfile.mkdtemp(prefix="mcm-faults-pg-")
        self.addCleanup(shutil.rmtree, folder, ignore_errors=True)
        cluster = PostgresCluster(folder).start()
        self.addCleanup(cluster.stop)
        from odoo.tools import config

        dbname = self.env.cr.dbname
        source = {key: config[key] or "" for key in ("db_host", "db_port", "db_user", "db_password")}
        cluster.copy_database(dbname, {**source, "db_host": source["db_host"] or "127.0.0.1"})
        lost = threading.Event()
        bodies = []

        def count(line, _conn):
            if body_line(line):
                bodies.append(line)
                if len(bodies) == BUDGET + 20:  # 20 bodies into the second batch
                    cluster.restart()
                    lost.set()
            return line

        self.proxy.rewrite(count)
        out = self.finished(self.odoo_process(PG_ROUNDS.format(box_id=box_id), cluster_options(cluster)))
        self.assertTrue(lost.is_set(), "PostgreSQL was never restarted")
        self.assertIn("LOST 1\n", out)  # one round lost its database, the next ones went on
        self.proxy.clear()

        def query(sql):
            return [line.split("|") for line in cluster.psql(sql, dbname=dbname).splitlines()]

        rows = [row[1:] for row in query(MESSAGES_SQL) if row[0] == str(box_id)]
        expected = self.server_marks(self.imap, [path])
        self.assertEqual(len(expected), MESSAGES)
        self.assertEqual(len(rows), MESSAGES)  # none twice
        self.assertEqual({key: (seen == "t", flagged == "t") for key, seen, flagged in rows}, expected)
        status = [row[1:] for row in query(STATUS) if row[0] == str(box_id)]
        self.assertEqual(status, [["connected", "", "0", "0", "t", "", "t"]])
