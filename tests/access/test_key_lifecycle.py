"""Key lifecycle: expiry, rotation with overlap, scopes, revocation, `podium keys` commands."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from podium.access import keys as keys_module
from podium.access.keys import KeyService, parse_duration
from podium.access.roles import Role
from podium.access.scopes import (
    Scope,
    check_prediction,
    check_request,
    deployment_of,
    parse_scopes,
)
from podium.access.tables import ApiKeyRow
from podium.cli.app import app as cli
from podium.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from podium.platform import Installation
from podium.store.base import utcnow


@pytest.fixture
def project(installation: Installation) -> str:
    name = f"k-{uuid.uuid4().hex[:8]}"
    installation.projects.create(name)
    return name


def _fresh(installation: Installation) -> KeyService:
    """Another process's view of the keys: no cache."""
    return KeyService(installation.db, installation.projects)


def _set(installation: Installation, key_id: str, **values: object) -> None:
    with installation.db.write() as session:
        session.execute(update(ApiKeyRow).where(ApiKeyRow.id == key_id).values(**values))


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30d", 2_592_000), ("12h", 43_200), ("90m", 5400), ("0s", 0), ("2w", 1_209_600)],
)
def test_durations_parse(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "30", "1.5h", "-1d", "3y", "d30"])
def test_bad_durations_name_the_accepted_forms(text: str) -> None:
    with pytest.raises(InvalidInputError, match="whole number followed by") as info:
        parse_duration(text, field="expires")
    assert info.value.field == "expires" and "30d" in str(info.value.remedy)


def test_an_expired_key_is_refused_and_listed_as_expired(
    installation: Installation, project: str
) -> None:
    key, secret = installation.keys.create(project, Role.READER, expires_in=timedelta(days=30))
    assert key.expires_at is not None and key.state == "active"
    assert timedelta(days=29) < key.expires_at - utcnow() <= timedelta(days=30)
    assert installation.keys.authenticate(secret).key_id == key.id

    _set(installation, key.id, expires_at=utcnow() - timedelta(seconds=1))
    with pytest.raises(AuthenticationError, match="has expired"):
        _fresh(installation).authenticate(secret)
    assert installation.keys.get(project, key.id).state == "expired"
    with pytest.raises(ConflictError, match="expired and cannot be rotated"):
        installation.keys.rotate(project, key.id)


def test_a_cached_key_is_not_trusted_past_its_expiry(
    installation: Installation, project: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keys_module, "CACHE_SECONDS", 3600.0)  # only the expiry can end it
    key, secret = installation.keys.create(project, Role.READER, expires_in=timedelta(hours=1))
    _set(installation, key.id, expires_at=utcnow() + timedelta(seconds=1))
    keys = _fresh(installation)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            keys.authenticate(secret)  # cached for at most the second it had left
        except AuthenticationError:
            return
        time.sleep(0.05)
    pytest.fail("an expired key was still accepted from the cache")


def test_rotation_keeps_the_old_secret_working_until_the_overlap_ends(
    installation: Installation, project: str
) -> None:
    key, old = installation.keys.create(project, Role.WRITER, name="ci")
    rotated, new = installation.keys.rotate(project, key.id, overlap=timedelta(hours=1))
    assert new != old and new.startswith(f"pdm_{key.id}_")
    assert rotated.id == key.id and rotated.state == "rotating" and rotated.rotated_at
    assert rotated.previous_valid_until is not None
    other = _fresh(installation)
    for secret in (old, new):  # the same key: same actor, role and limits
        assert other.authenticate(secret).actor == f"key:{key.id} (ci)"

    _set(installation, key.id, previous_valid_until=utcnow() - timedelta(seconds=1))
    later = _fresh(installation)
    with pytest.raises(AuthenticationError):
        later.authenticate(old)
    assert later.authenticate(new).key_id == key.id
    assert installation.keys.get(project, key.id).state == "active"


