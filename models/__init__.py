from . import mail_mailbox_key
from . import mail_mailbox_secret
from . import mail_mailbox
from . import res_users
from . import res_config_settings
