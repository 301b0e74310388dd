from . import cli
from . import models


def _post_init_hook(env):
    """Create this database's encryption key at install (unless odoo.conf provides keys)."""
    env["mail.mailbox.key"]._ensure_database_key()
