// Bots' side of the client, without React: message components (action rows, buttons,
// selects), modals' text inputs, and application commands (the `/` list, option values
// checked and converted as the server declares them), plus the bodies of `POST
// /interactions` (Discord "Interactions > Receiving and Responding", "Components").
import type {
  ApplicationCommand,
  ApplicationCommandIndex,
  Channel,
  CommandChoice,
  CommandOption,
  Component,
  GuildCreate,
  InteractionModalCreate,
  InteractionOption,
  InteractionRequest,
  Snowflake,
} from './api/wire';
import { P } from './permissions';

/** Component types (Discord "Component Types"). */
export const C = {
  ROW: 1,
  BUTTON: 2,
  STRING_SELECT: 3,
  TEXT_INPUT: 4,
  USER_SELECT: 5,
  ROLE_SELECT: 6,
  MENTIONABLE_SELECT: 7,
  CHANNEL_SELECT: 8,
} as const;

/** Button styles: 1 primary, 2 secondary, 3 success, 4 danger, 5 link. */
export const BUTTON_STYLES: Record<number, string> = { 1: 'primary', 2: 'secondary', 3: 'success', 4: 'danger', 5: 'linkout' };

/** Command option types (Discord "Application Command Option Type"). */
export const O = {
  SUB_COMMAND: 1,
  SUB_COMMAND_GROUP: 2,
  STRING: 3,
  INTEGER: 4,
  BOOLEAN: 5,
  USER: 6,
  CHANNEL: 7,
  ROLE: 8,
  MENTIONABLE: 9,
  NUMBER: 10,
  ATTACHMENT: 11,
} as const;

/** How long the client waits for the server's INTERACTION_SUCCESS or _FAILURE (the server
 *  gives the application 3 seconds, then reports the failure; this covers a lost event). */
export const INTERACTION_TIMEOUT_MS = 10_000;

/** The action rows of a message: rows with their children (anything else is skipped). */
export function actionRows(components: Component[] | undefined): Component[][] {
  return (components ?? []).filter((r) => r.type === C.ROW).map((r) => (r.components ?? []).filter((c) => c.type !== C.ROW));
}

export function isSelect(type: number): boolean {
  return type === C.STRING_SELECT || (type >= C.USER_SELECT && type <= C.CHANNEL_SELECT);
}

/** A select's bounds on the number of values (Discord: min 1, max 1 by default). */
export function selectLimits(c: Component): { min: number; max: number } {
  const min = c.min_values ?? 1;
  return { min, max: Math.max(min, c.max_values ?? 1) };
}

/** Whether `values` may be submitted for select `c`: a count within its bounds, distinct. */
export function selectValid(c: Component, values: string[]): boolean {
  const { min, max } = selectLimits(c);
  return values.length >= min && values.length <= max && new Set(values).size === values.length;
}

