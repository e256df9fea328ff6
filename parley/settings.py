"""Parley settings: everything comes from the environment, with embedded defaults.

With no variables set, Parley runs on one machine with nothing else installed: SQLite, an
in-memory channel layer and Celery tasks executed in-process. Production differs only by
environment variables (`DATABASE_URL`, `REDIS_URL`, `SECRET_KEY`, …).
"""

import warnings
from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
env.read_env(BASE_DIR / ".env", overwrite=False)

# The default key is for the local demo only; any deployment sets SECRET_KEY.
DEMO_SECRET_KEY = "parley-demo-only-insecure-secret-key-change-me"
SECRET_KEY = env.str("SECRET_KEY", default=DEMO_SECRET_KEY)
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # intcomma: audience sizes as "15,300 followers", grouped as the agent's language does.
    "django.contrib.humanize",
    # Its form templates, for FORM_RENDERER below.
    "django.forms",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "axes",
    "auditlog",
    "channels",
    "django_prometheus",
    "django_guid",
    "parley",
    "core",
    "helpdesk",
    "ingestion",
    "triage",
    "routing",
    "sla",
    "reliability",
    "reports",
]

MIDDLEWARE = [
    # First and last: django-prometheus times every request between the two.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # A request id (X-Request-ID, or a new one) on every log line of the request and of the
    # Celery tasks it queues (parley.observability).
    "django_guid.middleware.guid_middleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The browser's language (Accept-Language), unless the agent chose one: see below.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The agent's own language and time zone (their profile), once they are known.
    "parley.agent_locale.AgentLocaleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Records who (and from which address: see parley.client_address) made each change.
    "parley.client_address.ClientAddressAuditlogMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it answers locked-out logins.
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "core.auth.OneQueryPermissionsBackend",
]

ROOT_URLCONF = "parley.urls"
ASGI_APPLICATION = "parley.asgi.application"
WSGI_APPLICATION = None

# Widgets render through TEMPLATES, so templates/ can override one: the admin's date/time
# widget gets labels there (templates/admin/widgets/split_datetime.html).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

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

# --- Database: SQLite on a laptop, Postgres when DATABASE_URL says so -------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'parley.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and IMMEDIATE transactions let the demo feed and the web server write side by side.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # The reports' covering indexes carry extra columns on PostgreSQL only; SQLite builds
    # them on their keys, as intended, so its warning about it says nothing to act on.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# The web server (`manage.py serve`) pools its PostgreSQL connections instead of keeping one
# per request thread (parley/connections.py); workers keep DB_CONN_MAX_AGE.
DB_POOL_MAX_SIZE = env.int("DB_POOL_MAX_SIZE", default=16)
DB_POOL_MIN_SIZE = env.int("DB_POOL_MIN_SIZE", default=2)
DB_POOL_TIMEOUT = env.float("DB_POOL_TIMEOUT", default=10.0)
# Web processes `manage.py serve` starts (0: one per core). Only one on SQLite or without
# Redis, where processes would not share the channel layer and the cache.
WEB_CONCURRENCY = env.int("WEB_CONCURRENCY", default=0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: Celery broker/results, channel layer and cache, or in-process stand-ins ----------
REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
    # Sessions read from Redis, written through to the database: every page read its session
    # with a query of its own. Only with a cache every process shares: a per-process cache
    # would keep serving a session another process had ended (a logout). Redis being away
    # must not stop logins (parley/sessions.py).
    SESSION_ENGINE = "parley.sessions"
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://localhost/")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL or None)
# Without a broker, tasks run in the calling process: the embedded default needs no worker.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Nothing reads a task's return value (failures become dead letters, see reliability): storing
# one per task would be a Redis write for every delivery, post and reply.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes the database connection around every task unless told to
# reuse it: a new PostgreSQL backend per task cost more CPU than the task (bench: ingest).
# Connections are still recycled after twice this many tasks.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=100)
CELERY_TIMEZONE = "UTC"
# Lets a test run its own worker on a queue no other worker reads.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
# At-least-once delivery (see docs/reliability.md): a message is acked only after its task
# ran (acks_late) and goes back to the queue when the worker dies under it. Redis hands an
# unacked message to another worker after the visibility timeout: longer than any task runs
# and than the furthest eta (SLA_EXACT_CHECK_HORIZON_SECONDS), else an eta task runs twice.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    # A broker that is down must fail a publish quickly, not hold a web request.
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 5}
# Publishing after commit retries briefly; if the broker stays down the row is stored and
# the reliability sweep queues it again (reliability.services.requeue_stranded_work).
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None  # a worker waits for Redis to come back
# Tasks that raise are retried with exponential backoff and jitter, then recorded as a dead
# letter (reliability.models.DeadLetter) an admin can inspect and replay.
RELIABILITY_TASK_MAX_RETRIES = env.int("RELIABILITY_TASK_MAX_RETRIES", default=5)
RELIABILITY_RETRY_BACKOFF_MAX = env.int("RELIABILITY_RETRY_BACKOFF_MAX", default=600)

