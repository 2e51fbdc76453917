//! The one rule for every change of channel permission overwrites.
//!
//! Discord ("Resources > Channel > Edit Channel Permissions", "Modify Channel", "Create Guild
//! Channel"; the 2021-01 hotfix of channel creation): a caller who is neither the guild owner
//! nor an ADMINISTRATOR may only allow or deny permissions he has himself. Hearth applies it
//! to the *change*: every bit whose allow or deny state differs between the overwrites before
//! and after — of overwrites added, changed or removed alike — must be one the caller holds
//! where the overwrites apply (the channel; for a new channel its category, or the guild).
//! So a moderator denied SEND_MESSAGES can neither delete that deny, nor rewrite the list
//! without it, nor create a channel that allows it to him. Discord's exception for a
//! MANAGE_ROLES *overwrite* (which there lets the holder set any bit in that channel) is not
//! followed: it is the escalation this rule closes. Role hierarchy does not apply to
//! overwrites, as on Discord (overwrites of higher roles may be edited within these bits).
//!
//! Every path that writes overwrites calls [`GuildAccess::may_change_overwrites`]:
//! `PUT`/`DELETE /channels/{id}/permissions/{target}`, `PATCH /channels/{id}` with
//! `permission_overwrites`, `POST /guilds/{id}/channels` with `permission_overwrites`, and the
//! category sync of `PATCH /guilds/{id}/channels` (`lock_permissions`).

use super::GuildAccess;
use crate::error::{Error, Result};
use crate::permissions::{self as perm, Permissions};
use crate::storage::OverwriteRow;

/// The permission bits a change of one channel's overwrites from `before` to `after` touches:
/// for each target (role or member), the bits whose allow or deny state differs. An added
/// overwrite touches all its bits, a removed one all of its bits. When a list names a target
/// twice the last entry counts, as it is the one stored.
pub fn touched_bits(before: &[OverwriteRow], after: &[OverwriteRow]) -> Permissions {
    let find = |list: &[OverwriteRow], target: i64| {
        list.iter()
            .rev()
            .find(|o| o.target_id == target)
            .map(|o| (o.allow_bits as u64, o.deny_bits as u64))
            .unwrap_or((0, 0))
    };
    let mut bits = 0;
    for o in before.iter().chain(after) {
        let (a0, d0) = find(before, o.target_id);
        let (a1, d1) = find(after, o.target_id);
        bits |= (a0 ^ a1) | (d0 ^ d1);
    }
    bits
}

impl GuildAccess {
    /// Whether the caller may change overwrites from `before` to `after` where his own
    /// permissions are `held` (his permissions in the channel, computed with its current
    /// overwrites; for a new channel, in its category or at guild level). The owner and
    /// ADMINISTRATORs may change anything.
    ///
    /// # Errors
    /// 403 50013 Missing Permissions when a touched bit is not in `held`.
    pub fn may_change_overwrites(
        &self,
        held: Permissions,
        before: &[OverwriteRow],
        after: &[OverwriteRow],
    ) -> Result<()> {
        if self.is_owner() || self.base() & perm::ADMINISTRATOR != 0 {
            return Ok(());
        }
        if touched_bits(before, after) & !held != 0 {
            return Err(Error::MissingPermissions);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ow(target: i64, allow: u64, deny: u64) -> OverwriteRow {
        OverwriteRow {
            channel_id: 1,
            target_id: target,
            kind: 0,
            allow_bits: allow as i64,
            deny_bits: deny as i64,
        }
    }

    #[test]
    fn touched_bits_of_added_changed_removed_and_unchanged() {
        let send = perm::SEND_MESSAGES;
        let view = perm::VIEW_CHANNEL;
        // Removing a deny touches its bits.
        assert_eq!(touched_bits(&[ow(7, 0, send)], &[]), send);
        // Adding touches allow and deny.
        assert_eq!(touched_bits(&[], &[ow(7, view, send)]), view | send);
        // Moving a bit from deny to allow touches it once.
        assert_eq!(touched_bits(&[ow(7, 0, send)], &[ow(7, send, 0)]), send);
        // Re-sending the same list touches nothing, whatever it holds.
        let same = [ow(7, view, send), ow(8, 0, perm::ADMINISTRATOR)];
        assert_eq!(touched_bits(&same, &same), 0);
        // The last entry for a target is the one that counts.
        assert_eq!(
            touched_bits(&[ow(7, 0, send)], &[ow(7, 0, 0), ow(7, 0, send)]),
            0
        );
    }
}
