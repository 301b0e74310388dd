"""Reply, Reply all, Forward and New message from My mail, through the real Dovecot and
SMTP: what leaves (the recipient's copy at the sink, the copy in Sent) is threaded and
addressed as a mail client would, Bcc never shows, and after a sync of Sent the sent
message is still one record."""

import email
import email.policy
import secrets

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from ..mailbox_engine import imap as imap_lib
from ..mailbox_engine.sync.parse import message_digest
from .common import MailboxCase, StackMixin, really_sending, received, received_all
from .test_sync import BOB, LeadMixin, ServerFoldersMixin, message

ROOT = "<root-1@customer.test>"
MIDDLE = "<middle-2@customer.test>"


def sent_copy(mailbox, subject):
    """The message with ``subject`` in the mailbox's Sent folder on the server."""
    with imap_lib.session(mailbox._server("imap"), mailbox.email) as client:
        client.select_folder("Sent", readonly=True)
        uids = client.search(["SUBJECT", subject])
        if len(uids) != 1:
            raise AssertionError(f"{len(uids)} copies of {subject!r} in Sent")
        raw = client.fetch(uids, ["BODY.PEEK[]"])[uids[0]][b"BODY[]"]
    return email.message_from_bytes(raw, policy=email.policy.default)


class ReplyMixin(LeadMixin, ServerFoldersMixin):
    def incoming(self, subject, **headers):
        """A customer's message in a folder of its own, synced: its row."""
        message_id = f"<{secrets.token_hex(6)}@customer.test>"
        raw = message(
            subject,
            message_id=message_id,
            in_reply_to=MIDDLE,
            references=f"{ROOT} {MIDDLE}",
            cc="Boss <boss@customer.test>, bob@mail.test",
            **headers,
        )
        path = self.folder((raw, 0))
        box = self.mailbox(path, "Sent")
        self.sync(box)
        row = self.env["mail.mailbox.message"].search(
            [("mailbox_id", "=", box.id), ("message_key", "=", message_digest(message_id))]
        )
        self.assertEqual(len(row), 1)
        return box, row, message_id

    def composer(self, action, user=None):
        user = user or self.user_ann
        return self.env["mail.compose.message"].with_user(user).with_context(**action["context"]).create({})

    def send(self, composer):
        with really_sending():
            return composer.action_send_mail()

    def rows(self, box, message_id):
        return (
            self.env["mail.mailbox.message"]
            .with_context(active_test=False)
            .search([("mailbox_id", "=", box.id), ("message_key", "=", message_digest(message_id))])
        )


