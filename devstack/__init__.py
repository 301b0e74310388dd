"""Local services for tests and demos: PostgreSQL, Dovecot, an SMTP sink and
OAuth provider emulators, all bound to 127.0.0.1.

Nothing in this package is imported by the addon at run time.
"""
