"""A person's own money page: what they paid and received, refunds both ways, per month and asset, each
with its receipt; and the same as CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from jobs import dashboard
from jobs.models import AttemptKind, AttemptStatus, PaymentAttempt, Refund
from tests.jobs import factories as f

pytestmark = pytest.mark.django_db


def when(month: int, day: int) -> datetime:
    return timezone.make_aware(datetime(2026, month, day, 12))


@pytest.fixture
def people() -> dict[str, Any]:
    """Fiona paid Pavel twice in March ($13.00 left her wallet each time, he received 12.50 and 20.00),
    once in April; Pavel refunded 5.00 in April (4.90 reached Fiona, in EUR). Olga paid someone else."""
    fiona, pavel, olga = f.funder(), f.provider(), f.funder("olga")
    paid = []
    for finished, amount in ((when(3, 2), 1250), (when(3, 20), 2000), (when(4, 1), 1000)):
        job = f.job(fiona, title=f"Job of {amount}")
        attempt = f.attempt(
            f.quote(job, pavel, amount_value=amount), AttemptStatus.SUCCEEDED, received_amount=amount
        )
        PaymentAttempt.objects.filter(pk=attempt.pk).update(finished_at=finished)
        paid.append(attempt)
    refund = Refund.objects.create(
        job=paid[0].job,
        payment=paid[0],
        amount_value=500,
        asset_code="USD",
        asset_scale=2,
        requested_by=fiona,
        status=Refund.Status.REFUNDED,
    )
    back = f.attempt(
        paid[0].quote,
        AttemptStatus.SUCCEEDED,
        kind=AttemptKind.REFUND,
        refund=refund,
        debit_amount=500,
        received_amount=490,
        receive_asset_code="EUR",
        sender_wallet=paid[0].receiver_wallet,
        receiver_wallet=paid[0].sender_wallet,
    )
    PaymentAttempt.objects.filter(pk=back.pk).update(finished_at=when(4, 5))
    f.attempt(f.quote(f.job(fiona, title="Unpaid"), pavel), AttemptStatus.FAILED)
    other = f.attempt(f.quote(f.job(olga, title="Olga's job"), f.provider("pia")), AttemptStatus.SUCCEEDED)
    PaymentAttempt.objects.filter(pk=other.pk).update(finished_at=when(3, 3))
    return {"fiona": fiona, "pavel": pavel, "olga": olga, "first_job": paid[0].job_id}


def test_the_funder_sees_what_left_and_came_back_per_month(people: dict[str, Any]) -> None:
    months = [
        (m.month.isoformat(), m.direction, m.asset_code, m.total, m.count)
        for m in dashboard.money_months(people["fiona"].pk)
    ]
    assert months == [
        ("2026-04-01", "paid", "USD", 1300, 1),
        ("2026-04-01", "refund received", "EUR", 490, 1),
        ("2026-03-01", "paid", "USD", 2600, 2),
    ]


def test_the_provider_sees_what_reached_them_and_what_they_refunded(people: dict[str, Any]) -> None:
    months = [
        (m.month.isoformat(), m.direction, m.asset_code, m.total, m.count)
        for m in dashboard.money_months(people["pavel"].pk)
    ]
    assert months == [
        ("2026-04-01", "received", "USD", 1000, 1),
        ("2026-04-01", "refund paid", "USD", 500, 1),
        ("2026-03-01", "received", "USD", 3250, 2),
    ]


def test_the_page_lists_each_with_its_receipt(people: dict[str, Any]) -> None:
    page = f.logged_in(people["pavel"]).get("/money").content.decode()
    assert "$32.50" in page and "$5.00" in page
    assert page.count(f'href="/jobs/{people["first_job"]}/receipt"') == 2  # the payment and its refund
    assert "Olga" not in page and "Unpaid" not in page
    receipt = f.logged_in(people["pavel"]).get(f"/jobs/{people['first_job']}/receipt")
    assert receipt.status_code == 200


def test_someone_with_no_money_moved_sees_an_empty_page(people: dict[str, Any]) -> None:
    page = f.logged_in(f.user("nobody")).get("/money").content.decode()
    assert "No money has moved" in page


def test_a_visitor_is_sent_to_log_in(db: None) -> None:
    assert Client().get("/money").status_code == 302
    assert Client().get("/money.csv").status_code == 302


def test_the_csv_has_one_row_per_payment_and_refund(people: dict[str, Any]) -> None:
    response = f.logged_in(people["fiona"]).get("/money.csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:8] == [
        "finished_at",
        "month",
        "direction",
        "job_id",
        "job_title",
        "amount",
        "amount_minor",
        "asset_code",
    ]
    assert [(row[1], row[2], row[5], row[7]) for row in rows[1:]] == [
        ("2026-04", "refund received", "4.90", "EUR"),
        ("2026-04", "paid", "13.00", "USD"),
        ("2026-03", "paid", "13.00", "USD"),
        ("2026-03", "paid", "13.00", "USD"),
    ]
    assert rows[1][9] == f"http://testserver/jobs/{people['first_job']}/receipt"


def test_a_title_that_looks_like_a_formula_is_not_one_in_the_csv(people: dict[str, Any]) -> None:
    job = f.job(people["fiona"], title="=HYPERLINK(1)")
    attempt = f.attempt(f.quote(job, people["pavel"]), AttemptStatus.SUCCEEDED)
    PaymentAttempt.objects.filter(pk=attempt.pk).update(finished_at=when(5, 1))
    body = f.logged_in(people["fiona"]).get("/money.csv").content.decode()
    assert "'=HYPERLINK(1)" in body
