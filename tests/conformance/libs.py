"""Scenario F of the conformance driver (run.py): seven bot libraries, each unmodified with
only its base URL changed, driven by the human as Discord's client would.

For each library in turn, on one server: READY with the guild, its own presence echoed back,
a reply to the human's `ping N`, six guild slash commands registered in one sync the
library's way, then, each invoked by the human through `POST /interactions` as Discord's
client does:
- `/hello`: the bot's answer with a button, the human's click and the bot's update of that
  message, and a webhook the bot created and executed;
- `/slow`: a deferred response (INTERACTION_SUCCESS on the human's gateway, the bot's
  `deferred`) and then the message (`followup.send`, `followUp`, `edit_initial_response` or
  `editOriginal`), stored as the interaction's response;
- `/secret`: an ephemeral answer, received by the human on the gateway (MESSAGE_CREATE with
  flag 64), absent from the channel's messages and 404 by id, never sent to another member;
- `/form`: a modal (INTERACTION_MODAL_CREATE on the human's gateway), submitted by the human
  (MODAL_SUBMIT with a text value), answered with a message quoting the value;
- `/pick`: an autocomplete (type 4, focused partial value) answered with the choices the bot
  computed from it (APPLICATION_COMMAND_AUTOCOMPLETE_RESPONSE `{nonce, choices}`);
- `/menu`: a message with a string select; the human picks a value (type 3, component_type 3)
  and the bot updates the message with it; then the bot closes.
Every effect is checked as the human sees it, over REST and on its own gateway connection
(`HumanGateway`, aiohttp: the driver runs with tests/conformance/.venv's python, where
aiohttp is installed as discord.py's dependency; the rest of run.py is standard library).

CONFORMANCE_LIBS (comma-separated names, e.g. `discord.py,hikari`) runs only those libraries;
default all seven.
"""
import asyncio
import json
import os
import random
import threading
import time

import run
from run import Failure, Server, BotProc, bot_env, log, post, setup, tail

PRESENCE_FLAG = 1 << 13  # GATEWAY_PRESENCE_LIMITED
MEMBERS_FLAG = 1 << 15  # GATEWAY_GUILD_MEMBERS_LIMITED


def libraries(o):
    """(name, argv) of each library's bot; `o` are run.py's options."""
    py = os.path.join(run.HERE, "bot_libs.py")
    node = [o.node, os.path.join(run.HERE, "bot_libs.mjs")]
    every = [("discord.py", [o.python, py]), ("discord.js", node), ("hikari", [o.libs_python, py]),
             ("disnake", [o.libs_python, py]), ("nextcord", [o.libs_python, py]),
             ("py-cord", [o.pycord_python, py]), ("oceanic.js", node)]
    only = [x.strip().lower() for x in os.environ.get("CONFORMANCE_LIBS", "").split(",") if x.strip()]
    return [b for b in every if not only or b[0] in only]


COMMANDS = ("hello", "slow", "secret", "form", "menu", "pick")


