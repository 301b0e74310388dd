"""``make run``: Odoo 18 with the addon, ready to click, on http://localhost:8069.

* a private PostgreSQL cluster kept in ``.run/pg`` (or the server named by PGHOST…);
* the local mail stack (Dovecot IMAP + submission, SMTP sink, Google and Microsoft
  emulators) with demo accounts;
* a database ``mailboxes`` with the addon installed (admin / admin), updated when the
  addon's files changed since the last run.

Ctrl-C stops everything.
"""

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys

from .odoo_env import ADDON, ROOT, odoo_cmd, odoo_status, remove_addons_dir, write_config
from .pg import PostgresCluster
from .stack import MailStack
from .util import as_service_user

DATABASE = os.environ.get("MCM_DATABASE", "mailboxes")
DEMO_MESSAGES = 40


def run_folder():
    """``.run/`` in the project, unless the unprivileged service user cannot reach it."""
    folder = os.path.join(ROOT, ".run")
    os.makedirs(folder, exist_ok=True)
    os.chmod(folder, 0o755)
    probe = subprocess.run(as_service_user(["test", "-x", folder]), check=False)
    if probe.returncode == 0:
        return folder
    fallback = os.path.join("/var/tmp", "mail_connected_mailbox-" + hashlib.sha1(ROOT.encode()).hexdigest()[:8])
    os.makedirs(fallback, exist_ok=True)
    os.chmod(fallback, 0o755)
    print(f"note: the folders above {folder} are closed to the service user; keeping the cluster in {fallback}")
    return fallback


def addon_fingerprint():
    """Changes whenever a file of the addon changes (decides whether to update the module)."""
    digest = hashlib.sha1()
    for root, dirs, files in os.walk(ROOT):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in ("__pycache__", "devstack"))
        for name in sorted(files):
            if name.endswith((".py", ".xml", ".csv", ".js", ".scss", ".css", ".po", ".pot")):
                path = os.path.join(root, name)
                digest.update(f"{path}:{os.stat(path).st_mtime_ns}".encode())
    return digest.hexdigest()


def database_exists(pg):
    out = pg.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'")
    return bool(out.strip())


def odoo(conf, *args, check=True):
    cmd = odoo_cmd(conf, DATABASE, *args)
    return subprocess.run(cmd, check=check)


