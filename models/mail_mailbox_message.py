"""What the sync stores: one record per message of a mailbox (keyed by its Message-ID,
so a retry, a crash or a renumbered folder never stores it twice), and one *place* per
folder and UID where the server keeps it (Gmail's labels are its places)."""

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..mailbox_engine import imap as imap_lib
from ..mailbox_engine.sync.parse import parse


class MailMailboxMessage(models.Model):
    _name = "mail.mailbox.message"
    _description = "Synced message"
    _order = "date desc, id desc"
    _rec_name = "subject"
    _allow_sudo_commands = False

    mailbox_id = fields.Many2one("mail.mailbox", required=True, ondelete="cascade", index=True, readonly=True)
    user_id = fields.Many2one(related="mailbox_id.user_id", store=True, index=True)
    message_key = fields.Char(
        "Message-ID", required=True, readonly=True, help="The message's Message-ID (or one made from its content)."
    )
    subject = fields.Char(readonly=True)
    email_from = fields.Char("From", readonly=True)
    email_to = fields.Char("To", readonly=True)
    email_cc = fields.Char("Cc", readonly=True)
    date = fields.Datetime(readonly=True, index=True)
    body_text = fields.Text("Text", readonly=True)
    html_source = fields.Text(
        "HTML as received", readonly=True, help="Kept as received; shown only through Odoo's sanitizer."
    )
    size = fields.Integer(readonly=True, help="Size on the server, in bytes.")
    seen = fields.Boolean("Read", readonly=True)
    flagged = fields.Boolean("Starred", readonly=True)
    kind = fields.Selection(
        [
            ("stored", "Stored"),
            ("placeholder", "Left on the server"),
            ("odoo", "Sent from Odoo"),
        ],
        default="stored",
        readonly=True,
        required=True,
    )
    problem = fields.Char(readonly=True, help="What could not be read or fetched, and why.")
    on_server = fields.Boolean(default=True, readonly=True, help="False once no folder of the server has it.")
    mail_message_id = fields.Many2one(
        "mail.message", "Odoo message", readonly=True, ondelete="set null", help="The same message, sent from Odoo."
    )
    place_ids = fields.One2many("mail.mailbox.message.place", "message_id", string="Places", readonly=True)
    folder_names = fields.Char("Folders", compute="_compute_folder_names")
    attachment_ids = fields.One2many(
        "ir.attachment", "res_id", domain=[("res_model", "=", "mail.mailbox.message")], string="Attachments"
    )

    _sql_constraints = [
        ("mailbox_key_uniq", "unique(mailbox_id, message_key)", "A message is stored once per mailbox."),
    ]

    @api.depends("place_ids.folder_id.name")
    def _compute_folder_names(self):
        for message in self:
            message.folder_names = ", ".join(sorted(set(message.place_ids.folder_id.mapped("name"))))

    def action_fetch_body(self):
        """Fetch a message left on the server (over the size limit) now, on demand."""
        self.ensure_one()
        self.mailbox_id._check_can_act()
        if self.kind != "placeholder":
            raise UserError(_("This message is already in Odoo."))
        mailbox = self.mailbox_id.sudo()
        place = self.sudo().place_ids[:1]
        if not place:
            raise UserError(_("No folder of the server has this message any more."))
        token = mailbox._get_access_token() if mailbox.provider != "imap" else None
        with imap_lib.session(mailbox._server("imap", token), mailbox.email) as client:
            client.select_folder(place.folder_id.path, readonly=True)
            raw = client.fetch([place.uid], ["BODY.PEEK[]"]).get(place.uid, {}).get(b"BODY[]")
        if raw is None:
            raise UserError(_("The server no longer has this message in %(folder)s.", folder=place.folder_id.name))
        parsed = parse(raw)
        self.sudo().write(
            {
                **self._values_from(parsed),
                "kind": "stored",
                "problem": "; ".join(parsed.problems) or False,
            }
        )
        self.sudo()._store_attachments(parsed.attachments)
        return True

    @api.model
    def _values_from(self, parsed):
        return {
            "subject": parsed.subject,
            "email_from": parsed.sender,
            "email_to": ", ".join(parsed.to),
            "email_cc": ", ".join(parsed.cc),
            "date": parsed.date,
            "body_text": parsed.text,
            "html_source": parsed.html,
        }

    def _store_attachments(self, attachments):
        self.ensure_one()
        if attachments:
            self.env["ir.attachment"].create(
                [
                    {
                        "name": attachment.name,
                        "raw": attachment.data,
                        "mimetype": attachment.mimetype,
                        "res_model": self._name,
                        "res_id": self.id,
                    }
                    for attachment in attachments
                ]
            )


class MailMailboxMessagePlace(models.Model):
    _name = "mail.mailbox.message.place"
    _description = "Where the server keeps a synced message"
    _allow_sudo_commands = False

    message_id = fields.Many2one("mail.mailbox.message", required=True, ondelete="cascade", index=True)
    folder_id = fields.Many2one("mail.mailbox.folder", required=True, ondelete="cascade", index=True)
    uid = fields.Integer("UID", required=True)
    flags = fields.Char()

    _sql_constraints = [
        ("folder_uid_uniq", "unique(folder_id, uid)", "A UID names one message in a folder."),
    ]
