import os
import secrets
import subprocess
import sys
from unittest.mock import patch

from odoo import SUPERUSER_ID, api
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import config

from ..mailbox_engine.secretbox import PREFIX, SecretBox, new_key
from .common import MailboxCase


def _pg_env():
    env = dict(os.environ)
    for option, variable in (
        ("db_host", "PGHOST"),
        ("db_port", "PGPORT"),
        ("db_user", "PGUSER"),
        ("db_password", "PGPASSWORD"),
    ):
        if config.get(option):
            env[variable] = str(config[option])
    return env


@tagged("post_install", "-at_install")
class TestSecrets(MailboxCase):
    def stored_value(self, mailbox, kind="password"):
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT value FROM mail_mailbox_secret WHERE mailbox_id = %s AND kind = %s", (mailbox.id, kind)
        )
        row = self.env.cr.fetchone()
        return row and row[0]

    def test_password_is_encrypted_and_write_only(self):
        plaintext = "Summer-2026-" + secrets.token_hex(4)
        mailbox = self.create_mailbox(self.user_ann, "ann@example.com", password=plaintext)
        stored = self.stored_value(mailbox)
        self.assertTrue(stored.startswith(PREFIX))
        self.assertNotIn(plaintext, stored)
        self.assertFalse(mailbox.with_user(self.user_ann).password)
        self.assertTrue(mailbox.with_user(self.user_ann).has_password)
        self.assertEqual(mailbox._get_secret("password"), plaintext)
        # saving the form with the field left empty keeps the stored password
        mailbox.with_user(self.user_ann).write({"name": "Work", "password": False})
        self.assertEqual(mailbox._get_secret("password"), plaintext)
        mailbox.with_user(self.user_ann).write({"password": "new-one"})
        self.assertEqual(mailbox._get_secret("password"), "new-one")

    def test_password_is_forgotten_when_the_server_or_login_changes(self):
        mailbox = self.create_mailbox(self.user_ann, "ann@example.com", password="pw-server")
        mailbox.with_user(self.user_ann).write({"imap_port": 143, "imap_host": "127.0.0.1"})
        self.assertEqual(mailbox._get_secret("password"), "pw-server")  # same host: kept
        for values in (
            {"imap_host": "imap.elsewhere.example"},
            {"smtp_host": "smtp.elsewhere.example"},
            {"login": "someone-else"},
        ):
            with self.subTest(values=values):
                mailbox._set_secrets({"password": "pw-server"})
                mailbox.with_user(self.user_ann).write(values)
                self.assertFalse(mailbox.with_user(self.user_ann).has_password)
        mailbox.with_user(self.user_ann).write({"imap_host": "imap.new.example", "password": "pw-new"})
        self.assertEqual(mailbox._get_secret("password"), "pw-new")

    def test_secrets_are_not_copied(self):
        mailbox = self.create_mailbox(self.user_ann, "ann@example.com", password="pw-1")
        self.assertNotIn("password", mailbox.copy_data({"email": "ann2@example.com"})[0])
        with self.assertRaisesRegex(UserError, "cannot be duplicated"):  # an address is connected once
            mailbox.copy({"email": "ann2@example.com"})

    def test_nobody_reads_the_secret_model(self):
        self.create_mailbox(self.user_ann, "ann@example.com", password="pw-2")
        for user in (self.user_ann, self.user_ben, self.user_ada):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                self.env["mail.mailbox.secret"].with_user(user).search_read([], ["value"])
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                self.env["mail.mailbox.key"].with_user(user).search_read([], ["key"])

    def test_other_user_gets_nothing_of_the_mailbox(self):
        mailbox = self.create_mailbox(self.user_ann, "ann@example.com", password="pw-3")
        for fields in (["password"], ["has_password"], ["email"]):
            with self.subTest(fields=fields), self.assertRaises(AccessError):
                mailbox.with_user(self.user_ben).read(fields)

    def test_key_is_created_at_install_and_kept_from_the_superuser_only(self):
        keys = self.env["mail.mailbox.key"].sudo().search([])
        self.assertEqual(len(keys), 1)
        self.assertEqual(len(keys.key), 44)

    def test_rotation_reencrypts_everything(self):
        mailbox = self.create_mailbox(self.user_ann, "ann@example.com", password="pw-rotate")
        mailbox._set_secrets({"refresh_token": "rt-rotate"})
        old_key = self.env["mail.mailbox.key"].sudo().search([]).key
        before = self.stored_value(mailbox)
        count = self.env["mail.mailbox.key"]._rotate()
        self.assertGreaterEqual(count, 2)
        new_key_value = self.env["mail.mailbox.key"].sudo().search([]).key
        self.assertNotEqual(new_key_value, old_key)
        after = self.stored_value(mailbox)
        self.assertNotEqual(before, after)
        self.assertEqual(SecretBox([new_key_value]).decrypt(after), "pw-rotate")
        self.assertEqual(mailbox._get_secret("refresh_token"), "rt-rotate")

    def test_rotation_keeps_sign_ins_in_progress_readable(self):
        mailbox = self.create_mailbox(self.user_ann, "ann@example.com")
        Attempt = self.env["mail.mailbox.connect.attempt"].with_user(self.user_ann)
        Attempt._new(mailbox, lambda state: ("https://consent.example/?state=" + state, "pkce-verifier-123"))
        attempt = Attempt.sudo().search([("mailbox_id", "=", mailbox.id)])
        before = attempt.secret
        self.env["mail.mailbox.key"]._rotate()
        self.assertNotEqual(attempt.secret, before)
        self.assertEqual(attempt._get_secret(), "pkce-verifier-123")

    def test_keys_from_the_configuration_file_win(self):
        configured = new_key()
        with patch.dict(config.options, {"mail_connected_mailbox_keys": configured}):
            mailbox = self.create_mailbox(self.user_ann, "ann@example.com", password="pw-config")
            self.assertEqual(SecretBox([configured]).decrypt(self.stored_value(mailbox)), "pw-config")
            self.env["mail.mailbox.key"]._rotate()
            self.assertFalse(self.env["mail.mailbox.key"].sudo().search([]))
            self.assertEqual(mailbox._get_secret("password"), "pw-config")
        with (
            patch.dict(config.options, {"mail_connected_mailbox_keys": "short"}),
            self.assertRaisesRegex(Exception, "mail_connected_mailbox_keys.*not valid"),
        ):
            mailbox._get_secret("password")


