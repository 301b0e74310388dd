from . import mail_mailbox_disconnect_wizard