def test_rotation_without_overlap_stops_the_old_secret_at_once(
    installation: Installation, project: str
) -> None:
    key, old = installation.keys.create(project, Role.READER)
    installation.keys.authenticate(old)  # cached here: rotation must drop it
    _, new = installation.keys.rotate(project, key.id, overlap=timedelta(0))
    with pytest.raises(AuthenticationError):
        installation.keys.authenticate(old)
    assert installation.keys.authenticate(new).key_id == key.id


def test_revoking_a_rotating_key_stops_both_secrets(
    installation: Installation, project: str
) -> None:
    key, old = installation.keys.create(project, Role.READER)
    _, new = installation.keys.rotate(project, key.id)
    assert installation.keys.revoke(project, key.id).state == "revoked"
    for secret in (old, new):
        with pytest.raises(AuthenticationError):
            _fresh(installation).authenticate(secret)
    with pytest.raises(ConflictError, match="revoked"):
        installation.keys.rotate(project, key.id)


def test_bad_lifecycle_input_is_refused_and_last_use_is_noted(
    installation: Installation, project: str
) -> None:
    for lifetime in (timedelta(0), timedelta(days=4000)):
        with pytest.raises(InvalidInputError, match="a key expires between") as info:
            installation.keys.create(project, Role.READER, expires_in=lifetime)
        assert info.value.field == "expires"
    with pytest.raises(NotFoundError, match="does not exist"):
        installation.keys.rotate(project, "000000000000")
    key, secret = installation.keys.create(project, Role.READER)
    with pytest.raises(InvalidInputError, match="overlap") as info:
        installation.keys.rotate(project, key.id, overlap=timedelta(days=31))
    assert info.value.field == "overlap"
    other = f"{project}-x"
    installation.projects.create(other)
    with pytest.raises(NotFoundError):  # another project's key is invisible
        installation.keys.rotate(other, key.id)

    assert installation.keys.get(project, key.id).last_used_at is None
    installation.keys.authenticate(secret)
    used = installation.keys.get(project, key.id).last_used_at
    assert used is not None and utcnow() - used < timedelta(minutes=5)


def test_scopes_are_stored_and_carried_by_the_principal(
    installation: Installation, project: str
) -> None:
    scopes = parse_scopes(["predict:churn", "read:tracking", "predict:churn"])
    assert scopes == (Scope("predict", "churn"), Scope("read", "tracking"))
    key, secret = installation.keys.create(project, Role.READER, scopes=scopes)
    assert key.scopes == scopes
    assert _fresh(installation).authenticate(secret).scopes == scopes
    assert installation.keys.list(project)[0].scopes == scopes


@pytest.mark.parametrize("text", ["predict:", "read:everything", "write:tracking", "churn", "read"])
def test_bad_scopes_name_the_accepted_forms(text: str) -> None:
    with pytest.raises(InvalidInputError, match="predict:DEPLOYMENT or read:AREA") as info:
        parse_scopes([text])
    assert info.value.field == "scopes"


PREDICT = parse_scopes(["predict:churn"])
READ_TRACKING = parse_scopes(["read:tracking"])


