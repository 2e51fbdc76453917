//! The hub (Delivery Service, spec/mls.md §4): groups created here are ordered here. The hub
//! keeps each group's public state with openmls's `PublicGroup`, accepts one commit per epoch
//! (409 otherwise), releases Welcomes only with accepted commits and fans every accepted
//! message out to the member devices, locally and through the federation outbox; plus the
//! per-device inboxes read by cursor.

use super::service::*;
use super::{APPLICATION_EPOCH_WINDOW, CIPHERSUITE, MAX_INBOX_PAGE};
use crate::error::{Error, MlsRefusal};
use crate::events::{Audience, Event};
use crate::service::Actor;
use crate::snowflake::Snowflake;
use crate::storage::now_ms;
use crate::storage::{MlsGroupRow, MlsInboxRow, MlsLogEntry};
use crate::wire;
use hearth_federation::b64;
use hearth_federation::device::DeviceCredential;
use openmls::prelude::tls_codec::Deserialize as _;
use openmls::prelude::*;
use openmls_rust_crypto::{MemoryStorage, RustCrypto};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

impl super::Mls {
    pub(super) fn mls_group_lock(&self, group_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.mls
            .group_locks
            .lock()
            .entry(group_id.to_owned())
            .or_default()
            .clone()
    }

    /// `POST /mls/groups`: the creator registers a new group at epoch 0 (its GroupInfo and
    /// ratchet tree); this server becomes its hub.
    pub async fn mls_create_group(
        &self,
        actor: &Actor,
        device_id: &str,
        group_info: &str,
        ratchet_tree: &str,
    ) -> R<Value> {
        let device = self.own_device(actor, device_id).await?;
        let gi = b64d(group_info, "group_info")?;
        let tree = b64d(ratchet_tree, "ratchet_tree")?;
        let vgi = match parse_mls_message(&gi)? {
            MlsMessageBodyIn::GroupInfo(g) => g,
            _ => return Err(super::bad_message("group_info is not a GroupInfo")),
        };
        let tree = RatchetTreeIn::tls_deserialize_exact(tree.as_slice())
            .map_err(|e| super::bad_message(&format!("ratchet_tree: {e}")))?;
        let (hub, group_id) = hub_of(vgi.group_id().as_slice())?;
        if hub != self.config.server_name {
            return Err(super::bad_message(
                "the group id must name this server as its hub",
            ));
        }
        if vgi.ciphersuite() != CIPHERSUITE {
            return Err(super::bad_message("unsupported ciphersuite"));
        }
        let crypto = RustCrypto::default();
        let storage = MemoryStorage::default();
        let (pg, _) =
            PublicGroup::from_external(&crypto, &storage, tree, vgi, ProposalStore::new())
                .map_err(|e| super::bad_message(&format!("invalid group state: {e}")))?;
        if pg.group_context().epoch().as_u64() != 0 {
            return Err(super::bad_message("a new group starts at epoch 0"));
        }
        let members: Vec<_> = pg.members().collect();
        let me = DeviceAddr {
            user: self.handle_of(&actor.user),
            device_id: device.id.to_string(),
        };
        if members.len() != 1 || device_of_credential(&members[0].credential) != Some(me) {
            return Err(Error::Mls(MlsRefusal::WrongDevice(
                "a new group has exactly one member: the creating device",
            )));
        }
        let row = MlsGroupRow {
            group_id: group_id.clone(),
            epoch: 0,
            next_seq: 1,
            state: save_storage(&storage),
            created_by: actor.user.id,
        };
        if !self.db.mls_insert_group(&row, now_ms()).await? {
            return Err(Error::Mls(MlsRefusal::GroupExists));
        }
        Ok(json!({"group_id": group_id, "epoch": 0, "hub": hub}))
    }

