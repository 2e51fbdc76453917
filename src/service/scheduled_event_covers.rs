//! Scheduled events' cover images (module docs of [`super::scheduled_events`]): a PATCH's
//! new cover, stored once across the PATCH's retry rounds and kept or deleted by how the
//! whole edit ends.

use super::Hearth;
use super::images::{ImageChange, ImageKind};
use crate::error::Result;
use crate::storage::ScheduledEventRow;

/// A modify's new cover: the hash it was stored against and the change (see
/// [`ImageChange`]); `None` until a round stores it.
pub(crate) type Cover = Option<(Option<String>, ImageChange)>;

impl Hearth {
    /// The cover event `old` has after a PATCH's `image` (`None` absent, `Some(None)` null,
    /// `Some(Some(uri))` a new picture, checked and stored the first time a round gets
    /// here, then kept in `cover` for the later rounds). Errors: 400 50035 at `image`.
    pub(super) async fn cover_for(
        &self,
        old: &ScheduledEventRow,
        image: Option<Option<String>>,
        cover: &mut Cover,
    ) -> Result<Option<String>> {
        if cover.is_none() {
            let new = self
                .image_field(
                    ImageKind::EventCover,
                    old.id,
                    "image",
                    image,
                    old.image.as_deref(),
                )
                .await?;
            *cover = Some((old.image.clone(), new));
        }
        Ok(match cover {
            Some((_, Some(new))) => new.clone(),
            _ => old.image.clone(),
        })
    }

    /// After a PATCH of event `event`: done (`Ok(replaced)`, the cover the committed row
    /// replaced), that cover's bytes go; failed, the picture stored for it goes.
    pub(super) fn settle_cover<E>(
        &self,
        event: i64,
        cover: &Cover,
        outcome: std::result::Result<&Option<String>, E>,
    ) {
        if let Some((stored_against, new)) = cover {
            let (old, committed) = match outcome {
                Ok(replaced) => (replaced.as_deref(), true),
                Err(_) => (stored_against.as_deref(), false),
            };
            self.settle_image(ImageKind::EventCover, event, old, new, committed);
        }
    }
}
