"""Nothing foreign in what administrators and owners receive: a user who types HTML as
a server name, or an anonymous link holder who sends it as the OAuth ``error``, gets
text, never a live link, into the alerts, reminders and incidents (emails and Odoo
notifications); the in-Odoo alert is real HTML; one user's own server failing is not
an incident for the administrators."""

import re
import urllib.parse
from datetime import timedelta

from freezegun import freeze_time
from lxml import html as lxml_html
from markupsafe import Markup

from odoo import fields
from odoo.tests import HttpCase, tagged

from ..devstack.testkit import connect_oauth
from .common import MailboxCase, StackHttpMixin, StackMixin, flip
from .test_sync import message
from .test_sync_archive import CAROL, CarolsInboxMixin

HOSTILE = "<a href=https://evil.test>Renew the client secret here</a>"
ESCAPED = "&lt;a href=https://evil.test&gt;Renew the client secret here&lt;/a&gt;"


@tagged("post_install", "-at_install")
class TestForeignContent(StackHttpMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.email = "notifications@company.test"
        cls.user_ada.notification_type = "inbox"  # reads her notifications in Odoo
        cls.env["ir.mail_server"].create(
            {"name": "Company", "smtp_host": "127.0.0.1", "smtp_port": cls.stack["sink_port"], "sequence": 50}
        )

    # ------------------------------------------------------------------ helpers
    def assertNoLiveLink(self, body):
        """``body`` parsed as a mail client does: no element links to evil.test, and the
        hostile text is there as text."""
        tree = lxml_html.fragment_fromstring(str(body), create_parent="div")
        live = [e for e in tree.iter() if "evil.test" in " ".join(str(v) for v in e.attrib.values())]
        self.assertEqual(live, [], body)
        self.assertNotIn('href="https://evil.test', str(body))
        return tree

    def assertRealHtml(self, body):
        self.assertIsInstance(body, Markup)
        self.assertNotIn("&lt;p&gt;", body)
        tree = lxml_html.fragment_fromstring(str(body), create_parent="div")
        self.assertTrue(tree.findall(".//p"), body)

    def hostile_callback(self, mailbox, error, description=""):
        """As a link holder (no Odoo login): open the mailbox's shareable link, start the
        sign-in, and come back to Odoo's callback with ``error`` instead of a code."""
        values = (
            self.env["mail.mailbox.reconnect.link.wizard"]
            .with_user(self.user_ann)
            .with_context(default_mailbox_id=mailbox.id)
            .default_get(["mailbox_id", "url", "expires_at"])
        )
        path = values["url"][len(self.base_url()) :]
        page = self.url_open(path)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        start = self.url_open(path, data={"csrf_token": token}, allow_redirects=False)
        self.assertEqual(start.status_code, 303)
        state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(start.headers["Location"]).query))["state"]
        query = urllib.parse.urlencode({"state": state, "error": error, "error_description": description})
        return self.url_open(f"/mail_connected_mailbox/oauth/google/callback?{query}", allow_redirects=False)

    def lost_google_mailbox(self, address):
        mailbox = connect_oauth(self.env(user=self.user_ann), self.stack, "google", address)
        flip(self.stack, "revoke", email=address)
        mailbox.with_user(self.user_ann).action_test_connection()
        self.assertEqual(mailbox.state, "auth_lost")
        return mailbox

    def notifications(self, mailbox, subject):
        return self.env["mail.message"].search(
            [
                ("model", "=", "mail.mailbox"),
                ("res_id", "=", mailbox.id),
                ("subject", "=", subject),
                ("message_type", "=", "user_notification"),
            ]
        )

    # ------------------------------------------------------------------ tests
    def test_the_in_odoo_alert_is_html(self):
        address = "lost-html@gmail.test"
        mailbox = self.lost_google_mailbox(address)
        subject = f"{address} is disconnected from Odoo"
        (notified,) = self.notifications(mailbox, subject)
        self.assertIn(self.user_ada.partner_id, notified.partner_ids)
        self.assertRealHtml(notified.body)
        self.assertIn("no longer accepts", lxml_html.fromstring(str(notified.body)).text_content())
        (mail,) = self.env["mail.mail"].sudo().search([("subject", "=", subject)])
        self.assertRealHtml(Markup(mail.body_html))  # noqa: S704 (what was queued, parsed as HTML)
        activity = mailbox.sudo().activity_ids.filtered(lambda a: address in (a.summary or ""))
        self.assertRealHtml(activity.note)

    def test_a_hostile_oauth_error_reaches_the_reminder_as_text(self):
        address = "lost-error@gmail.test"
        mailbox = self.lost_google_mailbox(address)
        # the link holder has no Odoo login (this test never signs in over HTTP)
        # a long one is capped where it is stored
        refused = self.hostile_callback(mailbox, "x" * 5000, "y" * 50000)
        self.assertEqual(refused.status_code, 400)
        mailbox.invalidate_recordset()
        self.assertLess(len(mailbox.last_error_cause), 300)
        # an HTML one is text on the result page and where it is stored
        refused = self.hostile_callback(mailbox, HOSTILE)
        self.assertEqual(refused.status_code, 400)
        self.assertNoLiveLink(refused.text)
        self.assertIn(ESCAPED, refused.text)
        mailbox.invalidate_recordset()
        self.assertIn(f"“{HOSTILE}”", mailbox.last_error_cause)  # their words, quoted
        self.assertEqual(mailbox.state, "auth_lost")
        # the reminder carries it to the owner, the administrators and the address: as text
        with freeze_time(fields.Datetime.now() + timedelta(days=3)):
            self.env["mail.mailbox"]._cron_check_health()
        subject = f"Reminder: {address} is still disconnected from Odoo"
        (mail,) = self.env["mail.mail"].sudo().search([("subject", "=", subject)])
        self.assertIn("ada@example.com", mail.email_to)
        tree = self.assertNoLiveLink(mail.body_html)
        self.assertIn(ESCAPED, mail.body_html)
        self.assertIn(HOSTILE, tree.text_content())  # what the reader sees: the text itself
        self.assertLess(len(mail.body_html), 2000)
        (notified,) = self.notifications(mailbox, subject)
        self.assertRealHtml(notified.body)
        self.assertNoLiveLink(notified.body)
        self.assertIn(ESCAPED, notified.body)
        # and the mailbox's chatter says it as text too
        refusal = mailbox.sudo().message_ids.filtered(lambda m: "Sign-in refused" in (m.body or ""))[:1]
        self.assertNoLiveLink(refusal.body)

    def custom_mailboxes(self, owners, host=HOSTILE):
        """Custom mailboxes of ``owners`` (made over RPC, as each owner would) on ``host``,
        that the health check finds connected."""
        mailboxes = self.env["mail.mailbox"]
        for n, owner in enumerate(owners):
            values = {"email": f"box{n}.{owner.login}@company.example", "imap_host": host, "smtp_host": host}
            values.update(imap_port=993, imap_security="ssl", smtp_port=465, smtp_security="ssl")
            mailbox_id = self.call(owner, "mail.mailbox", "create", values)
            mailbox = self.env["mail.mailbox"].browse(mailbox_id)
            mailbox._set_state("connected")  # as if it had worked until now
            mailboxes |= mailbox
        return mailboxes

    def test_one_owner_s_own_server_failing_is_no_incident(self):
        boxes = self.custom_mailboxes([self.user_ann] * 3)
        self.env["mail.mailbox"]._cron_check_health()
        self.assertEqual(set(boxes.health_log_ids.mapped("result")), {"transient"})  # each its own
        self.assertFalse(self.env["mail.mailbox.incident"].search([]))
        self.assertFalse(self.env["mail.mail"].sudo().search([("subject", "ilike", "failing for")]))

    def test_a_server_of_several_owners_is_an_incident_told_as_text(self):
        boxes = self.custom_mailboxes([self.user_ann, self.user_ann, self.user_ben])
        self.env["mail.mailbox"]._cron_check_health()
        (incident,) = self.env["mail.mailbox.incident"].search([])
        self.assertEqual((incident.provider, incident.kind, incident.host), ("imap", "outage", HOSTILE.lower()))
        self.assertEqual(incident.mailbox_count, 3)
        self.assertEqual(set(boxes.health_log_ids.mapped("result")), {"incident"})
        (mail,) = self.env["mail.mail"].sudo().search([("subject", "ilike", "failing for mailboxes of several")])
        self.assertIn("ada@example.com", mail.email_to)
        self.assertNoLiveLink(mail.body_html)
        self.assertIn(ESCAPED, mail.body_html)
        notified = self.env["mail.message"].search(
            [("subject", "=", mail.subject), ("message_type", "=", "user_notification")]
        )
        self.assertIn(self.user_ada.partner_id, notified.partner_ids)
        self.assertRealHtml(notified.body)
        self.assertNoLiveLink(notified.body)


