"""Amounts shown with their asset scale using integer math, and the badges of jobs and attempts."""

from __future__ import annotations

import pytest

from jobs.models import AttemptStatus, Job
from jobs.money import Money, format_amount
from jobs.presenters import Badge, attempt_badge, job_badge


@pytest.mark.parametrize(
    ("value", "code", "scale", "text"),
    [
        (12345, "USD", 2, "$123.45"),
        (5, "USD", 2, "$0.05"),
        (100, "USD", 2, "$1.00"),
        (7, "JPY", 0, "¥7"),
        (1, "XRP", 9, "0.000000001 XRP"),
        (2**63 - 1, "USD", 2, "$92,233,720,368,547,758.07"),
        (-250, "EUR", 2, "-€2.50"),
    ],
)
def test_format_amount_shows_every_digit(value, code, scale, text):
    assert format_amount(value, code, scale) == text


def test_money_as_json_is_the_open_payments_amount_with_its_display_text():
    assert Money(1234, "USD", 2).as_json() == {
        "value": "1234",
        "assetCode": "USD",
        "assetScale": 2,
        "formatted": "$12.34",
    }


@pytest.mark.parametrize(
    ("job_status", "latest", "badge"),
    [
        (Job.Status.OPEN, None, Badge("open", "Open")),
        (Job.Status.OPEN, AttemptStatus.GENERATING, Badge("generating", "Generating link")),
        (Job.Status.OPEN, AttemptStatus.AWAITING_AUTHORIZATION, Badge("awaiting", "Awaiting payment")),
        (Job.Status.OPEN, AttemptStatus.AUTHORIZED, Badge("processing", "Processing payment")),
        (Job.Status.OPEN, AttemptStatus.CANCELLED, Badge("open", "Open")),
        (Job.Status.PAID, AttemptStatus.SUCCEEDED, Badge("paid", "Paid")),
    ],
)
def test_job_badges(job_status, latest, badge):
    assert job_badge(job_status, latest) == badge


def test_attempt_badges_name_final_statuses():
    assert attempt_badge(AttemptStatus.EXPIRED) == Badge("expired", "Expired")
    assert attempt_badge(AttemptStatus.SUCCEEDED) == Badge("paid", "Paid")
