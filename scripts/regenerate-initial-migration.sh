#!/usr/bin/env bash
# Until the first production deployment the schema is one initial migration, regenerated from
# the models. After that date, add ordinary migrations with `flask db migrate` instead.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f migrations/versions/*.py
DATABASE_URL="sqlite:///$tmp/schema.sqlite3" FLASK_APP=wsgi.py .venv/bin/flask db migrate -m "initial schema" >"$tmp/log" 2>&1 || { cat "$tmp/log"; exit 1; }
.venv/bin/ruff check --fix --quiet migrations/versions >/dev/null 2>&1 || true
.venv/bin/ruff format --quiet migrations/versions 2>/dev/null || true
rm -rf "$tmp"
ls migrations/versions/*.py
