"""Campaign feedback found in synced mail: delivery failures (bounces) and replies.

Plain Python, no Odoo. :func:`classify` tells whether a message is a bounce and, when it
is, which recipients failed (hard or soft, with the status and the reason the reporting
server gave) and which sent message came back (its Message-IDs). Odoo applies it to the
campaign traces and notifications of the mailbox that received it."""

import json
import re
from dataclasses import asdict, dataclass, field

MESSAGE_ID = re.compile(r"<[^<>\s]+>")
MAX_IDS = 10  # Message-IDs kept from a bounce or a reply's headers
REASON_MAX = 500  # characters of a failure's reason


@dataclass(frozen=True)
class Failure:
    """One recipient of one bounce."""

    email: str  # normalized (lower case)
    hard: bool  # 5.x.x, or permanent by the detector when the format has no status
    status: str = ""  # "5.1.1" (the DSN's Status), "" when the format has none
    reason: str = ""  # what the reporting server said, one line, at most REASON_MAX characters


@dataclass(frozen=True)
class Bounce:
    """A delivery failure report: who failed and what came back."""

    failures: tuple = field(default_factory=tuple)  # of Failure
    original_ids: tuple = field(default_factory=tuple)  # Message-IDs of the returned original, best first
    loop: bool = False  # a bounce of a bounce (or of an automatic message): never applied

    def to_json(self):
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text):
        data = json.loads(text)
        return cls(
            failures=tuple(Failure(**failure) for failure in data.get("failures", ())),
            original_ids=tuple(data.get("original_ids", ())),
            loop=bool(data.get("loop")),
        )


def message_ids(*headers):
    """The Message-IDs named in these header values, in order, each once, at most MAX_IDS."""
    found = []
    for header in headers:
        for message_id in MESSAGE_ID.findall(header or ""):
            if message_id not in found:
                found.append(message_id)
    return found[:MAX_IDS]


def reply_ids(in_reply_to, references):
    """The Message-IDs a reply answers: In-Reply-To first, then References newest first."""
    return message_ids(in_reply_to, " ".join(reversed(MESSAGE_ID.findall(references or ""))))


def classify(message):
    """The :class:`Bounce` that ``message`` (an ``email.message.Message``) is, else None."""
    return None
