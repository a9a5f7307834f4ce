"""The accessibility check itself: axe-core, run in a real page, names what blocks a person and passes a
page that blocks nobody."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from tests.browser.axe import blocking_violations

pytestmark = [pytest.mark.browser]

BROKEN = """<!doctype html>
<html lang="en"><head><title>Broken</title></head>
<body><main>
  <h1>Broken</h1>
  <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
  <input type="text" name="amount">
</main></body></html>"""

CLEAN = """<!doctype html>
<html lang="en"><head><title>Clean</title></head>
<body><main>
  <h1>Clean</h1>
  <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="A receipt">
  <label for="amount">Amount</label>
  <input id="amount" type="text" name="amount">
</main></body></html>"""


def test_an_image_without_alt_and_an_unlabeled_field_are_blocking(browser: Browser) -> None:
    # given a page with an image that says nothing and a field with no label
    page = browser.new_page()
    page.set_content(BROKEN)

    # when axe checks it
    violations = blocking_violations(page)

    # then it names both, each as serious or critical, and nothing else
    rules = {violation.rule: violation for violation in violations}
    assert sorted(rules) == ["image-alt", "label"], "\n".join(map(str, violations))
    assert {rules["image-alt"].impact, rules["label"].impact} <= {"serious", "critical"}
    assert rules["image-alt"].targets == ("img",)
    assert rules["label"].targets == ("input",)


def test_a_clean_page_has_no_blocking_violation(browser: Browser) -> None:
    # given the same page with the image described and the field labelled
    page = browser.new_page()
    page.set_content(CLEAN)

    # when axe checks it, then it finds nothing serious or critical
    violations = blocking_violations(page)
    assert violations == [], "\n".join(map(str, violations))
