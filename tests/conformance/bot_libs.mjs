// One unmodified bot per Node.js library (LIB = discord.js or oceanic.js, the library Eris
// users moved to) pointed at Hearth; the same steps as bot_libs.py:
// 1. connect with the presences and members intents, set its presence (echoed back as
//    PRESENCE_UPDATE and parsed), report READY;
// 2. answer the human's `ping N` with a reply `pong N from LIB`;
// 3. register its six guild slash commands in one request (discord.js:
//    `rest.put(Routes.applicationGuildCommands)`, Oceanic.js: `application.bulkEditGuildCommands`):
//    `/hello`, `/slow`, `/secret`, `/form`, `/pick fruit:` (autocomplete) and `/menu`;
// 4. answer `/hello` (invoked by the human through `POST /interactions`) with `hello NAME from LIB`
//    and a button `click-LIB`, and the click by updating that message (UPDATE_MESSAGE:
//    `clicked by NAME on LIB`, components removed);
// 5. create a webhook in the channel and execute it (`webhook from LIB`, username `Hooked LIB`,
//    "discord" written "dc"), report `done`;
// 6. `/slow`: defer (discord.js `deferReply`, Oceanic.js `defer`), report `deferred`, then
//    `slow NAME from LIB` (discord.js `followUp`, Oceanic.js `editOriginal`);
// 7. `/secret`: an ephemeral reply (flag 64) `secret NAME from LIB`;
// 8. `/form`: a modal `form-LIB` with a text input `answer` (discord.js `ModalBuilder` +
//    `TextInputBuilder`, Oceanic.js `createModal`); its MODAL_SUBMIT is answered with
//    `form VALUE from LIB`;
// 9. `/pick`'s autocomplete: the choices `TYPED i (LIB)` = `TYPED-i`, i = 1..3 (discord.js
//    `respond`, Oceanic.js `result`);
// 10. `/menu`: `menu for NAME from LIB` with a string select `menu-LIB` (red, green, blue; discord.js
//    `StringSelectMenuBuilder`, raw components for Oceanic.js); the pick updates that message
//    (`picked VALUE by NAME on LIB`, components removed); then report `closing` and exit.
//
// The only change from a bot written for Discord is the REST base URL (discord.js
// `rest: { api }`, Oceanic.js `rest: { baseURL }`); both take the gateway URL from
// GET /gateway/bot (Oceanic.js appends `/?v=10` to it).
//
// Environment: LIB, HEARTH_HTTP, BOT_TOKEN, GUILD_ID, CHANNEL_ID. Reports to the driver (run.py)
// with `EVENT {json}` lines on stdout; logs go to stderr.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const LIB = process.env.LIB || "oceanic.js";
const HTTP = process.env.HEARTH_HTTP;
const GUILD_ID = process.env.GUILD_ID;
const CHANNEL_ID = process.env.CHANNEL_ID;
const CLICK_ID = `click-${LIB}`;
// Webhook names and usernames may not contain "discord" (Discord's rule, Hearth's too).
const HOOK_NAME = `Hooked ${LIB.replace("discord", "dc")}`;
const FORM_ID = `form-${LIB}`;
const MENU_ID = `menu-${LIB}`;
const COLORS = ["red", "green", "blue"];
const COMMANDS = [
  { name: "hello", description: "Says hello with a button", type: 1 },
  { name: "slow", description: "Answers later", type: 1 },
  { name: "secret", description: "Answers only you", type: 1 },
  { name: "form", description: "Opens a form", type: 1 },
  { name: "menu", description: "Offers a menu", type: 1 },
  {
    name: "pick",
    description: "Picks a fruit",
    type: 1,
    options: [{ type: 3, name: "fruit", description: "A fruit", autocomplete: true }],
  },
];
// The autocomplete choices for the typed value (the driver expects exactly these).
const choices = (typed) => [1, 2, 3].map((i) => ({ name: `${typed} ${i} (${LIB})`, value: `${typed}-${i}` }));

function emit(event, data = {}) {
  process.stdout.write("EVENT " + JSON.stringify({ ...data, event, t: Date.now() / 1000 }) + "\n");
}
const log = (m) => process.stderr.write(`${new Date().toISOString()} ${m}\n`);
const fail = (e) => {
  emit("fatal", { error: String(e && e.stack ? e.stack : e) });
  process.exit(1);
};
const pong = (content) => (content.startsWith("ping ") ? `pong ${content.split(" ")[1]} from ${LIB}` : null);
const button = { type: 1, components: [{ type: 2, style: 1, label: "Click me" }] };

