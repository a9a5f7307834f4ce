"""While the database cannot be reached, the site answers 503 with a retry hint (the API as JSON), and
never Django's 500 page; other errors of ours stay 500, without details."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper
from django.test import Client

from marketplace import errors

pytestmark = pytest.mark.django_db


@pytest.fixture
def person() -> Client:
    """A logged-in person's browser, its session stored while the database was up."""
    browser = Client(raise_request_exception=False)
    browser.force_login(User.objects.create_user("pat", password="a-long-test-password-42"))
    return browser


@pytest.fixture
def database_down(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    """Every query fails as it does while PostgreSQL restarts; production error pages."""
    settings.DEBUG = False

    def refused(*args: object, **kwargs: object) -> None:
        raise OperationalError("connection failed: connection refused")

    monkeypatch.setattr(CursorWrapper, "execute", refused)


def test_a_page_answers_503_with_a_retry_hint_while_the_database_is_down(
    person: Client, database_down: None
) -> None:
    # when a logged-in person opens the job list (their session is in the database)
    response = person.get("/jobs")

    # then
    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert errors.UNAVAILABLE in response.content.decode()


def test_the_api_answers_503_as_json_while_the_database_is_down(database_down: None) -> None:
    # when an integrator reads a payment
    response = Client(raise_request_exception=False).get(
        "/api/jobs/1/payment", headers={"Authorization": "Token x"}
    )

    # then
    assert (response.status_code, response["Retry-After"], response.json()) == (
        503,
        "5",
        {"error": errors.UNAVAILABLE},
    )


def test_another_error_of_ours_is_a_plain_500(
    person: Client, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    # given a view that fails for a reason of its own
    settings.DEBUG = False

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug, with internals in its message")

    monkeypatch.setattr("jobs.selectors.job_list", broken)

    # when
    response = person.get("/jobs")

    # then the person reads a plain sentence, nothing of the bug
    assert response.status_code == 500
    assert "Retry-After" not in response
    assert errors.FAILED in response.content.decode()
    assert "internals" not in response.content.decode()


@pytest.fixture
def demo_pages(settings: Any) -> None:
    """DEBUG on, as `make demo` runs, with the site's own error pages."""
    settings.DEBUG = True
    settings.ERROR_PAGES = True


def test_the_demo_answers_an_unknown_address_with_the_sites_own_404(person: Client, demo_pages: None) -> None:
    # when a person opens an address nothing answers, and a job that does not exist
    for path in ("/no/such/page", "/jobs/999999"):
        response = person.get(path)

        # then the site's own page, none of Django's URL patterns or settings
        page = response.content.decode()
        assert response.status_code == 404, path
        assert "<h1>Not found</h1>" in page
        assert "There is nothing here, or it is not yours to see." in page
        assert "URLconf" not in page and "urlpatterns" not in page


def test_the_demo_answers_an_unknown_api_address_as_json(demo_pages: None) -> None:
    # when
    response = Client().get("/api/no-such-thing", headers={"Authorization": "Token x"})

    # then
    assert (response.status_code, response.json()) == (404, {"error": "Not found."})


def test_the_demo_answers_a_bug_with_the_sites_own_500(
    person: Client, demo_pages: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a view that fails for a reason of its own
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug, with internals in its message")

    monkeypatch.setattr("jobs.selectors.job_list", broken)

    # when
    response = person.get("/jobs")

    # then the site's own page: a plain sentence, no traceback
    page = response.content.decode()
    assert response.status_code == 500
    assert "<h1>Something went wrong</h1>" in page
    assert errors.FAILED in page
    assert "internals" not in page and "Traceback" not in page
