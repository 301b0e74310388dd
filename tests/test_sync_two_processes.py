"""The sync in real Odoo processes (``odoo shell``) on one database, with committed data
(removed afterwards) and the local Dovecot:

* two processes syncing at the same time never hold the same mailbox at once, and
  leave each message once;
* a process killed (SIGKILL) while it syncs, then another run, leave exactly the
  server's messages: none twice, none missing.
"""

import itertools
import json
import secrets
import signal
import time
from datetime import UTC, datetime, timedelta

from imapclient import IMAPClient

from odoo.tests import TransactionCase, tagged

from ..devstack.testkit import server_message_ids, stack_parameters
from .common import OdooProcessesMixin, StackMixin, configure_stack, custom_mailbox_values

GATE = 715_002
BOB = "bob@mail.test"
MESSAGES = 600
PARAM = "mail_connected_mailbox.sync_budget"

# claims and syncs due mailboxes until none is due; prints the window in which it held
# each mailbox (from its claim to just before its commit)
SYNC_LOOP = """
import json, time
Mailbox = env["mail.mailbox"]
ids = tuple({ids})
held = []
deadline = time.time() + 240
while time.time() < deadline:
    Mailbox._ensure_sync_rows()
    boxes = Mailbox._claim_sync(limit=2)
    claimed = time.time()
    if not boxes:
        env.cr.commit()
        env.cr.execute(
            "SELECT count(*) FROM mail_mailbox_sync WHERE mailbox_id IN %s "
            "AND (next_sync_at IS NULL OR next_sync_at <= now() at time zone 'UTC')", [ids])
        if not env.cr.fetchone()[0]:
            break
        time.sleep(0.05)
        continue
    boxes._sync_round()
    held.append([boxes.ids, claimed, time.time()])
    env.cr.commit()
print("HELD " + json.dumps(held))
"""


@tagged("post_install", "-at_install")
class TestSyncTwoProcesses(StackMixin, OdooProcessesMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._require_stack()

    def setUp(self):
        super().setUp()
        self.imap = IMAPClient(self.stack["host"], port=self.stack["imap_port"], ssl=False, timeout=10)
        self.imap.login(BOB, self.stack["accounts"][BOB])
        self.path = "Two-" + secrets.token_hex(3)
        self.imap.create_folder(self.path)
        for n in range(MESSAGES):
            when = datetime.now(UTC) - timedelta(days=n % 50)
            raw = (
                f"From: lead{n}@customer.test\r\nTo: {BOB}\r\nSubject: m{n}\r\n"
                f"Message-ID: <{secrets.token_hex(8)}@customer.test>\r\n\r\nHello {n}\r\n"
            ).encode()
            self.imap.append(self.path, raw, msg_time=when)
        self.ids = []
        with self.committed() as env:
            params = env["ir.config_parameter"]
            self.before = {key: params.get_param(key) for key in [*stack_parameters(self.stack), PARAM]}
            configure_stack(env, self.stack)
            params.set_param(PARAM, "200")  # rounds of 200: commits between them
        self.addCleanup(self.cleanup)

    def mailboxes(self, count):
        tag = secrets.token_hex(3)
        with self.committed() as env:
            boxes = env["mail.mailbox"]
            for n in range(count):
                values = custom_mailbox_values(self.stack, f"sync-{tag}-{n}@custom.test", login=BOB)
                box = env["mail.mailbox"].create({**values, "password": self.stack["accounts"][BOB]})
                box._set_state("connected")
                env["mail.mailbox.folder"].create(
                    {"mailbox_id": box.id, "path": self.path, "name": self.path, "selected": True}
                )
                boxes |= box
            self.ids += boxes.ids
            return boxes.ids

    def cleanup(self):
        with self.committed() as env:
            env["mail.mailbox"].with_context(active_test=False).browse(self.ids).unlink()
            for key, value in self.before.items():
                env["ir.config_parameter"].set_param(key, value or False)
        self.imap.delete_folder(self.path)
        self.imap.logout()

    def assert_exactly_the_server_s(self, ids):
        expected = server_message_ids(self.imap, self.path)
        self.assertEqual(len(expected), MESSAGES)
        with self.committed() as env:
            for mailbox_id in ids:
                messages = env["mail.mailbox.message"].search([("mailbox_id", "=", mailbox_id)])
                self.assertEqual(sorted(messages.mapped("message_id_header")), expected)  # none twice, none missing
                places = env["mail.mailbox.message.place"].search([("message_id", "in", messages.ids)])
                self.assertEqual(len(places), MESSAGES)

    def test_two_processes_never_sync_one_mailbox_at_once_and_store_each_message_once(self):
        ids = self.mailboxes(4)
        processes = self.start_together(GATE, [SYNC_LOOP.format(ids=ids)] * 2)
        windows = {}
        for index, process in enumerate(processes):
            out = self.finished(process)
            (line,) = [line for line in out.splitlines() if line.startswith("HELD ")]
            for box_ids, start, end in json.loads(line[5:]):
                for box_id in box_ids:
                    windows.setdefault(box_id, []).append((start, end, index))
        self.assertEqual(set(windows), set(ids))
        both = {index for spans in windows.values() for _s, _e, index in spans}
        self.assertEqual(both, {0, 1})  # both processes did sync
        for box_id, spans in windows.items():
            spans.sort()
            for (_s1, end1, p1), (start2, _e2, p2) in itertools.pairwise(spans):
                if p1 != p2:
                    self.assertLessEqual(end1, start2, f"mailbox {box_id} held by both processes at once")
        self.assert_exactly_the_server_s(ids)

    def test_a_process_killed_while_it_syncs_then_a_new_run_leave_each_message_once(self):
        (box_id,) = self.mailboxes(1)
        victim = self.odoo_process(SYNC_LOOP.format(ids=[box_id]))
        deadline = time.monotonic() + 120
        fetched = 0
        while time.monotonic() < deadline and not fetched:  # its first round is committed
            with self.committed() as env:
                fetched = env["mail.mailbox.message"].search_count([("mailbox_id", "=", box_id)])
            time.sleep(0.02)
        victim.send_signal(signal.SIGKILL)  # while its next round runs
        victim.wait(timeout=30)
        self.assertEqual(victim.returncode, -signal.SIGKILL)
        with self.committed() as env:
            at_kill = env["mail.mailbox.message"].search_count([("mailbox_id", "=", box_id)])
        self.assertLess(at_kill, MESSAGES)  # it was killed halfway
        self.finished(self.odoo_process(SYNC_LOOP.format(ids=[box_id])))
        self.assert_exactly_the_server_s([box_id])
