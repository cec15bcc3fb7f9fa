"""Settings shared by every environment. Values that differ between machines come from the environment."""

import sys
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parents[2]

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])

SUPPORTED_DATABASE_ENGINES = {
    "django.db.backends.postgresql": "PostgreSQL",
    "django.db.backends.sqlite3": "SQLite",
}


def database_from_url(url: str) -> dict:
    """Parse DATABASE_URL, or stop with one line that says what is wrong with it."""
    config = environ.Env.db_url_config(url) if "://" in url else {}
    if config.get("ENGINE") not in SUPPORTED_DATABASE_ENGINES or not config.get("NAME"):
        shown = url.split("@")[-1] if "@" in url else url  # never echo a password
        sys.exit(
            f"DATABASE_URL is not usable ({shown!r}): expected postgres://USER@HOST:PORT/NAME "
            "or sqlite:///PATH"
        )
    config["ATOMIC_REQUESTS"] = False
    return config


DATABASES = {"default": database_from_url(env("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"))}
# Persistent connections (seconds; 0 closes the connection after every request). A new PostgreSQL
# connection per request costs more than the API's consents read itself (issue 11); the health
# check replaces a connection the server has dropped instead of failing the request.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DJANGO_CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True


def owner_credentials(url: str, app_database: dict) -> dict | None:
    """DATABASE_OWNER_URL: the role that owns the tables, used by migrate (docs/database-roles.md).

    Only its credentials are kept; they replace the app role's on the default connection while
    migrate (and the guards it installs) runs. Unset, the one URL serves both (demo, SQLite, dev).
    """
    if not url:
        return None
    owner = database_from_url(url)
    if owner["ENGINE"] != app_database["ENGINE"] or owner["NAME"] != app_database["NAME"]:
        sys.exit("DATABASE_OWNER_URL must name the same database as DATABASE_URL, as its owner role")
    return {key: owner.get(key, "") for key in ("USER", "PASSWORD", "HOST", "PORT")}


DATABASE_OWNER = owner_credentials(env("DATABASE_OWNER_URL", default=""), DATABASES["default"])
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    # Our apps come first so that their templates and commands (e.g. the guarded flush) win.
    "shipex_privacy.core",
    "shipex_privacy.audit",
    "shipex_privacy.accounts",
    "shipex_privacy.catalogue",
    "shipex_privacy.subjects",
    "shipex_privacy.consents",
    "shipex_privacy.disclosures",
    "shipex_privacy.protection",
    "shipex_privacy.rights_requests",
    "shipex_privacy.retention",
    "shipex_privacy.integrations",
    "shipex_privacy.notifications",
    "shipex_privacy.api",
    "shipex_privacy.benchmarks",
    "shipex_privacy.jobs",
    # django.contrib.admin, with our AdminSite: it asks for a TOTP code when two-factor is on.
    "shipex_privacy.core.admin_site.ShipExAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "simple_history",
    # Login protection (README "Login protection"): lock-out after wrong passwords, staff TOTP.
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    # The HTTP API (shipex_privacy/api/) and its OpenAPI schema; the docs' assets come from the sidecar.
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Background jobs' schedules kept in the database and edited in the admin (README "Background jobs").
    "django_celery_beat",
]

