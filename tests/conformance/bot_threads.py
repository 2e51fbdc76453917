#!/usr/bin/env python3
"""An unmodified discord.py 2.x bot using threads and timeouts on Hearth (scenario J, threads.py).

Only the two URL settings differ from a bot written for Discord. Once ready it, through the
library's public API and waiting on the library's own events:
  - starts a public thread from a message (`Message.create_thread`; `on_thread_create`) and
    sends a message in it (`Thread.send`);
  - starts a private thread (`TextChannel.create_thread(type=private_thread)`) and adds the
    member to it (`Thread.add_user`; `on_thread_member_join`, i.e. THREAD_MEMBERS_UPDATE);
  - posts in the forum FORUM_ID with the tag TAG_ID (`ForumChannel.create_thread(content=...,
    applied_tags=[...])`);
  - archives and locks the public thread (`Thread.edit(archived=True, locked=True)`;
    `on_thread_update`), lists the active threads (`Guild.active_threads`) and the public
    archived ones (`TextChannel.archived_threads`);
  - times the member out (`Member.timeout(timedelta)`; `on_member_update`, `is_timed_out()`),
    waits for the human's message `untimeout` (the driver meanwhile checks the member cannot
    send), ends the timeout (`Member.timeout(None)`) and reads both changes back from
    `Guild.audit_logs(action=member_update)`.
Every step is reported with `EVENT {json}` lines on stdout.

Environment: HEARTH_HTTP, HEARTH_WS, BOT_TOKEN, GUILD_ID, CHANNEL_ID, MEMBER_ID, HUMAN_ID,
FORUM_ID, TAG_ID, STEP_TIMEOUT.
"""
import asyncio
import datetime
import json
import logging
import os
import sys
import time
import traceback

import discord
import yarl

HTTP = os.environ["HEARTH_HTTP"]
WS = os.environ["HEARTH_WS"]
TOKEN = os.environ["BOT_TOKEN"]
GUILD_ID = int(os.environ["GUILD_ID"])
CHANNEL_ID = int(os.environ["CHANNEL_ID"])
MEMBER_ID = int(os.environ["MEMBER_ID"])
HUMAN_ID = int(os.environ["HUMAN_ID"])
FORUM_ID = int(os.environ["FORUM_ID"])
TAG_ID = int(os.environ["TAG_ID"])
STEP_TIMEOUT = float(os.environ.get("STEP_TIMEOUT", "15"))

# ---- the two settings that point discord.py at Hearth -------------------------------------
discord.http.Route.BASE = f"{HTTP}/api/v10"
discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(WS)
# --------------------------------------------------------------------------------------------


def emit(event, **data):
    data["event"] = event
    data["t"] = round(time.time(), 3)
    sys.stdout.write("EVENT " + json.dumps(data, default=str) + "\n")
    sys.stdout.flush()


intents = discord.Intents.default()
intents.members = True  # GUILD_MEMBER_UPDATE (the timeout) and THREAD_MEMBERS_UPDATE of others
intents.message_content = True  # the human's `untimeout`
client = discord.Client(intents=intents)
errors = []


async def step(name, aw):
    try:
        return await asyncio.wait_for(aw, timeout=STEP_TIMEOUT)
    except Exception as e:  # noqa: BLE001
        errors.append(f"{name}: {type(e).__name__}: {e}")
        emit("step_failed", step=name, error=f"{type(e).__name__}: {e}", traceback=traceback.format_exc())
        raise


def sid(x):
    return str(x.id) if x is not None else None


def thread_info(t):
    """What the library's Thread object says."""
    if t is None:
        return None
    return {"id": str(t.id), "name": t.name, "parent_id": str(t.parent_id), "owner_id": str(t.owner_id),
            "type": t.type.value, "archived": t.archived, "locked": t.locked,
            "parent_cached": sid(t.parent), "applied_tags": [str(x.id) for x in t.applied_tags]}


def cached(thread_id):
    return thread_info(client.get_guild(GUILD_ID).get_thread(thread_id))


