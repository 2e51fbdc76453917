//! `#[derive(Ids)]` and the typed dispatch payloads: every id field is visited (nested
//! types, `Option`, `Vec`, `Box`, enums), users are handed over whole (matched by handle,
//! their `id` not visited as a plain id), mentions in text are found and rewritten, skipped
//! fields are left alone, and every federated event's payload parses, round-trips and has no
//! id left untouched by a rewriting visitor.

use std::collections::{BTreeSet, HashMap};

use hearth_wire::dispatch::{IdCollector, Payload, PayloadError};
use hearth_wire::ids::{IdVisitor, Ids, UserObject, map_mentions};
use hearth_wire::{Event, Snowflake};
use serde_json::{Value, json};

/// Rewrites plain ids by adding `OFFSET`, users by a table of handles, mentions like ids.
struct Shift {
    users: HashMap<String, Snowflake>,
    seen_users: Vec<String>,
}

const OFFSET: u64 = 1_000_000;

impl IdVisitor for Shift {
    fn id(&mut self, id: &mut Snowflake) {
        id.0 += OFFSET;
    }
    fn user(&mut self, user: &mut dyn UserObject) {
        self.seen_users.push(user.handle().to_string());
        if let Some(l) = self.users.get(user.handle()) {
            *user.id_mut() = *l;
        }
    }
    fn text(&mut self, text: &mut String) {
        *text = map_mentions(text, |m| Some(Snowflake(m.0 + OFFSET)));
    }
}

fn shift() -> Shift {
    Shift {
        users: HashMap::new(),
        seen_users: vec![],
    }
}

#[derive(Ids, Debug, Default)]
#[ids(user)]
struct Person {
    id: Snowflake,
    handle: String,
    /// Another id of a user object is visited like any other.
    home_guild: Option<Snowflake>,
}

impl UserObject for Person {
    fn id_mut(&mut self) -> &mut Snowflake {
        &mut self.id
    }
    fn handle(&self) -> &str {
        &self.handle
    }
    fn global_name(&self) -> Option<&str> {
        None
    }
    fn avatar(&self) -> Option<&str> {
        None
    }
    fn bot(&self) -> bool {
        false
    }
}

#[derive(Ids, Debug, Default)]
struct Inner {
    a: Snowflake,
    maybe: Option<Snowflake>,
    many: Vec<Snowflake>,
    boxed: Box<Snowflake>,
}

#[derive(Ids, Debug)]
enum Kind {
    Unit,
    One(Snowflake),
    Named {
        x: Snowflake,
        #[ids(text)]
        says: String,
    },
}

