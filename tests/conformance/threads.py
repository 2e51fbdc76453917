"""Scenarios J (discord.py) and K (discord.js) of the conformance driver (run.py): threads and
timeouts.

An unmodified bot (bot_threads.py, bot_threads.mjs) starts a public thread from a message, posts
in it, starts a private thread and adds the member, posts in a forum with a tag, locks and
archives the public thread and lists the active and the archived threads, each time waiting on
the library's own event (THREAD_CREATE, THREAD_MEMBERS_UPDATE, THREAD_UPDATE) and reporting what
the library's objects and cache say. Then it times the member out (GUILD_MEMBER_UPDATE:
`is_timed_out()` / `isCommunicationDisabled()`), the driver checks over REST that the member's
message is refused (403 50013) and says `untimeout` as the human; the bot ends the timeout, the
member can send again, and the bot reads both changes from the audit log through the library.
Every effect is also checked over REST as the human (or the member).
"""
import json
import time

import run
from run import Failure, Server, BotProc, bot_env, setup

VIEW_AUDIT_LOG = 1 << 7
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
CREATE_PRIVATE_THREADS = 1 << 36
SEND_MESSAGES_IN_THREADS = 1 << 38
THREAD_PERMISSIONS = (run.BOT_PERMISSIONS | VIEW_AUDIT_LOG | MANAGE_THREADS | CREATE_PUBLIC_THREADS
                      | CREATE_PRIVATE_THREADS | SEND_MESSAGES_IN_THREADS)
GUILD_MEMBERS_FLAG = 1 << 15  # GATEWAY_GUILD_MEMBERS_LIMITED


def _thread_ok(info, want):
    """`info` (the library's view of a thread) has every field of `want`."""
    return isinstance(info, dict) and all(info.get(k) == v for k, v in want.items())


def _gateway_ok(ev, want):
    """The THREAD_CREATE payload itself, where the bot reports it (discord.js: its raw event;
    discord.py dispatches `on_thread_create` only for `newly_created`)."""
    g = ev.get("gateway")
    return g is None or (g.get("newly_created") is True and all(g.get(k) == want[k] for k in ("id", "parent_id", "type")))