def serve(conf):
    """Run the Odoo server in the foreground; on Ctrl-C let it shut down cleanly."""
    proc = subprocess.Popen(odoo_cmd(conf, DATABASE))
    try:
        proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def configure_demo(conf, stack_info):
    """Point the addon at the local mail stack, so that a newcomer connects Google-like and
    Microsoft-like mailboxes without any external account. The stack gets new ports at
    every start, so this runs every time; an OAuth app configured by hand is left alone."""
    script = f"""
import json
info = json.loads({json.dumps(json.dumps(stack_info))})
params = env["ir.config_parameter"].sudo()
g, m = info["google"], info["microsoft"]
imap = "127.0.0.1:%s:none" % info["imap_port"]
smtp = "127.0.0.1:%s:none" % info["submission_port"]
demo = {{
    "google_gmail_client_id": g["client_id"],
    "google_gmail_client_secret": g["client_secret"],
    "microsoft_outlook_client_id": m["client_id"],
    "microsoft_outlook_client_secret": m["client_secret"],
}}
for key, value in demo.items():
    if params.get_param(key) in (False, "", value):
        params.set_param(key, value)
if params.get_param("google_gmail_client_id") == g["client_id"]:
    params.set_param("mail_connected_mailbox.google_auth_uri", g["url"] + "/o/oauth2/v2/auth")
    params.set_param("mail_connected_mailbox.google_token_uri", g["url"] + "/token")
    params.set_param("mail_connected_mailbox.google_userinfo_uri", g["url"] + "/oauth2/v3/userinfo")
    params.set_param("mail_connected_mailbox.google_imap", imap)
    params.set_param("mail_connected_mailbox.google_smtp", smtp)
params.set_param("mail_connected_mailbox.allow_private_hosts", "True")  # the demo servers are on 127.0.0.1
if params.get_param("microsoft_outlook_client_id") == m["client_id"]:
    params.set_param("mail_connected_mailbox.microsoft_authority_host", m["url"])
    params.set_param("mail_connected_mailbox.ca_bundle", m["ca_bundle"])
    params.set_param("mail_connected_mailbox.microsoft_imap", imap)
    params.set_param("mail_connected_mailbox.microsoft_smtp", smtp)
# the company's outgoing server (alerts, reminders, Odoo's own mail): the local SMTP sink
from odoo.addons.mail_connected_mailbox.devstack.testkit import configure_company_server
configure_company_server(env, info)
env.cr.commit()
"""
    subprocess.run(
        [sys.executable, "-m", "odoo", "shell", "-c", conf, "-d", DATABASE, "--no-http", "--log-level=warn"],
        input=script,
        text=True,
        check=True,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("MCM_HTTP_PORT", "8069")))
    parser.add_argument("--rotate-key", action="store_true", help="re-encrypt the database's secrets and exit")
    args = parser.parse_args(argv)
    ok, reason = odoo_status()
    if not ok:
        sys.exit(f"{reason}: install Odoo 18 first (README.md, section Install).")

    def _interrupt(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in the background
    folder = run_folder()
    pg = stack = None
    try:
        pg = PostgresCluster(os.path.join(folder, "pg")).start()
        conf = write_config(folder, pg.settings, args.port, {"db_name": DATABASE, "dbfilter": f"^{DATABASE}$"})
        if args.rotate_key:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "odoo",
                    f"--addons-path={_addons_path(conf)}",
                    "mailbox-key",
                    "rotate",
                    "-c",
                    conf,
                    "-d",
                    DATABASE,
                ],
                check=True,
            )
            return
        stack = MailStack(os.path.join(folder, "stack"), _demo_accounts()).start()
        stamp = os.path.join(folder, "addon.stamp")
        fingerprint = addon_fingerprint()
        if not database_exists(pg):
            print(f"Creating database {DATABASE!r} with {ADDON} installed (about 30 s)…", flush=True)
            odoo(conf, "-i", ADDON, "--stop-after-init", "--without-demo=all")
        elif _read(stamp) != fingerprint:
            print(f"The addon changed since the last run: updating {ADDON}…", flush=True)
            odoo(conf, "-u", ADDON, "--stop-after-init")
        with open(stamp, "w", encoding="utf-8") as fh:
            fh.write(fingerprint)
        configure_demo(conf, stack.info())
        info = stack.info()
        mail_for_the_demo(info)
        print(
            f"""
Connected Mailboxes is ready: http://localhost:{args.port}  (login admin, password admin)
Local mail server (IMAP 127.0.0.1:{info["imap_port"]}, SMTP 127.0.0.1:{info["submission_port"]}, no TLS):
  demo@mail.test / demo     sales@mail.test / sales   (demo@mail.test's inbox holds {DEMO_MESSAGES} messages)
Mail Odoo sends through the company's server (alerts, reminders) goes to a local SMTP sink,
  one .eml file per message in {info["sink_folder"]}
  Mail to gone@… or full@… is accepted, then reported back into the sender's Inbox
  (5.1.1 user unknown, 4.2.2 mailbox full), as a real server does: campaign feedback.
Google and Microsoft mailboxes sign in through local emulators: any address works.
  Google emulator {info["google"]["url"]}   Microsoft sign-in page {info["microsoft"]["browser_url"]}
  To revoke a mailbox's access: curl -d email=<address> {info["switches"]}/revoke
Ctrl-C stops Odoo, the mail stack and PostgreSQL.
""",
            flush=True,
        )
        serve(conf)
    except KeyboardInterrupt:
        pass
    finally:
        if stack:
            stack.stop()
        if pg:
            pg.stop()
        remove_addons_dir(folder)


def mail_for_the_demo(info, address="demo@mail.test"):
    """Mail in the demo inbox for the sync to fetch (the last 60 days), once."""
    from imapclient import IMAPClient

    from .bench_sync_data import populate

    client = IMAPClient(info["host"], port=info["imap_port"], ssl=False, timeout=30)
    try:
        client.login(address, info["accounts"][address])
        empty = not client.folder_status("INBOX", ["MESSAGES"])[b"MESSAGES"]
    finally:
        client.logout()
    if empty:
        populate(info["host"], info["imap_port"], address, info["accounts"][address], DEMO_MESSAGES, seed=7)


def _addons_path(conf):
    with open(conf, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("addons_path"):
                return line.split("=", 1)[1].strip()
    return ""


def _demo_accounts():
    from .stack import DEMO_ACCOUNTS, TEST_ACCOUNTS

    return dict(TEST_ACCOUNTS, **DEMO_ACCOUNTS)


def _read(path):
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except OSError:
        return ""


if __name__ == "__main__":
    main()
