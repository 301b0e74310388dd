"""Protocol and domain code of Connected Mailboxes.

Plain Python: this package never imports ``odoo``. The addon's models pass plain
values in and write plain values back, and the package is tested without a
database (``tests/core``).
"""
