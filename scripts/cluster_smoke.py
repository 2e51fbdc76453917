#!/usr/bin/env python3
"""Three local Hearth nodes behind the Caddyfile of docker-compose.cluster.yml.

Runs what the compose file describes without a Docker engine: three `hearth` processes on one
new PostgreSQL database and one Redis key prefix, and `caddy` with the compose file's
Caddyfile (its upstream names replaced by the local ports). Then, through the proxy only:

1. `/ready` answers 200; two users register, one creates a guild, the other joins;
2. the member's gateway session (through the proxy) receives every one of 30 messages sent
   through the proxy, in order, and the three nodes' `/metrics` show that each node served
   some of the requests;
3. the node holding the session is stopped with SIGTERM (a drain): messages are sent through
   the proxy all along until the client gets op 7 RECONNECT (the drain delay) and after it,
   none is refused; the client RESUMEs through the proxy on a surviving node at once (the
   draining node hands the session over through Redis, spec/cluster.md §9) and gets RESUMED
   and every message it had not received, once and in order, then the following ones live.

Needs: the `hearth` binary (HEARTH_BIN, default target/debug/hearth), `caddy`, PostgreSQL at
127.0.0.1:5432 (user postgres, trust) with `psql`, Redis at 127.0.0.1:6379 with `redis-cli`,
and the Python package `websockets`. Exit status 0 when every check holds.
"""

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import websockets

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEARTH = os.environ.get("HEARTH_BIN", os.path.join(ROOT, "target", "debug", "hearth"))
SUFFIX = f"{os.getpid()}_{int(time.time())}"
DATABASE = f"hearth_cluster_smoke_{SUFFIX}"
PREFIX = f"hearth-smoke-{SUFFIX}:"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def caddyfile(proxy_port, node_ports):
    """The compose file's Caddyfile, pointed at the local nodes."""
    text = open(os.path.join(ROOT, "docker-compose.cluster.yml")).read()
    block = text.split("    content: |\n", 1)[1].split("\nnetworks:", 1)[0]
    lines = [l[6:] if l.startswith("      ") else l.strip() for l in block.splitlines()]
    conf = "\n".join(lines)
    for i, port in enumerate(node_ports, start=1):
        conf = conf.replace(f"hearth-{i}:8080", f"127.0.0.1:{port}")
    assert "hearth-" not in conf, conf
    return conf.replace(":8080 {", f":{proxy_port} {{", 1)


