"""Django settings, read from the environment (django-environ) with safe local defaults.

Environment variables, by topic:
- core: SECRET_KEY (required when DEBUG is off, then 50+ characters), DEBUG (default on), ALLOWED_HOSTS,
  CSRF_TRUSTED_ORIGINS, CORS_ALLOWED_ORIGINS;
- data: DATABASE_URL (default SQLite db.sqlite3 here), CONN_MAX_AGE, ARTIFACTS_DIR, UPLOADS_DIR,
  MAX_UPLOAD_BYTES, XDG_DATA_HOME (parent of the two default folders), STATIC_ROOT;
- ingest limits: INGEST_MAX_DECOMPRESSED_BYTES, INGEST_MAX_LINE_BYTES, INGEST_MAX_FIELDS,
  INGEST_MAX_COMPRESSION_RATIO;
- API: API_ALLOW_ANONYMOUS_READ, API_USER_RATE, API_ANON_RATE;
- login: TOKEN_TTL_HOURS, API_LOGIN_RATE, LOGIN_FAILURE_LIMIT, LOGIN_COOLOFF_MINUTES, CACHE_URL;
- worker: Q_REDIS_URL, Q_WORKERS, Q_TIMEOUT, Q_RETRY, Q_SYNC, HEARTBEAT_SECONDS, STALE_AFTER_SECONDS;
- cases: CASE_WINDOW_DAYS, CASE_SLA_HOURS; webhooks: WEBHOOK_TIMEOUT_SECONDS;
- detection: DETECTION_LABEL_PROVIDER (where training reads verdicts; empty = no labels);
- HTTPS: SECURE_COOKIES, SECURE_SSL_REDIRECT, SECURE_HSTS_SECONDS, SECURE_HSTS_INCLUDE_SUBDOMAINS,
  SECURE_HSTS_PRELOAD (the last two off unless set);
- logs: LOG_LEVEL, LOG_FORMAT (plain or json).
"""

import logging
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
import environ
from django.urls import reverse_lazy

from anomaly_site.logging_config import logging_config

# Quiet TensorFlow's C++ logs in every process, errors at start-up included (must precede its import).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

DEBUG = env.bool("DEBUG", default=True)
_DEV_SECRET_KEY = "django-insecure-local-development-key-not-for-production"
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("SECRET_KEY must be set in the environment when DEBUG is off.")

# --- Trust: a production SECRET_KEY long enough to resist guessing ----------------------------------
MIN_SECRET_KEY_LENGTH = 50  # what Django's check --deploy (security.W009) asks for
if not DEBUG and len(SECRET_KEY) < MIN_SECRET_KEY_LENGTH:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        f"SECRET_KEY is {len(SECRET_KEY)} characters long; with DEBUG off it must have at least "
        f"{MIN_SECRET_KEY_LENGTH} random characters: python -c 'import secrets; print(secrets.token_urlsafe(50))'."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "corsheaders",
    "rest_framework",
    "knox",
    "axes",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_plotly_dash.apps.DjangoPlotlyDashConfig",
    "dpd_static_support",
    "django_q",
    # The project's apps, lowest first: each imports only those above it in this list.
    "core",
    "jobs",
    "webhooks",
    "transactions",
    "detection",
    "decisions",
    "reviews",
    "cases",
    "monitoring",
    "dashboard",
    "api",
    "exports",
    "profiles",
]

