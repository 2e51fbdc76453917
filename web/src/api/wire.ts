// Wire types of Hearth's client API (the subset this client uses). They mirror the server's
// `hearth-wire` crate (crates/wire): every object type here has a fixture in
// web/wire-fixtures/*.json that `tsc` checks against these types (src/api/wire.check.ts) and
// that the Rust test `web_wire` (tests/it/web_wire.rs) parses into the hearth-wire type and
// compares with its re-serialization, so a field renamed, removed or retyped on the server
// fails the build of one side or the other. Snowflakes are strings; timestamps ISO 8601.

export type Snowflake = string;

/** `hearth_wire::User` ("Resources > User"). */
export interface User {
  id: Snowflake;
  username: string;
  discriminator: string;
  global_name: string | null;
  avatar: string | null;
  bot: boolean;
  system: boolean;
  public_flags: number;
  flags: number;
  /** `name@server`: how users are told apart across federation. */
  handle: string;
  /** The profile banner's hash, when there is one. */
  banner?: string | null;
  // Own user object only (`GET /users/@me`, READY, USER_UPDATE):
  email?: string | null;
  verified?: boolean;
  /** A second factor is on: TOTP *or* a passkey. */
  mfa_enabled?: boolean;
  /** Hearth: TOTP (an authenticator app) is on (own user object only). */
  totp_enabled?: boolean;
  bio?: string | null;
  /** Hearth: `0` anyone may DM, `1` only users sharing a server ([`DmPolicy`]; a number on
   *  the wire, so that a value a newer server adds still parses). */
  dm_policy?: number;
}

/** `dm_policy` of the own user object: who may open a DM with the user and message them. */
export const DmPolicy = { Anyone: 0, SharedServer: 1 } as const;
export type DmPolicy = (typeof DmPolicy)[keyof typeof DmPolicy];

/** `hearth_wire::ModifyMeBody` (`PATCH /users/@me`): images as data URIs, `null` removes;
 *  `new_password` needs the current `password`. */
export interface ModifyMeBody {
  global_name?: string | null;
  avatar?: string | null;
  bio?: string;
  password?: string;
  new_password?: string;
  /** [`DmPolicy`]. */
  dm_policy?: number;
}

/** `hearth_wire::AuthSession`: one login session of `GET /auth/sessions`. */
export interface AuthSession {
  id: Snowflake;
  created_at: string;
  last_refreshed_at: string;
  ip: string | null;
  user_agent: string | null;
  /** The session of the token that asked. */
  current: boolean;
}

/** `hearth_wire::BackupCode`: 8 characters `[a-z0-9]`, single-use. */
export interface BackupCode {
  user_id: Snowflake;
  code: string;
  consumed: boolean;
}

/** `hearth_wire::MfaEnabled`: `POST /users/@me/mfa/totp/enable` (a fresh access token of the
 *  same session; the other sessions are revoked) with the backup codes, shown this once. */
export interface MfaEnabled {
  token: string;
  backup_codes: BackupCode[];
}

/** `hearth_wire::BackupCodes`: `POST /users/@me/mfa/codes-verification`. */
export interface BackupCodes {
  backup_codes: BackupCode[];
}

/** `hearth_wire::TokenPair`: the answer of `POST /auth/register` and `POST /auth/login`. */
export interface TokenPair {
  user_id: Snowflake;
  token: string;
  refresh_token: string;
  /** Seconds until `token` expires. */
  expires_in: number;
  session_id: Snowflake;
}

/** `hearth_wire::RegisterBody`. */
export interface RegisterBody {
  username: string;
  password: string;
  email?: string;
  invite?: string;
  /** The one-time token the server prints at a start without an administrator: the new
   * account becomes the instance administrator (README "First start"). */
  setup_token?: string;
}

/** `hearth_wire::MfaChallenge`: the `POST /auth/login` answer for an account with a second
 * factor; completed with `POST /auth/mfa/totp|backup|webauthn` `{code, ticket}`. */
export interface MfaChallenge {
  token: null;
  user_id: Snowflake;
  mfa: true;
  sms: boolean;
  ticket: string;
  backup: boolean;
  totp: boolean;
  /** Request options for the account's passkeys (a JSON string), or null. */
  webauthn: string | null;
}

