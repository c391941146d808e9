"""Where a job's parts are scored: in this process, or as Ray tasks (``podium[ray]``).

Both runners score a part the same way (:func:`score_part`): its rows scanned in batches,
the model's predictions computed per batch, the output streamed into one idempotent Delta
append. The local runner scores parts one after the other with the model loaded once.
The Ray runner starts one actor per CPU of the cluster, each loading the model once from
the artifact's bytes (verified by the driver), and gives each the next part as it
finishes one; actors append their own parts, and the driver records each committed part.
Ray is the one of :mod:`podium.pipelines.ray_runner` (``PODIUM_RAY_ADDRESS``, or a local
Ray on 127.0.0.1).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.dataset as ds  # type: ignore[import-untyped]

from podium.batch.features import OnlineJoin
from podium.batch.output import PartAppender
from podium.batch.parts import Part, part_dataset, scan_part
from podium.batch.scoring import Scorer
from podium.errors import InvalidInputError, PodiumError
from podium.registry.flavors import PodiumModel

__all__ = ["RUNNERS", "JobSpec", "ModelArtifact", "run_local", "run_ray", "score_part"]

RUNNERS = ("local", "ray")

PartCommitted = Callable[[Part, int], None]
"""Called with each part committed and the output version that holds it."""
RowsScored = Callable[[int], None]
"""Called with the number of rows of each batch scored (progress within a part)."""


@dataclass(frozen=True)
class JobSpec:
    """What scoring a part of a job needs besides the model (picklable)."""

    job_id: str
    columns: tuple[str, ...]
    key: str | None
    schema: pa.Schema
    model_version: str
    batch_size: int
    appender: PartAppender


@dataclass(frozen=True)
class ModelArtifact:
    """A model version for workers: the model the driver loaded (verified), pickled for
    them when its flavor pickles (a scikit-learn estimator does; an ONNX session does not,
    and is loaded again from the artifact's bytes)."""

    data: bytes
    flavor: str
    signature: dict[str, Any] | None
    ref: str
    loaded: bytes | None = None

    def scorer(self) -> Scorer:
        """The model, ready to score (loaded once per worker)."""
        if self.loaded is not None:
            model: PodiumModel = pickle.loads(self.loaded)  # the driver's own object
            return Scorer(model, ref=self.ref)
        return Scorer.from_bytes(
            self.data, flavor=self.flavor, signature=self.signature, ref=self.ref
        )


def score_part(
    spec: JobSpec,
    scorer: Scorer,
    dataset: ds.FileSystemDataset,
    part: Part,
    *,
    join: OnlineJoin | None = None,
    on_rows: RowsScored | None = None,
) -> int:
    """Score ``part`` (``dataset`` holds only its rows) and append it; the version."""
    prediction_type = spec.schema.field("prediction").type
    model_version = pa.scalar(spec.model_version)

    def outputs() -> Iterator[pa.RecordBatch]:
        offset = part.start
        for batch in scan_part(dataset, columns=spec.columns, batch_size=spec.batch_size):
            rows = batch.num_rows
            if join is not None:
                batch = join.join(batch)
            prediction, probability = scorer.score(batch)
            if spec.key is not None:
                key = batch.column(spec.key)
            else:
                key = pa.array(np.arange(offset, offset + rows, dtype=np.int64))
            offset += rows
            yield pa.RecordBatch.from_arrays(
                [
                    key,
                    prediction.cast(prediction_type),
                    probability,
                    pa.repeat(model_version, rows),
                ],
                schema=spec.schema,
            )
            if on_rows is not None:
                on_rows(rows)

    return spec.appender.append(spec.job_id, part.index, spec.schema, outputs())


def run_local(
    spec: JobSpec,
    scorer: Scorer,
    dataset: ds.FileSystemDataset,
    parts: Sequence[Part],
    *,
    join: OnlineJoin | None,
    on_part: PartCommitted,
    on_rows: RowsScored | None = None,
) -> None:
    """Score ``parts`` one after the other in this process."""
    for part in parts:
        version = score_part(
            spec, scorer, part_dataset(dataset, part), part, join=join, on_rows=on_rows
        )
        on_part(part, version)


def run_ray(
    spec: JobSpec,
    artifact: ModelArtifact,
    dataset: ds.FileSystemDataset,
    parts: Sequence[Part],
    *,
    address: str | None,
    on_part: PartCommitted,
) -> None:
    """Score ``parts`` on Ray actors, one per CPU, each loading the model once."""
    if not parts:
        return
    from podium.pipelines.ray_runner import connect

    ray = connect(address)
    cpus = int(ray.cluster_resources().get("CPU", 1)) or 1
    worker = ray.remote(num_cpus=1)(_PartWorker)
    model = ray.put(artifact)
    actors = [worker.remote(model, spec) for _ in range(min(cpus, len(parts)))]
    waiting = list(parts)
    running: dict[Any, tuple[Any, Part]] = {}

    def submit(actor: Any) -> None:
        if waiting:
            part = waiting.pop(0)
            running[actor.score.remote(part_dataset(dataset, part), part)] = (actor, part)

    try:
        for actor in actors:
            submit(actor)
            submit(actor)  # one queued behind the running one: the actor never idles
        while running:
            done, _ = ray.wait(list(running), num_returns=1)
            actor, part = running.pop(done[0])
            on_part(part, _ray_result(ray, done[0]))
            submit(actor)
    finally:
        for actor in actors:
            ray.kill(actor)


def _ray_result(ray: Any, ref: Any) -> int:
    try:
        return int(ray.get(ref))
    except ray.exceptions.RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, PodiumError):
            raise cause from None
        raise InvalidInputError(
            f"scoring a part on Ray failed: {cause or exc}",
            code="batch-part-failed",
            remedy="fix the cause, then resume the job: p.batch.resume(job_id)",
        ) from None


class _PartWorker:
    """A Ray actor holding one loaded model, scoring the parts it is given."""

    def __init__(self, artifact: ModelArtifact, spec: JobSpec) -> None:
        self._scorer = artifact.scorer()
        self._spec = spec

    def score(self, dataset: ds.FileSystemDataset, part: Part) -> int:
        return score_part(self._spec, self._scorer, dataset, part)
