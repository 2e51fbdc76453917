#!/usr/bin/env python3
"""Real-client conformance driver for Hearth (python3 standard library only).

For each scenario it starts a fresh `hearth` (HEARTH_BIN, default target/debug/hearth) on a free
port with a temporary data directory, sets up a human, a guild and a bot over REST, runs an
unmodified discord.py / discord.js bot against it and checks every effect over REST.

Scenarios:
  A  discord.py bot: ready/guild, reply, reaction, edit, a file sent (discord.File) and read back
     through its attachment URL, history
  B  discord.js v14 bot: the same (the file through `files: [...]`)
  C  discord.py resume: the bot's gateway connection runs through a TCP proxy owned by this
     driver (READY.resume_gateway_url too, via HEARTH_GATEWAY__PUBLIC_URL); the driver
     black-holes the server->bot direction, posts messages (lost in flight), holds new
     connections, cuts the TCP connection, posts more messages, then lets connections through.
     The library must RESUME on its own (on_resumed) and receive every missed MESSAGE_CREATE,
     exactly once and in order, without a new IDENTIFY.
  D  discord.js resume: the same as C
  E  discord.py without the MESSAGE_CONTENT application flag: close 4014 ->
     PrivilegedIntentsRequired
  F  seven libraries in turn (discord.py, discord.js, hikari, disnake, nextcord, py-cord,
     Oceanic.js; libs.py): presence, reply, slash commands invoked through POST /interactions
     (a button clicked, a deferred answer, an ephemeral one, a modal submitted, an autocomplete,
     a string select picked), a webhook; the human also watches its own gateway connection
  G  Red-DiscordBot from PyPI (red.py, bot_red.py): core `!ping`, the customcom, cleanup and
     mod cogs used by the human, checked over REST
  H  discord.py voice states (voice.py, bot_voice.py): the human joins a voice channel over the
     gateway (op 4); the bot sees it (VOICE_STATE_UPDATE, `guild.get_member(...).voice`), moves,
     server-mutes and disconnects the human through the library; checked on both sides and REST
  I  discord.js voice states: the same with bot_voice.mjs
  J  discord.py threads and timeouts (threads.py, bot_threads.py): a public thread from a message,
     a private thread with the member added, a forum post with a tag, lock + archive, the active
     and archived lists (each through the library, waiting on its THREAD_* events); a timeout
     (GUILD_MEMBER_UPDATE), the member's message refused (403 50013), the timeout ended, both
     changes read from the audit log through the library; checked over REST too
  K  discord.js threads and timeouts: the same with bot_threads.mjs

Usage: run.py [--scenarios A,B,C,D,E,F,G,H,I,J,K] [--python PY] [--node NODE] [--tag T] [--setup-only] [--log-dir DIR]
Environment: HEARTH_BIN, CONFORMANCE_TIMEOUT (seconds per scenario, default 60),
             CONFORMANCE_PYTHON (interpreter with discord.py), CONFORMANCE_LOG_DIR.
Prints per-check results and a last line `N passed, M failed`; exit status 1 if any failed.
"""
import argparse
import base64
import datetime
import hashlib
import json
import os
import queue
import random
import shutil
import socket
import string
import subprocess
import sys
import tempfile
import threading
import struct
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
TIMEOUT = float(os.environ.get("CONFORMANCE_TIMEOUT", "60"))

# Bot permissions: ADD_REACTIONS | VIEW_CHANNEL | SEND_MESSAGES | ATTACH_FILES | READ_MESSAGE_HISTORY
# | MODERATE_MEMBERS (the timeout step) | MANAGE_WEBHOOKS (the webhook step)
BOT_PERMISSIONS = (1 << 6) | (1 << 10) | (1 << 11) | (1 << 15) | (1 << 16) | (1 << 29) | (1 << 40)
MESSAGE_CONTENT_FLAG = 1 << 19  # GATEWAY_MESSAGE_CONTENT_LIMITED
REACTION = "\N{THUMBS UP SIGN}"


class Failure(Exception):
    pass


