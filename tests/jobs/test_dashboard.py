"""The staff dashboard: exact figures for a hand-made set of attempts (on SQLite and on PostgreSQL, whichever
DATABASE_URL names), who may see it, its charts, its polling and its CSV."""

from __future__ import annotations

import csv
import io
import random
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jobs import dashboard
from jobs.models import AttemptKind, AttemptStatus, PaymentAttempt, Refund
from tests.jobs import factories as f

pytestmark = pytest.mark.django_db

SLOW = "https://Slow.example:8443/fiona"


def at(day: datetime, seconds: float) -> datetime:
    return day + timedelta(seconds=seconds)


def made(quote: Any, status: str, created: datetime, **fields: Any) -> PaymentAttempt:
    """An attempt in `status` whose timestamps are exactly those given (the factory's `now` replaced)."""
    attempt = f.attempt(quote, status)
    values: dict[str, Any] = {
        "created_at": created,
        "link_ready_at": None,
        "authorized_at": None,
        "finished_at": None,
        **fields,
    }
    PaymentAttempt.objects.filter(pk=attempt.pk).update(**values)
    attempt.refresh_from_db()
    return attempt


@pytest.fixture
def day() -> datetime:
    """Noon UTC three days ago: the first day of the fixture, inside the default 30 days."""
    today = timezone.localdate() - timedelta(days=3)
    return timezone.make_aware(datetime(today.year, today.month, today.day, 12))


@pytest.fixture
def history(day: datetime) -> dict[str, Any]:
    """Nine USD payments approved over two days, a refund, an EUR payment and one outside the period.

    approve → link: 2, 4, 6, 8 s (sender at wallet.example), 10, 12, 14, 16 s (sender at slow.example);
    consent → paid: 4, 6, 8, 10 s; paid 10.00 + 20.00 on day 1, 30.00 + 5.00 on day 2; 7.00 refunded on day 2.
    """
    funder, provider = f.funder(), f.provider()
    next_day = day + timedelta(days=1)

    def quote(amount: int = 1000, asset_code: str = "USD") -> Any:
        return f.quote(f.job(funder), provider, amount_value=amount, asset_code=asset_code)

    paid = []
    for created, link, consent, amount in (
        (day, 2, 4, 1000),
        (at(day, 3600), 4, 6, 2000),
        (next_day, 6, 8, 3000),
        (at(next_day, 60), 8, 10, 500),
    ):
        authorized = at(created, link + 30)
        paid.append(
            made(
                quote(amount),
                AttemptStatus.SUCCEEDED,
                created,
                link_ready_at=at(created, link),
                authorized_at=authorized,
                finished_at=at(authorized, consent),
                received_amount=amount,
            )
        )
    made(
        quote(),
        AttemptStatus.FAILED,
        at(next_day, 120),
        sender_wallet=SLOW,
        link_ready_at=at(next_day, 130),
        authorized_at=at(next_day, 160),
        finished_at=at(next_day, 170),
        error_code="http_403",
        error="Your wallet stopped the payment.",
    )
    for offset, link in ((180, 12), (240, 14)):
        made(
            quote(),
            AttemptStatus.DECLINED,
            at(next_day, offset),
            sender_wallet=SLOW,
            link_ready_at=at(next_day, offset + link),
            finished_at=at(next_day, offset + 60),
            error_code="grant_rejected",
            error="You declined the payment in your wallet.",
        )
    made(quote(), AttemptStatus.GENERATING, at(next_day, 300))
    made(
        quote(),
        AttemptStatus.AWAITING_AUTHORIZATION,
        at(next_day, 400),
        sender_wallet=SLOW,
        link_ready_at=at(next_day, 416),
    )
    # Not USD, or not in the period: in none of the USD figures.
    made(
        quote(99999, "EUR"),
        AttemptStatus.SUCCEEDED,
        day,
        link_ready_at=at(day, 1),
        authorized_at=at(day, 2),
        finished_at=at(day, 3),
        received_amount=99999,
        receive_asset_code="EUR",
    )
    long_ago = day - timedelta(days=60)
    made(
        quote(777),
        AttemptStatus.SUCCEEDED,
        long_ago,
        link_ready_at=at(long_ago, 100),
        authorized_at=at(long_ago, 200),
        finished_at=at(long_ago, 300),
        received_amount=777,
    )
    first = paid[0]
    refund = Refund.objects.create(
        job=first.job,
        payment=first,
        amount_value=700,
        asset_code="USD",
        asset_scale=2,
        requested_by=funder,
        status=Refund.Status.REFUNDED,
    )
    refund_attempt = f.attempt(
        first.quote,
        AttemptStatus.SUCCEEDED,
        kind=AttemptKind.REFUND,
        refund=refund,
        sender_wallet=first.receiver_wallet,
        receiver_wallet=first.sender_wallet,
        debit_amount=700,
        received_amount=690,
    )
    PaymentAttempt.objects.filter(pk=refund_attempt.pk).update(
        created_at=at(next_day, 500), finished_at=at(next_day, 600)
    )
    return {
        "funder": funder,
        "provider": provider,
        "day": day,
        "period": dashboard.Period(day.date(), next_day.date()),
    }


