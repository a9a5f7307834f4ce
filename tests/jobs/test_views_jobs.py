"""The landing page, the job list with its badges, posting jobs, quoting, and who sees what on a job page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from jobs import services
from jobs.models import AttemptStatus, Job, Quote
from tests.jobs import factories as f

pytestmark = pytest.mark.django_db


def test_the_landing_page_invites_visitors_and_sends_members_to_the_jobs():
    # when
    visitor = Client().get("/")
    member = f.logged_in(f.funder()).get("/")
    # then
    assert visitor.status_code == 200
    assert "Get work done. Pay straight from your wallet." in visitor.content.decode()
    assert (member.status_code, member["Location"]) == (302, "/jobs")


def test_pages_use_the_vendored_htmx_and_the_own_stylesheet_only():
    # when
    html = Client().get("/").content.decode()
    # then
    assert '<script src="/static/django_htmx/htmx-2.min.js" defer></script>' in html
    assert '<link rel="stylesheet" href="/static/jobs/site.css">' in html
    assert "cdn" not in html.lower()
    assert "unpkg" not in html


@pytest.mark.parametrize(
    ("statuses", "badge"),
    [
        ([], '<span class="badge badge-open">Open</span>'),
        ([AttemptStatus.GENERATING], '<span class="badge badge-generating">Generating link</span>'),
        (
            [AttemptStatus.AWAITING_AUTHORIZATION],
            '<span class="badge badge-awaiting">Awaiting payment</span>',
        ),
        ([AttemptStatus.PROCESSING], '<span class="badge badge-processing">Processing payment</span>'),
        ([AttemptStatus.EXPIRED], '<span class="badge badge-open">Open</span>'),
        ([AttemptStatus.FAILED, AttemptStatus.SUCCEEDED], '<span class="badge badge-paid">Paid</span>'),
    ],
    ids=["no-attempt", "generating", "awaiting", "processing", "expired", "paid"],
)
def test_the_job_list_shows_each_job_with_its_badge(statuses, badge):
    # given
    funder, provider = f.funder(), f.provider()
    job = f.job(funder)
    quote = f.quote(job, provider)
    for status in statuses:
        f.attempt(quote, status)
    if AttemptStatus.SUCCEEDED in statuses:
        Job.objects.filter(pk=job.pk).update(status=Job.Status.PAID)
    # when
    response = f.logged_in(f.provider("sam")).get(reverse("job-list"))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert f'<a class="job-row-title" href="/jobs/{job.pk}">Translate the README</a>\n        {badge}' in html
    assert html.count('class="job-row"') == 1


def test_the_job_list_needs_a_login():
    # when
    response = Client().get(reverse("job-list"))
    # then
    assert (response.status_code, response["Location"]) == (302, "/login?next=/jobs")


def test_a_funder_posts_a_job():
    # given
    funder = f.funder()
    # when
    response = f.logged_in(funder).post(reverse("job-create"), {"title": "Logo", "description": "Vector."})
    # then
    job = Job.objects.get()
    assert (job.funder, job.title, job.description, job.status) == (funder, "Logo", "Vector.", "open")
    assert (job.budget_value, job.budget_asset_code, job.budget_asset_scale, job.deadline) == (
        None,
        None,
        None,
        None,
    )
    assert (response.status_code, response["Location"]) == (302, f"/jobs/{job.pk}")


def test_a_funder_posts_a_job_with_a_budget_in_their_wallet_asset_and_a_deadline():
    # given a funder whose wallet holds euros
    funder = f.funder(asset_code="EUR", asset_scale=2)
    deadline = timezone.localdate() + timedelta(days=7)
    # when
    response = f.logged_in(funder).post(
        reverse("job-create"),
        {"title": "Logo", "description": "", "budget": "1,000.50", "deadline": deadline.isoformat()},
    )
    # then
    job = Job.objects.get()
    assert (response.status_code, response["Location"]) == (302, f"/jobs/{job.pk}")
    assert (job.budget_value, job.budget_asset_code, job.budget_asset_scale, job.deadline) == (
        100050,
        "EUR",
        2,
        deadline,
    )


def test_a_job_with_a_bad_budget_and_a_past_deadline_is_shown_again_with_both_errors():
    # given
    funder = f.funder()
    yesterday = timezone.localdate() - timedelta(days=1)
    # when
    response = f.logged_in(funder).post(
        reverse("job-create"),
        {"title": "Logo", "budget": "12.505", "deadline": yesterday.isoformat()},
    )
    # then nothing is posted and each field says what is wrong
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_budget_error"><li>Use at most 2 decimal places for USD.</li></ul>' in html
    assert 'id="id_deadline_error"><li>Choose a deadline from today on.</li></ul>' in html
    assert 'value="Logo"' in html
    assert Job.objects.count() == 0


def test_a_funder_without_a_wallet_sees_the_budget_disabled_and_still_posts():
    # given
    funder = f.funder(wallet=False)
    browser = f.logged_in(funder)
    # when
    page = browser.get(reverse("job-create")).content.decode()
    response = browser.post(reverse("job-create"), {"title": "Logo", "budget": "50"})
    # then the budget cannot be typed, says how to set one, and whatever came for it is ignored
    assert '<label for="id_budget">Budget (optional)</label>' in page
    assert 'name="budget" maxlength="40" disabled' in page
    assert 'Add your wallet on your <a href="/profile">profile</a> to set a budget.' in page
    job = Job.objects.get()
    assert response.status_code == 302
    assert (job.title, job.budget_value, job.budget_asset_code) == ("Logo", None, None)


@pytest.mark.parametrize(
    "budget",
    [
        {"budget_value": 5000},
        {"budget_value": 5000, "budget_asset_code": "USD"},
        {"budget_asset_code": "USD", "budget_asset_scale": 2},
        {"budget_value": 0, "budget_asset_code": "USD", "budget_asset_scale": 2},
    ],
    ids=["value-only", "no-scale", "no-value", "zero"],
)
def test_the_database_keeps_a_budget_whole_and_above_zero(budget):
    # given
    funder = f.funder()
    # when / then
    with pytest.raises(IntegrityError), transaction.atomic():
        f.job(funder, **budget)
    assert Job.objects.count() == 0


def test_a_budget_needs_the_funders_wallet_even_when_sent_straight_to_the_service():
    # given
    funder = f.funder(wallet=False)
    # when
    with pytest.raises(services.ActionRefused) as refusal:
        services.job_create(funder=funder, title="Logo", description="", budget_value=5000)
    # then
    assert str(refusal.value) == "Add your wallet on your profile to set a budget."
    assert Job.objects.count() == 0


def test_a_provider_asking_to_post_a_job_is_told_how_to_become_a_funder():
    # when
    response = f.logged_in(f.provider()).get(reverse("job-create"))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Only funders post jobs</h1>" in html
    assert 'choose the funder role on <a href="/profile">your profile</a>' in html
    assert '<form method="post" novalidate>' not in html
    assert 'name="title"' not in html


def test_a_provider_cannot_post_a_job():
    # given
    provider = f.provider()
    # when
    response = f.logged_in(provider).post(reverse("job-create"), {"title": "Logo", "description": ""})
    # then
    html = response.content.decode()
    assert response.status_code == 403
    assert '<p class="form-errors" role="alert">Only funders can post jobs. Nothing was posted.</p>' in html
    assert Job.objects.count() == 0


def test_posting_a_job_requires_the_csrf_token():
    # when
    response = f.logged_in(f.funder(), csrf=True).post(reverse("job-create"), {"title": "Logo"})
    # then
    assert response.status_code == 403
    assert Job.objects.count() == 0


def test_a_provider_quotes_in_their_wallet_asset_as_integer_minor_units():
    # given
    job = f.job(f.funder())
    provider = f.provider()
    # when
    response = f.logged_in(provider).post(
        reverse("quote-create", kwargs={"job_id": job.pk}), {"amount": "12.50", "note": "Two days."}
    )
    # then
    quote = Quote.objects.get()
    assert (response.status_code, response["Location"]) == (302, f"/jobs/{job.pk}")
    assert (quote.provider, quote.amount_value, quote.asset_code, quote.asset_scale, quote.note) == (
        provider,
        1250,
        "USD",
        2,
        "Two days.",
    )


def test_a_quote_with_too_many_decimals_is_refused():
    # given
    job = f.job(f.funder())
    # when
    response = f.logged_in(f.provider()).post(
        reverse("quote-create", kwargs={"job_id": job.pk}), {"amount": "12.505"}
    )
    # then
    assert response.status_code == 200
    assert "<li>Use at most 2 decimal places for USD.</li>" in response.content.decode()
    assert Quote.objects.count() == 0


def test_a_provider_without_a_wallet_cannot_quote():
    # given
    job = f.job(f.funder())
    # when
    response = f.logged_in(f.provider(wallet=False)).post(
        reverse("quote-create", kwargs={"job_id": job.pk}), {"amount": "12.50"}, follow=True
    )
    # then
    assert "Add your wallet address to your profile before quoting." in response.content.decode()
    assert Quote.objects.count() == 0


def test_quoting_requires_the_csrf_token():
    # given
    job = f.job(f.funder())
    # when
    response = f.logged_in(f.provider(), csrf=True).post(
        reverse("quote-create", kwargs={"job_id": job.pk}), {"amount": "12.50"}
    )
    # then
    assert response.status_code == 403
    assert Quote.objects.count() == 0


def test_the_funder_sees_every_quote_with_an_approve_button():
    # given
    funder = f.funder()
    job = f.job(funder)
    first, second = f.quote(job, f.provider("pavel")), f.quote(job, f.provider("petra"), amount_value=990)
    # when
    html = f.logged_in(funder).get(reverse("job-detail", kwargs={"job_id": job.pk})).content.decode()
    # then
    assert '<span class="quote-amount">$12.50</span>' in html
    assert '<span class="quote-amount">$9.90</span>' in html
    for quote in (first, second):
        assert f'action="/jobs/{job.pk}/quotes/{quote.pk}/approve"' in html
    assert 'id="payment-panel"' in html


def test_a_provider_sees_only_their_own_quote_and_the_panel_without_the_link():
    # given
    job = f.job(f.funder())
    mine = f.quote(job, f.provider("pavel"))
    f.quote(job, f.provider("petra"), amount_value=990)
    f.attempt(mine, AttemptStatus.AWAITING_AUTHORIZATION)
    # when
    html = f.logged_in(mine.provider).get(reverse("job-detail", kwargs={"job_id": job.pk})).content.decode()
    # then
    assert '<span class="quote-amount">$12.50</span>' in html
    assert "$9.90" not in html
    assert "/approve" not in html
    assert 'id="payment-panel"' in html
    assert "https://auth.wallet.example/interact/" not in html


def test_a_third_user_sees_the_job_but_not_its_payment():
    # given
    job = f.job(f.funder())
    quote = f.quote(job, f.provider())
    attempt = f.attempt(quote, AttemptStatus.AWAITING_AUTHORIZATION)
    # when
    response = f.logged_in(f.funder("sam")).get(reverse("job-detail", kwargs={"job_id": job.pk}))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Translate the README</h1>" in html
    assert 'id="payment-panel"' not in html
    assert "Payment history" not in html
    assert str(attempt.pk) not in html
    assert "$12.50" not in html


def test_the_job_page_lists_the_attempt_history_newest_first():
    # given
    funder = f.funder()
    quote = f.quote(f.job(funder), f.provider())
    old = f.attempt(quote, AttemptStatus.DECLINED, error="You declined the payment in your wallet.")
    new = f.attempt(quote, AttemptStatus.GENERATING)
    # when
    html = f.logged_in(funder).get(reverse("job-detail", kwargs={"job_id": quote.job_id})).content.decode()
    # then
    history = html[html.index("Payment history") :]
    assert history.index(str(new.pk)) < history.index(str(old.pk))
    assert '<p class="attempt-note">You declined the payment in your wallet.</p>' in history
    assert '<span class="badge badge-declined">Declined</span>' in history
    assert '<span class="attempt-amount">$13.00 → $12.50</span>' in history


def test_an_unknown_job_is_404():
    # when
    response = f.logged_in(f.funder()).get(reverse("job-detail", kwargs={"job_id": 999}))
    # then
    assert response.status_code == 404


def test_the_job_page_names_its_funder_budget_and_deadline():
    # given a job with a budget and a deadline, and the Fiona who posted it named in full
    fiona = f.funder()
    fiona.first_name, fiona.last_name = "Fiona", "Funder"
    fiona.save()
    job = f.job(
        fiona,
        budget_value=150_000,
        budget_asset_code="USD",
        budget_asset_scale=2,
        deadline=timezone.now().date().replace(year=2030, month=6, day=5),
    )
    # when Fiona and a provider open it
    own = f.logged_in(fiona).get(reverse("job-detail", kwargs={"job_id": job.pk})).content.decode()
    theirs = f.logged_in(f.provider()).get(reverse("job-detail", kwargs={"job_id": job.pk})).content.decode()
    # then
    facts = " · Budget $1,500.00 · Deadline 5 Jun 2030</p>"
    assert f"Posted by you on {job.created_at:%-d %b %Y}{facts}" in own
    assert f"Posted by Fiona Funder on {job.created_at:%-d %b %Y}{facts}" in theirs