def make_png(width, height):
    """A valid RGB PNG of `width` x `height` (a gradient), built with the standard library."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + bytes((x * 7 + y * 13) & 0xFF for x in range(width) for _ in range(3))
                    for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


# The file every basic scenario's bot sends and reads back.
FILE_NAME = "conformance.png"
FILE_BYTES = make_png(40, 30)


def log(msg):
    print(msg, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def tail(path, n=80):
    try:
        with open(path, "r", errors="replace") as f:
            lines = f.readlines()
    except OSError as e:
        return f"(cannot read {path}: {e})"
    return "".join(lines[-n:])


# ---------------------------------------------------------------------------------------------
# REST


class Rest:
    def __init__(self, base):
        self.base = base.rstrip("/")

    def call(self, method, path, body=None, token=None, expect=None, retries=5):
        url = self.base + path
        data = None
        headers = {"User-Agent": "hearth-conformance-driver"}
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = token
        for _ in range(retries + 1):
            req = urllib.request.Request(url, data=data, method=method, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=15) as r:
                    status, raw = r.status, r.read()
            except urllib.error.HTTPError as e:
                status, raw = e.code, e.read()
            except (urllib.error.URLError, OSError) as e:
                raise Failure(f"{method} {path}: connection error {e}")
            try:
                payload = json.loads(raw) if raw else None
            except ValueError:
                payload = raw.decode(errors="replace")
            if status == 429 and isinstance(payload, dict):
                time.sleep(min(float(payload.get("retry_after", 1)), 5) + 0.05)
                continue
            break
        if expect is not None and status not in (expect if isinstance(expect, tuple) else (expect,)):
            raise Failure(f"{method} {path} -> HTTP {status} (expected {expect}): {payload!r}"[:2000])
        return status, payload


# ---------------------------------------------------------------------------------------------
# Server


class Server:
    def __init__(self, name, log_dir, extra_env=None, port=None):
        self.name = name
        target = os.path.join(REPO, os.environ.get("CARGO_TARGET_DIR") or "target")  # absolute stays absolute
        self.bin = os.environ.get("HEARTH_BIN") or os.path.join(target, "debug", "hearth")
        self.port = port or free_port()
        self.data_dir = tempfile.mkdtemp(prefix=f"hearth-conf-{name}-")
        self.log_path = os.path.join(log_dir, f"{name}-hearth.log")
        self.extra_env = extra_env or {}
        self.proc = None
        self.http = f"http://127.0.0.1:{self.port}"
        self.ws = f"ws://127.0.0.1:{self.port}/gateway"

    def start(self):
        if not os.path.exists(self.bin):
            raise Failure(f"hearth binary not found at {self.bin} (set HEARTH_BIN or run cargo build)")
        env = dict(os.environ)
        env.update({
            "HEARTH_LISTEN": f"127.0.0.1:{self.port}",
            "HEARTH_DATA_DIR": self.data_dir,
            "HEARTH_PASSWORD_HASHING__MEMORY_KIB": "1024",
            "HEARTH_PASSWORD_HASHING__ITERATIONS": "1",
            "HEARTH_RATE_LIMITS__GLOBAL_PER_SECOND": "1000",
            "HEARTH_RATE_LIMITS__DEFAULT_ROUTE__LIMIT": "1000",
            "HEARTH_RATE_LIMITS__MESSAGE_CREATE__LIMIT": "1000",
            "HEARTH_RATE_LIMITS__REACTIONS__LIMIT": "1000",
            "RUST_LOG": os.environ.get("RUST_LOG", "info,hearth=debug"),
        })
        env.update(self.extra_env)
        self.logf = open(self.log_path, "w")
        self.proc = subprocess.Popen([self.bin], env=env, stdout=self.logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.data_dir)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Failure(f"hearth exited with {self.proc.returncode} during startup:\n{tail(self.log_path)}")
            try:
                with urllib.request.urlopen(self.http + "/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise Failure(f"hearth did not answer GET /health within 30 s:\n{tail(self.log_path)}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.logf.close()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def setup(server, message_content=True, permissions=BOT_PERMISSIONS):
    """Human, guild, text channel, bot application with MESSAGE_CONTENT, bot in guild."""
    rest = Rest(server.http + "/api/v10")
    suffix = "".join(random.choice(string.ascii_lowercase) for _ in range(6))
    _, reg = rest.call("POST", "/auth/register", {"username": f"human_{suffix}", "password": "correct horse battery staple 9"},
                       expect=(200, 201))
    if not isinstance(reg, dict) or not reg.get("token"):
        raise Failure(f"register: no token in {reg!r}")
    human = "Bearer " + reg["token"]
    _, me = rest.call("GET", "/users/@me", token=human, expect=200)
    _, guild = rest.call("POST", "/guilds", {"name": f"Conformance {suffix}"}, token=human, expect=(200, 201))
    guild_id = guild["id"]
    _, channels = rest.call("GET", f"/guilds/{guild_id}/channels", token=human, expect=200)
    text = [c for c in channels if c.get("type") == 0]
    if not text:
        _, ch = rest.call("POST", f"/guilds/{guild_id}/channels", {"name": "general", "type": 0}, token=human,
                          expect=(200, 201))
        text = [ch]
    channel_id = text[0]["id"]
    _, app = rest.call("POST", "/applications", {"name": f"ConfBot {suffix}"}, token=human, expect=(200, 201))
    app_id, bot_token = app.get("id"), app.get("token")
    if not app_id or not bot_token:
        raise Failure(f"create application: missing id/token in {app!r}")
    if message_content:
        _, app2 = rest.call("PATCH", f"/applications/{app_id}", {"flags": MESSAGE_CONTENT_FLAG}, token=human,
                            expect=200)
        if not (int(app2.get("flags", 0)) & MESSAGE_CONTENT_FLAG):
            raise Failure(f"PATCH application flags not applied: {app2!r}")
    rest.call("POST", f"/oauth2/authorize?client_id={app_id}&scope=bot",
              {"guild_id": guild_id, "permissions": str(permissions), "authorize": True},
              token=human, expect=(200, 201, 204))
    bot = "Bot " + bot_token
    _, bot_me = rest.call("GET", "/users/@me", token=bot, expect=200)
    _, bot_guilds = rest.call("GET", "/users/@me/guilds", token=bot, expect=200)
    if guild_id not in [g["id"] for g in bot_guilds]:
        raise Failure(f"bot is not in the guild after authorize: {bot_guilds!r}")
    rest.call("GET", "/gateway/bot", token=bot, expect=200)
    # A plain member for the bot to time out (the owner ranks above every bot).
    _, mreg = rest.call("POST", "/auth/register",
                        {"username": f"member_{suffix}", "password": "correct horse battery staple 9"},
                        expect=(200, 201))
    member = "Bearer " + mreg["token"]
    _, invite = rest.call("POST", f"/channels/{channel_id}/invites", {}, token=human, expect=(200, 201))
    rest.call("POST", f"/invites/{invite['code']}", {}, token=member, expect=200)
    return {
        "rest": rest, "human": human, "human_id": me["id"], "guild_id": guild_id, "channel_id": channel_id,
        "app_id": app_id, "bot": bot, "bot_token": bot_token, "bot_id": bot_me["id"],
        "member": member, "member_id": mreg["user_id"],
    }


# ---------------------------------------------------------------------------------------------
# Bot process


class BotProc:
    def __init__(self, name, argv, env, log_dir):
        self.name = name
        self.log_path = os.path.join(log_dir, f"{name}-bot.log")
        self.events = queue.Queue()
        self.all_events = []
        self.errf = open(self.log_path, "w")
        full_env = dict(os.environ)
        full_env.update(env)
        self.proc = subprocess.Popen(argv, env=full_env, stdout=subprocess.PIPE, stderr=self.errf,
                                     stdin=subprocess.DEVNULL, cwd=HERE, text=True, bufsize=1)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            if line.startswith("EVENT "):
                try:
                    ev = json.loads(line[6:])
                except ValueError:
                    continue
                self.all_events.append(ev)
                self.events.put(ev)
            else:
                self.errf.write("[stdout] " + line + "\n")
        self.events.put({"event": "__eof__"})

    def wait_for(self, names, deadline, fatal=("fatal", "step_failed", "flow_failed", "__eof__")):
        """Next event whose name is in `names`; raises Failure on a fatal event or the deadline."""
        names = (names,) if isinstance(names, str) else tuple(names)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure(f"timed out waiting for bot event {names}; events so far: "
                              f"{[e['event'] for e in self.all_events]}")
            try:
                ev = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if ev["event"] in names:
                return ev
            if ev["event"] in fatal:
                if ev["event"] == "__eof__":
                    raise Failure(f"bot exited (code {self.proc.wait()}) while waiting for {names}")
                raise Failure(f"bot reported {ev['event']}: {json.dumps(ev, indent=1)[:6000]}")

    def stop(self, grace=5):
        if self.proc.poll() is None:
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.terminate()
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        self.reader.join(2)
        self.errf.close()


# ---------------------------------------------------------------------------------------------
# Checks


class Checks:
    def __init__(self):
        self.items = []

    def check(self, name, ok, detail=""):
        self.items.append((name, bool(ok), detail))
        log(f"    [{'ok' if ok else 'FAIL'}] {name}" + ("" if ok else f": {detail}"))
        return ok

    @property
    def failed(self):
        return [i for i in self.items if not i[1]]


def check_ready(c, ev, ctx):
    c.check("READY: guild listed in client.guilds", ctx["guild_id"] in ev.get("guild_ids", []),
            f"guild_ids={ev.get('guild_ids')}")
    c.check("READY: bot user id matches /users/@me", ev.get("user_id") == ctx["bot_id"],
            f"user_id={ev.get('user_id')} expected {ctx['bot_id']}")
    c.check("GUILD_CREATE: guild available (not unavailable)", ev.get("guild_unavailable") is False,
            f"guild_unavailable={ev.get('guild_unavailable')}")
    c.check("GUILD_CREATE: text channel cached", ev.get("channel_found") is True,
            f"channel {ctx['channel_id']} not in {ev.get('channel_ids')}")
    c.check("GUILD_CREATE: bot's own member present (guild.me)", ev.get("me_present") is True,
            f"me_present={ev.get('me_present')}")
    c.check("GUILD_CREATE: @everyone role id == guild id", ev.get("default_role_ok") is True,
            f"roles={ev.get('roles')}")
    c.check("permissions: library computes SEND_MESSAGES for the bot", ev.get("can_send") is True,
            f"can_send={ev.get('can_send')}")


def check_flow(c, done, ctx, orig_id, content):
    rest, human, ch = ctx["rest"], ctx["human"], ctx["channel_id"]
    rec = done.get("received", {})
    c.check("MESSAGE_CREATE: id matches the REST message", rec.get("id") == orig_id, f"{rec.get('id')} != {orig_id}")
    c.check("MESSAGE_CREATE: content delivered (MESSAGE_CONTENT)", rec.get("content") == content,
            f"content={rec.get('content')!r} expected {content!r}")
    c.check("MESSAGE_CREATE: guild_id set", rec.get("guild_id") == ctx["guild_id"], f"guild_id={rec.get('guild_id')}")
    c.check("MESSAGE_CREATE: author resolved to a guild member", rec.get("author_is_member") is True,
            f"author_is_member={rec.get('author_is_member')}")
    reply = done.get("reply", {})
    reply_id = reply.get("id")
    c.check("reply(): library sees message_reference", reply.get("reference_message_id") == orig_id,
            f"reference_message_id={reply.get('reference_message_id')}")
    edited = done.get("edited", {})
    want_edit = f"pong (edited): {content}"
    c.check("edit(): library returns edited content", edited.get("content") == want_edit, f"{edited.get('content')!r}")
    c.check("edit(): library sees edited_timestamp", bool(edited.get("edited_at")), f"edited_at={edited.get('edited_at')}")
    check_file(c, done.get("file", {}), ctx)
    check_commands(c, done.get("commands", {}), ctx)
    check_webhook(c, done.get("webhook", {}), ctx)
    hist_ids = [m["id"] for m in done.get("history", [])]
    c.check("history(): contains original and reply", orig_id in hist_ids and reply_id in hist_ids, f"history ids={hist_ids}")
    if orig_id in hist_ids and reply_id in hist_ids:
        c.check("history(): newest first", hist_ids.index(reply_id) < hist_ids.index(orig_id), f"history ids={hist_ids}")
    fr = done.get("fetched_reactions", [])
    c.check("fetch_message(): reaction with count 1 and me=true",
            any(r.get("emoji") == REACTION and r.get("count") == 1 and r.get("me") is True for r in fr), f"reactions={fr}")
    gw = done.get("gateway_seen", {})
    c.check("gateway: MESSAGE_CREATE for the bot's own reply", gw.get("reply_create") is True, f"{gw}")
    c.check("gateway: MESSAGE_UPDATE for the edit", gw.get("reply_update") is True, f"{gw}")
    c.check("gateway: MESSAGE_REACTION_ADD for the bot's reaction",
            any(r.get("user_id") == ctx["bot_id"] for r in gw.get("reaction_add", [])), f"{gw}")
    # REST verification, as the human.
    if reply_id:
        st, m = rest.call("GET", f"/channels/{ch}/messages/{reply_id}", token=human)
        if c.check("REST: reply exists", st == 200, f"HTTP {st}: {m}"):
            c.check("REST: reply author is the bot", m.get("author", {}).get("id") == ctx["bot_id"], f"author={m.get('author')}")
            c.check("REST: reply content is the edited content", m.get("content") == want_edit, f"content={m.get('content')!r}")
            c.check("REST: reply edited_timestamp set", bool(m.get("edited_timestamp")), f"edited_timestamp={m.get('edited_timestamp')}")
            ref = m.get("message_reference") or {}
            c.check("REST: reply message_reference -> original", ref.get("message_id") == orig_id,
                    f"message_reference={m.get('message_reference')}")
            c.check("REST: reply type 19 (REPLY)", m.get("type") == 19, f"type={m.get('type')}")
    st, m = rest.call("GET", f"/channels/{ch}/messages/{orig_id}", token=human)
    if c.check("REST: original exists", st == 200, f"HTTP {st}: {m}"):
        rs = m.get("reactions") or []
        c.check("REST: original has the reaction (count 1)",
                any((r.get("emoji") or {}).get("name") == REACTION and r.get("count") == 1 for r in rs), f"reactions={rs}")
    emoji = urllib.parse.quote(REACTION)
    st, users = rest.call("GET", f"/channels/{ch}/messages/{orig_id}/reactions/{emoji}", token=human)
    c.check("REST: reaction users include the bot", st == 200 and any(u.get("id") == ctx["bot_id"] for u in users or []),
            f"HTTP {st}: {users}")


def check_webhook(c, wh, ctx):
    """The webhook the library created, executed and deleted, against the stored message."""
    rest, human, ch = ctx["rest"], ctx["human"], ctx["channel_id"]
    c.check("webhook: library got the token at creation", wh.get("has_token") is True, f"{wh}")
    c.check("webhook: the sent message names the webhook", wh.get("webhook_id") == wh.get("id"), f"{wh}")
    c.check("webhook: the author is the username given", wh.get("author_name") == "Hooked", f"{wh}")
    mid = wh.get("message_id")
    if mid:
        st, m = rest.call("GET", f"/channels/{ch}/messages/{mid}", token=human)
        c.check("REST: webhook message stored with webhook_id and content",
                st == 200 and m.get("webhook_id") == wh.get("id") and m.get("content") == "from a webhook",
                f"HTTP {st}: {m}")
    st, hooks = rest.call("GET", f"/channels/{ch}/webhooks", token=human)
    c.check("REST: the library deleted the webhook", st == 200 and hooks == [], f"HTTP {st}: {hooks}")


def check_commands(c, cmds, ctx):
    """The guild commands the library registered (bulk overwrite) and fetched back, against
    what the server stored (read by the application's owner over REST)."""
    synced = sorted(cmds.get("synced") or [], key=lambda x: x["name"])
    fetched = sorted(cmds.get("fetched") or [], key=lambda x: x["name"])
    c.check("commands: library registered echo (slash) and Quote (message)",
            [(x["name"], x["type"]) for x in synced] == [("Quote", 3), ("echo", 1)], f"synced={synced}")
    c.check("commands: library fetched the same commands", fetched == synced, f"fetched={fetched} synced={synced}")
    st, stored = ctx["rest"].call("GET", f"/applications/{ctx['app_id']}/guilds/{ctx['guild_id']}/commands",
                                  token=ctx["human"])
    if not c.check("REST: guild commands listed", st == 200 and isinstance(stored, list), f"HTTP {st}: {stored}"):
        return
    by_name = {x.get("name"): x for x in stored}
    c.check("REST: stored ids match the library's",
            sorted(x["id"] for x in synced) == sorted(x.get("id") for x in stored), f"stored={stored}")
    echo = by_name.get("echo") or {}
    opts = {o.get("name"): o for o in echo.get("options") or []}
    c.check("REST: echo has guild_id, application_id and options text (required) and times (choices)",
            echo.get("guild_id") == ctx["guild_id"] and echo.get("application_id") == ctx["app_id"]
            and (opts.get("text") or {}).get("required") is True
            and [ch.get("value") for ch in (opts.get("times") or {}).get("choices") or []] == [1, 2],
            f"echo={echo}")


def check_file(c, f, ctx):
    """The file the bot sent: what the library parsed, the bytes it read back through the
    attachment URL, the message as the human reads it over REST, a download and a byte range of
    the signed URL."""
    want_sha = hashlib.sha256(FILE_BYTES).hexdigest()
    c.check("file: the sent message has one attachment", f.get("count") == 1, f"{f}")
    c.check("file: library sees the filename", f.get("filename") == FILE_NAME, f"filename={f.get('filename')!r}")
    c.check("file: library sees the size", f.get("size") == len(FILE_BYTES), f"size={f.get('size')} expected {len(FILE_BYTES)}")
    c.check("file: library sees content_type image/png (from the bytes)", f.get("content_type") == "image/png",
            f"content_type={f.get('content_type')!r}")
    c.check("file: library sees width and height", (f.get("width"), f.get("height")) == (40, 30),
            f"width={f.get('width')} height={f.get('height')}")
    c.check("file: bytes read back through the attachment URL are the bytes sent",
            f.get("read_sha256") == want_sha and f.get("read_len") == len(FILE_BYTES),
            f"read_len={f.get('read_len')} sha256={f.get('read_sha256')}")
    mid = f.get("message_id")
    if not mid:
        return
    rest, ch = ctx["rest"], ctx["channel_id"]
    st, m = rest.call("GET", f"/channels/{ch}/messages/{mid}", token=ctx["human"])
    atts = (m or {}).get("attachments") if st == 200 else None
    if not c.check("REST: the file message has the attachment", st == 200 and atts and len(atts) == 1, f"HTTP {st}: {m}"):
        return
    a = atts[0]
    c.check("REST: attachment filename, size, content_type",
            (a.get("filename"), a.get("size"), a.get("content_type")) == (FILE_NAME, len(FILE_BYTES), "image/png"), f"{a}")
    try:
        with urllib.request.urlopen(a["url"], timeout=10) as r:
            body, headers = r.read(), r.headers
        c.check("download: the human's fresh URL serves the bytes", hashlib.sha256(body).hexdigest() == want_sha,
                f"{len(body)} bytes")
        c.check("download: Content-Type image/png, Accept-Ranges bytes, nosniff",
                headers.get("Content-Type") == "image/png" and headers.get("Accept-Ranges") == "bytes"
                and headers.get("X-Content-Type-Options") == "nosniff", f"{dict(headers)}")
        req = urllib.request.Request(a["url"], headers={"Range": "bytes=8-23"})
        with urllib.request.urlopen(req, timeout=10) as r:
            part, status, cr = r.read(), r.status, r.headers.get("Content-Range")
        c.check("download: Range bytes=8-23 is 206 with those bytes",
                status == 206 and part == FILE_BYTES[8:24] and cr == f"bytes 8-23/{len(FILE_BYTES)}",
                f"status={status} Content-Range={cr} {len(part)} bytes")
    except (urllib.error.URLError, OSError) as e:
        c.check("download: the attachment URL answers", False, str(e))


def check_timeout(c, t, ctx):
    """The bot timed the member out for 5 minutes through its library, read the member back,
    then ended the timeout (`communication_disabled_until` null)."""
    c.check("timeout: the library reads the member as timed out", t.get("timed_out") is True, f"{t}")
    until = t.get("until")
    ok = False
    if until:
        try:
            left = datetime.datetime.fromisoformat(until.replace("Z", "+00:00")) - datetime.datetime.now(
                datetime.timezone.utc)
            ok = datetime.timedelta(minutes=3) < left <= datetime.timedelta(minutes=5, seconds=5)
        except ValueError:
            ok = False
    c.check("timeout: the library parses communication_disabled_until (about 5 minutes ahead)", ok, f"{t}")
    c.check("timeout: after timeout(None) the library reads it as ended", t.get("after_clear") is False, f"{t}")
    st, m = ctx["rest"].call("GET", f"/guilds/{ctx['guild_id']}/members/{ctx['member_id']}", token=ctx["human"])
    c.check("REST: the member is no longer timed out",
            st == 200 and m.get("communication_disabled_until") is None, f"HTTP {st}: {m}")
    st, log_ = ctx["rest"].call("GET", f"/guilds/{ctx['guild_id']}/audit-logs?action_type=24", token=ctx["human"])
    entries = [e for e in (log_ or {}).get("audit_log_entries", []) if e.get("target_id") == ctx["member_id"]
               and e.get("user_id") == ctx["bot_id"]
               and any(ch.get("key") == "communication_disabled_until" for ch in e.get("changes", []))]
    c.check("REST: both timeout changes are audited as the bot's, with the reason",
            st == 200 and len(entries) == 2 and all(e.get("reason") == "conformance" for e in entries),
            f"HTTP {st}: {entries or log_}")


# ---------------------------------------------------------------------------------------------
# Scenarios


def bot_env(server, ctx, ws=None, mode="basic"):
    return {
        "HEARTH_HTTP": server.http,
        "HEARTH_WS": ws or server.ws,
        "BOT_TOKEN": ctx["bot_token"],
        "GUILD_ID": ctx["guild_id"],
        "CHANNEL_ID": ctx["channel_id"],
        "HUMAN_ID": ctx["human_id"],
        "MEMBER_ID": ctx["member_id"],
        "BOT_MODE": mode,
        "FILE_B64": base64.b64encode(FILE_BYTES).decode(),
        "FILE_NAME": FILE_NAME,
        "STEP_TIMEOUT": str(min(15, TIMEOUT / 3)),
        "PYTHONUNBUFFERED": "1",
    }


def post(ctx, content):
    _, m = ctx["rest"].call("POST", f"/channels/{ctx['channel_id']}/messages", {"content": content},
                            token=ctx["human"], expect=(200, 201))
    return m["id"]


def scenario_basic(name, argv, opts, c):
    server = Server(name, opts.log_dir)
    bot = None
    try:
        server.start()
        ctx = setup(server)
        c.check("REST setup (register, guild, application, MESSAGE_CONTENT flag, authorize)", True)
        deadline = time.monotonic() + TIMEOUT
        bot = BotProc(name, argv, bot_env(server, ctx), opts.log_dir)
        start = bot.wait_for("starting", deadline)
        log(f"    bot: {json.dumps({k: v for k, v in start.items() if k not in ('event', 't')})}")
        ready = bot.wait_for("ready", deadline)
        check_ready(c, ready, ctx)
        content = f"ping {random.randint(10**6, 10**7)} hello"
        orig_id = post(ctx, content)
        done = bot.wait_for("done", deadline)
        check_flow(c, done, ctx, orig_id, content)
        check_timeout(c, done.get("timeout") or {}, ctx)
        bot.wait_for("closing", deadline)
    finally:
        if bot:
            bot.stop()
        server.stop()


class Proxy:
    """TCP relay for the gateway connection, so the driver can lose frames and cut the socket."""

    def __init__(self, upstream_port):
        self.upstream = upstream_port
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.lock = threading.Lock()
        self.conns = []  # dicts {c, u, blackhole, dropped}
        self.accepted = 0
        self.open = threading.Event()
        self.open.set()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(c,), daemon=True).start()

    def _handle(self, c):
        self.open.wait()
        try:
            u = socket.create_connection(("127.0.0.1", self.upstream))
        except OSError:
            c.close()
            return
        conn = {"c": c, "u": u, "blackhole": False, "dropped": 0}
        with self.lock:
            self.accepted += 1
            self.conns.append(conn)
        threading.Thread(target=self._pump, args=(conn, c, u, False), daemon=True).start()
        threading.Thread(target=self._pump, args=(conn, u, c, True), daemon=True).start()

    def _pump(self, conn, src, dst, downstream):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if downstream and conn["blackhole"]:
                    conn["dropped"] += len(data)
                    continue
                dst.sendall(data)
        except OSError:
            pass
        self._close(conn)

    @staticmethod
    def _close(conn):
        for s in (conn["c"], conn["u"]):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass

    def blackhole(self):
        with self.lock:
            for conn in self.conns:
                conn["blackhole"] = True
            return len(self.conns)

    def dropped(self):
        with self.lock:
            return sum(conn["dropped"] for conn in self.conns)

    def cut(self):
        with self.lock:
            conns, self.conns = self.conns, []
        for conn in conns:
            self._close(conn)
        return sum(conn["dropped"] for conn in conns)

    def shutdown(self):
        self.closed = True
        self.open.set()
        self.cut()
        try:
            self.lsock.close()
        except OSError:
            pass


