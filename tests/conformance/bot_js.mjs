// An unmodified discord.js v14 bot pointed at Hearth.
//
// The only change from a bot written for Discord is `rest: { api: ... }`; discord.js takes the
// gateway URL from GET /gateway/bot. Everything else is the library's public API.
//
// Environment: HEARTH_HTTP (http://HOST:PORT), BOT_TOKEN, GUILD_ID, CHANNEL_ID, HUMAN_ID, MEMBER_ID,
// STEP_TIMEOUT (seconds). Reports to the driver (run.py) with `EVENT {json}` lines on stdout;
// logs go to stderr.
import { createHash } from "node:crypto";
import {
  Client,
  GatewayIntentBits,
  Events,
  ChannelType,
  ApplicationCommandType,
  SlashCommandBuilder,
  Routes,
  version,
} from "discord.js";

const HTTP = process.env.HEARTH_HTTP;
const TOKEN = process.env.BOT_TOKEN;
const GUILD_ID = process.env.GUILD_ID;
const CHANNEL_ID = process.env.CHANNEL_ID;
const HUMAN_ID = process.env.HUMAN_ID;
// The member the basic flow times out (absent in the resume mode).
const MEMBER_ID = process.env.MEMBER_ID;
const MODE = process.env.BOT_MODE || "basic";
const STEP_TIMEOUT = Number(process.env.STEP_TIMEOUT || "15") * 1000;
const REACTION = "\u{1F44D}";
// The file the bot sends and downloads back (made by the driver, run.py).
const FILE_BYTES = Buffer.from(process.env.FILE_B64 || "", "base64");
const FILE_NAME = process.env.FILE_NAME || "conformance.png";

function emit(event, data = {}) {
  process.stdout.write("EVENT " + JSON.stringify({ ...data, event, t: Date.now() / 1000 }) + "\n");
}
function log(...args) {
  process.stderr.write(new Date().toISOString() + " " + args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" ") + "\n");
}

const client = new Client({
  intents: [
    GatewayIntentBits.Guilds,
    GatewayIntentBits.GuildMessages,
    GatewayIntentBits.MessageContent,
    GatewayIntentBits.GuildMessageReactions,
  ],
  // ---- the one setting that points discord.js at Hearth ----
  rest: { api: `${HTTP}/api` },
});

const seen = { create: [], update: [], reactionAdd: [] };
let busy = false;

client.on(Events.Debug, (m) => log("[debug]", m));
client.on(Events.Warn, (m) => log("[warn]", m));
client.on(Events.Error, (e) => {
  log("[error]", String(e && e.stack ? e.stack : e));
  emit("client_error", { error: String(e && e.stack ? e.stack : e) });
});
client.on(Events.ShardError, (e, id) => log("[shardError]", id, String(e && e.stack ? e.stack : e)));
client.on(Events.ShardDisconnect, (ev, id) => emit("disconnect", { code: ev && ev.code, shard: id }));
client.on(Events.ShardResume, (id, replayed) => emit("resumed", { shard: id, replayed }));
client.rest.on("response", (req, res) => log("[rest]", req.method, req.path, res.status));
client.rest.on("rateLimited", (info) => log("[rest rateLimited]", info));
client.on(Events.Raw, (packet) => {
  log("[raw]", packet.t, JSON.stringify(packet.d).slice(0, 2000));
  if (packet.t === "MESSAGE_CREATE") seen.create.push(packet.d.id);
  if (packet.t === "MESSAGE_UPDATE") seen.update.push(packet.d.id);
  if (packet.t === "MESSAGE_REACTION_ADD")
    seen.reactionAdd.push({ message_id: packet.d.message_id, user_id: packet.d.user_id, emoji: packet.d.emoji && packet.d.emoji.name });
});

