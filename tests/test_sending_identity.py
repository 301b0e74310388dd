"""A mailbox sends only for its owner and the users the owner allowed: Ben, a colleague
working over XML-RPC, tries every route to make mail leave as Ann's mailbox (her
address as sender, her contact as author, her server pinned, the composer, a campaign,
a mail made by hand); each fails with the reason, and nothing reaches the SMTP server
(neither through her mailbox nor through the company's server) nor her Sent folder.
Ann sends, and so does a colleague once she allows him. Her server is hers alone: not
listed to colleagues, not testable by them, not pointed at by their campaigns."""

import secrets
import xmlrpc.client

from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from odoo.addons.base.models.ir_mail_server import MailDeliveryException

from ..mailbox_engine import imap as imap_lib
from .common import StackHttpMixin, really_sending, received_all

ALICE = "alice@mail.test"
WHO_MAY = "Who else may send through it"
QUIET = ("odoo.addons.mail.models.mail_mail", "odoo.addons.base.models.ir_mail_server", "odoo.http")


@tagged("post_install", "-at_install")
class TestSendingIdentity(StackHttpMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        groups = cls.env.ref("sales_team.group_sale_salesman") | cls.env.ref("mass_mailing.group_mass_mailing_user")
        (cls.user_ann | cls.user_ben).groups_id += groups
        cls.user_ann.email = ALICE
        values = cls.custom_values(cls, ALICE, smtp_port=cls.stack["sink_submission_port"])
        cls.mailbox = cls.env["mail.mailbox"].with_user(cls.user_ann).create(values)
        cls.mailbox.with_user(cls.user_ann).action_connect()
        cls.server = cls.mailbox._get_mail_server()
        # the company's usual server (the SMTP sink): a refused mail must not take it either
        cls.company_server = cls.env["ir.mail_server"].create(
            {"name": "Company", "smtp_host": "127.0.0.1", "smtp_port": cls.stack["sink_port"], "sequence": 50}
        )
        cls.customer = cls.env["res.partner"].create({"name": "Lead", "email": "lead@customer.test"})
        Lead = cls.env["crm.lead"]
        cls.ben_lead = Lead.create({"name": "Ben's deal", "partner_id": cls.customer.id, "user_id": cls.user_ben.id})
        cls.ann_lead = Lead.create({"name": "Ann's deal", "partner_id": cls.customer.id, "user_id": cls.user_ann.id})

    def setUp(self):
        super().setUp()
        self.assertEqual(self.mailbox.state, "connected", self.mailbox.last_error_cause)
        self.subject = "Offer " + secrets.token_hex(4)

    # ------------------------------------------------------------------ helpers
    def post(self, user, lead, **values):
        """``message_post`` over XML-RPC as ``user``; the mail it queued."""
        message_id = self.call(
            user,
            "crm.lead",
            "message_post",
            [lead.id],
            body="<p>Our offer</p>",
            subject=self.subject,
            partner_ids=self.customer.ids,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
            context={"mail_notify_force_send": False},
            **values,
        )
        return self.env["mail.mail"].sudo().search([("mail_message_id", "=", message_id)])

    def run_queue(self):
        """The mail queue and the campaign queue, as their crons run them, for real."""
        with really_sending(), mute_logger(*QUIET):
            self.env["mailing.mailing"]._process_mass_mailing_queue()
            self.env["mail.mail"].process_email_queue()

    def in_sent_folder(self):
        with imap_lib.session(self.mailbox._server("imap"), ALICE) as client:
            client.select_folder("Sent")
            return client.search(["SUBJECT", self.subject])

    def assertRefused(self, mails, writer="Ben Seller"):
        self.assertTrue(mails)
        for mail in mails:
            self.assertEqual((mail.state, mail.failure_type), ("exception", "mail_from_invalid"))
            self.assertIn("alice@mail.test is the connected mailbox of Ann Seller", mail.failure_reason)
            self.assertIn(WHO_MAY, mail.failure_reason)
            self.assertIn(f"on behalf of {writer}", mail.failure_reason)
        self.assertEqual(received_all(self, self.subject), [])  # not through her mailbox, nor the company's
        self.assertEqual(self.in_sent_folder(), [])

    def assertSentAsAnn(self):
        delivered = received_all(self, self.subject)
        self.assertIn("lead@customer.test", [m["X-Envelope-To"] for m in delivered])
        self.assertEqual({m["X-Authenticated-As"] for m in delivered}, {ALICE})  # signed in as her mailbox
        self.assertTrue(self.in_sent_folder())

    def assertRpcDenied(self, user, model, method, *args, **kwargs):
        with self.assertRaises(xmlrpc.client.Fault) as info, mute_logger("odoo.http"):
            self.call(user, model, method, *args, **kwargs)
        return info.exception.faultString

    # ------------------------------------------------------------------ the routes of a colleague
    def test_her_address_as_sender_fails_with_who_may_send(self):
        mails = self.post(self.user_ben, self.ben_lead, email_from=f"Ann Seller <{ALICE}>")
        self.run_queue()
        self.assertRefused(mails)
        notifications = mails.mail_message_id.notification_ids
        self.assertEqual(set(notifications.mapped("notification_status")), {"exception"})
        self.assertIn(WHO_MAY, notifications[0].failure_reason)

    def test_her_contact_as_author_fails(self):
        mails = self.post(self.user_ben, self.ben_lead, author_id=self.user_ann.partner_id.id)
        self.assertEqual(mails.email_from, f'"Ann Seller" <{ALICE}>')
        self.run_queue()
        self.assertRefused(mails)

    def test_her_server_pinned_fails_whatever_the_address(self):
        mails = self.post(self.user_ben, self.ben_lead, mail_server_id=self.server.id)
        self.assertEqual(mails.mail_server_id, self.server)
        self.run_queue()
        self.assertRefused(mails)

    def test_the_composer_with_her_address_fails(self):
        composer_id = self.call(
            self.user_ben,
            "mail.compose.message",
            "create",
            {
                "composition_mode": "comment",
                "model": "crm.lead",
                "res_ids": str(self.ben_lead.ids),
                "email_from": ALICE,
                "subject": self.subject,
                "body": "<p>Our offer</p>",
                "partner_ids": [(6, 0, self.customer.ids)],
            },
            context={"mail_notify_force_send": False},
        )
        self.call(
            self.user_ben,
            "mail.compose.message",
            "action_send_mail",
            [composer_id],
            context={"mail_notify_force_send": False},
        )
        mails = self.env["mail.mail"].sudo().search([("subject", "=", self.subject)])
        self.run_queue()
        self.assertRefused(mails)

    def test_a_campaign_with_her_address_fails_even_naming_her_responsible(self):
        contact = self.env["mailing.contact"].create({"name": "Lead", "email": "lead@customer.test"})
        mailing_list = self.env["mailing.list"].create({"name": self.subject, "contact_ids": contact.ids})
        mailing_id = self.call(
            self.user_ben,
            "mailing.mailing",
            "create",
            {
                "subject": self.subject,
                "body_html": "<p>Our offer</p>",
                "email_from": ALICE,
                "user_id": self.user_ann.id,
                "mailing_model_id": self.env.ref("mass_mailing.model_mailing_list").id,
                "contact_list_ids": [(4, mailing_list.id)],
            },
        )
        self.call(self.user_ben, "mailing.mailing", "write", [mailing_id], {"state": "in_queue"})
        self.run_queue()
        mails = self.env["mail.mail"].sudo().search([("mailing_id", "=", mailing_id)])
        self.assertRefused(mails)
        trace = self.env["mailing.trace"].sudo().search([("mass_mailing_id", "=", mailing_id)])
        self.assertEqual((trace.trace_status, trace.failure_type), ("error", "mail_from_invalid"))

    def test_mail_made_by_hand_fails_even_for_an_administrator(self):
        fault = self.assertRpcDenied(
            self.user_ben, "mail.mail", "create", {"email_from": ALICE, "email_to": "lead@customer.test"}
        )
        self.assertIn("not allowed to create", fault)
        values = {"email_from": ALICE, "email_to": "lead@customer.test", "subject": self.subject}
        mail_id = self.call(self.user_ada, "mail.mail", "create", {**values, "auto_delete": False})
        with really_sending(), mute_logger(*QUIET):
            self.call(self.user_ada, "mail.mail", "send", [mail_id])
        self.assertRefused(self.env["mail.mail"].browse(mail_id), writer="Ada Admin")

    def test_a_direct_send_as_her_fails(self):
        Servers = self.env["ir.mail_server"].with_user(self.user_ben).sudo()
        message = Servers.build_email(ALICE, ["lead@customer.test"], self.subject, "<p>x</p>", subtype="html")
        with really_sending(), self.assertRaises(MailDeliveryException) as info:
            Servers.send_email(message, mail_server_id=self.server.id)
        self.assertIn(WHO_MAY, str(info.exception.args))
        with really_sending(), self.assertRaises(MailDeliveryException):
            Servers.send_email(message)  # routed by her address, or through the company's server
        self.assertEqual(received_all(self, self.subject), [])

    # ------------------------------------------------------------------ who may
    def test_the_owner_sends_and_so_does_whom_she_allows(self):
        mails = self.post(self.user_ann, self.ann_lead)
        self.run_queue()
        self.assertSentAsAnn()
        self.assertFalse(mails.exists())  # sent notifications are deleted
        # Ben may not name himself; Ann names him; then his mail from her address leaves
        add_ben = {"sender_user_ids": [(4, self.user_ben.id)]}
        self.assertRpcDenied(self.user_ben, "mail.mailbox", "write", [self.mailbox.id], add_ben)
        self.call(self.user_ann, "mail.mailbox", "write", [self.mailbox.id], add_ben)
        self.subject += " by Ben"
        self.post(self.user_ben, self.ben_lead, email_from=ALICE)
        self.run_queue()
        self.assertSentAsAnn()
        # a mailbox administrator changes the list too
        self.call(self.user_ada, "mail.mailbox", "write", [self.mailbox.id], {"sender_user_ids": [(5, 0, 0)]})
        self.assertFalse(self.mailbox.sender_user_ids)

    def test_automated_mail_leaves_for_the_records_responsible_only(self):
        template = self.env["mail.template"].create(
            {
                "name": "Follow-up",
                "model_id": self.env.ref("crm.model_crm_lead").id,
                "subject": self.subject,
                "email_from": "{{ object.user_id.email_formatted }}",
                "email_to": "lead@customer.test",
                "body_html": "<p>Following up</p>",
                "auto_delete": False,
            }
        )
        # what a scheduled action does, as OdooBot: a lead of Ann leaves as Ann
        ann_mail = self.env["mail.mail"].browse(template.send_mail(self.ann_lead.id))
        # on Ben's lead, made to look like Ann's: refused (Ben is the responsible)
        ben_mail = self.env["mail.mail"].browse(
            template.send_mail(self.ben_lead.id, email_values={"email_from": ALICE})
        )
        self.run_queue()
        self.assertEqual(ann_mail.state, "sent")
        self.assertEqual(ben_mail.state, "exception")
        self.assertIn("on behalf of Ben Seller", ben_mail.failure_reason)
        self.assertEqual(len(received_all(self, self.subject)), 1)

    # ------------------------------------------------------------------ her server is hers
    def test_her_server_is_neither_listed_nor_tested_by_a_colleague(self):
        listed = self.call(self.user_ben, "ir.mail_server", "search_read", [], fields=["name", "from_filter"])
        self.assertIn(self.company_server.id, [s["id"] for s in listed])
        self.assertNotIn(self.server.id, [s["id"] for s in listed])
        self.assertNotIn(ALICE, repr(listed))
        fault = self.assertRpcDenied(self.user_ben, "ir.mail_server", "read", [self.server.id])
        self.assertIn("doesn't have 'read' access", fault)
        fault = self.assertRpcDenied(self.user_ben, "ir.mail_server", "test_smtp_connection", [self.server.id])
        self.assertIn("Only the owner of this mailbox and mailbox administrators may test its server", fault)
        with really_sending():  # nor signs in as her through connect(), which RPC reaches too
            for route in ({"mail_server_id": self.server.id}, {"smtp_from": ALICE}):
                fault = self.assertRpcDenied(self.user_ben, "ir.mail_server", "connect", [], **route)
                self.assertIn("Only the owner of this mailbox, the users it lets send", fault)
        # the owner lists and tests it (for real: Ann's password signs in)
        mine = self.call(self.user_ann, "ir.mail_server", "search_read", [], fields=["from_filter"])
        self.assertIn(ALICE, [s["from_filter"] for s in mine])
        with really_sending():
            answer = self.call(self.user_ann, "ir.mail_server", "test_smtp_connection", [self.server.id])
        self.assertEqual(answer["params"]["type"], "success")

    def test_a_campaign_cannot_point_at_her_mailbox_nor_show_it(self):
        mailing_id = self.call(
            self.user_ben, "mailing.mailing", "create", {"subject": self.subject, "body_html": "<p>x</p>"}
        )
        for field, value in (("mcm_mailbox_id", self.mailbox.id), ("mcm_pause_reason", "x")):
            with self.subTest(field=field):
                fault = self.assertRpcDenied(self.user_ben, "mailing.mailing", "write", [mailing_id], {field: value})
                self.assertIn("Odoo sets why a campaign is paused", fault)
        self.assertFalse(self.env["mailing.mailing"].browse(mailing_id).mcm_mailbox_id)
        # her own paused campaign, as Ben reads it: no address of her mailbox or server
        ann_mailing = self.env["mailing.mailing"].create(
            {"subject": self.subject, "body_html": "<p>x</p>", "mail_server_id": self.server.id}
        )
        ann_mailing._mcm_pause(self.mailbox)
        read = self.call(
            self.user_ben, "mailing.mailing", "read", [ann_mailing.id], ["mcm_mailbox_id", "mail_server_id"]
        )[0]
        self.assertEqual(read["mcm_mailbox_id"][1], "Restricted mailbox")
        self.assertEqual(read["mail_server_id"][1], "Restricted mailbox server")
        # and no message of hers can be linked to another: only the sync does that
        fault = self.assertRpcDenied(
            self.user_ben,
            "mail.message",
            "create",
            {"model": "crm.lead", "res_id": self.ben_lead.id, "body": "x", "mcm_message_id": 1},
        )
        self.assertIn("Only Odoo's sync links a message", fault)
