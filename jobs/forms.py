"""Forms: they parse and check what people type; the services in `jobs.services` do the writing."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.contrib.auth.forms import BaseUserCreationForm
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from jobs import wallets
from jobs.models import Budget, Job, Profile
from jobs.money import AmountInvalid, format_amount, parse_amount, plain_decimal
from jobs.services import BUDGET_PER_JOB
from payments import WalletAddress

ROLES_REQUIRED = "Choose at least one role: funder, provider, or both."
EMAIL_HELP = (
    "We write when a payment needs you or is done (link ready, paid, refunds), and to reset your "
    "password; nothing else."
)
EMAIL_TAKEN = "An account already uses this email. Log in or reset your password."
EMAIL_TAKEN_ELSEWHERE = "Another account already uses this email."
# The roles a person picks at sign-up: (value, label, one line saying what it lets them do).
ROLES = (
    ("funder", "Fund jobs (funder)", "Post jobs and pay providers from your wallet."),
    ("provider", "Do jobs and get paid (provider)", "Quote on jobs and get paid into your wallet."),
)
WALLET_SHAPE = "Enter your wallet address as a URL (https://…) or a payment pointer ($…)."
JOB_BUDGET_HELP = "Providers see it as a guide; they quote their own price."
JOB_BUDGET_NEEDS_WALLET = 'Add your wallet on your <a href="{}">profile</a> to set a budget.'
JOB_DEADLINE_PAST = "Choose a deadline from today on."


class RoleCheckboxes(forms.CheckboxSelectMultiple):
    """Checkboxes each followed by its line of help, tied to it with `aria-describedby`."""

    option_template_name = "jobs/widgets/role_option.html"
    helps = {value: help_text for value, _, help_text in ROLES}

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(*args, **kwargs)
        option["help"] = self.helps.get(str(option["value"]), "")
        if option["help"]:
            option["attrs"]["aria-describedby"] = f"{option['attrs']['id']}_helptext"
        return option


class SignUpForm(BaseUserCreationForm[User]):
    """An email address, the roles the person takes, a username and a password typed twice."""

    email = forms.EmailField(
        label="Email",
        help_text=EMAIL_HELP,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    roles = forms.MultipleChoiceField(
        label="I want to",
        choices=[(value, label) for value, label, _ in ROLES],
        widget=RoleCheckboxes,
        error_messages={"required": ROLES_REQUIRED},
    )
    field_order = ("email", "roles", "username", "password1", "password2")

    class Meta(BaseUserCreationForm.Meta):
        model = User
        fields = ("username", "email")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The email field comes first and takes the focus.
        self.fields["username"].widget.attrs.pop("autofocus", None)

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"]
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(EMAIL_TAKEN, code="email_taken")
        return email


class ProfileForm(forms.Form):
    """Roles and the Open Payments wallet address, resolved at the wallet whenever it changes.

    A wallet that refuses (not found, private address, …) makes the form invalid with the reason on the
    field, so nothing is saved.
    """

    is_funder = forms.BooleanField(required=False, label="Funder: I post jobs and pay for them")
    is_provider = forms.BooleanField(required=False, label="Provider: I quote on jobs and get paid")
    wallet_address = forms.CharField(
        required=False,
        max_length=500,
        label="Open Payments wallet address",
        help_text="For example https://wallet.example/alice or $wallet.example/alice.",
    )
    email = forms.EmailField(
        required=False,
        label="Email (optional)",
        help_text=EMAIL_HELP,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def __init__(self, *args: Any, profile: Profile, email: str = "", **kwargs: Any) -> None:
        initial = {
            "is_funder": profile.is_funder,
            "is_provider": profile.is_provider,
            "wallet_address": profile.wallet_address,
            "email": email,
        }
        super().__init__(*args, **{**kwargs, "initial": initial})
        self.profile = profile
        self.resolved: WalletAddress | None = None

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"]
        others = User.objects.exclude(pk=self.profile.user_id)
        if email and others.filter(email__iexact=email).exists():
            raise forms.ValidationError(EMAIL_TAKEN_ELSEWHERE, code="email_taken")
        return email

    def clean_wallet_address(self) -> str:
        address: str = self.cleaned_data["wallet_address"].strip()
        if not address:
            return ""
        if not address.startswith(("$", "https://", "http://")):
            raise forms.ValidationError(WALLET_SHAPE)
        if address == self.profile.wallet_address and self.profile.has_wallet:
            return address
        try:
            self.resolved = wallets.wallet_address_resolve(address)
        except wallets.WalletAddressRefused as refusal:
            raise forms.ValidationError(str(refusal)) from refusal
        return address

    def profile_fields(self) -> dict[str, Any]:
        """The arguments of `profile_update`: the roles, and the wallet new, kept or cleared."""
        data, profile, wallet = self.cleaned_data, self.profile, self.resolved
        fields = {k: data[k] for k in ("is_funder", "is_provider", "wallet_address")}
        if wallet is not None:
            resolved = {
                "wallet_id": wallet.id,
                "asset_code": wallet.asset_code,
                "asset_scale": wallet.asset_scale,
            }
        elif data["wallet_address"]:
            resolved = {
                "wallet_id": profile.wallet_id,
                "asset_code": profile.asset_code,
                "asset_scale": profile.asset_scale,
            }
        else:
            resolved = {"wallet_id": "", "asset_code": "", "asset_scale": None}
        return {**fields, **resolved}


class JobForm(forms.ModelForm[Job]):
    """What a funder posts: a title and description, and optionally a budget, typed as a decimal in the
    funder's wallet asset (`asset_scale` None: no wallet yet, the field is disabled), and a deadline."""

    budget = forms.CharField(required=False, max_length=40)
    field_order = ("title", "description", "budget", "deadline")

    class Meta:
        model = Job
        fields = ("title", "description", "deadline")
        labels = {"description": "Description (optional)", "deadline": "Deadline (optional)"}
        help_texts = {
            "title": "A few words providers see in the job list, such as “Design a logo”.",
            "description": "What to do and what you expect back: providers read it before they quote.",
            "deadline": "The day you need the work by. Providers see it beside the job.",
        }
        widgets = {
            "description": forms.Textarea(attrs={"rows": 5}),
            "deadline": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }

    def __init__(self, *args: Any, asset_code: str, asset_scale: int | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.asset_code, self.asset_scale = asset_code, asset_scale
        self.fields["deadline"].widget.attrs["min"] = timezone.localdate().isoformat()
        budget = self.fields["budget"]
        if asset_scale is None:
            budget.label, budget.disabled = "Budget (optional)", True
            budget.help_text = format_html(JOB_BUDGET_NEEDS_WALLET, reverse("profile"))
            return
        budget.label = f"Budget in {asset_code} (optional)"
        budget.help_text = JOB_BUDGET_HELP
        example = "100" if asset_scale == 0 else "100." + "0" * asset_scale
        budget.widget.attrs.update({"inputmode": "decimal", "placeholder": example})

    def clean_budget(self) -> int | None:
        text: str = (self.cleaned_data["budget"] or "").strip()
        if not text or self.asset_scale is None:
            return None
        try:
            return parse_amount(text, self.asset_scale, self.asset_code)
        except AmountInvalid as invalid:
            raise forms.ValidationError(str(invalid)) from invalid

    def clean_deadline(self) -> date | None:
        deadline: date | None = self.cleaned_data["deadline"]
        if deadline is not None and deadline < timezone.localdate():
            raise forms.ValidationError(JOB_DEADLINE_PAST)
        return deadline


class QuoteForm(forms.Form):
    """A provider's price, typed as a decimal in their wallet's asset, kept as integer minor units."""

    amount = forms.CharField(max_length=40, label="Your price")
    note = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, asset_code: str, asset_scale: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.asset_code, self.asset_scale = asset_code, asset_scale
        self.fields["amount"].label = f"Your price in {asset_code}"
        example = "12" if asset_scale == 0 else "12." + "5".ljust(asset_scale, "0")
        self.fields["amount"].widget.attrs.update({"inputmode": "decimal", "placeholder": example})

    def clean_amount(self) -> int:
        try:
            return parse_amount(self.cleaned_data["amount"], self.asset_scale, self.asset_code)
        except AmountInvalid as invalid:
            raise forms.ValidationError(str(invalid)) from invalid


class RefundForm(forms.Form):
    """A refund's amount, typed as a decimal in the asset the provider was paid in (blank: everything
    still refundable), and why."""

    amount = forms.CharField(required=False, max_length=40)
    reason = forms.CharField(required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(
        self,
        *args: Any,
        asset_code: str,
        asset_scale: int,
        remaining: int,
        offer: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.asset_code, self.asset_scale = asset_code, asset_scale
        left = format_amount(remaining, asset_code, asset_scale)
        self.fields["amount"].label = f"Amount in {asset_code}"
        self.fields["amount"].help_text = f"Leave it empty to refund everything still refundable: {left}."
        self.fields["amount"].widget.attrs.update(
            {"inputmode": "decimal", "placeholder": plain_decimal(remaining, asset_scale)}
        )
        self.fields["reason"].label = "Why (the funder reads it)" if offer else "Why (the provider reads it)"

    def clean_amount(self) -> int | None:
        text: str = self.cleaned_data["amount"].strip()
        if not text:
            return None
        try:
            return parse_amount(text, self.asset_scale, self.asset_code)
        except AmountInvalid as invalid:
            raise forms.ValidationError(str(invalid)) from invalid


# The "in total" choice (a budget's empty interval), named so that the field can still be required.
TOTAL = "total"


class BudgetForm(forms.Form):
    """A funder's budget: how much, how often it renews, and (optionally) the most one job is paid at once,
    typed as decimals in their wallet's asset and kept as integer minor units."""

    amount = forms.CharField(max_length=40)
    interval = forms.ChoiceField(
        label="How often",
        choices=[
            (Budget.Interval.MONTH, "per month"),
            (Budget.Interval.WEEK, "per week"),
            (TOTAL, "in total"),
        ],
        initial=Budget.Interval.MONTH,
    )
    per_job = forms.CharField(required=False, max_length=40)

    def __init__(self, *args: Any, asset_code: str, asset_scale: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.asset_code, self.asset_scale = asset_code, asset_scale
        example = "100" if asset_scale == 0 else "100." + "0" * asset_scale
        self.fields["amount"].label = f"Budget in {asset_code}"
        self.fields["amount"].widget.attrs.update({"inputmode": "decimal", "placeholder": example})
        self.fields["per_job"].label = f"Pay instantly up to (per job, in {asset_code})"
        self.fields["per_job"].help_text = (
            "Optional. A job costing more than this asks you to approve it in your wallet as usual. "
            "Leave it empty to pay any job at once while the budget lasts."
        )
        self.fields["per_job"].widget.attrs.update({"inputmode": "decimal"})

    def _parse(self, text: str) -> int:
        try:
            return parse_amount(text, self.asset_scale, self.asset_code)
        except AmountInvalid as invalid:
            raise forms.ValidationError(str(invalid)) from invalid

    def clean_amount(self) -> int:
        return self._parse(self.cleaned_data["amount"])

    def clean_per_job(self) -> int | None:
        text: str = self.cleaned_data["per_job"].strip()
        return self._parse(text) if text else None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        amount, per_job = cleaned.get("amount"), cleaned.get("per_job")
        if amount is not None and per_job is not None and per_job > amount:
            self.add_error("per_job", BUDGET_PER_JOB)
        return cleaned

    def budget_fields(self) -> dict[str, Any]:
        """The arguments of `budget_create` besides the funder."""
        data = self.cleaned_data
        interval = Budget.Interval.NONE if data["interval"] == TOTAL else data["interval"]
        return {"amount": data["amount"], "interval": interval, "per_job_limit": data["per_job"]}