async function step(name, promise) {
  let timer;
  const timeout = new Promise((_, rej) => {
    timer = setTimeout(() => rej(new Error(`timed out after ${STEP_TIMEOUT} ms`)), STEP_TIMEOUT);
  });
  try {
    return await Promise.race([promise, timeout]);
  } catch (e) {
    emit("step_failed", { step: name, error: `${e && e.name}: ${e && e.message}`, traceback: String(e && e.stack), raw: e && e.rawError ? e.rawError : undefined });
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

async function waitUntil(pred, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (pred()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return pred();
}

let clientReady = false;
client.on(Events.ShardReady, (id) => {
  // A second READY means the library had to IDENTIFY again instead of resuming.
  if (clientReady) emit("ready", { ready_count: 2, shard: id, reidentified: true });
});

client.once(Events.ClientReady, (c) => {
  clientReady = true;
  const guild = c.guilds.cache.get(GUILD_ID);
  const info = {
    ready_count: 1,
    user_id: c.user.id,
    user_name: c.user.username,
    guild_ids: [...c.guilds.cache.keys()],
    ws_gateway: c.ws.gateway ?? null,
  };
  if (guild) {
    const ch = guild.channels.cache.get(CHANNEL_ID);
    const me = guild.members.me;
    info.guild_name = guild.name;
    info.guild_owner_id = guild.ownerId;
    info.guild_unavailable = !guild.available;
    info.channel_ids = [...guild.channels.cache.keys()];
    info.channel_found = !!ch;
    info.channel_type = ch ? ChannelType[ch.type] : null;
    info.me_present = !!me;
    info.member_count = guild.memberCount;
    info.roles = [...guild.roles.cache.keys()];
    info.default_role_ok = !!guild.roles.everyone && guild.roles.everyone.id === guild.id;
    try {
      info.can_send = ch && me ? ch.permissionsFor(me).has("SendMessages") : null;
    } catch (e) {
      info.can_send = `error: ${e.message}`;
    }
  }
  emit("ready", info);
});

async function basicFlow(message) {
  const summary = {
    received: {
      id: message.id,
      content: message.content,
      guild_id: message.guildId,
      channel_id: message.channelId,
      author_id: message.author.id,
      author_is_member: !!message.member,
      created_at: message.createdAt.toISOString(),
    },
  };
  const content = message.content;
  // Guild slash and context-menu commands through the REST bulk overwrite (PUT), read back
  // with the guild's command manager.
  const echo = new SlashCommandBuilder()
    .setName("echo")
    .setDescription("Repeats what you say")
    .addStringOption((o) => o.setName("text").setDescription("What to say").setRequired(true).setMaxLength(200))
    .addIntegerOption((o) => o.setName("times").setDescription("How often").addChoices({ name: "once", value: 1 }, { name: "twice", value: 2 }));
  const body = [echo.toJSON(), { type: ApplicationCommandType.Message, name: "Quote" }];
  const put = await step(
    "rest.put(Routes.applicationGuildCommands)",
    client.rest.put(Routes.applicationGuildCommands(client.application.id, GUILD_ID), { body }),
  );
  const fetchedCmds = await step("guild.commands.fetch()", message.guild.commands.fetch());
  const cmd = (c) => ({ id: c.id, name: c.name, type: c.type, options: (c.options || []).map((o) => o.name) });
  summary.commands = { synced: put.map(cmd), fetched: [...fetchedCmds.values()].map(cmd) };
  const reply = await step("message.reply", message.reply(`pong: ${content}`));
  summary.reply = {
    id: reply.id,
    content: reply.content,
    reference_message_id: reply.reference ? reply.reference.messageId : null,
    type: String(reply.type),
  };
  await step("message.react", message.react(REACTION));
  summary.reaction = REACTION;
  const edited = await step("reply.edit", reply.edit(`pong (edited): ${content}`));
  summary.edited = {
    id: edited.id,
    content: edited.content,
    edited_at: edited.editedAt ? edited.editedAt.toISOString() : null,
  };
  // A file: `files: [...]` in a send (multipart), then the bytes back through the attachment URL.
  const sent = await step("channel.send({files})", message.channel.send({ content: "file", files: [{ attachment: FILE_BYTES, name: FILE_NAME }] }));
  const att = sent.attachments.first();
  summary.file = { message_id: sent.id, count: sent.attachments.size };
  if (att) {
    const res = await step("fetch(attachment.url)", fetch(att.url));
    const data = Buffer.from(await step("response.arrayBuffer", res.arrayBuffer()));
    Object.assign(summary.file, {
      id: att.id,
      filename: att.name,
      size: att.size,
      content_type: att.contentType,
      width: att.width,
      height: att.height,
      url: att.url,
      status: res.status,
      read_len: data.length,
      read_sha256: createHash("sha256").update(data).digest("hex"),
    });
  }
  const hist = await step("channel.messages.fetch({limit:10})", message.channel.messages.fetch({ limit: 10 }));
  summary.history = [...hist.values()].map((m) => ({ id: m.id, content: m.content, author_id: m.author.id }));
  const fetched = await step("channel.messages.fetch(id)", message.channel.messages.fetch({ message: message.id, force: true }));
  summary.fetched_reactions = [...fetched.reactions.cache.values()].map((r) => ({ emoji: r.emoji.name, count: r.count, me: r.me }));

  await waitUntil(
    () => seen.create.includes(reply.id) && seen.update.includes(reply.id) && seen.reactionAdd.some((r) => r.message_id === message.id),
    5000,
  );
  summary.gateway_seen = {
    reply_create: seen.create.includes(reply.id),
    reply_update: seen.update.includes(reply.id),
    reaction_add: seen.reactionAdd.filter((r) => r.message_id === message.id),
  };
  const cached = message.channel.messages.cache.get(reply.id);
  summary.cached_reply_content = cached ? cached.content : null;

  // A member timeout (MODERATE_MEMBERS): set for 5 minutes, read back, ended.
  const target = await step("guild.members.fetch(id)", message.guild.members.fetch({ user: MEMBER_ID, force: true }));
  await step("member.timeout(ms)", target.timeout(5 * 60 * 1000, "conformance"));
  const timed = await step("guild.members.fetch(id) (timed out)", message.guild.members.fetch({ user: MEMBER_ID, force: true }));
  summary.timeout = {
    timed_out: timed.isCommunicationDisabled(),
    until: timed.communicationDisabledUntil ? timed.communicationDisabledUntil.toISOString() : null,
  };
  await step("member.timeout(null)", timed.timeout(null, "conformance"));
  const cleared = await step("guild.members.fetch(id) (cleared)", message.guild.members.fetch({ user: MEMBER_ID, force: true }));
  summary.timeout.after_clear = cleared.isCommunicationDisabled();

  // An incoming webhook: created by the library, executed (discord.js waits for the message), deleted.
  const hook = await step("channel.createWebhook", message.channel.createWebhook({ name: "Conformance Hook" }));
  const hsent = await step("webhook.send", hook.send({ content: "from a webhook", username: "Hooked" }));
  summary.webhook = {
    id: hook.id, has_token: Boolean(hook.token), message_id: hsent.id,
    webhook_id: hsent.webhookId ?? hsent.webhook_id ?? null,
    author_name: hsent.author?.username ?? null, content: hsent.content,
  };
  await step("webhook.delete", hook.delete());
  emit("done", summary);
}

client.on(Events.MessageCreate, async (message) => {
  if (message.author.id !== HUMAN_ID) return;
  if (MODE === "resume") {
    emit("message", { id: message.id, content: message.content, guild_id: message.guildId });
    return;
  }
  if (!message.content.startsWith("ping") || busy) {
    emit("message", { id: message.id, content: message.content, ignored: true });
    return;
  }
  busy = true;
  try {
    await basicFlow(message);
  } catch (e) {
    emit("flow_failed", { error: String(e && e.stack ? e.stack : e) });
  } finally {
    emit("closing");
    await client.destroy();
    emit("exited");
    process.exit(0);
  }
});

emit("starting", { discord_js: version, api: `${HTTP}/api`, node: process.version });
client.login(TOKEN).catch((e) => {
  emit("fatal", { error: `${e && e.name}: ${e && e.message}`, traceback: String(e && e.stack), code: e && e.code });
  process.exit(2);
});
