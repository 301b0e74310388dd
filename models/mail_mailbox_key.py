import logging

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
    def _get_box(self, for_writing=False):
        """The :class:`SecretBox` to encrypt (first key) and decrypt (all keys) with.

        ``for_writing``: the caller is about to encrypt. The database key that encrypts is
        then share-locked until the transaction ends, so that a concurrent rotation never
        deletes it under a secret it cannot see yet (see :meth:`_rotate`).
        """
        database_keys = self.sudo().search([])
        keys = self._config_keys() + database_keys.mapped("key")
        if not keys:
            self._ensure_database_key()
            database_keys = self.sudo().search([])
            keys = database_keys.mapped("key")
        if for_writing and keys[0] == (database_keys[:1].key or None):
            # Under REPEATABLE READ this also fails (and the request is retried) when a rotation
            # deleted the key after this transaction began: nothing is written under a dead key.
            self.env.cr.execute(
                SQL("SELECT id FROM mail_mailbox_key WHERE id = %s FOR SHARE", database_keys[0].id),
                log_exceptions=False,  # a serialization failure here is expected: the request is retried
            )
        return SecretBox(keys)

    @api.model
    def _rotate(self):
        """Re-encrypt every mailbox secret with a new key; return how many were rewritten.

        With keys in the configuration file, the first of them becomes the only key in
        use and the database keys are dropped; otherwise a new database key replaces the
        old ones. Everything happens in the current transaction: all or nothing.

        A secret being written at the same moment by another transaction is invisible
        here; its key is share-locked (:meth:`_get_box`), so that key is skipped and kept
        until :meth:`_retire_old_keys` finds nothing left under it.
        """
        old_keys = self.sudo().search([])
        config_keys = self._config_keys()
        if config_keys:
            new_keys = config_keys
        else:
            fresh = self.sudo().create({"key": new_key()})
            new_keys = [fresh.key]
            old_keys -= fresh
        box = SecretBox(new_keys + old_keys.mapped("key"))
        count = 0
        for model, field in self._encrypted_fields():
            for record in self.env[model].sudo().search([(field, "!=", False)]):
                record[field] = box.rotate(record[field])
                count += 1
        deleted = self._delete_unlocked(old_keys)
        _logger.info(
            "Mailbox secrets re-encrypted with a new key: %d secrets; %d old keys deleted, %d in use kept for later",
            count,
            len(deleted),
            len(old_keys - deleted),
        )
        return count

    @api.model
    def _delete_unlocked(self, keys):
        """Delete the keys no other transaction is encrypting with right now; return them."""
        if not keys:
            return keys
        self.flush_model()
        self.env.cr.execute(
            SQL("SELECT id FROM mail_mailbox_key WHERE id IN %s FOR UPDATE SKIP LOCKED", tuple(keys.ids))
        )
        free = self.browse([row[0] for row in self.env.cr.fetchall()])
        free.sudo().unlink()
        return free

    @api.autovacuum
    def _retire_old_keys(self):
        """After a rotation that met a concurrent write: re-encrypt what an old key still
        protects, then delete the old keys (those not in use at this moment)."""
        keys = self.sudo().search([])
        if len(keys) < 2 and not (keys and self._config_keys()):
            return
        box = self._get_box()
        for model, field in self._encrypted_fields():
            for record in self.env[model].sudo().search([(field, "!=", False)]):
                if not box.is_current(record[field]):
                    record[field] = box.rotate(record[field])
        current = keys[:0] if self._config_keys() else keys[:1]
        self._delete_unlocked(keys - current)

    @api.model
    def _encrypted_fields(self):
        """Every (model, field) that holds text encrypted with these keys."""
        return [("mail.mailbox.secret", "value"), ("mail.mailbox.connect.attempt", "secret")]
