from odoo import _, api, fields, models
from odoo.exceptions import AccessError

from .mail_mailbox_sync import folder_state

USER_FIELDS = {"selected", "name", "sequence"}


class MailMailboxFolder(models.Model):
    """A folder of a mailbox, with the user's choice to sync it and its sync state."""

    _name = "mail.mailbox.folder"
    _description = "Mailbox folder"
    _order = "mailbox_id, sequence, path"
    _allow_sudo_commands = False

    mailbox_id = fields.Many2one("mail.mailbox", required=True, ondelete="cascade", index=True)
    user_id = fields.Many2one(related="mailbox_id.user_id", store=True, index=True)
    sequence = fields.Integer(default=10)
    path = fields.Char(required=True, readonly=True, help="The folder's name on the server.")
    name = fields.Char(required=True)
    special_use = fields.Char(readonly=True, help="The folder's role announced by the server (\\Sent, \\Trash…).")
    role = fields.Char(compute="_compute_role", help="What the server says this folder is for.")
    selected = fields.Boolean("Sync", default=True)
    present = fields.Boolean(default=True, readonly=True, help="False when the folder is gone from the server.")
    # sync state (kept across Reconnect): the engine's FolderState, as saved after each batch
    sync_state = fields.Json(readonly=True, copy=False)
    last_sync_date = fields.Datetime("Synced", readonly=True, copy=False)
    sync_problem = fields.Char("Problem", readonly=True, copy=False)

    _sql_constraints = [
        ("mailbox_path_uniq", "unique(mailbox_id, path)", "A folder appears once per mailbox."),
    ]

    @api.depends("special_use")
    def _compute_role(self):
        labels = {
            "\\Inbox": _("Inbox"),
            "\\Sent": _("Sent"),
            "\\Drafts": _("Drafts"),
            "\\Trash": _("Trash"),
            "\\Junk": _("Spam"),
            "\\Archive": _("Archive"),
            "\\All": _("All mail"),
            "\\Flagged": _("Starred"),
            "\\Important": _("Important"),
        }
        for folder in self:
            folder.role = labels.get(folder.special_use or "", "")

    def _folder_state(self):
        """The engine's :class:`FolderState` of this folder (never synced: empty)."""
        self.ensure_one()
        return folder_state(self.sync_state)

    def onchange(self, values, field_names, fields_spec):
        self.env["mail.mailbox"]._check_reference(values.get("mailbox_id"), "read")
        return super().onchange(values, field_names, fields_spec)

    def write(self, vals):
        if not self.env.su and vals.keys() - USER_FIELDS:
            raise AccessError(_("Only the choice of folders to sync can be changed here; Odoo keeps the rest."))
        return super().write(vals)

    @api.model
    def _sync_from_server(self, mailbox, listed):
        """Add new folders, mark vanished ones; keep the user's choices and the sync state."""
        existing = {f.path: f for f in mailbox.sudo().with_context(active_test=False).folder_ids}
        order = {"\\Inbox": 0, "\\Sent": 1}
        for index, info in enumerate(listed):
            folder = existing.pop(info["path"], None)
            values = {
                "name": info["name"],
                "special_use": info["special_use"],
                "present": True,
                "sequence": order.get(info["special_use"], 10 + index),
            }
            if folder:
                folder.write(values)
            else:
                self.create(
                    {**values, "mailbox_id": mailbox.id, "path": info["path"], "selected": info["selected_by_default"]}
                )
        for folder in existing.values():
            folder.present = False