/** `hearth_wire::LoginAnswer`. */
export type LoginAnswer = TokenPair | MfaChallenge;

/** `hearth_wire::WebauthnCredential`: a registered passkey (never its key). */
export interface WebauthnCredential {
  id: Snowflake;
  name: string;
  type: number;
  created_at: string;
  last_used_at: string | null;
  backup_eligible: boolean;
  backed_up: boolean;
}

/** `hearth_wire::WebauthnChallenge`: a started ceremony (`challenge`: options as a JSON string). */
export interface WebauthnChallenge {
  ticket: string;
  challenge: string;
}

/** The `mfa` object of a 401 60003 answer (re-authentication required). */
export interface ReauthRequest {
  ticket: string | null;
  methods: { type: 'password' | 'totp' | 'webauthn' | string; backup_codes_allowed?: boolean; challenge?: string }[];
}

/** `hearth_wire::LoginBody`. */
export interface LoginBody {
  login: string;
  password: string;
}

/** `hearth_wire::RefreshBody`. */
export interface RefreshBody {
  refresh_token: string;
}

/** `hearth_wire::Role`. */
export interface Role {
  id: Snowflake;
  name: string;
  color: number;
  hoist: boolean;
  position: number;
  permissions: string;
  managed: boolean;
  mentionable: boolean;
}

/** `hearth_wire::Guild` (the fields this client reads). */
export interface Guild {
  id: Snowflake;
  name: string;
  icon: string | null;
  description: string | null;
  owner_id: Snowflake;
  roles: Role[];
}

/** `hearth_wire::CreateGuildBody` (Discord "Create Guild"). */
export interface CreateGuildBody {
  name: string;
  icon?: string | null;
  description?: string | null;
  /** The first entry is `@everyone`; `id`s are placeholders the channels' overwrites use. */
  roles?: CreateGuildRole[];
  /** Created instead of the default `#general`; `id`s are placeholders (`parent_id`). */
  channels?: CreateGuildChannel[];
  /** The placeholder of a text channel of `channels`. */
  system_channel_id?: number;
}

/** `hearth_wire::CreateGuildRole`. */
export interface CreateGuildRole {
  id: number;
  name?: string;
  permissions?: string;
  color?: number;
  hoist?: boolean;
}

/** `hearth_wire::CreateGuildChannel`. */
export interface CreateGuildChannel {
  id: number;
  name: string;
  type: number;
  parent_id?: number;
  topic?: string;
}

/** Channel types ("Resources > Channel > Channel Types") the client renders. */
export const ChannelType = {
  GuildText: 0,
  Dm: 1,
  GuildVoice: 2,
  GroupDm: 3,
  GuildCategory: 4,
  GuildAnnouncement: 5,
  AnnouncementThread: 10,
  PublicThread: 11,
  PrivateThread: 12,
  GuildForum: 15,
  GuildMedia: 16,
} as const;

/** Channel flags ("Resources > Channel > Channel Flags"): a forum's posts need a tag. */
export const REQUIRE_TAG = 1 << 4;

/** `hearth_wire::ThreadMetadata`: a thread's archive state (timestamps ISO 8601,
 *  `auto_archive_duration` in minutes). */
export interface ThreadMetadata {
  archived: boolean;
  auto_archive_duration: number;
  archive_timestamp: string;
  locked: boolean;
  invitable?: boolean;
  create_timestamp?: string;
}

/** `hearth_wire::ThreadMember`: a user's membership of a thread. */
export interface ThreadMember {
  id: Snowflake;
  user_id: Snowflake;
  join_timestamp: string;
  flags: number;
  guild_id?: Snowflake;
}

/** `hearth_wire::ForumTag`: a tag of a forum or media channel; `moderated` tags are applied
 *  only by MANAGE_THREADS holders. */
export interface ForumTag {
  id?: Snowflake;
  name: string;
  moderated: boolean;
  emoji_id: Snowflake | null;
  emoji_name: string | null;
}

/** `hearth_wire::Overwrite`: a channel permission overwrite (`type` 0 role, 1 member;
 * `allow`/`deny` as decimal strings). */
