#!/usr/bin/env python3
"""An unmodified discord.py 2.x bot pointed at Hearth.

The only changes from a bot written for Discord are the two URL settings below (see
/work/shared/guides/discord-compat.md). Everything else is the library's public API.

Environment: HEARTH_HTTP (http://HOST:PORT), HEARTH_WS (ws://HOST:PORT/gateway), BOT_TOKEN,
GUILD_ID, CHANNEL_ID, HUMAN_ID, MEMBER_ID, BOT_MODE (basic | resume), STEP_TIMEOUT (seconds).

It reports to the driver (run.py) with lines `EVENT {json}` on stdout; logs go to stderr.
"""
import asyncio
import base64
import datetime
import hashlib
import io
import json
import logging
import os
import sys
import time
import traceback

import discord
import yarl
from discord import app_commands

HTTP = os.environ["HEARTH_HTTP"]
WS = os.environ["HEARTH_WS"]
TOKEN = os.environ["BOT_TOKEN"]
GUILD_ID = int(os.environ["GUILD_ID"])
CHANNEL_ID = int(os.environ["CHANNEL_ID"])
HUMAN_ID = int(os.environ["HUMAN_ID"])
# The member the basic flow times out (MEMBER_ID; absent in the resume mode).
MEMBER_ID = int(os.environ.get("MEMBER_ID", "0"))
MODE = os.environ.get("BOT_MODE", "basic")
# The file the bot sends and downloads back (made by the driver, run.py).
FILE_BYTES = base64.b64decode(os.environ.get("FILE_B64", ""))
FILE_NAME = os.environ.get("FILE_NAME", "conformance.png")
STEP_TIMEOUT = float(os.environ.get("STEP_TIMEOUT", "15"))

# ---- the two settings that point discord.py at Hearth -------------------------------------
discord.http.Route.BASE = f"{HTTP}/api/v10"
discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(WS)
# --------------------------------------------------------------------------------------------

REACTION = "\N{THUMBS UP SIGN}"


def emit(event, **data):
    data["event"] = event
    data["t"] = round(time.time(), 3)
    sys.stdout.write("EVENT " + json.dumps(data, default=str) + "\n")
    sys.stdout.flush()


def compression_in_use():
    try:
        return discord.utils._ActiveDecompressionContext.COMPRESSION_TYPE
    except AttributeError:  # older 2.x
        return "zlib-stream"


intents = discord.Intents.default()
intents.message_content = True
client = discord.Client(intents=intents)

# Application commands, registered for the test guild with the library's own tree.
tree = app_commands.CommandTree(client)
GUILD = discord.Object(id=GUILD_ID)


@tree.command(name="echo", description="Repeats what you say", guild=GUILD)
@app_commands.describe(text="What to say", times="How often")
@app_commands.choices(times=[app_commands.Choice(name="once", value=1), app_commands.Choice(name="twice", value=2)])
async def echo(interaction: discord.Interaction, text: str, times: int = 1):
    await interaction.response.send_message(text * times)


@tree.context_menu(name="Quote", guild=GUILD)
async def quote(interaction: discord.Interaction, message: discord.Message):
    await interaction.response.send_message(message.content)


def command_summary(cmds):
    return [{"id": str(c.id), "name": c.name, "type": int(c.type.value),
             "options": [o.name for o in c.options]} for c in cmds]


state = {"ready_count": 0, "resumed_count": 0, "disconnects": 0, "busy": False}
seen_raw = {"create": [], "update": [], "reaction_add": []}


async def step(name, coro):
    """Runs one library call; on an exception reports it precisely and re-raises."""
    try:
        return await asyncio.wait_for(coro, timeout=STEP_TIMEOUT)
    except Exception as e:  # noqa: BLE001
        emit("step_failed", step=name, error=f"{type(e).__name__}: {e}",
             traceback=traceback.format_exc())
        raise


