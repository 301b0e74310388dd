from odoo import models
from odoo.http import request

NOTICE_KEY = "mcm_notice"  # set by the OAuth callback (controllers/main.py)


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    def session_info(self):
        """Hand the web client a toast left for it (a sign-in that worked), once."""
        info = super().session_info()
        if request and request.session.get(NOTICE_KEY):
            info["mcm_notice"] = request.session.pop(NOTICE_KEY)
        return info
