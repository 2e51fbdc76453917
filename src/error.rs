//! The one error type of the homeserver and its mapping to Discord's error format.
//!
//! Every failure a client can cause maps to a 4xx with a JSON body `{code, message, errors?}`
//! (Discord API docs, "Reference > Error Messages" and "Topics > Opcodes and Status Codes >
//! JSON Error Codes"). Internal failures are logged and answered with a bare 500; their
//! details never reach the client. [`Error::status`] is an exhaustive match, so a new variant
//! forces a decision.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

mod refusals;
mod rule;
pub use refusals::Refusal;

/// An entity that was not found; each maps to Discord's "Unknown ..." code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unknown {
    Account,
    Application,
    /// 10063.
    ApplicationCommand,
    /// 10066: no permissions stored for that command in that guild.
    CommandPermissions,
    Ban,
    Channel,
    Emoji,
    Guild,
    Invite,
    Member,
    Message,
    Overwrite,
    Role,
    Session,
    User,
    /// Hearth's own code: Discord documents none for security keys.
    Passkey,
    /// 10015.
    Webhook,
    /// 10062: an unknown interaction, a token that is not its own, or one past its time.
    Interaction,
    /// Hearth's code 10000: Discord documents none for Auto Moderation rules.
    AutomodRule,
    /// 10065: the user is not connected to voice in that guild.
    VoiceState,
    /// 10070.
    ScheduledEvent,
    /// 10067: the channel has no live stage instance.
    StageInstance,
}

impl Unknown {
    fn code_message(self) -> (u32, &'static str) {
        match self {
            Unknown::Account => (10001, "Unknown Account"),
            Unknown::Application => (10002, "Unknown Application"),
            Unknown::ApplicationCommand => (10063, "Unknown application command"),
            Unknown::CommandPermissions => (10066, "Unknown application command permissions"),
            Unknown::Channel => (10003, "Unknown Channel"),
            Unknown::Guild => (10004, "Unknown Guild"),
            Unknown::Invite => (10006, "Unknown Invite"),
            Unknown::Member => (10007, "Unknown Member"),
            Unknown::Message => (10008, "Unknown Message"),
            Unknown::Overwrite => (10009, "Unknown Overwrite"),
            Unknown::Role => (10011, "Unknown Role"),
            Unknown::User => (10013, "Unknown User"),
            Unknown::Emoji => (10014, "Unknown Emoji"),
            Unknown::Session => (10020, "Unknown Session"),
            Unknown::Ban => (10026, "Unknown Ban"),
            Unknown::Passkey => (10100, "Unknown Passkey"),
            Unknown::Webhook => (10015, "Unknown Webhook"),
            Unknown::Interaction => (10062, "Unknown interaction"),
            Unknown::AutomodRule => (10000, "Unknown Auto Moderation Rule"),
            Unknown::VoiceState => (10065, "Unknown Voice State"),
            Unknown::ScheduledEvent => (10070, "Unknown Guild Scheduled Event"),
            Unknown::StageInstance => (10067, "Unknown Stage Instance"),
        }
    }
}

pub use rule::Rule;

/// Field errors of an invalid form body (code 50035), keyed by a dotted path such as
/// `embeds.0.title`; rendered as Discord's nested `{"field": {"_errors": [...]}}` object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<(String, &'static str, String)>);

impl FieldErrors {
    pub fn new() -> Self {
        FieldErrors(Vec::new())
    }
    /// Adds an error at `path` with Discord's error `code` (e.g. `BASE_TYPE_MAX_LENGTH`).
    pub fn add(&mut self, path: impl Into<String>, code: &'static str, message: impl Into<String>) {
        self.0.push((path.into(), code, message.into()));
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// `Ok(())` when empty, otherwise the 50035 error.
    pub fn into_result(self) -> Result<(), Error> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidForm(self))
        }
    }
    fn to_json(&self) -> Value {
        let mut root = Map::new();
        for (path, code, message) in &self.0 {
            let mut node = &mut root;
            for part in path.split('.').filter(|p| !p.is_empty()) {
                node = node
                    .entry(part.to_string())
                    .or_insert_with(|| Value::Object(Map::new()))
                    .as_object_mut()
                    .expect("error tree nodes are objects");
            }
            let errs = node
                .entry("_errors")
                .or_insert_with(|| Value::Array(vec![]));
            if let Value::Array(a) = errs {
                a.push(json!({"code": code, "message": message}));
            }
        }
        Value::Object(root)
    }
}

