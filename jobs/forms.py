"""Forms: they parse and check what people type; the services in `jobs.services` do the writing."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import BaseUserCreationForm
from django.contrib.auth.models import User

from jobs import wallets
from jobs.models import Budget, Job, Profile
from jobs.money import AmountInvalid, parse_amount
from jobs.services import BUDGET_PER_JOB
from payments import WalletAddress

ROLES_REQUIRED = "Choose at least one role: funder, provider, or both."
EMAIL_HELP = "We write when a payment needs you or is done (link ready, paid, refunds); nothing else."
WALLET_SHAPE = "Enter your wallet address as a URL (https://…) or a payment pointer ($…)."


class SignUpForm(BaseUserCreationForm[User]):
    """A username, a password typed twice, and the roles the person takes."""

    is_funder = forms.BooleanField(required=False, label="I fund jobs (funder)")
    is_provider = forms.BooleanField(required=False, label="I do jobs and get paid (provider)")

    class Meta(BaseUserCreationForm.Meta):
        model = User
        fields = ("username", "email")
        labels = {"email": "Email (optional)"}
        help_texts = {"email": EMAIL_HELP}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not (cleaned.get("is_funder") or cleaned.get("is_provider")):
            raise forms.ValidationError(ROLES_REQUIRED)
        return cleaned


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
    email = forms.EmailField(required=False, label="Email (optional)", help_text=EMAIL_HELP)

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
    """What a funder posts."""

    class Meta:
        model = Job
        fields = ("title", "description")
        widgets = {"description": forms.Textarea(attrs={"rows": 5})}


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
        remaining: str,
        offer: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.asset_code, self.asset_scale = asset_code, asset_scale
        self.fields["amount"].label = f"Amount in {asset_code}"
        self.fields[
            "amount"
        ].help_text = f"Leave it empty to refund everything still refundable: {remaining}."
        self.fields["amount"].widget.attrs.update(
            {"inputmode": "decimal", "placeholder": remaining.split()[0]}
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