# How often each account is polled and the SLA sweep runs (seconds). Celery beat uses this
# schedule in production; `manage.py serve` runs the same entries in-process on the embedded
# defaults.
INGESTION_POLL_SECONDS = env.float("INGESTION_POLL_SECONDS", default=5.0)
SLA_SWEEP_SECONDS = env.float("SLA_SWEEP_SECONDS", default=30.0)
# How often conversations whose snooze has ended are brought back into the inboxes.
SNOOZE_WAKE_SECONDS = env.float("SNOOZE_WAKE_SECONDS", default=15.0)
# The furthest a conversation may be snoozed: nobody hides one from the queues for good.
SNOOZE_MAX_DAYS = env.int("SNOOZE_MAX_DAYS", default=30)
# SLA thresholds nearer than this also get a sweep queued (a Celery task with an eta) at
# their second, one per second whatever the traffic; keep it below the broker's visibility
# timeout (Redis: 1 hour by default). 0 leaves it all to the periodic sweep.
SLA_EXACT_CHECK_HORIZON_SECONDS = env.float("SLA_EXACT_CHECK_HORIZON_SECONDS", default=3000.0)
CELERY_BEAT_SCHEDULE = {
    "poll-platform-accounts": {
        "task": "ingestion.tasks.poll_all_accounts",
        "schedule": INGESTION_POLL_SECONDS,
    },
    "sweep-sla-timers": {
        "task": "sla.tasks.sweep_sla_timers",
        "schedule": SLA_SWEEP_SECONDS,
    },
    "requeue-stranded-work": {
        "task": "ingestion.tasks.requeue_stranded_work",
        "schedule": env.float("RELIABILITY_SWEEP_SECONDS", default=30.0),
    },
    "retry-integration-webhooks": {
        "task": "core.tasks.retry_integration_events",
        "schedule": 60.0,
    },
    "wake-snoozed-conversations": {
        "task": "helpdesk.tasks.wake_snoozed_conversations",
        "schedule": SNOOZE_WAKE_SECONDS,
    },
}
# Work whose task has not run this long after commit (posts never triaged, replies whose
# task was lost with a broker restart) is queued again by the sweep above.
RELIABILITY_STRANDED_AFTER_SECONDS = env.float("RELIABILITY_STRANDED_AFTER_SECONDS", default=60.0)
# The sweep queues one stranded item again at most this often (while a backlog drains).
RELIABILITY_REQUEUE_EVERY_SECONDS = env.float("RELIABILITY_REQUEUE_EVERY_SECONDS", default=300.0)
# ... and not at all while more than this many messages wait in the queue (workers behind).
RELIABILITY_SWEEP_MAX_BACKLOG = env.int("RELIABILITY_SWEEP_MAX_BACKLOG", default=100)
# A claim on a reply older than this belongs to a worker that died mid-call; keep it above the
# connectors' HTTP timeout (30 s).
INGESTION_REPLY_CLAIM_SECONDS = env.float("INGESTION_REPLY_CLAIM_SECONDS", default=120.0)
# A worker catching up on queued webhook deliveries takes those behind the one its task names,
# up to about this many posts, and stores them as one batch (ingestion.services). Each batch
# has a fixed cost (its statements, its commit, its broadcast: ~35 ms of CPU), so in a storm
# bigger batches go faster: 2 cores stored 1,430 posts/s in batches of 200, 1,610 in 400,
# 1,810 in 1,000 (bench: ingest). The price is a second or two before a batch's posts show,
# and only when workers are behind; when they keep up, batches are what arrived.
INGESTION_BATCH_POSTS = env.int("INGESTION_BATCH_POSTS", default=1000)
# A worker's claim on webhook deliveries older than this belongs to a worker that died: keep
# it above the time a batch takes, lookups included (30-second HTTP timeouts).
INGESTION_DELIVERY_CLAIM_SECONDS = env.float("INGESTION_DELIVERY_CLAIM_SECONDS", default=120.0)
# A pending reply attempted before and untouched this long has lost its retrying task; keep
# it above deliver_reply's largest backoff (256 s).
RELIABILITY_REPLY_RETRY_AFTER_SECONDS = env.float(
    "RELIABILITY_REPLY_RETRY_AFTER_SECONDS", default=600.0
)
# The largest webhook body accepted (bytes); bigger ones get a 413 and are not stored.
WEBHOOK_MAX_BODY_BYTES = env.int("WEBHOOK_MAX_BODY_BYTES", default=1024 * 1024)
# Processed webhook deliveries are deleted this many days after they arrived (their posts
# keep their own payload); 0 keeps them forever (ingestion.retention).
WEBHOOK_DELIVERY_RETENTION_DAYS = env.int("WEBHOOK_DELIVERY_RETENTION_DAYS", default=30)
CELERY_BEAT_SCHEDULE["purge-processed-webhook-deliveries"] = {
    "task": "ingestion.tasks.purge_processed_deliveries",
    "schedule": 3600.0,
}
# How long a web process keeps the accounts' webhook secrets before reading them again: a
# secret rotated from another process is honoured within this many seconds (0: every delivery).
WEBHOOK_SECRETS_CACHE_SECONDS = env.float("WEBHOOK_SECRETS_CACHE_SECONDS", default=5.0)
# The longest a session's copy stays in Redis (parley/sessions.py): the bound on a logout
# that could not reach Redis. Pages within it read the session without a query.
SESSION_CACHE_SECONDS = env.int("SESSION_CACHE_SECONDS", default=300)
# The largest body accepted anywhere else (forms, the API, the admin): 413 beyond it, refused
# on the declared length or while streaming, before Django reads it (parley.body_limits).
MAX_REQUEST_BODY_BYTES = env.int("MAX_REQUEST_BODY_BYTES", default=512 * 1024)

