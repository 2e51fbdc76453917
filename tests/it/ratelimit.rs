//! Rate limits as Discord documents them (headers, 429 bodies, per-route buckets keyed by
//! user and major parameter, the global limit) and the `Via` header discord.py needs.

use serde_json::json;

use crate::harness::*;

/// Default rate limits except registration (several accounts from one IP in one test).
fn defaults(c: &mut hearth::Config) {
    c.rate_limits = hearth::config::RateLimits::default();
    c.rate_limits.register_per_ip = hearth::config::Bucket {
        limit: 100,
        per_seconds: 3600.0,
    };
}

#[tokio::test]
async fn message_create_is_five_per_five_seconds_per_channel() {
    let srv = TestServer::start_with(defaults).await;
    let (_, alice) = srv.user("alice").await;
    let (_, bob) = srv.user("bob").await;
    let g = create_guild(&alice, "limits").await;
    join(&bob, &g.invite).await;
    let other = alice
        .post(
            &format!("/guilds/{}/channels", g.id),
            json!({"name": "other"}),
        )
        .await;
    let other = s(&other.body["id"]);
    let path = format!("/channels/{}/messages", g.general);

    let mut bucket = None;
    for i in 0..5u32 {
        let r = alice.post(&path, json!({"content": format!("m{i}")})).await;
        assert_eq!(r.status, 200, "message {i}: {r:?}");
        assert_eq!(r.header("x-ratelimit-limit").as_deref(), Some("5"), "{r:?}");
        let remaining: u32 = r.header("x-ratelimit-remaining").unwrap().parse().unwrap();
        assert_eq!(remaining, 4 - i, "{r:?}");
        let reset: f64 = r.header("x-ratelimit-reset").unwrap().parse().unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(
            reset > now - 1.0 && reset < now + 6.0,
            "reset is epoch seconds: {reset} vs {now}"
        );
        let after: f64 = r
            .header("x-ratelimit-reset-after")
            .unwrap()
            .parse()
            .unwrap();
        assert!(after > 0.0 && after <= 5.0, "reset-after {after}");
        let b = r.header("x-ratelimit-bucket").expect("bucket header");
        assert!(!b.is_empty());
        if let Some(prev) = &bucket {
            assert_eq!(prev, &b, "same bucket for the same route");
        }
        bucket = Some(b);
        assert!(r.header("via").is_some());
    }
    let r = alice.post(&path, json!({"content": "one too many"})).await;
    assert_eq!(r.status, 429, "{r:?}");
    assert!(r.body["message"].is_string(), "{r:?}");
    let retry = r.body["retry_after"].as_f64().expect("retry_after");
    assert!(retry > 0.0 && retry <= 5.0, "retry_after {retry}");
    assert_eq!(r.body["global"], false);
    let retry_header: f64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!(retry_header >= retry.floor() && retry_header >= 1.0);
    assert!(r.header("via").is_some(), "429 without Via: {r:?}");
    assert!(r.header("x-ratelimit-global").is_none());
    assert_eq!(r.header("x-ratelimit-scope").as_deref(), Some("user"));
    assert_eq!(r.header("x-ratelimit-remaining").as_deref(), Some("0"));
    assert_eq!(r.header("x-ratelimit-bucket"), bucket);

    // Only five were stored.
    let hist = alice.get(&path).await;
    assert_eq!(hist.status, 200);
    assert_eq!(ids(&hist.body).len(), 5);
    // Other channels (major parameter) and other users have their own buckets.
    let r = alice
        .post(
            &format!("/channels/{other}/messages"),
            json!({"content": "elsewhere"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = bob.post(&path, json!({"content": "bob's turn"})).await;
    assert_eq!(r.status, 200, "{r:?}");
    // Reads are not in the message-create bucket.
    assert_eq!(alice.get(&path).await.status, 200);

    // After retry_after, one more fits.
    tokio::time::sleep(std::time::Duration::from_secs_f64(retry + 0.05)).await;
    let r = alice.post(&path, json!({"content": "patience"})).await;
    assert_eq!(r.status, 200, "{r:?}");
}

#[tokio::test]
async fn small_explicit_route_bucket() {
    let srv = TestServer::start_with(|c| {
        defaults(c);
        c.rate_limits.default_route = hearth::config::Bucket {
            limit: 3,
            per_seconds: 60.0,
        };
    })
    .await;
    let (_, alice) = srv.user("alice").await;
    for i in 0..3u32 {
        let r = alice.get("/users/@me").await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.header("x-ratelimit-limit").as_deref(), Some("3"));
        assert_eq!(
            r.header("x-ratelimit-remaining").unwrap(),
            (2 - i).to_string()
        );
    }
    let r = alice.get("/users/@me").await;
    assert_eq!(r.status, 429, "{r:?}");
    assert_eq!(r.body["global"], false);
    let retry = r.body["retry_after"].as_f64().unwrap();
    assert!(retry > 1.0 && retry <= 20.0, "one token per 20 s: {retry}");
    // The bucket is per route: another route still answers.
    let r = alice.get("/users/@me/guilds").await;
    assert_eq!(r.status, 200, "{r:?}");
}

#[tokio::test]
async fn global_limit_is_flagged_global() {
    let srv = TestServer::start_with(|c| {
        defaults(c);
        c.rate_limits.global_per_second = 5;
    })
    .await;
    let (_, alice) = srv.user("alice").await;
    let (_, bob) = srv.user("bob").await;
    // Twenty at once: at most a burst of five pass.
    let all = futures_util::future::join_all((0..20).map(|_| alice.get("/users/@me"))).await;
    let ok = all.iter().filter(|r| r.status == 200).count();
    let limited: Vec<&Resp> = all.iter().filter(|r| r.status == 429).collect();
    assert_eq!(ok + limited.len(), 20, "only 200 or 429 expected");
    assert!((1..=6).contains(&ok), "{ok} passed a global limit of 5/s");
    let r = limited[0];
    assert_eq!(r.body["global"], true, "{r:?}");
    assert!(r.body["message"].is_string());
    assert!(r.body["retry_after"].as_f64().unwrap() > 0.0);
    assert_eq!(
        r.header("x-ratelimit-global").as_deref(),
        Some("true"),
        "{r:?}"
    );
    assert_eq!(r.header("x-ratelimit-scope").as_deref(), Some("global"));
    assert!(r.header("retry-after").is_some());
    assert!(r.header("via").is_some());
    // The global limit is per user: bob is unaffected.
    let r = bob.get("/users/@me").await;
    assert_eq!(r.status, 200, "{r:?}");
}

#[tokio::test]
async fn via_header_on_every_response() {
    let srv = TestServer::start_with(|c| {
        defaults(c);
        c.limits.max_body_bytes = 1024;
    })
    .await;
    let (_, alice) = srv.user("alice").await;
    let root = format!("http://{}", srv.addr);
    let responses = vec![
        alice.get("/users/@me").await,                          // 200
        alice.post("/auth/logout", json!({})).await,            // 204
        alice.get("/users/@me").await,                          // 401 (logged out)
        srv.anon().post("/guilds", json!({"name": "x"})).await, // 401
        srv.anon().get("/nope").await,                          // 404 route
        srv.anon().delete("/users/@me").await,                  // 405
        srv.anon()
            .raw(
                reqwest::Method::POST,
                "/auth/login",
                Some(b"{".to_vec()),
                &[],
            )
            .await, // 400
        srv.anon()
            .raw(
                reqwest::Method::POST,
                "/auth/login",
                Some(vec![b' '; 4096]),
                &[],
            )
            .await, // 413
        srv.anon().get(&format!("{root}/health")).await,        // 200 outside /api
        srv.anon().get(&format!("{root}/_hearth/nope")).await,  // 404 outside /api
    ];
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        vec![200, 204, 401, 401, 404, 405, 400, 413, 200, 404]
    );
    for r in responses {
        assert_eq!(r.header("via").as_deref(), Some("1.1 hearth"), "{r:?}");
    }
}
