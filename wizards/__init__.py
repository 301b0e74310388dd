from . import mail_mailbox_disconnect_wizard
from . import mail_mailbox_reconnect_link_wizard
from . import mail_mailbox_message_delete_wizard
from . import mail_compose_message
from . import mail_compose_message_draft
