//! The OpenAPI document of the client API (issue 19, src/http/openapi.rs): served without
//! login at `GET /api/openapi.json` as OpenAPI 3.1, listing every route of the client route
//! tables (read from the source, so a route added without a `#[utoipa::path]` annotation
//! fails here), every listed operation answered by the router (no route-level 404/405), and
//! the browsable page at `/api/docs` under a CSP without inline script.

use std::collections::BTreeSet;
use std::path::PathBuf;

use reqwest::Method;
use serde_json::Value;

use crate::harness::*;

/// The `(route-table function, file)` pairs whose routes are mounted under `/api/v10`
/// (src/app.rs `router`: the API table with its absent-feature routes, gateway discovery,
/// MLS and registrar discovery).
const TABLES: &[(&str, &str)] = &[
    ("pub fn routes()", "src/api/mod.rs"),
    ("pub(super) fn routes()", "src/api/absent.rs"),
    ("pub fn api_routes()", "src/gateway/mod.rs"),
    ("pub fn client_routes()", "src/mls/mod.rs"),
    ("pub fn client_routes()", "src/registrar/routes.rs"),
];

/// The body of the function starting at `start` (from its first `{` to the matching `}`).
fn fn_body<'a>(text: &'a str, start: &str) -> &'a str {
    let at = text.find(start).unwrap_or_else(|| panic!("no `{start}`"));
    let open = at + text[at..].find('{').unwrap();
    let mut depth = 0;
    for (i, c) in text[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return &text[open..open + i];
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced `{start}`")
}

/// `(METHOD, path)` of every `.route("path", get(h).post(h)...)` in a route table.
fn table_routes(body: &str) -> Vec<(String, String)> {
    let mut out = vec![];
    for (at, _) in body.match_indices(".route(") {
        let args = &body[at + ".route(".len()..];
        // The argument list up to the matching parenthesis.
        let mut depth = 1;
        let mut end = 0;
        for (i, c) in args.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                end = i;
                break;
            }
        }
        let args = &args[..end];
        let path = args.split('"').nth(1).expect("a route path literal");
        let chain = &args[args.find(',').unwrap()..];
        for method in ["get", "post", "put", "patch", "delete"] {
            for (i, _) in chain.match_indices(&format!("{method}(")) {
                let before = chain[..i].chars().last().unwrap_or(' ');
                if before == '.' || before.is_whitespace() || before == ',' {
                    out.push((method.to_uppercase(), path.to_string()));
                }
            }
        }
    }
    out
}

/// Every `(METHOD, /api/v10 path)` the router serves under the client prefix.
fn served_routes() -> BTreeSet<(String, String)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut out = BTreeSet::new();
    for (start, file) in TABLES {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        for (m, p) in table_routes(fn_body(&text, start)) {
            out.insert((m, format!("/api/v10{p}")));
        }
    }
    out
}

/// Every `(METHOD, path)` operation of the document.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, _) in item.as_object().unwrap() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

#[test]
fn document_lists_every_client_route() {
    let served = served_routes();
    // The parser found the tables (a broken parser must not pass vacuously).
    assert!(served.len() > 150, "only {} routes parsed", served.len());
    assert!(served.contains(&("GET".into(), "/api/v10/users/@me".into())));
    let doc = serde_json::to_value(hearth::App::openapi()).unwrap();
    let listed = documented(&doc);
    let missing: Vec<_> = served.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "routes without a #[utoipa::path] annotation: {missing:?}"
    );
    let extra: Vec<_> = listed.difference(&served).collect();
    assert!(extra.is_empty(), "documented but not routed: {extra:?}");
    for schema in ["ApiError", "JsonArray", "JsonObject", "JsonValue"] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
    // Every path parameter is declared (fuzzers need them), every operation documents
    // Discord's error shape, and operation ids are unique.
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let declared: BTreeSet<String> = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "path")
                        .map(|p| p["name"].as_str().unwrap().to_string())
                        .collect()
                })
                .unwrap_or_default();
            let in_path: BTreeSet<String> = path
                .split('{')
                .skip(1)
                .map(|s| s.split('}').next().unwrap().to_string())
                .collect();
            assert_eq!(declared, in_path, "{method} {path}");
            assert_eq!(
                op["responses"]["4XX"]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ApiError",
                "{method} {path}"
            );
            let id = op["operationId"].as_str().unwrap().to_string();
            assert!(ids.insert(id.clone()), "duplicate operationId {id}");
        }
    }
}

#[tokio::test]
async fn document_is_served_without_login_as_openapi_3_1() {
    let server = TestServer::start().await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let r = http
        .get(format!("http://{}/api/openapi.json", server.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    let text = r.text().await.unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "Hearth client API");
    // The OpenAPI object's required parts (schemathesis, in CI, validates the whole
    // document against the specification's schema before fuzzing).
    assert!(doc["info"]["version"].is_string());
    assert!(documented_paths(&doc) > 100);
    for (path, item) in doc["paths"].as_object().unwrap() {
        assert!(path.starts_with("/api/v10/"), "{path}");
        for (method, op) in item.as_object().unwrap() {
            assert!(op["responses"].is_object(), "{method} {path}");
            assert!(op["operationId"].is_string(), "{method} {path}");
        }
    }
    let refs: Vec<&str> = text
        .match_indices("\"#/components/schemas/")
        .map(|(i, _)| text[i + 22..].split('"').next().unwrap())
        .collect();
    for r in refs {
        assert!(
            doc["components"]["schemas"][r].is_object(),
            "dangling $ref {r}"
        );
    }
    assert_eq!(doc, serde_json::to_value(hearth::App::openapi()).unwrap());

    // Every documented operation reaches a handler: with ids of nothing, an anonymous call
    // gets the handler's answer (401, 400, 404 Unknown ..., 2xx), never the router's
    // "404: Not Found" / "405: Method Not Allowed" (code 0).
    let anon = server.anon();
    for (method, path) in documented(&doc) {
        let concrete = path
            .strip_prefix("/api/v10")
            .unwrap()
            .split('/')
            .map(|seg| if seg.starts_with('{') { "1" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        let body = (m != Method::GET && m != Method::DELETE).then(|| serde_json::json!({}));
        let r = anon.send(m, &concrete, body).await;
        let router_answer = ["404: Not Found", "405: Method Not Allowed"]
            .contains(&r.body["message"].as_str().unwrap_or(""));
        assert!(!router_answer, "{method} {path}: {} {}", r.status, r.body);
        assert!(r.status < 500, "{method} {path}: {} {}", r.status, r.body);
    }
}

fn documented_paths(doc: &Value) -> usize {
    doc["paths"].as_object().unwrap().len()
}

#[tokio::test]
async fn browsable_page_loads_only_same_origin_code() {
    let server = TestServer::start().await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let base = format!("http://{}", server.addr);
    let r = http.get(format!("{base}/api/docs")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let page = r.text().await.unwrap();
    assert!(page.contains("src=\"/api/docs.js\""), "{page}");
    assert!(!page.contains("<script>"), "no inline script: {page}");
    assert!(!page.contains("http"), "no other origin: {page}");
    for (path, ct) in [
        ("/api/docs.js", "text/javascript; charset=utf-8"),
        ("/api/docs.css", "text/css; charset=utf-8"),
    ] {
        let r = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["content-type"], ct, "{path}");
        let body = r.text().await.unwrap();
        assert!(
            body.contains("/api/openapi.json") || path.ends_with(".css"),
            "{path}"
        );
    }
}
