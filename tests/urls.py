"""The service's routes plus a view that fails, to test error responses and logs, and one that
names the serving process, to test several web processes on one port."""

import os

import structlog
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path

from oracle.urls import handler404, handler500

__all__ = ["handler404", "handler500", "urlpatterns"]


def boom(request: HttpRequest) -> HttpResponse:
    structlog.get_logger("tests").info("about_to_fail")
    raise RuntimeError("deliberate failure for tests")


def pid(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"pid": os.getpid()})


urlpatterns = [
    path("_test/boom", boom),
    path("_test/pid", pid),
    path("api/_test/boom", boom),
    path("", include("oracle.urls")),
]
