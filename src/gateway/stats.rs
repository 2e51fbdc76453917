//! What the gateway counts for operators: load shedding ([`ShedStats`]) and dispatch traffic
//! ([`TrafficStats`]), read by `GET /admin/gateway` and `/metrics`.

use super::Gateway;
use crate::events::Event;

/// What load shedding dropped since start ([`Gateway::shed_stats`], `GET /admin/gateway`).
/// Only lossy dispatches (typing, presence) are ever shed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ShedStats {
    /// Typing dispatches dropped whole, before routing (dispatcher backlog over
    /// `gateway.shed_backlog`).
    pub typing_dispatches: u64,
    /// Presence dispatches dropped whole, before routing.
    pub presence_dispatches: u64,
    /// Typing deliveries skipped for one session more than `session_queue / 2` behind.
    pub typing_deliveries: u64,
    /// Presence deliveries skipped for one such session.
    pub presence_deliveries: u64,
}

/// What the dispatcher has handled since start ([`Gateway::traffic_stats`], `/metrics`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrafficStats {
    /// Dispatches taken from the bus and routed.
    pub dispatches: u64,
    /// Dispatches queued for one session (one dispatch to 100 sessions counts 100).
    pub deliveries: u64,
    /// Bus events the dispatcher missed by falling behind the bus.
    pub bus_lagged: u64,
    /// Sessions ended because durable events they needed were lost on the cluster bus
    /// ([`crate::events::Control::GuildEventsLost`]).
    pub restarted: u64,
}

#[derive(Default)]
pub(super) struct Traffic {
    pub(super) dispatches: std::sync::atomic::AtomicU64,
    pub(super) deliveries: std::sync::atomic::AtomicU64,
    pub(super) bus_lagged: std::sync::atomic::AtomicU64,
    pub(super) restarted: std::sync::atomic::AtomicU64,
}

#[derive(Default)]
pub(super) struct Shed {
    typing_dispatches: std::sync::atomic::AtomicU64,
    presence_dispatches: std::sync::atomic::AtomicU64,
    typing_deliveries: std::sync::atomic::AtomicU64,
    presence_deliveries: std::sync::atomic::AtomicU64,
}

impl Shed {
    pub(super) fn count(&self, event: Event, whole: bool) {
        use std::sync::atomic::Ordering::Relaxed;
        let c = match (event == Event::PresenceUpdate, whole) {
            (true, true) => &self.presence_dispatches,
            (true, false) => &self.presence_deliveries,
            (false, true) => &self.typing_dispatches,
            (false, false) => &self.typing_deliveries,
        };
        c.fetch_add(1, Relaxed);
    }
}

impl Gateway {
    /// Dispatches routed and delivered since start.
    pub fn traffic_stats(&self) -> TrafficStats {
        use std::sync::atomic::Ordering::Relaxed;
        TrafficStats {
            dispatches: self.traffic.dispatches.load(Relaxed),
            deliveries: self.traffic.deliveries.load(Relaxed),
            bus_lagged: self.traffic.bus_lagged.load(Relaxed),
            restarted: self.traffic.restarted.load(Relaxed),
        }
    }

    /// What load shedding dropped since start.
    pub fn shed_stats(&self) -> ShedStats {
        use std::sync::atomic::Ordering::Relaxed;
        ShedStats {
            typing_dispatches: self.shed.typing_dispatches.load(Relaxed),
            presence_dispatches: self.shed.presence_dispatches.load(Relaxed),
            typing_deliveries: self.shed.typing_deliveries.load(Relaxed),
            presence_deliveries: self.shed.presence_deliveries.load(Relaxed),
        }
    }
}