@tagged("post_install", "-at_install")
class TestForeignContentInTheCatchUp(CarolsInboxMixin, StackMixin, MailboxCase):
    """The summary of what came in while a mailbox was lost lists senders and subjects
    written by anyone: as text, capped."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_stack(cls.env)

    def test_senders_and_subjects_are_text_in_the_summary(self):
        mailbox = self.mailbox()
        self.sync(mailbox)
        password = mailbox._get_secret("password")
        mailbox._set_secrets({"password": "changed-at-the-server"})
        mailbox.with_user(self.user_ann).action_test_connection()
        self.assertEqual(mailbox.state, "auth_lost")
        mailbox.state_changed_at = fields.Datetime.now() - timedelta(days=1)
        self.imap.append("INBOX", message(HOSTILE + " " + "y" * 3000, to=CAROL))
        self.imap.append("INBOX", message("Hello", to=CAROL, sender=f'"{HOSTILE}" <lead@customer.test>'))
        mailbox.with_user(self.user_ann).write({"password": password})
        mailbox.with_user(self.user_ann).action_reconnect()
        self.assertEqual(mailbox.state, "connected")
        (summary,) = [b for b in mailbox.message_ids.mapped("body") if "messages came in" in str(b)]
        tree = lxml_html.fragment_fromstring(str(summary), create_parent="div")
        self.assertEqual(len(tree.findall(".//li")), 2)  # real HTML, one item per message
        self.assertFalse([e for e in tree.iter() if "evil.test" in " ".join(e.attrib.values())], summary)
        self.assertEqual(str(summary).count(ESCAPED), 2)  # the subject, and the sender's name
        self.assertNotIn("y" * 300, summary)  # capped
