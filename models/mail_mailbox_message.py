"""What the sync stores: one record per message of a mailbox (keyed by a digest of its
Message-ID, so a retry, a crash or a renumbered folder never stores it twice, and no
Message-ID is too long for the key), and one *place* per folder and UID where the
server keeps it (Gmail's labels are its places). What the user deleted in Odoo is
remembered by its key alone, so that no sync brings it back unasked."""

import contextlib
from datetime import datetime, timedelta

from imapclient.exceptions import IMAPClientError
from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.osv import expression
from odoo.tools import email_normalize, html_sanitize

from ..mailbox_engine import answers as imap_answers
from ..mailbox_engine import imap as imap_lib
from ..mailbox_engine.diagnosis import shown
from ..mailbox_engine.oauth import OAuthError
from ..mailbox_engine.remote_content import hold_back, stored_mimetype
from ..mailbox_engine.sync.parse import MESSAGE_ID_MAX, message_digest, parse
from .mail_mailbox import counted
from .mail_mailbox_sync import INBOX

MARK_READ_PARAM = "mail_connected_mailbox.mark_read_on_open"
REFERENCES_TEXT_MAX = 20000  # characters of a References header kept (a reply keeps 20 of its Message-IDs)
CHATTER_MESSAGE_ID_MAX = 900  # bytes: well within what a btree index entry takes


def safe_html(source, images=False):
    """(HTML to show, how many things were held back): Odoo's sanitizer (no script, no
    event handler, no form, no style sheet), then, unless ``images``, everything that
    would load from elsewhere held back (see ``mailbox_engine.remote_content``), last,
    on the HTML that reaches the browser."""
    if not source:
        return Markup(""), 0
    clean = str(html_sanitize(source, sanitize_attributes=True, sanitize_style=True, strip_classes=True))
    if images:
        return Markup(clean), 0  # noqa: S704 (the sanitizer's output)
    clean, held = hold_back(clean)
    return Markup(clean), held  # noqa: S704 (the sanitizer's output, with what loads taken out)


