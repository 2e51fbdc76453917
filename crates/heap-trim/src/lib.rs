//! Giving memory the C allocator holds free back to the operating system.
//!
//! glibc's malloc returns freed memory on its own only from the top of a heap; pages freed
//! below a live allocation stay resident until `malloc_trim`, which releases every free page
//! of every arena (`MADV_DONTNEED`) and leaves live allocations untouched. It walks and locks
//! each arena in turn: call it after a burst, not in a hot path (the gateway calls it once a
//! burst of connection churn has settled, `src/gateway/trim.rs`).
//!
//! This crate is the workspace's only exception to `unsafe_code = "forbid"`: one FFI call
//! that takes no pointers.

/// Whether [`trim`] does anything in this build (Linux with glibc).
pub const SUPPORTED: bool = cfg!(all(target_os = "linux", target_env = "gnu"));

/// `malloc_trim(0)` where the C library is glibc: `true` when glibc released memory.
/// Elsewhere (musl, other systems, whose allocators have no such call) it does nothing and
/// returns `false`.
pub fn trim() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    // SAFETY: malloc_trim takes no pointers and has no caller-side invariants; glibc takes
    // each arena's lock while it rearranges that arena's free lists.
    unsafe {
        libc::malloc_trim(0) == 1
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    false
}
