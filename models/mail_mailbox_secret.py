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
    def _read_secrets(self, mailboxes, kinds):
        """``{(mailbox id, kind): plaintext}`` of these mailboxes' secrets of ``kinds``, read
        in one query and decrypted with one key box (the scheduled check's batch); one
        that does not decrypt is ``None`` (:meth:`_read_secret` of it says why)."""
        records = self.sudo().search([("mailbox_id", "in", mailboxes.ids), ("kind", "in", list(kinds))])
        if not records:
            return {}
        box = self.env["mail.mailbox.key"]._get_box()
        found = {}
        for record in records:
            try:
                found[record.mailbox_id.id, record.kind] = box.decrypt(record.value)
            except Exception:  # that mailbox alone: None, read again on its own (which says why)
                found[record.mailbox_id.id, record.kind] = None
        return found

    @api.model
    def _write_secrets_many(self, values_by_mailbox):
        """:meth:`_write_secrets` of many mailboxes (``{mailbox id: {kind: plaintext}}``,
        no empty value): one search, one key box."""
        if not values_by_mailbox:
            return
        existing = {
            (s.mailbox_id.id, s.kind): s for s in self.sudo().search([("mailbox_id", "in", list(values_by_mailbox))])
        }
        items = [
            (mailbox_id, kind, text)
            for mailbox_id, values in values_by_mailbox.items()
            for kind, text in values.items()
            if text
        ]
        ciphertexts, key = self.env["mail.mailbox.key"]._encrypt_many([text for _m, _k, text in items])
        new = []
        for (mailbox_id, kind, _text), value in zip(items, ciphertexts, strict=True):
            record = existing.get((mailbox_id, kind))
            if record:
                record.write({"value": value, "key_id": key.id})
            else:
                new.append({"mailbox_id": mailbox_id, "kind": kind, "value": value, "key_id": key.id})
        if new:
            self.sudo().create(new)

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