# Reports: spike detection compares the last SPIKE_WINDOW_MINUTES of an account's inbound
# posts with its usual volume over the SPIKE_BASELINE_HOURS before; a spike needs at least
# SPIKE_MIN_POSTS posts and SPIKE_FACTOR times the usual count.
SPIKE_DETECT_SECONDS = env.float("SPIKE_DETECT_SECONDS", default=60.0)
SPIKE_WINDOW_MINUTES = env.int("SPIKE_WINDOW_MINUTES", default=5)
SPIKE_BASELINE_HOURS = env.int("SPIKE_BASELINE_HOURS", default=24)
SPIKE_MIN_POSTS = env.int("SPIKE_MIN_POSTS", default=20)
SPIKE_FACTOR = env.float("SPIKE_FACTOR", default=4.0)
# A single post is "going viral" at this many retweets, likes, replies and shares an hour.
SPIKE_VIRAL_ENGAGEMENTS_PER_HOUR = env.float("SPIKE_VIRAL_ENGAGEMENTS_PER_HOUR", default=500.0)
# CSAT: how often newly resolved conversations are offered their survey message (when the
# platform has an active survey template); the public link is built on PUBLIC_BASE_URL.
CSAT_SEND_SECONDS = env.float("CSAT_SEND_SECONDS", default=60.0)
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")
CELERY_BEAT_SCHEDULE["detect-volume-spikes"] = {
    "task": "reports.tasks.detect_spikes",
    "schedule": SPIKE_DETECT_SECONDS,
}
# Mail (the weekly report): EMAIL_URL such as smtp+tls://user:password@mail.example.com:587;
# without it, mail is printed to the server log.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Parley <parley@localhost>")
CELERY_BEAT_SCHEDULE["send-weekly-report"] = {
    # Hourly: the task itself sends each week's report once, on the first tick after it ends.
    "task": "reports.tasks.send_weekly_report",
    "schedule": 3600.0,
}
CELERY_BEAT_SCHEDULE["send-scheduled-reports"] = {
    # Hourly too: each schedule's day, week or month goes out once, after it ends.
    "task": "reports.tasks.send_scheduled_reports",
    "schedule": 3600.0,
}
CELERY_BEAT_SCHEDULE["offer-csat-surveys"] = {
    "task": "reports.tasks.offer_csat_surveys",
    "schedule": CSAT_SEND_SECONDS,
}

