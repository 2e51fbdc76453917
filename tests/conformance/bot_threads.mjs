// An unmodified discord.js v14 bot using threads and timeouts on Hearth (scenario K, threads.py).
//
// Only `rest: { api: ... }` differs from a bot written for Discord. The same steps as
// bot_threads.py, through discord.js's public API and waiting on its own events:
// `message.startThread` (threadCreate), `thread.send`, `channel.threads.create({type:
// PrivateThread})`, `thread.members.add` (threadMembersUpdate), `forum.threads.create({name,
// message, appliedTags})` and `thread.fetchStarterMessage`, `thread.setLocked` +
// `thread.setArchived` (threadUpdate), `guild.channels.fetchActiveThreads()`,
// `channel.threads.fetchArchived()`; `member.timeout(ms, reason)` (guildMemberUpdate,
// `isCommunicationDisabled()`), the human's `untimeout`, `member.timeout(null)` and
// `guild.fetchAuditLogs({type: MemberUpdate})`. Each step is an `EVENT {json}` line on stdout.
//
// Environment: HEARTH_HTTP, BOT_TOKEN, GUILD_ID, CHANNEL_ID, MEMBER_ID, HUMAN_ID, FORUM_ID,
// TAG_ID, STEP_TIMEOUT.
import { AuditLogEvent, ChannelType, Client, Events, GatewayIntentBits } from "discord.js";

const HTTP = process.env.HEARTH_HTTP;
const TOKEN = process.env.BOT_TOKEN;
const GUILD_ID = process.env.GUILD_ID;
const CHANNEL_ID = process.env.CHANNEL_ID;
const MEMBER_ID = process.env.MEMBER_ID;
const HUMAN_ID = process.env.HUMAN_ID;
const FORUM_ID = process.env.FORUM_ID;
const TAG_ID = process.env.TAG_ID;
const STEP_TIMEOUT = Number(process.env.STEP_TIMEOUT || "15") * 1000;

function emit(event, data = {}) {
  process.stdout.write("EVENT " + JSON.stringify({ ...data, event, t: Date.now() / 1000 }) + "\n");
}
function log(...args) {
  process.stderr.write(new Date().toISOString() + " " + args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" ") + "\n");
}

const client = new Client({
  intents: [
    GatewayIntentBits.Guilds,
    GatewayIntentBits.GuildMembers, // guildMemberUpdate (the timeout), threadMembersUpdate of others
    GatewayIntentBits.GuildMessages,
    GatewayIntentBits.MessageContent, // the human's `untimeout`
  ],
  // ---- the one setting that points discord.js at Hearth ----
  rest: { api: `${HTTP}/api` },
});
client.on(Events.Debug, (m) => log("[debug]", m));
client.on(Events.Warn, (m) => log("[warn]", m));
client.on(Events.Error, (e) => emit("client_error", { error: String(e && e.stack ? e.stack : e) }));
client.on(Events.Raw, (packet) => log("[raw]", packet.t, JSON.stringify(packet.d).slice(0, 2000)));

const errors = [];

