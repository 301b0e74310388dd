"""Forged or stray bounces found in synced mail change nothing and stay ordinary mail:
one naming no message the mailbox sent, one naming a recipient it never mailed, a
bounce of a bounce, the mailbox's own mail, and a bounce in one mailbox naming the
message of another (either way round)."""

import secrets
import xmlrpc.client

from imapclient import IMAPClient

from odoo.tests import HttpCase, tagged

from .common import MailboxUsersMixin
from .feedback_common import FeedbackCase, dsn
from .test_sync import BOB

GONE = "gone@customer.test"
ALICE = "alice@mail.test"


@tagged("post_install", "-at_install")
class TestFeedbackBadInput(FeedbackCase):
    def assertIgnored(self, raw, traces, note, mailbox=None):
        row = self.row(self.message_id(raw), mailbox)
        self.assertEqual((row.mcm_feedback, row.mcm_feedback_state), ("bounce", "ignored"))
        self.assertIn(note, row.mcm_feedback_note)
        self.assertEqual(row.kind, "stored")  # kept as ordinary mail
        self.assertEqual(set(traces.mapped("trace_status")), {"sent"})
        self.assertFalse(any(traces.mapped("mcm_bounce_kind")))
        for contact in self.env["mailing.contact"].search([("email", "in", traces.mapped("email"))]):
            self.assertEqual(contact.message_bounce, 0)
        return row

    def test_no_original_found(self):
        traces = self.campaign([GONE])
        raw = dsn("<never-sent@mail.test>", GONE)
        self.deliver(raw)
        self.assertIgnored(raw, traces, "No original found")

    def test_a_recipient_never_mailed(self):
        traces = self.campaign([GONE])
        partner = self.env["res.partner"].create({"name": "Stranger", "email": "stranger@customer.test"})
        raw = dsn(traces.message_id, "stranger@customer.test")
        self.deliver(raw)
        self.assertIgnored(raw, traces, "never mailed")
        self.assertEqual(partner.message_bounce, 0)

    def test_a_bounce_of_a_bounce(self):
        traces = self.campaign([GONE])
        raw = dsn(traces.message_id, GONE, sender="MAILER-DAEMON@mail.test")
        self.deliver(raw)
        self.assertIgnored(raw, traces, "bounce of a bounce")

    def test_the_mailboxs_own_mail_is_no_bounce(self):
        traces = self.campaign([GONE])
        raw = dsn(traces.message_id, GONE, From=BOB, Subject="Fwd: Undelivered Mail Returned to Sender")
        self.deliver(raw)
        row = self.row(self.message_id(raw))
        self.assertFalse(row.mcm_feedback)
        self.assertEqual(traces.trace_status, "sent")

    def test_a_bounce_never_touches_another_mailboxs_traces(self):
        # Alice's mailbox (Ben's in Odoo), syncing a folder of its own
        client = IMAPClient(self.stack["host"], port=self.imap_port, ssl=False, timeout=10)
        client.login(ALICE, self.stack["accounts"][ALICE])
        path = "Sync-" + secrets.token_hex(3)
        client.create_folder(path)
        self.addCleanup(client.logout)
        self.addCleanup(client.delete_folder, path)
        alice = self.env["mail.mailbox"].with_user(self.user_ben).create(self.custom_values(ALICE))
        alice.action_connect()
        alice = alice.sudo()
        for folder in alice.folder_ids:
            folder.selected = folder.path == path
        hers = self.campaign([GONE], sender=ALICE, user=self.user_ben)
        self.assertEqual(hers.mcm_mailbox_id, alice)
        ours = self.campaign(["lead@customer.test"])
        # in Bob's mailbox, a report naming Alice's message: nothing of Alice's moves
        raw = dsn(hers.message_id, GONE, sender=ALICE)
        self.deliver(raw)
        self.assertIgnored(raw, hers, "No original found")
        # and the reverse: in Alice's mailbox, a report naming Bob's message
        raw = dsn(ours.message_id, "lead@customer.test")
        client.append(path, raw)
        self.sync(alice)
        self.assertIgnored(raw, ours, "No original found", mailbox=alice)
        # a report naming both Bob's message and Alice's (as Exchange's original ID) to
        # the same address: Bob's trace bounces, Alice's is never handed to Odoo's bounce
        both = self.campaign([GONE])
        self.deliver(dsn(both.message_id, GONE, returned=[("X-Microsoft-Original-Message-ID", hers.message_id)]))
        self.assertEqual(both.trace_status, "bounce")
        self.assertEqual((hers.trace_status, hers.mcm_bounce_kind), ("sent", False))


@tagged("post_install", "-at_install")
class TestFeedbackForgedOverRpc(MailboxUsersMixin, HttpCase):
    """Nobody forges a bounce by hand: over RPC, what the mailbox said of a trace or a
    notification, and a synced message's feedback, are Odoo's to write."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_users(cls.env)
        cls.user_ann.groups_id += cls.env.ref("mass_mailing.group_mass_mailing_user")
        partner = cls.env["res.partner"].create({"name": "Gone", "email": GONE})
        message = partner.message_post(body="Offer", partner_ids=partner.ids, message_type="comment")
        cls.notification = message.notification_ids.filtered(lambda n: n.res_partner_id == partner)
        mailing = cls.env["mailing.mailing"].create({"subject": "Offer", "body_html": "<p>Offer</p>"})
        cls.trace = cls.env["mailing.trace"].create(
            {"mass_mailing_id": mailing.id, "email": GONE, "model": "res.partner", "res_id": partner.id}
        )
        mailbox = (
            cls.env["mail.mailbox"]
            .with_user(cls.user_ann)
            .create({"email": "ann.feedback@example.com", "imap_host": "127.0.0.1", "password": "x"})
        )
        cls.row = cls.env["mail.mailbox.message"].sudo().create({"mailbox_id": mailbox.id, "message_key": "k1"})

    def assertDenied(self, model, record, values):
        with self.assertRaises(xmlrpc.client.Fault):
            self.call(self.user_ann, model, "write", [record.id], values)
        record.invalidate_recordset()

    def test_bounce_fields_are_written_by_odoo_alone(self):
        self.assertEqual(len(self.notification), 1)
        self.call(self.user_ann, "mailing.trace", "write", [self.trace.id], {"links_click_datetime": False})  # she may
        self.assertDenied("mailing.trace", self.trace, {"mcm_bounce_kind": "hard", "mcm_bounce_reason": "forged"})
        self.assertFalse(self.trace.mcm_bounce_kind)
        self.assertDenied("mail.notification", self.notification, {"mcm_soft_bounce": "forged"})
        self.assertFalse(self.notification.mcm_soft_bounce)
        self.assertDenied("mail.mailbox.message", self.row, {"mcm_feedback_state": "applied"})
        self.assertFalse(self.row.mcm_feedback_state)
