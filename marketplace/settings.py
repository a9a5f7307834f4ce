"""Django settings, all read from the environment (see .env.example for every variable)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dj_database_url
import django_stubs_ext
from csp.constants import NONE, SELF
from kombu import Exchange, Queue

from marketplace.env import env_bool, env_int, env_list, env_str

# Lets Django classes that are generic only in their stubs (ModelAdmin, ModelForm) be subscripted.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
# Local state of a development run (SQLite, beat schedule, keys); git-ignored.
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# GENERAL
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "dev-only-insecure-key-do-not-deploy" if DEBUG else None)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver" if DEBUG else "")
# The origin funders' browsers reach us on; the wallet sends them back to it after consent.
# Fernet keys sealing the grant tokens the marketplace keeps (budgets), the first sealing, all opening
# (`jobs.sealed`); unset, one derived from SECRET_KEY.
SEALING_KEYS = env_list("SEALING_KEYS", "")
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_celery_results",
    "marketplace",
    "jobs",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    # Static files from the web process itself (gunicorn serves no files), straight from the apps.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "marketplace.logs.RequestContextMiddleware",
    "marketplace.errors.ErrorPages",
]
# The site's own 404 and 500 pages even with DEBUG on (`make demo` turns it on); without DEBUG they are
# always the site's own.
ERROR_PAGES = env_bool("ERROR_PAGES", False)

ROOT_URLCONF = "marketplace.urls"
WSGI_APPLICATION = "marketplace.wsgi.application"
ASGI_APPLICATION = "marketplace.asgi.application"

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

# DATABASE
# SQLite under var/ is the zero-setup default; CI and compose point DATABASE_URL at PostgreSQL.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'marketplace.sqlite3'}"),
        # Kept open between requests and tasks (checked before reuse): a new PostgreSQL connection per
        # Celery task cost more than the whole payment-link step.
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so worker processes started by the tests share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-marketplace.sqlite3")}
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# PASSWORDS AND AUTH
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# SECURITY
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
X_FRAME_OPTIONS = "DENY"
# Pages run only the scripts and styles of our own static files (no inline script, no inline style:
# base.html turns off the <style> htmx would inject), and no other site may frame them.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# The header a TLS-terminating proxy in front of the web process sets to "https" (e.g. X-Forwarded-Proto);
# set it only behind such a proxy, which must overwrite the header whatever the client sent.
_proxy_ssl_header = env_str("SECURE_PROXY_SSL_HEADER", "").strip().upper().replace("-", "_")
SECURE_PROXY_SSL_HEADER = (
    (_proxy_ssl_header if _proxy_ssl_header.startswith("HTTP_") else f"HTTP_{_proxy_ssl_header}", "https")
    if _proxy_ssl_header
    else None
)
# Browsers keep to https for this long once they saw the site over https (a year when it is served there).
SECURE_HSTS_SECONDS = env_int(
    "SECURE_HSTS_SECONDS", 31_536_000 if not DEBUG and PUBLIC_BASE_URL.startswith("https://") else 0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
# `/healthz` names the workers, the database vendor and the broker only to staff or to a caller sending
# `Authorization: Bearer <this token>`; everyone else gets up or down.
HEALTHZ_TOKEN = env_str("HEALTHZ_TOKEN", "")
# `/metrics` (Prometheus) answers staff, or a scraper sending `Authorization: Bearer <this token>`.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
# How many failed log-ins (web, admin, API tokens) lock out one account, or one client, for LOCKOUT_MINUTES
# (failures count for as long). A client is its address; behind a proxy, the last address of the header
# CLIENT_IP_HEADER (e.g. X-Forwarded-For), the one that proxy appended.
LOGIN_THROTTLE: dict[str, Any] = {
    "ACCOUNT_FAILURES": env_int("LOGIN_ACCOUNT_FAILURES", 5),
    "CLIENT_FAILURES": env_int("LOGIN_CLIENT_FAILURES", 20),
    "LOCKOUT_MINUTES": env_int("LOGIN_LOCKOUT_MINUTES", 15),
    "CLIENT_IP_HEADER": env_str("CLIENT_IP_HEADER", ""),
}

# EMAIL (worker.emails: link ready, paid, refund requested, refunded; the web process: password resets)
# With EMAIL_HOST, sent through that SMTP server; without it, written to the output of the process sending
# it, the worker's or the web process's (the console backend of `make demo`).
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = 10
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Open Jobs Marketplace <noreply@localhost>")
# How long an emailed password-reset link works (seconds); it works once in any case.
PASSWORD_RESET_TIMEOUT = 60 * 60

# INTERNATIONALISATION
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# STATIC FILES
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# WhiteNoise serves the apps' static files straight from their folders: no `collectstatic` step needed.
WHITENOISE_USE_FINDERS = True

# CELERY (https://docs.celeryq.dev/en/stable/userguide/configuration.html)
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 4
# A message not acknowledged within this many seconds is delivered again; it must exceed the longest
# task runtime plus the longest countdown we schedule.
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, int | str] = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 600),
    # How often (seconds, and every Nth sweep) workers put such messages back on the queue.
    "unacked_restore_interval": env_int("CELERY_UNACKED_RESTORE_INTERVAL", 10),
    "unacked_restore_throttle": env_int("CELERY_UNACKED_RESTORE_THROTTLE", 10),
    "socket_connect_timeout": 4,
    "socket_timeout": 10,
}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The embedded broker of `make demo` on a machine without Redis: message files under var/.
    _broker_dir = VAR_DIR / "broker"
    _broker_dir.mkdir(exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "control_folder": str(VAR_DIR / "broker-control"),
    }
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT = "marketplace.broker:RedisTransport"
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "marketplace")
if CELERY_BROKER_URL.startswith(("amqp://", "amqps://", "pyamqp://")):
    # RabbitMQ: the queue is a durable quorum queue (replicated, kept across a broker restart), a publish
    # returns once the broker has confirmed it, and countdowns wait in RabbitMQ's own delay queues (Celery
    # binds the queue's topic exchange to them) rather than unacknowledged in a worker.
    CELERY_TASK_QUEUES = [
        Queue(
            CELERY_TASK_DEFAULT_QUEUE,
            Exchange(CELERY_TASK_DEFAULT_QUEUE, type="topic"),
            routing_key=CELERY_TASK_DEFAULT_QUEUE,
            queue_arguments={"x-queue-type": "quorum"},
        )
    ]
    CELERY_TASK_DEFAULT_EXCHANGE = CELERY_TASK_DEFAULT_QUEUE
    CELERY_TASK_DEFAULT_EXCHANGE_TYPE = "topic"
    CELERY_TASK_DEFAULT_ROUTING_KEY = CELERY_TASK_DEFAULT_QUEUE
    CELERY_BROKER_TRANSPORT_OPTIONS = {"confirm_publish": True}
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 30)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 45)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A step spends most of its time waiting on wallets: threads keep many steps in flight per process (each
# thread with its own database connection; bench/README.md has the figures). SQLite takes one writer at a
# time, so with it a worker runs a few prefork children instead.
_SQLITE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
CELERY_WORKER_POOL = env_str("CELERY_WORKER_POOL", "prefork" if _SQLITE else "threads")
CELERY_WORKER_CONCURRENCY = env_int("CELERY_WORKER_CONCURRENCY", 64 if CELERY_WORKER_POOL == "threads" else 2)
# With threads, a process shares a pool of DATABASE_POOL_SIZE PostgreSQL connections: a thread holds one
# only while it talks to the database (the Open Payments client gives it back before every wallet call),
# so threads waiting on wallets need none. A prefork child runs one task at a time: it keeps one
# persistent connection, which a pool would only check and hand back on every task.
_POOLABLE = CELERY_WORKER_POOL == "threads" and not _SQLITE
DATABASE_POOL_SIZE = env_int("DATABASE_POOL_SIZE", 16) if _POOLABLE else 0
if DATABASE_POOL_SIZE:
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # A thread waits at most `timeout` seconds for a free connection, then its step is retried.
        "pool": {"min_size": 1, "max_size": DATABASE_POOL_SIZE, "timeout": 10},
    }
# Task events cost a worker ~5 ms of CPU per task (three messages to the broker), and a `task-sent` event
# doubles the cost of every publish. Off unless asked for: Flower turns the workers' on while it runs (its
# `enable_events`), so it still lists every task from the moment a worker receives it.
CELERY_WORKER_SEND_TASK_EVENTS = env_bool("CELERY_TASK_EVENTS", False)
CELERY_TASK_SEND_SENT_EVENT = CELERY_WORKER_SEND_TASK_EVENTS
# Flower shows a task as started from its events; a STARTED row in TaskResult would be one more write.
CELERY_TASK_TRACK_STARTED = False
# Database connections outlive tasks (see worker.tasks: closed when obsolete or broken, as per request).
CELERY_DB_REUSE_MAX = 10**9
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "reconcile-payments": {"task": "payments.reconcile", "schedule": env_int("RECONCILE_EVERY_SECONDS", 30)},
    "dispatch-events": {"task": "events.dispatch", "schedule": env_int("EVENTS_DISPATCH_SECONDS", 2)},
    # The safety net of webhook deliveries whose message was lost (a broker outage, a worker killed).
    "sweep-webhooks": {"task": "webhooks.sweep", "schedule": 60},
    "sweep-emails": {"task": "emails.sweep", "schedule": 300},
}

# OPEN PAYMENTS
# Required once the payment pipeline runs; `marketplace.open_payments` names what is missing.
OPEN_PAYMENTS: dict[str, Any] = {
    # Our own wallet address: grants name it as the client, wallets fetch our public key from it.
    "CLIENT_WALLET_ADDRESS": env_str("OP_CLIENT_WALLET_ADDRESS", ""),
    "KEY_ID": env_str("OP_KEY_ID", ""),
    # A path to the Ed25519 PEM file, or the base64 of the PEM.
    "PRIVATE_KEY": env_str("OP_PRIVATE_KEY", ""),
    # Hosts we may reach over plain http (the local wallet); https elsewhere. Entries `host` or `host:port`.
    "HTTP_HOSTS": env_list("OP_HTTP_HOSTS", "127.0.0.1,localhost" if DEBUG else ""),
    # Hosts that may resolve to private or loopback addresses (an internal wallet, the local one); every
    # other host must resolve to public addresses only. Entries `host` or `host:port`.
    "PRIVATE_HOSTS": env_list("OP_PRIVATE_HOSTS", "127.0.0.1,localhost" if DEBUG else ""),
    # Extra CA certificates to trust for wallet calls (a PEM file, or a directory of hashed ones), besides
    # the system store and SSL_CERT_FILE / SSL_CERT_DIR.
    "CA_BUNDLE": env_str("OP_CA_BUNDLE", ""),
    # Each read or connect of a call to a wallet, and the whole call (connect, headers and body together).
    "TIMEOUT_SECONDS": env_int("OP_TIMEOUT_SECONDS", 10),
    "DEADLINE_SECONDS": env_int("OP_DEADLINE_SECONDS", 30),
    # The whole look-up of a wallet address a person types on their profile (the web process waits on it).
    "LOOKUP_DEADLINE_SECONDS": env_int("OP_LOOKUP_DEADLINE_SECONDS", 5),
}
# How the payment pipeline paces itself (seconds unless named otherwise).
PAYMENT_PIPELINE: dict[str, Any] = {
    # How long a provider's incoming payment stays open for the funder to pay it.
    "INCOMING_PAYMENT_HOURS": env_int("PAYMENT_INCOMING_PAYMENT_HOURS", 24),
    # How long a payment link stays usable; wallets expire the consent interaction after ~10 minutes.
    "AUTHORIZATION_SECONDS": env_int("PAYMENT_AUTHORIZATION_SECONDS", 600),
    # How long after authorization we keep checking before calling the payment unconfirmed.
    "CONFIRM_SECONDS": env_int("PAYMENT_CONFIRM_SECONDS", 900),
    "POLL_MAX_INTERVAL": env_int("PAYMENT_POLL_MAX_INTERVAL", 20),
    # One delivery of a step holds an attempt this long at most; longer than CELERY_TASK_TIME_LIMIT.
    "LEASE_SECONDS": env_int("PAYMENT_LEASE_SECONDS", 60),
    # An attempt untouched this long in a working status is re-driven by the reconciler.
    "STALE_SECONDS": env_int("PAYMENT_STALE_SECONDS", 60),
    # The shortest wait before a step runs again (a busy lease, a wallet's `wait`, `too_fast`), in ms.
    "MIN_WAIT_MS": env_int("PAYMENT_MIN_WAIT_MS", 1000),
    # A quote in the provider's own asset whose fee is more than this share of the price is refused.
    "MAX_FEE_PERCENT": env_int("PAYMENT_MAX_FEE_PERCENT", 20),
}
# Status webhooks to integrators' endpoints (`worker.webhooks`, docs/webhooks.md), seconds.
WEBHOOKS: dict[str, Any] = {
    # Endpoint hosts reachable over plain http, and allowed to resolve to private or loopback addresses:
    # none by default (entries `host` or `host:port`); every other endpoint needs https on public addresses.
    "HTTP_HOSTS": env_list("WEBHOOK_HTTP_HOSTS", ""),
    "PRIVATE_HOSTS": env_list("WEBHOOK_PRIVATE_HOSTS", ""),
    # One try of a delivery as a whole (connect, request, answer headers).
    "DEADLINE_SECONDS": env_int("WEBHOOK_DEADLINE_SECONDS", 10),
    # Retries: jittered exponential backoff from RETRY_MIN up to RETRY_MAX, giving up GIVE_UP after the
    # delivery was made (or resent).
    "RETRY_MIN_SECONDS": env_int("WEBHOOK_RETRY_MIN_SECONDS", 5),
    "RETRY_MAX_SECONDS": env_int("WEBHOOK_RETRY_MAX_SECONDS", 3600),
    "GIVE_UP_SECONDS": env_int("WEBHOOK_GIVE_UP_SECONDS", 86400),
}
# The local wallet's admin API, used by the demo data command only.
TESTWALLET_URL = env_str("TESTWALLET_URL", "http://127.0.0.1:4000")

# LOGGING
# One JSON object per line, with the job and attempt it is about (`LOG_FORMAT=plain` for reading by eye).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "marketplace.logs.ContextFilter"}},
    "formatters": {
        "json": {"()": "marketplace.logs.JSONFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env_str("LOG_FORMAT", "json"),
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
}
