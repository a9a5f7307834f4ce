"""The job list: each row's price, quotes, budget and deadline; tabs, search and pages; its query count."""

from __future__ import annotations

import re
from datetime import date
from html import unescape

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from playwright.sync_api import ViewportSize
from pytest_django.live_server_helper import LiveServer

from jobs.models import AttemptStatus, Job
from tests.browser.walk import chromium
from tests.jobs import factories as f

pytestmark = pytest.mark.django_db


def titles(html: str) -> list[str]:
    """The titles of the job rows, top to bottom, as a person reads them."""
    return [unescape(t) for t in re.findall(r'<a class="job-row-title" href="/jobs/\d+">([^<]*)</a>', html)]


def facts(html: str) -> list[str]:
    """What each job row says under its title, top to bottom, without its markup."""
    return [re.sub(r"<[^>]+>", "", p) for p in re.findall(r'<p class="job-row-facts">(.*?)</p>', html)]


def paid(job: Job, quote_value: int = 1250, refunded: int = 0) -> Job:
    """Marks the job paid (as the pipeline would), `refunded` of it paid back."""
    quote = f.quote(job, f.provider(f"paid-{job.pk}"), quote_value)
    f.attempt(quote, AttemptStatus.SUCCEEDED)
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.PAID, paid_amount=quote_value, refunds_committed=refunded, refunded_amount=refunded
    )
    return job


def list_page(viewer: User, query: str = "") -> str:
    return f.logged_in(viewer).get(reverse("job-list") + query).content.decode()


# Rows


def test_a_row_shows_the_lowest_price_in_each_asset_the_quote_count_the_budget_and_the_deadline() -> None:
    # given a job with a budget, a deadline and three quotes in two assets
    funder = f.funder()
    job = f.job(
        funder,
        "Design a logo",
        budget_value=10000,
        budget_asset_code="USD",
        budget_asset_scale=2,
        deadline=date(2030, 6, 5),
    )
    f.quote(job, f.provider("pavel"), 5000)
    f.quote(job, f.provider("petra"), 4500)
    f.quote(job, f.provider("pierre"), 4000, asset_code="EUR")
    # when
    html = list_page(funder)
    # then
    assert facts(html) == ["from €40.00 or $45.00 · 3 quotes · Budget $100.00 · Deadline 5 Jun 2030"]
    assert '· Deadline <time datetime="2030-06-05">5 Jun 2030</time></p>' in html
    assert f'<span class="job-row-meta">#{job.pk} · posted by you · ' in html


def test_a_row_says_when_a_job_has_no_quote_or_one() -> None:
    # given
    funder = f.funder()
    quoted = f.job(funder, "Quoted once")
    f.quote(quoted, f.provider(), 1250)
    f.job(funder, "Not quoted")
    # when
    html = list_page(funder)
    # then
    assert titles(html) == ["Not quoted", "Quoted once"]
    assert facts(html) == ["No quotes yet", "from $12.50 · 1 quote"]


def test_a_partly_refunded_job_keeps_its_refund_badge() -> None:
    # given
    job = paid(f.job(f.funder()), quote_value=4500, refunded=1500)
    # when
    html = list_page(job.funder)
    # then
    assert '<span class="badge badge-refunded">Partly refunded: $15.00 of $45.00</span>' in html


# Tabs


@pytest.fixture
def board() -> User:
    """Jobs in every state; the returned person posted "Max's job" and quoted on "Logo"."""
    fiona = f.funder()
    quote = f.quote(f.job(fiona, "Expired link"), f.provider("pavel"))
    f.attempt(quote, AttemptStatus.EXPIRED)
    for status in (AttemptStatus.GENERATING, AttemptStatus.AUTHORIZED, AttemptStatus.PROCESSING):
        f.attempt(f.quote(f.job(fiona, f"Paying: {status}"), quote.provider), status)
    f.attempt(f.quote(f.job(fiona, "Awaiting"), quote.provider), AttemptStatus.AWAITING_AUTHORIZATION)
    paid(f.job(fiona, "Paid"))
    f.job(fiona, "Fresh")
    max_ = f.user("max", funder=True, provider=True)
    f.quote(f.job(fiona, "Logo"), max_)
    f.job(max_, "Max's job")
    return max_


EVERY_JOB = [
    "Max's job",
    "Logo",
    "Fresh",
    "Paid",
    "Awaiting",
    "Paying: processing",
    "Paying: authorized",
    "Paying: generating",
    "Expired link",
]


