"""Synced mail stays its owner's: over RPC another salesperson reads none of it, and its
chatter copies follow the rights on the contact or lead they are logged on."""

import secrets
import xmlrpc.client
from email.message import EmailMessage

from odoo.tests import HttpCase, tagged
from odoo.tests.common import JsonRpcException

from .common import MailboxCase, StackHttpMixin, StackMixin
from .test_sync import BOB, LeadMixin, ServerFoldersMixin, message

# what "nothing" looks like for each kind of call: refused, or an empty answer
NOTHING = (None, [], 0, {"groups": [], "length": 0}, {"length": 0, "records": []})
ACCESS_ERROR = 4  # the XML-RPC fault code of an AccessError
METHODS = ("action_mark_read", "action_delete", "action_show_images", "action_fetch_body", "action_open_logged_record")


def raw_mail(headers, body="body"):
    lines = [*headers, f"Message-ID: <{secrets.token_hex(8)}@customer.test>", "", body, ""]
    return "\r\n".join(lines).encode()


@tagged("post_install", "-at_install")
class TestSyncRights(ServerFoldersMixin, StackHttpMixin, HttpCase):
    """Ann's synced message, logged on a contact everyone reads and on a lead of hers that
    Ben (a salesperson who sees his own leads only) cannot read."""

    def setUp(self):
        super().setUp()
        groups = self.env.ref("sales_team.group_sale_salesman") | self.env.ref("base.group_allow_export")
        (self.user_ann | self.user_ben).write({"groups_id": [(4, group.id) for group in groups]})
        self.contact = self.env["res.partner"].create({"name": "Customer", "email": "lead@customer.test"})
        self.lead = self.env["crm.lead"].create(
            {"name": "Ann's deal", "email_from": "lead@customer.test", "user_id": self.user_ann.id}
        )
        mailbox = self.mailbox(self.folder((message("Private offer", attachment=b"%PDF secret"), 0)))
        self.sync(mailbox)
        self.stored = self.env["mail.mailbox.message"].search([("mailbox_id", "=", mailbox.id)])
        self.assertEqual((len(self.stored), len(self.stored.attachment_ids)), (1, 1))
        self.signed_in = None

    def sign_in(self, user):
        if self.signed_in != user:
            self.authenticate(user.login, self.password(user.login))
            self.signed_in = user

    def web_call(self, user, model, method, *args, **kwargs):
        """``model.method(*args, **kwargs)`` as the web client calls it (JSON-RPC, signed in)."""
        self.sign_in(user)
        params = {"model": model, "method": method, "args": list(args), "kwargs": kwargs}
        return self.make_jsonrpc_request(f"/web/dataset/call_kw/{model}/{method}", params)

    def answers(self, user, model, method, *args, **kwargs):
        """What XML-RPC and JSON-RPC answer: the result each time, None when refused for
        want of rights (any other error is raised)."""
        found = []
        for way in (self.call, self.web_call):
            try:
                found.append(way(user, model, method, *args, **kwargs))
            except (xmlrpc.client.Fault, JsonRpcException) as exc:
                if getattr(exc, "faultCode", None) != ACCESS_ERROR and str(exc) != "odoo.exceptions.AccessError":
                    raise
                found.append(None)
        return found

    def test_another_salesperson_reads_nothing_of_a_synced_message_over_rpc(self):
        stored, place, attachment = self.stored.id, self.stored.place_ids.id, self.stored.attachment_ids.id
        mine = [("id", "=", stored)]
        calls = [
            ("mail.mailbox.message", "search_read", mine, ["subject", "body"]),
            ("mail.mailbox.message", "read", [stored], ["subject", "body"]),
            ("mail.mailbox.message", "read_group", mine, ["size:sum"], ["subject"]),
            ("mail.mailbox.message", "web_read_group", mine, ["size:sum"], ["subject"]),
            ("mail.mailbox.message", "name_search", "Private offer"),
            ("mail.mailbox.message", "search_count", mine),
            ("mail.mailbox.message", "export_data", [stored], ["subject", "email_from"]),
            ("mail.mailbox.message", "web_search_read", mine, {"subject": {}, "body": {}}),
            ("mail.mailbox.message.place", "search_read", [("id", "=", place)], ["uid", "message_id"]),
            ("mail.mailbox.message.place", "read", [place], ["uid", "message_id"]),
            ("mail.mailbox.message.place", "search_count", [("id", "=", place)]),
            ("ir.attachment", "read", [attachment], ["name", "datas"]),
            ("ir.attachment", "search_read", [("id", "=", attachment)], ["name", "datas"]),
        ]
        for model, method, *args in calls:
            with self.subTest(model=model, method=method):
                for user in (self.user_ann, self.user_ada):  # the owner and an administrator do read it
                    for answer in self.answers(user, model, method, *args):
                        self.assertNotIn(answer, NOTHING, user.login)
                for answer in self.answers(self.user_ben, model, method, *args):
                    self.assertIn(answer, NOTHING)

    def test_another_salesperson_cannot_act_on_a_synced_message_over_rpc(self):
        for method in METHODS:
            with self.subTest(method=method):
                self.assertEqual(
                    self.answers(self.user_ben, "mail.mailbox.message", method, [self.stored.id]), [None] * 2
                )
        self.stored.invalidate_recordset()
        self.assertTrue(self.stored.exists())
        self.assertEqual((self.stored.seen, self.stored.images_shown), (False, False))
        # the owner can
        action = self.call(self.user_ann, "mail.mailbox.message", "action_open_logged_record", [self.stored.id])
        self.assertIn(
            (action["res_model"], action["res_id"]), [("res.partner", self.contact.id), ("crm.lead", self.lead.id)]
        )
        self.assertEqual(
            self.answers(self.user_ann, "mail.mailbox.message", "action_show_images", [self.stored.id]), [True] * 2
        )

    def test_the_attachment_downloads_for_the_owner_only(self):
        url = f"/web/content/{self.stored.attachment_ids.id}?download=true"
        self.sign_in(self.user_ben)
        refused = self.url_open(url)
        self.assertIn(refused.status_code, (403, 404))
        self.assertNotIn(b"%PDF secret", refused.content)
        self.sign_in(self.user_ann)
        given = self.url_open(url)
        self.assertEqual((given.status_code, given.content), (200, b"%PDF secret"))

    def test_chatter_copies_follow_the_rights_on_the_record_they_are_logged_on(self):
        self.assertFalse(self.lead.with_user(self.user_ben).has_access("read"))
        self.assertTrue(self.contact.with_user(self.user_ben).has_access("read"))
        copies = self.env["mail.message"].search([("mcm_message_id", "=", self.stored.id)])
        on_lead = copies.filtered(lambda m: (m.model, m.res_id) == ("crm.lead", self.lead.id))
        on_contact = copies.filtered(lambda m: (m.model, m.res_id) == ("res.partner", self.contact.id))
        self.assertEqual((len(on_lead), len(on_contact)), (1, 1))
        domain = [("message_id", "=", self.stored.message_id_header)]
        for user, readable in ((self.user_ann, on_lead | on_contact), (self.user_ben, on_contact)):
            for answer in self.answers(user, "mail.message", "search_read", domain, ["model", "res_id", "body"]):
                self.assertEqual(sorted(row["id"] for row in answer), sorted(readable.ids), user.login)
        self.assertEqual(self.answers(self.user_ben, "mail.message", "read", on_lead.ids, ["body"]), [None] * 2)
        for answer in self.answers(self.user_ben, "mail.message", "read", on_contact.ids, ["subject"]):
            self.assertEqual(answer[0]["subject"], "Private offer")


