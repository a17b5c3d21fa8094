"""The service's OpenAPI 3.1 document, served at /api/openapi.json and rendered by /api/docs.

This module describes the service itself (its index, this document and the docs page) and the
one error body (`Error`, see `core.api`), and merges in the fragment of every installed app: a
module `<app>/openapi.py`, found the way the admin finds `admin.py` modules, that defines `PATHS`
(OpenAPI path items by path) and may define `SCHEMAS` (component schemas by name) and `TAGS`.
Fragments use the helpers below so that every part of the document is written the same way.
"""

from __future__ import annotations

import copy
import functools
import importlib
from typing import Any

from django.apps import apps
from django.conf import settings
from django.utils.module_loading import module_has_submodule

NUMBER_OR_NULL = {"type": ["number", "null"]}
INTEGER_OR_NULL = {"type": ["integer", "null"]}
TIME = {"type": "string", "format": "date-time"}
TIME_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
DATE = {"type": "string", "format": "date"}


def ref(name: str) -> dict[str, str]:
    """A reference to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def body(schema: dict[str, Any], description: str, media_type: str = "application/json") -> dict:
    """A response with one media type."""
    return {"description": description, "content": {media_type: {"schema": schema}}}


def error(description: str) -> dict[str, Any]:
    """A response carrying the one error body."""
    return body(ref("Error"), description)


def query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    """An optional query parameter."""
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _header(description: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "string"}}


def cacheable(operation: dict[str, Any], freshness: str) -> dict[str, Any]:
    """Document an operation's HTTP caching (`core.caching`): its conditional request headers,
    the validators and Cache-Control of its 200 (`freshness` says how long it stays fresh) and
    its 304."""
    operation.setdefault("parameters", []).extend(
        {
            "name": name,
            "in": "header",
            "required": False,
            "schema": {"type": "string"},
            "description": description,
        }
        for name, description in (
            ("If-None-Match", "ETags of copies the client holds: 304 when one is current."),
            (
                "If-Modified-Since",
                "An HTTP date: 304 when nothing changed since (ignored with If-None-Match).",
            ),
        )
    )
    validators = {
        "ETag": _header("Strong validator of this representation."),
        "Last-Modified": _header("When the data behind it last changed (an HTTP date)."),
        "Cache-Control": _header(f"`public, max-age=N`: {freshness}"),
    }
    operation["responses"]["200"]["headers"] = validators
    operation["responses"]["304"] = {
        "description": "Not Modified: the client's copy is current; empty body.",
        "headers": validators,
    }
    return operation


SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "description": "Every JSON error: a code for programs and a sentence for people.",
        "required": ["error", "detail"],
        "properties": {
            "error": {"type": "string", "description": "e.g. invalid_parameter, not_found"},
            "detail": {"type": "string"},
            "parameters": {
                "type": "object",
                "description": "With invalid_parameter: each bad parameter and what it must be.",
                "additionalProperties": {"type": "string"},
            },
            "correlation_id": {
                "type": ["string", "null"],
                "description": "The request's ID (also the X-Correlation-ID header): the logs"
                " hold the detail under it.",
            },
        },
    },
    "ServiceIndex": {
        "type": "object",
        "required": ["service", "version"],
        "properties": {
            "service": {"type": "string"},
            "version": {"type": "string"},
            "admin": {"type": "string"},
            "health": {"type": "string"},
            "api_docs": {"type": "string"},
            "openapi": {"type": "string"},
            "alerts_websocket": {"type": "string"},
        },
    },
}

PATHS: dict[str, Any] = {
    "/": {
        "get": {
            "tags": ["service"],
            "summary": "Service name, version and entry points",
            "operationId": "serviceIndex",
            "responses": {"200": body(ref("ServiceIndex"), "The service index.")},
        }
    },
    "/api/openapi.json": {
        "get": {
            "tags": ["service"],
            "summary": "This document",
            "operationId": "openapiDocument",
            "responses": {"200": body({"type": "object"}, "The OpenAPI document.")},
        }
    },
    "/api/docs": {
        "get": {
            "tags": ["service"],
            "summary": "A page that renders this document",
            "operationId": "apiDocs",
            "responses": {"200": body({"type": "string"}, "HTML page", "text/html")},
        }
    },
}

TAGS = [{"name": "service", "description": "The service itself."}]


def fragments() -> list[Any]:
    """The `openapi` module of every installed app that has one, in INSTALLED_APPS order."""
    return [
        importlib.import_module(f"{config.name}.openapi")
        for config in apps.get_app_configs()
        if module_has_submodule(config.module, "openapi") and config.name != __package__
    ]


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The whole document: this module's paths and schemas merged with every app's fragment."""
    paths, schemas, tags = copy.deepcopy(PATHS), copy.deepcopy(SCHEMAS), []
    for fragment in fragments():
        paths.update(copy.deepcopy(fragment.PATHS))
        schemas.update(copy.deepcopy(getattr(fragment, "SCHEMAS", {})))
        tags.extend(copy.deepcopy(getattr(fragment, "TAGS", [])))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "oracle",
            "version": settings.VERSION,
            "description": (
                "Self-hosted on-chain BTC/USD price (UTXOracle), whale alerts and health for"
                " Bitcoin node operators."
            ),
        },
        "tags": [*tags, *TAGS],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": schemas},
    }
