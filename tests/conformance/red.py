"""Scenario G of the conformance driver (run.py): Red-DiscordBot, a real bot from PyPI,
unmodified (bot_red.py only sets the base URLs), used by the human as on Discord.

The human (Red's owner, `--owner`) types commands in the channel; every answer and effect is
checked over REST as the human sees it:
- `!ping` -> `Pong.` (core; sent again until Red answers, as Red says nothing when it is ready);
- `!load customcom`, `!customcom create simple hello Hello from a custom command`, `!hello`;
- `!load cleanup`, `!cleanup messages 3` (Red's bulk delete: the three messages are gone);
- `!load mod`, `!ban <member> conformance` (the member is banned, with Red's reason in the audit log).
"""
import json
import os
import tempfile
import time
import shutil

import run
from run import Failure, Server, BotProc, bot_env, log, post, setup

# Red's intents (all, with the privileged ones) and the permissions its cogs use:
# the basic set plus KICK/BAN_MEMBERS, MANAGE_MESSAGES and EMBED_LINKS.
RED_FLAGS = run.MESSAGE_CONTENT_FLAG | (1 << 13) | (1 << 15)
RED_PERMISSIONS = run.BOT_PERMISSIONS | (1 << 1) | (1 << 2) | (1 << 13) | (1 << 14)


def messages(ctx, limit=50):
    _, ms = ctx["rest"].call("GET", f"/channels/{ctx['channel_id']}/messages?limit={limit}", token=ctx["human"],
                             expect=200)
    return ms


def bot_answer(ctx, after, deadline, pred=None, resend=None):
    """The bot's first message after message id `after` (matching `pred`); `resend()` is
    called every 3 s while none has come."""
    next_send = time.monotonic() + 3
    while time.monotonic() < deadline:
        for m in reversed(messages(ctx)):
            if int(m["id"]) > int(after) and m.get("author", {}).get("id") == ctx["bot_id"] and (pred is None or pred(m)):
                return m
        if resend and time.monotonic() >= next_send:
            resend()
            next_send = time.monotonic() + 3
        time.sleep(0.2)
    raise Failure(f"no answer from Red after message {after}; last messages: "
                  f"{[(m.get('author', {}).get('username'), m.get('content')) for m in messages(ctx, 8)]}")


def command(ctx, text, deadline, pred=None):
    """The human sends `text`; Red's answer."""
    mid = post(ctx, text)
    return mid, bot_answer(ctx, mid, deadline, pred)


def scenario_red(name, opts, c):
    server = Server(name, opts.log_dir)
    bot = None
    home = tempfile.mkdtemp(prefix="hearth-conf-red-")
    try:
        server.start()
        ctx = setup(server, permissions=RED_PERMISSIONS)
        rest, human = ctx["rest"], ctx["human"]
        rest.call("PATCH", f"/applications/{ctx['app_id']}", {"flags": RED_FLAGS}, token=human, expect=200)
        deadline = time.monotonic() + max(run.TIMEOUT, 90)
        env = bot_env(server, ctx)
        env["RED_HOME"] = home
        bot = BotProc(name, [opts.red_python, os.path.join(run.HERE, "bot_red.py")], env, opts.log_dir)
        start = bot.wait_for("starting", deadline)
        log(f"    Red-DiscordBot {start.get('version')} (discord.py {start.get('discord_py')})")
        first = post(ctx, "!ping")
        pong = bot_answer(ctx, first, deadline, resend=lambda: post(ctx, "!ping"))
        c.check("Red: `!ping` answered `Pong.`", pong.get("content") == "Pong.", json.dumps(pong)[:300])

        _, m = command(ctx, "!load customcom", deadline)
        c.check("Red: `!load customcom` (owner only) loads the cog", "customcom" in m.get("content", "")
                and "Loaded" in m.get("content", ""), m.get("content"))
        _, m = command(ctx, "!customcom create simple hello Hello from a custom command", deadline)
        c.check("Red: custom command created", "success" in m.get("content", "").lower(), m.get("content"))
        _, m = command(ctx, "!hello", deadline)
        c.check("Red: `!hello` answers with the custom command's text",
                m.get("content") == "Hello from a custom command", m.get("content"))

        _, m = command(ctx, "!load cleanup", deadline)
        c.check("Red: `!load cleanup`", "Loaded" in m.get("content", ""), m.get("content"))
        doomed = [post(ctx, f"to be cleaned {i}") for i in range(3)]
        cmd_id = post(ctx, "!cleanup messages 3")

        def cleaned():
            ids = {x["id"] for x in messages(ctx)}
            return not (set(doomed) & ids) and cmd_id not in ids

        try:
            while not cleaned():
                if time.monotonic() > deadline:
                    raise Failure("timed out")
                time.sleep(0.2)
            ok = True
        except Failure:
            ok = False
        c.check("Red: `!cleanup messages 3` deleted the three messages and the command", ok,
                f"left: {[x.get('content') for x in messages(ctx, 10)]}")

        _, m = command(ctx, "!load mod", deadline)
        c.check("Red: `!load mod`", "Loaded" in m.get("content", ""), m.get("content"))
        _, m = command(ctx, f"!ban {ctx['member_id']} conformance", deadline)
        st, ban = rest.call("GET", f"/guilds/{ctx['guild_id']}/bans/{ctx['member_id']}", token=human)
        c.check("Red: `!ban` banned the member (GET ban as the human)", st == 200
                and (ban or {}).get("user", {}).get("id") == ctx["member_id"], f"Red said {m.get('content')!r}; HTTP {st}: {ban}")
        st, audit = rest.call("GET", f"/guilds/{ctx['guild_id']}/audit-logs?action_type=22", token=human)
        entries = [e for e in (audit or {}).get("audit_log_entries", []) if e.get("target_id") == ctx["member_id"]]
        c.check("Red: the ban is the bot's audit-log entry with Red's reason",
                len(entries) == 1 and entries[0].get("user_id") == ctx["bot_id"]
                and "conformance" in (entries[0].get("reason") or ""), f"HTTP {st}: {entries or audit}")
    finally:
        if bot:
            bot.proc.terminate()
            bot.stop(grace=0)
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