class HumanGateway:
    """A user's gateway connection as Discord's client makes it (IDENTIFY with the user's
    token and client properties, no intents: a user gets every event it may see), run by
    aiohttp in a background thread. Every dispatch is kept, in order; `wait_for` waits for
    one that matches. HELLO's heartbeat interval is honoured."""

    def __init__(self, ws_url, token, name):
        self.url = ws_url + "?v=10&encoding=json"
        self.token = token.split(" ", 1)[-1]  # Discord's client sends the bare token
        self.name = name
        self.events = []  # (t, d) of every dispatch
        self.cond = threading.Condition()
        self.ready = None
        self.error = None
        self.loop = asyncio.new_event_loop()
        self.ws = None
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._run(),), daemon=True)

    def start(self, deadline):
        self.thread.start()
        self.wait_for("READY", lambda d: True, deadline)
        return self

    async def _run(self):
        import aiohttp  # tests/conformance/.venv: discord.py's dependency

        try:
            async with aiohttp.ClientSession() as session:
                async with session.ws_connect(self.url, max_msg_size=0, autoping=True) as ws:
                    self.ws = ws
                    hello = await ws.receive_json()
                    interval = hello["d"]["heartbeat_interval"] / 1000
                    await ws.send_json({"op": 2, "d": {
                        "token": self.token,
                        "properties": {"os": "linux", "browser": "hearth-conformance", "device": "hearth-conformance"}}})
                    seq = [None]

                    async def beat():
                        while True:
                            await asyncio.sleep(interval)
                            await ws.send_json({"op": 1, "d": seq[0]})

                    beater = asyncio.ensure_future(beat())
                    try:
                        async for msg in ws:
                            if msg.type != aiohttp.WSMsgType.TEXT:
                                break
                            p = json.loads(msg.data)
                            if p.get("s") is not None:
                                seq[0] = p["s"]
                            if p.get("op") == 0:
                                with self.cond:
                                    self.events.append((p["t"], p["d"]))
                                    self.cond.notify_all()
                    finally:
                        beater.cancel()
                    if ws.close_code not in (None, 1000):
                        raise Failure(f"gateway closed with {ws.close_code}")
        except Exception as e:  # noqa: BLE001 (reported to the waiter)
            self.error = f"{type(e).__name__}: {e}"
        finally:
            with self.cond:
                if self.error is None:
                    self.error = "connection closed"
                self.cond.notify_all()

    def mark(self):
        """The position of the next dispatch: `wait_for(..., since=mark())` sees only later ones."""
        with self.cond:
            return len(self.events)

    def wait_for(self, name, pred, deadline, since=0):
        """The first dispatch `name` from position `since` whose `d` satisfies `pred`;
        Failure at the deadline or when the connection ended."""
        with self.cond:
            i = since
            while True:
                while i < len(self.events):
                    t, d = self.events[i]
                    i += 1
                    if t == name and pred(d):
                        return d
                left = deadline - time.monotonic()
                if left <= 0 or (self.error and self.thread.is_alive() is False):
                    raise Failure(f"{self.name}: no {name} matching within the deadline"
                                  + (f" ({self.error})" if self.error else "")
                                  + f"; last dispatches: {[t for t, _ in self.events[-15:]]}")
                self.cond.wait(min(left, 0.5))

    def seen(self, name, pred, since=0):
        """Every dispatch `name` from `since` satisfying `pred` (no waiting)."""
        with self.cond:
            return [d for t, d in self.events[since:] if t == name and pred(d)]

    def close(self):
        if self.ws is not None and self.thread.is_alive():
            asyncio.run_coroutine_threadsafe(self.ws.close(), self.loop)
        self.thread.join(5)


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


def invoke(c, lib, ctx, kind, data, what, message_id=None):
    """The human posts one interaction (`POST /interactions`, as Discord's client does); its
    nonce."""
    nonce = str(random.randint(10**17, 10**18))
    st, body = ctx["rest"].call("POST", "/interactions", interaction_body(ctx, kind, data, nonce, message_id),
                                token=ctx["human"])
    if not c.check(f"{lib}: POST /interactions ({what}) accepted", st == 204, f"HTTP {st}: {body}"):
        raise Failure(f"{what} refused: HTTP {st}: {body}")
    return nonce


def command_data(cmd, options=()):
    return {"version": cmd.get("version"), "id": cmd["id"], "name": cmd["name"], "type": 1,
            "options": list(options)}


def stored(ctx, message_id):
    """The message as the human reads it over REST (status, body)."""
    return ctx["rest"].call("GET", f"/channels/{ctx['channel_id']}/messages/{message_id}", token=ctx["human"])


