"""The deployment files: docker-compose.yml, Dockerfile and .dockerignore.

There is no Docker engine where the suite runs, so these tests read the files: the compose
file parses and runs the five services from one image and one environment, and that
environment is exactly what settings.py reads and configures the production shape.
"""

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import environ
import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ("web", "worker", "beat")
CONTRACT = {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ALLOWED_HOSTS", "DEBUG"}
# `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:?error}` and `${NAME?error}`.
INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def interpolate(value: str, variables: dict[str, str]) -> str:
    """What `docker compose` makes of a value, given the operator's variables."""

    def substitute(match: re.Match) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if variables.get(name):
            return variables[name]
        if op and op.endswith("?"):
            raise LookupError(f"{name}: {arg}")
        return arg if op else ""

    return INTERPOLATION.sub(substitute, value.replace("$$", "\0")).replace("\0", "$")


def app_environment(services: dict, **variables: str) -> dict[str, str]:
    return {
        name: interpolate(str(value), variables)
        for name, value in services["web"]["environment"].items()
    }


def variables_settings_reads() -> set[str]:
    """Names passed to `env.…("NAME", …)` or `env("NAME", …)` in parley/settings.py."""
    tree = ast.parse((REPO_ROOT / "parley" / "settings.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        function = node.func
        reads_env = (isinstance(function, ast.Name) and function.id == "env") or (
            isinstance(function, ast.Attribute)
            and isinstance(function.value, ast.Name)
            and function.value.id == "env"
        )
        first = node.args[0]
        if reads_env and isinstance(first, ast.Constant) and isinstance(first.value, str):
            names.add(first.value)
    return names


def test_compose_defines_the_five_services(services):
    assert set(services) == {"postgres", "redis", "web", "worker", "beat"}
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")


def test_web_worker_and_beat_run_one_image_with_one_environment(services):
    web = services["web"]
    for name in APP_SERVICES:
        assert services[name]["image"] == web["image"]
        assert services[name]["build"] == "."
        assert services[name]["environment"] == web["environment"]
        # No code or config mounted in: only the shared store of trained triage models.
        assert services[name]["volumes"] == ["triage-models:/var/lib/parley/triage-models"]


def test_app_environment_holds_the_contract_and_settings_reads_all_of_it(services):
    environment = set(services["web"]["environment"])

    assert environment >= CONTRACT
    assert environment <= variables_settings_reads()


def test_dockerfile_environment_is_read_by_settings():
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    names = set(re.findall(r"(?m)^\s*(?:ENV\s+)?([A-Z][A-Z0-9_]*)=", dockerfile))
    app_names = {name for name in names if not name.startswith(("PYTHON", "PIP_"))}

    assert app_names
    assert app_names <= variables_settings_reads()


def test_compose_refuses_to_start_without_a_secret_key(services):
    with pytest.raises(LookupError, match="SECRET_KEY"):
        app_environment(services)


def test_database_and_redis_urls_point_at_the_compose_services(services):
    environment = app_environment(services, SECRET_KEY="s3cret", POSTGRES_PASSWORD="pw")
    postgres = {
        name: interpolate(str(value), {"POSTGRES_PASSWORD": "pw"})
        for name, value in services["postgres"]["environment"].items()
    }

    database = environ.Env.db_url_config(environment["DATABASE_URL"])
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert database["HOST"] == "postgres"
    assert database["NAME"] == postgres["POSTGRES_DB"]
    assert database["USER"] == postgres["POSTGRES_USER"]
    assert database["PASSWORD"] == postgres["POSTGRES_PASSWORD"] == "pw"
    assert environment["REDIS_URL"].startswith("redis://redis:6379/")


def test_compose_environment_configures_the_production_shape(services):
    """Import the settings in a fresh interpreter with only what compose passes."""
    environment = app_environment(services, SECRET_KEY="s3cret", ALLOWED_HOSTS="help.example.com")
    probe = (
        "import json; from parley import settings as s; print(json.dumps({"
        "'database': s.DATABASES['default']['ENGINE'], 'debug': s.DEBUG,"
        "'hosts': s.ALLOWED_HOSTS, 'secret': s.SECRET_KEY, 'eager': s.CELERY_TASK_ALWAYS_EAGER,"
        "'broker': s.CELERY_BROKER_URL, 'channels': s.CHANNEL_LAYERS['default']['BACKEND']}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO_ROOT,
        env={"PATH": os.environ.get("PATH", ""), **environment},
        capture_output=True,
        text=True,
        check=True,
    )

    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "database": "django.db.backends.postgresql",
        "debug": False,
        "hosts": ["help.example.com"],
        "secret": "s3cret",
        "eager": False,
        "broker": environment["REDIS_URL"],
        "channels": "channels_redis.core.RedisChannelLayer",
    }


def test_every_service_has_a_healthcheck(services):
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_python_healthchecks_are_valid_python(services):
    for name, service in services.items():
        test = service["healthcheck"]["test"]
        if test[:3] == ["CMD", "python", "-c"]:
            compile(test[3], f"<{name} healthcheck>", "exec")


def test_web_migrates_then_serves_asgi_without_the_in_process_schedule(services):
    command = " ".join(services["web"]["command"])

    assert command.index("manage.py migrate") < command.index("manage.py serve")
    assert "--host 0.0.0.0" in command
    assert "--no-schedule" in command


def test_worker_and_beat_run_celery_for_the_parley_app(services):
    assert services["worker"]["command"][:4] == ["celery", "-A", "parley", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "parley", "beat"]


def test_services_start_after_what_they_need_is_healthy(services):
    def healthy_dependencies(name: str) -> set[str]:
        depends_on = services[name]["depends_on"]
        return {dep for dep, rule in depends_on.items() if rule["condition"] == "service_healthy"}

    assert healthy_dependencies("web") == {"postgres", "redis"}
    # Only a healthy web has applied the migrations.
    assert healthy_dependencies("worker") == {"web"}
    assert healthy_dependencies("beat") == {"web"}


def test_dockerfile_builds_a_slim_image_that_serves_parley():
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    instructions = [line for line in dockerfile.splitlines() if line and not line[0].isspace()]
    cmd = next(line for line in instructions if line.startswith("CMD "))

    assert next(line for line in instructions if line.startswith("FROM ")) == (
        "FROM python:3.11-slim"
    )
    assert "pip install" in dockerfile
    assert "manage.py collectstatic --noinput" in dockerfile
    assert json.loads(cmd.removeprefix("CMD ")) == [
        "python",
        "manage.py",
        "serve",
        "--host",
        "0.0.0.0",
        "--no-schedule",
    ]


def test_dockerignore_keeps_local_state_and_secrets_out_of_the_image():
    ignored = {
        line.strip()
        for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }

    assert {".git", ".venv", ".env", "parley.sqlite3*", "staticfiles"} <= ignored


def test_every_setting_read_from_the_environment_is_documented_in_the_readme():
    settings_source = (REPO_ROOT / "parley" / "settings.py").read_text()
    readme = (REPO_ROOT / "README.md").read_text()
    read = set(re.findall(r'env\.\w+\(\s*"([A-Z][A-Z0-9_]+)"', settings_source))

    undocumented = sorted(name for name in read if f"| `{name}`" not in readme)

    assert read, "settings.py reads no environment variable?"
    assert undocumented == []
