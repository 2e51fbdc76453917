#!/usr/bin/env bash
# Property-based API fuzzing of the client API against its OpenAPI document (issue 19):
# starts a fresh debug `hearth` on a free port over SQLite, registers a user with a guild,
# a channel, a message and an application (so generated ids sometimes hit real rows), and
# runs schemathesis (PyPI, 4.x) on GET /api/openapi.json with the user's token. Checks:
# no 5xx (not_a_server_error), and every response matching the document (status code,
# content type, body schema).
#
#   scripts/schemathesis.sh [extra schemathesis arguments]
#
# Environment: HEARTH_BIN (default $CARGO_TARGET_DIR/debug/hearth or target/debug/hearth),
#   SCHEMATHESIS_MAX_EXAMPLES (per operation, default 15), SCHEMATHESIS_PHASES (default
#   examples,coverage,fuzzing), SCHEMATHESIS_LOG (server log, default a temporary file),
#   PYTHON (default python3; schemathesis is pip-installed into a venv beside this script
#   when missing).
# Exit status: schemathesis's (0 when every check passed).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
HEARTH_BIN="${HEARTH_BIN:-$TARGET_DIR/debug/hearth}"
[ -x "$HEARTH_BIN" ] || { echo "schemathesis.sh: no hearth binary at $HEARTH_BIN" >&2; exit 2; }

# schemathesis 4.x (a venv under scripts/.venv-schemathesis unless already on PATH).
ST="$(command -v schemathesis || true)"
if [ -z "$ST" ] || ! "$ST" --version | grep -q 'version 4\.'; then
  VENV="$REPO/scripts/.venv-schemathesis"
  if [ ! -x "$VENV/bin/schemathesis" ]; then
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install --disable-pip-version-check -q 'schemathesis>=4,<5'
  fi
  ST="$VENV/bin/schemathesis"
fi
"$ST" --version

DATA="$(mktemp -d /tmp/hearth-schemathesis-XXXXXX)"
LOG="${SCHEMATHESIS_LOG:-$DATA/hearth.log}"
PORT="$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
HEARTH_LISTEN="127.0.0.1:$PORT" HEARTH_DATA_DIR="$DATA" \
  HEARTH_PASSWORD_HASHING__MEMORY_KIB=1024 HEARTH_PASSWORD_HASHING__ITERATIONS=1 \
  HEARTH_RATE_LIMITS__GLOBAL_PER_SECOND=100000 HEARTH_RATE_LIMITS__DEFAULT_ROUTE__LIMIT=100000 \
  HEARTH_RATE_LIMITS__MESSAGE_CREATE__LIMIT=100000 HEARTH_RATE_LIMITS__REACTIONS__LIMIT=100000 \
  RUST_LOG="${RUST_LOG:-info}" \
  "$HEARTH_BIN" >"$LOG" 2>&1 </dev/null &
PID=$!
cleanup() {
  kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  if [ -z "${SCHEMATHESIS_LOG:-}" ]; then rm -rf "$DATA"; fi
}
trap cleanup EXIT
for _ in $(seq 1 300); do
  curl -sf "$BASE/health" >/dev/null && break
  kill -0 "$PID" 2>/dev/null || { echo "hearth exited during startup:"; tail -20 "$LOG"; exit 2; }
  sleep 0.1
done

# A user with some data.
call() { # METHOD PATH [BODY] -> response body
  curl -sS -X "$1" "$BASE/api/v10$2" -H "Authorization: ${AUTH:-}" \
    -H 'Content-Type: application/json' ${3:+--data "$3"}
}
json() { "$PYTHON" -c "import json,sys; print(json.load(sys.stdin)$1)"; }
TOKEN="$(AUTH='' call POST /auth/register '{"username":"fuzzer","password":"correct horse battery staple 9"}' | json "['token']")"
AUTH="Bearer $TOKEN"
GUILD="$(call POST /guilds '{"name":"Fuzzing"}' | json "['id']")"
CHANNEL="$(call POST "/guilds/$GUILD/channels" '{"name":"general","type":0}' | json "['id']")"
call POST "/channels/$CHANNEL/messages" '{"content":"hello"}' >/dev/null
call POST /applications '{"name":"Fuzz bot"}' >/dev/null
echo "schemathesis.sh: hearth at $BASE, user token ready, guild $GUILD, channel $CHANNEL"

# Left out: operations that end the fuzzer's own session or account, and the registrar
# discovery routes, which answer 503 by design when no registrar is configured.
set +e
"$ST" run "$BASE/api/openapi.json" \
  --url "$BASE" \
  -H "Authorization: $AUTH" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-15}" \
  --phases "${SCHEMATHESIS_PHASES:-examples,coverage,fuzzing}" \
  --exclude-path-regex '^/api/v10/(auth/logout|auth/sessions/\{session_id\}|users/@me/delete|discovery/.*)$' \
  --seed "${SCHEMATHESIS_SEED:-19}" \
  --workers 2 \
  --request-timeout 10 \
  --warnings off \
  "$@"
STATUS=$?
set -e
if grep -q 'panicked' "$LOG"; then
  echo "schemathesis.sh: the server panicked:"; grep -A5 'panicked' "$LOG" | head -40
  STATUS=1
fi
exit $STATUS