export interface Overwrite {
  id: Snowflake;
  type: number;
  allow: string;
  deny: string;
}

/** `hearth_wire::Channel`. Optional fields are absent for channel kinds that lack them. */
export interface Channel {
  id: Snowflake;
  type: number;
  guild_id?: Snowflake;
  name?: string | null;
  topic?: string | null;
  position?: number;
  permission_overwrites?: Overwrite[];
  parent_id?: Snowflake | null;
  last_message_id?: Snowflake | null;
  last_pin_timestamp?: string | null;
  /** DMs: the other participants (without the caller). */
  recipients?: User[];
  /** Channel flags (REQUIRE_TAG on forums). */
  flags?: number;
  rate_limit_per_user?: number;
  /** Threads (types 10, 11, 12; `parent_id` is the text, announcement or forum channel) and
   *  group DMs: the owner (of a group DM: who may remove people). */
  owner_id?: Snowflake;
  thread_metadata?: ThreadMetadata;
  /** Threads: messages in the thread, the starter message excluded. */
  message_count?: number;
  member_count?: number;
  total_message_sent?: number;
  /** Threads: the caller's membership, when they joined. */
  member?: ThreadMember;
  newly_created?: boolean;
  /** Forum and media channels: their tags. */
  available_tags?: ForumTag[];
  /** Forum posts: the ids of the tags applied. */
  applied_tags?: Snowflake[];
  default_reaction_emoji?: { emoji_id: Snowflake | null; emoji_name: string | null } | null;
  default_sort_order?: number | null;
  default_forum_layout?: number;
  default_thread_rate_limit_per_user?: number;
  /** Start Thread in Forum or Media Channel: the post's starter message. */
  message?: Message;
}

/** `hearth_wire::StartThreadBody`: `POST /channels/{id}/messages/{message_id}/threads` (name
 *  only) and `POST /channels/{id}/threads` (forum posts: `message` and `applied_tags`). */
export interface StartThreadBody {
  name: string;
  auto_archive_duration?: number;
  type?: number;
  message?: CreateMessageBody;
  applied_tags?: Snowflake[];
}

/** `hearth_wire::ThreadList`: `GET /guilds/{id}/threads/active` and the archived lists. */
export interface ThreadList {
  threads: Channel[];
  members: ThreadMember[];
  has_more?: boolean;
}

/** `THREAD_LIST_SYNC`: the active threads of `channel_ids` (all of the guild's when absent)
 *  the user gained access to. */
export interface ThreadListSync {
  guild_id: Snowflake;
  channel_ids?: Snowflake[];
  threads: Channel[];
  members: ThreadMember[];
}

/** `THREAD_DELETE`. */
export interface ThreadDelete {
  id: Snowflake;
  guild_id: Snowflake;
  parent_id: Snowflake;
  type: number;
  /** Group DMs: the icon hash (always null for now). */
  icon?: string | null;
}

/** `hearth_wire::CreateDmBody`: `POST /users/@me/channels` opens (or finds) the DM with a user
 *  (`recipient_id`), or creates a group DM (`recipients`: none or two to nine other users,
 *  an optional `name`). */
export interface CreateDmBody {
  recipient_id?: Snowflake;
  recipients?: Snowflake[];
  name?: string;
}

/** `hearth_wire::dispatch::ChannelRecipient`: CHANNEL_RECIPIENT_ADD and _REMOVE (group DMs). */
export interface ChannelRecipient {
  channel_id: Snowflake;
  user: User;
}

/** Message types of group DM system messages (Discord's RECIPIENT_ADD, RECIPIENT_REMOVE,
 *  CHANNEL_NAME_CHANGE). */
export const SystemMessageType = { RecipientAdd: 1, RecipientRemove: 2, ChannelNameChange: 4 } as const;

/** Relationship types ("Resources > Relationship"); Hearth keeps blocks only. */
export const RelationshipType = { Blocked: 2 } as const;

/** `hearth_wire::Relationship`: `GET /users/@me/relationships` and READY's `relationships`. */
export interface Relationship {
  /** The other user's id. */
  id: Snowflake;
  type: number;
  user: User;
  nickname: string | null;
}