@pytest.mark.parametrize(
    ("scopes", "method", "path", "allowed"),
    [
        (PREDICT, "POST", "/v1/predictions", True),
        (PREDICT, "POST", "/v2/models/churn/infer", True),
        (PREDICT, "POST", "/v2/models/churn/versions/3/infer", True),
        (PREDICT, "GET", "/v2/models/churn", True),
        (PREDICT, "GET", "/v1/deployments/churn", True),
        (PREDICT, "GET", "/v1/whoami", True),
        (PREDICT, "POST", "/v2/models/fraud/infer", False),
        (PREDICT, "GET", "/v1/deployments/fraud", False),
        (PREDICT, "PATCH", "/v1/deployments/churn", False),
        (PREDICT, "GET", "/v1/experiments", False),
        (READ_TRACKING, "GET", "/v1/experiments", True),
        (READ_TRACKING, "GET", "/v1/runs/abc", True),
        (READ_TRACKING, "POST", "/v1/runs/search", True),
        (READ_TRACKING, "POST", "/v1/experiments", False),
        (READ_TRACKING, "POST", "/v1/runs/abc/metrics", False),
        (READ_TRACKING, "GET", "/v1/runsabc", False),
        (READ_TRACKING, "GET", "/v1/models", False),
        (READ_TRACKING, "POST", "/v1/predictions", False),
        ((), "DELETE", "/v1/keys/abc", True),
    ],
)
def test_scopes_allow_only_what_they_name(
    scopes: tuple[Scope, ...], method: str, path: str, allowed: bool
) -> None:
    if allowed:
        check_request(scopes, method, path)
    else:
        with pytest.raises(PermissionDeniedError, match="this key is limited to"):
            check_request(scopes, method, path)


def test_a_predict_scope_checks_the_deployment_of_the_body() -> None:
    check_prediction(PREDICT, deployment_of(b'{"model_id": "churn", "features": {}}'))
    for body in (b'{"model_id": "fraud"}', b"{}", b"not json", b'["churn"]'):
        with pytest.raises(PermissionDeniedError, match="may predict with churn") as info:
            check_prediction(PREDICT, deployment_of(body))
        assert info.value.field == "model_id"
    with pytest.raises(PermissionDeniedError, match="no deployment"):
        check_prediction(READ_TRACKING, "churn")


def _cli(home: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env={"PODIUM_HOME": str(home), "COLUMNS": "300"})
    return result.exit_code, result.stdout, result.stderr


def test_keys_commands_create_ls_rotate_revoke(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert _cli(home, "projects", "create", "shop")[0] == 0
    code, out, err = _cli(
        home, "keys", "create", "-p", "shop", "-r", "reader", "-n", "app",
        "--expires", "30d", "--scope", "predict:churn", "--scope", "read:monitoring",
    )  # fmt: skip
    assert code == 0, err
    first, secret = out.splitlines()[:2]
    assert "scoped to predict:churn read:monitoring" in first and "expires" in first
    key_id = secret.split("_")[1]

    code, out, _ = _cli(home, "keys", "ls", "-p", "shop")
    assert code == 0
    row = next(line for line in out.splitlines() if key_id in line)
    assert "predict:churn read:monitoring" in row and "active" in row
    assert "last used" in out and "expires" in out

    code, out, err = _cli(home, "keys", "rotate", key_id, "-p", "shop", "--overlap", "2h")
    assert code == 0, err
    assert "the old secret works until" in out
    new_secret = out.splitlines()[1]
    assert new_secret.startswith(f"pdm_{key_id}_") and new_secret != secret
    assert "rotating" in _cli(home, "keys", "ls", "-p", "shop")[1]

    code, out, _ = _cli(home, "keys", "revoke", key_id, "-p", "shop")
    assert code == 0 and f"revoked key {key_id}" in out
    assert "revoked" in _cli(home, "keys", "ls", "-p", "shop")[1]


def test_keys_commands_refuse_bad_input_in_one_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert _cli(home, "projects", "create", "shop")[0] == 0
    for args, message in [
        (["create", "-r", "reader", "--expires", "soon"], "the 'expires' value must be"),
        (["create", "-r", "reader", "--scope", "write:data"], "predict:DEPLOYMENT or read:AREA"),
        (["rotate", "000000000000"], "does not exist in project"),
        (["rotate", "000000000000", "--overlap", "1y"], "the 'overlap' value must be"),
        (["revoke", "000000000000"], "does not exist in project"),
    ]:
        code, out, err = _cli(home, "keys", *args, "-p", "shop")
        assert code == 1, (args, out, err)
        lines = err.splitlines()
        assert lines[0].startswith("error: ") and message in lines[0], lines
        assert "Traceback" not in err