@pytest.mark.parametrize(
    ("tab", "expected"),
    [
        ("", EVERY_JOB),
        ("?tab=open", ["Max's job", "Logo", "Fresh", "Expired link"]),
        ("?tab=awaiting", ["Awaiting", "Paying: processing", "Paying: authorized", "Paying: generating"]),
        ("?tab=paid", ["Paid"]),
        ("?tab=mine", ["Max's job", "Logo"]),
        ("?tab=nonsense", EVERY_JOB),
    ],
    ids=["all", "open", "awaiting", "paid", "mine", "unknown-is-all"],
)
def test_each_tab_lists_its_jobs_newest_first(board: User, tab: str, expected: list[str]) -> None:
    # when
    html = list_page(board, tab)
    # then
    assert titles(html) == expected


def test_the_current_tab_is_marked_and_every_tab_keeps_the_search() -> None:
    # when
    html = list_page(f.provider(), "?tab=paid&q=logo")
    # then
    assert (
        '<nav class="job-tabs" aria-label="Which jobs">\n'
        '  <a href="/jobs?q=logo">All</a>'
        '<a href="/jobs?tab=open&amp;q=logo">Open</a>'
        '<a href="/jobs?tab=awaiting&amp;q=logo">Awaiting payment</a>'
        '<a href="/jobs?tab=paid&amp;q=logo" aria-current="page">Paid</a>'
        '<a href="/jobs?tab=mine&amp;q=logo">Mine</a>\n'
        "</nav>"
    ) in html
    assert html.count('aria-current="page"') == 1


@pytest.mark.parametrize(
    ("tab", "empty"),
    [
        ("", "No jobs yet."),
        ("?tab=open", "No open jobs right now."),
        ("?tab=awaiting", "No jobs are awaiting payment."),
        ("?tab=paid", "No paid jobs yet."),
        ("?tab=mine", "You have not posted or quoted on a job yet."),
    ],
)
def test_each_tab_says_when_it_has_no_job(tab: str, empty: str) -> None:
    # given a job that is none of the empty tabs' (nor "mine" for the viewer)
    if tab not in ("", "?tab=paid"):
        paid(f.job(f.funder()))
    # when
    html = list_page(f.provider("sam"), tab)
    # then
    assert f'<p class="empty">{empty}</p>' in html
    assert titles(html) == []


def test_an_empty_list_invites_a_funder_to_post_the_first_job() -> None:
    # when
    html = list_page(f.funder())
    # then
    assert '<p class="empty">No jobs yet. <a href="/jobs/new">Post the first one</a>.</p>' in html


# Search


def test_the_search_finds_jobs_by_title_or_description_in_any_case() -> None:
    # given
    funder = f.funder()
    f.job(funder, "Design a LOGO", description="Vector.")
    f.job(funder, "Brand kit", description="A logo and colours.")
    f.job(funder, "Translate the README", description="Into Portuguese.")
    # when
    html = list_page(funder, "?q=+Logo+")
    # then
    assert titles(html) == ["Brand kit", "Design a LOGO"]
    assert '<input type="search" id="job-search-q" name="q" value="Logo" maxlength="200">' in html
    assert '<label for="job-search-q">Search jobs</label>' in html


def test_the_search_keeps_the_tab_and_says_when_nothing_matches() -> None:
    # given
    funder = f.funder()
    paid(f.job(funder, "Translate the README"))
    # when
    everywhere = list_page(funder, "?q=logo")
    in_paid = list_page(funder, "?tab=paid&q=logo")
    # then
    assert '<p class="empty">No jobs match "logo".</p>' in everywhere
    assert '<p class="empty">No paid jobs match "logo".</p>' in in_paid
    assert '<input type="hidden" name="tab" value="paid">' in in_paid
    assert 'name="tab"' not in everywhere


def test_the_search_ignores_characters_no_title_holds() -> None:
    # given
    funder = f.funder()
    f.job(funder, "Design a logo")
    # when
    response = f.logged_in(funder).get(reverse("job-list"), {"q": "lo\x00go"})
    # then
    assert response.status_code == 200
    assert titles(response.content.decode()) == ["Design a logo"]


# Pages


@pytest.fixture
def many_jobs() -> User:
    """45 jobs, "Job 1" the oldest; returns their funder."""
    funder = f.funder()
    for n in range(1, 46):
        f.job(funder, f"Job {n}")
    return funder


def test_the_list_shows_twenty_jobs_a_page(many_jobs: User) -> None:
    # when
    first, second, last = (list_page(many_jobs, f"?page={n}") for n in (1, 2, 3))
    # then
    assert titles(first) == [f"Job {n}" for n in range(45, 25, -1)]
    assert titles(second) == [f"Job {n}" for n in range(25, 5, -1)]
    assert titles(last) == [f"Job {n}" for n in range(5, 0, -1)]
    assert (
        '<nav class="pager job-pager" aria-label="Pages">\n      \n'
        '      <span class="muted">Page 1 of 3</span>\n'
        '      <a href="/jobs?page=2" rel="next">Next</a>\n'
        "    </nav>"
    ) in first
    assert '<a href="/jobs" rel="prev">Previous</a>' in second
    assert '<span class="muted">Page 2 of 3</span>' in second
    assert '<a href="/jobs?page=3" rel="next">Next</a>' in second
    assert "Next</a>" not in last


