#!/usr/bin/env bash
# Two federating Hearth servers on one machine (README "Two federating servers on one machine").
#
#   bash scripts/federation-demo.sh
#
# What it does, printing each step:
#   1. builds `hearth` with `cargo build` (or uses $HEARTH_BIN);
#   2. creates a throwaway CA and one TLS certificate per server with openssl;
#   3. starts two servers with their own data directories and client ports, each with a TLS
#      federation listener:  a.localhost:8448 (client API 127.0.0.1:8081)
#                            b.localhost:8449 (client API 127.0.0.1:8082)
#      A server name with an explicit port is reached on that port, with no .well-known or SRV
#      lookup, and `*.localhost` always resolves to the loopback address (RFC 6761), so no DNS
#      server and no /etc/hosts entry is needed;
#   4. registers alice on a and bob on b, alice creates a guild and an invite on a;
#   5. bob joins it from b with `POST /api/v10/invites/{code}@a.localhost:8448`;
#   6. bob sends a message through b; alice reads it on a (the host);
#   7. alice answers on a; the answer is pushed to b, where bob reads it.
# Everything listens on 127.0.0.1 only. The servers are stopped when the script exits;
# the temporary directory (certificates, databases, logs) is removed unless KEEP=1.
#
# Environment: HEARTH_BIN (skip the build), A_PORT/B_PORT (client API ports, default 8081/8082),
# A_FED_PORT/B_FED_PORT (federation ports, default 8448/8449), KEEP=1 (keep the temp dir).
# Needs: bash, curl, python3, openssl.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
A_PORT="${A_PORT:-8081}"
B_PORT="${B_PORT:-8082}"
A_FED_PORT="${A_FED_PORT:-8448}"
B_FED_PORT="${B_FED_PORT:-8449}"
A_NAME="a.localhost:${A_FED_PORT}"
B_NAME="b.localhost:${B_FED_PORT}"
OPENSSL="${OPENSSL:-openssl}"

if [ -t 1 ]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD='' PLAIN=''; fi
step() { printf '\n%s== %s%s\n' "$BOLD" "$*" "$PLAIN"; }
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }

for tool in curl python3 "$OPENSSL"; do
  command -v "$tool" >/dev/null || fail "$tool is required"
