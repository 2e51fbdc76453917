//! Heap trimming after gateway connection churn (issue 21: server memory back to its
//! baseline after a reconnect storm; `src/gateway/trim.rs`). A storm of dropped and resumed
//! connections is counted, and once `gateway.heap_trim_churn` starts and ends happened and
//! the churn settled, the server gives freed heap back to the system (glibc `malloc_trim`),
//! once. Below the threshold nothing is trimmed; `GET /admin/gateway` shows the counters to
//! instance administrators only.

use serde_json::json;

use crate::gateway::{GUILD_MESSAGES, GUILDS, Gw, World, world_with};
use crate::harness::{assert_err, eventually};
use hearth::gateway::{HeapTrimStats, SessionStats};

/// Identifies `n` sessions of bob, drops every connection without a close frame and
/// resumes each session on a new connection: 3 × `n` connection starts and ends. Returns
/// the resumed connections (kept open by the caller).
async fn storm(w: &World, n: usize) -> Vec<Gw> {
    let mut sessions = vec![];
    for _ in 0..n {
        let mut g = Gw::identify(&w.ts, &w.bob_tok, GUILDS | GUILD_MESSAGES).await;
        g.expect("GUILD_CREATE").await;
        sessions.push((g.session_id.clone(), g.seq, g));
    }
    let mut resumed = vec![];
    let ids: Vec<(String, u64)> = sessions.iter().map(|(s, q, _)| (s.clone(), *q)).collect();
    drop(sessions); // no close frames: every session stays resumable
    eventually("every session detached", || async {
        let st = w.ts.gateway.session_stats();
        (st.detached == n && st.connected == 0).then_some(())
    })
    .await;
    for (session, seq) in ids {
        let mut r = Gw::connect(&w.ts, "v=10&encoding=json").await;
        r.seq = seq;
        r.send(json!({"op": 6, "d": {"token": w.bob_tok, "session_id": session, "seq": seq}}))
            .await;
        r.expect("RESUMED").await;
        resumed.push(r);
    }
    let st: SessionStats = w.ts.gateway.session_stats();
    assert_eq!((st.connected, st.detached), (n, 0), "all live again");
    resumed
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[tokio::test]
async fn a_reconnect_storm_is_trimmed_once_when_it_settles() {
    let w = world_with(|c| c.gateway.heap_trim_churn = 12).await;
    assert_eq!(w.ts.gateway.heap_trim_stats(), HeapTrimStats::default());
    // 4 identified + 4 dropped + 4 resumed = 12 starts and ends.
    let _live = storm(&w, 4).await;
    let st = eventually("one heap trim after the storm", || async {
        let st = w.ts.gateway.heap_trim_stats();
        (st.trims > 0).then_some(st)
    })
    .await;
    assert_eq!(st.trims, 1, "one trim for one storm: {st:?}");
    assert_eq!(st.churn, 0, "the churn counter restarts at each trim");
    assert!(st.last_trim_us > 0, "{st:?}");

    // Operators see it; a member without admin rights does not.
    w.ts.make_first_admin(&w.alice).await;
    let r = w.alice.get("/admin/gateway").await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["heap_trim"]["trims"], 1, "{r:?}");
    assert_eq!(r.body["heap_trim"]["churn"], 0);
    assert!(r.body["heap_trim"]["released_kib"].is_u64());
    let r = w.bob.get("/admin/gateway").await;
    assert_err(&r, 403, 50013);
}

#[tokio::test]
async fn churn_below_the_threshold_is_counted_and_not_trimmed() {
    let w = world_with(|c| c.gateway.heap_trim_churn = 1_000).await;
    let _live = storm(&w, 2).await;
    // 2 identified + 2 dropped + 2 resumed, counted exactly (a trim would reset the count).
    let st = eventually("6 connection starts and ends", || async {
        let st = w.ts.gateway.heap_trim_stats();
        (st.churn >= 6).then_some(st)
    })
    .await;
    assert_eq!((st.trims, st.churn), (0, 6), "{st:?}");
}