/** `hearth_wire::RelationshipRemove`: the `RELATIONSHIP_REMOVE` payload (RELATIONSHIP_ADD
 *  carries a whole `Relationship`). */
export interface RelationshipRemove {
  id: Snowflake;
  type: number;
}

/** `hearth_wire::RelationshipBody`: `PUT /users/@me/relationships/{id}` (`type` 2 blocks). */
export interface RelationshipBody {
  type: number;
}

/** `hearth_wire::ChannelBody` (the fields this client sends). */
export interface ChannelBody {
  name: string;
  type: number;
  topic?: string | null;
  position?: number;
  parent_id?: Snowflake | null;
}

/** `hearth_wire::RoleBody` (the fields this client sends; permissions as a decimal string). */
export interface RoleBody {
  name: string;
  permissions?: string;
  color?: number;
  hoist?: boolean;
  mentionable?: boolean;
}

/** `hearth_wire::Member`. */
export interface Member {
  user?: User;
  nick: string | null;
  roles: Snowflake[];
  joined_at: string;
  /** A timeout's end (ISO 8601); while in the future the member can only read. */
  communication_disabled_until?: string | null;
}

/** `hearth_wire::dispatch::PresenceUpdate` (the fields this client reads). */
export interface PresenceUpdate {
  user: { id: Snowflake };
  guild_id?: Snowflake;
  /** online, idle, dnd or offline. */
  status: string;
}

/** `GUILD_CREATE`: the guild with the caller's view of it (`hearth::service::snapshot`). */
export interface GuildCreate extends Guild {
  channels: Channel[];
  members: Member[];
  presences?: PresenceUpdate[];
  member_count: number;
  joined_at: string;
  /** The active threads the user can see (Discord's GUILD_CREATE `threads`); the client
   *  adds the archived ones it fetched or saw archived. */
  threads?: Channel[];
}

/** `hearth_wire::GuildEmoji` (the fields this client reads): a custom emoji, its image at
 * `/emojis/{id}.png` (or `.gif` when `animated`) on the CDN. */
export interface GuildEmoji {
  id: Snowflake;
  name: string;
  animated?: boolean;
  available?: boolean;
}

/** `hearth_wire::Reaction`. */
export interface Reaction {
  count: number;
  me: boolean;
  emoji: { id: Snowflake | null; name: string | null };
}

/** `hearth_wire::Attachment`: a file of a message; `url` and `proxy_url` are signed and
 * expire (`media.url_ttl_seconds`); `width`/`height` only for images. */
export interface Attachment {
  id: Snowflake;
  filename: string;
  description?: string;
  content_type?: string;
  size: number;
  url: string;
  proxy_url: string;
  width?: number;
  height?: number;
}

/** `hearth_wire::MessageReference`. */
export interface MessageReference {
  message_id?: Snowflake;
  channel_id?: Snowflake;
  guild_id?: Snowflake;
}

/** `hearth_wire::Message` ("Resources > Message"). */
export interface Message {
  id: Snowflake;
  channel_id: Snowflake;
  guild_id?: Snowflake;
  author: User;
  member?: Member;
  content: string;
  timestamp: string;
  edited_timestamp: string | null;
  tts: boolean;
  mention_everyone: boolean;
  mentions: User[];
  mention_roles: Snowflake[];
  attachments: Attachment[];
  /** Rich embeds: the sender's free-form JSON as the server keeps it (hearth-wire
   *  `Vec<Value>`), read defensively by src/embeds.ts. */
  embeds?: unknown[];
  reactions?: Reaction[];
  nonce?: string | number;
  pinned: boolean;
  type: number;
  flags: number;
  message_reference?: MessageReference;
  /** The message replied to (`null`: deleted), present on replies. */
  referenced_message?: Message | null;
  /** A bot's message components (action rows). */
  components?: Component[];
  /** The application of an interaction's response or of its bot's message. */
  application_id?: Snowflake;
  /** Who ran the command this message answers. */
  interaction_metadata?: { id: Snowflake; type: number; user: User; name?: string; command_type?: number };
  /** The thread this message started. */
  thread?: Channel;
}

