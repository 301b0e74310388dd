"""More machines: OCA ``queue_job``, when it is installed.

* With it (a database of its own, with ``queue_job`` and the addon installed, and a real
  Odoo in prefork mode: two worker processes run the jobs that ``queue_job``'s own runner
  sends them): 200 mailboxes on the local Dovecot are synced exactly once per round,
  across both processes, and checked exactly once; enqueuing again while a job waits adds
  none.
* Without it (this test's database): the crons sync as they always did, in their own
  transaction, and enqueue nothing.
"""

import collections
import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
import unittest
from datetime import UTC, datetime, timedelta

from imapclient import IMAPClient

from odoo import sql_db
from odoo.modules.module import get_module_path
from odoo.tests import TransactionCase, tagged
from odoo.tools import config

from ..devstack import queue_job
from ..devstack.util import free_port
from .common import StackMixin, configure_stack, custom_mailbox_values, odoo_shell_command

COUNT = 200
MESSAGES = 2
BOB = "bob@mail.test"
PROCESSES = 2

SETUP = """
import json
from odoo.addons.mail_connected_mailbox.devstack.testkit import custom_mailbox_values, stack_parameters
stack = json.loads({stack!r})
params = env["ir.config_parameter"].sudo()
for key, value in stack_parameters(stack).items():
    params.set_param(key, value)
params.set_param("mail_connected_mailbox.sync_workers", "4")  # rounds of 10 mailboxes: many jobs
# all 200 sign in as Bob, whom Dovecot lets have 50 connections at once from one address:
# few checks at once, and each one waits for its QUIT and LOGOUT (a goodbye not waited for
# leaves Dovecot counting the connection a moment longer; 200 of them in a row add up)
params.set_param("mail_connected_mailbox.health_workers", "4")
params.set_param("mail_connected_mailbox.health_pipelining", "0")
Mailbox = env["mail.mailbox"]
for n in range({count}):
    values = custom_mailbox_values(stack, "job{{}}-{tag}@custom.test".format(n), login={bob!r})
    box = Mailbox.create({{**values, "password": stack["accounts"][{bob!r}]}})
    box._set_state("connected")
    env["mail.mailbox.folder"].create({{"mailbox_id": box.id, "path": {path!r}, "name": {path!r}, "selected": True}})
env.cr.commit()
"""

# every mailbox due, then the cron twice (and Sync now's jobs of three mailboxes twice):
# prints the jobs waiting
ENQUEUE = """
Mailbox = env["mail.mailbox"]
# each test stands alone: whatever another one's check found, these mailboxes are connected
env.cr.execute("UPDATE mail_mailbox SET state = 'connected'")
Mailbox._ensure_sync_rows()
env.cr.execute("UPDATE mail_mailbox_sync SET next_sync_at = NULL")
boxes = Mailbox.search([], order="id", limit=3)
for _n in range(2):
    Mailbox._cron_sync()
    boxes._schedule_sync()
# (read before the commit: once committed, the runner starts them at once)
env.cr.execute("SELECT identity_key FROM queue_job WHERE state = 'pending' ORDER BY identity_key")
print("WAITING", [row[0] for row in env.cr.fetchall()], boxes.ids)
env.cr.commit()
"""

CHECK = """
env.cr.execute("UPDATE mail_mailbox SET next_check_at = NULL WHERE state = 'connected'")
env["mail.mailbox"]._cron_check_health()
env["mail.mailbox"]._cron_check_health()
env.cr.commit()
"""

# one of the mailboxes holds a mail (throttled), and is the only one due for a check
HOLD = """
box = env["mail.mailbox"].search([("email", "=like", "job0-%")], limit=1)
box._set_state("throttled")
mail = env["mail.mail"].create({{
    "email_from": box.email, "email_to": "lead@customer.test", "subject": "Held {tag}",
    "body_html": "<p>Our offer</p>", "auto_delete": False,
}})
mail._mcm_hold({{mail: box}})  # as its queue holds it
env.cr.execute("UPDATE mail_mailbox SET next_check_at = now() at time zone 'UTC' + interval '1 hour'")
env.cr.execute("UPDATE mail_mailbox SET next_check_at = NULL WHERE id = %s", [box.id])
print("HELD", box.id, mail.id, bool(mail.mcm_hold_reason))
env["mail.mailbox"]._cron_check_health()
env.cr.commit()
"""


