//! Bounded waiting for asynchronous effects (deliveries between servers, background tasks):
//! poll a condition until it holds, with a deadline, instead of sleeping a fixed time.

use std::time::Duration;

use tokio::time::Instant;

/// What a polled condition returns: `bool` (holds or not) or `Option<T>` (the value, once
/// there).
pub trait Outcome {
    /// What [`eventually`] returns once the condition holds.
    type Value;
    /// `Some` once the condition holds.
    fn ready(self) -> Option<Self::Value>;
}

impl Outcome for bool {
    type Value = ();
    fn ready(self) -> Option<()> {
        self.then_some(())
    }
}

impl<T> Outcome for Option<T> {
    type Value = T;
    fn ready(self) -> Option<T> {
        self
    }
}

/// How long to wait and how often to look.
#[derive(Debug, Clone, Copy)]
pub struct Patience {
    /// The deadline, from the first look.
    pub within: Duration,
    /// The pause between looks (the first look is immediate).
    pub every: Duration,
}

impl Default for Patience {
    /// 30 s, looking every 20 ms.
    fn default() -> Self {
        Patience {
            within: Duration::from_secs(30),
            every: Duration::from_millis(20),
        }
    }
}

impl Patience {
    /// Waits up to `within`, looking every 20 ms.
    pub fn within(within: Duration) -> Self {
        Patience {
            within,
            ..Patience::default()
        }
    }

    /// The same deadline, looking every `every`.
    pub fn every(self, every: Duration) -> Self {
        Patience { every, ..self }
    }

    /// Polls `f` until it holds (see [`Outcome`]) and returns its value.
    ///
    /// # Errors
    /// `timed out after {within:?} waiting until {what}` once the deadline has passed.
    pub async fn until<O: Outcome>(
        self,
        what: &str,
        mut f: impl AsyncFnMut() -> O,
    ) -> Result<O::Value, String> {
        let deadline = Instant::now() + self.within;
        loop {
            if let Some(v) = f().await.ready() {
                return Ok(v);
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "timed out after {:?} waiting until {what}",
                    self.within
                ));
            }
            tokio::time::sleep(self.every).await;
        }
    }
}

/// Polls `f` every 20 ms until it holds, at most 30 s ([`Patience::default`]); returns its
/// value. For a `bool` condition the value is `()`.
///
/// # Panics
/// When the deadline passes, naming `what`.
pub async fn eventually<O: Outcome>(what: &str, f: impl AsyncFnMut() -> O) -> O::Value {
    Patience::default()
        .until(what, f)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_for_a_value_and_gives_up_at_the_deadline() {
        let mut n = 0;
        let v = eventually("n reaches 3", async || {
            n += 1;
            (n >= 3).then_some(n)
        })
        .await;
        assert_eq!(v, 3);
        let e = Patience::within(Duration::from_millis(30))
            .every(Duration::from_millis(5))
            .until("never", async || false)
            .await
            .unwrap_err();
        assert!(e.contains("waiting until never"), "{e}");
    }
}
