"""Key rotation against a secret written at the same moment by another transaction.

These tests use real, committed transactions (two cursors, as two Odoo workers would)
and clean up what they committed."""

import secrets

import psycopg2.errors

from odoo import SUPERUSER_ID, api
from odoo.tests import tagged

from ..mailbox_engine.secretbox import SecretBox
from ..models.mail_mailbox_connect_attempt import state_hash
from .common import MailboxCase


@tagged("post_install", "-at_install")
class TestRotationWithConcurrentWrites(MailboxCase):
    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"mail_create_nolog": True, "mail_notrack": True})
            mailbox = env["mail.mailbox"].create(
                {"email": f"rot-{secrets.token_hex(3)}@example.com", "imap_host": "127.0.0.1"}
            )
            mailbox._set_secrets({"refresh_token": "rt-before"})
            self.mailbox_id = mailbox.id
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.registry.cursor() as cr:
            api.Environment(cr, SUPERUSER_ID, {})["mail.mailbox"].browse(self.mailbox_id).unlink()

    def _env(self, cr):
        return api.Environment(cr, SUPERUSER_ID, {"mail_create_nolog": True, "mail_notrack": True})

    def _all_secrets_readable(self):
        with self.registry.cursor() as cr:
            env = self._env(cr)
            box = SecretBox(env["mail.mailbox.key"]._config_keys() + env["mail.mailbox.key"].search([]).mapped("key"))
            cr.execute("SELECT kind, value FROM mail_mailbox_secret WHERE mailbox_id = %s", (self.mailbox_id,))
            return {kind: box.decrypt(value) for kind, value in cr.fetchall()}

    def test_a_write_in_flight_keeps_its_key_until_it_is_re_encrypted(self):
        writer = self.registry.cursor()
        try:
            # another worker refreshes a token: it encrypts with the current key, not yet committed
            self._env(writer)["mail.mailbox"].browse(self.mailbox_id)._set_secrets({"access_token": "at-in-flight"})
            writer.flush()
            with self.registry.cursor() as cr:
                self._env(cr)["mail.mailbox.key"]._rotate()
            writer.commit()
        finally:
            writer.close()
        # the key the writer used was kept: nothing is lost
        self.assertEqual(self._all_secrets_readable(), {"refresh_token": "rt-before", "access_token": "at-in-flight"})
        with self.registry.cursor() as cr:
            keys = self._env(cr)["mail.mailbox.key"]
            self.assertEqual(len(keys.search([])), 2)
            keys._retire_old_keys()
        with self.registry.cursor() as cr:
            self.assertEqual(len(self._env(cr)["mail.mailbox.key"].search([])), 1)
        self.assertEqual(self._all_secrets_readable(), {"refresh_token": "rt-before", "access_token": "at-in-flight"})

    def test_a_write_committed_while_a_rotation_runs_keeps_its_key(self):
        rotation = self.registry.cursor()
        try:
            rotation.execute("SELECT 1")  # the rotation's snapshot: it will not see the write below
            with self.registry.cursor() as writer:
                self._env(writer)["mail.mailbox"].browse(self.mailbox_id)._set_secrets({"access_token": "at-committed"})
            self._env(rotation)["mail.mailbox.key"]._rotate()
            rotation.commit()
        finally:
            rotation.close()
        # the old key was kept: the secret committed meanwhile still needs it
        self.assertEqual(self._all_secrets_readable(), {"refresh_token": "rt-before", "access_token": "at-committed"})
        with self.registry.cursor() as cr:
            self._env(cr)["mail.mailbox.key"]._retire_old_keys()
        with self.registry.cursor() as cr:
            self.assertEqual(len(self._env(cr)["mail.mailbox.key"].search([])), 1)
        self.assertEqual(self._all_secrets_readable(), {"refresh_token": "rt-before", "access_token": "at-committed"})

    def test_a_write_that_began_before_a_rotation_is_refused_and_retried(self):
        writer = self.registry.cursor()
        try:
            writer.execute("SELECT 1")  # the writer's snapshot predates the rotation
            with self.registry.cursor() as cr:
                self._env(cr)["mail.mailbox.key"]._rotate()
            with self.assertRaises(psycopg2.errors.SerializationFailure):
                self._env(writer)["mail.mailbox"].browse(self.mailbox_id)._set_secrets({"access_token": "at-late"})
            writer.rollback()
            # retried, as Odoo retries a request after a serialization failure
            self._env(writer)["mail.mailbox"].browse(self.mailbox_id)._set_secrets({"access_token": "at-late"})
            writer.commit()
        finally:
            writer.close()
        self.assertEqual(self._all_secrets_readable(), {"refresh_token": "rt-before", "access_token": "at-late"})


