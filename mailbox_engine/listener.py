"""Hold many mailboxes' Inboxes (and Sent folders) in IMAP ``IDLE`` and say when one changes.

One :class:`Listener` runs one asyncio loop in its own thread and keeps one connection
per mailbox (``add(key, server, address)`` / ``remove(key)``, callable from any
thread). Each connection signs in (``LOGIN``, or ``AUTHENTICATE XOAUTH2`` with the
token), ``EXAMINE``\\ s the Inbox (read-only: nothing is marked) and waits in ``IDLE``:

* an untagged ``EXISTS``, ``EXPUNGE`` or ``FETCH`` calls ``on_change(key)``, once per
  ``debounce`` seconds however many came (a batch of messages is one sync);
* the Sent folder too, when given (``add(..., sent=path)``: the user logs mail sent
  from other mail apps): where the server offers ``NOTIFY`` (RFC 5465) the Inbox's
  connection watches it as well (``NOTIFY SET STATUS (selected ...) (mailboxes Sent
  ...)``: a ``STATUS`` of Sent is a change), else a second connection waits in ``IDLE``
  on Sent, if the account's budget allows it (else Sent stays polled);
* a budget per account (server and login: mailboxes signing in as the same account count
  together): the listener keeps at most ``budget`` connections of it, under what the
  provider allows one account (:func:`account_budget`), leaving room for the sync, the
  health check and the user's own mail apps. An Inbox comes before a Sent folder; an
  Inbox over the budget is not held (polling goes on for it), said in the log;
* ``IDLE`` is ended (``DONE``) and issued again every ``idle_seconds`` (10 minutes by
  default: well under the 29 minutes of RFC 2177, and under the 10 to 15 minutes after
  which some servers and NAT boxes drop a silent connection); a server without ``IDLE``
  is asked ``NOOP`` every ``noop_seconds`` instead;
* an OAuth token that expires within ``token_margin`` seconds (``add(...,
  token_expires=…)``) calls ``on_token_due(key)``: the owner gets a fresh token and adds
  the mailbox again with it. New credentials for a mailbox held in ``IDLE`` are a
  handover: the new connection signs in and waits in ``IDLE`` first, the old one is
  closed after (nothing is missed in between);
* a refused sign-in calls ``on_auth_failed(key, diagnosis)`` (the diagnosis of
  :func:`.diagnosis.from_imap_error`) and the mailbox is no longer held: signing in
  again with the same credentials would be refused again;
* any other failure (the server or the network dropped it, a timeout) reconnects after
  an exponential back-off with jitter (``backoff`` to ``backoff_max`` seconds, each delay
  drawn between half and all of it), and at most ``connecting_at_once`` connections are
  being opened at once in the whole listener: a server that restarts under a thousand
  connections sees them come back spread over time, never all at once. A mailbox back
  after a drop calls ``on_change`` once (mail may have come in meanwhile).

Every socket is opened by :func:`.netgate.connect` (the gate's host check, then the
checked address only); TLS is set up on it against the host name. The callbacks run in
the listener's thread: they must return quickly (hand the work to another thread).
"""

import asyncio
import base64
import contextlib
import logging
import random
import re
import threading
import time

from imapclient import imap_utf7

from . import diagnosis as diag_lib
from . import netgate
from .connection_test import diagnosis_params
from .providers import SECURITY_SSL, SECURITY_STARTTLS

_logger = logging.getLogger(__name__)

IDLE_SECONDS = 600
NOOP_SECONDS = 60
DEBOUNCE_SECONDS = 1.0
BACKOFF_SECONDS = 2.0
BACKOFF_MAX_SECONDS = 300.0
CONNECTING_AT_ONCE = 20
ANSWER_TIMEOUT = 30.0  # seconds a command waits for its answer before the connection counts as dead
STABLE_SECONDS = 60.0  # a connection that idled this long resets the back-off
TOKEN_MARGIN_SECONDS = 300.0  # an OAuth token is renewed this long before it expires