# The demo platform: posts per minute it produces when polled.
DEMO_FEED_POSTS_PER_MINUTE = env.float("DEMO_FEED_POSTS_PER_MINUTE", default=12.0)

# facebook-sdk only knows Graph API versions up to 3.1; Parley sets a current one after
# constructing the client (see ingestion.connectors.facebook).
FACEBOOK_GRAPH_API_VERSION = env.str("FACEBOOK_GRAPH_API_VERSION", default="v21.0")
# Where Graph API calls go: Meta's host, or a test double / recording proxy in front of it
# (the browser tests serve one). Ends with "/".
META_GRAPH_URL = env.str("META_GRAPH_URL", default="https://graph.facebook.com/")

# Messenger / Instagram Direct answers between 24 hours and 7 days after the customer's
# message go out with Meta's HUMAN_AGENT tag, a permission Meta grants on app review: enable
# only once it is granted (without it they are refused with the reason).
META_HUMAN_AGENT_TAG = env.bool("META_HUMAN_AGENT_TAG", default=False)

# A customer's new post within this many minutes of an agent resolving their conversation
# reopens it instead of starting a new one (0: always a new one).
INGESTION_REOPEN_WINDOW_MINUTES = env.int("INGESTION_REOPEN_WINDOW_MINUTES", default=24 * 60)

# Webhooks: the Meta app secret signs deliveries (X-Hub-Signature-256), the verify token
# answers Meta's subscription handshake, the X consumer secret signs Account Activity
# deliveries. Secrets entered on an account in the admin are accepted too.
META_APP_SECRET = env.str("META_APP_SECRET", default="")
META_WEBHOOK_VERIFY_TOKEN = env.str("META_WEBHOOK_VERIFY_TOKEN", default="")
X_CONSUMER_SECRET = env.str("X_CONSUMER_SECRET", default="")
# How often one address may ask for X's CRC answer (django-ratelimit's rate syntax); X itself
# asks when the webhook is registered and about hourly after.
X_WEBHOOK_CRC_RATE = env.str("X_WEBHOOK_CRC_RATE", default="30/m")
# Connecting accounts from Parley (admin → Platform accounts → Connect): the Meta app's id
# (and, for Facebook Login for Business, its configuration id), the X app's API key and the
# bearer token new X accounts read with.
META_APP_ID = env.str("META_APP_ID", default="")
META_LOGIN_CONFIG_ID = env.str("META_LOGIN_CONFIG_ID", default="")
X_CONSUMER_KEY = env.str("X_CONSUMER_KEY", default="")
X_BEARER_TOKEN = env.str("X_BEARER_TOKEN", default="")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "inbox"
LOGOUT_REDIRECT_URL = "login"

