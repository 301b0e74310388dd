"""The shareable reconnect link, over HTTP as a browser uses it: a link made by the
owner, opened without an Odoo login, a wrong then a right password (custom mailbox)
or the provider's sign-in (Google, through the emulator) in the same browser; used
once, dead after another reconnect, a few refused passwords, or its date; a
tampered link reveals nothing. And the whole flow in Chromium, as the README says."""

import re
import urllib.parse
from datetime import timedelta

import requests
from freezegun import freeze_time

from odoo import fields
from odoo.tests import HttpCase, tagged

from ..devstack.oauth_emulator import answer_consent
from ..devstack.testkit import connect_oauth
from .common import OAuthSignInMixin, StackHttpMixin, flip

ALICE = "alice@mail.test"
INVALID = "This link does not work"


class LostMailboxMixin:
    def lost_custom_mailbox(self):
        """Alice's mailbox, connected, whose password then changed at the server (found by
        Test connection); ``self.good_password`` is the one that works."""
        mailbox = self.env["mail.mailbox"].with_user(self.user_ann).create(self.custom_values(ALICE))
        mailbox.with_user(self.user_ann).action_connect()
        self.good_password = mailbox._get_secret("password")
        mailbox.sudo()._set_secrets({"password": "changed-at-the-server"})
        mailbox.with_user(self.user_ann).action_test_connection()
        self.assertEqual(mailbox.state, "auth_lost")
        return mailbox


