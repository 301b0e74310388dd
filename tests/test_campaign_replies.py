"""Replies to a campaign that come back to the mailbox it left through, found by the
sync in its real mail (Dovecot): the recipient's answer marks the trace replied and is
logged on the recipient's record; an automatic answer and somebody else's do not count."""

from odoo.tests import tagged

from .feedback_common import FeedbackCase, reply

LEAD = "lead@customer.test"


@tagged("post_install", "-at_install")
class TestCampaignReplies(FeedbackCase):
    def test_reply_marks_the_trace_replied_and_is_logged_on_the_recipient(self):
        traces = self.campaign([LEAD, "other@customer.test"])
        trace = self.trace(traces, LEAD)
        contact = self.env["mailing.contact"].search([("email", "=", LEAD), ("id", "=", trace.res_id)])
        raw = reply(trace.message_id, f"Lead <{LEAD}>")
        self.deliver(raw)
        self.assertEqual(trace.trace_status, "reply")
        self.assertTrue(trace.reply_datetime)
        self.assertTrue(trace.open_datetime)  # a reply is an open too, as Odoo counts it
        self.assertEqual(self.trace(traces, "other@customer.test").trace_status, "sent")
        self.assertEqual(trace.mass_mailing_id.replied, 1)
        row = self.row(self.message_id(raw))
        self.assertEqual((row.mcm_feedback, row.mcm_feedback_state), ("reply", "applied"))
        copies = self.logged_copies(row)
        self.assertIn(("mailing.contact", contact.id), [(c.model, c.res_id) for c in copies])

    def test_reply_through_reply_to_counts_and_log_mode_none_logs_nothing(self):
        self.box.log_mode = "none"
        traces = self.campaign([LEAD])
        raw = reply(traces.message_id, "Assistant <assistant@customer.test>", Reply_To=LEAD)
        self.deliver(raw)
        self.assertEqual(traces.trace_status, "reply")
        self.assertFalse(self.logged_copies(self.row(self.message_id(raw))))

    def test_auto_reply_does_not_count(self):
        traces = self.campaign([LEAD])
        raw = reply(traces.message_id, LEAD, subject="Out of office", Auto_Submitted="auto-replied")
        self.deliver(raw)
        self.assertEqual(traces.trace_status, "sent")
        self.assertFalse(traces.reply_datetime)
        row = self.row(self.message_id(raw))
        self.assertTrue(row.mcm_auto_submitted)
        self.assertFalse(row.mcm_feedback)

    def test_someone_elses_reply_does_not_count(self):
        traces = self.campaign([LEAD])
        raw = reply(traces.message_id, "Stranger <stranger@elsewhere.test>")
        self.deliver(raw)
        self.assertEqual(traces.trace_status, "sent")
        self.assertFalse(self.row(self.message_id(raw)).mcm_feedback)
