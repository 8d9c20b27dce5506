"""Health probes from a load balancer: /api/health answers whatever Host header the probe sends.

A probe from 127.0.0.1 or a private address rarely sends the public host name; Django would
refuse it (DisallowedHost, a 400 logged as an error with a traceback), and with
SECURE_SSL_REDIRECT a plain-HTTP probe would be redirected. This middleware, first in the list,
gives such a request a host Django accepts before anything else reads it. Nothing but the health
path is touched.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse

HEALTH_PATH = "/api/health"


class HealthProbeHostMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == HEALTH_PATH:
            try:
                request.get_host()
            except DisallowedHost:
                allowed = [host for host in settings.ALLOWED_HOSTS if host != "*" and not host.startswith(".")]
                request.META["HTTP_HOST"] = allowed[0] if allowed else "localhost"
        return self.get_response(request)
