"""SIGKILL of ``podium up`` in the middle of a registry alias move.

The kill lands *inside* the move's transaction, deterministically: the test holds an
EXCLUSIVE lock on the outbox table, so the server's transaction (alias row updated, model
row locked) blocks on inserting its event; the test sees that wait in
``pg_stat_activity`` and only then kills the server. Guarantee: the move and its event
commit together or not at all. Killed before the commit, neither is there after a
restart; killed after the answer, both are there, the event exactly once.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import httpx
import psycopg
from sklearn.linear_model import LogisticRegression

from podium.config import Settings
from podium.platform import Installation
from tests.conftest import postgres_database
from tests.faults.conftest import podium_up, server_environment, wait_for
from tests.serving.conftest import churn_frame


def _register_two_versions(home: Path, database: str) -> None:
    installation = Installation(Settings(home=home, database_url=database))
    try:
        platform = installation.platform("default", user="local:test")
        frame, labels = churn_frame()
        for c in (1.0, 0.5):
            model = LogisticRegression(C=c, max_iter=300).fit(frame.to_numpy(), labels)
            platform.registry.register("churn", model, input_example=frame[:5])
        platform.registry.set_alias("churn", "champion", 1)
    finally:
        installation.close()


def _alias_events(conn: psycopg.Connection[tuple[object, ...]], version: int) -> int:
    row = conn.execute(
        "SELECT count(*) FROM events_outbox WHERE type = 'model.alias_changed' AND subject = %s",
        (f"churn/{version}",),
    ).fetchone()
    assert row is not None
    return int(str(row[0]))


def _alias(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    row = conn.execute(
        "SELECT version FROM model_aliases WHERE model_name = 'churn' AND alias = 'champion'"
    ).fetchone()
    assert row is not None
    return int(str(row[0]))


def test_an_alias_move_killed_mid_transaction_is_applied_once_or_not_at_all(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    with postgres_database("podium_faults_registry") as database:
        _register_two_versions(home, database)
        env = server_environment(home, database_url=database, scheduler="off")
        with psycopg.connect(database, autocommit=True) as watcher:
            # 1. Killed inside the transaction: nothing of the move survives.
            with podium_up(env) as server:
                lock = psycopg.connect(database)
                lock.execute("LOCK TABLE events_outbox IN EXCLUSIVE MODE")
                answers: list[httpx.Response | Exception] = []

                def move() -> None:
                    try:
                        answers.append(
                            httpx.put(
                                f"{server.url}/v1/models/churn/aliases/champion",
                                json={"version": 2},
                                headers=server.headers,
                                timeout=60,
                            )
                        )
                    except httpx.HTTPError as exc:
                        answers.append(exc)

                mover = threading.Thread(target=move)
                mover.start()
                blocked = (
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND query ILIKE 'INSERT INTO events_outbox%%'"
                )
                wait_for(
                    lambda: watcher.execute(blocked).fetchone() == (1,),
                    60,
                    "the alias move blocking on its outbox insert",
                )
                server.process.send_signal(signal.SIGKILL)
                server.process.wait(timeout=30)
                lock.commit()  # the orphaned transaction runs on, then finds its client gone
                lock.close()
                mover.join(timeout=60)
                assert len(answers) == 1 and isinstance(answers[0], httpx.HTTPError), answers
                gone = (
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                )
                wait_for(lambda: watcher.execute(gone).fetchone() == (0,), 60, "sessions end")
            assert _alias(watcher) == 1
            assert _alias_events(watcher, 2) == 0

            # 2. Restarted: the server reads the old alias; the move is made again and
            # answered, then the server is killed at once: the move and its event stay.
            with podium_up(env) as server:
                before = httpx.get(
                    f"{server.url}/v1/models/churn@champion/version",
                    headers=server.headers,
                    timeout=60,
                )
                assert before.status_code == 200, before.text
                assert before.json()["version"] == 1
                moved = httpx.put(
                    f"{server.url}/v1/models/churn/aliases/champion",
                    json={"version": 2},
                    headers=server.headers,
                    timeout=60,
                )
                assert moved.status_code == 200, moved.text
                server.process.send_signal(signal.SIGKILL)
                server.process.wait(timeout=30)
            assert _alias(watcher) == 2
            assert _alias_events(watcher, 2) == 1
