from . import mailbox_key
