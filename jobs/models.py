"""People, jobs, quotes and payment attempts.

Money is stored as an integer of minor units with its asset code and scale, never as a float.
"""

from __future__ import annotations

import uuid
from datetime import UTC

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from jobs.sealed import SealedField


class Profile(models.Model):
    """What a user does on the marketplace and the Open Payments wallet they use."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    is_funder = models.BooleanField(default=False)
    is_provider = models.BooleanField(default=False)
    # What the user typed (a URL or a $payment-pointer) and what it resolved to.
    wallet_address = models.CharField(max_length=500, blank=True)
    wallet_id = models.URLField(max_length=500, blank=True)
    asset_code = models.CharField(max_length=16, blank=True)
    asset_scale = models.PositiveSmallIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"profile of {self.user}"

    @property
    def has_wallet(self) -> bool:
        return bool(self.wallet_id)


class Job(models.Model):
    """A piece of work a funder posts and pays a provider for."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PAID = "paid", "Paid"

    funder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="jobs_funded")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    # What the provider received for the job (in the paid quote's asset), set when it is paid.
    paid_amount = models.BigIntegerField(null=True, blank=True)
    # Refunds asked for or agreed and not declined or cancelled, and those of them paid back: the database
    # keeps the first within `paid_amount`, so refunds never add up to more than was paid.
    refunds_committed = models.BigIntegerField(default=0)
    refunded_amount = models.BigIntegerField(default=0)
    # When the funder's browser last polled the payment panel (at most every PANEL_SEEN_EVERY seconds):
    # the "link ready" email goes only to a funder who is not on the page (`worker.emails`).
    funder_seen_at = models.DateTimeField(null=True, blank=True)
    # What the funder means to spend, in their wallet's asset when they posted: a guide for providers, who
    # quote their own price. All three are set, or none.
    budget_value = models.BigIntegerField(null=True, blank=True)
    budget_asset_code = models.CharField(max_length=16, null=True, blank=True)
    budget_asset_scale = models.PositiveSmallIntegerField(null=True, blank=True)
    deadline = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    budget_value__isnull=True, budget_asset_code__isnull=True, budget_asset_scale__isnull=True
                )
                | Q(
                    budget_value__isnull=False,
                    budget_value__gt=0,
                    budget_asset_code__isnull=False,
                    budget_asset_scale__isnull=False,
                ),
                name="job_budget_complete",
            ),
            models.CheckConstraint(
                condition=Q(refunds_committed=0)
                | Q(
                    paid_amount__isnull=False,
                    refunds_committed__gt=0,
                    refunds_committed__lte=F("paid_amount"),
                ),
                name="job_refunds_within_paid",
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0, refunded_amount__lte=F("refunds_committed")),
                name="job_refunded_within_committed",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"


