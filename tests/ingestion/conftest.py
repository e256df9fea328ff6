"""Connected platform accounts and the recorded payloads the connector tests replay."""

import json
from pathlib import Path

import pytest

from core.models import Platform
from tests.factories import PlatformAccountFactory

PAYLOADS = Path(__file__).parent / "payloads"

X_ACCOUNT_ID = "1500000000"
FACEBOOK_PAGE_ID = "111222333"
INSTAGRAM_ACCOUNT_ID = "17841400000009999"
META_APP_SECRET = "meta-app-secret"
X_CONSUMER_SECRET = "x-consumer-secret"


def payload(name: str) -> dict:
    return json.loads((PAYLOADS / name).read_text())


@pytest.fixture
def x_account(db):
    return PlatformAccountFactory(
        platform=Platform.TWITTER,
        handle="acme",
        external_id=X_ACCOUNT_ID,
        credentials={
            "bearer_token": "x-bearer",
            "consumer_key": "x-key",
            "consumer_secret": X_CONSUMER_SECRET,
            "access_token": "x-access",
            "access_token_secret": "x-access-secret",
        },
    )


@pytest.fixture
def instagram_account(db):
    return PlatformAccountFactory(
        platform=Platform.INSTAGRAM,
        handle="acme",
        external_id=INSTAGRAM_ACCOUNT_ID,
        credentials={"page_access_token": "page-token", "app_secret": META_APP_SECRET},
    )
