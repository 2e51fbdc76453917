# Shared setup of the two-server demos (scripts/federation-demo.sh, scripts/mls-demo.sh,
# scripts/registrar-demo.sh):
# a throwaway CA and TLS certificates made with openssl, two federating Hearth servers on
# 127.0.0.1 with their own data directories, readiness checks, and cleanup.
#
# Source it from a script that has `set -euo pipefail`:
#
#   source "$ROOT/scripts/lib/two-servers.sh"
#   two_servers_init hearth-fed-demo   # checks tools and ports, makes $WORK, installs the trap
#   two_servers_build                  # sets $BIN: $HEARTH_BIN, or `cargo build --bin hearth`
#   two_servers_certs                  # $WORK/ca.pem, $WORK/{a,b}.pem and keys
#   two_servers_start                  # starts a and b, waits until both answer
#
# Extras for a script that runs more services: `two_servers_init PREFIX PORT...` also checks
# those ports; `two_servers_certs NAME...` also makes $WORK/NAME.pem for NAME.localhost;
# `SERVER_ENV=(VAR=value ...)` set before two_servers_start is added to both servers'
# environment; a service started by the script is stopped on exit if its pid is appended to
# PIDS, and every $WORK/*.log is shown on failure.
#
# Servers:  a = $A_NAME (a.localhost:8448), client API http://127.0.0.1:$A_PORT (8081)
#           b = $B_NAME (b.localhost:8449), client API http://127.0.0.1:$B_PORT (8082)
# A server name with an explicit port is reached on that port with no .well-known or SRV
# lookup, and `*.localhost` is the loopback address (RFC 6761), so no DNS server or
# /etc/hosts entry is needed. On exit the servers are stopped; on failure the last lines of
# their logs are printed; $WORK is removed unless KEEP=1.
#
# Environment: HEARTH_BIN, A_PORT/B_PORT, A_FED_PORT/B_FED_PORT, KEEP=1, HEARTH_LOG, OPENSSL.
# Also defines: step, fail, json (Python expression over stdin JSON), call (curl to the
# client API), $A and $B (client API bases).

ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
A_PORT="${A_PORT:-8081}"
B_PORT="${B_PORT:-8082}"
A_FED_PORT="${A_FED_PORT:-8448}"
B_FED_PORT="${B_FED_PORT:-8449}"
A_NAME="a.localhost:${A_FED_PORT}"
B_NAME="b.localhost:${B_FED_PORT}"
A="http://127.0.0.1:$A_PORT/api/v10"
B="http://127.0.0.1:$B_PORT/api/v10"
OPENSSL="${OPENSSL:-openssl}"
PIDS=()
SERVER_ENV=()

if [ -t 1 ]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD='' PLAIN=''; fi
step() { printf '\n%s== %s%s\n' "$BOLD" "$*" "$PLAIN"; }
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }

# json EXPR: evaluates a Python expression over the JSON document on stdin, bound to `d`.
json() { python3 -c 'import sys, json; d = json.load(sys.stdin); r = eval(sys.argv[1]); print(r if isinstance(r, str) else json.dumps(r))' "$1"; }

# call METHOD URL TOKEN [BODY]: a client API request; fails on an HTTP error.
call() {
  local method=$1 url=$2 token=$3 body=${4:-}
  local args=(-sS --fail-with-body -X "$method" "$url")
  [ -n "$token" ] && args+=(-H "Authorization: Bearer $token")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' -d "$body")
  curl "${args[@]}" || { echo >&2; fail "$method $url failed"; }
}