@tagged("post_install", "-at_install")
class TestReply(ReplyMixin, StackMixin, MailboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_stack(cls.env)

    def test_reply_all_threads_keeps_cc_drops_own_address_and_hides_bcc(self):
        subject = "Offer " + secrets.token_hex(4)
        box, row, message_id = self.incoming(subject, reply_to="Sales <sales@customer.test>")
        composer = self.composer(row.with_user(self.user_ann).action_mcm_reply_all())
        self.assertEqual(composer.subject, "Re: " + subject)
        self.assertIn("sales@customer.test", composer.mcm_email_to)
        self.assertNotIn(BOB, composer.mcm_email_to + composer.mcm_email_cc)  # her own address goes
        self.assertIn("boss@customer.test", composer.mcm_email_cc)
        self.assertIn("wrote:", str(composer.body))
        composer.mcm_email_bcc = "hidden@customer.test"
        self.send(composer)

        out = received(self, "Re: " + subject)
        self.assertEqual(out["In-Reply-To"], message_id)
        self.assertEqual(out["References"].split(), [ROOT, MIDDLE, message_id])
        self.assertIn(BOB, out["From"])
        self.assertIn("sales@customer.test", out["To"])
        self.assertIn("boss@customer.test", out["Cc"])
        self.assertIsNone(out["Bcc"])
        self.assertIn("hidden@customer.test", out["X-Envelope-To"])
        copy = sent_copy(box, "Re: " + subject)
        self.assertEqual(copy["In-Reply-To"], message_id)
        self.assertIsNone(copy["Bcc"])
        self.assertEqual(copy["Message-ID"], out["Message-ID"])

        # at once in My mail and in the conversation, and the same record after a sync
        sent = self.rows(box, out["Message-ID"])
        self.assertEqual(len(sent), 1)
        self.assertTrue(sent.awaiting_place)
        self.assertIn(sent, row.with_user(self.user_ann).thread_ids)
        self.sync(box)
        sent = self.rows(box, out["Message-ID"])
        self.assertEqual(len(sent), 1)
        self.assertFalse(sent.awaiting_place)
        self.assertEqual(sent.folder_names, "Sent")
        self.assertTrue(sent.on_server)

    def test_reply_goes_to_the_sender_and_forward_keeps_attachments(self):
        subject = "Specs " + secrets.token_hex(4)
        _box, row, _message_id = self.incoming(subject, attachment=b"%PDF specs")
        reply = self.composer(row.with_user(self.user_ann).action_mcm_reply())
        self.assertIn("lead@customer.test", reply.mcm_email_to)
        self.assertFalse(reply.mcm_email_cc)
        forward = self.composer(row.with_user(self.user_ann).action_mcm_forward())
        self.assertEqual(forward.subject, "Fwd: " + subject)
        self.assertEqual(forward.attachment_ids.mapped("name"), ["offer.pdf"])
        forward.mcm_email_to = "colleague@partner.test"
        self.send(forward)
        out = received(self, "Fwd: " + subject)
        self.assertIsNone(out["In-Reply-To"])
        parts = {part.get_filename(): part.get_payload(decode=True) for part in out.walk() if part.get_filename()}
        self.assertEqual(parts.get("offer.pdf"), b"%PDF specs")
        html = next(part for part in out.walk() if part.get_content_type() == "text/html")
        self.assertIn("Forwarded message", html.get_payload(decode=True).decode())

    def test_reply_logged_once_under_the_original_on_the_lead(self):
        subject = "Deal " + secrets.token_hex(4)
        box, row, _message_id = self.incoming(subject)
        original = self.logged(self.lead, subject)
        self.assertEqual(len(original), 1)  # the customer's message, logged on the lead by the sync
        self.send(self.composer(row.with_user(self.user_ann).action_mcm_reply()))
        reply = self.logged(self.lead, "Re: " + subject)
        self.assertEqual(len(reply), 1)
        self.assertEqual(reply.parent_id, original)
        self.assertEqual(reply.author_id, self.user_ann.partner_id)
        self.sync(box)
        self.assertEqual(len(self.logged(self.lead, "Re: " + subject)), 1)

    def test_someone_who_may_not_send_through_the_mailbox_is_refused(self):
        subject = "Private " + secrets.token_hex(4)
        _box, row, _message_id = self.incoming(subject)
        action = row.with_user(self.user_ann).action_mcm_reply()
        with self.assertRaisesRegex(UserError, "only"):
            self.composer(action, user=self.user_ben)

    def test_a_reply_while_the_mailbox_cannot_send_waits_and_says_so(self):
        subject = "Held " + secrets.token_hex(4)
        box, row, _message_id = self.incoming(subject)
        composer = self.composer(row.with_user(self.user_ann).action_mcm_reply())
        box._set_secrets({"password": "changed-at-the-server"})  # then Test connection finds it
        box.with_user(self.user_ann).action_test_connection()
        self.assertEqual(box.state, "auth_lost")
        result = self.send(composer)
        self.assertEqual(result["params"]["title"], "Your message waits")
        sent = self.env["mail.mailbox.message"].search(
            [("mailbox_id", "=", box.id), ("subject", "=", "Re: " + subject)]
        )
        self.assertEqual(len(sent), 1)
        self.assertIn("access to bob@mail.test was lost", sent.send_state)
        self.assertEqual(sent.mcm_mail_id.state, "outgoing")

    def test_new_message_from_my_mail(self):
        self.mailbox("INBOX")
        composer = self.composer(self.env["mail.mailbox.message"].with_user(self.user_ann).action_mcm_new_message())
        self.assertEqual(composer.mcm_mode, "new")
        self.assertIn(BOB, composer.mcm_from)
        subject = "Hello " + secrets.token_hex(4)
        composer.write({"mcm_email_to": "lead@customer.test", "subject": subject, "body": "<p>Hi there</p>"})
        self.send(composer)
        out = received(self, subject)
        self.assertIsNone(out["In-Reply-To"])
        self.assertIn(BOB, out["From"])

    def test_a_wrong_address_is_named(self):
        subject = "Typo " + secrets.token_hex(4)
        _box, row, _message_id = self.incoming(subject)
        composer = self.composer(row.with_user(self.user_ann).action_mcm_reply())
        composer.mcm_email_cc = "boss(at)customer"
        with self.assertRaisesRegex(UserError, "Cc has something that is not an email address"):
            self.send(composer)

    def test_forward_of_a_message_left_on_the_server_fetches_its_attachment(self):
        self.env["ir.config_parameter"].sudo().set_param("mail_connected_mailbox.max_message_mb", "0.02")  # 20 KB
        subject = "Large " + secrets.token_hex(4)
        _box, row, _message_id = self.incoming(subject, size=30000, attachment=b"%PDF large offer")
        self.assertEqual(row.kind, "placeholder")
        forward = self.composer(row.with_user(self.user_ann).action_mcm_forward())
        self.assertEqual(row.kind, "stored")  # fetched on the way
        self.assertEqual(forward.attachment_ids.mapped("name"), ["offer.pdf"])
        forward.mcm_email_to = "colleague@partner.test"
        self.send(forward)
        out = received(self, "Fwd: " + subject)
        parts = {part.get_filename(): part.get_payload(decode=True) for part in out.walk() if part.get_filename()}
        self.assertEqual(parts.get("offer.pdf"), b"%PDF large offer")

    def test_a_file_the_writer_cannot_read_never_leaves_with_the_mail(self):
        subject = "Files " + secrets.token_hex(4)
        _box, row, _message_id = self.incoming(subject)
        secret = self.env["ir.attachment"].create({"name": "payroll.pdf", "raw": b"%PDF payroll"})  # OdooBot's own
        composer = self.composer(row.with_user(self.user_ann).action_mcm_reply())
        composer.write({"attachment_ids": [(6, 0, secret.ids)]})  # an id sent over RPC
        with self.assertRaises(AccessError):
            self.send(composer)
        self.assertFalse(received_all(self, "Re: " + subject))
