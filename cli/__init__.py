from . import mailbox_key
from . import mailbox_listen
