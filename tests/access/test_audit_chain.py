"""The audit log's hash chain, on SQLite and PostgreSQL: intact, tampered with, concurrent."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from typer.testing import CliRunner

from podium.access.audit import Auditor
from podium.access.audit_chain import verify
from podium.cli.app import app as cli
from podium.config import Settings
from podium.platform import Installation
from podium.store.database import Database, _alembic_config
from tests.conftest import postgres_database


@pytest.fixture(params=["sqlite", "postgres"])
def chain_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own: a chain is per installation, and these tests break it."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'chain.db'}"
        return
    with postgres_database("podium_chain") as url:
        yield url


@pytest.fixture
def inst(tmp_path: Path, chain_url: str) -> Iterator[Installation]:
    installation = Installation(Settings(home=tmp_path / "home", database_url=chain_url))
    yield installation
    installation.close()


def _write(inst: Installation, count: int, *, project: str = "fraud") -> list[int]:
    """``count`` entries, alternately in a transaction of their own and in a change's."""
    project_id = inst.projects.ensure(project).id
    auditor = Auditor(inst.audit, project_id=project_id, actor="alice")
    for n in range(count):
        if n % 2:
            auditor.record("models.register", f"model:m{n}", detail={"n": n, "ok": True})
        else:
            with inst.db.write() as session:
                auditor.note(session, "data.ingest", f"table:t{n}", detail={"rows": n * 1.5})
    return [e.id for e in reversed(inst.audit.list(project_id, limit=count))]


def _sql(inst: Installation, statement: str, **params: object) -> None:
    with inst.db.write() as session:
        session.execute(text(statement), params)


def test_an_intact_chain_verifies_and_each_entry_names_its_predecessor(inst: Installation) -> None:
    ids = _write(inst, 6)
    report = verify(inst.db)
    assert report.ok, report.problem
    assert report.entries == 6
    with inst.db.read() as session:
        rows = session.execute(text("SELECT id, prev_hash, hash FROM audit_log ORDER BY id")).all()
    assert [r.id for r in rows] == ids
    assert rows[0].prev_hash == ""
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))
    assert report.head == rows[-1].hash and len(report.head) == 64


def test_an_edited_field_is_named(inst: Installation) -> None:
    ids = _write(inst, 5)
    _sql(inst, "UPDATE audit_log SET actor = 'mallory' WHERE id = :id", id=ids[2])
    report = verify(inst.db)
    assert report.broken_id == ids[2]
    assert f"entry {ids[2]} was changed" in report.problem


def test_an_edited_detail_is_named(inst: Installation) -> None:
    ids = _write(inst, 4)
    with inst.db.write() as session:
        session.execute(
            text("UPDATE audit_log SET outcome = 'ok', detail = :d WHERE id = :id"),
            {"d": json.dumps({"n": 99}), "id": ids[1]},
        )
    assert verify(inst.db).broken_id == ids[1]


def test_a_removed_entry_is_named_by_the_one_after_it(inst: Installation) -> None:
    ids = _write(inst, 5)
    _sql(inst, "DELETE FROM audit_log WHERE id = :id", id=ids[1])
    report = verify(inst.db)
    assert report.broken_id == ids[2]
    assert f"does not follow entry {ids[0]}" in report.problem and "removed" in report.problem
    # the very first one removed: the new first one does not start the chain
    _sql(inst, "DELETE FROM audit_log WHERE id <= :id", id=ids[2])
    assert verify(inst.db).broken_id == ids[3]


def test_swapped_hashes_are_detected(inst: Installation) -> None:
    ids = _write(inst, 4)
    with inst.db.write() as session:
        a, b = (
            session.execute(
                text("SELECT prev_hash, hash FROM audit_log WHERE id = :id"), {"id": i}
            ).one()
            for i in (ids[1], ids[2])
        )
        for target, source in ((ids[1], b), (ids[2], a)):
            session.execute(
                text("UPDATE audit_log SET prev_hash = :p, hash = :h WHERE id = :id"),
                {"p": source.prev_hash, "h": source.hash, "id": target},
            )
    assert verify(inst.db).broken_id == ids[1]


