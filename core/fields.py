"""Model fields the apps share."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core import checks
from django.db import models


def _fernet() -> MultiFernet:
    """Keys from FIELD_ENCRYPTION_KEYS, newest first: the first encrypts, any decrypts, so a
    key can be rotated without a flag day. Without any, one derived from SECRET_KEY encrypts.

    The derived key always comes last, to decrypt: rows written before FIELD_ENCRYPTION_KEYS
    was set stay readable until `manage.py reencrypt_fields` has moved them to its first key.
    """
    derived = base64.urlsafe_b64encode(
        hashlib.sha256(settings.SECRET_KEY.encode()).digest()
    ).decode()
    keys = [*settings.FIELD_ENCRYPTION_KEYS, derived]
    return MultiFernet([Fernet(key) for key in keys])


@checks.register(checks.Tags.security)
def check_field_encryption_keys(
    app_configs: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Loud at every start (serve, migrate, check) of a deployment without its own keys: the
    platform tokens are then encrypted with a key derived from SECRET_KEY, and rotating
    SECRET_KEY makes every stored token unreadable."""
    problems: list[checks.CheckMessage] = []
    for position, key in enumerate(settings.FIELD_ENCRYPTION_KEYS, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            problems.append(
                checks.Error(
                    f"FIELD_ENCRYPTION_KEYS: key {position} is not a Fernet key.",
                    hint='Generate one with: python -c "from cryptography.fernet import '
                    'Fernet; print(Fernet.generate_key().decode())"',
                    id="core.E001",
                )
            )
    deployed = not settings.DEBUG and settings.SECRET_KEY != settings.DEMO_SECRET_KEY
    if deployed and not settings.FIELD_ENCRYPTION_KEYS:
        problems.append(
            checks.Warning(
                "FIELD_ENCRYPTION_KEYS is not set: platform tokens are encrypted with a key "
                "derived from SECRET_KEY, and changing SECRET_KEY will make every stored "
                "token unreadable.",
                hint="Set FIELD_ENCRYPTION_KEYS to a Fernet key, then run `manage.py "
                "reencrypt_fields` (docs/operations.md, key rotation).",
                id="core.W001",
            )
        )
    return problems


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
