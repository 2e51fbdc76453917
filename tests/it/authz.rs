//! Authorization: a table of mutating (and moderator-only reading) endpoints, each tried as
//! an outsider, a member without the permission, a moderator holding it, a moderator
//! against a higher-ranked target, and the owner. Every cell checks the status/code and that
//! stored state changed exactly when the call was allowed. Then the channel-visibility,
//! ban and non-member rules.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::*;

/// Who makes the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// A registered user who is not in the guild: 403 50001 or 404.
    Outsider,
    /// A member whose roles lack the permission: 403 50013.
    Member,
    /// A member whose role has the permission, acting on a lower target: 2xx.
    Mod,
    /// The same moderator acting on a target ranked above them: 403 50013.
    ModVsHigher,
    /// The guild owner: 2xx.
    Owner,
}

/// Endpoints under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Row {
    GuildModify,
    GuildDelete,
    ChannelCreate,
    ChannelModify,
    ChannelDelete,
    ChannelPositions,
    OverwritePut,
    OverwriteDelete,
    RoleCreate,
    RoleModify,
    RoleDelete,
    RolePositions,
    MemberNick,
    MemberRolesPatch,
    MemberKick,
    MemberRoleAdd,
    MemberRoleRemove,
    Ban,
    Unban,
    BanList,
    InviteCreate,
    InviteDelete,
    GuildInviteList,
    MessageDeleteOthers,
    Pin,
    Unpin,
    BulkDelete,
    ClearReactions,
    AuditLogRead,
}

impl Row {
    /// The permission the moderator's role carries (and `@everyone` lacks).
    fn perm(self) -> u64 {
        use Row::*;
        match self {
            GuildModify | GuildDelete | GuildInviteList => perm::MANAGE_GUILD,
            ChannelCreate | ChannelModify | ChannelDelete | ChannelPositions | InviteDelete => {
                perm::MANAGE_CHANNELS
            }
            OverwritePut | OverwriteDelete | RoleCreate | RoleModify | RoleDelete
            | RolePositions | MemberRolesPatch | MemberRoleAdd | MemberRoleRemove => {
                perm::MANAGE_ROLES
            }
            MemberNick => perm::MANAGE_NICKNAMES,
            MemberKick => perm::KICK_MEMBERS,
            Ban | Unban | BanList => perm::BAN_MEMBERS,
            InviteCreate => perm::CREATE_INSTANT_INVITE,
            MessageDeleteOthers | BulkDelete | ClearReactions => perm::MANAGE_MESSAGES,
            Pin | Unpin => perm::PIN_MESSAGES,
            AuditLogRead => perm::VIEW_AUDIT_LOG,
        }
    }
    /// Whether role hierarchy applies (there is a higher-ranked target to refuse).
    fn hierarchy(self) -> bool {
        use Row::*;
        matches!(
            self,
            RoleModify
                | RoleDelete
                | RolePositions
                | MemberNick
                | MemberRolesPatch
                | MemberKick
                | MemberRoleAdd
                | MemberRoleRemove
                | Ban
        )
    }
    /// Whether a moderator holding the permission may do it (guild deletion is owner-only).
    fn mod_allowed(self) -> bool {
        self != Row::GuildDelete
    }
    /// Whether the call changes stored state (reads are checked by their body instead).
    fn mutates(self) -> bool {
        !matches!(
            self,
            Row::BanList | Row::GuildInviteList | Row::AuditLogRead
        )
    }
}

/// The cast, registered once per server.
struct Cast {
    owner: (String, Client),
    outsider: (String, Client),
    member: (String, Client),
    moder: (String, Client),
    high: (String, Client),
    low: (String, Client),
}

async fn cast(srv: &TestServer) -> Cast {
    Cast {
        owner: srv.user("owner").await,
        outsider: srv.user("outsider").await,
        member: srv.user("member").await,
        moder: srv.user("moder").await,
        high: srv.user("high").await,
        low: srv.user("low").await,
    }
}

/// A fresh guild for one cell: `@everyone` without `perm`; roles `high` (above) and `mod`
/// (below) both carrying `perm`, held by `high` and `moder`; `member` holds a role without
/// permissions that still outranks `low`, who holds none.
struct Fx {
    g: String,
    chan: String,
    high_role: String,
}

