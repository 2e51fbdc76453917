#!/usr/bin/env python3
"""One unmodified bot per Python library (discord.py, disnake, nextcord, py-cord, hikari)
pointed at Hearth.

LIB selects the library. The only changes from a bot written for Discord are the base-URL
settings marked below. Each bot:
1. connects with the GUILDS, GUILD_MEMBERS, GUILD_PRESENCES, GUILD_MESSAGES and
   MESSAGE_CONTENT intents, sets its own presence with an activity (the server echoes it back
   as PRESENCE_UPDATE, which the library parses) and reports READY with the guilds it sees;
2. answers the human's `ping N` with a reply `pong N from LIB`;
3. registers the guild slash command `/hello` the library's normal way (discord.py
   `tree.sync(guild=...)`, disnake `test_guilds`, nextcord `guild_ids`, py-cord
   `debug_guilds`: all three sync on connect; hikari `rest.set_application_commands`);
4. answers `/hello` (invoked by the human through `POST /interactions`) with a message
   `hello NAME from LIB` carrying a button `click-LIB`, and the click by updating that message
   (UPDATE_MESSAGE: `clicked by NAME on LIB`, components removed);
5. then creates a webhook in the channel and executes it (`webhook from LIB`, username
   `Hooked LIB`, "discord" written "dc"), reports `done` and closes.

Environment: LIB, HEARTH_HTTP, HEARTH_WS, BOT_TOKEN, GUILD_ID, CHANNEL_ID.
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
CLICK_ID = f"click-{LIB}"
# Webhook names and usernames may not contain "discord" (Discord's rule, Hearth's too).
HOOK_NAME = f"Hooked {LIB.replace('discord', 'dc')}"

logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)


def emit(event, **data):
    data["event"] = event
    data["t"] = round(time.time(), 3)
    sys.stdout.write("EVENT " + json.dumps(data, default=str) + "\n")
    sys.stdout.flush()


def reply_text(content):
    return f"pong {content.split()[1]} from {LIB}" if content.startswith("ping ") else None


def hello_text(name):
    return f"hello {name} from {LIB}"


def clicked_text(name):
    return f"clicked by {name} on {LIB}"


def run_dpy_family(lib):
    """discord.py, disnake, nextcord and py-cord keep discord.py's shape; each registers its
    slash command its own way."""
    intents = lib.Intents.default()
    intents.members = True
    intents.presences = True
    intents.message_content = True

    async def answer_hello(inter):
        view = lib.ui.View(timeout=None)
        button = lib.ui.Button(label="Click me", custom_id=CLICK_ID, style=lib.ButtonStyle.primary)

        async def clicked(click):
            await click.response.edit_message(content=clicked_text(click.user.name), view=None)
            emit("clicked", user=str(click.user.id), message=str(click.message.id))
            channel = client.get_channel(CHANNEL_ID)
            hook = await channel.create_webhook(name=HOOK_NAME)
            sent = await hook.send(f"webhook from {LIB}", username=HOOK_NAME, wait=True)
            emit("done", webhook_id=str(hook.id), webhook_message=str(sent.id),
                 webhook_message_webhook_id=str(sent.webhook_id))
            emit("closing")
            await client.close()

        button.callback = clicked
        view.add_item(button)
        await inter.response.send_message(hello_text(inter.user.name), view=view)
        emit("hello_answered", user=str(inter.user.id))

    sync = None
    if LIB == "discord.py":
        client = lib.Client(intents=intents)
        tree = lib.app_commands.CommandTree(client)
        guild = lib.Object(id=GUILD_ID)

        @tree.command(name="hello", description="Says hello with a button", guild=guild)
        async def hello(inter):
            await answer_hello(inter)

        async def sync():
            synced = await tree.sync(guild=guild)
            emit("synced", commands=[c.name for c in synced])
    elif LIB == "disnake":
        from disnake.ext import commands

        client = commands.InteractionBot(intents=intents, test_guilds=[GUILD_ID])

        @client.slash_command(name="hello", description="Says hello with a button")
        async def hello(inter):
            await answer_hello(inter)
    elif LIB == "nextcord":
        client = lib.Client(intents=intents)

        @client.slash_command(name="hello", description="Says hello with a button", guild_ids=[GUILD_ID])
        async def hello(inter):
            await answer_hello(inter)
    else:  # py-cord
        client = lib.Bot(intents=intents, debug_guilds=[GUILD_ID])

        @client.slash_command(name="hello", description="Says hello with a button")
        async def hello(ctx):
            await answer_hello(ctx.interaction)

    @client.event
    async def on_ready():
        emit("ready", user=str(client.user.id), guilds=[str(g.id) for g in client.guilds])
        await client.change_presence(activity=lib.Game(name=f"tests on {LIB}"))
        if sync:
            await sync()

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
        emit("replied", reply_id=str(sent.id), reply_to=str(message.id))

    emit("starting", lib=LIB, version=lib.__version__)
    client.run(TOKEN)


def run_hikari():
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
        # On the shard that became ready (GatewayBot.update_presence goes to the shards
        # whose start has completed).
        await event.shard.update_presence(activity=hikari.Activity(name=f"tests on {LIB}"))
        cmd = bot.rest.slash_command_builder("hello", "Says hello with a button")
        synced = await bot.rest.set_application_commands(event.application_id, [cmd], guild=GUILD_ID)
        emit("synced", commands=[c.name for c in synced])

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
        emit("replied", reply_id=str(sent.id), reply_to=str(event.message_id))

    @bot.listen(hikari.InteractionCreateEvent)
    async def on_interaction(event):
        i = event.interaction
        if isinstance(i, hikari.CommandInteraction) and i.command_name == "hello":
            row = bot.rest.build_message_action_row().add_interactive_button(
                hikari.ButtonStyle.PRIMARY, CLICK_ID, label="Click me")
            await i.create_initial_response(hikari.ResponseType.MESSAGE_CREATE, hello_text(i.user.username),
                                            component=row)
            emit("hello_answered", user=str(i.user.id))
        elif isinstance(i, hikari.ComponentInteraction) and i.custom_id == CLICK_ID:
            await i.create_initial_response(hikari.ResponseType.MESSAGE_UPDATE, clicked_text(i.user.username),
                                            components=[])
            emit("clicked", user=str(i.user.id), message=str(i.message.id))
            hook = await bot.rest.create_webhook(CHANNEL_ID, HOOK_NAME)
            sent = await bot.rest.execute_webhook(hook, hook.token, f"webhook from {LIB}", username=HOOK_NAME)
            emit("done", webhook_id=str(hook.id), webhook_message=str(sent.id),
                 webhook_message_webhook_id=str(sent.webhook_id))
            await bot.close()

    emit("starting", lib=LIB, version=hikari.__version__)
    bot.run(asyncio_debug=False, check_for_updates=False)
    emit("closing")


def main():
    if LIB == "hikari":
        run_hikari()
    elif LIB == "discord.py":
        import discord
        import yarl

        # ---- the two settings that point discord.py at Hearth --------------------------
        discord.http.Route.BASE = f"{HTTP}/api/v10"
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["HEARTH_WS"])
        run_dpy_family(discord)
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
