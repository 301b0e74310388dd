"""``odoo-bin mailbox-listen -c odoo.conf -d DATABASE``: hold the connected mailboxes'
Inboxes in IDLE and sync each one as soon as new mail comes in, until SIGTERM or SIGINT.
Run several (on other hosts too): they share the mailboxes between them."""

import signal
import sys
from pathlib import Path

import odoo
from odoo.cli import Command

from ..models.mail_mailbox_listen import ListenRunner


class MailboxListen(Command):
    """Sync new mail within seconds: hold the mailboxes' Inboxes in IMAP IDLE"""

    name = "mailbox-listen"

    def run(self, args):
        parser = odoo.tools.config.parser
        parser.prog = f"{Path(sys.argv[0]).name} {self.name}"
        odoo.tools.config.parse_config(args, setup_logging=True)
        dbname = odoo.tools.config["db_name"]
        if not dbname or "," in dbname:
            sys.exit("Name one database with -d DATABASE.")
        runner = ListenRunner(dbname)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_args: runner.stop())
        runner.run()