MIDDLEWARE = [
    # First: a load balancer's probe of /api/health gets an accepted Host before anything reads it.
    "core.probes.HealthProbeHostMiddleware",
    "core.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_plotly_dash.middleware.BaseMiddleware",
    # Innermost, so its process_exception sees a view's database errors first: 503, not 500.
    "core.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "anomaly_site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "anomaly_site.wsgi.application"
ASGI_APPLICATION = "anomaly_site.asgi.application"

# SQLite in the project folder by default; WAL lets the web server read while the worker writes.
DATABASES = {
    "default": dj_database_url.parse(
        env.str("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env.int("CONN_MAX_AGE", default=0),
        # A persistent connection broken by a database restart is replaced at the next request.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
# The source file records UK wall-clock time.
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "django_plotly_dash.finders.DashAssetFinder",
    "django_plotly_dash.finders.DashComponentFinder",
    "django_plotly_dash.finders.DashAppDirectoryFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "core.storage.StaticFilesStorage" if not DEBUG else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG
# Fixed at start-up: pytest turns settings.DEBUG off at run time, and WhiteNoise with finders but
# without autorefresh lists every finder's files, which django-plotly-dash's finder cannot do.
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = reverse_lazy("admin:login")
LOGIN_REDIRECT_URL = reverse_lazy("dashboard:index")

# Model artifacts and uploaded files live outside the repository and outside any served path.
_DATA_HOME = Path(env.str("XDG_DATA_HOME", default=str(Path.home() / ".local" / "share")))
ARTIFACTS_DIR = Path(env.str("ARTIFACTS_DIR", default=str(_DATA_HOME / "ecommerce-anomaly" / "artifacts")))
# Where training reads analysts' verdicts (detection.labels); empty = train without labels.
DETECTION_LABEL_PROVIDER = env.str("DETECTION_LABEL_PROVIDER", default="reviews.selectors.verdict_labels")
UPLOADS_DIR = Path(env.str("UPLOADS_DIR", default=str(_DATA_HOME / "ecommerce-anomaly" / "uploads")))
MAX_UPLOAD_BYTES = env.int("MAX_UPLOAD_BYTES", default=200 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# Ingest limits (transactions.source.Limits): a source file over any of them is refused as a whole.
# Ingest streams the file, so memory stays bounded whatever the size; the size limit bounds the time.
INGEST_MAX_DECOMPRESSED_BYTES = env.int("INGEST_MAX_DECOMPRESSED_BYTES", default=1024**3)
INGEST_MAX_LINE_BYTES = env.int("INGEST_MAX_LINE_BYTES", default=64 * 1024)
INGEST_MAX_FIELDS = env.int("INGEST_MAX_FIELDS", default=64)
INGEST_MAX_COMPRESSION_RATIO = env.float("INGEST_MAX_COMPRESSION_RATIO", default=100.0)

# django-plotly-dash: embedded in an iframe of the same site, every asset served locally.
X_FRAME_OPTIONS = "SAMEORIGIN"
# check --deploy asks for DENY, which would blank the dashboard's own iframe.
SILENCED_SYSTEM_CHECKS = ["security.W019"]
PLOTLY_DASH = {
    "serve_locally": True,
    "cache_timeout_initial_arguments": 60,
    # Every Dash endpoint (layout, callbacks) needs the same login and permission as the dashboard page.
    "view_decorator": "dashboard.access.scores_view_required",
}
# dash's own dcc/html/dash_table/renderer are built into django-plotly-dash's finder.
PLOTLY_COMPONENTS = ["dash_ag_grid", "dpd_components", "dpd_static_support"]

# Django REST framework.
API_ALLOW_ANONYMOUS_READ = env.bool("API_ALLOW_ANONYMOUS_READ", default=False)
REST_FRAMEWORK = {
    # Token first, so an unauthenticated request gets 401 with `WWW-Authenticate: Token`.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    # DRF's per-user and per-address throttles, with a bounded state per user (api.throttling).
    "DEFAULT_THROTTLE_CLASSES": [
        "api.throttling.UserRateThrottle",
        "api.throttling.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env.str("API_USER_RATE", default="6000/min"),
        "anon": env.str("API_ANON_RATE", default="600/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "E-commerce anomaly detection API",
    "DESCRIPTION": (
        "Anomaly scores, flags and explanations for e-commerce transactions, from the active model version.\n\n"
        "Log in with a session (the admin login) or send `Authorization: Token <key>` (POST /api/auth/token; "
        "the token expires, see `expiry`). "
        "Every endpoint but /api/health, the schema and these docs needs a login; API_ALLOW_ANONYMOUS_READ=1 "
        "opens /customer_ids and /api/anomalies to anonymous reads. Errors are `{detail, errors?}`: a 400 "
        "names each bad field in `errors` with the values it allows; 503 means no model is active yet."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # validatorUrl None: Swagger UI would otherwise load a badge from validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # rules' actions and rows' decisions are one choice set
    "ENUM_NAME_OVERRIDES": {"DecisionEnum": "decisions.models.Action.choices"},
}
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/(api/|customer_ids$)"

# Long runs (training, ingest) beat every HEARTBEAT_SECONDS; one silent for STALE_AFTER_SECONDS is
# dead (its worker was killed) and is marked failed, so it no longer blocks a new run.
HEARTBEAT_SECONDS = env.int("HEARTBEAT_SECONDS", default=10)
STALE_AFTER_SECONDS = env.int("STALE_AFTER_SECONDS", default=60)

# django-q2: the ORM broker by default, so one machine needs no Redis.
Q_CLUSTER = {
    "name": "anomaly_site",
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": env.int("Q_TIMEOUT", default=3600),
    "retry": env.int("Q_RETRY", default=3700),
    "max_attempts": 1,
    "orm": "default",
    "catch_up": False,
    "sync": env.bool("Q_SYNC", default=False),
}
if env.str("Q_REDIS_URL", default=""):
    Q_CLUSTER.pop("orm")
    Q_CLUSTER["redis"] = env.str("Q_REDIS_URL")

# Cases: a customer's alert joins their open case when within CASE_WINDOW_DAYS of its latest alert.
CASE_WINDOW_DAYS = env.int("CASE_WINDOW_DAYS", default=30)
CASE_SLA_HOURS = env.int("CASE_SLA_HOURS", default=72)
# Webhooks: a receiver's answer is awaited this long (retries, backoff: webhooks.services.setting).
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)

# Production hardening, switchable from the environment.
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
# Each a separate opt-in: both bind every subdomain (and preload, every browser) for a long time.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^api/health$"]  # load balancers probe over plain HTTP
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True

LOG_FORMATTER = "json" if env.str("LOG_FORMAT", default="plain") == "json" else "plain"
LOGGING = logging_config(LOG_FORMATTER, env.str("LOG_LEVEL", default="INFO"))
# Python warnings (scikit-learn's, pandas') go through the same handler, so JSON logs stay JSON.
logging.captureWarnings(True)

# Login: expiring API tokens, throttled token logins, admin lockout, counters in a shared cache.
# One cache for every process (the database by default, so several local processes share it; its
# table comes with `migrate` through core's migration, or `manage.py createcachetable`): throttle
# counters and the dashboard's cached reads mean the same thing in every worker.
CACHES = {"default": env.cache_url("CACHE_URL", default="dbcache://django_cache")}
# The database cache writes a key with one upsert instead of five statements (core.cache).
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache":
    CACHES["default"]["BACKEND"] = "core.cache.DatabaseCache"
# Axes first: it refuses a locked-out username+address before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Before the database middleware, which stays innermost; axes turns a lockout into a 429 response.
MIDDLEWARE.insert(MIDDLEWARE.index("core.middleware.DatabaseUnavailableMiddleware"), "axes.middleware.AxesMiddleware")
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=env.float("TOKEN_TTL_HOURS", default=10)),
    "AUTH_HEADER_PREFIX": "Token",
}
# Token logins (POST /api/auth/token), counted per client address and per username.
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] |= {
    "login": env.str("API_LOGIN_RATE", default="5/min"),
    "login_username": env.str("API_LOGIN_RATE", default="5/min"),
}
# Failed logins (admin and token) per username and address, kept in axes's tables (shared by every
# process); a lockout lasts AXES_COOLOFF_TIME, a success resets the count, a superuser deletes the
# attempt in the admin (Axes -> Access attempts) to lift it early.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "core.lockout.lockout_response"

# --- Trust: no 500s in HTML on the API, and its JSON parser ------------------------------------------
# Outermost, so that it also sees the error pages of every other middleware (CSRF, size limits).
MIDDLEWARE.insert(0, "core.api_errors.ApiJsonErrorsMiddleware")
REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] = [
    "api.parsers.StrictJSONParser",
    "rest_framework.parsers.FormParser",
    "rest_framework.parsers.MultiPartParser",
]

# --- Trust: Content-Security-Policy (django-csp) -------------------------------------------------------
# Scripts only from this site, or inline with the request's nonce (templates) or a hash (the Dash
# renderer's one line, added per response by dashboard.dash_routes). <style> elements likewise; the
# Dash app's own page also allows inline <style> elements, which Plotly, AG Grid and the dropdowns
# inject at run time. Style attributes stay allowed (admin templates and django-plotly-dash's iframe
# use them; they cannot run script). Pages may be framed only by this site (the dashboard's iframe).
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE  # noqa: E402

INSTALLED_APPS.append("csp")
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "csp.middleware.CSPMiddleware")
TEMPLATES[0]["OPTIONS"]["context_processors"].append("csp.context_processors.nonce")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "frame-src": [SELF],
        "frame-ancestors": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
    }
}
