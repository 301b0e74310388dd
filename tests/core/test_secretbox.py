import pytest

from mailbox_engine.secretbox import PREFIX, SecretBox, SecretError, new_key, parse_keys

SECRET = "correct horse battery staple"


def test_roundtrip_hides_plaintext():
    box = SecretBox([new_key()])
    stored = box.encrypt(SECRET)
    assert stored.startswith(PREFIX)
    assert SECRET not in stored
    assert box.decrypt(stored) == SECRET


def test_same_secret_encrypts_differently_each_time():
    box = SecretBox([new_key()])
    assert box.encrypt(SECRET) != box.encrypt(SECRET)


def test_empty_stays_empty():
    box = SecretBox([new_key()])
    assert box.encrypt("") == ""
    assert box.decrypt("") == ""


def test_wrong_key_is_a_clear_error_without_the_secret():
    stored = SecretBox([new_key()]).encrypt(SECRET)
    with pytest.raises(SecretError) as info:
        SecretBox([new_key()]).decrypt(stored)
    message = str(info.value)
    assert "cannot be decrypted" in message and "rotat" in message
    assert SECRET not in message and stored not in message


def test_plaintext_in_storage_is_refused():
    with pytest.raises(SecretError, match="not in the encrypted format"):
        SecretBox([new_key()]).decrypt(SECRET)


def test_rotation_moves_to_the_first_key():
    old, new = new_key(), new_key()
    stored = SecretBox([old]).encrypt(SECRET)
    both = SecretBox([new, old])
    assert not both.is_current(stored)
    rotated = both.rotate(stored)
    assert both.is_current(rotated)
    assert SecretBox([new]).decrypt(rotated) == SECRET
    with pytest.raises(SecretError):
        SecretBox([old]).decrypt(rotated)


def test_parse_keys_accepts_lists_and_rejects_bad_keys():
    first, second = new_key(), new_key()
    assert parse_keys(f"{first}, {second}") == [first, second]
    assert parse_keys(f"{first}\n{second}") == [first, second]
    assert parse_keys("") == []
    with pytest.raises(SecretError, match="#2 is not valid") as info:
        parse_keys(f"{first},not-a-key")
    assert first not in str(info.value)


def test_no_key_at_all_is_refused():
    with pytest.raises(SecretError, match="No encryption key"):
        SecretBox([])
