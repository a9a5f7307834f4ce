"""The figures of the staff dashboard and of a person's own money page: aggregates computed in the database.

Every figure is a GROUP BY (or one aggregate row) over `PaymentAttempt`; no query returns one row per
attempt. Percentiles are PostgreSQL's `percentile_cont` there; on SQLite the same continuous percentile
is read from the two rows around its rank (a window query per figure), so both answer the same numbers.

An attempt's asset, on the dashboard, is its quote's: the price a payment delivers and the asset a
refund's amount is stated in (what leaves the provider's wallet), read from the attempt's own columns
where the pipeline stored it (`_asset_of_attempt`). Money is integers in minor units.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import (
    Aggregate,
    Case,
    CharField,
    Count,
    Expression,
    F,
    FloatField,
    Func,
    OuterRef,
    PositiveSmallIntegerField,
    Q,
    QuerySet,
    Subquery,
    Sum,
    When,
)
from django.db.models.functions import TruncDate, TruncMonth
from django.db.models.sql.compiler import SQLCompiler
from django.utils import timezone

from jobs.models import AttemptKind, AttemptStatus, PaymentAttempt, Quote

# What the dashboard shows at most: a year and a day of days, ten reasons, five wallets per role.
MAX_DAYS = 366
DEFAULT_DAYS = 30
TOP_REASONS = 10
TOP_WALLETS = 5
FRACTIONS = (0.5, 0.9)
UNPAID = (AttemptStatus.FAILED, AttemptStatus.DECLINED, AttemptStatus.EXPIRED, AttemptStatus.CANCELLED)

_SqlParams = tuple[str, Sequence[Any]]


class MillisBetween(Func):
    """Milliseconds from the first timestamp to the second (a float), on PostgreSQL and SQLite."""

    output_field = FloatField()
    arity = 2

    def as_sql(  # type: ignore[override]
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> _SqlParams:
        (start_sql, start_params), (end_sql, end_params) = (
            compiler.compile(expression) for expression in self.get_source_expressions()
        )
        params = (*start_params, *end_params)
        if connection.vendor == "postgresql":
            return f"(EXTRACT(EPOCH FROM ({end_sql} - {start_sql})) * 1000)", params
        if connection.vendor == "sqlite":
            return f"((julianday({end_sql}) - julianday({start_sql})) * 86400000.0)", params
        raise NotImplementedError(connection.vendor)


class UrlHost(Func):
    """The host (and port) of a URL, lower-cased: `https://Wallet.example:4000/a` → `wallet.example:4000`."""

    output_field = CharField()
    arity = 1

    def as_sql(  # type: ignore[override]
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> _SqlParams:
        url_sql, params = compiler.compile(self.get_source_expressions()[0])
        if connection.vendor == "postgresql":
            return f"lower(split_part(split_part({url_sql}, '://', 2), '/', 1))", params
        if connection.vendor == "sqlite":
            rest = f"substr({url_sql}, instr({url_sql}, '://') + 3)"
            slash = f"instr({rest}, '/')"
            sql = f"lower(CASE WHEN {slash} > 0 THEN substr({rest}, 1, {slash} - 1) ELSE {rest} END)"
            return sql, tuple(params) * 8  # the URL appears 8 times: 2 in each `rest`, 4 of them
        raise NotImplementedError(connection.vendor)


class PercentileCont(Aggregate):
    """PostgreSQL's continuous percentile: `percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)`."""

    function = "percentile_cont"
    name = "PercentileCont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Expression | F | str, fraction: float, **extra: Any) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError("A percentile's fraction lies between 0 and 1.")
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


def continuous_percentile(ordered: Sequence[float], fraction: float) -> float | None:
    """What `percentile_cont(fraction)` answers for already ordered values (the tests' reference)."""
    if not ordered:
        return None
    position = (len(ordered) - 1) * fraction
    below, above = math.floor(position), math.ceil(position)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


@dataclass(frozen=True)
class Percentiles:
    """How many values a group has, and its percentiles at FRACTIONS."""

    count: int
    at: dict[float, float]