def http(base, method, path, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def wait_for(what, check, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"timed out: {what}")


def metric(port, name):
    """Sum of a metric's samples on a node's metrics listener."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name):
            total += float(line.rsplit(" ", 1)[1])
    return total


class Gateway:
    def __init__(self, url, token):
        self.url, self.token, self.seq, self.session_id = url, token, None, None

    async def connect(self):
        self.ws = await websockets.connect(self.url + "?v=10&encoding=json", max_size=None)
        hello = json.loads(await self.ws.recv())
        assert hello["op"] == 10, hello
        await self.ws.send(json.dumps({"op": 2, "d": {"token": self.token, "intents": 1 | 512 | 32768,
                                                      "properties": {"os": "linux", "browser": "smoke", "device": "smoke"}}}))
        ready = await self.until(lambda v: v.get("t") == "READY")
        self.session_id = ready["d"]["session_id"]

    async def resume(self):
        """RESUMEs the session on a new connection; returns the messages replayed before RESUMED."""
        self.ws = await websockets.connect(self.url + "?v=10&encoding=json", max_size=None)
        hello = json.loads(await self.ws.recv())
        assert hello["op"] == 10, hello
        last = self.seq
        await self.ws.send(json.dumps({"op": 6, "d": {"token": self.token, "session_id": self.session_id, "seq": last}}))
        replayed = []
        while True:
            v = await self.next()
            assert v.get("op") != 9, "INVALID_SESSION: the session did not move"
            if v.get("op") != 0:
                continue
            last += 1
            assert v["s"] == last, f"seq {v['s']} after {last - 1}: a gap"
            if v.get("t") == "RESUMED":
                return replayed
            if v.get("t") == "MESSAGE_CREATE":
                replayed.append(v["d"]["content"])

    async def next(self):
        v = json.loads(await asyncio.wait_for(self.ws.recv(), 15))
        if v.get("s") is not None:
            self.seq = v["s"]
        return v

    async def until(self, pred):
        while True:
            v = await self.next()
            if pred(v):
                return v

    async def messages(self, n):
        got = []
        while len(got) < n:
            v = await self.next()
            if v.get("op") == 7:
                return got, True
            if v.get("t") == "MESSAGE_CREATE":
                got.append(v["d"]["content"])
        return got, False


async def main():
    procs = []
    tmp = tempfile.mkdtemp(prefix="hearth_cluster_smoke_")
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {DATABASE}"], check=True)
    try:
        ports = [free_port() for _ in range(3)]
        metrics = [free_port() for _ in range(3)]
        proxy = free_port()
        base_url = f"http://127.0.0.1:{proxy}"
        for i, (port, mport) in enumerate(zip(ports, metrics), start=1):
            env = dict(os.environ,
                       HEARTH_LISTEN=f"127.0.0.1:{port}",
                       HEARTH_DATA_DIR=os.path.join(tmp, f"node{i}"),
                       HEARTH_DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
                       HEARTH_SERVER_NAME="localhost",
                       HEARTH_NODE__ID=f"hearth-{i}",
                       HEARTH_CLUSTER__REDIS_URL="redis://127.0.0.1:6379/0",
                       HEARTH_CLUSTER__REDIS_KEY_PREFIX=PREFIX,
                       HEARTH_TRUSTED_PROXIES='["127.0.0.1"]',
                       HEARTH_REGISTRATION="open",
                       HEARTH_FEDERATION__ENABLED="false",
                       HEARTH_METRICS__LISTEN=f"127.0.0.1:{mport}",
                       HEARTH_MEDIA__PUBLIC_URL=base_url,
                       HEARTH_GATEWAY__PUBLIC_URL=f"ws://127.0.0.1:{proxy}/gateway",
                       HEARTH_LOG="warn",
                       # Cheap password hashing: a debug build's argon2 defaults are slow.
                       HEARTH_PASSWORD_HASHING__MEMORY_KIB="8",
                       HEARTH_PASSWORD_HASHING__ITERATIONS="1",
                       # One sender posts 40 messages in a few seconds (the bucket is one
                       # across the nodes: tests/it/cluster.rs checks that).
                       HEARTH_RATE_LIMITS__MESSAGE_CREATE__LIMIT="1000",
                       # As in the compose file: the proxy takes a draining node out first.
                       HEARTH_NODE__DRAIN_DELAY_MS="5000")
            procs.append(subprocess.Popen([HEARTH], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL))
            # One at a time: the first node runs the migrations.
            wait_for(f"node {i} /ready", lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2).status == 200)
        conf = os.path.join(tmp, "Caddyfile")
        open(conf, "w").write(caddyfile(proxy, ports))
        caddy = subprocess.Popen(["caddy", "run", "--config", conf, "--adapter", "caddyfile"],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(caddy)
        wait_for("the proxy's /ready", lambda: urllib.request.urlopen(base_url + "/ready", timeout=2).status == 200)
        api = base_url + "/api/v10"

        # 1. Accounts and a guild, through the proxy.
        tokens = {}
        for name in ("alice", "bob"):
            st, b = http(api, "POST", "/auth/register", {"username": name, "password": f"{name}-pass-123"})
            assert st == 201, (st, b)
            tokens[name] = b["token"]
        st, g = http(api, "POST", "/guilds", {"name": "Smoke"}, tokens["alice"])
        assert st in (200, 201), (st, g)
        st, chans = http(api, "GET", f"/guilds/{g['id']}/channels", token=tokens["alice"])
        general = next(c["id"] for c in chans if c["type"] == 0)
        st, inv = http(api, "POST", f"/channels/{general}/invites", {}, tokens["alice"])
        assert st in (200, 201), (st, inv)
        st, b = http(api, "POST", f"/invites/{inv['code']}", {}, tokens["bob"])
        assert st == 200, (st, b)

        # 2. Bob's session through the proxy gets 30 messages sent through it, in order.
        before = [metric(m, "hearth_http_requests_total") for m in metrics]
        bob = Gateway(f"ws://127.0.0.1:{proxy}/gateway", tokens["bob"])
        await bob.connect()
        sent = [f"m{i}" for i in range(30)]
        for c in sent:
            st, b = http(api, "POST", f"/channels/{general}/messages", {"content": c}, tokens["alice"])
            assert st == 200, (st, b)
        got, _ = await bob.messages(30)
        assert got == sent, got
        served = [metric(m, "hearth_http_requests_total") - b for m, b in zip(metrics, before)]
        assert all(s > 0 for s in served), f"requests per node: {served}"
        print(f"ok: 30 messages through the proxy reached one session; requests per node {served}")

        # 3. Drain the node holding bob's session.
        holder = next(i for i, m in enumerate(metrics) if metric(m, 'hearth_gateway_sessions{state="connected"}') >= 1)
        procs[holder].send_signal(signal.SIGTERM)
        failures = []
        sent = []
        received = []

        async def until_reconnect():
            while True:
                v = await bob.next()
                if v.get("op") == 7:
                    return
                if v.get("t") == "MESSAGE_CREATE":
                    received.append(v["d"]["content"])

        def send(c):
            st, b = http(api, "POST", f"/channels/{general}/messages", {"content": c}, tokens["alice"])
            if st == 200:
                sent.append(c)
            else:
                failures.append((st, b))

        # Sends all through the drain delay, until op 7 arrives; the session then closes
        # (not with 1000: it stays resumable).
        reconnect = asyncio.ensure_future(until_reconnect())
        during = 0
        while not reconnect.done():
            await asyncio.to_thread(send, f"during {during}")
            during += 1
            await asyncio.sleep(0.05)
        await reconnect
        for i in range(5):
            send(f"d{i}")
        replayed = await bob.resume()
        for i in range(5, 10):
            send(f"d{i}")
        live, _ = await bob.messages(len(sent) - len(received) - len(replayed))
        assert not failures, failures
        assert received + replayed + live == sent, (received, replayed, live, sent)
        procs[holder].wait(timeout=30)
        assert procs[holder].returncode == 0, procs[holder].returncode
        assert during >= 10, f"only {during} messages sent during the drain delay"
        print(f"ok: node {holder + 1} drained (exit 0); {during} messages sent through the proxy during its drain delay, "
              f"op 7, RESUME on another node replayed {len(replayed)} missed messages, no gap, no duplicate, no failed request")
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"])
        keys = subprocess.run(["redis-cli", "--scan", "--pattern", PREFIX + "*"], capture_output=True, text=True).stdout.split()
        if keys:
            subprocess.run(["redis-cli", "DEL", *keys], capture_output=True)


if __name__ == "__main__":
    asyncio.run(main())
    print("cluster smoke: all checks passed")