def test_page_links_keep_the_tab_and_the_search(many_jobs: User) -> None:
    # when
    html = list_page(many_jobs, "?tab=open&q=job&page=2")
    # then
    assert '<a href="/jobs?tab=open&amp;q=job" rel="prev">Previous</a>' in html
    assert '<a href="/jobs?tab=open&amp;q=job&amp;page=3" rel="next">Next</a>' in html


@pytest.mark.parametrize(
    ("page", "shown"),
    [("abc", 1), ("", 1), ("0", 1), ("-3", 1), ("2.5", 1), ("99", 3), ("9" * 5000, 1)],
)
def test_a_page_that_does_not_exist_shows_the_nearest_one(many_jobs: User, page: str, shown: int) -> None:
    # when
    response = f.logged_in(many_jobs).get(reverse("job-list"), {"page": page})
    # then
    assert response.status_code == 200
    assert f'<span class="muted">Page {shown} of 3</span>' in response.content.decode()


def test_one_page_of_jobs_shows_no_page_links() -> None:
    # given
    funder = f.funder()
    f.job(funder)
    # when
    html = list_page(funder, "?page=2")
    # then
    assert titles(html) == ["Translate the README"]
    assert "job-pager" not in html


# Queries


def varied_jobs(funder: User, provider: User, refunded_provider: User, count: int) -> None:
    """`count` jobs of each kind: quoted in two assets with a budget, awaiting payment, paid and partly
    refunded."""
    for _ in range(count):
        job = f.job(funder, budget_value=5000, budget_asset_code="USD", budget_asset_scale=2)
        f.quote(job, provider, 4500)
        f.quote(job, refunded_provider, 4000, asset_code="EUR")
        f.attempt(f.quote(f.job(funder), provider), AttemptStatus.AWAITING_AUTHORIZATION)
        paid(f.job(funder), quote_value=4500, refunded=1500)


@pytest.mark.parametrize("query", ["", "?tab=mine&q=readme", "?tab=open", "?tab=paid"])
def test_the_list_costs_the_same_queries_for_one_job_or_a_full_page(query: str) -> None:
    # given a viewer who posted every job, and a few jobs of each kind
    funder, provider, other = f.funder(), f.provider("pavel"), f.provider("petra")
    browser: Client = f.logged_in(funder)
    varied_jobs(funder, provider, other, count=1)
    with CaptureQueriesContext(connection) as few:
        assert browser.get(reverse("job-list") + query).status_code == 200
    # when there are more than a page of each kind
    varied_jobs(funder, provider, other, count=25)
    with CaptureQueriesContext(connection) as many:
        html = browser.get(reverse("job-list") + query).content.decode()
    # then the page holds twenty jobs and took as many queries as with one of each
    assert len(titles(html)) == 20
    assert len(many) == len(few)


# On a phone


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_on_a_phone_the_list_and_the_form_fit_and_badges_keep_their_shape(live_server: LiveServer) -> None:
    # given a long title, a long badge and a job with every fact
    funder = f.funder()
    f.job(funder, "Translate the whole user guide, the README and the release notes into Portuguese " * 2)
    paid(f.job(funder, "Logo"), quote_value=120_000, refunded=45_050)
    job = f.job(funder, "Budgeted", budget_value=10000, budget_asset_code="USD", budget_asset_scale=2)
    f.quote(job, f.provider("pavel"), 4500)
    f.quote(job, f.provider("pierre"), 4000, asset_code="EUR")
    session = f.logged_in(funder).cookies["sessionid"].value

    with chromium() as browser:
        phone: ViewportSize = {"width": 390, "height": 844}
        context = browser.new_context(viewport=phone, is_mobile=True, has_touch=True)
        context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
        page = context.new_page()
        # when the list and the form are opened
        widths = {}
        for path in ("/jobs", "/jobs/new"):
            page.goto(f"{live_server.url}{path}")
            widths[path] = page.evaluate("document.documentElement.scrollWidth")
        page.goto(f"{live_server.url}/jobs")
        badges = page.locator(".job-row > .badge").evaluate_all(
            "badges => badges.map(b => [b.textContent, b.getBoundingClientRect().height])"
        )

    # then nothing scrolls sideways, and the long badge is one line high like "Open" beside a long title
    assert widths == {"/jobs": 390, "/jobs/new": 390}
    assert [label for label, _ in badges] == ["Open", "Partly refunded: $450.50 of $1,200.00", "Open"]
    assert len({height for _, height in badges}) == 1, badges
