//! Criterion micro-benchmarks of Hearth's hot functions (`cargo bench -p hearth-bench`):
//! permission computation, dispatch serialization and frame building, canonical JSON and
//! ed25519 sign/verify, snowflake generation.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use hearth::events::{Audience, Dispatch};
use hearth::gateway::compress::Transport;
use hearth::permissions::{self, MemberContext, Overwrite};
use hearth::snowflake::{Snowflake, SnowflakeGenerator};
use hearth_federation::canonical::canonical_json;
use hearth_federation::keys::ServerKey;
use hearth_federation::sign::{Purpose, sign_json, verify_signature};
use serde_json::{Value, json};

fn perms(c: &mut Criterion) {
    let roles: Vec<(Snowflake, u64)> = (0..5).map(|i| (Snowflake(100 + i), 1 << i)).collect();
    let m = MemberContext {
        guild_id: Snowflake(1),
        owner_id: Snowflake(2),
        user_id: Snowflake(3),
        everyone: permissions::VIEW_CHANNEL | permissions::SEND_MESSAGES,
        roles: &roles,
        timed_out: false,
    };
    let mut ows = vec![Overwrite {
        id: Snowflake(1),
        kind: hearth::wire::OverwriteType::Role,
        allow: 0,
        deny: permissions::SEND_MESSAGES,
    }];
    for i in 0..8 {
        ows.push(Overwrite {
            id: Snowflake(100 + i),
            kind: hearth::wire::OverwriteType::Role,
            allow: permissions::SEND_MESSAGES,
            deny: 0,
        });
    }
    ows.push(Overwrite {
        id: Snowflake(3),
        kind: hearth::wire::OverwriteType::Member,
        allow: 0,
        deny: 0,
    });
    c.bench_function("channel_permissions (5 roles, 10 overwrites)", |b| {
        b.iter(|| permissions::channel_permissions(black_box(&m), black_box(&ows)))
    });
}

fn message(content: &str) -> Value {
    json!({
        "id": "1234567890123456789", "channel_id": "1234567890123456000", "guild_id": "1234567890123450000",
        "author": {"id": "1234567890123450001", "username": "alice", "global_name": "Alice", "avatar": null, "discriminator": "0", "bot": false},
        "content": content, "timestamp": "2026-11-21T13:41:24.000000+00:00", "edited_timestamp": null,
        "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [],
        "embeds": [], "pinned": false, "type": 0, "flags": 0, "nonce": "abc", "member": {"roles": [], "joined_at": "2026-11-21T13:00:00.000000+00:00", "nick": null}
    })
}

fn dispatch(c: &mut Criterion) {
    let d = Dispatch {
        event: hearth::wire::Event::MessageCreate,
        data: message("hello world, this is a typical chat message of moderate length"),
        audience: Audience::Guild {
            guild_id: Snowflake(1),
            channel: Some(Snowflake(2)),
        },
        intent: 1 << 9,
        has_content: true,
        lossy: false,
        cause: None,
        logged: false,
        entry: None,
    };
    c.bench_function("gateway prepare (MESSAGE_CREATE, once per dispatch)", |b| {
        b.iter(|| hearth::gateway::prepare(black_box(&d)))
    });
    let p = hearth::gateway::prepare(&d);
    // The per-receiver work of conn.rs::flush: the op-0 envelope around the shared payload.
    c.bench_function("frame envelope (per receiver)", |b| {
        b.iter(|| {
            format!(
                r#"{{"t":"{}","s":{},"op":0,"d":{}}}"#,
                p.event,
                black_box(42u64),
                black_box(&p.data)
            )
        })
    });
    let frame = format!(r#"{{"t":"{}","s":42,"op":0,"d":{}}}"#, p.event, p.data);
    let mut zlib = Transport::from_query(Some("zlib-stream"));
    c.bench_function("zlib-stream encode of one frame (per receiver)", |b| {
        b.iter(|| zlib.encode(black_box(frame.as_bytes())))
    });
    let mut zstd = Transport::from_query(Some("zstd-stream"));
    c.bench_function("zstd-stream encode of one frame (per receiver)", |b| {
        b.iter(|| zstd.encode(black_box(frame.as_bytes())))
    });
}

fn federation(c: &mut Criterion) {
    let key = ServerKey::generate();
    let ev = json!({"type": "hearth.message.create", "guild": "1234567890123450000", "origin": "a.example",
        "ts": 1_763_000_000_000u64, "prev": "abcdefabcdefabcdefabcdefabcdefabcdefabcdefa", "seq": 1234,
        "content": message("hello world, this is a typical chat message of moderate length")});
    c.bench_function("canonical_json (message event)", |b| {
        b.iter(|| canonical_json(black_box(&ev)))
    });
    c.bench_function("sign_json (canonical JSON + ed25519 sign)", |b| {
        b.iter(|| {
            let mut v = ev.clone();
            sign_json(Purpose::HostEvent, &mut v, "a.example", &key).map(|_| v)
        })
    });
    let mut signed = ev.clone();
    sign_json(Purpose::HostEvent, &mut signed, "a.example", &key).expect("sign");
    let pk = key.public_key();
    c.bench_function("verify_signature (canonical JSON + ed25519 verify)", |b| {
        b.iter(|| {
            verify_signature(
                Purpose::HostEvent,
                black_box(&signed),
                "a.example",
                key.key_id(),
                &pk,
            )
        })
    });
}

fn snowflakes(c: &mut Criterion) {
    let g = SnowflakeGenerator::new(1, 1);
    c.bench_function("snowflake next()", |b| b.iter(|| g.next()));
}

criterion_group!(benches, perms, dispatch, federation, snowflakes);
criterion_main!(benches);
