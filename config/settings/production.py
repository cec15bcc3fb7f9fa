"""Production settings: refuse to start unless the environment is safe."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env

if env.bool("DJANGO_DEBUG", default=False):
    raise ImproperlyConfigured("DJANGO_DEBUG must be off in production.")
DEBUG = False

SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
KNOWN_UNSAFE_KEYS = {"", "local-development-only-not-a-secret", "test-suite-only-not-a-secret"}
if SECRET_KEY in KNOWN_UNSAFE_KEYS or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be set to a random value of at least 50 characters in production."
    )

# The audit seal key makes history and access logs tamper-evident; without a real one, anybody
# who can write to the database could forge the evidence (docs/audit.md).
AUDIT_SEAL_KEY = env("AUDIT_SEAL_KEY", default="")
KNOWN_UNSAFE_SEAL_KEYS = {"", "local-development-only-audit-seal-key", "test-suite-only-audit-seal-key"}
if AUDIT_SEAL_KEY in KNOWN_UNSAFE_SEAL_KEYS or len(AUDIT_SEAL_KEY) < 32 or AUDIT_SEAL_KEY == SECRET_KEY:
    raise ImproperlyConfigured(
        "AUDIT_SEAL_KEY must be set to a random value of at least 32 characters, other than DJANGO_SECRET_KEY, "
        "in production."
    )

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
AUDIT_GUARDS_REMOVABLE = False

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
# "__Host-" cookies are accepted by browsers only from HTTPS, for this host alone and the whole
# path: a sibling subdomain cannot plant or overwrite them.
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken"
LANGUAGE_COOKIE_SECURE = True
LANGUAGE_COOKIE_HTTPONLY = True

# Every staff sign-in needs the authenticator code as well as the password (README "Login
# protection"). Pinned here, not read from the environment: production cannot be talked out of it.
SHIPEX_TWO_FACTOR_REQUIRED = True
