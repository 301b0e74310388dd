"""Reply from the copy of a synced message in a lead's chatter, over the web client's own
routes: the chatter is told who may answer through the mailbox, a colleague who reads
the lead but may not send through it is refused with the reason, and the reply leaves
through the real SMTP threaded under the original, is logged once on the lead under
the original's copy, and stays one record after a sync of Sent."""

import secrets
import xmlrpc.client

from odoo.tests import HttpCase, tagged

from odoo.addons.mail.tools.discuss import Store

from ..mailbox_engine.sync.parse import message_digest
from .common import StackHttpMixin, received
from .test_reply import MIDDLE, ROOT, ReplyMixin
from .test_sync import BOB


@tagged("post_install", "-at_install")
class TestReplyChatter(ReplyMixin, StackHttpMixin, HttpCase):
    def setUp(self):
        super().setUp()
        self.user_ben.groups_id += self.env.ref("sales_team.group_sale_salesman_all_leads")  # reads the lead

    def customer_on_lead(self):
        """A customer's message synced and logged on the lead: the mailbox, its row, its
        Message-ID and its copy in the lead's chatter."""
        subject = "Deal " + secrets.token_hex(4)
        box, row, message_id = self.incoming(subject)
        copy = self.logged(self.lead, subject)
        self.assertEqual(len(copy), 1)
        return box, row, message_id, copy

    def chatter_says(self, user, copy):
        """What the lead's chatter, loaded by ``user``, is told of ``copy``."""
        self.authenticate(user.login, self.password(user.login))
        result = self.make_jsonrpc_request(
            "/mail/thread/messages", {"thread_model": "crm.lead", "thread_id": self.lead.id}
        )
        found = [values for values in result["data"]["mail.message"] if values["id"] == copy.id]
        self.assertEqual(len(found), 1)
        return found[0]

    def test_the_chatter_says_who_may_answer_through_the_mailbox(self):
        box, _row, _message_id, copy = self.customer_on_lead()
        self.assertIs(self.chatter_says(self.user_ann, copy)["mcm_can_reply"], True)
        self.assertIs(self.chatter_says(self.user_ben, copy)["mcm_can_reply"], False)
        box.sender_user_ids = self.user_ben
        self.assertIs(self.chatter_says(self.user_ben, copy)["mcm_can_reply"], True)
        box.active = False
        self.assertIs(self.chatter_says(self.user_ann, copy)["mcm_can_reply"], False)
        # never in what is sent to others: it is the reader's
        broadcast = Store(copy.with_user(self.user_ann)).get_result()["mail.message"]
        self.assertNotIn("mcm_can_reply", broadcast[0])

    def test_who_may_answer_is_read_in_the_same_queries_for_one_copy_or_many(self):
        box, row, _message_id, copy = self.customer_on_lead()
        copies = copy
        for n in range(4):
            message_id = f"<more-{n}-{secrets.token_hex(4)}@customer.test>"
            other = row.create(
                {
                    "mailbox_id": box.id,
                    "message_key": message_digest(message_id),
                    "message_id_header": message_id,
                    "kind": "stored",
                    "subject": f"More {n}",
                    "email_from": row.email_from,
                    "body_text": "More",
                }
            )
            other._log_copies([self.lead], None, [])
            copies |= self.logged(self.lead, f"More {n}")
        self.assertEqual(len(copies), 5)

        def queries(messages):
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            replyable = messages.with_user(self.user_ann)._mcm_replyable()
            self.assertEqual(replyable, messages)
            return self.env.cr.sql_log_count - before

        queries(copies)  # caches of the access rights warmed
        self.assertEqual(queries(copy), queries(copies))

    def test_a_colleague_who_reads_the_lead_but_may_not_send_is_refused_with_the_reason(self):
        _box, _row, _message_id, copy = self.customer_on_lead()
        with self.assertRaises(xmlrpc.client.Fault) as refused:
            self.call(self.user_ben, "mail.message", "action_mcm_reply", [copy.id], "reply")
        self.assertIn("bob@mail.test is the connected mailbox of Ann Seller", refused.exception.faultString)
        self.assertIn("Who else may send through it", refused.exception.faultString)

    def test_reply_from_the_lead_threads_logs_under_the_original_and_stays_one_record(self):
        box, row, message_id, copy = self.customer_on_lead()
        action = self.call(self.user_ann, "mail.message", "action_mcm_reply", [copy.id], "reply")
        composer = self.composer(action)
        self.assertEqual((composer.model, composer._evaluate_res_ids()), ("crm.lead", [self.lead.id]))
        self.assertEqual((composer.mcm_mode, composer.mcm_source_id), ("reply", row.id))
        self.assertIn("lead@customer.test", composer.mcm_email_to)
        self.assertEqual(composer.subject, "Re: " + row.subject)
        self.assertIn("wrote:", str(composer.body))
        self.send(composer)

        out = received(self, "Re: " + row.subject)
        self.assertEqual(out["In-Reply-To"], message_id)
        self.assertEqual(out["References"].split(), [ROOT, MIDDLE, message_id])
        self.assertIn(BOB, out["From"])
        self.assertIn("lead@customer.test", out["To"])
        self.env.invalidate_all()
        reply = self.logged(self.lead, "Re: " + row.subject)
        self.assertEqual(len(reply), 1)
        self.assertEqual(reply.parent_id, copy)
        self.assertEqual(reply.author_id, self.user_ann.partner_id)
        self.sync(box)
        sent = self.rows(box, out["Message-ID"])
        self.assertEqual(len(sent), 1)
        self.assertFalse(sent.awaiting_place)
        self.assertEqual(len(self.logged(self.lead, "Re: " + row.subject)), 1)

    def test_a_colleague_allowed_to_send_answers_from_the_lead_without_reading_the_mailbox(self):
        box, row, message_id, copy = self.customer_on_lead()
        box.sender_user_ids = self.user_ben
        self.assertFalse(row.with_user(self.user_ben)._filtered_access("read"))  # My mail stays Ann's
        action = self.call(self.user_ben, "mail.message", "action_mcm_reply", [copy.id], "reply_all")
        composer = self.composer(action, user=self.user_ben)
        self.assertIn("boss@customer.test", composer.mcm_email_cc)
        self.send(composer)
        out = received(self, "Re: " + row.subject)
        self.assertEqual(out["In-Reply-To"], message_id)
        self.assertIn(BOB, out["From"])
        self.assertIn("boss@customer.test", out["Cc"])
        reply = self.logged(self.lead, "Re: " + row.subject)
        self.assertEqual((reply.parent_id, reply.author_id), (copy, self.user_ben.partner_id))

    def test_where_the_mailbox_logs_nothing_the_reply_still_goes_under_the_copy_answered(self):
        box, row, _message_id, copy = self.customer_on_lead()
        box.log_mode = "none"
        action = self.call(self.user_ann, "mail.message", "action_mcm_reply", [copy.id], "reply")
        self.send(self.composer(action))
        reply = self.logged(self.lead, "Re: " + row.subject)
        self.assertEqual(len(reply), 1)
        self.assertEqual(reply.parent_id, copy)

    def test_only_reply_reply_all_and_forward(self):
        _box, _row, _message_id, copy = self.customer_on_lead()
        with self.assertRaises(xmlrpc.client.Fault) as refused:
            self.call(self.user_ann, "mail.message", "action_mcm_reply", [copy.id], "new")
        self.assertIn("Choose Reply, Reply all or Forward", refused.exception.faultString)
