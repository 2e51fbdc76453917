//! Federation of files (issue 13; spec/federation.md §17): attachments, avatars, guild
//! icons, banners and splashes, and custom emoji of one server shown by another.
//!
//! **Origin side** (the server that stores the file): signed `GET` endpoints, each taking a
//! [`SignedRequest`] (an unsigned or badly signed request is refused before anything is
//! read):
//! - `/_hearth/federation/v1/media/attachments/{channel_id}/{attachment_id}`: an attachment
//!   of a guild hosted here, only for a server with at least one member who may view the
//!   channel (the rule of channel visibility of §6.4, [`Fed::server_sees`]); otherwise, and
//!   for unknown files, 404 `H_NOT_FOUND` (a hidden file's existence is not confirmed);
//! - `/_hearth/federation/v1/media/users/{username}/avatars/{hash}`: a local user's avatar;
//! - `/_hearth/federation/v1/media/guilds/{guild_id}/{icons|banners|splashes}/{hash}`: an
//!   image of a guild hosted here;
//! - `/_hearth/federation/v1/media/emojis/{emoji_id}`: a custom emoji of a guild hosted here.
//!
//! The answer is the stored bytes, streamed, with `Content-Type` (an attachment's stored
//! type; an image's type from its bytes), `Content-Length` and `X-Content-Type-Options:
//! nosniff`.
//!
//! **Member side** (the server that shows it): a replica's messages carry their attachments
//! under local ids with this server's signed URLs ([`Fed::localize_attachments`]); their
//! rows name a blob under [`REMOTE_PREFIX`] that is empty until first requested. Avatars of
//! remote users and images of replicas keep their hashes, so clients build this server's
//! CDN URLs. On the first request of a file whose bytes are missing, the service asks the
//! [`GuildHost`](crate::service::ports::GuildHost) port, which [`Federation::fetch_media`]
//! answers: the origin is found from the local rows (a replica's host, a remote user's home
//! server) and the origin's ids through `id_map`; the file is fetched over the signed
//! client (HTTPS, address policy, `federation.request_timeout_ms`), recorded in the blob
//! ledger (charged to no one, under the replica's guild), streamed into the blob store under
//! its size limit and served from there afterwards; an attachment's type, size and
//! dimensions are then measured from the bytes (the function that types uploads) and replace
//! the host's claim on its row. Concurrent first requests of one file wait for one fetch.
//! The member-side changes that leave a cached file unnamed release its ledger row
//! (`apply.rs`, the storage methods of replicas), so the file collector deletes it.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::StreamExt;

use super::{Fed, FedError, FedRejection, FedState, Federation, SignedRequest};
use crate::error::{Error, FedRefusal, Result};
use crate::service::Hearth;
use crate::service::images::{ImageKind, valid_hash};
use crate::service::ports::{BlobKey, BlobReader, BlobStream, RemoteMedia};
use crate::snowflake::Snowflake;
use crate::storage::AttachmentRow;
use crate::wire;

/// The blob-store prefix of remote attachments and emoji kept here (their ledger rows are
/// charged to no one, spec/federation.md §17.3).
pub use crate::storage::REMOTE_FILES as REMOTE_PREFIX;

/// Bytes of the start of a fetched file kept for sniffing its type (as uploads).
const SNIFF_BYTES: usize = 64 * 1024;

/// The file routes of the federation listener (see the module documentation).
pub fn routes() -> Router<FedState> {
    Router::new()
        .route(
            "/_hearth/federation/v1/media/attachments/{channel_id}/{attachment_id}",
            get(attachment),
        )
        .route(
            "/_hearth/federation/v1/media/users/{username}/avatars/{hash}",
            get(avatar),
        )
        .route(
            "/_hearth/federation/v1/media/guilds/{guild_id}/{kind}/{hash}",
            get(guild_image),
        )
        .route("/_hearth/federation/v1/media/emojis/{emoji_id}", get(emoji))
}

fn id_of(s: &str) -> Option<i64> {
    s.parse::<u64>().ok().map(|v| v as i64)
}

/// 404 `H_NOT_FOUND` for every file the caller may not have, known or not.
fn unknown() -> Error {
    Error::Federation(FedRefusal::NotFound(
        "no such file, or none of your server's members may see it".into(),
    ))
}

