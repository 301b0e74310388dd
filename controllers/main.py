from odoo import http
from odoo.http import request


class ConnectedMailboxController(http.Controller):
    @http.route(
        ["/mail_connected_mailbox/oauth/google/callback", "/mail_connected_mailbox/oauth/microsoft/callback"],
        type="http",
        auth="user",
        methods=["GET"],
        website=False,
    )
    def oauth_callback(self, **params):
        """Where Google and Microsoft send the user back after the consent screen."""
        provider = request.httprequest.path.split("/")[3]
        mailbox, error = request.env["mail.mailbox"]._oauth_callback(provider, params)
        if error is None:
            return request.redirect(f"/odoo/action-mail_connected_mailbox.mail_mailbox_action/{mailbox.id}")
        response = request.render(
            "mail_connected_mailbox.oauth_result_page",
            {"error": error, "mailbox": mailbox and mailbox.exists() and mailbox.has_access("read") and mailbox},
        )
        response.status_code = 400
        return response
