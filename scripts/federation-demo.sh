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
# Needs: bash, curl, python3, openssl. The shared setup (CA, servers, cleanup) is in
# scripts/lib/two-servers.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/two-servers.sh
source "$ROOT/scripts/lib/two-servers.sh"
two_servers_init hearth-fed-demo

# ---------------------------------------------------------------------------------------------
step "1. Build"
two_servers_build

# ---------------------------------------------------------------------------------------------
step "2. A throwaway CA and a certificate for each server (openssl)"
two_servers_certs
cd "$WORK"

# ---------------------------------------------------------------------------------------------
step "3. Start server a ($A_NAME) and server b ($B_NAME)"
two_servers_start
printf 'https://%s/_hearth/key/v1/server -> %s\n' "$A_NAME" \
  "$(curl -sS --cacert ca.pem "https://$A_NAME/_hearth/key/v1/server" \
     | json '{"server_name": d["server_name"], "verify_keys": list(d["verify_keys"])}')"

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
