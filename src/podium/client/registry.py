"""The model registry over HTTP: the same interface as the embedded RegistryService.

``register`` saves the model with its flavor and infers the signature here, then uploads
the file; ``load`` resolves the ref, downloads that exact version's file, checks it
against the sha256 the registry recorded and only then deserialises it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter

from podium.client.http import ApiClient, url_path
from podium.data.catalog.models import MAX_DEPTH
from podium.errors import IntegrityError, InvalidInputError
from podium.registry.flavors import PodiumModel, flavor_for
from podium.registry.refs import check_model_name, parse_ref
from podium.registry.signature import Rows, Signature, check_signature, infer_signature
from podium.registry.types import (
    ModelLineage,
    ModelPolicy,
    ModelVersion,
    RegisteredModel,
    TransitionRequest,
)

__all__ = ["HttpRegistry"]

_MODELS = TypeAdapter(list[RegisteredModel])
_VERSIONS = TypeAdapter(list[ModelVersion])
_REQUESTS = TypeAdapter(list[TransitionRequest])
_SHA256_HEADER = "x-podium-sha256"


def _name(name: str) -> str:
    return check_model_name(name)  # fails here as it fails embedded


def _ref(ref: str) -> str:
    return str(parse_ref(ref))


class HttpRegistry:
    """The model registry of a podium server's project."""

    def __init__(self, api: ApiClient) -> None:
        self._api = api

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
        path = url_path("/v1/models/{}/versions", _name(name))
        if input_example is None and signature is None:
            raise InvalidInputError(
                "registering a model needs an input example (or a signature)",
                field="input_example",
                remedy="pass input_example=X[:5], a few rows of the training data",
            )
        if signature is not None:
            signature = check_signature(signature)
        flavor = flavor_for(model)
        data = flavor.save(model)
        if signature is None:
            assert input_example is not None  # checked above
            unchecked = PodiumModel(
                model, flavor=flavor.name, signature=infer_signature(input_example)
            )
            signature = infer_signature(input_example, unchecked.predict(input_example))
        params: dict[str, Any] = {
            "flavor": flavor.name,
            "signature": signature.model_dump_json(),
            "description": description,
        }
        if run_id is not None:
            params["run_id"] = run_id
        if tags is not None:
            params["tags"] = json.dumps(dict(tags))
        if derived_from is not None:
            params["derived_from"] = derived_from
        answer = self._api.json("POST", path, content=data, params=params)
        return ModelVersion.model_validate(answer)

    def get_model(self, name: str) -> RegisteredModel:
        return RegisteredModel.model_validate(
            self._api.json("GET", url_path("/v1/models/{}", _name(name)))
        )

    def get_version(self, ref: str) -> ModelVersion:
        answer = self._api.json("GET", url_path("/v1/models/{}/version", _ref(ref)))
        return ModelVersion.model_validate(answer)

    def list_models(self) -> list[RegisteredModel]:
        return _MODELS.validate_python(self._api.json("GET", "/v1/models"))

    def list_versions(self, name: str) -> list[ModelVersion]:
        answer = self._api.json("GET", url_path("/v1/models/{}/versions", _name(name)))
        return _VERSIONS.validate_python(answer)

    def load(self, ref: str) -> PodiumModel:
        version = self.get_version(ref)
        response = self._api.request("GET", url_path("/v1/models/{}/artifact", _ref(version.ref)))
        data = response.content
        digest = hashlib.sha256(data).hexdigest()
        sent = response.headers.get(_SHA256_HEADER, "")
        if digest != version.artifact_digest.removeprefix("sha256:") or sent not in (
            "",
            version.artifact_digest,
        ):
            raise IntegrityError(
                f"the file of model {version.ref} does not match the sha256 the registry "
                f"recorded ({version.artifact_digest}); got {digest} instead",
                remedy="retry the download; if it persists, the stored artifact was altered",
            )
        signature = Signature.model_validate(version.signature or {"inputs": []})
        return PodiumModel.from_bytes(data, flavor=version.flavor, signature=signature)

    def set_alias(self, name: str, alias: str, version: int) -> ModelVersion:
        path = url_path("/v1/models/{}/aliases/{}", _name(name), alias)
        answer = self._api.json("PUT", path, json={"version": version})
        return ModelVersion.model_validate(answer)

    def delete_alias(self, name: str, alias: str) -> None:
        self._api.request("DELETE", url_path("/v1/models/{}/aliases/{}", _name(name), alias))

    def request_transition(
        self, name: str, version: int, stage: str, *, comment: str = ""
    ) -> TransitionRequest:
        body = {"version": version, "stage": stage, "comment": comment}
        answer = self._api.json(
            "POST", url_path("/v1/models/{}/transitions", _name(name)), json=body
        )
        return TransitionRequest.model_validate(answer)

    def approve(self, request_id: str, *, comment: str = "") -> TransitionRequest:
        return self._decide(request_id, "approve", comment)

    def reject(self, request_id: str, *, comment: str = "") -> TransitionRequest:
        return self._decide(request_id, "reject", comment)

    def get_request(self, request_id: str) -> TransitionRequest:
        answer = self._api.json("GET", url_path("/v1/transition-requests/{}", request_id))
        return TransitionRequest.model_validate(answer)

    def list_requests(
        self, name: str | None = None, *, status: str | None = None
    ) -> list[TransitionRequest]:
        params = {k: v for k, v in {"name": name, "status": status}.items() if v is not None}
        answer = self._api.json("GET", "/v1/transition-requests", params=params)
        return _REQUESTS.validate_python(answer)

    def set_policy(self, name: str, policy: ModelPolicy | Mapping[str, Any]) -> RegisteredModel:
        body = policy.model_dump(mode="json") if isinstance(policy, ModelPolicy) else policy
        answer = self._api.json(
            "PUT", url_path("/v1/models/{}/policy", _name(name)), json=dict(body)
        )
        return RegisteredModel.model_validate(answer)

    def lineage(self, ref: str, *, depth: int = MAX_DEPTH) -> ModelLineage:
        path = url_path("/v1/models/{}/lineage", _ref(ref))
        return ModelLineage.model_validate(self._api.json("GET", path, params={"depth": depth}))

    def _decide(self, request_id: str, decision: str, comment: str) -> TransitionRequest:
        path = url_path("/v1/transition-requests/{}/{}", request_id, decision)
        return TransitionRequest.model_validate(
            self._api.json("POST", path, json={"comment": comment})
        )
