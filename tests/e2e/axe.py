"""axe-core in the browser tests: score the page on screen against WCAG 2 A and AA.

axe-core is vendored (tests/e2e/vendor/axe-core, see its VERSION) so a fresh clone checks
offline. It is evaluated through the DevTools protocol rather than a <script> tag, which
Parley's Content-Security-Policy would rightly refuse.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text()

# Every WCAG 2.0/2.1/2.2 level A and AA rule axe-core has; "best-practice" rules are left out
# because the issue asks for WCAG conformance, not axe's house style.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING_IMPACTS = ("serious", "critical")

_RUN = """async (tags) => {
  const results = await window.axe.run(document, {
    runOnly: { type: "tag", values: tags },
    resultTypes: ["violations"],
  });
  return results.violations.map((violation) => ({
    id: violation.id,
    impact: violation.impact,
    help: violation.help,
    nodes: violation.nodes.map((node) => ({
      impact: node.impact,
      target: node.target.join(" "),
      html: node.html,
      summary: node.failureSummary,
    })),
  }));
}"""


def axe_violations(page) -> list[dict[str, Any]]:
    """The serious and critical WCAG 2 A/AA violations on `page` as it is now, one entry per
    rule with the elements that break it."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE_SOURCE)
    violations = page.evaluate(_RUN, WCAG_TAGS)
    blocking = []
    for violation in violations:
        nodes = [node for node in violation["nodes"] if node["impact"] in BLOCKING_IMPACTS]
        if nodes:
            blocking.append({**violation, "nodes": nodes})
    return blocking


def describe(violations: list[dict[str, Any]]) -> str:
    """Rule, element and axe's reason for each violation, for a failing test's message."""
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"]:
            lines.append(f"  {node['target']}  {node['html'][:160]}")
            for reason in (node["summary"] or "").splitlines()[1:3]:
                lines.append(f"      {reason.strip()}")
    return "\n".join(lines)


def assert_accessible(page, where: str) -> None:
    """Fail with every serious or critical WCAG 2 A/AA violation on the page."""
    violations = axe_violations(page)
    count = sum(len(violation["nodes"]) for violation in violations)
    assert not violations, (
        f"{where} ({page.url}): {count} serious/critical axe-core violation(s)\n"
        + describe(violations)
    )
