"""Listener figures (plain Python, a Dovecot of its own with ``N`` accounts): how many
idle IMAP connections one process holds in IDLE, its memory for them, how long it takes
to open them, and how soon a message appended to one of them is said as a change.

``python3 -m devstack.bench_listener [N [CHANGES]]`` (1,000 connections and 50 changes by
default; ``make bench`` runs it with 1,000 and 10)."""

# pylint: disable=print-used
import os
import random
import secrets
import statistics
import sys
import tempfile
import threading
import time

from imapclient import IMAPClient

from mailbox_engine.connection_test import Server
from mailbox_engine.listener import Listener

from .dovecot import Dovecot

N = 1000
CHANGES = 50


def rss_mb():
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    count = int(argv[0]) if argv else N
    changes = int(argv[1]) if len(argv) > 1 else CHANGES
    folder = tempfile.mkdtemp(prefix="mcm-bench-listener-")
    os.chmod(folder, 0o755)
    accounts = {f"bench{n}@mail.test": f"pass-{n}" for n in range(count)}
    dovecot = Dovecot(os.path.join(folder, "dovecot"), "http://127.0.0.1:9/introspect", 9, accounts, connections=count)
    dovecot.start()
    changed = {}
    seen = threading.Event()
    try:
        before = rss_mb()
        with Listener(lambda key: (changed.setdefault(key, time.monotonic()), seen.set())) as listener:
            start = time.monotonic()
            for n, (address, password) in enumerate(sorted(accounts.items())):
                listener.add(n, Server("127.0.0.1", dovecot.imap_port, "none", address, password, timeout=30), address)
            while listener.idling() < count and time.monotonic() - start < 600:
                time.sleep(0.2)
            opened = time.monotonic() - start
            held = listener.idling()
            time.sleep(2)
            after = rss_mb()
            latencies = []
            names = sorted(accounts)
            for n in random.sample(range(count), min(changes, count)):
                with IMAPClient("127.0.0.1", port=dovecot.imap_port, ssl=False, timeout=30) as client:
                    client.login(names[n], accounts[names[n]])
                    sent = time.monotonic()
                    client.append("INBOX", f"Subject: b\r\nMessage-ID: <{secrets.token_hex(6)}@b.test>\r\n\r\nb\r\n")
                while n not in changed and time.monotonic() - sent < 30:
                    time.sleep(0.005)
                if n in changed:
                    latencies.append(changed[n] - sent)
        latencies.sort()
        print(f"bench: listener_connections_held = {held} of {count}")
        print(f"bench: listener_open_all_s = {opened:.1f}")
        print(f"bench: listener_rss_mb_per_1000 = {(after - before) * 1000 / max(held, 1):.1f}")
        print(f"bench: listener_process_rss_mb = {after:.1f}")
        if latencies:
            p95 = latencies[max(0, round(len(latencies) * 0.95) - 1)]
            print(f"bench: listener_change_p50_s = {statistics.median(latencies):.3f}")
            print(f"bench: listener_change_p95_s = {p95:.3f} ({len(latencies)} of {changes} seen)")
    finally:
        dovecot.stop()


if __name__ == "__main__":
    main()
