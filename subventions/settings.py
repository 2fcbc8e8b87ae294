"""Settings of Subventions: one module, configured by environment variables (see README, « Configuration »)."""

from __future__ import annotations

from pathlib import Path

import dj_database_url

from subventions.env import env_bool, env_int, env_list, env_required, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("SUBVENTIONS_VAR_DIR", str(BASE_DIR / "var")))

# "development" (embedded defaults, make run / make test) or "production" (strict, see README).
PROFILE = env_str("SUBVENTIONS_PROFILE", "development")
if PROFILE not in {"development", "production"}:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("SUBVENTIONS_PROFILE doit valoir « development » ou « production ».")
PRODUCTION = PROFILE == "production"

DEBUG = env_bool("DJANGO_DEBUG", not PRODUCTION)
if PRODUCTION:
    SECRET_KEY = env_required("DJANGO_SECRET_KEY")
    ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [])
    if not ALLOWED_HOSTS:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            "DJANGO_ALLOWED_HOSTS est obligatoire en production (liste séparée par des virgules)."
        )
else:
    SECRET_KEY = env_str("DJANGO_SECRET_KEY", "dev-only-insecure-key-never-use-in-production-0123456789abcdef")
    ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "subventions.admin_site.SubventionsAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "csp",
    "django_htmx",
    "bootstrap",
    "django_celery_beat",
    "django_celery_results",
    "simple_history",
    # Ours, bottom of the pipeline first (see ARCHITECTURE.md).
    "subventions.comptes",
    "subventions.referentiel",
    "associations",
    "workflows",
    "subventions.campagnes",
    "subventions.demandes",
    "subventions.comites",
    "subventions.conventions",
    "subventions.paiements",
    "subventions.bilans",
    "subventions.pilotage",
    "subventions.audit",
    # The project package itself: home page, spaces, template tags, demo commands.
    "subventions",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Innermost: it sees every view's response first, so the CSP middleware keeps its sandbox policy on files.
    "subventions.securite.TelechargementsMiddleware",
]

ROOT_URLCONF = "subventions.urls"
WSGI_APPLICATION = "subventions.wsgi.application"

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
                "django.template.context_processors.i18n",
                "subventions.context_processors.navigation",
            ],
        },
    },
]

# --- Database: SQLite under var/ by default, PostgreSQL (or any) through DATABASE_URL.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'subventions.sqlite3'}"),
        # Production keeps each worker's connection for a minute (health-checked before reuse): a new PostgreSQL
        # backend per request costs more CPU than a deposit's queries during the closing-date rush (bench/rush.py).
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60 if PRODUCTION else 0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web server and the Celery worker share the file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHE_URL = env_str("CACHE_URL", "")
if CACHE_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Accounts.
AUTH_USER_MODEL = "comptes.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "accueil"
ACCOUNT_LOGOUT_REDIRECT_URL = "accueil"
ACCOUNT_ADAPTER = "subventions.comptes.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = False
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_REAUTHENTICATION_REQUIRED = True
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Subventions] "
ACCOUNT_PRESERVE_USERNAME_CASING = False
# allauth's defaults, kept explicit: they are a security promise of the product.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "reauthenticate": "10/m/user",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Subventions"
# One 30-second step of clock drift either way (RFC 6238 §5.2): a code typed at the end of its window still works.
MFA_TOTP_TOLERANCE = 1

# --- Internationalisation: French first, English available.
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True
FORMAT_MODULE_PATH = ["subventions.formats"]

# --- Static and private files.
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing folder before collectstatic
MEDIA_ROOT = Path(env_str("SUBVENTIONS_MEDIA_ROOT", str(VAR_DIR / "media")))
# No MEDIA_URL: private files are served only through permission-checked views.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Email: console in development; SMTP in production. Every message also goes through the outbox.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if PRODUCTION else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Subventions <no-reply@subventions.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery: filesystem broker under var/ by default, Redis through CELERY_BROKER_URL.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_FOLDER = VAR_DIR / "celery" / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_FOLDER),
        "data_folder_out": str(CELERY_BROKER_FOLDER),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
else:
    # A message taken by a worker that dies whole comes back after this delay: it must stay above the longest retry
    # countdown (emails: 1 920 s) and the task time limit (600 s), or a retry still waiting runs twice.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", "django-db")
CELERY_RESULT_EXTENDED = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_TIME_LIMIT = 10 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 9 * 60
# A task is acknowledged after it ran, so a worker killed mid-task gives it to another one.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Security. Production hardening; each choice is explained in the README.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 8 * 60 * 60
# No script of ours reads the cookie: forms carry {% csrf_token %} and htmx sends the token of <body hx-headers>.
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"

# Content Security Policy (django-csp): scripts, styles sheets, fonts and requests from our own origin only.
# No 'unsafe-inline' and no 'unsafe-eval' for scripts: templates have no inline <script> nor on…= attribute, and
# htmx is told not to eval (<meta name="htmx-config"> in base.html). Inline style *attributes* stay allowed
# (style-src-attr): allauth's templates and a few of ours still use style="…" (replacement classes in
# subventions/static/subventions/utilitaires.css); a <style> element, what CSS injection needs, is refused.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-elem": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"simple": {"format": "{asctime} {levelname} {name}: {message}", "style": "{"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "simple"}},
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
}

# --- Product settings.
SUBVENTIONS_DEMO_PASSWORD = env_str("SUBVENTIONS_DEMO_PASSWORD", "subventions-demo-2015")

from celery.schedules import crontab  # noqa: E402 - only the schedule below needs it

CELERY_BEAT_SCHEDULE = {
    "courriels-relancer": {"task": "workflows.tasks.courriels_relancer", "schedule": 300.0},
    # Reminders to porteurs, every morning at 08:00 (CELERY_TIMEZONE is Europe/Paris).
    "rappeler-complements": {
        "task": "subventions.demandes.tasks.rappeler_complements",
        "schedule": crontab(hour=8, minute=0),
    },
    "rappeler-cloture": {
        "task": "subventions.demandes.tasks.rappeler_cloture",
        "schedule": crontab(hour=8, minute=0),
    },
    # Drafts never filed, untouched for SUBVENTIONS_RETENTION_BROUILLONS_MOIS months (subventions.audit), at night.
    "purger-brouillons": {"task": "subventions.audit.tasks.purger_brouillons", "schedule": crontab(hour=3, minute=30)},
    # Comptes rendus financiers due in a month, due today (subventions.bilans).
    "rappeler-comptes-rendus": {
        "task": "subventions.bilans.tasks.rappeler_comptes_rendus",
        "schedule": crontab(hour=8, minute=0),
    },
}
# Drafts never filed are deleted after this many months without a change (README, « Données personnelles »).
SUBVENTIONS_RETENTION_BROUILLONS_MOIS = env_int("SUBVENTIONS_RETENTION_BROUILLONS_MOIS", 24)
SUBVENTIONS_SITE_URL = env_str("SUBVENTIONS_SITE_URL", "http://127.0.0.1:8000")
SUBVENTIONS_PIECE_TAILLE_MAX = env_int("SUBVENTIONS_PIECE_TAILLE_MAX", 10 * 1024 * 1024)
# Beyond this many pages a PDF is refused (associations.uploads): an instructeur reads documents, not archives.
SUBVENTIONS_PIECE_PAGES_MAX = env_int("SUBVENTIONS_PIECE_PAGES_MAX", 300)
