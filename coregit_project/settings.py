"""Settings come from the environment; see README.md for the variables."""

import os
from pathlib import Path

import dj_database_url

from coregit_project.env import env_bool, env_int, env_str, load_run_env, require

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("COREGIT_DATA_DIR", str(BASE_DIR / "var"))).resolve()
load_run_env(DATA_DIR)  # what `make run` wrote there; the environment wins

DEBUG = env_bool("DEBUG", False)
_NEEDED = "required when DEBUG is off"
if DEBUG:
    SECRET_KEY = env_str("SECRET_KEY", "dev-insecure-secret-key-do-not-use-in-production")
    # A fixed development key so a DEBUG checkout works out of the box; never used with DEBUG off.
    COREGIT_ENCRYPTION_KEYS = env_str(
        "COREGIT_ENCRYPTION_KEYS", "dev:ZGV2LW9ubHkta2V5LWRldi1vbmx5LWtleS1kZXYtMDA="
    )
else:
    SECRET_KEY = require("SECRET_KEY", _NEEDED)
    COREGIT_ENCRYPTION_KEYS = require("COREGIT_ENCRYPTION_KEYS", _NEEDED)

ALLOWED_HOSTS = [h for h in env_str("ALLOWED_HOSTS", "*").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "core",
    "accounts",
    "repos",
    "connections",
    "sync",
    "events",
    "drf_spectacular_sidecar",  # Swagger UI / ReDoc assets served by us: pinned, offline
    "observability",
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

ROOT_URLCONF = "coregit_project.urls"
APPEND_SLASH = False
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
            ]
        },
    }
]
WSGI_APPLICATION = "coregit_project.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}"), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The embedded default shares one file between the API and the worker.
    # WAL: readers never wait for the writer, and a commit appends to the log instead of
    # syncing the database file several times. FULL keeps every commit durable across a power
    # loss too (NORMAL would be faster but may drop the last recorded runs after refs moved).
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30, "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"}
    # Connections persist per thread as on PostgreSQL (conn_max_age above): opening the file
    # and running init_command for every request cost a webhook burst ~25 % of its throughput.

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.HasApiKey"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "core.exception_handler.handle_exception",
    "DEFAULT_SCHEMA_CLASS": "core.openapi.CoregitAutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Coregit Sync API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- API edge (issue 12) -----------------------------------------------------
# Outermost: every answer on /v1 is JSON, NUL bytes and oversized bodies never reach a view.
MIDDLEWARE.insert(0, "core.middleware.ApiEdgeMiddleware")
# Right after SecurityMiddleware: gunicorn serves the docs' assets (no collectstatic needed).
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
                  "whitenoise.middleware.WhiteNoiseMiddleware")
WHITENOISE_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise also serves collectstatic output
REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] = ["core.parsers.JsonBodyParser"]
COREGIT_MAX_API_BODY_BYTES = env_int("COREGIT_MAX_API_BODY_BYTES", 2 * 1024 * 1024)
SPECTACULAR_SETTINGS.update({
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"ConnectionProviderEnum": ["github", "gitlab"],
                            "SyncProviderEnum": ["github", "gitlab", "git"]},
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "core.openapi.closed_request_bodies"],
    "DESCRIPTION": (
        "Errors are always `{\"error\", \"code\", \"details\"?}`. Authenticate with "
        "`x-api-key: <key>` or `Authorization: Bearer <key>` (either one). Bodies are JSON "
        "objects; unknown fields are refused with 400."
    ),
})