async fn fixture(c: &Cast, perm: u64) -> Fx {
    let owner = &c.owner.1;
    let guild = create_guild(owner, "matrix").await;
    let g = guild.id.clone();
    let r = owner
        .patch(
            &format!("/guilds/{g}/roles/{g}"),
            json!({"permissions": (perm::EVERYONE_DEFAULT & !perm).to_string()}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    // New roles go to the bottom: create `high` first so that `mod` ends up below it, and
    // `plain` (no permissions) below both. `member` holds `plain` so that they outrank `low`:
    // only the missing permission, not the hierarchy, can refuse them.
    let high_role = create_role(owner, &g, "high", perm).await;
    let mod_role = create_role(owner, &g, "mod", perm).await;
    let plain_role = create_role(owner, &g, "plain", 0).await;
    for u in [&c.member, &c.moder, &c.high, &c.low] {
        join(&u.1, &guild.invite).await;
    }
    give_role(owner, &g, &c.high.0, &high_role).await;
    give_role(owner, &g, &c.moder.0, &mod_role).await;
    give_role(owner, &g, &c.member.0, &plain_role).await;
    let roles = owner.get(&format!("/guilds/{g}/roles")).await.body;
    let pos = |id: &str| {
        roles
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()["position"]
            .as_i64()
            .unwrap()
    };
    assert!(
        0 < pos(&plain_role)
            && pos(&plain_role) < pos(&mod_role)
            && pos(&mod_role) < pos(&high_role),
        "fixture ranks: {roles}"
    );
    Fx {
        g,
        chan: guild.general,
        high_role,
    }
}

/// Ids a cell acts on.
#[derive(Default, Debug)]
struct Tgt {
    a: String,
    b: String,
}

async fn new_role(c: &Cast, fx: &Fx, name: &str) -> String {
    create_role(&c.owner.1, &fx.g, name, 0).await
}

async fn new_channel(c: &Cast, fx: &Fx, name: &str) -> String {
    let r = c
        .owner
        .1
        .post(&format!("/guilds/{}/channels", fx.g), json!({"name": name}))
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    s(&r.body["id"])
}

/// Creates what the cell acts on (as the owner). `higher`: the target ranks above `mod`.
async fn prepare(row: Row, c: &Cast, fx: &Fx, higher: bool) -> Tgt {
    use Row::*;
    let owner = &c.owner.1;
    let low = &c.low;
    match row {
        ChannelDelete | ChannelPositions => Tgt {
            a: new_channel(c, fx, "target").await,
            ..Default::default()
        },
        OverwriteDelete => {
            let r = owner
                .put(
                    &format!("/channels/{}/permissions/{}", fx.chan, low.0),
                    json!({"type": 1, "allow": "0", "deny": perm::SEND_MESSAGES.to_string()}),
                )
                .await;
            assert_eq!(r.status, 204, "{r:?}");
            Tgt::default()
        }
        RoleModify | RoleDelete | MemberRolesPatch | MemberRoleAdd => Tgt {
            a: if higher {
                fx.high_role.clone()
            } else {
                new_role(c, fx, "fresh").await
            },
            ..Default::default()
        },
        MemberRoleRemove => {
            let role = if higher {
                fx.high_role.clone()
            } else {
                new_role(c, fx, "fresh").await
            };
            give_role(owner, &fx.g, &low.0, &role).await;
            Tgt {
                a: role,
                ..Default::default()
            }
        }
        RolePositions => {
            if higher {
                Tgt {
                    a: fx.high_role.clone(),
                    ..Default::default()
                }
            } else {
                let a = new_role(c, fx, "first").await;
                let b = new_role(c, fx, "second").await;
                Tgt { a, b }
            }
        }
        MemberNick | MemberKick | Ban => Tgt {
            a: if higher {
                c.high.0.clone()
            } else {
                low.0.clone()
            },
            ..Default::default()
        },
        Unban => {
            let r = owner
                .put(&format!("/guilds/{}/bans/{}", fx.g, low.0), json!({}))
                .await;
            assert_eq!(r.status, 204, "{r:?}");
            Tgt::default()
        }
        InviteDelete => {
            let r = owner
                .post(
                    &format!("/channels/{}/invites", fx.chan),
                    json!({"unique": true}),
                )
                .await;
            assert_eq!(r.status, 200, "{r:?}");
            Tgt {
                a: s(&r.body["code"]),
                ..Default::default()
            }
        }
        MessageDeleteOthers | Pin | ClearReactions => {
            let m = say(&low.1, &fx.chan, "target").await;
            if row == ClearReactions {
                let r = low
                    .1
                    .put_empty(&format!(
                        "/channels/{}/messages/{m}/reactions/%F0%9F%91%8D/@me",
                        fx.chan
                    ))
                    .await;
                assert_eq!(r.status, 204, "{r:?}");
            }
            Tgt {
                a: m,
                ..Default::default()
            }
        }
        Unpin => {
            let m = say(&low.1, &fx.chan, "pinned").await;
            let r = owner
                .put_empty(&format!("/channels/{}/messages/pins/{m}", fx.chan))
                .await;
            assert_eq!(r.status, 204, "{r:?}");
            Tgt {
                a: m,
                ..Default::default()
            }
        }
        BulkDelete => Tgt {
            a: say(&low.1, &fx.chan, "one").await,
            b: say(&low.1, &fx.chan, "two").await,
        },
        _ => Tgt::default(),
    }
}

/// The request of a cell.
fn request(row: Row, c: &Cast, fx: &Fx, t: &Tgt, higher: bool) -> (Method, String, Option<Value>) {
    use Row::*;
    let (g, ch, low) = (&fx.g, &fx.chan, &c.low.0);
    match row {
        GuildModify => (
            Method::PATCH,
            format!("/guilds/{g}"),
            Some(json!({"name": "renamed"})),
        ),
        GuildDelete => (Method::DELETE, format!("/guilds/{g}"), None),
        ChannelCreate => (
            Method::POST,
            format!("/guilds/{g}/channels"),
            Some(json!({"name": "created"})),
        ),
        ChannelModify => (
            Method::PATCH,
            format!("/channels/{ch}"),
            Some(json!({"name": "renamed"})),
        ),
        ChannelDelete => (Method::DELETE, format!("/channels/{}", t.a), None),
        ChannelPositions => (
            Method::PATCH,
            format!("/guilds/{g}/channels"),
            Some(json!([{"id": t.a, "position": 42}])),
        ),
        OverwritePut => (
            Method::PUT,
            format!("/channels/{ch}/permissions/{low}"),
            Some(json!({"type": 1, "allow": "0", "deny": perm::SEND_MESSAGES.to_string()})),
        ),
        OverwriteDelete => (
            Method::DELETE,
            format!("/channels/{ch}/permissions/{low}"),
            None,
        ),
        RoleCreate => (
            Method::POST,
            format!("/guilds/{g}/roles"),
            Some(json!({"name": "created"})),
        ),
        RoleModify => (
            Method::PATCH,
            format!("/guilds/{g}/roles/{}", t.a),
            Some(json!({"name": "renamed"})),
        ),
        RoleDelete => (Method::DELETE, format!("/guilds/{g}/roles/{}", t.a), None),
        RolePositions => {
            let body = if higher {
                json!([{"id": t.a, "position": 1}])
            } else {
                // `second` is at 1 and `first` at 2: swap them.
                json!([{"id": t.a, "position": 1}, {"id": t.b, "position": 2}])
            };
            (Method::PATCH, format!("/guilds/{g}/roles"), Some(body))
        }
        MemberNick => (
            Method::PATCH,
            format!("/guilds/{g}/members/{}", t.a),
            Some(json!({"nick": "renamed"})),
        ),
        MemberRolesPatch => (
            Method::PATCH,
            format!("/guilds/{g}/members/{low}"),
            Some(json!({"roles": [t.a]})),
        ),
        MemberKick => (Method::DELETE, format!("/guilds/{g}/members/{}", t.a), None),
        MemberRoleAdd => (
            Method::PUT,
            format!("/guilds/{g}/members/{low}/roles/{}", t.a),
            None,
        ),
        MemberRoleRemove => (
            Method::DELETE,
            format!("/guilds/{g}/members/{low}/roles/{}", t.a),
            None,
        ),
        Ban => (
            Method::PUT,
            format!("/guilds/{g}/bans/{}", t.a),
            Some(json!({})),
        ),
        Unban => (Method::DELETE, format!("/guilds/{g}/bans/{low}"), None),
        BanList => (Method::GET, format!("/guilds/{g}/bans"), None),
        InviteCreate => (
            Method::POST,
            format!("/channels/{ch}/invites"),
            Some(json!({"unique": true})),
        ),
        InviteDelete => (Method::DELETE, format!("/invites/{}", t.a), None),
        GuildInviteList => (Method::GET, format!("/guilds/{g}/invites"), None),
        MessageDeleteOthers => (
            Method::DELETE,
            format!("/channels/{ch}/messages/{}", t.a),
            None,
        ),
        Pin => (
            Method::PUT,
            format!("/channels/{ch}/messages/pins/{}", t.a),
            None,
        ),
        Unpin => (
            Method::DELETE,
            format!("/channels/{ch}/messages/pins/{}", t.a),
            None,
        ),
        BulkDelete => (
            Method::POST,
            format!("/channels/{ch}/messages/bulk-delete"),
            Some(json!({"messages": [t.a, t.b]})),
        ),
        ClearReactions => (
            Method::DELETE,
            format!("/channels/{ch}/messages/{}/reactions", t.a),
            None,
        ),
        AuditLogRead => (Method::GET, format!("/guilds/{g}/audit-logs"), None),
    }
}

/// The stored state a cell may change, as the owner sees it.
async fn observe(row: Row, c: &Cast, fx: &Fx, t: &Tgt) -> Value {
    use Row::*;
    let o = &c.owner.1;
    let (g, ch, low) = (&fx.g, &fx.chan, &c.low.0);
    let status = |r: Resp| json!(r.status);
    match row {
        GuildModify => o.get(&format!("/guilds/{g}")).await.body["name"].clone(),
        GuildDelete => status(o.get(&format!("/guilds/{g}")).await),
        ChannelCreate => json!(
            o.get(&format!("/guilds/{g}/channels"))
                .await
                .body
                .as_array()
                .unwrap()
                .len()
        ),
        ChannelModify => o.get(&format!("/channels/{ch}")).await.body["name"].clone(),
        ChannelDelete => status(o.get(&format!("/channels/{}", t.a)).await),
        ChannelPositions => o.get(&format!("/channels/{}", t.a)).await.body["position"].clone(),
        OverwritePut | OverwriteDelete => {
            o.get(&format!("/channels/{ch}")).await.body["permission_overwrites"].clone()
        }
        RoleCreate | RoleModify | RoleDelete | RolePositions => {
            let roles = o.get(&format!("/guilds/{g}/roles")).await.body;
            let mut v: Vec<(String, String, i64)> = roles
                .as_array()
                .unwrap()
                .iter()
                .map(|r| (s(&r["id"]), s(&r["name"]), r["position"].as_i64().unwrap()))
                .collect();
            v.sort();
            json!(v)
        }
        MemberNick | MemberKick => {
            let r = o.get(&format!("/guilds/{g}/members/{}", t.a)).await;
            json!([r.status, r.body["nick"]])
        }
        MemberRolesPatch | MemberRoleAdd | MemberRoleRemove => {
            o.get(&format!("/guilds/{g}/members/{low}")).await.body["roles"].clone()
        }
        Ban => {
            let b = o.get(&format!("/guilds/{g}/bans/{}", t.a)).await;
            let m = o.get(&format!("/guilds/{g}/members/{}", t.a)).await;
            json!([b.status, m.status])
        }
        Unban => status(o.get(&format!("/guilds/{g}/bans/{low}")).await),
        InviteCreate => json!(
            o.get(&format!("/guilds/{g}/invites"))
                .await
                .body
                .as_array()
                .unwrap()
                .len()
        ),
        InviteDelete => status(o.get(&format!("/invites/{}", t.a)).await),
        MessageDeleteOthers => status(o.get(&format!("/channels/{ch}/messages/{}", t.a)).await),
        Pin | Unpin => o
            .get(&format!("/channels/{ch}/messages/{}", t.a))
            .await
            .body["pinned"]
            .clone(),
        BulkDelete => json!(ids(&o.get(&format!("/channels/{ch}/messages")).await.body)),
        ClearReactions => o
            .get(&format!("/channels/{ch}/messages/{}", t.a))
            .await
            .body
            .get("reactions")
            .cloned()
            .unwrap_or(json!([])),
        BanList | GuildInviteList | AuditLogRead => Value::Null,
    }
}

/// Runs every cell of `rows`; collects failures and reports them all at once.
async fn run_matrix(rows: &[Row]) {
    let srv = TestServer::start_with(|c| c.limits.max_guilds_per_user = 100_000).await;
    let c = cast(&srv).await;
    let mut failures = vec![];
    let mut cells = 0;
    for &row in rows {
        let mut whos = vec![Who::Outsider, Who::Member, Who::Mod];
        if row.hierarchy() {
            whos.push(Who::ModVsHigher);
        }
        whos.push(Who::Owner);
        for who in whos {
            cells += 1;
            let higher = who == Who::ModVsHigher;
            let fx = fixture(&c, row.perm()).await;
            let t = prepare(row, &c, &fx, higher).await;
            let before = observe(row, &c, &fx, &t).await;
            let (method, path, body) = request(row, &c, &fx, &t, higher);
            let client = match who {
                Who::Outsider => &c.outsider.1,
                Who::Member => &c.member.1,
                Who::Mod | Who::ModVsHigher => &c.moder.1,
                Who::Owner => &c.owner.1,
            };
            let r = client.send(method.clone(), &path, body).await;
            let after = observe(row, &c, &fx, &t).await;
            let allowed = match who {
                Who::Outsider | Who::Member | Who::ModVsHigher => false,
                Who::Mod => row.mod_allowed(),
                Who::Owner => true,
            };
            let cell = format!("{row:?} as {who:?} ({method} {path})");
            let status_ok = if allowed {
                (200..300).contains(&r.status)
            } else {
                match who {
                    Who::Outsider => (r.status == 403 && r.code() == 50001) || r.status == 404,
                    _ => r.status == 403 && r.code() == 50013,
                }
            };
            if !status_ok {
                failures.push(format!("{cell}: unexpected {} {}", r.status, r.body));
                continue;
            }
            if row.mutates() {
                if allowed && before == after {
                    failures.push(format!("{cell}: allowed but state unchanged: {before}"));
                }
                if !allowed && before != after {
                    failures.push(format!(
                        "{cell}: refused but state changed: {before} -> {after}"
                    ));
                }
            } else if allowed && !(r.body.is_array() || r.body.is_object()) {
                failures.push(format!("{cell}: unexpected body {}", r.body));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cells} cells failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn matrix_guild_channels_invites() {
    use Row::*;
    run_matrix(&[
        GuildModify,
        GuildDelete,
        ChannelCreate,
        ChannelModify,
        ChannelDelete,
        ChannelPositions,
        OverwritePut,
        OverwriteDelete,
        InviteCreate,
        InviteDelete,
        GuildInviteList,
        AuditLogRead,
    ])
    .await;
}

#[tokio::test]
async fn matrix_roles_and_members() {
    use Row::*;
    run_matrix(&[
        RoleCreate,
        RoleModify,
        RoleDelete,
        RolePositions,
        MemberNick,
        MemberRolesPatch,
        MemberKick,
        MemberRoleAdd,
        MemberRoleRemove,
    ])
    .await;
}

#[tokio::test]
async fn matrix_bans_and_messages() {
    use Row::*;
    run_matrix(&[
        Ban,
        Unban,
        BanList,
        MessageDeleteOthers,
        Pin,
        Unpin,
        BulkDelete,
        ClearReactions,
    ])
    .await;
}

// ---------------------------------------------------------------------------------------

/// Owner + member in a fresh guild.
async fn pair() -> (TestServer, Client, String, Client, Guild) {
    let srv = TestServer::start().await;
    let (_, owner) = srv.user("owner").await;
    let (member_id, member) = srv.user("member").await;
    let g = create_guild(&owner, "pair").await;
    join(&member, &g.invite).await;
    (srv, owner, member_id, member, g)
}

#[tokio::test]
async fn hidden_channel_and_member_overwrite() {
    let (_srv, owner, member_id, member, g) = pair().await;
    let secret = owner
        .post(
            &format!("/guilds/{}/channels", g.id),
            json!({"name": "secret"}),
        )
        .await;
    let secret = s(&secret.body["id"]);
    let m = say(&owner, &secret, "classified").await;
    // Visible before the overwrite.
    assert!(ids(&member.get(&format!("/guilds/{}/channels", g.id)).await.body).contains(&secret));

    // @everyone denied VIEW_CHANNEL.
    let r = owner
        .put(
            &format!("/channels/{secret}/permissions/{}", g.id),
            json!({"type": 0, "allow": "0", "deny": perm::VIEW_CHANNEL.to_string()}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let listed = ids(&member.get(&format!("/guilds/{}/channels", g.id)).await.body);
    assert!(
        !listed.contains(&secret),
        "hidden channel listed: {listed:?}"
    );
    assert!(listed.contains(&g.general));
    assert_err(
        &member.get(&format!("/channels/{secret}")).await,
        403,
        50001,
    );
    assert_err(
        &member.get(&format!("/channels/{secret}/messages")).await,
        403,
        50001,
    );
    assert_err(
        &member
            .get(&format!("/channels/{secret}/messages/{m}"))
            .await,
        403,
        50001,
    );
    assert_err(
        &member
            .post(
                &format!("/channels/{secret}/messages"),
                json!({"content": "let me in"}),
            )
            .await,
        403,
        50001,
    );
    // The owner still sees it.
    assert!(ids(&owner.get(&format!("/guilds/{}/channels", g.id)).await.body).contains(&secret));

    // A member overwrite allowing VIEW_CHANNEL restores access for that member.
    let r = owner
        .put(
            &format!("/channels/{secret}/permissions/{member_id}"),
            json!({"type": 1, "allow": perm::VIEW_CHANNEL.to_string(), "deny": "0"}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    assert!(ids(&member.get(&format!("/guilds/{}/channels", g.id)).await.body).contains(&secret));
    let ch = member.get(&format!("/channels/{secret}")).await;
    assert_eq!(ch.status, 200, "{ch:?}");
    let ows = ch.body["permission_overwrites"].as_array().unwrap();
    assert_eq!(ows.len(), 2);
    let hist = member.get(&format!("/channels/{secret}/messages")).await;
    assert_eq!(ids(&hist.body), vec![m.clone()]);
    say(&member, &secret, "thanks").await;

    // Removing the member overwrite hides it again.
    let r = owner
        .delete(&format!("/channels/{secret}/permissions/{member_id}"))
        .await;
    assert_eq!(r.status, 204);
    assert_err(
        &member.get(&format!("/channels/{secret}")).await,
        403,
        50001,
    );
}

#[tokio::test]
async fn role_overwrites_and_administrator() {
    let (_srv, owner, member_id, member, g) = pair().await;
    let chan = &g.general;
    // A role overwrite denying SEND_MESSAGES: can read, cannot post.
    let muted = create_role(&owner, &g.id, "muted", 0).await;
    give_role(&owner, &g.id, &member_id, &muted).await;
    let r = owner
        .put(
            &format!("/channels/{chan}/permissions/{muted}"),
            json!({"type": 0, "deny": perm::SEND_MESSAGES.to_string()}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let r = member
        .post(
            &format!("/channels/{chan}/messages"),
            json!({"content": "x"}),
        )
        .await;
    assert_err(&r, 403, 50013);
    assert_eq!(
        member
            .get(&format!("/channels/{chan}/messages"))
            .await
            .status,
        200
    );
    // A member overwrite allowing it wins over the role deny.
    let r = owner
        .put(
            &format!("/channels/{chan}/permissions/{member_id}"),
            json!({"type": 1, "allow": perm::SEND_MESSAGES.to_string()}),
        )
        .await;
    assert_eq!(r.status, 204);
    say(&member, chan, "member overwrite wins").await;
    let r = owner
        .delete(&format!("/channels/{chan}/permissions/{member_id}"))
        .await;
    assert_eq!(r.status, 204);
    // ADMINISTRATOR ignores overwrites.
    let admin = create_role(&owner, &g.id, "admin", perm::ADMINISTRATOR).await;
    give_role(&owner, &g.id, &member_id, &admin).await;
    say(&member, chan, "admin speaks").await;
    let mine = member.get("/users/@me/guilds").await;
    assert_eq!(mine.status, 200);
    let p: u64 = s(&mine.body[0]["permissions"]).parse().unwrap();
    assert_eq!(p & perm::ADMINISTRATOR, perm::ADMINISTRATOR);
}

#[tokio::test]
async fn cannot_grant_what_one_lacks() {
    let (srv, owner, member_id, member, g) = pair().await;
    let roles = create_role(&owner, &g.id, "roles", perm::MANAGE_ROLES).await;
    give_role(&owner, &g.id, &member_id, &roles).await;
    // A role manager cannot create a role with ADMINISTRATOR, or raise one to it.
    let r = member
        .post(
            &format!("/guilds/{}/roles", g.id),
            json!({"name": "sneaky", "permissions": perm::ADMINISTRATOR.to_string()}),
        )
        .await;
    assert_err(&r, 403, 50013);
    let low = create_role(&owner, &g.id, "low", 0).await;
    let r = member
        .patch(
            &format!("/guilds/{}/roles/{low}", g.id),
            json!({"permissions": perm::BAN_MEMBERS.to_string()}),
        )
        .await;
    assert_err(&r, 403, 50013);
    let r = member
        .patch(
            &format!("/guilds/{}/roles/{low}", g.id),
            json!({"permissions": perm::MANAGE_ROLES.to_string()}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    // Nor their own role (not below their highest).
    let r = member
        .patch(
            &format!("/guilds/{}/roles/{roles}", g.id),
            json!({"name": "mine"}),
        )
        .await;
    assert_err(&r, 403, 50013);
    // Nor give themselves a role at their own rank.
    let r = member
        .put_empty(&format!(
            "/guilds/{}/members/{member_id}/roles/{roles}",
            g.id
        ))
        .await;
    assert_err(&r, 403, 50013);
    // Only the owner transfers ownership, even a MANAGE_GUILD holder cannot.
    let managers = create_role(&owner, &g.id, "managers", perm::MANAGE_GUILD).await;
    give_role(&owner, &g.id, &member_id, &managers).await;
    let r = member
        .patch(&format!("/guilds/{}", g.id), json!({"owner_id": member_id}))
        .await;
    assert_err(&r, 403, 50013);
    let r = member
        .patch(&format!("/guilds/{}", g.id), json!({"name": "managed"}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    // The owner cannot be kicked or banned by anyone.
    let owner_id = s(&owner.get("/users/@me").await.body["id"]);
    let kicker = create_role(
        &owner,
        &g.id,
        "kicker",
        perm::KICK_MEMBERS | perm::BAN_MEMBERS,
    )
    .await;
    give_role(&owner, &g.id, &member_id, &kicker).await;
    assert_err(
        &member
            .delete(&format!("/guilds/{}/members/{owner_id}", g.id))
            .await,
        403,
        50013,
    );
    assert_err(
        &member
            .put(&format!("/guilds/{}/bans/{owner_id}", g.id), json!({}))
            .await,
        403,
        50013,
    );
    // Equal rank is not enough: two holders of the same top role cannot kick each other.
    let (peer_id, peer) = srv.user("peer").await;
    join(&peer, &g.invite).await;
    give_role(&owner, &g.id, &peer_id, &kicker).await;
    give_role(&owner, &g.id, &peer_id, &roles).await;
    assert_err(
        &member
            .delete(&format!("/guilds/{}/members/{peer_id}", g.id))
            .await,
        403,
        50013,
    );
    assert_eq!(
        owner
            .get(&format!("/guilds/{}/members/{peer_id}", g.id))
            .await
            .status,
        200
    );
    let guild = owner.get(&format!("/guilds/{}", g.id)).await;
    assert_eq!(guild.body["owner_id"], owner_id.as_str());
}

#[tokio::test]
async fn ownership_transfer() {
    let (srv, owner, member_id, member, g) = pair().await;
    let owner_id = s(&owner.get("/users/@me").await.body["id"]);
    let (stranger_id, _stranger) = srv.user("stranger").await;
    // The new owner must be a member.
    let r = owner
        .patch(
            &format!("/guilds/{}", g.id),
            json!({"owner_id": stranger_id}),
        )
        .await;
    assert_field_error(&r, "owner_id");
    let r = owner
        .patch(&format!("/guilds/{}", g.id), json!({"owner_id": member_id}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["owner_id"], member_id.as_str());
    let got = member.get(&format!("/guilds/{}", g.id)).await;
    assert_eq!(got.body["owner_id"], member_id.as_str());
    // Powers moved with it.
    assert_err(
        &owner
            .patch(&format!("/guilds/{}", g.id), json!({"name": "mine again"}))
            .await,
        403,
        50013,
    );
    let r = member
        .patch(&format!("/guilds/{}", g.id), json!({"name": "new owner"}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_err(
        &member.delete(&format!("/users/@me/guilds/{}", g.id)).await,
        400,
        50055,
    );
    let r = owner.delete(&format!("/users/@me/guilds/{}", g.id)).await;
    assert_eq!(r.status, 204, "{r:?}");
    assert_err(
        &member
            .get(&format!("/guilds/{}/members/{owner_id}", g.id))
            .await,
        404,
        10007,
    );
}

#[tokio::test]
async fn banned_user_cannot_rejoin_by_any_invite() {
    let (srv, owner, member_id, member, g) = pair().await;
    let m = say(&member, &g.general, "before the ban").await;
    let r = owner
        .raw(
            Method::PUT,
            &format!("/guilds/{}/bans/{member_id}", g.id),
            Some(br#"{"delete_message_seconds": 3600}"#.to_vec()),
            &[("X-Audit-Log-Reason", "rule%201")],
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    // Gone from the guild, their recent messages deleted, the ban readable.
    assert_err(
        &owner
            .get(&format!("/guilds/{}/members/{member_id}", g.id))
            .await,
        404,
        10007,
    );
    assert_err(
        &owner
            .get(&format!("/channels/{}/messages/{m}", g.general))
            .await,
        404,
        10008,
    );
    let ban = owner
        .get(&format!("/guilds/{}/bans/{member_id}", g.id))
        .await;
    assert_eq!(ban.status, 200, "{ban:?}");
    assert_eq!(ban.body["user"]["id"], member_id.as_str());
    assert_eq!(ban.body["reason"], "rule 1");
    assert_err(&member.get(&format!("/guilds/{}", g.id)).await, 403, 50001);

    // The old invite and a brand new one both refuse.
    assert_err(
        &member
            .post(&format!("/invites/{}", g.invite), json!({}))
            .await,
        403,
        40007,
    );
    let fresh = owner
        .post(
            &format!("/channels/{}/invites", g.general),
            json!({"unique": true, "max_uses": 5}),
        )
        .await;
    let code = s(&fresh.body["code"]);
    assert_err(
        &member.post(&format!("/invites/{code}"), json!({})).await,
        403,
        40007,
    );
    // The refused joins did not consume uses.
    let invs = owner.get(&format!("/guilds/{}/invites", g.id)).await;
    let inv = invs
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["code"] == code.as_str())
        .unwrap()
        .clone();
    assert_eq!(inv["uses"], 0);

    // After an unban they can join again.
    let r = owner
        .delete(&format!("/guilds/{}/bans/{member_id}", g.id))
        .await;
    assert_eq!(r.status, 204);
    assert_err(
        &owner
            .get(&format!("/guilds/{}/bans/{member_id}", g.id))
            .await,
        404,
        10026,
    );
    join(&member, &code).await;
    let _ = srv;
}

#[tokio::test]
async fn non_member_cannot_read_or_write() {
    let (srv, owner, _member_id, _member, g) = pair().await;
    let (_, stranger) = srv.user("stranger").await;
    let m = say(&owner, &g.general, "members only").await;
    let c = &g.general;
    for r in [
        stranger.get(&format!("/channels/{c}")).await,
        stranger.get(&format!("/channels/{c}/messages")).await,
        stranger.get(&format!("/channels/{c}/messages/{m}")).await,
        stranger.get(&format!("/channels/{c}/pins")).await,
        stranger
            .post(&format!("/channels/{c}/messages"), json!({"content": "hi"}))
            .await,
        stranger
            .put_empty(&format!(
                "/channels/{c}/messages/{m}/reactions/%F0%9F%91%8D/@me"
            ))
            .await,
        stranger.get(&format!("/guilds/{}", g.id)).await,
        stranger.get(&format!("/guilds/{}/channels", g.id)).await,
        stranger
            .get(&format!("/guilds/{}/members?limit=10", g.id))
            .await,
        stranger.get(&format!("/guilds/{}/roles", g.id)).await,
    ] {
        assert_err(&r, 403, 50001);
        assert!(
            !r.body.to_string().contains("members only"),
            "content leaked: {r:?}"
        );
    }
    // Unauthenticated: 401 everywhere.
    let anon = srv.anon();
    let r = anon.get(&format!("/channels/{c}/messages")).await;
    assert_err(&r, 401, 0);
    // Nothing was written.
    assert_eq!(
        ids(&owner.get(&format!("/channels/{c}/messages")).await.body),
        vec![m]
    );
}
