#!/usr/bin/env bash
# A registrar with two homeservers on one machine (README "A registrar with two homeservers").
#
#   bash scripts/registrar-demo.sh            # KEEP=1 keeps the temporary directory and logs
#
# Starts hearth-registrar (registrar.localhost:8450) and two homeservers (a.localhost:8448,
# b.localhost:8449) that register with it, proving control of their names; alice on b lists a
# guild in the public directory; bob on a finds it with a search on his own server and joins it
# through federation. Needs curl, python3 and openssl. Everything listens on 127.0.0.1 only.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
A_PORT="${A_PORT:-8081}" B_PORT="${B_PORT:-8082}"
A_FED_PORT="${A_FED_PORT:-8448}" B_FED_PORT="${B_FED_PORT:-8449}" R_PORT="${R_PORT:-8450}"
A_NAME="a.localhost:$A_FED_PORT" B_NAME="b.localhost:$B_FED_PORT" R_NAME="registrar.localhost:$R_PORT"
OPENSSL="${OPENSSL:-openssl}"

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }
for tool in curl python3 "$OPENSSL"; do command -v "$tool" >/dev/null || fail "$tool is required"; done
for port in "$A_PORT" "$B_PORT" "$A_FED_PORT" "$B_FED_PORT" "$R_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then fail "127.0.0.1:$port is already in use"; fi
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/hearth-registrar-demo.XXXXXX")"
PIDS=()
cleanup() {
  local status=$?
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$status" -ne 0 ]; then
    for s in registrar a b; do
      [ -f "$WORK/$s.log" ] && { echo "--- last lines of $WORK/$s.log ---" >&2; tail -n 20 "$WORK/$s.log" >&2; }
    done
  fi
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
json() { python3 -c 'import sys, json; d = json.load(sys.stdin); r = eval(sys.argv[1]); print(r if isinstance(r, str) else json.dumps(r))' "$1"; }

step "1. Build hearth and hearth-registrar"
(cd "$ROOT" && cargo build -p hearth --bin hearth -p hearth-registrar --bin hearth-registrar)
BIN_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/debug"

step "2. A throwaway CA and a certificate for each service (openssl)"
cd "$WORK"
"$OPENSSL" req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj "/CN=Hearth demo CA" -keyout ca.key -out ca.pem \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
for s in a b registrar; do
  "$OPENSSL" req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj "/CN=$s.localhost" -keyout "$s.key" -out "$s.csr" 2>/dev/null
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth" "subjectAltName=DNS:$s.localhost" > "$s.ext"
  "$OPENSSL" x509 -req -in "$s.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile "$s.ext" -out "$s.pem" 2>/dev/null
done
echo "certificates: a.pem b.pem registrar.pem (CA: ca.pem)"

step "3. Start the registrar ($R_NAME)"
registrar_env=(
  HEARTH_REGISTRAR_SERVER_NAME="$R_NAME"
  HEARTH_REGISTRAR_LISTEN="127.0.0.1:$R_PORT"
  HEARTH_REGISTRAR_DATA_DIR="$WORK/registrar-data"
  HEARTH_REGISTRAR_TLS_CERT="$WORK/registrar.pem"
  HEARTH_REGISTRAR_TLS_KEY="$WORK/registrar.key"
  HEARTH_REGISTRAR_OUTBOUND__EXTRA_CA_CERTS="[\"$WORK/ca.pem\"]"
  HEARTH_REGISTRAR_OUTBOUND__ALLOW_PRIVATE_ADDRESSES=true
)
# Generates (first run) and prints the registrar's key: homeservers pin it.
R_KEY=$(env "${registrar_env[@]}" "$BIN_DIR/hearth-registrar" key | awk '{print $2}')
echo "registrar key (registrar.public_key): $R_KEY"
env "${registrar_env[@]}" "$BIN_DIR/hearth-registrar" serve > "$WORK/registrar.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do curl -sf --cacert ca.pem "https://$R_NAME/health" >/dev/null 2>&1 && break; sleep 0.2; done
echo "https://$R_NAME/_registrar/v1/info -> $(curl -sS --cacert ca.pem "https://$R_NAME/_registrar/v1/info")"

step "4. Start homeservers a ($A_NAME) and b ($B_NAME) with registrar.url and registrar.public_key"
start() { # start LETTER NAME CLIENT_PORT FED_PORT
  local s=$1 name=$2 port=$3 fed_port=$4
  env HEARTH_SERVER_NAME="$name" HEARTH_LISTEN="127.0.0.1:$port" HEARTH_DATA_DIR="$WORK/$s-data" \
    HEARTH_FEDERATION__LISTEN="127.0.0.1:$fed_port" \
    HEARTH_FEDERATION__TLS_CERT="$WORK/$s.pem" HEARTH_FEDERATION__TLS_KEY="$WORK/$s.key" \
    HEARTH_FEDERATION__EXTRA_CA_CERTS="[\"$WORK/ca.pem\"]" \
    HEARTH_FEDERATION__ALLOW_PRIVATE_ADDRESSES=true \
    HEARTH_REGISTRAR__URL="https://$R_NAME" HEARTH_REGISTRAR__PUBLIC_KEY="$R_KEY" \
    HEARTH_LOG="${HEARTH_LOG:-info,sqlx=warn,tower_http=warn}" \
    "$BIN_DIR/hearth" serve > "$WORK/$s.log" 2>&1 &
  PIDS+=($!)
  echo "server $s: client API http://127.0.0.1:$port, federation https://$name"
}
start a "$A_NAME" "$A_PORT" "$A_FED_PORT"
start b "$B_NAME" "$B_PORT" "$B_FED_PORT"
listed() { curl -sf --cacert "$WORK/ca.pem" "https://$R_NAME/_registrar/v1/servers" | json '[s["server_name"] for s in d["servers"]]'; }
for _ in $(seq 1 150); do
  [ "$(listed 2>/dev/null)" = "[\"$A_NAME\", \"$B_NAME\"]" ] && break
  sleep 0.2
done
[ "$(listed)" = "[\"$A_NAME\", \"$B_NAME\"]" ] || fail "the homeservers did not register"
echo "registered (each proved its name with a signed challenge document):"
curl -sS --cacert ca.pem "https://$R_NAME/_registrar/v1/servers" \
  | json '"\n".join("  %s %s %s keys=%s" % (s["server_name"], s["status"], s["endpoint"], list(s["verify_keys"])) for s in d["servers"])'

A="http://127.0.0.1:$A_PORT/api/v10"
B="http://127.0.0.1:$B_PORT/api/v10"
call() {
  local method=$1 url=$2 token=$3 body=${4:-}
  local args=(-sS --fail-with-body -X "$method" "$url")
  [ -n "$token" ] && args+=(-H "Authorization: Bearer $token")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' -d "$body")
  curl "${args[@]}" || { echo >&2; fail "$method $url failed"; }
}

step "5. alice on b creates a guild and lists it in the directory"
ALICE=$(call POST "$B/auth/register" "" '{"username": "alice", "password": "correct horse battery staple"}' | json 'd["token"]')
BOB=$(call POST "$A/auth/register" "" '{"username": "bob", "password": "another long passphrase"}' | json 'd["token"]')
GUILD=$(call POST "$B/guilds" "$ALICE" '{"name": "Rust Hearth"}' | json 'd["id"]')
call PATCH "$B/guilds/$GUILD" "$ALICE" '{"discoverable": true, "description": "systems programming", "discovery_tags": ["rust"]}' >/dev/null
echo "guild $GUILD on b: discoverable, tags [rust]"

step "6. bob on a searches his own server: GET $A/discovery/guilds?q=rust"
for _ in $(seq 1 100); do
  FOUND=$(call GET "$A/discovery/guilds?q=rust" "$BOB")
  [ "$(echo "$FOUND" | json 'str(len(d["guilds"]))')" = 1 ] && break
  sleep 0.2
done
echo "$FOUND" | json '[{k: g[k] for k in ("name", "server_name", "member_count", "tags", "join_code")} for g in d["guilds"]]'
CODE=$(echo "$FOUND" | json 'd["guilds"][0]["join_code"]')

step "7. bob joins through federation: POST $A/invites/$CODE"
call POST "$A/invites/$CODE" "$BOB" '{}' | json '{k: d[k] for k in ("code", "approximate_member_count")}'
echo "bob's guilds on a: $(call GET "$A/users/@me/guilds" "$BOB" | json '[g["name"] for g in d]')"

step "Done. Stopping the registrar and both homeservers."