class Quote(models.Model):
    """A provider's price for a job, in the provider's wallet asset (what the funder approves; the Open
    Payments quote the payment uses is on the attempt)."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="quotes")
    provider = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="quotes")
    amount_value = models.BigIntegerField()
    asset_code = models.CharField(max_length=16)
    asset_scale = models.PositiveSmallIntegerField()
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount_value__gt=0), name="quote_amount_positive")]

    def __str__(self) -> str:
        return f"quote #{self.pk} on job #{self.job_id}"


class AttemptStatus(models.TextChoices):
    GENERATING = "generating", "Generating payment link"
    AWAITING_AUTHORIZATION = "awaiting_authorization", "Awaiting authorization"
    AUTHORIZED = "authorized", "Authorized"
    PROCESSING = "processing", "Processing"
    SUCCEEDED = "succeeded", "Paid"
    FAILED = "failed", "Failed"
    DECLINED = "declined", "Declined"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled"


FINAL_STATUSES = frozenset(
    {
        AttemptStatus.SUCCEEDED,
        AttemptStatus.FAILED,
        AttemptStatus.DECLINED,
        AttemptStatus.EXPIRED,
        AttemptStatus.CANCELLED,
    }
)
LIVE_STATUSES = (
    AttemptStatus.GENERATING,
    AttemptStatus.AWAITING_AUTHORIZATION,
    AttemptStatus.AUTHORIZED,
    AttemptStatus.PROCESSING,
)
# The error code of an attempt whose quote no longer fits the provider's wallet (its asset changed): a
# new link for the same quote would fail the same way; the provider has to quote again.
QUOTE_OUTDATED = "quote_outdated"


class AttemptKind(models.TextChoices):
    PAYMENT = "payment", "Payment"  # the funder pays the provider for the job
    REFUND = "refund", "Refund"  # the provider pays (part of) it back


class PaymentAttempt(models.Model):
    """One try at moving money for a job: who pays whom (`kind`, the two wallets), for what (the job and
    the quote paid) and how much (`amount`); what the pipeline learned, stored as soon as it learned it.

    Status changes only through `jobs.states.transition` (pipeline steps through their lease,
    `jobs.leases`); the database allows one live and one succeeded payment per job, and one live and one
    succeeded attempt per refund.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="attempts")
    # The provider's quote the job is paid for; a refund attempt names the quote its payment paid.
    quote = models.ForeignKey(Quote, on_delete=models.PROTECT, related_name="attempts")
    kind = models.CharField(max_length=16, choices=AttemptKind.choices, default=AttemptKind.PAYMENT)
    refund = models.ForeignKey(
        "Refund", null=True, blank=True, on_delete=models.PROTECT, related_name="attempts"
    )
    # A payment the funder's budget pays at once (no link), and when it could not, why (the attempt then
    # goes on to a link as any other).
    budget = models.ForeignKey(
        "Budget", null=True, blank=True, on_delete=models.PROTECT, related_name="attempts"
    )
    budget_fallback = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=32, choices=AttemptStatus.choices, default=AttemptStatus.GENERATING)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # The two wallets, as resolved when the attempt started.
    sender_wallet = models.URLField(max_length=500)
    receiver_wallet = models.URLField(max_length=500)
    # The sender wallet's grant endpoint as advertised; the finish hash is computed over it.
    sender_auth_server = models.URLField(max_length=500, blank=True)

    # One delivery of a step works on the attempt at a time; a crashed holder's lease runs out.
    lease_owner = models.UUIDField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    # Incoming payment at the provider's wallet, and the token that reads it.
    incoming_payment_requested_at = models.DateTimeField(null=True, blank=True)
    incoming_payment_url = models.URLField(max_length=500, blank=True)
    incoming_amount = models.BigIntegerField(null=True, blank=True)
    receive_asset_code = models.CharField(max_length=16, blank=True)
    receive_asset_scale = models.PositiveSmallIntegerField(null=True, blank=True)
    incoming_token = models.CharField(max_length=500, blank=True)
    incoming_token_manage = models.URLField(max_length=500, blank=True)
    incoming_token_expires_at = models.DateTimeField(null=True, blank=True)

    # The Open Payments quote at the funder's wallet (`quote` above is the provider's price on the job).
    op_quote_url = models.URLField(max_length=500, blank=True)
    debit_amount = models.BigIntegerField(null=True, blank=True)
    debit_asset_code = models.CharField(max_length=16, blank=True)
    debit_asset_scale = models.PositiveSmallIntegerField(null=True, blank=True)
    receive_amount = models.BigIntegerField(null=True, blank=True)
    op_quote_expires_at = models.DateTimeField(null=True, blank=True)

    # Interactive outgoing-payment grant.
    client_nonce = models.CharField(max_length=100, blank=True)
    interact_nonce = models.CharField(max_length=100, blank=True)
    payment_url = models.URLField(max_length=1000, blank=True)
    continue_uri = models.URLField(max_length=500, blank=True)
    continue_token = models.CharField(max_length=500, blank=True)
    continue_wait = models.PositiveIntegerField(null=True, blank=True)
    interact_ref = models.CharField(max_length=200, blank=True)
    # A `result` the finish redirect brought outside the funder's session (it carries no proof): applied
    # only if the link expires unused.
    reported_result = models.CharField(max_length=32, blank=True)
    continue_requested_at = models.DateTimeField(null=True, blank=True)
    link_ready_at = models.DateTimeField(null=True, blank=True)
    authorization_expires_at = models.DateTimeField(null=True, blank=True)

    # Access token of the outgoing-payment grant.
    access_token = models.CharField(max_length=500, blank=True)
    access_token_manage = models.URLField(max_length=500, blank=True)
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    authorized_at = models.DateTimeField(null=True, blank=True)

    # Outgoing payment: the id of ours it carries in its metadata, then what the wallet answered.
    idempotency_id = models.UUIDField(default=uuid.uuid4, editable=False)
    outgoing_payment_requested_at = models.DateTimeField(null=True, blank=True)
    outgoing_payment_url = models.URLField(max_length=500, blank=True)
    # The provider's incoming payment took no more money when we went to pay, and no outgoing payment of
    # ours was found: something paid it. Polling confirms it from the receiver's side; nothing is sent.
    receiver_already_paid = models.BooleanField(default=False)
    sent_amount = models.BigIntegerField(null=True, blank=True)
    received_amount = models.BigIntegerField(null=True, blank=True)
    polls = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When the outgoing-payment grant was revoked at the funder's wallet (or found gone) after the attempt
    # ended: nothing more can be sent under it. Null while a revocation is still owed.
    grant_revoked_at = models.DateTimeField(null=True, blank=True)

    # What the funder reads when the attempt failed; for ops, what failed underneath (a stable code such as
    # `certificate` or `http_403`, and the technical message, which never holds a token).
    error = models.TextField(blank=True)
    error_code = models.CharField(max_length=32, blank=True, db_index=True)
    error_detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["job"],
                condition=Q(status__in=LIVE_STATUSES, kind=AttemptKind.PAYMENT),
                name="one_live_attempt_per_job",
            ),
            models.UniqueConstraint(
                fields=["job"],
                condition=Q(status=AttemptStatus.SUCCEEDED, kind=AttemptKind.PAYMENT),
                name="one_success_per_job",
            ),
            models.UniqueConstraint(
                fields=["refund"],
                condition=Q(status__in=LIVE_STATUSES, kind=AttemptKind.REFUND),
                name="one_live_attempt_per_refund",
            ),
            models.UniqueConstraint(
                fields=["refund"],
                condition=Q(status=AttemptStatus.SUCCEEDED, kind=AttemptKind.REFUND),
                name="one_success_per_refund",
            ),
            models.CheckConstraint(
                condition=Q(kind=AttemptKind.PAYMENT, refund__isnull=True)
                | Q(kind=AttemptKind.REFUND, refund__isnull=False),
                name="attempt_kind_refund",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "updated_at"], name="attempt_status_updated"),
            # The dashboard's figures: attempts approved in a period, and those that finished in it.
            models.Index(fields=["kind", "created_at"], name="attempt_kind_created"),
            models.Index(fields=["kind", "status", "finished_at"], name="attempt_kind_status_finished"),
            # The reconciler's look-up of finished attempts whose grant is still to be revoked.
            models.Index(
                fields=["updated_at"],
                condition=Q(grant_revoked_at__isnull=True, status__in=sorted(FINAL_STATUSES))
                & ~Q(continue_uri=""),
                name="attempt_grant_owed",
            ),
        ]

    def __str__(self) -> str:
        return f"attempt {self.pk} of job #{self.job_id} ({self.status})"

    def __repr__(self) -> str:
        return f"<PaymentAttempt {self.pk} job={self.job_id} status={self.status}>"

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def is_refund(self) -> bool:
        return self.kind == AttemptKind.REFUND

    @property
    def payer_id(self) -> int:
        """The user who consents in their wallet: the job's funder, or for a refund the paid provider."""
        return self.quote.provider_id if self.is_refund else self.job.funder_id

    @property
    def amount_value(self) -> int:
        """How much, in the quote's asset: the price the provider receives for a payment, what leaves the
        provider's wallet for a refund."""
        return self.refund.amount_value if self.refund is not None else self.quote.amount_value


