// The REST client: `/api/v10` on the origin that served this page, Discord's error format,
// one automatic token refresh on 401, and re-authentication on 401 60003 (a sensitive action
// needs a recent proof: the `reauth` handler asks the user, `POST /mfa/finish` proves it,
// the request is sent again).
import type {
  StartThreadBody,
  ThreadList,
  ApplicationCommandIndex,
  InteractionRequest,
  GuildEmoji,
  ApiErrorBody,
  AuthSession,
  BackupCodes,
  MfaEnabled,
  ModifyMeBody,
  AuditLog,
  Ban,
  BanBody,
  CreateWebhookBody,
  ModifyGuildBody,
  OverwriteBody,
  RolePosition,
  Webhook,
  Channel,
  ChannelPosition,
  ChannelBody,
  CreateDmBody,
  CreateGuildBody,
  CreateInviteBody,
  CreateMessageBody,
  Guild,
  Invite,
  LoginAnswer,
  LoginBody,
  Message,
  MessageSearchResult,
  RegisterBody,
  Relationship,
  RelationshipBody,
  Role,
  RoleBody,
  ReauthRequest,
  Snowflake,
  TokenPair,
  User,
  WebauthnChallenge,
  WebauthnCredential,
} from './wire';
import { messageForm } from '../files';

/** One member server of this server's guilds (`GET /admin/federation/peers`, instance
 *  administrators; a JSON object of the server's operator view, not a hearth-wire type). */
export interface FederationPeer {
  server: string;
  guilds: number;
  pending: number;
  lag_seconds: number;
  failures: number;
  dead: boolean;
  blocked: boolean;
}

/** A proof for `POST /mfa/finish`. */
export interface ReauthProof {
  mfa_type: 'password' | 'totp' | 'backup' | 'webauthn';
  data: string;
  ticket?: string | null;
}

/**
 * Asks the user to re-authenticate for a 401 60003 answer; resolves true once
 * `POST /mfa/finish` succeeded (the request is then repeated), false when the user gave up.
 */
export type ReauthHandler = (mfa: ReauthRequest) => Promise<boolean>;

export const API_BASE = '/api/v10';

/** A failed request: Discord's `{code, message, errors}` plus the HTTP status. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: number;
  readonly errors: unknown;
  /** 401 60003: the re-authentication methods. */
  readonly mfa: ReauthRequest | undefined;

  constructor(status: number, body: Partial<ApiErrorBody>) {
    super(body.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body.code ?? 0;
    this.errors = body.errors;
    this.mfa = body.mfa;
  }

  /** The first field error's message (`errors.<field>._errors[0].message`), or the message. */
  detail(): string {
    const first = findFieldError(this.errors);
    return first ? `${this.message}: ${first}` : this.message;
  }
}

function findFieldError(e: unknown): string | undefined {
  if (!e || typeof e !== 'object') return undefined;
  const rec = e as Record<string, unknown>;
  const list = rec['_errors'];
  if (Array.isArray(list) && list.length > 0) {
    const m = (list[0] as { message?: unknown }).message;
    if (typeof m === 'string') return m;
  }
  for (const v of Object.values(rec)) {
    const found = findFieldError(v);
    if (found) return found;
  }
  return undefined;
}

/** Where the session's tokens live; see web/README.md ("Tokens"). */
export interface TokenStore {
  get(): TokenPair | null;
  set(t: TokenPair | null): void;
}

export class Rest {
  private refreshing: Promise<boolean> | null = null;
  private reauth: ReauthHandler | null = null;

  constructor(private readonly tokens: TokenStore) {}

  /** Set by the signed-in session: who answers 401 60003 (see {@link ReauthHandler}). */
  setReauth(handler: ReauthHandler | null) {
    this.reauth = handler;
  }

