"""Core tier: the Odoo-free package and the local services, against real servers.

Under ``make test`` the mail stack is already running (``MCM_TEST_STACK`` names its
``stack.json``); run alone (``pytest tests/core``), this file starts one itself.
"""

import json
import os
import sys
import tempfile
import urllib.parse
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


@pytest.fixture(scope="session")
def stack():
    path = os.environ.get("MCM_TEST_STACK")
    if path:
        with open(path, encoding="utf-8") as fh:
            yield json.load(fh)
        return
    from devstack.stack import MailStack

    folder = tempfile.mkdtemp(prefix="mcm-core-")
    os.chmod(folder, 0o711)
    with MailStack(os.path.join(folder, "stack")) as running:
        yield running.info()


@pytest.fixture
def switch(stack):
    """Flip a test switch of the OAuth emulators; everything is reset afterwards."""

    def flip(name, **params):
        data = urllib.parse.urlencode(params).encode()
        with urllib.request.urlopen(f"{stack['switches']}/{name}", data=data, timeout=5) as answer:
            return json.load(answer)

    yield flip
    flip("reset")