async function runOceanic() {
  const { Client } = await import("oceanic.js");
  const client = new Client({
    auth: `Bot ${process.env.BOT_TOKEN}`,
    gateway: {
      intents: ["GUILDS", "GUILD_MEMBERS", "GUILD_PRESENCES", "GUILD_MESSAGES", "MESSAGE_CONTENT"],
    },
    // ---- the one setting that points Oceanic.js at Hearth ----
    rest: { baseURL: `${HTTP}/api/v10` },
  });
  client.on("debug", (m) => log(`debug ${m}`));
  client.on("error", (e) => log(`error ${e && e.stack ? e.stack : e}`));
  client.once("ready", async () => {
    emit("ready", { user: client.user.id, guilds: [...client.guilds.keys()] });
    client.editStatus("online", [{ name: `tests on ${LIB}`, type: 0 }]);
    const synced = await client.application.bulkEditGuildCommands(GUILD_ID, COMMANDS);
    emit("synced", { commands: synced.map((c) => c.name) });
  });
  client.on("presenceUpdate", (guild, member, presence) => {
    if (member.id === client.user.id && presence.activities && presence.activities.length) {
      emit("presence", { activity: presence.activities[0].name, status: presence.status });
    }
  });
  client.on("messageCreate", async (message) => {
    const text = pong(message.content || "");
    if (message.author.id === client.user.id || message.channelID !== CHANNEL_ID || !text) return;
    const sent = await client.rest.channels.createMessage(message.channelID, {
      content: text,
      messageReference: { messageID: message.id },
    });
    emit("replied", { reply_id: sent.id, reply_to: message.id });
  });
  client.on("interactionCreate", async (i) => {
    try {
      const name = i.user.username;
      if (i.type === 2 && i.data.name === "hello") {
        const row = { type: 1, components: [{ ...button.components[0], customID: CLICK_ID }] };
        await i.createMessage({ content: `hello ${name} from ${LIB}`, components: [row] });
        emit("hello_answered", { user: i.user.id });
      } else if (i.type === 2 && i.data.name === "slow") {
        await i.defer();
        emit("deferred", { user: i.user.id });
        const sent = await i.editOriginal({ content: `slow ${name} from ${LIB}` });
        emit("followed_up", { message: sent.id });
      } else if (i.type === 2 && i.data.name === "secret") {
        await i.createMessage({ content: `secret ${name} from ${LIB}`, flags: 64 });
        emit("secret_sent");
      } else if (i.type === 2 && i.data.name === "form") {
        await i.createModal({
          customID: FORM_ID,
          title: `Form ${LIB}`,
          components: [{ type: 1, components: [{ type: 4, customID: "answer", label: "Answer", style: 1 }] }],
        });
        emit("modal_sent");
      } else if (i.type === 2 && i.data.name === "menu") {
        const menu = { type: 3, customID: MENU_ID, placeholder: "A colour", options: COLORS.map((c) => ({ label: c, value: c })) };
        await i.createMessage({ content: `menu for ${name} from ${LIB}`, components: [{ type: 1, components: [menu] }] });
        emit("menu_sent");
      } else if (i.type === 4 && i.data.name === "pick") {
        const typed = i.data.options.getFocused(true).value;
        emit("autocompleted", { typed });
        await i.result(choices(typed));
      } else if (i.type === 5 && i.data.customID === FORM_ID) {
        const value = i.data.components.getTextInput("answer", true);
        await i.createMessage({ content: `form ${value} from ${LIB}` });
        emit("form_answered", { value });
      } else if (i.type === 3 && i.data.customID === MENU_ID) {
        const value = i.data.values.getStrings()[0];
        await i.editParent({ content: `picked ${value} by ${name} on ${LIB}`, components: [] });
        emit("picked", { value, message: i.message.id });
        client.disconnect(false);
        emit("closing");
        process.exit(0);
      } else if (i.type === 3 && i.data.customID === CLICK_ID) {
        await i.editParent({ content: `clicked by ${name} on ${LIB}`, components: [] });
        emit("clicked", { user: i.user.id, message: i.message.id });
        const hook = await client.rest.webhooks.create(CHANNEL_ID, { name: HOOK_NAME });
        const sent = await client.rest.webhooks.execute(hook.id, hook.token, {
          content: `webhook from ${LIB}`,
          username: HOOK_NAME,
          wait: true,
        });
        emit("done", { webhook_id: hook.id, webhook_message: sent.id, webhook_message_webhook_id: sent.webhookID });
      }
    } catch (e) {
      fail(e);
    }
  });
  // The package exports no package.json: read it next to the resolved entry point.
  const require = createRequire(import.meta.url);
  const pkgDir = dirname(dirname(dirname(require.resolve("oceanic.js"))));
  emit("starting", { lib: LIB, version: require(join(pkgDir, "package.json")).version });
  await client.connect();
}

