"""IMAP sessions and folder discovery (plain values in, plain values out)."""

import contextlib

import imapclient
from imapclient import tls as imapclient_tls
from imapclient.imap4 import IMAP4WithTimeout

from . import netgate
from .answers import search as search_uids
from .providers import SECURITY_SSL, SECURITY_STARTTLS

SPECIAL_USE = ("\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash", "\\Important")
DEFAULT_SELECTED = ("INBOX", "\\Sent", "\\Archive")  # archived mail is still the salesperson's mail
# Gmail keeps every message once in All Mail and shows labels as folders: All Mail is
# synced too, so that archived mail and every label of a message are known
GMAIL_DEFAULT_SELECTED = (*DEFAULT_SELECTED, "\\All")


class StartTLSMissingError(Exception):
    """STARTTLS was asked for and the server does not offer it."""


class _GatedIMAP4(IMAP4WithTimeout):
    """imaplib's connection, its socket opened through the gate (TLS against the name)."""

    def __init__(self, host, port, timeout, policy, ssl_context=None, *, ask_capabilities=False):
        self._policy = policy
        self._tls_context = ssl_context
        self._ask_capabilities = ask_capabilities
        super().__init__(host, port, timeout)

    def _get_capabilities(self):
        """The capabilities the greeting gave (its ``[CAPABILITY …]`` code), without a
        CAPABILITY command (one round trip less); asked only when the greeting gave none
        (or ``ask_capabilities``)."""
        given = self.untagged_responses.pop("CAPABILITY", None)
        if self._ask_capabilities or not given or not given[-1]:
            super()._get_capabilities()
            return
        self.capabilities = tuple(str(given[-1], self._encoding).upper().split())

    def _create_socket(self, timeout=None):
        sock = netgate.connect(self.host, self.port, timeout if timeout is not None else self._timeout, self._policy)
        if self._tls_context is None:
            return sock
        try:
            return self._tls_context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


class GatedIMAPClient(imapclient.IMAPClient):
    """An IMAPClient whose connection goes through :func:`.netgate.connect`."""

    def __init__(self, host, policy, ask_capabilities=False, **kwargs):
        self._policy = policy  # before connecting: IMAPClient connects in its constructor
        self._ask_capabilities = ask_capabilities
        super().__init__(host, **kwargs)

    def _create_IMAP4(self):
        timeout = getattr(self._timeout, "connect", None)
        context = (self.ssl_context or imapclient_tls.create_default_context()) if self.ssl else None
        return _GatedIMAP4(
            self.host, self.port, timeout, self._policy, context, ask_capabilities=self._ask_capabilities
        )


def open_client(server, ask_capabilities=False):
    """An IMAPClient connected to a :class:`~.connection_test.Server` through the gate
    (its ``policy``), TLS set up as asked. The capabilities are those of the greeting
    when it gives them (``ask_capabilities``: a CAPABILITY command all the same)."""
    client = GatedIMAPClient(
        server.host,
        server.policy,
        ask_capabilities=ask_capabilities,
        port=server.port,
        ssl=server.security == SECURITY_SSL,
        ssl_context=server.context() if server.security == SECURITY_SSL else None,
        timeout=server.timeout,
    )
    if server.security == SECURITY_STARTTLS:
        if not client.has_capability("STARTTLS"):
            client.shutdown()
            raise StartTLSMissingError(server.host)
        client.starttls(server.context())
    return client


def login(client, server, address):
    """XOAUTH2 with the token for OAuth mailboxes, LOGIN with the password otherwise."""
    if server.oauth_token:
        return client.oauth2_login(address, server.oauth_token)
    return client.login(server.login, server.password)


def quit_now(client):
    """LOGOUT sent, its answer not waited for: the connection is closed at once."""
    imap = client._imap  # pylint: disable=protected-access
    with contextlib.suppress(Exception):
        imap._command("LOGOUT")  # pylint: disable=protected-access
    with contextlib.suppress(Exception):
        imap.shutdown()


@contextlib.contextmanager
def session(server, address):
    """A logged-in IMAPClient; logs out on exit."""
    client = open_client(server)
    try:
        login(client, server, address)
        yield client
    finally:
        with contextlib.suppress(Exception):
            client.logout()


def list_folders(client, gmail=False):
    """Every selectable folder: ``[{"path", "name", "special_use", "selected_by_default"}]``
    (roles from the server's SPECIAL-USE flags, never from names: Gmail's are localized)."""
    default = GMAIL_DEFAULT_SELECTED if gmail else DEFAULT_SELECTED
    folders = []
    for flags, delimiter, path in client.list_folders():
        # flags are case-insensitive (Cyrus's own role options say "\\sent")
        names = {(f.decode() if isinstance(f, bytes) else str(f)).lower() for f in flags}
        if "\\noselect" in names or "\\nonexistent" in names:
            continue
        special = next((f for f in SPECIAL_USE if f.lower() in names), "")
        sep = delimiter.decode() if isinstance(delimiter, bytes) else (delimiter or "/")
        name = path.rsplit(sep, 1)[-1] if sep else path
        inbox = path.upper() == "INBOX"
        folders.append(
            {
                "path": path,
                "name": "Inbox" if inbox else name,
                "special_use": "\\Inbox" if inbox else special,
                "selected_by_default": inbox or special in default,
            }
        )
    order = {"\\Inbox": 0, "\\Sent": 1, "\\All": 2, "\\Archive": 3, "\\Drafts": 4}
    return sorted(folders, key=lambda f: (order.get(f["special_use"], 9), f["path"].lower()))


def append_once(client, folder, raw, message_id):
    """Append the message ``raw`` (bytes) to ``folder`` as read, unless a message with
    the same ``Message-ID`` is already there (a retry). Returns True when appended."""
    client.select_folder(folder)
    if message_id and search_uids(client, ["HEADER", "Message-ID", message_id]):
        return False
    client.append(folder, raw, flags=(rb"\Seen",))
    return True


def expunge(client, uids):
    """Delete ``uids`` of the selected folder for good (only them, where the server can)."""
    client.delete_messages(uids)
    client.uid_expunge(uids) if client.has_capability("UIDPLUS") else client.expunge()


def replace_draft(client, folder, raw, message_id):
    """Make ``raw`` (bytes) the one draft with ``message_id`` in ``folder`` (flagged
    ``\\Draft`` and ``\\Seen``, as mail clients keep theirs); ``raw`` None: remove it.
    The new copy goes in before the earlier ones go out, so a failure in between never
    leaves the folder without the draft. Returns how many earlier copies were removed."""
    client.select_folder(folder)
    earlier = search_uids(client, ["HEADER", "Message-ID", message_id]) if message_id else []
    if raw is not None:
        client.append(folder, raw, flags=(rb"\Draft", rb"\Seen"))
    if earlier:
        expunge(client, earlier)
    return len(earlier)
