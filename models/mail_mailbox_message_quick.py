"""Work a synced message from Odoo: a contact or a lead made from its sender, prefilled,
with the message logged on it; and, for the owner who asks, an Odoo notification of every
new message of the Inbox (not only of those logged on contacts and leads)."""

from datetime import timedelta

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import email_normalize, html2plaintext, plaintext2html
from odoo.tools.mail import parse_contact_from_email

from ..mailbox_engine.diagnosis import shown
from .mail_mailbox import counted
from .mail_mailbox_sync import INBOX

MY_MAIL_URL = "/odoo/action-mail_connected_mailbox.mail_mailbox_message_action_my"
DESCRIPTION_MAX = 2000  # characters of the message's text in a lead's description
TOLD_ONE_BY_ONE = 5  # new messages of one batch told one by one; above, one notification for them all
LATE_MAIL = timedelta(hours=1)  # mail dated this much before the previous sync is still news (delivered late)
TOLD_KEY = "mail_connected_mailbox.told"  # this transaction's messages already told by the contacts-and-leads path
# what a quick action may prefill, per model (through ``mcm_prefill``, never ``default_*``
# keys, which the web client would pass on to every record created from that form)
PREFILLED = {
    "res.partner": ("name", "email"),
    "crm.lead": ("name", "email_from", "contact_name", "partner_id", "description", "user_id"),
}


