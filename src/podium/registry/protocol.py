"""The registry interface: the embedded service and the HTTP client both implement it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from podium.data.catalog.models import MAX_DEPTH
from podium.registry.flavors import PodiumModel
from podium.registry.signature import Rows, Signature
from podium.registry.types import (
    ModelLineage,
    ModelPolicy,
    ModelVersion,
    RegisteredModel,
    TransitionRequest,
)

__all__ = ["Registry"]


class Registry(Protocol):
    """Register, find and load model versions; aliases, stage transitions and lineage.

    What ``p.registry`` offers, embedded or remote. A version is named by a reference:
    ``name/3`` (that version), ``name@production`` or ``name@staging`` (the version in
    that stage), ``name@champion`` (an alias) or ``name`` (the newest version); an
    unknown model, version, stage or alias is a :class:`~podium.errors.NotFoundError`,
    a malformed reference an :class:`~podium.errors.InvalidInputError`. Changing things
    needs the ``writer`` role (the policy: ``admin``), else
    :class:`~podium.errors.PermissionDeniedError`. Over HTTP any method may also raise
    :class:`~podium.errors.AuthenticationError` or
    :class:`~podium.errors.BackendUnavailableError`.
    """

    def register(
        self,
        name: str,
        model: Any,
        *,
        run_id: str | None = None,
        input_example: Rows | None = None,
        signature: Signature | Mapping[str, Any] | None = None,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        derived_from: str | None = None,
    ) -> ModelVersion:
        """Store ``model`` as the next version of ``name`` (the model is created on
        first use) and return that version.

        The flavor (``sklearn``, ``onnx`` or ``pyfunc``) is picked from the model's type.
        ``input_example`` (a few rows of the training data) infers the signature, or pass
        ``signature`` (another version's ``mv.signature`` will do). With ``run_id`` the
        run's metrics, input tables and code version are copied; ``derived_from`` (a
        reference) records the version this one was derived from, e.g. by optimization.
        Raises :class:`~podium.errors.InvalidInputError` for a bad name or tags, a model
        of an unsupported type, or neither example nor signature;
        :class:`~podium.errors.NotFoundError` for an unknown run or ``derived_from``; and
        :class:`~podium.errors.ConflictError` when concurrent registrations kept taking
        the next number.
        """
        ...

    def get_model(self, name: str) -> RegisteredModel:
        """The registered model ``name``: its newest version number, aliases and policy.

        Raises :class:`~podium.errors.NotFoundError` for an unknown model.
        """
        ...

    def get_version(self, ref: str) -> ModelVersion:
        """The version ``ref`` names (``churn/3``, ``churn@production``,
        ``churn@champion``, ``churn``), with its stage, signature, metrics and provenance.

        Raises :class:`~podium.errors.InvalidInputError` for a malformed reference and
        :class:`~podium.errors.NotFoundError` when it names nothing.
        """
        ...

    def list_models(self) -> list[RegisteredModel]:
        """Every registered model of the project, sorted by name."""
        ...

    def list_versions(self, name: str) -> list[ModelVersion]:
        """Every version of model ``name``, oldest first.

        Raises :class:`~podium.errors.NotFoundError` for an unknown model.
        """
        ...

    def load(self, ref: str) -> PodiumModel:
        """The model ``ref`` names, ready to ``predict`` (a DataFrame, a dict or a list of
        dicts), with its flavor, signature and class labels.

        The artifact's bytes are checked against the sha256 recorded at registration
        before they are deserialised: altered bytes raise
        :class:`~podium.errors.IntegrityError`. Raises
        :class:`~podium.errors.NotFoundError` when ``ref`` names nothing and
        :class:`~podium.errors.MissingDependencyError` when the flavor's extra (e.g.
        ``podium[onnx]``) is not installed.
        """
        ...

    def set_alias(self, name: str, alias: str, version: int) -> ModelVersion:
        """Point ``alias`` (e.g. ``champion``) of model ``name`` at ``version``, moving it
        from any other version; returns the version it now names.

        Raises :class:`~podium.errors.InvalidInputError` for a malformed alias or one
        that is a stage name or ``latest``, and :class:`~podium.errors.NotFoundError` for
        an unknown model or version.
        """
        ...

    def delete_alias(self, name: str, alias: str) -> None:
        """Remove ``alias`` of model ``name``.

        Raises :class:`~podium.errors.NotFoundError` when the model has no such alias.
        """
        ...

    def request_transition(
        self, name: str, version: int, stage: str, *, comment: str = ""
    ) -> TransitionRequest:
        """Ask to move ``name/version`` to ``stage`` (``staging``, ``production`` or
        ``archived``); ``comment`` says why.

        The model's policy decides: with the default one a staging request applies at
        once and a production request waits for one admin's :meth:`approve`; moving to
        production archives the previous production version. Returns the request (its
        ``status`` is ``applied`` when it applied at once). Raises
        :class:`~podium.errors.InvalidInputError` for another stage;
        :class:`~podium.errors.ConflictError` when the version is already there, cannot
        move there, fails a metric gate of the policy, or has a request pending; and
        :class:`~podium.errors.NotFoundError` for an unknown model or version.
        """
        ...

    def approve(self, request_id: str, *, comment: str = "") -> TransitionRequest:
        """Approve the pending request ``request_id``; it applies once the policy's
        approvals are met (its gates are checked again then: a version that fails them
        now is rejected). Returns the request.

        Raises :class:`~podium.errors.PermissionDeniedError` when the caller requested it
        (self-approval) or their role may not approve that stage,
        :class:`~podium.errors.ConflictError` when it is no longer pending or the caller
        decided already, and :class:`~podium.errors.NotFoundError` for an unknown request.
        """
        ...

    def reject(self, request_id: str, *, comment: str = "") -> TransitionRequest:
        """Reject the pending request ``request_id`` (its requester may reject, i.e.
        withdraw, their own); returns the request.

        Raises what :meth:`approve` raises, self-approval aside.
        """
        ...

    def get_request(self, request_id: str) -> TransitionRequest:
        """The transition request ``request_id`` with the decisions taken on it.

        Raises :class:`~podium.errors.NotFoundError` for an unknown request.
        """
        ...

    def list_requests(
        self, name: str | None = None, *, status: str | None = None
    ) -> list[TransitionRequest]:
        """The transition requests of the project, or of model ``name``, newest first;
        ``status`` (``pending``, ``approved``, ``rejected``, ``applied``) filters them."""
        ...

    def set_policy(self, name: str, policy: ModelPolicy | Mapping[str, Any]) -> RegisteredModel:
        """Replace the approval policy of model ``name`` (admins only): per stage, the
        approvals required, the roles that may approve and the metric gates (e.g.
        ``"auc >= 0.8"``). Returns the model with its new policy.

        Raises :class:`~podium.errors.InvalidInputError` for a policy that does not
        validate and :class:`~podium.errors.NotFoundError` for an unknown model.
        """
        ...

    def lineage(self, ref: str, *, depth: int = MAX_DEPTH) -> ModelLineage:
        """The lineage graph around the version ``ref`` names, ``depth`` edges each way
        (0 to 10).

        Upstream: the run that trained it, the training set it read, what that table was
        derived from down to the raw tables, the versions it derives from. Downstream:
        versions derived from it and the deployments serving it. Node ids are the
        catalog's (``model:churn/3``). Raises :class:`~podium.errors.InvalidInputError`
        for a bad ``depth`` or reference and :class:`~podium.errors.NotFoundError` when
        it names nothing.
        """
        ...
