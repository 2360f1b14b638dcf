"""Django settings, all from the environment; a wrong value stops the start with its reason.

FANGPIN_HOME          data folder (default ./var): SQLite file, uploads, secret key
FANGPIN_DATABASE_URL  sqlite:///path or postgresql://user:pass@host:port/name (default: SQLite)
FANGPIN_SECRET_KEY    secret key (default: generated once into FANGPIN_HOME/secret_key)
FANGPIN_DEBUG         1 for debug pages (never on a production intranet)
FANGPIN_ALLOWED_HOSTS comma-separated host names (default: localhost, 127.0.0.1)
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from fangpin.site.dburl import ConfigError, parse_database_url

HOME = Path(os.environ.get("FANGPIN_HOME", "var")).resolve()
HOME.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    key = os.environ.get("FANGPIN_SECRET_KEY")
    if key:
        if len(key) < 32:
            raise ConfigError("FANGPIN_SECRET_KEY must be at least 32 characters")
        return key
    path = HOME / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _flag(name: str) -> bool:
    value = os.environ.get(name, "0").strip().lower()
    if value not in ("0", "1", "true", "false", "yes", "no", ""):
        raise ConfigError(f"{name}={value!r}: expected 1 or 0")
    return value in ("1", "true", "yes")


SECRET_KEY = _secret_key()
DEBUG = _flag("FANGPIN_DEBUG")
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("FANGPIN_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",") if h.strip()]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "fangpin.site.urls"
WSGI_APPLICATION = "fangpin.site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

DATABASES = {"default": parse_database_url(os.environ.get("FANGPIN_DATABASE_URL", ""), HOME / "fangpin.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = HOME / "static"
MEDIA_ROOT = HOME / "files"

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