MIDDLEWARE = [
    # First: the API's answers say how long the whole chain below took (Server-Timing).
    "shipex_privacy.api.middleware.ServerTimingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # django-csp's Content-Security-Policy; pages exempt from X-Frame-Options may be framed by the website.
    "shipex_privacy.core.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "shipex_privacy.core.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Tells the admin whether this session's sign-in was verified by an authenticator (TOTP).
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Lets history rows know who acted and from which address.
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: turns a lock-out into our login page with its message.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
AUTHENTICATION_BACKENDS = [
    # First, as django-axes asks: refuses a locked-out username + address before any password check.
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, with a staff member's permissions read in one query (the subject page, issue 15).
    "shipex_privacy.accounts.backends.ModelBackendOneQuery",
]

# Uzbek (Latin) is the default; staff switch language from the admin header.
LANGUAGE_CODE = "uz"
LANGUAGES = [
    ("uz", _("Uzbek")),
    ("ru", _("Russian")),
    ("en", _("English")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Tashkent"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# Files that hold personal data (access packages, disclosure exports) live outside anything a web server serves;
# the admin hands them out one logged download at a time.
PRIVATE_FILES_ROOT = Path(env("SHIPEX_PRIVATE_FILES_ROOT", default=str(BASE_DIR / "var" / "private")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "access_packages": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": PRIVATE_FILES_ROOT / "access-packages", "base_url": None},
    },
    "disclosure_exports": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": PRIVATE_FILES_ROOT / "disclosure-exports", "base_url": None},
    },
}

# ---- Staff e-mail (shipex_privacy/notifications/) ------------------------------------------------
# EMAIL_URL says where mail goes: smtp+tls://USER:PASSWORD@HOST:587 (STARTTLS) or smtp+ssl://…:465 in production;
# consolemail:// (the default here) prints mails; the demo (local.py) writes them to var/mail/.
# The single EMAIL_* variables (EMAIL_HOST, …) override the URL's parts where set.
EMAIL_CONFIG = {key: value for key, value in env.email_url("EMAIL_URL", default="consolemail://").items()
                if value not in (None, "")}
EMAIL_BACKEND = EMAIL_CONFIG["EMAIL_BACKEND"]
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=EMAIL_CONFIG.get("EMAIL_USE_TLS", False))
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=EMAIL_CONFIG.get("EMAIL_USE_SSL", False))
EMAIL_HOST = env("EMAIL_HOST", default=EMAIL_CONFIG.get("EMAIL_HOST", "localhost"))
EMAIL_PORT = env.int("EMAIL_PORT", default=EMAIL_CONFIG.get("EMAIL_PORT", 25))
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default=EMAIL_CONFIG.get("EMAIL_HOST_USER", ""))
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default=EMAIL_CONFIG.get("EMAIL_HOST_PASSWORD", ""))
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)  # a hung mail server must not hang a job
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL",
                         default="ShipEx privacy back office <privacy-noreply@shipex.uz>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Mails link to admin pages by absolute URL: the address staff open the back office at.
SHIPEX_BASE_URL = env("SHIPEX_BASE_URL", default="http://127.0.0.1:8000")

# History is evidence: it is never reverted from the admin, and reading it needs its own permission.
SIMPLE_HISTORY_REVERT_DISABLED = True
SIMPLE_HISTORY_ENFORCE_HISTORY_MODEL_PERMISSIONS = True
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

# Only the test settings may lift the append-only guards, and only around the test runner's flush.
AUDIT_GUARDS_REMOVABLE = False
# Key of the keyed MACs that make history and access logs tamper-evident (docs/audit.md). Kept
# out of the database, so that write access to the database is not enough to forge a row.
AUDIT_SEAL_KEY = env("AUDIT_SEAL_KEY", default="")

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# ---- Login protection (clause 1.7.1; README "Login protection") -------------------------------

# Lock-out (django-axes). Five wrong passwords lock out that username *from that address* for 30
# minutes. Keyed by the combination, so that somebody guessing from elsewhere cannot lock a staff
# member out of their own office (a username-only key would let anyone do that at will). The price:
# one address may try four passwords on each of several usernames; the 12-character password rule
# and, in production, the authenticator code make that useless. Attempts during the lock-out are
# refused without restarting the 30 minutes, so the message can say when it ends.
# `manage.py axes_reset_username USERNAME` lifts it sooner. Failures are kept in the database
# (axes' AccessAttempt), shared by every worker.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=30)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
# The failed form is kept with the attempt; never the password (axes masks it) nor the code.
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "otp_token"]
# Our login page with the reason, in the staff member's language, instead of axes' plain text.
AXES_LOCKOUT_CALLABLE = "shipex_privacy.core.login.locked_out_response"
# The same client address as the access log and history record (REMOTE_ADDR): behind a proxy,
# the WSGI server must put the client's address there, or every staff member shares the proxy's.
AXES_CLIENT_IP_CALLABLE = "shipex_privacy.audit.access.client_address"

# Two-factor sign-in (django-otp, TOTP authenticator apps) for every staff account. On here and
# pinned on in production.py; the demo (local.py) and the test settings switch it off and the
# login page says so. Staff get their authenticator from `manage.py enrol_totp USERNAME`.
SHIPEX_TWO_FACTOR_REQUIRED = True
OTP_TOTP_ISSUER = "ShipEx privacy back office"
# The admin never shows an authenticator's secret or QR code again once it exists (that secret
# lets anyone produce the staff member's codes); a lost phone gets a new one from enrol_totp.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# Idle sessions end after 30 minutes; every request starts the 30 minutes again.
SESSION_COOKIE_AGE = 30 * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# The operator of personal data as consents and their receipts name it (Ministry of Justice model
# procedure on consent, 15.11.2023 no. 3478): the legal name and the 9-digit TIN (STIR/ИНН).
# The defaults are demo values; a system check (consents.E001) refuses a TIN that is not 9 digits.
SHIPEX_OPERATOR_NAME = env("SHIPEX_OPERATOR_NAME", default="ShipEx LLC")
SHIPEX_OPERATOR_TIN = env("SHIPEX_OPERATOR_TIN", default="301234567")

