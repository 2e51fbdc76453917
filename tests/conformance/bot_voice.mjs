// An unmodified discord.js v14 bot watching voice states on Hearth (scenario I, voice.py).
//
// Only `rest: { api: ... }` differs from a bot written for Discord. When the human (HUMAN_ID)
// joins VOICE_A, the bot reads its member cache, moves them to VOICE_B
// (`member.voice.setChannel`), server-mutes them (`member.voice.setMute`) and disconnects them
// (`member.voice.disconnect`), reporting each voiceStateUpdate with `EVENT {json}` lines.
//
// Environment: HEARTH_HTTP, BOT_TOKEN, GUILD_ID, HUMAN_ID, VOICE_A, VOICE_B, STEP_TIMEOUT.
import { Client, GatewayIntentBits, Events } from "discord.js";

const HTTP = process.env.HEARTH_HTTP;
const TOKEN = process.env.BOT_TOKEN;
const GUILD_ID = process.env.GUILD_ID;
const HUMAN_ID = process.env.HUMAN_ID;
const VOICE_A = process.env.VOICE_A;
const VOICE_B = process.env.VOICE_B;
const STEP_TIMEOUT = Number(process.env.STEP_TIMEOUT || "15") * 1000;

function emit(event, data = {}) {
  process.stdout.write("EVENT " + JSON.stringify({ ...data, event, t: Date.now() / 1000 }) + "\n");
}
function log(...args) {
  process.stderr.write(new Date().toISOString() + " " + args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" ") + "\n");
}

const client = new Client({
  intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildVoiceStates],
  // ---- the one setting that points discord.js at Hearth ----
  rest: { api: `${HTTP}/api` },
});
client.on(Events.Debug, (m) => log("[debug]", m));
client.on(Events.Error, (e) => emit("client_error", { error: String(e && e.stack ? e.stack : e) }));

let phase = 0;
const errors = [];

async function step(name, promise) {
  try {
    return await Promise.race([
      promise,
      new Promise((_, reject) => setTimeout(() => reject(new Error("timed out")), STEP_TIMEOUT)),
    ]);
  } catch (e) {
    errors.push(`${name}: ${e}`);
    emit("step_failed", { step: name, error: String(e && e.stack ? e.stack : e) });
    throw e;
  }
}

client.once(Events.ClientReady, (c) => emit("ready", { guild_ids: [...c.guilds.cache.keys()] }));

client.on(Events.VoiceStateUpdate, async (oldState, newState) => {
  if (newState.id !== HUMAN_ID) return;
  const guild = client.guilds.cache.get(GUILD_ID);
  const member = guild.members.cache.get(HUMAN_ID);
  const info = {
    before: oldState.channelId ?? null,
    after: newState.channelId ?? null,
    cached_channel: member?.voice?.channelId ?? null,
    mute: newState.serverMute,
    session_id: newState.sessionId ?? null,
  };
  try {
    if (phase === 0 && newState.channelId === VOICE_A) {
      phase = 1;
      emit("joined_seen", info);
      await step("voice.setChannel", member.voice.setChannel(VOICE_B));
    } else if (phase === 1 && newState.channelId === VOICE_B) {
      phase = 2;
      emit("moved_seen", info);
      await step("voice.setMute", member.voice.setMute(true));
    } else if (phase === 2 && newState.serverMute) {
      phase = 3;
      emit("muted_seen", info);
      await step("voice.disconnect", member.voice.disconnect());
    } else if (phase === 3 && !newState.channelId) {
      phase = 4;
      emit("disconnected_seen", { ...info, cached_voice: member?.voice?.channelId ?? null });
      emit("done", { errors });
      await client.destroy();
      process.exit(0);
    }
  } catch (e) {
    log("[voice]", String(e));
  }
});

client.login(TOKEN).catch((e) => {
  emit("fatal", { error: String(e && e.stack ? e.stack : e) });
  process.exit(1);
});