done
for port in "$A_PORT" "$B_PORT" "$A_FED_PORT" "$B_FED_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    fail "127.0.0.1:$port is already in use (set A_PORT/B_PORT/A_FED_PORT/B_FED_PORT)"
  fi
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/hearth-fed-demo.XXXXXX")"
PIDS=()
cleanup() {
  local status=$?
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [ "$status" -ne 0 ]; then
    for s in a b; do
      if [ -f "$WORK/$s.log" ]; then
        echo "--- last lines of server $s's log ($WORK/$s.log) ---" >&2
        tail -n 20 "$WORK/$s.log" >&2
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
trap cleanup EXIT
trap 'exit 130' INT TERM

# json EXPR: evaluates a Python expression over the JSON document on stdin, bound to `d`.
json() { python3 -c 'import sys, json; d = json.load(sys.stdin); r = eval(sys.argv[1]); print(r if isinstance(r, str) else json.dumps(r))' "$1"; }

# ---------------------------------------------------------------------------------------------
step "1. Build"
if [ -n "${HEARTH_BIN:-}" ]; then
  BIN="$HEARTH_BIN"
  echo "using HEARTH_BIN=$BIN"
else
  (cd "$ROOT" && cargo build --bin hearth)
  BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/hearth"
fi
[ -x "$BIN" ] || fail "$BIN is not an executable"

# ---------------------------------------------------------------------------------------------
step "2. A throwaway CA and a certificate for each server (openssl)"
cd "$WORK"
"$OPENSSL" req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj "/CN=Hearth demo CA" -keyout ca.key -out ca.pem \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  2>/dev/null
for s in a b; do
  "$OPENSSL" req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj "/CN=$s.localhost" -keyout "$s.key" -out "$s.csr" 2>/dev/null
  printf '%s\n' "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" \
    "subjectAltName=DNS:$s.localhost" > "$s.ext"
  "$OPENSSL" x509 -req -in "$s.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile "$s.ext" -out "$s.pem" 2>/dev/null
  echo "$s.pem: $("$OPENSSL" x509 -in "$s.pem" -noout -subject) ($("$OPENSSL" x509 -in "$s.pem" -noout -ext subjectAltName | tail -n 1 | tr -d ' '))"
done

# ---------------------------------------------------------------------------------------------
step "3. Start server a ($A_NAME) and server b ($B_NAME)"
start() { # start LETTER NAME CLIENT_PORT FED_PORT
  local s=$1 name=$2 port=$3 fed_port=$4
  mkdir -p "$WORK/$s-data"
  env HEARTH_SERVER_NAME="$name" \
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
start a "$A_NAME" "$A_PORT" "$A_FED_PORT"
start b "$B_NAME" "$B_PORT" "$B_FED_PORT"
for s in a b; do
  if [ $s = a ]; then port=$A_PORT; name=$A_NAME; else port=$B_PORT; name=$B_NAME; fi
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 \
      && curl -sf --cacert ca.pem "https://$name/_hearth/federation/v1/version" >/dev/null 2>&1 \
      && break
    sleep 0.2
  done
  curl -sf "http://127.0.0.1:$port/health" >/dev/null || fail "server $s did not start"
  printf 'https://%s/_hearth/federation/v1/version -> %s\n' "$name" \
    "$(curl -sS --cacert ca.pem "https://$name/_hearth/federation/v1/version")"
done
printf 'https://%s/_hearth/key/v1/server -> %s\n' "$A_NAME" \
  "$(curl -sS --cacert ca.pem "https://$A_NAME/_hearth/key/v1/server" \
     | json '{"server_name": d["server_name"], "verify_keys": list(d["verify_keys"])}')"

A="http://127.0.0.1:$A_PORT/api/v10"
B="http://127.0.0.1:$B_PORT/api/v10"
# call METHOD URL TOKEN [BODY]: a client API request; fails on an HTTP error.
call() {
  local method=$1 url=$2 token=$3 body=${4:-}
  local args=(-sS --fail-with-body -X "$method" "$url")
  [ -n "$token" ] && args+=(-H "Authorization: Bearer $token")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' -d "$body")
  curl "${args[@]}" || { echo >&2; fail "$method $url failed"; }
}

# ---------------------------------------------------------------------------------------------
step "4. alice registers on a, bob on b; alice creates a guild and an invite on a"
ALICE=$(call POST "$A/auth/register" "" '{"username": "alice", "password": "correct horse battery staple"}' | json 'd["token"]')
BOB=$(call POST "$B/auth/register" "" '{"username": "bob", "password": "another long passphrase"}' | json 'd["token"]')
echo "alice on a: $(call GET "$A/users/@me" "$ALICE" | json '{k: d[k] for k in ("id", "username", "handle")}')"
echo "bob on b:   $(call GET "$B/users/@me" "$BOB" | json '{k: d[k] for k in ("id", "username", "handle")}')"
GUILD_A=$(call POST "$A/guilds" "$ALICE" '{"name": "Demo"}' | json 'd["id"]')
GENERAL_A=$(call GET "$A/guilds/$GUILD_A/channels" "$ALICE" | json '[c for c in d if c["name"] == "general"][0]["id"]')
CODE=$(call POST "$A/channels/$GENERAL_A/invites" "$ALICE" '{"max_age": 0}' | json 'd["code"]')
echo "guild \"Demo\" on a: id $GUILD_A, #general $GENERAL_A, invite code $CODE"

# ---------------------------------------------------------------------------------------------
step "5. bob joins from b: POST $B/invites/$CODE@$A_NAME"
call POST "$B/invites/$CODE@$A_NAME" "$BOB" '{}' | json '{k: d[k] for k in ("code", "guild", "approximate_member_count")}'
GUILD_B=$(call GET "$B/users/@me/guilds" "$BOB" | json '[g for g in d if g["name"] == "Demo"][0]["id"]')
GENERAL_B=$(call GET "$B/guilds/$GUILD_B/channels" "$BOB" | json '[c for c in d if c["name"] == "general"][0]["id"]')
echo "the same guild on b, in b's ids: id $GUILD_B, #general $GENERAL_B"
echo "members seen on a (the host): $(call GET "$A/guilds/$GUILD_A/members?limit=10" "$ALICE" | json '[m["user"]["handle"] for m in d]')"

# ---------------------------------------------------------------------------------------------
step "6. bob sends a message through b; alice reads it on a"
echo "bob -> b: $(call POST "$B/channels/$GENERAL_B/messages" "$BOB" '{"content": "hello from b!"}' \
  | json 'dict(id=d["id"], channel_id=d["channel_id"], content=d["content"], author=d["author"]["handle"])')"
echo "alice reads #general on a:"
call GET "$A/channels/$GENERAL_A/messages?limit=5" "$ALICE" \
  | json '"\n".join("  %s %s: %s" % (m["id"], m["author"]["handle"], m["content"]) for m in d)'
call GET "$A/channels/$GENERAL_A/messages?limit=5" "$ALICE" \
  | json '[m for m in d if m["content"] == "hello from b!" and m["author"]["handle"] == "bob@'"$B_NAME"'"]' \
  | grep -q 'hello from b' || fail "a does not have bob's message"

# ---------------------------------------------------------------------------------------------
step "7. alice answers on a; a pushes the event to b, where bob reads it"
call POST "$A/channels/$GENERAL_A/messages" "$ALICE" '{"content": "hi bob, welcome to a"}' >/dev/null
for _ in $(seq 1 50); do
  if call GET "$B/channels/$GENERAL_B/messages?limit=5" "$BOB" | grep -q 'welcome to a'; then
    break
  fi
  sleep 0.2
done
echo "bob reads #general on b:"
call GET "$B/channels/$GENERAL_B/messages?limit=5" "$BOB" \
  | json '"\n".join("  %s %s: %s" % (m["id"], m["author"]["handle"], m["content"]) for m in d)'
call GET "$B/channels/$GENERAL_B/messages?limit=5" "$BOB" | grep -q 'welcome to a' \
  || fail "b did not receive alice's answer"

step "Done: both servers federate. Stopping them."
