"""``podium schemas``: register, ls, show, versions, check, compatibility, validate, delete;
embedded and on a server with ``--url``; errors as one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from podium.access.roles import Role
from podium.cli.app import app
from tests.cli.assertions import Invoke, assert_one_error
from tests.conftest import LiveServer

V1: dict[str, Any] = {
    "type": "object",
    "properties": {"id": {"type": "string"}, "tenure": {"type": "integer", "minimum": 0}},
    "required": ["id"],
    "additionalProperties": False,
}
V2 = {**V1, "properties": {**V1["properties"], "spend": {"type": "number"}}}
BREAKING = {**V1, "required": ["id", "tenure"]}


def _file(tmp_path: Path, name: str, value: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(value))
    return str(path)


def test_register_list_show_and_versions(invoke: Invoke, tmp_path: Path) -> None:
    v1, v2 = _file(tmp_path, "v1.json", V1), _file(tmp_path, "v2.json", V2)
    first = invoke("schemas", "register", "churn-in", v1, "-c", "backward_transitive")
    assert first.exit_code == 0, first.output
    assert first.stdout.strip() == "registered churn-in version 1"
    again = invoke("schemas", "register", "churn-in", v1)
    assert again.stdout.strip() == "churn-in already holds this schema as version 1"
    assert invoke("schemas", "register", "churn-in", v2).stdout.strip() == (
        "registered churn-in version 2"
    )
    listed = invoke("schemas", "ls")
    assert "churn-in" in listed.stdout and "backward_transitive" in listed.stdout
    assert json.loads(invoke("schemas", "ls", "--json").stdout)[0]["latest_version"] == 2
    shown = invoke("schemas", "show", "churn-in", "--version", "1")
    assert shown.stdout.startswith("churn-in version 1 (compatibility backward_transitive")
    assert json.loads(shown.stdout.split("\n", 1)[1]) == V1
    assert json.loads(invoke("schemas", "show", "churn-in", "--json").stdout)["version"] == 2
    versions = invoke("schemas", "versions", "churn-in")
    assert versions.exit_code == 0 and " 1 " in versions.stdout and " 2 " in versions.stdout


def test_check_and_an_incompatible_registration(invoke: Invoke, tmp_path: Path) -> None:
    invoke("schemas", "register", "churn-in", _file(tmp_path, "v1.json", V1))
    breaking = _file(tmp_path, "breaking.json", BREAKING)
    checked = invoke("schemas", "check", "churn-in", breaking)
    assert checked.exit_code == 1
    assert "field 'tenure' became required" in checked.stdout
    ok = invoke("schemas", "check", "churn-in", _file(tmp_path, "v2.json", V2))
    assert ok.exit_code == 0 and ok.stdout.startswith("compatible (backward")
    refused = invoke("schemas", "register", "churn-in", breaking)
    assert_one_error(
        refused,
        "schema refused for subject 'churn-in': backward incompatible with version 1: "
        "field 'tenure' became required",
    )
    assert invoke("schemas", "compatibility", "churn-in").stdout.strip() == "backward"
    changed = invoke("schemas", "compatibility", "churn-in", "none")
    assert changed.stdout.strip() == "churn-in compatibility is now none"
    assert invoke("schemas", "register", "churn-in", breaking).exit_code == 0


def test_validate_a_document_and_json_lines(invoke: Invoke, tmp_path: Path) -> None:
    invoke("schemas", "register", "churn-in", _file(tmp_path, "v1.json", V1))
    good = invoke("schemas", "validate", "churn-in", _file(tmp_path, "e.json", {"id": "e1"}))
    assert good.exit_code == 0 and good.stdout.strip() == "valid against churn-in version 1"
    bad = invoke("schemas", "validate", "churn-in", _file(tmp_path, "b.json", {"tenure": 2}))
    assert_one_error(
        bad,
        "the document does not match schema 'churn-in' version 1: at $: "
        "'id' is a required property",
    )
    lines = tmp_path / "events.jsonl"
    lines.write_text('{"id": "a"}\n{"id": "b", "tenure": -1}\n\n{"id": "c"}\nnot json\n')
    result = invoke("schemas", "validate", "churn-in", str(lines))
    assert result.exit_code == 1
    assert "2 of 4 documents valid against churn-in version 1" in result.stdout
    assert "$.tenure" in result.stdout and "-1 is less than the minimum of 0" in result.stdout
    assert "not JSON at line 5" in result.stdout


def test_delete_asks_first(home: Path, invoke: Invoke, tmp_path: Path) -> None:
    invoke("schemas", "register", "churn-in", _file(tmp_path, "v1.json", V1))
    kept = CliRunner().invoke(app, ["schemas", "delete", "churn-in"], input="n\n")
    assert kept.exit_code == 1 and "churn-in" in invoke("schemas", "ls").stdout
    gone = invoke("schemas", "delete", "churn-in", "--yes")
    assert gone.stdout.strip() == "deleted subject churn-in"
    assert_one_error(
        invoke("schemas", "show", "churn-in"),
        "subject 'churn-in' does not exist in project 'default'",
    )


def test_bad_files_are_one_error_line(invoke: Invoke, tmp_path: Path) -> None:
    assert_one_error(
        invoke("schemas", "register", "s", str(tmp_path / "nope.json")),
        f"no file {str(tmp_path / 'nope.json')!r}",
    )
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    result = invoke("schemas", "register", "s", str(broken))
    assert result.exit_code == 1 and result.stderr.startswith(f"error: {broken} is not JSON")
    invalid = invoke("schemas", "register", "s", _file(tmp_path, "bad.json", {"type": "strin"}))
    assert invalid.exit_code == 1
    assert invalid.stderr.startswith("error: the schema is not a valid JSON Schema at schema.type")


def test_schemas_on_a_server(
    invoke: Invoke, live_server: LiveServer, project_name: str, tmp_path: Path
) -> None:
    writer = ("--url", live_server.url, "--api-key", live_server.key(project_name, Role.WRITER))
    made = invoke("schemas", "register", "churn-in", _file(tmp_path, "v1.json", V1), *writer)
    assert made.exit_code == 0, made.output
    refused = invoke(
        "schemas", "register", "churn-in", _file(tmp_path, "b.json", BREAKING), *writer
    )
    assert refused.exit_code == 1 and "field 'tenure' became required" in refused.stderr
    event = _file(tmp_path, "e.json", {"id": "e1", "tenure": 3})
    assert invoke("schemas", "validate", "churn-in", event, *writer).exit_code == 0
    denied = invoke("schemas", "delete", "churn-in", "--yes", *writer)
    assert denied.exit_code == 1 and "needs the admin role" in denied.stderr
