//! Audit entries of threads and forum posts (Discord "Audit Log Events" THREAD_CREATE 110,
//! THREAD_UPDATE 111, THREAD_DELETE 112): who, which thread, the changed fields and the
//! `X-Audit-Log-Reason`; an edit that changes nothing and a refused edit leave no entry; a
//! member without VIEW_AUDIT_LOG cannot read them.

use reqwest::Method;
use serde_json::{Value, json};

use crate::forums::{cast, forum, post, tag};
use crate::harness::*;

async fn entries(c: &Client, g: &str, action: i64) -> Vec<Value> {
    let r = c
        .get(&format!("/guilds/{g}/audit-logs?action_type={action}"))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body["audit_log_entries"].as_array().unwrap().clone()
}

/// `(key, old_value, new_value)` of an entry's changes.
fn changes(e: &Value) -> Vec<(String, Value, Value)> {
    e["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (s(&c["key"]), c["old_value"].clone(), c["new_value"].clone()))
        .collect()
}

fn value_of(e: &Value, key: &str) -> (Value, Value) {
    changes(e)
        .into_iter()
        .find(|(k, _, _)| k == key)
        .map(|(_, o, n)| (o, n))
        .unwrap_or_else(|| panic!("no {key} in {e}"))
}

#[tokio::test]
async fn threads_are_audited_when_created_changed_and_deleted() {
    let c = cast().await;
    let (g, chan) = (&c.guild.id, &c.guild.general);
    let bob = &c.bob;
    // A thread from a message, with a reason.
    let msg = say(&c.owner, chan, "topic").await;
    let r = bob
        .1
        .raw(
            Method::POST,
            &format!("/channels/{chan}/messages/{msg}/threads"),
            Some(br#"{"name": "plans"}"#.to_vec()),
            &[("X-Audit-Log-Reason", "new%20topic")],
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let created = entries(&c.owner, g, 110).await;
    assert_eq!(created.len(), 1, "{created:?}");
    let e = &created[0];
    assert_eq!(e["user_id"], bob.0.as_str());
    assert_eq!(e["target_id"], msg.as_str());
    assert_eq!(e["reason"], "new topic");
    assert_eq!(value_of(e, "name"), (Value::Null, json!("plans")));
    assert_eq!(value_of(e, "type"), (Value::Null, json!(11)));
    assert_eq!(value_of(e, "archived"), (Value::Null, json!(false)));

    // A rename and an archive by the owner: exactly those two keys.
    let path = format!("/channels/{msg}");
    let r = bob
        .1
        .patch(&path, json!({"name": "plans v2", "archived": true}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let updated = entries(&c.owner, g, 111).await;
    assert_eq!(updated.len(), 1, "{updated:?}");
    let mut keys: Vec<String> = changes(&updated[0])
        .into_iter()
        .map(|(k, _, _)| k)
        .collect();
    keys.sort();
    assert_eq!(keys, ["archived", "name"]);
    assert_eq!(
        value_of(&updated[0], "name"),
        (json!("plans"), json!("plans v2"))
    );
    assert_eq!(updated[0]["target_id"], msg.as_str());
    // Refused (an archived thread takes nothing but unarchiving) and no-op edits: no entry.
    assert_err(&bob.1.patch(&path, json!({"name": "x"})).await, 400, 50083);
    assert_eq!(entries(&c.owner, g, 111).await.len(), 1);
    let r = bob.1.patch(&path, json!({"archived": false})).await;
    assert_eq!(r.status, 200, "{r:?}");
    let updated = entries(&c.owner, g, 111).await;
    assert_eq!(updated.len(), 2, "{updated:?}");
    assert_eq!(
        value_of(&updated[0], "archived"),
        (json!(true), json!(false))
    );
    let r = bob.1.patch(&path, json!({"name": "plans v2"})).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(entries(&c.owner, g, 111).await.len(), 2);

    // A private thread without a message lists `invitable`; the owner deletes it.
    let r = c
        .owner
        .post(
            &format!("/channels/{chan}/threads"),
            json!({"name": "secret", "type": 12, "invitable": false}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let private = s(&r.body["id"]);
    let created = entries(&c.owner, g, 110).await;
    let e = created
        .iter()
        .find(|e| e["target_id"] == private.as_str())
        .unwrap();
    assert_eq!(value_of(e, "invitable"), (Value::Null, json!(false)));
    let r = c
        .owner
        .raw(
            Method::DELETE,
            &format!("/channels/{private}"),
            None,
            &[("X-Audit-Log-Reason", "done")],
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let deleted = entries(&c.owner, g, 112).await;
    assert_eq!(deleted.len(), 1, "{deleted:?}");
    assert_eq!(deleted[0]["target_id"], private.as_str());
    assert_eq!(deleted[0]["reason"], "done");
    assert_eq!(
        value_of(&deleted[0], "name"),
        (json!("secret"), Value::Null)
    );

    // A forum post is a thread creation too, with its tags.
    let f = forum(&c.owner, g).await;
    let fid = s(&f["id"]);
    let bug = tag(&f, "bug");
    let p = post(
        &c.carol.1,
        &fid,
        json!({"name": "crash", "message": {"content": "it broke"}, "applied_tags": [bug]}),
    )
    .await;
    assert_eq!(p.status, 201, "{p:?}");
    let created = entries(&c.owner, g, 110).await;
    let e = created
        .iter()
        .find(|e| e["target_id"] == p.body["id"])
        .unwrap_or_else(|| panic!("{created:?}"));
    assert_eq!(e["user_id"], c.carol.0.as_str());
    assert_eq!(value_of(e, "applied_tags"), (Value::Null, json!([bug])));
    // The response carries the threads its entries name that still exist (not the deleted
    // private one).
    let r = c.owner.get(&format!("/guilds/{g}/audit-logs")).await;
    let mut listed: Vec<String> = r.body["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| s(&t["id"]))
        .collect();
    listed.sort();
    let mut want = vec![msg.clone(), s(&p.body["id"])];
    want.sort();
    assert_eq!(listed, want, "{r:?}");

    // A member without VIEW_AUDIT_LOG and an outsider read none of it.
    assert_err(
        &bob.1.get(&format!("/guilds/{g}/audit-logs")).await,
        403,
        50013,
    );
    assert_err(
        &c.outsider.get(&format!("/guilds/{g}/audit-logs")).await,
        403,
        50001,
    );
}
