"""The staff payments dashboard (its page, the figures htmx polls, its CSV) and a person's own money page.

The dashboard is for staff who may read payment attempts (`jobs.view_paymentattempt`): anyone else logged
in gets a 404, as if it did not exist, and a visitor the log-in page. Its figures come from
`jobs.dashboard` (aggregates in the database); the charts are SVG drawn here (`jobs.charts`).
"""

from __future__ import annotations

import csv
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from jobs import charts
from jobs import dashboard as figures
from jobs.http import AuthenticatedRequest
from jobs.money import format_amount, plain_decimal

CSV_PARTS = ("days", "funnel", "reasons", "wallets")
LINES_PER_PAGE = 50


def _staff_only(request: AuthenticatedRequest) -> None:
    if not (request.user.is_staff and request.user.has_perm("jobs.view_paymentattempt")):
        raise Http404("No such page.")


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def period_from(request: AuthenticatedRequest) -> figures.Period:
    """The period the query asks for (`start`, `end`: ISO dates), else the last 30 days; at most a year
    and a day, ending where it was asked to."""
    today = timezone.localdate()
    end = _day(request.GET.get("end")) or today
    start = _day(request.GET.get("start")) or end - timedelta(days=figures.DEFAULT_DAYS - 1)
    if start > end:
        start, end = end, start
    start = max(start, end - timedelta(days=figures.MAX_DAYS - 1))
    return figures.Period(start, end)


def duration_text(ms: int | None) -> str:
    """850 → "850 ms", 1234 → "1.2 s", 95000 → "1 min 35 s"; None → "—"."""
    if ms is None:
        return "—"
    if ms < 1000:
        return f"{ms} ms"
    if ms < 60_000:
        tenths = (ms + 50) // 100
        return f"{tenths // 10}.{tenths % 10} s"
    seconds = (ms + 500) // 1000
    return f"{seconds // 60} min {seconds % 60} s"


def _context(request: AuthenticatedRequest) -> dict[str, Any]:
    period = period_from(request)
    board = figures.build(period, request.GET.get("asset"))
    asset = board.asset

    def money(value: int) -> str:
        return format_amount(value, asset.code, asset.scale) if asset else str(value)

    query = {"start": period.start.isoformat(), "end": period.end.isoformat()}
    if asset:
        query["asset"] = asset.key
    query_string = urlencode(query)
    labels = [day.day.isoformat() for day in board.days]
    money_chart = charts.columns(
        "chart-money",
        "Money paid and refunded per day",
        f"Paid {money(board.paid_total)} and refunded {money(board.refunded_total)}"
        f" from {labels[0]} to {labels[-1]}; "
        "every day's figures are in the table below.",
        labels,
        [
            charts.Series("Paid", "chart-paid", [day.paid for day in board.days]),
            charts.Series("Refunded", "chart-refunded", [day.refunded for day in board.days]),
        ],
        money,
    )
    funnel_chart = charts.bars(
        "chart-funnel",
        "From approval to paid",
        "; ".join(f"{stage.name}: {stage.count}" for stage in board.funnel),
        [(stage.name, stage.count) for stage in board.funnel],
        str,
    )
    reasons_chart = charts.bars(
        "chart-reasons",
        "Why payments ended unpaid",
        "; ".join(f"{reason.status} {reason.error_code}: {reason.count}" for reason in board.reasons)
        or "None.",
        [
            (f"{reason.status} · {reason.error_code or reason.error or '—'}", reason.count)
            for reason in board.reasons
        ],
        str,
        "chart-bar chart-bad",
    )
    wallets_chart = charts.bars(
        "chart-wallets",
        "Slowest wallets, median approve → link ready",
        "; ".join(
            f"{wallet.role} {wallet.host}: {duration_text(wallet.median_ms)}" for wallet in board.wallets
        )
        or "None.",
        [(f"{wallet.role} · {wallet.host}", wallet.median_ms) for wallet in board.wallets],
        duration_text,
    )
    return {
        "board": board,
        "period": period,
        "asset": asset,
        "query_string": query_string,
        "paid_total": money(board.paid_total),
        "refunded_total": money(board.refunded_total),
        "days": [
            {
                "day": day.day,
                "paid": money(day.paid),
                "refunded": money(day.refunded),
                "payments": day.payments,
                "refunds": day.refunds,
            }
            for day in reversed(board.days)
        ],
        "timings": [
            {
                "name": t.name,
                "count": t.count,
                "median": duration_text(t.median_ms),
                "p90": duration_text(t.p90_ms),
            }
            for t in board.timings
        ],
        "wallets": [
            {
                "role": w.role,
                "host": w.host,
                "attempts": w.attempts,
                "median": duration_text(w.median_ms),
                "p90": duration_text(w.p90_ms),
            }
            for w in board.wallets
        ],
        "money_chart": money_chart,
        "funnel_chart": funnel_chart,
        "reasons_chart": reasons_chart,
        "wallets_chart": wallets_chart,
        "csv_parts": CSV_PARTS,
        "updated_at": timezone.now(),
    }