class Refund(models.Model):
    """Money going back from the provider to the funder for a paid job: asked for by the funder (or
    offered by the provider), agreed or declined by the provider, then paid by its attempts.

    Status changes only through `jobs.states.refund_transition`. The amount is in the asset the provider
    was paid in, and is what leaves the provider's wallet.
    """

    class Status(models.TextChoices):
        REQUESTED = "requested", "Refund requested"
        AGREED = "agreed", "Refund agreed"
        DECLINED = "declined", "Refund declined"
        CANCELLED = "cancelled", "Refund request cancelled"
        REFUNDED = "refunded", "Refunded"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="refunds")
    payment = models.ForeignKey(PaymentAttempt, on_delete=models.PROTECT, related_name="refunds")
    amount_value = models.BigIntegerField()
    asset_code = models.CharField(max_length=16)
    asset_scale = models.PositiveSmallIntegerField()
    reason = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REQUESTED)
    decline_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount_value__gt=0), name="refund_amount_positive")]

    def __str__(self) -> str:
        return f"refund #{self.pk} of job #{self.job_id} ({self.status})"

    @property
    def by_provider(self) -> bool:
        """The provider offered it on their own initiative (nobody asked)."""
        return self.requested_by_id != self.job.funder_id


class Budget(models.Model):
    """A funder's standing consent: an outgoing-payment grant at their wallet up to `amount` (per
    `interval`, when it repeats), kept so that approving a quote pays at once, without a redirect.

    Its tokens are sealed at rest (`jobs.sealed`) and never shown; its status changes only through
    `jobs.states.budget_transition`.
    """

    class Status(models.TextChoices):
        PREPARING = "preparing", "Preparing the link to your wallet"
        AWAITING = "awaiting_authorization", "Waiting for your wallet"
        AUTHORIZED = "authorized", "Confirming with your wallet"
        ACTIVE = "active", "Active"
        ENDED = "ended", "Ended"

    class Interval(models.TextChoices):
        NONE = "", "in total"
        MONTH = "P1M", "per month"
        WEEK = "P1W", "per week"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    funder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="budgets")
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.PREPARING)
    sender_wallet = models.URLField(max_length=500)
    sender_auth_server = models.URLField(max_length=500, blank=True)
    amount_value = models.BigIntegerField()
    asset_code = models.CharField(max_length=16)
    asset_scale = models.PositiveSmallIntegerField()
    interval = models.CharField(max_length=8, choices=Interval.choices, blank=True)
    # `R/<interval_start>/<interval>`: the wallet counts what is spent per window from here.
    interval_start = models.DateTimeField(null=True, blank=True)
    # The largest payment the budget pays at once; above it, the funder gets a link as usual.
    per_job_limit = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # The interactive grant the funder consents to once.
    client_nonce = models.CharField(max_length=100, blank=True)
    interact_nonce = models.CharField(max_length=100, blank=True)
    consent_url = models.URLField(max_length=1000, blank=True)
    continue_uri = models.URLField(max_length=500, blank=True)
    continue_token = SealedField(blank=True)
    continue_wait = models.PositiveIntegerField(null=True, blank=True)
    interact_ref = models.CharField(max_length=200, blank=True)
    consent_expires_at = models.DateTimeField(null=True, blank=True)
    # Held by the one delivery continuing the grant (a grant continues once: a second delivery asking in
    # parallel would be refused and end the budget); free again when it runs out.
    continuing_until = models.DateTimeField(null=True, blank=True)

    # The access token every payment from the budget uses, rotated when it expires.
    access_token = SealedField(blank=True)
    access_token_manage = SealedField(blank=True)
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    authorized_at = models.DateTimeField(null=True, blank=True)

    # What the wallet last said is spent in the current interval (its `outgoing-payment-grant` figures).
    spent_value = models.BigIntegerField(null=True, blank=True)
    spent_checked_at = models.DateTimeField(null=True, blank=True)

    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=300, blank=True)
    # When its grant was revoked at the wallet (or found gone) after it ended; null while that is owed.
    grant_revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["funder"], condition=~Q(status="ended"), name="one_live_budget_per_funder"
            ),
            models.CheckConstraint(
                condition=Q(amount_value__gt=0, per_job_limit__gt=0, per_job_limit__lte=F("amount_value")),
                name="budget_amounts",
            ),
        ]

    def __str__(self) -> str:
        return f"budget {self.pk} of {self.funder_id} ({self.status})"

    @property
    def repeating_interval(self) -> str | None:
        """The grant's `interval` (`R/<start>/<duration>`), None for a budget in total."""
        if not self.interval or self.interval_start is None:
            return None
        start = self.interval_start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"R/{start}/{self.interval}"