@client.event
async def on_ready():
    state["ready_count"] += 1
    guild = client.get_guild(GUILD_ID)
    info = {
        "ready_count": state["ready_count"],
        "user_id": str(client.user.id) if client.user else None,
        "user_name": client.user.name if client.user else None,
        "guild_ids": [str(g.id) for g in client.guilds],
        "compression": compression_in_use(),
        "session_id": getattr(client.ws, "session_id", None),
    }
    if guild is not None:
        ch = guild.get_channel(CHANNEL_ID)
        info.update(
            guild_name=guild.name,
            guild_owner_id=str(guild.owner_id),
            guild_unavailable=guild.unavailable,
            channel_ids=[str(c.id) for c in guild.channels],
            channel_found=ch is not None,
            channel_type=str(ch.type) if ch is not None else None,
            me_present=guild.me is not None,
            member_count=guild.member_count,
            roles=[str(r.id) for r in guild.roles],
            default_role_ok=guild.default_role is not None and guild.default_role.id == guild.id,
            can_send=(ch.permissions_for(guild.me).send_messages
                      if ch is not None and guild.me is not None else None),
        )
    emit("ready", **info)


@client.event
async def on_resumed():
    state["resumed_count"] += 1
    emit("resumed", resumed_count=state["resumed_count"], session_id=getattr(client.ws, "session_id", None),
         sequence=getattr(client.ws, "sequence", None))


@client.event
async def on_disconnect():
    state["disconnects"] += 1
    emit("disconnect", count=state["disconnects"])


@client.event
async def on_raw_message_edit(payload):
    seen_raw["update"].append(str(payload.message_id))


@client.event
async def on_raw_reaction_add(payload):
    seen_raw["reaction_add"].append({"message_id": str(payload.message_id), "user_id": str(payload.user_id),
                                     "emoji": str(payload.emoji)})