@tagged("post_install", "-at_install")
class TestReconnectLink(LostMailboxMixin, OAuthSignInMixin, StackHttpMixin, HttpCase):
    def make_link(self, mailbox, user=None):
        """What the dialog of "Get shareable link" shows: the URL with its token. Alice's
        custom mailbox is on 127.0.0.1, outside mail.test: a mailbox administrator makes
        its links (its owner may not); Google's and Microsoft's, the owner."""
        default = self.user_ada if mailbox.provider == "imap" else self.user_ann
        Wizard = self.env["mail.mailbox.reconnect.link.wizard"].with_user(user or default)
        values = Wizard.with_context(default_mailbox_id=mailbox.id).default_get(["mailbox_id", "url", "expires_at"])
        self.assertTrue(values["url"].startswith(self.base_url() + "/mailbox/reconnect/"))
        return values["url"][len(self.base_url()) :]

    def post(self, path, **data):
        page = self.url_open(path)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        return self.url_open(path, data={"csrf_token": token, **data}, allow_redirects=False)

    # ------------------------------------------------------------------ tests
    def test_custom_mailbox_reconnected_through_the_link(self):
        mailbox = self.lost_custom_mailbox()
        path = self.make_link(mailbox)
        self.assertEqual(mailbox.sudo().message_ids[0].author_id, self.user_ada.partner_id)
        # no Odoo login: the page names the mailbox and who asked
        page = self.url_open(path)
        self.assertEqual(page.status_code, 200)
        self.assertIn(f"Reconnect {ALICE} to Odoo", " ".join(re.sub(r"<[^>]+>", " ", page.text).split()))
        self.assertIn(self.user_ada.name, page.text)
        # a wrong password: the cause and the fix, nothing changes
        wrong = self.post(path, password="still-wrong")
        self.assertEqual(wrong.status_code, 400)
        self.assertIn("refused the login or password", wrong.text)
        self.assertEqual(mailbox.state, "auth_lost")
        # the right one: connected, and whoever made the link is told
        done = self.post(path, password=self.good_password)
        self.assertIn("is connected to Odoo again", done.text)
        self.assertEqual(mailbox.state, "connected")
        told = mailbox.sudo().message_ids.filtered(lambda m: "via the link made by" in (m.body or ""))
        self.assertIn(self.user_ada.partner_id, told.partner_ids)
        link = self.env["mail.mailbox.reconnect.link"].sudo().search([("mailbox_id", "=", mailbox.id)])
        self.assertEqual(link.ended_how, "used")
        self.assertNotIn(path.rsplit("/", 1)[1], link.token_hash)  # only the hash is kept
        # works once
        again = self.url_open(path)
        self.assertEqual(again.status_code, 404)
        self.assertIn(INVALID, again.text)

    def test_held_mail_leaves_paced_after_the_link_is_used(self):
        mailbox = self.lost_custom_mailbox()
        mailbox.with_user(self.user_ada).send_limit_minute = 10
        held = (
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
                    for n in range(50)
                ]
            )
        )
        self.assertEqual(mailbox.held_mail_count, 50)
        start = fields.Datetime.now().replace(microsecond=0) + timedelta(hours=1)
        with freeze_time(start):
            self.post(self.make_link(mailbox), password=self.good_password)
        self.assertEqual((mailbox.state, mailbox.held_mail_count), ("connected", 0))
        sent_per_run = []
        for minute in range(5):
            with freeze_time(start + timedelta(minutes=minute, seconds=1)):
                before = held.filtered(lambda m: m.state == "sent")
                self.env["mail.mail"].process_email_queue()
                now_sent = held.filtered(lambda m: m.state == "sent") - before
                sent_per_run.append(len(now_sent))
                # oldest first: each run sends the oldest still waiting
                self.assertEqual(now_sent, held.sorted("id")[minute * 10 : minute * 10 + 10])
        self.assertEqual(sent_per_run, [10, 10, 10, 10, 10])
        self.assertEqual(set(held.mapped("state")), {"sent"})

    def test_dead_links_all_look_the_same(self):
        mailbox = self.lost_custom_mailbox()
        expired, reconnected, guessed = self.make_link(mailbox), self.make_link(mailbox), self.make_link(mailbox)
        self.assertIn(ALICE, self.url_open(expired).text)
        with freeze_time(fields.Datetime.now() + timedelta(days=8)):
            self.assertIn(INVALID, self.url_open(expired).text)
        # too many refused passwords end it
        for _n in range(5):
            self.post(guessed, password="guess")
        self.assertIn(INVALID, self.url_open(guessed).text)
        # reconnecting another way ends the others
        mailbox.with_user(self.user_ann).write({"password": self.good_password})
        mailbox.with_user(self.user_ann).action_reconnect()
        for path in (reconnected, expired[:-4] + "abcd", "/mailbox/reconnect/" + "x" * 300, "/mailbox/reconnect/%00"):
            page = self.url_open(path)
            self.assertEqual(page.status_code, 404, path)
            self.assertIn(INVALID, page.text)
            self.assertNotIn(ALICE, page.text)
        # a post to a dead link changes nothing
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', self.url_open("/web/login").text).group(1)
        self.assertEqual(self.url_open(reconnected, data={"password": "x", "csrf_token": csrf}).status_code, 404)

    def test_only_whoever_may_change_the_mailbox_makes_a_link(self):
        mailbox = self.lost_custom_mailbox()
        self.make_link(mailbox, self.user_ada)  # an administrator
        with self.assertRaisesRegex(Exception, "only share a link for a mailbox you manage"):
            self.make_link(mailbox, self.user_ben)

    def reconnect_oauth_through_link(self, mailbox, provider, address):
        path = self.make_link(mailbox)
        label = "Google" if provider == "google" else "Microsoft"
        self.assertIn(f"Sign in to {label}", self.url_open(path).text)
        start = self.post(path)
        self.assertEqual(start.status_code, 303)
        callback = answer_consent(start.headers["Location"], address, ca_file=self.ca(provider))
        # another browser (without this one's session) cannot finish it, and spends nothing
        stranger = requests.get(callback, timeout=10)
        self.assertEqual(stranger.status_code, 400)
        self.assertIn("started in another browser", stranger.text)
        split = urllib.parse.urlsplit(callback)
        done = self.url_open(f"{split.path}?{split.query}")
        self.assertIn("is connected to Odoo again", done.text)
        self.assertEqual(mailbox.state, "connected")
        link = self.env["mail.mailbox.reconnect.link"].sudo().search([("mailbox_id", "=", mailbox.id)])
        self.assertEqual(link.ended_how, "used")

    def test_google_mailbox_reconnected_through_the_link(self):
        address = "linked@gmail.test"
        mailbox = connect_oauth(self.env(user=self.user_ann), self.stack, "google", address)
        flip(self.stack, "revoke", email=address)
        mailbox.with_user(self.user_ann).action_test_connection()
        self.assertEqual(mailbox.state, "auth_lost")
        flip(self.stack, "unrevoke", email=address)
        self.reconnect_oauth_through_link(mailbox, "google", address)

    def test_microsoft_mailbox_reconnected_through_the_link(self):
        address = "linked@contoso.test"
        mailbox, response = self.connect(self.user_ann, "microsoft", address)
        self.assertEqual((response.status_code, mailbox.state), (303, "connected"))
        flip(self.stack, "revoke", email=address)
        mailbox.with_user(self.user_ann).action_test_connection()
        self.assertEqual(mailbox.state, "auth_lost")
        flip(self.stack, "unrevoke", email=address)
        self.logout()  # whoever holds the link has no Odoo login
        self.reconnect_oauth_through_link(mailbox, "microsoft", address)

    def test_the_link_in_the_browser(self):
        mailbox = self.lost_custom_mailbox()
        self.start_tour(
            f"/odoo/action-mail_connected_mailbox.mail_mailbox_action/{mailbox.id}",
            "mail_connected_mailbox_tour_shareable_link",
            login=self.user_ada.login,  # a server outside the address's domain: an administrator's link
            cookies={"mcm_password": self.good_password},
        )
        self.assertEqual(mailbox.state, "connected")
        checks = mailbox.health_log_ids.filtered(lambda log: log.result == "auth_lost").mapped("trigger")
        self.assertEqual(checks, ["manual"] * 3)  # Test connection, Check now, the wrong password on the link


