#!/usr/bin/env python3
"""One unmodified bot per Python library (hikari, disnake, nextcord, py-cord) pointed at Hearth.

LIB selects the library. The only changes from a bot written for Discord are the base-URL
settings marked below. Each bot connects with the GUILDS, GUILD_MEMBERS, GUILD_PRESENCES,
GUILD_MESSAGES and MESSAGE_CONTENT intents, sets its own presence with an activity (the
server echoes it back as PRESENCE_UPDATE, which the library parses), reports READY with the
guilds it sees, then answers the human's `ping N` with `pong N from LIB` (a reply).

Environment: LIB, HEARTH_HTTP, BOT_TOKEN, GUILD_ID, CHANNEL_ID, STEP_TIMEOUT.
Reports to the driver (run.py) with lines `EVENT {json}` on stdout; logs go to stderr.
"""
import asyncio
import json
import logging
import os
import sys
import time

LIB = os.environ["LIB"]
HTTP = os.environ["HEARTH_HTTP"]
TOKEN = os.environ["BOT_TOKEN"]
GUILD_ID = int(os.environ["GUILD_ID"])
CHANNEL_ID = int(os.environ["CHANNEL_ID"])

logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)


def emit(event, **data):
    data["event"] = event
    data["t"] = round(time.time(), 3)
    sys.stdout.write("EVENT " + json.dumps(data, default=str) + "\n")
    sys.stdout.flush()


def reply_text(content):
    return f"pong {content.split()[1]} from {LIB}" if content.startswith("ping ") else None


def run_dpy_family(lib):
    """disnake, nextcord and py-cord keep discord.py's shape."""
    intents = lib.Intents.default()
    intents.members = True
    intents.presences = True
    intents.message_content = True
    client = lib.Client(intents=intents)

    @client.event
    async def on_ready():
        emit("ready", user=str(client.user.id), guilds=[str(g.id) for g in client.guilds])
        await client.change_presence(activity=lib.Game(name=f"tests on {LIB}"))

    @client.event
    async def on_presence_update(before, after):
        if after.id == client.user.id and after.activity is not None:
            emit("presence", activity=after.activity.name, status=str(after.status))

    @client.event
    async def on_message(message):
        text = reply_text(message.content)
        if message.author.id == client.user.id or message.channel.id != CHANNEL_ID or not text:
            return
        sent = await message.reply(text)
        emit("done", reply_id=str(sent.id), reply_to=str(message.id))
        await client.close()

    emit("starting", lib=LIB, version=lib.__version__)
    client.run(TOKEN)
    emit("closing")


def main():
    if LIB == "hikari":
        import hikari

        # ---- the one setting that points hikari at Hearth --------------------------------
        bot = hikari.GatewayBot(
            token=TOKEN,
            rest_url=f"{HTTP}/api/v10",
            intents=hikari.Intents.ALL_UNPRIVILEGED
            | hikari.Intents.GUILD_MEMBERS
            | hikari.Intents.GUILD_PRESENCES
            | hikari.Intents.MESSAGE_CONTENT,
        )

        @bot.listen(hikari.ShardReadyEvent)
        async def on_ready(event):
            emit("ready", user=str(event.my_user.id),
                 guilds=[str(g) for g in event.unavailable_guilds])
            await bot.update_presence(activity=hikari.Activity(name=f"tests on {LIB}"))

        @bot.listen(hikari.PresenceUpdateEvent)
        async def on_presence(event):
            acts = event.presence.activities
            if event.user_id == bot.get_me().id and acts:
                emit("presence", activity=acts[0].name, status=str(event.presence.visible_status))

        @bot.listen(hikari.GuildMessageCreateEvent)
        async def on_message(event):
            text = reply_text(event.content or "")
            if event.author_id == bot.get_me().id or event.channel_id != CHANNEL_ID or not text:
                return
            sent = await event.message.respond(text, reply=event.message)
            emit("done", reply_id=str(sent.id), reply_to=str(event.message_id))
            await bot.close()

        emit("starting", lib=LIB, version=hikari.__version__)
        bot.run(asyncio_debug=False, check_for_updates=False)
        emit("closing")
    elif LIB == "disnake":
        import disnake

        disnake.http.Route.BASE = f"{HTTP}/api/v10"  # the one setting
        run_dpy_family(disnake)
    elif LIB == "nextcord":
        import nextcord

        nextcord.http.Route.BASE = f"{HTTP}/api/v10"  # the one setting
        run_dpy_family(nextcord)
    elif LIB == "py-cord":
        import discord

        discord.http.Route.API_BASE_URL = f"{HTTP}/api/v{{API_VERSION}}"  # the one setting
        run_dpy_family(discord)
    else:
        emit("fatal", error=f"unknown LIB {LIB}")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001
        emit("fatal", error=f"{type(e).__name__}: {e}")
        raise