/** `hearth_wire::AttachmentRef`: on create, `id` names the `files[n]` part (`n`). */
export interface AttachmentRef {
  id: number | string;
  filename?: string;
}

/** `hearth_wire::CreateMessageBody` (the fields this client sends; with files it travels as
 * the `payload_json` part of a multipart body, "Reference > Uploading Files"). */
export interface CreateMessageBody {
  content: string;
  nonce?: string;
  message_reference?: MessageReference;
  attachments?: AttachmentRef[];
}

/** `hearth_wire::EditMessageBody` (the fields this client sends). */
export interface EditMessageBody {
  content: string;
}

/** `hearth_wire::CreateInviteBody` (the fields this client sends). */
export interface CreateInviteBody {
  max_age?: number;
  max_uses?: number;
}

/** `hearth_wire::InviteGuild`. */
export interface InviteGuild {
  id: Snowflake;
  name: string;
  icon: string | null;
  description: string | null;
}

/** `hearth_wire::Invite`. */
export interface Invite {
  type: number;
  code: string;
  guild: InviteGuild | null;
  channel: { id: Snowflake; name: string | null; type: number } | null;
  inviter: User | null;
  expires_at: string | null;
  /** Metadata, in a guild's or channel's invite list (`GET /guilds/{id}/invites`). */
  uses?: number;
  max_uses?: number;
  /** Seconds; 0: never expires. */
  max_age?: number;
  created_at?: string;
  channel_id?: Snowflake;
}

/** `hearth_wire::ModifyGuildBody` (the fields this client sends; `icon` a data URI, `null` removes). */
export interface ModifyGuildBody {
  name?: string;
  icon?: string | null;
  description?: string | null;
}

/** `hearth_wire::RolePosition`: one entry of `PATCH /guilds/{id}/roles`. */
export interface RolePosition {
  id: Snowflake;
  position: number;
}

/** `hearth_wire::OverwriteBody`: `PUT /channels/{id}/permissions/{overwrite_id}` (`type` 0 role,
 * 1 member; bits as decimal strings). */
export interface OverwriteBody {
  type: number;
  allow: string;
  deny: string;
}

/** `hearth_wire::Ban`: an entry of `GET /guilds/{id}/bans`. */
export interface Ban {
  reason: string | null;
  user: User;
}

/** `hearth_wire::BanBody`. */
export interface BanBody {
  delete_message_seconds?: number;
}

/** `hearth_wire::AuditLogEntry` ("Resources > Audit Log > Audit Log Entry Object"). */
export interface AuditLogEntry {
  id: Snowflake;
  guild_id: Snowflake;
  user_id: Snowflake;
  target_id: string | null;
  action_type: number;
  changes: { key: string; old_value?: unknown; new_value?: unknown }[] | null;
  options?: Record<string, unknown> | null;
  reason?: string | null;
}

/** `hearth_wire::AuditLog` (the fields this client reads). */
export interface AuditLog {
  audit_log_entries: AuditLogEntry[];
  users: User[];
}

/** `hearth_wire::Webhook`; `token` and `url` only in the creation's answer. */
export interface Webhook {
  id: Snowflake;
  type: number;
  guild_id: Snowflake | null;
  channel_id: Snowflake | null;
  user?: User;
  name: string | null;
  avatar: string | null;
  token?: string;
  url?: string;
}

/** `hearth_wire::CreateWebhookBody`. */
export interface CreateWebhookBody {
  name: string;
  avatar?: string | null;
}

/** `hearth_wire::dispatch::MessageDelete`: the `MESSAGE_DELETE` payload. */
export interface MessageDelete {
  id: Snowflake;
  channel_id: Snowflake;
  /** `null` in DMs. */
  guild_id: Snowflake | null;
}

/** `hearth_wire::dispatch::ChannelPinsUpdate`: the `CHANNEL_PINS_UPDATE` payload. */
export interface ChannelPinsUpdate {
  /** `null` in DMs. */
  guild_id: Snowflake | null;
  channel_id: Snowflake;
  /** The newest pin's time, `null` when none is left. */
  last_pin_timestamp: string | null;
}