/// Builds a single-field 50035 error.
pub fn field_error(path: &str, code: &'static str, message: impl Into<String>) -> Error {
    let mut f = FieldErrors::new();
    f.add(path, code, message);
    Error::InvalidForm(f)
}

/// An MLS refusal (spec/mls.md §6): Discord's error format with the MLS code, plus `epoch`
/// for a wrong epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MlsRefusal {
    /// 404 / 10070.
    UnknownDevice,
    /// 404 / 10071.
    UnknownGroup,
    /// 400 / 60001: not a valid MLS message (or not one this route takes).
    BadMessage(String),
    /// 400 / 60002: a KeyPackage that does not validate.
    BadKeyPackage(String),
    /// 403 / 60003: the device is not the caller's, or not the sender's.
    WrongDevice(&'static str),
    /// 409 / 60004: a commit for another epoch than the group's; `current` is the group's.
    WrongEpoch { current: u64 },
    /// 403 / 60005.
    NotMember(&'static str),
    /// 400 / 60006: a commit the group's public state refuses.
    InvalidCommit(String),
    /// 403 / 60007: external commits are refused.
    ExternalCommit,
    /// 409 / 60008.
    GroupExists,
    /// 502 / 60009: a peer server could not be reached or answered nonsense.
    Federation(String),
    /// A refusal decided by the group's hub on another server, passed on as it answered
    /// (a 4xx status, or 502).
    Relayed {
        status: u16,
        code: u32,
        message: String,
        epoch: Option<u64>,
    },
}

impl MlsRefusal {
    fn status_code_message(&self) -> (StatusCode, u32, String) {
        use StatusCode as S;
        match self {
            MlsRefusal::UnknownDevice => (S::NOT_FOUND, 10070, "Unknown device".into()),
            MlsRefusal::UnknownGroup => (S::NOT_FOUND, 10071, "Unknown MLS group".into()),
            MlsRefusal::BadMessage(m) => (S::BAD_REQUEST, 60001, m.clone()),
            MlsRefusal::BadKeyPackage(m) => (S::BAD_REQUEST, 60002, m.clone()),
            MlsRefusal::WrongDevice(m) => (S::FORBIDDEN, 60003, (*m).to_owned()),
            MlsRefusal::WrongEpoch { current } => (
                S::CONFLICT,
                60004,
                format!("Wrong epoch: the group is at epoch {current}"),
            ),
            MlsRefusal::NotMember(m) => (S::FORBIDDEN, 60005, (*m).to_owned()),
            MlsRefusal::InvalidCommit(m) => (S::BAD_REQUEST, 60006, format!("Invalid commit: {m}")),
            MlsRefusal::ExternalCommit => (
                S::FORBIDDEN,
                60007,
                "External commits are refused: an existing member adds new devices".into(),
            ),
            MlsRefusal::GroupExists => (S::CONFLICT, 60008, "Group exists already".into()),
            MlsRefusal::Federation(m) => (S::BAD_GATEWAY, 60009, m.clone()),
            MlsRefusal::Relayed {
                status,
                code,
                message,
                ..
            } => (
                StatusCode::from_u16(*status)
                    .ok()
                    .filter(|s| s.is_client_error() || *s == S::BAD_GATEWAY)
                    .unwrap_or(S::BAD_GATEWAY),
                *code,
                message.clone(),
            ),
        }
    }

    fn epoch(&self) -> Option<u64> {
        match self {
            MlsRefusal::WrongEpoch { current } => Some(*current),
            MlsRefusal::Relayed { epoch, .. } => *epoch,
            MlsRefusal::UnknownDevice
            | MlsRefusal::UnknownGroup
            | MlsRefusal::BadMessage(_)
            | MlsRefusal::BadKeyPackage(_)
            | MlsRefusal::WrongDevice(_)
            | MlsRefusal::NotMember(_)
            | MlsRefusal::InvalidCommit(_)
            | MlsRefusal::ExternalCommit
            | MlsRefusal::GroupExists
            | MlsRefusal::Federation(_) => None,
        }
    }
}

/// A refusal of a server-to-server request (spec/federation.md §11), answered on the
/// federation routes as its status with `{"errcode", "error"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FedRefusal {
    /// 400 `H_MALFORMED`: the body or a parameter is not what the protocol says.
    Malformed(String),
    /// 403 `H_FORBIDDEN`.
    Forbidden(String),
    /// 403 `H_DENIED`: the origin is excluded by `deny_domains` / `allow_domains`.
    Denied(String),
    /// 403 `H_NOT_A_MEMBER`: the origin has no members in the guild.
    NotAMember,
    /// 403 `H_NOT_HOST`: this server does not host the guild.
    NotHost,
    /// 403 `H_ORIGIN_MISMATCH`: the origin speaks for a user of another server.
    OriginMismatch(String),
    /// 404 `H_NOT_FOUND`.
    NotFound(String),
    /// `H_EVENT_REJECTED` with the status the member answered (4xx).
    EventRejected { status: u16, message: String },
    /// 413 `H_TOO_LARGE`.
    TooLarge,
    /// 502 `H_REMOTE_TOO_LARGE`: a file on another server is larger than this server takes
    /// (the limit, bytes; spec/federation.md §17).
    RemoteTooLarge(u64),
    /// 401 `H_UNKNOWN_KEY`: the origin's keys cannot be fetched.
    UnknownKey(String),
    /// A verdict of the protocol crate (header, destination, skew, signature, replay): its
    /// status and code.
    Protocol {
        status: u16,
        code: &'static str,
        message: String,
    },
}

