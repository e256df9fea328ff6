"""docker-compose.yml with .env.example: every setting reaches web, worker and beat, and the
documented production settings pass `manage.py check --deploy` with nothing to report.

No Docker engine runs where the suite does, so `docker compose config` is done here as compose
does it: `.env` is read for interpolation and passed whole through `env_file`, and the
service's `environment` entries are laid over it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cryptography.fernet import Fernet
from dotenv import dotenv_values

from tests.test_deployment import APP_SERVICES, interpolate, variables_settings_reads

REPO_ROOT = Path(__file__).resolve().parent.parent
ENV_EXAMPLE = REPO_ROOT / ".env.example"
# What the operator fills in, as .env.example asks.
OPERATOR = {
    "SECRET_KEY": "0PZ6k3yq5nWm9c2vXtR8hJ4aLs7dFg1bNe-QwUiOpZxCvBnMlKjHgTrEwQaSd",
    "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "POSTGRES_PASSWORD": "db-password",
}
# Variables only docker compose reads (interpolation), not Parley.
COMPOSE_ONLY = {"POSTGRES_PASSWORD", "PARLEY_PORT"}
VARIABLE = re.compile(r"^(?P<commented># ?)?(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")


def example_lines() -> list[str]:
    return ENV_EXAMPLE.read_text().splitlines()


def listed_variables() -> dict[str, bool]:
    """Every variable .env.example names, and whether it is set (not commented out)."""
    listed = {}
    for line in example_lines():
        match = VARIABLE.match(line)
        if match:
            listed[match["name"]] = not match["commented"]
    return listed


def dot_env(**filled: str) -> dict[str, str]:
    """The operator's .env: .env.example with the blanks filled in."""
    values = {name: value or "" for name, value in dotenv_values(ENV_EXAMPLE).items()}
    return {**values, **filled}


def compose_config(dot_env_values: dict[str, str]) -> dict[str, dict[str, str]]:
    """The environment each app service's container gets, as `docker compose config` shows."""
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    containers = {}
    for name in APP_SERVICES:
        service = compose["services"][name]
        environment: dict[str, str] = {}
        for entry in service.get("env_file", []):
            path = entry["path"] if isinstance(entry, dict) else entry
            assert path == ".env"
            environment.update(dot_env_values)
        for key, value in service["environment"].items():
            environment[key] = interpolate(str(value), dot_env_values)
        containers[name] = environment
    return containers


def test_every_setting_parley_reads_is_listed_in_env_example():
    listed = listed_variables()

    missing = sorted(variables_settings_reads() - set(listed))

    assert missing == []
    assert set(listed) - variables_settings_reads() <= COMPOSE_ONLY


def test_every_variable_in_env_example_is_explained():
    unexplained = []
    lines = example_lines()
    for number, line in enumerate(lines):
        if not VARIABLE.match(line):
            continue
        above = number - 1
        while above >= 0 and VARIABLE.match(lines[above]):
            above -= 1  # variables of one group share the comment above them
        if above < 0 or not lines[above].startswith("#"):
            unexplained.append(line)

    assert unexplained == []


def test_every_setting_in_dot_env_reaches_web_worker_and_beat():
    operator_env = dot_env(
        **OPERATOR,
        EMAIL_URL="smtp+tls://parley:pw@mail.example.com:587",
        SENTRY_DSN="https://key@sentry.example.com/3",
        METRICS_TOKEN="scrape-token",
    )

    containers = compose_config(operator_env)

    overridden_by_compose = {"DATABASE_URL", "REDIS_URL", "TRIAGE_MODEL_DIR"}
    for name, environment in containers.items():
        for variable, value in operator_env.items():
            if variable in overridden_by_compose:
                continue
            assert environment.get(variable) == value, f"{variable} does not reach {name}"
        # The settings that used to stop at docker-compose.yml.
        for variable in (
            "SECURE_COOKIES",
            "HSTS_SECONDS",
            "SECURE_SSL_REDIRECT",
            "BEHIND_TLS_PROXY",
            "CSRF_TRUSTED_ORIGINS",
            "EMAIL_URL",
            "FIELD_ENCRYPTION_KEYS",
        ):
            assert environment[variable], f"{variable} is empty in {name}"
        assert environment["DATABASE_URL"] == "postgres://parley:db-password@postgres:5432/parley"
    assert containers["web"] == containers["worker"] == containers["beat"]


def test_env_example_as_it_ships_does_not_start():
    """The blanks are blank: compose refuses to start until the operator sets a key."""
    with pytest.raises(LookupError, match="SECRET_KEY"):
        compose_config(dot_env())


def test_the_documented_production_settings_pass_check_deploy():
    environment = compose_config(dot_env(**OPERATOR))["web"]

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO_ROOT,
        env={"PATH": os.environ.get("PATH", ""), **environment},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_reports_what_the_production_settings_fix():
    """The same check fails on the embedded defaults: the test above can fail."""
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO_ROOT,
        env={
            "PATH": os.environ.get("PATH", ""),
            "DATABASE_URL": "sqlite://:memory:",
            "SECRET_KEY": OPERATOR["SECRET_KEY"],
        },
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    for problem in ("security.W004", "security.W008", "security.W012", "parley.W001"):
        assert problem in result.stderr
