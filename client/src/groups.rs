//! Groups (MLS, RFC 9420): starting DMs (claim, verify, add, Welcome), membership changes,
//! self-updates, sending, and receiving by inbox cursor ([`Client::sync`]).

use hearth_federation::b64;
use hearth_federation::device::DeviceCredential;
use openmls::prelude::tls_codec::{Deserialize as _, Serialize as _};
use openmls::prelude::*;
use serde_json::{Value, json};

use crate::{
    Client, ClientError, Received, Result, create_config, identity_of, join_config, mls_err, tls,
};

impl Client {
    /// Known group ids (usable or not).
    pub fn groups(&self) -> Vec<String> {
        self.state.groups.keys().cloned().collect()
    }

    /// Groups this device can no longer use, with the reason: it was removed, or the hub
    /// accepted a commit this device cannot process (a member's corrupted membership tag,
    /// spec/mls.md §5.1), so the group is stuck at its epoch for us. Start a new DM with the
    /// same people instead ([`Client::start_dm`]).
    pub fn unusable_groups(&self) -> Vec<(String, String)> {
        self.state
            .unusable
            .iter()
            .map(|(g, r)| (g.clone(), r.clone()))
            .collect()
    }

    /// Removes every device of `user` from the group with one commit (the hub validates it
    /// like any commit and delivers it to every previous member, the removed ones included).
    /// On a 409 the inbox is synced and the commit rebuilt (5 attempts). Returns the number
    /// of leaves removed. Errors: [`ClientError::State`] if `user` has no device in the group.
    pub async fn remove(&mut self, group_id: &str, user: &str) -> Result<usize> {
        for _ in 0..5 {
            let mut group = self.load_group(group_id)?;
            let leaves: Vec<LeafNodeIndex> = group
                .members()
                .filter(|m| {
                    identity_of(&m.credential)
                        .and_then(|i| DeviceCredential::parse(&i).ok())
                        .is_some_and(|(c, _)| c.user.eq_ignore_ascii_case(user))
                })
                .map(|m| m.index)
                .collect();
            if leaves.is_empty() {
                return Err(ClientError::State(format!(
                    "{user} has no device in {group_id}"
                )));
            }
            let (commit, _, _) = group
                .remove_members(&self.provider, self.signer()?, &leaves)
                .map_err(mls_err)?;
            let body = json!({"device_id": self.state.device_id, "message": tls(&commit)?});
            let res = self.post("/mls/messages", body).await;
            match res {
                Ok(_) => {
                    group
                        .merge_pending_commit(&self.provider)
                        .map_err(mls_err)?;
                    if let Some(peers) = self.state.groups.get_mut(group_id) {
                        peers.retain(|p| !p.eq_ignore_ascii_case(user));
                    }
                    self.save()?;
                    return Ok(leaves.len());
                }
                Err(e) => {
                    group
                        .clear_pending_commit(self.provider.storage())
                        .map_err(mls_err)?;
                    self.save()?;
                    match e {
                        ClientError::Api { status: 409, .. } => {
                            self.sync().await?;
                        }
                        e => return Err(e),
                    }
                }
            }
        }
        Err(ClientError::Mls("could not commit after 5 attempts".into()))
    }

    pub(crate) fn load_group(&self, group_id: &str) -> Result<MlsGroup> {
        MlsGroup::load(
            self.provider.storage(),
            &GroupId::from_slice(group_id.as_bytes()),
        )
        .map_err(mls_err)?
        .ok_or_else(|| ClientError::State(format!("unknown group {group_id}")))
    }

    /// The epoch authenticator of a group (compare members' views).
    pub fn epoch_authenticator(&self, group_id: &str) -> Result<Vec<u8>> {
        Ok(self
            .load_group(group_id)?
            .epoch_authenticator()
            .as_slice()
            .to_vec())
    }

    /// The group's epoch.
    pub fn epoch(&self, group_id: &str) -> Result<u64> {
        Ok(self.load_group(group_id)?.epoch().as_u64())
    }

    /// `(user, device)` of every member.
    pub fn members(&self, group_id: &str) -> Result<Vec<(String, String)>> {
        let g = self.load_group(group_id)?;
        Ok(g.members()
            .filter_map(|m| identity_of(&m.credential))
            .filter_map(|i| DeviceCredential::parse(&i).ok())
            .map(|(c, _)| (c.user, c.device_id))
            .collect())
    }

