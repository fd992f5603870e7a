"""Settings for groupcrm, configured entirely from the environment.

See docs/configuration.md for every variable. The defaults run an embedded SQLite
database and an SQLite job queue under ``var/`` so that ``make run`` needs no server.
"""

from __future__ import annotations

import os
import secrets
import time
from datetime import timedelta
from pathlib import Path

import dj_database_url


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


BASE_DIR = Path(__file__).resolve().parent
_CHECKOUT = BASE_DIR.parent.parent
# Runtime files: the checkout's var/ when run from source (whatever the working
# directory), else ./var; production sets GROUPCRM_VAR_DIR to an absolute path.
_DEFAULT_VAR = _CHECKOUT / "var" if (_CHECKOUT / "pyproject.toml").exists() else Path.cwd() / "var"
VAR_DIR = Path(os.environ.get("GROUPCRM_VAR_DIR", _DEFAULT_VAR)).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in var/."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    path = VAR_DIR / "secret_key"
    try:
        # O_EXCL: of several processes starting at once, exactly one writes the key,
        # created 0600 from the start; the others read it.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(64))
    for _attempt in range(50):
        if key := path.read_text().strip():
            return key
        time.sleep(0.1)  # the writer has created the file but not yet written it
    raise RuntimeError(f"{path} is empty: delete it or set SECRET_KEY")


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "ninja",
    "huey.contrib.djhuey",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "csp",
    "groupcrm.core",
    "groupcrm.org",
    "groupcrm.audit",
    "groupcrm.announcements",
    "groupcrm.customers",
    "groupcrm.integration",
    "groupcrm.approvals",
    "groupcrm.sales",
    "groupcrm.sales.leads",
    "groupcrm.sales.conflicts",
    "groupcrm.sales.quotes",
    "groupcrm.sales.contracts",
    "groupcrm.sales.forecast",
]

MIDDLEWARE = [
    "groupcrm.core.middleware.TrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "groupcrm.core.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "groupcrm.core.middleware.SessionTimeoutMiddleware",
    "groupcrm.core.middleware.ActorMiddleware",
    "groupcrm.org.middleware.TwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "groupcrm.core.middleware.DomainErrorMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "groupcrm.urls"
WSGI_APPLICATION = "groupcrm.wsgi.application"

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
                "groupcrm.core.context_processors.shell",
            ],
        },
    }
]

# --- Database ---------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'groupcrm.sqlite3'}"
_db = dj_database_url.parse(DATABASE_URL, conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")))
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + busy timeout + IMMEDIATE transactions: concurrent writers from several
    # gunicorn workers and the job worker wait for each other instead of failing with
    # "database is locked" (design.md §12).
    _db["CONN_MAX_AGE"] = 0
    _db["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    _db["CONN_HEALTH_CHECKS"] = True
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (rate limiting, throttles) ---------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "groupcrm"),
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "groupcrm_cache",
        }
    }

# --- Background jobs (Huey) -------------------------------------------------------------
HUEY_IMMEDIATE = env_bool("HUEY_IMMEDIATE")
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": os.environ.get("HUEY_NAME", "groupcrm"),
        "url": REDIS_URL,
        "immediate": HUEY_IMMEDIATE,
        # Local time (Django sets the process TZ to TIME_ZONE): crontabs read as in Beijing.
        "utc": False,
        "consumer": {
            "workers": int(os.environ.get("WORKER_THREADS", "2")),
            "worker_type": "thread",
        },
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "groupcrm",
        "filename": str(VAR_DIR / "jobs.sqlite3"),
        "immediate": HUEY_IMMEDIATE,
        # Local time (Django sets the process TZ to TIME_ZONE): crontabs read as in Beijing.
        "utc": False,
        "consumer": {
            "workers": int(os.environ.get("WORKER_THREADS", "2")),
            "worker_type": "thread",
        },
    }

