"""Each client's own rate limit (requests per minute, kept in the admin); 429 with Retry-After beyond it."""

from rest_framework.throttling import SimpleRateThrottle


class ClientRateThrottle(SimpleRateThrottle):
    scope = "client"

    def get_rate(self):
        return None  # the rate is the client's own, read per request in allow_request

    def allow_request(self, request, view):
        token = request.auth
        if token is None:
            return True  # unauthenticated calls are refused before anything is done
        # SimpleRateThrottle lets everything through while ``rate`` is None: set the client's own.
        self.rate = f"{token.client.rate_limit}/m"
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": request.auth.client_id}
