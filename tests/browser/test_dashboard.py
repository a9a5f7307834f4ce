"""The staff dashboard in a real browser, on a phone: it renders its charts with no request leaving the
marketplace (every request is routed, and one to any other host fails the test), breaks no rule of the
Content-Security-Policy, fits the screen, refreshes its figures by itself, and has nothing axe-core rates
serious or critical; nor has the funder's "My money" page beside it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Permission, User
from django.utils import timezone
from playwright.sync_api import Route, expect
from pytest_django.live_server_helper import LiveServer

from jobs.models import AttemptStatus, PaymentAttempt
from tests.browser.axe import Violation, blocking_violations
from tests.browser.walk import PHONE, chromium, scrolls_sideways
from tests.jobs import factories as f
from tests.marketplace.test_csp_in_browser import WATCH, in_a_thread, session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHARTS = ("chart-money", "chart-funnel", "chart-reasons", "chart-wallets")


def test_the_dashboard_renders_its_charts_with_no_request_leaving_the_marketplace(
    live_server: LiveServer, artifacts: Path
) -> None:
    # given a day of payments: two paid, one declined, one waiting; and staff who may read them
    fiona, pavel = f.funder("fiona"), f.provider("pavel")
    yesterday = timezone.now() - timedelta(days=1)
    for status in (AttemptStatus.SUCCEEDED, AttemptStatus.SUCCEEDED, AttemptStatus.DECLINED):
        attempt = f.attempt(f.quote(f.job(fiona), pavel), status, error_code="grant_rejected")
        PaymentAttempt.objects.filter(pk=attempt.pk).update(
            created_at=yesterday,
            link_ready_at=yesterday + timedelta(seconds=3),
            authorized_at=yesterday + timedelta(seconds=50) if status == AttemptStatus.SUCCEEDED else None,
            finished_at=yesterday + timedelta(seconds=60),
        )
    f.attempt(f.quote(f.job(fiona), pavel), AttemptStatus.AWAITING_AUTHORIZATION)
    staff = User.objects.create_user("olga", password=f.PASSWORD, is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_paymentattempt"))
    cookie, fionas_cookie = session_cookie(staff), session_cookie(fiona)
    base = live_server.url
    ours = urlsplit(base).netloc

    def one_more_paid() -> None:
        attempt = f.attempt(f.quote(f.job(fiona), pavel), AttemptStatus.SUCCEEDED)
        PaymentAttempt.objects.filter(pk=attempt.pk).update(
            created_at=yesterday, authorized_at=timezone.now(), finished_at=timezone.now()
        )

    phone = PHONE
    requested: list[str] = []
    elsewhere: list[str] = []
    found: list[Violation] = []
    wide: list[str] = []

    def only_the_marketplace(route: Route) -> None:
        url = route.request.url
        requested.append(url)
        if urlsplit(url).netloc != ours:
            elsewhere.append(url)
            route.abort()
            return
        route.continue_()

    with chromium() as browser:
        context = browser.new_context(viewport=phone, is_mobile=True, has_touch=True)
        context.route("**/*", only_the_marketplace)
        context.add_init_script(WATCH)
        context.add_cookies([{"name": "sessionid", "value": cookie, "url": base}])
        page = context.new_page()
        page.clock.install()

        # when staff open the dashboard on a phone
        page.goto(f"{base}/dashboard")
        page.wait_for_load_state("networkidle")

        # then every chart is drawn, named, inside the screen, with its numbers in a table
        for chart in CHARTS:
            svg = page.locator(f"svg#{chart}")
            expect(svg).to_be_visible()
            assert svg.get_attribute("role") == "img"
            assert svg.locator("title").first.text_content()
            box = svg.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        assert page.locator("svg#chart-money rect.chart-paid:not(.chart-key)").count() == 1  # yesterday
        expect(page.locator("#table-funnel")).to_contain_text("Approved")
        expect(page.locator('[data-figure="paid"]')).to_have_text("$25.00")
        page.screenshot(path=str(artifacts / "phone.png"), full_page=True)
        found += blocking_violations(page)
        wide += [page.url] if scrolls_sideways(page) else []

        # and the day-by-day numbers open under the chart
        page.get_by_text("The numbers, day by day").click()
        expect(page.locator("#table-days")).to_be_visible()
        found += blocking_violations(page)
        wide += [page.url] if scrolls_sideways(page) else []

        # and, 30 seconds later, the figures refresh themselves
        in_a_thread(one_more_paid)
        page.clock.fast_forward(31_000)
        expect(page.locator('[data-figure="paid"]')).to_have_text("$37.50", timeout=10_000)
        found += blocking_violations(page)
        wide += [page.url] if scrolls_sideways(page) else []
        violations = page.evaluate("window.cspViolations")
        context.close()

        # when the funder opens "My money" on a phone
        context = browser.new_context(viewport=phone, is_mobile=True, has_touch=True)
        context.route("**/*", only_the_marketplace)
        context.add_init_script(WATCH)
        context.add_cookies([{"name": "sessionid", "value": fionas_cookie, "url": base}])
        page = context.new_page()
        page.goto(f"{base}/money")

        # then it lists what she paid, inside the screen
        expect(page.get_by_role("heading", name="My money")).to_be_visible()
        expect(page.locator("#table-lines tbody tr")).to_have_count(3)
        page.screenshot(path=str(artifacts / "money.png"), full_page=True)
        found += blocking_violations(page)
        wide += [page.url] if scrolls_sideways(page) else []
        violations += page.evaluate("window.cspViolations")
        context.close()

    # and no request left the marketplace, nor broke the policy; no page was wider than the phone, nor had
    # anything axe-core rates serious or critical
    assert elsewhere == []
    assert any("/dashboard/figures" in url for url in requested)
    assert violations == []
    assert wide == []
    assert found == [], "\n".join(map(str, found))
