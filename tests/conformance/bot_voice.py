#!/usr/bin/env python3
"""An unmodified discord.py 2.x bot watching voice states on Hearth (scenario H, voice.py).

Only the two URL settings differ from a bot written for Discord. When the human (HUMAN_ID) joins
VOICE_A, the bot reads its member cache, moves them to VOICE_B (`Member.move_to`), server-mutes
them (`Member.edit(mute=True)`) and disconnects them (`Member.move_to(None)`), reporting each
VOICE_STATE_UPDATE it sees with `EVENT {json}` lines on stdout.

Environment: HEARTH_HTTP, HEARTH_WS, BOT_TOKEN, GUILD_ID, HUMAN_ID, VOICE_A, VOICE_B, STEP_TIMEOUT.
"""
import asyncio
import json
import logging
import os
import sys
import time
import traceback

import discord
import yarl

HTTP = os.environ["HEARTH_HTTP"]
WS = os.environ["HEARTH_WS"]
TOKEN = os.environ["BOT_TOKEN"]
GUILD_ID = int(os.environ["GUILD_ID"])
HUMAN_ID = int(os.environ["HUMAN_ID"])
VOICE_A = int(os.environ["VOICE_A"])
VOICE_B = int(os.environ["VOICE_B"])
STEP_TIMEOUT = float(os.environ.get("STEP_TIMEOUT", "15"))

# ---- the two settings that point discord.py at Hearth -------------------------------------
discord.http.Route.BASE = f"{HTTP}/api/v10"
discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(WS)
# --------------------------------------------------------------------------------------------


def emit(event, **data):
    data["event"] = event
    data["t"] = round(time.time(), 3)
    sys.stdout.write("EVENT " + json.dumps(data, default=str) + "\n")
    sys.stdout.flush()


intents = discord.Intents.default()  # includes voice_states, not members
client = discord.Client(intents=intents)
phase = {"n": 0}
errors = []


async def step(name, coro):
    try:
        return await asyncio.wait_for(coro, timeout=STEP_TIMEOUT)
    except Exception as e:  # noqa: BLE001
        errors.append(f"{name}: {type(e).__name__}: {e}")
        emit("step_failed", step=name, error=f"{type(e).__name__}: {e}", traceback=traceback.format_exc())
        raise


def cached_voice():
    m = client.get_guild(GUILD_ID).get_member(HUMAN_ID)
    if m is None or m.voice is None:
        return None, None
    return m.voice, (str(m.voice.channel.id) if m.voice.channel else None)


@client.event
async def on_ready():
    emit("ready", guild_ids=[str(g.id) for g in client.guilds])


@client.event
async def on_voice_state_update(member, before, after):
    if member.id != HUMAN_ID:
        return
    ch = str(after.channel.id) if after.channel else None
    voice, cached = cached_voice()
    info = {"before": str(before.channel.id) if before.channel else None, "after": ch,
            "cached_channel": cached, "mute": after.mute, "session_id": after.session_id}
    guild = client.get_guild(GUILD_ID)
    if phase["n"] == 0 and after.channel and after.channel.id == VOICE_A:
        phase["n"] = 1
        emit("joined_seen", **info)
        await step("move_to", member.move_to(guild.get_channel(VOICE_B)))
    elif phase["n"] == 1 and after.channel and after.channel.id == VOICE_B:
        phase["n"] = 2
        emit("moved_seen", **info)
        await step("edit(mute=True)", member.edit(mute=True))
    elif phase["n"] == 2 and after.mute:
        phase["n"] = 3
        emit("muted_seen", **info)
        await step("move_to(None)", member.move_to(None))
    elif phase["n"] == 3 and after.channel is None:
        phase["n"] = 4
        emit("disconnected_seen", cached_voice=cached, **info)
        emit("done", errors=errors)
        await client.close()


logging.basicConfig(level=logging.INFO, stream=sys.stderr)
try:
    client.run(TOKEN, log_handler=None)
except Exception as e:  # noqa: BLE001
    emit("fatal", error=f"{type(e).__name__}: {e}", traceback=traceback.format_exc())
    sys.exit(1)
