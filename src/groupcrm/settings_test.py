"""Test settings: the production settings with fast hashing and finder-served static."""

from groupcrm.settings import *  # noqa: F403
from groupcrm.settings import HUEY, REDIS_URL, STORAGES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LOGGING = {"version": 1, "disable_existing_loggers": False}
API_RATE_LIMIT = "100000/m"
API_AUTH_RATE_LIMIT = "100000/m"

# Without Redis, jobs run inline (the SQLite pass); with REDIS_URL the queue is real.
if not REDIS_URL:
    HUEY = {**HUEY, "immediate": True}