@tagged("post_install", "-at_install")
class TestSignInAnswerUsedTwice(MailboxCase):
    """Two callbacks with the same state at once (a reload, a link opened twice): the
    second gets the refusal, never a crashed transaction."""

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"mail_create_nolog": True, "mail_notrack": True})
            mailbox = env["mail.mailbox"].create({"email": f"twice-{secrets.token_hex(3)}@example.com"})
            self.state = "state-" + secrets.token_hex(8)
            env["mail.mailbox.connect.attempt"]._new(mailbox, lambda state: ("https://x.test/", "verifier"))
            cr.execute(
                "UPDATE mail_mailbox_connect_attempt SET state_hash = %s WHERE mailbox_id = %s",
                (state_hash(self.state), mailbox.id),
            )
            self.mailbox_id = mailbox.id
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.registry.cursor() as cr:
            api.Environment(cr, SUPERUSER_ID, {})["mail.mailbox"].browse(self.mailbox_id).unlink()

    def consume(self, cr):
        env = api.Environment(cr, SUPERUSER_ID, {})
        attempt, message = env["mail.mailbox.connect.attempt"]._consume("imap", self.state)
        cr.execute("SELECT 1")  # the transaction is still usable
        return attempt, message

    def test_the_second_answer_is_refused_while_the_first_runs_and_after(self):
        first = self.registry.cursor()
        late = self.registry.cursor()
        try:
            late.execute("SELECT 1")  # a request that began before the first one ends
            attempt, message = self.consume(first)
            self.assertTrue(attempt, message)
            with self.registry.cursor() as second:  # meanwhile: the row is held by the first
                attempt2, message2 = self.consume(second)
            self.assertFalse(attempt2)
            self.assertIn("already used", message2)
            first.commit()
            attempt3, message3 = self.consume(late)  # its snapshot still says "unused"
            self.assertFalse(attempt3)
            self.assertIn("already used", message3)
        finally:
            first.close()
            late.close()


@tagged("post_install", "-at_install")
class TestRateLimitUnderConcurrency(MailboxCase):
    """Two requests of the same user at once cannot both see room for one more check."""

    def _cleanup(self, uid):
        with self.registry.cursor() as cr:
            cr.execute("DELETE FROM mail_mailbox_check_counter WHERE user_id = %s", (uid,))

    def test_a_concurrent_check_is_refused_and_retried(self):
        uid = self.env.ref("base.user_admin").id
        self.addCleanup(self._cleanup, uid)
        with self.registry.cursor() as cr:
            api.Environment(cr, uid, {})["mail.mailbox.check.counter"]._count_check(10)
        late = self.registry.cursor()
        try:
            late.execute("SELECT 1")  # a request that began before the one below ends
            with self.registry.cursor() as cr:
                api.Environment(cr, uid, {})["mail.mailbox.check.counter"]._count_check(10)
            with self.assertRaises(psycopg2.errors.SerializationFailure):
                api.Environment(late, uid, {})["mail.mailbox.check.counter"]._count_check(10)
            late.rollback()
            api.Environment(late, uid, {})["mail.mailbox.check.counter"]._count_check(10)  # retried
            late.commit()
        finally:
            late.close()
        with self.registry.cursor() as cr:
            cr.execute("SELECT count FROM mail_mailbox_check_counter WHERE user_id = %s", (uid,))
            self.assertEqual(cr.fetchone()[0], 3)