def scenario_threads(name, argv, opts, c):
    server = Server(name, opts.log_dir)
    bot = None
    try:
        server.start()
        ctx = setup(server, permissions=THREAD_PERMISSIONS)
        rest, g, human, member = ctx["rest"], ctx["guild_id"], ctx["human"], ctx["member"]
        ch, bot_id, member_id = ctx["channel_id"], ctx["bot_id"], ctx["member_id"]
        rest.call("PATCH", f"/applications/{ctx['app_id']}",
                  {"flags": run.MESSAGE_CONTENT_FLAG | GUILD_MEMBERS_FLAG}, token=human, expect=200)
        _, forum = rest.call("POST", f"/guilds/{g}/channels",
                             {"name": "ideas", "type": 15,
                              "available_tags": [{"name": "bug"}, {"name": "idea", "emoji_name": "\N{ELECTRIC LIGHT BULB}"}]},
                             token=human, expect=(200, 201))
        tags = {t["name"]: t["id"] for t in forum.get("available_tags", [])}
        if "idea" not in tags:
            raise Failure(f"the forum has no tag `idea`: {forum!r}")
        c.check("REST setup (GUILD_MEMBERS flag, a forum with two tags)", True)
        deadline = time.monotonic() + run.TIMEOUT
        env = bot_env(server, ctx)
        env.update({"FORUM_ID": forum["id"], "TAG_ID": tags["idea"]})
        bot = BotProc(name, argv, env, opts.log_dir)
        bot.wait_for("ready", deadline)

        # ---- threads ----
        ev = bot.wait_for("public_thread", deadline)
        pub = (ev.get("returned") or {}).get("id")
        want = {"id": pub, "name": "conf-public", "parent_id": ch, "owner_id": bot_id, "type": 11,
                "archived": False, "locked": False, "parent_cached": ch}
        c.check("bot: message.create_thread / startThread returns the public thread (id = the message's)",
                _thread_ok(ev.get("returned"), want) and pub == ev.get("starter_id"), json.dumps(ev))
        c.check("bot: THREAD_CREATE reached the library's thread-create event with the parent",
                _thread_ok(ev.get("seen"), want) and _gateway_ok(ev, want), json.dumps(ev))
        c.check("bot: the thread is in the library's cache (name, parent, owner, not archived)",
                _thread_ok(ev.get("cached"), want), json.dumps(ev))
        _, t = rest.call("GET", f"/channels/{pub}", token=human, expect=200)
        c.check("REST: the public thread (type 11, parent, owner)",
                t.get("type") == 11 and t.get("parent_id") == ch and t.get("owner_id") == bot_id, json.dumps(t))
        ev = bot.wait_for("thread_message", deadline)
        _, msgs = rest.call("GET", f"/channels/{pub}/messages", token=human, expect=200)
        c.check("REST: the bot's message is in the thread",
                ev.get("channel_id") == pub and any(m["id"] == ev.get("id") and m["content"] == "hello in the thread"
                                                    for m in msgs), f"{ev} {msgs!r}"[:2000])

        ev = bot.wait_for("private_thread", deadline)
        priv = (ev.get("returned") or {}).get("id")
        want = {"id": priv, "name": "conf-private", "parent_id": ch, "owner_id": bot_id, "type": 12,
                "archived": False, "locked": False}
        c.check("bot: the private thread, its THREAD_CREATE and cache",
                _thread_ok(ev.get("returned"), want) and _thread_ok(ev.get("seen"), want)
                and _gateway_ok(ev, want) and _thread_ok(ev.get("cached"), want), json.dumps(ev))
        ev = bot.wait_for("member_added", deadline)
        c.check("bot: THREAD_MEMBERS_UPDATE reached the library (the member added)",
                ev.get("thread_id") == priv and ev.get("user_id") == member_id, json.dumps(ev))
        gw = ev.get("gateway")
        c.check("bot: the added thread member carries its guild member and presence (as Discord sends them)",
                gw is None or (gw.get("member_user_id") == member_id and gw.get("has_presence") is True
                               and ev.get("guild_member") == member_id), json.dumps(ev))
        c.check("bot: the thread's members (cache and fetch) list the member",
                member_id in ev.get("cached_members", []) and member_id in ev.get("fetched_members", [])
                and bot_id in ev.get("fetched_members", []), json.dumps(ev))
        st, t = rest.call("GET", f"/channels/{priv}", token=member)
        c.check("REST: the member now sees the private thread", st == 200 and t.get("type") == 12, f"HTTP {st} {t!r}")
        _, tm = rest.call("GET", f"/channels/{priv}/thread-members", token=human, expect=200)
        c.check("REST: thread members are the bot and the member",
                sorted(m["user_id"] for m in tm) == sorted([bot_id, member_id]), json.dumps(tm))

        ev = bot.wait_for("forum_post", deadline)
        post = (ev.get("returned") or {}).get("id")
        want = {"id": post, "name": "conf-post", "parent_id": forum["id"], "owner_id": bot_id, "type": 11,
                "applied_tags": [tags["idea"]]}
        c.check("bot: the forum post with its tag (returned, THREAD_CREATE, cache)",
                ev.get("forum_type") == 15 and ev.get("tag_name") == "idea" and _thread_ok(ev.get("returned"), want)
                and _thread_ok(ev.get("seen"), want) and _gateway_ok(ev, want) and _thread_ok(ev.get("cached"), want),
                json.dumps(ev))
        c.check("bot: the post's first message (id = the thread's, content)",
                ev.get("message_id") == post and ev.get("message_content") == "forum post body", json.dumps(ev))
        _, t = rest.call("GET", f"/channels/{post}", token=human, expect=200)
        _, m = rest.call("GET", f"/channels/{post}/messages/{post}", token=human, expect=200)
        c.check("REST: the post (parent forum, applied tag, first message)",
                t.get("parent_id") == forum["id"] and t.get("applied_tags") == [tags["idea"]]
                and m.get("content") == "forum post body", f"{t!r} {m!r}"[:2000])

        ev = bot.wait_for("archived", deadline)
        want = {"id": pub, "archived": True, "locked": True, "parent_id": ch, "name": "conf-public"}
        c.check("bot: the thread edit returns it archived and locked", _thread_ok(ev.get("returned"), want),
                json.dumps(ev))
        c.check("bot: THREAD_UPDATE reached the library (archived, locked)", _thread_ok(ev.get("seen"), want),
                json.dumps(ev))
        _, t = rest.call("GET", f"/channels/{pub}", token=human, expect=200)
        meta = t.get("thread_metadata") or {}
        c.check("REST: the thread is archived and locked", meta.get("archived") is True and meta.get("locked") is True,
                json.dumps(t))
        ev = bot.wait_for("lists", deadline)
        active = {x["id"]: x for x in ev.get("active", [])}
        archived = {x["id"]: x for x in ev.get("archived", [])}
        c.check("bot: active threads (library) are the private thread and the forum post",
                set(active) == {priv, post} and active[priv].get("type") == 12
                and active[post].get("parent_id") == forum["id"], json.dumps(ev))
        c.check("bot: archived public threads (library) are the locked one",
                set(archived) == {pub} and _thread_ok(archived[pub], {"archived": True, "locked": True,
                                                                      "owner_id": bot_id, "parent_id": ch}),
                json.dumps(ev))

        # ---- timeouts ----
        ev = bot.wait_for("timed_out", deadline)
        c.check("bot: GUILD_MEMBER_UPDATE reached the library with the timeout (is_timed_out)",
                ev.get("is_timed_out") is True and ev.get("cached") is True and ev.get("until"), json.dumps(ev))
        _, mm = rest.call("GET", f"/guilds/{g}/members/{member_id}", token=human, expect=200)
        c.check("REST: the member has communication_disabled_until", bool(mm.get("communication_disabled_until")),
                json.dumps(mm))
        st, body = rest.call("POST", f"/channels/{ch}/messages", {"content": "can I talk?"}, token=member)
        c.check("REST: the timed-out member's message is refused (403 50013)",
                st == 403 and isinstance(body, dict) and body.get("code") == 50013, f"HTTP {st} {body!r}")
        st, body = rest.call("POST", f"/channels/{priv}/messages", {"content": "in the thread?"}, token=member)
        c.check("REST: ... in the private thread too (403 50013)",
                st == 403 and isinstance(body, dict) and body.get("code") == 50013, f"HTTP {st} {body!r}")
        rest.call("POST", f"/channels/{ch}/messages", {"content": "untimeout"}, token=human, expect=(200, 201))
        ev = bot.wait_for("timeout_removed", deadline)
        c.check("bot: GUILD_MEMBER_UPDATE reached the library with the timeout ended",
                ev.get("is_timed_out") is False and ev.get("until") is None, json.dumps(ev))
        st, body = rest.call("POST", f"/channels/{ch}/messages", {"content": "free again"}, token=member)
        c.check("REST: the member can send again", st in (200, 201), f"HTTP {st} {body!r}")
        ev = bot.wait_for("audit", deadline)
        mine = [e for e in ev.get("entries", []) if e.get("target_id") == member_id and e.get("after") != "absent"]
        c.check("bot: the audit log (library) has both timeout changes (type 24, the bot's, the reason)",
                len(mine) == 2 and all(e.get("action") == 24 and e.get("user_id") == bot_id
                                       and e.get("reason") == "conformance" for e in mine)
                and mine[0].get("after") is None and mine[1].get("after") is not None
                and mine[0].get("before") is not None,
                json.dumps(ev))
        done = bot.wait_for("done", deadline)
        c.check("bot finished without errors", not done.get("errors"), json.dumps(done))
    finally:
        if bot:
            bot.stop()
        server.stop()