function withTimeout(name, promise) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${name}: timed out`)), STEP_TIMEOUT);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function step(name, promise) {
  try {
    return await withTimeout(name, promise);
  } catch (e) {
    errors.push(`${name}: ${e}`);
    emit("step_failed", { step: name, error: String(e && e.stack ? e.stack : e) });
    throw e;
  }
}

// The next `event` whose arguments satisfy `pred`; listening starts now.
function waitEvent(event, pred) {
  return new Promise((resolve) => {
    const listener = (...args) => {
      if (pred(...args)) {
        client.off(event, listener);
        resolve(args);
      }
    };
    client.on(event, listener);
  });
}

function threadInfo(t) {
  if (!t) return null;
  return {
    id: t.id,
    name: t.name,
    parent_id: t.parentId,
    owner_id: t.ownerId,
    type: t.type,
    archived: t.archived,
    locked: t.locked,
    parent_cached: t.parent?.id ?? null,
    applied_tags: t.appliedTags ?? [],
  };
}
const cached = (id) => threadInfo(client.channels.cache.get(id));
// The THREAD_CREATE payload the library received for `name` (discord.js also emits threadCreate
// for the thread in the REST answer, whichever comes first; this is the gateway's).
const rawCreate = (name) =>
  waitEvent(Events.Raw, (p) => p.t === "THREAD_CREATE" && p.d.name === name).then(([p]) => ({
    id: p.d.id, parent_id: p.d.parent_id, type: p.d.type, newly_created: p.d.newly_created ?? null,
  }));

async function threads(guild, channel) {
  // A public thread from a message.
  const starter = await step("channel.send", channel.send("thread starter"));
  let created = waitEvent(Events.ThreadCreate, (t) => t.name === "conf-public");
  let raw = rawCreate("conf-public");
  const pub = await step("message.startThread", starter.startThread({ name: "conf-public", autoArchiveDuration: 1440 }));
  let [ev, newly] = await step("threadCreate (public)", created);
  emit("public_thread", { starter_id: starter.id, returned: threadInfo(pub), seen: threadInfo(ev), newly_created: newly, gateway: await step("THREAD_CREATE (public)", raw), cached: cached(pub.id) });
  const sent = await step("thread.send", pub.send("hello in the thread"));
  emit("thread_message", { id: sent.id, channel_id: sent.channelId, content: sent.content });

  // A private thread, and the member added to it.
  created = waitEvent(Events.ThreadCreate, (t) => t.name === "conf-private");
  raw = rawCreate("conf-private");
  const priv = await step("channel.threads.create(private)", channel.threads.create({ name: "conf-private", type: ChannelType.PrivateThread }));
  [ev, newly] = await step("threadCreate (private)", created);
  emit("private_thread", { returned: threadInfo(priv), seen: threadInfo(ev), newly_created: newly, gateway: await step("THREAD_CREATE (private)", raw), cached: cached(priv.id) });
  const joined = waitEvent(Events.ThreadMembersUpdate, (added, _removed, t) => t.id === priv.id && added.has(MEMBER_ID));
  const rawJoined = waitEvent(Events.Raw, (p) => p.t === "THREAD_MEMBERS_UPDATE" && p.d.id === priv.id);
  await step("thread.members.add", priv.members.add(MEMBER_ID));
  const [added, , t] = await step("threadMembersUpdate", joined);
  // The added member as the gateway sent it: Discord adds its guild `member` and `presence`.
  const [rawUpdate] = await step("THREAD_MEMBERS_UPDATE", rawJoined);
  const rawAdded = rawUpdate.d.added_members?.[0] ?? {};
  const fetched = await step("thread.members.fetch", priv.members.fetch());
  emit("member_added", { thread_id: t.id, user_id: [...added.keys()][0], cached_members: [...priv.members.cache.keys()], fetched_members: [...fetched.keys()], member_count: t.memberCount, guild_member: added.first()?.guildMember?.id ?? null, gateway: { member_user_id: rawAdded.member?.user?.id ?? null, has_presence: "presence" in rawAdded } });

  // A forum post with a tag.
  const forum = guild.channels.cache.get(FORUM_ID);
  const tag = forum?.availableTags.find((x) => x.id === TAG_ID);
  created = waitEvent(Events.ThreadCreate, (x) => x.name === "conf-post");
  raw = rawCreate("conf-post");
  const post = await step("forum.threads.create", forum.threads.create({ name: "conf-post", message: { content: "forum post body" }, appliedTags: [TAG_ID] }));
  [ev, newly] = await step("threadCreate (forum)", created);
  const first = await step("thread.fetchStarterMessage", post.fetchStarterMessage());
  emit("forum_post", { forum_type: forum.type, tag_name: tag?.name ?? null, returned: threadInfo(post), seen: threadInfo(ev), newly_created: newly, gateway: await step("THREAD_CREATE (forum)", raw), cached: cached(post.id), message_id: first.id, message_content: first.content });

  // Lock, then archive, the public thread.
  const before = cached(pub.id);
  const updated = waitEvent(Events.ThreadUpdate, (_o, n) => n.id === pub.id && n.archived && n.locked);
  await step("thread.setLocked", pub.setLocked(true));
  const edited = await step("thread.setArchived", pub.setArchived(true));
  const [, after] = await step("threadUpdate", updated);
  emit("archived", { before, returned: threadInfo(edited), seen: threadInfo(after) });

  const active = await step("guild.channels.fetchActiveThreads", guild.channels.fetchActiveThreads());
  const archived = await step("channel.threads.fetchArchived", channel.threads.fetchArchived({ type: "public" }));
  emit("lists", { active: [...active.threads.values()].map(threadInfo), archived: [...archived.threads.values()].map(threadInfo) });
}

async function timeouts(guild) {
  const member = await step("guild.members.fetch", guild.members.fetch(MEMBER_ID));
  let updated = waitEvent(Events.GuildMemberUpdate, (_o, n) => n.id === MEMBER_ID && n.isCommunicationDisabled());
  await step("member.timeout(ms)", member.timeout(5 * 60 * 1000, "conformance"));
  let [, after] = await step("guildMemberUpdate (timed out)", updated);
  const go = waitEvent(Events.MessageCreate, (m) => m.author.id === HUMAN_ID && m.content === "untimeout");
  emit("timed_out", { is_timed_out: after.isCommunicationDisabled(), until: after.communicationDisabledUntil?.toISOString() ?? null, cached: guild.members.cache.get(MEMBER_ID).isCommunicationDisabled() });
  await step("the human's `untimeout`", go);
  updated = waitEvent(Events.GuildMemberUpdate, (o, n) => n.id === MEMBER_ID && o.isCommunicationDisabled() && !n.isCommunicationDisabled());
  await step("member.timeout(null)", member.timeout(null, "conformance"));
  [, after] = await step("guildMemberUpdate (free)", updated);
  emit("timeout_removed", { is_timed_out: after.isCommunicationDisabled(), until: after.communicationDisabledUntil });
  const logs = await step("guild.fetchAuditLogs", guild.fetchAuditLogs({ type: AuditLogEvent.MemberUpdate, limit: 20 }));
  emit("audit", {
    entries: [...logs.entries.values()].map((e) => {
      const ch = e.changes.find((c) => c.key === "communication_disabled_until");
      return {
        id: e.id, action: e.action, user_id: e.executorId, target_id: e.targetId, reason: e.reason,
        before: ch ? (ch.old ?? null) : "absent", after: ch ? (ch.new ?? null) : "absent",
      };
    }),
  });
}

client.once(Events.ClientReady, async (c) => {
  emit("ready", { guild_ids: [...c.guilds.cache.keys()] });
  const guild = c.guilds.cache.get(GUILD_ID);
  const channel = guild.channels.cache.get(CHANNEL_ID);
  try {
    await threads(guild, channel);
    await timeouts(guild);
  } catch (e) {
    if (errors.length === 0) emit("flow_failed", { error: String(e && e.stack ? e.stack : e) });
  }
  emit("done", { errors });
  await client.destroy();
  process.exit(0);
});

client.login(TOKEN).catch((e) => {
  emit("fatal", { error: String(e && e.stack ? e.stack : e) });
  process.exit(1);
});