fn answer(r: Result<Response>) -> Response {
    r.unwrap_or_else(|e| FedRejection(e).into_response())
}

/// The bytes of `body` as the answer, typed `content_type`.
fn file_response(content_type: &str, body: BlobReader) -> Result<Response> {
    let stream = body
        .stream
        .map(|chunk| chunk.map_err(|e| std::io::Error::other(e.to_string())));
    let mut r = axum::body::Body::from_stream(stream).into_response();
    let hs = r.headers_mut();
    hs.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    hs.insert(header::CONTENT_LENGTH, HeaderValue::from(body.size));
    hs.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(r)
}

/// An image stored under `key`, typed from its bytes; 404 when there is none.
async fn image_response(h: &Hearth, key: BlobKey) -> Result<Response> {
    let bytes = h.blobs.get(&key).await?.ok_or_else(unknown)?;
    let ct = crate::service::sniff::sniff(&bytes).content_type;
    let mut r = bytes.into_response();
    let hs = r.headers_mut();
    hs.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(ct).map_err(Error::internal)?,
    );
    hs.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(r)
}

/// `GET .../media/attachments/{channel_id}/{attachment_id}`.
async fn attachment(
    State(s): State<FedState>,
    Path((channel_id, attachment_id)): Path<(String, String)>,
    req: SignedRequest,
) -> Response {
    let h = s.ctx();
    answer(
        async {
            let (Some(c), Some(a)) = (id_of(&channel_id), id_of(&attachment_id)) else {
                return Err(unknown());
            };
            let row = h.db.attachment(c, a).await?.ok_or_else(unknown)?;
            let gid =
                h.db.channel(c)
                    .await?
                    .and_then(|ch| ch.guild_id)
                    .ok_or_else(unknown)?;
            let hosted =
                h.db.guild(gid)
                    .await?
                    .is_some_and(|g| g.host_server.is_none());
            if !hosted || !h.server_sees(gid, &req.origin, c).await? {
                return Err(unknown());
            }
            let body = h
                .blobs
                .open(&BlobKey::new(row.blob_key.clone())?)
                .await?
                .ok_or_else(|| Error::internal(format!("attachment {} has no bytes", row.id)))?;
            file_response(&row.content_type, body)
        }
        .await,
    )
}

/// `GET .../media/users/{username}/avatars/{hash}`: a local user's avatar.
async fn avatar(
    State(s): State<FedState>,
    Path((username, hash)): Path<(String, String)>,
    _req: SignedRequest,
) -> Response {
    let h = s.ctx();
    answer(
        async {
            if !valid_hash(&hash) {
                return Err(unknown());
            }
            let u = h.db.local_user(&username).await?.ok_or_else(unknown)?;
            let key = BlobKey::new(format!("{}/{}/{hash}", ImageKind::Avatar.folder(), u.id))?;
            image_response(h.h, key).await
        }
        .await,
    )
}

/// `GET .../media/guilds/{guild_id}/{icons|banners|splashes}/{hash}`.
async fn guild_image(
    State(s): State<FedState>,
    Path((guild_id, kind, hash)): Path<(String, String, String)>,
    _req: SignedRequest,
) -> Response {
    let h = s.ctx();
    answer(
        async {
            let kind = [ImageKind::Icon, ImageKind::Banner, ImageKind::Splash]
                .into_iter()
                .find(|k| k.folder() == kind)
                .ok_or_else(unknown)?;
            let gid = id_of(&guild_id).ok_or_else(unknown)?;
            if !valid_hash(&hash) {
                return Err(unknown());
            }
            let hosted =
                h.db.guild(gid)
                    .await?
                    .is_some_and(|g| g.host_server.is_none());
            if !hosted {
                return Err(unknown());
            }
            image_response(
                h.h,
                BlobKey::new(format!("{}/{gid}/{hash}", kind.folder()))?,
            )
            .await
        }
        .await,
    )
}

/// `GET .../media/emojis/{emoji_id}`.
async fn emoji(
    State(s): State<FedState>,
    Path(emoji_id): Path<String>,
    _req: SignedRequest,
) -> Response {
    let h = s.ctx();
    answer(
        async {
            let id = id_of(&emoji_id).ok_or_else(unknown)?;
            let row = h.db.emoji_by_id(id).await?.ok_or_else(unknown)?;
            let hosted =
                h.db.guild(row.guild_id)
                    .await?
                    .is_some_and(|g| g.host_server.is_none());
            if !hosted {
                return Err(unknown());
            }
            image_response(h.h, BlobKey::new(row.blob_key)?).await
        }
        .await,
    )
}

