"""Real-world bounces, each classified as expected or left alone, through the sync's own
parse: flufl.bounce's corpus (dozens of MTA formats), Odoo's own test bounces, and
CPython's email test messages (two bounces, the rest ordinary mail that must stay so).
The expectations are in tests/data/bounces/expected.py, with the reason of each entry
that differs from flufl.bounce's own test table."""

import importlib.util
import os

import pytest

from mailbox_engine.sync.parse import parse

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "bounces")


def _expected():
    spec = importlib.util.spec_from_file_location("bounce_expectations", os.path.join(DATA, "expected.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {"flufl": module.FLUFL, "odoo": module.ODOO, "cpython": module.CPYTHON}


EXPECTED = _expected()
FILES = sorted(
    (folder, name)
    for folder in EXPECTED
    for name in os.listdir(os.path.join(DATA, folder))
    if name.endswith((".txt", ".eml"))
)


def _outcome(folder, name):
    """What the sync makes of the file: None, or the expectation's shape."""
    with open(os.path.join(DATA, folder, name), "rb") as fh:
        bounce = parse(fh.read()).bounce
    if bounce is None:
        return None
    return {
        "failures": {f.email: ("hard" if f.hard else "soft", f.status) for f in bounce.failures},
        "original_ids": list(bounce.original_ids),
        "loop": bounce.loop,
    }


@pytest.mark.parametrize(("folder", "name"), FILES, ids=[f"{folder}/{name}" for folder, name in FILES])
def test_each_file_is_classified_as_expected_or_left_alone(folder, name):
    assert name in EXPECTED[folder], f"{folder}/{name} has no expectation"
    assert _outcome(folder, name) == EXPECTED[folder][name]


def test_every_expectation_has_its_file_and_the_corpus_is_whole():
    on_disk = {folder: {name for f, name in FILES if f == folder} for folder in EXPECTED}
    assert {folder: set(table) for folder, table in EXPECTED.items()} == on_disk
    assert len(on_disk["flufl"]) == 117  # every message of flufl.bounce 6.0.0's test data
    assert len(on_disk["odoo"]) == 3


def test_every_failure_carries_a_reason_on_one_line():
    for folder, name in FILES:
        with open(os.path.join(DATA, folder, name), "rb") as fh:
            bounce = parse(fh.read()).bounce
        for failure in bounce.failures if bounce else ():
            assert "\n" not in failure.reason and "<p>" not in failure.reason.lower(), (name, failure)
            assert failure.reason or name == "yahoo_12.txt", (name, failure)  # HTML only: no text to give


def test_the_corpus_figures():
    """The corpus in figures: files, bounces found (the rest left alone), hard and soft
    failures, bounces whose original Message-ID is known."""
    figures = {}
    for folder, name in FILES:
        outcome = _outcome(folder, name)
        kinds = [kind for kind, _status in (outcome or {}).get("failures", {}).values()]
        row = figures.setdefault(folder, {"files": 0, "bounces": 0, "hard": 0, "soft": 0, "with_id": 0})
        row["files"] += 1
        row["bounces"] += bool(outcome)
        row["hard"] += kinds.count("hard")
        row["soft"] += kinds.count("soft")
        row["with_id"] += bool(outcome and outcome["original_ids"])
    assert figures == {
        "flufl": {"files": 117, "bounces": 111, "hard": 121, "soft": 12, "with_id": 21},
        "odoo": {"files": 3, "bounces": 3, "hard": 3, "soft": 0, "with_id": 2},
        "cpython": {"files": 19, "bounces": 2, "hard": 12, "soft": 0, "with_id": 2},
    }
