"""The schema registry over HTTP: the same interface as the embedded one.

``validate`` fetches the version it checks against (kept ``cache_seconds``, 1 s by
default) and validates in this process with the same code as the server, so a producer
validating every event makes no request per event, and the errors are the same.
"""

from __future__ import annotations

import builtins
from typing import Any

from pydantic import TypeAdapter

from podium.client.http import ApiClient, url_path
from podium.events.schemas.lookup import VersionLookup
from podium.events.schemas.models import (
    CompatibilityCheck,
    SchemaSubject,
    SchemaValidation,
    SchemaVersion,
)
from podium.events.schemas.names import check_subject, check_version
from podium.events.schemas.validation import validate_document

__all__ = ["HttpSchemas"]

_SUBJECTS = TypeAdapter(list[SchemaSubject])
_VERSIONS = TypeAdapter(list[SchemaVersion])


class HttpSchemas:
    """A project's schema registry on a podium server."""

    def __init__(self, api: ApiClient, *, cache_seconds: float = 1.0) -> None:
        self._api = api
        self._lookup = VersionLookup(self.get, ttl=cache_seconds)

    def register(
        self, subject: str, schema: dict[str, Any], *, compatibility: str | None = None
    ) -> SchemaVersion:
        path = _path("/v1/schemas/subjects/{}/versions", subject)
        body = {"schema": schema, "compatibility": compatibility}
        registered = SchemaVersion.model_validate(self._api.json("POST", path, json=body))
        self._lookup.forget(subject)
        return registered

    def check(self, subject: str, schema: dict[str, Any]) -> CompatibilityCheck:
        path = _path("/v1/schemas/subjects/{}/check", subject)
        return CompatibilityCheck.model_validate(
            self._api.json("POST", path, json={"schema": schema})
        )

    def validate(
        self, subject: str, document: Any, *, version: int | None = None
    ) -> SchemaValidation:
        found = self._lookup.get(check_subject(subject), check_version(version))
        validate_document(
            document,
            found.json_schema,
            subject=found.subject,
            version=found.version,
            digest=found.fingerprint,
        )
        return SchemaValidation(subject=found.subject, version=found.version)

    def get(self, subject: str, version: int | None = None) -> SchemaVersion:
        which = "latest" if version is None else version
        path = _path("/v1/schemas/subjects/{}/versions/{}", subject, which)
        return SchemaVersion.model_validate(self._api.json("GET", path))

    def versions(self, subject: str) -> builtins.list[SchemaVersion]:
        path = _path("/v1/schemas/subjects/{}/versions", subject)
        return _VERSIONS.validate_python(self._api.json("GET", path))

    def subject(self, subject: str) -> SchemaSubject:
        path = _path("/v1/schemas/subjects/{}", subject)
        return SchemaSubject.model_validate(self._api.json("GET", path))

    def subjects(self) -> builtins.list[SchemaSubject]:
        return _SUBJECTS.validate_python(self._api.json("GET", "/v1/schemas/subjects"))

    def set_compatibility(self, subject: str, compatibility: str) -> SchemaSubject:
        path = _path("/v1/schemas/subjects/{}/compatibility", subject)
        found = self._api.json("PUT", path, json={"compatibility": compatibility})
        self._lookup.forget(subject)
        return SchemaSubject.model_validate(found)

    def delete(self, subject: str) -> None:
        self._api.request("DELETE", _path("/v1/schemas/subjects/{}", subject))
        self._lookup.forget(subject)


def _path(template: str, subject: str, *rest: object) -> str:
    # Checked here, as the server would: an escaped '/' in a name never reaches a route.
    return url_path(template, check_subject(subject), *rest)
