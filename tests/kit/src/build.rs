//! Builders of test state through the real REST API (Discord's routes, as a client would):
//! a registered user with its token, a guild with its default channel and an invite, a guild
//! with N members, a bot application with its token.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::Method;
use serde_json::{Value, json};

use crate::Res;
use crate::rest::Client;

/// The password builders register `username` with.
pub fn password_of(username: &str) -> String {
    format!("{username}-pass-123")
}

fn text(v: &Value, what: &str) -> Res<String> {
    v.as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("{what}: expected a string, got {v}"))
}

/// A registered user.
#[derive(Clone)]
pub struct User {
    pub id: String,
    /// Its access token.
    pub token: String,
    /// A client sending `Authorization: Bearer <token>`.
    pub client: Client,
}

/// `POST /auth/register` for `username` with [`password_of`]; the 201 body
/// (`{user_id, token, refresh_token, ...}`).
///
/// # Errors
/// A transport error or another status, with the response.
pub async fn register_body(anon: &Client, username: &str) -> Res<Value> {
    let r = anon
        .try_send(
            Method::POST,
            "/auth/register",
            Some(json!({"username": username, "password": password_of(username)})),
        )
        .await?
        .expect_status(201, &format!("register {username}"))?;
    Ok(r.body)
}

/// Registers `username` (see [`register_body`]).
///
/// # Errors
/// As [`register_body`].
pub async fn register(anon: &Client, username: &str) -> Res<User> {
    let b = register_body(anon, username).await?;
    let token = text(&b["token"], "token")?;
    Ok(User {
        id: text(&b["user_id"], "user_id")?,
        client: anon.clone().bearer(&token),
        token,
    })
}

/// `POST /auth/login` as `username` with [`password_of`]; the access token.
///
/// # Errors
/// A transport error or a status other than 200.
pub async fn login(anon: &Client, username: &str) -> Res<String> {
    let r = anon
        .try_send(
            Method::POST,
            "/auth/login",
            Some(json!({"login": username, "password": password_of(username)})),
        )
        .await?
        .expect_status(200, &format!("login {username}"))?;
    text(&r.body["token"], "token")
}

/// Registers `{prefix}{i}` for `i` in `0..n`, 32 at a time, each joining `invite` if given;
/// the users in order of `i`.
///
/// # Errors
/// The first failure.
pub async fn register_many(
    anon: &Client,
    prefix: &str,
    n: usize,
    invite: Option<&str>,
) -> Res<Vec<User>> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..32.min(n.max(1)) {
        let (anon, next, prefix, invite) = (
            anon.clone(),
            next.clone(),
            prefix.to_owned(),
            invite.map(str::to_owned),
        );
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, String>(out);
                }
                let u = register(&anon, &format!("{prefix}{i}")).await?;
                if let Some(code) = &invite {
                    join(&u.client, code).await?;
                }
                out.push((i, u));
            }
        }));
    }
    let mut all = Vec::with_capacity(n);
    for t in tasks {
        all.extend(t.await.map_err(|e| format!("register task: {e}"))??);
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, u)| u).collect())
}

/// A guild as its owner created it.
#[derive(Debug, Clone)]
pub struct Guild {
    pub id: String,
    /// The default `general` text channel.
    pub general: String,
    /// An invite that never expires and has no use limit.
    pub invite: String,
}

/// `owner` creates a guild named `name` (201), reads its channels (the first is `general`)
/// and creates an unlimited invite to it.
///
/// # Errors
/// A transport error or an unexpected status, with the response.
pub async fn create_guild(owner: &Client, name: &str) -> Res<Guild> {
    let g = owner
        .try_send(Method::POST, "/guilds", Some(json!({"name": name})))
        .await?
        .expect_status(201, "create guild")?;
    let id = text(&g.body["id"], "guild id")?;
    let chans = owner
        .try_send(Method::GET, &format!("/guilds/{id}/channels"), None)
        .await?
        .expect_status(200, "guild channels")?;
    let general = text(&chans.body[0]["id"], "channel id")?;
    let inv = owner
        .try_send(
            Method::POST,
            &format!("/channels/{general}/invites"),
            Some(json!({"max_age": 0, "max_uses": 0, "unique": true})),
        )
        .await?
        .expect_status(200, "create invite")?;
    Ok(Guild {
        id,
        general,
        invite: text(&inv.body["code"], "invite code")?,
    })
}

/// `c` joins with invite `code` (200).
///
/// # Errors
/// A transport error or another status.
pub async fn join(c: &Client, code: &str) -> Res<()> {
    c.try_send(Method::POST, &format!("/invites/{code}"), Some(json!({})))
        .await?
        .expect_status(200, &format!("join {code}"))
        .map(|_| ())
}

/// `owner` creates guild `name`; `n` users `{prefix}{i}` register and join it.
///
/// # Errors
/// The first failure.
pub async fn guild_with_members(
    owner: &Client,
    name: &str,
    prefix: &str,
    n: usize,
) -> Res<(Guild, Vec<User>)> {
    let g = create_guild(owner, name).await?;
    let members = register_many(&owner.clone().anon(), prefix, n, Some(&g.invite)).await?;
    Ok((g, members))
}

/// A bot application.
#[derive(Clone)]
pub struct Bot {
    /// The application id.
    pub id: String,
    /// Its bot user's id.
    pub user_id: String,
    /// The bot token.
    pub token: String,
    /// A client sending `Authorization: Bot <token>`.
    pub client: Client,
}

/// `owner` creates application `name` (201), sets its `flags` when not 0 (gateway intents
/// flags such as GATEWAY_MESSAGE_CONTENT_LIMITED), and, with `guild`, authorizes its bot into
/// that guild without permissions (`POST /oauth2/authorize?client_id=..&scope=bot`).
///
/// # Errors
/// A transport error or an unexpected status, with the response.
pub async fn bot_application(
    owner: &Client,
    name: &str,
    flags: u64,
    guild: Option<&str>,
) -> Res<Bot> {
    let app = owner
        .try_send(Method::POST, "/applications", Some(json!({"name": name})))
        .await?
        .expect_status(201, "create application")?;
    let id = text(&app.body["id"], "application id")?;
    if flags != 0 {
        owner
            .try_send(
                Method::PATCH,
                &format!("/applications/{id}"),
                Some(json!({"flags": flags})),
            )
            .await?
            .expect_status(200, "application flags")?;
    }
    if let Some(g) = guild {
        owner
            .try_send(
                Method::POST,
                &format!("/oauth2/authorize?client_id={id}&scope=bot"),
                Some(json!({"guild_id": g, "permissions": "0", "authorize": true})),
            )
            .await?
            .expect_status(200, "authorize bot")?;
    }
    let token = text(&app.body["token"], "bot token")?;
    Ok(Bot {
        client: owner.clone().anon().bot(&token),
        user_id: text(&app.body["bot"]["id"], "bot user id")?,
        id,
        token,
    })
}