    /// `POST /mls/messages`: a commit bundle or an application message from one of the
    /// actor's devices. Sent to the group's hub (here, or through federation).
    pub async fn mls_send(
        self: &Arc<Self>,
        actor: &Actor,
        device_id: &str,
        message: &str,
        welcome: Option<&str>,
        group_info: Option<&str>,
    ) -> R<Value> {
        let device = self.own_device(actor, device_id).await?;
        let bytes = b64d(message, "message")?;
        let body = parse_mls_message(&bytes)?;
        let gid = match &body {
            MlsMessageBodyIn::PublicMessage(m) => m.group_id().as_slice().to_vec(),
            MlsMessageBodyIn::PrivateMessage(m) => m.group_id().as_slice().to_vec(),
            _ => {
                return Err(super::bad_message(
                    "message must be a PublicMessage or PrivateMessage",
                ));
            }
        };
        let (hub, _) = hub_of(&gid)?;
        let sender = self.handle_of(&actor.user);
        let dev = device.id.to_string();
        if hub == self.config.server_name {
            return self
                .mls_hub_submit(&sender, &dev, &bytes, welcome, group_info)
                .await;
        }
        let req = serde_json::to_value(wire::MlsFedSubmitBody {
            sender,
            device_id: dev,
            message: message.to_owned(),
            welcome: welcome.map(str::to_owned),
            group_info: group_info.map(str::to_owned),
        })
        .map_err(Error::internal)?;
        let v = self
            .fed
            .request(
                &hub,
                Method::POST,
                "/_hearth/federation/v1/mls/submit",
                Some(&req),
            )
            .await
            .map_err(|e| Error::Mls(MlsRefusal::Federation(format!("cannot reach {hub}: {e}"))))?;
        super::from_relayed(v)
    }

