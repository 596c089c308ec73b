#!/usr/bin/env bash
# Run the API (gunicorn on $HOST:$PORT, default 127.0.0.1:8000) and a Celery worker (with embedded
# beat) on the embedded defaults: a SQLite file and a filesystem broker under $COREGIT_DATA_DIR
# (default ./var), which also holds gunicorn's control socket, so two instances never share one.
# DATABASE_URL and CELERY_BROKER_URL/REDIS_URL switch to PostgreSQL and Redis.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${VENV:-.venv}/bin"
export COREGIT_DATA_DIR="${COREGIT_DATA_DIR:-$PWD/var}"
mkdir -p "$COREGIT_DATA_DIR"
# prometheus_client multiprocess mode: series files of a previous run are stale, start empty.
export PROMETHEUS_MULTIPROC_DIR="$COREGIT_DATA_DIR/metrics"
rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"

secrets="$COREGIT_DATA_DIR/secrets.env"
if [ ! -f "$secrets" ]; then
  umask 077
  "$BIN/python" - "$secrets" <<'PY'
import base64, secrets, sys
with open(sys.argv[1], "w") as fh:
    fh.write(f"SECRET_KEY={secrets.token_urlsafe(48)}\n")
    fh.write(f"COREGIT_ENCRYPTION_KEYS=k1:{base64.b64encode(secrets.token_bytes(32)).decode()}\n")
PY
fi
set -a
# shellcheck disable=SC1090
. "$secrets"
set +a
# DEBUG stays off unless asked for: the secrets above are all it would supply, and it costs every
# request (Django records each query, and a 404 renders its technical page before
# core/middleware.py replaces it): a 404 burst answered ~550 req/s with it, ~2,000 without.
export DEBUG="${DEBUG:-false}"
export COREGIT_ALLOW_PRIVATE_HOSTS="${COREGIT_ALLOW_PRIVATE_HOSTS:-true}"
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
export COREGIT_PUBLIC_URL="${COREGIT_PUBLIC_URL:-http://$HOST:$PORT}"

# The settings this run uses, for manage.py in another terminal (coregit_project/env.py reads
# this file and secrets.env when the variables are not set). Rewritten on every start.
write_run_env() {
  local name
  echo "# written by scripts/run.sh: the settings \`make run\` runs with; the environment wins"
  for name in DEBUG COREGIT_ALLOW_PRIVATE_HOSTS COREGIT_PUBLIC_URL DATABASE_URL \
              CELERY_BROKER_URL REDIS_URL COREGIT_REPO_ROOT; do
    if [ -n "${!name:-}" ]; then printf "%s='%s'\n" "$name" "${!name}"; fi
  done
}
(umask 077 && write_run_env > "$COREGIT_DATA_DIR/run.env")

"$BIN/python" manage.py migrate --noinput -v 0
"$BIN/python" manage.py ensure_demo_org

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

# The worker runs at a lower CPU priority (nice 10): on a machine it shares with the API, a sync
# (dulwich, git index-pack) yields the CPU to requests waiting for an answer, and still gets all
# the CPU they leave. Webhook intake at 100/s beside the imports it queues, on 2 cores: p95
# ~147 -> ~49 ms, p99 ~290 -> ~100 ms (docs/benchmarks.md).
nice -n "${COREGIT_WORKER_NICE:-10}" "$BIN/celery" -A workers.celery worker --beat \
  --pool threads --concurrency 2 --loglevel "${LOG_LEVEL:-INFO}" \
  --schedule "$COREGIT_DATA_DIR/celerybeat-schedule" &
pids+=($!)
"$BIN/gunicorn" coregit_project.wsgi --bind "$HOST:$PORT" --workers 2 --threads 4 \
  --timeout 300 --access-logfile - --control-socket "$COREGIT_DATA_DIR/gunicorn.ctl" &
pids+=($!)
echo "Coregit Sync API on http://$HOST:$PORT (health: /healthz, docs: /v1/docs)"
wait -n "${pids[@]}"
