"""The health endpoints answer what the service's OpenAPI document says, in both shapes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openapi_schema_validator import OAS31Validator

from core.openapi import openapi_document
from tests.health.price_store import publish_garbage
from tests.health.upstreams import Upstreams

pytestmark = pytest.mark.django_db


def assert_documented(path: str, response) -> dict:
    """Fail unless the status, media type and body match the document."""
    document = openapi_document()
    documented = document["paths"][path]["get"]["responses"][str(response.status_code)]
    media_type = response["Content-Type"].split(";")[0]
    assert media_type in documented["content"], f"{path}: undocumented {media_type}"
    schema = {**documented["content"][media_type]["schema"], "components": document["components"]}
    body = json.loads(response.content)
    OAS31Validator(schema, format_checker=OAS31Validator.FORMAT_CHECKER).validate(body)
    return body


async def test_healthy_and_ietf_answers_are_documented(async_client, stack: Upstreams) -> None:
    assert_documented("/health", await async_client.get("/health"))
    ietf = await async_client.get("/health", headers={"Accept": "application/health+json"})
    assert assert_documented("/health", ietf)["status"] == "pass"
    assert_documented("/health/live", await async_client.get("/health/live"))
    assert_documented("/health/ready", await async_client.get("/health/ready"))
    assert_documented("/health", await async_client.get("/health?format=yaml"))


async def test_unhealthy_answers_are_documented(async_client, stack, settings) -> None:
    publish_garbage(Path(settings.DUCKDB_PATH))
    body = assert_documented("/health", await async_client.get("/health"))
    assert (body["status"], body["gaps_detected"]) == ("unhealthy", None)
    ietf = await async_client.get("/health?format=ietf")
    assert assert_documented("/health", ietf)["status"] == "fail"
    ready = await async_client.get("/health/ready")
    assert assert_documented("/health/ready", ready)["status"] == "unready"


def test_the_fragment_replaces_the_outline() -> None:
    operation = openapi_document()["paths"]["/health"]["get"]
    assert operation["parameters"][0]["name"] == "format"
    assert "application/health+json" in operation["responses"]["503"]["content"]