    /// Claims one KeyPackage per device of `user` and verifies each one's credential.
    pub async fn claim(&mut self, user: &str) -> Result<Vec<KeyPackage>> {
        let own = user == self.state.user;
        let body = if own {
            json!({"user": user, "device_id": self.state.device_id})
        } else {
            json!({"user": user})
        };
        let v = self.post("/mls/key-packages/claim", body).await?;
        let mut out = Vec::new();
        for d in v["devices"].as_array().cloned().unwrap_or_default() {
            let bytes = b64::decode(d["key_package"].as_str().unwrap_or_default(), "kp")
                .map_err(|e| ClientError::Mls(e.to_string()))?;
            let kp = KeyPackageIn::tls_deserialize_exact(bytes.as_slice())
                .map_err(mls_err)?
                .validate(self.provider.crypto(), ProtocolVersion::Mls10)
                .map_err(mls_err)?;
            let dc = self
                .verify_member(
                    kp.leaf_node().credential(),
                    kp.leaf_node().signature_key().as_slice(),
                )
                .await?;
            if !dc
                .user
                .eq_ignore_ascii_case(v["user"].as_str().unwrap_or_default())
            {
                return Err(ClientError::BadCredential {
                    who: dc.user,
                    reason: format!("claimed for {user}"),
                });
            }
            out.push(kp);
        }
        Ok(out)
    }

    /// Creates a group with this device, registers it at our homeserver (its hub), and adds
    /// every device of each peer. Returns the group id.
    pub async fn start_dm(&mut self, peers: &[&str]) -> Result<String> {
        let group_id = format!(
            "{}/{}",
            self.cfg.server_name,
            hex::encode(rand::random::<[u8; 16]>())
        );
        let group = MlsGroup::new_with_group_id(
            &self.provider,
            self.signer()?,
            &create_config(),
            GroupId::from_slice(group_id.as_bytes()),
            self.credential_with_key()?,
        )
        .map_err(mls_err)?;
        let gi = group
            .export_group_info(self.provider.crypto(), self.signer()?, false)
            .map_err(mls_err)?;
        let tree = group.export_ratchet_tree();
        self.save()?;
        self.post(
            "/mls/groups",
            json!({"device_id": self.state.device_id, "group_info": tls(&gi)?, "ratchet_tree": tls(&tree)?}),
        )
        .await?;
        self.state.groups.insert(
            group_id.clone(),
            peers.iter().map(|p| p.to_string()).collect(),
        );
        self.save()?;
        let mut kps = Vec::new();
        for p in peers {
            kps.extend(self.claim(p).await?);
        }
        if !kps.is_empty() {
            self.add(&group_id, kps).await?;
        }
        Ok(group_id)
    }

    /// Adds the other devices of this user (a new device) to a group.
    pub async fn add_own_devices(&mut self, group_id: &str) -> Result<usize> {
        let user = self.state.user.clone();
        let kps = self.claim(&user).await?;
        let n = kps.len();
        if n > 0 {
            self.add(group_id, kps).await?;
        }
        Ok(n)
    }

    /// Adds members (verified KeyPackages) with one commit; on a 409 the pending commit is
    /// dropped, the inbox is synced and the commit retried.
    pub async fn add(&mut self, group_id: &str, kps: Vec<KeyPackage>) -> Result<()> {
        for _ in 0..5 {
            let mut group = self.load_group(group_id)?;
            let (commit, welcome, gi) = group
                .add_members(&self.provider, self.signer()?, &kps)
                .map_err(mls_err)?;
            let mut body = json!({"device_id": self.state.device_id, "message": tls(&commit)?, "welcome": tls(&welcome)?});
            if let Some(gi) = gi {
                body["group_info"] = json!(tls(&MlsMessageOut::from(gi))?);
            }
            match self.post("/mls/messages", body).await {
                Ok(_) => {
                    group
                        .merge_pending_commit(&self.provider)
                        .map_err(mls_err)?;
                    self.save()?;
                    return Ok(());
                }
                Err(ClientError::Api { status: 409, .. }) => {
                    group
                        .clear_pending_commit(self.provider.storage())
                        .map_err(mls_err)?;
                    self.save()?;
                    self.sync().await?;
                }
                Err(e) => {
                    group
                        .clear_pending_commit(self.provider.storage())
                        .map_err(mls_err)?;
                    self.save()?;
                    return Err(e);
                }
            }
        }
        Err(ClientError::Mls("could not commit after 5 attempts".into()))
    }