class MailMailboxMessage(models.Model):
    _inherit = "mail.mailbox.message"

    mcm_from_own_address = fields.Boolean("Sent from the mailbox's address", compute="_compute_mcm_from_own_address")

    @api.depends("email_from", "mailbox_id.email_normalized")
    def _compute_mcm_from_own_address(self):
        for message in self:
            sender = email_normalize(message.email_from or "")
            message.mcm_from_own_address = bool(sender) and sender == message.sudo().mailbox_id.email_normalized

    # ------------------------------------------------------------------ quick actions
    def action_mcm_create_contact(self):
        """The sender's contact: opened (with this message logged on it) when there is
        one, else a new contact's form, prefilled; saving it logs the message on it."""
        self._mcm_check_quick()
        name, email = self._mcm_sender()
        partner = self._mcm_sender_partner(email)
        if partner:
            self._mcm_log_on(partner)
            return {
                "type": "ir.actions.act_window",
                "res_model": "res.partner",
                "res_id": partner.id,
                "views": [(False, "form")],
                "target": "current",
            }
        return self._mcm_new_record_action("res.partner", _("New contact"), {"name": name or email, "email": email})

    def action_mcm_create_lead(self):
        """A new lead's form, prefilled from this message (its subject, sender and text);
        saving it logs the message on the lead."""
        self._mcm_check_quick()
        name, email = self._mcm_sender()
        partner = self._mcm_sender_partner(email)
        text = self.body_text or (html2plaintext(self.html_source) if self.html_source else "")
        text = text.strip()
        if len(text) > DESCRIPTION_MAX:
            text = text[: DESCRIPTION_MAX - 1] + "…"
        values = {
            "name": self.subject or _("Mail from %(sender)s", sender=name or email or _("an unknown sender")),
            "email_from": email or self.email_from,
            "contact_name": name,
            "partner_id": partner.id,
            "description": str(plaintext2html(text)) if text else False,
            "user_id": self.env.uid,
        }
        return self._mcm_new_record_action("crm.lead", _("New lead"), values)

    def _mcm_check_quick(self):
        self.ensure_one()
        self.check_access("read")
        if self.user_id != self.env.user:
            raise UserError(_("Only the mailbox's owner makes contacts and leads from its mail."))
        if self.kind == "odoo":
            raise UserError(_("This message was sent from Odoo: it is already in the chatter it was sent from."))

    def _mcm_sender(self):
        """(name, normalized address) of the sender (either may be empty)."""
        name, email = parse_contact_from_email(self.email_from or "")
        return (name or "").strip(), email_normalize(email or "") or ""

    def _mcm_sender_partner(self, email):
        """The contact with the sender's address the user may open (none: an empty set)."""
        if not email:
            return self.env["res.partner"]
        return self.env["res.partner"].search([("email_normalized", "=", email)], limit=1)

    def _mcm_new_record_action(self, model, title, values):
        return {
            "type": "ir.actions.act_window",
            "name": title,
            "res_model": model,
            "views": [(False, "form")],
            "target": "current",
            "context": {
                "mcm_prefill": {"model": model, "values": values},
                "mcm_log_message_id": self.id,
                "mcm_log_model": model,
            },
        }

    def _mcm_log_on(self, records):
        """This message logged on ``records`` (once each), its sender's contact as author."""
        self.ensure_one()
        sender = email_normalize(self.email_from or "")
        authors = self.env["res.partner"].sudo().search([("email_normalized", "=", sender)]) if sender else []
        return self.sudo()._log_copies(records, None, list(authors))

    @api.model
    def _mcm_prefilled(self, model, fields_list, values):
        """``values`` (a ``default_get``'s) with what a quick action prefills for ``model``."""
        prefill = self.env.context.get("mcm_prefill")
        if (
            not isinstance(prefill, dict)
            or prefill.get("model") != model
            or not isinstance(prefill.get("values"), dict)
        ):
            return values
        allowed = set(PREFILLED.get(model, ())) & set(fields_list)
        return {**values, **{key: value for key, value in prefill["values"].items() if key in allowed}}

    @api.model
    def _mcm_log_asked(self, records):
        """``records`` just created from a quick action: the synced message it was made
        from logged on them, whatever the mailbox logs by itself; only where that message
        is the creating user's own (a message id of someone else's mailbox logs nothing)."""
        context = self.env.context
        message_id = context.get("mcm_log_message_id")
        if not records or not isinstance(message_id, int) or context.get("mcm_log_model") != records._name:
            return
        message = self.browse(message_id).exists()
        if not message or message.sudo().user_id != self.env.user or not message.has_access("read"):
            return
        if message.sudo().kind == "odoo":
            return
        message._mcm_log_on(records)

    # ------------------------------------------------------------------ all new mail
    def _tell_owner(self, record):
        result = super()._tell_owner(record)
        # told of (or, read or sent by the owner, not to be told of): not told again below
        self.env.cr.precommit.data.setdefault(TOLD_KEY, set()).add(self.id)
        return result

    def _log_on_records(self):
        self.env.cr.precommit.data.pop(TOLD_KEY, None)
        result = super()._log_on_records()
        told = self.env.cr.precommit.data.pop(TOLD_KEY, set())
        if not self.env.context.get("mcm_no_new_mail_notice"):
            self._mcm_tell_new_mail(told)
        return result

    def action_fetch_body(self):
        # a message fetched on demand is not new mail: its owner was told when it came in
        return super(MailMailboxMessage, self.with_context(mcm_no_new_mail_notice=True)).action_fetch_body()

    def _mcm_tell_new_mail(self, told=()):
        """The owners who asked for all new mail told of these newly synced messages: one
        Odoo notification per message, with a link that opens it in My mail, or one for
        the batch above a few. Only news: not at the first sync nor while past mail is
        fetched, not mail dated well before the previous sync, not read, not sent from the
        mailbox's address, not outside the Inbox, not Odoo's own mail coming back, and not
        what the notification of mail from contacts and leads already told."""
        messages = self.sudo().filtered(
            lambda m: (
                m.id not in told
                and m.kind in ("stored", "placeholder")
                and not m.seen
                and m.date
                and m.mailbox_id.user_id.mcm_mail_notify == "all"
            )
        )
        if not messages:
            return
        rows = self.env["mail.mailbox.sync"].sudo().search([("mailbox_id", "in", messages.mailbox_id.ids)])
        previous = {row.mailbox_id.id: row for row in rows}
        own = {
            message_id
            for message_id in self.env["mail.message"]
            .sudo()
            .search(
                [
                    ("message_id", "in", [m.message_id_header for m in messages if m.message_id_header]),
                    ("message_type", "!=", "email"),
                ]
            )
            .mapped("message_id")
        }
        for mailbox in messages.mailbox_id:
            row = previous.get(mailbox.id)
            if not row or not row.last_sync_date or row.remaining:
                continue  # the first sync, or past mail still coming in: not news
            since = row.last_sync_date - LATE_MAIL
            news = messages.filtered(
                lambda m, mb=mailbox, since=since: (
                    m.mailbox_id == mb
                    and m.date >= since
                    and email_normalize(m.email_from or "") != mb.email_normalized
                    and m.message_id_header not in own
                    and any(place.folder_id.use == INBOX for place in m.place_ids)
                )
            )
            if news:
                news._mcm_notify_owner(mailbox)

    def _mcm_notify_owner(self, mailbox):
        owner = mailbox.user_id
        mailbox = mailbox.sudo().with_context(lang=owner.lang)
        env = mailbox.env
        if len(self) > TOLD_ONE_BY_ONE:
            notices = [
                (
                    counted(
                        env,
                        len(self),
                        env._("%(count)s new message in My mail"),
                        env._("%(count)s new messages in My mail"),
                    ),
                    Markup("<ul>%s</ul>")
                    % Markup("").join(
                        Markup("<li>%s — %s</li>")
                        % (shown(m.email_from or "", limit=160), shown(m.subject or "", limit=200))
                        for m in self[:TOLD_ONE_BY_ONE]
                    ),
                    MY_MAIL_URL,
                    env._("Open My mail"),
                )
            ]
        else:
            notices = [
                (
                    env._("New mail: %(subject)s", subject=shown(m.subject or env._("(no subject)"), limit=200)),
                    Markup("<p>%s</p>")
                    % env._(
                        "%(sender)s wrote: %(subject)s",
                        sender=shown(m.email_from or "", limit=160),
                        subject=shown(m.subject or "", limit=200),
                    ),
                    f"{MY_MAIL_URL}/{m.id}",
                    env._("Open the message"),
                )
                for m in self.sorted(lambda m: (m.date, m.id))
            ]
        for subject, body, url, label in notices:
            mailbox.message_notify(
                partner_ids=owner.partner_id.ids,
                subject=subject,
                body=body + Markup("<p><a href='%s'>%s</a></p>") % (url, label),
                author_id=env.ref("base.partner_root").id,
                notify_author=True,  # the owner's own Sync now found it: still told
            )
