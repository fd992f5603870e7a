#!/usr/bin/env bash
# The whole suite: on SQLite always, then on PostgreSQL + Redis when they answer.
# GROUPCRM_REQUIRE_SERVICES=1 (set by .ci/run) turns "not reachable" into a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PG_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/groupcrm}
REDIS=${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}
export DJANGO_ALLOW_ASYNC_UNSAFE=true
unset DATABASE_URL REDIS_URL

echo "== groupcrm tests on SQLite =="
GROUPCRM_REQUIRE_SERVICES=0 "$PY" -m pytest "$@"

reachable() {
  "$PY" - "$1" "$2" <<'PYCODE'
import sys
kind, url = sys.argv[1], sys.argv[2]
try:
    if kind == "pg":
        import dj_database_url, psycopg
        cfg = dj_database_url.parse(url)
        psycopg.connect(host=cfg["HOST"], port=cfg["PORT"] or 5432, user=cfg["USER"],
                        dbname="postgres", connect_timeout=3).close()
    else:
        import redis
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
except Exception as exc:
    print(f"{kind}: {exc}", file=sys.stderr)
    sys.exit(1)
PYCODE
}

missing=()
reachable pg "$PG_URL" || missing+=("PostgreSQL at $PG_URL")
reachable redis "$REDIS" || missing+=("Redis at $REDIS")
if [ ${#missing[@]} -gt 0 ]; then
  if [ "${GROUPCRM_REQUIRE_SERVICES:-0}" = "1" ]; then
    echo "FAILED: required services not reachable: ${missing[*]}" >&2
    exit 1
  fi
  echo "SKIPPED the PostgreSQL + Redis run: not reachable: ${missing[*]}"
  exit 0
fi

echo "== groupcrm tests on PostgreSQL + Redis =="
DATABASE_URL="$PG_URL" REDIS_URL="$REDIS" GROUPCRM_REQUIRE_SERVICES=1 "$PY" -m pytest "$@"
