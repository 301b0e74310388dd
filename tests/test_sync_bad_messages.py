"""One bad message never stops a mailbox, against the real Dovecot: a Message-ID no index
takes, headers that could not be read, a message over the size limit after Enable, a
message deleted in Odoo, and a sync that keeps failing."""

import contextlib
import logging
import secrets

from odoo.exceptions import AccessError
from odoo.tests import tagged

from ..mailbox_engine.sync.parse import message_digest
from ..models.mail_mailbox_sync import SyncWriter
from .common import MailboxCase, StackMixin
from .test_sync import PARAM, LeadMixin, ServerFoldersMixin, message

SYNC_LOGGER = "odoo.addons.mail_connected_mailbox.models.mail_mailbox_sync"


@contextlib.contextmanager
def kept_logs(level=logging.INFO):
    """Every log record written meanwhile at ``level`` or above (what a server keeps)."""
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Keep(level)
    root = logging.getLogger()
    before = root.level
    root.addHandler(handler)
    root.setLevel(min(before, level) if before else level)
    try:
        yield records
    finally:
        root.removeHandler(handler)
        root.setLevel(before)


def log_text(records):
    """All the text of ``records``: their messages and any traceback."""
    handler = logging.Handler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    return "\n".join(handler.format(record) for record in records)


def marked(subject, marker, **headers):
    """A message whose body carries ``marker`` (a log line must never show it)."""
    raw = message(subject, **headers)
    return raw.replace(b"Hello ", f"Hello {marker} ".encode())


class BadMessageMixin(ServerFoldersMixin, StackMixin):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_stack(cls.env)

    def messages(self, mailbox):
        Messages = self.env["mail.mailbox.message"].with_context(active_test=False)
        return Messages.search([("mailbox_id", "=", mailbox.id)])

    def server_uids(self, path):
        self.imap.select_folder(path, readonly=True)
        return set(self.imap.search(["ALL"]))

    def place_uids(self, mailbox, path):
        places = self.env["mail.mailbox.message.place"].search(
            [("folder_id.mailbox_id", "=", mailbox.id), ("folder_id.path", "=", path)]
        )
        return set(places.mapped("uid"))

    def assert_checkpoint_moved(self, mailbox, path):
        """The folder's saved state is the server's: everything below its UIDNEXT was done."""
        folder = mailbox.folder_ids.filtered(lambda f: f.path == path)
        status = self.imap.folder_status(path, ["UIDNEXT"])
        self.assertEqual(folder.sync_state["uidnext"], status[b"UIDNEXT"])
        self.assertEqual(folder.sync_state["backfill_below"], 0)
        self.assertFalse(mailbox.sync_problem)
        self.assertEqual(mailbox.state, "connected")