def check_interactions(c, lib, bot, ctx, gw, deadline):
    """The human invokes `/hello`, sees the bot's answer with a button, clicks it and sees the
    message updated; then the webhook message the bot made; then `/slow`, `/secret`,
    `/form`, `/pick` (autocomplete) and `/menu` (see the module docstring)."""
    rest, human, ch = ctx["rest"], ctx["human"], ctx["channel_id"]
    path = f"/applications/{ctx['app_id']}/guilds/{ctx['guild_id']}/commands"

    def registered():
        _, cmds = rest.call("GET", path, token=human)
        named = {x.get("name"): x for x in cmds or [] if isinstance(x, dict)}
        return named if all(n in named for n in COMMANDS) else None

    cmds = poll(f"{lib}: its six commands registered in the guild", registered, deadline)
    c.check(f"{lib}: /hello /slow /secret /form /menu /pick registered as guild CHAT_INPUT commands of the application",
            all(x.get("type") == 1 and x.get("guild_id") == ctx["guild_id"] and x.get("application_id") == ctx["app_id"]
                for x in cmds.values()) and len(cmds) == len(COMMANDS), json.dumps(cmds)[:800])
    fruit = (cmds["pick"].get("options") or [{}])[0]
    c.check(f"{lib}: /pick has the string option `fruit` with autocomplete",
            fruit.get("type") == 3 and fruit.get("name") == "fruit" and fruit.get("autocomplete") is True,
            json.dumps(cmds["pick"]))
    nonce = invoke(c, lib, ctx, 2, command_data(cmds["hello"]), "APPLICATION_COMMAND /hello")
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
    invoke(c, lib, ctx, 3, {"custom_id": f"click-{lib}", "component_type": 2}, "MESSAGE_COMPONENT click",
           message_id=msg["id"])

    def updated():
        _, m = stored(ctx, msg["id"])
        return m if isinstance(m, dict) and m.get("content", "").startswith("clicked") else None

    m = poll(f"{lib}: the message updated after the click", updated, deadline)
    c.check(f"{lib}: click updated the message in place (`clicked by NAME on LIB`, no components)",
            m.get("content") == f"clicked by {name} on {lib}" and not m.get("components")
            and bool(m.get("edited_timestamp")), json.dumps(m)[:600])
    done = bot.wait_for("done", deadline)
    st, hm = stored(ctx, done.get("webhook_message"))
    c.check(f"{lib}: webhook created and executed by the library (stored with webhook_id and the username)",
            st == 200 and hm.get("webhook_id") == done.get("webhook_id") == done.get("webhook_message_webhook_id")
            and hm.get("content") == f"webhook from {lib}" and hm.get("author", {}).get("username") == f"Hooked {lib.replace('discord', 'dc')}",
            f"HTTP {st}: {json.dumps(hm)[:400]} done={done}")
    st, hooks = rest.call("GET", f"/channels/{ch}/webhooks", token=human)
    c.check(f"{lib}: the webhook is listed for the channel, made by the bot",
            st == 200 and any(h.get("id") == done.get("webhook_id") and h.get("user", {}).get("id") == ctx["bot_id"]
                              for h in hooks or []), f"HTTP {st}: {hooks}")
    check_slow(c, lib, bot, ctx, gw, cmds, deadline)
    secret_id = check_secret(c, lib, bot, ctx, gw, cmds, deadline)
    check_form(c, lib, bot, ctx, gw, cmds, deadline)
    check_pick(c, lib, bot, ctx, gw, cmds, deadline)
    menu_id = check_menu(c, lib, bot, ctx, gw, cmds, deadline)
    # The other member saw the channel's later messages (the menu), never the ephemeral one.
    mgw = ctx["member_gw"]
    mgw.wait_for("MESSAGE_CREATE", lambda d: d.get("id") == menu_id, deadline)
    c.check(f"{lib}: the ephemeral answer never reached another member's gateway (who got the later /menu message)",
            not mgw.seen("MESSAGE_CREATE", lambda d: d.get("id") == secret_id), secret_id)


def interaction_of(gw, nonce, deadline, since):
    """The interaction id the human's client learns from INTERACTION_CREATE `{id, nonce}`."""
    return gw.wait_for("INTERACTION_CREATE", lambda d: d.get("nonce") == nonce, deadline, since)["id"]


def check_slow(c, lib, bot, ctx, gw, cmds, deadline):
    """`/slow`: DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE, then the message."""
    name, since = human_name(ctx), gw.mark()
    nonce = invoke(c, lib, ctx, 2, command_data(cmds["slow"]), "APPLICATION_COMMAND /slow")
    iid = interaction_of(gw, nonce, deadline, since)
    ok = gw.wait_for("INTERACTION_SUCCESS", lambda d: d.get("nonce") == nonce, deadline, since)
    deferred = bot.wait_for("deferred", deadline)
    c.check(f"{lib}: /slow deferred (the library's defer returned; INTERACTION_SUCCESS with the nonce on the human's gateway)",
            ok.get("id") == iid and deferred.get("user") == ctx["human_id"], f"{ok} {deferred}")
    text = f"slow {name} from {lib}"
    seen = gw.wait_for("MESSAGE_CREATE", lambda d: d.get("content") == text, deadline, since)
    sent = bot.wait_for("followed_up", deadline)
    st, m = stored(ctx, seen["id"])
    meta = m.get("interaction_metadata") or {} if isinstance(m, dict) else {}
    c.check(f"{lib}: /slow's message after the deferral: stored, by the bot, type 20, the interaction's response "
            "(interaction_metadata names the human's /slow, no original_response_message_id), the id the library got",
            st == 200 and m.get("content") == text and m.get("author", {}).get("id") == ctx["bot_id"]
            and m.get("type") == 20 and meta.get("id") == iid and meta.get("user", {}).get("id") == ctx["human_id"]
            and meta.get("name") == "slow" and not meta.get("original_response_message_id")
            and not (m.get("flags", 0) & 64) and sent.get("message") == m.get("id"),
            f"HTTP {st}: {json.dumps(m)[:600]} bot={sent}")


