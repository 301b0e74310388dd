"""Encryption of secrets at rest (passwords, refresh tokens, token caches).

One :class:`SecretBox` holds an ordered list of Fernet keys: the first encrypts,
all of them decrypt, so a key can be rotated without losing what the older keys
protect. Error messages never contain the secret or the key.
"""

import base64
import binascii
import re

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

PREFIX = "mcm1:"  # marks a value written by this box


class SecretError(Exception):
    """A key or a stored secret is unusable; the message names the fix."""


def new_key():
    """A fresh random key, as text (32 url-safe base64-encoded bytes)."""
    return Fernet.generate_key().decode()


def parse_keys(text):
    """Split a configured list of keys (commas or white space) and check each one."""
    keys = [k for k in re.split(r"[\s,]+", text or "") if k]
    for index, key in enumerate(keys, 1):
        try:
            raw = base64.urlsafe_b64decode(key.encode())
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise SecretError(
                f"Encryption key #{index} is not valid: a key is 32 random bytes in url-safe "
                'base64 (44 characters). Generate one with: python3 -c "from cryptography.fernet '
                'import Fernet; print(Fernet.generate_key().decode())"'
            )
    return keys


class SecretBox:
    def __init__(self, keys):
        if not keys:
            raise SecretError("No encryption key is available for mailbox secrets.")
        self.keys = list(keys)
        self._fernet = MultiFernet([Fernet(k.encode()) for k in self.keys])

    def encrypt(self, plaintext):
        """Encrypt text; empty stays empty."""
        if not plaintext:
            return ""
        return PREFIX + self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, stored):
        """Decrypt what :meth:`encrypt` made; empty stays empty."""
        if not stored:
            return ""
        if not stored.startswith(PREFIX):
            raise SecretError("A stored mailbox secret is not in the encrypted format; reconnect the mailbox.")
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode()).decode()
        except InvalidToken:
            raise SecretError(
                "A stored mailbox secret cannot be decrypted with the configured keys: the key was "
                "changed without rotating. Put the previous key back (after the new one) and run "
                "the key rotation, or reconnect the mailbox."
            ) from None

    def rotate(self, stored):
        """Re-encrypt ``stored`` with the first key."""
        if not stored:
            return ""
        self.decrypt(stored)  # same checks and messages as decrypt
        return PREFIX + self._fernet.rotate(stored[len(PREFIX) :].encode()).decode()

    def is_current(self, stored):
        """True when ``stored`` is readable by the first key alone."""
        try:
            Fernet(self.keys[0].encode()).decrypt(stored[len(PREFIX) :].encode())
        except InvalidToken:
            return False
        return True
