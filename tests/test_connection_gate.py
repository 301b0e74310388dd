"""One gate for every connection to a server a user typed: each route (Check now, the
health board, Sync now, Enable, Reconnect, the reconnect link, listing folders,
fetching a message, the scheduled check and sync) meets the same host check and, when
a person starts it, the same rate; nothing a non-mail service says is kept; a new
server is not trusted until a check with it passes. Calls are made over XML-RPC as the
owner, a salesperson, against real listening sockets that record every connection."""

import re
import xmlrpc.client

from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from ..devstack.testkit import RecordingServer
from .common import StackHttpMixin, captured_logs, really_sending

ALICE = "alice@mail.test"
PRIVATE = "mail_connected_mailbox.allow_private_hosts"
BANNERS = (
    b"220 localhost ESMTP Postfix secret-build-7731\r\n",
    b"HTTP/1.1 400 Bad Request\r\nServer: secret-build-7731\r\n\r\n",
)
# every route a salesperson has that connects to the mailbox's server
ROUTES = (
    ("mail.mailbox", "action_test_connection"),
    ("mail.mailbox", "action_check_now"),
    ("mail.mailbox", "action_bulk_check"),
    ("mail.mailbox", "action_sync_now"),
    ("mail.mailbox", "action_enable"),
    ("mail.mailbox", "action_reconnect"),
    ("mail.mailbox", "action_refresh_folders"),
    ("mail.mailbox.message", "action_fetch_body"),
)