def scenario_resume(name, argv, opts, c, n_lost=5, n_gap=5):
    port = free_port()
    proxy = Proxy(port)
    proxy_ws = f"ws://127.0.0.1:{proxy.port}/gateway"
    # The public gateway URL (hence READY.resume_gateway_url) also goes through the proxy, so the
    # driver controls when the RESUME connection gets through.
    server = Server(name, opts.log_dir, extra_env={"HEARTH_GATEWAY__PUBLIC_URL": proxy_ws}, port=port)
    bot = None
    try:
        server.start()
        ctx = setup(server)
        c.check("REST setup", True)
        deadline = time.monotonic() + TIMEOUT
        bot = BotProc(name, argv, bot_env(server, ctx, ws=proxy_ws, mode="resume"), opts.log_dir)
        bot.wait_for("starting", deadline)
        ready = bot.wait_for("ready", deadline)
        c.check("READY: guild listed", ctx["guild_id"] in ready.get("guild_ids", []), f"{ready.get('guild_ids')}")
        c.check("READY: text channel cached", ready.get("channel_found") is True, f"{ready}")
        c.check("proxy: gateway connection went through the proxy", proxy.accepted == 1, f"accepted={proxy.accepted}")
        # Warm-up: the stream is live.
        warm_id = post(ctx, "warmup")
        ev = bot.wait_for("message", deadline)
        c.check("warm-up MESSAGE_CREATE received live", ev.get("id") == warm_id, f"{ev}")
        # Phase 1: frames lost in flight.
        proxy.blackhole()
        expected = []
        for i in range(1, n_lost + 1):
            content = f"seq-{i:03d}"
            expected.append((post(ctx, content), content))
        # Let the server write them into the black-holed socket (wait until bytes stop arriving).
        settle_end = time.monotonic() + 5
        last = -1
        while time.monotonic() < settle_end:
            time.sleep(0.3)
            now = proxy.dropped()
            if now > 0 and now == last:
                break
            last = now
        # Phase 2: while the bot is disconnected (the proxy holds new connections until released).
        proxy.open.clear()
        dropped = proxy.cut()
        log(f"    proxy: cut the gateway connection; {dropped} bytes from the server were dropped")
        for i in range(n_lost + 1, n_lost + n_gap + 1):
            content = f"seq-{i:03d}"
            expected.append((post(ctx, content), content))
        time.sleep(1.0)
        proxy.open.set()
        got = []
        resumed = None
        want = len(expected)
        while len(got) < want or resumed is None:
            ev = bot.wait_for(("message", "resumed", "ready"), deadline)
            if ev["event"] == "message":
                got.append((ev["id"], ev["content"]))
            elif ev["event"] == "resumed":
                resumed = ev
            elif ev["event"] == "ready":
                c.check("no new IDENTIFY (READY again) after the drop", False,
                        "the library received a second READY: the session was not resumed (INVALID_SESSION?)")
                raise Failure(f"session not resumed; messages received so far: {[x[1] for x in got]}")
        c.check("on_resumed fired", resumed is not None, "")
        c.check("all missed MESSAGE_CREATEs delivered exactly once, in order", got == expected,
                f"expected {[x[1] for x in expected]}\n      got      {[x[1] for x in got]}")
        c.check("dropped frames were replayed (lost-in-flight case exercised)", dropped > 0,
                f"{dropped} bytes dropped: the server sent nothing during the black hole")
        log(f"    proxy: {proxy.accepted} connection(s) in total "
            f"({'RESUME went through READY.resume_gateway_url = proxy' if proxy.accepted >= 2 else 'RESUME bypassed the proxy'})")
        # Still live after the resume.
        live_id = post(ctx, "after-resume")
        ev = bot.wait_for("message", deadline)
        c.check("stream live after resume", ev.get("id") == live_id, f"{ev}")
        ready_count = sum(1 for e in bot.all_events if e["event"] == "ready")
        c.check("exactly one READY in the whole run", ready_count == 1, f"{ready_count} READY events")
    finally:
        if bot:
            bot.proc.terminate()
            bot.stop(grace=0)
        proxy.shutdown()
        server.stop()


