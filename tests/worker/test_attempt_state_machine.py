"""Property: random interleavings of step deliveries (repeated, parallel-held, after crashes), finish
callbacks (valid, replayed, declined), cancels, reconciler runs and wallet faults never produce two
successes for a job, never change a final status, and never leave an outgoing payment at the wallet that no
attempt of ours recorded the intent to create.

On a paid job, refunds are asked for, offered, agreed, declined and cancelled among those, and their
attempts go through the same deliveries, callbacks, cancels, expiries and faults: what is asked back or
agreed (`refunds_committed`) and what is paid back (`refunded_amount`) always add up from the refunds and
never exceed what was paid; a refund has at most one live and one succeeded attempt, is refunded exactly
when one of them succeeded, and once declined or cancelled has none; at most one outgoing payment per
refund moves money at the provider's wallet. The pipeline runs in this process against the local wallet
(in a thread), so every step is the real code path."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from hypothesis import HealthCheck, event
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from jobs import services
from jobs.models import LIVE_STATUSES, AttemptKind, Job, PaymentAttempt, Profile, Quote, Refund
from jobs.models import AttemptStatus as S
from jobs.states import FINAL
from marketplace.open_payments import open_payments_client
from payments import OpenPaymentsError
from tests.services import IN_CI
from testwallet.testing import running_wallet
from worker import pipeline, reconciler

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

STEPS = {
    "generate_link": pipeline.generate_link,
    "continue_grant": pipeline.continue_grant,
    "poll": pipeline.poll,
    "cancel_grant": pipeline.cancel_grant,
}
# How attempts ended across all examples: the run must reach success, not only failures.
ENDINGS: Counter[str] = Counter()
# How refunds ended across all examples: some must be paid back.
REFUND_ENDINGS: Counter[str] = Counter()
R = Refund.Status
# Refund statuses whose amount counts against what was paid.
COMMITTED = (R.REQUESTED, R.AGREED, R.REFUNDED)
# More than the job's $5.00: asked for, it is refused.
REFUND_AMOUNTS = st.one_of(st.none(), st.integers(1, 600))
FAULT_ROUTES = [
    "incoming-payments.create",
    "quotes.create",
    "grant.create",
    "outgoing-payments.create",
    "grant.continue",
    "incoming-payments.get",
    "outgoing-payments.get",
]


def run_step(name: str, attempt_id: str) -> None:
    """One delivery of a step, as the task runs it (waits and transient errors end the delivery)."""
    try:
        STEPS[name](attempt_id)
    except pipeline.RetryLater:
        pass
    except OpenPaymentsError as exc:
        if not pipeline.is_transient(exc):
            raise


class AttemptMachine(RuleBasedStateMachine):
    wallet: Any = None
    # The wallet's clock only moves forward, and it is shared by every example: past a day, incoming
    # payments we create would already be expired, so the clock stops moving after this many seconds.
    clock_budget = 20 * 3600

    def __init__(self) -> None:
        super().__init__()
        tag = uuid.uuid4().hex[:8]
        self.funder_name, self.provider_name = f"f{tag}", f"p{tag}"
        for name, balance in ((self.funder_name, 1_000_000), (self.provider_name, 0)):
            self.wallet.create_wallet(name, asset_code="USD", asset_scale=2, balance=balance)
        people = []
        for name, funder in ((self.funder_name, True), (self.provider_name, False)):
            user = User.objects.create_user(username=name, password="a-long-test-password-42")
            url = self.wallet.wallet_url(name)
            Profile.objects.create(
                user=user,
                is_funder=funder,
                is_provider=not funder,
                wallet_address=url,
                wallet_id=url,
                asset_code="USD",
                asset_scale=2,
            )
            people.append(user)
        self.funder, self.provider = people
        self.job = Job.objects.create(funder=self.funder, title="property job")
        self.quote = Quote.objects.create(
            job=self.job, provider=self.provider, amount_value=500, asset_code="USD", asset_scale=2
        )
        self.finals: dict[str, str] = {}
        self.refund_finals: dict[int, str] = {}
        self.finish_urls: list[str] = []

    def attempts(self, kind: str | None = None) -> list[PaymentAttempt]:
        """The job's attempts (of `kind` only, if given), oldest first: payments and refunds alike."""
        attempts = PaymentAttempt.objects.filter(job=self.job).order_by("created_at")
        return list(attempts.filter(kind=kind) if kind else attempts)

    def pick(self, index: int) -> PaymentAttempt | None:
        attempts = self.attempts()
        return attempts[index % len(attempts)] if attempts else None

    def refunds(self) -> list[Refund]:
        return list(Refund.objects.filter(job=self.job).order_by("created_at"))

    def pick_refund(self, index: int) -> Refund | None:
        refunds = self.refunds()
        return refunds[index % len(refunds)] if refunds else None

    # Paid first: Hypothesis starts with the simplest examples, and refunds need a paid job.
    @initialize(paid=st.sampled_from([True, False]))
    def the_job_may_be_paid_already(self, paid: bool) -> None:
        """Some examples start from a paid job, so refunds get their share of the steps."""
        for _ in range(12 if paid else 0):
            if self.job_paid():
                break
            self.the_payment_moves_on()

    @rule()
    def approve(self) -> None:
        try:
            services.job_quote_approve(job_id=self.job.pk, quote_id=self.quote.pk, funder=self.funder)
        except services.ActionRefused:
            assert self.job_paid()

    @rule()
    def the_payment_moves_on(self) -> None:
        """What would happen next without faults, so examples reach the later states often."""
        attempts = self.attempts(AttemptKind.PAYMENT)
        latest = attempts[-1] if attempts else None
        if latest is None or latest.status in FINAL:
            self.approve()
        else:
            self.step_on(latest)

    def step_on(self, attempt: PaymentAttempt) -> None:
        """The next step of a live attempt, as the pipeline and its payer would take it."""
        if attempt.status == S.GENERATING:
            run_step("generate_link", str(attempt.pk))
        elif attempt.status == S.AWAITING_AUTHORIZATION:
            self.consent(attempt)
        elif attempt.status == S.AUTHORIZED:
            run_step("continue_grant", str(attempt.pk))
        else:
            run_step("poll", str(attempt.pk))

    @rule(step=st.sampled_from(sorted(STEPS)), index=st.integers(0, 5))
    def deliver(self, step: str, index: int) -> None:
        attempt = self.pick(index)
        if attempt is not None:
            run_step(step, str(attempt.pk))

    @rule(index=st.integers(0, 5), expired=st.booleans())
    def another_delivery_holds_the_lease(self, index: int, expired: bool) -> None:
        """A parallel delivery holds the lease (or a crashed one's lease has run out)."""
        attempt = self.pick(index)
        if attempt is not None:
            until = timezone.now() + timedelta(seconds=-1 if expired else 30)
            PaymentAttempt.objects.filter(pk=attempt.pk).update(lease_owner=uuid.uuid4(), lease_until=until)

    @rule(index=st.integers(0, 5))
    def consent_and_come_back(self, index: int) -> None:
        attempt = self.pick(index)
        if attempt is not None:
            self.consent(attempt)

    def consent(self, attempt: PaymentAttempt) -> None:
        """The payer consents at the wallet (auto-consent) and their browser comes back to the callback."""
        if not attempt.payment_url:
            return
        answer = httpx.get(attempt.payment_url, follow_redirects=False, timeout=10)
        if answer.status_code in (302, 303):
            self.finish_urls.append(answer.headers["location"])
            self.callback(self.finish_urls[-1])

    @rule(index=st.integers(0, 50))
    def replay_a_callback(self, index: int) -> None:
        if self.finish_urls:
            self.callback(self.finish_urls[index % len(self.finish_urls)])

    @rule(
        index=st.integers(0, 5),
        result=st.sampled_from(["grant_rejected", "grant_invalid", "bogus"]),
        by_payer=st.booleans(),
    )
    def wallet_sends_back_a_result(self, index: int, result: str, by_payer: bool) -> None:
        attempt = self.pick(index)
        if attempt is not None:
            self.callback(f"http://testserver/payments/finish/{attempt.pk}?result={result}", by_payer)

    def callback(self, url: str, by_payer: bool = True) -> None:
        parts = urlsplit(url)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        attempt = PaymentAttempt.objects.select_related("job").get(pk=parts.path.rsplit("/", 1)[1])
        with contextlib.suppress(services.FinishRefused):
            services.attempt_finish(
                attempt=attempt,
                received_hash=query.get("hash", ""),
                interact_ref=query.get("interact_ref", ""),
                result=query.get("result", ""),
                by_payer=by_payer,
            )

    # Refunds: the funder and the provider of the paid job, and the refund's attempts moving on.

    def refundable(self) -> int:
        """What the job may still have refunded (nothing before it is paid)."""
        job = Job.objects.get(pk=self.job.pk)
        return (job.paid_amount or 0) - job.refunds_committed

    @rule(amount=REFUND_AMOUNTS)
    def funder_asks_for_a_refund(self, amount: int | None) -> None:
        left = self.refundable()
        try:
            services.refund_request(job_id=self.job.pk, funder=self.funder, amount=amount, reason="")
        except services.ActionRefused:
            assert left <= 0 or (amount is not None and amount > left), (left, amount)
        else:
            assert 0 < (left if amount is None else amount) <= left

    @rule(amount=REFUND_AMOUNTS)
    def provider_offers_a_refund(self, amount: int | None) -> None:
        left = self.refundable()
        try:
            services.refund_offer(job_id=self.job.pk, provider=self.provider, amount=amount, reason="")
        except services.ActionRefused:
            assert left <= 0 or (amount is not None and amount > left), (left, amount)
        except Job.DoesNotExist:
            # Before the job is paid, the provider is nobody to it.
            assert not self.job_paid()
        else:
            assert 0 < (left if amount is None else amount) <= left

    @rule(index=st.integers(0, 5))
    def provider_agrees(self, index: int) -> None:
        """Agrees to a refund, or asks for a new link for one whose last attempt ended unpaid."""
        refund = self.pick_refund(index)
        if refund is None:
            return
        live = refund.attempts.filter(status__in=LIVE_STATUSES).exists()
        try:
            services.refund_agree(refund_id=refund.pk, provider=self.provider)
        except services.ActionRefused:
            assert not live and refund.status in (R.REFUNDED, R.DECLINED, R.CANCELLED), refund

    @rule(index=st.integers(0, 5))
    def provider_declines(self, index: int) -> None:
        refund = self.pick_refund(index)
        if refund is None:
            return
        busy = refund.attempts.filter(status__in=[*LIVE_STATUSES, S.SUCCEEDED]).exists()
        try:
            services.refund_decline(refund_id=refund.pk, provider=self.provider, reason="No.")
        except services.ActionRefused:
            assert busy or refund.status not in (R.REQUESTED, R.AGREED), refund
        else:
            assert not busy and refund.status in (R.REQUESTED, R.AGREED), refund

    @rule(index=st.integers(0, 5))
    def funder_cancels_the_refund(self, index: int) -> None:
        refund = self.pick_refund(index)
        if refund is None:
            return
        try:
            services.refund_cancel(refund_id=refund.pk, funder=self.funder)
        except services.ActionRefused:
            assert refund.status != R.REQUESTED, refund
        else:
            assert refund.status == R.REQUESTED, refund

    @rule(index=st.integers(0, 5), steps=st.integers(1, 12))
    def a_refund_moves_on(self, index: int, steps: int) -> None:
        """What would happen next to an open refund of the paid job without faults, for up to `steps`
        steps: the funder asks for one if none is open, the provider agrees (again), then its attempt goes
        through the pipeline."""
        for _ in range(steps if self.job_paid() else 0):
            refunds = self.refunds()
            open_ = [r for r in refunds if r.status in (R.REQUESTED, R.AGREED)]
            if not open_:
                left = self.refundable()
                if left <= 0:
                    return
                self.funder_asks_for_a_refund(min(left, 250))
                continue
            refund = open_[index % len(open_)]
            latest = refund.attempts.order_by("created_at").last()
            if latest is None or latest.status in FINAL:
                self.provider_agrees(refunds.index(refund))
            else:
                self.step_on(latest)

    @rule(index=st.integers(0, 5))
    def funder_cancels(self, index: int) -> None:
        attempt = self.pick(index)
        if attempt is not None:
            services.attempt_cancel(attempt_id=attempt.pk)

    @rule(later=st.sampled_from([0, 120, 3600]))
    def reconciler_runs(self, later: int) -> None:
        plan = reconciler.reconcile(now=timezone.now() + timedelta(seconds=later))
        for step, ids in plan.items():
            for attempt_id in ids:
                if PaymentAttempt.objects.filter(pk=attempt_id, job=self.job).exists():
                    run_step(step, attempt_id)

    @rule(route=st.sampled_from(FAULT_ROUTES), drop=st.booleans())
    def the_wallet_fails_the_next_call(self, route: str, drop: bool) -> None:
        self.wallet.faults(
            {"routes": {route: {"dropNext": 1} if drop else {"errorNext": 1, "errorStatus": 503}}}
        )

    @rule()
    def time_passes_at_the_wallet(self) -> None:
        if AttemptMachine.clock_budget >= 301:
            AttemptMachine.clock_budget -= 301
            self.wallet.advance_clock(301)

    def job_paid(self) -> bool:
        return Job.objects.filter(pk=self.job.pk, status=Job.Status.PAID).exists()

    @invariant()
    def at_most_one_success_and_final_statuses_never_change(self) -> None:
        attempts = self.attempts()
        payments = [a for a in attempts if a.kind == AttemptKind.PAYMENT]
        assert sum(a.status == S.SUCCEEDED for a in payments) <= 1
        for attempt in attempts:
            if str(attempt.pk) in self.finals:
                assert attempt.status == self.finals[str(attempt.pk)], attempt
            elif attempt.status in FINAL:
                self.finals[str(attempt.pk)] = attempt.status
                event(f"an attempt ended {attempt.status}")
                ENDINGS[attempt.status] += 1
        assert self.job_paid() == any(a.status == S.SUCCEEDED for a in payments)

    @invariant()
    def every_outgoing_payment_was_recorded_and_at_most_one_moved_money(self) -> None:
        outgoing = self.wallet.payments(self.funder_name)["outgoingPayments"]
        intents = {
            str(a.idempotency_id) for a in self.attempts() if a.outgoing_payment_requested_at is not None
        }
        for payment in outgoing:
            assert (payment.get("metadata") or {}).get("idempotencyId") in intents, payment
        moved = [p for p in outgoing if int(p["sentAmount"]["value"]) > 0 or p.get("state") == "COMPLETED"]
        assert len(moved) <= 1, moved

    @invariant()
    def refunds_add_up_and_never_exceed_what_was_paid(self) -> None:
        job = Job.objects.get(pk=self.job.pk)
        refunds = self.refunds()
        assert job.refunds_committed == sum(r.amount_value for r in refunds if r.status in COMMITTED)
        assert job.refunded_amount == sum(r.amount_value for r in refunds if r.status == R.REFUNDED)
        assert job.refunded_amount <= job.refunds_committed <= (job.paid_amount or 0), job.__dict__
        for refund in refunds:
            if refund.pk in self.refund_finals:
                assert refund.status == self.refund_finals[refund.pk], refund
            elif refund.status in (R.REFUNDED, R.DECLINED, R.CANCELLED):
                self.refund_finals[refund.pk] = refund.status
                event(f"a refund ended {refund.status}")
                REFUND_ENDINGS[refund.status] += 1

    @invariant()
    def a_refund_is_paid_by_exactly_one_attempt_or_none(self) -> None:
        for refund in self.refunds():
            statuses = Counter(a.status for a in refund.attempts.all())
            live = sum(statuses[status] for status in LIVE_STATUSES)
            assert live <= 1 and statuses[S.SUCCEEDED] <= 1, (refund, statuses)
            assert (refund.status == R.REFUNDED) == (statuses[S.SUCCEEDED] == 1), (refund, statuses)
            if refund.status in (R.DECLINED, R.CANCELLED):
                assert live == 0 and statuses[S.SUCCEEDED] == 0, (refund, statuses)

    @invariant()
    def refunds_move_money_once_and_never_more_than_was_paid(self) -> None:
        refund_of = {str(a.idempotency_id): a for a in self.attempts(AttemptKind.REFUND)}
        if not refund_of:
            return
        outgoing = self.wallet.payments(self.provider_name)["outgoingPayments"]
        moved: Counter[int] = Counter()
        for payment in outgoing:
            attempt = refund_of.get((payment.get("metadata") or {}).get("idempotencyId"))
            assert attempt is not None and attempt.outgoing_payment_requested_at is not None, payment
            if int(payment["sentAmount"]["value"]) > 0 or payment.get("state") == "COMPLETED":
                moved[attempt.refund_id] += 1
        assert all(n == 1 for n in moved.values()), moved
        back = self.wallet.payments(self.funder_name)["incomingPayments"]
        received = sum(int(p["receivedAmount"]["value"]) for p in back)
        assert received <= (Job.objects.get(pk=self.job.pk).paid_amount or 0), back

    def teardown(self) -> None:
        self.wallet.clear_faults()