def check_secret(c, lib, bot, ctx, gw, cmds, deadline):
    """`/secret`: ephemeral (flag 64): on the human's gateway only, not in the channel."""
    name, since = human_name(ctx), gw.mark()
    nonce = invoke(c, lib, ctx, 2, command_data(cmds["secret"]), "APPLICATION_COMMAND /secret")
    iid = interaction_of(gw, nonce, deadline, since)
    text = f"secret {name} from {lib}"
    seen = gw.wait_for("MESSAGE_CREATE", lambda d: d.get("content") == text, deadline, since)
    bot.wait_for("secret_sent", deadline)
    meta = seen.get("interaction_metadata") or {}
    c.check(f"{lib}: /secret answered ephemerally: MESSAGE_CREATE on the human's gateway with flag 64, by the bot, "
            "for the human's interaction",
            (seen.get("flags", 0) & 64) == 64 and seen.get("author", {}).get("id") == ctx["bot_id"]
            and meta.get("id") == iid and meta.get("user", {}).get("id") == ctx["human_id"], json.dumps(seen)[:600])
    _, msgs = ctx["rest"].call("GET", f"/channels/{ctx['channel_id']}/messages?limit=50", token=ctx["human"])
    st, m = stored(ctx, seen["id"])
    c.check(f"{lib}: the ephemeral message is not in GET /channels/{{id}}/messages, and GET by id is 404 10008",
            isinstance(msgs, list) and all(x.get("id") != seen["id"] and x.get("content") != text for x in msgs)
            and st == 404 and (m or {}).get("code") == 10008, f"HTTP {st}: {m}")
    return seen["id"]


def check_form(c, lib, bot, ctx, gw, cmds, deadline):
    """`/form`: MODAL, the human's MODAL_SUBMIT, the bot's answer quoting the value."""
    since = gw.mark()
    nonce = invoke(c, lib, ctx, 2, command_data(cmds["form"]), "APPLICATION_COMMAND /form")
    modal = gw.wait_for("INTERACTION_MODAL_CREATE", lambda d: d.get("nonce") == nonce, deadline, since)
    bot.wait_for("modal_sent", deadline)
    inputs = [x for row in modal.get("components") or [] for x in row.get("components") or []]
    c.check(f"{lib}: /form answered with a modal: INTERACTION_MODAL_CREATE on the human's gateway "
            "(custom_id form-LIB, title, one text input `answer`)",
            modal.get("custom_id") == f"form-{lib}" and modal.get("title") == f"Form {lib}"
            and [(x.get("type"), x.get("custom_id")) for x in inputs] == [(4, "answer")]
            and (modal.get("application") or {}).get("id") == ctx["app_id"], json.dumps(modal)[:600])
    value = f"blue moon {random.randint(1000, 9999)}"
    since = gw.mark()
    data = {"id": modal["id"], "custom_id": modal["custom_id"],
            "components": [{"type": 1, "components": [{"type": 4, "custom_id": "answer", "value": value}]}]}
    invoke(c, lib, ctx, 5, data, "MODAL_SUBMIT")
    text = f"form {value} from {lib}"
    seen = gw.wait_for("MESSAGE_CREATE", lambda d: d.get("content") == text, deadline, since)
    ans = bot.wait_for("form_answered", deadline)
    st, m = stored(ctx, seen["id"])
    meta = (m.get("interaction_metadata") or {}) if isinstance(m, dict) else {}
    trigger = meta.get("triggering_interaction_metadata") or {}
    c.check(f"{lib}: the submitted value reached the bot, whose answer `form VALUE from LIB` is stored "
            "(by the bot, interaction_metadata type 5 MODAL_SUBMIT by the human, triggered by its /form)",
            ans.get("value") == value and st == 200 and m.get("content") == text
            and m.get("author", {}).get("id") == ctx["bot_id"] and meta.get("type") == 5
            and meta.get("user", {}).get("id") == ctx["human_id"] and trigger.get("id") == modal["id"]
            and trigger.get("type") == 2 and trigger.get("name") == "form",
            f"HTTP {st}: {json.dumps(m)[:800]} bot={ans}")