def staff(username: str = "olga", *, perm: bool = True) -> User:
    person = f.user(username, wallet=False)
    person.is_staff = True
    person.save()
    if perm:
        person.user_permissions.add(Permission.objects.get(codename="view_paymentattempt"))
    return person


def test_the_figures_are_exact(history: dict[str, Any]) -> None:
    board = dashboard.build(history["period"])

    assert board.asset == dashboard.Asset("USD", 2, 10)  # the most used: 9 payments and the refund
    assert [(a.code, a.attempts) for a in board.assets] == [("USD", 10), ("EUR", 1)]
    assert [(d.paid, d.refunded, d.payments, d.refunds) for d in board.days] == [
        (3000, 0, 2, 0),
        (3500, 700, 2, 1),
    ]
    assert (board.paid_total, board.refunded_total) == (6500, 700)
    assert (board.payments, board.succeeded, board.finished, board.success_rate) == (9, 4, 7, "57.1")
    assert [(s.name, s.count, s.drop, s.percent_of_start) for s in board.funnel] == [
        ("Approved", 9, 0, "100.0"),
        ("Link ready", 8, 1, "88.9"),
        ("Authorized in the wallet", 5, 3, "55.6"),
        ("Paid", 4, 1, "44.4"),
    ]
    assert board.timings == [
        dashboard.Timing("Approve → link ready", 8, 9000, 14600),
        dashboard.Timing("Consent → paid", 4, 7000, 9400),
    ]
    assert board.reasons == [
        dashboard.Reason("declined", "grant_rejected", "You declined the payment in your wallet.", 2),
        dashboard.Reason("failed", "http_403", "Your wallet stopped the payment.", 1),
    ]
    assert board.wallets == [
        dashboard.WalletHost("sender", "slow.example:8443", 4, 13000, 15400),
        dashboard.WalletHost("sender", "wallet.example", 4, 5000, 7400),
        dashboard.WalletHost("receiver", "wallet.example", 8, 9000, 14600),
    ]


def test_another_asset_has_its_own_figures(history: dict[str, Any]) -> None:
    board = dashboard.build(history["period"], "EUR:2")
    assert (board.paid_total, board.payments, board.succeeded, board.success_rate) == (99999, 1, 1, "100.0")
    assert board.timings[0] == dashboard.Timing("Approve → link ready", 1, 1000, 1000)


def test_an_empty_period_has_zeros_and_no_percentiles(db: None) -> None:
    board = dashboard.build(dashboard.Period.last(7))
    assert board.asset is None
    assert len(board.days) == 7
    assert board.paid_total == 0
    assert board.success_rate == ""
    assert [s.count for s in board.funnel] == [0, 0, 0, 0]
    assert [(t.median_ms, t.p90_ms) for t in board.timings] == [(None, None), (None, None)]


@pytest.mark.parametrize("size", [1, 2, 3, 10, 11, 37])
def test_percentiles_match_percentile_cont_for_any_count(db: None, size: int) -> None:
    # the SQLite window query and PostgreSQL's percentile_cont answer what the reference answers
    funder, provider = f.funder(), f.provider()
    start = timezone.now() - timedelta(days=1)
    rng = random.Random(size)
    seconds = [rng.randrange(1, 5000) / 10 for _ in range(size)]
    for offset, value in enumerate(seconds):
        created = at(start, offset)
        made(
            f.quote(f.job(funder), provider),
            AttemptStatus.AWAITING_AUTHORIZATION,
            created,
            link_ready_at=at(created, value),
        )
    board = dashboard.build(dashboard.Period.last(3))
    ordered = sorted(value * 1000 for value in seconds)
    expected = [round(dashboard.continuous_percentile(ordered, fraction) or 0) for fraction in (0.5, 0.9)]
    assert [board.timings[0].median_ms, board.timings[0].p90_ms] == expected
    assert board.timings[0].count == size


def test_the_queries_are_aggregates_and_do_not_grow_with_attempts(history: dict[str, Any]) -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            dashboard.build(history["period"])
        return len(captured)

    before = count()
    funder, provider = history["funder"], history["provider"]
    for _ in range(20):
        made(f.quote(f.job(funder), provider), AttemptStatus.FAILED, history["day"], error_code="http_500")
    assert count() == before <= 10


# The page