    /// The hub accepts (or refuses) one message of `sender`'s device `device_id`.
    pub async fn mls_hub_submit(
        self: &Arc<Self>,
        sender: &str,
        device_id: &str,
        bytes: &[u8],
        welcome: Option<&str>,
        group_info: Option<&str>,
    ) -> R<Value> {
        let body = parse_mls_message(bytes)?;
        let (protocol, is_public): (ProtocolMessage, bool) = match body {
            MlsMessageBodyIn::PublicMessage(m) => (m.into(), true),
            MlsMessageBodyIn::PrivateMessage(m) => (m.into(), false),
            _ => return Err(super::bad_message("not a protocol message")),
        };
        let (hub, group_id) = hub_of(protocol.group_id().as_slice())?;
        if hub != self.config.server_name {
            return Err(Error::Mls(MlsRefusal::UnknownGroup));
        }
        let lock = self.mls_group_lock(&group_id);
        let _guard = lock.lock().await;
        let group = self
            .db
            .mls_group(&group_id)
            .await?
            .ok_or(Error::Mls(MlsRefusal::UnknownGroup))?;
        let storage = load_storage(&group.state)?;
        let gid = GroupId::from_slice(group_id.as_bytes());
        let mut pg = PublicGroup::load(&storage, &gid)
            .map_err(Error::internal)?
            .ok_or_else(|| Error::internal("group state missing"))?;
        let epoch = group.epoch as u64;
        let msg_epoch = protocol.epoch().as_u64();
        let sender_addr = DeviceAddr {
            user: sender.to_owned(),
            device_id: device_id.to_owned(),
        };
        let roster: BTreeSet<DeviceAddr> = pg
            .members()
            .filter_map(|m| device_of_credential(&m.credential))
            .collect();
        let now = now_ms();
        match protocol.content_type() {
            ContentType::Application => {
                if is_public {
                    return Err(super::bad_message(
                        "application messages must be PrivateMessages",
                    ));
                }
                if msg_epoch > epoch || msg_epoch + APPLICATION_EPOCH_WINDOW <= epoch {
                    return Err(Error::Mls(MlsRefusal::WrongEpoch { current: epoch }));
                }
                if !roster.contains(&sender_addr) {
                    return Err(Error::Mls(MlsRefusal::NotMember(
                        "This device is not a member of the group",
                    )));
                }
                let seq = group.next_seq;
                let text = b64::encode(bytes);
                let entry = MlsLogEntry {
                    seq,
                    epoch: msg_epoch as i64,
                    kind: "application",
                    sender,
                    message: &text,
                    welcome: None,
                };
                self.db
                    .mls_append(&group_id, &entry, epoch as i64, None, now)
                    .await?;
                let to: Vec<DeviceAddr> =
                    roster.into_iter().filter(|d| *d != sender_addr).collect();
                self.mls_fan_out(&group_id, seq, "application", msg_epoch, sender, &text, &to)
                    .await?;
                Ok(json!({"group_id": group_id, "seq": seq, "epoch": epoch}))
            }
            ContentType::Proposal => Err(super::bad_message(
                "standalone proposals are not accepted: commit them",
            )),
            ContentType::Commit => {
                if !is_public {
                    return Err(super::bad_message("commits must be PublicMessages"));
                }
                if msg_epoch != epoch {
                    return Err(Error::Mls(MlsRefusal::WrongEpoch { current: epoch }));
                }
                let crypto = RustCrypto::default();
                let processed = pg
                    .process_message(&crypto, protocol)
                    .map_err(|e| super::invalid_commit(&e.to_string()))?;
                match processed.sender() {
                    Sender::Member(idx) => {
                        let leaf = pg
                            .leaf(*idx)
                            .ok_or_else(|| super::invalid_commit("unknown sender leaf"))?;
                        if device_of_credential(leaf.credential()).as_ref() != Some(&sender_addr) {
                            return Err(Error::Mls(MlsRefusal::WrongDevice(
                                "The commit was not sent by this device",
                            )));
                        }
                    }
                    Sender::NewMemberCommit => {
                        return Err(Error::Mls(MlsRefusal::ExternalCommit));
                    }
                    _ => {
                        return Err(Error::Mls(MlsRefusal::NotMember("Only members commit")));
                    }
                }
                let staged = match processed.into_content() {
                    ProcessedMessageContent::StagedCommitMessage(s) => s,
                    _ => return Err(super::invalid_commit("not a commit")),
                };
                // New members: their credentials must verify against their domains' keys.
                let mut added = Vec::new();
                let mut added_refs = Vec::new();
                for a in staged.add_proposals() {
                    let kp = a.add_proposal().key_package();
                    let basic = BasicCredential::try_from(kp.leaf_node().credential().clone())
                        .map_err(|_| {
                            super::invalid_commit("added member has no basic credential")
                        })?;
                    let addr = self
                        .mls_verify_credential(
                            basic.identity(),
                            kp.leaf_node().signature_key().as_slice(),
                        )
                        .await?;
                    added.push(addr);
                    added_refs.push(kp.hash_ref(&crypto).map_err(Error::internal)?);
                }
                let welcome_text = match (welcome, added.is_empty()) {
                    (None, false) => {
                        return Err(super::form(
                            "welcome",
                            "a commit that adds members needs its Welcome",
                        ));
                    }
                    (Some(_), true) => {
                        return Err(super::form("welcome", "this commit adds nobody"));
                    }
                    (None, true) => None,
                    (Some(w), false) => {
                        let wb = b64d(w, "welcome")?;
                        let Ok(MlsMessageBodyIn::Welcome(wel)) = parse_mls_message(&wb) else {
                            return Err(super::form("welcome", "not a Welcome"));
                        };
                        for s in wel.secrets() {
                            if !added_refs.contains(&s.new_member()) {
                                return Err(super::form(
                                    "welcome",
                                    "the Welcome is for someone this commit does not add",
                                ));
                            }
                        }
                        Some(w.to_owned())
                    }
                };
                if let Some(g) = group_info {
                    let gb = b64d(g, "group_info")?;
                    if !matches!(parse_mls_message(&gb), Ok(MlsMessageBodyIn::GroupInfo(_))) {
                        return Err(super::form("group_info", "not a GroupInfo"));
                    }
                }
                pg.merge_commit(&storage, *staged)
                    .map_err(|e| Error::internal(format!("merge: {e:?}")))?;
                let new_roster: BTreeSet<DeviceAddr> = pg
                    .members()
                    .filter_map(|m| device_of_credential(&m.credential))
                    .collect();
                let seq = group.next_seq;
                let text = b64::encode(bytes);
                let new_epoch = epoch + 1;
                let entry = MlsLogEntry {
                    seq,
                    epoch: epoch as i64,
                    kind: "commit",
                    sender,
                    message: &text,
                    welcome: welcome_text.as_deref(),
                };
                self.db
                    .mls_append(
                        &group_id,
                        &entry,
                        new_epoch as i64,
                        Some(&save_storage(&storage)),
                        now,
                    )
                    .await?;
                // The commit goes to every old member but the sender (removed ones learn of
                // their removal); the Welcome, only now that the commit is accepted, to the
                // added devices.
                let to: Vec<DeviceAddr> =
                    roster.into_iter().filter(|d| *d != sender_addr).collect();
                self.mls_fan_out(&group_id, seq, "commit", epoch, sender, &text, &to)
                    .await?;
                if let Some(w) = &welcome_text {
                    self.mls_fan_out(&group_id, seq, "welcome", new_epoch, sender, w, &added)
                        .await?;
                }
                Ok(json!({"group_id": group_id, "seq": seq, "epoch": new_epoch,
                          "members": new_roster.iter().map(|d| json!({"user": d.user, "device_id": d.device_id})).collect::<Vec<_>>()}))
            }
        }
    }

