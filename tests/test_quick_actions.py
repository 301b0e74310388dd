"""Quick actions on a synced message (Create a contact, Create a lead), the message synced
from the real Dovecot: the new record's form prefilled from the sender, the message logged
on what was made whatever the mailbox logs by itself, once; and nothing logged for a user
who names someone else's message."""

import xmlrpc.client

from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, HttpCase, tagged

from .common import MailboxCase, StackHttpMixin, StackMixin
from .test_sync import BOB, LeadMixin, ServerFoldersMixin, message

PROSPECT = "Nora New <nora@prospect.test>"


class QuickActionsMixin:
    """Bob's mailbox (Ann's) syncing a folder with a prospect's message, a message from a
    known customer and one Bob sent; logging off, so that only the quick actions log."""

    def setUp(self):
        super().setUp()
        self.customer = self.env["res.partner"].create({"name": "Carl Customer", "email": "carl@customer.test"})
        path = self.folder(
            (message("Seats for the spring fair", sender=PROSPECT), 0),
            (message("Invoice question", sender="Carl <carl@customer.test>"), 0),
            (message("My own note", sender=BOB, to="nora@prospect.test"), 0),
        )
        self.box = self.mailbox(path)
        self.box.log_mode = "none"
        self.sync(self.box)
        synced = self.env["mail.mailbox.message"].search([("mailbox_id", "=", self.box.id)])
        self.synced = {m.subject: m for m in synced}

    def copies(self, record):
        return record.message_ids.filtered("mcm_message_id")


@tagged("post_install", "-at_install")
class TestQuickActions(QuickActionsMixin, LeadMixin, ServerFoldersMixin, StackMixin, MailboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_stack(cls.env)

    def test_create_a_lead_prefills_its_form_and_logs_the_message_once(self):
        fair = self.synced["Seats for the spring fair"].with_user(self.user_ann)
        action = fair.action_mcm_create_lead()
        self.assertEqual((action["res_model"], action.get("res_id")), ("crm.lead", None))
        self.assertFalse([key for key in action["context"] if key.startswith("default_")])
        Lead = self.env["crm.lead"].with_user(self.user_ann).with_context(**action["context"])
        with Form(Lead) as form:  # what the web client's form does: defaults, then Save
            self.assertEqual(form.name, "Seats for the spring fair")
            self.assertEqual(form.email_from, "nora@prospect.test")
            self.assertEqual(form.contact_name, "Nora New")
            self.assertEqual(form.user_id, self.user_ann)
            self.assertIn("Hello", str(form.description))
        lead = form.record
        (copy,) = self.copies(lead)
        self.assertEqual(copy.mcm_message_id, fair)
        self.assertTrue(fair.logged)
        # a contact made from the lead's form (its context passed on): neither prefilled nor logged on
        partner = self.env["res.partner"].with_user(self.user_ann).with_context(**action["context"])
        self.assertNotIn("email", partner.default_get(["name", "email"]))
        other = partner.create({"name": "Somebody else"})
        self.assertFalse(self.copies(other))

    def test_create_a_contact_for_a_new_sender_then_for_a_known_one(self):
        fair = self.synced["Seats for the spring fair"].with_user(self.user_ann)
        action = fair.action_mcm_create_contact()
        self.assertEqual(action["res_model"], "res.partner")
        Partner = self.env["res.partner"].with_user(self.user_ann).with_context(**action["context"])
        with Form(Partner) as form:
            self.assertEqual((form.name, form.email), ("Nora New", "nora@prospect.test"))
        nora = form.record
        self.assertEqual(len(self.copies(nora)), 1)
        # again, now that she is known: her contact opens, the message not logged twice
        again = fair.action_mcm_create_contact()
        self.assertEqual((again["res_model"], again["res_id"]), ("res.partner", nora.id))
        self.assertEqual(len(self.copies(nora)), 1)
        # a known customer's message, never logged (logging is off): logged on opening
        invoice = self.synced["Invoice question"].with_user(self.user_ann)
        self.assertFalse(self.copies(self.customer))
        opened = invoice.action_mcm_create_contact()
        self.assertEqual(opened["res_id"], self.customer.id)
        (copy,) = self.copies(self.customer)
        self.assertEqual((copy.mcm_message_id, copy.author_id), (invoice, self.customer))

    def test_no_quick_action_on_mail_sent_from_the_mailbox_or_by_another_user(self):
        own = self.synced["My own note"]
        self.assertTrue(own.mcm_from_own_address)
        self.assertFalse(self.synced["Seats for the spring fair"].mcm_from_own_address)
        fair = self.synced["Seats for the spring fair"]
        with self.assertRaises(AccessError):  # Ben reads none of Ann's mail
            fair.with_user(self.user_ben).action_mcm_create_lead()
        with self.assertRaises(UserError):  # an administrator reads it, but it is not his mail
            fair.with_user(self.user_ada).action_mcm_create_contact()


@tagged("post_install", "-at_install")
class TestQuickActionsOverRpc(QuickActionsMixin, ServerFoldersMixin, StackHttpMixin, HttpCase):
    """What a user sends over RPC: a message id of someone else's mailbox logs nothing."""

    def setUp(self):
        super().setUp()
        for user in (self.user_ann, self.user_ben):
            user.groups_id += self.env.ref("sales_team.group_sale_salesman_all_leads")

    def context(self, model, message):
        return {"mcm_log_message_id": message.id, "mcm_log_model": model}

    def test_a_message_id_of_another_user_s_mailbox_logs_nothing(self):
        fair = self.synced["Seats for the spring fair"]
        for model, values in (
            ("res.partner", {"name": "Nora", "email": "nora@prospect.test"}),
            ("crm.lead", {"name": "Stolen", "email_from": "nora@prospect.test"}),
        ):
            with self.subTest(model=model):
                (made,) = self.call(self.user_ben, model, "create", [values], context=self.context(model, fair))
                self.assertFalse(self.copies(self.env[model].browse(made)))
                # the same call by Ann, whose message it is, logs it
                (own,) = self.call(self.user_ann, model, "create", [values], context=self.context(model, fair))
                self.assertEqual(self.copies(self.env[model].browse(own)).mcm_message_id, fair)
        self.assertFalse(
            self.env["mail.message"].search([("mcm_message_id", "=", fair.id), ("create_uid", "=", self.user_ben.id)])
        )
        with self.assertRaises(xmlrpc.client.Fault) as denied:
            self.call(self.user_ben, "mail.mailbox.message", "action_mcm_create_lead", [fair.id])
        self.assertIn("doesn't have 'read' access", denied.exception.faultString)