def _percentile_rows(
    queryset: QuerySet[Any], value: Expression, group: Expression | None
) -> dict[str, Percentiles]:
    """{group (or "") → its count and percentiles} of `value` over `queryset`, NULLs left out.

    PostgreSQL: one GROUP BY with `percentile_cont`. SQLite: a window query numbering each group's values
    in order, of which only the (at most two per fraction) rows around each fraction's rank come back.
    """
    rows = queryset.annotate(_value=value).filter(_value__isnull=False)
    if group is not None:
        rows = rows.annotate(_group=group)
    keys = ["_group"] if group is not None else []
    if connection.vendor == "postgresql":
        names = {f"p{index}": fraction for index, fraction in enumerate(FRACTIONS)}
        aggregates: dict[str, Any] = {
            name: PercentileCont("_value", fraction) for name, fraction in names.items()
        }
        aggregates["_n"] = Count("pk")
        if group is None:
            found = [rows.aggregate(**aggregates)]
        else:
            found = list(rows.order_by().values(*keys).annotate(**aggregates))
        return {
            str(row.get("_group") or ""): Percentiles(
                row["_n"], {fraction: row[name] for name, fraction in names.items()}
            )
            for row in found
            if row["_n"]
        }
    inner_sql, inner_params = rows.order_by().values(*keys, "_value").query.sql_with_params()
    partition = "PARTITION BY _group" if group is not None else ""
    selected = "_group" if group is not None else "''"
    wanted = " OR ".join(
        f"rn = CAST((n - 1) * {fraction!r} AS INTEGER)"
        f" OR rn = CAST((n - 1) * {fraction!r} AS INTEGER)"
        f" + ((n - 1) * {fraction!r} > CAST((n - 1) * {fraction!r} AS INTEGER))"
        for fraction in FRACTIONS
    )
    # Only numbers and the ORM's own SQL (its parameters kept apart) are put into this statement.
    sql = (
        f"SELECT g, rn, n, v FROM (SELECT {selected} AS g, _value AS v,"  # noqa: S608
        f" ROW_NUMBER() OVER ({partition} ORDER BY _value) - 1 AS rn, COUNT(*) OVER ({partition}) AS n"
        f" FROM ({inner_sql}) AS inner_rows) AS ranked WHERE {wanted}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, inner_params)
        ranked = cursor.fetchall()
    by_group: dict[str, dict[int, float]] = {}
    counts: dict[str, int] = {}
    for name, rank, count, found_value in ranked:  # at most 2 rows per fraction and group
        by_group.setdefault(str(name or ""), {})[int(rank)] = float(found_value)
        counts[str(name or "")] = int(count)
    result: dict[str, Percentiles] = {}
    for name, values in by_group.items():
        figures = {}
        for fraction in FRACTIONS:
            position = (counts[name] - 1) * fraction
            below, above = values[math.floor(position)], values[math.ceil(position)]
            figures[fraction] = below + (above - below) * (position - math.floor(position))
        result[name] = Percentiles(counts[name], figures)
    return result


@dataclass(frozen=True)
class Period:
    """Whole days, from `start` to `end` included, in the site's time zone."""

    start: date
    end: date

    @classmethod
    def last(cls, days: int = DEFAULT_DAYS, today: date | None = None) -> Period:
        end = today or timezone.localdate()
        return cls(end - timedelta(days=days - 1), end)

    @property
    def since(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.start, time.min))

    @property
    def until(self) -> datetime:
        """The first moment after the period."""
        return timezone.make_aware(datetime.combine(self.end + timedelta(days=1), time.min))

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]


@dataclass(frozen=True)
class Asset:
    code: str
    scale: int
    attempts: int = 0

    @property
    def key(self) -> str:
        return f"{self.code}:{self.scale}"


@dataclass(frozen=True)
class Day:
    day: date
    paid: int
    refunded: int
    payments: int
    refunds: int


@dataclass(frozen=True)
class Stage:
    name: str
    count: int
    drop: int  # how many of the stage before did not reach this one
    percent_of_start: str  # "87.5"


@dataclass(frozen=True)
class Timing:
    name: str
    count: int
    median_ms: int | None
    p90_ms: int | None


@dataclass(frozen=True)
class Reason:
    status: str
    error_code: str
    error: str
    count: int


@dataclass(frozen=True)
class WalletHost:
    role: str  # "sender" or "receiver"
    host: str
    attempts: int
    median_ms: int
    p90_ms: int


@dataclass
class Dashboard:
    period: Period
    asset: Asset | None
    assets: list[Asset]
    days: list[Day] = field(default_factory=list)
    paid_total: int = 0
    refunded_total: int = 0
    payments: int = 0  # payment attempts approved in the period
    succeeded: int = 0
    finished: int = 0  # of those, how many ended (paid or not)
    funnel: list[Stage] = field(default_factory=list)
    timings: list[Timing] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)
    wallets: list[WalletHost] = field(default_factory=list)

    @property
    def success_rate(self) -> str:
        """Paid among the attempts that ended, in percent with one decimal ("" when none ended)."""
        return percent(self.succeeded, self.finished)


