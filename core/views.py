"""The API's own pages (the OpenAPI document and a page that renders it, offline) and the error
pages of the JSON endpoints."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views import defaults

from core.api import ApiError, api_view, not_found
from core.openapi import openapi_document


@api_view()
def openapi_json(request: HttpRequest) -> HttpResponse:
    return JsonResponse(openapi_document())


@api_view()
def api_docs(request: HttpRequest) -> HttpResponse:
    return render(request, "core/api_docs.html")


def _is_machine(request: HttpRequest) -> bool:
    return request.path.startswith(settings.MACHINE_PATH_PREFIXES)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404: the error body under the JSON prefixes, Django's page elsewhere."""
    if _is_machine(request):
        return not_found(f"no endpoint at {request.path[:200]}").response()
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """500: the error body under the JSON prefixes (the correlation ID header says which
    request to look for in the logs), Django's page elsewhere."""
    if _is_machine(request):
        return ApiError(500, "internal_error", "the server failed; see its logs").response()
    return defaults.server_error(request)