async def threads(guild, channel):
    # A public thread from a message.
    starter = await step("channel.send", channel.send("thread starter"))
    created = client.wait_for("thread_create", check=lambda t: t.name == "conf-public")
    public = await step("message.create_thread", starter.create_thread(name="conf-public",
                                                                       auto_archive_duration=1440))
    event = await step("on_thread_create (public)", created)
    emit("public_thread", starter_id=str(starter.id), returned=thread_info(public), seen=thread_info(event),
         cached=cached(public.id))
    sent = await step("thread.send", public.send("hello in the thread"))
    emit("thread_message", id=str(sent.id), channel_id=str(sent.channel.id), content=sent.content)

    # A private thread, and the member added to it.
    created = client.wait_for("thread_create", check=lambda t: t.name == "conf-private")
    private = await step("channel.create_thread(private)", channel.create_thread(
        name="conf-private", type=discord.ChannelType.private_thread))
    event = await step("on_thread_create (private)", created)
    emit("private_thread", returned=thread_info(private), seen=thread_info(event), cached=cached(private.id))
    joined = client.wait_for("thread_member_join",
                             check=lambda m: m.thread_id == private.id and m.id == MEMBER_ID)
    await step("thread.add_user", private.add_user(discord.Object(MEMBER_ID)))
    tm = await step("on_thread_member_join", joined)
    members = await step("thread.fetch_members", private.fetch_members())
    emit("member_added", thread_id=str(tm.thread_id), user_id=str(tm.id),
         cached_members=[str(m.id) for m in client.get_guild(GUILD_ID).get_thread(private.id).members],
         fetched_members=[str(m.id) for m in members])

    # A forum post with a tag.
    forum = guild.get_channel(FORUM_ID)
    tag = forum.get_tag(TAG_ID) if forum is not None else None
    created = client.wait_for("thread_create", check=lambda t: t.name == "conf-post")
    post = await step("forum.create_thread", forum.create_thread(name="conf-post", content="forum post body",
                                                                 applied_tags=[tag]))
    event = await step("on_thread_create (forum)", created)
    emit("forum_post", forum_type=forum.type.value, tag_name=tag.name if tag else None,
         returned=thread_info(post.thread), seen=thread_info(event), cached=cached(post.thread.id),
         message_id=str(post.message.id), message_content=post.message.content)

    # Archive and lock the public thread.
    before_edit = cached(public.id)
    updated = client.wait_for("thread_update", check=lambda b, a: a.id == public.id and a.archived and a.locked)
    edited = await step("thread.edit(archived, locked)", public.edit(archived=True, locked=True))
    _, after = await step("on_thread_update", updated)
    emit("archived", before=before_edit, returned=thread_info(edited), seen=thread_info(after))

    active = await step("guild.active_threads", guild.active_threads())
    archived = await step("channel.archived_threads",
                          _collect(channel.archived_threads(limit=50)))
    emit("lists", active=[thread_info(t) for t in active], archived=[thread_info(t) for t in archived])


async def _collect(it):
    return [x async for x in it]


async def timeouts(guild, channel):
    member = guild.get_member(MEMBER_ID) or await step("fetch_member", guild.fetch_member(MEMBER_ID))
    updated = client.wait_for("member_update", check=lambda b, a: a.id == MEMBER_ID and a.is_timed_out())
    await step("member.timeout(timedelta)", member.timeout(datetime.timedelta(minutes=5), reason="conformance"))
    _, after = await step("on_member_update (timed out)", updated)
    go = client.wait_for("message", check=lambda m: m.author.id == HUMAN_ID and m.content == "untimeout")
    emit("timed_out", is_timed_out=after.is_timed_out(),
         until=after.timed_out_until.isoformat() if after.timed_out_until else None,
         cached=guild.get_member(MEMBER_ID).is_timed_out())
    await step("the human's `untimeout`", go)
    updated = client.wait_for("member_update",
                              check=lambda b, a: a.id == MEMBER_ID and b.is_timed_out() and not a.is_timed_out())
    await step("member.timeout(None)", member.timeout(None, reason="conformance"))
    _, after = await step("on_member_update (free)", updated)
    emit("timeout_removed", is_timed_out=after.is_timed_out(), until=after.timed_out_until)
    entries = await step("guild.audit_logs", _collect(guild.audit_logs(
        limit=20, action=discord.AuditLogAction.member_update)))
    emit("audit", entries=[{
        "id": str(e.id), "action": e.action.value, "user_id": sid(e.user), "target_id": sid(e.target),
        "reason": e.reason,
        "before": getattr(e.changes.before, "timed_out_until", "absent"),
        "after": getattr(e.changes.after, "timed_out_until", "absent"),
    } for e in entries])


@client.event
async def on_ready():
    emit("ready", guild_ids=[str(g.id) for g in client.guilds])
    guild = client.get_guild(GUILD_ID)
    channel = guild.get_channel(CHANNEL_ID)
    try:
        await threads(guild, channel)
        await timeouts(guild, channel)
    except Exception as e:  # noqa: BLE001
        if not errors:
            emit("flow_failed", error=f"{type(e).__name__}: {e}", traceback=traceback.format_exc())
    emit("done", errors=errors)
    await client.close()


logging.basicConfig(level=logging.DEBUG, stream=sys.stderr,
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
logging.getLogger("asyncio").setLevel(logging.INFO)
try:
    client.run(TOKEN, log_handler=None)
except Exception as e:  # noqa: BLE001
    emit("fatal", error=f"{type(e).__name__}: {e}", traceback=traceback.format_exc())
    sys.exit(1)
