"""The health check of many mailboxes at once: plain values in, plain results out.

The addon gathers, for each mailbox, what a check needs (a :class:`Probe`: the OAuth
client and its refresh input, or the password, and the servers); :func:`probe_all`
runs the network part of every probe concurrently (token refresh, IMAP login, SMTP
AUTH for custom servers) in a bounded thread pool, sized for waiting on servers; the
addon writes the results in one transaction. Nothing here touches a database.

A probe waits for the server as few times as it can: IMAP, the greeting (whose
capabilities are used, no CAPABILITY command) and LOGIN; SMTP, the greeting, EHLO and
AUTH (with its initial response); LOGOUT and QUIT are sent and not waited for.

:func:`incidents` looks at a whole run: an OAuth app that is itself refused, or many
mailboxes of one provider failing for a passing reason (or throttled) at once, is one
incident of the app or the provider, not a loss of access of each mailbox. A custom
server is a "provider" only when mailboxes of several owners use it: one user's own
server failing is that user's problem, told to them mailbox by mailbox, never an
incident for the administrators.
"""

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass, field, replace

from . import diagnosis as diag_lib
from . import providers
from .connection_test import Server, Step, check_imap, check_smtp
from .oauth import Grant, OAuthError

APP_KINDS = ("app_config",)  # the OAuth app itself is refused: every mailbox of the provider fails
OUTAGE_MIN_MAILBOXES = 3  # at least this many mailboxes of one provider failing for a passing reason…
OUTAGE_MIN_SHARE = 0.5  # …and at least this share of those checked in the run: an outage
OUTAGE_MIN_OWNERS = 2  # a custom server: failing for mailboxes of at least this many owners


@dataclass
class Probe:
    """What one mailbox's check needs. OAuth: ``client`` and ``refresh`` (a callable
    ``client -> Grant``), or a still valid ``token``; custom: passwords in the servers."""

    mailbox_id: int
    provider: str
    address: str
    imap: Server
    smtp: Server | None = None  # checked for custom servers only (OAuth: the token says it)
    client: object = None
    refresh: object = None
    token: str = ""
    owner: int = 0  # the owner's id: a custom server is an incident for several owners only
    pipelined: bool = True  # LOGOUT and QUIT sent and not waited for (False: waited for, as before)


@dataclass
class Outcome:
    mailbox_id: int
    provider: str
    ok: bool
    step: str = ""  # the failed step: Sign-in, TCP, TLS, Login…
    diagnosis: diag_lib.Diagnosis | None = None
    grant: Grant | None = None  # a refreshed token, to store
    seconds: float = 0.0
    detail: str = field(default="", repr=False)
    host: str = ""  # the IMAP server (custom servers are grouped by it)
    owner: int = 0
    steps: tuple = field(default=(), repr=False)  # ("IMAP" | "SMTP", Step), as the check went


def probe(item):
    """Check one mailbox: refresh its token (OAuth), sign in to IMAP, and to SMTP for a
    custom server. Never raises: any failure is an :class:`Outcome` with a diagnosis."""
    start = time.monotonic()
    grant = None
    try:
        token = item.token
        if item.refresh is not None and not token:
            grant = item.refresh(item.client)
            token = grant.access_token
        imap_server = replace(item.imap, oauth_token=token) if token else item.imap
        waited = not item.pipelined
        tagged = [
            ("IMAP", step) for step in check_imap(imap_server, item.address, probe_tcp=False, wait_goodbye=waited)
        ]
        if tagged[-1][1].ok and item.smtp is not None:
            tagged += [
                ("SMTP", step) for step in check_smtp(item.smtp, item.address, probe_tcp=False, wait_goodbye=waited)
            ]
    except OAuthError as exc:
        tagged = [("IMAP", Step("Sign-in", False, "", exc.diagnosis))]
    except Exception as exc:
        params = {"host": item.imap.host, "port": item.imap.port, "address": item.address}
        tagged = [("IMAP", Step("Check", False, "", diag_lib.from_network_error(exc, **params)))]
    last = tagged[-1][1]
    return Outcome(
        item.mailbox_id,
        item.provider,
        last.ok,
        "" if last.ok else last.name,
        None if last.ok else last.diagnosis,
        grant,
        time.monotonic() - start,
        last.detail,
        item.imap.host,
        item.owner,
        tuple(tagged),
    )


def probe_all(items, workers=8):
    """:func:`probe` every item, ``workers`` at a time; outcomes in the items' order."""
    items = list(items)
    if len(items) <= 1 or workers <= 1:
        return [probe(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items)), thread_name_prefix="mcm-health") as pool:
        return list(pool.map(probe, items))


_pools = {}  # workers -> (process id, pool): threads kept between runs, not started per check
_pools_lock = threading.Lock()


def shared_pool(workers):
    """The process's pool of ``workers`` threads (made once; a forked process makes its own)."""
    workers = max(1, workers)
    with _pools_lock:
        pid, pool = _pools.get(workers, (None, None))
        if pool is None or pid != os.getpid():
            pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mcm-health")
            _pools[workers] = (os.getpid(), pool)
        return pool


class Prober:
    """Probes running ``workers`` at a time while the caller goes on: :meth:`submit` as
    soon as a probe is ready, then :meth:`outcomes` yields each outcome as it completes
    (so the caller writes results while the other checks are still on the network).
    The threads are the process's (:func:`shared_pool`), kept from one run to the next."""

    def __init__(self, workers=8):
        self.pool = shared_pool(workers)
        self.futures = []

    def submit(self, item):
        self.futures.append(self.pool.submit(probe, item))

    def outcomes(self):
        for future in as_completed(self.futures):
            yield future.result()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for future in self.futures:  # this run's probes not started yet (the caller failed)
            future.cancel()
        wait(self.futures)


@dataclass
class Incident:
    provider: str
    kind: str  # "app" (the OAuth app is refused) or "outage" (the provider fails for many)
    diagnosis: diag_lib.Diagnosis
    mailbox_ids: list
    host: str = ""  # a custom server's incident: that server


def group_key(provider, host):
    """What an incident is about: a provider (Google, Microsoft), or one custom server."""
    info = providers.PROVIDERS.get(provider)
    if info is not None and info.oauth:
        return (provider, "")
    return (provider, (host or "").strip().lower())


def incidents(outcomes):
    """The incidents of apps or providers in one run's outcomes (see the module doc);
    the mailboxes they name are not to be marked or alerted one by one."""
    found = []
    groups = {}
    for outcome in outcomes:
        groups.setdefault(group_key(outcome.provider, outcome.host), []).append(outcome)
    for (provider, host), group in groups.items():
        app = [o for o in group if o.diagnosis and o.diagnosis.kind in APP_KINDS]
        if app:
            found.append(Incident(provider, "app", app[0].diagnosis, [o.mailbox_id for o in app], host))
        passing = [o for o in group if o.diagnosis and o.diagnosis.state in (diag_lib.TRANSIENT, diag_lib.THROTTLED)]
        if len(passing) < OUTAGE_MIN_MAILBOXES or len(passing) < OUTAGE_MIN_SHARE * len(group):
            continue
        if host and len({o.owner for o in passing}) < OUTAGE_MIN_OWNERS:
            continue  # one user's own server: that user's problem, not the administrators'
        found.append(Incident(provider, "outage", passing[0].diagnosis, [o.mailbox_id for o in passing], host))
    return found