class PaymentEvent(models.Model):
    """One status change of a payment attempt or a refund, written in the same transaction as the change:
    the outbox webhooks, emails and metrics read (in `id` order, which is commit order per attempt)."""

    id = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # `payment.<status>`, `refund_attempt.<status>` or `refund.<status>`.
    type = models.CharField(max_length=64)
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="events")
    attempt = models.ForeignKey(
        PaymentAttempt, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    refund = models.ForeignKey(Refund, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["created_at"], name="event_created")]

    def __str__(self) -> str:
        return f"{self.type} of job #{self.job_id}"


class EventCursor(models.Model):
    """How far one consumer of the events (webhooks, emails, …) has read: the last `PaymentEvent.id`."""

    name = models.CharField(max_length=64, unique=True)
    last_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} at event {self.last_id}"


class EmailNotice(models.Model):
    """One email owed to one person about one payment event: written by the `emails` consumer, sent once
    by the `emails.send` task (`sent_at`). The address is read when it is sent."""

    class Kind(models.TextChoices):
        LINK_READY = "link_ready", "Payment link ready"
        PAID = "paid", "Job paid"
        REFUND_REQUESTED = "refund_requested", "Refund requested"
        REFUNDED = "refunded", "Refunded"

    event = models.ForeignKey(PaymentEvent, on_delete=models.CASCADE, related_name="+")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "recipient"], name="one_email_per_event_and_person")
        ]
        # The sweep's look-up of emails still owed.
        indexes = [models.Index(fields=["created_at"], condition=Q(sent_at__isnull=True), name="email_owed")]

    def __str__(self) -> str:
        return f"{self.kind} email to user {self.recipient_id} about event {self.event_id}"


