//! Deleted content leaves the server's files (issue 20, "deleted content survives ... on
//! disk"; README "Deleted content"): SQLite runs with
//! `secure_delete` (freed rows are zeroed) and the write-ahead log is checkpointed and
//! emptied every `CHECKPOINT_EVERY`, so after a checkpoint no file under the data directory
//! holds a deleted message's text. The test is about SQLite's files, so it runs on SQLite
//! whichever backend the suite was asked for.

use std::path::Path;

use crate::harness::*;

/// Whether any file under `dir` contains `needle`.
pub(crate) fn files_contain(dir: &Path, needle: &[u8]) -> bool {
    std::fs::read_dir(dir).unwrap().any(|e| {
        let path = e.unwrap().path();
        if path.is_dir() {
            files_contain(&path, needle)
        } else {
            let bytes = std::fs::read(&path).unwrap_or_default();
            bytes.windows(needle.len()).any(|w| w == needle)
        }
    })
}

#[tokio::test]
async fn a_deleted_message_is_gone_from_the_sqlite_files_after_a_checkpoint() {
    let ts = TestServer::start_with(|c| c.database_url = None).await;
    assert!(matches!(&*ts.hearth.db, hearth_db::Db::Sqlite(_)));
    let (_, alice) = ts.user("alice").await;
    let g = create_guild(&alice, "Erasure").await;
    let marker = "erasure_marker_7c1d9e5a";
    let kept = "kept_marker_0b8f2c41";
    let gone = say(&alice, &g.general, &format!("a secret: {marker}")).await;
    say(&alice, &g.general, &format!("this stays: {kept}")).await;
    // Checkpointed once, the text is in the database file itself, not only in the log.
    assert!(ts.hearth.checkpoint_now().await.unwrap());
    assert!(files_contain(&ts.data_dir, marker.as_bytes()));
    let r = alice
        .delete(&format!("/channels/{}/messages/{gone}", g.general))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    assert!(ts.hearth.checkpoint_now().await.unwrap());
    assert!(
        !files_contain(&ts.data_dir, marker.as_bytes()),
        "the deleted text is still in a file under {}",
        ts.data_dir.display()
    );
    // Nor any word of it (the search index drops a deleted message's terms at once).
    assert!(!files_contain(&ts.data_dir, b"7c1d9e5a"));
    assert!(files_contain(&ts.data_dir, kept.as_bytes()));
    let left = alice
        .get(&format!("/channels/{}/messages?limit=10", g.general))
        .await;
    assert_eq!(left.body.as_array().unwrap().len(), 1, "{left:?}");
}
