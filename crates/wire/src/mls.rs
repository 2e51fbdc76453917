//! End-to-end-encrypted DMs (spec/mls.md; federation bodies in spec/federation.md §8.9). Binary
//! values are unpadded standard base64 of their TLS encoding; ids are decimal strings.

use serde::{Deserialize, Serialize};

/// `POST /mls/devices`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct MlsRegisterDeviceBody {
    /// The device's 32-byte Ed25519 MLS signature public key.
    pub signature_key: String,
}

/// `POST /mls/devices/{device_id}/key-packages`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct MlsUploadBody {
    #[serde(default)]
    pub key_packages: Vec<String>,
    #[serde(default)]
    pub last_resort: Option<String>,
}

/// Query of `GET /mls/devices/{device_id}/inbox`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct MlsInboxQuery {
    /// The cursor: the `id` of the last item read.
    pub after: Option<String>,
    /// Page size, 1..=500 (default 100).
    pub limit: Option<i64>,
}

/// `POST /mls/key-packages/claim`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct MlsClaimBody {
    /// `name@server` (a bare name means this server).
    pub user: String,
    /// The caller's own device, left out when claiming the caller's own devices.
    #[serde(default)]
    pub device_id: Option<String>,
}

/// `POST /mls/groups`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct MlsCreateGroupBody {
    pub device_id: String,
    /// An MlsMessage carrying the GroupInfo at epoch 0.
    pub group_info: String,
    pub ratchet_tree: String,
}

/// `POST /mls/messages`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct MlsSendBody {
    pub device_id: String,
    /// An MlsMessage: a PublicMessage commit or a PrivateMessage application message.
    pub message: String,
    #[serde(default)]
    pub welcome: Option<String>,
    #[serde(default)]
    pub group_info: Option<String>,
}

/// Federation `POST /_hearth/federation/v1/mls/claim`.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
pub struct MlsFedClaimBody {
    /// The claimer's handle; its domain must be the request's origin.
    pub claimer: String,
    /// The target's local name on the receiving server.
    pub user: String,
}

/// Federation `POST /_hearth/federation/v1/mls/submit`: `POST /mls/messages` relayed by the
/// sender's server to the group's hub.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
pub struct MlsFedSubmitBody {
    /// The sender's handle; its domain must be the request's origin.
    pub sender: String,
    pub device_id: String,
    pub message: String,
    #[serde(default)]
    pub welcome: Option<String>,
    #[serde(default)]
    pub group_info: Option<String>,
}

/// A member device, as the hub addresses it.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct MlsDeviceRef {
    /// `name@server`.
    pub user: String,
    pub device_id: String,
}

/// One accepted item delivered by a group's hub to a member server (federation
/// `POST /_hearth/federation/v1/mls/deliver`, alone or in `{"items": [...]}`), or to its own
/// local devices.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
pub struct MlsDeliverItem {
    pub group_id: String,
    pub hub: String,
    pub seq: i64,
    /// `commit`, `application` or `welcome`.
    pub kind: String,
    pub epoch: i64,
    /// The sending user's handle.
    pub sender: String,
    /// The MlsMessage (base64).
    pub message: String,
    /// The devices of the receiving server to put it in the inboxes of.
    pub devices: Vec<MlsDeviceRef>,
}

/// An inbox item (`GET /mls/devices/{device_id}/inbox` items and `MLS_MESSAGE` dispatches).
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
pub struct MlsInboxItem {
    /// The cursor value of this item.
    pub id: String,
    pub device_id: String,
    pub group_id: String,
    pub hub: String,
    pub seq: i64,
    /// `commit`, `application` or `welcome`.
    pub kind: String,
    pub epoch: i64,
    pub sender: String,
    pub message: String,
}

/// `GET /mls/devices/{device_id}/inbox`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MlsInboxPage {
    pub items: Vec<MlsInboxItem>,
    /// The `id` of the last item (the `after` given if the page is empty).
    pub cursor: String,
}
