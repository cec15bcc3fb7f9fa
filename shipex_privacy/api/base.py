"""The base of every v1 view: a client's token, its scopes, its rate limit, problem+json errors."""

from rest_framework.views import APIView

from shipex_privacy.audit.events import ApiActor

from .authentication import ClientTokenAuthentication
from .permissions import HasScope
from .throttles import ClientRateThrottle

REASON_HEADER = "X-Reason"


class ClientView(APIView):
    """Subclasses set ``required_scopes = {"PUT": Scope.SUBJECTS_WRITE, ...}``."""

    authentication_classes = [ClientTokenAuthentication]
    permission_classes = [HasScope]
    throttle_classes = [ClientRateThrottle]
    required_scopes: dict[str, str] = {}

    @property
    def actor(self) -> ApiActor:
        return self.request.user

    def reason(self, default: str) -> str:
        """The reason the call gives (``X-Reason`` header), or ``default``, which names the clause."""
        given = self.request.headers.get(REASON_HEADER, "").strip()
        return given[:500] or str(default)
