from . import test_mailbox
from . import test_secrets
from . import test_rpc_access
from . import test_web_client
from . import test_custom_mailbox
from . import test_connect_oauth