def percent(part: int, whole: int) -> str:
    """`part` of `whole` in percent, one decimal, rounded half up in integers: 7 of 8 → "87.5"."""
    if not whole:
        return ""
    tenths = (part * 1000 * 2 + whole) // (whole * 2)
    return f"{tenths // 10}.{tenths % 10}"


def _asset_of_attempt(own_code: str, own_scale: str, quote_field: str) -> Case:
    """The attempt's asset (its quote's) read from the attempt itself where the pipeline stored it, so the
    figures need no join: a payment's incoming payment is in the quote's asset (the pipeline stops
    otherwise), a refund's debit is the refund's amount in it. Only an attempt that never got that far
    looks its quote up (a subquery CASE evaluates for that row alone)."""
    quote = Subquery(Quote.objects.filter(pk=OuterRef("quote_id")).order_by().values(quote_field)[:1])
    return Case(
        When(Q(kind=AttemptKind.PAYMENT) & ~Q(receive_asset_code=""), then=F(f"receive_{own_code}")),
        When(Q(kind=AttemptKind.REFUND) & ~Q(debit_asset_code=""), then=F(f"debit_{own_code}")),
        default=quote,
        output_field=PositiveSmallIntegerField() if own_scale else CharField(),
    )


ASSET_KEYS = ("_asset_code", "_asset_scale")


def _with_asset(queryset: QuerySet[PaymentAttempt]) -> QuerySet[PaymentAttempt]:
    return queryset.annotate(
        _asset_code=_asset_of_attempt("asset_code", "", "asset_code"),
        _asset_scale=_asset_of_attempt("asset_scale", "scale", "asset_scale"),
    )


def assets_in(period: Period) -> list[Asset]:
    """The assets of the period's attempts, the most used first."""
    rows = (
        _with_asset(
            PaymentAttempt.objects.filter(
                # Both kinds named, so the (kind, created_at) index serves the period.
                kind__in=(AttemptKind.PAYMENT, AttemptKind.REFUND),
                created_at__gte=period.since,
                created_at__lt=period.until,
            )
        )
        .order_by()
        .values(*ASSET_KEYS)
        .annotate(n=Count("pk"))
        .order_by("-n", ASSET_KEYS[0])
    )
    return [Asset(row["_asset_code"], row["_asset_scale"], row["n"]) for row in rows]


def _of_asset(queryset: QuerySet[PaymentAttempt], asset: Asset) -> QuerySet[PaymentAttempt]:
    return _with_asset(queryset).filter(**dict(zip(ASSET_KEYS, (asset.code, asset.scale), strict=True)))