def test_the_attempt_state_machine_holds_under_random_interleavings(settings: Any, tmp_path: Path) -> None:
    with running_wallet(in_thread=True, auto_consent="accept", wait=0, settle_delay=0) as wallet:
        client = wallet.create_client("marketplace", public_name="Marketplace")
        key = tmp_path / "private.pem"
        key.write_bytes(client.private_key_pem)
        os.chmod(key, 0o600)
        settings.OPEN_PAYMENTS = {
            **settings.OPEN_PAYMENTS,
            "CLIENT_WALLET_ADDRESS": client.url,
            "KEY_ID": client.key_id,
            "PRIVATE_KEY": str(key),
            "HTTP_HOSTS": ["127.0.0.1"],
        }
        settings.PUBLIC_BASE_URL = "http://testserver"
        open_payments_client.cache_clear()
        AttemptMachine.wallet = wallet
        try:
            run_state_machine_as_test(
                AttemptMachine,
                settings=hypothesis_settings(
                    max_examples=int(os.environ.get("STATE_MACHINE_EXAMPLES", "25")),
                    stateful_step_count=40,
                    deadline=None,
                    # CI replays the same examples every run, so its verdict is about the code, not the
                    # draw (the coverage check below holds for them); every other run explores new ones.
                    derandomize=IN_CI,
                    suppress_health_check=list(HealthCheck),
                ),
            )
        finally:
            open_payments_client.cache_clear()
    print("attempt endings:", dict(ENDINGS), "refund endings:", dict(REFUND_ENDINGS))
    if IN_CI:
        # The examples CI replays reach a paid job and a paid refund; a random draw may reach neither,
        # which says nothing about the code, so elsewhere the endings are only printed.
        assert ENDINGS[S.SUCCEEDED] > 0, dict(ENDINGS)
        assert REFUND_ENDINGS[R.REFUNDED] > 0, dict(REFUND_ENDINGS)
