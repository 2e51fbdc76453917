#!/usr/bin/env bash
# Real-client conformance tests: unmodified bots of seven libraries and Red-DiscordBot against Hearth.
#
#   tests/conformance/run_all.sh [--zstd] [--scenarios A,B,C,D,E,F,G,H,I,J,K]
#   (default: all; F is seven libraries in turn, G is Red-DiscordBot, H and I voice states,
#   J and K threads and timeouts)
#
# Installs what is missing (a venv in tests/conformance/.venv from requirements.txt, for
# scenario F .venv-libs and .venv-pycord, for G .venv-red; `npm ci` for node_modules), builds hearth unless
# HEARTH_BIN is set, runs the scenarios (see run.py) and ends
# with the line `N passed, M failed`; exit status 1 if anything failed.
#
# Environment: HEARTH_BIN (default $CARGO_TARGET_DIR/debug/hearth, built here with `cargo build`),
#   CONFORMANCE_TIMEOUT (seconds per scenario, 60), CONFORMANCE_ZSTD=1 (same as --zstd: also run
#   the discord.py scenarios with `zstandard` installed, i.e. compress=zstd-stream),
#   PYTHON (python3.11+), CONFORMANCE_LOG_DIR (default tests/conformance/logs),
#   CONFORMANCE_VENVS (where the venvs are kept, default this folder; CI keeps them across runs).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PYTHON="${PYTHON:-python3}"
# Where the venvs live: here by default; CI keeps them in a cache directory across runs
# (each is rebuilt when its requirements file changes).
VENVS="${CONFORMANCE_VENVS:-$HERE}"
mkdir -p "$VENVS"
ZSTD="${CONFORMANCE_ZSTD:-0}"
SCENARIOS="A,B,C,D,E,F,G,H,I,J,K"
while [ $# -gt 0 ]; do
  case "$1" in
    --zstd) ZSTD=1 ;;
    --scenarios) SCENARIOS="$2"; shift ;;
    --scenarios=*) SCENARIOS="${1#*=}" ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
NSCEN=$(echo "$SCENARIOS" | tr ',' '\n' | grep -c .)

die() {
  # Setup failed before any scenario could run: count every scenario as failed.
  echo "conformance: $*" >&2
  echo "0 passed, $NSCEN failed"
  exit 1
}

# ---- python venv with discord.py ----------------------------------------------------------------
venv_ok() { # $1 = venv dir, $2 = requirements file
  [ -x "$1/bin/python" ] && [ -f "$1/.installed" ] && cmp -s "$1/.installed" "$2"
}
make_venv() { # $1 = venv dir, $2 = requirements file
  if ! venv_ok "$1" "$2"; then
    echo "conformance: installing $(basename "$2") into $1"
    rm -rf "$1"
    "$PYTHON" -m venv "$1" || return 1
    "$1/bin/python" -m pip install --disable-pip-version-check -q -r "$2" || return 1
    cp "$2" "$1/.installed"
  fi
}
make_venv "$VENVS/.venv" "$HERE/requirements.txt" || die "pip install -r requirements.txt failed"
"$VENVS/.venv/bin/python" -c 'import discord, sys; assert discord.version_info.major == 2' \
  || die "discord.py 2.x not importable from $VENVS/.venv"
if "$VENVS/.venv/bin/python" -c 'import zstandard' 2>/dev/null; then
  echo "conformance: warning: zstandard is importable in .venv; discord.py will use zstd-stream" >&2
fi

# ---- scenario F: hikari, disnake, nextcord (one venv) and py-cord (its own: it is `discord` too) --
if echo "$SCENARIOS" | tr ',' '\n' | grep -qi '^f$'; then
  make_venv "$VENVS/.venv-libs" "$HERE/requirements-libs.txt" || die "pip install -r requirements-libs.txt failed"
  make_venv "$VENVS/.venv-pycord" "$HERE/requirements-pycord.txt" || die "pip install -r requirements-pycord.txt failed"
fi
# ---- scenario G: Red-DiscordBot (it pins its own discord.py) -------------------------------------
if echo "$SCENARIOS" | tr ',' '\n' | grep -qi '^g$'; then
  make_venv "$VENVS/.venv-red" "$HERE/requirements-red.txt" || die "pip install -r requirements-red.txt failed"
fi

# ---- node_modules with discord.js and Oceanic.js ---------------------------------------------------
if ! (cd "$HERE" && node -e 'const v=require("./node_modules/discord.js/package.json").version; if(!v.startsWith("14.")) process.exit(1)') 2>/dev/null \
   || ! cmp -s "$HERE/package-lock.json" "$HERE/node_modules/.package-lock.json.installed"; then
  echo "conformance: npm ci"
  (cd "$HERE" && npm ci --omit=optional --no-audit --no-fund --loglevel=error) || die "npm ci failed"
  cp "$HERE/package-lock.json" "$HERE/node_modules/.package-lock.json.installed"
fi

# ---- hearth binary ------------------------------------------------------------------------------
if [ -z "${HEARTH_BIN:-}" ]; then
  (cd "$REPO" && cargo build --quiet --bin hearth) || die "cargo build failed"
  TARGET_DIR="${CARGO_TARGET_DIR:-target}"
  case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$REPO/$TARGET_DIR" ;; esac
  export HEARTH_BIN="$TARGET_DIR/debug/hearth"
fi
[ -x "$HEARTH_BIN" ] || die "no executable at HEARTH_BIN=$HEARTH_BIN"

# ---- run ----------------------------------------------------------------------------------------
OUT="$(mktemp)"
trap 'rm -f "$OUT"' EXIT
"$VENVS/.venv/bin/python" "$HERE/run.py" --scenarios "$SCENARIOS" --python "$VENVS/.venv/bin/python" \
  --libs-python "$VENVS/.venv-libs/bin/python" --pycord-python "$VENVS/.venv-pycord/bin/python" \
  --red-python "$VENVS/.venv-red/bin/python" | tee "$OUT"
LAST="$(tail -n 1 "$OUT")"
PASSED=$(echo "$LAST" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
FAILED=$(echo "$LAST" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
if [ -z "$PASSED" ]; then PASSED=0; FAILED=$NSCEN; echo "conformance: run.py did not finish" >&2; fi

if [ "$ZSTD" = "1" ]; then
  PYSCEN=$(echo "$SCENARIOS" | tr ',' '\n' | grep -i '^[ace]$' | paste -sd, -)
  if [ -n "$PYSCEN" ]; then
    NPY=$(echo "$PYSCEN" | tr ',' '\n' | grep -c .)
    if make_venv "$VENVS/.venv-zstd" "$HERE/requirements-zstd.txt" \
       && "$VENVS/.venv-zstd/bin/python" -c 'import zstandard'; then
      "$VENVS/.venv/bin/python" "$HERE/run.py" --scenarios "$PYSCEN" --python "$VENVS/.venv-zstd/bin/python" \
        --tag=-zstd | tee "$OUT"
      LAST="$(tail -n 1 "$OUT")"
      P2=$(echo "$LAST" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
      F2=$(echo "$LAST" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
      if [ -z "$P2" ]; then P2=0; F2=$NPY; fi
    else
      echo "conformance: could not install requirements-zstd.txt" >&2
      P2=0; F2=$NPY
    fi
    PASSED=$((PASSED + P2)); FAILED=$((FAILED + F2))
  fi
fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
