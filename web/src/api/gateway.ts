// The gateway client: one WebSocket to `/gateway` on this page's origin with Discord's
// zlib-stream transport compression (Hearth also offers zstd-stream; zlib is decoded here
// with pako). Heartbeats, IDENTIFY, RESUME after a drop (with backoff), and a fresh IDENTIFY
// when the session cannot be resumed. ("Topics > Gateway", "Gateway > Transport Compression")
// IDENTIFY asks for passive guilds (spec/gateway.md): large guilds not on screen send only
// mentions and PASSIVE_UPDATE_V1; the guild on screen is subscribed with op 37, again after
// every READY/RESUMED and with every heartbeat (the server lets a subscription lapse after
// `gateway.passive_idle_seconds`).
import { Inflate, constants } from 'pako';
import { Op, PASSIVE_GUILD_UPDATE, type GatewayPayload, type Ready } from './wire';

export type GatewayStatus = 'connecting' | 'ready' | 'reconnecting' | 'closed';

export interface GatewayHandlers {
  /** Every dispatch (`op` 0) in order, `READY` and `RESUMED` included. */
  dispatch(event: string, data: unknown): void;
  status(s: GatewayStatus): void;
  /** The token was refused (close 4004): the session is over. */
  unauthorized(): void;
}

const ZLIB_SUFFIX = [0x00, 0x00, 0xff, 0xff];

export function gatewayUrl(): string {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.host}/gateway?v=10&encoding=json&compress=zlib-stream`;
}

export class Gateway {
  private ws: WebSocket | null = null;
  private inflate: Inflate | null = null;
  private pending: Uint8Array[] = [];
  private seq: number | null = null;
  private sessionId: string | null = null;
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private acked = true;
  private stopped = false;
  private attempts = 0;
  private openGuild: string | null = null;
  /** READY or RESUMED came on this connection (op 37 before it would close it with 4003). */
  private live = false;

  constructor(
    private readonly token: () => string | null,
    private readonly on: GatewayHandlers,
  ) {}

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.clearHeartbeat();
    this.ws?.close(1000);
    this.ws = null;
    this.on.status('closed');
  }

  /** The guild on screen (`null`: none, e.g. the DM view): subscribed so that it is active. */
  subscribe(guild: string | null): void {
    if (guild === this.openGuild) return;
    this.openGuild = guild;
    this.sendSubscription();
  }

  private sendSubscription(): void {
    if (!this.openGuild || !this.live) return;
    this.send({
      op: Op.GuildSubscriptionsBulk,
      d: { subscriptions: { [this.openGuild]: { typing: true, activities: true, threads: true } } },
    });
  }

  private connect(): void {
    this.on.status(this.sessionId ? 'reconnecting' : 'connecting');
    this.live = false;
    const ws = new WebSocket(gatewayUrl());
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.inflate = new Inflate({ chunkSize: 65536, to: 'string' });
    this.pending = [];
    ws.onmessage = (ev: MessageEvent<ArrayBuffer | string>) => this.receive(ev.data);
    ws.onclose = (ev) => this.closed(ws, ev.code);
  }

  private receive(data: ArrayBuffer | string): void {
    if (typeof data === 'string') {
      this.handle(JSON.parse(data) as GatewayPayload);
      return;
    }
    const bytes = new Uint8Array(data);
    this.pending.push(bytes);
    const n = bytes.length;
    const flushed = n >= 4 && ZLIB_SUFFIX.every((b, i) => bytes[n - 4 + i] === b);
    if (!flushed || !this.inflate) return;
    const parts = this.pending;
    this.pending = [];
    let text = '';
    this.inflate.onData = (chunk) => {
      text += typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk);
    };
    for (const p of parts) this.inflate.push(p, constants.Z_SYNC_FLUSH);
    if (this.inflate.err) {
      console.error('gateway: cannot inflate', this.inflate.msg);
      this.ws?.close(4000);
      return;
    }
    this.handle(JSON.parse(text) as GatewayPayload);
  }

  private handle(p: GatewayPayload): void {
    switch (p.op) {
      case Op.Hello: {
        const interval = (p.d as { heartbeat_interval: number }).heartbeat_interval;
        this.startHeartbeat(interval);
        this.identifyOrResume();
        break;
      }
      case Op.HeartbeatAck:
        this.acked = true;
        break;
      case Op.Heartbeat:
        this.send({ op: Op.Heartbeat, d: this.seq });
        break;
      case Op.Reconnect:
        this.ws?.close(4000);
        break;
      case Op.InvalidSession:
        if (!p.d) {
          this.sessionId = null;
          this.seq = null;
        }
        this.ws?.close(4000);
        break;
      case Op.Dispatch:
        if (p.s !== null) this.seq = p.s;
        if (p.t === 'READY') {
          this.sessionId = (p.d as Ready).session_id;
          this.attempts = 0;
          this.on.status('ready');
        } else if (p.t === 'RESUMED') {
          this.attempts = 0;
          this.on.status('ready');
        }
        if (p.t) this.on.dispatch(p.t, p.d);
        if (p.t === 'READY' || p.t === 'RESUMED') {
          this.live = true;
          this.sendSubscription();
        }
        break;
    }
  }

  private identifyOrResume(): void {
    const token = this.token();
    if (!token) {
      this.on.unauthorized();
      return;
    }
    if (this.sessionId && this.seq !== null) {
      this.send({ op: Op.Resume, d: { token, session_id: this.sessionId, seq: this.seq } });
    } else {
      this.send({
        op: Op.Identify,
        d: {
          token,
          capabilities: PASSIVE_GUILD_UPDATE,
          properties: { os: navigator.platform || 'web', browser: 'hearth-web', device: 'hearth-web' },
        },
      });
    }
  }

  private startHeartbeat(interval: number): void {
    this.clearHeartbeat();
    this.acked = true;
    this.heartbeat = setInterval(() => {
      if (!this.acked) {
        // A zombie connection: drop it and resume.
        this.ws?.close(4000);
        return;
      }
      this.acked = false;
      this.send({ op: Op.Heartbeat, d: this.seq });
      this.sendSubscription();
    }, interval);
  }

  private clearHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  private send(p: { op: number; d: unknown }): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(p));
  }

  private closed(ws: WebSocket, code: number): void {
    if (ws !== this.ws) return;
    this.clearHeartbeat();
    this.ws = null;
    if (this.stopped) return;
    if (code === 4004) {
      this.on.unauthorized();
      return;
    }
    // Codes after which a session cannot resume ("Gateway Close Event Codes").
    if ([4007, 4009].includes(code)) {
      this.sessionId = null;
      this.seq = null;
    }
    this.on.status('reconnecting');
    const delay = Math.min(10_000, 250 * 2 ** this.attempts) * (0.5 + Math.random() / 2);
    this.attempts++;
    setTimeout(() => {
      if (!this.stopped) this.connect();
    }, delay);
  }
}