@tagged("post_install", "-at_install")
class TestConnectionGate(StackHttpMixin, HttpCase):
    def setUp(self):
        super().setUp()
        self.params = self.env["ir.config_parameter"].sudo()

    # ------------------------------------------------------------------ helpers
    def listen(self, banner=b""):
        server = RecordingServer(banner=banner)
        self.addCleanup(server.close)
        return server

    def mailbox_at(self, port, address=ALICE):
        """Ann's custom mailbox, connected, whose IMAP and SMTP servers are 127.0.0.1:``port``,
        with a folder to sync and a message left on the server."""
        mailbox = (
            self.env["mail.mailbox"]
            .with_user(self.user_ann)
            .create(self.custom_values(address, imap_port=port, smtp_port=port))
        )
        mailbox.sudo()._set_state("connected")
        folder = (
            self.env["mail.mailbox.folder"].sudo().create({"mailbox_id": mailbox.id, "path": "INBOX", "name": "Inbox"})
        )
        message = (
            self.env["mail.mailbox.message"]
            .sudo()
            .create({"mailbox_id": mailbox.id, "message_key": f"<left.{port}@mail.test>", "kind": "placeholder"})
        )
        self.env["mail.mailbox.message.place"].sudo().create(
            {"message_id": message.id, "folder_id": folder.id, "uid": 1}
        )
        self.message = message
        return mailbox

    @staticmethod
    def state(mailbox):
        """The mailbox's status as the last request left it."""
        mailbox.invalidate_recordset()
        return mailbox.state

    def route_ids(self, model, mailbox):
        return [self.message.id] if model == "mail.mailbox.message" else [mailbox.id]

    def refused(self, user, model, method, ids):
        """The words of the error ``method`` raises over XML-RPC as ``user``."""
        with self.assertRaises(xmlrpc.client.Fault) as info:
            self.call(user, model, method, ids)
        fault = info.exception.faultString
        return fault.strip().split("Error: ")[-1] if "Traceback" in fault else fault

    def post_link(self, mailbox, password):
        """The reconnect link's page, submitted anonymously with ``password``."""
        _link, url = self.env["mail.mailbox.reconnect.link"].sudo()._make(mailbox)
        path = url[len(mailbox.get_base_url()) :]
        self.authenticate(None, None)
        token = re.search(r'name="csrf_token" value="([^"]+)"', self.url_open(path).text).group(1)
        page = self.url_open(path, data={"csrf_token": token, "password": password}, allow_redirects=False)
        return " ".join(re.sub(r"<[^>]+>", " ", page.text).split())

    # ------------------------------------------------------------------ the host
    def test_every_route_refuses_a_private_host_and_opens_no_connection(self):
        server = self.listen()
        mailbox = self.mailbox_at(server.port)
        self.params.set_param(PRIVATE, False)
        for model, method in ROUTES:
            with self.subTest(route=method):
                words = self.refused(self.user_ann, model, method, self.route_ids(model, mailbox))
                self.assertIn("127.0.0.1 is on a private, loopback or link-local network", words)
                self.assertIn("Use the public name of your mail server", words)
                self.assertIn("allow servers on private networks in Settings", words)
        page = self.post_link(mailbox, "a password")
        self.assertIn("private, loopback or link-local network", page)
        self.assertEqual(server.accepted, [])
        self.assertEqual(self.state(mailbox), "connected")  # a refused click changes nothing
        # the same click with private networks allowed does reach the server
        self.params.set_param(PRIVATE, "True")
        self.call(self.user_ann, "mail.mailbox", "action_check_now", [mailbox.id])
        self.assertTrue(server.accepted)

    def test_scheduled_sync_and_check_refuse_a_private_host(self):
        """Crons are not counted per user, but meet the host check: the mailbox shows why."""
        server = self.listen()
        mailbox = self.mailbox_at(server.port)
        self.params.set_param(PRIVATE, False)
        mailbox._ensure_sync_rows()
        mailbox._claim_sync(ids=mailbox.ids, limit=1)._sync_round()
        self.assertEqual(self.state(mailbox), "error")
        self.assertIn("private, loopback or link-local network", mailbox.last_error_cause)
        self.assertIn("private, loopback or link-local network", mailbox.sync_problem)
        mailbox._set_state("connected")
        (outcome,) = mailbox._claim(ids=mailbox.ids, limit=1)._check_health(trigger="scheduled")
        self.assertEqual((outcome.ok, outcome.diagnosis.kind), (False, "host_refused"))
        self.assertEqual(mailbox.state, "error")
        self.assertIn("Settings", mailbox.last_error_fix)
        self.assertEqual(server.accepted, [])

    def test_sending_through_a_private_host_is_refused_and_the_mail_waits(self):
        server = self.listen()
        mailbox = self.mailbox_at(server.port)
        mailbox.sudo()._sync_mail_server()
        self.params.set_param(PRIVATE, False)
        mail = (
            self.env["mail.mail"]
            .with_user(self.user_ann)
            .sudo()
            .create(
                {
                    "email_from": ALICE,
                    "author_id": self.user_ann.partner_id.id,
                    "email_to": "lead@customer.test",
                    "subject": "Our offer",
                    "body_html": "<p>Our offer</p>",
                    "auto_delete": False,
                }
            )
        )
        with (
            mute_logger("odoo.addons.mail.models.mail_mail", "odoo.addons.base.models.ir_mail_server"),
            really_sending(),
        ):
            mail.send()
        self.assertEqual(mail.state, "outgoing")  # not failed: it leaves once the server is fixed
        self.assertIn("private, loopback or link-local network", mail.mcm_wait_reason or mail.mcm_hold_reason)
        self.assertEqual(self.state(mailbox), "error")
        self.assertIn("Settings", mailbox.last_error_fix)
        self.assertEqual(server.accepted, [])

    def test_an_administrator_s_own_mailbox_may_stay_inside(self):
        mailbox = self.env["mail.mailbox"].with_user(self.user_ada).create(self.custom_values(ALICE))
        self.params.set_param(PRIVATE, False)
        self.call(self.user_ada, "mail.mailbox", "action_connect", [mailbox.id])
        self.assertEqual(mailbox.state, "connected")
        mailbox._ensure_sync_rows()
        mailbox._claim_sync(ids=mailbox.ids, limit=1)._sync_round()  # the scheduled sync too
        self.assertFalse(mailbox.sync_problem)
        self.assertEqual(mailbox.state, "connected")

    # ------------------------------------------------------------------ the rate
    def test_the_rate_holds_on_every_route(self):
        closed = self.listen()
        closed.close()  # nothing answers there: each try ends at once
        mailbox = self.mailbox_at(closed.port)
        self.params.set_param(PRIVATE, "True")
        started = [
            ("mail.mailbox", "action_sync_now"),
            ("mail.mailbox", "action_sync_now"),
            ("mail.mailbox", "action_refresh_folders"),
            ("mail.mailbox", "action_refresh_folders"),
            ("mail.mailbox.message", "action_fetch_body"),
            ("mail.mailbox.message", "action_fetch_body"),
            ("mail.mailbox", "action_check_now"),
            ("mail.mailbox", "action_bulk_check"),
            ("mail.mailbox", "action_enable"),
            ("mail.mailbox", "action_test_connection"),
        ]
        for model, method in started:
            self.call(self.user_ann, model, method, self.route_ids(model, mailbox))
        for model, method in ROUTES:
            with self.subTest(route=method):
                words = self.refused(self.user_ann, model, method, self.route_ids(model, mailbox))
                self.assertRegex(words, r"10 connections to mail servers in the last minute.*Wait \d+ seconds?")
        # the link acts for the owner: an anonymous visitor does not get more tries than she does
        self.assertIn("10 connections to mail servers in the last minute", self.post_link(mailbox, "a password"))

    # ------------------------------------------------------------------ foreign words
    def test_a_service_that_is_not_a_mail_server_is_never_quoted(self):
        self.params.set_param(PRIVATE, "True")
        for n, banner in enumerate(BANNERS):
            with self.subTest(banner=banner[:12]):
                service = self.listen(banner=banner)
                mailbox = self.mailbox_at(service.port, address=f"junk{n}@mail.test")
                with captured_logs() as logs:
                    synced = self.call(self.user_ann, "mail.mailbox", "action_sync_now", [mailbox.id])
                    self.assertEqual(self.state(mailbox), "error")  # a wrong port is not a passing failure
                    checked = self.call(self.user_ann, "mail.mailbox", "action_check_now", [mailbox.id])
                self.assertTrue(service.accepted)
                sentence = f"The server at 127.0.0.1:{service.port} does not behave like an IMAP server"
                self.assertIn(sentence, checked["params"]["message"])
                self.assertIn(sentence, synced["params"]["message"])
                mailbox.invalidate_recordset()
                seen = [
                    str(checked),
                    str(synced),
                    mailbox.last_error_cause or "",
                    mailbox.last_error_fix or "",
                    mailbox.last_check_report or "",
                    mailbox.sync_problem or "",
                    *mailbox.sudo().health_log_ids.mapped(lambda log: f"{log.cause} {log.fix} {log.provider_code}"),
                    *mailbox.sudo().message_ids.mapped(lambda message: str(message.body)),
                    *logs,
                ]
                self.assertIn(sentence, mailbox.last_error_cause)
                self.assertFalse([text for text in seen if "secret-build" in text or "Postfix" in text])

    # ------------------------------------------------------------------ a new server
    def test_changing_the_server_makes_the_mailbox_not_connected(self):
        self.params.set_param(PRIVATE, "True")
        mailbox = self.env["mail.mailbox"].with_user(self.user_ann).create(self.custom_values(ALICE))
        self.call(self.user_ann, "mail.mailbox", "action_connect", [mailbox.id])
        self.assertEqual(self.state(mailbox), "connected")
        password = self.stack["accounts"][ALICE]
        for change in ({"imap_port": self.stack["imap_port"] + 1}, {"smtp_host": "localhost"}):
            with self.subTest(change=change):
                self.call(self.user_ann, "mail.mailbox", "write", [mailbox.id], change)
                self.assertEqual(self.state(mailbox), "draft")
                self.assertIn("server settings changed", mailbox.last_error_cause)
                told = mailbox.sudo().message_ids.filtered(lambda m: "changed the server settings" in str(m.body))
                self.assertEqual(len(told), 1)
                told.unlink()
                # until a check with the new server passes: here, the old server again
                self.call(
                    self.user_ann,
                    "mail.mailbox",
                    "write",
                    [mailbox.id],
                    {"imap_port": self.stack["imap_port"], "smtp_host": "127.0.0.1", "password": password},
                )
                self.assertEqual(self.state(mailbox), "draft")
                self.call(self.user_ann, "mail.mailbox", "action_connect", [mailbox.id])
                self.assertEqual(self.state(mailbox), "connected")
        # the same values written again change nothing
        self.call(self.user_ann, "mail.mailbox", "write", [mailbox.id], {"imap_host": "127.0.0.1"})
        self.assertEqual(self.state(mailbox), "connected")
