"""A mailbox that bounces too much, in Chromium, as the README tells it: the campaign
sending through it is paused with the reason and what to do, Resume queues it again
(and re-arms the guard for 7 days); the Health board lists the mailbox with its rate.
The mailbox's earlier campaign traces are written straight, as the sync leaves them."""

from odoo import fields
from odoo.tests import HttpCase, tagged

from .common import StackHttpMixin

ADDRESS = "alice@mail.test"  # an account of the local stack


@tagged("post_install", "-at_install")
class TestWebBouncePause(StackHttpMixin, HttpCase):
    def setUp(self):
        super().setUp()
        self.user_ada.groups_id += self.env.ref("mass_mailing.group_mass_mailing_user")
        self.mailbox = self.env["mail.mailbox"].with_user(self.user_ann).create(self.custom_values(ADDRESS))
        self.mailbox.with_user(self.user_ann).action_connect()
        self.assertEqual(self.mailbox.state, "connected")
        earlier, self.campaign = self.env["mailing.mailing"].create(
            [
                {
                    "subject": subject,
                    "body_html": "<p>Offer</p>",
                    "email_from": ADDRESS,
                    "user_id": self.user_ada.id,
                    "mailing_model_id": self.env.ref("base.model_res_partner").id,
                    "state": state,
                }
                for subject, state in (("Winter offer", "done"), ("Spring offer", "in_queue"))
            ]
        )
        partners = self.env["res.partner"].create(
            [{"name": f"Lead {n}", "email": f"lead{n}@customer.test"} for n in range(100)]
        )
        self.env["mailing.trace"].create(
            [
                {
                    "mass_mailing_id": earlier.id,
                    "model": "res.partner",
                    "res_id": partner.id,
                    "email": partner.email,
                    "trace_status": "bounce" if n < 7 else "sent",
                    "sent_datetime": fields.Datetime.now(),
                    "mcm_mailbox_id": self.mailbox.id,
                    "mcm_bounce_kind": "hard" if n < 7 else False,
                }
                for n, partner in enumerate(partners)
            ]
        )
        self.mailbox._mcm_bounce_guard()  # as the sync calls it after applying the bounces
        self.assertEqual((self.campaign.state, self.campaign.mcm_pause_cause), ("paused", "bounces"))

    def test_the_paused_campaign_says_why_and_resumes(self):
        self.start_tour(
            f"/odoo/action-mass_mailing.mailing_mailing_action_mail/{self.campaign.id}",
            "mail_connected_mailbox_tour_bounce_resume",
            login=self.user_ada.login,
        )
        self.assertEqual(self.campaign.state, "in_queue")
        self.assertTrue(self.campaign.mcm_bounce_resumed_at)
        self.assertEqual(self.campaign.mcm_bounce_rate_at_resume, 7.0)
        # the same rate again within 7 days: left alone
        self.mailbox._mcm_bounce_guard()
        self.assertEqual(self.campaign.state, "in_queue")

    def test_the_health_board_lists_the_mailbox_that_bounces(self):
        self.assertTrue(self.mailbox.mcm_bouncing)
        self.start_tour("/odoo", "mail_connected_mailbox_tour_bouncing_on_board", login=self.user_ada.login)
