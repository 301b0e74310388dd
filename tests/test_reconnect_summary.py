"""What a reconnect says matches what happens: the mailbox's chatter and the page of a
shareable link count the mail that leaves now apart from the campaigns that wait for
Resume, and count each campaign's recipients as its own screen does (generated and not
sent yet, plus not generated yet)."""

import re
import secrets

from lxml import html as lxml_html

from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from .common import StackHttpMixin, really_sending
from .test_campaigns import QUIET
from .test_reconnect_link import ALICE


@tagged("post_install", "-at_install")
class TestReconnectSummary(StackHttpMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mailbox = cls.env["mail.mailbox"].with_user(cls.user_ann).create(cls.custom_values(cls, ALICE))
        cls.mailbox.action_connect()
        cls.good_password = cls.mailbox._get_secret("password")

    def campaign(self, count):
        tag = secrets.token_hex(4)
        contacts = self.env["mailing.contact"].create(
            [{"name": f"Lead {n}", "email": f"lead{n}-{tag}@customer.test"} for n in range(count)]
        )
        mailing_list = self.env["mailing.list"].create({"name": f"Leads {tag}", "contact_ids": contacts.ids})
        return self.env["mailing.mailing"].create(
            {
                "subject": f"Offer {tag}",
                "body_html": "<p>Our offer</p>",
                "email_from": ALICE,
                "user_id": self.user_ann.id,
                "mailing_model_id": self.env.ref("mass_mailing.model_mailing_list").id,
                "contact_list_ids": [(4, mailing_list.id)],
                "state": "in_queue",
            }
        )

    def personal_mail(self):
        return (
            self.env["mail.mail"]
            .with_user(self.user_ann)
            .sudo()
            .create({"email_from": ALICE, "email_to": "lead@customer.test", "subject": "Offer", "auto_delete": False})
        )

    def lose_while_sending(self, *mailings):
        """The password changes at the server; the campaigns' send finds it (6 generated
        and held for the first one)."""
        self.mailbox.sudo()._set_secrets({"password": "changed-at-the-server"})
        with really_sending(), mute_logger(*QUIET):
            self.env["mailing.mailing"]._process_mass_mailing_queue()
        self.assertEqual(self.mailbox.state, "auth_lost")
        for mailing in mailings:
            self.assertEqual(mailing.state, "paused")

    def summary(self):
        bodies = [str(b) for b in self.mailbox.message_ids.mapped("body")]
        # the summary (not the To-Do's feedback, nor the note on where the owner's mail leaves from)
        said = ("leave now", "leaves now", "Resume", "resumed where")
        found = [b for b in bodies if any(w in b for w in said) and "o_mail_note_title" not in b]
        self.assertEqual(len(found), 1, bodies)
        return lxml_html.fromstring(found[0]).text_content()

    def test_the_chatter_counts_what_leaves_and_what_waits(self):
        generated, waiting = self.campaign(6), self.campaign(4)
        waiting.write({"schedule_date": "2099-01-01 00:00:00", "schedule_type": "scheduled"})  # not generated yet
        mail = self.personal_mail()
        self.lose_while_sending(generated)
        self.mailbox.with_user(self.user_ann).action_test_connection()
        self.assertEqual(waiting.state, "paused")
        self.assertTrue(mail.mcm_hold_reason)
        self.assertEqual(self.mailbox.held_mail_count, 7)  # 6 of the campaign, 1 of Ann's
        self.assertEqual(generated.scheduled, 6)  # what the campaign's screen says is in the queue
        self.mailbox.with_user(self.user_ann).write({"password": self.good_password})
        self.mailbox.with_user(self.user_ann).action_reconnect()
        text = self.summary()
        self.assertIn("1 waiting message leaves now.", text)
        self.assertIn("2 paused campaigns wait for a click on Resume, 10 recipients to go:", text)
        self.assertIn(generated.subject, text)
        self.assertIn(waiting.subject, text)
        self.assertFalse(mail.mcm_hold_reason)
        self.assertEqual(self.mailbox.held_mail_count, 6)  # the campaign's, until Resume

    def test_the_link_page_says_that_campaigns_wait_for_resume(self):
        mailing = self.campaign(6)
        mail = self.personal_mail()
        self.lose_while_sending(mailing)
        self.assertTrue(mail.mcm_hold_reason)
        values = (
            self.env["mail.mailbox.reconnect.link.wizard"]
            .with_user(self.user_ada)
            .with_context(default_mailbox_id=self.mailbox.id)
            .default_get(["mailbox_id", "url", "expires_at"])
        )
        path = values["url"][len(self.base_url()) :]
        page = self.url_open(path)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        done = self.url_open(path, data={"csrf_token": token, "password": self.good_password})
        self.assertEqual(self.mailbox.state, "connected")
        words = " ".join(lxml_html.fromstring(done.text).text_content().split())
        self.assertNotIn("Mail that was waiting leaves now", words)
        self.assertIn("1 message that was waiting leaves now", words)
        self.assertIn(
            "Paused campaigns (1, 6 recipients to go) still wait: they leave when Ann Seller clicks Resume", words
        )
        self.assertEqual(mailing.state, "paused")
        text = self.summary()
        self.assertIn(f"The campaign {mailing.subject} is paused and waits for a click on Resume: 6 recipients", text)

    def test_the_link_page_says_when_nothing_waited(self):
        self.mailbox.sudo()._set_secrets({"password": "changed-at-the-server"})
        self.mailbox.with_user(self.user_ann).action_test_connection()
        self.assertEqual(self.mailbox.state, "auth_lost")
        values = (
            self.env["mail.mailbox.reconnect.link.wizard"]
            .with_user(self.user_ada)
            .with_context(default_mailbox_id=self.mailbox.id)
            .default_get(["mailbox_id", "url", "expires_at"])
        )
        path = values["url"][len(self.base_url()) :]
        page = self.url_open(path)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        done = self.url_open(path, data={"csrf_token": token, "password": self.good_password})
        words = " ".join(lxml_html.fromstring(done.text).text_content().split())
        self.assertIn("No mail was waiting to be sent.", words)
        self.assertNotIn("leaves now", words)
