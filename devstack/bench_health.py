"""Health check figures (plain Python, the real Dovecot): ``N`` mailboxes checked one
after the other (the baseline) and ``WORKERS`` at a time, as the scheduled check runs
them (``mailbox_engine.health.probe_all``): IMAP login and SMTP AUTH with a password."""

import time

from mailbox_engine.connection_test import Server
from mailbox_engine.health import Probe, probe_all

N = 40
WORKERS = 8


def probes(info):
    accounts = sorted(info["accounts"].items())
    items = []
    for n in range(N):
        address, password = accounts[n % len(accounts)]
        imap = Server(info["host"], info["imap_port"], "none", address, password)
        smtp = Server(info["host"], info["submission_port"], "none", address, password)
        items.append(Probe(n, "imap", address, imap, smtp))
    return items


def run(info):
    timings = {}
    for workers in (1, WORKERS):
        start = time.perf_counter()
        outcomes = probe_all(probes(info), workers=workers)
        timings[workers] = time.perf_counter() - start
        failed = [o for o in outcomes if not o.ok]
        if failed:
            raise SystemExit(f"bench: {len(failed)} checks failed: {failed[0].diagnosis}")
    print(f"bench: health_{N}_one_by_one_s = {timings[1]:.3f}")
    print(f"bench: health_{N}_{WORKERS}_at_once_s = {timings[WORKERS]:.3f}")
    print(f"bench: health_speedup = {timings[1] / timings[WORKERS]:.2f}x")