async def wait_until(pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        await asyncio.sleep(0.05)
    return pred()


async def basic_flow(message: discord.Message):
    summary = {
        "received": {
            "id": str(message.id),
            "content": message.content,
            "guild_id": str(message.guild.id) if message.guild else None,
            "channel_id": str(message.channel.id),
            "author_id": str(message.author.id),
            "author_is_member": isinstance(message.author, discord.Member),
            "created_at": message.created_at.isoformat(),
        }
    }
    content = message.content
    # Guild slash and context-menu commands: tree.sync is the bulk overwrite (PUT).
    synced = await step("tree.sync(guild=...)", tree.sync(guild=GUILD))
    fetched_cmds = await step("tree.fetch_commands(guild=...)", tree.fetch_commands(guild=GUILD))
    summary["commands"] = {"synced": command_summary(synced), "fetched": command_summary(fetched_cmds)}
    reply = await step("message.reply", message.reply(f"pong: {content}"))
    summary["reply"] = {
        "id": str(reply.id),
        "content": reply.content,
        "reference_message_id": str(reply.reference.message_id) if reply.reference else None,
        "type": str(reply.type),
    }
    await step("message.add_reaction", message.add_reaction(REACTION))
    summary["reaction"] = REACTION
    edited = await step("reply.edit", reply.edit(content=f"pong (edited): {content}"))
    summary["edited"] = {
        "id": str(edited.id),
        "content": edited.content,
        "edited_at": edited.edited_at.isoformat() if edited.edited_at else None,
    }

    # A file: discord.File in a send (multipart), then the bytes back through the attachment URL.
    sent = await step("channel.send(file=discord.File)",
                      message.channel.send("file", file=discord.File(io.BytesIO(FILE_BYTES), filename=FILE_NAME)))
    att = sent.attachments[0] if sent.attachments else None
    summary["file"] = {"message_id": str(sent.id), "count": len(sent.attachments)}
    if att is not None:
        data = await step("attachment.read", att.read())
        summary["file"].update(
            id=str(att.id), filename=att.filename, size=att.size, content_type=att.content_type,
            width=att.width, height=att.height, url=att.url,
            read_len=len(data), read_sha256=hashlib.sha256(data).hexdigest(),
        )

    async def history():
        return [m async for m in message.channel.history(limit=10)]

    hist = await step("channel.history", history())
    summary["history"] = [{"id": str(m.id), "content": m.content, "author_id": str(m.author.id)} for m in hist]
    fetched = await step("channel.fetch_message", message.channel.fetch_message(message.id))
    summary["fetched_reactions"] = [{"emoji": str(r.emoji), "count": r.count, "me": r.me} for r in fetched.reactions]

    # Gateway echoes of the bot's own actions (MESSAGE_CREATE / MESSAGE_UPDATE / MESSAGE_REACTION_ADD).
    await wait_until(lambda: str(reply.id) in seen_raw["create"] and str(reply.id) in seen_raw["update"]
                     and any(r["message_id"] == str(message.id) for r in seen_raw["reaction_add"]), 5.0)
    summary["gateway_seen"] = {
        "reply_create": str(reply.id) in seen_raw["create"],
        "reply_update": str(reply.id) in seen_raw["update"],
        "reaction_add": [r for r in seen_raw["reaction_add"] if r["message_id"] == str(message.id)],
    }
    summary["cached_reply_content"] = None
    cached = discord.utils.get(client.cached_messages, id=reply.id)
    if cached is not None:
        summary["cached_reply_content"] = cached.content

    # A member timeout (MODERATE_MEMBERS): set for 5 minutes, read back, ended.
    guild = message.guild
    target = await step("guild.fetch_member", guild.fetch_member(MEMBER_ID))
    await step("member.timeout(timedelta)",
               target.timeout(datetime.timedelta(minutes=5), reason="conformance"))
    timed = await step("guild.fetch_member (timed out)", guild.fetch_member(MEMBER_ID))
    summary["timeout"] = {
        "timed_out": timed.is_timed_out(),
        "until": timed.timed_out_until.isoformat() if timed.timed_out_until else None,
    }
    await step("member.timeout(None)", timed.timeout(None, reason="conformance"))
    cleared = await step("guild.fetch_member (cleared)", guild.fetch_member(MEMBER_ID))
    summary["timeout"]["after_clear"] = cleared.is_timed_out()

    # An incoming webhook: created by the library, executed with wait=True, deleted.
    hook = await step("channel.create_webhook", message.channel.create_webhook(name="Conformance Hook"))
    hsent = await step("webhook.send(wait=True)", hook.send("from a webhook", username="Hooked", wait=True))
    summary["webhook"] = {
        "id": str(hook.id), "has_token": bool(hook.token), "message_id": str(hsent.id),
        "webhook_id": str(hsent.webhook_id) if hsent.webhook_id else None,
        "author_name": hsent.author.name, "content": hsent.content,
    }
    await step("webhook.delete", hook.delete())
    emit("done", **summary)


@client.event
async def on_message(message: discord.Message):
    seen_raw["create"].append(str(message.id))
    if message.author.id != HUMAN_ID:
        return
    if MODE == "resume":
        emit("message", id=str(message.id), content=message.content,
             guild_id=str(message.guild.id) if message.guild else None)
        return
    if not message.content.startswith("ping") or state["busy"]:
        emit("message", id=str(message.id), content=message.content, ignored=True)
        return
    state["busy"] = True
    try:
        await basic_flow(message)
    except Exception:  # already reported by step()
        emit("flow_failed")
    finally:
        if MODE == "basic":
            emit("closing")
            await client.close()


async def main():
    emit("starting", discord_py=discord.__version__, compression=compression_in_use(),
         gateway=str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY), api=discord.http.Route.BASE)
    try:
        async with client:
            await client.start(TOKEN)
    except Exception as e:  # noqa: BLE001
        emit("fatal", error=f"{type(e).__name__}: {e}", traceback=traceback.format_exc())
        raise
    emit("exited", ready_count=state["ready_count"], resumed_count=state["resumed_count"])


if __name__ == "__main__":
    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("asyncio").setLevel(logging.INFO)
    asyncio.run(main())