@tagged("post_install", "-at_install")
class TestSecretsOutsideTransaction(MailboxCase):
    """What other processes see: these tests commit (and clean up) real rows."""

    def _committed(self):
        """A real, committed transaction (the test's own is rolled back at the end)."""
        return self.registry.cursor()

    def test_database_dump_holds_no_plaintext_secret(self):
        password = "dump-check-" + secrets.token_hex(8)
        token = "1//refresh-" + secrets.token_hex(8)
        with self._committed() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"mail_create_nolog": True, "mail_notrack": True})
            mailbox = env["mail.mailbox"].create(
                {"email": f"dump-{secrets.token_hex(3)}@example.com", "imap_host": "127.0.0.1", "password": password}
            )
            mailbox._set_secrets({"refresh_token": token})
            mailbox_id = mailbox.id
        try:
            dump = subprocess.run(
                ["pg_dump", "--no-owner", "-d", self.env.cr.dbname],
                env=_pg_env(),
                capture_output=True,
                text=True,
                check=True,
                timeout=300,
            ).stdout
            self.assertIn(PREFIX, dump)  # the secrets are in the dump, encrypted
            self.assertNotIn(password, dump)
            self.assertNotIn(token, dump)
        finally:
            with self._committed() as cr:
                api.Environment(cr, SUPERUSER_ID, {})["mail.mailbox"].browse(mailbox_id).unlink()

    def test_rotation_command_line(self):
        with self._committed() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"mail_create_nolog": True, "mail_notrack": True})
            mailbox = env["mail.mailbox"].create(
                {"email": f"cli-{secrets.token_hex(3)}@example.com", "imap_host": "127.0.0.1", "password": "pw-cli"}
            )
            mailbox_id = mailbox.id
            cr.execute("SELECT value FROM mail_mailbox_secret WHERE mailbox_id = %s", (mailbox_id,))
            before = cr.fetchone()[0]
        try:
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "odoo",
                    f"--addons-path={config['addons_path']}",
                    "mailbox-key",
                    "rotate",
                    "-c",
                    config.rcfile,
                    "-d",
                    self.env.cr.dbname,
                    "--log-level=warn",
                ],
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            self.assertEqual(done.returncode, 0, done.stderr[-2000:])
            self.assertRegex(done.stdout, r"\d+ mailbox secrets re-encrypted in database")
            with self._committed() as cr:
                cr.execute("SELECT value FROM mail_mailbox_secret WHERE mailbox_id = %s", (mailbox_id,))
                after = cr.fetchone()[0]
                env = api.Environment(cr, SUPERUSER_ID, {})
                self.assertNotEqual(before, after)
                self.assertEqual(env["mail.mailbox"].browse(mailbox_id)._get_secret("password"), "pw-cli")
        finally:
            with self._committed() as cr:
                api.Environment(cr, SUPERUSER_ID, {})["mail.mailbox"].browse(mailbox_id).unlink()