def check_pick(c, lib, bot, ctx, gw, cmds, deadline):
    """`/pick fruit:` autocomplete: the bot's choices for the typed value."""
    typed = f"ap{random.randint(10, 99)}"
    since = gw.mark()
    nonce = invoke(c, lib, ctx, 4, command_data(cmds["pick"], [{"type": 3, "name": "fruit", "value": typed,
                                                               "focused": True}]),
                   "APPLICATION_COMMAND_AUTOCOMPLETE /pick")
    res = gw.wait_for("APPLICATION_COMMAND_AUTOCOMPLETE_RESPONSE", lambda d: d.get("nonce") == nonce, deadline, since)
    ac = bot.wait_for("autocompleted", deadline)
    want = [{"name": f"{typed} {i} ({lib})", "value": f"{typed}-{i}"} for i in (1, 2, 3)]
    got = [{"name": x.get("name"), "value": x.get("value")} for x in res.get("choices") or []]
    c.check(f"{lib}: autocomplete: the bot saw the typed value and the human got its choices "
            "(APPLICATION_COMMAND_AUTOCOMPLETE_RESPONSE with the nonce)",
            ac.get("typed") == typed and got == want, f"typed={typed} bot={ac} got={res}")


def check_menu(c, lib, bot, ctx, gw, cmds, deadline):
    """`/menu`: a string select; the human picks `green`; the bot updates the message."""
    name, since = human_name(ctx), gw.mark()
    invoke(c, lib, ctx, 2, command_data(cmds["menu"]), "APPLICATION_COMMAND /menu")
    text = f"menu for {name} from {lib}"
    seen = gw.wait_for("MESSAGE_CREATE", lambda d: d.get("content") == text, deadline, since)
    bot.wait_for("menu_sent", deadline)
    st, m = stored(ctx, seen["id"])
    sel = [x for row in (m or {}).get("components") or [] for x in row.get("components") or []]
    c.check(f"{lib}: /menu answered with a string select menu-LIB (red, green, blue), stored",
            st == 200 and len(sel) == 1 and sel[0].get("type") == 3 and sel[0].get("custom_id") == f"menu-{lib}"
            and [o.get("value") for o in sel[0].get("options") or []] == ["red", "green", "blue"],
            f"HTTP {st}: {json.dumps(m)[:800]}")
    since = gw.mark()
    invoke(c, lib, ctx, 3, {"custom_id": f"menu-{lib}", "component_type": 3, "values": ["green"]},
           "MESSAGE_COMPONENT string select", message_id=seen["id"])
    want = f"picked green by {name} on {lib}"
    gw.wait_for("MESSAGE_UPDATE", lambda d: d.get("id") == seen["id"] and d.get("content") == want, deadline, since)
    picked = bot.wait_for("picked", deadline)
    st, m = stored(ctx, seen["id"])
    c.check(f"{lib}: the pick reached the bot (values [green]), which updated the message "
            "(`picked green by NAME on LIB`, select gone, edited)",
            picked.get("value") == "green" and st == 200 and m.get("content") == want and not m.get("components")
            and bool(m.get("edited_timestamp")), f"HTTP {st}: {json.dumps(m)[:600]} bot={picked}")
    return seen["id"]


def scenario_libs(name, bots, opts, c):
    """One server; each library's bot in turn (see the module docstring)."""
    server = Server(name, opts.log_dir)
    gw = ctx = None
    try:
        server.start()
        ctx = setup(server)
        rest, human = ctx["rest"], ctx["human"]
        rest.call("PATCH", f"/applications/{ctx['app_id']}",
                  {"flags": run.MESSAGE_CONTENT_FLAG | PRESENCE_FLAG | MEMBERS_FLAG}, token=human, expect=200)
        # The human's own client, and another member's (who must never see an ephemeral answer).
        start = time.monotonic() + 15
        gw = HumanGateway(server.ws, human, "human gateway").start(start)
        ctx["member_gw"] = HumanGateway(server.ws, ctx["member"], "member gateway").start(start)
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
                check_interactions(c, lib, bot, ctx, gw, deadline)
                bot.wait_for("closing", deadline)
            except Failure as e:
                c.check(f"{lib}: ran to completion", False, str(e))
                p = os.path.join(opts.log_dir, f"{name}-{lib}-bot.log")
                if os.path.exists(p):
                    log(f"--- last lines of {p}:\n{tail(p, 40)}--- end")
            finally:
                if bot:
                    bot.stop()
                # The next library registers its commands afresh (the application is the same).
                rest.call("PUT", f"/applications/{ctx['app_id']}/guilds/{ctx['guild_id']}/commands", [],
                          token=ctx["bot"])
                log(f"    {lib}: {time.monotonic() - t0:.1f} s")
    finally:
        for g in (gw, ctx.get("member_gw") if ctx else None):
            if g:
                g.close()
        server.stop()
