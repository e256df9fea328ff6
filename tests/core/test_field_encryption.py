"""Platform tokens at rest: the start-up check that warns a deployment relying on SECRET_KEY,
and the key rotation documented in docs/operations.md, step by step."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core import checks
from django.core.management import call_command
from django.db import connection

from ingestion.models import PlatformAccount
from tests.factories import PlatformAccountFactory

NEW_KEY = Fernet.generate_key().decode()
NEWER_KEY = Fernet.generate_key().decode()


def check_ids() -> set[str]:
    return {message.id for message in checks.run_checks(tags=[checks.Tags.security])}


def test_a_deployment_without_encryption_keys_is_warned_at_start_up(settings):
    settings.SECRET_KEY = "a-real-deployment-secret-key-0123456789-abcdefghijklmnop"
    settings.FIELD_ENCRYPTION_KEYS = []

    [warning] = [m for m in checks.run_checks(tags=[checks.Tags.security]) if m.id == "core.W001"]

    assert warning.level == checks.WARNING
    assert "changing SECRET_KEY will make every stored token unreadable" in warning.msg


def test_no_warning_with_keys_set_or_on_the_demo(settings):
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    settings.SECRET_KEY = "a-real-deployment-secret-key-0123456789-abcdefghijklmnop"
    with_keys = check_ids()
    settings.FIELD_ENCRYPTION_KEYS = []
    settings.SECRET_KEY = settings.DEMO_SECRET_KEY
    demo = check_ids()

    assert "core.W001" not in with_keys
    assert "core.W001" not in demo


def test_a_malformed_key_is_an_error(settings):
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, "not-a-fernet-key"]

    [error] = [m for m in checks.run_checks(tags=[checks.Tags.security]) if m.id == "core.E001"]

    assert "key 2 is not a Fernet key" in error.msg


def stored_ciphertext(account: PlatformAccount) -> bytes:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT credentials FROM {PlatformAccount._meta.db_table} WHERE id = %s",
            [account.pk],
        )
        return cursor.fetchone()[0].encode()


@pytest.mark.django_db
def test_rotating_from_the_secret_key_to_own_keys_keeps_every_token(settings):
    # 1. A deployment that started without FIELD_ENCRYPTION_KEYS.
    settings.FIELD_ENCRYPTION_KEYS = []
    account = PlatformAccountFactory(credentials={"page_access_token": "EAAB-live-token"})
    # 2. It sets a key: rows written before still read.
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    assert PlatformAccount.objects.get(pk=account.pk).credentials["page_access_token"] == (
        "EAAB-live-token"
    )
    # 3. Re-encrypt: the rows are now under the new key alone ...
    call_command("reencrypt_fields", stdout=io.StringIO())
    assert Fernet(NEW_KEY).decrypt(stored_ciphertext(account))
    # 4. ... so SECRET_KEY can change, and then the key rotate again the same way.
    settings.SECRET_KEY = "a-brand-new-secret-key-after-rotation-0123456789abcdefghij"
    settings.FIELD_ENCRYPTION_KEYS = [NEWER_KEY, NEW_KEY]
    call_command("reencrypt_fields", stdout=io.StringIO())
    settings.FIELD_ENCRYPTION_KEYS = [NEWER_KEY]

    assert PlatformAccount.objects.get(pk=account.pk).credentials == {
        "page_access_token": "EAAB-live-token"
    }
    with pytest.raises(InvalidToken):
        Fernet(NEW_KEY).decrypt(stored_ciphertext(account))


@pytest.mark.django_db
def test_changing_the_secret_key_without_own_keys_loses_the_tokens(settings):
    """What the start-up warning is about."""
    settings.FIELD_ENCRYPTION_KEYS = []
    account = PlatformAccountFactory(credentials={"page_access_token": "EAAB-live-token"})

    settings.SECRET_KEY = "a-brand-new-secret-key-after-rotation-0123456789abcdefghij"

    with pytest.raises(InvalidToken):
        PlatformAccount.objects.get(pk=account.pk)
