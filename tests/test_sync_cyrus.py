"""The sync in Odoo against Cyrus IMAP, the stack's second IMAP server, independent of
Dovecot: the same tests as against Dovecot (backfill, flags both ways, moves, deletions,
a renumbered folder, folders, archive and restore), with Bob's and Carol's accounts on
Cyrus. Mail still leaves by Dovecot's submission. Without Cyrus in the stack these
classes are skipped, with the reason.
"""

from odoo.tests import tagged

from . import test_sync, test_sync_archive


@tagged("post_install", "-at_install")
class TestSyncCyrus(test_sync.TestSync):
    imap_server = "cyrus"
    allow_inherited_tests_method = True  # Odoo's runner takes a class's own tests only

    # nothing of these depends on the IMAP server (who reads, OAuth sign-in against the
    # emulators' Dovecot accounts, HTML shown): they run once, against Dovecot
    test_only_the_owner_and_administrators_read_a_mailbox_s_messages = None
    test_a_token_revoked_between_two_syncs_goes_to_the_health_check = None
    test_html_is_shown_sanitized_with_remote_images_held_back = None
    test_a_message_opens_with_its_conversation = None


@tagged("post_install", "-at_install")
class TestSyncArchiveCyrus(test_sync_archive.TestSyncArchive):
    imap_server = "cyrus"
    allow_inherited_tests_method = True

    # Gmail's archive is tested on a Google-like account of the OAuth emulator (Dovecot)
    test_gmail_archive_is_the_inbox_label_removed_and_all_mail_keeps_one_copy = None
