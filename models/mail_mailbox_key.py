import logging

import psycopg2.errors

from odoo import _, api, fields, models, tools
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..mailbox_engine.secretbox import SecretBox, SecretError, new_key, parse_keys

_logger = logging.getLogger(__name__)

CONFIG_OPTION = "mail_connected_mailbox_keys"


class MailMailboxKey(models.Model):
    """This database's encryption keys for mailbox secrets.

    No access rights are granted on this model: only the superuser (``sudo()``)
    reads it. When ``mail_connected_mailbox_keys`` is set in the Odoo
    configuration file, those keys are used instead (the first one encrypts).
    """

    _name = "mail.mailbox.key"
    _description = "Mailbox encryption key"
    _order = "id desc"

    key = fields.Char(required=True, copy=False)

    @api.model
    def _config_keys(self):
        try:
            return parse_keys(tools.config.get(CONFIG_OPTION) or "")
        except SecretError as exc:
            raise UserError(
                _(
                    "The option %(option)s in the Odoo configuration file is wrong. %(reason)s",
                    option=CONFIG_OPTION,
                    reason=exc,
                )
            ) from None

    @api.model
    def _ensure_database_key(self):
        """Create the per-database key if the configuration does not provide keys."""
        if self._config_keys():
            return
        if not self.sudo().search_count([]):
            self.sudo().create({"key": new_key()})

    @api.model
    def _get_box(self):
        """The :class:`SecretBox` to encrypt (first key) and decrypt (all keys) with."""
        database_keys = self.sudo().search([])
        keys = self._config_keys() + database_keys.mapped("key")
        if not keys:
            self._ensure_database_key()
            keys = self.sudo().search([]).mapped("key")
        return SecretBox(keys)

    @api.model
    def _encrypt(self, plaintext):
        """``(ciphertext, key)``: ``key`` is the database key that encrypted it (empty when a
        key of the configuration file did), to store beside the ciphertext.

        That reference (``ondelete="restrict"``) is what keeps a rotation from deleting a
        key that a secret committed meanwhile still needs: PostgreSQL checks it against
        rows this transaction's snapshot cannot see. The share lock makes a write that
        began before a rotation fail (and be retried) rather than use a deleted key.
        """
        (ciphertext,), key = self._encrypt_many([plaintext])
        return ciphertext, key

    @api.model
    def _encrypt_many(self, plaintexts):
        """:meth:`_encrypt` of each of ``plaintexts``, with one key: ``([ciphertext], key)``."""
        box = self._get_box()
        key = self.sudo().search([], limit=1) if not self._config_keys() else self.browse()
        if key:
            self.env.cr.execute(
                SQL("SELECT id FROM mail_mailbox_key WHERE id = %s FOR SHARE", key.id),
                log_exceptions=False,  # a serialization failure here is expected: the request is retried
            )
        return [box.encrypt(plaintext) for plaintext in plaintexts], key

    @api.model
    def _rotate(self):
        """Re-encrypt every mailbox secret with a new key; return how many were rewritten.

        With keys in the configuration file, the first of them becomes the only key in
        use and the database keys are dropped; otherwise a new database key replaces the
        old ones. Everything happens in the current transaction: all or nothing.

        A secret written at the same moment by another transaction is invisible here; the
        old key it refers to is then kept (see :meth:`_delete_unused`) until
        :meth:`_retire_old_keys` has re-encrypted it.
        """
        old_keys = self.sudo().search([])
        config_keys = self._config_keys()
        if config_keys:
            new_keys, fresh = config_keys, self.browse()
        else:
            fresh = self.sudo().create({"key": new_key()})
            new_keys = [fresh.key]
            old_keys -= fresh
        box = SecretBox(new_keys + old_keys.mapped("key"))
        count = 0
        for model, field in self._encrypted_fields():
            for record in self.env[model].sudo().search([(field, "!=", False)]):
                record.write({field: box.rotate(record[field]), "key_id": fresh.id})
                count += 1
        deleted = self._delete_unused(old_keys)
        _logger.info(
            "Mailbox secrets re-encrypted with a new key: %d secrets; %d old keys deleted, %d still in use kept",
            count,
            len(deleted),
            len(old_keys - deleted),
        )
        return count

    @api.model
    def _delete_unused(self, keys):
        """Delete the keys that no secret needs, committed or being written; return them.

        A key another transaction is encrypting with is locked (skipped); a key that a
        secret refers to, even one committed after this transaction began, makes the
        delete fail (caught: the key is kept)."""
        self.env.flush_all()
        deleted = self.browse()
        for key in keys:
            try:
                with self.env.cr.savepoint(flush=False):
                    self.env.cr.execute(
                        SQL("SELECT id FROM mail_mailbox_key WHERE id = %s FOR UPDATE SKIP LOCKED", key.id)
                    )
                    if not self.env.cr.fetchone():
                        continue
                    self.env.cr.execute(SQL("DELETE FROM mail_mailbox_key WHERE id = %s", key.id), log_exceptions=False)
            except (psycopg2.errors.ForeignKeyViolation, psycopg2.errors.SerializationFailure):
                continue
            deleted |= key
        deleted.invalidate_recordset()
        return deleted

    @api.autovacuum
    def _retire_old_keys(self):
        """After a rotation that met a concurrent write: re-encrypt what an old key still
        protects, then delete the old keys that nothing needs any more."""
        keys = self.sudo().search([])
        current = self.browse() if self._config_keys() else keys[:1]
        if not keys - current:
            return
        box = self._get_box()
        for model, field in self._encrypted_fields():
            for record in self.env[model].sudo().search([(field, "!=", False), ("key_id", "!=", current.id)]):
                record.write({field: box.rotate(record[field]), "key_id": current.id})
        self._delete_unused(keys - current)

    @api.model
    def _encrypted_fields(self):
        """Every (model, field) that holds text encrypted with these keys."""
        return [("mail.mailbox.secret", "value"), ("mail.mailbox.connect.attempt", "secret")]