# Simultaneous IMAP connections a provider allows one account (every client together):
# - Gmail: 15 per account ("Too many simultaneous connections" past it; Google's IMAP
#   help for Gmail and Workspace);
# - Microsoft 365 / Exchange Online: 20 concurrent IMAP4 connections per mailbox
#   (Microsoft's "Exchange Online Throttling and Limits FAQ", Exchange developer blog,
#   2011-06-23: "Maximum concurrent IMAP connections: 20"); an Exchange Server of one's
#   own: MaxConnectionsPerUser, 16 by default (Microsoft Learn, "Set connection limits
#   for IMAP4", https://learn.microsoft.com/en-us/exchange/set-connection-limits-for-imap4-exchange-2013-help);
# - other servers: 10, Dovecot's default mail_max_userip_connections (per user and
#   client address), what most hosted servers keep.
ACCOUNT_LIMITS = {"google": 15, "microsoft": 20, "imap": 10}
# Left to the others under that limit: the sync and the health check (one each), a
# connection made again with a fresh token while the old one still watches, and the
# user's own mail apps (two).
ACCOUNT_RESERVED = 5

_UNTAGGED_CHANGE = re.compile(rb"^\* \d+ (EXISTS|EXPUNGE|FETCH)\b", re.IGNORECASE)
_LITERAL = re.compile(rb"\{(\d+)\+?\}$")
_MARK = re.compile(rb"\[(UIDVALIDITY|UIDNEXT) (\d+)\]", re.IGNORECASE)
_CAPABILITY = re.compile(rb"\[CAPABILITY ([^\]]*)\]", re.IGNORECASE)
_STATUS = re.compile(rb"^\* STATUS ", re.IGNORECASE)
_STATUS_MARK = re.compile(rb"\b(UIDVALIDITY|UIDNEXT) (\d+)", re.IGNORECASE)


def account_budget(provider_code):
    """How many connections the listener keeps at most for one account of this
    provider (``"google"``, ``"microsoft"``, anything else: a server of one's own)."""
    limit = ACCOUNT_LIMITS.get(provider_code, ACCOUNT_LIMITS["imap"])
    return max(1, limit - ACCOUNT_RESERVED)


def account_of(server, address):
    """Who signs in where: what a provider counts connections by."""
    return (server.host.lower(), (server.login or address).lower())


class SignInRefusedError(Exception):
    """The server refused the credentials (or answered the sign-in with an error)."""

    def __init__(self, diagnosis):
        super().__init__(diagnosis.kind)
        self.diagnosis = diagnosis


class DroppedError(ConnectionError):
    """The server said BYE, closed the connection or answered what a client cannot go on with."""


def quoted(text):
    """An IMAP quoted string, or ``None`` when ``text`` needs a literal (8-bit, CR, LF)."""
    if any(c in text for c in "\r\n\0") or not text.isascii():
        return None
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _Connection:
    """One IMAP connection on asyncio streams: tagged commands, untagged lines."""

    def __init__(self, reader, writer, timeout):
        self.reader, self.writer, self.timeout = reader, writer, timeout
        self.tag = 0
        self.capabilities = set()

    async def line(self, timeout=None):
        """The next line from the server (literals read and joined in), without CRLF."""
        data = await asyncio.wait_for(self.reader.readline(), timeout or self.timeout)
        if not data:
            raise DroppedError("closed")
        data = data.rstrip(b"\r\n")
        found = _LITERAL.search(data)
        while found:  # a FETCH answer with a literal: its bytes, then the rest of the line
            literal = await asyncio.wait_for(self.reader.readexactly(int(found.group(1))), self.timeout)
            rest = (await asyncio.wait_for(self.reader.readline(), self.timeout)).rstrip(b"\r\n")
            data = data + literal + rest
            found = _LITERAL.search(rest)
        if data.upper().startswith(b"* BYE"):
            raise DroppedError("BYE")
        return data

    def send(self, data):
        self.writer.write(data + b"\r\n")

    async def command(self, *parts, untagged=None):
        """Send a command (``parts``: bytes sent as they are, or ``str`` sent as a quoted
        string or a literal); return ``(status, text)`` of its tagged answer. Untagged
        lines go to ``untagged(line)``."""
        self.tag += 1
        tag = b"L%d" % self.tag
        pieces = [tag]
        for part in parts:
            if isinstance(part, bytes):
                pieces.append(part)
                continue
            simple = quoted(part)
            if simple is not None:
                pieces.append(simple.encode())
                continue
            raw = part.encode()  # a literal: wait for the server's go-ahead, then its bytes
            self.send(b" ".join([*pieces, b"{%d}" % len(raw)]))
            await self.writer.drain()
            while not (data := await self.line()).startswith(b"+"):
                if data.startswith(tag + b" "):  # refused before the literal's bytes
                    status, _sep, text = data[len(tag) + 1 :].partition(b" ")
                    return status.upper().decode(), text.decode(errors="replace")
            pieces = [raw]
        self.send(b" ".join(pieces))
        await self.writer.drain()
        return await self.answer(tag, untagged)

    async def answer(self, tag, untagged=None):
        while True:
            data = await self.line()
            if data.startswith(tag + b" "):
                status, _sep, text = data[len(tag) + 1 :].partition(b" ")
                self.learn(text)
                return status.upper().decode(), text.decode(errors="replace")
            if data.startswith(b"+"):  # a SASL challenge (an XOAUTH2 error): answered empty
                self.send(b"")
                await self.writer.drain()
                continue
            self.learn(data)
            if untagged:
                untagged(data)

    def learn(self, data):
        if data.upper().startswith(b"* CAPABILITY "):
            self.capabilities = set(data[13:].upper().split())
        found = _CAPABILITY.search(data)
        if found:
            self.capabilities = set(found.group(1).upper().split())

    def close(self):
        with contextlib.suppress(Exception):
            self.writer.close()


