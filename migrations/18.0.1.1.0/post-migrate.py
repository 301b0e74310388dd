"""Mailboxes created before the name followed the address kept the placeholder name
("New Other (IMAP + SMTP) mailbox"), Google and Microsoft ones included: name them
after their address."""


def migrate(cr, version):
    cr.execute(
        """
        UPDATE mail_mailbox
           SET name = email
         WHERE email IS NOT NULL AND email != ''
           AND name LIKE 'New % mailbox'
        """
    )
