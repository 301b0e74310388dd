"""Sending through the user's own mailbox: one outgoing server per connected mailbox,
Odoo's routing by address, and an SMTP sign-in that only a 235 answer passes, against
the real Dovecot submission server and the OAuth emulators."""

import smtplib
from email.message import EmailMessage

from odoo.tests import HttpCase, tagged

from .common import OAuthSignInMixin, StackHttpMixin, flip, received

ALICE = "alice@mail.test"


@tagged("post_install", "-at_install")
class TestSendThroughMailbox(OAuthSignInMixin, StackHttpMixin, HttpCase):
    # ------------------------------------------------------------------ helpers
    def custom_mailbox(self):
        mailbox = self.env["mail.mailbox"].with_user(self.user_ann).create(self.custom_values(ALICE))
        mailbox.with_user(self.user_ann).action_connect()
        self.assertEqual(mailbox.state, "connected")
        return mailbox

    def google_mailbox(self, address):
        mailbox, response = self.connect(self.user_ann, "google", address)
        self.assertEqual((response.status_code, mailbox.state), (303, "connected"))
        return mailbox

    def submission(self):
        connection = smtplib.SMTP("127.0.0.1", self.stack["submission_port"], timeout=10)
        self.addCleanup(connection.close)
        return connection

    def send_through(self, server, sender, subject):
        """Sign in as Odoo does (``_smtp_login`` on the server), then send one message."""
        connection = self.submission()
        server._smtp_login(connection, server.smtp_user, "")
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = sender, "lead@customer.test", subject
        message.set_content("Hello from Odoo")
        connection.send_message(message)
        connection.quit()
        return received(self, subject)

    def refused_sign_in(self, server):
        """The sign-in error; not through assertRaises, whose savepoint would also undo
        what the failure wrote on the mailbox (as Odoo's send() keeps it)."""
        try:
            server._smtp_login(self.submission(), server.smtp_user, "")
        except smtplib.SMTPAuthenticationError as exc:
            return exc
        self.fail("the sign-in was accepted")

    # ------------------------------------------------------------------ the server
    def test_one_server_per_mailbox_follows_connect_and_disconnect(self):
        mailbox = self.custom_mailbox()
        server = mailbox._get_mail_server()
        self.assertEqual(
            (server.from_filter, server.smtp_authentication, server.smtp_host, server.smtp_port),
            (ALICE, "mcm_mailbox", "127.0.0.1", self.stack["submission_port"]),
        )
        self.assertFalse(server.smtp_pass)  # the password stays encrypted in the mailbox
        # Odoo's own routing sends the user's mail through it, and nobody else's
        Servers = self.env["ir.mail_server"].sudo()
        self.assertEqual(Servers._find_mail_server(ALICE)[0], server)
        self.assertEqual(Servers._find_mail_server(f"Alice <{ALICE.upper()}>")[0], server)
        # nobody else's, even when it is the only server (Odoo's fallbacks skip it)
        self.assertNotEqual(Servers._find_mail_server("someone@else.test")[0], server)
        company = Servers.create({"name": "Company", "smtp_host": "127.0.0.1", "smtp_port": 2525})
        self.assertEqual(Servers._find_mail_server("someone@else.test")[0], company)
        # reconnect updates the same server
        mailbox.with_user(self.user_ann).action_reconnect()
        self.assertEqual(mailbox._get_mail_server(), server)
        # disconnect retires it: the address goes through Odoo's usual servers again
        self.env["mail.mailbox.disconnect.wizard"].with_user(self.user_ann).create(
            {"mailbox_id": mailbox.id}
        ).action_confirm()
        self.assertFalse(server.exists())

    # ------------------------------------------------------------------ the sign-in
    def test_custom_mailbox_signs_in_with_its_password(self):
        mailbox = self.custom_mailbox()
        message = self.send_through(mailbox._get_mail_server(), ALICE, "custom password sign-in")
        self.assertEqual(message["X-Envelope-From"], ALICE)

    def test_google_mailbox_signs_in_with_xoauth2_and_a_cached_token(self):
        address = "seller@gmail.test"
        mailbox = self.google_mailbox(address)
        server = mailbox._get_mail_server()
        tokens_before = flip(self.stack, "state")["access_tokens"]
        for n in range(3):
            message = self.send_through(server, address, f"xoauth2 sign-in {n}")
            self.assertEqual(message["X-Envelope-From"], address)
        # the access token is reused while it is valid: no refresh per message
        self.assertEqual(flip(self.stack, "state")["access_tokens"], tokens_before)

    def test_a_refused_token_fails_at_sign_in_and_marks_the_mailbox(self):
        address = "revoked@gmail.test"
        mailbox = self.google_mailbox(address)
        server = mailbox._get_mail_server()
        flip(self.stack, "revoke", email=address)
        self.assertEqual(self.refused_sign_in(server).smtp_code, 535)
        self.assertEqual(mailbox.state, "auth_lost")
        self.assertIn("Google no longer accepts Odoo's access", mailbox.last_error_cause)

    def test_a_changed_password_fails_at_sign_in_and_marks_the_mailbox(self):
        mailbox = self.custom_mailbox()
        mailbox.sudo()._set_secrets({"password": "changed-at-the-server"})
        server = mailbox._get_mail_server()
        self.assertEqual(self.refused_sign_in(server).smtp_code, 535)
        self.assertEqual(mailbox.state, "auth_lost")
        self.assertIn("refused the login or password", mailbox.last_error_cause)

    # ------------------------------------------------------------------ the Sent copy
    def test_custom_mailbox_files_one_sent_copy_even_on_retry(self):
        from ..mailbox_engine import imap as imap_lib

        mailbox = self.custom_mailbox()
        subject = "sent copy " + str(mailbox.id)
        mail = (
            self.env["mail.mail"]
            .with_user(self.user_ann)  # written by the owner
            .sudo()
            .create({"email_from": ALICE, "email_to": "lead@customer.test", "subject": subject, "auto_delete": False})
        )
        mail.send()
        mail.mark_outgoing()
        mail.send()  # sent again (a retry): still one copy
        self.assertEqual(mail.state, "sent")
        with imap_lib.session(mailbox._server("imap"), ALICE) as client:
            client.select_folder("Sent")
            self.assertEqual(len(client.search(["SUBJECT", subject])), 1)
