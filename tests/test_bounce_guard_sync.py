"""The bounce guard from real synced mail: a campaign of 120 through Bob's mailbox, whose
sending limit lets 100 leave today; 7 of them come back as delivery reports in the
mailbox; the sync reads them, the campaign pauses with the reason, the 20 left stay
held; after Resume they leave (the next day, when the limit lifts), and a later bounce
does not pause it again within 7 days."""

from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo.tests import tagged

from .feedback_common import FeedbackCase, dsn


@tagged("post_install", "-at_install")
class TestBounceGuardFromSync(FeedbackCase):
    def test_seven_of_a_hundred_pause_the_campaign_until_resume(self):
        self.env["ir.config_parameter"].sudo().set_param("mail_connected_mailbox.campaign_chunk", 1000)
        self.box.sudo().write({"send_limit_minute": 0, "send_limit_day": 100, "send_limit_recipients_day": 0})
        gone = [f"gone{n}@customer.test" for n in range(7)]
        emails = gone + [f"lead{n}@customer.test" for n in range(113)]
        mailing = self.new_campaign(emails)
        self.run_queue()
        traces = mailing.mailing_trace_ids
        left = traces.filtered(lambda t: t.trace_status == "sent")
        self.assertEqual(len(left), 100)  # the day's limit holds back the 20 others
        self.assertEqual(set(left.mcm_mailbox_id.ids), {self.box.id})
        bounced = left.filtered(lambda t: t.email in gone)
        self.assertEqual(len(bounced), 7, "the reported addresses left among the first 100")
        # the provider's reports come back to the mailbox; the sync reads them
        self.deliver(*(dsn(trace.message_id, trace.email) for trace in bounced))
        self.assertEqual(set(bounced.mapped("trace_status")), {"bounce"})
        self.assertEqual(set(bounced.mapped("mcm_bounce_kind")), {"hard"})
        self.assertEqual(mailing.state, "paused")
        self.assertEqual(mailing.mcm_pause_cause, "bounces")
        self.assertIn("7 of the last 100 messages bounced: check the list before you resume", mailing.mcm_pause_reason)
        self.assertEqual((self.box.mcm_bounce_rate, self.box.mcm_bouncing), (7.0, True))
        # the owner and the responsible are told
        notes = self.box.message_ids.filtered(lambda m: self.box.user_id.partner_id in m.partner_ids)
        self.assertTrue(any("7 of the last 100 messages bounced" in note.body for note in notes), notes.mapped("body"))
        activity = mailing.activity_ids.filtered(lambda a: a.user_id == self.user_ann)
        self.assertEqual(len(activity), 1)
        # the next day the limit lifts, but the 20 left stay held while it is paused
        tomorrow = datetime.now() + timedelta(days=1, minutes=5)
        with freeze_time(tomorrow):
            self.run_queue()
        self.assertEqual(len(mailing.mailing_trace_ids.filtered(lambda t: t.trace_status == "sent")), 93)
        self.assertEqual(mailing.state, "paused")
        # Resume: they leave; a later bounce at the same rate does not pause it again
        with freeze_time(tomorrow):
            mailing.with_user(self.user_ann).action_mcm_resume()
            self.assertNotEqual(mailing.state, "paused")
            self.run_queue()
            traces = mailing.mailing_trace_ids
            self.assertEqual(len(traces.filtered(lambda t: t.trace_status in ("sent", "bounce"))), 120)
            late = traces.filtered(lambda t: t.trace_status == "sent")[-1:]
            self.deliver(dsn(late.message_id, late.email))
            self.assertEqual(late.trace_status, "bounce")
            self.assertNotEqual(mailing.state, "paused")