    /// Verifies a device credential against its domain's key (fetched from that domain).
    pub(super) async fn mls_verify_credential(
        &self,
        identity: &[u8],
        leaf_key: &[u8],
    ) -> R<DeviceAddr> {
        let (c, _) = DeviceCredential::parse(identity)
            .map_err(|e| super::invalid_commit(&format!("credential: {e}")))?;
        let server = c
            .server()
            .map_err(|e| super::invalid_commit(&e.to_string()))?
            .to_owned();
        if server != self.config.server_name {
            self.fed.client.server_keys(&server).await.map_err(|e| {
                Error::Mls(MlsRefusal::Federation(format!(
                    "cannot fetch the keys of {server}: {e}"
                )))
            })?;
        }
        let now = now_ms().max(0) as u64;
        let res = {
            let keys = self.fed.client.keys();
            DeviceCredential::verify(identity, &keys, now, Some(leaf_key))
        };
        let c =
            res.map_err(|e| super::invalid_commit(&format!("added member's credential: {e}")))?;
        Ok(DeviceAddr {
            user: c.user,
            device_id: c.device_id,
        })
    }

    /// Delivers one accepted item to devices: local ones into their inboxes (and gateway
    /// sessions), remote ones through the durable outbox, one delivery per server.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn mls_fan_out(
        self: &Arc<Self>,
        group_id: &str,
        seq: i64,
        kind: &str,
        epoch: u64,
        sender: &str,
        message: &str,
        to: &[DeviceAddr],
    ) -> crate::error::Result<()> {
        let mut by_server: BTreeMap<&str, Vec<&DeviceAddr>> = BTreeMap::new();
        for d in to {
            by_server.entry(d.server()).or_default().push(d);
        }
        let hub = self.config.server_name.clone();
        for (server, devices) in by_server {
            let item = wire::MlsDeliverItem {
                group_id: group_id.to_owned(),
                hub: hub.clone(),
                seq,
                kind: kind.to_owned(),
                epoch: epoch as i64,
                sender: sender.to_owned(),
                message: message.to_owned(),
                devices: devices
                    .iter()
                    .map(|d| wire::MlsDeviceRef {
                        user: d.user.clone(),
                        device_id: d.device_id.clone(),
                    })
                    .collect(),
            };
            if server == hub {
                self.mls_receive(&item).await?;
            } else {
                let body = serde_json::to_string(&item).map_err(Error::internal)?;
                self.db
                    .mls_outbox_insert(
                        self.next_id(),
                        server,
                        "/_hearth/federation/v1/mls/deliver",
                        &body,
                        now_ms(),
                    )
                    .await?;
                self.mls.wake.notify_one();
            }
        }
        Ok(())
    }

    /// Puts a delivered item into the inboxes of the listed local devices (idempotent on
    /// (device, group, seq, kind)) and pushes it to their users' gateway sessions.
    pub async fn mls_receive(&self, item: &wire::MlsDeliverItem) -> crate::error::Result<usize> {
        let mut n = 0;
        let mut pushes: HashMap<i64, Vec<wire::MlsInboxItem>> = HashMap::new();
        for d in &item.devices {
            let Ok(id) = d.device_id.parse::<i64>() else {
                continue;
            };
            let Some(dev) = self.db.mls_device(id).await? else {
                continue;
            };
            let Some(user) = self.db.user(dev.user_id).await? else {
                continue;
            };
            if self.handle_of(&user) != d.user {
                continue;
            }
            let _g = self.mls.inbox_lock.lock().await;
            let row = MlsInboxRow {
                id: self.next_id(),
                device_id: id,
                group_id: item.group_id.clone(),
                hub: item.hub.clone(),
                seq: item.seq,
                kind: item.kind.clone(),
                epoch: item.epoch,
                sender: item.sender.clone(),
                message: item.message.clone(),
                created_at: now_ms(),
            };
            if self.db.mls_inbox_insert(&row).await? {
                n += 1;
                pushes.entry(user.id).or_default().push(inbox_item(&row));
            }
        }
        for (user, items) in pushes {
            for it in items {
                self.dispatch(
                    Event::MlsMessage,
                    Audience::Users(vec![Snowflake::from_db(user)]),
                    0,
                    serde_json::to_value(it).map_err(Error::internal)?,
                );
            }
        }
        Ok(n)
    }

    /// `GET /mls/devices/{device_id}/inbox?after=&limit=`.
    pub async fn mls_inbox(
        &self,
        actor: &Actor,
        device_id: &str,
        after: Option<&str>,
        limit: Option<i64>,
    ) -> R<Value> {
        let device = self.own_device(actor, device_id).await?;
        let after = match after {
            None | Some("") => 0,
            Some(a) => a
                .parse::<i64>()
                .map_err(|_| super::form("after", "not a cursor"))?,
        };
        let limit = limit.unwrap_or(100).clamp(1, MAX_INBOX_PAGE);
        let rows = self.db.mls_inbox(device.id, after, limit).await?;
        let cursor = rows.last().map_or(after, |r| r.id);
        let page = wire::MlsInboxPage {
            items: rows.iter().map(inbox_item).collect(),
            cursor: cursor.to_string(),
        };
        serde_json::to_value(page).map_err(Error::internal)
    }
}

/// The wire form of an inbox row (REST and `MLS_MESSAGE` dispatches).
pub fn inbox_item(r: &MlsInboxRow) -> wire::MlsInboxItem {
    wire::MlsInboxItem {
        id: r.id.to_string(),
        device_id: r.device_id.to_string(),
        group_id: r.group_id.clone(),
        hub: r.hub.clone(),
        seq: r.seq,
        kind: r.kind.clone(),
        epoch: r.epoch,
        sender: r.sender.clone(),
        message: r.message.clone(),
    }
}

/// Serializes an MLS object (client helpers and tests).
pub fn tls_bytes(v: &impl tls_codec::Serialize) -> Vec<u8> {
    v.tls_serialize_detached().expect("serializable")
}