@tagged("post_install", "-at_install")
class TestHealthInTheBrowser(LostMailboxMixin, StackHttpMixin, HttpCase):
    def test_health_board(self):
        mailbox = self.lost_custom_mailbox()
        self.user_ann.email = "ann@company.test"
        self.start_tour("/odoo", "mail_connected_mailbox_tour_health_board", login=self.user_ada.login)
        self.assertEqual(mailbox.health_log_ids[:1].mapped("result"), ["auth_lost"])
        sent = self.env["mail.mail"].sudo().search([("subject", "=", "Please reconnect your mailboxes to Odoo")])
        self.assertEqual(sent.email_to, self.user_ann.email_formatted)

    def test_campaign_resume(self):
        self.user_ada.groups_id += self.env.ref("mass_mailing.group_mass_mailing_user")
        mailbox = self.env["mail.mailbox"].with_user(self.user_ann).create(self.custom_values(ALICE))
        mailbox.with_user(self.user_ann).action_connect()
        good_password = mailbox._get_secret("password")
        contacts = self.env["mailing.contact"].create({"name": "Lead", "email": "lead@customer.test"})
        campaign = self.env["mailing.mailing"].create(
            {
                "subject": "Spring offer",
                "body_html": "<p>Offer</p>",
                "email_from": ALICE,
                "mailing_model_id": self.env.ref("mass_mailing.model_mailing_list").id,
                "contact_list_ids": [(0, 0, {"name": "Leads", "contact_ids": contacts.ids})],
                "state": "in_queue",
            }
        )
        mailbox.sudo()._set_secrets({"password": "changed-at-the-server"})
        mailbox.with_user(self.user_ann).action_test_connection()  # the loss pauses the campaign
        mailbox.with_user(self.user_ann).write({"password": good_password})
        mailbox.with_user(self.user_ann).action_reconnect()
        self.assertEqual((mailbox.state, campaign.state), ("connected", "paused"))  # waits for a click
        self.start_tour(
            f"/odoo/action-mass_mailing.mailing_mailing_action_mail/{campaign.id}",
            "mail_connected_mailbox_tour_campaign_resume",
            login=self.user_ada.login,
        )
        self.assertEqual(campaign.state, "in_queue")
