import smtplib

from odoo import _, api, fields, models, modules
from odoo.exceptions import UserError
from odoo.tools import email_normalize

from odoo.addons.base.models.ir_mail_server import MailDeliveryException, SMTPConnection

from ..mailbox_engine import diagnosis as diag_lib
from ..mailbox_engine import providers
from ..mailbox_engine import smtp as smtp_lib

# cursor cache keys, for one sending call
SENT_COPIES = "mail_connected_mailbox.sent_copies"  # mailboxes with copies to file in their Sent folder
STOPPED_MAILBOXES = "mail_connected_mailbox.stopped"  # mailboxes that stopped sending here
DEFERRED = "mail_connected_mailbox.deferred"  # the mail being sent waits and is tried again
LAST_SENT = "mail_connected_mailbox.last_sent"  # Message-Id of the last message that left
DROPPED = "mail_connected_mailbox.dropped"  # a session dropped: Odoo's batch loop was cut short
VETTED = "mail_connected_mailbox.vetted"  # Message-Ids of the mail that mail.mail.send let leave
SENT_THROUGH = "mail_connected_mailbox.sent_through"  # {Message-Id: mailbox id} of what left through a mailbox
SENDING_COMMITS = "mail_connected_mailbox.sending_commits"  # Odoo's _send commits after each mail (the queue)
SENDING_MAIL = "mail_connected_mailbox.sending_mail"  # id of the mail.mail that Odoo's _send sends now
RETRY = "retry"  # tried: counts as an attempt
RETRY_UNTRIED = "untried"  # not tried (no connection): no attempt counted