# Headers from Django's SecurityMiddleware (its defaults, stated so that nobody loosens them unseen).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Content-Security-Policy (django-csp 4). Only our own static files run or style anything: no
# inline script or style, no plug-ins, forms post only to us, and no page may be framed (like
# X_FRAME_OPTIONS) except those exempt from X-Frame-Options — the public cookie register —
# which the ShipEx website may frame (core.middleware.ContentSecurityPolicyMiddleware).
SHIPEX_WEBSITE_ORIGINS = env.list("SHIPEX_WEBSITE_ORIGINS", default=["https://shipex.uz", "https://www.shipex.uz"])
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}


# The API's per-client rate limits are counted in the cache: one shared by every worker in
# production (CACHE_URL=redis://…); this process's memory by default (demo, tests).
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# The HTTP API (README "Intake API"). Every view is a ClientView: token, scope, rate limit.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["shipex_privacy.api.authentication.ClientTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["shipex_privacy.api.permissions.HasScope"],
    "DEFAULT_THROTTLE_CLASSES": ["shipex_privacy.api.throttles.ClientRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "shipex_privacy.api.problems.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ShipEx privacy back office API",
    "DESCRIPTION": "How ShipEx's systems feed the privacy back office: subjects, events, requests, consents.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # One name per choice set in the schema, where several serializers share a field name.
    "ENUM_NAME_OVERRIDES": {
        "RequestKindEnum": "shipex_privacy.rights_requests.models.SubjectRequest.Kind",
        "RequestStatusEnum": "shipex_privacy.rights_requests.models.SubjectRequest.Status",
        "LanguageEnum": "shipex_privacy.subjects.models.DataSubject.Language",
        "RecipientKindEnum": "shipex_privacy.consents.models.RecipientKind",
        "SubjectStatusEnum": "shipex_privacy.subjects.models.DataSubject.Status",
        "AddressKindEnum": "shipex_privacy.subjects.models.Address.Kind",
        "EventRecipientKindEnum": "shipex_privacy.api.event_serializers.RECIPIENT_KIND_OR_NONE",
    },
}


# ---- Background jobs (Celery; README "Background jobs") ---------------------------------------

# Production: redis://HOST:6379/0, one Redis shared by every web and worker machine. The default,
# for `make demo`, is kombu's file-system transport: messages are files under var/celery, so the
# demo needs no server. Every Celery setting below is read by config/celery.py (namespace CELERY).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
CELERY_QUEUE_DIR = Path(env("SHIPEX_CELERY_QUEUE_DIR", default=str(BASE_DIR / "var" / "celery")))
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {"data_folder_in": str(CELERY_QUEUE_DIR / "messages"), "data_folder_out": str(CELERY_QUEUE_DIR / "messages"),
     "control_folder": str(CELERY_QUEUE_DIR / "control"), "store_processed": False}
    if CELERY_BROKER_URL.startswith("filesystem:") else {}
)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# No result backend: what a job did is its JobRun row (shipex_privacy/jobs), not a Celery result.
CELERY_TASK_IGNORE_RESULT = True
# Every job is idempotent, so a task whose worker died mid-way is delivered again rather than lost.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
# Schedules are data: django-celery-beat's tables, edited in the admin (Periodic tasks).
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The outbox (shipex_privacy/integrations): a message is marked dead after this many failed
# deliveries (exponential back-off with jitter between them), and shown in the admin with a retry.
OUTBOX_MAX_ATTEMPTS = env.int("SHIPEX_OUTBOX_MAX_ATTEMPTS", default=8)
# Webhook URLs must be https; plain http to this machine (a local receiver) only where this is on,
# by default only with DEBUG (the demo).
WEBHOOKS_ALLOW_LOCAL_HTTP = env.bool("SHIPEX_WEBHOOKS_ALLOW_LOCAL_HTTP", default=DEBUG)
# Job runs are kept this many days (the outbox alone records one every ten seconds), then pruned.
SHIPEX_JOB_RUNS_KEPT_DAYS = env.int("SHIPEX_JOB_RUNS_KEPT_DAYS", default=180)
# How long /healthz waits for the broker before it reports it down (seconds).
SHIPEX_HEALTHZ_BROKER_TIMEOUT = env.float("SHIPEX_HEALTHZ_BROKER_TIMEOUT", default=2.0)
