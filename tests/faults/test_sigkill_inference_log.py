"""SIGKILL of ``podium up`` while predictions are answered and their log is committed.

The server answers ``POST /v1/predictions`` from memory, appends each answer's row to its
journal (a write-ahead file under ``PODIUM_HOME/journal``, ADR 0046) and to an in-memory
buffer that a background thread commits to the Delta table ``monitoring.inference_log``
every 5 s (one Delta commit per flush). The test streams predictions with unique
``X-Request-ID``s, waits until it sees a commit land while traffic flows, and kills the
server. Guarantees checked:

* right after the kill, every row committed before it is there, exactly once, and the
  table reads at its latest version (no corruption);
* after a restart (whose first prediction replays the dead server's journal): every
  answered prediction is in the log exactly once, 0 lost and 0 duplicated, and no row
  for a request that was never sent (nothing invented); the journal folder is empty
  after a clean stop.
"""

from __future__ import annotations

import signal
import threading
import uuid
from pathlib import Path

import httpx
from deltalake import DeltaTable
from sklearn.linear_model import LogisticRegression

from podium.config import Settings
from podium.platform import Installation
from tests.conftest import postgres_database
from tests.faults.conftest import podium_up, server_environment, wait_for
from tests.serving.conftest import FEATURES, churn_frame


def _deploy(home: Path, database: str) -> None:
    installation = Installation(Settings(home=home, database_url=database))
    try:
        platform = installation.platform("default", user="local:test")
        frame, labels = churn_frame()
        model = LogisticRegression(max_iter=300).fit(frame.to_numpy(), labels)
        platform.registry.register("churn", model, input_example=frame[:5])
        platform.deployments.create("churn", model="churn/1")
    finally:
        installation.close()


def _logged(home: Path) -> list[str]:
    """The request ids in the inference log's latest Delta version ([] before it exists)."""
    tables = [p.parent for p in home.rglob("_delta_log") if "inference_log" in str(p.parent)]
    if not tables:
        return []
    ids = DeltaTable(str(tables[0])).to_pyarrow_table(columns=["request_id"])
    return [str(v) for v in ids.column("request_id").to_pylist()]


class Predictor:
    """Sends predictions with unique request ids until stopped; records the 200s."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.sent: list[str] = []
        self.answered: list[str] = []
        self._stop = threading.Event()
        self._args = (url, headers)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        url, headers = self._args
        body = {"model_id": "churn", "features": FEATURES}
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            while not self._stop.is_set():
                request_id = uuid.uuid4().hex
                self.sent.append(request_id)
                try:
                    answer = client.post(
                        "/v1/predictions", json=body, headers={"X-Request-ID": request_id}
                    )
                except httpx.HTTPError:
                    return
                if answer.status_code == 200:
                    self.answered.append(request_id)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)


def test_the_inference_log_keeps_every_answered_prediction_once_across_a_sigkill(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    with postgres_database("podium_faults_log") as database:
        _deploy(home, database)
        env = server_environment(home, database_url=database, scheduler="off")
        with podium_up(env) as server:
            predictor = Predictor(server.url, server.headers)
            # A commit lands while traffic flows; the kill follows at once, with the next
            # batch filling the buffer (or being committed).
            wait_for(lambda: len(_logged(home)) > 0, 90, "an inference-log commit")
            committed = set(_logged(home))
            wait_for(lambda: len(predictor.answered) > len(committed), 60, "answers after it")
            answered_at_kill = len(predictor.answered)
            server.process.send_signal(signal.SIGKILL)
            server.process.wait(timeout=30)
            predictor.stop()

        after_kill = _logged(home)
        assert len(after_kill) == len(set(after_kill))  # no duplicate request id
        assert committed <= set(after_kill)  # nothing committed is lost
        assert set(after_kill) <= set(predictor.sent)  # nothing invented
        answered = set(predictor.answered)
        assert answered_at_kill <= len(answered)
        journaled = list((home / "journal").rglob("*.jsonl"))
        assert journaled, "the killed server left no journal"

        # Restarted, the server appends to the same table; a clean stop flushes.
        with (
            podium_up(env) as server,
            httpx.Client(base_url=server.url, headers=server.headers, timeout=60) as client,
        ):
            again = client.post(
                "/v1/predictions",
                json={"model_id": "churn", "features": FEATURES},
                headers={"X-Request-ID": "after-the-restart"},
            )
            assert again.status_code == 200, again.text
        final = _logged(home)
        assert len(final) == len(set(final))  # 0 duplicated
        assert "after-the-restart" in final
        lost = answered - set(final)
        assert not lost, f"{len(lost)} of {len(answered)} answered predictions lost"  # 0 lost
        assert set(final) <= set(predictor.sent) | {"after-the-restart"}  # nothing invented
        assert not list((home / "journal").rglob("*.jsonl"))  # replayed, then cleared
        print(
            f"answered {len(answered)}, committed before kill {len(committed)}, "
            f"in the log before the restart {len(after_kill)}, after it {len(final)}"
        )
