"""Mail sent from Odoo that came back in a Sent folder was stored as a blank row (no
date, sender, subject or body), listed first in My mail: fill it from the Odoo message
it is."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    Message = env["mail.mailbox.message"].with_context(active_test=False)
    blank = Message.search([("kind", "=", "odoo"), ("mail_message_id", "!=", False), ("date", "=", False)])
    values = Message._values_from_odoo(blank.mail_message_id.ids)
    for message in blank:
        found = values.get(message.mail_message_id.id)
        if found:
            message.write(found)
