#!/usr/bin/env python3
"""One unmodified bot per Python library (discord.py, disnake, nextcord, py-cord, hikari)
pointed at Hearth.

LIB selects the library. The only changes from a bot written for Discord are the base-URL
settings marked below. Each bot:
1. connects with the GUILDS, GUILD_MEMBERS, GUILD_PRESENCES, GUILD_MESSAGES and
   MESSAGE_CONTENT intents, sets its own presence with an activity (the server echoes it back
   as PRESENCE_UPDATE, which the library parses) and reports READY with the guilds it sees;
2. answers the human's `ping N` with a reply `pong N from LIB`;
3. registers its six guild slash commands in one sync, the library's normal way (discord.py
   `tree.sync(guild=...)`, disnake `test_guilds`, nextcord `guild_ids`, py-cord
   `debug_guilds`: all three sync on connect; hikari `rest.set_application_commands`):
   `/hello`, `/slow`, `/secret`, `/form`, `/pick fruit:` (autocomplete) and `/menu`;
4. answers `/hello` (invoked by the human through `POST /interactions`) with a message
   `hello NAME from LIB` carrying a button `click-LIB`, and the click by updating that message
   (UPDATE_MESSAGE: `clicked by NAME on LIB`, components removed);
5. then creates a webhook in the channel and executes it (`webhook from LIB`, username
   `Hooked LIB`, "discord" written "dc") and reports `done`;
6. `/slow`: defers (DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE), reports `deferred`, then sends
   `slow NAME from LIB` (discord.py, disnake, nextcord, py-cord: `followup.send`; hikari:
   `edit_initial_response`);
7. `/secret`: an ephemeral answer (flag 64) `secret NAME from LIB`;
8. `/form`: a modal `form-LIB` (a text input `answer`, the library's modal class or builder);
   its MODAL_SUBMIT is answered with `form VALUE from LIB`;
9. `/pick`'s autocomplete: the choices of `choices(typed)` (the library's autocomplete
   callback);
10. `/menu`: a message `menu for NAME from LIB` with a string select `menu-LIB` (red, green,
   blue); the pick is answered by updating that message (`picked VALUE by NAME on LIB`,
   components removed); then the bot reports `closing` and closes.

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
FORM_ID = f"form-{LIB}"
MENU_ID = f"menu-{LIB}"
COLORS = ("red", "green", "blue")
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


def choices(typed):
    """The autocomplete choices for the typed value: (name, value) pairs (the driver expects
    exactly these)."""
    return [(f"{typed} {i} ({LIB})", f"{typed}-{i}") for i in (1, 2, 3)]


def run_dpy_family(lib):
    """discord.py, disnake, nextcord and py-cord keep discord.py's shape; each registers its
    slash commands its own way."""
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

        button.callback = clicked
        view.add_item(button)
        await inter.response.send_message(hello_text(inter.user.name), view=view)
        emit("hello_answered", user=str(inter.user.id))

    async def answer_slow(inter):
        await inter.response.defer()
        emit("deferred", user=str(inter.user.id))
        sent = await inter.followup.send(f"slow {inter.user.name} from {LIB}", wait=True)
        emit("followed_up", message=str(sent.id))

    async def answer_secret(inter):
        await inter.response.send_message(f"secret {inter.user.name} from {LIB}", ephemeral=True)
        emit("secret_sent")

    async def answer_form(inter):
        async def submitted(sub, value):
            await sub.response.send_message(f"form {value} from {LIB}")
            emit("form_answered", value=value)

        # The library's modal class, with one short text input in its row.
        if LIB == "disnake":
            class Form(lib.ui.Modal):
                async def callback(self, sub):
                    await submitted(sub, sub.text_values["answer"])

            modal = Form(title=f"Form {LIB}", custom_id=FORM_ID,
                         components=[lib.ui.TextInput(label="Answer", custom_id="answer")])
        else:
            field = (lib.ui.InputText if LIB == "py-cord" else lib.ui.TextInput)(label="Answer", custom_id="answer")
            if LIB == "nextcord":
                modal = lib.ui.Modal(f"Form {LIB}", custom_id=FORM_ID)
            else:
                modal = lib.ui.Modal(title=f"Form {LIB}", custom_id=FORM_ID)
            modal.add_item(field)

            async def callback(sub):
                await submitted(sub, field.value)
            if LIB == "discord.py":
                modal.on_submit = callback
            else:
                modal.callback = callback
        await inter.response.send_modal(modal)
        emit("modal_sent")

    async def answer_menu(inter):
        view = lib.ui.View(timeout=None)
        select = getattr(lib.ui, "StringSelect", lib.ui.Select)(
            custom_id=MENU_ID, placeholder="A colour", options=[lib.SelectOption(label=c, value=c) for c in COLORS])

        async def picked(pick):
            value = select.values[0]
            await pick.response.edit_message(content=f"picked {value} by {pick.user.name} on {LIB}", view=None)
            emit("picked", value=value, message=str(pick.message.id))
            emit("closing")
            await client.close()

        select.callback = picked
        view.add_item(select)
        await inter.response.send_message(f"menu for {inter.user.name} from {LIB}", view=view)
        emit("menu_sent")

    async def answer_pick(inter, fruit):
        await inter.response.send_message(f"fruit {fruit} from {LIB}")

    sync = None
    if LIB == "discord.py":
        client = lib.Client(intents=intents)
        tree = lib.app_commands.CommandTree(client)
        guild = lib.Object(id=GUILD_ID)

        @tree.command(name="hello", description="Says hello with a button", guild=guild)
        async def hello(inter):
            await answer_hello(inter)

        @tree.command(name="slow", description="Answers later", guild=guild)
        async def slow(inter):
            await answer_slow(inter)

        @tree.command(name="secret", description="Answers only you", guild=guild)
        async def secret(inter):
            await answer_secret(inter)

        @tree.command(name="form", description="Opens a form", guild=guild)
        async def form(inter):
            await answer_form(inter)

        @tree.command(name="menu", description="Offers a menu", guild=guild)
        async def menu(inter):
            await answer_menu(inter)

        @tree.command(name="pick", description="Picks a fruit", guild=guild)
        @lib.app_commands.describe(fruit="A fruit")
        async def pick(inter, fruit: str):
            await answer_pick(inter, fruit)

        @pick.autocomplete("fruit")
        async def pick_fruit(inter, current: str):
            emit("autocompleted", typed=current)
            return [lib.app_commands.Choice(name=n, value=v) for n, v in choices(current)]

        async def sync():
            synced = await tree.sync(guild=guild)
            emit("synced", commands=[c.name for c in synced])
    elif LIB in ("disnake", "nextcord"):
        if LIB == "disnake":
            from disnake.ext import commands

            client = commands.InteractionBot(intents=intents, test_guilds=[GUILD_ID])
            where = {}
        else:
            client = lib.Client(intents=intents)
            where = {"guild_ids": [GUILD_ID]}

        @client.slash_command(name="hello", description="Says hello with a button", **where)
        async def hello(inter):
            await answer_hello(inter)

        @client.slash_command(name="slow", description="Answers later", **where)
        async def slow(inter):
            await answer_slow(inter)

        @client.slash_command(name="secret", description="Answers only you", **where)
        async def secret(inter):
            await answer_secret(inter)

        @client.slash_command(name="form", description="Opens a form", **where)
        async def form(inter):
            await answer_form(inter)

        @client.slash_command(name="menu", description="Offers a menu", **where)
        async def menu(inter):
            await answer_menu(inter)

        if LIB == "disnake":
            @client.slash_command(name="pick", description="Picks a fruit")
            async def pick(inter, fruit: str):
                """Picks a fruit

                Parameters
                ----------
                fruit: A fruit
                """
                await answer_pick(inter, fruit)

            @pick.autocomplete("fruit")
            async def pick_fruit(inter, string: str):
                emit("autocompleted", typed=string)
                return {n: v for n, v in choices(string)}
        else:
            @client.slash_command(name="pick", description="Picks a fruit", **where)
            async def pick(inter, fruit: str = lib.SlashOption(description="A fruit", autocomplete=True)):
                await answer_pick(inter, fruit)

            @pick.on_autocomplete("fruit")
            async def pick_fruit(inter, fruit: str):
                emit("autocompleted", typed=fruit)
                await inter.response.send_autocomplete({n: v for n, v in choices(fruit)})
    else:  # py-cord
        client = lib.Bot(intents=intents, debug_guilds=[GUILD_ID])

        @client.slash_command(name="hello", description="Says hello with a button")
        async def hello(ctx):
            await answer_hello(ctx.interaction)

        @client.slash_command(name="slow", description="Answers later")
        async def slow(ctx):
            await answer_slow(ctx.interaction)

        @client.slash_command(name="secret", description="Answers only you")
        async def secret(ctx):
            await answer_secret(ctx.interaction)

        @client.slash_command(name="form", description="Opens a form")
        async def form(ctx):
            await answer_form(ctx.interaction)

        @client.slash_command(name="menu", description="Offers a menu")
        async def menu(ctx):
            await answer_menu(ctx.interaction)

        async def pick_fruit(actx):
            emit("autocompleted", typed=actx.value)
            return [lib.OptionChoice(name=n, value=v) for n, v in choices(actx.value)]

        @client.slash_command(name="pick", description="Picks a fruit")
        async def pick(ctx, fruit: lib.Option(str, "A fruit", autocomplete=pick_fruit)):
            await answer_pick(ctx.interaction, fruit)

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
        build = bot.rest.slash_command_builder
        cmds = [build("hello", "Says hello with a button"), build("slow", "Answers later"),
                build("secret", "Answers only you"), build("form", "Opens a form"),
                build("menu", "Offers a menu"),
                build("pick", "Picks a fruit").add_option(hikari.CommandOption(
                    type=hikari.OptionType.STRING, name="fruit", description="A fruit", autocomplete=True))]
        synced = await bot.rest.set_application_commands(event.application_id, cmds, guild=GUILD_ID)
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

    async def on_command(i):
        name = i.user.username
        if i.command_name == "hello":
            row = bot.rest.build_message_action_row().add_interactive_button(
                hikari.ButtonStyle.PRIMARY, CLICK_ID, label="Click me")
            await i.create_initial_response(hikari.ResponseType.MESSAGE_CREATE, hello_text(name), component=row)
            emit("hello_answered", user=str(i.user.id))
        elif i.command_name == "slow":
            await i.create_initial_response(hikari.ResponseType.DEFERRED_MESSAGE_CREATE)
            emit("deferred", user=str(i.user.id))
            sent = await i.edit_initial_response(f"slow {name} from {LIB}")
            emit("followed_up", message=str(sent.id))
        elif i.command_name == "secret":
            await i.create_initial_response(hikari.ResponseType.MESSAGE_CREATE, f"secret {name} from {LIB}",
                                            flags=hikari.MessageFlag.EPHEMERAL)
            emit("secret_sent")
        elif i.command_name == "form":
            row = bot.rest.build_modal_action_row().add_text_input("answer", "Answer")
            await i.create_modal_response(f"Form {LIB}", FORM_ID, component=row)
            emit("modal_sent")
        elif i.command_name == "menu":
            row = bot.rest.build_message_action_row()
            menu = row.add_text_menu(MENU_ID, placeholder="A colour", min_values=1)
            for c in COLORS:
                menu.add_option(c, c)
            await i.create_initial_response(hikari.ResponseType.MESSAGE_CREATE, f"menu for {name} from {LIB}",
                                            component=row)
            emit("menu_sent")

    @bot.listen(hikari.InteractionCreateEvent)
    async def on_interaction(event):
        i = event.interaction
        if isinstance(i, hikari.CommandInteraction):
            await on_command(i)
        elif isinstance(i, hikari.AutocompleteInteraction):
            typed = next(o.value for o in i.options if o.is_focused)
            emit("autocompleted", typed=typed)
            await i.create_response([hikari.impl.AutocompleteChoiceBuilder(name=n, value=v)
                                     for n, v in choices(typed)])
        elif isinstance(i, hikari.ModalInteraction) and i.custom_id == FORM_ID:
            value = next(c.value for row in i.components for c in row.components if c.custom_id == "answer")
            await i.create_initial_response(hikari.ResponseType.MESSAGE_CREATE, f"form {value} from {LIB}")
            emit("form_answered", value=value)
        elif isinstance(i, hikari.ComponentInteraction) and i.custom_id == CLICK_ID:
            await i.create_initial_response(hikari.ResponseType.MESSAGE_UPDATE, clicked_text(i.user.username),
                                            components=[])
            emit("clicked", user=str(i.user.id), message=str(i.message.id))
            hook = await bot.rest.create_webhook(CHANNEL_ID, HOOK_NAME)
            sent = await bot.rest.execute_webhook(hook, hook.token, f"webhook from {LIB}", username=HOOK_NAME)
            emit("done", webhook_id=str(hook.id), webhook_message=str(sent.id),
                 webhook_message_webhook_id=str(sent.webhook_id))
        elif isinstance(i, hikari.ComponentInteraction) and i.custom_id == MENU_ID:
            value = i.values[0]
            await i.create_initial_response(hikari.ResponseType.MESSAGE_UPDATE,
                                            f"picked {value} by {i.user.username} on {LIB}", components=[])
            emit("picked", value=value, message=str(i.message.id))
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
