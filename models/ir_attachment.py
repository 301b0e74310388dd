"""Attachments of synced mail are served as downloads whenever a browser would run or
render them as a page on Odoo's site (a sender's HTML page or SVG image would otherwise
run in the reader's session), whatever the type a request asks them to be served as."""

from odoo import models
from odoo.http import Stream

from ..mailbox_engine.remote_content import download_only


class SyncedMailStream(Stream):
    """A stream that decides when the response is made (after the request's own
    ``mimetype`` was applied): a page, an SVG, a script is offered as a download."""

    def get_response(self, as_attachment=None, **kwargs):
        if download_only(self.mimetype, self.download_name or ""):
            as_attachment = True
        return super().get_response(as_attachment=as_attachment, **kwargs)


class IrAttachment(models.Model):
    _inherit = "ir.attachment"

    def _to_http_stream(self):
        stream = super()._to_http_stream()
        if self.res_model == "mail.mailbox.message" and stream.type in ("data", "path"):
            return SyncedMailStream(**vars(stream))
        return stream
