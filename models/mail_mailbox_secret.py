from odoo import api, fields, models


class MailMailboxSecret(models.Model):
    """One encrypted secret of a mailbox (password, refresh token, token cache…).

    No access rights are granted on this model: users and administrators never read
    it over RPC; the mailbox reads and writes it through ``sudo()``.
    """

    _name = "mail.mailbox.secret"
    _description = "Mailbox secret (encrypted)"
    _log_access = False

    mailbox_id = fields.Many2one("mail.mailbox", required=True, ondelete="cascade", index=True)
    kind = fields.Char(required=True)
    value = fields.Text(copy=False)
    key_id = fields.Many2one("mail.mailbox.key", ondelete="restrict", help="The database key that encrypted it.")

    _sql_constraints = [
        ("mailbox_kind_uniq", "unique(mailbox_id, kind)", "A mailbox keeps one secret of each kind."),
    ]

    @api.model
    def _read_secret(self, mailbox, kind):
        record = self.sudo().search([("mailbox_id", "=", mailbox.id), ("kind", "=", kind)], limit=1)
        return self.env["mail.mailbox.key"]._get_box().decrypt(record.value) if record else ""

    @api.model
    def _write_secrets(self, mailbox, values):
        """Store ``{kind: plaintext}``; an empty value removes that secret."""
        Keys = self.env["mail.mailbox.key"]
        existing = {s.kind: s for s in self.sudo().search([("mailbox_id", "=", mailbox.id)])}
        for kind, plaintext in values.items():
            record = existing.get(kind)
            if not plaintext:
                if record:
                    record.unlink()
                continue
            value, key = Keys._encrypt(plaintext)
            if record:
                record.write({"value": value, "key_id": key.id})
            else:
                self.sudo().create({"mailbox_id": mailbox.id, "kind": kind, "value": value, "key_id": key.id})
