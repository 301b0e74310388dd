"""What a mailbox's sending looks like, in Chromium: its owner opens the mailbox as the
README says, reads sent, hard and soft bounces and replies over 7 and 30 days, opens
the graph by day and switches to the pivot; the same on a campaign sent through it.
The traces are written straight (as the sync would leave them) over a few days."""

from datetime import timedelta

from odoo import fields
from odoo.tests import HttpCase, tagged

from .common import MailboxUsersMixin

BOB = "bob@mail.test"


@tagged("post_install", "-at_install")
class TestWebFeedback(MailboxUsersMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_users(cls.env)
        bob = cls._new_user(cls.env, "bob", "Bob Seller", "base.group_user,mass_mailing.group_mass_mailing_user")
        cls.mailbox = cls.env["mail.mailbox"].with_user(bob).create({"email": BOB})
        cls.mailing, cls.other_mailing = cls.env["mailing.mailing"].create(
            [
                {
                    "subject": "Spring offer",
                    "body_html": "<p>Offer</p>",
                    "email_from": BOB,
                    "user_id": bob.id,
                    "mailing_model_id": cls.env.ref("base.model_res_partner").id,
                    # still sending (its next batch queued): Odoo 18's form of a finished campaign breaks
                    # in a browser on its own (the read-only mail body calls the absent editor)
                    "state": "in_queue",
                },
                {
                    "subject": "Ann's offer",
                    "body_html": "<p>Offer</p>",
                    "email_from": "ann.feedback@mail.test",
                    "mailing_model_id": cls.env.ref("base.model_res_partner").id,
                    "state": "in_queue",
                },
            ]
        )
        cls.other_mailbox = cls.env["mail.mailbox"].with_user(cls.user_ann).create({"email": "ann.feedback@mail.test"})
        now = fields.Datetime.now()
        # days ago: [(trace status, bounce kind)] through Bob's mailbox
        cls.traces = cls.trace_days(
            cls.mailbox,
            cls.mailing,
            {
                0: [("sent", None), ("bounce", "hard"), ("reply", None)],
                3: [("sent", "soft"), ("open", None)],
                10: [("sent", None), ("sent", None), ("bounce", "hard"), ("sent", None)],
                40: [("sent", None)] * 5,  # beyond 30 days
            },
            now,
        )
        cls.trace_days(
            cls.other_mailbox, cls.other_mailing, {1: [("bounce", "hard")] * 3}, now
        )  # Ann's: never Bob's figures
        # a chatter message sent through Bob's mailbox two days ago: the mailbox's, not the campaign's
        partner = cls.env["res.partner"].create({"name": "Chatter lead", "email": "chatter@customer.test"})
        message = partner.message_post(body="Hello", message_type="comment", subtype_xmlid="mail.mt_comment")
        message.date = now - timedelta(days=2)
        cls.env["mail.notification"].create(
            {
                "mail_message_id": message.id,
                "res_partner_id": partner.id,
                "notification_type": "email",
                "notification_status": "sent",
                "mcm_mailbox_id": cls.mailbox.id,
            }
        )

    @classmethod
    def trace_days(cls, mailbox, mailing, days, now):
        traces = cls.env["mailing.trace"]
        for ago, rows in days.items():
            for n, (status, kind) in enumerate(rows):
                partner = cls.env["res.partner"].create({"name": f"Lead {ago}-{n}", "email": f"l{ago}-{n}@x.test"})
                traces |= cls.env["mailing.trace"].create(
                    {
                        "mass_mailing_id": mailing.id,
                        "model": "res.partner",
                        "res_id": partner.id,
                        "email": partner.email,
                        "trace_status": status,
                        "sent_datetime": now - timedelta(days=ago, minutes=1),
                        "mcm_mailbox_id": mailbox.id,
                        "mcm_bounce_kind": kind,
                    }
                )
        return traces

    def test_the_owner_reads_the_mailbox_figures_and_its_graph(self):
        mailbox = self.mailbox.with_user(self.user_bob)
        self.assertEqual(
            [mailbox.mcm_sent_7, mailbox.mcm_hard_7, mailbox.mcm_soft_7, mailbox.mcm_replied_7], [6, 1, 1, 1]
        )
        self.assertEqual(
            [mailbox.mcm_sent_30, mailbox.mcm_hard_30, mailbox.mcm_soft_30, mailbox.mcm_replied_30], [10, 2, 1, 1]
        )
        self.start_tour("/odoo", "mail_connected_mailbox_tour_feedback_mailbox", login=self.user_bob.login)

    def test_the_campaign_shows_its_own_figures_and_graph(self):
        self.assertTrue(self.mailing.mcm_through_mailbox)
        self.start_tour(
            f"/odoo/action-mass_mailing.mailing_mailing_action_mail/{self.mailing.id}",
            "mail_connected_mailbox_tour_feedback_mailing",
            login=self.user_bob.login,
        )

    def test_each_sees_only_their_mailbox_lines_and_campaign_lines(self):
        fields_ = ["mailbox_id", "mailing_id", "sent"]
        bob = self.call(self.user_bob, "mail.mailbox.send.day", "search_read", [], fields_)
        self.assertEqual({line["mailbox_id"][0] for line in bob if not line["mailing_id"]}, {self.mailbox.id})
        self.assertEqual(sum(line["sent"] for line in bob if line["mailbox_id"][0] == self.mailbox.id), 15)
        # Ann (no Email Marketing) sees her own mailbox's lines only
        ann = self.call(self.user_ann, "mail.mailbox.send.day", "search_read", [], fields_)
        self.assertEqual({line["mailbox_id"][0] for line in ann}, {self.other_mailbox.id})
        # Ben has no mailbox and no Email Marketing: nothing at all
        self.assertEqual(self.call(self.user_ben, "mail.mailbox.send.day", "search_read", [], fields_), [])
