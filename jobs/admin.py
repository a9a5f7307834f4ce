"""Admin pages. Payment attempts and refunds are read-only (their status changes only through
`jobs.states`), as are a job's payment and refund totals and budgets, and no admin page shows a token, a
nonce or an `interact_ref`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.http import HttpRequest

from jobs import webhooks
from jobs.models import (
    ApiToken,
    Budget,
    Job,
    PaymentAttempt,
    Profile,
    Quote,
    Refund,
    WebhookDelivery,
    WebhookEndpoint,
)
from payments import TransportError, UnsafeURLError
from worker import tasks

# Never listed, shown or editable: the grant and payment credentials and the finish-hash inputs.
ATTEMPT_SECRETS = frozenset(
    {"incoming_token", "continue_token", "access_token", "client_nonce", "interact_nonce", "interact_ref"}
)
ATTEMPT_FIELDS = tuple(
    field.name for field in PaymentAttempt._meta.concrete_fields if field.name not in ATTEMPT_SECRETS
)

REFUND_FIELDS = tuple(field.name for field in Refund._meta.concrete_fields)

# A budget's grant: its tokens (sealed at rest), the finish-hash inputs, and the one-time links to the
# funder's wallet (the consent page and the continuation) are never listed, shown or editable.
BUDGET_SECRETS = frozenset(
    {
        "client_nonce",
        "interact_nonce",
        "consent_url",
        "continue_uri",
        "continue_token",
        "interact_ref",
        "access_token",
        "access_token_manage",
    }
)
BUDGET_FIELDS = tuple(
    field.name for field in Budget._meta.concrete_fields if field.name not in BUDGET_SECRETS
)


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin[Profile]):
    list_display = ("user", "is_funder", "is_provider", "wallet_id", "asset_code", "asset_scale")
    list_filter = ("is_funder", "is_provider", "asset_code")
    search_fields = ("user__username", "wallet_address", "wallet_id")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


class QuoteInline(admin.TabularInline[Quote, Job]):
    model = Quote
    extra = 0
    fields = ("provider", "amount_value", "asset_code", "asset_scale", "note", "created_at")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        return False


@admin.register(Job)
class JobAdmin(admin.ModelAdmin[Job]):
    list_display = (
        "id",
        "title",
        "funder",
        "status",
        "budget_value",
        "budget_asset_code",
        "deadline",
        "created_at",
        "paid_at",
        "refunded_amount",
    )
    list_filter = ("status",)
    search_fields = ("title", "funder__username")
    # The budget is in the funder's wallet asset when they posted: its three fields go together.
    readonly_fields = (
        "status",
        "created_at",
        "paid_at",
        "paid_amount",
        "refunds_committed",
        "refunded_amount",
        "budget_value",
        "budget_asset_code",
        "budget_asset_scale",
    )
    inlines = (QuoteInline,)


@admin.register(Quote)
class QuoteAdmin(admin.ModelAdmin[Quote]):
    list_display = ("id", "job", "provider", "amount_value", "asset_code", "asset_scale", "created_at")
    list_filter = ("asset_code",)
    search_fields = ("job__title", "provider__username")
    raw_id_fields = ("job", "provider")


@admin.register(PaymentAttempt)
class PaymentAttemptAdmin(admin.ModelAdmin[PaymentAttempt]):
    list_display = (
        "id",
        "job",
        "kind",
        "status",
        "error_code",
        "debit_amount",
        "debit_asset_code",
        "created_at",
        "updated_at",
    )
    list_filter = ("kind", "status", "error_code")
    search_fields = ("=id", "job__title", "sender_wallet", "receiver_wallet")
    date_hierarchy = "created_at"
    fields = ATTEMPT_FIELDS
    readonly_fields = ATTEMPT_FIELDS

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: PaymentAttempt | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: PaymentAttempt | None = None) -> bool:
        return False


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin[Refund]):
    """Refunds as the funder and provider left them; they change only through the marketplace."""

    list_display = ("id", "job", "status", "amount_value", "asset_code", "requested_by", "created_at")
    list_filter = ("status", "asset_code")
    search_fields = ("job__title", "requested_by__username")
    date_hierarchy = "created_at"
    fields = REFUND_FIELDS
    readonly_fields = REFUND_FIELDS

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Refund | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Refund | None = None) -> bool:
        return False


@admin.register(Budget)
class BudgetAdmin(admin.ModelAdmin[Budget]):
    """Budgets as their funders set them; they change only through the marketplace and the worker."""

    list_display = (
        "id",
        "funder",
        "status",
        "amount_value",
        "asset_code",
        "interval",
        "per_job_limit",
        "spent_value",
        "created_at",
        "ended_at",
    )
    list_filter = ("status", "interval", "asset_code")
    search_fields = ("=id", "funder__username", "sender_wallet")
    date_hierarchy = "created_at"
    fields = BUDGET_FIELDS
    readonly_fields = BUDGET_FIELDS

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Budget]:
        # Never loaded, so never unsealed: the pages open even while a token's key is missing.
        return super().get_queryset(request).defer(*BUDGET_SECRETS)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Budget | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Budget | None = None) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    """Tokens are issued by `manage.py api_token_create` (the key is shown once); here they are revoked."""

    list_display = ("id", "user", "name", "created_at", "last_used_at")
    search_fields = ("user__username", "name")
    fields = ("user", "name", "created_at", "last_used_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class WebhookEndpointForm(forms.ModelForm[WebhookEndpoint]):
    """An endpoint's URL must pass the same SSRF guard as the deliveries; its secret is write-only."""

    url = forms.URLField(max_length=500, assume_scheme="https")
    secret = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave blank to generate one (shown once after saving) or, when editing, to keep it.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "description", "active")

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        try:
            webhooks.policy().check_url(url)
        except UnsafeURLError as exc:
            raise forms.ValidationError(f"This URL cannot receive webhooks: {exc}.") from None
        except TransportError as exc:
            raise forms.ValidationError(f"This URL's host cannot be resolved: {exc}.") from None
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin[WebhookEndpoint]):
    """Integrators' endpoints (docs/webhooks.md). A secret is shown once, when it is generated."""

    form = WebhookEndpointForm
    list_display = ("id", "url", "description", "active", "created_at")
    list_filter = ("active",)
    search_fields = ("url", "description")
    fields = ("url", "description", "active", "secret")

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[WebhookEndpoint]:
        # Never loaded, so never unsealed, to list them.
        return super().get_queryset(request).defer("secret")

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool) -> None:
        typed: str = form.cleaned_data.get("secret") or ""
        generated = not typed and not change
        if typed or generated:
            obj.secret = typed or webhooks.new_secret()
        super().save_model(request, obj, form, change)
        if generated:
            self.message_user(
                request,
                f"The endpoint's signing secret is {obj.secret} — copy it now: it is not shown again.",
                messages.WARNING,
            )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin[WebhookDelivery]):
    """The delivery log: read-only, with a resend."""

    list_display = (
        "id",
        "endpoint",
        "event_type",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
    )
    list_filter = ("status", "endpoint")
    search_fields = ("=event__event_id", "=event__job__id")
    date_hierarchy = "created_at"
    list_select_related = ("endpoint", "event")
    fields = (
        "endpoint",
        "event",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "next_attempt_at",
        "give_up_at",
        "created_at",
        "delivered_at",
        "payload",
    )
    readonly_fields = fields
    actions = ("resend",)

    @admin.display(description="event")
    def event_type(self, delivery: WebhookDelivery) -> str:
        return delivery.event.type

    @admin.action(description="Resend the selected deliveries")
    def resend(self, request: HttpRequest, queryset: models.QuerySet[WebhookDelivery]) -> None:
        ids = webhooks.resend(queryset.values_list("pk", flat=True))
        for pk in ids:
            tasks.enqueue_webhook(pk)
        self.message_user(request, f"{len(ids)} deliveries queued to be sent again.", messages.SUCCESS)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: WebhookDelivery | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: WebhookDelivery | None = None) -> bool:
        return False
