"""The accessibility check of the browser walks: axe-core (the pinned npm package under tests/node) run in
the page a person sees, reporting what it rates serious or critical.

axe is evaluated through the browser's debugging protocol, which the page's Content-Security-Policy does
not govern, so the page is checked exactly as it is served.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from playwright.sync_api import Page

from tests.services import ROOT, require

AXE = ROOT / "tests" / "node" / "node_modules" / "axe-core" / "axe.min.js"
# What blocks a person from using the page; "moderate" and "minor" findings are reported by axe too.
BLOCKING = frozenset({"serious", "critical"})
# WCAG 2.1 A and AA, and axe's own best practices.
RULESETS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
  return result.violations.map((v) => ({
    rule: v.id, impact: v.impact || "", help: v.help,
    targets: v.nodes.slice(0, 5).map((node) => node.target.join(" ")),
  }));
}"""


@dataclass(frozen=True)
class Violation:
    """One rule a page breaks, with the elements that break it."""

    url: str
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.impact} {self.rule} on {self.url}: {self.help} ({', '.join(self.targets)})"


@cache
def axe_source() -> str:
    require(AXE.exists(), "axe-core under tests/node", "make test installs it (npm ci --prefix tests/node)")
    return AXE.read_text()


def blocking_violations(page: Page) -> list[Violation]:
    """What axe rates serious or critical on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())
    found = page.evaluate(RUN, RULESETS)
    return [
        Violation(page.url, v["rule"], v["impact"], v["help"], tuple(v["targets"]))
        for v in found
        if v["impact"] in BLOCKING
    ]