impl FedRefusal {
    /// Status, `errcode` and `error` (exhaustive).
    pub fn parts(&self) -> (StatusCode, &'static str, String) {
        use StatusCode as S;
        match self {
            FedRefusal::Malformed(m) => (S::BAD_REQUEST, "H_MALFORMED", m.clone()),
            FedRefusal::Forbidden(m) => (S::FORBIDDEN, "H_FORBIDDEN", m.clone()),
            FedRefusal::Denied(origin) => (
                S::FORBIDDEN,
                "H_DENIED",
                format!("{origin} may not federate with this server"),
            ),
            FedRefusal::NotAMember => (
                S::FORBIDDEN,
                "H_NOT_A_MEMBER",
                "your server has no members in this guild".into(),
            ),
            FedRefusal::NotHost => (
                S::FORBIDDEN,
                "H_NOT_HOST",
                "this server does not host that guild".into(),
            ),
            FedRefusal::OriginMismatch(m) => (S::FORBIDDEN, "H_ORIGIN_MISMATCH", m.clone()),
            FedRefusal::NotFound(m) => (S::NOT_FOUND, "H_NOT_FOUND", m.clone()),
            FedRefusal::EventRejected { status, message } => (
                StatusCode::from_u16(*status)
                    .ok()
                    .filter(|s| s.is_client_error())
                    .unwrap_or(S::BAD_REQUEST),
                "H_EVENT_REJECTED",
                message.clone(),
            ),
            FedRefusal::TooLarge => (S::PAYLOAD_TOO_LARGE, "H_TOO_LARGE", "body too large".into()),
            FedRefusal::RemoteTooLarge(limit) => (
                S::BAD_GATEWAY,
                "H_REMOTE_TOO_LARGE",
                format!(
                    "The file on its origin server is larger than {limit} bytes, this server's limit for remote files."
                ),
            ),
            FedRefusal::UnknownKey(m) => (S::UNAUTHORIZED, "H_UNKNOWN_KEY", m.clone()),
            FedRefusal::Protocol {
                status,
                code,
                message,
            } => (
                StatusCode::from_u16(*status).unwrap_or(S::BAD_REQUEST),
                code,
                message.clone(),
            ),
        }
    }
}

