from . import test_mailbox
from . import test_secrets
from . import test_rpc_access
from . import test_web_client