# --- Coregit ---------------------------------------------------------------
COREGIT_REPO_ROOT = Path(env_str("COREGIT_REPO_ROOT", str(DATA_DIR / "repos"))).resolve()
COREGIT_PUBLIC_URL = env_str("COREGIT_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
COREGIT_ALLOW_PRIVATE_HOSTS = env_bool("COREGIT_ALLOW_PRIVATE_HOSTS", DEBUG)
COREGIT_SYNC_WAIT_SECONDS = env_int("COREGIT_SYNC_WAIT_SECONDS", 25)
# `wait: true` triggers one API process holds open at once (sync/wait_slots.py); unset: half of
# gunicorn's threads, so waits never take the threads webhook intake and /healthz need.
COREGIT_SYNC_WAIT_SLOTS = int(env_str("COREGIT_SYNC_WAIT_SLOTS", "") or -1)
COREGIT_SYNC_WAIT_SLOTS = None if COREGIT_SYNC_WAIT_SLOTS < 0 else COREGIT_SYNC_WAIT_SLOTS
COREGIT_MAX_WEBHOOK_BYTES = 25 * 1024 * 1024
COREGIT_MAX_PUSH_BYTES = env_int("COREGIT_MAX_PUSH_BYTES", 2 * 1024**3)  # one push's pack
# Snapshot exports to GitHub/GitLab of at least this many changed files or bytes are pushed over
# git smart HTTP instead of the provider API (sync.engine.exactness; bench/export_scale.py).
COREGIT_EXPORT_PUSH_MIN_FILES = env_int("COREGIT_EXPORT_PUSH_MIN_FILES", 2000)
COREGIT_EXPORT_PUSH_MIN_BYTES = env_int("COREGIT_EXPORT_PUSH_MIN_BYTES", 64 * 1024**2)
# Temporary pack files and quarantines untouched this long (seconds) are left by aborted work.
COREGIT_TEMP_FILE_MAX_AGE = env_int("COREGIT_TEMP_FILE_MAX_AGE", 3600)

# --- Celery ----------------------------------------------------------------
_broker_dir = DATA_DIR / "broker"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", env_str("REDIS_URL", "filesystem://"))
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {"visibility_timeout": 4 * 3600}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The serverless broker of the embedded run: both processes share these folders. kombu's
    # filesystem transport, with messages written whole (workers/broker_files.py).
    CELERY_BROKER_TRANSPORT = "workers.broker_files:Transport"
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS.update(
        data_folder_in=str(_broker_dir / "queue"),
        data_folder_out=str(_broker_dir / "queue"),
        processed_folder=str(_broker_dir / "processed"),
        control_folder=str(_broker_dir / "control"),
        store_processed=False,
        # How often an idle worker looks for a message (kombu's default, 1 s, was most of a
        # small trigger's wait). A look is one listdir per consumed queue: 20 a second cost
        # well under 1 % of a core (docs/benchmarks.md, "Import end to end").
        polling_interval=0.05,
    )
# Named, so tests and metrics can derive their queues from it; COREGIT_TASK_QUEUE gives two
# deployments (or a benchmark and the CI) on one Redis queues of their own.
CELERY_TASK_DEFAULT_QUEUE = env_str("COREGIT_TASK_QUEUE", "celery")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE: dict = {
    "reap-sync-runs": {"task": "workers.reap_sync_runs", "schedule": 300.0},
    "poll-sync-configs": {"task": "workers.poll_sync_configs", "schedule": 60.0},
    "sweep-repository-temp-files": {"task": "workers.sweep_repository_temp_files",
                                    "schedule": 900.0},
}

# --- Run recovery (README "Crashed runs and outages") ---------------------------------------
# A running run beats every HEARTBEAT seconds; one whose beat is older than STALE (or whose process
# on this machine has exited) lost its worker and is re-queued, at most MAX_ATTEMPTS times in all.
COREGIT_HEARTBEAT_SECONDS = env_int("COREGIT_HEARTBEAT_SECONDS", 15)
COREGIT_RUN_STALE_SECONDS = env_int("COREGIT_RUN_STALE_SECONDS", 60)
COREGIT_REAPER_SECONDS = env_int("COREGIT_REAPER_SECONDS", 30)
COREGIT_RUN_MAX_ATTEMPTS = env_int("COREGIT_RUN_MAX_ATTEMPTS", 3)
# A queued run not picked up this long after its last publish is published again (claims dedupe).
COREGIT_RUN_REPUBLISH_SECONDS = env_int("COREGIT_RUN_REPUBLISH_SECONDS", 300)
# How long recording a run's outcome keeps retrying while the database is unreachable.
COREGIT_DB_RETRY_SECONDS = env_int("COREGIT_DB_RETRY_SECONDS", 1800)
CELERY_BEAT_SCHEDULE["reap-sync-runs"].update(
    schedule=float(COREGIT_REAPER_SECONDS),
    options={"expires": float(COREGIT_REAPER_SECONDS)},  # ticks missed while no worker ran: drop
)
# A connection that died with a database restart is replaced, not reused for one failed request;
# on PostgreSQL checked by polling its socket, not by a SELECT 1 per request (core/postgresql).
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "core.postgresql"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
# A generic-git import with auto_sync has no webhook to register: it polls this often (minutes).
COREGIT_GIT_POLL_MINUTES = env_int("COREGIT_GIT_POLL_MINUTES", 15)

# Outbound event hooks (events/): bounded attempts with backoff, disabled after a run of failures.
COREGIT_EVENT_MAX_ATTEMPTS = env_int("COREGIT_EVENT_MAX_ATTEMPTS", 6)
COREGIT_EVENT_RETRY_BASE_SECONDS = float(env_str("COREGIT_EVENT_RETRY_BASE_SECONDS", "10"))
COREGIT_EVENT_DISABLE_AFTER = env_int("COREGIT_EVENT_DISABLE_AFTER", 10)
# A pending delivery this overdue (its task message lost, e.g. published during a broker outage)
# is published again by the beat task, every COREGIT_EVENT_REAPER_SECONDS; an attempt's claim
# older than COREGIT_EVENT_CLAIM_SECONDS is taken to be lost with its worker.
COREGIT_EVENT_REAP_AFTER_SECONDS = env_int("COREGIT_EVENT_REAP_AFTER_SECONDS", 300)
COREGIT_EVENT_REAPER_SECONDS = env_int("COREGIT_EVENT_REAPER_SECONDS", 60)
COREGIT_EVENT_CLAIM_SECONDS = env_int("COREGIT_EVENT_CLAIM_SECONDS", 300)
CELERY_BEAT_SCHEDULE["reap-event-deliveries"] = {
    "task": "workers.reap_event_deliveries", "schedule": float(COREGIT_EVENT_REAPER_SECONDS),
    "options": {"expires": float(COREGIT_EVENT_REAPER_SECONDS)}}
# Outbound events (merge): stable enum names instead of drf-spectacular's hashed fallbacks.
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update({
    "EventDeliveryStatusEnum": ["pending", "succeeded", "failed"],
    "SyncRunStatusEnum": ["queued", "running", "success", "skipped", "error"],
    "EventTypeEnum": "events.models.EVENT_TYPES",
})

# --- Metrics (README "Metrics") ------------------------------------------------------------------
# Unset: /metrics answers loopback clients only. Every process of a machine writes its series to
# PROMETHEUS_MULTIPROC_DIR (prometheus_client multiprocess mode); it must be set before
# prometheus_client is first imported, which happens after the settings are loaded.
COREGIT_METRICS_TOKEN = env_str("COREGIT_METRICS_TOKEN", "")
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(DATA_DIR / "metrics"))
Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

# A sync run past these limits is hung (a provider or disk that never answers): the soft limit
# fails it cleanly, the hard one kills its worker process (the run then counts a lost worker).
COREGIT_RUN_SOFT_TIME_LIMIT = env_int("COREGIT_RUN_SOFT_TIME_LIMIT", 6 * 3600)
COREGIT_RUN_TIME_LIMIT = env_int("COREGIT_RUN_TIME_LIMIT", 6 * 3600 + 300)
CELERY_TASK_ANNOTATIONS = {"workers.sync_run": {"soft_time_limit": COREGIT_RUN_SOFT_TIME_LIMIT,
                                                "time_limit": COREGIT_RUN_TIME_LIMIT}}
