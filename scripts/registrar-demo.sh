#!/usr/bin/env bash
# A registrar with two homeservers on one machine (README "A registrar with two homeservers").
#
#   bash scripts/registrar-demo.sh            # KEEP=1 keeps the temporary directory and logs
#
# Starts hearth-registrar (registrar.localhost:8450) and two homeservers (a.localhost:8448,
# b.localhost:8449) that register with it, proving control of their names; alice on b lists a
# guild in the public directory; bob on a finds it with a search on his own server and joins it
# through federation. Needs curl, python3 and openssl. Everything listens on 127.0.0.1 only.
# The CA, certificates and homeservers come from the shared setup scripts/lib/two-servers.sh.
# Environment: HEARTH_BIN, HEARTH_REGISTRAR_BIN (skip the builds), A_PORT/B_PORT,
# A_FED_PORT/B_FED_PORT, R_PORT, KEEP=1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/two-servers.sh
source "$ROOT/scripts/lib/two-servers.sh"
R_PORT="${R_PORT:-8450}"
R_NAME="registrar.localhost:$R_PORT"
two_servers_init hearth-registrar-demo "$R_PORT"

step "1. Build hearth and hearth-registrar"
two_servers_build
if [ -n "${HEARTH_REGISTRAR_BIN:-}" ]; then
  RBIN="$HEARTH_REGISTRAR_BIN"
  echo "using HEARTH_REGISTRAR_BIN=$RBIN"
else
  (cd "$ROOT" && cargo build -p hearth-registrar --bin hearth-registrar)
  RBIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/hearth-registrar"
fi
[ -x "$RBIN" ] || fail "$RBIN is not an executable"

step "2. A throwaway CA and a certificate for each service (openssl)"
two_servers_certs registrar
cd "$WORK"

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
R_KEY=$(env "${registrar_env[@]}" "$RBIN" key | awk '{print $2}')
echo "registrar key (registrar.public_key): $R_KEY"
env "${registrar_env[@]}" "$RBIN" serve > "$WORK/registrar.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do curl -sf --cacert ca.pem "https://$R_NAME/health" >/dev/null 2>&1 && break; sleep 0.2; done
echo "https://$R_NAME/_registrar/v1/info -> $(curl -sS --cacert ca.pem "https://$R_NAME/_registrar/v1/info")"

step "4. Start homeservers a ($A_NAME) and b ($B_NAME) with registrar.url and registrar.public_key"
SERVER_ENV=(HEARTH_REGISTRAR__URL="https://$R_NAME" HEARTH_REGISTRAR__PUBLIC_KEY="$R_KEY")
two_servers_start
listed() { curl -sf --cacert "$WORK/ca.pem" "https://$R_NAME/_registrar/v1/servers" | json '[s["server_name"] for s in d["servers"]]'; }
for _ in $(seq 1 150); do
  [ "$(listed 2>/dev/null)" = "[\"$A_NAME\", \"$B_NAME\"]" ] && break
  sleep 0.2
done
[ "$(listed)" = "[\"$A_NAME\", \"$B_NAME\"]" ] || fail "the homeservers did not register"
echo "registered (each proved its name with a signed challenge document):"
curl -sS --cacert ca.pem "https://$R_NAME/_registrar/v1/servers" \
  | json '"\n".join("  %s %s %s keys=%s" % (s["server_name"], s["status"], s["endpoint"], list(s["verify_keys"])) for s in d["servers"])'

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
