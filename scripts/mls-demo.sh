#!/usr/bin/env bash
# Two users on two local servers exchange an end-to-end-encrypted DM with `hearth-cli`
# (README "End-to-end-encrypted DMs with the CLI"; protocol in spec/mls.md).
#
#   bash scripts/mls-demo.sh
#
# What it does, printing each step and checking every output (any failure exits non-zero
# and prints the servers' logs):
#   1. builds `hearth` and `hearth-cli` with cargo (or uses $HEARTH_BIN and $HEARTH_CLI_BIN);
#   2. creates a throwaway CA and one TLS certificate per server with openssl;
#   3. starts two federating servers: a.localhost:8448 (client API 127.0.0.1:8081) and
#      b.localhost:8449 (client API 127.0.0.1:8082), as scripts/federation-demo.sh does
#      (shared setup: scripts/lib/two-servers.sh);
#   4. `hearth-cli register`: alice on a, bob on b (each CLI keeps its device state: keys,
#      MLS groups, pinned domain keys, in its own --state-dir);
#   5. alice `dm send`s to bob@b.localhost:8449: her CLI claims bob's KeyPackages through a,
#      verifies bob's device credential against b's key fetched from b itself, creates the
#      MLS group (hub: a), adds bob and sends the encrypted text;
#   6. bob `dm read`s it on b; 7. bob answers with `dm send`; 8. alice `dm read`s the answer.
#
# SERVERS_ONLY=1 stops after step 3 and keeps the servers running until Ctrl-C, so you can
# type the CLI commands of steps 4-8 yourself (README shows them).
# Environment: HEARTH_BIN, HEARTH_CLI_BIN (skip the builds), A_PORT/B_PORT, A_FED_PORT/
# B_FED_PORT, KEEP=1 (keep the temporary directory). Needs: bash, curl, python3, openssl.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/two-servers.sh
source "$ROOT/scripts/lib/two-servers.sh"
two_servers_init hearth-mls-demo

# ---------------------------------------------------------------------------------------------
step "1. Build hearth and hearth-cli"
two_servers_build
if [ -n "${HEARTH_CLI_BIN:-}" ]; then
  CLI="$HEARTH_CLI_BIN"
  echo "using HEARTH_CLI_BIN=$CLI"
else
  (cd "$ROOT" && cargo build -p hearth-client --bin hearth-cli)
  CLI="${CARGO_TARGET_DIR:-$ROOT/target}/debug/hearth-cli"
fi
[ -x "$CLI" ] || fail "$CLI is not an executable"

# ---------------------------------------------------------------------------------------------
step "2. A throwaway CA and a certificate for each server (openssl)"
two_servers_certs

# ---------------------------------------------------------------------------------------------
step "3. Start server a ($A_NAME) and server b ($B_NAME)"
two_servers_start

if [ "${SERVERS_ONLY:-0}" = 1 ]; then
  step "Servers running; Ctrl-C stops them. In another shell:"
  echo "  export WORK=$WORK"
  echo "and type the hearth-cli commands of README \"End-to-end-encrypted DMs with the CLI\"."
  wait "${PIDS[@]}"
  exit 0
fi

# One CLI per user: its homeserver's client API and server name, the demo CA and the
# private-address allowance (to fetch the other domain's signing key over HTTPS from
# b.localhost, a loopback address, found by the same discovery as federation; a public
# domain with a publicly trusted certificate needs neither), and its own state directory.
alice() { "$CLI" --server "http://127.0.0.1:$A_PORT" --server-name "$A_NAME" --ca "$WORK/ca.pem" --allow-private-addresses --state-dir "$WORK/alice" "$@"; }
bob() { "$CLI" --server "http://127.0.0.1:$B_PORT" --server-name "$B_NAME" --ca "$WORK/ca.pem" --allow-private-addresses --state-dir "$WORK/bob" "$@"; }

# expect OUTPUT PATTERN WHAT: fails unless OUTPUT has a line matching the fixed string PATTERN.
expect() {
  printf '%s\n' "$1" | sed 's/^/  > /'
  printf '%s\n' "$1" | grep -qF -- "$2" || fail "$3: expected a line with \"$2\""
}

# ---------------------------------------------------------------------------------------------
step "4. alice registers on a, bob on b (hearth-cli register)"
out=$(alice register alice 'correct horse battery staple') || fail "alice's register failed"
expect "$out" "registered alice@$A_NAME" "alice register"
out=$(bob register bob 'another long passphrase') || fail "bob's register failed"
expect "$out" "registered bob@$B_NAME" "bob register"

# ---------------------------------------------------------------------------------------------
step "5. alice sends bob an encrypted DM (hearth-cli dm send)"
out=$(alice dm send "bob@$B_NAME" "hi bob, only you can read this") || fail "alice's dm send failed"
expect "$out" "sent to bob@$B_NAME" "alice dm send"

# ---------------------------------------------------------------------------------------------
step "6. bob reads it on b (hearth-cli dm read)"
out=$(bob dm read --wait 20) || fail "bob's dm read failed"
expect "$out" "alice@$A_NAME: hi bob, only you can read this" "bob dm read"

# ---------------------------------------------------------------------------------------------
step "7. bob answers (the same group: his CLI finds the DM with alice)"
out=$(bob dm send "alice@$A_NAME" "hi alice, got it") || fail "bob's dm send failed"
expect "$out" "sent to alice@$A_NAME" "bob dm send"

# ---------------------------------------------------------------------------------------------
step "8. alice reads bob's answer on a"
out=$(alice dm read --wait 20) || fail "alice's dm read failed"
expect "$out" "bob@$B_NAME: hi alice, got it" "alice dm read"

# ---------------------------------------------------------------------------------------------
step "9. Neither server stores the plaintexts"
for s in a b; do
  if grep -rqaF -e "only you can read this" -e "hi alice, got it" "$WORK/$s-data"; then
    fail "server $s stores a plaintext"
  fi
  echo "server $s: no plaintext in $WORK/$s-data"
done

step "Done: an end-to-end-encrypted DM between two servers. Stopping them."
