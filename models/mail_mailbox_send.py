"""Sending through the user's own mailbox: its outgoing server, kept in step with it,
and the SMTP sign-in (XOAUTH2 with a cached token, or the password)."""

import smtplib

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import email_normalize, formataddr

from ..mailbox_engine import diagnosis as diag_lib
from ..mailbox_engine import providers
from ..mailbox_engine import smtp as smtp_lib
from ..mailbox_engine.connection_test import diagnosis_params
from ..mailbox_engine.oauth import OAuthError
from .ir_mail_server import SENT_COPIES, STOPPED_MAILBOXES
from .mail_mailbox import ADMIN_GROUP, PARAM, counted

RESUMED = "mcm_resumed"  # cursor cache: {mailbox id: what its reconnect released and left waiting}

SERVER_SEQUENCE = 5  # before Odoo's usual servers, for the mailbox's own address
ENCRYPTION = {providers.SECURITY_SSL: "ssl", providers.SECURITY_STARTTLS: "starttls", providers.SECURITY_NONE: "none"}


class MailMailbox(models.Model):
    _inherit = "mail.mailbox"

    mcm_sends_my_mail = fields.Boolean(
        "My Odoo mail leaves from here",
        compute="_compute_mcm_sends_my_mail",
        help="The owner's Odoo email is this mailbox's address: what the owner sends from Odoo (the chatter, "
        "the composer, campaigns from that address) leaves through this mailbox. Set it with Send my Odoo "
        "mail from this mailbox.",
    )
    mcm_address_notice = fields.Char("Where my Odoo mail leaves from", compute="_compute_mcm_sends_my_mail")

    # ------------------------------------------------------------------ my Odoo mail
    @api.depends("email_normalized", "user_id.email")
    @api.depends_context("uid")
    def _compute_mcm_sends_my_mail(self):
        """Odoo routes a user's mail by its From, which is the user's Odoo email: the
        mailbox with that address is the one her mail leaves from; one address, one
        mailbox, so there is never more than one."""
        for mailbox in self:
            owner = mailbox.sudo().user_id
            mine = bool(mailbox.email_normalized) and email_normalize(owner.email or "") == mailbox.email_normalized
            mailbox.mcm_sends_my_mail = mine
            # said to the owner, who alone can fix it (the button changes her Odoo email)
            told = not mine and mailbox.email and owner == self.env.user
            mailbox.mcm_address_notice = mailbox._mcm_address_notice() if told else False

    def _mcm_address_notice(self):
        """Why the owner's Odoo mail does not go through this mailbox, and the fix."""
        self.ensure_one()
        owner = self.sudo().user_id
        address = email_normalize(owner.email or "")
        elsewhere = owner.mailbox_ids.filtered(lambda mailbox: address and mailbox.email_normalized == address)[:1]
        if elsewhere:
            return _(
                "Your Odoo mail leaves from %(other)s (your Odoo email), not from %(address)s. To send it from "
                "this mailbox instead, click Send my Odoo mail from this mailbox.",
                other=elsewhere.email,
                address=self.email,
            )
        return _(
            "Your Odoo email is %(odoo_email)s, not %(address)s: the mail you send from Odoo leaves from "
            "%(odoo_email)s and does not go through this mailbox (it fails unless Odoo has a server for that "
            "address). Click Send my Odoo mail from this mailbox to make %(address)s your Odoo email.",
            odoo_email=owner.email or _("empty"),
            address=self.email,
        )

    def action_mcm_send_my_mail_from_here(self):
        """Make this mailbox's address the owner's Odoo email, so that Odoo routes the
        owner's mail through it; her mail still waiting to leave from her previous
        address (queued, held or failed) takes the new one too, so that the queue or
        a Resend sends it through this mailbox."""
        self.ensure_one()
        self._check_can_act()
        if self.sudo().user_id != self.env.user:
            raise AccessError(
                _(
                    "Only %(owner)s can send their Odoo mail from %(address)s: it changes their Odoo email.",
                    owner=self.sudo().user_id.name,
                    address=self.email,
                )
            )
        if not self.email_normalized:
            raise UserError(_("This mailbox has no address yet: connect it first, then click the button again."))
        user = self.env.user
        previous = email_normalize(user.email or "")
        if previous != self.email_normalized:
            user.sudo().write({"email": self.email})
            moved = self._mcm_move_waiting_mail(user, previous)
            self.message_post(
                body=_(
                    "%(user)s now sends their Odoo mail from %(address)s (it was %(previous)s); "
                    "%(count)s messages still to send take the new address.",
                    user=user.name,
                    address=self.email,
                    previous=previous or _("empty"),
                    count=moved,
                )
            )
        result = self._notify(
            _("Your Odoo mail leaves from %(address)s", address=self.email),
            _("What you send from Odoo now goes through this mailbox, with a copy in its Sent folder."),
            "success",
            reload=True,
        )
        if self.env.context.get("mcm_from_preferences"):  # a button in Preferences (a dialog): open them again
            result["params"]["next"] = dict(self.env["res.users"].action_get(), res_id=user.id)
        return result

    def _mcm_move_waiting_mail(self, user, previous):
        """The mail ``user`` wrote from ``previous`` that has not left (queued, held,
        waiting or failed) now leaves from this mailbox's address; how many."""
        if not previous:
            return 0
        mails = (
            self.env["mail.mail"]
            .sudo()
            .search(
                [
                    ("state", "in", ("outgoing", "exception")),
                    ("create_uid", "=", user.id),
                    ("email_from", "ilike", previous),
                ]
            )
            .filtered(lambda mail: email_normalize(mail.email_from or "") == previous)
        )
        for mail in mails:
            mail.email_from = formataddr((user.name or "", self.email))
        # held for the previous address's mailbox: now it waits (or not) for this one
        mails.filtered("mcm_hold_reason").write({"mcm_hold_reason": False, "mcm_mailbox_id": False})
        holds = mails._mcm_to_hold()
        if holds:
            mails._mcm_hold(holds)
        return len(mails)

    # ------------------------------------------------------------------ who sends through it
    def _mcm_lets_send(self, writers):
        """Whether mail written by ``writers`` (users) may leave as this mailbox: each is
        its owner or named in its *Who else may send through it*."""
        self.ensure_one()
        mailbox = self.sudo()
        return bool(writers) and not (writers.sudo() - mailbox.user_id - mailbox.sender_user_ids)

    def _mcm_allowed_names(self):
        """Who besides the owner may send through this mailbox, in words."""
        self.ensure_one()
        mailbox = self.sudo()
        return ", ".join((mailbox.sender_user_ids - mailbox.user_id).mapped("name")) or _("nobody yet")

    def _mcm_foreign_reason(self, writers):
        """Why mail written by ``writers`` does not leave as this mailbox, and who may send."""
        self.ensure_one()
        mailbox = self.sudo()
        return _(
            "Not sent: %(address)s is the connected mailbox of %(owner)s, and only %(owner)s and the users "
            "under “Who else may send through it” on that mailbox (%(allowed)s) may send from it; this mail was "
            "on behalf of %(writers)s. Ask %(owner)s to add them there, or send from your own address.",
            address=mailbox.email,
            owner=mailbox.user_id.name,
            allowed=self._mcm_allowed_names(),
            writers=", ".join((writers.sudo() - mailbox.user_id - mailbox.sender_user_ids).mapped("name")),
        )

    def _mcm_check_owner_or_admin(self, senders_too=False):
        """Refuse unless the current user owns this mailbox or is a mailbox administrator
        (or, with ``senders_too``, may send through it)."""
        self.ensure_one()
        if self.env.su or self.env.user.has_group(ADMIN_GROUP) or self.sudo().user_id == self.env.user:
            return
        if senders_too:
            if self._mcm_lets_send(self.env.user):
                return
            raise AccessError(
                _(
                    "Only the owner of this mailbox, the users it lets send and mailbox administrators may sign "
                    "in to its server."
                )
            )
        raise AccessError(
            _(
                "Only the owner of this mailbox and mailbox administrators may test its server: a test signs "
                "in with the owner's password or token."
            )
        )

    def _get_mail_server(self):
        self.ensure_one()
        return (
            self.env["ir.mail_server"]
            .sudo()
            .with_context(active_test=False)
            .search([("mcm_mailbox_id", "=", self.id)], limit=1)
        )

    def _prepare_mail_server_values(self):
        server = self._server("smtp", password="")  # where and who; no secret is read
        return {
            "name": _("Mailbox %(address)s", address=self.email),
            "sequence": SERVER_SEQUENCE,
            "smtp_host": server.host,
            "smtp_port": server.port,
            "smtp_encryption": ENCRYPTION[server.security],
            "smtp_authentication": "mcm_mailbox",
            "smtp_user": server.login,
            "smtp_pass": False,
            "from_filter": self.email_normalized or self.email,
            "mcm_mailbox_id": self.id,
            "active": True,
        }

    def _sync_mail_server(self):
        """Create or update the mailbox's outgoing server (at connect and reconnect)."""
        for mailbox in self:
            values = mailbox._prepare_mail_server_values()
            server = mailbox._get_mail_server()
            if server:
                server.write(values)
            else:
                self.env["ir.mail_server"].sudo().create(values)

    def _retire_mail_server(self):
        """Remove the mailbox's outgoing server (at disconnect): its address goes through
        Odoo's usual servers again."""
        for mailbox in self:
            mailbox._get_mail_server().unlink()

    def _smtp_login(self, connection):
        """Sign in on an open SMTP ``connection`` as this mailbox; raise
        :class:`smtplib.SMTPAuthenticationError` unless the server answers 235.

        A refusal is diagnosed (with the provider's own answer for OAuth mailboxes, after
        one forced token refresh) and applied to the mailbox's status."""
        self.ensure_one()
        oauth = providers.PROVIDERS[self.provider].oauth
        try:
            token = self._get_access_token() if oauth else ""
            code, answer = self._smtp_authenticate(connection, token)
            if code != 235 and oauth:
                token = self._get_access_token(force=True)
                code, answer = self._smtp_authenticate(connection, token)
        except OAuthError as exc:
            self._apply_diagnosis(exc.diagnosis)
            cause, _fix = self._render_diagnosis(exc.diagnosis)
            raise smtplib.SMTPAuthenticationError(535, cause.encode()) from None
        if code != 235:
            params = self._smtp_diagnosis_params()
            self._apply_diagnosis(diag_lib.from_smtp_error(code, answer, with_password=not oauth, **params))
            raise smtplib.SMTPAuthenticationError(code, answer)

    def _smtp_connect_diagnosis(self, exc):
        """Why the SMTP session could not open, in Odoo's words (never the other side's)."""
        server = self._server("smtp", password="")
        params = diagnosis_params(server, "SMTP", self.email)
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return diag_lib.diagnose("no_starttls", "STARTTLS", **params)
        if isinstance(exc, smtplib.SMTPException) and not isinstance(exc, smtplib.SMTPServerDisconnected):
            return diag_lib.diagnose("not_mail", "SMTP", **params)  # NotSMTPError, a refused greeting…
        if isinstance(exc, OSError | EOFError):
            return diag_lib.from_network_error(exc, timeout=server.timeout, tls=server.security != "none", **params)
        return None

    def _smtp_diagnosis_params(self):
        """The placeholders of a diagnosis about this mailbox's SMTP server."""
        return diagnosis_params(self._server("smtp", password=""), "SMTP", self.email)

    def _smtp_authenticate(self, connection, token):
        server = self._server("smtp", oauth_token=token)  # the stored password, never one just typed
        return smtp_lib.authenticate(connection, server.login, server.password, token, self.email)

    # ------------------------------------------------------------------ held mail
    def _hold_reason(self):
        """Why mail of this mailbox waits, in a salesperson's words."""
        self.ensure_one()
        address = self.email
        if not self.active:
            return _("%(address)s is archived: it leaves once the mailbox is restored and connected", address=address)
        if self.state == "auth_lost":
            return _("access to %(address)s was lost: it leaves once the mailbox is reconnected", address=address)
        if self.state == "throttled":
            return _("%(address)s is limited by its provider: it leaves when the limit lifts", address=address)
        if self.state == "error":
            return _("%(address)s has a server or configuration problem: it leaves once fixed", address=address)
        if self.state == "disabled":
            return _("%(address)s is disabled: it leaves once the mailbox is enabled again", address=address)
        return _("%(address)s is not connected: it leaves once it is connected", address=address)

    def _mcm_label(self, reader):
        """How this mailbox is named to ``reader`` (an environment) in a record's chatter:
        its address to whoever may read the mailbox, else whose mailbox it is."""
        self.ensure_one()
        if self.with_env(reader(su=False))._filtered_access("read"):
            return self.email
        return _("the connected mailbox of %(owner)s", owner=self.sudo().user_id.name)

    def _mcm_waiting_texts(self, label):
        """``(cause, when it leaves)`` of mail held for this mailbox, naming it ``label``."""
        self.ensure_one()
        if not self.active:
            return (
                _("%(mailbox)s is archived.", mailbox=label),
                _("It leaves when %(mailbox)s is restored and reconnected.", mailbox=label),
            )
        causes = {
            "auth_lost": _("Access to %(mailbox)s was lost.", mailbox=label),
            "error": _("%(mailbox)s has a server or configuration problem.", mailbox=label),
            "draft": _("%(mailbox)s is not connected.", mailbox=label),
        }
        if self.state in causes:
            return causes[self.state], _("It leaves when %(mailbox)s is reconnected.", mailbox=label)
        if self.state == "throttled":
            return (
                _("%(mailbox)s is limited by its provider.", mailbox=label),
                _("It leaves when the limit lifts, by itself."),
            )
        if self.state == "disabled":
            return (
                _("%(mailbox)s is disabled.", mailbox=label),
                _("It leaves when %(mailbox)s is enabled again.", mailbox=label),
            )
        return _("Its campaign is paused."), _("It leaves when the campaign resumes.")

    def _limit_reason(self, next_time):
        """Why mail of this mailbox waits for its sending limit, and until when (UTC)."""
        self.ensure_one()
        return _(
            "the sending limits of %(address)s (%(limits)s) are reached: it leaves at %(time)s UTC",
            address=self.email,
            limits=self._limits_text(),
            time=fields.Datetime.to_string(next_time),
        )

    def _limits_text(self):
        parts = []
        if self.send_limit_minute:
            parts.append(
                counted(
                    self.env, self.send_limit_minute, _("%(count)s message a minute"), _("%(count)s messages a minute")
                )
            )
        if self.send_limit_day:
            parts.append(
                counted(self.env, self.send_limit_day, _("%(count)s message a day"), _("%(count)s messages a day"))
            )
        if self.send_limit_recipients_day:
            parts.append(
                counted(
                    self.env,
                    self.send_limit_recipients_day,
                    _("%(count)s recipient a day"),
                    _("%(count)s recipients a day"),
                )
            )
        return ", ".join(parts)

    def _compute_held_mail(self):
        groups = (
            self.env["mail.mail"]
            .sudo()
            ._read_group(
                [("mcm_mailbox_id", "in", self.ids), ("mcm_hold_reason", "!=", False), ("state", "=", "outgoing")],
                ["mcm_mailbox_id"],
                ["__count", "create_date:min"],
            )
        )
        found = {mailbox.id: (count, oldest) for mailbox, count, oldest in groups}
        for mailbox in self:
            mailbox.held_mail_count, mailbox.held_mail_since = found.get(mailbox.id, (0, False))
            mailbox.held_mail_text = counted(
                self.env,
                mailbox.held_mail_count,
                _("%(count)s message waits to leave through this mailbox"),
                _("%(count)s messages wait to leave through this mailbox"),
            )

    def _interrupted_send_reason(self):
        """Why a mail that was leaving through this mailbox (or an empty recordset: a
        mailbox no longer known) when Odoo stopped failed, and what to do."""
        if not self:
            return _(
                "Odoo stopped while sending this message: the server may have accepted it. It is not sent again by "
                "itself, so that nobody receives it twice: check whether it arrived (in the Sent folder, or with a "
                "recipient), then click Retry to send it again, or Cancel."
            )
        self.ensure_one()
        return _(
            "Odoo stopped while sending this message through %(address)s: the server may have accepted it. It is "
            "not sent again by itself, so that nobody receives it twice: check whether it arrived (in the Sent "
            "folder of %(address)s, or with a recipient), then click Retry to send it again, or Cancel.",
            address=self.email,
        )

    def _tell_interrupted_send(self, mails):
        """The mailbox says that Odoo stopped while ``mails`` were leaving through it: its
        status (the last problem, with what to do) and its chatter, naming them."""
        self.ensure_one()
        cause = counted(
            self.env,
            len(mails),
            _("Odoo stopped while sending %(count)s message through this mailbox: the server may have accepted it."),
            _("Odoo stopped while sending %(count)s messages through this mailbox: the server may have accepted them."),
        )
        fix = _(
            "Each is marked failed and is not sent again by itself, so that nobody receives it twice: check whether "
            "it arrived (in the Sent folder, or with a recipient), then click Retry to send it again, or Cancel. "
            "Messages: %(subjects)s.",
            subjects=diag_lib.shown(", ".join(mail.subject or _("(no subject)") for mail in mails), limit=500),
        )
        self.sudo().write({"last_error_date": fields.Datetime.now(), "last_error_cause": cause, "last_error_fix": fix})
        self.sudo().message_post(body=Markup("%s %s") % (cause, fix))

    def _on_sending_stopped(self):
        """The mailbox cannot send any more (access lost, throttled, error, disabled): its
        queued mail is held, and its campaigns pause (not for throttling, which passes)."""
        self.env.cr.cache.setdefault(STOPPED_MAILBOXES, set()).update(self.ids)
        Mailing = self.env["mailing.mailing"]
        for mailbox in self:
            self.env["mail.mail"]._mcm_hold_queued(mailbox)
            if mailbox.state != "throttled":
                Mailing._mcm_of_mailbox(mailbox, ("in_queue", "sending"))._mcm_pause(mailbox)

    def _on_sending_resumed(self):
        """The mailbox is connected again: what it held leaves, paced by its sending
        limits, oldest first; its paused campaigns resume by themselves or wait for a
        click, as Settings say. The mailbox says what leaves and what waits, and so does
        the page of a shareable link (:meth:`_resume_outcome`)."""
        auto = self.env["ir.config_parameter"].sudo().get_param(PARAM + "resume_campaigns") == "auto"
        since = self.env.context.get("mcm_stopped_since")
        outcomes = self.env.cr.cache.setdefault(RESUMED, {})
        for mailbox in self:
            # before anything leaves: what came in while access was lost, so that the
            # summary shows the replies and nobody answers blind
            came_in = mailbox._catch_up(since) if since else self.env["mail.mailbox.message"]
            if mailbox.state != "connected":  # the catch-up found it down again: what it holds stays held
                continue
            released = self.env["mail.mail"]._mcm_release(mailbox)
            paused = mailbox._paused_campaigns()
            remaining = paused._mcm_recipients_to_go()
            if paused and auto:
                paused._mcm_resume()
            outcome = {"released": len(released), "campaigns": len(paused), "remaining": remaining, "auto": auto}
            outcomes[mailbox.id] = outcome
            if released or paused or came_in:
                body = mailbox._resume_summary(outcome, paused)
                mailbox.message_post(body=Markup(" ").join(filter(None, [body, came_in._came_in_summary()])))

    def _paused_campaigns(self):
        """The campaigns paused for this mailbox: those it paused (whatever their sender
        became since) and those that send through it."""
        self.ensure_one()
        Mailing = self.env["mailing.mailing"].sudo()
        return Mailing.search([("state", "=", "paused"), ("mcm_mailbox_id", "=", self.id)]) | (
            Mailing._mcm_of_mailbox(self, ("paused",))
        )

    def _resume_summary(self, outcome, paused):
        """What leaves and what waits, in the chatter's words (``outcome``: see
        :meth:`_on_sending_resumed`)."""
        parts = []
        released = outcome["released"]
        if released:
            pace = self._limits_text()
            text = (
                _("1 waiting message leaves now")
                if released == 1
                else _("%(count)s waiting messages leave now, oldest first", count=released)
            )
            parts.append(text + (_(" (at most %(limits)s)", limits=pace) if pace else "") + ".")
        if paused:
            names = diag_lib.shown(", ".join(paused.mapped("subject")), limit=500)
            values = {"count": len(paused), "remaining": outcome["remaining"], "names": names}
            if outcome["auto"]:
                text = (
                    _("The campaign %(names)s resumed where it stopped: %(remaining)s recipients to go.", **values)
                    if len(paused) == 1
                    else _(
                        "%(count)s campaigns resumed where they stopped, %(remaining)s recipients to go: %(names)s.",
                        **values,
                    )
                )
            else:
                text = (
                    _(
                        "The campaign %(names)s is paused and waits for a click on Resume: %(remaining)s recipients "
                        "to go.",
                        **values,
                    )
                    if len(paused) == 1
                    else _(
                        "%(count)s paused campaigns wait for a click on Resume, %(remaining)s recipients to go: "
                        "%(names)s.",
                        **values,
                    )
                )
            parts.append(text)
        return " ".join(parts)

    def _resume_outcome(self):
        """What happened to the waiting mail when this mailbox was reconnected, in the
        words of the page a link holder sees: a list of sentences."""
        self.ensure_one()
        outcome = self.env.cr.cache.get(RESUMED, {}).get(self.id)
        if not outcome or not (outcome["released"] or outcome["campaigns"]):
            return [_("No mail was waiting to be sent.")]
        lines = []
        if outcome["released"]:
            lines.append(
                _("1 message that was waiting leaves now, at a pace its provider accepts.")
                if outcome["released"] == 1
                else _(
                    "%(count)s messages that were waiting leave now, at a pace its provider accepts.",
                    count=outcome["released"],
                )
            )
        if outcome["campaigns"]:
            values = {
                "count": outcome["campaigns"],
                "remaining": outcome["remaining"],
                "owner": self.user_id.name or _("its owner"),
            }
            if outcome["auto"]:
                lines.append(_("Paused campaigns resumed (%(count)s, %(remaining)s recipients to go).", **values))
            else:
                lines.append(
                    _(
                        "Paused campaigns (%(count)s, %(remaining)s recipients to go) still wait: they leave when "
                        "%(owner)s clicks Resume on each in Odoo.",
                        **values,
                    )
                )
        return lines

    # ------------------------------------------------------------------ Sent copy
    @api.model
    def _file_sent_copies(self):
        """File the copies noted while sending (:meth:`ir.mail_server.send_email`) in each
        mailbox's Sent folder: once, even when a mail is sent again (by its Message-ID).
        A copy that cannot be filed waits for the next call or sync
        (``mail.mailbox.sent.copy``); it never fails what was sent."""
        mailbox_ids = self.env.cr.cache.pop(SENT_COPIES, set())
        if mailbox_ids:
            self.env["mail.mailbox.sent.copy"]._file(sorted(mailbox_ids))
