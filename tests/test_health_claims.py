"""The health check and "Check now" never check a mailbox another transaction is
checking (``FOR UPDATE SKIP LOCKED``), with real committed transactions as two Odoo
workers would hold them; what they commit is cleaned up."""

import secrets

from odoo import SUPERUSER_ID, api
from odoo.tests import tagged

from .common import MailboxCase


@tagged("post_install", "-at_install")
class TestHealthClaims(MailboxCase):
    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = self._env(cr)
            boxes = env["mail.mailbox"].create(
                [{"email": f"claim-{secrets.token_hex(3)}@example.com", "imap_host": "127.0.0.1"} for _n in range(2)]
            )
            for box in boxes:
                box._set_state("connected")
            self.ids = boxes.ids
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.registry.cursor() as cr:
            self._env(cr)["mail.mailbox"].browse(self.ids).unlink()

    def _env(self, cr):
        return api.Environment(cr, SUPERUSER_ID, {"mail_create_nolog": True, "mail_notrack": True})

    def test_a_mailbox_being_checked_elsewhere_is_skipped(self):
        first, second = self.ids
        worker = self.registry.cursor()  # another worker is checking the first mailbox
        try:
            claimed = self._env(worker)["mail.mailbox"]._claim(ids=[first])
            self.assertEqual(claimed.ids, [first])
            with self.registry.cursor() as cr:
                # the cron of this worker takes the other one only, without waiting
                self.assertEqual(self._env(cr)["mail.mailbox"]._claim(ids=self.ids).ids, [second])
                # Check now says so instead of checking twice
                action = self._env(cr)["mail.mailbox"].browse(first).action_check_now()
                self.assertEqual(action["params"]["title"], "A check is already running")
        finally:
            worker.rollback()
            worker.close()
        with self.registry.cursor() as cr:
            self.assertEqual(sorted(self._env(cr)["mail.mailbox"]._claim(ids=self.ids).ids), sorted(self.ids))