impl From<hearth_federation::Error> for Error {
    fn from(e: hearth_federation::Error) -> Self {
        Error::Federation(FedRefusal::Protocol {
            status: e.http_status(),
            code: e.code(),
            message: e.to_string(),
        })
    }
}

/// Every failure of the homeserver.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 401 / 0: missing, malformed, expired or revoked token.
    #[error("unauthorized")]
    Unauthorized,
    /// 400 / 50035 with `login`/`password` INVALID_LOGIN: wrong credentials (never says which).
    #[error("invalid login")]
    InvalidLogin,
    /// 403 / 50001: the caller may not see the object at all.
    #[error("missing access")]
    MissingAccess,
    /// 403 / 50013: the caller sees the object but lacks a permission (or hierarchy rank).
    #[error("missing permissions")]
    MissingPermissions,
    /// 404 / 100xx.
    #[error("unknown {0:?}")]
    Unknown(Unknown),
    /// A domain rule; status and code per [`Rule`].
    #[error("rule {0:?}")]
    Rule(Rule),
    /// 400 / 50035 with field errors.
    #[error("invalid form body")]
    InvalidForm(FieldErrors),
    /// 413 / 40005.
    #[error("request entity too large")]
    PayloadTooLarge,
    /// 401 / 60003 with Discord's `mfa` object: a sensitive action needs the password or a
    /// second factor proven within `account.reauth_window_seconds` (`POST /mfa/finish`).
    /// `totp` tells whether the account can answer with a TOTP or backup code; `webauthn`
    /// is (ticket, request options as a JSON string) when it can answer with a passkey.
    #[error("re-authentication required")]
    ReauthRequired {
        totp: bool,
        webauthn: Option<Box<(String, String)>>,
    },
    /// 429: a rate limit. `retry_after` in seconds; `global` true for the global limit.
    #[error("rate limited")]
    RateLimited {
        retry_after: f64,
        global: bool,
        scope: &'static str,
    },
    /// 429 / 20016: slow mode (`rate_limit_per_user`) not yet elapsed; seconds to wait.
    #[error("slowmode")]
    SlowMode { retry_after: f64 },
    /// 404 / 0: no such route.
    #[error("route not found")]
    RouteNotFound,
    /// 416 / 0: a `Range` no byte of the file satisfies; the answer carries
    /// `Content-Range: bytes */{size}` (`size`: the file's length, bytes).
    #[error("range not satisfiable")]
    RangeNotSatisfiable { size: u64 },
    /// 405 / 0.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 503: the database is unreachable (readiness).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// 500: a bug or an infrastructure failure; logged, never described to the client.
    #[error("internal: {0}")]
    Internal(String),
    /// An MLS refusal (spec/mls.md §6).
    #[error("mls {0:?}")]
    Mls(MlsRefusal),
    /// A refusal of a server-to-server request (spec/federation.md §11).
    #[error("federation refusal {0:?}")]
    Federation(FedRefusal),
    /// A Discord-format error decided by the guild's host server for a relayed action
    /// (spec/federation.md §7): passed to the client with the host's status and code.
    #[error("relayed {status} {code}")]
    Relayed {
        status: u16,
        code: u32,
        message: String,
    },
}

impl Error {
    /// Wraps any internal failure.
    pub fn internal(e: impl std::fmt::Display) -> Error {
        Error::Internal(e.to_string())
    }