@tagged("post_install", "-at_install")
class TestSyncBadMessages(LeadMixin, BadMessageMixin, MailboxCase):
    def test_an_8kb_message_id_is_stored_and_the_40_others_too_with_nothing_in_the_log(self):
        marker = "BODY-" + secrets.token_hex(8)
        huge = f"<{secrets.token_urlsafe(6144)}@customer.test>"  # 8 KB that no compression makes fit an index
        others = [(marked(f"fine {n}", marker), 1) for n in range(40)]
        path = self.folder(*others[:20], (marked("long id", marker, message_id=huge), 1), *others[20:])
        mailbox = self.mailbox(path)
        with kept_logs() as records:
            self.sync(mailbox)
        self.assertFalse([r for r in records if r.levelno >= logging.ERROR], log_text(records))
        self.assertNotIn(marker, log_text(records))
        self.assertNotIn(huge[1:101], log_text(records))
        messages = self.messages(mailbox)
        self.assertEqual(len(messages), 41)
        self.assertEqual(self.place_uids(mailbox, path), self.server_uids(path))
        self.assert_checkpoint_moved(mailbox, path)
        long_one = messages.filtered(lambda m: m.subject == "long id")
        self.assertEqual((long_one.kind, len(long_one.message_key)), ("stored", 64))
        self.assertTrue(huge.startswith(long_one.message_id_header))
        # logged on the lead like the others (its chatter copy carries a Message-ID Odoo's index takes)
        self.assertEqual(len(self.logged(self.lead)), 41)
        self.assertEqual(len(self.logged(self.lead, "long id")), 1)
        # a second run finds it stored: nothing twice, nothing in the log
        with kept_logs() as records:
            self.sync(mailbox)
        self.assertFalse([r for r in records if r.levelno >= logging.ERROR], log_text(records))
        self.assertEqual(len(self.messages(mailbox)), 41)

    def test_a_header_that_could_not_be_read_is_recorded(self):
        latin1 = b"From: Jos\xe9 <jose@customer.test>\r\nTo: bob@mail.test\r\nSubject: latin-1 sender\r\n\r\nbody\r\n"
        bogus = b"From: lead@customer.test\r\nTo: bob@mail.test\r\nSubject: =?x-bogus?q?caf=E9?=\r\n\r\nbody\r\n"
        path = self.folder((latin1, 1), (bogus, 1), (message("clean"), 1))
        mailbox = self.mailbox(path)
        self.sync(mailbox)
        by_problem = {m.email_from: m.problem for m in self.messages(mailbox)}
        self.assertIn("From header could not be read", by_problem["Jos\ufffd <jose@customer.test>"])
        self.assertIn("Subject header could not be read", by_problem["lead@customer.test"])
        self.assertFalse(self.messages(mailbox).filtered(lambda m: m.subject == "clean").problem)

    def test_a_message_over_the_size_limit_shows_its_header_and_is_never_stored_twice(self):
        self.env["ir.config_parameter"].sudo().set_param(PARAM + "max_message_mb", "0.02")  # 20 KB
        big = message("big with id", 1, size=40_000)
        big_no_id = b"From: Lead <lead@customer.test>\r\nTo: bob@mail.test\r\nSubject: big without id\r\n"
        big_no_id += b"Date: Mon, 1 Jun 2026 10:00:00 +0000\r\n\r\n" + b"y" * 40_000 + b"\r\n"
        path = self.folder((big, 1), (big_no_id, 1), (message("small"), 1))
        mailbox = self.mailbox(path)
        self.sync(mailbox)
        placeholders = self.messages(mailbox).filtered(lambda m: m.kind == "placeholder")
        self.assertEqual(sorted(placeholders.mapped("subject")), ["big with id", "big without id"])
        for placeholder in placeholders:  # its row in My mail: date, sender and subject
            self.assertEqual(placeholder.email_from, "Lead <lead@customer.test>")
            self.assertTrue(placeholder.date)
            self.assertIn("size limit", placeholder.problem)
        # Enable fetches the window again (Odoo's UIDs forgotten): each is found, none twice
        mailbox.with_user(self.user_ann).action_disable()
        mailbox.with_user(self.user_ann).action_enable()
        self.sync(mailbox)
        self.assertEqual(len(self.messages(mailbox)), 3)
        self.assertEqual(self.place_uids(mailbox, path), self.server_uids(path))
        # fetched on demand: the same record is filled
        self.env["ir.config_parameter"].sudo().set_param(PARAM + "max_message_mb", "25")
        no_id = placeholders.filtered(lambda m: m.subject == "big without id")
        no_id.with_user(self.user_ann).action_fetch_body()
        self.assertEqual(no_id.kind, "stored")
        self.assertIn("y" * 100, no_id.body_text)
        self.sync(mailbox)
        self.assertEqual(len(self.messages(mailbox)), 3)

    def test_a_message_deleted_in_odoo_stays_out_until_the_user_asks_for_it_again(self):
        path = self.folder((message("keep"), 1), (message("delete me"), 1), (message("keep too"), 1))
        mailbox = self.mailbox(path)
        self.sync(mailbox)
        self.messages(mailbox).filtered(lambda m: m.subject == "delete me").with_user(self.user_ann).action_delete()
        self.assertEqual(len(self.server_uids(path)), 3)  # deleted in Odoo only (the mailbox does not ask more)
        mailbox.with_user(self.user_ann).action_disable()
        mailbox.with_user(self.user_ann).action_enable()
        self.sync(mailbox)
        self.assertEqual(sorted(self.messages(mailbox).mapped("subject")), ["keep", "keep too"])
        self.assertEqual(mailbox.with_user(self.user_ann).deleted_message_count, 1)
        with self.assertRaises(AccessError):  # what was deleted is the server's business
            self.env["mail.mailbox.message.deleted"].with_user(self.user_ann).search([])
        with self.assertRaises(AccessError):  # another user's mailbox: no way to bring it back
            mailbox.with_user(self.user_ben).action_fetch_deleted_again()
        action = mailbox.with_user(self.user_ann).action_fetch_deleted_again()
        self.assertIn("1 message deleted in Odoo comes back", action["params"]["message"])
        self.sync(mailbox)
        self.assertEqual(sorted(self.messages(mailbox).mapped("subject")), ["delete me", "keep", "keep too"])
        self.assertEqual(mailbox.deleted_message_count, 0)

    def test_a_sync_that_keeps_failing_turns_the_mailbox_to_error_with_the_cause(self):
        path = self.folder((message("hello"), 1))
        mailbox = self.mailbox(path)
        self.sync(mailbox)
        # a saved state the engine cannot read: every run fails the same way, once signed in
        folder = mailbox.folder_ids.filtered(lambda f: f.path == path)
        folder.sync_state = {**folder.sync_state, "uidnext": "unreadable"}
        for run in range(1, 4):
            with self.assertLogs(SYNC_LOGGER, "ERROR"):
                self.assertFalse(mailbox._claim_sync(ids=mailbox.ids, limit=1)._sync_round())
            mailbox.invalidate_recordset()
            self.assertIn("unexpected error", mailbox.sync_problem)
            self.assertEqual(mailbox.state, "connected" if run < 3 else "error")
        self.assertIn("its sync failed several times in a row (TypeError)", mailbox.last_error_cause)
        self.assertIn("Check access", mailbox.last_error_fix)
        self.assertFalse(mailbox._claim_sync(ids=mailbox.ids, limit=1))  # no sync while in error
        # the cause fixed, Check now brings it back and the sync resumes
        folder.sync_state = {**folder.sync_state, "uidnext": None}
        mailbox.with_user(self.user_ann).action_check_now()
        self.assertEqual(mailbox.state, "connected")
        self.sync(mailbox)
        self.assertFalse(mailbox.sync_problem)
        self.assertEqual(len(self.messages(mailbox)), 1)

    def test_a_row_the_database_refuses_becomes_a_placeholder_and_the_others_are_stored(self):
        """The last resort behind the checks made before the INSERT: whatever refuses one
        row (here a reference to no user), the batch goes on and the log shows no content."""
        mailbox = self.mailbox()
        writer = SyncWriter(self.env, mailbox)
        marker = "BODY-" + secrets.token_hex(8)
        rows = [
            writer._row(mailbox, message_digest(f"<{n}@x.test>"), f"<{n}@x.test>", subject=n, body_text=marker)
            for n in ("good", "refused", "good too")
        ]
        rows[1]["create_uid"] = 2**31 - 1  # no such user: the database refuses the row
        with kept_logs() as records:
            writer._insert_rows(mailbox, rows)
        self.assertFalse([r for r in records if r.levelno >= logging.ERROR], log_text(records))
        self.assertNotIn(marker, log_text(records))
        self.assertIn("kept as a placeholder", log_text(records))
        by_key = {m.message_id_header: m for m in self.messages(mailbox)}
        self.assertEqual(sorted(by_key), ["<good too@x.test>", "<good@x.test>", "<refused@x.test>"])
        self.assertEqual((by_key["<good@x.test>"].kind, by_key["<good@x.test>"].body_text), ("stored", marker))
        refused = by_key["<refused@x.test>"]
        self.assertEqual((refused.kind, refused.subject, refused.body_text), ("placeholder", False, False))
        self.assertIn("Odoo could not store this message (23503)", refused.problem)
