"""Campaigns (mass mailings) that send through a connected mailbox pause when it
loses access, stop generating recipients, hold what was generated, and resume where
they stopped after a reconnect, nobody mailed twice: for real (Odoo really sends,
to the local Dovecot and SMTP server)."""

import glob
import os
import secrets

from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import MailboxCase, StackMixin, really_sending

ALICE = "alice@mail.test"
QUIET = ("odoo.addons.mail.models.mail_mail", "odoo.addons.base.models.ir_mail_server")


@tagged("post_install", "-at_install")
class TestCampaigns(StackMixin, MailboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_stack(cls.env)
        cls.mailbox = cls.env["mail.mailbox"].with_user(cls.user_ann).create(cls.custom_values(cls, ALICE))
        cls.mailbox.action_connect()
        cls.good_password = cls.mailbox._get_secret("password")
        cls.env["ir.config_parameter"].sudo().set_param("mail_connected_mailbox.campaign_chunk", 5)

    def campaign(self, count):
        tag = secrets.token_hex(4)
        contacts = self.env["mailing.contact"].create(
            [{"name": f"Lead {n}", "email": f"lead{n}-{tag}@customer.test"} for n in range(count)]
        )
        mailing_list = self.env["mailing.list"].create({"name": f"Leads {tag}", "contact_ids": contacts.ids})
        return self.env["mailing.mailing"].create(
            {
                "subject": f"Spring offer {tag}",
                "body_html": "<p>Our spring offer</p>",
                "email_from": ALICE,
                "user_id": self.user_ann.id,  # her campaign
                "mailing_model_id": self.env.ref("mass_mailing.model_mailing_list").id,
                "contact_list_ids": [(4, mailing_list.id)],
                "state": "in_queue",
            }
        )

    def received(self, subject):
        """Recipients of each copy of ``subject`` the SMTP server accepted."""
        found = []
        for path in glob.glob(os.path.join(self.stack["sink_folder"], "*.eml")):
            with open(path, "rb") as fh:
                head = fh.read(4000)
            if f"Subject: {subject}".encode() in head:
                found.append(head.split(b"X-Envelope-To: ", 1)[1].split(b"\r\n", 1)[0].decode())
        return found

    def run_queue(self):
        with really_sending(), mute_logger(*QUIET):
            self.env["mailing.mailing"]._process_mass_mailing_queue()
            self.env["mail.mail"].process_email_queue()

    def lose_access(self):
        self.mailbox.sudo()._set_secrets({"password": "changed-at-the-server"})

    def reconnect(self):
        self.mailbox.with_user(self.user_ann).write({"password": self.good_password})
        self.mailbox.with_user(self.user_ann).action_reconnect()
        self.assertEqual(self.mailbox.state, "connected")

    # ------------------------------------------------------------------ tests
    def test_lost_while_sending_pauses_and_resumes_where_it_stopped(self):
        mailing = self.campaign(12)
        self.lose_access()  # the password changed at the server; nobody knows yet
        self.run_queue()
        # the first chunk found the loss: generation stopped, its mail is held
        self.assertEqual(self.mailbox.state, "auth_lost")
        self.assertEqual(mailing.state, "paused")
        self.assertIn("access to alice@mail.test was lost", mailing.mcm_pause_reason)
        self.assertEqual(len(mailing.mailing_trace_ids), 5)
        held = self.env["mail.mail"].sudo().search([("mailing_id", "=", mailing.id)])
        self.assertEqual((len(held), set(held.mapped("state"))), (5, {"outgoing"}))
        self.assertEqual(self.received(mailing.subject), [])
        # the queue leaves a paused campaign alone
        self.run_queue()
        self.assertEqual(len(mailing.mailing_trace_ids), 5)
        # reconnect: it waits for a click (the default), and says so on the mailbox
        self.reconnect()
        self.assertEqual(mailing.state, "paused")
        notes = self.mailbox.message_ids.mapped("body")
        self.assertTrue(
            any("is paused and waits for a click on Resume: 12 recipients to go." in note for note in notes),
            notes,
        )
        self.assertTrue(all(mail.mcm_hold_reason for mail in held))
        self.run_queue()
        self.assertEqual(self.received(mailing.subject), [])
        # Resume: everyone, once
        mailing.action_mcm_resume()
        self.run_queue()
        self.assertEqual(mailing.state, "done")
        recipients = self.received(mailing.subject)
        self.assertEqual(len(recipients), 12)
        self.assertEqual(len(set(recipients)), 12)

    def test_resumes_by_itself_when_settings_say_so(self):
        self.env["ir.config_parameter"].sudo().set_param("mail_connected_mailbox.resume_campaigns", "auto")
        mailing = self.campaign(3)
        self.lose_access()
        self.mailbox.with_user(self.user_ann).action_test_connection()  # found before it starts
        self.assertEqual(mailing.state, "paused")
        self.run_queue()
        self.assertFalse(mailing.mailing_trace_ids)
        self.reconnect()
        self.assertEqual(mailing.state, "in_queue")
        self.run_queue()
        self.assertEqual(
            sorted(set(self.received(mailing.subject))), sorted(mailing.contact_list_ids.contact_ids.mapped("email"))
        )
        self.assertEqual(len(self.received(mailing.subject)), 3)

    def test_campaign_that_finished_generating_pauses_and_waits_for_resume(self):
        # over mail.mail.force.send.limit (100), Odoo queues the whole campaign and marks it
        # done: its mail is all that is left, and it must pause all the same
        self.env["ir.config_parameter"].sudo().set_param("mail_connected_mailbox.campaign_chunk", 1000)
        mailing = self.campaign(250)
        with mute_logger(*QUIET):
            self.env["mailing.mailing"]._process_mass_mailing_queue()
        self.assertEqual(mailing.state, "done")
        queued = self.env["mail.mail"].sudo().search([("mailing_id", "=", mailing.id)])
        self.assertEqual((len(queued), set(queued.mapped("state"))), (250, {"outgoing"}))
        # the password changes at the server; the queue finds it when it signs in
        self.lose_access()
        self.run_queue()
        self.assertEqual(self.mailbox.state, "auth_lost")
        self.assertEqual(mailing.state, "paused")
        self.assertIn("access to alice@mail.test was lost", mailing.mcm_pause_reason)
        self.assertEqual(self.received(mailing.subject), [])
        self.assertEqual(self.mailbox.held_mail_count, 250)
        # reconnect: the default waits for a click on Resume, and the mailbox says how many
        self.reconnect()
        self.assertEqual(mailing.state, "paused")
        notes = self.mailbox.message_ids.mapped("body")
        self.assertTrue(
            any("is paused and waits for a click on Resume: 250 recipients to go." in note for note in notes),
            notes,
        )
        self.run_queue()
        self.assertEqual(self.received(mailing.subject), [])
        mailing.action_mcm_resume()
        self.assertEqual(mailing.state, "done")
        self.run_queue()
        recipients = self.received(mailing.subject)
        self.assertEqual((len(recipients), len(set(recipients))), (250, 250))

    def test_campaign_done_pauses_when_a_check_finds_the_loss_and_resumes_by_itself(self):
        self.env["ir.config_parameter"].sudo().set_param("mail_connected_mailbox.resume_campaigns", "auto")
        self.env["ir.config_parameter"].sudo().set_param("mail_connected_mailbox.campaign_chunk", 1000)
        mailing = self.campaign(120)
        with mute_logger(*QUIET):
            self.env["mailing.mailing"]._process_mass_mailing_queue()
        self.assertEqual(mailing.state, "done")
        self.lose_access()
        self.mailbox.with_user(self.user_ann).action_test_connection()  # a check finds it first
        self.assertEqual(mailing.state, "paused")
        held = self.env["mail.mail"].sudo().search([("mailing_id", "=", mailing.id)])
        self.assertEqual(len(held.filtered("mcm_hold_reason")), 120)
        self.run_queue()
        self.assertEqual(self.received(mailing.subject), [])
        self.reconnect()
        self.assertEqual(mailing.state, "done")
        self.run_queue()
        recipients = self.received(mailing.subject)
        self.assertEqual((len(recipients), len(set(recipients))), (120, 120))

    def test_an_alert_wakes_the_mail_queue(self):
        Trigger = self.env["ir.cron.trigger"].sudo()
        cron = self.env.ref("mail.ir_cron_mail_scheduler_action")
        before = Trigger.search_count([("cron_id", "=", cron.id)])
        self.lose_access()
        self.mailbox.with_user(self.user_ann).action_test_connection()
        alert = self.env["mail.mail"].sudo().search([("subject", "=", "alice@mail.test is disconnected from Odoo")])
        self.assertTrue(alert)
        self.assertGreater(Trigger.search_count([("cron_id", "=", cron.id)]), before)
