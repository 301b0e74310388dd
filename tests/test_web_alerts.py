"""Alerts people actually see, in Chromium: an administrator who reads notifications in
Odoo finds the alert of a lost mailbox in the Discuss inbox, rendered (also when her own
click found the loss); after a reconnect through a shareable link the chatter names the
owner and whoever made the link, never the Public user, and the To-Do is done in the
owner's name."""

import re
import secrets

from lxml import html as lxml_html
from markupsafe import Markup

from odoo.tests import HttpCase, tagged

from ..devstack.testkit import configure_company_server, connect_oauth
from .common import MailboxCase, StackHttpMixin, StackMixin, flip, really_sending, received
from .test_reconnect_link import LostMailboxMixin


@tagged("post_install", "-at_install")
class TestWebAlerts(LostMailboxMixin, StackHttpMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.email = "notifications@company.test"
        cls.user_ada.notification_type = "inbox"  # reads her notifications in Odoo
        cls.env["ir.mail_server"].create(
            {"name": "Company", "smtp_host": "127.0.0.1", "smtp_port": cls.stack["sink_port"], "sequence": 50}
        )

    def inbox_of(self, user, subject):
        """The unread inbox notifications of ``user`` for messages with ``subject``."""
        return self.env["mail.notification"].search(
            [
                ("res_partner_id", "=", user.partner_id.id),
                ("notification_type", "=", "inbox"),
                ("is_read", "=", False),
                ("mail_message_id.subject", "=", subject),
            ]
        )

    def test_the_alert_is_in_the_admins_discuss_inbox_rendered(self):
        # Ada's own mailbox; her own click finds the loss (Odoo would take her for the author)
        address = "lost-inbox@gmail.test"
        mailbox = connect_oauth(self.env(user=self.user_ada), self.stack, "google", address)
        flip(self.stack, "revoke", email=address)
        mailbox.with_user(self.user_ada).action_test_connection()
        self.assertEqual(mailbox.state, "auth_lost")
        (notification,) = self.inbox_of(self.user_ada, f"{address} is disconnected from Odoo")
        body = notification.mail_message_id.body
        self.assertIsInstance(body, Markup)
        self.assertNotIn("&lt;", body)
        tree = lxml_html.fragment_fromstring(str(body), create_parent="div")
        self.assertGreaterEqual(len(tree.findall(".//p")), 3, body)
        self.assertIn("no longer accepts Odoo's access", tree.text_content())
        self.start_tour("/odoo/discuss", "mail_connected_mailbox_tour_alert_inbox", login=self.user_ada.login)

    def test_every_alert_reaches_the_inbox_of_whoever_caused_it(self):
        # the incidents and reminders go through the same door: told, also the current user
        Mailbox = self.env["mail.mailbox"].with_user(self.user_ada)
        Mailbox._tell(self.user_ada.partner_id, "Incident subject", Markup("<p>%s</p>") % "Renew <the> secret")
        (notification,) = self.inbox_of(self.user_ada, "Incident subject")
        self.assertEqual(notification.mail_message_id.body, Markup("<p>Renew &lt;the&gt; secret</p>"))

    def test_new_mail_the_owner_fetched_herself_reaches_her_inbox(self):
        # Ann asked to be told of new mail from her leads, and her own Sync now fetched it
        self.user_ann.write({"notification_type": "inbox", "mcm_new_mail_notify": True})
        mailbox = self.env["mail.mailbox"].with_user(self.user_ann).create({"email": "ann.sync@example.com"})
        synced = (
            self.env["mail.mailbox.message"]
            .sudo()
            .create(
                {
                    "mailbox_id": mailbox.id,
                    "message_key": "question-key",
                    "email_from": "lead@customer.test",
                    "subject": "Question <b>now</b>",
                }
            )
        )
        lead = self.env["res.partner"].create({"name": "Lead of Ann"})
        synced.with_user(self.user_ann)._tell_owner(lead)
        (notification,) = self.inbox_of(self.user_ann, "New mail on Lead of Ann")
        self.assertIn("Question &lt;b&gt;now&lt;/b&gt;", notification.mail_message_id.body)
        self.assertNotIn("&amp;lt;", notification.mail_message_id.body)

    def test_the_link_reconnect_names_the_owner_and_the_links_maker(self):
        mailbox = self.lost_custom_mailbox()
        activity = mailbox.sudo().activity_ids
        self.assertEqual(activity.user_id, self.user_ann)
        values = (
            self.env["mail.mailbox.reconnect.link.wizard"]
            .with_user(self.user_ada)
            .with_context(default_mailbox_id=mailbox.id)
            .default_get(["mailbox_id", "url", "expires_at"])
        )
        path = values["url"][len(self.base_url()) :]
        # whoever holds the inbox, without an Odoo login
        page = self.url_open(path)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        done = self.url_open(path, data={"csrf_token": token, "password": self.good_password})
        self.assertIn("is connected to Odoo again", done.text)
        self.assertEqual(mailbox.state, "connected")
        messages = mailbox.sudo().message_ids
        bodies = [str(m.body) for m in messages]
        self.assertFalse([b for b in bodies if "Public user" in b], bodies)
        public = messages.filtered(lambda m: m.author_id == self.env.ref("base.public_partner"))
        self.assertFalse(public, [(m.body, m.tracking_value_ids.mapped("field_id.name")) for m in public])
        (line,) = messages.filtered(lambda m: "via the link made by" in str(m.body) and not m.mail_activity_type_id)
        self.assertIn(f"Reconnected by {self.user_ann.name} via the link made by {self.user_ada.name}.", line.body)
        self.assertEqual(line.author_id, self.user_ann.partner_id)
        self.assertIn(self.user_ada.partner_id, line.notification_ids.res_partner_id)
        # the To-Do is done in the owner's name
        self.assertFalse(activity.exists())
        (done_line,) = messages.filtered(lambda m: m.mail_activity_type_id and "Reconnect" in (m.body or ""))
        self.assertEqual(done_line.author_id, self.user_ann.partner_id)
        self.start_tour(
            f"/odoo/action-mail_connected_mailbox.mail_mailbox_action/{mailbox.id}",
            "mail_connected_mailbox_tour_link_chatter",
            login=self.user_ann.login,
        )


@tagged("post_install", "-at_install")
class TestRunCompanyServer(StackMixin, MailboxCase):
    """``make run`` makes the company's outgoing server the local SMTP sink (its
    configuration step, :func:`configure_company_server`, run here on the test's
    database): the alerts leave by it and land in the sink's folder."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_stack(cls.env)

    def test_make_run_points_the_company_server_at_the_sink(self):
        Servers = self.env["ir.mail_server"]
        older = Servers.create({"name": "Typed by hand", "smtp_host": "smtp.company.test", "sequence": 5})
        server = configure_company_server(self.env, self.stack)
        self.assertEqual(
            (server.smtp_host, server.smtp_port, server.smtp_encryption, server.mcm_mailbox_id),
            ("127.0.0.1", self.stack["sink_port"], "none", self.env["mail.mailbox"]),
        )
        self.assertLess(server.sequence, older.sequence)
        self.assertEqual(self.env["mail.mailbox"]._alert_server(), server)
        # every start of `make run` (the sink's port changes) updates the same server
        self.assertEqual(configure_company_server(self.env, dict(self.stack, sink_port=2525)), server)
        self.assertEqual(server.smtp_port, 2525)
        configure_company_server(self.env, self.stack)
        self.assertEqual(Servers.search_count([("name", "=", server.name)]), 1)
        # an alert really lands in the sink's folder
        subject = f"Sink check {secrets.token_hex(4)}"
        self.env["mail.mailbox"]._send_alert_email(subject, Markup("<p>Alert</p>"), ["ada@example.com"])
        with really_sending():
            self.env["mail.mail"].process_email_queue()
        self.assertIn("ada@example.com", received(self, subject)["X-Envelope-To"])
