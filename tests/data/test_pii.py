"""pii columns, embedded on SQLite and PostgreSQL: tokens in the lake, vault, roles, drift."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from podium.access.roles import Role
from podium.config import Settings
from podium.data.pii_tables import PiiTokenRow
from podium.data.tokens import Tokenizer, is_token, load_tokenization_key
from podium.errors import (
    IntegrityError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from podium.monitoring.contract import ColumnRule, DataContract
from podium.monitoring.drift.detect import detect_drift
from podium.monitoring.quality import check_contract
from podium.platform import Installation, Platform

EMAILS = ["ana@example.com", "bo@example.com", "ana@example.com", None]


def _rows(emails: list[str | None] | None = None) -> pd.DataFrame:
    emails = EMAILS if emails is None else emails
    return pd.DataFrame(
        {"id": list(range(len(emails))), "email": emails, "plan": ["a"] * len(emails)}
    )


def _files_containing(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_a_pii_column_is_stored_as_tokens_never_in_clear(
    platform: Platform, settings: Settings, installation: Installation
) -> None:
    p = platform
    p.data.write("raw.users", _rows(), pii=["email"])
    # A later write tokenizes too: the mark is kept with the table.
    p.data.write("raw.users", pd.DataFrame({"id": [9], "email": ["cy@example.com"], "plan": ["a"]}))
    stored = p.data.read("raw.users").sort_by([("id", "ascending")])
    tokens = stored.column("email").to_pylist()
    assert [t is None for t in tokens] == [False, False, False, True, False]  # nulls stay null
    assert all(is_token(t) for t in tokens if t is not None)
    assert tokens[0] == tokens[2]  # same value, same token: equality survives
    assert len({tokens[0], tokens[1], tokens[4]}) == 3
    assert p.data.pii_columns("raw.users") == ["email"]
    assert stored.column("plan").to_pylist() == ["a"] * 5  # other columns untouched

    # No byte of a clear value anywhere under PODIUM_HOME: Parquet, Delta log, SQLite.
    for email in ("ana@example.com", "bo@example.com", "cy@example.com"):
        assert _files_containing(settings.home, email.encode()) == []
        assert _files_containing(settings.home.parent, email.encode()) == []
    with installation.db.read() as session:
        sealed = list(session.scalars(select(PiiTokenRow.sealed_value)))
    assert len(sealed) >= 3 and not any(b"example.com" in s for s in sealed)

    # SQL over the table sees tokens, and counts distinct values as the clear data would.
    (count,) = (
        p.data.sql("SELECT count(DISTINCT email) AS n FROM raw.users").column("n").to_pylist()
    )
    assert count == 3

    asked = [tokens[1], tokens[0], "tok_" + "0" * 32]
    assert p.data.detokenize("raw.users", "email", asked) == [
        "bo@example.com",
        "ana@example.com",
        None,
    ]


def test_only_admins_detokenize(installation: Installation, project_name: str) -> None:
    admin = installation.platform(project_name, user="local:admin")
    admin.data.write("raw.users", _rows(), pii=["email"])
    token = admin.data.read("raw.users").column("email").to_pylist()[0]
    for role in (Role.READER, Role.WRITER):
        other = installation.platform_for_existing(project_name, user=f"u:{role}", role=role)
        with pytest.raises(PermissionDeniedError, match="admin role"):
            other.data.detokenize("raw.users", "email", [token])
        assert other.data.pii_columns("raw.users") == ["email"]  # which columns is no secret
    project_id = installation.projects.get(project_name).id
    refused = installation.audit.list(project_id, action="data.detokenize")
    assert [e.outcome for e in refused] == ["permission-denied"] * 2  # refusals are audited


def test_bad_pii_requests_are_clear_errors(platform: Platform) -> None:
    p = platform
    p.data.write("raw.users", _rows(), pii=["email"])
    with pytest.raises(InvalidInputError, match="lacks"):
        p.data.write("raw.other", _rows(), pii=["phone"])
    with pytest.raises(InvalidInputError, match="in clear") as refused:
        p.data.write("raw.users", _rows(), pii=["plan"])  # an append would leave old values
    assert "overwrite" in (refused.value.remedy or "")
    p.data.write("raw.users", _rows(), pii=["plan"], mode="overwrite")
    assert p.data.pii_columns("raw.users") == ["email", "plan"]
    p.data.append_stream("raw.users", [_rows(["dee@example.com"])])  # streams tokenize too
    streamed = p.data.read("raw.users").column("email").to_pylist()
    assert len(streamed) == 5 and all(t is None or is_token(t) for t in streamed)
    with pytest.raises(NotFoundError):
        p.data.pii_columns("raw.nothing")
    with pytest.raises(NotFoundError, match="not a pii column"):
        p.data.detokenize("raw.users", "id", ["tok_" + "0" * 32])
    with pytest.raises(InvalidInputError, match="tok_"):
        p.data.detokenize("raw.users", "email", ["ana@example.com"])


def test_a_wrong_tokenization_key_is_a_clear_error(tmp_path: Path) -> None:
    key = load_tokenization_key(tmp_path / "keys")
    assert (tmp_path / "keys" / "tokenization.key").stat().st_mode & 0o777 == 0o600
    assert load_tokenization_key(tmp_path / "keys").material == key.material  # made once
    sealed = Tokenizer(key).seal("ana@example.com")
    other = Tokenizer(load_tokenization_key(tmp_path / "other"))
    with pytest.raises(IntegrityError, match="does not decrypt"):
        other.open(sealed, token="tok_x")
    assert Tokenizer(key).token("a") != other.token("a")
    assert "material" not in repr(Tokenizer(key))


def test_drift_and_quality_work_on_tokens(platform: Platform) -> None:
    p = platform
    same = ["a@x.io", "b@x.io", "c@x.io"] * 40
    p.data.write("raw.signups", _rows(same), pii=["email"])
    p.data.write("raw.signups", _rows(same), mode="overwrite")
    p.data.write("raw.signups", _rows(["z@x.io"] * 100 + ["a@x.io"] * 20), mode="overwrite")
    reference = p.data.read("raw.signups", version=0)
    steady = p.data.read("raw.signups", version=1)
    shifted = p.data.read("raw.signups", version=2)
    assert not detect_drift(reference, steady, columns=["email"]).column("email").drifted
    drifted = detect_drift(reference, shifted, columns=["email"]).column("email")
    assert drifted.kind == "categorical" and drifted.drifted

    allowed = sorted(set(reference.column("email").to_pylist()))
    contract = DataContract(
        columns={"email": ColumnRule("email", "string", kind="categorical", allowed=allowed)},
        allow_extra_columns=True,
    )
    assert check_contract(contract, steady.select(["email"])).ok
    report = check_contract(contract, shifted.select(["email"]))
    assert not report.ok and report.violations[0].count == 100
