"""The command line reads as one tool: ``ls`` in every group (``list`` still works,
hidden), and ``--url/--api-key/--project`` declared once, taken by every command that
works on a platform or a project, before or after the command's name."""

from __future__ import annotations

from typing import Any

import pytest
import typer
import typer.main
from typer.core import TyperGroup

from podium.access.roles import Role
from podium.cli.app import COMMANDS, app
from podium.cli.context import CONNECTION_OPTIONS
from podium.platform import Installation
from tests.cli.assertions import Invoke, assert_one_error
from tests.conftest import LiveServer


def _groups() -> dict[str, TyperGroup]:
    root = typer.main.get_command(app)
    context = typer.Context(root)
    found: dict[str, TyperGroup] = {}

    def walk(path: str, command: object) -> None:
        if isinstance(command, TyperGroup):
            found[path] = command
            for name in command.list_commands(context):
                walk(f"{path} {name}".strip(), command.get_command(context, name))

    walk("", root)
    return found


GROUPS = _groups()


def _leaves(group: str) -> list[tuple[str, Any]]:
    command = GROUPS[group]
    leaves: list[tuple[str, Any]] = []
    for name, sub in command.commands.items():
        if isinstance(sub, TyperGroup):
            leaves += _leaves(f"{group} {name}")
        else:
            leaves.append((f"{group} {name}", sub))
    return leaves


def test_every_group_that_lists_calls_it_ls_and_keeps_list_hidden() -> None:
    listing = {
        path: group for path, group in GROUPS.items() if {"ls", "list"} & set(group.commands)
    }
    assert {"runs", "experiments", "keys", "projects", "webhooks", "data", "models"} <= set(listing)
    for path, group in listing.items():
        assert "ls" in group.commands, f"podium {path} has no ls"
        old = group.commands.get("list")
        assert old is None or old.hidden, f"podium {path} list is shown beside ls"


@pytest.mark.parametrize("group", ["runs", "experiments", "projects", "keys", "webhooks"])
def test_list_still_works_as_an_alias(invoke: Invoke, embedded: Installation, group: str) -> None:
    embedded.projects.ensure("default")
    args = ("--project", "default") if group == "keys" else ()
    new, old = invoke(group, "ls", *args), invoke(group, "list", *args)
    assert new.exit_code == 0, new.output
    assert (old.exit_code, old.stdout) == (0, new.stdout)


REMOTE = ["runs", "experiments", "data", "models", "deploy", "features", "monitor", "webhooks"]


@pytest.mark.parametrize("group", REMOTE)
def test_every_platform_command_takes_the_shared_connection_options(group: str) -> None:
    for path, command in _leaves(group):
        options = {p.name: p for p in command.params}
        for shared in CONNECTION_OPTIONS:
            option = options.get(shared.name)
            assert option is not None, f"podium {path} lacks {shared.decls[0]}"
            assert option.help == shared.help and not option.expose_value, path


def test_the_root_takes_them_too_and_declares_them_once() -> None:
    root = typer.main.get_command(app)
    assert {"url", "api_key", "project"} <= {p.name for p in root.params}
    project_options = {COMMANDS[name].connection for name in ("keys", "audit", "serve")}
    assert project_options == {("project",)}


def _run(installation: Installation, project: str) -> str:
    with installation.platform(project, user="local:test").tracking.start_run(
        "churn", capture_env=False
    ) as run:
        run.log_metric("auc", 0.9)
    return run.id


@pytest.mark.parametrize("where", ["before", "after"])
def test_project_before_or_after_the_command(
    invoke: Invoke, embedded: Installation, where: str
) -> None:
    run_id = _run(embedded, "fraud")
    _run(embedded, "default")
    args = ["runs", "ls", "-p", "fraud"] if where == "after" else ["-p", "fraud", "runs", "ls"]
    listed = invoke(*args)
    assert listed.exit_code == 0, listed.output
    assert "project 'fraud'" in listed.stdout and run_id[:8] in listed.stdout


def test_url_before_the_command_reaches_a_live_server(
    invoke: Invoke, live_server: LiveServer, project_name: str
) -> None:
    run_id = _run(live_server.installation, project_name)
    key = live_server.key(project_name, Role.READER)
    listed = invoke("--url", live_server.url, "--api-key", key, "runs", "ls")
    assert listed.exit_code == 0, listed.output
    assert f"project {project_name!r}" in listed.stdout and run_id[:8] in listed.stdout
    after = invoke("experiments", "ls", "--url", live_server.url, "--api-key", key)
    assert after.exit_code == 0 and "churn" in after.stdout


def test_the_command_s_own_option_wins_over_the_root_s(
    invoke: Invoke, embedded: Installation
) -> None:
    run_id = _run(embedded, "fraud")
    listed = invoke("--project", "default", "runs", "ls", "--project", "fraud")
    assert "project 'fraud'" in listed.stdout and run_id[:8] in listed.stdout


def test_operator_commands_refuse_a_url_rather_than_ignore_it(invoke: Invoke) -> None:
    result = invoke("--url", "http://127.0.0.1:9", "keys", "ls", "-p", "default")
    assert_one_error(
        result,
        "this command works on the installation under PODIUM_HOME, not on a server; "
        "got --url http://127.0.0.1:9 instead",
    )


def test_keys_need_a_project_named_on_purpose(
    invoke: Invoke, embedded: Installation, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedded.projects.ensure("default")
    assert_one_error(invoke("keys", "ls"), "this command needs a project; got none")
    monkeypatch.setenv("PODIUM_PROJECT", "default")
    assert invoke("keys", "ls").exit_code == 0