  private async request<T>(method: string, path: string, body?: unknown, retry = true, reason?: string): Promise<T> {
    const headers: Record<string, string> = {};
    // Discord's audit log reason: URL-encoded UTF-8 in `X-Audit-Log-Reason`.
    if (reason) headers['X-Audit-Log-Reason'] = encodeURIComponent(reason);
    const t = this.tokens.get();
    if (t) headers['Authorization'] = `Bearer ${t.token}`;
    // A FormData body (files) sets its own multipart Content-Type with the boundary.
    const form = body instanceof FormData;
    if (body !== undefined && !form) headers['Content-Type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(API_BASE + path, {
        method,
        headers,
        body: body === undefined ? undefined : form ? body : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, { message: 'network error', code: 0 });
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON (a proxy's error page): the status alone.
      json = undefined;
    }
    if (res.status === 401 && retry) {
      const err = (json ?? {}) as Partial<ApiErrorBody>;
      if (err.code === 60003 && err.mfa) {
        if (this.reauth && (await this.reauth(err.mfa))) return this.request<T>(method, path, body, false, reason);
      } else if (t && (await this.refresh())) {
        return this.request<T>(method, path, body, false, reason);
      }
    }
    if (!res.ok) throw new ApiError(res.status, (json ?? {}) as Partial<ApiErrorBody>);
    return json as T;
  }

