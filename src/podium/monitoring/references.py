"""Reference profiles: what a model version's inputs looked like when it was trained.

The reference of ``churn/3`` is profiled (types, null rates, ranges, quantiles,
histograms, category frequencies) from the training table the version's run read, as
the registry recorded it (``raw.customers@3``), limited to the columns of the version's
signature. It is computed on first need and kept in the metadata database with the data
contract derived from it and the profile of the version's own predictions on those rows
(:mod:`.reference_predictions`), which prediction drift compares live predictions with;
:meth:`ReferenceStore.set` replaces it with a profile of any frame or table (the model
predicts on it, or the user gives the predictions), and :meth:`ReferenceStore.set_contract`
replaces the contract with an edited one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import select

from podium.access.projects import Project
from podium.data.names import TableRef
from podium.data.protocol import Data
from podium.errors import InvalidInputError, NotFoundError, PodiumError
from podium.monitoring.contract import DataContract, derive_contract
from podium.monitoring.frames import Frame, column_names, materialize
from podium.monitoring.profile import Profile, build_profile
from podium.monitoring.reference_predictions import (
    ReferencePredictions,
    given_predictions,
    predict_reference,
)
from podium.monitoring.tables import ReferenceRow
from podium.registry.protocol import Registry
from podium.store.base import utcnow
from podium.store.database import Database

__all__ = ["Reference", "ReferenceStore"]

# Columns of a table without a signature to go by that are taken for labels, not inputs.
_NOT_INPUTS = {"label", "target", "y", "event_timestamp"}


@dataclass(frozen=True)
class Reference:
    """The reference of one model version: its profile, contract, and where it came from.

    ``predictions`` is None only for a reference stored before predictions were kept.
    """

    model: str
    version: int
    source: str
    profile: Profile
    contract: DataContract
    updated_at: datetime
    predictions: ReferencePredictions | None = None


def _reference(row: ReferenceRow) -> Reference:
    return Reference(
        model=row.model_name,
        version=row.version,
        source=row.source,
        profile=Profile.from_dict(row.profile),
        contract=DataContract.from_dict(row.contract),
        updated_at=row.updated_at,
        predictions=(
            ReferencePredictions.from_dict(row.predictions) if row.predictions is not None else None
        ),
    )


class ReferenceStore:
    """The reference profiles and data contracts of one project's model versions."""

    def __init__(self, db: Database, project: Project, *, data: Data, registry: Registry) -> None:
        self._db = db
        self._project = project
        self._data = data
        self._registry = registry

    def get(self, model: str, version: int) -> Reference:
        """The reference of ``model/version``, profiled from its training table if new.

        A reference stored before predictions were kept gets them now when its source
        is a table (the version predicts on it once).
        """
        stored = self._stored(model, version)
        if stored is not None:
            if stored.predictions is None and TableRef.find(stored.source):
                return self._add_predictions(stored)
            return stored
        source, frame = self._training_frame(model, version)
        predicted = predict_reference(self._registry, model, version, frame)
        return self._save(
            model, version, source, build_profile(frame), contract=None, predictions=predicted
        )

    def _add_predictions(self, stored: Reference) -> Reference:
        model, version = stored.model, stored.version
        try:
            frame = self._read_table(
                stored.source, field="reference", columns=self._inputs(model, version)
            )
        except PodiumError as exc:  # the table is gone: the features stay the reference
            predicted = ReferencePredictions(None, f"none: {exc}")
        else:
            predicted = predict_reference(self._registry, model, version, frame)
        return self._save(
            model,
            version,
            stored.source,
            stored.profile,
            contract=stored.contract,
            predictions=predicted,
        )

    def set(
        self,
        model: str,
        version: int,
        data: Frame | str,
        *,
        predictions: str | Sequence[Any] | None = None,
    ) -> Reference:
        """Profile ``data`` (a frame, or a table ``zone.name[@version]``) as the reference.

        The data contract is derived anew from the new profile. ``predictions`` names
        the column of ``data`` holding the model's predictions on it, or holds one per
        row; by default ``model/version`` predicts them.
        """
        self._registry.get_version(f"{model}/{version}")  # the version must exist
        if isinstance(data, str):
            keep = [predictions] if isinstance(predictions, str) else []
            source, frame = data, self._read_table(data, field="data", keep=keep)
        else:
            source, frame = "explicit", materialize(data, field="data")
        if predictions is None:
            predicted = predict_reference(self._registry, model, version, frame)
        else:
            frame, predicted = given_predictions(frame, predictions)
        return self._save(
            model, version, source, build_profile(frame), contract=None, predictions=predicted
        )

    def set_contract(
        self, model: str, version: int, contract: DataContract | Mapping[str, Any]
    ) -> Reference:
        """Replace the data contract of ``model/version`` (the profile stays)."""
        current = self.get(model, version)
        if not isinstance(contract, DataContract):
            try:
                contract = DataContract.from_dict(dict(contract))
            except (KeyError, TypeError, ValueError) as exc:
                if isinstance(exc, InvalidInputError):
                    raise
                raise InvalidInputError(
                    f"the contract is not a valid data contract ({exc})",
                    field="contract",
                    remedy="edit the document contract(model, version) returns",
                ) from exc
        return self._save(
            model,
            version,
            current.source,
            current.profile,
            contract=contract,
            predictions=current.predictions,
        )

    # -- storage ---------------------------------------------------------------------
    def _stored(self, model: str, version: int) -> Reference | None:
        with self._db.read() as session:
            row = session.scalars(self._query(model, version)).first()
            return None if row is None else _reference(row)

    def _query(self, model: str, version: int) -> Any:
        return select(ReferenceRow).where(
            ReferenceRow.project_id == self._project.id,
            ReferenceRow.model_name == model,
            ReferenceRow.version == version,
        )

    def _save(
        self,
        model: str,
        version: int,
        source: str,
        profile: Profile,
        *,
        contract: DataContract | None,
        predictions: ReferencePredictions | None,
    ) -> Reference:
        contract = contract or derive_contract(profile)
        values = {
            "source": source[:256],
            "profile": profile.to_dict(),
            "contract": contract.to_dict(),
            "predictions": predictions.to_dict() if predictions is not None else None,
            "updated_at": utcnow(),
        }
        for _ in range(2):  # a concurrent first computation may insert the row first
            try:
                with self._db.write() as session:
                    row = session.scalars(self._query(model, version).with_for_update()).first()
                    if row is None:
                        row = ReferenceRow(
                            project_id=self._project.id, model_name=model, version=version
                        )
                        session.add(row)
                    for key, value in values.items():
                        setattr(row, key, value)
                    session.flush()
                    return _reference(row)
            except sa_exc.IntegrityError:
                continue
        stored = self._stored(model, version)
        assert stored is not None  # the concurrent writer's row
        return stored

    # -- training data -------------------------------------------------------------------
    def _training_frame(self, model: str, version: int) -> tuple[str, Any]:
        found = self._registry.get_version(f"{model}/{version}")
        # An optimized version (ONNX of /1) was trained on what its source was trained on.
        seen = {found.ref}
        while not found.inputs and found.derived_from and found.derived_from not in seen:
            seen.add(found.derived_from)
            found = self._registry.get_version(found.derived_from)
        tables = [ref for ref in found.inputs if TableRef.find(ref)]
        if not tables:
            raise NotFoundError(
                f"model version {found.ref} has no training table recorded, so it has no "
                "reference profile yet",
                field="reference",
                remedy=f"set one with p.monitoring.set_reference({model!r}, {version}, frame) "
                "or register the version from a run that read a lake table",
            )
        inputs = [c["name"] for c in (found.signature or {}).get("inputs", []) if "name" in c]
        frame = self._read_table(tables[0], field="reference", columns=inputs or None)
        return tables[0], frame

    def _inputs(self, model: str, version: int) -> list[str] | None:
        """The input columns of the version's signature (None: it names none)."""
        found = self._registry.get_version(f"{model}/{version}")
        inputs = [c["name"] for c in (found.signature or {}).get("inputs", []) if "name" in c]
        return inputs or None

    def _read_table(
        self,
        ref: str,
        *,
        field: str,
        columns: list[str] | None = None,
        keep: list[str] | None = None,
    ) -> Any:
        table = TableRef.find(ref)
        if table is None:
            raise InvalidInputError(
                f"a reference table must be named like 'raw.customers' or 'raw.customers@3'; "
                f"got {ref!r} instead",
                field=field,
                remedy="name a lake table, optionally at a version",
            )
        frame = self._data.read(table.table, version=table.version)
        present = column_names(frame)
        if columns:  # the signature's inputs
            inputs = [c for c in columns if c in present]
        else:
            inputs = [c for c in present if c not in _NOT_INPUTS]
        if not inputs:
            raise InvalidInputError(
                f"table {ref!r} has none of the model's input columns",
                field=field,
                remedy="profile the table the model was trained on",
            )
        extra = [c for c in keep or [] if c in present and c not in inputs]
        return frame.select(inputs + extra)
