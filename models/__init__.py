from . import mail_mailbox_key
from . import mail_mailbox_secret
from . import mail_mailbox
from . import mail_mailbox_connect_attempt
from . import mail_mailbox_check_log
from . import mail_mailbox_folder
from . import res_users
from . import res_config_settings
