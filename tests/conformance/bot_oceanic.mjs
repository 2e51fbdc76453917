// An unmodified Oceanic.js bot pointed at Hearth (the library Eris users moved to).
//
// The only change from a bot written for Discord is `rest: { baseURL }`; Oceanic.js takes the
// gateway URL from GET /gateway/bot and appends `/?v=10` to it. It connects with the
// presences and members intents, sets its presence, reports READY, then answers the human's
// `ping N` with a reply `pong N from oceanic.js`.
//
// Environment: HEARTH_HTTP, BOT_TOKEN, GUILD_ID, CHANNEL_ID. Reports to the driver (run.py)
// with `EVENT {json}` lines on stdout; logs go to stderr.
import { Client } from "oceanic.js";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const HTTP = process.env.HEARTH_HTTP;
const CHANNEL_ID = process.env.CHANNEL_ID;

function emit(event, data = {}) {
  process.stdout.write("EVENT " + JSON.stringify({ ...data, event, t: Date.now() / 1000 }) + "\n");
}

const client = new Client({
  auth: `Bot ${process.env.BOT_TOKEN}`,
  gateway: {
    intents: ["GUILDS", "GUILD_MEMBERS", "GUILD_PRESENCES", "GUILD_MESSAGES", "MESSAGE_CONTENT"],
  },
  // ---- the one setting that points Oceanic.js at Hearth ----
  rest: { baseURL: `${HTTP}/api/v10` },
});

client.on("debug", (m) => process.stderr.write(`debug ${m}\n`));
client.on("error", (e) => process.stderr.write(`error ${e && e.stack ? e.stack : e}\n`));
client.once("ready", () => {
  emit("ready", { user: client.user.id, guilds: [...client.guilds.keys()] });
  client.editStatus("online", [{ name: "tests on oceanic.js", type: 0 }]);
});
client.on("presenceUpdate", (guild, member, presence) => {
  if (member.id === client.user.id && presence.activities && presence.activities.length) {
    emit("presence", { activity: presence.activities[0].name, status: presence.status });
  }
});
client.on("messageCreate", async (message) => {
  const content = message.content || "";
  if (message.author.id === client.user.id || message.channelID !== CHANNEL_ID || !content.startsWith("ping ")) return;
  const sent = await client.rest.channels.createMessage(message.channelID, {
    content: `pong ${content.split(" ")[1]} from oceanic.js`,
    messageReference: { messageID: message.id },
  });
  emit("done", { reply_id: sent.id, reply_to: message.id });
  client.disconnect(false);
  emit("closing");
  process.exit(0);
});

// The package exports no package.json: read it next to the resolved entry point.
const require = createRequire(import.meta.url);
const pkgDir = dirname(dirname(dirname(require.resolve("oceanic.js"))));
emit("starting", { lib: "oceanic.js", version: require(join(pkgDir, "package.json")).version });
client.connect().catch((e) => {
  emit("fatal", { error: String(e && e.stack ? e.stack : e) });
  process.exit(1);
});
