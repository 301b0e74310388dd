"""Sending limits per mailbox: over a limit, mail waits (scheduled, with the reason and
a wake-up of the queue) and leaves later, never failed, never twice; on the queue and
on the direct send of a mass mailing."""

from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import MailboxCase, StackMixin

ALICE = "alice@mail.test"
T0 = datetime(2026, 11, 26, 9, 0, 0)


@tagged("post_install", "-at_install")
class TestSendingLimits(StackMixin, MailboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_stack(cls.env)
        cls.mailbox = cls.env["mail.mailbox"].with_user(cls.user_ann).create(cls.custom_values(cls, ALICE))
        cls.mailbox.action_connect()
        cls.mailbox.with_user(cls.user_ada).send_limit_minute = 10

    def queue(self, count):
        return (
            self.env["mail.mail"]
            .with_user(self.user_ann)  # written by the owner
            .sudo()
            .create(
                [
                    {
                        "email_from": ALICE,
                        "email_to": f"lead{n}@customer.test",
                        "subject": f"Offer {n}",
                        "auto_delete": False,
                    }
                    for n in range(count)
                ]
            )
        )

    def assertLeaveOverFourMinutes(self, mails, run):
        """``run()`` once a minute: 10 leave each time, none twice, none failed."""
        sent_per_run = []
        for minute in range(4):
            with freeze_time(T0 + timedelta(minutes=minute, seconds=1)):
                before = len(mails.filtered(lambda m: m.state == "sent"))
                run()
                sent_per_run.append(len(mails.filtered(lambda m: m.state == "sent")) - before)
                waiting = mails.filtered(lambda m: m.state == "outgoing")
                if waiting:
                    self.assertEqual(
                        set(waiting.mapped("scheduled_date")), {T0 + timedelta(minutes=minute + 1, seconds=1)}
                    )
                    self.assertIn("10 messages a minute", waiting[0].mcm_wait_reason)
        self.assertEqual(sent_per_run, [10, 10, 10, 5])
        self.assertEqual(set(mails.mapped("state")), {"sent"})
        self.assertFalse(mails.filtered("failure_type"))

    def test_a_cap_of_ten_a_minute_through_the_queue(self):
        with freeze_time(T0):
            mails = self.queue(35)
        self.assertLeaveOverFourMinutes(mails, self.env["mail.mail"].process_email_queue)

    def test_the_same_through_the_direct_send_of_a_mass_mailing(self):
        partners = self.env["res.partner"].create(
            [{"name": f"Lead {n}", "email": f"lead{n}@customer.test"} for n in range(35)]
        )
        mailing = self.env["mailing.mailing"].create(
            {
                "subject": "Our offer",
                "body_html": "<p>Our offer</p>",
                "email_from": ALICE,
                "user_id": self.user_ann.id,  # her campaign
                "mailing_model_id": self.env.ref("base.model_res_partner").id,
                "mailing_domain": [("id", "in", partners.ids)],
            }
        )
        with freeze_time(T0):
            mailing.action_send_mail()  # 35 recipients: Odoo sends them at once, without the queue
        traces = self.env["mailing.trace"].search([("mass_mailing_id", "=", mailing.id)])

        def sent():  # sent mail is deleted (mass mailings auto-delete): count the traces
            return len(traces.filtered(lambda t: t.trace_status == "sent"))

        self.assertEqual((len(traces), sent()), (35, 10))
        waiting = self.env["mail.mail"].sudo().search([("mailing_id", "=", mailing.id)])
        self.assertEqual(set(waiting.mapped("state")), {"outgoing"})
        self.assertEqual(len(waiting), 25)
        sent_later = []
        for minute in range(1, 4):
            with freeze_time(T0 + timedelta(minutes=minute, seconds=1)):
                before = sent()
                self.env["mail.mail"].process_email_queue()
                sent_later.append(sent() - before)
        self.assertEqual(sent_later, [10, 10, 5])
        self.assertEqual(set(traces.mapped("trace_status")), {"sent"})  # each recipient once, none failed

    def test_only_administrators_change_limits_and_defaults_follow_the_provider(self):
        with self.assertRaisesRegex(AccessError, "Only a mailbox administrator"):
            self.mailbox.with_user(self.user_ann).send_limit_minute = 1000
        google = (
            self.env["mail.mailbox"]
            .with_user(self.user_ann)
            .create({"email": "ann@company.test", "provider": "google", "send_limit_day": 99999})
        )
        self.assertEqual((google.send_limit_minute, google.send_limit_day), (0, 2000))  # users cannot raise it
        microsoft = (
            self.env["mail.mailbox"]
            .with_user(self.user_ada)
            .create({"email": "ann@contoso.test", "provider": "microsoft"})
        )
        self.assertEqual((microsoft.send_limit_minute, microsoft.send_limit_recipients_day), (30, 10000))
