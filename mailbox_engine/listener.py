"""Hold many mailboxes' Inboxes in IMAP ``IDLE`` and say when one changes.

One :class:`Listener` runs one asyncio loop in its own thread and keeps one connection
per mailbox (``add(key, server, address)`` / ``remove(key)``, callable from any
thread). Each connection signs in (``LOGIN``, or ``AUTHENTICATE XOAUTH2`` with the
token), ``EXAMINE``\\ s the Inbox (read-only: nothing is marked) and waits in ``IDLE``:

* an untagged ``EXISTS``, ``EXPUNGE`` or ``FETCH`` calls ``on_change(key)``, once per
  ``debounce`` seconds however many came (a batch of messages is one sync);
* ``IDLE`` is ended (``DONE``) and issued again every ``idle_seconds`` (10 minutes by
  default: well under the 29 minutes of RFC 2177, and under the 10 to 15 minutes after
  which some servers and NAT boxes drop a silent connection); a server without ``IDLE``
  is asked ``NOOP`` every ``noop_seconds`` instead;
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

_UNTAGGED_CHANGE = re.compile(rb"^\* \d+ (EXISTS|EXPUNGE|FETCH)\b", re.IGNORECASE)
_LITERAL = re.compile(rb"\{(\d+)\+?\}$")
_MARK = re.compile(rb"\[(UIDVALIDITY|UIDNEXT) (\d+)\]", re.IGNORECASE)
_CAPABILITY = re.compile(rb"\[CAPABILITY ([^\]]*)\]", re.IGNORECASE)


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


class Listener:
    """Mailboxes held in ``IDLE`` by one asyncio loop in a thread of its own."""

    def __init__(
        self,
        on_change,
        on_auth_failed=None,
        *,
        idle_seconds=IDLE_SECONDS,
        noop_seconds=NOOP_SECONDS,
        debounce=DEBOUNCE_SECONDS,
        backoff=BACKOFF_SECONDS,
        backoff_max=BACKOFF_MAX_SECONDS,
        connecting_at_once=CONNECTING_AT_ONCE,
    ):
        self.on_change = on_change
        self.on_auth_failed = on_auth_failed
        self.idle_seconds, self.noop_seconds, self.debounce = idle_seconds, noop_seconds, debounce
        self.backoff, self.backoff_max = backoff, backoff_max
        self.connecting_at_once = connecting_at_once
        self.loop = None
        self._thread = None
        self._tasks = {}  # key: (task, server, address)
        self._idling = set()  # keys whose connection is in IDLE (or NOOP polling) right now
        self._pending = set()  # keys whose on_change is due after the debounce
        self._refused = set()  # keys whose sign-in was refused (not held until credentials change)
        self.counters = {"connects": 0, "idles": 0, "changes": 0, "drops": 0, "refused": 0}
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
            tasks = [task for task, _server, _address in self._tasks.values()]
            self._tasks.clear()
            for task in tasks:
                task.cancel()
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
    def add(self, key, server, address, inbox_mark=None):
        """Hold ``key``'s Inbox; again with other credentials (a new token, a new
        password), its connection is made again with them. Again with the credentials
        the server refused, nothing is tried (they would be refused again).

        ``inbox_mark``: ``(UIDVALIDITY, UIDNEXT)`` of the Inbox as last synced: when the
        server's differ once the Inbox is open, mail came in while nobody listened, and
        ``on_change`` is called (``(None, None)``, never synced: called; ``None``: not
        compared)."""
        self._call(self._add, key, server, address, inbox_mark)

    def remove(self, key):
        """Stop holding ``key`` (its connection is closed)."""
        self._call(self._remove, key)

    def keys(self):
        """The keys held (their connection open, or being made again)."""
        return set(self._tasks)

    def idling(self, key=None):
        """Whether ``key``'s connection waits in IDLE now (without ``key``: how many do)."""
        return len(self._idling) if key is None else key in self._idling

    def _call(self, fn, *args):
        if threading.current_thread() is self._thread:
            fn(*args)
            return
        asyncio.run_coroutine_threadsafe(self._run(fn, *args), self.loop).result(30)

    async def _run(self, fn, *args):
        fn(*args)

    def _add(self, key, server, address, inbox_mark=None):
        held = self._tasks.get(key)
        if held and held[1:] == (server, address) and (not held[0].done() or key in self._refused):
            return
        self._refused.discard(key)
        if held:
            held[0].cancel()
        task = self.loop.create_task(self._hold(key, server, address, inbox_mark), name=f"mailbox-listener-{key}")
        self._tasks[key] = (task, server, address)

    def _remove(self, key):
        held = self._tasks.pop(key, None)
        self._idling.discard(key)
        self._refused.discard(key)
        if held:
            held[0].cancel()

    # -- one mailbox -------------------------------------------------------------------
    async def _hold(self, key, server, address, inbox_mark):
        failures = 0
        first = True
        while True:
            started = time.monotonic()
            try:
                await self._session(key, server, address, inbox_mark if first else False)
            except asyncio.CancelledError:
                self._idling.discard(key)
                raise
            except SignInRefusedError as exc:
                self._idling.discard(key)
                self.counters["refused"] += 1
                self._refused.add(key)
                if self.on_auth_failed:
                    self._tell(self.on_auth_failed, key, exc.diagnosis)
                return
            except Exception as exc:  # the connection is gone: made again after a while
                self._idling.discard(key)
                self.counters["drops"] += 1
                _logger.debug("Listener connection of %s dropped (%s)", key, type(exc).__name__)
            first = False
            failures = 1 if time.monotonic() - started > STABLE_SECONDS else failures + 1
            delay = min(self.backoff_max, self.backoff * 2 ** (failures - 1))
            await asyncio.sleep(random.uniform(delay / 2, delay))

    async def _session(self, key, server, address, inbox_mark):
        """One connection, from the sign-in to its end. ``inbox_mark``: see :meth:`add`
        (``False``: back after a drop, mail may have come meanwhile)."""
        async with self._connecting:
            connection = await self._open(server)
        try:
            await self._sign_in(connection, server, address)
            found = {}

            def opened(data):
                for name, value in _MARK.findall(data):
                    found[name.upper()] = int(value)

            status, _text = await connection.command(b"EXAMINE INBOX", untagged=opened)
            if status != "OK":
                raise DroppedError(f"EXAMINE {status}")
            if inbox_mark is False or (
                inbox_mark is not None and tuple(inbox_mark) != (found.get(b"UIDVALIDITY"), found.get(b"UIDNEXT"))
            ):
                self._changed(key)
            self.counters["connects"] += 1
            if b"IDLE" in connection.capabilities:
                await self._idle(key, connection)
            else:
                await self._noop(key, connection)
        finally:
            connection.close()

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

    async def _idle(self, key, connection):
        def untagged(data):
            if _UNTAGGED_CHANGE.match(data):
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
            self._idling.add(key)
            self.counters["idles"] += 1
            ends = time.monotonic() + self.idle_seconds
            with contextlib.suppress(TimeoutError):
                while (left := ends - time.monotonic()) > 0:
                    untagged(await connection.line(left))
            self._idling.discard(key)
            connection.send(b"DONE")
            await connection.writer.drain()
            await connection.answer(tag, untagged)

    async def _noop(self, key, connection):
        def untagged(data):
            if _UNTAGGED_CHANGE.match(data):
                self._changed(key)

        self._idling.add(key)
        while True:
            await asyncio.sleep(self.noop_seconds)
            await connection.command(b"NOOP", untagged=untagged)

    # -- telling the owner -------------------------------------------------------------
    def _changed(self, key):
        self.counters["changes"] += 1
        if key in self._pending:
            return
        self._pending.add(key)
        self.loop.call_later(self.debounce, self._fire, key)

    def _fire(self, key):
        self._pending.discard(key)
        if key in self._tasks:
            self._tell(self.on_change, key)

    def _tell(self, callback, *args):
        try:
            callback(*args)
        except Exception:  # the owner's error: logged, the listener goes on
            _logger.exception("Listener callback %s failed", getattr(callback, "__name__", callback))
