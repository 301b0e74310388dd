"""Drafts of the composer, against the real Dovecot (its Drafts folder has the \\Drafts
role) and SMTP: a draft kept is in Odoo and in the server's Drafts with the headers the
mail will have, reopens as it was left, and sent it leaves once, with its Message-ID,
and is gone from both; a server that cannot be reached loses nothing."""

import email
import email.policy
import secrets
import socket
import xmlrpc.client

from odoo.exceptions import AccessError
from odoo.tests import HttpCase, tagged

from ..devstack.tcp_proxy import Proxy
from ..mailbox_engine.answers import search as search_uids
from .common import MailboxCase, StackHttpMixin, StackMixin, really_sending, received, received_all
from .test_reply import ROOT, ReplyMixin, sent_copy
from .test_sync import BOB


class DraftsMixin(ReplyMixin):
    def setUp(self):
        super().setUp()
        self.addCleanup(self.remove_server_drafts)

    def remove_server_drafts(self):
        """What a test left in Bob's Drafts (a draft kept while its removal failed)."""
        self.imap.select_folder("Drafts")
        uids = self.imap.search(["SUBJECT", "Draft-"])
        if uids:
            self.imap.delete_messages(uids)
            self.imap.expunge()

    def server_drafts(self, message_id):
        """The copies of ``message_id`` in Bob's Drafts folder: [(message, flags)]."""
        self.imap.select_folder("Drafts", readonly=True)
        uids = search_uids(self.imap, ["HEADER", "Message-ID", message_id])
        fetched = self.imap.fetch(uids, ["BODY.PEEK[]", "FLAGS"]) if uids else {}
        return [
            (email.message_from_bytes(item[b"BODY[]"], policy=email.policy.default), set(item[b"FLAGS"]))
            for item in fetched.values()
        ]

    def drafts(self, user=None, active_test=True):
        return (
            self.env["mail.mailbox.draft"]
            .with_user(user or self.user_ann)
            .with_context(active_test=active_test)
            .search([])
        )


