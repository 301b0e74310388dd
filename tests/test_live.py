"""What the server says live, against the real Dovecot: the progress of the past mail
counts what the Messages button counts, every check writes the Last check tab, and
status changes and sync rounds are sent over Odoo's bus to whom they concern."""

import json

from odoo.tests import tagged

from odoo.addons.bus.models.bus import channel_with_db, json_dump

from .common import MailboxCase, StackMixin
from .test_sync import PARAM, ServerFoldersMixin, message


@tagged("post_install", "-at_install")
class TestLive(ServerFoldersMixin, StackMixin, MailboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_stack(cls.env)

    def sent_to(self, user, kind):
        """The payloads of ``kind`` sent to ``user`` over the bus by this transaction."""
        self.env.flush_all()
        self.env.cr.flush()  # the bus rows are written at commit
        channel = json_dump(channel_with_db(self.env.cr.dbname, user.partner_id))
        rows = self.env["bus.bus"].sudo().search([("channel", "=", channel)], order="id")
        found = []
        for row in rows:
            notification = json.loads(row.message)
            if notification["type"] == kind:
                found.append(notification["payload"])
        return found

    def test_the_progress_counts_what_the_messages_button_counts(self):
        self.env["ir.config_parameter"].sudo().set_param(PARAM + "sync_budget", "10")
        first = self.folder(*[(message(f"a{n}", n), n) for n in range(5)])
        second = self.folder(*[(message(f"b{n}", n), n) for n in range(25)])
        mailbox = self.mailbox(first)
        self.sync(mailbox)  # the first folder is in Odoo
        mailbox.folder_ids.filtered(lambda f: f.path == second).selected = True  # a folder ticked later
        mailbox._claim_sync(ids=mailbox.ids, limit=1)._sync_round()
        mailbox.invalidate_recordset()
        self.assertEqual(mailbox.synced_message_count, 15)
        self.assertEqual((mailbox.sync_fetched, mailbox.sync_remaining), (15, 15))
        action = mailbox.with_user(self.user_ann).action_sync_now()
        self.assertIn("25 messages fetched, 5 still to fetch", action["params"]["message"])
        self.assertEqual(mailbox.sync_fetched, mailbox.synced_message_count)

    def test_each_round_is_sent_to_the_owner_and_the_end_says_how_many(self):
        self.env["ir.config_parameter"].sudo().set_param(PARAM + "sync_budget", "10")
        path = self.folder(*[(message(f"m{n}", n), n) for n in range(15)])
        mailbox = self.mailbox(path)
        self.sync(mailbox)
        self.assertEqual(self.sent_to(self.user_ann, "mail_connected_mailbox/changed")[-2:], [{"ids": mailbox.ids}] * 2)
        toasts = self.sent_to(self.user_ann, "simple_notification")
        self.assertEqual(len(toasts), 1)  # once, when the past mail is in
        self.assertEqual(toasts[0]["title"], "bob@mail.test: past mail fetched")
        self.assertEqual(toasts[0]["message"], "The mailbox is up to date (15 messages in Odoo).")

    def test_check_now_writes_the_last_check_and_a_lost_mailbox_is_listed_for_its_owner(self):
        mailbox = self.mailbox()
        self.assertIn("✔ SMTP AUTH", mailbox.last_check_report)
        Ann = self.env["mail.mailbox"].with_user(self.user_ann)
        self.assertEqual(Ann.get_attention_mailboxes(), [])
        mailbox._set_secrets({"password": "changed-at-the-server"})
        mailbox.with_user(self.user_ann).action_check_now()
        self.assertEqual(mailbox.state, "auth_lost")
        self.assertIn("✘ IMAP Login", mailbox.last_check_report)
        self.assertNotIn("SMTP", mailbox.last_check_report)
        (listed,) = Ann.get_attention_mailboxes()
        self.assertEqual((listed["id"], listed["state"], listed["can_reconnect"]), (mailbox.id, "auth_lost", True))
        self.assertIn("refused the login or password", listed["cause"])
        self.assertEqual(self.env["mail.mailbox"].with_user(self.user_ben).get_attention_mailboxes(), [])
        self.assertIn({"ids": mailbox.ids}, self.sent_to(self.user_ann, "mail_connected_mailbox/attention"))
        self.assertIn({"ids": mailbox.ids}, self.sent_to(self.user_ada, "mail_connected_mailbox/changed"))
        # it works again: Check now says so, and the list is empty
        mailbox._set_secrets({"password": self.stack["accounts"]["bob@mail.test"]})
        mailbox.with_user(self.user_ann).action_check_now()
        self.assertEqual(mailbox.state, "connected")
        self.assertIn("✔ IMAP Login", mailbox.last_check_report)
        self.assertEqual(Ann.get_attention_mailboxes(), [])
