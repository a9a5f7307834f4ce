"""worker.accounts: the reset link goes to the accounts using the address typed, and to no one else."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.core import mail
from pytest_django.fixtures import Settings

from worker import tasks
from worker.accounts import duration, send_reset_link

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-password-for-tests-42"


@pytest.fixture
def alice(settings: Settings) -> User:
    settings.PUBLIC_BASE_URL = "https://jobs.example"
    return User.objects.create_user("alice", "alice@example.org", PASSWORD)


def test_an_accounts_address_in_any_case_gets_one_link_on_the_public_origin(alice: User) -> None:
    # given / when
    send_reset_link("Alice@Example.org")

    # then
    [message] = mail.outbox
    assert (message.to, message.subject) == (
        ["alice@example.org"],
        "Reset your password on Open Jobs Marketplace",
    )
    assert re.search(r"^https://jobs\.example/password-reset/[\w-]+/[\w-]+$", str(message.body), re.M)
    assert "It works once, within 1 hour:" in str(message.body)


@pytest.mark.parametrize("email", ["nobody@example.org", "not an address", ""])
def test_an_address_no_account_uses_gets_nothing(alice: User, email: str) -> None:
    # given / when
    send_reset_link(email)

    # then
    assert mail.outbox == []


def test_a_deactivated_account_gets_nothing(alice: User) -> None:
    # given an account that was deactivated
    alice.is_active = False
    alice.save()

    # when / then
    send_reset_link("alice@example.org")
    assert mail.outbox == []


def test_the_task_is_acknowledged_on_receipt_so_a_retry_never_sends_a_second_link() -> None:
    # given / when / then
    assert (tasks.password_reset.name, tasks.password_reset.acks_late) == ("accounts.password_reset", False)


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(3600, "1 hour"), (7200, "2 hours"), (5400, "90 minutes"), (60, "1 minute"), (10, "1 minute")],
)
def test_how_long_a_link_works_is_said_in_words(seconds: int, words: str) -> None:
    assert duration(seconds) == words
