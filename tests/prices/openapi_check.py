"""Check responses against the service's OpenAPI document."""

from __future__ import annotations

import json
from typing import Any

from openapi_schema_validator import OAS31Validator

from core.openapi import openapi_document


def documented_response(path: str, status: int, method: str = "get") -> dict[str, Any]:
    """The document's description of a status of an operation (KeyError: undocumented)."""
    return openapi_document()["paths"][path][method]["responses"][str(status)]


def assert_matches_openapi(path: str, status: int, content_type: str, body: bytes) -> Any:
    """Fail unless the status, the media type and the JSON body are what the document says."""
    response = documented_response(path, status)
    media_type = content_type.split(";")[0].strip()
    assert media_type in response["content"], f"{path} {status}: undocumented {media_type}"
    if media_type != "application/json":
        return body.decode()
    payload = json.loads(body)
    schema = {**response["content"][media_type]["schema"], **_components()}
    OAS31Validator(schema, format_checker=OAS31Validator.FORMAT_CHECKER).validate(payload)
    return payload


def _components() -> dict[str, Any]:
    return {"components": openapi_document()["components"]}


def check_response(path: str, response: Any) -> Any:
    """assert_matches_openapi for a Django test client response."""
    return assert_matches_openapi(
        path, response.status_code, response["Content-Type"], response.content
    )