/** A link button's URL when it is one the client may open (http or https). */
export function safeUrl(url: string | undefined): string | null {
  if (!url) return null;
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

/** One choice of an entity select or an entity option: a user, role or channel. */
export interface Entity {
  id: Snowflake;
  label: string;
  kind: 'user' | 'role' | 'channel';
}

const USER_KINDS: readonly Entity['kind'][] = ['user'];
const ROLE_KINDS: readonly Entity['kind'][] = ['role'];
const CHANNEL_KINDS: readonly Entity['kind'][] = ['channel'];
const MENTIONABLE_KINDS: readonly Entity['kind'][] = ['user', 'role'];

/** Which entities a select type (5-8) or an option type (6-9) offers. */
export function entityKinds(select: number | null, option: number | null = null): readonly Entity['kind'][] {
  if (select === C.USER_SELECT || option === O.USER) return USER_KINDS;
  if (select === C.ROLE_SELECT || option === O.ROLE) return ROLE_KINDS;
  if (select === C.CHANNEL_SELECT || option === O.CHANNEL) return CHANNEL_KINDS;
  if (select === C.MENTIONABLE_SELECT || option === O.MENTIONABLE) return MENTIONABLE_KINDS;
  return [];
}

/** The guild's users, roles or channels (of `channelTypes` when given) as the client knows
 *  them, sorted by label: what an entity picker offers. */
export function entities(guild: GuildCreate, kinds: readonly Entity['kind'][], channelTypes?: number[]): Entity[] {
  const out: Entity[] = [];
  if (kinds.includes('user'))
    for (const m of guild.members)
      if (m.user) out.push({ id: m.user.id, label: m.nick ?? m.user.global_name ?? m.user.username, kind: 'user' });
  if (kinds.includes('role')) for (const r of guild.roles) out.push({ id: r.id, label: r.id === guild.id ? '@everyone' : `@${r.name}`, kind: 'role' });
  if (kinds.includes('channel'))
    for (const c of guild.channels as Channel[])
      if (!channelTypes?.length || channelTypes.includes(c.type)) out.push({ id: c.id, label: `#${c.name ?? c.id}`, kind: 'channel' });
  return out.sort((a, b) => a.label.localeCompare(b.label));
}

/** Where an interaction happens, and the gateway session that will get its events. */
export interface Place {
  applicationId: Snowflake;
  guildId: Snowflake;
  channelId: Snowflake;
  sessionId: string;
  nonce: string;
}

function base(p: Place) {
  return { application_id: p.applicationId, guild_id: p.guildId, channel_id: p.channelId, session_id: p.sessionId, nonce: p.nonce };
}

/** Type 3: a button clicked (no values) or select values chosen on message `messageId`. */
export function componentBody(p: Place, messageId: Snowflake, messageFlags: number, c: Component, values?: string[]): InteractionRequest {
  return {
    ...base(p),
    type: 3,
    message_id: messageId,
    message_flags: messageFlags,
    data: { custom_id: c.custom_id ?? '', component_type: c.type, ...(values ? { values } : {}) },
  };
}

/** The text inputs of a modal, in order. */
export function textInputs(modal: { components: Component[] }): Component[] {
  return actionRows(modal.components)
    .flat()
    .filter((c) => c.type === C.TEXT_INPUT);
}

/** Why a text input's value cannot be submitted (required, min/max length in characters), or null. */
export function textInputError(c: Component, value: string): string | null {
  const n = [...value].length;
  const required = c.required ?? true;
  if (n === 0) return required ? 'required' : null;
  if (c.min_length !== undefined && n < c.min_length) return `min:${c.min_length}`;
  if (c.max_length !== undefined && n > c.max_length) return `max:${c.max_length}`;
  return null;
}

/** Type 5: the modal's values, one action row per text input (Discord's shape). */
export function modalBody(p: Place, modal: InteractionModalCreate, values: Record<string, string>): InteractionRequest {
  return {
    ...base(p),
    type: 5,
    data: {
      id: modal.id,
      custom_id: modal.custom_id,
      components: textInputs(modal).map((c) => ({
        type: C.ROW,
        components: [{ type: C.TEXT_INPUT, custom_id: c.custom_id ?? '', value: values[c.custom_id ?? ''] ?? '' }],
      })),
    },
  };
}

/** One entry of the `/` list: a command, or one of its subcommands (`path`), with the value
 *  options to fill. */
export interface CommandEntry {
  command: ApplicationCommand;
  application: string;
  /** Subcommand group and/or subcommand names. */
  path: string[];
  options: CommandOption[];
  description: string;
}

/** The CHAT_INPUT commands of an index, each subcommand its own entry, by full name. */
export function commandEntries(index: ApplicationCommandIndex): CommandEntry[] {
  const out: CommandEntry[] = [];
  for (const command of index.application_commands) {
    if (command.type !== 1) continue;
    const application = index.applications.find((a) => a.id === command.application_id)?.name ?? '';
    const walk = (path: string[], options: CommandOption[], description: string) => {
      const subs = options.filter((o) => o.type === O.SUB_COMMAND || o.type === O.SUB_COMMAND_GROUP);
      if (subs.length === 0) out.push({ command, application, path, options, description });
      for (const s of subs) walk([...path, s.name], s.options ?? [], s.description);
    };
    walk([], command.options ?? [], command.description);
  }
  return out.sort((a, b) => entryName(a).localeCompare(entryName(b)));
}

/** `name sub` of an entry, without the slash. */
export function entryName(e: CommandEntry): string {
  return [e.command.name, ...e.path].join(' ');
}

/** The entries the composer offers for `text`: null when `text` is no command prefix
 *  (it must start with `/`, on one line); else those whose name starts with what follows. */
export function matchCommands(entries: CommandEntry[], text: string): CommandEntry[] | null {
  if (!text.startsWith('/') || text.includes('\n')) return null;
  const q = text.slice(1).trim().toLowerCase();
  return entries.filter((e) => entryName(e).toLowerCase().startsWith(q));
}

/** Why an option value is refused ('required', 'integer', 'number', 'min:N', 'max:N',
 *  'minLength:N', 'maxLength:N', 'choice'), keyed by option name. */
export type OptionErrors = Record<string, string>;

/** Converts one filled-in value to its option type; an error code or the value. */
function convert(o: CommandOption, raw: string): { value: string | number | boolean } | { error: string } {
  switch (o.type) {
    case O.INTEGER:
    case O.NUMBER: {
      const v = Number(raw.trim());
      if (raw.trim() === '' || !Number.isFinite(v)) return { error: o.type === O.INTEGER ? 'integer' : 'number' };
      if (o.type === O.INTEGER && !Number.isSafeInteger(v)) return { error: 'integer' };
      if (o.min_value !== undefined && v < o.min_value) return { error: `min:${o.min_value}` };
      if (o.max_value !== undefined && v > o.max_value) return { error: `max:${o.max_value}` };
      if (o.choices?.length && !o.choices.some((c) => c.value === v)) return { error: 'choice' };
      return { value: v };
    }
    case O.BOOLEAN:
      return { value: raw === 'true' };
    case O.STRING: {
      const n = [...raw].length;
      if (o.min_length !== undefined && n < o.min_length) return { error: `minLength:${o.min_length}` };
      if (o.max_length !== undefined && n > o.max_length) return { error: `maxLength:${o.max_length}` };
      if (o.choices?.length && !o.choices.some((c) => c.value === raw)) return { error: 'choice' };
      return { value: raw };
    }
    default:
      return { value: raw };
  }
}

/** Wraps value options into the entry's subcommand path. */
function nest(path: string[], options: InteractionOption[]): InteractionOption[] {
  const [first, ...rest] = path;
  if (first === undefined) return options;
  return [{ type: rest.length > 0 ? O.SUB_COMMAND_GROUP : O.SUB_COMMAND, name: first, options: nest(rest, options) }];
}

/** The options of an invocation from the form's values (by option name; '' = not given):
 *  converted and checked as declared, or the errors. */
export function buildOptions(entry: CommandEntry, values: Record<string, string>): { options: InteractionOption[] } | { errors: OptionErrors } {
  const errors: OptionErrors = {};
  const options: InteractionOption[] = [];
  for (const o of entry.options) {
    const raw = values[o.name] ?? '';
    if (raw === '') {
      if (o.required) errors[o.name] = 'required';
      continue;
    }
    const r = convert(o, raw);
    if ('error' in r) errors[o.name] = r.error;
    else options.push({ type: o.type, name: o.name, value: r.value });
  }
  if (Object.keys(errors).length > 0) return { errors };
  return { options: nest(entry.path, options) };
}

/** Type 2: run `entry` with `options`. */
export function commandBody(p: Place, entry: CommandEntry, options: InteractionOption[]): InteractionRequest {
  const c = entry.command;
  return { ...base(p), type: 2, data: { id: c.id, name: c.name, type: 1, version: c.version, options } };
}

/** Type 4: the choices for option `focused` while it reads `values[focused]` (a partial
 *  value, unchecked; the other options as far as they convert). */
export function autocompleteBody(p: Place, entry: CommandEntry, values: Record<string, string>, focused: string): InteractionRequest {
  const options: InteractionOption[] = [];
  for (const o of entry.options) {
    const raw = values[o.name] ?? '';
    if (o.name === focused) options.push({ type: o.type, name: o.name, value: raw, focused: true });
    else if (raw !== '') {
      const r = convert(o, raw);
      if (!('error' in r)) options.push({ type: o.type, name: o.name, value: r.value });
    }
  }
  const c = entry.command;
  return { ...base(p), type: 4, data: { id: c.id, name: c.name, type: 1, version: c.version, options: nest(entry.path, options) } };
}

/** Application command types (Discord "Application Command Types"). */
export const COMMAND_TYPE = { CHAT_INPUT: 1, USER: 2, MESSAGE: 3 } as const;

/** One entry of a context menu's "Apps" list: a USER or MESSAGE command. */
export interface ContextEntry {
  command: ApplicationCommand;
  application: string;
}

/** Whether a member with `perms` in the channel may use `command` by its
 *  `default_member_permissions` (the server's `may_use`: null: everyone; "0": ADMINISTRATOR
 *  only; otherwise every bit of the set). A guild's per-command permission overrides are not
 *  in the index, so a command they open to a member is not listed to him. */
export function usableBy(command: ApplicationCommand, perms: bigint): boolean {
  const d = command.default_member_permissions;
  if (d === null || d === undefined) return true;
  let need: bigint;
  try {
    need = BigInt(d);
  } catch {
    return true;
  }
  if (need === 0n) return (perms & P.ADMINISTRATOR) !== 0n;
  return (perms & need) === need;
}

/** Whether the "Apps" menu of `kind` may be offered where the member's permissions are
 *  `perms` (the server refuses a command without USE_APPLICATION_COMMANDS in the channel,
 *  and a MESSAGE command without READ_MESSAGE_HISTORY there). */
export function appsAllowed(perms: bigint, kind: 2 | 3): boolean {
  const need = P.USE_APPLICATION_COMMANDS | (kind === 3 ? P.READ_MESSAGE_HISTORY : 0n);
  return (perms & need) === need;
}

/** The index's commands of `kind` (USER 2 or MESSAGE 3) usable with `perms` in the channel,
 *  by name then application. */
export function contextEntries(index: ApplicationCommandIndex, kind: 2 | 3, perms: bigint): ContextEntry[] {
  return index.application_commands
    .filter((c) => c.type === kind && usableBy(c, perms))
    .map((command) => ({ command, application: index.applications.find((a) => a.id === command.application_id)?.name ?? '' }))
    .sort((a, b) => a.command.name.localeCompare(b.command.name) || a.application.localeCompare(b.application));
}

/** Type 2: run context-menu command `entry` on `targetId` (a user for USER commands, a
 *  message of the channel for MESSAGE commands; the server resolves it into `data.resolved`). */
export function contextBody(p: Place, entry: ContextEntry, targetId: Snowflake): InteractionRequest {
  const c = entry.command;
  return { ...base(p), type: 2, data: { id: c.id, name: c.name, type: c.type, version: c.version, target_id: targetId } };
}

/** A choice's value as the form keeps it (a string). */
export function choiceText(c: CommandChoice): string {
  return String(c.value);
}

/** A fresh nonce (Discord's clients send a snowflake-like decimal string). */
export function interactionNonce(): string {
  return `${Date.now()}${Math.floor(Math.random() * 1e6)
    .toString()
    .padStart(6, '0')}`;
}
