"""What a bench run alone needs: a private PostgreSQL and mail stack, an Odoo
configuration for them, and a database with the addon."""

import contextlib
import os
import subprocess
import sys
import tempfile

from .odoo_env import ADDON, odoo_cmd, odoo_status, write_config
from .pg import PostgresCluster
from .stack import TEST_ACCOUNTS, MailStack
from .util import free_port


@contextlib.contextmanager
def standalone(prefix, accounts=TEST_ACCOUNTS):
    """Start PostgreSQL and the mail stack in a new folder; yield ``(stack, conf, env)``
    (``env``: the environment that tells Odoo where the stack is); stop them after."""
    ok, reason = odoo_status()
    if not ok:
        sys.exit(f"{reason}: install Odoo 18 first (README.md, section Install).")
    out = tempfile.mkdtemp(prefix=prefix)
    os.chmod(out, 0o711)  # the services run as an unprivileged user
    pg = stack = None
    try:
        pg = PostgresCluster(os.path.join(out, "pg")).start()
        stack = MailStack(os.path.join(out, "stack"), accounts=accounts).start()
        conf = write_config(out, pg.settings, free_port())
        yield stack, conf, dict(os.environ, MCM_TEST_STACK=stack.info_path)
    finally:
        if stack:
            stack.stop()
        if pg:
            pg.stop()


def create_database(conf, database, env):
    """A database with the addon installed (no demo data)."""
    print(f"bench: creating a database with {ADDON} (about 30 s)…", flush=True)
    subprocess.run(
        odoo_cmd(conf, database, "-i", ADDON, "--stop-after-init", "--without-demo=all", "--log-level=warn"),
        check=True,
        env=env,
    )