# English and French are shipped (locale/; the compiled .mo files are committed, so a fresh
# clone needs no gettext tools). An agent's own choice on their profile beats the browser's
# Accept-Language (parley.agent_locale); without one, LocaleMiddleware reads the browser's.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The server's zone: what pages use for an agent who chose none, and what reports count days in.
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
# Django 6 behaviour now: a URL typed without a scheme is https.
FORMS_URLFIELD_ASSUME_HTTPS = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Serve straight from the finders when collectstatic has not run (the demo, the tests), from
# STATIC_ROOT otherwise (the image sets it false after its collectstatic).
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=True)
warnings.filterwarnings("ignore", message="No directory at")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Collected files get a content hash in their name (cached for ever by browsers, which
    # WhiteNoise tells them) and gzip/brotli copies. The manifest exists only after
    # collectstatic, so without it (the demo) the files keep their plain names.
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if WHITENOISE_USE_FINDERS
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "PAGE_SIZE": 50,
    # Per user (token or session), or per address for anonymous callers; the counts live in
    # the cache (Redis in production, so every web process shares them). `csat` is the
    # public survey form (reports.views).
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.UserRateThrottle",
        "rest_framework.throttling.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env.str("API_THROTTLE_USER", default="1200/minute"),
        "anon": env.str("API_THROTTLE_ANON", default="60/minute"),
        "csat": env.str("CSAT_THROTTLE", default="20/minute"),
    },
}

# --- Security -----------------------------------------------------------------------------------
# Behind TLS (a proxy terminating HTTPS), set SECURE_COOKIES=true and HSTS_SECONDS.
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
# Ask browsers' preload lists to know the site is HTTPS-only: only once every subdomain is.
SECURE_HSTS_PRELOAD = env.bool("HSTS_PRELOAD", default=False)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# Probes and scrapers call over plain HTTP inside the deployment: a redirect would fail them
# (paths without their leading slash, as SecurityMiddleware matches them).
SECURE_REDIRECT_EXEMPT = [r"^livez$", r"^readyz$", r"^healthz$", r"^metrics$"]
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Reverse proxies (addresses or CIDR networks) whose X-Forwarded-For and X-Forwarded-Proto are
# believed; `manage.py serve` hands them to uvicorn. Empty: the TCP peer is the client, and the
# headers are ignored, as anyone can send them.
TRUSTED_PROXY_IPS = env.list("TRUSTED_PROXY_IPS", default=[])
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Post text is untrusted: no inline script or style runs, whatever slips into a page.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # Photos and profile pictures stay on the platforms' CDNs (X, Facebook, Instagram).
        "img-src": [
            "'self'",
            "data:",
            "https://pbs.twimg.com",
            "https://*.fbcdn.net",
            "https://*.fbsbx.com",
            "https://*.cdninstagram.com",
        ],
        # 'self' covers the same origin's ws:// and wss:// (CSP Level 3, every current browser).
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# Platform tokens are encrypted with the first of these Fernet keys (generate one with
# `python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`);
# older keys stay listed after it until every row is re-saved. Empty: derived from SECRET_KEY.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])

