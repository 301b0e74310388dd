"""``make bench``: speed figures measured in one run against the local servers, each
with its baseline measured in the same run (the machines are noisy): ``bench:`` lines.

* ``send_500_s``: Odoo's own ``mail.mail.send()`` of 500 messages through a connected
  Google-like mailbox (XOAUTH2 with the cached token, routing and held-mail checks);
* ``send_500_odoo_s``: the same 500 through a stock ``ir.mail_server`` with a password,
  to the same SMTP server;
* ``send_vs_odoo``: their ratio (goal: at most 1.2);
* ``health_40_one_by_one_s`` / ``health_40_8_at_once_s`` / ``health_speedup``: the
  access check of 40 mailboxes (IMAP login + SMTP AUTH on Dovecot), sequential
  baseline against the scheduled check's concurrent run;
* ``health_100_wall`` / ``health_1000_wall`` and ``…_queries_per_mailbox``: the
  scheduled check of 100 and 1,000 mailboxes (Google-like, Microsoft-like and
  password ones) in Odoo, as the cron runs it (goal: under 20 s for 1,000, and no
  more queries per mailbox at 1,000 than at 100).
"""

import os
import shutil
import subprocess
import sys
import tempfile

from .odoo_env import ADDON, ROOT, odoo_cmd, odoo_status, write_config
from .pg import PostgresCluster
from .stack import MailStack
from .util import free_port

DATABASE = "mcm_bench"


def main():
    ok, reason = odoo_status()
    if not ok:
        sys.exit(f"{reason}: install Odoo 18 first (README.md, section Install).")
    out = tempfile.mkdtemp(prefix="mcm-bench-")
    os.chmod(out, 0o711)  # the services run as an unprivileged user
    pg = stack = None
    try:
        pg = PostgresCluster(os.path.join(out, "pg")).start()
        stack = MailStack(os.path.join(out, "stack")).start()
        from . import bench_health

        bench_health.run(stack.info())
        conf = write_config(out, pg.settings, free_port())
        env = dict(os.environ, MCM_TEST_STACK=stack.info_path)
        print(f"bench: creating a database with {ADDON} (about 30 s)…", flush=True)
        subprocess.run(
            odoo_cmd(conf, DATABASE, "-i", ADDON, "--stop-after-init", "--without-demo=all", "--log-level=warn"),
            check=True,
            env=env,
        )
        code = 0
        for name in ("bench_send.py", "bench_health_odoo.py"):
            with open(os.path.join(ROOT, "devstack", name), encoding="utf-8") as fh:
                script = fh.read()
            done = subprocess.run(
                [sys.executable, "-m", "odoo", "shell", "-c", conf, "-d", DATABASE, "--no-http", "--log-level=warn"],
                input=script,
                text=True,
                env=env,
                check=False,
            )
            code = code or done.returncode
        return code
    finally:
        if stack:
            stack.stop()
        if pg:
            pg.stop()
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
