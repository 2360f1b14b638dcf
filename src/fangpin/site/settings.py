"""Django settings, all from the environment; a wrong value stops the start with its reason.

FANGPIN_HOME          data folder (default ./var): SQLite file, uploads, secret key
FANGPIN_DATABASE_URL  sqlite:///path or postgresql://user:pass@host:port/name (default: SQLite)
FANGPIN_SECRET_KEY    secret key (default: generated once into FANGPIN_HOME/secret_key)
FANGPIN_DEBUG         1 for debug pages (never on a production intranet)
FANGPIN_ALLOWED_HOSTS comma-separated host names (default: localhost, 127.0.0.1)
FANGPIN_POLICY        the county's region pack id (default: baseline)
FANGPIN_LOGIN_MAX_FAILURES     wrong passwords in a row before an account locks (default 5)
FANGPIN_LOGIN_LOCKOUT_MINUTES  how long it stays locked (default 15)
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


def _positive_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(f"{name}={value!r}: expected a whole number of at least 1")
    return int(value)


SECRET_KEY = _secret_key()
DEBUG = _flag("FANGPIN_DEBUG")
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("FANGPIN_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",") if h.strip()]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "fangpin.accounts",
    "fangpin.audit",
    "fangpin.people",
    "fangpin.enrollment",
    "fangpin.claims",
    "fangpin.warnings",
    "fangpin.reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "fangpin.accounts.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

SITE_DIR = Path(__file__).resolve().parent
ROOT_URLCONF = "fangpin.site.urls"
WSGI_APPLICATION = "fangpin.site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [SITE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "fangpin.accounts.context.account",
                "fangpin.site.nav.nav_context",
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
STATICFILES_DIRS = [SITE_DIR / "static"]
MEDIA_ROOT = HOME / "files"

FANGPIN_POLICY = os.environ.get("FANGPIN_POLICY", "").strip() or "baseline"

LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGIN_MAX_FAILURES = _positive_int("FANGPIN_LOGIN_MAX_FAILURES", 5)
LOGIN_LOCKOUT_MINUTES = _positive_int("FANGPIN_LOGIN_LOCKOUT_MINUTES", 15)
# Paths open without login besides views marked login_not_required. A JSON API with its own
# per-institution keys adds its prefix here.
LOGIN_EXEMPT_URL_PREFIXES = ["/static/", "/healthz"]
# Scripts only from the site itself (no inline script, no CDN); inline style attributes allowed.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

# A working day at the bureau; the session also ends when the browser closes.
SESSION_COOKIE_AGE = 10 * 60 * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