# The audit log (django-auditlog): who changed what, when, from where. Append-only in the admin.
# Conversations log only the fields an agent or supervisor decides; accounts log their settings,
# with the tokens masked, and not the polling state that changes every few seconds.
AUDITLOG_INCLUDE_TRACKING_MODELS = (
    {
        "model": "core.conversation",
        "include_fields": ["status", "assignee", "team", "priority", "snoozed_until"],
    },
    {"model": "core.agentprofile", "m2m_fields": ["teams"]},
    # What agents do on the platform to a post (like, hide, delete) and to its author (block),
    # the customer's notes, and the links that merge a person's profiles (helpdesk.social,
    # helpdesk.customers).
    {"model": "core.post", "include_fields": ["liked_at", "hidden_at", "deleted_at"]},
    {"model": "core.customer", "include_fields": ["notes", "blocked_at"]},
    {"model": "ingestion.customerlink", "include_fields": ["status"]},
    "core.team",
    "core.replytemplate",
    "core.replytemplatevariant",
    {
        "model": "ingestion.platformaccount",
        "include_fields": [
            "platform",
            "handle",
            "external_id",
            "display_name",
            "credentials",
            "listening_queries",
            "poll_interval_seconds",
            "is_active",
            "is_healthy",
        ],
        "mask_fields": ["credentials"],
        "mask_callable": "core.fields.redact",
    },
    "routing.routingrule",
    "sla.servicewindow",
    "sla.businesshours",
    "sla.servicewindowclosure",
    "sla.slapolicy",
    {"model": "auth.user", "exclude_fields": ["password", "last_login"], "m2m_fields": ["groups"]},
    {"model": "auth.group", "m2m_fields": ["permissions"]},
)
AUDITLOG_STORE_JSON_CHANGES = True

# Login rate limiting: after AXES_FAILURE_LIMIT failures for a username from an address, that
# pair is locked out for AXES_COOLOFF_MINUTES.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The same address the audit log records; never a header a client can make up.
AXES_CLIENT_IP_CALLABLE = "parley.client_address.client_address"

SPECTACULAR_SETTINGS = {
    "TITLE": "Parley API",
    "DESCRIPTION": "Conversations, posts, replies, assignments, teams, templates and reports.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Logs: plain lines, or one JSON object a line (LOG_FORMAT=json) for a log collector. Both
# carry the request id (`request_id`) of the request, or of the request that queued the task.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "parley.observability.RequestIdFilter"},
        # Error messages carry platform URLs and answers, tokens included: every line is
        # scrubbed (the same redaction as stored errors).
        "redact": {"()": "reliability.redaction.RedactingFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["request_id", "redact"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        # It logs each id it sets or generates at INFO: one line per request and task.
        "django_guid": {"level": "WARNING"},
    },
}
# The request id: taken from the caller's X-Request-ID (a proxy's or a platform's), else new.
DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    "VALIDATE_GUID": False,
    "RETURN_HEADER": True,
    "EXPOSE_HEADER": False,
}

# Errors to Sentry (or a compatible service such as GlitchTip) when SENTRY_DSN is set; off
# otherwise. Django requests and Celery tasks are reported, without personal data.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from parley.sentry import init_sentry

    init_sentry(
        dsn=SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )

# Outbound integration webhooks are signed as Standard Webhooks; the earlier X-Parley-* headers
# are sent too for this release, so receivers can move over (off by default in the next).
INTEGRATION_WEBHOOKS_LEGACY_HEADERS = env.bool("INTEGRATION_WEBHOOKS_LEGACY_HEADERS", default=True)

# Prometheus metrics at /metrics: for callers with the bearer token, or from these networks.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.1/32", "::1/128"])
# /readyz: details (errors, ages) for staff or callers with this bearer token; a worker or
# beat not seen for this long makes Parley not ready.
HEALTH_TOKEN = env.str("HEALTH_TOKEN", default="")
HEALTH_WORKER_SEEN_SECONDS = env.float("HEALTH_WORKER_SEEN_SECONDS", default=120.0)
HEALTH_BEAT_SEEN_SECONDS = env.float("HEALTH_BEAT_SEEN_SECONDS", default=120.0)

# Triage: trained classifiers are stored here (the shipped defaults live in triage/data/models);
# workers re-check which model is active every TRIAGE_MODEL_CHECK_SECONDS.
TRIAGE_MODEL_DIR = env.path("TRIAGE_MODEL_DIR", default=BASE_DIR / "var" / "triage-models")
TRIAGE_MODEL_CHECK_SECONDS = env.float("TRIAGE_MODEL_CHECK_SECONDS", default=10.0)
# Most automatic replies one platform account may send per hour.
TRIAGE_AUTO_REPLIES_PER_HOUR = env.int("TRIAGE_AUTO_REPLIES_PER_HOUR", default=30)
