"""Secrets at rest: Fernet round trip, stored value is not the plaintext, key generation and key from settings."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from erpsync.crypto import KEY_FILE_NAME, DecryptionError, cipher_for
from erpsync.settings import Settings


def test_round_trip_and_ciphertext_hides_the_plaintext(tmp_path: Path) -> None:
    cipher = cipher_for(Settings(data_dir=tmp_path))
    stored = cipher.encrypt("hunter2-secret")
    assert "hunter2" not in stored
    assert cipher.decrypt(stored) == "hunter2-secret"
    assert cipher.encrypt("hunter2-secret") != stored  # random IV: equal secrets are not recognisable


def test_generated_key_is_private_and_reused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    stored = cipher_for(settings).encrypt("s3cret")
    key_file = tmp_path / "data" / KEY_FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert cipher_for(settings).decrypt(stored) == "s3cret"


@pytest.mark.parametrize("kind", ["fernet key", "passphrase"])
def test_secret_key_from_settings_needs_no_key_file(tmp_path: Path, kind: str) -> None:
    secret_key = Fernet.generate_key().decode() if kind == "fernet key" else "a long passphrase, not a fernet key"
    settings = Settings(data_dir=tmp_path, secret_key=secret_key)
    stored = cipher_for(settings).encrypt("value")
    assert cipher_for(settings).decrypt(stored) == "value"
    assert not (tmp_path / KEY_FILE_NAME).exists()


def test_another_key_cannot_decrypt(tmp_path: Path) -> None:
    stored = cipher_for(Settings(data_dir=tmp_path, secret_key="first passphrase")).encrypt("value")
    with pytest.raises(DecryptionError, match="secret key"):
        cipher_for(Settings(data_dir=tmp_path, secret_key="second passphrase")).decrypt(stored)
