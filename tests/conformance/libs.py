"""Scenario F of the conformance driver (run.py): seven bot libraries, each unmodified with
only its base URL changed, driven by the human as Discord's client would (python3 standard
library only).

For each library in turn, on one server: READY with the guild, its own presence echoed back,
a reply to the human's `ping N`, the guild slash command `/hello` registered the library's
way and invoked by the human through `POST /interactions`, the bot's answer with a button,
the human's click and the bot's update of that message, and a webhook the bot created and
executed. Every effect is checked as the human sees it over REST.
"""
import json
import os
import random
import time

import run
from run import Failure, Server, BotProc, bot_env, log, post, setup, tail

PRESENCE_FLAG = 1 << 13  # GATEWAY_PRESENCE_LIMITED
MEMBERS_FLAG = 1 << 15  # GATEWAY_GUILD_MEMBERS_LIMITED


def libraries(o):
    """(name, argv) of each library's bot; `o` are run.py's options."""
    py = os.path.join(run.HERE, "bot_libs.py")
    node = [o.node, os.path.join(run.HERE, "bot_libs.mjs")]
    return [("discord.py", [o.python, py]), ("discord.js", node), ("hikari", [o.libs_python, py]),
            ("disnake", [o.libs_python, py]), ("nextcord", [o.libs_python, py]),
            ("py-cord", [o.pycord_python, py]), ("oceanic.js", node)]


def poll(what, fn, deadline, every=0.1):
    """Polls `fn()` (the human's REST view) until it returns something truthy; Failure at the
    deadline. The state is what is waited on: there is no fixed sleep."""
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(every)
    raise Failure(f"timed out waiting for {what}")


def interaction_body(ctx, kind, data, nonce, message_id=None):
    """The body Discord's client posts to `POST /interactions`."""
    body = {"type": kind, "application_id": ctx["app_id"], "guild_id": ctx["guild_id"],
            "channel_id": ctx["channel_id"], "session_id": "conformance", "nonce": nonce, "data": data}
    if message_id:
        body["message_id"] = message_id
        body["message_flags"] = 0
    return body


def human_name(ctx):
    if "human_name" not in ctx:
        _, me = ctx["rest"].call("GET", "/users/@me", token=ctx["human"], expect=200)
        ctx["human_name"] = me["username"]
    return ctx["human_name"]


def check_interactions(c, lib, bot, ctx, deadline):
    """The human invokes `/hello`, sees the bot's answer with a button, clicks it and sees the
    message updated; then the webhook message the bot made."""
    rest, human, ch = ctx["rest"], ctx["human"], ctx["channel_id"]
    path = f"/applications/{ctx['app_id']}/guilds/{ctx['guild_id']}/commands"

    def hello_command():
        _, cmds = rest.call("GET", path, token=human)
        return next((x for x in cmds or [] if isinstance(x, dict) and x.get("name") == "hello"), None)

    cmd = poll(f"{lib}: /hello registered in the guild", hello_command, deadline)
    c.check(f"{lib}: /hello registered as a guild CHAT_INPUT command of the application",
            cmd.get("type") == 1 and cmd.get("guild_id") == ctx["guild_id"]
            and cmd.get("application_id") == ctx["app_id"], json.dumps(cmd))
    nonce = str(random.randint(10**9, 10**10))
    st, body = rest.call("POST", "/interactions",
                         interaction_body(ctx, 2, {"version": cmd.get("version"), "id": cmd["id"], "name": "hello",
                                                   "type": 1, "options": []}, nonce), token=human)
    c.check(f"{lib}: POST /interactions (APPLICATION_COMMAND) accepted", st == 204, f"HTTP {st}: {body}")
    name = human_name(ctx)

    def answer():
        _, msgs = rest.call("GET", f"/channels/{ch}/messages?limit=10", token=human)
        return next((m for m in msgs or [] if (m.get("interaction_metadata") or {}).get("type") == 2
                     and m["interaction_metadata"].get("user", {}).get("id") == ctx["human_id"]
                     and m.get("content", "").endswith(f"from {lib}")), None)

    msg = poll(f"{lib}: the bot's answer to /hello", answer, deadline)
    buttons = [b for row in msg.get("components") or [] for b in row.get("components") or []]
    c.check(f"{lib}: answer by the bot, `hello NAME from LIB`, with the button",
            msg.get("author", {}).get("id") == ctx["bot_id"] and msg.get("content") == f"hello {name} from {lib}"
            and [(b.get("type"), b.get("custom_id")) for b in buttons] == [(2, f"click-{lib}")],
            json.dumps(msg)[:600])
    c.check(f"{lib}: answer is an APPLICATION_COMMAND response (type 20, interaction names /hello)",
            msg.get("type") == 20 and (msg.get("interaction") or {}).get("name") == "hello", json.dumps(msg)[:600])
    st, body = rest.call("POST", "/interactions",
                         interaction_body(ctx, 3, {"custom_id": f"click-{lib}", "component_type": 2},
                                          nonce + "1", message_id=msg["id"]), token=human)
    c.check(f"{lib}: POST /interactions (MESSAGE_COMPONENT click) accepted", st == 204, f"HTTP {st}: {body}")

    def updated():
        _, m = rest.call("GET", f"/channels/{ch}/messages/{msg['id']}", token=human)
        return m if isinstance(m, dict) and m.get("content", "").startswith("clicked") else None

    m = poll(f"{lib}: the message updated after the click", updated, deadline)
    c.check(f"{lib}: click updated the message in place (`clicked by NAME on LIB`, no components)",
            m.get("content") == f"clicked by {name} on {lib}" and not m.get("components")
            and bool(m.get("edited_timestamp")), json.dumps(m)[:600])
    done = bot.wait_for("done", deadline)
    st, hm = rest.call("GET", f"/channels/{ch}/messages/{done.get('webhook_message')}", token=human)
    c.check(f"{lib}: webhook created and executed by the library (stored with webhook_id and the username)",
            st == 200 and hm.get("webhook_id") == done.get("webhook_id") == done.get("webhook_message_webhook_id")
            and hm.get("content") == f"webhook from {lib}" and hm.get("author", {}).get("username") == f"Hooked {lib.replace('discord', 'dc')}",
            f"HTTP {st}: {json.dumps(hm)[:400]} done={done}")
    st, hooks = rest.call("GET", f"/channels/{ch}/webhooks", token=human)
    c.check(f"{lib}: the webhook is listed for the channel, made by the bot",
            st == 200 and any(h.get("id") == done.get("webhook_id") and h.get("user", {}).get("id") == ctx["bot_id"]
                              for h in hooks or []), f"HTTP {st}: {hooks}")


