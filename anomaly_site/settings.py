"""Django settings, read from the environment with safe local defaults.

Environment: SECRET_KEY, DEBUG, ALLOWED_HOSTS, DATABASE_URL, ARTIFACTS_DIR, UPLOADS_DIR,
API_ALLOW_ANONYMOUS_READ, SECURE_COOKIES, SECURE_HSTS_SECONDS, SECURE_SSL_REDIRECT, CONN_MAX_AGE,
STATIC_ROOT, LOG_LEVEL, LOG_FORMAT (plain or json), Q_REDIS_URL, INGEST_MAX_DECOMPRESSED_BYTES,
INGEST_MAX_LINE_BYTES, INGEST_MAX_FIELDS, INGEST_MAX_COMPRESSION_RATIO.
"""

import os
from pathlib import Path

import dj_database_url

# Quiet TensorFlow's C++ start-up logs in every process (must precede its import).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    """Return the environment variable `name` read as a boolean (1/true/yes/on)."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    """Return the comma-separated environment variable `name` as a list."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)
_DEV_SECRET_KEY = "django-insecure-local-development-key-not-for-production"
SECRET_KEY = os.environ.get("SECRET_KEY", _DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("SECRET_KEY must be set in the environment when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_plotly_dash.apps.DjangoPlotlyDashConfig",
    "dpd_static_support",
    "django_q",
    "transactions",
    "detection",
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
    "anomaly_site.middleware.DatabaseUnavailableMiddleware",
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
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0")),
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
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
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
            "anomaly_site.storage.StaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG
# Fixed at start-up: pytest turns settings.DEBUG off at run time, and WhiteNoise with finders but
# without autorefresh lists every finder's files, which django-plotly-dash's finder cannot do.
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "/admin/login/"
LOGIN_REDIRECT_URL = "/"

# Model artifacts and uploaded files live outside the repository and outside any served path.
_DATA_HOME = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
ARTIFACTS_DIR = Path(os.environ.get("ARTIFACTS_DIR", _DATA_HOME / "ecommerce-anomaly" / "artifacts"))
UPLOADS_DIR = Path(os.environ.get("UPLOADS_DIR", _DATA_HOME / "ecommerce-anomaly" / "uploads"))
MAX_UPLOAD_BYTES = int(os.environ.get("MAX_UPLOAD_BYTES", str(200 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# Ingest limits (transactions.source.Limits): a source file over any of them is refused as a whole.
# Ingest streams the file, so memory stays bounded whatever the size; the size limit bounds the time.
INGEST_MAX_DECOMPRESSED_BYTES = int(os.environ.get("INGEST_MAX_DECOMPRESSED_BYTES", str(1024**3)))
INGEST_MAX_LINE_BYTES = int(os.environ.get("INGEST_MAX_LINE_BYTES", str(64 * 1024)))
INGEST_MAX_FIELDS = int(os.environ.get("INGEST_MAX_FIELDS", "64"))
INGEST_MAX_COMPRESSION_RATIO = float(os.environ.get("INGEST_MAX_COMPRESSION_RATIO", "100"))

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
API_ALLOW_ANONYMOUS_READ = env_bool("API_ALLOW_ANONYMOUS_READ", False)
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
        "user": os.environ.get("API_USER_RATE", "6000/min"),
        "anon": os.environ.get("API_ANON_RATE", "600/min"),
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
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", "")
CORS_URLS_REGEX = r"^/(api/|customer_ids$)"

# django-q2: the ORM broker by default, so one machine needs no Redis.
Q_CLUSTER = {
    "name": "anomaly_site",
    "workers": int(os.environ.get("Q_WORKERS", "2")),
    "timeout": int(os.environ.get("Q_TIMEOUT", "3600")),
    "retry": int(os.environ.get("Q_RETRY", "3700")),
    "max_attempts": 1,
    "orm": "default",
    "catch_up": False,
    "sync": env_bool("Q_SYNC", False),
}
if os.environ.get("Q_REDIS_URL"):
    Q_CLUSTER.pop("orm")
    Q_CLUSTER["redis"] = os.environ["Q_REDIS_URL"]

# Production hardening, switchable from the environment.
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "anomaly_site.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if os.environ.get("LOG_FORMAT", "plain") == "json" else "plain",
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "tensorflow": {"level": "ERROR"},
    },
}
