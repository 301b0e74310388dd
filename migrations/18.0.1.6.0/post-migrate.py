"""The flag "Tell me of new mail from contacts and leads" was stored on each user; it is now
one choice of three (nothing, mail from contacts and leads, all new mail), and the flag is
read from that choice. The users who had it on keep being told, as before; the flag's old
column goes (the new field starts at "Nothing" for everyone, on its own column)."""

from odoo.tools import sql


def migrate(cr, version):
    if not sql.column_exists(cr, "res_users", "mcm_new_mail_notify"):
        return
    cr.execute("UPDATE res_users SET mcm_mail_notify = 'known' WHERE mcm_new_mail_notify")
    cr.execute("ALTER TABLE res_users DROP COLUMN mcm_new_mail_notify")
