"""``Server-Timing`` on every API answer: how long the back office took, for the calling systems'
monitoring and for benchmark_intake's "server time" (the network and the client's side excluded)."""

import time

API_PREFIX = "/api/"


class ServerTimingMiddleware:
    """First in MIDDLEWARE, so the time covers every other middleware, the view and the database."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        response["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response
