"""Campaign feedback end to end, with nothing made by hand: a campaign really leaves
through Bob's mailbox, the local SMTP server accepts every message and later reports
two of them back into Bob's Inbox (as a real mail server does), the sync finds the
reports there and applies them: the address that does not exist bounced and counted,
the full mailbox noted as a soft bounce and counted nowhere, the reports themselves
never logged on anyone's contact."""

import time

from odoo.tests import tagged

from .feedback_common import FeedbackCase

GONE = "gone@customer.test"  # the sink accepts it, then reports 5.1.1 user unknown
FULL = "full@customer.test"  # accepted, then reported 4.2.2 mailbox full (delayed)
LEAD = "lead@customer.test"
DEADLINE = 30  # seconds to wait for the reports (never asserted as a duration)


@tagged("post_install", "-at_install")
class TestFeedbackForReal(FeedbackCase):
    def setUp(self):
        super().setUp()
        # the reports come where a mail server delivers them: Bob's Inbox
        for folder in self.box.folder_ids:
            folder.selected = folder.path == "INBOX"

    def reports_arrived(self, *message_ids):
        """Wait until Bob's Inbox holds a report naming each of ``message_ids``."""
        ends = time.monotonic() + DEADLINE
        missing = list(message_ids)
        while missing and time.monotonic() < ends:
            self.imap.select_folder("INBOX", readonly=True)
            missing = [mid for mid in missing if not self.imap.search(["FROM", "MAILER-DAEMON", "BODY", mid])]
            if missing:
                time.sleep(0.2)
        self.assertFalse(missing, "no report of these messages reached Bob's Inbox")

    def test_the_servers_reports_bounce_the_gone_address_and_note_the_full_one(self):
        traces = self.campaign([GONE, FULL, LEAD])
        gone, full, lead = (self.trace(traces, email) for email in (GONE, FULL, LEAD))
        partner = self.env["res.partner"].create({"name": "Gone", "email": GONE})
        contacts = self.env["mailing.contact"].search([("email", "in", [GONE, FULL])])
        self.assertEqual(len(contacts), 2)
        self.reports_arrived(gone.message_id, full.message_id)
        self.sync(self.box)
        # the address that does not exist: bounced with the server's words, counted
        self.assertEqual(gone.trace_status, "bounce")
        self.assertEqual(gone.failure_type, "mail_bounce")
        self.assertIn("5.1.1", gone.failure_reason)
        self.assertEqual((gone.mcm_bounce_kind, gone.mcm_bounce_status), ("hard", "5.1.1"))
        self.assertEqual(partner.message_bounce, 1)
        self.assertEqual(contacts.filtered(lambda c: c.email == GONE).message_bounce, 1)
        # the full mailbox: a soft bounce, the message still sent, nobody counted
        self.assertEqual(full.trace_status, "sent")
        self.assertEqual((full.mcm_bounce_kind, full.mcm_bounce_status), ("soft", "4.2.2"))
        self.assertEqual(contacts.filtered(lambda c: c.email == FULL).message_bounce, 0)
        # the third was delivered: nothing said of it
        self.assertEqual((lead.trace_status, lead.mcm_bounce_kind), ("sent", False))
        self.assertEqual(traces.mass_mailing_id.bounced, 1)
        # the reports are applied, and never logged on a contact as correspondence
        reports = self.env["mail.mailbox.message"].search(
            [("mailbox_id", "=", self.box.id), ("mcm_feedback", "=", "bounce"), ("mcm_feedback_state", "=", "applied")]
        )
        self.assertEqual(reports, gone.mcm_bounce_message_id | full.mcm_bounce_message_id)
        self.assertEqual(len(reports), 2)
        self.assertFalse(self.env["mail.message"].search([("mcm_message_id", "in", reports.ids)]))
        self.assertFalse(any(reports.mapped("logged")))
        # the mailbox's figures say it
        self.box.invalidate_recordset()
        self.assertEqual(
            (self.box.mcm_sent_7, self.box.mcm_hard_7, self.box.mcm_soft_7, self.box.mcm_replied_7), (3, 1, 1, 0)
        )
