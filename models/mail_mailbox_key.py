import logging

from odoo import _, api, fields, models, tools
from odoo.exceptions import UserError

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
        database_keys = self.sudo().search([]).mapped("key")
        keys = self._config_keys() + database_keys
        if not keys:
            self._ensure_database_key()
            keys = self.sudo().search([]).mapped("key")
        return SecretBox(keys)

    @api.model
    def _rotate(self):
        """Re-encrypt every mailbox secret with a new key; return how many were rewritten.

        With keys in the configuration file, the first of them becomes the only key in
        use and the database keys are dropped; otherwise a new database key replaces the
        old ones. Everything happens in the current transaction: all or nothing.
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
        old_keys.unlink()
        _logger.info("Mailbox secrets re-encrypted with a new key: %d secrets", count)
        return count

    @api.model
    def _encrypted_fields(self):
        """Every (model, field) that holds text encrypted with these keys."""
        return [("mail.mailbox.secret", "value"), ("mail.mailbox.connect.attempt", "secret")]
