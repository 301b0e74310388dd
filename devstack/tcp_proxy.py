"""A TCP proxy of the stack's own, on 127.0.0.1 in front of a real server, for faults
and for servers that behave otherwise than Dovecot.

- ``cut(...)``: the next connection(s) are cut (both sides closed at once, with a TCP
  reset) after a number of bytes in one direction, counted from the start or from the
  first time a pattern passes (in the middle of a ``FETCH`` literal, of ``DATA``…).
- ``rewrite(fn)``: each line the server sends goes through ``fn(line, conn)`` first
  (IMAP-aware: a literal's bytes pass untouched, its ``{n}`` count must stay true);
  ``watch(fn)`` sees each line the client sends. ``conn`` is a dict per connection.
- ``drop_all()``: cut every open connection now.
- ``Proxy(port, delay=0.025)``: every chunk waits ``delay`` seconds before it goes on, in
  each direction (in order; connections do not wait for each other): a round trip
  through it costs ``2 * delay`` more, as a server across the network would.
- ``round_trips()``: counts, per connection, the times the client waited for the server
  (the greeting, then each command sent while none was waiting for its answer: commands
  sent together count once), and the commands a client closed its side without waiting
  for (``round_trips(smtp=True)``: the same for SMTP).

Used in-process by the tests: ``with Proxy(port) as proxy: ... proxy.port``.
"""

import contextlib
import queue
import re
import socket
import struct
import threading
import time

_LITERAL = re.compile(rb"\{(\d+)\+?\}\r?\n$")
UP, DOWN = "up", "down"  # client to server, server to client


class _Cut:
    def __init__(self, direction, after, pattern, times):
        self.direction, self.after, self.pattern, self.times = direction, after, pattern, times


class _Pipe:
    """One direction of one connection: counts bytes, finds the cut's pattern, splits
    lines (when a rewrite or a watch wants them)."""

    def __init__(self, conn, direction, cut):
        self.conn, self.direction, self.cut = conn, direction, cut
        self.total = 0
        self.mark = None if cut and cut.pattern else 0  # where counting starts
        self.window = b""
        self.buffer = b""
        self.literal = 0

    def limit(self, data):
        """How many bytes of ``data`` may still pass before the cut (None: no cut)."""
        if not self.cut or self.cut.direction != self.direction:
            return None
        if self.mark is None:
            seen = self.window + data
            found = seen.find(self.cut.pattern)
            if found < 0:
                self.window = seen[-len(self.cut.pattern) + 1 :] if len(self.cut.pattern) > 1 else b""
                return None
            self.mark = self.total - len(self.window) + found + len(self.cut.pattern)
        return max(0, self.mark + self.cut.after - self.total)


class RoundTrips:
    """What :meth:`Proxy.round_trips` counts: ``total`` round trips over ``connections``,
    and the commands of each (``commands``: lists of command names, one per round trip)."""

    _TAG = re.compile(rb"^([A-Za-z0-9.]+) +(?:UID +)?([A-Za-z-]+)")
    _DONE = re.compile(rb"^([A-Za-z0-9.]+) +(OK|NO|BAD)\b", re.IGNORECASE)
    _SMTP_COMMAND = re.compile(rb"^([A-Za-z]+)")
    _SMTP_REPLY = re.compile(rb"^\d{3}(?: |\r?\n)")  # the last line of a reply

    def __init__(self, smtp=False):
        self.lock = threading.Lock()
        self.smtp = smtp
        self.trips = []  # per round trip: [connection number, [commands]]
        self.unanswered = []  # per connection that ended: the commands it did not wait for

    def up(self, line, conn):
        if self.smtp:  # every line is a command (or an AUTH answer) with one reply, in order; no DATA
            found = self._SMTP_COMMAND.match(line)
            key = conn["sent"] = conn.get("sent", 0) + 1
            name = found.group(1).decode().upper() if found else "(line)"
        else:
            found = self._TAG.match(line)
            if not found or conn.get("literal"):
                return
            key, name = found.group(1), found.group(2).decode().upper()
        with self.lock:
            waiting = conn.setdefault("waiting", {})
            if not waiting:
                self.trips.append([conn["number"], []])
                conn["trip"] = self.trips[-1]
            waiting[key] = name
            conn["trip"][1].append(name)

    def down(self, line, conn):
        with self.lock:
            if "greeted" not in conn:
                conn["greeted"] = True
                self.trips.append([conn["number"], ["(connect)"]])
                if self.smtp:
                    return line
            waiting = conn.setdefault("waiting", {})
            if self.smtp:
                if self._SMTP_REPLY.match(line) and waiting:
                    del waiting[min(waiting)]
            else:
                found = self._DONE.match(line)
                if found:
                    waiting.pop(found.group(1), None)
        return line

    def ended(self, direction, conn):
        """The client ended its side (after all it sent went through): what it had not
        had an answer to yet, it did not wait for."""
        if direction == UP:
            with self.lock:
                self.unanswered.append(sorted(conn.get("waiting", {}).values()))

    def clear(self):
        with self.lock:
            self.trips = []

    @property
    def total(self):
        return len(self.trips)

    @property
    def connections(self):
        return len({number for number, _commands in self.trips})

    @property
    def commands(self):
        return [commands for _number, commands in self.trips]


