"""IMAP sessions and folder discovery (plain values in, plain values out)."""

import contextlib

import imapclient

from .providers import SECURITY_SSL, SECURITY_STARTTLS

SPECIAL_USE = ("\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash", "\\Important")
DEFAULT_SELECTED = ("INBOX", "\\Sent")


@contextlib.contextmanager
def session(server, address):
    """A logged-in IMAPClient for a :class:`~.connection_test.Server`; logs out on exit."""
    client = imapclient.IMAPClient(
        server.host,
        port=server.port,
        ssl=server.security == SECURITY_SSL,
        ssl_context=server.context(),
        timeout=server.timeout,
    )
    try:
        if server.security == SECURITY_STARTTLS:
            client.starttls(server.context())
        if server.oauth_token:
            client.oauth2_login(address, server.oauth_token)
        else:
            client.login(server.login, server.password)
        yield client
    finally:
        with contextlib.suppress(Exception):
            client.logout()


def list_folders(client):
    """Every selectable folder: ``[{"path", "name", "special_use", "selected_by_default"}]``."""
    folders = []
    for flags, delimiter, path in client.list_folders():
        names = {f.decode() if isinstance(f, bytes) else str(f) for f in flags}
        if "\\Noselect" in names or "\\NonExistent" in names:
            continue
        special = next((f for f in SPECIAL_USE if f in names), "")
        sep = delimiter.decode() if isinstance(delimiter, bytes) else (delimiter or "/")
        name = path.rsplit(sep, 1)[-1] if sep else path
        inbox = path.upper() == "INBOX"
        folders.append(
            {
                "path": path,
                "name": "Inbox" if inbox else name,
                "special_use": "\\Inbox" if inbox else special,
                "selected_by_default": inbox or special in DEFAULT_SELECTED,
            }
        )
    order = {"\\Inbox": 0, "\\Sent": 1, "\\All": 2, "\\Archive": 3, "\\Drafts": 4}
    return sorted(folders, key=lambda f: (order.get(f["special_use"], 9), f["path"].lower()))
