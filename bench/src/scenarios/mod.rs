//! The load scenarios of `hearth-bench`, one file per group (see BENCHMARKS.md).

mod cluster;
mod detached;
mod fanout;
mod history;
mod idle;
mod keeper;
mod media;
mod search;
mod sends;
mod startup;
mod storm;

pub(crate) use cluster::*;
pub(crate) use detached::*;
pub(crate) use fanout::*;
pub(crate) use history::*;
pub(crate) use idle::*;
pub(crate) use keeper::*;
pub(crate) use media::*;
pub(crate) use search::*;
pub(crate) use sends::*;
pub(crate) use startup::*;
pub(crate) use storm::*;