class IrMailServer(models.Model):
    """One outgoing server per connected mailbox, kept in step with it: its
    ``from_filter`` is the mailbox's address, so Odoo's own routing
    (``_find_mail_server``) sends what the user sends through their mailbox."""

    _inherit = "ir.mail_server"

    smtp_authentication = fields.Selection(
        selection_add=[("mcm_mailbox", "Connected mailbox")], ondelete={"mcm_mailbox": "set default"}
    )
    mcm_mailbox_id = fields.Many2one(
        "mail.mailbox", string="Connected mailbox", index="btree_not_null", ondelete="cascade", readonly=True
    )

    _sql_constraints = [
        ("mcm_mailbox_uniq", "unique(mcm_mailbox_id)", "A connected mailbox has one outgoing server."),
    ]

    @api.constrains("smtp_authentication", "mcm_mailbox_id", "smtp_pass")
    def _check_mcm_mailbox(self):
        for server in self.filtered(lambda s: s.smtp_authentication == "mcm_mailbox"):
            if not server.mcm_mailbox_id:
                raise UserError(_("A “Connected mailbox” server is made by a connected mailbox, not by hand."))
            if server.smtp_pass:
                raise UserError(_("A connected mailbox's server keeps no password: the mailbox holds it, encrypted."))

    @api.depends("name")
    @api.depends_context("uid")
    def _compute_display_name(self):
        """A mailbox's server named where its reader may not read it (a many2one is read
        as superuser) shows no address."""
        super()._compute_display_name()
        if not self.env.su:
            return
        mine = self.filtered(lambda server: isinstance(server.id, int) and server.mcm_mailbox_id)
        unreadable = mine - mine.with_env(self.env(su=False))._filtered_access("read") if mine else mine
        for server in unreadable:
            server.display_name = _("Restricted mailbox server")

    def test_smtp_connection(self, autodetect_max_email_size=False):
        """A test signs in as the mailbox (its password or token): only its owner and
        mailbox administrators may run it on a mailbox's server."""
        for server in self.sudo().filtered(lambda s: s.smtp_authentication == "mcm_mailbox"):
            server.mcm_mailbox_id.with_env(self.env)._mcm_check_owner_or_admin()
        return super().test_smtp_connection(autodetect_max_email_size=autodetect_max_email_size)

    def _smtp_login(self, connection, smtp_user, smtp_password):
        if len(self) != 1 or self.smtp_authentication != "mcm_mailbox":
            return super()._smtp_login(connection, smtp_user, smtp_password)
        self.mcm_mailbox_id.sudo()._smtp_login(connection)
        return None

    def _find_mail_server(self, email_from, mail_servers=None):
        """A mailbox's server sends only its own address's mail. Odoo's fallbacks (the
        first server without a filter, then any server) never pick a user's mailbox:
        a mail from another address goes through Odoo's usual servers, as it would
        without this addon."""
        if mail_servers is None:
            mail_servers = self.sudo().search([], order="sequence")
        mailboxes = mail_servers.filtered(lambda server: server.smtp_authentication == "mcm_mailbox")
        address = email_normalize(email_from)
        own = mailboxes.filtered(lambda server: server.active and address and server.from_filter == address)
        if own:
            return own[0], email_from
        return super()._find_mail_server(email_from, mail_servers=mail_servers - mailboxes)

    def connect(self, *args, **kwargs):
        """A custom mailbox's server is reached through the gate (see
        :meth:`_mcm_connect`). A connected mailbox's server that cannot be reached, or a
        sign-in that fails for a passing reason (the provider is down): the batch waits
        and is tried again, it does not fail (a lost access is applied to the mailbox and
        holds it). What the other side said is not kept: the reason is Odoo's sentence.

        Connecting to a mailbox's server signs in as the mailbox: outside Odoo's own
        sending (which runs as superuser), only its owner, the users it lets send and
        mailbox administrators may (``connect`` can be called over RPC)."""
        host = kwargs.get("host") or (args[0] if args else None)
        if not self.env.su and (kwargs.get("mail_server_id") or not host):
            mailbox = self._mcm_mailbox_of_connect(kwargs.get("mail_server_id"), kwargs.get("smtp_from"))
            if mailbox:
                mailbox.with_env(self.env)._mcm_check_owner_or_admin(senders_too=True)
        mailbox = None
        if not modules.module.current_test and (kwargs.get("mail_server_id") or kwargs.get("smtp_from")):
            mailbox = self._mcm_mailbox_of_connect(kwargs.get("mail_server_id"), kwargs.get("smtp_from"))
        try:
            if mailbox and not providers.PROVIDERS[mailbox.provider].oauth:
                return self._mcm_connect(mailbox, kwargs.get("smtp_from"))
            return super().connect(*args, **kwargs)
        except Exception as exc:
            mailbox = mailbox or self._mcm_mailbox_of_connect(kwargs.get("mail_server_id"), kwargs.get("smtp_from"))
            if mailbox and mailbox.state == "connected":
                if isinstance(exc, smtplib.SMTPAuthenticationError):
                    text = mailbox.last_error_cause
                elif diagnosis := mailbox._smtp_connect_diagnosis(exc):
                    if diagnosis.state == diag_lib.ERROR:  # the gate refused the host, or it is no SMTP server
                        mailbox._apply_diagnosis(diagnosis)
                    text = mailbox._render_diagnosis(diagnosis)[0]
                else:
                    text = _(
                        "Could not reach the server of %(address)s (%(error)s).",
                        address=mailbox.email,
                        error=type(exc).__name__,
                    )
                self._mcm_defer(RETRY_UNTRIED, text or type(exc).__name__)
            raise

    def _mcm_connect(self, mailbox, smtp_from):
        """Odoo's SMTP session for a custom mailbox's server, its socket opened through the
        gate (``mailbox_engine.netgate``: the host is checked and the checked address is
        the one connected to), then signed in as the mailbox."""
        server = mailbox._get_mail_server()
        connection = object.__new__(SMTPConnection)  # Odoo's wrapper, around the gated connection
        connection.__obj__ = smtp_lib.open_connection(mailbox._server("smtp", password=""))
        try:
            server._smtp_login(connection, server.smtp_user, "")
            connection.ehlo_or_helo_if_needed()
        except BaseException:
            connection.close()
            raise
        connection.from_filter = server.from_filter
        connection.smtp_from = smtp_from
        return connection

    def _mcm_mailbox_of_connect(self, mail_server_id, smtp_from):
        if mail_server_id:
            server = self.sudo().browse(mail_server_id)
        elif smtp_from:
            server = self._find_mail_server(smtp_from)[0]
        else:
            return None
        return server.mcm_mailbox_id if server and server.smtp_authentication == "mcm_mailbox" else None

    def send_email(self, message, *args, **kwargs):
        """Through a connected mailbox, each failure is told in words and handled as what
        it is, on that message only:

        - refused for good (a recipient, the size, the sender): the message fails with a
          sentence that names what was refused and what to do; Odoo goes on with the next;
        - over the provider's rate or quota: the mailbox is throttled and its mail held;
        - a passing failure, or the connection dropped before the server confirmed the
          message (so it was not accepted): the message waits and is tried again later;
          the messages after it in the batch wait for the next queue run.

        A message sent through a custom IMAP mailbox is noted for a copy in its Sent
        folder (Google and Microsoft file it themselves), filed when the sending call ends
        (``mail.mail.send``), in one IMAP session per mailbox."""
        self._mcm_check_sender(message, kwargs.get("mail_server_id") or (args[0] if args else None))
        session = kwargs.get("smtp_session")
        mailbox_id, copy = self._mcm_sending_mailbox(message, session, *args, **kwargs)
        if not mailbox_id:
            return super().send_email(message, *args, **kwargs)
        message_key = message["Message-Id"]
        bcc = message["Bcc"]  # Odoo takes it off the message it sends; the Sent copy keeps it
        mailbox = self.env["mail.mailbox"].sudo().browse(mailbox_id)
        if mailbox_id in self.env.cr.cache.get(STOPPED_MAILBOXES, ()) and mailbox.state != "connected":
            raise MailDeliveryException(_("Mail Delivery Failed"), mailbox._hold_reason())  # held, not failed
        if getattr(session, "mcm_dropped", False):
            self._mcm_defer(RETRY_UNTRIED, _("Not tried yet: the connection dropped while sending an earlier message."))
            raise MailDeliveryException(_("Mail Delivery Failed"), _("The connection to the server was lost."))
        self._mcm_mark_sending(mailbox)
        try:
            message_id = super().send_email(message, *args, **kwargs)
        except smtplib.SMTPServerDisconnected as exc:
            if session is not None:
                session.mcm_dropped = True
                self.env.cr.cache[DROPPED] = True
            text = _(
                "The server closed the connection before confirming this message (%(error)s), so it was not accepted.",
                error=str(exc) or type(exc).__name__,
            )
            self._mcm_defer(RETRY, text, message_key)
            raise MailDeliveryException(_("Mail Delivery Failed"), text) from exc
        except MailDeliveryException as exc:
            error = exc.__context__
            smtp = getattr(session, "__obj__", session)  # Odoo wraps smtplib's object
            if session is not None and not getattr(smtp, "sock", None):  # smtplib closed it (421)
                session.mcm_dropped = True
                self.env.cr.cache[DROPPED] = True
            kind = smtp_lib.classify_send_error(error)
            if kind == smtp_lib.THROTTLED:
                code, answer = self._mcm_reply(error)
                mailbox._apply_diagnosis(diag_lib.from_send_throttled(code, answer, **mailbox._smtp_diagnosis_params()))
            elif kind == smtp_lib.RETRY:
                code, answer = self._mcm_reply(error)
                reply = f"{code} {answer}".strip()
                text = _("The server asked to try again later (%(reply)s).", reply=reply)
                self._mcm_defer(RETRY, text, message_key)
            size_limit = getattr(smtp, "esmtp_features", {}).get("size") if session else None
            text = smtp_lib.explain_send_error(error, size_limit)
            if text:
                raise MailDeliveryException(_("Mail Delivery Failed"), text) from error
            raise
        self._mcm_note_sent(message_key, message_id, mailbox_id)
        if copy:
            self._mcm_keep_sent_copy(message, bcc, message_id, mailbox_id, session)
        return message_id

    def _mcm_keep_sent_copy(self, message, bcc, message_id, mailbox_id, session):
        """Note the message that left for a copy in the mailbox's Sent folder, with its Bcc
        (not for mail written in the mailbox's composer: its Bcc is kept on its row in
        Odoo, and no copy of it carries a Bcc header)."""
        mail_id = self.env.cr.cache.get(SENDING_MAIL)
        composed = mail_id and self.env["mail.mail"].sudo().browse(mail_id).exists().mcm_email_bcc
        if bcc and not composed:
            message["Bcc"] = bcc
        self.env["mail.mailbox.sent.copy"]._note(mailbox_id, message.as_bytes(), message_id)
        if session is None:  # one message on its own connection: file its copy now
            self.env["mail.mailbox"]._file_sent_copies()

    def _mcm_mark_sending(self, mailbox):
        """Just before a mail of the queue leaves through a mailbox: note that its sending
        is under way, committed at once (the queue commits after each mail anyway), then
        lock the mail again until its outcome is committed. If Odoo stops before that (the
        server may have confirmed the message), the next queue run finds the note on an
        unlocked mail and fails it with the reason, rather than sending it a second time
        (``mail.mail._mcm_fail_interrupted``). A direct send inside a request is one
        transaction, which cannot be committed here: it is not noted."""
        cache = self.env.cr.cache
        mail_id = cache.get(SENDING_MAIL)
        if not (mail_id and cache.get(SENDING_COMMITS)):
            return
        self.env["mail.mail"].sudo().browse(mail_id).write(
            {
                "mcm_send_started": fields.Datetime.now(),
                "failure_reason": mailbox._interrupted_send_reason(),
            }
        )
        # the note must outlive this process: its own commit, as the queue's after each mail
        self.env.cr.commit()  # pylint: disable=invalid-commit
        self.env.cr.execute("SELECT id FROM mail_mail WHERE id = %s FOR NO KEY UPDATE", [mail_id])

    def _mcm_note_sent(self, message_key, message_id, mailbox_id):
        """Note that the message left, and through which mailbox (the chatter says it)."""
        self.env.cr.cache[LAST_SENT] = message_key
        self.env.cr.cache.setdefault(SENT_THROUGH, {})[message_id] = mailbox_id

    @staticmethod
    def _mcm_reply(error):
        """``(code, text)`` of an SMTP refusal (the first refused recipient's answer)."""
        if isinstance(error, smtplib.SMTPRecipientsRefused) and error.recipients:
            code, text = next(iter(error.recipients.values()))
        else:
            code, text = getattr(error, "smtp_code", ""), getattr(error, "smtp_error", "")
        text = text.decode(errors="replace") if isinstance(text, bytes) else str(text or "")
        return code, text

    def _mcm_defer(self, kind, text, message_key=None):
        """Note that the mail being sent must wait and be tried again rather than fail
        (read by ``mail.mail.write`` when Odoo marks it failed). A mail of which one copy
        already left (Odoo sends one copy per recipient partner) is never tried again:
        that would send the copy twice."""
        partial = bool(message_key) and self.env.cr.cache.get(LAST_SENT) == message_key
        self.env.cr.cache[DEFERRED] = {"kind": kind, "text": text, "partial": partial}

    def _mcm_check_sender(self, message, mail_server_id):
        """A message sent directly (not a mail of ``mail.mail.send``, which vetted its
        own) through a mailbox's server, or From a mailbox's address through any server,
        leaves only on behalf of the current user (OdooBot for Odoo's own code), who must
        be the mailbox's owner or named in its *Who else may send through it*."""
        if message["Message-Id"] and message["Message-Id"] in self.env.cr.cache.get(VETTED, ()):
            return
        server = self.sudo().browse(mail_server_id) if mail_server_id else self.sudo()
        mailbox = server.mcm_mailbox_id if server and server.smtp_authentication == "mcm_mailbox" else None
        address = email_normalize(message["From"] or "")
        if not mailbox and address:
            mailbox = (
                self.env["mail.mailbox"]
                .sudo()
                .with_context(active_test=False)
                .search([("email_normalized", "=", address)], limit=1)
            )
        if mailbox and not mailbox._mcm_lets_send(self.env.user):
            raise MailDeliveryException(_("Mail Delivery Failed"), mailbox._mcm_foreign_reason(self.env.user))

    def _mcm_sending_mailbox(self, message, session, *args, **kwargs):
        """``(mailbox id or False, whether to file a Sent copy)`` for this message; worked
        out once per SMTP session (a batch), not once per message."""
        found = getattr(session, "mcm_sending_mailbox", None)
        if found is None:
            mail_server_id = kwargs.get("mail_server_id") or (args[0] if args else None)
            if mail_server_id:
                server = self.sudo().browse(mail_server_id)
            else:
                server = self._find_mail_server(message["From"])[0]
            mailbox = server.mcm_mailbox_id if server and server.smtp_authentication == "mcm_mailbox" else None
            found = (mailbox.id, mailbox.provider == "imap") if mailbox else (False, False)
            if session is not None:
                session.mcm_sending_mailbox = found
        return found
