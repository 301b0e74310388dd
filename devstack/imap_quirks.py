"""IMAP servers that behave otherwise than Dovecot, made from the stack's Dovecot and
its TCP proxy (:mod:`devstack.tcp_proxy`): each quirk is something a real server did.

- :class:`QuotedFields`: FETCH answers name header fields quoted and in another case
  (``BODY[HEADER.FIELDS ("Message-ID")]``, an astring as the grammar allows).
- :class:`EmptyModseqSearch`: a ``UID SEARCH MODSEQ n`` that matches nothing is answered
  ``* SEARCH (MODSEQ 1)`` (a CONDSTORE server; Dovecot says ``* SEARCH``).
- :class:`Trouble`: in one folder only, a command is answered in a way no client expects
  (a ``NO`` refusal, or a SEARCH answer that is not a list of numbers).
- :class:`VolatileUidvalidity`: STATUS and EXAMINE give a new UIDVALIDITY at each look
  until some connection has opened the folder read-write (a Maildir server that writes
  its UID list only then); ``forget(path)`` loses that list again, ``steady=False`` never
  keeps it.

``quirky(proxy, *quirks)`` sets them (any number at once) on a running proxy:
``with Proxy(stack["imap_port"]) as proxy: quirky(proxy, QuotedFields(), ...)``.
"""

import itertools
import re
import threading

_COMMAND = re.compile(rb"^(\S+) (?:UID )?([A-Za-z]+)\b ?(.*?)\r?\n?$", re.DOTALL)
_FOLDER = re.compile(rb'^("(?:[^"\\]|\\.)*"|\S+)')
_TAGGED = re.compile(rb"^(\S+) (OK|NO|BAD)\b")


def folder_of(argument):
    """The folder named first in a command's arguments (quotes taken off)."""
    found = _FOLDER.match(argument or b"")
    if not found:
        return None
    name = found.group(1)
    if name.startswith(b'"'):
        name = re.sub(rb"\\(.)", rb"\1", name[1:-1])
    return name.decode("utf-8", "replace")


class Quirk:
    """One way of behaving: ``sent(command, argument, conn)`` sees each command the client
    sends, ``answer(line, conn)`` may change each line the server sends."""

    def sent(self, tag, command, argument, conn):
        pass

    def answer(self, line, conn):
        return line


class QuotedFields(Quirk):
    _FIELDS = re.compile(rb"HEADER\.FIELDS( NOT)? \(([^)]*)\)", re.IGNORECASE)

    def answer(self, line, conn):
        if b" FETCH " not in line[:40] or not line.startswith(b"* "):
            return line

        def quoted(found):
            names = b" ".join(b'"' + name.title() + b'"' for name in found.group(2).split())
            return b"HEADER.FIELDS" + (found.group(1) or b"") + b" (" + names + b")"

        return self._FIELDS.sub(quoted, line)


class EmptyModseqSearch(Quirk):
    def __init__(self):
        self.times = 0  # empty answers rewritten so far

    def sent(self, tag, command, argument, conn):
        if command == b"SEARCH" and b"MODSEQ" in argument.upper():
            conn["modseq_search"] = tag

    def answer(self, line, conn):
        if conn.get("modseq_search") and line.rstrip(b"\r\n") == b"* SEARCH":
            self.times += 1
            return b"* SEARCH (MODSEQ 1)\r\n"
        found = _TAGGED.match(line)
        if found and found.group(1) == conn.get("modseq_search"):
            conn.pop("modseq_search")
        return line


class Trouble(Quirk):
    """In ``path`` only, ``command`` (e.g. ``b"SEARCH"``) whose arguments match ``when``
    is answered ``NO`` (``how="no"``) or with a SEARCH answer that is not a list of
    numbers (``how="garbage"``). ``times`` counts how often it did so."""

    def __init__(self, path, command=b"SEARCH", when=rb"", how="no"):
        self.path, self.command, self.when, self.how = path, command, re.compile(when), how
        self.times = 0

    def sent(self, tag, command, argument, conn):
        if command in (b"SELECT", b"EXAMINE"):
            conn["selected"] = folder_of(argument)
        elif command == self.command and conn.get("selected") == self.path and self.when.search(argument):
            conn["trouble"] = tag

    def answer(self, line, conn):
        tag = conn.get("trouble")
        if not tag:
            return line
        if self.how == "garbage" and line.startswith(b"* SEARCH"):
            self.times += 1
            return b"* SEARCH 1 NIL [garbled]\r\n"
        found = _TAGGED.match(line)
        if found and found.group(1) == tag:
            conn.pop("trouble")
            if self.how == "no":
                self.times += 1
                return tag + b" NO [SERVERBUG] Internal error occurred. Refer to server log for more information.\r\n"
        return line


class VolatileUidvalidity(Quirk):
    """STATUS and EXAMINE of ``paths`` (None: every folder) give a new UIDVALIDITY at each
    look, until a connection SELECTs the folder read-write (unless ``steady`` is False)."""

    _STATUS = re.compile(rb"^\* STATUS (.*?) \((.*)\)\r?\n$", re.IGNORECASE)
    _VALUE = re.compile(rb"(UIDVALIDITY )(\d+)", re.IGNORECASE)

    def __init__(self, paths=None, steady=True):
        self.paths = set(paths) if paths is not None else None
        self.steady = steady
        self.opened = set()  # folders whose UID list the server has written
        self.looks = 0  # UIDVALIDITY values made up so far
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    def forget(self, path):
        """The server lost the folder's UID list (or only the mail transport wrote since)."""
        self.opened.discard(path)

    def _volatile(self, path):
        return path is not None and (self.paths is None or path in self.paths) and path not in self.opened

    def sent(self, tag, command, argument, conn):
        if command in (b"SELECT", b"EXAMINE", b"STATUS"):
            path = folder_of(argument)
            if command == b"SELECT" and self.steady:
                self.opened.add(path)
            conn["looking"] = path if command != b"SELECT" or not self.steady else None

    def _made_up(self, found):
        with self._lock:
            self.looks += 1
            number = next(self._numbers)
        return found.group(1) + str(int(found.group(2)) + 100_000 + number).encode()

    def answer(self, line, conn):
        status = self._STATUS.match(line)
        if status and self._volatile(folder_of(status.group(1))):
            return self._VALUE.sub(self._made_up, line)
        if line.startswith(b"* OK [UIDVALIDITY ") and self._volatile(conn.get("looking")):
            return self._VALUE.sub(self._made_up, line)
        return line


def quirky(proxy, *quirks):
    """Make the server behind ``proxy`` behave in each of these ways; returns ``quirks``."""

    def watch(line, conn):
        found = _COMMAND.match(line)
        if found:
            tag, command, argument = found.group(1), found.group(2).upper(), found.group(3)
            for quirk in quirks:
                quirk.sent(tag, command, argument, conn)

    def rewrite(line, conn):
        for quirk in quirks:
            line = quirk.answer(line, conn)
        return line

    proxy.watch(watch)
    proxy.rewrite(rewrite)
    return quirks


class Commands(Quirk):
    """Not a quirk: counts the commands clients send (``count(b"FETCH", b"BODY.PEEK[]")``)."""

    def __init__(self):
        self.lines = []

    def sent(self, tag, command, argument, conn):
        self.lines.append((command, argument))

    def count(self, command, within=b""):
        return sum(1 for name, argument in self.lines if name == command and within in argument.upper())
