"""The sync in Odoo against servers that answer otherwise than Dovecot: the stack's Dovecot
behind its proxy, made to quote header field names in FETCH answers, to answer an empty
``UID SEARCH MODSEQ`` with ``* SEARCH (MODSEQ 1)``, and to refuse a command in one folder."""

from odoo.tests import tagged

from ..devstack.imap_quirks import Commands, EmptyModseqSearch, QuotedFields, Trouble, quirky
from ..devstack.tcp_proxy import Proxy
from ..devstack.testkit import server_message_ids
from .common import MailboxCase, StackMixin
from .test_sync import ServerFoldersMixin, message


@tagged("post_install", "-at_install")
class TestSyncForeignServers(ServerFoldersMixin, StackMixin, MailboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_stack(cls.env)

    def setUp(self):
        super().setUp()
        self.proxy = Proxy(self.stack["imap_port"]).start()
        self.addCleanup(self.proxy.stop)

    def custom_values(self, address, **values):
        return super().custom_values(address, imap_port=self.proxy.port, **values)

    def server_keys(self, path):
        return server_message_ids(self.imap, path)

    def odoo_keys(self, mailbox, path):
        places = self.env["mail.mailbox.message.place"].search(
            [("folder_id.mailbox_id", "=", mailbox.id), ("folder_id.path", "=", path)]
        )
        return sorted(place.message_id.message_id_header for place in places)

    def messages(self, mailbox):
        return self.env["mail.mailbox.message"].search([("mailbox_id", "=", mailbox.id)])

    def deep_scan_due(self, mailbox):
        for folder in mailbox.folder_ids:
            if folder.sync_state:
                folder.sync_state = {**folder.sync_state, "last_deep_scan": 0}

    def assert_no_error(self, mailbox):
        mailbox.invalidate_recordset()
        self.assertEqual(mailbox.state, "connected")
        self.assertFalse(mailbox.sync_problem)
        self.assertFalse(mailbox.folder_ids.filtered("sync_problem").mapped("sync_problem"))

    def test_a_move_fetches_no_body_again_and_a_deletion_alone_syncs(self):
        commands, empty = Commands(), EmptyModseqSearch()
        quirky(self.proxy, QuotedFields(), empty, commands)
        inbox = self.folder(*[(message(f"m{n}"), 0) for n in range(4)])
        archive = self.folder()
        mailbox = self.mailbox(inbox, archive)
        self.sync(mailbox)
        self.assertEqual(len(self.messages(mailbox)), 4)
        bodies = commands.count(b"FETCH", b"BODY.PEEK[]")
        self.imap.select_folder(inbox)
        uids = sorted(self.imap.search(["ALL"]))
        self.imap.move(uids[:2], archive)  # a move on the server: matched by Message-ID, not fetched again
        self.deep_scan_due(mailbox)
        self.sync(mailbox)
        self.assertEqual(commands.count(b"FETCH", b"BODY.PEEK[]"), bodies)
        self.assertEqual(self.odoo_keys(mailbox, inbox), self.server_keys(inbox))
        self.assertEqual(len(self.server_keys(inbox)), 2)
        self.assertEqual(self.odoo_keys(mailbox, archive), self.server_keys(archive))
        self.assertEqual(len(self.messages(mailbox)), 4)
        self.assert_no_error(mailbox)
        # the Inbox's only change: a deletion (its empty SEARCH MODSEQ comes with a MODSEQ item)
        self.imap.select_folder(inbox)
        self.imap.delete_messages(uids[2])
        self.imap.expunge()
        self.deep_scan_due(mailbox)
        times = empty.times
        self.sync(mailbox)
        self.assertGreater(empty.times, times)
        self.assertEqual(self.odoo_keys(mailbox, inbox), self.server_keys(inbox))
        self.assertEqual(len(self.messages(mailbox).filtered(lambda m: not m.on_server)), 1)
        self.assertEqual(commands.count(b"FETCH", b"BODY.PEEK[]"), bodies)
        self.assert_no_error(mailbox)

    def test_one_folders_unexpected_answer_is_said_on_it_and_the_others_sync(self):
        odd = self.folder((message("odd"), 0))
        fine = self.folder((message("fine"), 0))
        quirky(self.proxy, Trouble(odd, command=b"SEARCH"))
        mailbox = self.mailbox(odd, fine)
        self.sync(mailbox)
        folders = {f.path: f for f in mailbox.folder_ids}
        self.assertIn("did not expect", folders[odd].sync_problem)
        self.assertFalse(folders[fine].sync_problem)
        self.assertEqual(self.messages(mailbox).mapped("subject"), ["fine"])
        mailbox.invalidate_recordset()
        self.assertEqual(mailbox.state, "connected")  # the access is fine: no error on the mailbox
        self.assertFalse(mailbox.sync_problem)
        self.assertTrue(mailbox.last_sync_date)
        self.proxy.clear()  # the server answers well again: the folder syncs, its problem goes
        self.sync(mailbox)
        self.assertFalse(folders[odd].sync_problem)
        self.assertEqual(sorted(self.messages(mailbox).mapped("subject")), ["fine", "odd"])