class GrantToken(models.Model):
    """The access token of a non-interactive grant (incoming payments at one wallet, quotes at one auth
    server), shared by every attempt and worker until shortly before it expires, then rotated."""

    key = models.CharField(max_length=64, unique=True)  # SHA-256 of kind, auth server and identifier
    kind = models.CharField(max_length=32)
    auth_server = models.URLField(max_length=500)
    value = models.CharField(max_length=500)
    manage = models.URLField(max_length=500)
    expires_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.kind} token at {self.auth_server}"


class ApiToken(models.Model):
    """A key a script presents to the JSON API as `Authorization: Token <key>`.

    Only the key's SHA-256 is stored: the key itself is printed once when it is created.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"API token {self.name or self.pk} of {self.user}"


class WebhookEndpoint(models.Model):
    """An integrator's URL that receives every payment event, signed with its secret (`worker.webhooks`;
    docs/webhooks.md). The secret is sealed at rest and never shown again after it is set."""

    url = models.URLField(max_length=500)
    secret = SealedField(blank=True)
    description = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.description or self.url


class WebhookDelivery(models.Model):
    """One event sent (or to be sent) to one endpoint: at most one per pair. Its `payload` is the JSON body,
    made once, so every try and every resend sends the same bytes."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(PaymentEvent, on_delete=models.CASCADE, related_name="+")
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # When the next try may start; while a try is under way, when its hold on the delivery ends.
    next_attempt_at = models.DateTimeField()
    # After this, a failed try ends the delivery (failed) instead of scheduling another.
    give_up_at = models.DateTimeField()
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_delivery_once")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due")]

    def __str__(self) -> str:
        return f"event {self.event_id} to endpoint {self.endpoint_id}"
