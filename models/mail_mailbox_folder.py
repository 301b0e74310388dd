from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError

from .mail_mailbox_sync import folder_state, server_names_roles

USER_FIELDS = {"selected", "name", "sequence", "role_pick"}
PICKS = [("\\Sent", "Sent"), ("\\Archive", "Archive"), ("\\Trash", "Trash"), ("\\Drafts", "Drafts")]
TICKED_PICKS = ("\\Sent", "\\Archive")  # synced once picked, as the server's Sent and Archive are by default


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
    role_pick = fields.Selection(
        PICKS,
        "Use as",
        help="Where the server names no folder roles: the folder Odoo uses as Sent (copies of mail sent from "
        "Odoo), Archive (the Archive action), Trash (Delete) or Drafts (the composer's drafts).",
    )
    use = fields.Char(
        compute="_compute_use",
        store=True,
        help="The folder's role: the one the server names, else the one picked by the user.",
    )
    role = fields.Char(compute="_compute_role", help="What this folder is for (the server's role, or your pick).")
    selected = fields.Boolean("Sync", default=True)
    present = fields.Boolean(default=True, readonly=True, help="False when the folder is gone from the server.")
    # sync state (kept across Reconnect): the engine's FolderState, as saved after each batch
    sync_state = fields.Json(readonly=True, copy=False)
    last_sync_date = fields.Datetime("Synced", readonly=True, copy=False)
    sync_problem = fields.Char("Problem", readonly=True, copy=False)

    _sql_constraints = [
        ("mailbox_path_uniq", "unique(mailbox_id, path)", "A folder appears once per mailbox."),
    ]

    @api.depends("special_use", "role_pick")
    def _compute_use(self):
        for folder in self:
            folder.use = folder.special_use or folder.role_pick or False

    @api.depends("use")
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
            folder.role = labels.get(folder.use or "", "")

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
        if vals.get("role_pick"):
            self._check_pick()
            if vals["role_pick"] in TICKED_PICKS and "selected" not in vals:
                vals = {**vals, "selected": True}
        result = super().write(vals)
        if vals.get("role_pick"):  # one folder per role: the one picked last
            for folder in self:
                others = folder.mailbox_id.sudo().folder_ids - self
                others.filtered(lambda f, pick=vals["role_pick"]: f.role_pick == pick).role_pick = False
        return result

    def _check_pick(self):
        """A role is picked by hand only where the server names none, one folder each
        (never the Inbox)."""
        if len(self) > 1:
            raise UserError(_("Pick one folder for each role."))
        if self.special_use == "\\Inbox":
            raise UserError(_("The Inbox stays the Inbox: pick another folder."))
        if server_names_roles(self.mailbox_id.sudo().folder_ids):
            raise UserError(
                _(
                    "%(address)s names its folders' roles itself: Odoo uses the server's Sent, Archive and Trash.",
                    address=self.mailbox_id.email,
                )
            )

    @api.model
    def _sync_from_server(self, mailbox, listed):
        """Add new folders, mark vanished ones; keep the user's choices and the sync state."""
        existing = {f.path: f for f in mailbox.sudo().with_context(active_test=False).folder_ids}
        order = {"\\Inbox": 0, "\\Sent": 1}
        if any(info["special_use"] and info["special_use"] != "\\Inbox" for info in listed):
            # the server names the roles now: they are the server's, the picks are dropped
            self.browse([f.id for f in existing.values() if f.role_pick]).write({"role_pick": False})
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