/// A media type safe to keep and send back as a header: the host's claim when it is plain
/// visible ASCII of a sane length, `application/octet-stream` otherwise.
fn clean_content_type(ct: Option<&str>) -> String {
    match ct {
        Some(c)
            if !c.is_empty()
                && c.len() <= 255
                && c.bytes().all(|b| b.is_ascii_graphic() || b == b' ') =>
        {
            c.to_string()
        }
        _ => "application/octet-stream".into(),
    }
}

impl Fed<'_> {
    /// The attachment rows of a replica's message `m` (already translated; its attachments
    /// still carry the host's ids, which the `Ids` visitor skips) and `m` rewritten as this
    /// server shows it: each attachment's id mapped through `id_map` (a local id minted on
    /// first sight), its `url` and `proxy_url` this server's signed URLs, and for a file
    /// already fetched its type, size and dimensions as measured here. The rows name blobs
    /// under [`REMOTE_PREFIX`], fetched on first request.
    ///
    /// Errors: storage errors.
    pub(super) async fn localize_attachments(
        &self,
        host: &str,
        m: &mut wire::Message,
    ) -> Result<Vec<AttachmentRow>> {
        let channel_id = m.channel_id.db();
        let mut rows = Vec::with_capacity(m.attachments.len());
        for (position, a) in m.attachments.iter_mut().enumerate() {
            let remote = a.id.db();
            let (id, known) = match self.db.map_get(host, remote).await? {
                Some(l) => (l, self.db.attachment(channel_id, l).await?),
                None => (self.db.map_put(host, remote, self.next_id()).await?, None),
            };
            // Once fetched, a file's type, size and dimensions are those measured from its
            // bytes (kept on its row), not the host's claim.
            let (content_type, size, width, height) = match known {
                Some(k) => (k.content_type, k.size, k.width, k.height),
                None => (
                    clean_content_type(a.content_type.as_deref()),
                    a.size.min(i64::MAX as u64) as i64,
                    a.width.map(|w| w.min(i64::MAX as u64) as i64),
                    a.height.map(|h| h.min(i64::MAX as u64) as i64),
                ),
            };
            let row = AttachmentRow {
                id,
                message_id: m.id.db(),
                channel_id,
                position: position as i64,
                filename: crate::service::attachments::clean_filename(&a.filename),
                description: a
                    .description
                    .as_ref()
                    .map(|d| d.chars().take(1024).collect()),
                content_type,
                size,
                width,
                height,
                blob_key: format!("{}{channel_id}/{id}", crate::storage::REMOTE_ATTACHMENTS),
            };
            let url = self.attachment_url(channel_id, id, &row.filename);
            *a = wire::Attachment {
                id: Snowflake::from_db(id),
                filename: row.filename.clone(),
                description: row.description.clone(),
                content_type: Some(row.content_type.clone()),
                size: row.size.max(0) as u64,
                proxy_url: url.clone(),
                url,
                width: row.width.map(|w| w.max(0) as u64),
                height: row.height.map(|h| h.max(0) as u64),
            };
            rows.push(row);
        }
        Ok(rows)
    }

    /// Makes the replica's emoji those of `emojis` (the host's list, translated): rows
    /// added, renamed, re-roled or removed (the images of removed ones cached here are handed
    /// to the file collector). A replica emoji's image is the blob `remote/emojis/{local id}`,
    /// fetched on first request (an emoji's image never changes).
    ///
    /// Errors: storage errors.
    pub(super) async fn replica_emojis(
        &self,
        guild_id: i64,
        emojis: &[wire::GuildEmoji],
    ) -> Result<()> {
        let now = crate::storage::now_ms();
        let rows: Vec<crate::storage::Emoji> = emojis
            .iter()
            .map(|e| crate::storage::Emoji {
                row: crate::storage::EmojiRow {
                    id: e.id.db(),
                    guild_id,
                    name: e.name.clone(),
                    user_id: e.user.as_ref().map_or(0, |u| u.id.db()),
                    animated: e.animated,
                    blob_key: format!("{REMOTE_PREFIX}emojis/{}", e.id.db()),
                    created_at: now,
                },
                roles: e.roles.iter().map(|r| r.db()).collect(),
            })
            .collect();
        let released = self.db.replace_replica_emojis(guild_id, &rows).await?;
        self.files_released(released);
        Ok(())
    }

    /// Where a remote file comes from (its origin's media endpoint) and which replica it
    /// belongs to, or `None` when `media` is not a remote file this server shows (a local
    /// object, an unknown one, or a hash that is not the object's current one).
    async fn media_source(&self, media: &RemoteMedia) -> Result<Option<Source>> {
        const BASE: &str = "/_hearth/federation/v1/media";
        Ok(match media {
            RemoteMedia::Attachment {
                channel_id,
                attachment_id,
            } => {
                let Some(gid) = self.db.channel(*channel_id).await?.and_then(|c| c.guild_id) else {
                    return Ok(None);
                };
                let Some(rg) = self.db.remote_guild(gid).await? else {
                    return Ok(None);
                };
                let c = self.db.map_reverse(&rg.host, *channel_id).await?;
                let a = self.db.map_reverse(&rg.host, *attachment_id).await?;
                match (c, a) {
                    (Some(c), Some(a)) => Some(Source {
                        server: rg.host,
                        path: format!("{BASE}/attachments/{c}/{a}"),
                        guild_id: Some(gid),
                    }),
                    _ => None,
                }
            }
            RemoteMedia::Avatar { user_id, hash } => {
                let Some(u) = self.db.user(*user_id).await? else {
                    return Ok(None);
                };
                let Some(server) = u.home_server.clone() else {
                    return Ok(None);
                };
                if !valid_hash(hash) || u.avatar.as_deref() != Some(hash.as_str()) {
                    return Ok(None);
                }
                let name = u
                    .username
                    .rsplit_once('@')
                    .map_or(u.username.as_str(), |(n, _)| n);
                let plain = !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
                plain.then(|| Source {
                    server,
                    path: format!("{BASE}/users/{name}/avatars/{hash}"),
                    guild_id: None,
                })
            }
            RemoteMedia::GuildImage {
                kind,
                guild_id,
                hash,
            } => {
                let Some(g) = self.db.guild(*guild_id).await? else {
                    return Ok(None);
                };
                let current = match kind {
                    ImageKind::Icon => g.icon.as_deref(),
                    ImageKind::Banner => g.banner.as_deref(),
                    ImageKind::Splash => g.splash.as_deref(),
                    ImageKind::Avatar | ImageKind::Emoji | ImageKind::EventCover => None,
                };
                if !valid_hash(hash) || current != Some(hash.as_str()) {
                    return Ok(None);
                }
                let Some(rg) = self.db.remote_guild(*guild_id).await? else {
                    return Ok(None);
                };
                Some(Source {
                    server: rg.host,
                    path: format!(
                        "{BASE}/guilds/{}/{}/{hash}",
                        rg.host_guild_id,
                        kind.folder()
                    ),
                    guild_id: Some(*guild_id),
                })
            }
            RemoteMedia::Emoji { emoji_id } => {
                let Some(row) = self.db.emoji_by_id(*emoji_id).await? else {
                    return Ok(None);
                };
                let Some(rg) = self.db.remote_guild(row.guild_id).await? else {
                    return Ok(None);
                };
                self.db
                    .map_reverse(&rg.host, *emoji_id)
                    .await?
                    .map(|e| Source {
                        server: rg.host,
                        path: format!("{BASE}/emojis/{e}"),
                        guild_id: Some(row.guild_id),
                    })
            }
        })
    }
}