@tagged("post_install", "-at_install")
class TestQueueJob(StackMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._require_stack()
        if not get_module_path("queue_job", display_warning=False):
            raise unittest.SkipTest("NOT RUN: queue_job is not on the addons path (make deps installs it)")
        cls.jobs_db = f"{cls.env.cr.dbname}_jobs"
        cls.tag = secrets.token_hex(3)
        cls.path = "Jobs-" + cls.tag
        cls.imap = IMAPClient(cls.stack["host"], port=cls.stack["imap_port"], ssl=False, timeout=10)
        cls.imap.login(BOB, cls.stack["accounts"][BOB])
        cls.addClassCleanup(cls.imap.logout)
        cls.imap.create_folder(cls.path)
        cls.addClassCleanup(cls.imap.delete_folder, cls.path)
        for n in range(MESSAGES):
            raw = (
                f"From: lead{n}@customer.test\r\nTo: {BOB}\r\nSubject: j{n}\r\n"
                f"Message-ID: <{secrets.token_hex(8)}@customer.test>\r\n\r\nHello {n}\r\n"
            ).encode()
            cls.imap.append(cls.path, raw, msg_time=datetime.now(UTC) - timedelta(days=n))
        # a database of its own with queue_job: this one stays without it
        install = subprocess.run(
            [
                sys.executable,
                "-m",
                "odoo",
                "-c",
                config.rcfile,
                f"--addons-path={config['addons_path']}",
                "-d",
                cls.jobs_db,
                "-i",
                "mail_connected_mailbox,queue_job",
                "--stop-after-init",
                "--without-demo=all",
                "--log-level=warn",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if install.returncode:
            raise AssertionError(f"queue_job and the addon did not install: {install.stderr[-3000:]}")
        cls.addClassCleanup(cls.drop_jobs_db)
        cls.shell(SETUP.format(stack=json.dumps(cls.stack), count=COUNT, tag=cls.tag, bob=BOB, path=cls.path))
        log = open(os.path.join(config["data_dir"], f"jobs-{cls.tag}.log"), "w", encoding="utf-8")  # noqa: SIM115
        cls.addClassCleanup(log.close)
        cls.server = queue_job.server(
            config.rcfile,
            cls.jobs_db,
            PROCESSES,
            free_port(),
            options=[f"--addons-path={config['addons_path']}"],
            log=log,
        )
        cls.addClassCleanup(queue_job.stop, cls.server)
        cls.log_path = log.name

    @classmethod
    def drop_jobs_db(cls):
        sql_db.close_db(cls.jobs_db)
        with contextlib.closing(sql_db.db_connect("postgres").cursor()) as cr:
            cr._cnx.autocommit = True
            cr.execute(f'DROP DATABASE IF EXISTS "{cls.jobs_db}"')

    @classmethod
    def shell(cls, script):
        done = subprocess.run(
            odoo_shell_command(cls.jobs_db), input=script, capture_output=True, text=True, check=False
        )
        if done.returncode:
            raise AssertionError(done.stderr[-3000:])
        return done.stdout

    def query(self, sql, params=()):
        with contextlib.closing(sql_db.db_connect(self.jobs_db).cursor()) as cr:
            cr.execute(sql, params)
            return cr.fetchall()

    def run_jobs(self, script):
        """Run ``script`` (it enqueues), then wait until the job processes have run every
        job of the channel; return the jobs it made: (identity key, result, process id)."""
        (last,) = self.query("SELECT coalesce(max(id), 0) FROM queue_job")[0]
        out = self.shell(script)
        deadline = time.monotonic() + 300
        while self.query(queue_job.UNSETTLED)[0][0]:
            self.assertIsNone(self.server.poll(), f"the Odoo job server stopped: see {self.log_path}")
            self.assertLess(time.monotonic(), deadline, f"jobs still waiting after 300 s: see {self.log_path}")
            time.sleep(0.2)
        failed = self.query("SELECT exc_info FROM queue_job WHERE id > %s AND state != 'done'", [last])
        self.assertFalse(failed, failed[:1])
        jobs = self.query("SELECT identity_key, result, worker_pid FROM queue_job WHERE id > %s", [last])
        return out, jobs

    def worked_on(self, jobs, word):
        """How many times each mailbox was synced (or checked) by ``jobs``, and by which processes."""
        counts, processes = collections.Counter(), set()
        for _key, result, pid in jobs:
            ids = [int(i) for i in result.removeprefix(word + ": ").split(",") if i]
            counts.update(ids)
            if ids:
                processes.add(pid)
        return counts, processes

    def ours(self):
        return [
            row[0]
            for row in self.query(
                "SELECT id FROM mail_mailbox WHERE email LIKE %s ORDER BY id", [f"job%-{self.tag}@custom.test"]
            )
        ]

    def test_200_mailboxes_synced_exactly_once_per_round_across_two_processes(self):
        ids = self.ours()
        self.assertEqual(len(ids), COUNT)
        for round_ in (1, 2):  # the first fetches the messages, the second finds nothing new
            out, jobs = self.run_jobs(ENQUEUE)
            (waiting,) = [line for line in out.splitlines() if line.startswith("WAITING")]
            # the cron twice and Sync now twice: one job each, never two
            first_three = ids[:3]
            expected = ["mail_connected_mailbox.sync"] + [f"mail_connected_mailbox.sync.{i}" for i in first_three]
            self.assertEqual(waiting, f"WAITING {sorted(expected)} {first_three}")
            counts, processes = self.worked_on(jobs, "synced")
            self.assertEqual(sorted(counts), ids, f"round {round_}")
            self.assertEqual(set(counts.values()), {1}, f"round {round_}: a mailbox synced twice")
            self.assertEqual(len(processes), PROCESSES, f"round {round_}: jobs ran in {processes}")
            self.assertEqual(len({pid for _k, _r, pid in jobs}), PROCESSES)
        stored = self.query(
            "SELECT mailbox_id, count(*), count(DISTINCT message_id_header) FROM mail_mailbox_message "
            "WHERE mailbox_id IN %s GROUP BY mailbox_id",
            [tuple(ids)],
        )
        self.assertEqual({row[0] for row in stored}, set(ids))
        self.assertEqual({row[1:] for row in stored}, {(MESSAGES, MESSAGES)})  # each message once
        self.assertFalse(self.query(queue_job.UNSETTLED)[0][0])

    def test_200_mailboxes_checked_exactly_once_by_the_jobs(self):
        ids = self.ours()
        _out, jobs = self.run_jobs(CHECK)
        self.assertEqual({key for key, _r, _p in jobs}, {"mail_connected_mailbox.health"})
        counts, _processes = self.worked_on(jobs, "checked")
        self.assertEqual(sorted(counts), ids)
        self.assertEqual(set(counts.values()), {1})
        logged = self.query(
            "SELECT mailbox_id, count(*) FROM mail_mailbox_health_log WHERE mailbox_id IN %s GROUP BY mailbox_id",
            [tuple(ids)],
        )
        self.assertEqual(sorted(logged), [(i, 1) for i in ids])  # each checked once
        failed = self.query(
            "SELECT mailbox_id, result, step, cause, seconds FROM mail_mailbox_health_log "
            "WHERE mailbox_id IN %s AND result != 'ok'",
            [tuple(ids)],
        )
        self.assertFalse(failed, "checks that did not work")
        self.assertEqual(
            self.query("SELECT DISTINCT state FROM mail_mailbox WHERE id IN %s", [tuple(ids)]), [("connected",)]
        )

    def test_held_mail_is_released_by_a_job_of_its_own(self):
        out, jobs = self.run_jobs(HOLD.format(tag=self.tag))
        (line,) = [line for line in out.splitlines() if line.startswith("HELD")]
        _word, box_id, mail_id, held = line.split()
        self.assertEqual(held, "True")  # held while throttled
        keys = sorted(key for key, _r, _p in jobs)
        self.assertEqual(keys, ["mail_connected_mailbox.health", f"mail_connected_mailbox.release.{box_id}"])
        self.assertIn(("released: 1",), [(result,) for key, result, _p in jobs if "release" in key])
        self.assertEqual(self.query("SELECT state FROM mail_mailbox WHERE id = %s", [int(box_id)]), [("connected",)])
        # released, waiting for Odoo's mail queue (no cron runs here)
        self.assertEqual(
            self.query("SELECT state, mcm_hold_reason FROM mail_mail WHERE id = %s", [int(mail_id)]),
            [("outgoing", None)],
        )

    def test_without_queue_job_the_cron_syncs_itself(self):
        self.assertNotIn("queue.job", self.env)
        Mailbox = self.env["mail.mailbox"]
        self.assertFalse(Mailbox._mcm_jobs())
        configure_stack(self.env, self.stack)
        box = Mailbox.create(
            custom_mailbox_values(self.stack, f"cron-{self.tag}@custom.test", login=BOB)
            | {"password": self.stack["accounts"][BOB]}
        )
        box._set_state("connected")
        self.env["mail.mailbox.folder"].create(
            {"mailbox_id": box.id, "path": self.path, "name": self.path, "selected": True}
        )
        box._schedule_sync()
        self.env.cr.execute("UPDATE mail_mailbox_sync SET next_sync_at = now() + interval '1 hour'")
        self.env.cr.execute("UPDATE mail_mailbox_sync SET next_sync_at = NULL WHERE mailbox_id = %s", [box.id])
        Mailbox._cron_sync()  # synced here and now, in this transaction
        stored = self.env["mail.mailbox.message"].search([("mailbox_id", "=", box.id)])
        self.assertEqual(len(stored), MESSAGES)
