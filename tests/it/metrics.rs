//! Prometheus metrics (issue 19, README "Metrics and health"): `GET /metrics` on the
//! `metrics.listen` listener only, scraped and parsed as Prometheus would: request counts and
//! latency histograms by route pattern (never by raw path), gateway sessions, the database
//! pool.

use std::collections::BTreeMap;

use crate::gateway::Gw;
use crate::harness::*;

/// Every sample line of an exposition text: `name{labels}` → value.
fn parse(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (key, value) = l
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("bad line {l:?}"));
            let v: f64 = value
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {l:?}"));
            (key.to_string(), v)
        })
        .collect()
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_show_sessions_and_the_pool() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let ts = TestServer::start_with(|c| c.metrics.listen = Some(listen)).await;
    let (_, token) = ts.register("alice").await;
    let alice = ts.client(&token);
    let guild = create_guild(&alice, "counted").await;
    for i in 0..3 {
        say(&alice, &guild.general, &format!("message {i}")).await;
    }
    let _gw = Gw::identify(&ts, &token, 1).await;

    let http = hearth_testkit::rest::http_client();
    let res = http
        .get(format!("http://{listen}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"),
        "{:?}",
        res.headers()
    );
    let text = res.text().await.unwrap();
    let m = parse(&text);
    let route = format!(
        "{}/channels/{{channel_id}}/messages",
        ts.base.trim_start_matches(&format!("http://{}", ts.addr))
    );
    let sends =
        format!("hearth_http_requests_total{{method=\"POST\",route=\"{route}\",status=\"200\"}}");
    assert_eq!(m.get(&sends), Some(&3.0), "{sends} in\n{text}");
    let count =
        format!("hearth_http_request_duration_seconds_count{{method=\"POST\",route=\"{route}\"}}");
    assert_eq!(m.get(&count), Some(&3.0), "{count} in\n{text}");
    let inf = format!(
        "hearth_http_request_duration_seconds_bucket{{le=\"+Inf\",method=\"POST\",route=\"{route}\"}}"
    );
    assert_eq!(m.get(&inf), Some(&3.0), "{inf} in\n{text}");
    // Labels carry route patterns, never ids.
    assert!(
        !text.contains(&guild.general),
        "a raw id in a label:\n{text}"
    );
    assert_eq!(
        m.get("hearth_gateway_sessions{state=\"connected\"}"),
        Some(&1.0),
        "{text}"
    );
    assert_eq!(m.get("hearth_db_max_connections"), Some(&4.0), "{text}");
    assert!(
        m.get("hearth_db_connections{state=\"open\"}")
            .is_some_and(|v| *v >= 1.0),
        "{text}"
    );
    // Not on the client listener (where `/metrics` is just a path of the web client).
    let r = http
        .get(format!("http://{}/metrics", ts.addr))
        .send()
        .await
        .unwrap();
    let body = r.text().await.unwrap();
    assert!(!body.contains("hearth_http_requests_total"), "{body}");
}

/// `GET /ready` names the part that cannot serve: here the local file store, whose folder a
/// disk fault replaced with a file; 200 again once the folder is back.
#[tokio::test]
async fn ready_names_the_file_store_when_it_cannot_answer() {
    let ts = TestServer::start_blobs(Blobs::Local, |_| {}).await;
    let http = hearth_testkit::rest::http_client();
    let ready = format!("http://{}/ready", ts.addr);
    let r = http.get(&ready).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["status"],
        "ready"
    );

    let media = ts.data_dir.join("media");
    let _ = std::fs::remove_dir_all(&media);
    // On PostgreSQL nothing else made the data folder yet.
    std::fs::create_dir_all(&ts.data_dir).unwrap();
    std::fs::write(&media, b"not a folder").unwrap();
    let r = http.get(&ready).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["status"], "not ready", "{body}");
    let failing = body["failing"].as_array().unwrap();
    assert_eq!(failing.len(), 1, "{body}");
    assert!(
        failing[0].as_str().unwrap().starts_with("file store: "),
        "{body}"
    );

    std::fs::remove_file(&media).unwrap();
    std::fs::create_dir_all(&media).unwrap();
    assert_eq!(http.get(&ready).send().await.unwrap().status(), 200);
}

/// A scrape of `ts`'s `/metrics`, parsed.
pub(crate) async fn scrape(ts: &TestServer) -> BTreeMap<String, f64> {
    let addr = ts.metrics_addr.expect("metrics.listen set");
    let text = hearth_testkit::rest::http_client()
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    parse(&text)
}

/// Gateway traffic, background job runs and blob store operations are counted.
#[tokio::test]
async fn metrics_count_dispatches_deliveries_job_runs_and_blob_writes() {
    let ts = TestServer::start_with(|c| {
        c.metrics.listen = Some("127.0.0.1:0".parse().unwrap());
        c.media.collect_interval_seconds = 1;
    })
    .await;
    let (_, alice_tok) = ts.register("alice").await;
    let (_, bob_tok) = ts.register("bob").await;
    let alice = ts.client(&alice_tok);
    let guild = create_guild(&alice, "counted").await;
    join(&ts.client(&bob_tok), &guild.invite).await;
    const GUILDS_AND_MESSAGES: u64 = 1 | (1 << 9);
    let mut a = Gw::identify(&ts, &alice_tok, GUILDS_AND_MESSAGES).await;
    let mut b = Gw::identify(&ts, &bob_tok, GUILDS_AND_MESSAGES).await;
    let before = scrape(&ts).await;
    // A series that is not exported fails the test (not read as 0).
    let at = |m: &BTreeMap<String, f64>, k: &str| {
        m.get(k)
            .copied()
            .unwrap_or_else(|| panic!("{k} not exported: {m:?}"))
    };
    for i in 0..3 {
        say(&alice, &guild.general, &format!("counted {i}")).await;
    }
    for _ in 0..3 {
        a.expect("MESSAGE_CREATE").await;
        b.expect("MESSAGE_CREATE").await;
    }
    let after = scrape(&ts).await;
    assert!(
        at(&after, "hearth_gateway_dispatches_total")
            - at(&before, "hearth_gateway_dispatches_total")
            >= 3.0,
        "{after:?}"
    );
    // Each message went to both sessions.
    assert!(
        at(&after, "hearth_gateway_deliveries_total")
            - at(&before, "hearth_gateway_deliveries_total")
            >= 6.0,
        "{after:?}"
    );
    assert_eq!(at(&after, "hearth_gateway_bus_lagged_total"), 0.0);
    assert_eq!(at(&after, "hearth_federation_outbox_entries"), 0.0);

    // An avatar is one blob write of its bytes.
    let image = crate::images::png(16, 16, 7);
    let r = alice
        .patch(
            "/users/@me",
            serde_json::json!({"avatar": crate::images::uri("image/png", &image)}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let m = scrape(&ts).await;
    assert!(
        at(&m, "hearth_blob_operations_total{op=\"put\",result=\"ok\"}") >= 1.0,
        "{m:?}"
    );
    assert!(at(&m, "hearth_blob_written_bytes_total") >= 1.0, "{m:?}");

    // The file collector passes every second here.
    eventually("a collector pass is counted", async || {
        scrape(&ts)
            .await
            .get("hearth_job_runs_total{job=\"media_collector\",result=\"ok\"}")
            .is_some_and(|v| *v >= 1.0)
    })
    .await;
}
