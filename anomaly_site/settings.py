"""Django settings, read from the environment (django-environ) with safe local defaults.

Environment variables, by topic:
- core: SECRET_KEY (required when DEBUG is off), DEBUG (default on), ALLOWED_HOSTS,
  CSRF_TRUSTED_ORIGINS, CORS_ALLOWED_ORIGINS;
- data: DATABASE_URL (default SQLite db.sqlite3 here), CONN_MAX_AGE, ARTIFACTS_DIR, UPLOADS_DIR,
  MAX_UPLOAD_BYTES, XDG_DATA_HOME (parent of the two default folders), STATIC_ROOT;
- API: API_ALLOW_ANONYMOUS_READ, API_USER_RATE, API_ANON_RATE;
- worker: Q_REDIS_URL, Q_WORKERS, Q_TIMEOUT, Q_RETRY, Q_SYNC, HEARTBEAT_SECONDS, STALE_AFTER_SECONDS;
- cases: CASE_WINDOW_DAYS, CASE_SLA_HOURS; webhooks: WEBHOOK_TIMEOUT_SECONDS;
- HTTPS: SECURE_COOKIES, SECURE_SSL_REDIRECT, SECURE_HSTS_SECONDS;
- logs: LOG_LEVEL, LOG_FORMAT (plain or json).
"""

import os
from pathlib import Path

import dj_database_url
import environ
from django.urls import reverse_lazy

# Quiet TensorFlow's C++ start-up logs in every process (must precede its import).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

DEBUG = env.bool("DEBUG", default=True)
_DEV_SECRET_KEY = "django-insecure-local-development-key-not-for-production"
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("SECRET_KEY must be set in the environment when DEBUG is off.")

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
    "rest_framework.authtoken",
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
    "reviews",
    "cases",
    "dashboard",
    "api",
]

MIDDLEWARE = [
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
UPLOADS_DIR = Path(env.str("UPLOADS_DIR", default=str(_DATA_HOME / "ecommerce-anomaly" / "uploads")))
MAX_UPLOAD_BYTES = env.int("MAX_UPLOAD_BYTES", default=200 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# django-plotly-dash: embedded in an iframe of the same site, every asset served locally.
X_FRAME_OPTIONS = "SAMEORIGIN"
# check --deploy asks for DENY, which would blank the dashboard's own iframe.
SILENCED_SYSTEM_CHECKS = ["security.W019"]
PLOTLY_DASH = {
    "serve_locally": True,
    "cache_timeout_initial_arguments": 60,
    # Every Dash endpoint (layout, callbacks) needs the same login as the dashboard page.
    "view_decorator": "django_plotly_dash.access.login_required",
}
# dash's own dcc/html/dash_table/renderer are built into django-plotly-dash's finder.
PLOTLY_COMPONENTS = ["dash_ag_grid", "dpd_components", "dpd_static_support"]

# Django REST framework.
API_ALLOW_ANONYMOUS_READ = env.bool("API_ALLOW_ANONYMOUS_READ", default=False)
REST_FRAMEWORK = {
    # Token first, so an unauthenticated request gets 401 with `WWW-Authenticate: Token`.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.UserRateThrottle",
        "rest_framework.throttling.AnonRateThrottle",
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
        "Log in with a session (the admin login) or send `Authorization: Token <key>` (POST /api/auth/token). "
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
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger", "exc_info": "exception"},
            "json_ensure_ascii": False,
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if env.str("LOG_FORMAT", default="plain") == "json" else "plain",
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "tensorflow": {"level": "ERROR"},
    },
}