class _Held:
    """What the listener holds for one key: its credentials, folders and connections."""

    def __init__(self, key, server, address, *, sent, account, budget):
        self.key, self.server, self.address, self.sent = key, server, address, sent
        self.account, self.budget = account, budget
        self.task = None  # the Inbox's connection (watching Sent too when NOTIFY is set)
        self.notify = None  # the task whose connection watches Sent by NOTIFY
        self.sent_task = None  # a second connection, in IDLE on Sent
        self.sent_server = None  # the credentials of that second connection
        self.sent_mark = None
        self.seen = {}  # folder: (UIDVALIDITY, UIDNEXT) as the last connection opened it
        self.token_timer = None

    def same(self, server, address, sent):
        return (self.server, self.address, self.sent) == (server, address, sent)


class Listener:
    """Mailboxes held in ``IDLE`` by one asyncio loop in a thread of its own."""

    def __init__(
        self,
        on_change,
        on_auth_failed=None,
        on_token_due=None,
        *,
        idle_seconds=IDLE_SECONDS,
        noop_seconds=NOOP_SECONDS,
        debounce=DEBOUNCE_SECONDS,
        backoff=BACKOFF_SECONDS,
        backoff_max=BACKOFF_MAX_SECONDS,
        connecting_at_once=CONNECTING_AT_ONCE,
        token_margin=TOKEN_MARGIN_SECONDS,
        notify=True,
    ):
        self.on_change = on_change
        self.on_auth_failed = on_auth_failed
        self.on_token_due = on_token_due
        self.idle_seconds, self.noop_seconds, self.debounce = idle_seconds, noop_seconds, debounce
        self.backoff, self.backoff_max = backoff, backoff_max
        self.connecting_at_once = connecting_at_once
        self.token_margin = token_margin
        self.notify = notify  # False: never NOTIFY, Sent always on a connection of its own
        self.loop = None
        self._thread = None
        self._held = {}  # key: _Held
        self._idle = set()  # tasks whose connection is in IDLE (or NOOP polling) right now
        self._pending = set()  # keys whose on_change is due after the debounce
        self._refused = set()  # keys whose sign-in was refused (not held until credentials change)
        self._accounts = {}  # account: {"inbox": keys, "sent": keys} holding a connection of it
        self.counters = {
            "connects": 0,
            "idles": 0,
            "changes": 0,
            "drops": 0,
            "refused": 0,
            "handovers": 0,
            "over_budget": 0,
        }
        self._connecting = None

    # -- life of the loop --------------------------------------------------------------
    def start(self):
        ready = threading.Event()

        def run():
            self.loop = asyncio.new_event_loop()
            self._connecting = asyncio.Semaphore(self.connecting_at_once)
            ready.set()
            self.loop.run_forever()

        self._thread = threading.Thread(target=run, name="mailbox-listener", daemon=True)
        self._thread.start()
        ready.wait()
        return self

    def stop(self, timeout=10):
        """Close every connection and end the loop's thread."""
        if not self.loop:
            return

        async def close_all():
            keys = list(self._held)
            tasks = [t for held in self._held.values() for t in (held.task, held.sent_task) if t]
            for key in keys:
                self._remove(key)
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close_all(), self.loop).result(timeout)
        with contextlib.suppress(Exception):  # the threads that opened the sockets
            asyncio.run_coroutine_threadsafe(self.loop.shutdown_default_executor(), self.loop).result(timeout)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)
        self.loop.close()
        self.loop = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- what the owner asks (any thread) ----------------------------------------------
    def add(self, key, server, address, inbox_mark=None, *, sent=None, sent_mark=None, budget=None, token_expires=None):
        """Hold ``key``'s Inbox; return whether it is held (``False``: its account's budget
        is full, polling goes on for it). Again with other credentials (a new token, a new
        password), its connection is made again with them (the old one closed once the new
        one waits in IDLE). Again with the credentials the server refused, nothing is tried
        (they would be refused again).

        ``inbox_mark``: ``(UIDVALIDITY, UIDNEXT)`` of the Inbox as last synced: when the
        server's differ once the Inbox is open, mail came in while nobody listened, and
        ``on_change`` is called (``(None, None)``, never synced: called; ``None``: not
        compared). ``sent``: the Sent folder's path, watched too (``sent_mark`` as
        ``inbox_mark``). ``budget``: connections of this account the listener keeps at most
        (:func:`account_budget`; by default a server of one's own). ``token_expires``: when
        the OAuth token expires (``time.time()`` seconds): ``on_token_due(key)`` is called
        ``token_margin`` seconds before (at most half the time left)."""
        return self._call(
            self._add,
            key,
            server,
            address,
            inbox_mark,
            sent=sent,
            sent_mark=sent_mark,
            budget=budget or account_budget("imap"),
            token_expires=token_expires,
        )

    def remove(self, key):
        """Stop holding ``key`` (its connections are closed)."""
        self._call(self._remove, key)

    def keys(self):
        """The keys held (their connection open, or being made again)."""
        return set(self._held)

    def idling(self, key=None):
        """Whether ``key``'s Inbox connection waits in IDLE now (without ``key``: how many do)."""
        if key is None:
            return sum(1 for held in list(self._held.values()) if held.task in self._idle)
        held = self._held.get(key)
        return bool(held and held.task in self._idle)

    def watching(self, key):
        """``{folder: how}`` of what ``key``'s connections watch now: ``"INBOX": "IDLE"``,
        and its Sent folder (``"NOTIFY"`` through the Inbox's connection, or ``"IDLE"`` on
        a connection of its own)."""
        held = self._held.get(key)
        if not held or held.task not in self._idle:
            return {}
        found = {"INBOX": "IDLE"}
        if held.sent and held.notify is held.task:
            found[held.sent] = "NOTIFY"
        elif held.sent and held.sent_task in self._idle:
            found[held.sent] = "IDLE"
        return found

    def _call(self, fn, *args, **kwargs):
        if threading.current_thread() is self._thread:
            return fn(*args, **kwargs)
        return asyncio.run_coroutine_threadsafe(self._run(fn, *args, **kwargs), self.loop).result(30)

    async def _run(self, fn, *args, **kwargs):
        return fn(*args, **kwargs)

    def _add(self, key, server, address, inbox_mark, *, sent, sent_mark, budget, token_expires):
        held = self._held.get(key)
        if held and held.same(server, address, sent) and (not held.task.done() or key in self._refused):
            held.budget = budget
            return True
        self._refused.discard(key)
        account = account_of(server, address)
        if held and held.account != account:  # another account: not a handover
            self._remove(key)
            held = None
        if held is None:
            held = _Held(key, server, address, sent=sent, account=account, budget=budget)
            if not self._take(held, "inbox"):
                self.counters["over_budget"] += 1
                _logger.info(
                    "Listener: %s of %s is not held, its account's %s connections are taken (it is polled)",
                    "INBOX",
                    key,
                    budget,
                )
                return False
            self._held[key] = held
            replaces = None
        else:  # new credentials: the new connection first, the old one closed once it waits
            replaces = held.task if held.task in self._idle else None
            if replaces is None:
                held.task.cancel()
            else:
                self.counters["handovers"] += 1
                # the old connection watches until the new one does; what came before the
                # new one opened the Inbox is told by the marks (the old one may not have
                # been told yet: servers gather changes a moment before they say them)
                inbox_mark = held.seen.get("INBOX") if inbox_mark is None else inbox_mark
                if sent_mark is None and held.sent == sent:
                    sent_mark = held.seen.get(sent)
            if held.sent != sent:
                self._stop_sent(held)
            held.server, held.address, held.sent, held.budget = server, address, sent, budget
        held.sent_mark = sent_mark
        held.task = self.loop.create_task(
            self._hold(held, "INBOX", inbox_mark, replaces), name=f"mailbox-listener-{key}"
        )
        if held.token_timer:
            held.token_timer.cancel()
            held.token_timer = None
        if token_expires and self.on_token_due:
            left = token_expires - time.time()
            held.token_timer = self.loop.call_later(
                max(0.0, left - min(self.token_margin, left / 2)), self._token_due, key, held.task
            )
        return True

    def _remove(self, key):
        held = self._held.pop(key, None)
        self._refused.discard(key)
        if not held:
            return
        if held.token_timer:
            held.token_timer.cancel()
        held.task.cancel()
        self._stop_sent(held)
        self._give_back(held, "inbox")

    # -- the budget of each account ----------------------------------------------------
    def _take(self, held, kind):
        """Take a connection of ``held``'s account for its Inbox or its Sent (an Inbox
        takes the place of another mailbox's Sent when the budget is full)."""
        taken = self._accounts.setdefault(held.account, {"inbox": set(), "sent": set()})
        if len(taken["inbox"]) + len(taken["sent"]) >= held.budget:
            if kind == "sent" or not taken["sent"]:
                return False
            other = self._held[min(taken["sent"], key=str)]
            _logger.info(
                "Listener: the Sent folder of %s leaves for the Inbox of %s (it is polled)", other.key, held.key
            )
            self._stop_sent(other)
        taken[kind].add(held.key)
        return True

    def _give_back(self, held, kind):
        taken = self._accounts.get(held.account)
        if taken:
            taken[kind].discard(held.key)
            if not taken["inbox"] and not taken["sent"]:
                del self._accounts[held.account]

    def connections(self, server, address):
        """How many connections of this account the listener holds (or is making)."""
        taken = self._accounts.get(account_of(server, address), {})
        return sum(len(keys) for keys in taken.values())

    # -- the Sent folder -----------------------------------------------------------------
    def _want_sent(self, held, task):
        """The Inbox's connection of ``task`` cannot watch Sent: a connection of its own."""
        if self._held.get(held.key) is not held or held.task is not task:
            return
        if held.sent_task and not held.sent_task.done() and held.sent_server == held.server:
            return
        old = held.sent_task
        if old is None or old.done():
            if not self._take(held, "sent"):
                self.counters["over_budget"] += 1
                _logger.info(
                    "Listener: the Sent folder of %s is not watched, its account's %s connections are taken "
                    "(it is polled)",
                    held.key,
                    held.budget,
                )
                return
            old = None
        replaces = old if old in self._idle else None
        if old and replaces is None:
            old.cancel()
        held.sent_server = held.server
        held.sent_task = self.loop.create_task(
            self._hold(held, held.sent, held.seen.get(held.sent) if replaces else held.sent_mark, replaces),
            name=f"mailbox-listener-{held.key}-sent",
        )

    def _stop_sent(self, held):
        if held.sent_task:
            held.sent_task.cancel()
            held.sent_task = None
            self._give_back(held, "sent")

    # -- one connection ------------------------------------------------------------------
    async def _hold(self, held, folder, mark, replaces):
        """Keep one connection of ``held`` in IDLE on ``folder`` (``"INBOX"``, or its Sent),
        made again after a drop, until cancelled."""
        failures = 0
        first = True
        this = asyncio.current_task()
        try:
            while True:
                started = time.monotonic()
                try:
                    await self._session(held, folder, mark if first else False, replaces)
                except asyncio.CancelledError:
                    raise
                except SignInRefusedError as exc:
                    self._idle.discard(this)
                    if folder != "INBOX":  # the Inbox's connection says it
                        return
                    self.counters["refused"] += 1
                    self._refused.add(held.key)
                    if self.on_auth_failed:
                        self._tell(self.on_auth_failed, held.key, exc.diagnosis)
                    return
                except Exception as exc:  # the connection is gone: made again after a while
                    self._idle.discard(this)
                    self.counters["drops"] += 1
                    _logger.debug("Listener connection of %s dropped (%s)", held.key, type(exc).__name__)
                if this not in (held.task, held.sent_task):  # another connection took its place
                    return
                if replaces is not None:  # never took over: mail may come while it is made again
                    replaces.cancel()
                    replaces = None
                first = False
                failures = 1 if time.monotonic() - started > STABLE_SECONDS else failures + 1
                delay = min(self.backoff_max, self.backoff * 2 ** (failures - 1))
                await asyncio.sleep(random.uniform(delay / 2, delay))
        finally:
            self._idle.discard(this)
            if held.notify is this:
                held.notify = None
            if replaces is not None:  # the connection it was to replace never outlives it
                replaces.cancel()

    async def _session(self, held, folder, mark, replaces):
        """One connection, from the sign-in to its end. ``mark``: see :meth:`add`
        (``False``: back after a drop, mail may have come meanwhile). Once it waits in
        IDLE, the connection it ``replaces`` is closed."""
        key, server = held.key, held.server if folder == "INBOX" else held.sent_server
        this = asyncio.current_task()
        async with self._connecting:
            connection = await self._open(server)
        try:
            await self._sign_in(connection, server, held.address)
            found = {}

            def opened(data):
                for name, value in _MARK.findall(data):
                    found[name.upper()] = int(value)

            name = b"INBOX" if folder == "INBOX" else _mailbox_name(folder)
            status, _text = await connection.command(b"EXAMINE", name, untagged=opened)
            if status != "OK":
                raise DroppedError(f"EXAMINE {status}")
            if _differs(mark, found):
                self._changed(key)
            held.seen[folder] = (found.get(b"UIDVALIDITY"), found.get(b"UIDNEXT"))
            if folder == "INBOX" and held.sent:
                notified = await self._notify(held, connection, False if mark is False else held.sent_mark)
                held.notify = this if notified else None
            self.counters["connects"] += 1

            def waiting():
                self._idle.add(this)
                if replaces is not None:
                    replaces.cancel()
                if folder == "INBOX" and held.sent and held.task is this:
                    if held.notify is this:
                        self._stop_sent(held)
                    else:
                        self._want_sent(held, this)

            if b"IDLE" in connection.capabilities:
                await self._idle_loop(key, connection, waiting)
            else:
                await self._noop(key, connection, waiting)
        finally:
            connection.close()

    async def _notify(self, held, connection, sent_mark):
        """Ask the Inbox's connection to say changes of Sent too (``NOTIFY``, RFC 5465);
        ``False`` when the server does not (then Sent needs a connection of its own)."""
        if not self.notify or b"NOTIFY" not in connection.capabilities:
            return False
        found = {}

        def status(data):
            if _STATUS.match(data):
                for name, value in _STATUS_MARK.findall(data):
                    found[name.upper()] = int(value)

        name = _mailbox_name(held.sent)
        answer, _text = await connection.command(
            b"NOTIFY SET STATUS (selected (MessageNew MessageExpunge FlagChange)) (mailboxes",
            name,
            b"(MessageNew MessageExpunge))",
            untagged=status,
        )
        if answer != "OK":
            _logger.debug("Listener: NOTIFY refused for %s (%s): Sent on a connection of its own", held.key, answer)
            return False
        held.seen[held.sent] = (found.get(b"UIDVALIDITY"), found.get(b"UIDNEXT"))
        if _differs(sent_mark, found):
            self._changed(held.key)
        return True

    async def _open(self, server):
        loop = asyncio.get_running_loop()
        sock = await loop.run_in_executor(
            None, netgate.connect, server.host, server.port, server.timeout, server.policy
        )
        sock.setblocking(False)
        tls = server.security == SECURITY_SSL
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(
                    sock=sock,
                    ssl=server.context() if tls else None,
                    server_hostname=server.host if tls else None,
                    limit=2**20,
                ),
                server.timeout,
            )
        except BaseException:
            sock.close()
            raise
        connection = _Connection(reader, writer, ANSWER_TIMEOUT)
        greeting = await connection.line(server.timeout)
        if not greeting.upper().startswith((b"* OK", b"* PREAUTH")):
            connection.close()
            raise DroppedError("not an IMAP greeting")
        connection.learn(greeting)
        if server.security == SECURITY_STARTTLS:
            status, _text = await connection.command(b"STARTTLS")
            if status != "OK":
                connection.close()
                raise DroppedError("STARTTLS refused")
            await writer.start_tls(server.context(), server_hostname=server.host)
            connection.capabilities = set()
        return connection

    async def _sign_in(self, connection, server, address):
        if not connection.capabilities:
            await connection.command(b"CAPABILITY")
        if server.oauth_token:
            sasl = f"user={address}\x01auth=Bearer {server.oauth_token}\x01\x01"
            status, text = await connection.command(b"AUTHENTICATE XOAUTH2 " + base64.b64encode(sasl.encode()))
        else:
            status, text = await connection.command(b"LOGIN", server.login, server.password)
        if status != "OK":
            words = text if status == "NO" else f"LOGIN command error: {status} {text}"
            params = diagnosis_params(server, "IMAP", address)
            raise SignInRefusedError(diag_lib.from_imap_error(words, with_password=not server.oauth_token, **params))
        if not any(c.startswith(b"IDLE") for c in connection.capabilities):
            await connection.command(b"CAPABILITY")  # some servers announce more once signed in

    async def _idle_loop(self, key, connection, waiting):
        def untagged(data):
            if _UNTAGGED_CHANGE.match(data) or _STATUS.match(data):
                self._changed(key)

        while True:
            connection.tag += 1
            tag = b"L%d" % connection.tag
            connection.send(tag + b" IDLE")
            await connection.writer.drain()
            while True:
                data = await connection.line()
                if data.startswith(b"+"):
                    break
                if data.startswith(tag + b" "):
                    raise DroppedError("IDLE refused")
                untagged(data)
            waiting()
            self.counters["idles"] += 1
            ends = time.monotonic() + self.idle_seconds
            with contextlib.suppress(TimeoutError):
                while (left := ends - time.monotonic()) > 0:
                    untagged(await connection.line(left))
            connection.send(b"DONE")
            await connection.writer.drain()
            await connection.answer(tag, untagged)

    async def _noop(self, key, connection, waiting):
        def untagged(data):
            if _UNTAGGED_CHANGE.match(data) or _STATUS.match(data):
                self._changed(key)

        waiting()
        while True:
            await asyncio.sleep(self.noop_seconds)
            await connection.command(b"NOOP", untagged=untagged)

    # -- tokens --------------------------------------------------------------------------
    def _token_due(self, key, task):
        held = self._held.get(key)
        if held and held.task is task:
            held.token_timer = None
            self._tell(self.on_token_due, key)

    # -- telling the owner -------------------------------------------------------------
    def _changed(self, key):
        self.counters["changes"] += 1
        if key in self._pending:
            return
        self._pending.add(key)
        self.loop.call_later(self.debounce, self._fire, key)

    def _fire(self, key):
        self._pending.discard(key)
        if key in self._held:
            self._tell(self.on_change, key)

    def _tell(self, callback, *args):
        try:
            callback(*args)
        except Exception:  # the owner's error: logged, the listener goes on
            _logger.exception("Listener callback %s failed", getattr(callback, "__name__", callback))


def _differs(mark, found):
    """Whether a folder's ``(UIDVALIDITY, UIDNEXT)`` as last synced is not the server's
    (``False``: back after a drop, taken as a change; ``None``: not compared)."""
    if mark is None:
        return False
    return mark is False or tuple(mark) != (found.get(b"UIDVALIDITY"), found.get(b"UIDNEXT"))


def _mailbox_name(path):
    """A folder's path as IMAP names it (modified UTF-7), quoted."""
    return quoted(imap_utf7.encode(path).decode("ascii")).encode("ascii")