def scenario_libs(name, bots, opts, c):
    """One server; each library's bot in turn (see the module docstring)."""
    server = Server(name, opts.log_dir)
    try:
        server.start()
        ctx = setup(server)
        rest, human = ctx["rest"], ctx["human"]
        rest.call("PATCH", f"/applications/{ctx['app_id']}",
                  {"flags": run.MESSAGE_CONTENT_FLAG | PRESENCE_FLAG | MEMBERS_FLAG}, token=human, expect=200)
        for lib, argv in bots:
            bot = None
            t0 = time.monotonic()
            try:
                deadline = time.monotonic() + run.TIMEOUT
                env = bot_env(server, ctx)
                env["LIB"] = lib
                bot = BotProc(f"{name}-{lib}", argv, env, opts.log_dir)
                start = bot.wait_for("starting", deadline)
                log(f"    {lib} {start.get('version')}")
                ready = bot.wait_for("ready", deadline)
                c.check(f"{lib}: READY as the bot, with the guild",
                        ready.get("user") == ctx["bot_id"] and ctx["guild_id"] in ready.get("guilds", []),
                        json.dumps(ready))
                presence = bot.wait_for("presence", deadline)
                c.check(f"{lib}: its presence echoed with the activity it set",
                        presence.get("activity") == f"tests on {lib}", json.dumps(presence))
                n = random.randint(10**6, 10**7)
                orig = post(ctx, f"ping {n}")
                done = bot.wait_for("replied", deadline)
                _, msg = rest.call("GET", f"/channels/{ctx['channel_id']}/messages/{done.get('reply_id')}",
                                   token=human, expect=200)
                c.check(f"{lib}: reply stored as a reply to the ping, by the bot",
                        msg.get("content") == f"pong {n} from {lib}"
                        and (msg.get("message_reference") or {}).get("message_id") == orig
                        and msg.get("author", {}).get("id") == ctx["bot_id"], json.dumps(msg)[:400])
                check_interactions(c, lib, bot, ctx, deadline)
                bot.wait_for("closing", deadline)
            except Failure as e:
                c.check(f"{lib}: ran to completion", False, str(e))
                p = os.path.join(opts.log_dir, f"{name}-{lib}-bot.log")
                if os.path.exists(p):
                    log(f"--- last lines of {p}:\n{tail(p, 40)}--- end")
            finally:
                if bot:
                    bot.stop()
                # The next library registers /hello afresh (the application is the same).
                rest.call("PUT", f"/applications/{ctx['app_id']}/guilds/{ctx['guild_id']}/commands", [],
                          token=ctx["bot"])
                log(f"    {lib}: {time.monotonic() - t0:.1f} s")
    finally:
        server.stop()
