"""Archive going both ways, against the real Dovecot, on Carol's own Inbox: each switch
of the mailbox in its direction, an Archive folder as most servers have, and All Mail
as Gmail has (its Inbox is a label: a message of the Inbox is also in All Mail)."""

import secrets

from imapclient import IMAPClient

from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, tagged

from ..devstack.testkit import connect_oauth, server_message_ids
from .common import MailboxCase, StackHttpMixin, StackMixin, sync_until_done
from .test_sync import message

CAROL = "carol@mail.test"
ALL_MAIL = "All Mail"  # the local Dovecot gives a folder of that name Gmail's \All role


class CarolsInboxMixin:
    """Carol's Inbox and Archive, empty at the start and the end of each test, and her
    mailbox connected in Odoo."""

    def setUp(self):
        super().setUp()
        self.imap = IMAPClient(self.stack["host"], port=self.imap_port, ssl=False, timeout=10)
        self.imap.login(CAROL, self.stack["accounts"][CAROL])
        self.empty()
        self.addCleanup(self.imap.logout)
        self.addCleanup(self.empty)

    def empty(self):
        """Carol's Inbox and Archive emptied, no All Mail."""
        for path in ("INBOX", "Archive"):
            self.imap.select_folder(path)
            uids = self.imap.search(["ALL"])
            if uids:
                self.imap.delete_messages(uids)
                self.imap.expunge()
        self.imap.select_folder("INBOX", readonly=True)
        if self.imap.folder_exists(ALL_MAIL):
            self.imap.delete_folder(ALL_MAIL)

    def put(self, subject, *paths, client=None):
        """A message from a customer in each of ``paths`` (one message, several places)."""
        key = f"<{subject.lower().replace(' ', '-')}-{id(self)}@customer.test>"
        raw = message(subject, to=CAROL, message_id=key)
        for path in paths:
            (client or self.imap).append(path, raw)
        return key

    def where(self, key, client=None):
        """{folder: how many copies} of the message on the server."""
        client = client or self.imap
        found = {}
        for path in ("INBOX", "Archive", ALL_MAIL):
            if client.folder_exists(path):
                count = server_message_ids(client, path).count(key)
                if count:
                    found[path] = count
        return found

    def move(self, key, source, target):
        """What a mail client does to archive (or to put back): a MOVE on the server."""
        self.imap.select_folder(source)
        self.imap.move(self.imap.search(["HEADER", "Message-ID", key]), target)

    def mailbox(self):
        mailbox = self.env["mail.mailbox"].with_user(self.user_ann).create(self.custom_values(CAROL))
        mailbox.action_connect()
        self.assertEqual(mailbox.state, "connected")
        for folder in mailbox.folder_ids:  # not Sent: other tests leave their sent mail there
            folder.selected = folder.special_use in ("\\Inbox", "\\Archive")
        return mailbox.sudo()

    def sync(self, mailbox):
        """Sync rounds as the cron runs them, each folder's deep scan due (a move is seen
        by the deep scan of the folder it left)."""
        for folder in mailbox.folder_ids:
            if folder.sync_state:
                folder.sync_state = {**folder.sync_state, "last_deep_scan": 0}
        sync_until_done(mailbox)
        self.env["mail.mailbox.message"].invalidate_model()

    def stored(self, mailbox):
        Messages = self.env["mail.mailbox.message"].with_context(active_test=False)
        return {m.subject: m for m in Messages.search([("mailbox_id", "=", mailbox.id)])}


