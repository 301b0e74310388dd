"""A mixed corpus through the real sync: every message of CPython's ``test_email`` data,
Odoo's own test mails (``test_mail``'s templates, placeholders filled) and hostile ones
written here, appended to the real Dovecot and synced as the cron does. The sync
completes, every message has a record (or a placeholder that says its problem), and
nothing reaches the log beyond INFO, no traceback, no message content."""

import ast
import glob
import logging
import os
import re
import secrets
import sysconfig
import unittest

from odoo.modules.module import get_module_path
from odoo.tests import tagged

from .common import MailboxCase
from .test_sync import LeadMixin
from .test_sync_bad_messages import BadMessageMixin, kept_logs, log_text

MARKER = "BODY-" + secrets.token_hex(8)  # in the body of every hostile message: never in a log line
HUGE_ID = f"<{secrets.token_urlsafe(6144)}@customer.test>"  # 8 KB no compression shrinks below an index's limit


def crlf(raw):
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def cpython_corpus():
    """(name, bytes) of CPython's test_email data files, or None when they are not installed."""
    folder = os.path.join(sysconfig.get_paths()["stdlib"], "test", "test_email", "data")
    paths = sorted(glob.glob(os.path.join(folder, "msg_*.txt")))
    if not paths:
        return None
    found = []
    for path in paths:
        with open(path, "rb") as fh:
            found.append((os.path.basename(path), crlf(fh.read())))
    return found


def odoo_corpus():
    """(name, bytes) of the test mails of Odoo's ``test_mail`` module (read as text, never
    run), placeholders filled; None when the module is not in the source tree."""
    module = get_module_path("test_mail", display_warning=False)
    path = module and os.path.join(module, "data", "test_mail_data.py")
    if not path or not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as fh:
        tree = ast.parse(fh.read())
    found = []
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)):
            continue
        name, text = node.targets[0].id, node.value.value
        if not isinstance(text, str) or "MAIL" not in name:
            continue
        values = {
            "email_from": "Lead <lead@customer.test>",
            "return_path": "<lead@customer.test>",
            "to": "bob@mail.test",
            "email_to": "bob@mail.test",
            "delivered_to": "bob@mail.test",
            "cc": "",
            "subject": f"Odoo {name}",
            "msg_id": f"<{name}.{secrets.token_hex(4)}@odoo.test>",
            "extra": "",
            "extra_html": "",
            "content": "Hello from Odoo's test mails",
            "charset": "utf-8",
            "pdf_mime": "application/pdf",
        }
        text = re.sub(r"\{(\w+)\}", lambda match, values=values: values.get(match[1], match[0]), text)
        found.append((name, crlf(text.encode("utf-8"))))
    return found


def hostile():
    """(name, bytes) of messages nobody should send."""
    head = "From: Lead <lead@customer.test>\r\nTo: bob@mail.test\r\nDate: Mon, 1 Jun 2026 10:00:00 +0000\r\n"
    body = f"\r\nHello {MARKER}\r\n"
    boundary = "b-" + secrets.token_hex(4)
    references = " ".join(f"<ref{n}.{secrets.token_hex(6)}@customer.test>" for n in range(2000))
    twin = f"<twin.{secrets.token_hex(4)}@customer.test>"
    return [
        ("8 KB Message-ID", f"{head}Subject: huge id\r\nMessage-ID: {HUGE_ID}\r\n{body}".encode()),
        ("8 KB In-Reply-To", f"{head}Subject: huge reply\r\nIn-Reply-To: {HUGE_ID}\r\n{body}".encode()),
        ("twin 1", f"{head}Subject: twin one\r\nMessage-ID: {twin}\r\n{body}".encode()),
        ("twin 2", f"{head}Subject: twin two\r\nMessage-ID: {twin}\r\n{body}".encode()),
        ("no Message-ID", f"{head}Subject: no id\r\n{body}".encode()),
        ("empty Message-ID", f"{head}Subject: empty id\r\nMessage-ID: \r\n{body}".encode()),
        (
            "8-bit headers",
            b"From: Jos\xe9 <jose@customer.test>\r\nTo: bob@mail.test\r\nSubject: R\xe9union\r\n"
            b"Message-ID: <\xe9t\xe9@customer.test>\r\n" + body.encode(),
        ),
        ("bogus charset", f"{head}Subject: =?x-bogus?q?caf=E9?=\r\n{body}".encode()),
        (
            "truncated MIME",
            f"{head}Subject: truncated\r\nMIME-Version: 1.0\r\n"
            f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n--{boundary}\r\n'
            f"Content-Type: text/plain\r\n\r\nHello {MARKER}\r\n--{boundary}\r\n"
            'Content-Type: application/pdf; name="cut.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
            "JVBERi0xLjQKJcfs".encode(),
        ),
        (
            "huge header",
            f"{head}Subject: huge header\r\nReferences: {references}\r\nX-Junk: {'j' * 60_000}\r\n{body}".encode(),
        ),
        ("bad date", f"From: lead@customer.test\r\nDate: yesterday at noon\r\nSubject: bad date\r\n{body}".encode()),
    ]


@tagged("post_install", "-at_install")
class TestSyncCorpus(LeadMixin, BadMessageMixin, MailboxCase):
    def test_a_mixed_corpus_syncs_with_a_record_for_every_message_and_a_quiet_log(self):
        real, odoo = cpython_corpus(), odoo_corpus()
        if real is None:
            raise unittest.SkipTest("CPython's test_email data folder is not installed with this Python")
        if odoo is None:
            raise unittest.SkipTest("Odoo's test_mail module is not in this Odoo's source tree")
        corpus = real + odoo + hostile()
        path = self.folder()
        for _name, raw in corpus:
            self.imap.append(path, raw)
        appended = self.server_uids(path)
        self.assertEqual(len(appended), len(corpus))
        mailbox = self.mailbox(path)
        with kept_logs() as records:
            self.sync(mailbox)
        text = log_text(records)
        self.assertFalse([r for r in records if r.levelno >= logging.ERROR], text)
        self.assertNotIn("Traceback", text)
        self.assertNotIn(MARKER, text)
        self.assertNotIn(HUGE_ID[1:101], text)
        # the sync completed, and every message the server has is in Odoo
        self.assert_checkpoint_moved(mailbox, path)
        self.assertEqual(self.place_uids(mailbox, path), appended)
        messages = self.messages(mailbox)
        self.assertEqual(set(messages.mapped("kind")) - {"stored", "placeholder"}, set())
        self.assertFalse(messages.filtered(lambda m: m.kind == "placeholder" and not m.problem))
        self.assertTrue(all(len(m.message_key) == 64 for m in messages))
        by_subject = {m.subject: m for m in messages}
        for subject in ("huge id", "huge reply", "no id", "empty id", "truncated", "huge header", "bad date"):
            self.assertIn(subject, by_subject)
        self.assertEqual(len(messages.filtered(lambda m: m.subject in ("twin one", "twin two"))), 1)
        self.assertIn("could not be read", by_subject["R\ufffdunion"].problem)
        self.assertIn("Date header could not be read", by_subject["bad date"].problem)
        self.assertEqual(by_subject["huge header"].thread_ids, by_subject["huge header"])  # its own conversation
        self.assertTrue(self.logged(self.lead, "huge id"))
        # a second run stores nothing twice and stays as quiet
        count = len(messages)
        with kept_logs() as records:
            self.sync(mailbox)
        self.assertFalse([r for r in records if r.levelno >= logging.ERROR], log_text(records))
        self.assertEqual(len(self.messages(mailbox)), count)