_two_servers_cleanup() {
  local status=$?
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [ "$status" -ne 0 ]; then
    local log
    for log in "$WORK"/*.log; do
      if [ -f "$log" ]; then
        echo "--- last lines of $log ---" >&2
        tail -n 20 "$log" >&2
      fi
    done
  fi
  if [ "${KEEP:-0}" = 1 ]; then
    echo "kept $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$status"
}

# two_servers_init PREFIX [PORT...]: checks the tools and ports (the servers' and PORTs), makes
# $WORK, installs the cleanup trap.
two_servers_init() {
  local tool port prefix=$1
  shift
  for tool in curl python3 "$OPENSSL"; do
    command -v "$tool" >/dev/null || fail "$tool is required"
  done
  for port in "$A_PORT" "$B_PORT" "$A_FED_PORT" "$B_FED_PORT" "$@"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      fail "127.0.0.1:$port is already in use (set A_PORT/B_PORT/A_FED_PORT/B_FED_PORT)"
    fi
  done
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/$prefix.XXXXXX")"
  trap _two_servers_cleanup EXIT
  trap 'exit 130' INT TERM
}

# two_servers_build: sets $BIN to $HEARTH_BIN, or builds `hearth` with cargo.
two_servers_build() {
  if [ -n "${HEARTH_BIN:-}" ]; then
    BIN="$HEARTH_BIN"
    echo "using HEARTH_BIN=$BIN"
  else
    (cd "$ROOT" && cargo build --bin hearth)
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/hearth"
  fi
  [ -x "$BIN" ] || fail "$BIN is not an executable"
}

# two_servers_certs [NAME...]: a throwaway CA ($WORK/ca.pem) and a certificate for each
# server, and for NAME.localhost ($WORK/NAME.pem, NAME.key) for each NAME.
two_servers_certs() {
  local s
  (
    cd "$WORK"
    "$OPENSSL" req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
      -subj "/CN=Hearth demo CA" -keyout ca.key -out ca.pem \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      2>/dev/null
    for s in a b "$@"; do
      "$OPENSSL" req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -subj "/CN=$s.localhost" -keyout "$s.key" -out "$s.csr" 2>/dev/null
      printf '%s\n' "basicConstraints=critical,CA:FALSE" \
        "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" \
        "subjectAltName=DNS:$s.localhost" > "$s.ext"
      "$OPENSSL" x509 -req -in "$s.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile "$s.ext" -out "$s.pem" 2>/dev/null
      echo "$s.pem: $("$OPENSSL" x509 -in "$s.pem" -noout -subject) ($("$OPENSSL" x509 -in "$s.pem" -noout -ext subjectAltName | tail -n 1 | tr -d ' '))"
    done
  )
}

_two_servers_start_one() { # LETTER NAME CLIENT_PORT FED_PORT
  local s=$1 name=$2 port=$3 fed_port=$4
  mkdir -p "$WORK/$s-data"
  env "${SERVER_ENV[@]}" HEARTH_SERVER_NAME="$name" \
    HEARTH_LISTEN="127.0.0.1:$port" \
    HEARTH_DATA_DIR="$WORK/$s-data" \
    HEARTH_FEDERATION__LISTEN="127.0.0.1:$fed_port" \
    HEARTH_FEDERATION__TLS_CERT="$WORK/$s.pem" \
    HEARTH_FEDERATION__TLS_KEY="$WORK/$s.key" \
    HEARTH_FEDERATION__EXTRA_CA_CERTS="[\"$WORK/ca.pem\"]" \
    HEARTH_FEDERATION__ALLOW_PRIVATE_ADDRESSES=true \
    HEARTH_LOG="${HEARTH_LOG:-info,sqlx=warn,tower_http=warn}" \
    "$BIN" serve > "$WORK/$s.log" 2>&1 &
  PIDS+=($!)
  echo "server $s: pid $!, client API http://127.0.0.1:$port, federation https://$name (log: $WORK/$s.log)"
}

# two_servers_start: starts a and b and waits (bounded) until both answer on both ports.
two_servers_start() {
  local s port name
  _two_servers_start_one a "$A_NAME" "$A_PORT" "$A_FED_PORT"
  _two_servers_start_one b "$B_NAME" "$B_PORT" "$B_FED_PORT"
  for s in a b; do
    if [ $s = a ]; then port=$A_PORT; name=$A_NAME; else port=$B_PORT; name=$B_NAME; fi
    for _ in $(seq 1 100); do
      curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 \
        && curl -sf --cacert "$WORK/ca.pem" "https://$name/_hearth/federation/v1/version" >/dev/null 2>&1 \
        && break
      sleep 0.2
    done
    curl -sf "http://127.0.0.1:$port/health" >/dev/null || fail "server $s did not start"
    printf 'https://%s/_hearth/federation/v1/version -> %s\n' "$name" \
      "$(curl -sS --cacert "$WORK/ca.pem" "https://$name/_hearth/federation/v1/version")"
  done
}
