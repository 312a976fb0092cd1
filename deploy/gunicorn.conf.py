"""gunicorn settings for one schoolmgr instance: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`.

The systemd unit schoolmgr@PORT.service passes the port as GUNICORN_BIND=127.0.0.1:PORT.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8001")
# Sync workers: requests are short and CPU-bound (templates, password hashes); PDFs and bulk
# runs go to the RQ worker. One worker per core per instance by default.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count()))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
graceful_timeout = 30
keepalive = 5  # nginx keeps connections to the upstream open
# Restart workers now and then, so no slow leak grows for weeks.
max_requests = 2000
max_requests_jitter = 200
# The client's address comes from nginx's X-Forwarded-For through the app's TRUSTED_PROXIES.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