/** `GUILD_ROLE_CREATE` / `GUILD_ROLE_UPDATE` (`hearth_wire::dispatch::GuildRole`). */
export interface GuildRoleEvent {
  guild_id: Snowflake;
  role: Role;
}

/** `GUILD_ROLE_DELETE`. */
export interface GuildRoleDelete {
  guild_id: Snowflake;
  role_id: Snowflake;
}

/** `hearth_wire::dispatch::ReactionAdd` / `ReactionRemove`: MESSAGE_REACTION_ADD / _REMOVE. */
export interface ReactionEvent {
  user_id: Snowflake;
  channel_id: Snowflake;
  message_id: Snowflake;
  guild_id?: Snowflake | null;
  emoji: { id: Snowflake | null; name: string | null };
}

/** `hearth_wire::dispatch::TypingStart`: the `TYPING_START` payload. */
export interface TypingStart {
  channel_id: Snowflake;
  /** `null` in DMs. */
  guild_id: Snowflake | null;
  user_id: Snowflake;
  /** Unix time in seconds. */
  timestamp: number;
  /** In guilds: the typing member, with `user`. */
  member?: Member;
}

/** Discord's error body: `{code, message, errors?}` ("Reference > Error Messages"). */
export interface ApiErrorBody {
  code: number;
  message: string;
  /** 401 60003: how the caller may re-authenticate. */
  mfa?: ReauthRequest;
  errors?: unknown;
  retry_after?: number;
}

/** One channel's read state in READY (`crates/wire/src/read_state.rs`). */
export interface ReadStateEntry {
  id: Snowflake;
  last_message_id: Snowflake;
  /** Counted by the server up to 100 (shown as "99+" from 100 on). */
  mention_count: number;
  last_pin_timestamp: string | null;
  flags: number;
}

/** READY's `read_state` (user sessions only). */
export interface ReadState {
  version: number;
  partial: boolean;
  entries: ReadStateEntry[];
}

/** `MESSAGE_ACK`: this user acknowledged a message, in this session or another. */
export interface MessageAck {
  channel_id: Snowflake;
  message_id: Snowflake;
  version: number;
  mention_count: number;
  ack_type: number;
}

/** `PASSIVE_UPDATE_V1`: channels of a passive guild (one this session has not opened) whose
 *  newest message moved; the messages themselves were not sent (spec/gateway.md). */
export interface PassiveUpdate {
  guild_id: Snowflake;
  channels: { id: Snowflake; last_message_id: Snowflake }[];
}

/** IDENTIFY `capabilities` bit asking for passive guilds (Discord's PASSIVE_GUILD_UPDATE). */
export const PASSIVE_GUILD_UPDATE = 1 << 11;

/** The `READY` dispatch (the fields this client reads). */
export interface Ready {
  v: number;
  user: User;
  session_id: string;
  resume_gateway_url?: string;
  guilds: { id: Snowflake; unavailable?: boolean }[];
  read_state?: ReadState;
  /** The user's DM channels (with `recipients`). */
  private_channels?: Channel[];
  /** The user's blocks. */
  relationships?: Relationship[];
}

/** Gateway opcodes ("Topics > Opcodes and Status Codes"). */
export const Op = {
  Dispatch: 0,
  Heartbeat: 1,
  Identify: 2,
  Resume: 6,
  Reconnect: 7,
  InvalidSession: 9,
  Hello: 10,
  HeartbeatAck: 11,
  /** Guild subscriptions (Discord's GUILD_SUBSCRIPTIONS_BULK): the open guild is active. */
  GuildSubscriptionsBulk: 37,
} as const;

/** One gateway frame. */
export interface GatewayPayload {
  op: number;
  d: unknown;
  s: number | null;
  t: string | null;
}

/** `hearth_wire::Component` (Discord "Components > Component Reference"): 1 action row, 2
 * button, 3 string select, 4 text input (modals), 5 user, 6 role, 7 mentionable, 8 channel
 * select. Which fields apply depends on `type`. */
export interface Component {
  type: number;
  custom_id?: string;
  style?: number;
  label?: string;
  emoji?: { id?: Snowflake | null; name?: string | null };
  url?: string;
  disabled?: boolean;
  options?: SelectOption[];
  channel_types?: number[];
  placeholder?: string;
  min_values?: number;
  max_values?: number;
  min_length?: number;
  max_length?: number;
  required?: boolean;
  value?: string;
  components?: Component[];
}

