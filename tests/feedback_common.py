"""What the campaign feedback tests share: Bob's mailbox connected in Odoo (Ann's),
syncing folders made for one test; campaigns and chatter posts that really leave
through it; and the delivery reports a mail server sends back, built as one does."""

import secrets
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime

from markupsafe import Markup

from odoo.tools import mute_logger

from .common import MailboxCase, StackMixin, really_sending
from .test_sync import BOB, ServerFoldersMixin

QUIET = ("odoo.addons.mail.models.mail_mail", "odoo.addons.base.models.ir_mail_server")


def dsn(original_id, email, *, status="5.1.1", action="failed", reason=None, sender=BOB, returned=(), **headers):
    """A delivery status notification (RFC 3464) for the message ``original_id`` sent by
    ``sender`` to ``email``, as a reporting mail server writes it (``returned``: more
    headers of the message returned, as ``(name, value)``)."""
    reason = reason or f"smtp; 550 {status} <{email}>: Recipient address rejected: User unknown"
    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"] = headers.pop("From", "Mail Delivery System <MAILER-DAEMON@mx.customer.test>")
    report["To"] = headers.pop("To", sender)
    report["Subject"] = headers.pop("Subject", "Undelivered Mail Returned to Sender")
    report["Date"] = format_datetime(datetime.now(UTC))
    report["Message-ID"] = headers.pop("Message_ID", f"<dsn-{secrets.token_hex(8)}@mx.customer.test>")
    report["Auto-Submitted"] = "auto-replied"
    for name, value in headers.items():
        report[name.replace("_", "-")] = value
    report.attach(MIMEText(f"Your message to <{email}> could not be delivered.\n"))
    status_part = MIMEBase("message", "delivery-status")
    for fields in (
        {"Reporting-MTA": "dns; mx.customer.test"},
        {"Final-Recipient": f"rfc822; {email}", "Action": action, "Status": status, "Diagnostic-Code": reason},
    ):
        block = Message()
        for name, value in fields.items():
            block[name] = value
        status_part.attach(block)
    report.attach(status_part)
    original = EmailMessage()
    original["From"] = sender
    original["To"] = email
    original["Subject"] = "Our offer"
    original["Message-ID"] = original_id
    for name, value in returned:
        original[name] = value
    report.attach(MIMEText(original.as_string(), "rfc822-headers"))
    return report.as_bytes()


def reply(original_id, sender, subject="Re: Our offer", **headers):
    """A person's answer to ``original_id``."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = headers.pop("To", BOB)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = f"<{secrets.token_hex(8)}@customer.test>"
    msg["In-Reply-To"] = original_id
    msg["References"] = original_id
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("Yes, I am interested: call me.")
    return msg.as_bytes()


class FeedbackCase(ServerFoldersMixin, StackMixin, MailboxCase):
    """Bob's mailbox, Ann's in Odoo (she runs campaigns), syncing one folder of its own;
    what it sends leaves for real, through it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_stack(cls.env)
        cls.user_ann.groups_id += cls.env.ref("mass_mailing.group_mass_mailing_user")
        cls.user_ann.email = BOB  # what she writes in the chatter leaves through Bob's mailbox

    def setUp(self):
        super().setUp()
        self.inbox = self.folder()
        self.box = self.mailbox(self.inbox)

    def new_campaign(self, emails, sender=BOB, user=None):
        """A queued campaign to ``emails`` (a mailing list of mailing contacts) from
        ``sender``, whose mailbox it sends through."""
        tag = secrets.token_hex(4)
        self.forget_sent_copies(f"Our offer {tag}")
        contacts = self.env["mailing.contact"].create(
            [{"name": f"Contact {n}", "email": email} for n, email in enumerate(emails)]
        )
        mailing_list = self.env["mailing.list"].create({"name": f"List {tag}", "contact_ids": contacts.ids})
        return self.env["mailing.mailing"].create(
            {
                "subject": f"Our offer {tag}",
                "body_html": "<p>Our offer</p>",
                "email_from": sender,
                "user_id": (user or self.user_ann).id,
                "mailing_model_id": self.env.ref("mass_mailing.model_mailing_list").id,
                "contact_list_ids": [(4, mailing_list.id)],
                "state": "in_queue",
            }
        )

    def run_queue(self):
        """The campaign queue and the mail queue run, and their mail really leaves."""
        with really_sending(), mute_logger(*QUIET):
            self.env["mailing.mailing"]._process_mass_mailing_queue()
            self.env["mail.mail"].process_email_queue()

    def campaign(self, emails, sender=BOB, user=None):
        """A campaign to ``emails`` sent through the mailbox of ``sender``; its traces."""
        mailing = self.new_campaign(emails, sender, user)
        self.run_queue()
        traces = mailing.mailing_trace_ids
        self.assertEqual(sorted(traces.mapped("email")), sorted(emails))
        self.assertEqual(set(traces.mapped("trace_status")), {"sent"})
        return traces

    def forget_sent_copies(self, subject):
        """Once the test is over, the copies of ``subject`` leave Bob's Sent folder: the
        server keeps it between tests, and other tests list what it holds."""

        def forget():
            self.imap.select_folder("Sent")
            uids = self.imap.search(["SUBJECT", subject])
            if uids:
                self.imap.delete_messages(uids)
                self.imap.expunge()
            self.imap.close_folder()

        self.addCleanup(forget)

    def trace(self, traces, email):
        return traces.filtered(lambda t: t.email == email)

    def post(self, record, partners):
        """Ann writes to ``partners`` in ``record``'s chatter; it leaves through Bob's
        mailbox. The message."""
        subject = "Offer " + secrets.token_hex(4)
        self.forget_sent_copies(subject)
        message = (
            record.with_user(self.user_ann)
            .with_context(mail_notify_force_send=False)
            .message_post(
                body=Markup("<p>Here is our offer.</p>"),
                subject=subject,
                partner_ids=partners.ids,
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
            )
        )
        with really_sending(), mute_logger(*QUIET):
            self.env["mail.mail"].sudo().search([("mail_message_id", "=", message.id)]).send()
        notified = message.notification_ids.filtered(lambda n: n.notification_type == "email")
        self.assertEqual(set(notified.mapped("notification_status")), {"sent"}, notified.mapped("failure_reason"))
        self.assertEqual(notified.mcm_mailbox_id, self.box)
        return message

    def deliver(self, *raws, folder=None, mailbox=None):
        """``raws`` land in the folder (as a mail server delivers them), then the sync runs."""
        for raw in raws:
            self.imap.append(folder or self.inbox, raw, msg_time=datetime.now(UTC))
        self.sync(mailbox or self.box)

    def row(self, message_id, mailbox=None):
        """The synced message ``message_id`` of the mailbox."""
        found = self.env["mail.mailbox.message"].search(
            [("mailbox_id", "=", (mailbox or self.box).id), ("message_id_header", "=", message_id)]
        )
        self.assertEqual(len(found), 1, f"{message_id} was not synced once")
        return found

    @staticmethod
    def message_id(raw):
        return raw.split(b"Message-ID: ", 1)[1].split(b"\n", 1)[0].strip().decode()

    def logged_copies(self, row):
        return self.env["mail.message"].search([("mcm_message_id", "=", row.id)])