@tagged("post_install", "-at_install")
class TestSyncArchive(CarolsInboxMixin, StackMixin, MailboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_stack(cls.env)

    def test_an_archive_folder_both_ways_each_switch_in_its_direction(self):
        # an All folder on a server that is not Gmail is a view of the others: never the archive
        self.imap.create_folder(ALL_MAIL)
        keys = {subject: self.put(subject, "INBOX") for subject in ("A", "B", "C", "D")}
        mailbox = self.mailbox()
        # deletions too: a move seen by the deep scan of the folder it left, before the
        # folder it went to, must not pass for a deletion
        mailbox.write({"archive_in_odoo": True, "archive_on_server": True, "delete_in_odoo": True})
        self.sync(mailbox)
        stored = self.stored(mailbox)
        self.assertEqual(set(stored), {"A", "B", "C", "D"})
        self.assertTrue(all(m.active and m.in_inbox for m in stored.values()))

        # archived in the mailbox (a mail client moved it to Archive): archived in Odoo
        self.move(keys["A"], "INBOX", "Archive")
        self.sync(mailbox)
        self.assertFalse(stored["A"].active)
        self.assertEqual(stored["A"].folder_names, "Archive")
        self.assertTrue(stored["B"].active)
        # back in the Inbox: restored in Odoo
        self.move(keys["A"], "Archive", "INBOX")
        self.sync(mailbox)
        self.assertTrue(stored["A"].active)
        self.assertEqual(stored["A"].folder_names, "Inbox")

        # archived in Odoo: moved to Archive on the server, and the sync leaves it archived
        stored["B"].with_user(self.user_ann).action_archive()
        self.assertFalse(stored["B"].active)
        self.assertEqual(self.where(keys["B"]), {"Archive": 1})
        self.sync(mailbox)
        self.assertFalse(stored["B"].active)
        self.assertEqual(stored["B"].folder_names, "Archive")
        # restored in Odoo: back in the Inbox on the server
        stored["B"].with_user(self.user_ann).action_unarchive()
        self.assertEqual(self.where(keys["B"]), {"INBOX": 1})
        self.sync(mailbox)
        self.assertTrue(stored["B"].active)
        self.assertEqual(stored["B"].folder_names, "Inbox")

        # deleted on the server is not archived: it is deleted
        self.imap.select_folder("INBOX")
        self.imap.delete_messages(self.imap.search(["HEADER", "Message-ID", keys["C"]]))
        self.imap.expunge()
        self.sync(mailbox)
        self.sync(mailbox)  # gone at two complete runs in a row
        self.assertFalse(stored["C"].exists())
        self.assertTrue(stored["A"].exists() and stored["B"].exists())

        # another salesperson archives nothing of Carol's
        with self.assertRaises(AccessError):
            stored["D"].with_user(self.user_ben).action_archive()

        # switches off: each side keeps its own archive
        mailbox.write({"archive_in_odoo": False, "archive_on_server": False})
        stored["D"].with_user(self.user_ann).action_archive()
        self.assertFalse(stored["D"].active)
        self.assertEqual(self.where(keys["D"]), {"INBOX": 1})
        self.move(keys["A"], "INBOX", "Archive")
        self.sync(mailbox)
        self.assertTrue(stored["A"].active)
        self.assertFalse(stored["D"].active)

    def test_gmail_archive_is_the_inbox_label_removed_and_all_mail_keeps_one_copy(self):
        address = f"archive-{secrets.token_hex(3)}@gmail.test"  # a mailbox of its own, Google-like
        mailbox = connect_oauth(self.env(user=self.user_ann), self.stack, "google", address).sudo()
        gmail = IMAPClient(self.stack["host"], port=self.stack["imap_port"], ssl=False, timeout=10)
        gmail.oauth2_login(address, mailbox._get_access_token())
        self.addCleanup(gmail.logout)
        gmail.create_folder(ALL_MAIL)  # as on Gmail: every message of the Inbox is in All Mail too
        keys = {subject: self.put(subject, "INBOX", ALL_MAIL, client=gmail) for subject in ("A", "B")}
        mailbox.action_refresh_folders()
        for folder in mailbox.folder_ids:
            folder.selected = folder.special_use == "\\Inbox"
        mailbox.write({"archive_in_odoo": True, "archive_on_server": True})
        all_mail = mailbox.folder_ids.filtered(lambda f: f.special_use == "\\All")
        self.assertTrue(all_mail.selected)  # ticked by the switch: archived mail is seen there
        self.sync(mailbox)
        stored = self.stored(mailbox)
        self.assertEqual(len(stored), 2)  # one message, two places
        self.assertEqual(stored["A"].folder_names, "All Mail, Inbox")

        # archived in Gmail (the Inbox label removed: gone from the Inbox folder only)
        gmail.select_folder("INBOX")
        gmail.delete_messages(gmail.search(["HEADER", "Message-ID", keys["A"]]))
        gmail.expunge()
        self.sync(mailbox)
        self.assertFalse(stored["A"].active)
        self.assertEqual(stored["A"].folder_names, "All Mail")

        # archived in Odoo: out of the Inbox, still once in All Mail (not moved into it twice)
        stored["B"].with_user(self.user_ann).action_archive()
        self.assertEqual(self.where(keys["B"], gmail), {ALL_MAIL: 1})
        self.sync(mailbox)
        self.assertFalse(stored["B"].active)
        # restored: in the Inbox again, All Mail unchanged
        stored["B"].with_user(self.user_ann).action_unarchive()
        self.assertEqual(self.where(keys["B"], gmail), {"INBOX": 1, ALL_MAIL: 1})
        self.sync(mailbox)
        self.assertTrue(stored["B"].active)
        self.assertEqual(stored["B"].folder_names, "All Mail, Inbox")

    def test_turned_on_again_archive_counts_from_then_not_before(self):
        keys = {subject: self.put(subject, "INBOX") for subject in ("A", "B")}
        mailbox = self.mailbox()
        mailbox.write({"archive_in_odoo": True})
        self.sync(mailbox)
        mailbox.write({"archive_in_odoo": False})
        self.move(keys["A"], "INBOX", "Archive")  # archived while Odoo did not follow
        self.sync(mailbox)
        mailbox.write({"archive_in_odoo": True})
        self.sync(mailbox)
        stored = self.stored(mailbox)
        self.assertTrue(stored["A"].active)  # not archived by surprise when the switch is turned on
        self.move(keys["B"], "INBOX", "Archive")
        self.sync(mailbox)
        self.assertFalse(stored["B"].active)
        self.assertTrue(stored["A"].active)  # nor at the next change

    def test_no_archive_folder_is_said_and_nothing_changes(self):
        key = self.put("A", "INBOX")
        mailbox = self.mailbox()
        mailbox.write({"archive_on_server": True})
        self.sync(mailbox)
        (stored,) = self.stored(mailbox).values()
        # as on a server that has no folder with the Archive role
        mailbox.folder_ids.filtered(lambda f: f.special_use == "\\Archive").present = False
        with self.assertRaisesRegex(UserError, "has no Archive folder.*List the folders again"):
            stored.with_user(self.user_ann).action_archive()
        self.assertTrue(stored.active)
        self.assertEqual(self.where(key), {"INBOX": 1})


@tagged("post_install", "-at_install")
class TestArchiveInTheBrowser(CarolsInboxMixin, StackHttpMixin, HttpCase):
    def test_a_salesperson_archives_a_message_finds_it_again_and_restores_it(self):
        key = self.put("Question about the offer", "INBOX")
        self.put("Keep me", "INBOX")
        mailbox = self.mailbox()
        self.sync(mailbox)
        # as the README's demo says: tick the switch on the mailbox, then archive in My mail
        self.start_tour(
            f"/odoo/action-mail_connected_mailbox.mail_mailbox_action/{mailbox.id}",
            "mail_connected_mailbox_tour_archive",
            login=self.user_ann.login,
        )
        self.assertTrue(mailbox.archive_on_server)
        self.assertEqual(self.where(key), {"Archive": 1})  # out of the Inbox on the server
        self.start_tour("/odoo", "mail_connected_mailbox_tour_restore", login=self.user_ann.login)
        self.assertEqual(self.where(key), {"INBOX": 1})  # and back
        self.assertTrue(self.stored(mailbox)["Question about the offer"].active)