#[derive(Ids, Debug)]
struct Tuple(Snowflake, #[ids(skip = "a count")] u64);

#[derive(Ids, Debug)]
struct Generic<T> {
    inner: T,
}

#[derive(Ids, Debug)]
struct Outer {
    id: Snowflake,
    nested: Inner,
    nested_opt: Option<Inner>,
    nested_vec: Vec<Inner>,
    people: Vec<Person>,
    author: Person,
    #[ids(text)]
    content: String,
    #[ids(text)]
    maybe_text: Option<String>,
    #[ids(skip = "a test: the visitor must not touch it")]
    opaque: Value,
    name: String,
    count: i64,
    kinds: Vec<Kind>,
    tuple: Tuple,
    generic: Generic<Option<Snowflake>>,
}

fn sf(n: u64) -> Snowflake {
    Snowflake(n)
}

#[test]
fn every_id_field_is_visited_through_nesting_options_lists_boxes_enums_and_generics() {
    let inner = |base: u64| Inner {
        a: sf(base),
        maybe: Some(sf(base + 1)),
        many: vec![sf(base + 2), sf(base + 3)],
        boxed: Box::new(sf(base + 4)),
    };
    let mut o = Outer {
        id: sf(1),
        nested: inner(10),
        nested_opt: Some(inner(20)),
        nested_vec: vec![inner(30), inner(40)],
        people: vec![Person {
            id: sf(50),
            handle: "alice@a.example".into(),
            home_guild: Some(sf(51)),
        }],
        author: Person {
            id: sf(60),
            handle: "bob@b.example".into(),
            home_guild: None,
        },
        content: "hi <@70> and <@&71> in <#72>".into(),
        maybe_text: Some("<@!73>".into()),
        opaque: json!({"id": "80"}),
        name: "90".into(),
        count: 91,
        kinds: vec![
            Kind::Unit,
            Kind::One(sf(100)),
            Kind::Named {
                x: sf(101),
                says: "<@102>".into(),
            },
        ],
        tuple: Tuple(sf(110), 111),
        generic: Generic {
            inner: Some(sf(120)),
        },
    };

    let mut c = IdCollector::default();
    o.visit_ids(&mut c);
    let ids: BTreeSet<u64> = c.ids.iter().map(|s| s.0).collect();
    let expected: BTreeSet<u64> = [
        1, 10, 11, 12, 13, 14, 20, 21, 22, 23, 24, 30, 31, 32, 33, 34, 40, 41, 42, 43, 44, 51, 70,
        71, 72, 73, 100, 101, 102, 110, 120,
    ]
    .into_iter()
    .collect();
    assert_eq!(ids, expected);
    assert_eq!(c.ids.len(), expected.len(), "each id visited once");
    // Users are handed over whole; their own ids never come as plain ids.
    assert_eq!(
        c.users,
        vec![
            (sf(50), "alice@a.example".to_string()),
            (sf(60), "bob@b.example".to_string())
        ]
    );

    let mut v = shift();
    v.users.insert("alice@a.example".into(), sf(5));
    o.visit_ids(&mut v);
    assert_eq!(v.seen_users, vec!["alice@a.example", "bob@b.example"]);
    assert_eq!(o.id, sf(1 + OFFSET));
    assert_eq!(o.nested.many, vec![sf(12 + OFFSET), sf(13 + OFFSET)]);
    assert_eq!(*o.nested_vec[1].boxed, sf(44 + OFFSET));
    assert_eq!(o.nested_opt.as_ref().unwrap().maybe, Some(sf(21 + OFFSET)));
    assert_eq!(o.people[0].id, sf(5), "matched by handle");
    assert_eq!(o.people[0].home_guild, Some(sf(51 + OFFSET)));
    assert_eq!(
        o.author.id,
        sf(60),
        "an unknown handle is left to the visitor"
    );
    assert_eq!(o.content, "hi <@1000070> and <@&1000071> in <#1000072>");
    assert_eq!(o.maybe_text.as_deref(), Some("<@!1000073>"));
    assert_eq!(o.opaque, json!({"id": "80"}), "skipped");
    assert_eq!((o.name.as_str(), o.count), ("90", 91));
    assert!(matches!(o.kinds[1], Kind::One(s) if s == sf(100 + OFFSET)));
    assert!(
        matches!(&o.kinds[2], Kind::Named { x, says } if *x == sf(101 + OFFSET) && says == "<@1000102>")
    );
    assert_eq!((o.tuple.0, o.tuple.1), (sf(110 + OFFSET), 111));
    assert_eq!(o.generic.inner, Some(sf(120 + OFFSET)));
}

// ---- the federated payloads ----------------------------------------------------------------

fn user(id: &str, name: &str) -> Value {
    json!({"id": id, "username": name, "discriminator": "0", "global_name": null,
           "avatar": null, "bot": false, "system": false, "public_flags": 0, "flags": 0,
           "handle": format!("{name}@b.example")})
}

fn member(user_obj: Option<Value>, roles: &[&str], guild: Option<&str>) -> Value {
    let mut m = json!({"nick": null, "avatar": null, "roles": roles,
        "joined_at": "2024-01-01T00:00:00.000000+00:00", "premium_since": null, "deaf": false,
        "mute": false, "flags": 0, "pending": false, "communication_disabled_until": null});
    if let Some(u) = user_obj {
        m["user"] = u;
    }
    if let Some(g) = guild {
        m["guild_id"] = json!(g);
    }
    m
}

fn role(id: &str, bot: Option<&str>) -> Value {
    let mut r = json!({"id": id, "name": "r", "color": 0,
        "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
        "hoist": false, "icon": null, "unicode_emoji": null, "position": 1,
        "permissions": "2248473465835073", "managed": false, "mentionable": true, "flags": 0});
    if let Some(b) = bot {
        r["tags"] = json!({"bot_id": b});
    }
    r
}

fn channel(id: &str) -> Value {
    json!({"id": id, "type": 0, "guild_id": "1001", "name": "general", "topic": null,
        "position": 0, "permission_overwrites": [
            {"id": "1002", "type": 0, "allow": "1024", "deny": "0"},
            {"id": "1003", "type": 1, "allow": "0", "deny": "2048"}],
        "parent_id": "1004", "nsfw": false, "rate_limit_per_user": 0,
        "last_message_id": "1005", "last_pin_timestamp": null, "flags": 0})
}

fn message(id: &str) -> Value {
    json!({"id": id, "channel_id": "1011", "guild_id": "1001", "author": user("1012", "bob"),
        "member": member(None, &["1013"], None),
        "content": "hi <@1014> <@&1015> <#1016>", "timestamp": "2024-01-01T00:00:00.000000+00:00",
        "edited_timestamp": null, "tts": false, "mention_everyone": false,
        "mentions": [user("1014", "carol")], "mention_roles": ["1015"], "attachments": [],
        "embeds": [{"title": "t", "description": "d"}],
        "reactions": [{"count": 1, "count_details": {"burst": 0, "normal": 1}, "me": false,
            "me_burst": false, "burst_colors": [], "emoji": {"id": null, "name": "👍"}}],
        "pinned": false, "type": 19, "flags": 0, "components": [],
        "message_reference": {"type": 0, "message_id": "1017", "channel_id": "1011", "guild_id": "1001"},
        "referenced_message": {"id": "1017", "channel_id": "1011", "guild_id": "1001",
            "author": user("1018", "dave"), "content": "first", "timestamp": "2024-01-01T00:00:00.000000+00:00",
            "edited_timestamp": null, "tts": false, "mention_everyone": false, "mentions": [],
            "mention_roles": [], "attachments": [], "embeds": [], "pinned": true, "type": 0,
            "flags": 0, "components": []}})
}

/// One payload of each federated event, shaped as a Hearth host makes them, with distinct
/// ids (all >= 1000).
fn samples() -> Vec<(Event, Value)> {
    let guild = json!({"id": "1001", "name": "Fed", "icon": null, "icon_hash": null,
        "splash": null, "discovery_splash": null, "description": null, "owner_id": "1012",
        "region": null, "afk_channel_id": null, "afk_timeout": 300, "verification_level": 0,
        "default_message_notifications": 0, "explicit_content_filter": 0,
        "roles": [role("1001", None), role("1031", Some("1032"))], "emojis": [], "stickers": [],
        "features": [], "mfa_level": 0, "application_id": null, "system_channel_id": "1033",
        "system_channel_flags": 0, "rules_channel_id": null, "public_updates_channel_id": null,
        "safety_alerts_channel_id": null, "vanity_url_code": null, "banner": null,
        "premium_tier": 0, "premium_subscription_count": 0, "preferred_locale": "en-US",
        "nsfw_level": 0, "premium_progress_bar_enabled": false, "max_members": 500000});
    vec![
        (Event::MessageCreate, message("1010")),
        (Event::MessageUpdate, message("1010")),
        (
            Event::MessageDelete,
            json!({"id": "1010", "channel_id": "1011", "guild_id": "1001"}),
        ),
        (
            Event::MessageDeleteBulk,
            json!({"ids": ["1010", "1017"], "channel_id": "1011", "guild_id": "1001"}),
        ),
        (
            Event::MessageReactionAdd,
            json!({"user_id": "1014", "channel_id": "1011", "message_id": "1010",
                "guild_id": "1001", "member": member(Some(user("1014", "carol")), &["1013"], None),
                "emoji": {"id": null, "name": "👍"}, "message_author_id": "1012", "burst": false, "type": 0}),
        ),
        (
            Event::MessageReactionRemove,
            json!({"user_id": "1014", "channel_id": "1011", "message_id": "1010",
                "guild_id": "1001", "emoji": {"id": null, "name": "👍"}, "burst": false, "type": 0}),
        ),
        (
            Event::MessageReactionRemoveAll,
            json!({"channel_id": "1011", "message_id": "1010", "guild_id": "1001"}),
        ),
        (
            Event::MessageReactionRemoveEmoji,
            json!({"channel_id": "1011", "message_id": "1010", "guild_id": "1001",
                "emoji": {"id": null, "name": "👍"}}),
        ),
        (
            Event::ChannelPinsUpdate,
            json!({"guild_id": "1001", "channel_id": "1011",
                "last_pin_timestamp": "2024-01-01T00:00:00.000000+00:00"}),
        ),
        (Event::ChannelCreate, channel("1011")),
        (Event::ChannelUpdate, channel("1011")),
        (Event::ChannelDelete, channel("1011")),
        (
            Event::GuildRoleCreate,
            json!({"guild_id": "1001", "role": role("1031", Some("1032"))}),
        ),
        (
            Event::GuildRoleUpdate,
            json!({"guild_id": "1001", "role": role("1031", None)}),
        ),
        (
            Event::GuildRoleDelete,
            json!({"guild_id": "1001", "role_id": "1031"}),
        ),
        (Event::GuildUpdate, guild),
        (
            Event::GuildMemberAdd,
            member(Some(user("1014", "carol")), &["1031"], Some("1001")),
        ),
        (
            Event::GuildMemberUpdate,
            member(Some(user("1014", "carol")), &["1031", "1013"], Some("1001")),
        ),
        (
            Event::GuildMemberRemove,
            json!({"guild_id": "1001", "user": user("1014", "carol")}),
        ),
        (
            Event::GuildBanAdd,
            json!({"guild_id": "1001", "user": user("1014", "carol")}),
        ),
        (
            Event::GuildBanRemove,
            json!({"guild_id": "1001", "user": user("1014", "carol")}),
        ),
        (Event::GuildDeleteFederated, json!({"id": "1001"})),
        (
            Event::InviteCreate,
            json!({"type": 0, "code": "abc",
                "guild": {"id": "1001", "name": "Fed", "icon": null, "description": null,
                    "features": [], "splash": null, "banner": null, "verification_level": 0, "nsfw_level": 0},
                "channel": {"id": "1011", "name": "general", "type": 0},
                "inviter": user("1012", "bob"), "expires_at": null, "uses": 0, "max_uses": 0,
                "max_age": 0, "temporary": false, "created_at": "2024-01-01T00:00:00.000000+00:00",
                "channel_id": "1011", "guild_id": "1001"}),
        ),
        (
            Event::InviteDelete,
            json!({"channel_id": "1011", "guild_id": "1001", "code": "abc"}),
        ),
        (
            Event::TypingStart,
            json!({"channel_id": "1011", "guild_id": "1001", "user_id": "1014", "timestamp": 1700000000,
                "member": member(Some(user("1014", "carol")), &[], None)}),
        ),
        (
            Event::PresenceUpdate,
            json!({"user": {"id": "1014", "username": "carol", "handle": "carol@b.example",
                    "global_name": null, "avatar": null, "bot": false, "discriminator": "0"},
                "guild_id": "1001", "status": "online",
                "activities": [{"name": "chess", "type": 0}], "client_status": {"desktop": "online"}}),
        ),
        (
            Event::GuildEmojisUpdate,
            json!({"guild_id": "1001", "emojis": [{"id": "1040", "name": "party", "roles": ["1031"],
                "require_colons": true, "managed": false, "animated": false, "available": true}]}),
        ),
        (Event::ThreadCreate, thread("1050")),
        (Event::ThreadUpdate, thread("1050")),
        (
            Event::ThreadDelete,
            json!({"id": "1050", "guild_id": "1001", "parent_id": "1011", "type": 11}),
        ),
        (
            Event::ThreadMembersUpdate,
            json!({"id": "1050", "guild_id": "1001", "member_count": 2,
                "added_members": [{"id": "1050", "user_id": "1014",
                    "join_timestamp": "2024-01-01T00:00:00.000000+00:00", "flags": 0,
                    "guild_id": "1001", "member": member(Some(user("1014", "carol")), &["1013"], None),
                    "presence": null}],
                "removed_member_ids": ["1018"]}),
        ),
        (Event::MessagePollVoteAdd, poll_vote()),
        (Event::MessagePollVoteRemove, poll_vote()),
        (Event::GuildScheduledEventCreate, scheduled_event()),
        (Event::GuildScheduledEventUpdate, scheduled_event()),
        (Event::GuildScheduledEventDelete, scheduled_event()),
        (
            Event::GuildScheduledEventUserAdd,
            json!({"guild_scheduled_event_id": "1060", "user_id": "1014", "guild_id": "1001"}),
        ),
        (
            Event::GuildScheduledEventUserRemove,
            json!({"guild_scheduled_event_id": "1060", "user_id": "1014", "guild_id": "1001"}),
        ),
    ]
}

/// A public thread of channel 1011, as THREAD_CREATE carries it.
fn thread(id: &str) -> Value {
    json!({"id": id, "type": 11, "guild_id": "1001", "name": "plans", "parent_id": "1011",
        "rate_limit_per_user": 0, "last_message_id": null, "flags": 0, "owner_id": "1012",
        "thread_metadata": {"archived": false, "auto_archive_duration": 4320,
            "archive_timestamp": "2024-01-01T00:00:00.000000+00:00", "locked": false,
            "create_timestamp": "2024-01-01T00:00:00.000000+00:00"},
        "message_count": 0, "member_count": 1, "total_message_sent": 0, "newly_created": true,
        "applied_tags": ["1051"]})
}

fn poll_vote() -> Value {
    json!({"user_id": "1014", "channel_id": "1011", "message_id": "1010", "guild_id": "1001",
        "answer_id": 2})
}

fn scheduled_event() -> Value {
    json!({"id": "1060", "guild_id": "1001", "channel_id": "1061", "creator_id": "1012",
        "name": "meetup", "description": null,
        "scheduled_start_time": "2024-01-01T00:00:00.000000+00:00", "scheduled_end_time": null,
        "privacy_level": 2, "status": 1, "entity_type": 2, "entity_id": null,
        "entity_metadata": null, "image": null, "recurrence_rule": null})
}

/// Every string in `v` that reads as an id (not a permission set), and every mentioned id.
fn id_strings(v: &Value, key: &str, out: &mut BTreeSet<u64>) {
    match v {
        Value::String(s) => {
            if !matches!(key, "permissions" | "allow" | "deny")
                && let Ok(n) = s.parse::<u64>()
            {
                out.insert(n);
            }
            out.extend(hearth_wire::ids::mentions(s).map(|m| m.0));
        }
        Value::Array(a) => a.iter().for_each(|x| id_strings(x, key, out)),
        Value::Object(o) => o.iter().for_each(|(k, x)| id_strings(x, k, out)),
        _ => {}
    }
}

#[test]
fn every_federated_event_has_a_sample_that_round_trips() {
    let samples = samples();
    let covered: BTreeSet<String> = samples.iter().map(|(e, _)| e.to_string()).collect();
    for e in Event::ALL {
        match Payload::parse(*e, json!({})) {
            Err(PayloadError::NotFederated(_)) => {}
            _ => assert!(covered.contains(e.as_str()), "no sample for {e}"),
        }
    }
    for (e, d) in samples {
        let p = Payload::parse(e, d.clone()).unwrap_or_else(|err| panic!("{e}: {err}"));
        assert_eq!(p.event(), e);
        assert_eq!(p.to_value(), d, "{e} round-trips unchanged");
    }
}

#[test]
fn a_rewriting_visitor_leaves_no_id_of_the_sender_in_any_payload() {
    for (e, d) in samples() {
        let mut p = Payload::parse(e, d.clone()).unwrap();
        let mut before = BTreeSet::new();
        id_strings(&d, "", &mut before);
        let mut v = shift();
        // Every user, whatever its handle, becomes user 7.
        for h in ["bob", "carol", "dave"] {
            v.users.insert(format!("{h}@b.example"), sf(7));
        }
        p.visit_ids(&mut v);
        let mut after = BTreeSet::new();
        id_strings(&p.to_value(), "", &mut after);
        let left: Vec<_> = before
            .iter()
            .filter(|id| **id >= 1000 && after.contains(id))
            .collect();
        assert!(left.is_empty(), "{e}: ids left untranslated: {left:?}");
        // Skipped content is unchanged.
        if e == Event::MessageCreate {
            assert_eq!(p.to_value()["embeds"], d["embeds"]);
        }
    }
}

#[test]
fn unknown_fields_are_dropped_missing_fields_and_unfederated_events_refused() {
    // A newer host's field (spec/federation.md §13): the payload is applied without it, and
    // what is republished does not carry it (nor the id inside it) untranslated.
    let mut d = json!({"id": "1", "channel_id": "2", "guild_id": "3"});
    assert!(Payload::parse(Event::MessageDelete, d.clone()).is_ok());
    d["new_id_field"] = json!("4");
    let p = Payload::parse(Event::MessageDelete, d).expect("an unknown field is ignored");
    assert_eq!(
        p.to_value(),
        json!({"id": "1", "channel_id": "2", "guild_id": "3"})
    );
    // Deep inside too (a user object of a message): the rest still parses and the rewriting
    // visitor reaches every id that is republished.
    let mut m = message("1010");
    m["author"]["primary_guild_id"] = json!("5");
    m["future"] = json!({"channel_id": "6"});
    let mut p = Payload::parse(Event::MessageCreate, m).expect("unknown fields are ignored");
    let out = p.to_value();
    assert!(out["author"].get("primary_guild_id").is_none(), "{out}");
    assert!(out.get("future").is_none(), "{out}");
    let mut v = shift();
    p.visit_ids(&mut v);
    let mut left = BTreeSet::new();
    id_strings(&p.to_value(), "", &mut left);
    assert!(!left.contains(&5) && !left.contains(&6), "{left:?}");
    // A non-empty list Hearth always sends empty.
    let mut m = message("1010");
    m["attachments"] = json!([{"id": "6"}]);
    assert!(Payload::parse(Event::MessageCreate, m).is_err());
    // A missing required field, and an event that never crosses federation.
    assert!(matches!(
        Payload::parse(Event::MessageDelete, json!({"id": "1"})),
        Err(PayloadError::Shape(Event::MessageDelete, _))
    ));
    assert!(matches!(
        Payload::parse(Event::Ready, json!({})),
        Err(PayloadError::NotFederated(Event::Ready))
    ));
}
