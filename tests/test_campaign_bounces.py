"""Bounces that come back to the mailbox a campaign or a chatter message left through,
found by the sync in its real mail (Dovecot) and applied as Odoo applies its own: the
trace bounced with the reason, the bounce counters, the red envelope; a soft bounce
noted and counted nowhere; each bounce once; and the bounce itself never logged on a
contact as correspondence. Real-world formats too (the flufl.bounce corpus)."""

import email
import os
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from odoo.tests import tagged

from ..mailbox_engine import feedback as feedback_lib
from .feedback_common import FeedbackCase, dsn

GONE = "gone@customer.test"
FULL = "full@customer.test"
CORPUS = os.path.join(os.path.dirname(__file__), "data", "bounces", "flufl")
# real-world formats: an RFC 3464 report, Postfix, qmail, Exchange, Yahoo
SAMPLES = ("dsn_01", "postfix_01", "qmail_01", "microsoft_01", "yahoo_01")


@tagged("post_install", "-at_install")
class TestCampaignBounces(FeedbackCase):
    def lead_of(self, partner):
        """A lead of Ann's with ``partner``, whose chatter she writes in."""
        self.user_ann.groups_id += self.env.ref("sales_team.group_sale_salesman")
        return self.env["crm.lead"].create({"name": "Deal", "partner_id": partner.id, "user_id": self.user_ann.id})

    def test_hard_bounce_marks_the_trace_bounced_and_counts(self):
        traces = self.campaign([GONE, "lead@customer.test"])
        gone = self.trace(traces, GONE)
        self.assertEqual(gone.mcm_mailbox_id, self.box)  # the mailbox it left through
        contact = self.env["mailing.contact"].search([("email", "=", GONE)])
        partner = self.env["res.partner"].create({"name": "Gone", "email": GONE})
        raw = dsn(gone.message_id, GONE)
        self.deliver(raw)
        self.assertEqual(gone.trace_status, "bounce")
        self.assertEqual(gone.failure_type, "mail_bounce")
        self.assertIn("5.1.1", gone.failure_reason)
        self.assertIn("User unknown", gone.failure_reason)
        self.assertEqual((gone.mcm_bounce_kind, gone.mcm_bounce_status), ("hard", "5.1.1"))
        row = self.row(self.message_id(raw))
        self.assertEqual(gone.mcm_bounce_message_id, row)
        self.assertEqual((row.mcm_feedback, row.mcm_feedback_state), ("bounce", "applied"))
        self.assertIn(GONE, row.mcm_delivery_report)
        # Odoo's counters, on every record with the address
        self.assertEqual((partner.message_bounce, contact.message_bounce), (1, 1))
        # the other recipient is untouched
        self.assertEqual(self.trace(traces, "lead@customer.test").trace_status, "sent")
        self.assertEqual(traces.mass_mailing_id.bounced, 1)

    def test_red_envelope_on_the_chatter_and_the_bounce_is_no_correspondence(self):
        partner = self.env["res.partner"].create({"name": "Gone", "email": GONE})
        message = self.post(self.lead_of(partner), partner)
        # the report answers the message it returns (as Gmail's does): logged as mail, it
        # would land under it in the lead's chatter, and on the contact
        raw = dsn(message.message_id, GONE, In_Reply_To=message.message_id, References=message.message_id)
        self.deliver(raw)
        notification = message.notification_ids.filtered(lambda n: n.res_partner_id == partner)
        self.assertEqual(notification.notification_status, "bounce")
        # the author's chatter is told at once: the envelope turns red without a reload
        self.env.cr.precommit.run()
        told = self.env["bus.bus"].sudo().search([("channel", "like", f'"res.partner",{self.user_ann.partner_id.id}]')])
        self.assertTrue(any('"notification_status":"bounce"' in bus.message for bus in told), told.mapped("message"))
        self.assertEqual(notification.failure_type, "mail_bounce")
        self.assertIn("User unknown", notification.failure_reason)
        self.assertEqual(partner.message_bounce, 1)
        row = self.row(self.message_id(raw))
        self.assertEqual(row.mcm_feedback_state, "applied")
        self.assertFalse(self.logged_copies(row))
        self.assertFalse(row.logged)

    def test_same_bounce_in_two_folders_and_again_applies_once(self):
        other = self.folder()
        self.box.folder_ids.filtered(lambda f: f.path == other).selected = True
        traces = self.campaign([GONE])
        contact = self.env["mailing.contact"].search([("email", "=", GONE)])
        raw = dsn(traces.message_id, GONE)
        self.imap.append(other, raw)
        self.deliver(raw)
        self.assertEqual(traces.trace_status, "bounce")
        self.assertEqual(contact.message_bounce, 1)
        # synced again, and another report of the same failure: still once
        self.box._schedule_sync(reset=True)
        self.deliver(dsn(traces.message_id, GONE))
        self.assertEqual(contact.message_bounce, 1)
        self.assertEqual(
            len(
                self.env["mail.mailbox.message"].search(
                    [("mcm_feedback", "=", "bounce"), ("mailbox_id", "=", self.box.id)]
                )
            ),
            2,
        )

    def test_soft_bounce_is_noted_and_counted_nowhere_until_a_hard_one(self):
        traces = self.campaign([FULL])
        contact = self.env["mailing.contact"].search([("email", "=", FULL)])
        partner = self.env["res.partner"].create({"name": "Full", "email": FULL})
        self.deliver(
            dsn(traces.message_id, FULL, status="4.2.2", action="delayed", reason="smtp; 452 4.2.2 Mailbox full")
        )
        self.assertEqual(traces.trace_status, "sent")
        self.assertFalse(traces.failure_type)
        self.assertEqual((traces.mcm_bounce_kind, traces.mcm_bounce_status), ("soft", "4.2.2"))
        self.assertIn("Mailbox full", traces.mcm_bounce_reason)
        self.assertEqual((partner.message_bounce, contact.message_bounce), (0, 0))
        self.assertEqual(traces.mass_mailing_id.bounced, 0)
        # the server gives up: a hard bounce overrides the soft one
        self.deliver(dsn(traces.message_id, FULL, status="5.2.2"))
        self.assertEqual((traces.trace_status, traces.mcm_bounce_kind), ("bounce", "hard"))
        self.assertEqual((partner.message_bounce, contact.message_bounce), (1, 1))

    def test_soft_bounce_on_the_chatter_is_said_in_the_envelope(self):
        partner = self.env["res.partner"].create({"name": "Full", "email": FULL})
        message = self.post(self.lead_of(partner), partner)
        self.deliver(
            dsn(message.message_id, FULL, status="4.2.2", action="delayed", reason="smtp; 452 4.2.2 Mailbox full")
        )
        notification = message.notification_ids.filtered(lambda n: n.res_partner_id == partner)
        self.assertEqual(notification.notification_status, "sent")
        self.assertEqual(partner.message_bounce, 0)
        said = notification.with_user(self.user_ann)._mcm_store_values()["mcm_through"]
        self.assertIn("Sent through", said)
        self.assertIn("Mailbox full", said)

    def test_real_world_formats(self):
        for name in SAMPLES:
            path = os.path.join(CORPUS, name + ".txt")
            if not os.path.exists(path):
                self.skipTest(f"the bounce corpus is not in this tree ({path})")
            with open(path, "rb") as fh:
                raw = fh.read()
            if raw.startswith(b"From "):  # the mbox separator: no header
                raw = raw.split(b"\n", 1)[1]
            bounce = feedback_lib.classify(email.message_from_bytes(raw, policy=email.policy.default))
            self.assertTrue(bounce and bounce.failures, name)
            failure = bounce.failures[0]
            with self.subTest(name):
                traces = self.campaign([failure.email])
                if bounce.original_ids:  # the message that came back is now the campaign's
                    raw = raw.replace(bounce.original_ids[0].encode(), traces.message_id.encode())
                else:  # the format quotes none: the report answers it, as Gmail's do
                    raw = b"In-Reply-To: " + traces.message_id.encode() + b"\n" + raw
                self.deliver(raw)
                row = self.env["mail.mailbox.message"].search(
                    [("mailbox_id", "=", self.box.id), ("mcm_feedback", "=", "bounce")], order="id desc", limit=1
                )
                self.assertEqual(row.mcm_feedback_state, "applied", name)
                self.assertEqual(traces.trace_status, "bounce" if failure.hard else "sent", name)
                self.assertEqual(traces.mcm_bounce_kind, "hard" if failure.hard else "soft", name)
                self.assertEqual(traces.mcm_bounce_message_id, row, name)

    def corpus_bounce(self, name):
        with open(os.path.join(CORPUS, name + ".txt"), "rb") as fh:
            raw = fh.read()
        raw = raw.split(b"\n", 1)[1] if raw.startswith(b"From ") else raw  # the mbox separator: no header
        # it arrives today (the corpus's reports are from years ago)
        raw = re.sub(rb"(?m)^Date: .*$", b"Date: " + format_datetime(datetime.now(UTC)).encode(), raw, count=1)
        bounce = feedback_lib.classify(email.message_from_bytes(raw, policy=email.policy.default))
        self.assertEqual(bounce.original_ids, (), f"{name} names no message")
        return raw, bounce.failures[0].email

    def test_a_report_naming_no_message_applies_to_the_last_sent_to_the_address(self):
        # many servers return no headers of the message (qmail, Postfix's older reports)
        for name in ("qmail_01", "postfix_01"):
            with self.subTest(name):
                raw, address = self.corpus_bounce(name)
                older = self.campaign([address])
                traces = self.campaign([address])
                self.deliver(raw)
                row = self.env["mail.mailbox.message"].search(
                    [("mailbox_id", "=", self.box.id), ("mcm_feedback", "=", "bounce")], order="id desc", limit=1
                )
                self.assertEqual(row.mcm_feedback_state, "applied")
                self.assertIn("names no message", row.mcm_feedback_note)
                self.assertEqual(traces.trace_status, "bounce")  # the newest message to the address
                self.assertEqual(older.trace_status, "sent")

    def test_a_report_naming_no_message_leaves_older_mail_alone(self):
        raw, address = self.corpus_bounce("qmail_01")
        traces = self.campaign([address])
        traces.sudo().sent_datetime = traces.sent_datetime - timedelta(days=4)
        self.deliver(raw)
        row = self.env["mail.mailbox.message"].search(
            [("mailbox_id", "=", self.box.id), ("mcm_feedback", "=", "bounce")], order="id desc", limit=1
        )
        self.assertEqual(row.mcm_feedback_state, "ignored")
        self.assertIn("No original found", row.mcm_feedback_note)
        self.assertEqual(traces.trace_status, "sent")
