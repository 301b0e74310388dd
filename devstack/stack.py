"""The whole local mail stack: OAuth emulators, an SMTP sink, Dovecot, a plainer Dovecot
and Cyrus IMAP (the second, independent IMAP server).

``python3 -m devstack.stack serve --dir FOLDER [--demo]`` starts everything,
writes ``FOLDER/stack.json`` (ports, URLs, accounts) once it is ready, and stops
everything on SIGTERM or Ctrl-C.
"""

import argparse
import json
import os
import signal
import sys
import threading

from .cyrus import Cyrus, cyrus_missing
from .dovecot import Dovecot
from .oauth_emulator import OAuthEmulator
from .smtp_sink import SmtpSink

# Password accounts on the local Dovecot (address -> password). OAuth accounts need
# no entry: Dovecot asks the emulator who a token belongs to.
TEST_ACCOUNTS = {
    "alice@mail.test": "alice-imap-pass",
    "bob@mail.test": "bob-imap-pass",
    "carol@mail.test": "carol-imap-pass",
}
DEMO_ACCOUNTS = {
    "demo@mail.test": "demo",
    "sales@mail.test": "sales",
}
CLIENTS = {
    "google": ("mcm-google-client.apps.googleusercontent.com", "mcm-google-secret"),
    "microsoft": ("00000000-0000-4000-8000-00000000c0de", "mcm-microsoft-secret"),
}


class MailStack:
    def __init__(self, folder, accounts=None):
        self.folder = os.path.abspath(folder)
        self.accounts = dict(accounts or TEST_ACCOUNTS)
        self.emulator = self.sink = self.dovecot = self.plain = self.cyrus = None
        self.cyrus_missing = None

    def start(self):
        os.makedirs(self.folder, exist_ok=True)
        os.chmod(self.folder, 0o755)  # Dovecot runs as an unprivileged user
        try:
            self.emulator = OAuthEmulator(self.folder, dict(CLIENTS.values())).start()
            self.sink = SmtpSink(os.path.join(self.folder, "sent"), accounts=self.accounts).start()
            self.dovecot = Dovecot(
                os.path.join(self.folder, "dovecot"),
                introspection_url=f"{self.emulator.google_url}/introspect",
                sink_port=self.sink.port,
                accounts=self.accounts,
            ).start()
            self.sink.deliver = self.dovecot.deliver  # its delivery reports reach the sender's Inbox
            self.plain = Dovecot(
                os.path.join(self.folder, "dovecot-plain"),
                introspection_url=f"{self.emulator.google_url}/introspect",
                sink_port=self.sink.port,
                accounts=self.accounts,
                plain=True,
            ).start()
            self.cyrus_missing = cyrus_missing()
            if self.cyrus_missing:  # the stack still starts; every Cyrus test says it is skipped and why
                sys.stderr.write(f"!! mail stack without Cyrus IMAP: {self.cyrus_missing}\n")
            else:
                self.cyrus = Cyrus(os.path.join(self.folder, "cyrus"), accounts=self.accounts).start()
        except BaseException:
            self.stop()
            raise
        with open(self.info_path, "w", encoding="utf-8") as fh:
            json.dump(self.info(), fh, indent=2)
        return self

    @property
    def info_path(self):
        return os.path.join(self.folder, "stack.json")

    def info(self):
        return {
            "host": "127.0.0.1",
            "imap_port": self.dovecot.imap_port,
            "submission_port": self.dovecot.submission_port,
            "sink_port": self.sink.port,
            "sink_submission_port": self.sink.submission_port,  # signs the accounts in
            "dovecot_users": os.path.join(self.dovecot.folder, "users"),  # passwords (testkit changes them)
            "sink_folder": self.sink.folder,
            # accepted, then reported back to the sender's Inbox: 5.1.1 user unknown, 4.2.2 mailbox full
            "sink_bounces": ["gone", "full"],
            "accounts": self.accounts,
            "google": {
                "url": self.emulator.google_url,
                "client_id": CLIENTS["google"][0],
                "client_secret": CLIENTS["google"][1],
            },
            "microsoft": {
                "url": self.emulator.microsoft_url,
                "client_id": CLIENTS["microsoft"][0],
                "client_secret": CLIENTS["microsoft"][1],
                "ca_bundle": self.emulator.ca_path,
                "browser_url": self.emulator.microsoft_browser_url,  # the sign-in page, plain HTTP
            },
            "switches": f"{self.emulator.google_url}/_test",
            # a server with no folder roles, no CONDSTORE and no MOVE; the same accounts
            "plain": {"host": "127.0.0.1", "imap_port": self.plain.imap_port, "users": self.plain_users},
            # Cyrus IMAP, the same accounts; without it, why (its tests are skipped with that reason)
            "cyrus": {"host": "127.0.0.1", "imap_port": self.cyrus.imap_port} if self.cyrus else None,
            "cyrus_missing": self.cyrus_missing,
        }

    @property
    def plain_users(self):
        return os.path.join(self.plain.folder, "users")

    def stop(self):
        # the sink first: the delivery reports on their way still reach Dovecot
        for part in (self.cyrus, self.plain, self.sink, self.dovecot, self.emulator):
            if part is not None:
                part.stop()
        self.cyrus = self.dovecot = self.plain = self.sink = self.emulator = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("--dir", required=True, help="folder for state, logs and stack.json")
    parser.add_argument("--demo", action="store_true", help="add the demo accounts")
    args = parser.parse_args(argv)
    accounts = dict(TEST_ACCOUNTS, **(DEMO_ACCOUNTS if args.demo else {}))
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    with MailStack(args.dir, accounts) as stack:
        print(
            f"mail stack ready: IMAP 127.0.0.1:{stack.dovecot.imap_port}, "
            f"SMTP submission 127.0.0.1:{stack.dovecot.submission_port}, "
            f"Google emulator {stack.emulator.google_url}, "
            f"Microsoft emulator {stack.emulator.microsoft_url} (sign-in page {stack.emulator.microsoft_browser_url})",
            flush=True,
        )
        done.wait()


if __name__ == "__main__":
    main()
