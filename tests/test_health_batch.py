"""The scheduled check of a batch, for real (Dovecot, the OAuth emulator): its
database work is done together (secrets read at once, refreshed tokens and history
written at once), and what is each mailbox's own stays its own: a secret that no
longer decrypts stops that mailbox's check alone, a refreshed token is stored for
the mailbox it belongs to."""

from datetime import timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.tests import tagged

from ..devstack.testkit import connect_oauth
from .common import MailboxCase, StackMixin, flip

ALICE, BOB = "alice@mail.test", "bob@mail.test"


@tagged("post_install", "-at_install")
class TestHealthBatch(StackMixin, MailboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_stack(cls.env)

    def setUp(self):
        super().setUp()
        self.addCleanup(flip, self.stack, "reset")
        self.t0 = fields.Datetime.now().replace(microsecond=0) + timedelta(days=1)  # all due then

    def connected(self, address, user=None):
        mailbox = self.env["mail.mailbox"].with_user(user or self.user_ann).create(self.custom_values(address))
        mailbox.action_connect()
        self.assertEqual(mailbox.state, "connected")
        return mailbox

    def test_a_secret_that_does_not_decrypt_stops_that_check_alone(self):
        broken, fine = self.connected(ALICE), self.connected(BOB, self.user_ben)
        google = connect_oauth(self.env(user=self.user_ann), self.stack, "google", "batch@gmail.test")
        self.env.cr.execute(
            "UPDATE mail_mailbox_secret SET value = 'not-a-ciphertext' WHERE mailbox_id = %s AND kind = 'password'",
            (broken.id,),
        )
        self.env.invalidate_all()
        boxes = broken | fine | google
        with freeze_time(self.t0):
            outcomes = self.env["mail.mailbox"]._claim(ids=boxes.ids, limit=3)._check_health()
        by_id = {outcome.mailbox_id: outcome for outcome in outcomes}
        self.assertEqual((by_id[fine.id].ok, by_id[google.id].ok), (True, True))
        self.assertEqual((by_id[broken.id].ok, by_id[broken.id].step), (False, "Setup"))
        logs = self.env["mail.mailbox.health.log"].sudo().search([("mailbox_id", "in", boxes.ids)])
        self.assertEqual(
            {log.mailbox_id.id: log.result for log in logs},
            {fine.id: "ok", google.id: "ok", broken.id: "error"},
        )
        self.assertEqual(fine.failures_in_row, 0)
        self.assertEqual(fine.next_check_at, self.t0 + timedelta(minutes=fine._health_interval()))
        self.assertIn("✔ IMAP Login", fine.last_check_report)
        self.assertIn("✔ SMTP AUTH", fine.last_check_report)

    def test_refreshed_tokens_are_stored_for_their_own_mailboxes(self):
        first = connect_oauth(self.env(user=self.user_ann), self.stack, "google", "first-batch@gmail.test")
        second = connect_oauth(self.env(user=self.user_ben), self.stack, "microsoft", "second-batch@contoso.test")
        before = {box.id: box._get_secret("access_token") for box in first | second}
        with freeze_time(self.t0):
            outcomes = self.env["mail.mailbox"]._claim(ids=(first | second).ids, limit=2)._check_health()
        self.assertEqual([outcome.ok for outcome in outcomes], [True, True])
        for box in first | second:
            token = box._get_secret("access_token")
            self.assertTrue(token)
            self.assertNotEqual(token, before[box.id], f"{box.email}: the refreshed token was not stored")
            grant = next(outcome.grant for outcome in outcomes if outcome.mailbox_id == box.id)
            self.assertEqual(token, grant.access_token, f"{box.email} holds another mailbox's token")
            self.assertEqual(box.state, "connected")
