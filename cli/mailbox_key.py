"""``odoo-bin mailbox-key rotate -c odoo.conf -d DATABASE``: re-encrypt every mailbox secret."""

import logging
import sys
from pathlib import Path

import odoo
from odoo.cli import Command

_logger = logging.getLogger(__name__)


class MailboxKey(Command):
    """Rotate the key that encrypts mailbox passwords and tokens"""

    name = "mailbox-key"

    def run(self, args):
        parser = odoo.tools.config.parser
        parser.prog = f"{Path(sys.argv[0]).name} {self.name} rotate"
        if not args or args[0] != "rotate":
            sys.exit(f"usage: {parser.prog} -c odoo.conf -d DATABASE")
        odoo.tools.config.parse_config(args[1:], setup_logging=True)
        dbname = odoo.tools.config["db_name"]
        if not dbname or "," in dbname:
            sys.exit("Name one database with -d DATABASE.")
        registry = odoo.modules.registry.Registry(dbname)
        with registry.cursor() as cr:
            env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
            count = env["mail.mailbox.key"]._rotate()
        print(f"{count} mailbox secrets re-encrypted in database {dbname}.")  # noqa: T201 pylint: disable=print-used
