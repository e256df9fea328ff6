"""`/healthz`: what a load balancer or `docker compose` sees when a component is up or down.

The healthy case runs in both passes of the suite: on the embedded defaults (SQLite, locmem
cache, in-memory channel layer) and against the real PostgreSQL and Redis.
"""

import pytest

pytestmark = [
    pytest.mark.django_db,
    # WhiteNoise notes that collectstatic has not run; the demo serves from the finders.
    pytest.mark.filterwarnings("ignore:No directory at"),
]

# Nothing listens on port 1, so a connection there is refused at once.
DEAD_REDIS_URL = "redis://127.0.0.1:1/0"


def test_healthz_answers_200_when_every_component_answers(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "broker": "ok",
        "channel_layer": "ok",
    }


@pytest.fixture
def staff_client(client, django_user_model):
    staff = django_user_model.objects.create_user("ops", password="pw-12345678", is_staff=True)
    client.force_login(staff)
    return client


def test_healthz_answers_503_naming_the_broker_when_redis_is_down(staff_client, settings):
    settings.REDIS_URL = DEAD_REDIS_URL

    response = staff_client.get("/healthz")

    assert response.status_code == 503
    report = response.json()
    assert report["status"] == "degraded"
    assert report["broker"].startswith("failed: ")
    assert "127.0.0.1:1" in report["broker"]
    assert report["database"] == "ok"
    assert report["channel_layer"] == "ok"


def test_healthz_answers_503_naming_the_channel_layer_when_it_is_down(staff_client, settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [DEAD_REDIS_URL]},
        }
    }

    response = staff_client.get("/healthz")

    assert response.status_code == 503
    report = response.json()
    assert report["status"] == "degraded"
    assert report["channel_layer"].startswith("failed: ")
    assert "127.0.0.1" in report["channel_layer"]
    assert report["database"] == "ok"
    assert report["broker"] == "ok"


def test_anonymous_healthz_says_failed_without_the_error_text(client, agent, settings):
    settings.REDIS_URL = DEAD_REDIS_URL

    anonymous = client.get("/healthz")
    client.force_login(agent)  # signed in, not staff
    agent_view = client.get("/healthz")

    for response in (anonymous, agent_view):
        assert response.status_code == 503
        assert response.json() == {
            "status": "degraded",
            "database": "ok",
            "broker": "failed",
            "channel_layer": "ok",
        }
        assert "127.0.0.1" not in response.content.decode()


def test_healthz_is_never_cached(client):
    response = client.get("/healthz")

    assert "no-cache" in response["Cache-Control"]