def test_a_rolled_back_change_leaves_no_entry_and_the_chain_holds(inst: Installation) -> None:
    _write(inst, 2)
    auditor = Auditor(inst.audit, project_id=inst.projects.get("fraud").id, actor="alice")
    with pytest.raises(RuntimeError), inst.db.write() as session:
        auditor.note(session, "data.ingest", "table:lost")
        raise RuntimeError("the change failed")
    _write(inst, 2)
    report = verify(inst.db)
    assert report.ok and report.entries == 4


def test_concurrent_writers_still_make_one_valid_chain(inst: Installation) -> None:
    _write(inst, 1)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            _write(inst, 8, project=f"p{n}")
        except BaseException as exc:  # reported below, with the thread's error
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    report = verify(inst.db)
    assert report.ok, report.problem
    assert report.entries == 1 + 4 * 8


def test_the_migration_links_entries_written_before_it(tmp_path: Path, chain_url: str) -> None:
    db = Database(chain_url)
    config = _alembic_config()
    with db.engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0014")
        conn.commit()
    with db.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO projects (name, description, created_at) VALUES ('old', '', :t)"),
            {"t": "2026-01-01 00:00:00+00:00"},
        )
        for n in range(3):
            conn.execute(
                text(
                    "INSERT INTO audit_log (project_id, actor, action, target, outcome, "
                    "request_id, created_at, detail) VALUES ((SELECT id FROM projects), "
                    "'bob', 'create_key', :t, 'ok', '', :at, :d)"
                ),
                {
                    "t": f"/v1/keys/{n}",
                    "at": f"2026-01-0{n + 1} 12:00:00.{n}25+00:00",
                    "d": json.dumps({"n": n}),
                },
            )
    db.upgrade()
    report = verify(db)  # the migration's encoding is entry_hash's: these verify
    assert report.ok and report.entries == 3, report.problem
    inst = Installation(Settings(home=tmp_path / "home", database_url=chain_url))
    try:
        _write(inst, 2)  # new entries continue the migrated chain
        assert verify(inst.db).entries == 5 and verify(inst.db).ok
    finally:
        inst.close()
    db.engine.dispose()


def _cli(home: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env={"PODIUM_HOME": str(home), "COLUMNS": "250"})
    return result.exit_code, result.stdout, result.stderr


def test_cli_verify_exits_0_when_the_chain_holds_and_1_naming_the_broken_entry(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    inst = Installation(Settings(home=home))
    try:
        ids = _write(inst, 4)
        code, out, err = _cli(home, "audit", "verify")
        assert code == 0, err
        assert "audit chain holds: 4 entries" in out

        code, out, _ = _cli(home, "audit", "export", "--out", str(tmp_path / "audit.jsonl"))
        assert code == 0 and "wrote 4 audit entries" in out
        lines = (tmp_path / "audit.jsonl").read_text().splitlines()
        exported = [json.loads(line) for line in lines]
        assert [e["id"] for e in exported] == ids
        assert exported[1]["prev_hash"] == exported[0]["hash"]
        assert exported[1]["actor"] == "alice" and exported[1]["detail"] == {"n": 1, "ok": True}

        _sql(inst, "UPDATE audit_log SET target = 'model:other' WHERE id = :id", id=ids[3])
        code, out, err = _cli(home, "audit", "verify")
        assert code == 1
        lines = err.splitlines()
        assert lines[0].startswith("error: ") and f"entry {ids[3]} was changed" in lines[0]
        assert len(lines) == 2 and lines[1].startswith("hint: ")

        code, out, _ = _cli(home, "audit", "-p", "fraud", "--limit", "2")
        assert code == 0 and "model:other" in out  # the listing still works
    finally:
        inst.close()
