from . import cli
from . import controllers
from . import models
from . import server_listener
from . import wizards


def _post_init_hook(env):
    """Create this database's encryption key at install (unless odoo.conf provides keys)."""
    env["mail.mailbox.key"]._ensure_database_key()
