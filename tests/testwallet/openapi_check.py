"""Validate every response the tests see against the official Open Payments OpenAPI specs.

The specs are the ones the pinned ``@interledger/open-payments`` npm package ships (``tests/node``, installed
by ``make test``); without them the tests that validate skip, or fail under ``CI=true``.

Responses are matched to an operation by URL (our layout: ``<base>/<wallet>``, ``<base>/auth/...``,
``<base>/op/<tenant>/...``) and checked with openapi-core. When the spec does not declare the status
for that operation (e.g. Rafiki's ``400 invalid amount`` on ``POST /incoming-payments``, or an injected
``503``), the body must still match the spec's own error schema: ``error-response`` for the resource
server, one of the ``error-*`` schemas for the auth server. Consent and admin routes are not Open Payments.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import yaml
from openapi_core import OpenAPI
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.testing import MockRequest, MockResponse

from tests.services import ROOT, require

SPECS = ROOT / "tests/node/node_modules/@interledger/open-payments/dist/openapi/specs"
SPEC_NAMES = ("auth-server", "resource-server", "wallet-address-server")
HOST = "http://testwallet.test"


def _drop_ref_siblings(node: Any) -> None:
    """Remove ``additionalProperties`` written next to a ``$ref``.

    The list responses say ``items: {$ref: incoming-payment, additionalProperties: false}``. Under
    JSON Schema 2020-12 (OpenAPI 3.1) that sibling forbids *every* property, so no non-empty list could
    ever be valid; the official SDK's validator (AJV through @interledger/openapi) ignores it, as
    OpenAPI 3.0 did. We read it the way the SDK does.
    """
    if isinstance(node, dict):
        if "$ref" in node:
            node.pop("additionalProperties", None)
        for value in node.values():
            _drop_ref_siblings(value)
    elif isinstance(node, list):
        for value in node:
            _drop_ref_siblings(value)


def require_specs() -> Path:
    """The folder of the OpenAPI specs; skips the calling test (fails under CI=true) when it is missing."""
    present = all((SPECS / f"{name}.yaml").is_file() for name in SPEC_NAMES)
    require(present, "@interledger/open-payments (its OpenAPI specs)", "run `make test` (it runs `npm ci`)")
    return SPECS


def _load(name: str) -> dict[str, Any]:
    spec = yaml.safe_load((require_specs() / f"{name}.yaml").read_text())
    spec["servers"] = [{"url": HOST}]
    _drop_ref_siblings(spec)
    return spec  # type: ignore[no-any-return]


def _error_schema(spec: dict[str, Any], refs: list[str]) -> jsonschema.protocols.Validator:
    schema = {
        "oneOf": [{"$ref": f"#/components/schemas/{ref}"} for ref in refs],
        "components": spec["components"],
    }
    return jsonschema.Draft202012Validator(schema)


_ID_SEGMENT = re.compile(r"/(?:continue|token|incoming-payments|quotes|outgoing-payments)/([^/]+)")


def _template(path: str) -> str:
    """``/incoming-payments/<uuid>/complete`` -> ``/incoming-payments/{id}/complete``."""
    return _ID_SEGMENT.sub(lambda m: m.group(0)[: -len(m.group(1))] + "{id}", path)


class SpecViolation(AssertionError):
    """A response that the Open Payments specs do not allow."""


@dataclass
class SpecValidator:
    """Maps our URLs to spec operations and validates responses; counts what it checked."""

    base_url: str
    tenant: str
    checked: Counter[str] = field(default_factory=Counter)
    undeclared: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        specs = {name: _load(name) for name in SPEC_NAMES}
        self.apis = {name: OpenAPI.from_dict(spec) for name, spec in specs.items()}
        self.error_schemas = {
            "auth-server": _error_schema(
                specs["auth-server"],
                [
                    "error-invalid-client",
                    "error-invalid-request",
                    "error-request-denied",
                    "error-too-fast",
                    "error-invalid-continuation",
                    "error-invalid-rotation",
                ],
            ),
            "resource-server": _error_schema(specs["resource-server"], ["error-response"]),
        }

    def operation(self, method: str, url: str) -> tuple[str, str] | None:
        """(spec name, path in the spec) for one of our URLs, or None when it is not Open Payments."""
        path = httpx.URL(url).path
        base_path = httpx.URL(self.base_url).path.rstrip("/")
        path = path[len(base_path) :] if base_path and path.startswith(base_path) else path
        auth_prefix = "/auth/"
        rs_prefix = f"/op/{self.tenant}"
        if path == f"/auth/{self.tenant}":
            return "auth-server", "/"
        if path.startswith(auth_prefix + "continue/") or path.startswith(auth_prefix + "token/"):
            return "auth-server", path[len("/auth") :]
        if path.startswith(rs_prefix + "/"):
            return "resource-server", path[len(rs_prefix) :]
        segments = path.strip("/").split("/")
        if path.startswith(("/_", "/auth/", "/op/")) or not segments[0]:
            return None
        if len(segments) == 1:
            return "wallet-address-server", "/"
        if len(segments) == 2 and segments[1] == "jwks.json":
            return "wallet-address-server", "/jwks.json"
        return None

    def validate(self, response: httpx.Response) -> None:
        """Raise SpecViolation when ``response`` is not allowed by the spec of its operation."""
        request = response.request
        operation = self.operation(request.method, str(request.url))
        if operation is None:
            return
        spec, path = operation
        label = f"{request.method} {spec} {_template(path)} {response.status_code}"
        content_type = response.headers.get("content-type", "application/json").split(";")[0]
        mock_request = MockRequest(HOST, request.method.lower(), path, args=dict(request.url.params))
        mock_response = MockResponse(
            response.content,
            status_code=response.status_code,
            headers=dict(response.headers),
            content_type=content_type,
        )
        try:
            self.apis[spec].validate_response(mock_request, mock_response)
        except ResponseNotFound:
            self._validate_undeclared(spec, response, label)
            with self._lock:
                self.undeclared[label] += 1
        except Exception as exc:  # openapi-core raises a family of validation errors
            raise SpecViolation(f"{label}: {exc}\nbody: {response.text[:2000]}") from exc
        with self._lock:
            self.checked[label] += 1

    def _validate_undeclared(self, spec: str, response: httpx.Response, label: str) -> None:
        if spec == "wallet-address-server":
            return  # its 404 declares no body
        try:
            body = json.loads(response.content)
        except ValueError as exc:
            raise SpecViolation(
                f"{label}: undeclared status with a non-JSON body: {response.text[:500]}"
            ) from exc
        errors = list(self.error_schemas[spec].iter_errors(body))
        if errors:
            raise SpecViolation(f"{label}: body does not match the spec's error schema: {errors[0].message}")