    /// HTTP status (exhaustive; no wildcard arm).
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::InvalidLogin => StatusCode::BAD_REQUEST,
            Error::MissingAccess => StatusCode::FORBIDDEN,
            Error::MissingPermissions => StatusCode::FORBIDDEN,
            Error::Unknown(_) => StatusCode::NOT_FOUND,
            Error::Rule(r) => r.status_code_message().0,
            Error::InvalidForm(_) => StatusCode::BAD_REQUEST,
            Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::ReauthRequired { .. } => StatusCode::UNAUTHORIZED,
            Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::SlowMode { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::RouteNotFound => StatusCode::NOT_FOUND,
            Error::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            Error::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Error::Mls(m) => m.status_code_message().0,
            Error::Federation(r) => r.parts().0,
            Error::Relayed { status, .. } => StatusCode::from_u16(*status)
                .ok()
                .filter(|s| s.is_client_error())
                .unwrap_or(StatusCode::BAD_REQUEST),
        }
    }

    /// The error as sentences for a person at a terminal (the admin CLI): the message, then
    /// one `field: message` per field error, e.g. `Invalid Form Body (username: Username
    /// is already taken.)`. Internal errors keep their detail.
    pub fn sentences(&self) -> String {
        match self {
            Error::Internal(d) | Error::Unavailable(d) => return d.clone(),
            Error::InvalidForm(f) => {
                let fields: Vec<String> =
                    f.0.iter()
                        .map(|(path, _, message)| format!("{path}: {message}"))
                        .collect();
                return format!("Invalid Form Body ({})", fields.join("; "));
            }
            _ => {}
        }
        let body = self.body();
        body["message"]
            .as_str()
            .map_or_else(|| body.to_string(), str::to_string)
    }

    /// The JSON body in Discord's format.
    pub fn body(&self) -> Value {
        match self {
            Error::Unauthorized => json!({"message": "401: Unauthorized", "code": 0}),
            Error::InvalidLogin => {
                let mut f = FieldErrors::new();
                f.add("login", "INVALID_LOGIN", "Login or password is invalid.");
                f.add("password", "INVALID_LOGIN", "Login or password is invalid.");
                json!({"message": "Invalid Form Body", "code": 50035, "errors": f.to_json()})
            }
            Error::MissingAccess => json!({"message": "Missing Access", "code": 50001}),
            Error::MissingPermissions => json!({"message": "Missing Permissions", "code": 50013}),
            Error::Unknown(u) => {
                let (code, message) = u.code_message();
                json!({"message": message, "code": code})
            }
            Error::Rule(r) => {
                let (_, code, message) = r.status_code_message();
                json!({"message": message, "code": code})
            }
            Error::InvalidForm(f) => {
                json!({"message": "Invalid Form Body", "code": 50035, "errors": f.to_json()})
            }
            Error::PayloadTooLarge => json!({"message": "Request entity too large", "code": 40005}),
            Error::ReauthRequired { totp, webauthn } => {
                let mut methods = vec![json!({"type": "password"})];
                if *totp {
                    methods.push(json!({"type": "totp", "backup_codes_allowed": true}));
                }
                let mut ticket = Value::Null;
                if let Some(w) = webauthn {
                    methods.push(json!({"type": "webauthn", "challenge": w.1}));
                    ticket = json!(w.0);
                }
                json!({
                    "message": "Two factor is required for this operation",
                    "code": 60003,
                    "mfa": {"ticket": ticket, "methods": methods},
                })
            }
            Error::RateLimited {
                retry_after,
                global,
                ..
            } => json!({
                "message": "You are being rate limited.",
                "retry_after": retry_after,
                "global": global,
                "code": 0,
            }),
            Error::SlowMode { retry_after } => json!({
                "message": "This action cannot be performed due to slowmode rate limit.",
                "retry_after": retry_after,
                "global": false,
                "code": 20016,
            }),
            Error::RouteNotFound => json!({"message": "404: Not Found", "code": 0}),
            Error::RangeNotSatisfiable { .. } => {
                json!({"message": "416: Range Not Satisfiable", "code": 0})
            }
            Error::MethodNotAllowed => json!({"message": "405: Method Not Allowed", "code": 0}),
            Error::Unavailable(_) => json!({"message": "Service Unavailable", "code": 0}),
            Error::Internal(_) => json!({"message": "Internal Server Error", "code": 0}),
            Error::Mls(m) => {
                let (_, code, message) = m.status_code_message();
                let mut v = json!({"message": message, "code": code});
                if let Some(e) = m.epoch() {
                    v["epoch"] = json!(e);
                }
                v
            }
            Error::Federation(r) => json!({"message": r.parts().2, "code": 0}),
            Error::Relayed { code, message, .. } => json!({"message": message, "code": code}),
        }
    }

    /// The answer on a federation route (spec/federation.md §11): `{errcode, error}` with
    /// this error's status. A federation refusal keeps its code; an internal failure is 500
    /// `H_INTERNAL` (logged, never described); any Discord error decided here travels as
    /// `DISCORD_<code>` with the Discord body in `discord`, so the member server shows its
    /// client the same error (exhaustive).
    pub fn federation_body(&self) -> (StatusCode, Value) {
        match self {
            Error::Federation(r) => {
                let (status, code, message) = r.parts();
                (status, json!({"errcode": code, "error": message}))
            }
            Error::Internal(detail) | Error::Unavailable(detail) => {
                tracing::error!(error = %detail, "federation request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({"errcode": "H_INTERNAL", "error": "internal error"}),
                )
            }
            Error::Unauthorized
            | Error::InvalidLogin
            | Error::MissingAccess
            | Error::MissingPermissions
            | Error::Unknown(_)
            | Error::Rule(_)
            | Error::InvalidForm(_)
            | Error::PayloadTooLarge
            | Error::ReauthRequired { .. }
            | Error::RateLimited { .. }
            | Error::SlowMode { .. }
            | Error::RouteNotFound
            | Error::RangeNotSatisfiable { .. }
            | Error::MethodNotAllowed
            | Error::Mls(_)
            | Error::Relayed { .. } => {
                let body = self.body();
                let code = body["code"].as_u64().unwrap_or(0);
                (
                    self.status(),
                    json!({"errcode": format!("DISCORD_{code}"), "error": body["message"], "discord": body}),
                )
            }
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if let Error::Internal(detail) | Error::Unavailable(detail) = &self {
            tracing::error!(error = %detail, "request failed");
        }
        let status = self.status();
        let mut resp = (status, axum::Json(self.body())).into_response();
        let h = resp.headers_mut();
        match &self {
            Error::RateLimited {
                retry_after,
                global,
                scope,
            } => {
                if let Ok(v) = HeaderValue::from_str(&format!("{}", retry_after.ceil() as u64)) {
                    h.insert("retry-after", v);
                }
                if *global {
                    h.insert("x-ratelimit-global", HeaderValue::from_static("true"));
                }
                h.insert("x-ratelimit-scope", HeaderValue::from_static(scope));
            }
            Error::SlowMode { retry_after } => {
                if let Ok(v) = HeaderValue::from_str(&format!("{}", retry_after.ceil() as u64)) {
                    h.insert("retry-after", v);
                }
                h.insert("x-ratelimit-scope", HeaderValue::from_static("user"));
            }
            Error::RangeNotSatisfiable { size } => {
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    h.insert(axum::http::header::CONTENT_RANGE, v);
                }
            }
            _ => {}
        }
        resp
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Error::Internal(format!("database: {e}"))
    }
}

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_nest_like_discord() {
        let mut f = FieldErrors::new();
        f.add(
            "embeds.0.title",
            "BASE_TYPE_MAX_LENGTH",
            "Must be 256 or fewer in length.",
        );
        f.add("content", "BASE_TYPE_REQUIRED", "This field is required");
        let body = Error::InvalidForm(f).body();
        assert_eq!(body["code"], 50035);
        assert_eq!(
            body["errors"]["embeds"]["0"]["title"]["_errors"][0]["code"],
            "BASE_TYPE_MAX_LENGTH"
        );
        assert_eq!(
            body["errors"]["content"]["_errors"][0]["message"],
            "This field is required"
        );
    }

    #[test]
    fn statuses_follow_discord() {
        assert_eq!(
            Error::Unknown(Unknown::Channel).status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(Error::Unknown(Unknown::Channel).body()["code"], 10003);
        assert_eq!(Error::MissingPermissions.body()["code"], 50013);
        assert_eq!(Error::Rule(Rule::Banned).status(), StatusCode::FORBIDDEN);
        assert_eq!(
            Error::Internal("secret detail".into()).body()["message"],
            "Internal Server Error"
        );
    }
}
