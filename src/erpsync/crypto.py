"""Secrets at rest (connector secrets, password config fields), encrypted with Fernet (AES-128-CBC + HMAC-SHA256).

Public names: ``Cipher`` (``.encrypt(str) -> str``, ``.decrypt(str) -> str``), ``cipher_for(settings)``,
``DecryptionError``, ``KEY_FILE_NAME``.

The key is ``settings.secret_key`` when set (a Fernet key is used as is; any other string is stretched into one with
HKDF-SHA256), otherwise a key generated on first run into ``settings.data_dir / KEY_FILE_NAME`` with mode 0600 (the
folder 0700). With ``ERPSYNC_ENV=prod`` the settings refuse to load without a secret key, so no key is generated
there.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from erpsync.errors import ErpsyncError
from erpsync.settings import Settings
from erpsync.storage.files import private_dir, write_private

KEY_FILE_NAME = "secret.key"
_HKDF_INFO = b"erpsync secrets at rest v1"


def token_digest(token: str) -> str:
    """What is stored of a bearer secret (an API token, a web session id) and looked up by: its SHA-256 in hex. The
    secrets are random and long, so a fast unsalted digest is enough; a copy of the database holds no usable one."""
    return hashlib.sha256(token.encode()).hexdigest()


class DecryptionError(ErpsyncError):
    """A stored secret cannot be decrypted: the key changed or the value was tampered with."""


class Cipher:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, UnicodeError) as exc:
            raise DecryptionError("a stored secret cannot be decrypted: was the secret key changed?") from exc


def _is_fernet_key(value: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(value.encode("ascii"))) == 32
    except (ValueError, UnicodeError):
        return False


def key_from_secret(secret: str) -> bytes:
    if _is_fernet_key(secret):
        return secret.encode("ascii")
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(secret.encode())
    return base64.urlsafe_b64encode(derived)


def load_or_create_key_file(path: Path) -> bytes:
    """Read the key file, or create it with a new key, readable by this user only (O_EXCL: first writer wins).

    Its folder is made (or tightened to) 0700: it is the data folder, next to the database."""
    private_dir(path.parent)
    write_private(path, Fernet.generate_key().decode("ascii"))
    return path.read_bytes().strip()


def cipher_for(settings: Settings) -> Cipher:
    if settings.secret_key:
        return Cipher(key_from_secret(settings.secret_key))
    return Cipher(load_or_create_key_file(settings.data_dir / KEY_FILE_NAME))
