"""Cyrus IMAP 3.6 from Debian's packages, run by an unprivileged user on 127.0.0.1.

The stack's second IMAP server, independent of Dovecot. Its packages cannot be
installed beside Dovecot's (both provide an IMAP server), so ``install-deps.sh``
unpacks them into ``.deps/cyrus`` and installs only their libraries. Plain text, no
TLS, ``PLAIN``/``LOGIN`` against a sasldb holding the same accounts as Dovecot; logins
are full addresses (virtual domains) and the separator is ``/``. Each account gets its
Inbox and the folders Dovecot gives (Sent, Archive, Trash, Drafts, Junk, with their
roles) at start; Junk's role is "\\junk", as Cyrus's own options write roles.
"""

import contextlib
import glob
import os
import shutil
import signal
import stat
import subprocess

from .util import (
    LOOPBACK,
    as_service_user,
    find_binary,
    free_port,
    give_to_service_user,
    service_user,
    stop_process,
    wait_port,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UNPACKED = os.environ.get("MCM_CYRUS_ROOT") or os.path.join(ROOT, ".deps", "cyrus")
FOLDERS = {"Sent": "\\Sent", "Archive": "\\Archive", "Trash": "\\Trash", "Drafts": "\\Drafts", "Junk": "\\Junk"}

IMAPD_CONF = """\
configdirectory: {folder}/config
defaultpartition: default
partition-default: {folder}/spool
cyrus_user: {user}
cyrus_group: {group}
servername: mail.test
syslog_prefix: mcm-cyrus-{port}
virtdomains: userid
defaultdomain: mail.test
unixhierarchysep: yes
altnamespace: yes
allowplaintext: yes
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: {folder}/sasldb2
sasl_mech_list: PLAIN LOGIN
# 8-bit bytes in headers kept as sent (by default Cyrus turns each into an "X")
munge8bit: no
# folders go at once (delayed, two deletions of one name in a second collide)
delete_mode: immediate
# an account's Inbox is made at its first login, with Junk given its role the way
# Cyrus's options do ("\\junk", in lower case); the other folders are made at start
autocreate_quota: 0
autocreate_inbox_folders: Junk
xlist-junk: Junk
mboxname_lockpath: {folder}/lock
proc_path: {folder}/proc
"""

CYRUS_CONF = """\
START {{
  recover cmd="{bin}/ctl_cyrusdb -C {folder}/imapd.conf -r"
}}
SERVICES {{
  imap cmd="{bin}/imapd -C {folder}/imapd.conf" listen="{host}:{port}" prefork=2
}}
EVENTS {{
}}
DAEMON {{
}}
"""


def cyrus_missing():
    """Why Cyrus cannot start here (a sentence naming the fix), or ``None``."""
    if not os.access(os.path.join(UNPACKED, "usr", "lib", "cyrus", "bin", "master"), os.X_OK):
        where = os.path.relpath(UNPACKED, ROOT) if UNPACKED.startswith(ROOT + os.sep) else UNPACKED
        return f"Cyrus IMAP is not unpacked in {where}: run `make deps` once as root"
    if not find_binary("saslpasswd2", ["/usr/sbin"]):
        return "saslpasswd2 is missing: apt-get install sasl2-bin (or run `make deps` as root)"
    return None


class Cyrus:
    """Start Cyrus with password accounts ``{address: password}``; stop it on exit."""

    def __init__(self, folder, accounts=None):
        self.folder = os.path.abspath(folder)
        self.accounts = dict(accounts or {})
        self.imap_port = None
        self.proc = None

    def start(self):
        missing = cyrus_missing()
        if missing:
            raise RuntimeError(missing)
        for sub in ("config/socket", "spool", "lock", "proc"):
            os.makedirs(os.path.join(self.folder, sub), exist_ok=True)
        root = self._reachable_root()
        binaries = os.path.join(root, "usr", "lib", "cyrus", "bin")
        libraries = sorted({os.path.dirname(p) for p in glob.glob(os.path.join(root, "usr", "lib", "*", "libcyrus*"))})
        user = service_user()
        self.imap_port = free_port()
        values = {
            "folder": self.folder,
            "user": user.pw_name,
            "group": _group_name(user.pw_gid),
            "port": self.imap_port,
            "bin": binaries,
            "host": LOOPBACK,
        }
        self.conf_path = os.path.join(self.folder, "imapd.conf")
        with open(self.conf_path, "w", encoding="utf-8") as fh:
            fh.write(IMAPD_CONF.format(**values))
        with open(os.path.join(self.folder, "cyrus.conf"), "w", encoding="utf-8") as fh:
            fh.write(CYRUS_CONF.format(**values))
        self.write_passwords()
        give_to_service_user(self.folder)
        env = dict(os.environ, LD_LIBRARY_PATH=os.pathsep.join(libraries))
        master = [os.path.join(binaries, "master"), "-C", self.conf_path, "-M", os.path.join(self.folder, "cyrus.conf")]
        master += ["-p", os.path.join(self.folder, "master.pid"), "-L", os.path.join(self.folder, "master.log")]
        self.proc = subprocess.Popen(  # its own session: stopping it stops the imapd it forked
            as_service_user(master),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            self._make_folders()
        except BaseException:
            self.stop()
            raise
        return self

    def write_passwords(self):
        binary = find_binary("saslpasswd2", ["/usr/sbin"])
        path = os.path.join(self.folder, "sasldb2")
        for address, password in sorted(self.accounts.items()):
            subprocess.run(
                [binary, "-p", "-c", "-f", path, address.lower()],
                input=password.encode(),
                check=True,
                capture_output=True,
                timeout=10,
            )

    def _reachable_root(self):
        """The unpacked packages, copied beside the state when the service user cannot
        reach them where they are (a clone in root's home)."""
        if os.geteuid() != 0:
            return UNPACKED
        path = UNPACKED
        while path != os.path.dirname(path):
            path = os.path.dirname(path)
            if not os.stat(path).st_mode & stat.S_IXOTH:
                copy = os.path.join(self.folder, "packages")
                if not os.path.isdir(copy):
                    shutil.copytree(os.path.join(UNPACKED, "usr"), os.path.join(copy, "usr"), symlinks=True)
                return copy
        return UNPACKED

    def _make_folders(self):
        """Log every account in once (Cyrus makes its Inbox then) and make the folders
        with their roles, as Dovecot's configuration does (the accounts side by side)."""
        from concurrent.futures import ThreadPoolExecutor

        wait_port(self.imap_port, 30, self.proc)
        with ThreadPoolExecutor(max(1, len(self.accounts))) as pool:
            list(pool.map(self._make_account_folders, self.accounts.items()))

    def _make_account_folders(self, account):
        from imapclient import IMAPClient
        from imapclient.exceptions import IMAPClientError

        address, password = account
        client = IMAPClient(LOOPBACK, port=self.imap_port, ssl=False, timeout=10)
        try:
            client.login(address, password)
            existing = {path for _flags, _sep, path in client.list_folders()}
            for name, role in FOLDERS.items():
                if name not in existing:
                    typ, data = client._imap._simple_command("CREATE", name, f"(USE ({role}))")
                    if typ != "OK":
                        raise IMAPClientError(f"CREATE {name}: {data}")
                client.subscribe_folder(name)
        except IMAPClientError as error:
            raise RuntimeError(f"Cyrus refused to set up {address}: {error}") from error
        finally:
            client.logout()

    def stop(self):
        if self.proc is None:
            return
        with_children = self.proc.pid
        stop_process(self.proc, 15)
        with contextlib.suppress(ProcessLookupError, PermissionError):  # what master forked and left
            os.killpg(with_children, signal.SIGKILL)
        self.proc = None


def _group_name(gid):
    import grp

    return grp.getgrgid(gid).gr_name