def scenario_privileged(name, argv, opts, c):
    """Without the MESSAGE_CONTENT application flag, asking for the intent must close with 4014,
    which discord.py turns into PrivilegedIntentsRequired (instead of reconnecting forever)."""
    server = Server(name, opts.log_dir)
    bot = None
    try:
        server.start()
        ctx = setup(server, message_content=False)
        c.check("REST setup (no MESSAGE_CONTENT flag)", True)
        deadline = time.monotonic() + TIMEOUT
        bot = BotProc(name, argv, bot_env(server, ctx), opts.log_dir)
        ev = bot.wait_for(("fatal", "ready"), deadline, fatal=("__eof__",))
        c.check("no READY with an unapproved privileged intent", ev["event"] != "ready", "the bot got READY")
        if ev["event"] == "fatal":
            c.check("discord.py raises PrivilegedIntentsRequired (close code 4014)",
                    "PrivilegedIntentsRequired" in ev.get("error", ""), ev.get("error", ""))
    finally:
        if bot:
            bot.proc.terminate()
            bot.stop(grace=0)
        server.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenarios", default="A,B,C,D,E,F,G,H,I,J,K")
    ap.add_argument("--python", default=os.environ.get("CONFORMANCE_PYTHON") or
                    (os.path.join(HERE, ".venv", "bin", "python") if os.path.exists(os.path.join(HERE, ".venv", "bin", "python"))
                     else sys.executable))
    ap.add_argument("--node", default=os.environ.get("CONFORMANCE_NODE", "node"))
    ap.add_argument("--libs-python", default=os.path.join(HERE, ".venv-libs", "bin", "python"),
                    help="python with hikari, disnake and nextcord (scenario F; discord.py comes from --python)")
    ap.add_argument("--pycord-python", default=os.path.join(HERE, ".venv-pycord", "bin", "python"),
                    help="python with py-cord (scenario F; it cannot share discord.py's venv)")
    ap.add_argument("--red-python", default=os.path.join(HERE, ".venv-red", "bin", "python"),
                    help="python with Red-DiscordBot (scenario G)")
    ap.add_argument("--tag", default="", help="suffix for scenario names (e.g. -zstd)")
    ap.add_argument("--setup-only", action="store_true", help="only start hearth and run the REST setup")
    ap.add_argument("--log-dir", default=os.environ.get("CONFORMANCE_LOG_DIR") or os.path.join(HERE, "logs"))
    opts = ap.parse_args()
    os.makedirs(opts.log_dir, exist_ok=True)

    if opts.setup_only:
        server = Server("setup", opts.log_dir)
        try:
            server.start()
            ctx = setup(server)
            log(json.dumps({k: v for k, v in ctx.items() if k != "rest"}, indent=1))
            log("setup OK")
            return 0
        except Failure as e:
            log(f"setup FAILED: {e}")
            return 1
        finally:
            server.stop()

    py = [opts.python, os.path.join(HERE, "bot_py.py")]

    js = [opts.node, os.path.join(HERE, "bot_js.mjs")]
    table = {
        "A": ("A-discord.py-basic", lambda n, c: scenario_basic(n, py, opts, c)),
        "B": ("B-discord.js-basic", lambda n, c: scenario_basic(n, js, opts, c)),
        "C": ("C-discord.py-resume", lambda n, c: scenario_resume(n, py, opts, c)),
        "D": ("D-discord.js-resume", lambda n, c: scenario_resume(n, js, opts, c)),
        "E": ("E-discord.py-privileged-intent", lambda n, c: scenario_privileged(n, py, opts, c)),
        "F": ("F-seven-libraries", lambda n, c: libs.scenario_libs(n, libs.libraries(opts), opts, c)),
        "G": ("G-red-discordbot", lambda n, c: red.scenario_red(n, opts, c)),
        "H": ("H-discord.py-voice", lambda n, c: voice.scenario_voice(
            n, [opts.python, os.path.join(HERE, "bot_voice.py")], opts, c)),
        "I": ("I-discord.js-voice", lambda n, c: voice.scenario_voice(
            n, [opts.node, os.path.join(HERE, "bot_voice.mjs")], opts, c)),
        "J": ("J-discord.py-threads-timeouts", lambda n, c: threads.scenario_threads(
            n, [opts.python, os.path.join(HERE, "bot_threads.py")], opts, c)),
        "K": ("K-discord.js-threads-timeouts", lambda n, c: threads.scenario_threads(
            n, [opts.node, os.path.join(HERE, "bot_threads.mjs")], opts, c)),
    }
    passed = failed = 0
    for key in [s.strip().upper() for s in opts.scenarios.split(",") if s.strip()]:
        name, fn = table[key]
        name += opts.tag
        log(f"=== scenario {name}")
        c = Checks()
        t0 = time.monotonic()
        err = None
        try:
            fn(name, c)
        except Failure as e:
            err = str(e)
        except Exception:  # noqa: BLE001
            err = "driver error:\n" + traceback.format_exc()
        if err:
            c.check("scenario ran to completion", False, err)
        ok = not c.failed
        passed += ok
        failed += not ok
        log(f"=== {name}: {'PASS' if ok else 'FAIL'} ({len(c.items) - len(c.failed)}/{len(c.items)} checks, "
            f"{time.monotonic() - t0:.1f} s)")
        if not ok:
            for suffix in ("bot", "hearth"):
                p = os.path.join(opts.log_dir, f"{name}-{suffix}.log")
                if os.path.exists(p):
                    log(f"--- last lines of {p}:\n{tail(p, 60)}--- end of {os.path.basename(p)}")
    log(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    # libs.py (scenario F), red.py (G), voice.py (H, I) and threads.py (J, K) import this module as `run`: the same module object, not a copy.
    sys.modules.setdefault("run", sys.modules[__name__])
    import libs
    import red
    import threads
    import voice

    sys.exit(main())
