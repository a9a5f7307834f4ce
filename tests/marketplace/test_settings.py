"""Settings come from the environment and fail fast, naming what is missing or wrong."""

from __future__ import annotations

import subprocess

import pytest

from tests.services import run_python

SETUP = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"


def start(**env: str) -> subprocess.CompletedProcess[str]:
    """Loads the project's settings in a fresh process with `env` on top of the test environment."""
    return run_python(SETUP, env, unset=("SECRET_KEY", "DEBUG"), check=False)


def test_without_debug_a_missing_secret_key_stops_start_up_naming_it() -> None:
    # given / when
    done = start(DEBUG="false")

    # then
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "django.core.exceptions.ImproperlyConfigured: "
        "Set the environment variable SECRET_KEY (see .env.example)."
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG must be true or false, not 'maybe'."),
        ("CELERY_VISIBILITY_TIMEOUT", "soon", "CELERY_VISIBILITY_TIMEOUT must be an integer, not 'soon'."),
    ],
)
def test_a_malformed_value_stops_start_up_naming_the_variable(name: str, value: str, message: str) -> None:
    # given / when
    done = start(**{name: value, "SECRET_KEY": "x" * 50})

    # then
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == f"django.core.exceptions.ImproperlyConfigured: {message}"


def test_with_a_secret_key_and_no_debug_the_settings_load() -> None:
    # given / when
    done = start(DEBUG="false", SECRET_KEY="s" * 50, ALLOWED_HOSTS="marketplace.example")

    # then
    assert (done.returncode, done.stdout.strip()) == (0, "False")


def test_open_payments_settings_name_every_missing_variable(settings) -> None:  # type: ignore[no-untyped-def]
    # given an unconfigured Open Payments client
    from django.core.exceptions import ImproperlyConfigured

    from marketplace.open_payments import client_config

    settings.OPEN_PAYMENTS = {
        **settings.OPEN_PAYMENTS,
        "CLIENT_WALLET_ADDRESS": "",
        "KEY_ID": "",
        "PRIVATE_KEY": "",
    }

    # when / then
    with pytest.raises(ImproperlyConfigured) as refused:
        client_config()
    assert str(refused.value) == (
        "Open Payments is not configured: set OP_CLIENT_WALLET_ADDRESS, OP_KEY_ID, OP_PRIVATE_KEY."
    )


@pytest.mark.parametrize(("debug", "secure"), [("false", True), ("true", False)])
def test_an_empty_true_or_false_variable_takes_its_default(
    monkeypatch: pytest.MonkeyPatch, debug: str, secure: bool
) -> None:
    # given SECURE_COOKIES left empty, as .env.example has it
    from marketplace.env import env_bool

    monkeypatch.setenv("SECURE_COOKIES", "")

    # when / then the empty value is the default (secure cookies unless DEBUG), not false
    assert env_bool("SECURE_COOKIES", debug == "false") is secure
