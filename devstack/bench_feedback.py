"""Bounce reading, timed against the parse it rides on (``make bench``, no server needed).

* ``bounce_read_ordinary_us`` / ``bounce_read_ordinary_vs_parse``: :func:`feedback.classify`
  (with :func:`feedback.is_auto_submitted`, all that the sync's parse adds)
  on 1,000 ordinary messages of the sync bench's kind (the gate keeps the detectors away
  from them), per message and against the standard library's parse of the same bytes;
* ``bounce_read_corpus_ms`` / ``bounce_read_corpus_vs_parse``: the same over every
  vendored real-world bounce (flufl.bounce's, Odoo's and CPython's test mail), which
  do reach the detectors."""

import email
import email.policy
import glob
import os
import time
from datetime import UTC, datetime, timedelta

from mailbox_engine import feedback

from .bench_sync_data import make_message
from .odoo_env import ROOT

ORDINARY = 1000
ROUNDS = 3


def _timed(function, items):
    """The best of ROUNDS runs of ``function`` over ``items``, in seconds."""
    best = None
    for _round in range(ROUNDS):
        start = time.perf_counter()
        for item in items:
            function(item)
        spent = time.perf_counter() - start
        best = spent if best is None else min(best, spent)
    return best


def _parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def _read(message):
    return feedback.classify(message), feedback.is_auto_submitted(message)


def _measure(name, raws, unit, scale):
    messages = [_parse(raw) for raw in raws]
    parse_s = _timed(_parse, raws)
    read_s = _timed(_read, messages)
    print(f"bench: bounce_read_{name}_{unit} = {read_s / len(raws) * scale:.1f} ({len(raws)} messages)", flush=True)
    print(f"bench: bounce_read_{name}_parse_{unit} = {parse_s / len(raws) * scale:.1f} (the baseline)", flush=True)
    print(f"bench: bounce_read_{name}_vs_parse = {read_s / parse_s:.2f} x", flush=True)


def run():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ordinary = [make_message(n, start + timedelta(minutes=n)) for n in range(ORDINARY)]
    _measure("ordinary", ordinary, "us", 1e6)
    corpus = []
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "data", "bounces", "*", "*"))):
        if path.endswith((".txt", ".eml")):
            with open(path, "rb") as fh:
                corpus.append(fh.read())
    _measure("corpus", corpus, "ms", 1e3)


if __name__ == "__main__":
    run()