    /// Adds members with one commit attempt and no retry: `Ok(true)` if accepted (merged),
    /// `Ok(false)` on 409 (the pending commit is dropped).
    pub async fn add_once(&mut self, group_id: &str, kps: &[KeyPackage]) -> Result<bool> {
        let mut group = self.load_group(group_id)?;
        let (commit, welcome, _) = group
            .add_members(&self.provider, self.signer()?, kps)
            .map_err(mls_err)?;
        let body = json!({"device_id": self.state.device_id, "message": tls(&commit)?, "welcome": tls(&welcome)?});
        let res = self.post("/mls/messages", body).await;
        match res {
            Ok(_) => {
                group
                    .merge_pending_commit(&self.provider)
                    .map_err(mls_err)?;
                self.save()?;
                Ok(true)
            }
            Err(e) => {
                group
                    .clear_pending_commit(self.provider.storage())
                    .map_err(mls_err)?;
                self.save()?;
                match e {
                    ClientError::Api { status: 409, .. } => Ok(false),
                    e => Err(e),
                }
            }
        }
    }

    /// Creates a group locally only, not registered at any hub (tests of the hub's checks).
    pub fn create_unregistered_group(&mut self, group_id: &str) -> Result<()> {
        MlsGroup::new_with_group_id(
            &self.provider,
            self.signer()?,
            &create_config(),
            GroupId::from_slice(group_id.as_bytes()),
            self.credential_with_key()?,
        )
        .map_err(mls_err)?;
        self.state.groups.insert(group_id.to_owned(), vec![]);
        self.save()
    }

    /// A self-update commit's bytes, left pending (tests of the hub's checks).
    pub fn self_update_raw(&mut self, group_id: &str) -> Result<Vec<u8>> {
        let mut group = self.load_group(group_id)?;
        let bundle = group
            .self_update(
                &self.provider,
                self.signer()?,
                LeafNodeParameters::default(),
            )
            .map_err(mls_err)?;
        let (commit, _, _) = bundle.into_contents();
        group
            .clear_pending_commit(self.provider.storage())
            .map_err(mls_err)?;
        commit.tls_serialize_detached().map_err(mls_err)
    }

    /// Sends a commit made by `make` once, without retry: `Ok(true)` if the hub accepted
    /// it (merged), `Ok(false)` on 409 (dropped).
    pub async fn try_self_update(&mut self, group_id: &str) -> Result<bool> {
        let mut group = self.load_group(group_id)?;
        let bundle = group
            .self_update(
                &self.provider,
                self.signer()?,
                LeafNodeParameters::default(),
            )
            .map_err(mls_err)?;
        let (commit, _, _) = bundle.into_contents();
        let body = json!({"device_id": self.state.device_id, "message": tls(&commit)?});
        match self.post("/mls/messages", body).await {
            Ok(_) => {
                group
                    .merge_pending_commit(&self.provider)
                    .map_err(mls_err)?;
                self.save()?;
                Ok(true)
            }
            Err(ClientError::Api { status: 409, .. }) => {
                group
                    .clear_pending_commit(self.provider.storage())
                    .map_err(mls_err)?;
                self.save()?;
                Ok(false)
            }
            Err(e) => {
                group
                    .clear_pending_commit(self.provider.storage())
                    .map_err(mls_err)?;
                self.save()?;
                Err(e)
            }
        }
    }

    /// Encrypts and sends a text message.
    pub async fn send(&mut self, group_id: &str, text: &str) -> Result<Value> {
        let mut group = self.load_group(group_id)?;
        let msg = group
            .create_message(&self.provider, self.signer()?, text.as_bytes())
            .map_err(mls_err)?;
        self.save()?;
        self.post(
            "/mls/messages",
            json!({"device_id": self.state.device_id, "message": tls(&msg)?}),
        )
        .await
    }

    /// Raw MLS bytes for a message (tests of the hub's checks).
    pub fn encrypt_raw(&mut self, group_id: &str, text: &str) -> Result<Vec<u8>> {
        let mut group = self.load_group(group_id)?;
        let msg = group
            .create_message(&self.provider, self.signer()?, text.as_bytes())
            .map_err(mls_err)?;
        self.save()?;
        msg.tls_serialize_detached().map_err(mls_err)
    }

    /// Reads the inbox from the cursor and processes everything: Welcomes join groups (all
    /// members verified), commits are verified and merged, application messages decrypted.
    pub async fn sync(&mut self) -> Result<Vec<Received>> {
        let mut out = Vec::new();
        loop {
            let path = format!(
                "/mls/devices/{}/inbox?after={}&limit=100",
                self.state.device_id, self.state.cursor
            );
            let v = self.get(&path).await?;
            let items = v["items"].as_array().cloned().unwrap_or_default();
            if items.is_empty() {
                break;
            }
            for it in &items {
                if let Err(e) = self.process_item(it, &mut out).await {
                    // A bad item (forged credential, unprocessable message) is skipped, never
                    // merged; key changes surface through key_warnings().
                    eprintln!("hearth-client: item {} skipped: {e}", it["id"]);
                }
                self.state.cursor = it["id"].as_str().unwrap_or_default().to_owned();
            }
            self.save()?;
        }
        Ok(out)
    }