def build(period: Period, asset_key: str | None = None) -> Dashboard:
    """Every figure of the dashboard for `period` and the asset `asset_key` ("USD:2"; default: the most
    used in the period)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # The asset's CASE subquery (run for almost no row) makes the planner's estimates large enough to
            # compile each statement just in time, which costs more than these millisecond reads.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        assets = assets_in(period)
        asset = next((found for found in assets if found.key == asset_key), assets[0] if assets else None)
        board = Dashboard(period=period, asset=asset, assets=assets)
        if asset is None:
            board.days = [Day(day, 0, 0, 0, 0) for day in period.days]
            board.funnel = _funnel({})
            board.timings = [Timing(LINK_NAME, 0, None, None), Timing(PAID_NAME, 0, None, None)]
            return board
        _money_per_day(board, asset)
        _counts_and_timings(board, asset)
        _reasons(board, asset)
        _wallets(board, asset)
    return board


def _money_per_day(board: Dashboard, asset: Asset) -> None:
    """Payments and refunds that succeeded, by the day they finished: what the provider received for a
    payment, what left the provider's wallet for a refund (both in the quote's asset)."""
    period = board.period
    paid = Q(kind=AttemptKind.PAYMENT)
    refund = Q(kind=AttemptKind.REFUND)
    rows = (
        _of_asset(PaymentAttempt.objects.all(), asset)
        .filter(
            status=AttemptStatus.SUCCEEDED,
            kind__in=(AttemptKind.PAYMENT, AttemptKind.REFUND),
            finished_at__gte=period.since,
            finished_at__lt=period.until,
        )
        .annotate(day=TruncDate("finished_at"))
        .order_by()
        .values("day")
        .annotate(
            paid=Sum("received_amount", filter=paid),
            refunded=Sum("debit_amount", filter=refund),
            payments=Count("pk", filter=paid),
            refund_count=Count("pk", filter=refund),
        )
    )
    found: dict[date, dict[str, Any]] = {row["day"]: dict(row) for row in rows}
    for day in period.days:
        row = found.get(day, {})
        board.days.append(
            Day(
                day,
                int(row.get("paid") or 0),
                int(row.get("refunded") or 0),
                int(row.get("payments") or 0),
                int(row.get("refund_count") or 0),
            )
        )
    board.paid_total = sum(day.paid for day in board.days)
    board.refunded_total = sum(day.refunded for day in board.days)


def _approved(board: Dashboard, asset: Asset) -> QuerySet[PaymentAttempt]:
    """The payment attempts approved (created) in the period, of the asset."""
    return _of_asset(
        PaymentAttempt.objects.filter(
            kind=AttemptKind.PAYMENT, created_at__gte=board.period.since, created_at__lt=board.period.until
        ),
        asset,
    )


def _funnel(counts: dict[str, int]) -> list[Stage]:
    stages = [
        ("Approved", counts.get("approved") or 0),
        ("Link ready", counts.get("link_ready") or 0),
        ("Authorized in the wallet", counts.get("authorized") or 0),
        ("Paid", counts.get("succeeded") or 0),
    ]
    start = stages[0][1]
    result, before = [], start
    for name, count in stages:
        result.append(Stage(name, count, before - count, percent(count, start)))
        before = count
    return result


def _ms(value: float | None) -> int | None:
    return None if value is None else round(value)


LINK_NAME, PAID_NAME = "Approve → link ready", "Consent → paid"


def _timing_figures(
    board: Dashboard, asset: Asset
) -> list[tuple[str, QuerySet[PaymentAttempt], Expression, Q]]:
    """Approve → link ready (every attempt that got a link) and consent → paid (every paid attempt)."""
    approved = _approved(board, asset)
    paid = Q(status=AttemptStatus.SUCCEEDED)
    return [
        (LINK_NAME, approved, MillisBetween("created_at", "link_ready_at"), Q(link_ready_at__isnull=False)),
        (
            PAID_NAME,
            approved.filter(paid),
            MillisBetween("authorized_at", "finished_at"),
            paid & Q(authorized_at__isnull=False, finished_at__isnull=False),
        ),
    ]


def _counts_and_timings(board: Dashboard, asset: Asset) -> None:
    """The funnel's counts; on PostgreSQL the timings' percentiles in the same pass (FILTERed
    `percentile_cont`), on SQLite one window query per timing."""
    figures = _timing_figures(board, asset)
    aggregates: dict[str, Any] = {
        "approved": Count("pk"),
        "link_ready": Count("pk", filter=Q(link_ready_at__isnull=False)),
        "authorized": Count("pk", filter=Q(authorized_at__isnull=False)),
        "succeeded": Count("pk", filter=Q(status=AttemptStatus.SUCCEEDED)),
        "finished": Count("pk", filter=Q(status__in=(AttemptStatus.SUCCEEDED, *UNPAID))),
    }
    on_postgresql = connection.vendor == "postgresql"
    if on_postgresql:
        for index, (_, _, value, having) in enumerate(figures):
            aggregates[f"t{index}_n"] = Count("pk", filter=having)
            for fraction in FRACTIONS:
                aggregates[f"t{index}_{fraction}"] = PercentileCont(value, fraction, filter=having)
    counts = _approved(board, asset).aggregate(**aggregates)
    board.payments = counts["approved"]
    board.succeeded = counts["succeeded"]
    board.finished = counts["finished"]
    board.funnel = _funnel(counts)
    for index, (name, queryset, value, _) in enumerate(figures):
        if on_postgresql:
            count, at = (
                counts[f"t{index}_n"],
                {fraction: counts[f"t{index}_{fraction}"] for fraction in FRACTIONS},
            )
        else:
            found = _percentile_rows(queryset, value, None).get("")
            count, at = (found.count, found.at) if found else (0, {})
        board.timings.append(Timing(name, count, _ms(at.get(0.5)), _ms(at.get(0.9))))


def _reasons(board: Dashboard, asset: Asset) -> None:
    """Attempts approved in the period that ended unpaid, by status and reason, the most frequent first."""
    rows = (
        _approved(board, asset)
        .filter(status__in=UNPAID)
        .order_by()
        .values("status", "error_code", "error")
        .annotate(n=Count("pk"))
        .order_by("-n", "status", "error_code", "error")[:TOP_REASONS]
    )
    board.reasons = [Reason(row["status"], row["error_code"], row["error"], row["n"]) for row in rows]


def _wallets(board: Dashboard, asset: Asset) -> None:
    """The wallet hosts (the payer's and the payee's) with the slowest median approve → link ready."""
    approved = _approved(board, asset).filter(link_ready_at__isnull=False)
    value = MillisBetween("created_at", "link_ready_at")
    for role, url in (("sender", "sender_wallet"), ("receiver", "receiver_wallet")):
        figures = _percentile_rows(approved, value, UrlHost(url))
        hosts = sorted(figures.items(), key=lambda item: (-item[1].at[0.5], item[0]))[:TOP_WALLETS]
        board.wallets.extend(
            WalletHost(role, host, found.count, round(found.at[0.5]), round(found.at[0.9]))
            for host, found in hosts
        )


# A person's own money


@dataclass(frozen=True)
class MoneyLine:
    """One payment or refund that moved a person's money, as they see it."""

    finished_at: datetime
    direction: str  # "paid", "received", "refund paid", "refund received"
    job_id: int
    job_title: str
    amount: int
    asset_code: str
    asset_scale: int