/** `hearth_wire::SelectOption`. */
export interface SelectOption {
  label: string;
  value: string;
  description?: string;
  emoji?: { id?: Snowflake | null; name?: string | null };
  default?: boolean;
}

/** `hearth_wire::CommandChoice`. */
export interface CommandChoice {
  name: string;
  value: string | number;
}

/** `hearth_wire::CommandOption`: 1 subcommand, 2 group, 3 string, 4 integer, 5 boolean, 6
 * user, 7 channel, 8 role, 9 mentionable, 10 number, 11 attachment. */
export interface CommandOption {
  type: number;
  name: string;
  description: string;
  required?: boolean;
  choices?: CommandChoice[];
  options?: CommandOption[];
  channel_types?: number[];
  min_value?: number;
  max_value?: number;
  min_length?: number;
  max_length?: number;
  autocomplete?: boolean;
}

/** `hearth_wire::ChannelPosition`: one entry of `PATCH /guilds/{id}/channels` (with
 *  `lock_permissions` the channel takes a copy of its category's overwrites). */
export interface ChannelPosition {
  id: Snowflake;
  position?: number;
  parent_id?: Snowflake | null;
  lock_permissions?: boolean;
}

/** `hearth_wire::ApplicationCommand` (the fields this client reads). */
export interface ApplicationCommand {
  id: Snowflake;
  type: number;
  application_id: Snowflake;
  guild_id?: Snowflake | null;
  name: string;
  description: string;
  options?: CommandOption[];
  /** Who may use it by default: a permission set as a decimal string, all of whose bits the
   *  member needs in the channel; "0": administrators only; null: everyone. */
  default_member_permissions: string | null;
  version: Snowflake;
}

/** `hearth_wire::ApplicationCommandIndex`: `GET /guilds/{id}/application-command-index`. */
export interface ApplicationCommandIndex {
  applications: { id: Snowflake; name: string; description: string; bot_id: Snowflake }[];
  application_commands: ApplicationCommand[];
  version: Snowflake;
}

/** An option value this client sends (`hearth_wire::InteractionDataOption`). */
export interface InteractionOption {
  type: number;
  name: string;
  value?: string | number | boolean;
  options?: InteractionOption[];
  focused?: boolean;
}

/** `hearth_wire::InteractionRequest`: the body of `POST /interactions`. */
export interface InteractionRequest {
  type: 2 | 3 | 4 | 5;
  application_id: Snowflake;
  guild_id: Snowflake;
  channel_id: Snowflake;
  session_id: string;
  nonce: string;
  message_id?: Snowflake;
  message_flags?: number;
  data: {
    id?: Snowflake;
    name?: string;
    type?: number;
    version?: Snowflake;
    options?: InteractionOption[];
    /** USER and MESSAGE commands: the user or message the command runs on. */
    target_id?: Snowflake;
    custom_id?: string;
    component_type?: number;
    values?: string[];
    components?: Component[];
  };
}

/** `hearth_wire::InteractionClientEvent`: INTERACTION_CREATE / _SUCCESS / _FAILURE to the
 * invoking user's sessions. */
export interface InteractionClientEvent {
  id: Snowflake;
  nonce: string | null;
}

/** `hearth_wire::InteractionModalCreate`. */
export interface InteractionModalCreate {
  id: Snowflake;
  nonce: string | null;
  channel_id: Snowflake;
  application: { id: Snowflake; name: string };
  custom_id: string;
  title: string;
  components: Component[];
}

/** `hearth_wire::AutocompleteResponse`. */
export interface AutocompleteResponse {
  nonce: string | null;
  choices: CommandChoice[];
}

/** The answer of a message search (crates/wire/src/search.rs `MessageSearchResult`): one list
 *  per result holding just that message, without `reactions`. */
export interface MessageSearchResult {
  total_results: number;
  messages: Message[][];
  /** The threads holding results, and the caller's thread members among them. */
  threads?: Channel[];
  members?: ThreadMember[];
}