    pub(crate) async fn process_item(&mut self, it: &Value, out: &mut Vec<Received>) -> Result<()> {
        let bytes = b64::decode(it["message"].as_str().unwrap_or_default(), "message")
            .map_err(|e| ClientError::Mls(e.to_string()))?;
        let msg = MlsMessageIn::tls_deserialize_exact(bytes.as_slice()).map_err(mls_err)?;
        match msg.extract() {
            MlsMessageBodyIn::Welcome(w) => {
                let staged =
                    StagedWelcome::new_from_welcome(&self.provider, &join_config(), w, None)
                        .map_err(mls_err)?;
                let members: Vec<Member> = staged.members().collect();
                for m in &members {
                    self.verify_member(&m.credential, m.signature_key.as_slice())
                        .await?;
                }
                let group = staged.into_group(&self.provider).map_err(mls_err)?;
                let gid = String::from_utf8_lossy(group.group_id().as_slice()).into_owned();
                let peers = members
                    .iter()
                    .filter_map(|m| identity_of(&m.credential))
                    .filter_map(|i| DeviceCredential::parse(&i).ok())
                    .map(|(c, _)| c.user)
                    .filter(|u| *u != self.state.user)
                    .collect::<std::collections::BTreeSet<_>>();
                self.state.groups.insert(gid, peers.into_iter().collect());
                self.save()?;
            }
            MlsMessageBodyIn::PublicMessage(m) => self.process_protocol(m.into(), out).await?,
            MlsMessageBodyIn::PrivateMessage(m) => self.process_protocol(m.into(), out).await?,
            _ => return Err(ClientError::Mls("unexpected message".into())),
        }
        Ok(())
    }

    pub(crate) async fn process_protocol(
        &mut self,
        m: ProtocolMessage,
        out: &mut Vec<Received>,
    ) -> Result<()> {
        let gid = String::from_utf8_lossy(m.group_id().as_slice()).into_owned();
        let mut group = self.load_group(&gid)?;
        let is_current_commit =
            m.content_type() == ContentType::Commit && m.epoch() == group.epoch();
        let processed = match group.process_message(&self.provider, m) {
            Ok(p) => p,
            Err(e) => {
                // The hub accepted this commit (it is the group's next epoch) but this device
                // cannot process it, e.g. a bad membership tag the hub cannot check (spec/mls.md
                // §5.1): the group cannot advance for us any more.
                if is_current_commit {
                    self.state.unusable.insert(
                        gid.clone(),
                        format!(
                            "the accepted commit of epoch {} cannot be processed: {e:?}",
                            group.epoch().as_u64()
                        ),
                    );
                    self.save()?;
                }
                return Err(mls_err(e));
            }
        };
        let sender_cred = processed.credential().clone();
        let sender_leaf = match processed.sender() {
            Sender::Member(i) => group.member(*i).cloned(),
            _ => None,
        };
        match processed.into_content() {
            ProcessedMessageContent::ApplicationMessage(a) => {
                let identity = identity_of(&sender_cred).unwrap_or_default();
                let (c, _) = DeviceCredential::parse(&identity)
                    .map_err(|e| ClientError::Mls(e.to_string()))?;
                out.push(Received {
                    group_id: gid,
                    sender: c.user,
                    sender_device: c.device_id,
                    text: String::from_utf8_lossy(&a.into_bytes()).into_owned(),
                });
                self.save()?;
            }
            ProcessedMessageContent::StagedCommitMessage(staged) => {
                for a in staged.add_proposals() {
                    let kp = a.add_proposal().key_package();
                    let (cred, key) = (
                        kp.leaf_node().credential().clone(),
                        kp.leaf_node().signature_key().as_slice().to_vec(),
                    );
                    self.verify_member(&cred, &key).await?;
                }
                let removed_by = sender_leaf
                    .as_ref()
                    .and_then(identity_of)
                    .and_then(|i| DeviceCredential::parse(&i).ok())
                    .map_or_else(|| "?".to_owned(), |(c, _)| c.user);
                group
                    .merge_staged_commit(&self.provider, *staged)
                    .map_err(mls_err)?;
                if !group.is_active() {
                    self.state.unusable.insert(
                        gid.clone(),
                        format!("removed from the group by {removed_by}"),
                    );
                }
                self.save()?;
            }
            _ => {
                self.save()?;
            }
        }
        Ok(())
    }
}
