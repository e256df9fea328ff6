"""Model fields the apps share."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


def _fernet() -> MultiFernet:
    """Keys from FIELD_ENCRYPTION_KEYS, newest first: the first encrypts, any decrypts, so a
    key can be rotated without a flag day. Without any, one derived from SECRET_KEY."""
    keys = list(settings.FIELD_ENCRYPTION_KEYS) or [
        base64.urlsafe_b64encode(hashlib.sha256(settings.SECRET_KEY.encode()).digest()).decode()
    ]
    return MultiFernet([Fernet(key) for key in keys])


class EncryptedJSONField(models.TextField):
    """A JSON object stored encrypted (Fernet: AES-128-CBC + HMAC) — for platform tokens.

    The database only ever holds ciphertext; a row written before encryption (plain JSON) is
    still read, and is encrypted when next saved.
    """

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        if value is None:
            return value
        return self.to_python(value)

    def to_python(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return json.loads(_fernet().decrypt(value.encode()))
        except InvalidToken:
            if value.lstrip().startswith("{"):
                return json.loads(value)
            raise

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        plain = json.dumps(value, sort_keys=True).encode()
        return _fernet().encrypt(plain).decode()

    def value_to_string(self, obj: models.Model) -> str:
        # Dumps and fixtures carry ciphertext, never the tokens.
        return self.get_prep_value(self.value_from_object(obj)) or ""


def redact(value: str) -> str:
    """How the audit log shows a secret's old and new value: not at all."""
    return "[redacted]"
