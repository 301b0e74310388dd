"""The reconnect link cannot phish a password: for a custom server, the owner makes a
link only when the servers belong to the address's own domain (or to a known
provider); otherwise only a mailbox administrator does. The page names, in large
type, the server the password goes to; a link dies when its servers change and on
any reconnect, also one made while the mailbox was connected."""

import re
import urllib.parse
import xmlrpc.client

from lxml import html as lxml_html

from odoo.tests import HttpCase, tagged

from ..devstack.oauth_emulator import answer_consent
from ..devstack.testkit import connect_oauth
from .common import StackHttpMixin

DIRECTOR = "director@company.example"
INVALID = "This link does not work"


@tagged("post_install", "-at_install")
class TestReconnectLinkPhishing(StackHttpMixin, HttpCase):
    def rpc_link(self, user, mailbox):
        """The dialog of "Get shareable link" over XML-RPC, as ``user``: the link's path."""
        values = self.call(
            user,
            "mail.mailbox.reconnect.link.wizard",
            "default_get",
            ["mailbox_id", "url", "expires_at"],
            context={"default_mailbox_id": mailbox.id},
        )
        return urllib.parse.urlsplit(values["url"]).path

    def servers_shown(self, path):
        """The servers the page (opened without an Odoo login) says the password goes to."""
        page = self.url_open(path)
        self.assertEqual(page.status_code, 200)
        tree = lxml_html.fromstring(page.text)
        shown_large = tree.xpath("//p[contains(@class, 'fs-4')]/span[@class='o_mcm_link_server']")
        return [" ".join(span.text_content().split()) for span in shown_large]

    def links(self, mailbox):
        return self.env["mail.mailbox.reconnect.link"].sudo().search([("mailbox_id", "=", mailbox.id)])

    def test_a_foreign_server_needs_an_administrator(self):
        values = {"email": DIRECTOR, "imap_host": "mail.attacker.test", "smtp_host": "mail.attacker.test"}
        mailbox = self.env["mail.mailbox"].browse(self.call(self.user_ann, "mail.mailbox", "create", values))
        mailbox._set_state("auth_lost")  # as if it had lost its access
        with self.assertRaises(xmlrpc.client.Fault) as refused:
            self.rpc_link(self.user_ann, mailbox)
        self.assertIn("Only a mailbox administrator can make a reconnect link", refused.exception.faultString)
        self.assertIn("mail.attacker.test", refused.exception.faultString)
        self.assertFalse(self.links(mailbox))
        # a mailbox administrator may (having checked the server): the page names it
        by_admin = self.rpc_link(self.user_ada, mailbox)
        self.assertEqual(self.servers_shown(by_admin), ["mail.attacker.test"])
        page = self.url_open(by_admin).text
        self.assertIn("sent to mail.attacker.test", " ".join(re.sub(r"<[^>]+>", " ", page).split()))
        # the domain as a prefix of someone else's is someone else's
        self.call(self.user_ann, "mail.mailbox", "write", [mailbox.id], {"imap_host": "company.example.evil.test"})
        with self.assertRaises(xmlrpc.client.Fault):
            self.rpc_link(self.user_ann, mailbox)
        # the servers changed: the administrator's link no longer sends a password anywhere
        page = self.url_open(by_admin)
        self.assertEqual(page.status_code, 404)
        self.assertIn(INVALID, page.text)
        # the address's own domain: the owner makes the link
        own = {"imap_host": "imap.company.example", "smtp_host": "smtp.company.example"}
        self.call(self.user_ann, "mail.mailbox", "write", [mailbox.id], own)
        mailbox._set_state("auth_lost")  # a new server makes it Not connected: as if it had lost access again
        by_owner = self.rpc_link(self.user_ann, mailbox)
        self.assertEqual(self.servers_shown(by_owner), ["imap.company.example", "smtp.company.example"])

    def test_a_link_made_while_connected_dies_after_a_reconnect(self):
        address = "alice@mail.test"  # on 127.0.0.1: an administrator makes its link
        mailbox = self.env["mail.mailbox"].with_user(self.user_ann).create(self.custom_values(address))
        mailbox.with_user(self.user_ann).action_connect()
        self.assertEqual(mailbox.state, "connected")
        password = mailbox._get_secret("password")
        path = self.rpc_link(self.user_ada, mailbox)
        self.assertEqual(self.servers_shown(path), ["127.0.0.1"])
        # the owner types the password again and clicks Reconnect: a reconnect
        self.call(self.user_ann, "mail.mailbox", "write", [mailbox.id], {"password": password})
        self.call(self.user_ann, "mail.mailbox", "action_reconnect", [mailbox.id])
        self.assertEqual(mailbox.state, "connected")
        page = self.url_open(path)
        self.assertEqual(page.status_code, 404)
        self.assertNotIn(address, page.text)
        self.assertEqual(self.links(mailbox).ended_how, "reconnected")

    def test_a_google_link_made_while_connected_dies_after_a_new_sign_in(self):
        address = "connected-link@gmail.test"
        mailbox = connect_oauth(self.env(user=self.user_ann), self.stack, "google", address)
        path = self.rpc_link(self.user_ann, mailbox)  # the password is typed at Google: the owner may
        self.assertEqual(self.servers_shown(path), [])
        self.assertIn("Sign in to Google", self.url_open(path).text)
        # Reconnect in the web client, through the provider's page and Odoo's callback
        self.authenticate(self.user_ann.login, self.password(self.user_ann.login))
        action = self.make_jsonrpc_request(
            "/web/dataset/call_button",
            {"model": "mail.mailbox", "method": "action_reconnect", "args": [[mailbox.id]], "kwargs": {}},
        )
        split = urllib.parse.urlsplit(answer_consent(action["url"], address))
        self.assertEqual(self.url_open(f"{split.path}?{split.query}", allow_redirects=False).status_code, 303)
        self.assertEqual(mailbox.state, "connected")
        self.logout()
        self.assertEqual(self.url_open(path).status_code, 404)
        self.assertEqual(self.links(mailbox).ended_how, "reconnected")
