"""Baselines of the sync bench, measured against the same local Dovecot as the sync itself.

* :func:`floor`: the least any backfill of a folder must do, with nothing of Odoo in
  the way: one IMAP connection, the UIDs of the last days newest first, their bytes in
  batches, a parse with the standard library and one bulk INSERT per batch into a plain
  PostgreSQL table. A sync cannot be faster than this on the same machine.
* :func:`fetchmail`: what Odoo 18 does out of the box: its ``fetchmail.server`` on the
  same IMAP folder, turning each message into a CRM lead through ``message_process``.

Plain Python at import time (psycopg2, imapclient; no Odoo import), so that
``devstack.bench`` can import it, and so can a script run by ``odoo shell`` (as
``odoo.addons.mail_connected_mailbox.devstack.bench_sync_baselines``).
"""

import contextlib
import email
import email.policy
import time
from datetime import date, timedelta

import psycopg2
from imapclient import IMAPClient
from psycopg2.extras import execute_values

FLOOR_TABLE = "bench_sync_floor"
FETCH = ["FLAGS", "RFC822.SIZE", "BODY.PEEK[]"]
ODOO_KEYS = {"db_host": "host", "db_port": "port", "db_user": "user", "db_password": "password", "db_name": "dbname"}


def pg_connect(target):
    """A psycopg2 connection to ``target``: a DSN string, psycopg2's keyword arguments,
    or Odoo-style settings (``db_host``, ``db_port``, ``db_user``, ``db_password`` and
    optionally ``db_name``, as ``PostgresCluster.settings`` gives them). The database is
    ``postgres`` unless one is named."""
    if isinstance(target, str):
        return psycopg2.connect(target)
    kwargs = {ODOO_KEYS.get(key, key): value for key, value in target.items()}
    kwargs = {key: value for key, value in kwargs.items() if value not in (None, "", False)}
    kwargs.setdefault("dbname", "postgres")
    return psycopg2.connect(**kwargs)


def _bodies(message):
    """The first text and the first HTML part that are not attachments, decoded.

    One walk over the parts (``get_body`` parses every part's headers again for each
    kind it looks for, which costs more than the rest of the extraction)."""
    found = {}
    for part in message.walk():
        kind = part.get_content_type()
        if kind not in ("text/plain", "text/html") or kind in found:
            continue
        if str(part.get("Content-Disposition", "")).lower().startswith("attachment"):
            continue
        payload = part.get_payload(decode=True) or b""
        try:
            found[kind] = payload.decode(part.get_content_charset() or "utf-8", "replace")
        except LookupError:  # a charset Python does not know
            found[kind] = payload.decode("utf-8", "replace")
    return found.get("text/plain"), found.get("text/html")


def _row(uid, data):
    """The columns of one fetched message, parsed with the standard library."""
    message = email.message_from_bytes(data[b"BODY[]"], policy=email.policy.default)
    date_header = message["Date"]
    return (
        uid,
        [flag.decode() for flag in data[b"FLAGS"]],
        data[b"RFC822.SIZE"],
        str(message["Message-ID"] or "") or None,
        str(message["From"] or ""),
        str(message["To"] or ""),
        str(message["Cc"] or ""),
        str(message["Subject"] or ""),
        getattr(date_header, "datetime", None),
        *_bodies(message),
    )