@tagged("post_install", "-at_install")
class TestSyncCopies(LeadMixin, ServerFoldersMixin, StackMixin, MailboxCase):
    """What a sync logs, and where: once per record, never in a colleague's name, never a script."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_stack(cls.env)

    def synced(self, *raws):
        """Ann's mailbox synced on a folder of ``raws``: its messages by subject."""
        mailbox = self.mailbox(self.folder(*[(raw, 0) for raw in raws]))
        self.sync(mailbox)
        self.assertFalse(mailbox.sync_problem)
        return {m.subject: m for m in self.env["mail.mailbox.message"].search([("mailbox_id", "=", mailbox.id)])}

    def test_an_address_shared_by_two_contacts_and_a_lead_is_logged_once_on_each(self):
        Partner = self.env["res.partner"]
        twins = Partner.create(
            [{"name": "Twin", "email": "lead@customer.test"}, {"name": "Twin 2", "email": "Lead@Customer.TEST"}]
        )
        stored = self.synced(message("Shared", Cc="LEAD@customer.test"))
        for record in (*twins, self.lead):
            with self.subTest(record=record.display_name):
                self.assertEqual(self.logged(record).mcm_message_id, stored["Shared"])
                self.assertEqual(len(self.logged(record)), 1)

    def test_contacts_without_a_usable_address_and_mail_without_a_sender_break_nothing(self):
        odd = self.env["res.partner"].create([{"name": "No email"}, {"name": "Bad email", "email": "not an address"}])
        stored = self.synced(
            raw_mail(["To: ", "Subject: nobody"]),
            raw_mail(["From: not an address", "To: not an address", "Cc: lead@customer.test", "Subject: odd"]),
        )
        self.assertEqual(sorted(stored), ["nobody", "odd"])
        self.assertFalse(stored["nobody"].email_from)
        self.assertFalse(stored["nobody"].logged_message_ids)
        self.assertEqual(self.logged(self.lead).mcm_message_id, stored["odd"])  # the lead's address, in Cc
        self.assertFalse(self.logged(odd[0]) | self.logged(odd[1]))

    def test_a_colleague_s_address_as_sender_never_makes_a_copy_look_posted_by_them(self):
        customer = self.env["res.partner"].create({"name": "Customer", "email": "lead@customer.test"})
        colleague = self.user_ada.partner_id
        stored = self.synced(
            message("Spoofed", sender=f"Ada Admin <{colleague.email}>", Cc="lead@customer.test"),
            message("Genuine"),
        )
        spoofed = stored["Spoofed"].logged_message_ids
        self.assertIn(("crm.lead", self.lead.id), [(copy.model, copy.res_id) for copy in spoofed])
        for copy in spoofed:
            with self.subTest(on=copy.model):
                self.assertFalse(copy.author_id.user_ids.filtered(lambda u: not u.share))
                self.assertIn(colleague.email, copy.email_from)
        (genuine,) = self.logged(self.lead).filtered(lambda m: m.subject == "Genuine")
        self.assertEqual(genuine.author_id, customer)  # a customer's address still names its author

    def test_html_logged_on_a_lead_keeps_no_script_and_no_tracking_pixel(self):
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "lead@customer.test", BOB, "Tracked"
        msg["Message-ID"] = f"<{secrets.token_hex(8)}@customer.test>"
        msg.set_content("plain")
        msg.add_alternative(
            '<p>Hi<script>steal()</script></p><img src="https://track.example/p.gif" width="1">', subtype="html"
        )
        self.synced(msg.as_bytes())
        (copy,) = self.logged(self.lead)
        body = str(copy.body)
        self.assertIn("Hi", body)
        self.assertNotIn("<script", body)
        self.assertNotRegex(body, r"\ssrc=[\"']?[^\"'>]*track\.example")