def test_a_visitor_is_sent_to_log_in_and_anyone_but_permitted_staff_gets_a_404(
    history: dict[str, Any],
) -> None:
    for url in ("/dashboard", "/dashboard/figures", "/dashboard.csv"):
        assert Client().get(url).status_code == 302
        assert f.logged_in(history["funder"]).get(url).status_code == 404
        assert (
            f.logged_in(staff("sam", perm=False) if url == "/dashboard" else User.objects.get(username="sam"))
            .get(url)
            .status_code
            == 404
        )
    assert f.logged_in(staff()).get("/dashboard").status_code == 200


def test_the_nav_links_the_dashboard_for_permitted_staff_only(history: dict[str, Any]) -> None:
    assert 'href="/dashboard"' in f.logged_in(staff()).get("/jobs").content.decode()
    assert 'href="/dashboard"' not in f.logged_in(history["funder"]).get("/jobs").content.decode()


def test_the_page_shows_the_figures_with_charts_and_tables(history: dict[str, Any]) -> None:
    period = history["period"]
    page = f.logged_in(staff()).get("/dashboard", {"start": period.start, "end": period.end}).content.decode()
    assert 'data-figure="paid">$65.00<' in page
    assert 'data-figure="refunded">$7.00<' in page
    assert 'data-figure="success-rate">57.1 %<' in page
    for chart in ("chart-money", "chart-funnel", "chart-reasons", "chart-wallets"):
        assert f'<svg class="chart" id="{chart}" viewBox=' in page
        assert f'<title id="{chart}-title">' in page and f'<desc id="{chart}-desc">' in page
    for table in ("table-days", "table-funnel", "table-timings", "table-reasons", "table-wallets"):
        assert f'id="{table}"' in page
    assert "9.0 s" in page and "14.6 s" in page  # approve → link median, p90
    assert "slow.example:8443" in page
    assert "<script" not in page.split('id="dashboard-figures"')[1]  # the charts need no script
    assert 'hx-trigger="every 30s"' in page


def test_the_figures_fragment_polls_itself_with_the_same_period_and_asset(history: dict[str, Any]) -> None:
    period = history["period"]
    response = f.logged_in(staff()).get(
        "/dashboard/figures",
        {"start": period.start, "end": period.end, "asset": "EUR:2"},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="dashboard-figures"')
    assert f'hx-get="/dashboard/figures?start={period.start}&amp;end={period.end}&amp;asset=EUR%3A2"' in body
    assert "€999.99" in body
    assert "<html" not in body


def test_a_nonsense_period_falls_back_and_a_long_one_is_cut_to_a_year(history: dict[str, Any]) -> None:
    client = f.logged_in(staff())
    assert client.get("/dashboard", {"start": "yesterday", "end": "2026-13-40"}).status_code == 200
    context = client.get("/dashboard/figures", {"start": "2000-01-01", "end": "2026-01-01"}).context
    assert (context["period"].end - context["period"].start).days == dashboard.MAX_DAYS - 1


def rows(response: Any) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_csv_holds_the_same_rows(history: dict[str, Any]) -> None:
    period = history["period"]
    client = f.logged_in(staff())
    query = {"start": period.start, "end": period.end}
    days = rows(client.get("/dashboard.csv", {**query, "part": "days"}))
    assert days == [
        [
            "day",
            "asset_code",
            "asset_scale",
            "paid",
            "paid_minor",
            "refunded",
            "refunded_minor",
            "payments",
            "refunds",
        ],
        [period.start.isoformat(), "USD", "2", "30.00", "3000", "0.00", "0", "2", "0"],
        [period.end.isoformat(), "USD", "2", "35.00", "3500", "7.00", "700", "2", "1"],
    ]
    funnel = rows(client.get("/dashboard.csv", {**query, "part": "funnel"}))
    assert funnel[1:5] == [
        ["Approved", "9", "0", "100.0"],
        ["Link ready", "8", "1", "88.9"],
        ["Authorized in the wallet", "5", "3", "55.6"],
        ["Paid", "4", "1", "44.4"],
    ]
    assert ["Approve → link ready", "8", "9000", "14600"] in funnel
    reasons = rows(client.get("/dashboard.csv", {**query, "part": "reasons"}))
    assert reasons[1] == ["declined", "grant_rejected", "You declined the payment in your wallet.", "2"]
    wallets = rows(client.get("/dashboard.csv", {**query, "part": "wallets"}))
    assert wallets[1] == ["sender", "slow.example:8443", "4", "13000", "15400"]
    assert client.get("/dashboard.csv", {**query, "part": "secrets"}).status_code == 404


def test_the_page_shows_no_secret_of_any_attempt(history: dict[str, Any]) -> None:
    page = f.logged_in(staff()).get("/dashboard").content.decode()
    assert "SECRET-" not in page