/// Where a remote file comes from ([`Fed::media_source`]).
struct Source {
    /// The origin server.
    server: String,
    /// The path of the file on the origin's media endpoints (§17.2).
    path: String,
    /// The replica it belongs to (local id), `None` for an avatar: the guild of its ledger
    /// row, whose files go when the replica is dropped.
    guild_id: Option<i64>,
}

/// The error a client of this server sees for a failed fetch from an origin.
fn fetch_error(e: FedError, max_bytes: u64) -> Error {
    match e {
        FedError::TooLarge { .. } => Error::Federation(FedRefusal::RemoteTooLarge(max_bytes)),
        FedError::Remote {
            status: 403 | 404, ..
        } => Error::RouteNotFound,
        other => Error::Unavailable(format!("federation: {other}")),
    }
}

impl Federation {
    /// [`GuildHost::fetch_media`](crate::service::ports::GuildHost::fetch_media): see the
    /// module documentation.
    pub(super) async fn fetch_media(
        &self,
        h: &Hearth,
        media: RemoteMedia,
        key: &BlobKey,
        max_bytes: u64,
    ) -> Result<bool> {
        let Some(src) = (Fed { h, fed: self }).media_source(&media).await? else {
            return Ok(false);
        };
        let lock = self
            .media_fetches
            .lock()
            .entry(key.as_str().to_string())
            .or_default()
            .clone();
        let guard = lock.lock().await;
        let fetched = async {
            // Someone else fetched it while we waited.
            if h.blobs.open(key).await?.is_some() {
                return Ok(true);
            }
            let Source {
                server,
                path,
                guild_id,
            } = src;
            let cap = usize::try_from(max_bytes).unwrap_or(usize::MAX);
            let resp = self
                .client
                .get_file(&server, &path, cap)
                .await
                .map_err(|e| fetch_error(e, max_bytes))?;
            // The ledger row first (a crash then leaves a row, never unrecorded bytes); the
            // collector deletes the bytes once the row is released (media_gc).
            h.db.record_remote_blob(key.as_str(), guild_id, crate::storage::now_ms())
                .await?;
            let head = Arc::new(parking_lot::Mutex::new(bytes::BytesMut::new()));
            let seen_head = head.clone();
            let body: BlobStream = Box::pin(futures_util::stream::unfold(
                (resp, 0u64, false),
                move |(mut resp, seen, done)| {
                    let head = seen_head.clone();
                    async move {
                        if done {
                            return None;
                        }
                        match resp.chunk().await {
                            Ok(Some(c)) => {
                                let seen = seen + c.len() as u64;
                                if seen > max_bytes {
                                    let e =
                                        Error::Federation(FedRefusal::RemoteTooLarge(max_bytes));
                                    return Some((Err(e), (resp, seen, true)));
                                }
                                let mut kept = head.lock();
                                if kept.len() < SNIFF_BYTES {
                                    let take = c.len().min(SNIFF_BYTES - kept.len());
                                    kept.extend_from_slice(&c[..take]);
                                }
                                drop(kept);
                                Some((Ok(c), (resp, seen, false)))
                            }
                            Ok(None) => None,
                            Err(e) => {
                                let e =
                                    fetch_error(hearth_federation::http::map_reqwest(e), max_bytes);
                                Some((Err(e), (resp, seen, true)))
                            }
                        }
                    }
                },
            ));
            let n = match h.blobs.put_stream(key, body).await {
                Ok(n) => n,
                Err(e) => {
                    let _ =
                        h.db.release_blobs(&[key.as_str().to_string()], crate::storage::now_ms())
                            .await;
                    return Err(e);
                }
            };
            // An attachment is typed by its bytes, as uploads are, never by the host's claim
            // (the host's type, size and dimensions are replaced on its row).
            let sniffed = crate::service::sniff::sniff(&head.lock());
            let px = |v: u64| v.min(i64::MAX as u64) as i64;
            let attachment = match &media {
                RemoteMedia::Attachment {
                    channel_id,
                    attachment_id,
                } => Some(crate::storage::MeasuredAttachment {
                    channel_id: *channel_id,
                    id: *attachment_id,
                    content_type: sniffed.content_type,
                    dims: sniffed.dims.map(|(w, ht)| (px(w), px(ht))),
                }),
                _ => None,
            };
            h.db.settle_remote_blob(key.as_str(), n.min(i64::MAX as u64) as i64, attachment)
                .await?;
            tracing::debug!(key = key.as_str(), server, bytes = n, "remote file cached");
            Ok::<bool, Error>(true)
        }
        .await;
        drop(guard);
        drop(lock);
        // Forget the lock once nobody waits on it (only the map holds it then).
        let mut locks = self.media_fetches.lock();
        if locks
            .get(key.as_str())
            .is_some_and(|l| Arc::strong_count(l) == 1)
        {
            locks.remove(key.as_str());
        }
        fetched
    }
}
