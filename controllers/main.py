import secrets

from odoo import http
from odoo.http import request
from odoo.tools.misc import format_datetime

from ..mailbox_engine import providers
from ..models.ir_http import NOTICE_KEY

BROWSER_KEY = "mcm_link_browser"  # session key: binds a link's OAuth sign-in to this browser


class ConnectedMailboxController(http.Controller):
    @http.route(
        ["/mail_connected_mailbox/oauth/google/callback", "/mail_connected_mailbox/oauth/microsoft/callback"],
        type="http",
        auth="public",
        methods=["GET"],
        website=False,
    )
    def oauth_callback(self, **params):
        """Where Google and Microsoft send the user back after the consent screen: an
        Odoo user who clicked Connect, or whoever opened a shareable reconnect link."""
        provider = request.httprequest.path.split("/")[3]
        Mailbox = request.env["mail.mailbox"]
        from_link = Mailbox.sudo()._is_link_state(params.get("state"))
        if not from_link and request.env.user._is_public():
            return request.redirect(f"/web/login?redirect={request.httprequest.full_path}", local=True)
        if from_link:
            mailbox, error = Mailbox.sudo()._oauth_callback(provider, params, request.session.get(BROWSER_KEY, ""))
            if error is None:
                return request.render(
                    "mail_connected_mailbox.reconnect_link_done",
                    {
                        "address": mailbox.email,
                        "outcome": mailbox._resume_outcome(),
                        "company": mailbox.user_id.company_id.name,
                    },
                )
            response = request.render("mail_connected_mailbox.oauth_result_page", {"error": error, "mailbox": False})
            response.status_code = 400
            return response
        mailbox, error = Mailbox._oauth_callback(provider, params)
        if error is None:
            request.session[NOTICE_KEY] = mailbox._connected_notice()  # said once the web client is back
            return request.redirect(f"/odoo/action-mail_connected_mailbox.mail_mailbox_action/{mailbox.id}")
        response = request.render(
            "mail_connected_mailbox.oauth_result_page",
            {"error": error, "mailbox": mailbox and mailbox.exists() and mailbox.has_access("read") and mailbox},
        )
        response.status_code = 400
        return response

    # ------------------------------------------------------------------ shareable reconnect link
    def _link_or_page(self, token):
        link = request.env["mail.mailbox.reconnect.link"].sudo()._find(token)
        if link:
            return link, None
        response = request.render("mail_connected_mailbox.reconnect_link_invalid", {})
        response.status_code = 404
        return None, response

    def _link_page(self, link, error=None, status=200):
        mailbox = link.mailbox_id
        owner = mailbox.sudo().user_id
        tz = owner.tz or link.create_uid.tz or "UTC"  # the expiry in the owner's time zone, named
        response = request.render(
            "mail_connected_mailbox.reconnect_link_page",
            {
                "link": link,
                "company": (owner.company_id or request.env.company).name,
                "expires": format_datetime(request.env, link.expires_at, tz=tz, dt_format="medium"),
                "tz": tz,
                "address": mailbox.email,
                "kind": providers.PROVIDERS[mailbox.provider].label,
                "oauth": providers.PROVIDERS[mailbox.provider].oauth,
                "asked_by": link.create_uid.name,
                "servers": link._password_hosts(mailbox),  # where a password typed here goes
                "error": error,
            },
        )
        response.status_code = status
        return response

    @http.route("/mailbox/reconnect/<string:token>", type="http", auth="public", methods=["GET"], website=False)
    def reconnect_link(self, token, **_kw):
        """The public page of a shareable link: which mailbox, who asked, and the way to
        sign in again. A tampered, expired or used link gets one page that reveals nothing."""
        link, page = self._link_or_page(token)
        return page or self._link_page(link)

    @http.route("/mailbox/reconnect/<string:token>", type="http", auth="public", methods=["POST"], website=False)
    def reconnect_link_submit(self, token, password="", **_kw):
        link, page = self._link_or_page(token)
        if page:
            return page
        mailbox = link.mailbox_id.sudo().with_context(mcm_link_id=link.id)
        if providers.PROVIDERS[mailbox.provider].oauth:
            browser_secret = secrets.token_urlsafe(32)
            request.session[BROWSER_KEY] = browser_secret
            url = mailbox._start_oauth_from_link(link, browser_secret)
            return request.redirect(url, local=False)
        error = mailbox._reconnect_with_password_from_link(link, password)
        if error:
            return self._link_page(link, error, status=400)
        return request.render(
            "mail_connected_mailbox.reconnect_link_done",
            {
                "address": mailbox.email,
                "outcome": mailbox._resume_outcome(),
                "company": mailbox.user_id.company_id.name,
            },
        )
