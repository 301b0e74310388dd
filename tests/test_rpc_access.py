"""Over RPC, as a real client would: no secret ever leaves for a non-administrator."""

import xmlrpc.client

from odoo.tests import HttpCase, tagged

from .common import MailboxUsersMixin


@tagged("post_install", "-at_install")
class TestRpcAccess(MailboxUsersMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_users(cls.env)
        cls.ann_box = (
            cls.env["mail.mailbox"]
            .with_user(cls.user_ann)
            .create({"email": "ann.rpc@example.com", "imap_host": "127.0.0.1", "password": "rpc-secret-ann"})
        )

    def assertRpcDenied(self, user, model, method, *args, **kwargs):
        with self.assertRaises(xmlrpc.client.Fault) as info:
            self.call(user, model, method, *args, **kwargs)
        self.assertNotIn("rpc-secret-ann", info.exception.faultString)
        return info.exception.faultString

    def test_other_user_cannot_read_the_mailbox(self):
        found = self.call(self.user_ben, "mail.mailbox", "search_read", [], fields=["email"])
        self.assertNotIn("ann.rpc@example.com", [r["email"] for r in found])
        fault = self.assertRpcDenied(self.user_ben, "mail.mailbox", "read", [self.ann_box.id], ["email"])
        self.assertIn("doesn't have 'read' access", fault)

    def test_owner_reads_no_secret(self):
        record = self.call(
            self.user_ann, "mail.mailbox", "read", [self.ann_box.id], ["email", "password", "has_password"]
        )[0]
        self.assertEqual(record["email"], "ann.rpc@example.com")
        self.assertFalse(record["password"])
        self.assertTrue(record["has_password"])
        every_field = self.call(self.user_ann, "mail.mailbox", "read", [self.ann_box.id])[0]
        self.assertNotIn("rpc-secret-ann", repr(every_field))

    def test_secret_models_are_closed_to_everyone_over_rpc(self):
        for user in (self.user_ann, self.user_ben, self.user_ada):
            for model, field in (("mail.mailbox.secret", "value"), ("mail.mailbox.key", "key")):
                with self.subTest(user=user.login, model=model):
                    self.assertRpcDenied(user, model, "search_read", [], fields=[field])

    def test_private_helpers_cannot_be_called(self):
        fault = self.assertRpcDenied(self.user_ann, "mail.mailbox", "_get_secret", [self.ann_box.id], "password")
        self.assertIn("Private methods", fault)

    def test_owner_sets_a_password_over_rpc_and_it_is_stored_encrypted(self):
        self.call(self.user_ann, "mail.mailbox", "write", [self.ann_box.id], {"password": "rpc-new-pass"})
        self.assertEqual(self.ann_box._get_secret("password"), "rpc-new-pass")
        self.env.cr.execute("SELECT value FROM mail_mailbox_secret WHERE mailbox_id = %s", (self.ann_box.id,))
        self.assertNotIn("rpc-new-pass", self.env.cr.fetchone()[0])
        self.assertRpcDenied(self.user_ben, "mail.mailbox", "write", [self.ann_box.id], {"password": "stolen"})
        self.assertEqual(self.ann_box._get_secret("password"), "rpc-new-pass")