  /** Trades the refresh token for a new pair (once, shared by concurrent callers). */
  private refresh(): Promise<boolean> {
    this.refreshing ??= (async () => {
      const t = this.tokens.get();
      if (!t) return false;
      try {
        const pair = await this.request<TokenPair>('POST', '/auth/refresh', { refresh_token: t.refresh_token }, false);
        this.tokens.set(pair);
        return true;
      } catch {
        this.tokens.set(null);
        return false;
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  register(b: RegisterBody) {
    return this.request<TokenPair>('POST', '/auth/register', b);
  }
  login(b: LoginBody) {
    return this.request<LoginAnswer>('POST', '/auth/login', b);
  }
  /** Completes a login's second factor: `POST /auth/mfa/{totp|backup|webauthn}`. */
  loginMfa(kind: 'totp' | 'backup' | 'webauthn', ticket: string, code: string) {
    return this.request<TokenPair>('POST', `/auth/mfa/${kind}`, { ticket, code });
  }
  /** Passwordless login: `POST /auth/passkey/start`. */
  passkeyStart() {
    return this.request<WebauthnChallenge>('POST', '/auth/passkey/start', {});
  }
  /** Passwordless login: `POST /auth/passkey/finish`. */
  passkeyFinish(ticket: string, credential: unknown) {
    return this.request<TokenPair>('POST', '/auth/passkey/finish', { ticket, credential });
  }
  /** `POST /mfa/finish`: proves the password or a second factor; keeps the fresh token. */
  async mfaFinish(proof: ReauthProof) {
    const r = await this.request<{ token: string }>('POST', '/mfa/finish', proof, false);
    const t = this.tokens.get();
    if (t) this.tokens.set({ ...t, token: r.token });
  }
  /** `GET /admin/federation/peers` (instance administrators; 403 50013 for others). */
  federationPeers() {
    return this.request<FederationPeer[]>('GET', '/admin/federation/peers');
  }
  passkeys() {
    return this.request<WebauthnCredential[]>('GET', '/users/@me/mfa/webauthn/credentials');
  }
  addPasskeyStart() {
    return this.request<WebauthnChallenge>('POST', '/users/@me/mfa/webauthn/credentials', {});
  }
  addPasskeyFinish(name: string, ticket: string, credential: unknown) {
    return this.request<WebauthnCredential>('POST', '/users/@me/mfa/webauthn/credentials', { name, ticket, credential });
  }
  renamePasskey(id: Snowflake, name: string) {
    return this.request<WebauthnCredential>('PATCH', `/users/@me/mfa/webauthn/credentials/${id}`, { name });
  }
  deletePasskey(id: Snowflake) {
    return this.request<undefined>('DELETE', `/users/@me/mfa/webauthn/credentials/${id}`);
  }
  logout() {
    return this.request<undefined>('POST', '/auth/logout');
  }
  me() {
    return this.request<User>('GET', '/users/@me');
  }
  // Account settings (src/ui/Account.tsx).
  /** `PATCH /users/@me`: display name, avatar (a data URI, `null` removes), DM policy; a
   *  password change sends `password` and `new_password` (the other sessions end). */
  modifyMe(b: ModifyMeBody) {
    return this.request<User>('PATCH', '/users/@me', b);
  }
  /** `GET /auth/sessions`: the account's login sessions, `current` marking this one. */
  sessions() {
    return this.request<AuthSession[]>('GET', '/auth/sessions');
  }
  /** `DELETE /auth/sessions/{id}`: ends a session (its tokens stop working at once). */
  revokeSession(id: Snowflake) {
    return this.request<undefined>('DELETE', `/auth/sessions/${id}`);
  }
  /** Keeps the fresh access token an MFA change answers (same session). */
  private keepToken(token: string) {
    const t = this.tokens.get();
    if (t) this.tokens.set({ ...t, token });
  }
  /** `POST /users/@me/mfa/totp/enable` `{secret, code, password}`: the backup codes. */
  async enableTotp(secret: string, code: string, password: string) {
    const r = await this.request<MfaEnabled>('POST', '/users/@me/mfa/totp/enable', { secret, code, password });
    this.keepToken(r.token);
    return r.backup_codes;
  }
  /** `POST /users/@me/mfa/totp/disable` `{code}` (an authentication or a backup code). */
  async disableTotp(code: string) {
    const r = await this.request<{ token: string }>('POST', '/users/@me/mfa/totp/disable', { code });
    this.keepToken(r.token);
  }
  /** `POST /users/@me/mfa/codes-verification` `{password, regenerate: true}`: ten new backup
   *  codes replacing the old ones (they are stored hashed: never shown again). */
  async regenerateBackupCodes(password: string) {
    const r = await this.request<BackupCodes>('POST', '/users/@me/mfa/codes-verification', { password, regenerate: true });
    return r.backup_codes;
  }
  createGuild(b: CreateGuildBody) {
    return this.request<Guild>('POST', '/guilds', b);
  }
  guildChannels(guild: Snowflake) {
    return this.request<Channel[]>('GET', `/guilds/${guild}/channels`);
  }
  getInvite(code: string) {
    return this.request<Invite>('GET', `/invites/${encodeURIComponent(code)}`);
  }
  acceptInvite(code: string) {
    return this.request<Invite>('POST', `/invites/${encodeURIComponent(code)}`);
  }
  createInvite(channel: Snowflake, b: CreateInviteBody) {
    return this.request<Invite>('POST', `/channels/${channel}/invites`, b);
  }
  /** `POST /channels/{c}/messages/{m}/ack`: this user has read the channel up to `message`. */
  ack(channel: Snowflake, message: Snowflake) {
    return this.request<{ token: null }>('POST', `/channels/${channel}/messages/${message}/ack`, { token: null });
  }
  /** `GET /channels/{id}/messages`: newest first, at most `limit` (1..100); one of `before`,
   *  `after` or `around` (Discord "Get Channel Messages"). */
  messages(channel: Snowflake, opts: { before?: Snowflake; after?: Snowflake; around?: Snowflake; limit?: number } = {}) {
    const q = new URLSearchParams({ limit: String(opts.limit ?? 50) });
    if (opts.before) q.set('before', opts.before);
    else if (opts.after) q.set('after', opts.after);
    else if (opts.around) q.set('around', opts.around);
    return this.request<Message[]>('GET', `/channels/${channel}/messages?${q}`);
  }
  sendMessage(channel: Snowflake, b: CreateMessageBody) {
    return this.request<Message>('POST', `/channels/${channel}/messages`, b);
  }
  /** A message with files: one `multipart/form-data` request (see `messageForm`). */
  sendMessageWithFiles(channel: Snowflake, b: CreateMessageBody, files: File[]) {
    return this.request<Message>('POST', `/channels/${channel}/messages`, messageForm(b, files));
  }
  /** `GET /channels/{id}`: one channel (a thread the client does not hold, e.g. archived). */
  channel(id: Snowflake) {
    return this.request<Channel>('GET', `/channels/${id}`);
  }
  /** `POST /channels/{id}/messages/{message}/threads`: a public thread started from a message. */
  startThreadFromMessage(channel: Snowflake, message: Snowflake, b: StartThreadBody) {
    return this.request<Channel>('POST', `/channels/${channel}/messages/${message}/threads`, b);
  }
  /** `POST /channels/{id}/threads`: a thread without a message; in a forum, a post (`message`
   *  and `applied_tags`), answered with the thread and its `message`. */
  startThread(channel: Snowflake, b: StartThreadBody) {
    return this.request<Channel>('POST', `/channels/${channel}/threads`, b);
  }
  /** `GET /channels/{id}/threads/archived/public`: archived public threads, newest archive first. */
  archivedThreads(channel: Snowflake, limit = 50) {
    return this.request<ThreadList>('GET', `/channels/${channel}/threads/archived/public?limit=${limit}`);
  }
  /** Message search (Discord "Search Guild Messages"): `GET /guilds/{guild}/messages/search`,
   *  or `GET /channels/{channel}/messages/search` for a DM; `params` from `searchParams`. */
  search(scope: { guild: Snowflake } | { channel: Snowflake }, params: string) {
    const base = 'guild' in scope ? `/guilds/${scope.guild}` : `/channels/${scope.channel}`;
    return this.request<MessageSearchResult>('GET', `${base}/messages/search?${params}`);
  }
  /** `GET /channels/{id}/pins`: the pinned messages, newest pin first. */
  pins(channel: Snowflake) {
    return this.request<Message[]>('GET', `/channels/${channel}/pins`);
  }
  /** `PUT`/`DELETE /channels/{id}/pins/{message_id}` (PIN_MESSAGES). */
  pin(channel: Snowflake, message: Snowflake, pinned: boolean) {
    return this.request<undefined>(pinned ? 'PUT' : 'DELETE', `/channels/${channel}/pins/${message}`);
  }
  editMessage(channel: Snowflake, id: Snowflake, content: string) {
    return this.request<Message>('PATCH', `/channels/${channel}/messages/${id}`, { content });
  }
  deleteMessage(channel: Snowflake, id: Snowflake) {
    return this.request<undefined>('DELETE', `/channels/${channel}/messages/${id}`);
  }
  createChannel(guild: Snowflake, b: ChannelBody) {
    return this.request<Channel>('POST', `/guilds/${guild}/channels`, b);
  }
  modifyChannel(channel: Snowflake, b: Partial<ChannelBody>) {
    return this.request<Channel>('PATCH', `/channels/${channel}`, b);
  }
  createRole(guild: Snowflake, b: RoleBody) {
    return this.request<Role>('POST', `/guilds/${guild}/roles`, b);
  }
  /** `PUT`/`DELETE /channels/{c}/messages/{m}/reactions/{emoji}/@me`: `emoji` is a unicode
   *  emoji or a custom one as `name:id`. */
  react(channel: Snowflake, message: Snowflake, emoji: string, add: boolean) {
    const path = `/channels/${channel}/messages/${message}/reactions/${encodeURIComponent(emoji)}/@me`;
    return this.request<undefined>(add ? 'PUT' : 'DELETE', path);
  }
  /** `GET /users/@me/channels`: the caller's DM channels. */
  dms() {
    return this.request<Channel[]>('GET', '/users/@me/channels');
  }
  /** `POST /users/@me/channels`: the DM with `recipient` (created once per pair; 403 50007
   *  when either blocked the other or the recipient's DM policy refuses). */
  openDm(recipient: Snowflake) {
    const b: CreateDmBody = { recipient_id: recipient };
    return this.request<Channel>('POST', '/users/@me/channels', b);
  }
  /** `POST /users/@me/channels` with `recipients`: a group DM with these users (at most 9
   *  others), owned by the caller. */
  createGroupDm(recipients: Snowflake[], name?: string) {
    const b: CreateDmBody = name ? { recipients, name } : { recipients };
    return this.request<Channel>('POST', '/users/@me/channels', b);
  }
  /** `PUT /channels/{id}/recipients/{user}`: adds someone to a group DM. */
  addRecipient(channel: Snowflake, user: Snowflake) {
    return this.request<undefined>('PUT', `/channels/${channel}/recipients/${user}`);
  }
  /** `DELETE /channels/{id}/recipients/{user}`: the owner removes someone. */
  removeRecipient(channel: Snowflake, user: Snowflake) {
    return this.request<undefined>('DELETE', `/channels/${channel}/recipients/${user}`);
  }
  /** `DELETE /channels/{id}` of a group DM: leaves it. */
  leaveGroupDm(channel: Snowflake) {
    return this.request<Channel>('DELETE', `/channels/${channel}`);
  }
  relationships() {
    return this.request<Relationship[]>('GET', '/users/@me/relationships');
  }
  /** `PUT /users/@me/relationships/{id}` `{type: 2}` blocks; `DELETE` unblocks. */
  setBlocked(user: Snowflake, blocked: boolean) {
    const b: RelationshipBody = { type: 2 };
    const path = `/users/@me/relationships/${user}`;
    return blocked ? this.request<undefined>('PUT', path, b) : this.request<undefined>('DELETE', path);
  }
  // Guild administration (web/src/ui/admin/): Discord's routes, the server checks each permission.
  /** `PATCH /guilds/{id}` (MANAGE_GUILD). */
  modifyGuild(guild: Snowflake, b: ModifyGuildBody) {
    return this.request<Guild>('PATCH', `/guilds/${guild}`, b);
  }
  /** `PATCH /guilds/{g}/roles/{r}` (MANAGE_ROLES; the role below the caller's highest). */
  modifyRole(guild: Snowflake, role: Snowflake, b: Partial<RoleBody>) {
    return this.request<Role>('PATCH', `/guilds/${guild}/roles/${role}`, b);
  }
  deleteRole(guild: Snowflake, role: Snowflake) {
    return this.request<undefined>('DELETE', `/guilds/${guild}/roles/${role}`);
  }
  /** `PATCH /guilds/{g}/roles`: the roles named move to the positions given. */
  rolePositions(guild: Snowflake, positions: RolePosition[]) {
    return this.request<Role[]>('PATCH', `/guilds/${guild}/roles`, positions);
  }
  /** `PUT /channels/{c}/permissions/{id}` (MANAGE_ROLES in the channel; only bits the caller holds there). */
  putOverwrite(channel: Snowflake, id: Snowflake, b: OverwriteBody) {
    return this.request<undefined>('PUT', `/channels/${channel}/permissions/${id}`, b);
  }
  deleteOverwrite(channel: Snowflake, id: Snowflake) {
    return this.request<undefined>('DELETE', `/channels/${channel}/permissions/${id}`);
  }
  /** `PATCH /guilds/{id}/channels` with `lock_permissions: true`: the channel's overwrites
   *  become a copy of its category's (MANAGE_CHANNELS, and MANAGE_ROLES in the channel). 204. */
  syncWithCategory(guild: Snowflake, channel: Snowflake, category: Snowflake) {
    const body: ChannelPosition[] = [{ id: channel, parent_id: category, lock_permissions: true }];
    return this.request<undefined>('PATCH', `/guilds/${guild}/channels`, body);
  }
  /** `GET /guilds/{id}/invites` (MANAGE_GUILD): with uses, max_uses, max_age, created_at. */
  guildInvites(guild: Snowflake) {
    return this.request<Invite[]>('GET', `/guilds/${guild}/invites`);
  }
  /** `DELETE /invites/{code}` (MANAGE_GUILD, or MANAGE_CHANNELS on its channel). */
  revokeInvite(code: string) {
    return this.request<Invite>('DELETE', `/invites/${encodeURIComponent(code)}`);
  }
  /** `PUT` (add) or `DELETE` (remove) `/guilds/{g}/members/{u}/roles/{r}`: MANAGE_ROLES, the
   *  role below the caller's highest, neither @everyone nor managed (204; GUILD_MEMBER_UPDATE
   *  follows). */
  memberRole(guild: Snowflake, user: Snowflake, role: Snowflake, add: boolean, reason?: string) {
    return this.request<undefined>(add ? 'PUT' : 'DELETE', `/guilds/${guild}/members/${user}/roles/${role}`, undefined, true, reason);
  }
  /** `GET /guilds/{id}/bans` (BAN_MEMBERS): up to 1000. */
  bans(guild: Snowflake) {
    return this.request<Ban[]>('GET', `/guilds/${guild}/bans?limit=1000`);
  }
  /** `PUT /guilds/{g}/bans/{u}` (BAN_MEMBERS; the member below the caller's highest role). */
  ban(guild: Snowflake, user: Snowflake, b: BanBody, reason?: string) {
    return this.request<undefined>('PUT', `/guilds/${guild}/bans/${user}`, b, true, reason);
  }
  unban(guild: Snowflake, user: Snowflake) {
    return this.request<undefined>('DELETE', `/guilds/${guild}/bans/${user}`);
  }
  /** `DELETE /guilds/{g}/members/{u}` (KICK_MEMBERS; hierarchy). */
  kick(guild: Snowflake, user: Snowflake, reason?: string) {
    return this.request<undefined>('DELETE', `/guilds/${guild}/members/${user}`, undefined, true, reason);
  }
  /** `GET /guilds/{id}/audit-logs` (VIEW_AUDIT_LOG): newest first, 100 a page; `action_type`
   *  filters; `before` (an entry id) gives the next older page. */
  auditLog(guild: Snowflake, actionType?: number, before?: Snowflake) {
    const q = new URLSearchParams({ limit: '100' });
    if (actionType !== undefined) q.set('action_type', String(actionType));
    if (before !== undefined) q.set('before', before);
    return this.request<AuditLog>('GET', `/guilds/${guild}/audit-logs?${q}`);
  }
  /** `GET /guilds/{id}/webhooks` (MANAGE_WEBHOOKS): without tokens. */
  webhooks(guild: Snowflake) {
    return this.request<Webhook[]>('GET', `/guilds/${guild}/webhooks`);
  }
  /** `POST /channels/{id}/webhooks`: the answer carries the token and `url`, shown once. */
  createWebhook(channel: Snowflake, b: CreateWebhookBody) {
    return this.request<Webhook>('POST', `/channels/${channel}/webhooks`, b);
  }
  deleteWebhook(id: Snowflake) {
    return this.request<undefined>('DELETE', `/webhooks/${id}`);
  }
  /** `GET /guilds/{id}/emojis`: the guild's custom emojis (members only). */
  guildEmojis(guild: Snowflake) {
    return this.request<GuildEmoji[]>('GET', `/guilds/${guild}/emojis`);
  }
  typing(channel: Snowflake) {
    return this.request<undefined>('POST', `/channels/${channel}/typing`);
  }
  /** `GET /channels/{id}/application-command-index`: the commands the user may use in the
   *  channel (the server applies `default_member_permissions` and the guild's command
   *  permissions). */
  commandIndex(channel: Snowflake) {
    return this.request<ApplicationCommandIndex>('GET', `/channels/${channel}/application-command-index`);
  }
  /** `POST /interactions` (types 2 command, 3 component, 4 autocomplete, 5 modal submit): 204. */
  interact(b: InteractionRequest) {
    return this.request<undefined>('POST', '/interactions', b);
  }
}