# --- Exports ----------------------------------------------------------------------------
# Lists longer than this are written by a background job instead of downloaded at once.
EXPORT_INLINE_MAX_ROWS = int(os.environ.get("EXPORT_INLINE_MAX_ROWS", "50000"))
# Finished export files are deleted after this many days (the job then shows as expired).
EXPORT_RETENTION_DAYS = int(os.environ.get("EXPORT_RETENTION_DAYS", "7"))

# --- Authentication ---------------------------------------------------------------------
AUTH_USER_MODEL = "org.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# Idle timeout: the session cookie expires after this much inactivity (renewed on every
# request). Absolute timeout: no session lives longer than this, however active.
SESSION_IDLE_TIMEOUT = int(os.environ.get("SESSION_IDLE_MINUTES", "30")) * 60
SESSION_ABSOLUTE_TIMEOUT = int(os.environ.get("SESSION_ABSOLUTE_HOURS", "12")) * 3600
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

AXES_FAILURE_LIMIT = int(os.environ.get("LOCKOUT_FAILURES", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "groupcrm.core.problems.axes_lockout"
AXES_VERBOSE = False
# Behind N reverse proxies, the client is the Nth address from the right of
# X-Forwarded-For; TrustedProxyMiddleware puts it into REMOTE_ADDR for everything
# (lockout, throttles, audit). 0: use the TCP peer, ignore the header (it is forgeable).
PROXY_COUNT = int(os.environ.get("PROXY_COUNT", "0"))
NINJA_NUM_PROXIES = 0  # ninja's throttles read REMOTE_ADDR, already corrected above

OTP_TOTP_ISSUER = os.environ.get("OTP_ISSUER", "groupcrm")
PASSWORD_RESET_TIMEOUT = 3600

# API tokens and rate limits.
API_TOKEN_MAX_DAYS = int(os.environ.get("API_TOKEN_MAX_DAYS", "365"))
API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "600/m")
API_AUTH_RATE_LIMIT = os.environ.get("API_AUTH_RATE_LIMIT", "20/m")

# --- Email ------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")
EMAIL_TIMEOUT = 10
# The address people reach the app at, for links in emails sent by background jobs.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "groupcrm <noreply@localhost>")

# --- Field encryption keys (used by PII fields; first key encrypts, all decrypt) ------
GROUPCRM_FIELD_KEYS = env_list("GROUPCRM_FIELD_KEYS")
# Days during which a merge of duplicate customers can be undone.
MERGE_RETENTION_DAYS = int(os.environ.get("MERGE_RETENTION_DAYS", "90"))
# Batch dedup merges pairs at or above this match probability without review (0: never).
DEDUP_AUTO_MERGE_THRESHOLD = float(os.environ.get("DEDUP_AUTO_MERGE_THRESHOLD", "0"))
GROUPCRM_INDEX_KEY = os.environ.get("GROUPCRM_INDEX_KEY", "")

# --- Internationalisation ---------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Front-end packages from npm are copied here by `make assets` (never committed).
STATICFILES_DIRS = [VAR_DIR / "vendor"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Security ---------------------------------------------------------------------------
# GROUPCRM_HTTPS=1 behind TLS (production): secure cookies, HSTS, redirect to https.
HTTPS = env_bool("GROUPCRM_HTTPS")
SECURE_SSL_REDIRECT = HTTPS
# Load balancers probe the health check over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# --- Logging: one JSON line per record, with the request id -----------------------------
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "groupcrm.core.logging.RequestIdFilter"}},
    "formatters": {"json": {"()": "groupcrm.core.logging.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # Its own handler: Huey's consumer then adds no plain-text one (no doubled lines).
        "huey": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# --- groupcrm ---------------------------------------------------------------------------
OUTBOX_MAX_ATTEMPTS = int(os.environ.get("OUTBOX_MAX_ATTEMPTS", "8"))
DEMO_PASSWORD = "Huaxia@2026!demo"
