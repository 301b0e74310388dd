"""Synced messages were keyed by their Message-ID itself, which an index refuses past a
few kilobytes: key them by its digest (SHA-256 of the Message-ID without folding
whitespace, as the sync computes it), keep the Message-ID as it was received, and key
conversations the same way. Two messages of a mailbox whose Message-IDs differ only by
whitespace keep one key each (the later ones by their row), so that nothing is lost."""


def migrate(cr, version):
    cr.execute("ALTER TABLE mail_mailbox_message ADD COLUMN IF NOT EXISTS message_id_header varchar")
    cr.execute(
        r"""
        WITH normalized AS (
            SELECT m.id, m.mailbox_id, regexp_replace(m.message_key, '[ \t\r\n]', '', 'g') AS key
              FROM mail_mailbox_message m
             WHERE m.message_id_header IS NULL
        ), keyed AS (
            SELECT n.id,
                   row_number() OVER (PARTITION BY n.mailbox_id, n.key ORDER BY n.id) AS nth,
                   encode(sha256(convert_to(n.key, 'UTF8')), 'hex') AS digest
              FROM normalized n
        )
        UPDATE mail_mailbox_message m
           SET message_id_header = left(m.message_key, 998),
               message_key = CASE WHEN keyed.nth = 1 THEN keyed.digest
                                  ELSE encode(sha256(convert_to(m.message_key || ':' || m.id, 'UTF8')), 'hex') END,
               thread_key = encode(sha256(convert_to(
                   regexp_replace(coalesce(nullif(m.thread_key, ''), m.message_key), '[ \t\r\n]', '', 'g'),
                   'UTF8')), 'hex'),
               in_reply_to = left(m.in_reply_to, 998)
          FROM keyed
         WHERE keyed.id = m.id
        """
    )
