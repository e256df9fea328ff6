"""docker-compose.yml with .env.example: every setting reaches web, worker and beat, and the
documented production settings pass `manage.py check --deploy` with nothing to report; the
lock files the image and CI install from.

No Docker engine runs where the suite does, so `docker compose config` is done here as compose
does it: `.env` is read for interpolation and passed whole through `env_file`, and the
service's `environment` entries are laid over it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from cryptography.fernet import Fernet
from dotenv import dotenv_values
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

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
    for problem in ("security.W004", "security.W008", "security.W012", "core.W001"):
        assert problem in result.stderr


# --- Reproducible installs ----------------------------------------------------------------------


def locked_versions(lock: str) -> dict[str, list[str]]:
    """Package name -> the versions pinned (one per platform or Python split)."""
    pins: dict[str, list[str]] = {}
    for line in (REPO_ROOT / lock).read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", line)
        if match:
            pins.setdefault(canonicalize_name(match[1]), []).append(match[2])
    return pins


def pyproject_requirements(*, dev: bool) -> list[Requirement]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    names = project["dependencies"] + (project["optional-dependencies"]["dev"] if dev else [])
    return [Requirement(name) for name in names]


@pytest.mark.parametrize(
    ("lock", "dev"), [("requirements.lock", False), ("requirements-dev.lock", True)]
)
def test_the_locks_pin_every_dependency_within_pyproject_ranges(lock, dev):
    pins = locked_versions(lock)

    for requirement in pyproject_requirements(dev=dev):
        versions = pins.get(canonicalize_name(requirement.name))
        assert versions, f"{requirement.name} is not in {lock}: run `make lock`"
        for version in versions:
            assert requirement.specifier.contains(version, prereleases=True), (
                f"{lock} pins {requirement.name}=={version}, outside {requirement}: run `make lock`"
            )
    if not dev:
        assert "pytest" not in pins  # the image carries no test tools


def test_every_locked_package_carries_its_hashes():
    for lock in ("requirements.lock", "requirements-dev.lock"):
        text = (REPO_ROOT / lock).read_text()
        pinned = len(re.findall(r"(?m)^[A-Za-z0-9][^\s]*==", text))
        assert pinned and text.count("--hash=sha256:") >= pinned


def make_dry_run(**variables: str) -> str:
    """The commands `make venv` would run on a fresh machine (nothing is run)."""
    result = subprocess.run(
        [
            "make",
            "-n",
            "-B",
            "venv",
            "VENV=/nonexistent/venv",
            *(f"{k}={v}" for k, v in variables.items()),
        ],
        cwd=REPO_ROOT,
        env={"PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def test_ci_installs_the_lock_and_make_run_resolves_pyproject():
    ci = make_dry_run(CI="true")
    fresh_machine = make_dry_run()

    assert "pip install --quiet --require-hashes -r requirements-dev.lock" in ci
    assert "pip install --quiet --no-deps -e ." in ci
    assert "'.[dev]'" not in ci
    assert "pip install --quiet -e '.[dev]'" in fresh_machine
    assert "requirements-dev.lock" not in fresh_machine


def test_the_image_installs_the_lock_then_collects_hashed_static_files():
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()

    assert "COPY requirements.lock ./" in dockerfile
    assert "pip install --require-hashes -r requirements.lock" in dockerfile
    # The manifest storage is chosen before collectstatic runs, so the names are hashed.
    assert dockerfile.index("ENV WHITENOISE_USE_FINDERS=false") < dockerfile.index(
        "manage.py collectstatic"
    )