async function runDiscordJs() {
  const {
    Client,
    GatewayIntentBits,
    Events,
    Routes,
    ActivityType,
    ActionRowBuilder,
    ButtonBuilder,
    ButtonStyle,
    MessageFlags,
    ModalBuilder,
    TextInputBuilder,
    TextInputStyle,
    StringSelectMenuBuilder,
    version,
  } = await import("discord.js");
  const client = new Client({
    intents: [
      GatewayIntentBits.Guilds,
      GatewayIntentBits.GuildMembers,
      GatewayIntentBits.GuildPresences,
      GatewayIntentBits.GuildMessages,
      GatewayIntentBits.MessageContent,
    ],
    // ---- the one setting that points discord.js at Hearth ----
    rest: { api: `${HTTP}/api` },
  });
  client.on(Events.Debug, (m) => log(`debug ${m}`));
  client.on(Events.Error, (e) => log(`error ${e && e.stack ? e.stack : e}`));
  client.once(Events.ClientReady, async () => {
    emit("ready", { user: client.user.id, guilds: [...client.guilds.cache.keys()] });
    client.user.setPresence({ activities: [{ name: `tests on ${LIB}`, type: ActivityType.Playing }], status: "online" });
    const synced = await client.rest.put(Routes.applicationGuildCommands(client.application.id, GUILD_ID), {
      body: COMMANDS,
    });
    emit("synced", { commands: synced.map((c) => c.name) });
  });
  client.on(Events.PresenceUpdate, (before, after) => {
    if (after.userId === client.user.id && after.activities.length) {
      emit("presence", { activity: after.activities[0].name, status: after.status });
    }
  });
  client.on(Events.MessageCreate, async (message) => {
    const text = pong(message.content || "");
    if (message.author.id === client.user.id || message.channelId !== CHANNEL_ID || !text) return;
    const sent = await message.reply(text);
    emit("replied", { reply_id: sent.id, reply_to: message.id });
  });
  client.on(Events.InteractionCreate, async (i) => {
    try {
      const name = i.user.username;
      if (i.isChatInputCommand() && i.commandName === "hello") {
        const row = new ActionRowBuilder().addComponents(
          new ButtonBuilder().setCustomId(CLICK_ID).setLabel("Click me").setStyle(ButtonStyle.Primary),
        );
        await i.reply({ content: `hello ${name} from ${LIB}`, components: [row] });
        emit("hello_answered", { user: i.user.id });
      } else if (i.isChatInputCommand() && i.commandName === "slow") {
        await i.deferReply();
        emit("deferred", { user: i.user.id });
        const sent = await i.followUp({ content: `slow ${name} from ${LIB}` });
        emit("followed_up", { message: sent.id });
      } else if (i.isChatInputCommand() && i.commandName === "secret") {
        await i.reply({ content: `secret ${name} from ${LIB}`, flags: MessageFlags.Ephemeral });
        emit("secret_sent");
      } else if (i.isChatInputCommand() && i.commandName === "form") {
        const modal = new ModalBuilder()
          .setCustomId(FORM_ID)
          .setTitle(`Form ${LIB}`)
          .addComponents(
            new ActionRowBuilder().addComponents(
              new TextInputBuilder().setCustomId("answer").setLabel("Answer").setStyle(TextInputStyle.Short),
            ),
          );
        await i.showModal(modal);
        emit("modal_sent");
      } else if (i.isChatInputCommand() && i.commandName === "menu") {
        const menu = new StringSelectMenuBuilder()
          .setCustomId(MENU_ID)
          .setPlaceholder("A colour")
          .addOptions(COLORS.map((c) => ({ label: c, value: c })));
        await i.reply({ content: `menu for ${name} from ${LIB}`, components: [new ActionRowBuilder().addComponents(menu)] });
        emit("menu_sent");
      } else if (i.isAutocomplete() && i.commandName === "pick") {
        const typed = i.options.getFocused();
        emit("autocompleted", { typed });
        await i.respond(choices(typed));
      } else if (i.isModalSubmit() && i.customId === FORM_ID) {
        const value = i.fields.getTextInputValue("answer");
        await i.reply({ content: `form ${value} from ${LIB}` });
        emit("form_answered", { value });
      } else if (i.isStringSelectMenu() && i.customId === MENU_ID) {
        const value = i.values[0];
        await i.update({ content: `picked ${value} by ${name} on ${LIB}`, components: [] });
        emit("picked", { value, message: i.message.id });
        await client.destroy();
        emit("closing");
        process.exit(0);
      } else if (i.isButton() && i.customId === CLICK_ID) {
        await i.update({ content: `clicked by ${name} on ${LIB}`, components: [] });
        emit("clicked", { user: i.user.id, message: i.message.id });
        const channel = await client.channels.fetch(CHANNEL_ID);
        const hook = await channel.createWebhook({ name: HOOK_NAME });
        const sent = await hook.send({ content: `webhook from ${LIB}`, username: HOOK_NAME });
        emit("done", { webhook_id: hook.id, webhook_message: sent.id, webhook_message_webhook_id: sent.webhookId });
      }
    } catch (e) {
      fail(e);
    }
  });
  emit("starting", { lib: LIB, version });
  await client.login(process.env.BOT_TOKEN);
}

(LIB === "discord.js" ? runDiscordJs() : runOceanic()).catch(fail);
