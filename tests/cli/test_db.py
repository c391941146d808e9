"""``podium db``: migrations and the revision."""

from __future__ import annotations

from tests.cli.assertions import Invoke


def test_upgrade_then_revision(invoke: Invoke) -> None:
    before = invoke("db", "revision")
    assert before.exit_code == 0
    assert before.stdout == ""
    assert "podium db upgrade" in before.stderr

    upgraded = invoke("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    revision = upgraded.stdout.split()[-1]
    assert upgraded.stdout.strip() == f"upgraded from revision (empty) to {revision}"

    assert invoke("db", "revision").stdout.strip() == revision
    assert invoke("db", "upgrade").stdout.strip() == f"already at revision {revision}"
