"""A server that misbehaves while sending, for real: the local SMTP server answers
``421 4.7.0`` (over the rate), ``451 4.3.0`` (try later) or cuts the connection after
the data, before confirming. Each time: a clear reason on that message only, the
others leave, nothing is sent twice, nothing fails for a passing reason."""

import glob
import os
import uuid
from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import MailboxCase, StackMixin, really_sending

CAROL = "carol@mail.test"
T0 = datetime(2026, 11, 26, 9, 0, 0)
QUIET = ("odoo.addons.mail.models.mail_mail", "odoo.addons.base.models.ir_mail_server")


@tagged("post_install", "-at_install")
class TestSendFailures(StackMixin, MailboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_stack(cls.env)
        # the mailbox sends straight to the local SMTP server (which signs Carol in)
        values = cls.custom_values(cls, CAROL, smtp_port=cls.stack["sink_submission_port"])
        cls.mailbox = cls.env["mail.mailbox"].with_user(cls.user_ann).create(values)
        cls.mailbox.action_connect()
        assert cls.mailbox.state == "connected", cls.mailbox.last_error_cause
        # the company's usual server, for mail from other addresses
        cls.env["ir.mail_server"].create(
            {"name": "Company", "smtp_host": "127.0.0.1", "smtp_port": cls.stack["sink_port"], "sequence": 50}
        )

    def mails(self, *recipients, sender=CAROL):
        tag = uuid.uuid4().hex[:8]
        return (
            self.env["mail.mail"]
            .with_user(self.user_ann)  # written by the owner
            .sudo()
            .create(
                [
                    {
                        "email_from": sender,
                        "email_to": to,
                        "subject": f"Offer {tag} {n}",
                        "body_html": "<p>Our offer</p>",
                        "auto_delete": False,
                    }
                    for n, to in enumerate(recipients)
                ]
            )
        )

    def times_received(self, mail):
        """How many copies of ``mail`` the SMTP server accepted."""
        count = 0
        for path in glob.glob(os.path.join(self.stack["sink_folder"], "*.eml")):
            with open(path, "rb") as fh:
                count += f"Subject: {mail.subject}\r\n".encode() in fh.read()
        return count

    def assertWaiting(self, mail, words):
        self.assertEqual((mail.state, mail.failure_type, mail.mcm_hold_reason), ("outgoing", False, False))
        self.assertIn(words, mail.mcm_wait_reason)

    # ------------------------------------------------------------------ tests
    def test_connection_cut_before_the_answer_waits_and_the_rest_leaves(self):
        with freeze_time(T0):
            first, cut, last = self.mails("lead@customer.test", "drop@customer.test", "lead2@customer.test")
            with mute_logger(*QUIET), really_sending():
                (first | cut | last).send()
            # the two others left once, on a fresh connection for the last one
            self.assertEqual((first.state, last.state), ("sent", "sent"))
            self.assertEqual((self.times_received(first), self.times_received(last)), (1, 1))
            # the cut one was not accepted: it waits one minute, with the reason
            self.assertEqual(self.times_received(cut), 0)
            self.assertWaiting(cut, "closed the connection before confirming this message")
            self.assertIn("try 2 of 5", cut.mcm_wait_reason)
            self.assertEqual(cut.scheduled_date, T0 + timedelta(minutes=1))
            self.assertEqual(self.mailbox.state, "connected")  # a cut is not a loss of access
        # the queue leaves it alone until it is due
        with freeze_time(T0 + timedelta(seconds=30)):
            self.env["mail.mail"].process_email_queue()
            self.assertWaiting(cut, "try 2 of 5")
        # each try pushes the next one further; after the last one it fails, with the reason
        minutes = 1
        for attempt, delay in ((3, 5), (4, 15), (5, 60)):
            with freeze_time(T0 + timedelta(minutes=minutes)), mute_logger(*QUIET), really_sending():
                cut.send()
            self.assertWaiting(cut, f"try {attempt} of 5")
            minutes += delay
            self.assertEqual(cut.scheduled_date, T0 + timedelta(minutes=minutes))
        with freeze_time(T0 + timedelta(minutes=minutes)), mute_logger(*QUIET), really_sending():
            cut.send()
        self.assertEqual((cut.state, cut.failure_type), ("exception", "unknown"))
        self.assertIn("closed the connection before confirming this message", cut.failure_reason)
        self.assertEqual(self.times_received(cut), 0)

    def test_try_again_later_waits_that_message_only(self):
        with freeze_time(T0):
            later, other = self.mails("later@customer.test", "lead@customer.test")
            with mute_logger(*QUIET), really_sending():
                (later | other).send()
            self.assertWaiting(later, "asked to try again later (451 4.3.0 Temporary local problem")
            self.assertEqual(later.scheduled_date, T0 + timedelta(minutes=1))
            self.assertEqual((other.state, self.times_received(other)), ("sent", 1), other.mcm_wait_reason)
            self.assertEqual(self.mailbox.state, "connected")

    def test_over_the_rate_throttles_the_mailbox_and_holds_its_mail(self):
        busy, next_one = self.mails("busy@customer.test", "lead@customer.test")
        (elsewhere,) = self.mails("lead@customer.test", sender="company@other.test")
        with mute_logger(*QUIET), really_sending():
            (busy | next_one | elsewhere).send()
        # the mailbox shows why, and its mail waits, held, not failed
        self.assertEqual(self.mailbox.state, "throttled")
        self.assertIn("refuses more mail from carol@mail.test for now (“421 4.7.0", self.mailbox.last_error_cause)
        self.assertIn("leaves by itself once the limit lifts", self.mailbox.last_error_fix)
        for mail in (busy, next_one):
            self.assertEqual((mail.state, mail.failure_type), ("outgoing", False))
            self.assertIn("is limited by its provider", mail.mcm_hold_reason)
            self.assertEqual(self.times_received(mail), 0)
        self.assertEqual(self.mailbox.held_mail_count, 2)
        # mail from another address, through another server, left in the same call
        self.assertEqual((elsewhere.state, self.times_received(elsewhere)), ("sent", 1))

    def test_refused_recipient_fails_alone_with_its_reason(self):
        refused, other = self.mails("nobody@customer.test", "lead@customer.test")
        with mute_logger(*QUIET), really_sending():
            (refused | other).send()
        self.assertEqual(refused.state, "exception")
        words = "refused every recipient of this message: nobody@customer.test (550 5.1.1"
        self.assertIn(words, refused.failure_reason)
        self.assertEqual((other.state, self.times_received(other)), ("sent", 1), other.mcm_wait_reason)
        self.assertEqual(self.mailbox.state, "connected")