@tagged("post_install", "-at_install")
class TestReplyDrafts(DraftsMixin, StackMixin, MailboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_stack(cls.env)

    def test_a_kept_reply_is_on_the_server_reopens_as_left_and_leaves_once_with_its_message_id(self):
        subject = "Draft-" + secrets.token_hex(4)
        box, row, message_id = self.incoming(subject)
        composer = self.composer(row.with_user(self.user_ann).action_mcm_reply())
        composer.write({"body": "<p>Half an answer</p>" + str(composer.body), "mcm_email_bcc": "hidden@customer.test"})
        shown = composer.action_mcm_keep_draft()
        self.assertEqual(shown["params"]["title"], "Draft kept")
        self.assertIn("in the Drafts folder of bob@mail.test", shown["params"]["message"])
        self.assertEqual(shown["params"]["next"], {"type": "ir.actions.act_window_close"})

        draft = self.drafts()
        self.assertEqual(len(draft), 1)
        self.assertTrue(draft.on_server)
        self.assertFalse(self.drafts(self.user_ben))  # a draft is its writer's alone
        with self.assertRaises(AccessError):
            draft.with_user(self.user_ben).read(["body"])
        [(copy, flags)] = self.server_drafts(draft.message_id_header)
        self.assertIn(b"\\Draft", flags)
        self.assertEqual(copy["Subject"], "Re: " + subject)
        self.assertEqual(copy["In-Reply-To"], message_id)
        self.assertEqual(copy["References"].split()[0], ROOT)
        self.assertEqual(copy["References"].split()[-1], message_id)
        self.assertIn("lead@customer.test", copy["To"])
        self.assertIn(BOB, copy["From"])
        self.assertIn("hidden@customer.test", copy["Bcc"])  # kept in a draft, as mail clients do
        self.assertIn("Half an answer", copy.get_body(("html",)).get_content())

        # Reply on the message again continues the draft, as mail clients do
        self.assertEqual(self.composer(row.with_user(self.user_ann).action_mcm_reply()).mcm_draft_id, draft)
        self.assertFalse(self.composer(row.with_user(self.user_ann).action_mcm_reply_all()).mcm_draft_id)

        # kept again after a change: still one copy on the server, the new one
        again = self.composer(draft.with_user(self.user_ann).action_mcm_continue())
        self.assertEqual(again.mcm_draft_id, draft)
        self.assertIn("Half an answer", str(again.body))
        self.assertEqual(again.mcm_email_bcc, "hidden@customer.test")
        self.assertEqual(again.subject, "Re: " + subject)
        again.body = "<p>A full answer</p>"
        again.action_mcm_keep_draft()
        [(copy, _flags)] = self.server_drafts(draft.message_id_header)
        self.assertIn("A full answer", copy.get_body(("html",)).get_content())

        # a sync of the Drafts folder does not make the draft a message of My mail
        box.folder_ids.filtered(lambda f: f.use == "\\Drafts").selected = True
        self.sync(box)
        self.assertFalse(self.rows(box, draft.message_id_header))

        reopened = self.composer(draft.with_user(self.user_ann).action_mcm_continue())
        self.assertIn("A full answer", str(reopened.body))
        kept_id = draft.message_id_header
        self.send(reopened)
        out = received(self, "Re: " + subject)
        self.assertEqual(len(received_all(self, "Re: " + subject)), 1)
        self.assertEqual(out["Message-ID"], kept_id)
        self.assertEqual(out["In-Reply-To"], message_id)
        self.assertIn("A full answer", out.as_string())
        self.assertEqual(sent_copy(box, "Re: " + subject)["Message-ID"], kept_id)
        self.assertEqual(self.server_drafts(kept_id), [])  # gone from the server's Drafts
        self.assertFalse(self.drafts(active_test=False))  # and from Odoo
        self.assertEqual(len(self.rows(box, kept_id)), 1)  # the sent message, once

    def test_closing_with_nothing_written_keeps_nothing_and_discard_removes_it_everywhere(self):
        subject = "Draft-" + secrets.token_hex(4)
        _box, row, _message_id = self.incoming(subject)
        untouched = self.composer(row.with_user(self.user_ann).action_mcm_reply())
        self.assertFalse(untouched.with_context(mcm_dismissing=True).action_mcm_keep_draft())
        self.assertFalse(self.drafts())

        composer = self.composer(row.with_user(self.user_ann).action_mcm_reply())
        composer.body = "<p>Not sure yet</p>" + str(composer.body)
        shown = composer.with_context(mcm_dismissing=True).action_mcm_keep_draft()
        self.assertNotIn("next", shown["params"])  # the dialog closes itself
        draft = self.drafts()
        kept_id = draft.message_id_header
        self.assertEqual(len(self.server_drafts(kept_id)), 1)
        draft.with_user(self.user_ann).action_mcm_discard()
        self.assertFalse(self.drafts(active_test=False))
        self.assertEqual(self.server_drafts(kept_id), [])


@tagged("post_install", "-at_install")
class TestReplyDraftsServerAway(DraftsMixin, StackMixin, MailboxCase):
    """Bob's mailbox reaches Dovecot through a proxy, which the test points at a port where
    nothing answers."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_stack(cls.env)

    def setUp(self):
        super().setUp()
        self.proxy = Proxy(self.imap_port).start()
        self.addCleanup(self.proxy.stop)
        self.nowhere = socket.socket()  # bound, never listening: connections are refused
        self.nowhere.bind(("127.0.0.1", 0))
        self.addCleanup(self.nowhere.close)
        self.box = (
            self.env["mail.mailbox"].with_user(self.user_ann).create(self.custom_values(BOB, imap_port=self.proxy.port))
        )
        self.box.action_connect()
        self.assertEqual(self.box.state, "connected")

    def away(self):
        self.proxy.target = self.nowhere.getsockname()

    def back(self):
        self.proxy.target = ("127.0.0.1", self.imap_port)

    def new_message(self, subject):
        composer = self.composer(self.env["mail.mailbox.message"].with_user(self.user_ann).action_mcm_new_message())
        composer.write({"mcm_email_to": "lead@customer.test", "subject": subject, "body": "<p>Every word kept</p>"})
        return composer

    def test_a_draft_kept_while_the_server_is_away_stays_in_odoo_with_the_reason(self):
        subject = "Draft-" + secrets.token_hex(4)
        self.away()
        shown = self.new_message(subject).action_mcm_keep_draft()
        self.assertEqual(shown["params"]["title"], "Draft kept")
        self.assertEqual(shown["params"]["type"], "warning")
        draft = self.drafts()
        self.assertFalse(draft.on_server)
        self.assertIn("kept in Odoo", draft.server_state)
        self.assertIn(draft.server_state, shown["params"]["message"])
        self.assertEqual(self.box.state, "connected")  # a draft never changes the mailbox's status
        reopened = self.composer(draft.with_user(self.user_ann).action_mcm_continue())
        self.assertIn("Every word kept", str(reopened.body))
        self.assertEqual(reopened.mcm_email_to, "lead@customer.test")

        self.back()  # kept again: now on the server too
        reopened.action_mcm_keep_draft()
        self.assertTrue(draft.on_server)
        self.assertFalse(draft.server_state)
        self.assertEqual(len(self.server_drafts(draft.message_id_header)), 1)

    def test_a_draft_sent_while_the_server_is_away_leaves_and_is_removed_later(self):
        subject = "Draft-" + secrets.token_hex(4)
        composer = self.new_message(subject)
        composer.action_mcm_keep_draft()
        draft = self.drafts()
        kept_id = draft.message_id_header
        self.assertEqual(len(self.server_drafts(kept_id)), 1)

        self.away()
        self.send(self.composer(draft.with_user(self.user_ann).action_mcm_continue()))
        self.assertEqual(received(self, subject)["Message-ID"], kept_id)  # the mail left all the same
        self.assertFalse(self.drafts())  # no longer a draft for the user
        left = self.drafts(active_test=False)
        self.assertTrue(left.to_remove)
        self.assertEqual(len(self.server_drafts(kept_id)), 1)

        self.back()  # the scheduled sync finishes it
        self.box.folder_ids.selected = False  # (a quick sync: only the removal is looked at)
        self.env["mail.mailbox"]._cron_sync()
        self.assertEqual(self.server_drafts(kept_id), [])
        self.assertFalse(left.exists())


@tagged("post_install", "-at_install")
class TestReplyDraftsRpc(DraftsMixin, StackHttpMixin, HttpCase):
    """Over XML-RPC, as Ben, who may send through Ann's mailbox: her draft is hers alone."""

    def test_another_user_can_neither_read_nor_send_nor_overwrite_a_draft(self):
        subject = "Draft-" + secrets.token_hex(4)
        box, row, _message_id = self.incoming(subject, attachment=b"%PDF for Ann")
        box.sender_user_ids = [(4, self.user_ben.id)]
        hers = self.env["ir.attachment"].search([("res_model", "=", row._name), ("res_id", "=", row.id)])
        self.assertEqual(len(hers), 1)
        composer = self.composer(row.with_user(self.user_ann).action_mcm_reply())
        composer.body = "<p>Only for Ann</p>"
        composer.action_mcm_keep_draft()
        draft = self.drafts()
        found = self.call(self.user_ben, "mail.mailbox.draft", "search_read", [], fields=["subject"])
        self.assertEqual(found, [])
        with self.assertRaises(xmlrpc.client.Fault) as denied:
            self.call(self.user_ben, "mail.mailbox.draft", "read", [draft.id], ["body"])
        self.assertNotIn("Only for Ann", denied.exception.faultString)
        with self.assertRaises(xmlrpc.client.Fault):
            self.call(self.user_ben, "mail.mailbox.draft", "action_mcm_continue", [draft.id])

        # a composer of his own, pointed at her draft: refused at every step
        context = {"mcm_mode": "new", "mcm_mailbox_id": box.id, "mcm_source_id": 0}
        with self.assertRaises(xmlrpc.client.Fault):
            self.call(
                self.user_ben,
                "mail.compose.message",
                "default_get",
                ["body"],
                context={**context, "mcm_draft_id": draft.id},
            )
        values = {
            "mcm_draft_id": draft.id,
            "mcm_email_to": "ben.friend@customer.test",
            "subject": "Draft-taken",
            "body": "<p>x</p>",
        }
        composer_id = self.call(self.user_ben, "mail.compose.message", "create", values, context=context)
        for method in ("action_mcm_keep_draft", "action_send_mail"):
            with self.assertRaises(xmlrpc.client.Fault), really_sending():
                self.call(self.user_ben, "mail.compose.message", method, [composer_id], context=context)
        self.assertEqual(received_all(self, "Draft-taken"), [])
        # (what refused him is her draft: without it, he keeps a draft of his own, and a
        # file of hers slipped into his composer does not become his draft's)
        own = {**values, "mcm_draft_id": False, "attachment_ids": [(6, 0, hers.ids)]}
        own_id = self.call(self.user_ben, "mail.compose.message", "create", own, context=context)
        self.call(self.user_ben, "mail.compose.message", "action_mcm_keep_draft", [own_id], context=context)
        his = self.drafts(self.user_ben)
        self.assertEqual(his.mapped("subject"), ["Draft-taken"])
        self.assertFalse(his.attachment_ids)
        hers.invalidate_recordset()
        self.assertEqual((hers.res_model, hers.res_id), (row._name, row.id))
        self.assertIn("Only for Ann", str(draft.body))
        self.assertEqual(len(self.server_drafts(draft.message_id_header)), 1)
