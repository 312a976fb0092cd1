"""Configuration classes. Every setting can be overridden from the environment."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("SCHOOLMGR_INSTANCE_DIR", BASE_DIR / "instance"))


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    """Development defaults: an SQLite file under instance/ and mail written to an outbox folder."""

    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-not-secret")
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'schoolmgr.sqlite3'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    SQLALCHEMY_RECORD_QUERIES = False

    # Public base URL used in emails, calendar feeds and certificate QR codes.
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:5000")
    SCHOOL_NAME = os.environ.get("SCHOOL_NAME", "Regional School of Public Administration")
    SCHOOL_SHORT_NAME = os.environ.get("SCHOOL_SHORT_NAME", "ReSPA")
    DEFAULT_TIMEZONE = os.environ.get("DEFAULT_TIMEZONE", "Europe/Belgrade")

    BABEL_DEFAULT_LOCALE = "en_GB"
    BABEL_DEFAULT_TIMEZONE = "UTC"

    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    REMEMBER_COOKIE_DURATION = 60 * 60 * 24 * 30
    # A sign-in ends this many seconds after it began, whatever its cookies say.
    SESSION_MAX_AGE = _env_int("SESSION_MAX_AGE", 60 * 60 * 24 * 30)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"

    # Mail: "outbox" writes each message to MAIL_OUTBOX_DIR; "smtp" sends through MAIL_SERVER.
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "outbox")
    MAIL_OUTBOX_DIR = os.environ.get("MAIL_OUTBOX_DIR", str(INSTANCE_DIR / "outbox"))
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = _env_int("MAIL_PORT", 25)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = _env_bool("MAIL_USE_SSL", False)
    MAIL_TIMEOUT = _env_int("MAIL_TIMEOUT", 10)
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "school@schoolmgr.local")
    MAIL_MAX_ATTEMPTS = _env_int("MAIL_MAX_ATTEMPTS", 8)

    # Uploaded materials and issued certificates live outside static/.
    STORAGE_DIR = os.environ.get("STORAGE_DIR", str(INSTANCE_DIR / "storage"))
    MAX_UPLOAD_MB = _env_int("MAX_UPLOAD_MB", 25)
    # "X-Sendfile" or "X-Accel-Redirect" to let a front web server send stored files.
    SENDFILE_HEADER = os.environ.get("SENDFILE_HEADER") or None
    SENDFILE_PREFIX = os.environ.get("SENDFILE_PREFIX", "/protected")
    # Same for nginx in one setting: X-Accel-Redirect to <prefix>/<key> (an internal location).
    STORAGE_X_ACCEL_PREFIX = os.environ.get("STORAGE_X_ACCEL_PREFIX") or None
    # "local" (files under STORAGE_DIR) or "s3" (an S3-compatible bucket; AWS_* credentials).
    STORAGE_BACKEND = os.environ.get("STORAGE_BACKEND", "local").lower()
    S3_BUCKET = os.environ.get("S3_BUCKET") or None
    S3_PREFIX = os.environ.get("S3_PREFIX", "")
    S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL") or None  # MinIO, Ceph RGW; unset: AWS
    # The address browsers use for download links (STORAGE_DOWNLOADS=redirect) when the app
    # reaches the storage at a private one; unset: S3_ENDPOINT_URL.
    S3_PUBLIC_ENDPOINT_URL = os.environ.get("S3_PUBLIC_ENDPOINT_URL") or None
    S3_REGION = os.environ.get("S3_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None
    # S3 downloads: "stream" through the app, or "redirect" to a presigned URL valid this long.
    STORAGE_DOWNLOADS = os.environ.get("STORAGE_DOWNLOADS", "stream").lower()
    STORAGE_URL_SECONDS = _env_int("STORAGE_URL_SECONDS", 60)

    # Self check-in window around a session, in minutes, and the QR rotation period in seconds.
    CHECKIN_OPENS_MINUTES_BEFORE = _env_int("CHECKIN_OPENS_MINUTES_BEFORE", 30)
    CHECKIN_CLOSES_MINUTES_AFTER = _env_int("CHECKIN_CLOSES_MINUTES_AFTER", 60)
    CHECKIN_LATE_AFTER_MINUTES = _env_int("CHECKIN_LATE_AFTER_MINUTES", 10)
    CHECKIN_ROTATION_SECONDS = _env_int("CHECKIN_ROTATION_SECONDS", 45)

    # Reverse proxies in front of the app (nginx, a load balancer) whose X-Forwarded-For,
    # -Proto and -Host headers are believed: 0 = none (the app faces clients directly).
    TRUSTED_PROXIES = _env_int("TRUSTED_PROXIES", 0)
    # Open Badges credentials: Ed25519 keys as <kid>.pem files (default: instance/credential-keys
    # next to STORAGE_DIR), or the signing key itself in CREDENTIAL_SIGNING_KEY_PEM.
    CREDENTIAL_KEYS_DIR = os.environ.get("CREDENTIAL_KEYS_DIR") or None
    CREDENTIAL_SIGNING_KEY_ID = os.environ.get("CREDENTIAL_SIGNING_KEY_ID") or None
    CREDENTIAL_SIGNING_KEY_PEM = os.environ.get("CREDENTIAL_SIGNING_KEY_PEM") or None
    CREDENTIAL_ISSUER_EMAIL = os.environ.get("CREDENTIAL_ISSUER_EMAIL") or None
    # Make a signing key on first use when there is none (development and tests only).
    CREDENTIAL_AUTO_KEY = False

    REDIS_URL = os.environ.get("REDIS_URL") or None
    # Announcements to more people than this go to the background worker (when REDIS_URL is set).
    ANNOUNCEMENT_INLINE_LIMIT = _env_int("ANNOUNCEMENT_INLINE_LIMIT", 200)
    ANNOUNCEMENT_ATTACHMENTS_MAX_MB = _env_int("ANNOUNCEMENT_ATTACHMENTS_MAX_MB", 10)
    RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", True)
    RATELIMIT_HEADERS_ENABLED = True
    # Counted over the last minute (hour): a fixed window restarts a minute after its first hit
    # and would let ten guesses at its end and ten more just after through.
    RATELIMIT_STRATEGY = "moving-window"

    PASSWORD_RESET_MAX_AGE = _env_int("PASSWORD_RESET_MAX_AGE", 60 * 60)
    # Forgot-password answers no sooner than this, whether or not it sent an email.
    FORGOT_PASSWORD_ANSWER_MS = _env_int("FORGOT_PASSWORD_ANSWER_MS", 1000)
    INVITATION_MAX_AGE = _env_int("INVITATION_MAX_AGE", 60 * 60 * 24 * 7)
    RETENTION_YEARS = _env_int("RETENTION_YEARS", 5)
    # Days after the invitation before the one reminder to answer an evaluation (new forms).
    EVALUATION_REMINDER_DAYS = _env_int("EVALUATION_REMINDER_DAYS", 7)
    PER_PAGE = _env_int("PER_PAGE", 25)
    SECURITY_HEADERS = _env_bool("SECURITY_HEADERS", True)
    # How long /healthz waits for the database (and Redis) before answering 503.
    HEALTHZ_TIMEOUT_MS = _env_int("HEALTHZ_TIMEOUT_MS", 1000)
    # Seconds a worker reuses the home and edition pages as anonymous visitors see them (0: off).
    PUBLIC_PAGE_CACHE_SECONDS = _env_int("PUBLIC_PAGE_CACHE_SECONDS", 0)


class DevelopmentConfig(Config):
    DEBUG = True
    CREDENTIAL_AUTO_KEY = True


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    WTF_CSRF_ENABLED = False
    MAIL_BACKEND = "memory"
    CREDENTIAL_AUTO_KEY = True
    RATELIMIT_ENABLED = False
    REDIS_URL = None
    # Tests move the clock (freeze_time) by months; sign-ins must not expire under them.
    SESSION_MAX_AGE = 60 * 60 * 24 * 365 * 20
    SERVER_NAME = None


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    SESSION_COOKIE_SAMESITE = "Lax"
    PREFERRED_URL_SCHEME = "https"
    PUBLIC_PAGE_CACHE_SECONDS = _env_int("PUBLIC_PAGE_CACHE_SECONDS", 5)

    @classmethod
    def validate(cls) -> None:
        """Refuse to start without the secrets that must come from the environment."""
        missing = [name for name in ("SECRET_KEY", "DATABASE_URL") if not os.environ.get(name)]
        if missing:
            raise RuntimeError(
                "Production configuration needs these environment variables: "
                + ", ".join(missing)
                + ". Set them, e.g. SECRET_KEY=<64 random hex characters> "
                "DATABASE_URL=postgresql+psycopg://user:pass@host/dbname, and start again."
            )


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestConfig,
    "production": ProductionConfig,
}