def floor(imap_host, imap_port, login, password, pg_dsn_or_connect_kwargs, batch=200, days=60):
    """The floor of a backfill of ``login``'s INBOX: the fewest steps a sync needs.

    Before the clock starts, (re)creates the plain table ``bench_sync_floor`` in the
    database ``pg_dsn_or_connect_kwargs`` names (see :func:`pg_connect`). Then, timed:
    log in with imapclient (plain IMAP, no TLS), select INBOX read-only,
    ``SEARCH SINCE <today - days>``, and for the UIDs newest first in batches of
    ``batch``: one ``UID FETCH`` of ``FLAGS``, ``RFC822.SIZE`` and ``BODY.PEEK[]``, a
    parse of each message with ``email.message_from_bytes`` (``email.policy.default``:
    Message-ID, From, To, Cc, Subject, Date, text and HTML bodies), one bulk INSERT
    (``execute_values``) of the batch with uid, flags and size, and a commit. The clock
    stops at the last commit; the rows stay in the table.

    Returns ``(seconds, count)``: the time taken and the number of messages stored."""
    db = pg_connect(pg_dsn_or_connect_kwargs)
    try:
        with db.cursor() as cr:
            cr.execute(f"DROP TABLE IF EXISTS {FLOOR_TABLE}")
            cr.execute(
                f"""CREATE TABLE {FLOOR_TABLE} (
                    id bigserial PRIMARY KEY,
                    uid bigint NOT NULL,
                    flags text[] NOT NULL,
                    size integer NOT NULL,
                    message_id text,
                    sender text,
                    recipients text,
                    cc text,
                    subject text,
                    sent_at timestamptz,
                    body_text text,
                    body_html text
                )"""
            )
        db.commit()
        start = time.perf_counter()
        client = IMAPClient(imap_host, port=imap_port, ssl=False, timeout=60)
        count = 0
        try:
            client.login(login, password)
            client.select_folder("INBOX", readonly=True)
            uids = sorted(client.search(["SINCE", date.today() - timedelta(days=days)]), reverse=True)
            for at in range(0, len(uids), batch):
                chunk = uids[at : at + batch]
                fetched = client.fetch(chunk, FETCH)
                rows = [_row(uid, fetched[uid]) for uid in chunk if uid in fetched]
                with db.cursor() as cr:
                    execute_values(
                        cr,
                        f"INSERT INTO {FLOOR_TABLE} (uid, flags, size, message_id, sender, recipients, cc, subject,"
                        " sent_at, body_text, body_html) VALUES %s",
                        rows,
                        page_size=len(rows) or 1,
                    )
                db.commit()
                count += len(rows)
            seconds = time.perf_counter() - start
        finally:
            with contextlib.suppress(OSError, IMAPClient.Error):
                client.logout()
    finally:
        db.close()
    return seconds, count


def unseen_count(host, port, login, password):
    """How many messages of ``login``'s INBOX are not marked seen."""
    client = IMAPClient(host, port=port, ssl=False, timeout=60)
    try:
        client.login(login, password)
        return int(client.folder_status("INBOX", ["UNSEEN"])[b"UNSEEN"])
    finally:
        with contextlib.suppress(OSError, IMAPClient.Error):
            client.logout()


def fetchmail(env, host, port, login, password, max_calls=20):
    """Odoo 18's own mail gateway on ``login``'s INBOX; ``env`` is an Odoo environment
    (as ``odoo shell`` gives it). Commits.

    Configuration (not timed): a ``fetchmail.server`` (model of the ``mail`` module)
    with ``server_type`` ``imap``, ``server`` ``host``, ``port`` ``port``, ``is_ssl``
    off (plain IMAP on loopback), ``user``/``password`` ``login``/``password``,
    ``object_id`` the ``crm.lead`` model (each new message creates a lead through
    ``mail.thread.message_process``), attachments kept (``attach``), no original kept
    (``original`` off); then confirmed with ``button_confirm_login`` (a real login),
    which also turns on the gateway's scheduled action, as in the user interface.

    Timed: ``fetch_mail()`` calls until the INBOX has no unseen message left (checked
    with ``STATUS INBOX (UNSEEN)`` after each call; at most ``max_calls``). Each call
    logs in, ``SEARCH UNSEEN`` and handles every message found: ``FETCH (RFC822)``,
    ``STORE -FLAGS \\Seen``, ``message_process`` into ``crm.lead``, ``STORE +FLAGS
    \\Seen`` and a database commit, one message after the other. So one call normally
    handles the whole INBOX.

    Afterwards the server is set back to draft (the scheduled action turns off again).

    Returns ``(seconds, leads_created)``: the time taken and the number of ``crm.lead``
    records created meanwhile."""
    Lead = env["crm.lead"].with_context(active_test=False)
    server = env["fetchmail.server"].create(
        {
            "name": f"Bench fetchmail {login}",
            "server_type": "imap",
            "server": host,
            "port": int(port),
            "is_ssl": False,
            "user": login,
            "password": password,
            "object_id": env["ir.model"]._get_id("crm.lead"),
            "attach": True,
            "original": False,
        }
    )
    server.button_confirm_login()
    env.cr.commit()
    last_lead = Lead.search([], order="id desc", limit=1).id or 0
    start = time.perf_counter()
    for _call in range(max_calls):
        server.fetch_mail()
        if not unseen_count(host, port, login, password):
            break
    seconds = time.perf_counter() - start
    leads = Lead.search_count([("id", ">", last_lead)])
    server.set_draft()
    env.cr.commit()
    return seconds, leads