@login_required
@require_GET
def dashboard(request: AuthenticatedRequest) -> HttpResponse:
    """The dashboard page: the period and asset form, then the figures (which refresh themselves)."""
    _staff_only(request)
    return render(request, "jobs/dashboard.html", _context(request))


@login_required
@require_GET
def dashboard_figures(request: AuthenticatedRequest) -> HttpResponse:
    """The figures alone, which the page's htmx polls every 30 seconds."""
    _staff_only(request)
    return render(request, "jobs/dashboard_figures.html", _context(request))


def _csv(name: str) -> tuple[HttpResponse, Any]:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response, csv.writer(response)


def _cell(text: str) -> str:
    """Text a spreadsheet must not read as a formula (a job title like "=HYPERLINK(…)")."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _decimal(value: int, scale: int) -> str:
    """Minor units as a decimal number without the asset code: 1250 at scale 2 → "12.50"."""
    return plain_decimal(value, scale)


@login_required
@require_GET
def dashboard_csv(request: AuthenticatedRequest) -> HttpResponse:
    """One part of the dashboard (`part`: days, funnel, reasons or wallets) as CSV, for the same period and
    asset."""
    _staff_only(request)
    part = request.GET.get("part", "days")
    if part not in CSV_PARTS:
        raise Http404("No such part.")
    period = period_from(request)
    board = figures.build(period, request.GET.get("asset"))
    code, scale = (board.asset.code, board.asset.scale) if board.asset else ("", 0)
    response, writer = _csv(f"dashboard-{part}-{period.start}-{period.end}.csv")
    if part == "days":
        writer.writerow(
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
            ]
        )
        for day in board.days:
            writer.writerow(
                [
                    day.day.isoformat(),
                    code,
                    scale,
                    _decimal(day.paid, scale),
                    day.paid,
                    _decimal(day.refunded, scale),
                    day.refunded,
                    day.payments,
                    day.refunds,
                ]
            )
    elif part == "funnel":
        writer.writerow(["stage", "attempts", "drop", "percent_of_approved"])
        for stage in board.funnel:
            writer.writerow([stage.name, stage.count, stage.drop, stage.percent_of_start])
        writer.writerow([])
        writer.writerow(["timing", "attempts", "median_ms", "p90_ms"])
        for timing in board.timings:
            writer.writerow([timing.name, timing.count, timing.median_ms, timing.p90_ms])
    elif part == "reasons":
        writer.writerow(["status", "error_code", "error", "attempts"])
        for reason in board.reasons:
            writer.writerow([reason.status, reason.error_code, _cell(reason.error), reason.count])
    else:
        writer.writerow(["role", "host", "attempts", "median_ms", "p90_ms"])
        for wallet in board.wallets:
            writer.writerow([wallet.role, wallet.host, wallet.attempts, wallet.median_ms, wallet.p90_ms])
    return response


# A person's own money


@login_required
@require_GET
def money(request: AuthenticatedRequest) -> HttpResponse:
    """What I paid and received, refunds both ways: per month and asset, then each one with its receipt."""
    months = [
        {
            "month": m.month,
            "direction": m.direction,
            "count": m.count,
            "total": format_amount(m.total, m.asset_code, m.asset_scale),
        }
        for m in figures.money_months(request.user.pk)
    ]
    page = Paginator(figures.money_lines(request.user.pk), LINES_PER_PAGE).get_page(request.GET.get("page"))
    lines = [
        {
            "finished_at": line.finished_at,
            "direction": line.direction,
            "job_id": line.job_id,
            "job_title": line.job_title,
            "amount": format_amount(line.amount, line.asset_code, line.asset_scale),
            "receipt": reverse("receipt", args=[line.job_id]),
        }
        for line in page
    ]
    return render(request, "jobs/money.html", {"months": months, "page": page, "lines": lines})


@login_required
@require_GET
def money_csv(request: AuthenticatedRequest) -> HttpResponse:
    """Every payment and refund of mine, one a row, with its month and its receipt's address."""
    response, writer = _csv("money.csv")
    writer.writerow(
        [
            "finished_at",
            "month",
            "direction",
            "job_id",
            "job_title",
            "amount",
            "amount_minor",
            "asset_code",
            "asset_scale",
            "receipt",
        ]
    )
    for line in figures.money_lines(request.user.pk):
        writer.writerow(
            [
                line.finished_at.isoformat(),
                line.finished_at.strftime("%Y-%m"),
                line.direction,
                line.job_id,
                _cell(line.job_title),
                _decimal(line.amount, line.asset_scale),
                line.amount,
                line.asset_code,
                line.asset_scale,
                request.build_absolute_uri(reverse("receipt", args=[line.job_id])),
            ]
        )
    return response