class MailMailboxMessage(models.Model):
    _name = "mail.mailbox.message"
    _description = "Synced message"
    _order = "date desc, id desc"
    _rec_name = "subject"
    _allow_sudo_commands = False

    mailbox_id = fields.Many2one("mail.mailbox", required=True, ondelete="cascade", index=True, readonly=True)
    user_id = fields.Many2one(related="mailbox_id.user_id", store=True, index=True)
    message_key = fields.Char(
        "Key", required=True, readonly=True, help="A digest of the message's Message-ID (its key in the mailbox)."
    )
    message_id_header = fields.Char(
        "Message-ID", readonly=True, help="The message's Message-ID (or one made from its header), as received."
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
    body = fields.Html("Message", compute="_compute_body", sanitize=False)
    blocked_images = fields.Integer(compute="_compute_body")
    blocked_images_text = fields.Char(compute="_compute_body")
    images_shown = fields.Boolean(readonly=True, help="The reader asked to see the remote images.")
    has_attachments = fields.Boolean("Has attachments", readonly=True)
    attachment_marker = fields.Html(compute="_compute_attachment_marker", sanitize=False)
    in_reply_to = fields.Char("In reply to", readonly=True)
    references = fields.Text(readonly=True, help="Its References header: a reply's is built from it.")
    reply_to = fields.Char("Reply to", readonly=True, help="Where the sender asks replies to go.")
    thread_key = fields.Char(
        "Conversation", readonly=True, index=True, help="The key of the Message-ID the conversation started with."
    )
    thread_ids = fields.Many2many("mail.mailbox.message", compute="_compute_thread_ids", string="Conversation messages")
    thread_count = fields.Integer(compute="_compute_thread_ids")
    logged = fields.Boolean("Logged on a record", readonly=True, help="A copy is in the chatter of a contact or lead.")
    logged_message_ids = fields.One2many("mail.message", "mcm_message_id", string="Logged copies", readonly=True)
    logged_on = fields.Html("Logged on", compute="_compute_logged_on", sanitize=False)
    size = fields.Integer(readonly=True, help="Size on the server, in bytes.")
    seen = fields.Boolean("Read", readonly=True)
    delete_on_server = fields.Boolean(related="mailbox_id.delete_on_server")
    kept_unread = fields.Boolean(
        readonly=True, help="Marked unread on its form: the reload that follows does not mark it read again."
    )
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
    gone_settled = fields.Boolean(
        readonly=True, help="Found gone by a complete sync: deleted at the next one where the mailbox asks for it."
    )
    active = fields.Boolean(
        default=True,
        readonly=True,  # changed by Archive and Restore to the Inbox only (the server first)
        help="Archived: out of the lists (in the mailbox too, when the mailbox asks for that).",
    )
    in_inbox = fields.Boolean(
        "In the Inbox",
        readonly=True,
        help="What the last complete sync saw, followed while archive goes from the mailbox to Odoo "
        "(empty: not known).",
    )
    mail_message_id = fields.Many2one(
        "mail.message", "Odoo message", readonly=True, ondelete="set null", help="The same message, sent from Odoo."
    )
    mcm_mail_id = fields.Many2one(
        "mail.mail",
        "Outgoing mail",
        readonly=True,
        ondelete="set null",
        help="Written in Odoo: the mail that carries it.",
    )
    awaiting_place = fields.Boolean(
        readonly=True,
        help="Written in Odoo and sent (or waiting to be): no folder of the server shows it yet, which is not a sign "
        "that it was deleted.",
    )
    place_ids = fields.One2many("mail.mailbox.message.place", "message_id", string="Places", readonly=True)
    # the places seen as folders (the place table is the relation): grouped by in My mail
    folder_ids = fields.Many2many(
        "mail.mailbox.folder",
        "mail_mailbox_message_place",
        "message_id",
        "folder_id",
        readonly=True,
        copy=False,
    )
    folder_names = fields.Char("Folders", compute="_compute_folder_names")
    attachment_ids = fields.One2many(
        "ir.attachment", "res_id", domain=[("res_model", "=", "mail.mailbox.message")], string="Attachments"
    )

    _sql_constraints = [
        ("mailbox_key_uniq", "unique(mailbox_id, message_key)", "A message is stored once per mailbox."),
    ]

    @api.depends("subject", "email_from", "date")
    def _compute_display_name(self):
        for message in self:  # never "Unnamed": a message without a subject says whose it is
            message.display_name = message.subject or _(
                "(no subject) from %(sender)s", sender=message.email_from or _("an unknown sender")
            )

    @api.depends("has_attachments")
    def _compute_attachment_marker(self):
        marker = Markup("<i class='fa fa-paperclip o_mcm_attachment' role='img' title='%s' aria-label='%s'/>")
        for message in self:
            title = _("Has attachments")
            message.attachment_marker = marker % (title, title) if message.has_attachments else False

    @api.depends("html_source", "body_text", "images_shown")
    def _compute_body(self):
        for message in self:
            if message.html_source:
                message.body, message.blocked_images = safe_html(message.html_source, message.images_shown)
            else:  # plain text, shown as such
                message.body = Markup("<pre>%s</pre>") % (message.body_text or "")
                message.blocked_images = 0
            message.blocked_images_text = counted(
                self.env,
                message.blocked_images,
                _(
                    "%(count)s remote image or other remote content is held back: it may tell the sender that "
                    "you read the message."
                ),
                _(
                    "%(count)s remote images or other remote content are held back: they may tell the sender that "
                    "you read the message."
                ),
            )

    @api.depends("thread_key", "message_key")
    def _compute_thread_ids(self):
        """The messages of the same conversation in this mailbox, this one included."""
        for message in self:
            key = message.thread_key or message.message_key
            found = (
                self.with_context(active_test=False).search(
                    [
                        ("mailbox_id", "=", message.mailbox_id.id),
                        "|",
                        ("thread_key", "=", key),
                        ("message_key", "=", key),
                    ],
                    order="date desc, id desc",
                    limit=100,  # the newest
                )
                if key and message.mailbox_id
                else message
            )
            message.thread_ids = (found | message).sorted(lambda m: (m.date or datetime.min, m.id))
            message.thread_count = len(message.thread_ids)

    @api.depends("logged_message_ids", "mail_message_id")
    def _compute_logged_on(self):
        for message in self:
            links = [  # the reader's own rights decide what is listed
                Markup("<a href='/odoo/%s/%s'>%s</a>") % (record._name, record.id, record.display_name)
                for record in message._logged_records()
            ]
            message.logged_on = Markup(", ").join(links) if links else False

    def _came_in_summary(self, listed=10):
        """A sentence for the mailbox's chatter: these messages came in while access was
        lost (sender, subject, and the record each was logged on)."""
        if not self:
            return Markup("")
        items = []
        for message in self[:listed]:
            records = message._logged_records(readable=False)  # the owner's records, said to the owner
            where = (
                Markup(" (%s)")
                % _("on %(record)s", record=shown(", ".join(r.sudo().display_name for r in records), limit=200))
                if records
                else ""
            )
            # a sender's words: escaped by Markup, capped here
            items.append(
                Markup("<li>%s — %s%s</li>")
                % (shown(message.email_from or "", limit=160), shown(message.subject or "", limit=200), where)
            )
        more = (
            Markup("<li>%s</li>")
            % counted(
                self.env,
                len(self) - listed,
                _("and %(count)s more, in My mail"),
                _("and %(count)s more, in My mail"),
            )
            if len(self) > listed
            else ""
        )
        title = counted(
            self.env,
            len(self),
            _("While %(address)s was out of reach, %(count)s message came in:"),
            _("While %(address)s was out of reach, %(count)s messages came in:"),
            address=self.mailbox_id[:1].email,
        )
        return Markup("<p>%s</p><ul>%s%s</ul>") % (title, Markup("").join(items), more)

    def _logged_records(self, readable=True):
        """The records this message was logged on (or, sent from Odoo, was sent from)
        that still exist (``readable``: that the reader may open)."""
        self.ensure_one()
        records = []
        for copy in self.sudo().mail_message_id | self.sudo().logged_message_ids:
            if copy.model not in self.env or not copy.res_id:
                continue
            record = self.env[copy.model].browse(copy.res_id)
            if record.exists() and (not readable or record.has_access("read")):
                records.append(record)
        return records

    def action_open_logged_record(self):
        """Open the contact or lead this message was logged on (the first one the reader
        may open)."""
        self.check_access("read")  # the records it was logged on are the owner's business
        records = self._logged_records()
        if not records:
            raise UserError(_("This message is not logged on any record you can open."))
        return {
            "type": "ir.actions.act_window",
            "res_model": records[0]._name,
            "res_id": records[0].id,
            "views": [(False, "form")],
        }

    def _log_on_records(self):
        """Log these newly synced messages in the chatter of the contacts and open leads
        whose address they carry (and under the Odoo message they answer), once per
        record, as emails, notifying and subscribing nobody; by the mailbox's rules.
        Contacts, leads and parents are looked up once for the whole batch."""
        Message = self.env["mail.message"].sudo()
        todo = [
            m
            for m in self
            if m.kind == "stored"
            and m.mailbox_id.log_mode != "none"
            and not (m.mcm_feedback == "bounce" and m.mcm_feedback_state == "applied")  # not correspondence
        ]
        if not todo:
            return
        wanted = {m.id: m.mailbox_id._loggable_addresses([m.email_from, m.email_to, m.email_cc]) for m in todo}
        everyone = sorted({address for addresses in wanted.values() for address in addresses})
        partners, leads = {}, {}
        if everyone:
            for partner in self.env["res.partner"].search([("email_normalized", "in", everyone)]):
                partners.setdefault(partner.email_normalized, []).append(partner)
            open_leads = self.env["crm.lead"].search(
                [("email_normalized", "in", everyone), ("active", "=", True), ("stage_id.is_won", "=", False)]
            )
            for lead in open_leads:
                leads.setdefault(lead.email_normalized, []).append(lead)
        replies = [m.in_reply_to for m in todo if m.in_reply_to]
        parents = {}
        if replies:  # every copy of the message answered, one per record it is on
            for parent in Message.search([("message_id", "in", replies), ("model", "!=", False)], order="id"):
                parents[parent.message_id] = parents.get(parent.message_id, Message) | parent
        for message in todo:
            parent = parents.get(message.in_reply_to, Message)
            records = [
                self.env[copy.model].browse(copy.res_id)
                for copy in parent
                if copy.model in self.env and copy.res_id and copy.model != "mail.mailbox"
            ]
            if message.mcm_feedback == "reply":  # a campaign reply: on its recipient's record too
                records += message._mcm_reply_records()
            if message.mailbox_id.log_mode == "known":
                for address in wanted[message.id]:
                    records += partners.get(address, []) + leads.get(address, [])
            if records:
                logged = message._log_copies(
                    records, parent, partners.get(email_normalize(message.email_from or ""), [])
                )
                if logged:
                    message._tell_owner(logged[0])

    @api.model
    def _log_past_mail(self, records):
        """Log on ``records`` (contacts or leads, new or asked for) the synced mail of each
        mailbox's backfill window that carries their address, by the rules of new mail:
        the mailbox's *Logging in Odoo* and excluded addresses, once per record, never on
        a record the mailbox's owner cannot read. Looked up once for the whole batch;
        returns how many copies were made."""
        Partner = self.env["res.partner"].sudo()
        targets = {}  # normalized address -> records
        for record in records:
            address = record.email_normalized
            if not address or (record._name == "crm.lead" and (not record.active or record.stage_id.is_won)):
                continue
            targets.setdefault(address, []).append(record)
        mailboxes = self.env["mail.mailbox"].sudo().search([("log_mode", "=", "known")])
        if not targets or not mailboxes:
            return 0
        oldest = fields.Datetime.now() - timedelta(days=max(mailboxes.mapped("backfill_days")))
        found = self.browse()
        addresses = sorted(targets)
        for start in range(0, len(addresses), 50):  # one query per 50 addresses
            chunk = addresses[start : start + 50]
            matches = [
                [(header, "ilike", address)] for address in chunk for header in ("email_from", "email_to", "email_cc")
            ]
            found |= (
                self.sudo()
                .with_context(active_test=False)
                .search(
                    expression.AND(
                        [
                            [("mailbox_id", "in", mailboxes.ids), ("kind", "=", "stored"), ("date", ">=", oldest)],
                            # a bounce applied is not correspondence
                            ["|", ("mcm_feedback", "!=", "bounce"), ("mcm_feedback_state", "!=", "applied")],
                            expression.OR(matches),
                        ]
                    ),
                    order="date",
                )
            )
        senders = {email_normalize(m.email_from or "") for m in found} - {False}
        authors = {}
        for partner in Partner.search([("email_normalized", "in", sorted(senders))]) if senders else []:
            authors.setdefault(partner.email_normalized, []).append(partner)
        made = 0
        for message in found:
            mailbox = message.mailbox_id
            if message.date < fields.Datetime.now() - timedelta(days=mailbox.backfill_days):
                continue  # outside this mailbox's own window
            wanted = mailbox._loggable_addresses([message.email_from, message.email_to, message.email_cc])
            on = [record for address in wanted for record in targets.get(address, [])]
            if on:
                made += len(message._log_copies(on, None, authors.get(email_normalize(message.email_from or ""), [])))
        return made

    @api.model
    def _action_log_past_mail(self, record):
        """*Log past mail* on a contact or lead: its past mail logged, and a notification
        that says how much."""
        record.ensure_one()
        record.check_access("read")
        if not record.email_normalized:
            kind = "warning"
            text = _("%(record)s has no email address: add one, then try again.", record=record.display_name)
        else:
            count = self.sudo()._log_past_mail(record)
            kind = "success" if count else "info"
            text = _(
                "%(count)s synced messages were logged on %(record)s (a message already on it is not logged twice).",
                count=count,
                record=record.display_name,
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": kind,
                "title": _("Log past mail"),
                "message": text,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def _log_copies(self, records, parent, authors, trusted_author=False):
        """One copy of this message in the chatter of each of ``records`` the owner can
        read and that does not have it yet, under the message of ``parent`` (one or more
        messages) that is on the same record. ``trusted_author``: the author is known
        (a user who wrote it in Odoo), not taken from the From header."""
        self.ensure_one()
        Message = self.env["mail.message"].sudo()
        owner = self.mailbox_id.user_id
        body = self._copy_body()
        parents = {(p.model, p.res_id): p.id for p in reversed(parent)} if parent else {}
        message_id = self._chatter_message_id()
        # the From header proves nothing: a colleague's address never makes a copy look
        # posted by that colleague (the address is still shown as the sender)
        if not trusted_author:
            authors = [p for p in authors if not p.sudo().user_ids.filtered(lambda u: not u.share)]
        done, created = set(), []
        for record in records:
            key = (record._name, record.id)
            if key in done or not record.exists() or not record.with_user(owner).has_access("read"):
                continue  # never on a record the mailbox's owner cannot see
            done.add(key)
            if Message.search_count(
                [("message_id", "=", message_id), ("model", "=", record._name), ("res_id", "=", record.id)],
                limit=1,
            ):
                continue  # once per record
            created.append(record)
            Message.create(
                {
                    "model": record._name,
                    "res_id": record.id,
                    "message_type": "email",
                    "subtype_id": self.env.ref("mail.mt_note").id,
                    "author_id": authors[0].id if authors else False,
                    "email_from": self.email_from,
                    "subject": self.subject,
                    "body": body,
                    "date": self.date or fields.Datetime.now(),
                    "message_id": message_id,
                    "parent_id": parents.get(key, False),
                    "mcm_message_id": self.id,
                }
            )
        if done:
            self.sudo().logged = True
        return created

    def _copy_body(self):
        """The body of a chatter copy, shown to every reader of the record: remote content
        always held back (whatever the owner chose to see), with a word saying so and a
        link to the synced message, where its owner can show it."""
        self.ensure_one()
        if not self.html_source:
            return Markup("<p>%s</p>") % (self.body_text or "")
        body, held = safe_html(self.html_source)
        if not held:
            return body
        note = counted(
            self.env,
            held,
            _(
                "%(count)s remote image or other remote content was held back in this copy: it can tell the "
                "sender that the message was read. The mailbox's owner can show it in the synced message."
            ),
            _(
                "%(count)s remote images or other remote content were held back in this copy: they can tell "
                "the sender that the message was read. The mailbox's owner can show them in the synced message."
            ),
        )
        link = Markup("<a href='/odoo/%s/%s'>%s</a>") % (self._name, self.id, _("Open the synced message"))
        return body + Markup("<p class='text-muted'><em>%s %s</em></p>") % (note, link)

    def _chatter_message_id(self):
        """The Message-ID its chatter copies carry: the message's own, or one made from its
        key where the own is longer than Odoo's index of Message-IDs takes."""
        own = self.message_id_header or ""
        if own and len(own.encode()) <= CHATTER_MESSAGE_ID_MAX:
            return own
        return f"<mcm-{self.message_key[:32]}@long-message-id>"

    def _tell_owner(self, record):
        """An Odoo notification to the owner (who asked for it) of new mail logged on
        ``record``, with a link to it; not for mail the owner sent or has read."""
        owner = self.mailbox_id.user_id
        sender = email_normalize(self.email_from or "")
        if not owner.mcm_new_mail_notify or self.seen or sender == self.mailbox_id.email_normalized:
            return
        record.sudo().message_notify(
            partner_ids=owner.partner_id.ids,
            subject=_("New mail on %(record)s", record=record.display_name),
            body=Markup("<p>%s</p>")
            % _(
                "%(sender)s wrote: %(subject)s",
                sender=shown(self.email_from or "", limit=160),
                subject=shown(self.subject or "", limit=200),
            ),
            author_id=self.env.ref("base.partner_root").id,
            notify_author=True,  # the owner's own Sync now found it: still told
        )

    def action_show_images(self):
        """Load the message's remote images (they may tell the sender it was read)."""
        self.check_access("read")
        self.sudo().images_shown = True
        return True

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
        self.mailbox_id._gate_action()
        mailbox = self.mailbox_id.sudo()
        place = self.sudo().place_ids[:1]
        if not place:
            raise UserError(_("No folder of the server has this message any more."))
        fetched = {}

        def work(client):
            client.select_folder(place.folder_id.path, readonly=True)
            fetched.update(client.fetch([place.uid], ["BODY.PEEK[]"]).get(place.uid, {}))

        refused = self._on_server(mailbox, work)  # refused: the mailbox's status says why
        if refused:
            return refused
        raw = imap_answers.item(fetched, "BODY.PEEK[]")
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
        self.sudo()._mcm_apply_feedback()
        self.sudo()._log_on_records()
        return True

    def action_mark_read(self):
        return self._set_flag("\\Seen", "seen", True)

    def action_mark_unread(self):
        refused = self._set_flag("\\Seen", "seen", False)
        if refused is True and self.env.context.get("mcm_keep_unread"):
            self.sudo().kept_unread = True  # on its form: the reload that follows keeps it unread
        return refused

    def action_star(self):
        return self._set_flag("\\Flagged", "flagged", True)

    def action_unstar(self):
        return self._set_flag("\\Flagged", "flagged", False)

    def _set_flag(self, flag, field, value):
        """Set or clear an IMAP flag (read, starred) in Odoo and on the server, in every
        folder that has the message. The server is told first: if it refuses, nothing
        changes in Odoo."""
        self.check_access("read")
        for mailbox in self.mailbox_id:
            mailbox._check_can_act()
            messages = self.filtered(lambda m, mailbox=mailbox: m.mailbox_id == mailbox).sudo()

            def store(client, _path, uids):
                (client.add_flags if value else client.remove_flags)(uids, [flag.encode()])

            refused = self._change_on_server(mailbox.sudo(), messages.place_ids, store)
            if refused:
                return refused
            for place in messages.place_ids:
                flags = set((place.flags or "").split()) - {flag}
                place.flags = " ".join(sorted(flags | ({flag} if value else set())))
            messages[field] = value
        return True

    def action_delete(self):
        """Delete these messages from Odoo, and from the mailbox when it asks for that
        (moved to its Trash; deleted where there is none). The server first: if it
        refuses, nothing is deleted."""
        self.check_access("read")
        for mailbox in self.mailbox_id:
            mailbox._check_can_act()
            messages = self.filtered(lambda m, mailbox=mailbox: m.mailbox_id == mailbox).sudo()
            if mailbox.delete_on_server:
                trash = mailbox.sudo().folder_ids.filtered(lambda f: f.use == "\\Trash" and f.present)[:1]

                def remove(client, path, uids, trash=trash):
                    if trash and path != trash.path:
                        move(client, uids, trash.path)
                    else:
                        expunge(client, uids)

                refused = self._change_on_server(mailbox.sudo(), messages.place_ids, remove)
                if refused:
                    return refused
            messages._remember_deleted()
            messages._delete_in_odoo()
        if self.env.context.get("mcm_from_form"):  # the message is gone: back to My mail, not to its form
            action = self.env["ir.actions.act_window"]._for_xml_id(
                "mail_connected_mailbox.mail_mailbox_message_action_my"
            )
            return {**action, "target": "main"}
        return {"type": "ir.actions.act_window_close"}

    def action_archive(self):
        return self._set_archived(True)

    def action_unarchive(self):
        return self._set_archived(False)

    def _set_archived(self, archived):
        """Archive (or restore) these messages in Odoo, and in the mailbox when it asks for
        that: out of its Inbox (moved to its Archive folder; on Gmail, only the Inbox label
        removed) or back in. The server first: if it refuses, nothing changes in Odoo."""
        self.check_access("read")
        for mailbox in self.mailbox_id:
            mailbox._check_can_act()
            messages = self.filtered(lambda m, mb=mailbox: m.mailbox_id == mb and m.active == archived).sudo()
            if messages and mailbox.archive_on_server:
                refused = messages._archive_on_server(mailbox.sudo(), archived)
                if refused:
                    return refused
            messages.active = not archived
        return True

    def _archive_on_server(self, mailbox, archived):
        """Take these messages out of the mailbox's Inbox (``archived``) or put them back;
        Odoo's places follow at once (the sync then finds their new UIDs)."""
        folder = mailbox._archive_folder(tick=True)
        inbox = mailbox.folder_ids.filtered(lambda f: f.use == INBOX and f.present)[:1]
        if not folder or not inbox:
            if not archived:
                return None  # nowhere to bring them back from
            if not mailbox.folder_roles_given:
                raise UserError(
                    _(
                        "%(address)s does not say which of its folders is the Archive. In the mailbox's Folders "
                        "tab, pick the folder to archive to (Use as: Archive), or turn off “Archive in the "
                        "mailbox what is archived in Odoo”.",
                        address=mailbox.email,
                    )
                )
            raise UserError(
                _(
                    "%(address)s has no Archive folder to move archived mail to. Make one in your mail client "
                    "(or turn off “Archive in the mailbox what is archived in Odoo”), then click “List the "
                    "folders again”.",
                    address=mailbox.email,
                )
            )
        labels = folder.use == "\\All"  # Gmail: the Inbox is a label on a message of All Mail
        moved = self.browse()
        target = folder if archived else inbox
        arrived = {}  # message -> its UIDs in ``target``, found at once: the Folders column never goes blank

        def work(client):
            nonlocal moved
            if archived:
                found = self._found_in(client, inbox)
                uids = [uid for uids in found.values() for uid in uids]
                if uids:  # out of the Inbox folder: on Gmail, only the Inbox label goes
                    expunge(client, uids) if labels else move(client, uids, folder.path)
            else:
                outside = self - self.browse([m.id for m in self._found_in(client, inbox)])
                found = outside._found_in(client, folder)
                uids = [uid for uids in found.values() for uid in uids]
                if uids:
                    client.copy(uids, inbox.path) if labels else move(client, uids, inbox.path)
            moved = self.browse([m.id for m in found])
            if moved:
                arrived.update(moved._found_in(client, target))

        refused = self._on_server(mailbox, work)
        if refused:
            return refused
        left = inbox if archived else (folder if not labels else None)
        moved.place_ids.filtered(lambda p: p.folder_id == left).unlink()
        self._add_places(target, arrived)
        moved.in_inbox = not archived  # the sync will not take it for a move made elsewhere
        return None

    def _add_places(self, folder, found):
        """Record where the server now keeps these messages in ``folder`` ({message:
        UIDs}), with the flags Odoo knows of them (the sync keeps them current)."""
        Place = self.env["mail.mailbox.message.place"].sudo()
        for message, uids in found.items():
            known = set(Place.search([("folder_id", "=", folder.id), ("uid", "in", uids)]).mapped("uid"))
            flags = message.place_ids[:1].flags or False
            Place.create(
                [
                    {"message_id": message.id, "folder_id": folder.id, "uid": uid, "flags": flags}
                    for uid in uids
                    if uid not in known
                ]
            )

    def _found_in(self, client, folder):
        """{message: UIDs} of these messages in ``folder``, selected to be changed: the
        places Odoo knows, else a search by Message-ID (moved there since the last sync)."""
        client.select_folder(folder.path)
        found = {}
        for message in self:
            uids = [p.uid for p in message.place_ids if p.folder_id == folder]
            if not uids and message.message_id_header:
                try:
                    uids = client.search(["HEADER", "Message-ID", message.message_id_header])
                except UnicodeEncodeError:  # an 8-bit Message-ID no SEARCH can carry
                    uids = []
            if uids:
                found[message] = uids
        return found

    @api.model
    def _change_on_server(self, mailbox, places, change):
        """``change(client, path, uids)`` in each folder of ``places``, on one IMAP
        connection (see :meth:`_on_server`)."""
        by_folder = {}
        for place in places:
            by_folder.setdefault(place.folder_id.path, []).append(place.uid)
        if not by_folder:
            return None

        def work(client):
            for path, uids in by_folder.items():
                client.select_folder(path)
                change(client, path, uids)

        return self._on_server(mailbox, work)

    @api.model
    def _on_server(self, mailbox, work):
        """``work(client)`` on one IMAP connection to ``mailbox``. Refused or unreachable:
        the mailbox's access is checked (its status and the form then say why) and a
        notification is returned; None when done."""
        mailbox._gate_action(count=False)  # the rate counts what a person starts: a fetch, not each flag
        try:
            token = mailbox._get_access_token() if mailbox.provider != "imap" else None
            with imap_lib.session(mailbox._server("imap", token), mailbox.email) as client:
                work(client)
        except (OSError, EOFError, IMAPClientError, OAuthError) as exc:
            failed = mailbox._check_credentials()
            cause = (
                mailbox._render_diagnosis(failed.diagnosis)[0]
                if failed
                else _("the server answered with an error (%(error)s).", error=type(exc).__name__)
            )
            return mailbox._notify(
                _("Nothing changed"),
                _("%(address)s did not take the change: %(cause)s", address=mailbox.email, cause=cause),
                "danger",
                reload=True,
            )
        return None

    def _remember_deleted(self):
        """Keep these messages, deleted by the user, out of later syncs (Enable, a
        backfill, a renumbered folder) until the mailbox asks for them again."""
        self.env["mail.mailbox.message.deleted"].sudo()._remember(
            [(message.mailbox_id.id, message.message_key) for message in self]
        )

    def _delete_in_odoo(self):
        """The synced messages and their attachments (their chatter copies stay: they are
        the records' history)."""
        self.env["ir.attachment"].sudo().search([("res_model", "=", self._name), ("res_id", "in", self.ids)]).unlink()
        self.sudo().unlink()

    @api.model
    def _values_from(self, parsed):
        """The stored values of a parsed message (or of its header alone)."""
        return {
            "subject": parsed.subject,
            "email_from": parsed.sender,
            "email_to": ", ".join(parsed.to),
            "email_cc": ", ".join(parsed.cc),
            "date": parsed.date,
            "body_text": parsed.text,
            "html_source": parsed.html,
            "in_reply_to": parsed.in_reply_to[:MESSAGE_ID_MAX] or False,
            "references": parsed.references[:REFERENCES_TEXT_MAX] or False,
            "reply_to": parsed.reply_to[:MESSAGE_ID_MAX] or False,
            "thread_key": message_digest(parsed.thread_key or parsed.message_id),
            "mcm_feedback": "bounce" if parsed.bounce else False,
            "mcm_bounce_json": parsed.bounce.to_json() if parsed.bounce else False,
            "mcm_auto_submitted": parsed.auto_submitted,
        }

    @api.model
    def _values_from_odoo(self, mail_message_ids):
        """{mail.message id: stored values} of mail sent from Odoo: its date, sender,
        recipients, subject and body are Odoo's own, so its Sent copy is not fetched, yet
        its row in My mail is never blank."""
        messages = self.env["mail.message"].sudo().browse(mail_message_ids).exists()
        mails = {}
        for mail in self.env["mail.mail"].sudo().search([("mail_message_id", "in", messages.ids)], order="id"):
            mails.setdefault(mail.mail_message_id.id, mail)
        values = {}
        for message in messages:
            mail = mails.get(message.id)
            recipients = [p.email_formatted for p in message.partner_ids if p.email]
            recipients += [mail.email_to] if mail and mail.email_to else []
            values[message.id] = {
                "subject": message.subject or (mail and mail.subject) or message.record_name or False,
                "email_from": message.email_from or message.author_id.email_formatted or False,
                "email_to": ", ".join(recipients) or False,
                "email_cc": (mail and mail.email_cc) or False,
                "date": message.date,
                "html_source": str(message.body or "") or False,
            }
        return values

    @api.model
    def _mark_read_on_open(self):
        """Whether opening a message marks it read (Settings; on unless turned off)."""
        return self.env["ir.config_parameter"].sudo().get_param(MARK_READ_PARAM, "True") != "False"

    def web_read(self, specification):
        """Opening one unread message in the form (the action says so in its context)
        marks it read, the server first; a refusal leaves it unread and the mailbox's
        status says why. Not read-only, then: it may change the message."""
        if (
            self.env.context.get("mcm_open_marks_read")
            and len(self) == 1
            and not self.seen
            and self.on_server
            and self.user_id == self.env.user
            and not self._kept_unread()
            and self.mailbox_id.state == "connected"
            and self._mark_read_on_open()
        ):
            # refused: the message opens all the same, unread (a click on Mark as read says why)
            with contextlib.suppress(UserError), self.env.cr.savepoint():
                self._set_flag("\\Seen", "seen", True)
        # what the form reads with it (its conversation) is not opened
        return super(MailMailboxMessage, self.with_context(mcm_open_marks_read=False)).web_read(specification)

    @api.model
    def web_search_read(self, *args, **kwargs):
        """A list reads its rows through ``web_read``: listing opens nothing."""
        return super(MailMailboxMessage, self.with_context(mcm_open_marks_read=False)).web_search_read(*args, **kwargs)

    web_read._readonly = False  # it may write: the web client's call is not made on a read-only cursor

    def _kept_unread(self):
        """Just marked unread on its form (once: the next opening marks it read)."""
        if not self.kept_unread:
            return False
        self.sudo().kept_unread = False
        return True

    def _store_attachments(self, attachments):
        self.ensure_one()
        if attachments:
            self.has_attachments = True
            # what Odoo's own mail gateway does too: a part that reads as XML or HTML,
            # whatever it claims, is kept as plain text (for administrators as well)
            self.env["ir.attachment"].with_context(attachments_mime_plainxml=True).create(
                [
                    {
                        "name": attachment.name,
                        "raw": attachment.data,
                        # a page, an image that runs scripts, a style sheet: plain text,
                        # never rendered on Odoo's site, and served as a download
                        "mimetype": stored_mimetype(attachment.mimetype, attachment.name),
                        "res_model": self._name,
                        "res_id": self.id,
                    }
                    for attachment in attachments
                ]
            )


def move(client, uids, target):
    """Move ``uids`` of the selected folder to ``target`` (copy, then delete, where the
    server has no MOVE)."""
    if client.has_capability("MOVE"):
        client.move(uids, target)
    else:
        client.copy(uids, target)
        expunge(client, uids)


def expunge(client, uids):
    """Delete ``uids`` of the selected folder for good (only them, where the server can)."""
    client.delete_messages(uids)
    client.uid_expunge(uids) if client.has_capability("UIDPLUS") else client.expunge()


class MailMessage(models.Model):
    _inherit = "mail.message"

    mcm_message_id = fields.Many2one(
        "mail.mailbox.message", "Synced message", index="btree_not_null", ondelete="set null", readonly=True
    )

    # a chatter copy points to its synced message only as Odoo's sync made it: a user
    # never links a message to a mailbox's synced mail (another user's, or at all)
    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su and any(vals.get("mcm_message_id") for vals in vals_list):
            raise AccessError(_("Only Odoo's sync links a message to a synced message."))
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su and "mcm_message_id" in vals:
            raise AccessError(_("Only Odoo's sync links a message to a synced message."))
        return super().write(vals)
