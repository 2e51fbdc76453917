// The REST client: `/api/v10` on the origin that served this page, Discord's error format,
// one automatic token refresh on 401.
import type {
  ApiErrorBody,
  Channel,
  CreateGuildBody,
  CreateInviteBody,
  CreateMessageBody,
  Guild,
  Invite,
  LoginBody,
  Message,
  RegisterBody,
  Snowflake,
  TokenPair,
  User,
} from './wire';

export const API_BASE = '/api/v10';

/** A failed request: Discord's `{code, message, errors}` plus the HTTP status. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: number;
  readonly errors: unknown;

  constructor(status: number, body: Partial<ApiErrorBody>) {
    super(body.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body.code ?? 0;
    this.errors = body.errors;
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

  constructor(private readonly tokens: TokenStore) {}

  private async request<T>(method: string, path: string, body?: unknown, retry = true): Promise<T> {
    const headers: Record<string, string> = {};
    const t = this.tokens.get();
    if (t) headers['Authorization'] = `Bearer ${t.token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(API_BASE + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, { message: 'network error', code: 0 });
    }
    if (res.status === 401 && retry && t && (await this.refresh())) {
      return this.request<T>(method, path, body, false);
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    const json: unknown = text ? JSON.parse(text) : undefined;
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
    return this.request<TokenPair>('POST', '/auth/login', b);
  }
  logout() {
    return this.request<undefined>('POST', '/auth/logout');
  }
  me() {
    return this.request<User>('GET', '/users/@me');
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
  /** `GET /channels/{id}/messages`: newest first, at most `limit` (1..100). */
  messages(channel: Snowflake, opts: { before?: Snowflake; limit?: number } = {}) {
    const q = new URLSearchParams({ limit: String(opts.limit ?? 50) });
    if (opts.before) q.set('before', opts.before);
    return this.request<Message[]>('GET', `/channels/${channel}/messages?${q}`);
  }
  sendMessage(channel: Snowflake, b: CreateMessageBody) {
    return this.request<Message>('POST', `/channels/${channel}/messages`, b);
  }
  editMessage(channel: Snowflake, id: Snowflake, content: string) {
    return this.request<Message>('PATCH', `/channels/${channel}/messages/${id}`, { content });
  }
  deleteMessage(channel: Snowflake, id: Snowflake) {
    return this.request<undefined>('DELETE', `/channels/${channel}/messages/${id}`);
  }
  typing(channel: Snowflake) {
    return this.request<undefined>('POST', `/channels/${channel}/typing`);
  }
}
