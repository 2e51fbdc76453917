//! Byte bounds of federation traffic (spec/federation.md §2.4, §8.3, §9.2, §15): push
//! batches, pull pages, the largest event sent in full and the federation routes' body limit.

/// Bytes of events per push batch (spec §9.2): a batch stops before the event that would
/// take the sum of its events' serialized sizes past this; its first event always goes (so
/// a single larger event, at most [`MAX_EVENT_BYTES`], travels alone).
pub const MAX_BATCH_BYTES: usize = 1024 * 1024;
/// Bytes of events per pull page (spec §8.3), the same rule as [`MAX_BATCH_BYTES`]; a puller
/// may ask for less (`max_bytes`, at least [`MIN_PAGE_BYTES`]).
pub const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;
/// The smallest `max_bytes` a pull may ask for.
pub const MIN_PAGE_BYTES: usize = 64 * 1024;
/// Federation request body every receiver accepts (spec §2.4, §15): a push of one event of
/// [`MAX_EVENT_BYTES`] fits. Hearth's federation routes accept the larger of this and four
/// times `limits.max_body_bytes` ([`federation_body_limit`]).
pub const MAX_TXN_BYTES: usize = 8 * 1024 * 1024;
/// Room kept for the request or response envelope around the events (`{"events": [..]}`).
pub const ENVELOPE_BYTES: usize = 64 * 1024;
/// Largest serialized host event sent in full (spec §9.2): a larger one travels, in pushes
/// and pulls, as its `too_large` stub (§6.4), so no valid event can make a request exceed
/// [`MAX_TXN_BYTES`] or a response exceed the 8 MiB response cap.
pub const MAX_EVENT_BYTES: usize = MAX_TXN_BYTES - ENVELOPE_BYTES;

/// The federation routes' request body limit (spec §2.4): [`MAX_TXN_BYTES`] or four times
/// `limits.max_body_bytes`, whichever is larger, on either listener.
pub fn federation_body_limit(config: &crate::config::Config) -> usize {
    MAX_TXN_BYTES.max(4 * config.limits.max_body_bytes)
}

/// The leading rows of `rows` whose stored sizes sum to at most `budget` bytes, and always
/// the first (spec §8.3, §9.2).
pub(super) fn within_bytes(
    rows: Vec<crate::storage::LogRow>,
    budget: usize,
) -> Vec<crate::storage::LogRow> {
    let mut bytes = 0usize;
    rows.into_iter()
        .enumerate()
        .take_while(|(i, r)| {
            bytes += r.event.len().min(MAX_EVENT_BYTES);
            *i == 0 || bytes <= budget
        })
        .map(|(_, r)| r)
        .collect()
}
