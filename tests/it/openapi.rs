//! The OpenAPI document of the client API (issue 19, src/http/openapi.rs): served without
//! login at `GET /api/openapi.json` as OpenAPI 3.1, listing every route of the client route
//! tables (read from the source, so a route added without a `#[utoipa::path]` annotation
//! fails here), every listed operation answered by the router (no route-level 404/405), and
//! the browsable page at `/api/docs` under a CSP without inline script.

use std::collections::BTreeSet;
use std::path::PathBuf;

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::*;

/// The `(route-table function, file)` pairs whose routes are mounted under `/api/v10`
/// (src/app.rs `router`: the API table with its absent-feature and thread routes, gateway
/// discovery, MLS and registrar discovery).
const TABLES: &[(&str, &str)] = &[
    ("pub fn routes()", "src/api/mod.rs"),
    ("pub(super) fn routes()", "src/api/absent.rs"),
    ("pub(super) fn routes()", "src/api/threads.rs"),
    ("pub(super) fn routes()", "src/api/voice.rs"),
    ("pub(super) fn routes()", "src/api/scheduled_events.rs"),
    ("pub(super) fn routes()", "src/api/stage_instances.rs"),
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

/// The schema of the `status` answer of `method path_template` in `doc`, as a standalone
/// JSON Schema (2020-12, which OpenAPI 3.1 uses) carrying the document's components so that
/// `#/components/schemas/...` references resolve.
fn answer_schema(doc: &Value, method: &str, template: &str, status: u16) -> Value {
    let op = &doc["paths"][format!("/api/v10{template}")][method];
    assert!(op.is_object(), "{method} {template} is not documented");
    let schema = &op["responses"][status.to_string()]["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{method} {template} documents no JSON {status} answer: {op}"
    );
    let mut root = schema.clone();
    root["components"] = doc["components"].clone();
    root["$schema"] = "https://json-schema.org/draft/2020-12/schema".into();
    root
}

/// The component a schema names: `X` of `{"$ref": "#/components/schemas/X"}` or of an array
/// of them; `None` for an inline schema.
fn named(schema: &Value) -> Option<String> {
    let r = schema["$ref"]
        .as_str()
        .or_else(|| schema["items"]["$ref"].as_str())?;
    Some(r.rsplit('/').next().unwrap().to_string())
}

/// Asserts that `r` answered `status` with a body valid against the document's schema of
/// that answer; returns the component it was checked against.
fn conforms(doc: &Value, method: &str, template: &str, status: u16, r: &Resp) -> String {
    assert_eq!(r.status, status, "{method} {template}: {r:?}");
    let schema = answer_schema(doc, method, template, status);
    let validator = jsonschema::draft202012::new(&schema)
        .unwrap_or_else(|e| panic!("{method} {template}: the schema does not compile: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(&r.body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {template}: the answer does not match the document: {errors:#?}\n{}",
        r.body
    );
    named(&schema).unwrap_or_else(|| panic!("{method} {template}: inline schema {schema}"))
}

/// Real answers of the main objects, filled in (a reply with a reaction, a file and a pin, a
/// member with a role, a ban, a webhook, an application with a command), validated against
/// the exact schemas of the served document: the same check schemathesis makes in CI, here
/// on objects a fuzzer's random ids would not reach. Also shows that a response differing
/// from the document fails (the schemas are not permissive).
#[tokio::test]
async fn real_answers_match_the_exact_schemas_of_the_document() {
    use crate::attachments::{form, upload};
    let server = TestServer::start().await;
    let doc: Value = server
        .anon()
        .get(&format!("http://{}/api/openapi.json", server.addr))
        .await
        .body;
    let (_, owner) = server.user("owner").await;
    let (member_id, member) = server.user("member").await;
    let (outcast_id, outcast) = server.user("outcast").await;
    let mut checked = BTreeSet::new();
    let mut check = |method: &str, template: &str, status: u16, r: &Resp| {
        checked.insert(conforms(&doc, method, template, status, r));
    };

    let created = owner.post("/guilds", json!({"name": "Schemas"})).await;
    check("post", "/guilds", 201, &created);
    let g = s(&created.body["id"]);
    let channels = owner.get(&format!("/guilds/{g}/channels")).await;
    check("get", "/guilds/{guild_id}/channels", 200, &channels);
    let c = s(&channels.body[0]["id"]);
    let invite = owner
        .post(&format!("/channels/{c}/invites"), json!({"max_age": 0}))
        .await;
    check("post", "/channels/{channel_id}/invites", 200, &invite);
    let code = s(&invite.body["code"]);
    join(&member, &code).await;
    join(&outcast, &code).await;
    let role = owner
        .post(
            &format!("/guilds/{g}/roles"),
            json!({"name": "mods", "color": 0x3498db, "hoist": true}),
        )
        .await;
    check("post", "/guilds/{guild_id}/roles", 200, &role);
    let role = s(&role.body["id"]);
    give_role(&owner, &g, &member_id, &role).await;
    let ban = owner
        .put(
            &format!("/guilds/{g}/bans/{outcast_id}"),
            json!({"delete_message_seconds": 0}),
        )
        .await;
    assert_eq!(ban.status, 204, "{ban:?}");

    let first = say(&member, &c, "hello <@{member_id}>").await;
    let reply = owner
        .post(
            &format!("/channels/{c}/messages"),
            json!({"content": "a reply", "message_reference": {"message_id": first}, "nonce": "n1"}),
        )
        .await;
    check("post", "/channels/{channel_id}/messages", 200, &reply);
    let reply = s(&reply.body["id"]);
    let r = owner
        .put_empty(&format!(
            "/channels/{c}/messages/{reply}/reactions/%F0%9F%91%8D/@me"
        ))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let r = owner
        .put_empty(&format!("/channels/{c}/pins/{first}"))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let file = upload(
        &member,
        &c,
        form(
            Some(json!({"content": "a file"})),
            &[("notes.txt", b"some notes")],
        ),
    )
    .await;
    check("post", "/channels/{channel_id}/messages", 200, &file);
    let edited = member
        .patch(
            &format!("/channels/{c}/messages/{first}"),
            json!({"content": "hello, edited"}),
        )
        .await;
    check(
        "patch",
        "/channels/{channel_id}/messages/{message_id}",
        200,
        &edited,
    );

    let hook = owner
        .post(&format!("/channels/{c}/webhooks"), json!({"name": "Hook"}))
        .await;
    check("post", "/channels/{channel_id}/webhooks", 200, &hook);
    let hook_id = s(&hook.body["id"]);
    let app = owner
        .post("/applications", json!({"name": "Schema bot"}))
        .await;
    check("post", "/applications", 201, &app);
    let app_id = s(&app.body["id"]);
    let command = owner
        .post(
            &format!("/applications/{app_id}/commands"),
            json!({
                "name": "roll",
                "description": "Rolls dice",
                "options": [
                    {"type": 4, "name": "sides", "description": "Sides", "min_value": 2, "max_value": 100},
                    {"type": 3, "name": "colour", "description": "Colour",
                     "choices": [{"name": "Red", "value": "red"}]},
                ],
            }),
        )
        .await;
    check("post", "/applications/{app_id}/commands", 201, &command);

    for (template, path) in [
        ("/users/@me", "/users/@me".to_string()),
        ("/users/@me/guilds", "/users/@me/guilds".into()),
        ("/auth/sessions", "/auth/sessions".into()),
        ("/guilds/{guild_id}", format!("/guilds/{g}")),
        (
            "/guilds/{guild_id}/members",
            format!("/guilds/{g}/members?limit=10"),
        ),
        (
            "/guilds/{guild_id}/members/{user_id}",
            format!("/guilds/{g}/members/{member_id}"),
        ),
        ("/guilds/{guild_id}/roles", format!("/guilds/{g}/roles")),
        (
            "/guilds/{guild_id}/roles/{role_id}",
            format!("/guilds/{g}/roles/{role}"),
        ),
        ("/guilds/{guild_id}/invites", format!("/guilds/{g}/invites")),
        ("/guilds/{guild_id}/bans", format!("/guilds/{g}/bans")),
        (
            "/guilds/{guild_id}/audit-logs",
            format!("/guilds/{g}/audit-logs"),
        ),
        (
            "/guilds/{guild_id}/webhooks",
            format!("/guilds/{g}/webhooks"),
        ),
        ("/channels/{channel_id}", format!("/channels/{c}")),
        (
            "/channels/{channel_id}/messages",
            format!("/channels/{c}/messages?limit=10"),
        ),
        (
            "/channels/{channel_id}/messages/{message_id}",
            format!("/channels/{c}/messages/{reply}"),
        ),
        ("/channels/{channel_id}/pins", format!("/channels/{c}/pins")),
        (
            "/guilds/{guild_id}/messages/search",
            format!("/guilds/{g}/messages/search?content=hello&has=-link"),
        ),
        (
            "/channels/{channel_id}/messages/search",
            format!("/channels/{c}/messages/search?author_id={member_id}"),
        ),
        (
            "/invites/{code}",
            format!("/invites/{code}?with_counts=true"),
        ),
        ("/webhooks/{webhook_id}", format!("/webhooks/{hook_id}")),
        ("/applications", "/applications".into()),
        (
            "/applications/{app_id}/commands",
            format!("/applications/{app_id}/commands"),
        ),
    ] {
        check("get", template, 200, &owner.get(&path).await);
    }

    // The objects that matter all had an exact schema.
    for name in [
        "Guild",
        "Channel",
        "Invite",
        "Role",
        "Message",
        "Webhook",
        "Application",
        "ApplicationCommand",
        "User",
        "PartialGuild",
        "AuthSession",
        "Member",
        "Ban",
        "AuditLog",
        "MessageSearchResult",
    ] {
        assert!(
            checked.contains(name),
            "{name} was not checked: {checked:?}"
        );
    }
    // And an exact schema refuses an answer that differs from it.
    let mut wrong = owner.get(&format!("/channels/{c}")).await;
    wrong.body["surprise"] = json!(true);
    let schema = answer_schema(&doc, "get", "/channels/{channel_id}", 200);
    assert!(!jsonschema::draft202012::is_valid(&schema, &wrong.body));
    wrong.body.as_object_mut().unwrap().remove("surprise");
    wrong.body["id"] = json!(12);
    assert!(!jsonschema::draft202012::is_valid(&schema, &wrong.body));
}