class Proxy:
    def __init__(self, target_port, target_host="127.0.0.1", delay=0.0):
        self.target = (target_host, target_port)
        self.delay = delay
        self.port = None
        self.connections = 0  # accepted so far
        self.cuts = 0  # connections cut so far
        self._cut = None
        self._rewrite = self._watch = self._ended = None
        self._open = set()
        self._lock = threading.Lock()
        self._listener = None

    # -- what the tests arm ------------------------------------------------------------
    def cut(self, direction=DOWN, after=0, pattern=None, times=1):
        """Cut the next ``times`` connections once ``after`` bytes went ``direction`` (past
        the end of ``pattern`` when given)."""
        with self._lock:
            self._cut = _Cut(direction, after, pattern, times)

    def rewrite(self, fn):
        self._rewrite = fn

    def watch(self, fn):
        self._watch = fn

    def round_trips(self, smtp=False):
        """Start counting round trips (a :class:`RoundTrips`, filled as they happen)."""
        counter = RoundTrips(smtp=smtp)
        self.rewrite(counter.down)
        self.watch(counter.up)
        self._ended = counter.ended
        return counter

    def clear(self):
        with self._lock:
            self._cut = None
        self._rewrite = self._watch = self._ended = None

    def open_connections(self):
        """How many connections are open through the proxy now."""
        with self._lock:
            return len(self._open) // 2

    def wait_closed(self, timeout=5.0):
        """Wait until every connection has ended (what was on its way has gone through)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._open:
                    return True
            time.sleep(0.01)
        return False

    def drop_all(self):
        with self._lock:
            sockets = list(self._open)
        for sock in sockets:
            _reset(sock)

    # -- running -----------------------------------------------------------------------
    def start(self):
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(1024)
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True, name=f"proxy-{self.port}").start()
        return self

    def stop(self):
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.close()
            self._listener = None
        self.drop_all()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _accept(self):
        while self._listener is not None:
            try:
                client, _address = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=10)
                server.settimeout(None)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self.connections += 1
                cut = self._cut
                if cut is not None:
                    cut.times -= 1
                    if cut.times <= 0:
                        self._cut = None
                self._open.update((client, server))
            conn = {"number": self.connections}
            state = {}
            for source, sink, direction in ((client, server, UP), (server, client, DOWN)):
                pipe = _Pipe(conn, direction, cut)
                threading.Thread(
                    target=self._pump, args=(source, sink, pipe, (client, server), state), daemon=True
                ).start()

    def _pump(self, source, sink, pipe, pair, state):
        cut = False
        try:
            with contextlib.suppress(OSError):  # the side read from is gone
                cut = self._forward(source, sink, pipe)
            if not cut and self._ended is not None:
                self._ended(pipe.direction, pipe.conn)
        finally:
            state["ended"] = state.get("ended", 0) + 1
            if cut or state["ended"] == 2:
                with self._lock:
                    self._open.difference_update(pair)
            if cut:  # a reset on both sides
                for sock in pair:
                    _reset(sock)
            elif state["ended"] == 1:  # an end of stream passes on as one: the other way goes on
                with contextlib.suppress(OSError):
                    sink.shutdown(socket.SHUT_WR)
            else:
                for sock in pair:
                    with contextlib.suppress(OSError):
                        sock.close()

    def _forward(self, source, sink, pipe):
        if not self.delay:
            return self._read(source, lambda data: self._send(sink, pipe, data), pipe)
        # delayed: a sender thread sends each chunk once its time has come, in order
        chunks = queue.SimpleQueue()
        failed = []

        def sender():
            while True:
                due, data = chunks.get()
                if data is None:
                    return
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                if failed:
                    continue
                try:
                    self._send(sink, pipe, data)
                except OSError:
                    failed.append(True)

        thread = threading.Thread(target=sender, daemon=True)
        thread.start()
        try:
            return self._read(source, lambda data: chunks.put((time.monotonic() + self.delay, data)), pipe)
        finally:
            chunks.put((0, None))
            thread.join()

    def _read(self, source, send, pipe):
        while True:
            data = source.recv(65536)
            if not data:
                return False
            allowed = pipe.limit(data)
            if allowed is not None and allowed < len(data):
                send(data[:allowed])
                with self._lock:
                    self.cuts += 1
                return True
            send(data)
            pipe.total += len(data)

    def _send(self, sink, pipe, data):
        fn = self._rewrite if pipe.direction == DOWN else self._watch
        if fn is None and not pipe.buffer:
            sink.sendall(data)
            return
        pipe.buffer += data
        out = []
        while pipe.buffer:
            if pipe.literal:  # a literal's bytes, untouched
                part = pipe.buffer[: pipe.literal]
                pipe.buffer = pipe.buffer[len(part) :]
                pipe.literal -= len(part)
                out.append(part)
                continue
            end = pipe.buffer.find(b"\n")
            if end < 0:
                break
            line, pipe.buffer = pipe.buffer[: end + 1], pipe.buffer[end + 1 :]
            if fn is not None:
                changed = fn(line, pipe.conn)
                if pipe.direction == DOWN and changed is not None:
                    line = changed
                elif pipe.direction == DOWN:
                    line = b""
            found = _LITERAL.search(line)
            if found:
                pipe.literal = int(found.group(1))
            out.append(line)
        if out:
            sink.sendall(b"".join(out))


def _reset(sock):
    """Close with a TCP reset (no FIN: the peer sees the connection cut)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RD)  # wakes the thread reading it
    with contextlib.suppress(OSError):
        sock.close()
