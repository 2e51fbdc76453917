//! Wire types: re-exported from the `hearth-wire` crate (`crates/wire`), the one place
//! where the JSON shapes of the client API and gateway are defined.

pub use hearth_wire::*;
