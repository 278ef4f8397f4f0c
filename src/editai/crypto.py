"""Encryption at rest for third-party credentials (Fernet, key derived from EDITAI_SECRET_KEY)."""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


@lru_cache(maxsize=8)
def _fernet(secret_key: str) -> Fernet:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"editai:credentials:v1"
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt_secret(secret_key: str, plaintext: str) -> bytes:
    return _fernet(secret_key).encrypt(plaintext.encode())


def decrypt_secret(secret_key: str, token: bytes) -> str:
    try:
        return _fernet(secret_key).decrypt(token).decode()
    except InvalidToken as exc:
        raise ValueError("stored credential cannot be decrypted with EDITAI_SECRET_KEY") from exc