@dataclass(frozen=True)
class MoneyMonth:
    month: date
    direction: str
    asset_code: str
    asset_scale: int
    total: int
    count: int


# (direction, filter on the attempt for the user, amount field, asset code field, asset scale field):
# what left the payer's wallet (debit) and what reached the payee's (received), in each wallet's asset.
_SIDES = (
    ("paid", AttemptKind.PAYMENT, "job__funder", "debit_amount", "debit_asset_code", "debit_asset_scale"),
    (
        "received",
        AttemptKind.PAYMENT,
        "quote__provider",
        "received_amount",
        "receive_asset_code",
        "receive_asset_scale",
    ),
    (
        "refund paid",
        AttemptKind.REFUND,
        "quote__provider",
        "debit_amount",
        "debit_asset_code",
        "debit_asset_scale",
    ),
    (
        "refund received",
        AttemptKind.REFUND,
        "job__funder",
        "received_amount",
        "receive_asset_code",
        "receive_asset_scale",
    ),
)


def _side_queryset(user_id: int, kind: str, party: str) -> QuerySet[PaymentAttempt]:
    return PaymentAttempt.objects.filter(
        kind=kind, status=AttemptStatus.SUCCEEDED, finished_at__isnull=False, **{f"{party}_id": user_id}
    )


def money_months(user_id: int) -> list[MoneyMonth]:
    """What `user_id` paid and received (payments and refunds, both ways), per month and asset, newest
    month first: one GROUP BY per direction."""
    months: list[MoneyMonth] = []
    for direction, kind, party, amount, code, scale in _SIDES:
        rows = (
            _side_queryset(user_id, kind, party)
            .annotate(month=TruncMonth("finished_at"))
            .order_by()
            .values("month", code, scale)
            .annotate(total=Sum(amount), n=Count("pk"))
        )
        months.extend(
            MoneyMonth(
                row["month"].date() if isinstance(row["month"], datetime) else row["month"],
                direction,
                row[code],
                row[scale] or 0,
                int(row["total"] or 0),
                row["n"],
            )
            for row in rows
        )
    order = {side[0]: index for index, side in enumerate(_SIDES)}
    return sorted(months, key=lambda m: (-m.month.toordinal(), order[m.direction], m.asset_code))


def money_lines(user_id: int) -> list[MoneyLine]:
    """Every payment and refund that moved `user_id`'s money, newest first."""
    lines: list[MoneyLine] = []
    for direction, kind, party, amount, code, scale in _SIDES:
        rows = (
            _side_queryset(user_id, kind, party)
            .order_by()
            .values("finished_at", "job_id", "job__title", amount, code, scale)
        )
        lines.extend(
            MoneyLine(
                row["finished_at"],
                direction,
                row["job_id"],
                row["job__title"],
                int(row[amount] or 0),
                row[code],
                row[scale] or 0,
            )
            for row in rows
        )
    return sorted(lines, key=lambda line: (line.finished_at, line.job_id), reverse=True)
