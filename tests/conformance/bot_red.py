#!/usr/bin/env python3
"""Red-DiscordBot (from PyPI, unmodified) pointed at Hearth: the launcher of scenario G.

Red is a discord.py bot; this launcher does only what a Red user would do by hand plus the
two base-URL settings every discord.py bot needs, then hands over to Red's own `redbot`
entry point:
1. `redbot-setup --no-prompt --instance-name conformance --data-path RED_HOME/data --backend json`
   (Red's non-interactive setup; its instance list goes to RED_HOME/config through
   XDG_CONFIG_HOME);
2. the base URLs: `discord.http.Route.BASE` (REST) and
   `discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY` (the gateway), as for any discord.py
   bot (bot_py.py);
3. Red's start-up check for a newer Red on PyPI is replaced by "this version is the newest"
   (the tests make no outside requests; it only decides whether Red prints an update notice);
4. `redbot conformance --token TOKEN --prefix ! --owner HUMAN_ID --no-prompt`.

Environment: HEARTH_HTTP, HEARTH_WS, BOT_TOKEN, HUMAN_ID, RED_HOME (an empty directory).
Prints `EVENT {json}` lines for the driver (run.py) at start and exit; Red's logs go to stderr.
"""
import json
import os
import subprocess
import sys
import time

HOME = os.environ["RED_HOME"]
os.environ["XDG_CONFIG_HOME"] = os.path.join(HOME, "config")
os.environ["XDG_DATA_HOME"] = os.path.join(HOME, "share")
INSTANCE = "conformance"


def emit(event, **data):
    data["event"] = event
    data["t"] = round(time.time(), 3)
    sys.stdout.write("EVENT " + json.dumps(data, default=str) + "\n")
    sys.stdout.flush()


def main():
    bindir = os.path.dirname(sys.executable)
    subprocess.run([os.path.join(bindir, "redbot-setup"), "--no-prompt", "--instance-name", INSTANCE,
                    "--data-path", os.path.join(HOME, "data"), "--backend", "json"],
                   check=True, stdout=sys.stderr, stderr=sys.stderr, stdin=subprocess.DEVNULL)

    import discord
    import yarl

    # ---- the two settings that point discord.py (hence Red) at Hearth ---------------------
    discord.http.Route.BASE = f"{os.environ['HEARTH_HTTP']}/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["HEARTH_WS"])
    # ------------------------------------------------------------------------------------------

    import redbot
    from redbot.__main__ import main as red_main
    import redbot.core._events as red_events

    async def no_update_check():
        return redbot.version_info, None

    red_events.fetch_latest_red_version_info = no_update_check

    emit("starting", lib="Red-DiscordBot", version=redbot.__version__, discord_py=discord.__version__)
    sys.argv = ["redbot", INSTANCE, "--token", os.environ["BOT_TOKEN"], "--prefix", "!",
                "--owner", os.environ["HUMAN_ID"], "--no-prompt"]
    try:
        red_main()
    finally:
        emit("closing")


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception as e:  # noqa: BLE001
        emit("fatal", error=f"{type(e).__name__}: {e}")
        raise
