"""Odoo really sends through the user's mailbox: a separate Odoo process (not in test
mode, where Odoo never opens an SMTP connection) sends committed mail with its own
``mail.mail.send()``; the real Dovecot submission server must accept the sign-in
(the password, or XOAUTH2 with the emulator's token) and relay the message, with its
CC and attachment, to the SMTP sink. These tests commit, then clean up."""

import base64
import contextlib
import secrets
import subprocess

from odoo import SUPERUSER_ID, api
from odoo.tests import TransactionCase, tagged

from ..devstack.testkit import connect_oauth, stack_parameters
from ..mailbox_engine import imap as imap_lib
from .common import StackMixin, configure_stack, custom_mailbox_values, flip, odoo_shell_command, received

ALICE = "alice@mail.test"


@tagged("post_install", "-at_install")
class TestSendForReal(StackMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._require_stack()

    def setUp(self):
        super().setUp()
        self.created = []
        self.addCleanup(self._cleanup)
        self.addCleanup(flip, self.stack, "reset")
        with self._committed() as env:
            params = env["ir.config_parameter"]
            before = {key: params.get_param(key) for key in stack_parameters(self.stack)}
            configure_stack(env, self.stack, allow_private_hosts=False)  # superuser: no need
        self.addCleanup(self._restore_parameters, before)

    @contextlib.contextmanager
    def _committed(self):
        """A superuser environment on a real transaction, committed at the end."""
        with self.registry.cursor() as cr:
            yield api.Environment(cr, SUPERUSER_ID, {"mail_create_nolog": True, "mail_notrack": True})

    def _restore_parameters(self, before):
        with self._committed() as env:
            for key, value in before.items():
                env["ir.config_parameter"].set_param(key, value or False)

    def _cleanup(self):
        with self._committed() as env:
            for model, ids in reversed(self.created):
                env[model].browse(ids).exists().unlink()

    # ------------------------------------------------------------------ helpers
    def custom_mailbox(self, env):
        mailbox = env["mail.mailbox"].create(custom_mailbox_values(self.stack, ALICE))
        self.created.append(("mail.mailbox", mailbox.ids))
        mailbox.action_connect()
        self.assertEqual(mailbox.state, "connected")
        return mailbox

    def google_mailbox(self, env, address):
        mailbox = connect_oauth(env, self.stack, "google", address)
        self.created.append(("mail.mailbox", mailbox.ids))
        self.assertEqual(mailbox.state, "connected")
        return mailbox

    def queue_mail(self, env, sender, subject):
        attachment = env["ir.attachment"].create(
            {"name": "offer.txt", "datas": base64.b64encode(b"the offer, attached"), "res_model": "res.partner"}
        )
        mail = env["mail.mail"].create(
            {
                "email_from": sender,
                "email_to": "lead@customer.test",
                "email_cc": "boss@customer.test",
                "subject": subject,
                "body_html": "<p>Here is our offer.</p>",
                "attachment_ids": [(6, 0, attachment.ids)],
                "auto_delete": False,
            }
        )
        self.created += [("mail.mail", mail.ids), ("ir.attachment", attachment.ids)]
        return mail.id

    def send_in_another_odoo(self, mail_id):
        """``mail.mail.send()`` in a real Odoo process; the mail's (state, failure reason)."""
        self.run_send_in_another_odoo([mail_id])
        with self._committed() as env:
            mail = env["mail.mail"].browse(mail_id)
            return mail.state, mail.failure_reason

    def run_send_in_another_odoo(self, mail_ids):
        """``mail.mail.send()`` in a real Odoo process, as the queue cron runs it."""
        script = f"env['mail.mail'].browse({list(mail_ids)}).send(auto_commit=True)\nenv.cr.commit()\n"
        done = subprocess.run(
            odoo_shell_command(self.env.cr.dbname),
            input=script,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        self.assertEqual(done.returncode, 0, done.stderr[-2000:])

    def assertDelivered(self, message, sender):
        self.assertEqual(message["X-Envelope-From"], sender)
        self.assertIn("lead@customer.test", message["X-Envelope-To"])
        self.assertIn("boss@customer.test", message["X-Envelope-To"])
        self.assertIn("boss@customer.test", message["Cc"])
        parts = {part.get_filename(): part.get_payload(decode=True) for part in message.walk() if part.get_filename()}
        self.assertEqual(parts.get("offer.txt"), b"the offer, attached")

    # ------------------------------------------------------------------ tests
    def test_custom_mailbox_sends_with_its_password(self):
        subject = "Offer " + secrets.token_hex(4)
        with self._committed() as env:
            mailbox = self.custom_mailbox(env)
            self.assertEqual(mailbox._get_mail_server().smtp_authentication, "mcm_mailbox")
            mail_id = self.queue_mail(env, ALICE, subject)
        self.assertEqual(self.send_in_another_odoo(mail_id), ("sent", False))
        self.assertDelivered(received(self, subject), ALICE)
        # and one copy in the mailbox's Sent folder on the IMAP server
        with self._committed() as env:
            mailbox = env["mail.mailbox"].search([("email", "=", ALICE)])
            with imap_lib.session(mailbox._server("imap"), ALICE) as client:
                client.select_folder("Sent")
                self.assertEqual(len(client.search(["SUBJECT", subject])), 1)

    def test_a_refused_recipient_fails_that_message_only_with_a_clear_reason(self):
        subject = "Offer " + secrets.token_hex(4)
        with self._committed() as env:
            self.custom_mailbox(env)
            bad = self.queue_mail(env, ALICE, subject + " bad")
            env["mail.mail"].browse(bad).write({"email_to": "nobody@customer.test", "email_cc": False})
            good = self.queue_mail(env, ALICE, subject)
        self.run_send_in_another_odoo([bad, good])
        with self._committed() as env:
            bad_mail, good_mail = env["mail.mail"].browse(bad), env["mail.mail"].browse(good)
            self.assertEqual((bad_mail.state, good_mail.state), ("exception", "sent"))
            self.assertIn("The server refused every recipient of this message", bad_mail.failure_reason)
            self.assertIn("nobody@customer.test (550", bad_mail.failure_reason)  # Dovecot passes the relay's answer on
            self.assertIn("User unknown", bad_mail.failure_reason)
        self.assertDelivered(received(self, subject), ALICE)  # the rest went on

    def test_google_mailbox_sends_with_xoauth2(self):
        address = f"seller-{secrets.token_hex(3)}@gmail.test"
        subject = "Offer " + secrets.token_hex(4)
        with self._committed() as env:
            self.google_mailbox(env, address)
            mail_id = self.queue_mail(env, address, subject)
        self.assertEqual(self.send_in_another_odoo(mail_id), ("sent", False))
        self.assertDelivered(received(self, subject), address)

    def test_a_token_revoked_while_mail_is_queued_holds_it_once(self):
        address = f"revoked-{secrets.token_hex(3)}@gmail.test"
        subject = "Offer " + secrets.token_hex(4)
        with self._committed() as env:
            self.google_mailbox(env, address)
            mail_id = self.queue_mail(env, address, subject)
        flip(self.stack, "revoke", email=address)
        state, reason = self.send_in_another_odoo(mail_id)
        self.assertEqual((state, reason), ("outgoing", False))  # held, not failed
        with self._committed() as env:
            mail = env["mail.mail"].browse(mail_id)
            self.assertIn("was lost", mail.mcm_hold_reason)
            self.assertEqual(mail.mcm_mailbox_id.state, "auth_lost")
