"""What servers other than the stack's first Dovecot ask of the sync in Odoo: read and
starred equal to the server's after a full refetch (Enable, a renumbered folder), the
*Deletions* switch acting at once, folder roles picked by hand on a server that names
none (the stack's plainer Dovecot: no SPECIAL-USE, no CONDSTORE, no MOVE), and a user
without an email address connecting."""

import secrets
from datetime import UTC, datetime

from imapclient import IMAPClient

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged

from ..devstack.testkit import connect_oauth, server_message_ids
from .common import MailboxCase, StackMixin, sync_until_done
from .test_sync import ServerFoldersMixin, message

ALICE = "alice@mail.test"
EXPECTED = {"unread, starred": (False, True), "read": (True, False), "unread": (False, False)}


@tagged("post_install", "-at_install")
class TestRefetch(ServerFoldersMixin, StackMixin, MailboxCase):
    """Bob's folders on the stack's Dovecot."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_stack(cls.env)

    def flagged_folder(self):
        """A folder whose messages are unread and starred, read, unread on the server;
        with the raw messages and their flags, to put them back after a renumbering."""
        raws = [
            (message(subject), flags)
            for subject, flags in zip(EXPECTED, ([b"\\Flagged"], [b"\\Seen"], []), strict=True)
        ]
        path = self.folder()
        for raw, flags in raws:
            self.imap.append(path, raw, flags=flags, msg_time=datetime.now(UTC))
        return path, raws

    def marks(self, mailbox):
        messages = self.env["mail.mailbox.message"].search([("mailbox_id", "=", mailbox.id)])
        return {m.subject: (m.seen, m.flagged) for m in messages}

    def make_stale(self, mailbox):
        """Odoo says the opposite of the server (as an earlier refetch left it)."""
        for m in self.env["mail.mailbox.message"].search([("mailbox_id", "=", mailbox.id)]):
            m.write({"seen": not m.seen, "flagged": not m.flagged})
        self.assertNotEqual(self.marks(mailbox), EXPECTED)

    def test_after_enable_read_and_starred_are_the_server_s(self):
        path, _raws = self.flagged_folder()
        mailbox = self.mailbox(path)
        self.sync(mailbox)
        self.assertEqual(self.marks(mailbox), EXPECTED)
        ids = self.env["mail.mailbox.message"].search([("mailbox_id", "=", mailbox.id)]).ids
        self.make_stale(mailbox)
        mailbox.with_user(self.user_ann).action_disable()
        mailbox.with_user(self.user_ann).action_enable()
        self.sync(mailbox)
        self.assertEqual(self.marks(mailbox), EXPECTED)
        self.assertEqual(self.env["mail.mailbox.message"].search([("mailbox_id", "=", mailbox.id)]).ids, ids)

    def test_after_a_renumbering_read_and_starred_are_the_server_s(self):
        path, raws = self.flagged_folder()
        mailbox = self.mailbox(path)
        self.sync(mailbox)
        self.make_stale(mailbox)
        self.imap.delete_folder(path)  # a new UIDVALIDITY, the same messages and flags
        self.imap.create_folder(path)
        for raw, flags in raws:
            self.imap.append(path, raw, flags=flags, msg_time=datetime.now(UTC))
        self.sync(mailbox)
        self.assertEqual(self.marks(mailbox), EXPECTED)

    def test_turning_deletions_on_deletes_what_is_already_gone(self):
        path = self.folder((message("keep"), 0), (message("gone"), 0))
        mailbox = self.mailbox(path)  # Deletions off
        self.sync(mailbox)
        by_subject = {m.subject: m for m in self.env["mail.mailbox.message"].search([("mailbox_id", "=", mailbox.id)])}
        self.imap.select_folder(path)
        self.imap.delete_messages(sorted(self.imap.search(["ALL"]))[1])
        self.imap.expunge()
        folder = mailbox.folder_ids.filtered(lambda f: f.path == path)
        folder.sync_state = {**folder.sync_state, "last_deep_scan": 0}
        self.sync(mailbox)
        self.assertTrue(by_subject["gone"].exists())
        self.assertFalse(by_subject["gone"].on_server)
        mailbox.with_user(self.user_ann).write({"delete_in_odoo": True})
        self.assertFalse(by_subject["gone"].exists())  # at once, not at the next deletion
        self.assertTrue(by_subject["keep"].exists())

    def test_a_server_that_names_roles_keeps_them(self):
        mailbox = self.mailbox()
        self.assertTrue(mailbox.folder_roles_given)
        plain = mailbox.folder_ids.filtered(lambda f: f.path == "Drafts").with_user(self.user_ann)
        with self.assertRaises(UserError):
            plain.role_pick = "\\Sent"
        sent = mailbox.folder_ids.filtered(lambda f: f.use == "\\Sent")
        self.assertEqual(sent.path, "Sent")


@tagged("post_install", "-at_install")
class TestFolderRolesByHand(StackMixin, MailboxCase):
    """Alice's mailbox on the stack's plainer Dovecot, which names no folder roles."""

    FOLDERS = ("INBOX", "Sent", "Archive", "Trash")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_stack(cls.env)

    def setUp(self):
        super().setUp()
        self.plain = self.stack["plain"]
        self.imap = IMAPClient(self.plain["host"], port=self.plain["imap_port"], ssl=False, timeout=10)
        self.imap.login(ALICE, self.stack["accounts"][ALICE])
        self.empty()
        self.addCleanup(self.imap.logout)
        self.addCleanup(self.empty)

    def empty(self):
        for path in self.FOLDERS:
            self.imap.select_folder(path)
            uids = self.imap.search(["ALL"])
            if uids:
                self.imap.delete_messages(uids)
                self.imap.expunge()

    def on_server(self, key):
        return [path for path in self.FOLDERS if key in server_message_ids(self.imap, path)]

    def test_the_user_picks_sent_archive_and_trash_and_odoo_uses_them(self):
        keys = {subject: f"<{secrets.token_hex(8)}@customer.test>" for subject in ("archive me", "delete me")}
        for subject, key in keys.items():
            self.imap.append("INBOX", message(subject, to=ALICE, message_id=key), msg_time=datetime.now(UTC))
        ann = self.user_ann
        mailbox = (
            self.env["mail.mailbox"].with_user(ann).create(self.custom_values(ALICE, imap_port=self.plain["imap_port"]))
        )
        mailbox.action_connect()
        self.assertEqual(mailbox.state, "connected")
        mailbox.action_refresh_folders()
        folders = {f.path: f for f in mailbox.folder_ids}
        # no roles: only the Inbox is known, and the Folders tab says so
        self.assertFalse(mailbox.folder_roles_given)
        self.assertEqual({path: f.role for path, f in folders.items() if path in self.FOLDERS}, {
            "INBOX": "Inbox", "Sent": "", "Archive": "", "Trash": ""
        })  # fmt: skip
        self.assertFalse(folders["Sent"].selected)
        form = self.env["mail.mailbox"].with_user(ann).get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn("names no folder", form)
        # picked by hand, as the form saves them: Sent and Archive are synced from now on
        picks = {"Sent": "\\Sent", "Archive": "\\Archive", "Trash": "\\Trash"}
        mailbox.write({"folder_ids": [Command.update(folders[p].id, {"role_pick": r}) for p, r in picks.items()]})
        self.assertEqual([folders[p].role for p in picks], ["Sent", "Archive", "Trash"])
        self.assertEqual([folders[p].selected for p in picks], [True, True, False])
        with self.assertRaises(UserError):  # the Inbox stays the Inbox
            folders["INBOX"].role_pick = "\\Archive"

        # mail sent from Odoo: its copy in the picked Sent folder, synced back
        subject = f"sent copy {mailbox.id}"
        mail = (
            self.env["mail.mail"]
            .with_user(ann)
            .sudo()
            .create({"email_from": ALICE, "email_to": "lead@customer.test", "subject": subject, "auto_delete": False})
        )
        mail.send()
        self.assertEqual(mail.state, "sent")
        self.imap.select_folder("Sent")
        self.assertEqual(len(self.imap.search(["SUBJECT", subject])), 1)

        # Archive and Delete go to the picked folders (a server without MOVE: a copy and a delete)
        mailbox.write({"archive_on_server": True, "delete_on_server": True})
        sync_until_done(mailbox.sudo())
        stored = {
            m.subject: m for m in self.env["mail.mailbox.message"].sudo().search([("mailbox_id", "=", mailbox.id)])
        }
        self.assertIn(subject, stored)  # the Sent folder is synced
        self.assertEqual(stored[subject].folder_names, "Sent")
        stored["archive me"].with_user(ann).action_archive()
        self.assertEqual(self.on_server(keys["archive me"]), ["Archive"])
        stored["delete me"].with_user(ann).action_delete()
        self.assertEqual(self.on_server(keys["delete me"]), ["Trash"])

    def test_a_drafts_folder_picked_by_hand_takes_the_composers_drafts(self):
        self.FOLDERS += ("Drafts",)  # emptied before and after, as the others
        self.empty()
        ann = self.user_ann
        mailbox = (
            self.env["mail.mailbox"].with_user(ann).create(self.custom_values(ALICE, imap_port=self.plain["imap_port"]))
        )
        mailbox.action_connect()
        mailbox.action_refresh_folders()
        drafts = mailbox.folder_ids.filtered(lambda f: f.path == "Drafts")
        self.assertFalse(drafts.role)  # the server names no role
        drafts.with_user(ann).role_pick = "\\Drafts"
        action = self.env["mail.mailbox.message"].with_user(ann).action_mcm_new_message()
        composer = self.env["mail.compose.message"].with_user(ann).with_context(**action["context"]).create({})
        subject = f"Draft-{secrets.token_hex(4)}"
        composer.write({"mcm_email_to": "lead@customer.test", "subject": subject})
        composer.action_mcm_keep_draft()
        self.imap.select_folder("Drafts", readonly=True)
        uids = self.imap.search(["SUBJECT", subject])
        self.assertEqual(len(uids), 1)
        self.assertIn(b"\\Draft", self.imap.get_flags(uids)[uids[0]])


@tagged("post_install", "-at_install")
class TestConnectWithoutEmail(StackMixin, MailboxCase):
    """A user whose Odoo account has no email address connects all the same."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_stack(cls.env)
        cls.user_nora = new_test_user(
            cls.env, login="mcm_nora", name="Nora Noaddress", email=False, groups="base.group_user"
        )

    def test_a_user_without_an_email_connects_a_custom_and_a_google_mailbox(self):
        self.assertFalse(self.user_nora.email)
        mailbox = self.env["mail.mailbox"].with_user(self.user_nora).create(self.custom_values(ALICE))
        mailbox.action_connect()
        self.assertEqual(mailbox.state, "connected")
        note = mailbox.sudo().message_ids.filtered(lambda m: "Connected by" in str(m.body))
        self.assertEqual(note.author_id, self.user_nora.partner_id)
        google = connect_oauth(self.env(user=self.user_nora), self.stack, "google", "nora@gmail.test")
        self.assertEqual(google.state, "connected")
