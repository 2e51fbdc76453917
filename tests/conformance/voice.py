"""Scenarios H (discord.py) and I (discord.js) of the conformance driver (run.py): voice states.

The human (the guild's owner) joins a voice channel over the gateway (op 4, as Discord's client
does; the driver holds that connection) while an unmodified bot (bot_voice.py, bot_voice.mjs)
watches. The bot must see the join through VOICE_STATE_UPDATE and its member cache
(`guild.get_member(human).voice` / `guild.members.cache.get(human).voice`), then, through the
library's own calls, move the human to a second voice channel, server-mute them and disconnect
them; it reports what its cache said at each step. The driver checks the human's own gateway
saw each change and that the voice state is gone over REST at the end.
"""
import asyncio
import json
import queue
import threading
import time

import aiohttp

import run
from run import Failure, Server, BotProc, bot_env, setup

MOVE_MEMBERS = 1 << 24
MUTE_MEMBERS = 1 << 22
VOICE_PERMISSIONS = run.BOT_PERMISSIONS | MOVE_MEMBERS | MUTE_MEMBERS


class HumanGateway:
    """The human's gateway session: IDENTIFY, heartbeats, op 4; dispatches go to a queue."""

    def __init__(self, url, token):
        self.url = url + "?v=10&encoding=json"
        self.token = token
        self.events = queue.Queue()
        self.session_id = None
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.ws = None
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._run(), self.loop)
        if not self.ready.wait(15):
            raise Failure("the human's gateway session got no READY within 15 s")

    async def _run(self):
        async with aiohttp.ClientSession() as http:
            async with http.ws_connect(self.url) as ws:
                self.ws = ws
                hello = await ws.receive_json()
                interval = hello["d"]["heartbeat_interval"] / 1000
                await ws.send_json({"op": 2, "d": {"token": self.token, "intents": (1 << 0) | (1 << 7),
                                                   "properties": {"os": "linux", "browser": "conformance",
                                                                  "device": "conformance"}}})
                beat = asyncio.ensure_future(self._beat(ws, interval))
                try:
                    async for msg in ws:
                        if msg.type != aiohttp.WSMsgType.TEXT:
                            continue
                        v = json.loads(msg.data)
                        if v.get("op") != 0:
                            continue
                        if v["t"] == "READY":
                            self.session_id = v["d"]["session_id"]
                            self.ready.set()
                        self.events.put((v["t"], v["d"]))
                finally:
                    beat.cancel()

    @staticmethod
    async def _beat(ws, interval):
        while True:
            await asyncio.sleep(interval)
            await ws.send_json({"op": 1, "d": None})

    def voice(self, guild_id, channel_id):
        payload = {"op": 4, "d": {"guild_id": guild_id, "channel_id": channel_id,
                                  "self_mute": False, "self_deaf": False}}
        asyncio.run_coroutine_threadsafe(self.ws.send_json(payload), self.loop).result(5)

    def wait_for(self, name, pred, deadline):
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure(f"the human's session did not get {name} as expected")
            try:
                t, d = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if t == name and pred(d):
                return d

    def close(self):
        if self.ws is not None:
            asyncio.run_coroutine_threadsafe(self.ws.close(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)


def scenario_voice(name, argv, opts, c):
    server = Server(name, opts.log_dir)
    bot = None
    human_gw = None
    try:
        server.start()
        ctx = setup(server, message_content=False, permissions=VOICE_PERMISSIONS)
        rest, g, human = ctx["rest"], ctx["guild_id"], ctx["human"]
        _, va = rest.call("POST", f"/guilds/{g}/channels", {"name": "lounge", "type": 2}, token=human,
                          expect=(200, 201))
        _, vb = rest.call("POST", f"/guilds/{g}/channels", {"name": "quiet", "type": 2}, token=human,
                          expect=(200, 201))
        c.check("REST setup (two voice channels)", True)
        deadline = time.monotonic() + run.TIMEOUT
        env = bot_env(server, ctx)
        env.update({"VOICE_A": va["id"], "VOICE_B": vb["id"]})
        bot = BotProc(name, argv, env, opts.log_dir)
        bot.wait_for("ready", deadline)
        human_gw = HumanGateway(server.ws, human)
        human_gw.voice(g, va["id"])
        server_update = human_gw.wait_for("VOICE_SERVER_UPDATE", lambda d: True, deadline)
        c.check("human: VOICE_SERVER_UPDATE with endpoint null", server_update.get("endpoint") is None,
                json.dumps(server_update))
        joined = bot.wait_for("joined_seen", deadline)
        c.check("bot: VOICE_STATE_UPDATE for the human's join", joined.get("after") == va["id"], json.dumps(joined))
        c.check("bot: the member cache has the human in the channel (get_member(...).voice)",
                joined.get("cached_channel") == va["id"], json.dumps(joined))
        c.check("bot: the state's session id is the human's", joined.get("session_id") in (None, human_gw.session_id),
                json.dumps(joined))
        moved = bot.wait_for("moved_seen", deadline)
        c.check("bot: moved the human through the library", moved.get("after") == vb["id"], json.dumps(moved))
        d = human_gw.wait_for("VOICE_STATE_UPDATE", lambda d: d.get("channel_id") == vb["id"], deadline)
        c.check("human: sees the move", d.get("user_id") == ctx["human_id"], json.dumps(d))
        muted = bot.wait_for("muted_seen", deadline)
        c.check("bot: server-muted the human (voice.mute)", muted.get("mute") is True, json.dumps(muted))
        gone = bot.wait_for("disconnected_seen", deadline)
        c.check("bot: disconnected the human (voice is None)", gone.get("cached_voice") is None, json.dumps(gone))
        human_gw.wait_for("VOICE_STATE_UPDATE", lambda d: d.get("channel_id") is None, deadline)
        status, body = rest.call("GET", f"/guilds/{g}/voice-states/@me", token=human)
        c.check("REST: no voice state left (404 10065)",
                status == 404 and isinstance(body, dict) and body.get("code") == 10065, f"{status} {body!r}")
        done = bot.wait_for("done", deadline)
        c.check("bot finished without errors", not done.get("errors"), json.dumps(done))
    finally:
        if human_gw:
            human_gw.close()
        if bot:
            bot.proc.terminate()
            bot.stop(grace=0)
        server.stop()
