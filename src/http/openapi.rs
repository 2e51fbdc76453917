//! The OpenAPI 3.1 document of the client API (issue 19), generated from the code with
//! `utoipa`: every handler under `/api/v10` carries a `#[utoipa::path]` annotation (method,
//! path, tag, path parameters, request body, responses), each feature collects its own in a
//! `#[derive(utoipa::OpenApi)]` struct, and the composition root merges them
//! ([`crate::app::App::openapi`]) under the `/api/v10` prefix. [`routes`] serves the document
//! at `GET /api/openapi.json` and a browsable page at `GET /api/docs` (no login).
//!
//! Bodies are the Discord wire types of `crates/wire`, which derive `utoipa::ToSchema`: the
//! document's schemas are the exact shapes the server writes (the objects of
//! [`hearth_wire::EXACT_SCHEMAS`] are `additionalProperties: false`, [`exact_schemas`];
//! snowflakes are decimal strings;
//! Discord's integer enums are integers). The few answers built as free-form JSON use the
//! permissive schemas of this module ([`JsonObject`], [`JsonArray`], [`JsonValue`]) with their
//! shape in the operation's description; every error is [`ApiError`]. The document
//! is checked against a running server by `scripts/schemathesis.sh` (CI).

use std::borrow::Cow;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    AdditionalProperties, Array, ArrayItems, Object, ObjectBuilder, Schema, SchemaType, Type,
};
use utoipa::{PartialSchema, ToSchema};

/// Any JSON object (`{"type": "object"}`, any properties): the response or request body
/// whose exact shape is the Discord wire type named in the operation's description.
pub struct JsonObject;

impl PartialSchema for JsonObject {
    fn schema() -> RefOr<Schema> {
        Object::builder()
            .schema_type(Type::Object)
            .additional_properties(Some(AdditionalProperties::FreeForm(true)))
            .description(Some(
                "A JSON object; its fields are those of the Discord wire type named in the \
                 operation (crates/wire)",
            ))
            .into()
    }
}
impl ToSchema for JsonObject {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("JsonObject")
    }
}

/// A JSON array of objects (`[JsonObject]`): a list of the wire type named in the operation.
pub struct JsonArray;

impl PartialSchema for JsonArray {
    fn schema() -> RefOr<Schema> {
        Array::builder()
            .items(ArrayItems::RefOrSchema(Box::new(JsonObject::schema())))
            .description(Some(
                "A JSON array of objects of the wire type named in the operation",
            ))
            .into()
    }
}
impl ToSchema for JsonArray {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("JsonArray")
    }
}

/// Any JSON value (no constraint): answers whose shape is documented only in prose.
pub struct JsonValue;

impl PartialSchema for JsonValue {
    fn schema() -> RefOr<Schema> {
        Object::builder()
            .schema_type(SchemaType::AnyValue)
            .description(Some(
                "Any JSON value; the operation's description gives its shape",
            ))
            .into()
    }
}
impl ToSchema for JsonValue {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("JsonValue")
    }
}

/// The `multipart/form-data` form of a message create or edit (Discord "Reference >
/// Uploading Files"): `payload_json` holds the JSON body as text, `files[n]` parts the files
/// (`n` from 0; up to the configured count, each up to the configured size).
pub struct MessageMultipart;

impl PartialSchema for MessageMultipart {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property(
                "payload_json",
                Object::builder()
                    .schema_type(Type::String)
                    .content_media_type("application/json")
                    .description(Some(
                        "The JSON body (CreateMessageBody or EditMessageBody) as text",
                    )),
            )
            .property(
                "files[0]",
                Object::builder()
                    .schema_type(Type::String)
                    .content_media_type("application/octet-stream")
                    .description(Some("A file; further files are `files[1]`, `files[2]` ...")),
            )
            .additional_properties(Some(AdditionalProperties::FreeForm(true)))
            .description(Some("A message with files"))
            .into()
    }
}
impl ToSchema for MessageMultipart {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("MessageMultipart")
    }
}

/// Discord's error body (`{code, message, errors?}`, [`crate::error::Error::body`]); 429s
/// add `retry_after` (seconds) and `global`, 401 60003 adds `mfa`.
pub struct ApiError;

impl PartialSchema for ApiError {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property(
                "code",
                Object::builder()
                    .schema_type(Type::Integer)
                    .description(Some("Discord's JSON error code (0 for a generic error)")),
            )
            .property(
                "message",
                Object::builder()
                    .schema_type(Type::String)
                    .description(Some("A human-readable sentence")),
            )
            .property(
                "errors",
                Object::builder()
                    .schema_type(Type::Object)
                    .description(Some(
                        "Per-field errors of `Invalid Form Body` (50035): nested by field \
                         path, leaves `{_errors: [{code, message}]}`",
                    )),
            )
            .required("message")
            .additional_properties(Some(AdditionalProperties::FreeForm(true)))
            .description(Some("A Discord-format error"))
            .into()
    }
}
impl ToSchema for ApiError {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ApiError")
    }
}

/// The browsable page: a same-origin script renders the document (the CSP of the web client,
/// no inline script, no third-party origin).
const DOCS_HTML: &str = include_str!("openapi_docs.html");
const DOCS_JS: &str = include_str!("openapi_docs.js");
const DOCS_CSS: &str = include_str!("openapi_docs.css");
const DOCS_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     frame-ancestors 'none'; form-action 'none'";

/// Marks the component schemas named in `names` (the objects the server writes with exactly
/// their fields, [`hearth_wire::EXACT_SCHEMAS`]) `additionalProperties: false`; the wire
/// types themselves ignore unknown fields when parsed.
pub fn exact_schemas(doc: &mut utoipa::openapi::OpenApi, names: &[&str]) {
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    for name in names {
        if let Some(RefOr::T(Schema::Object(o))) = components.schemas.get_mut(*name) {
            o.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
        }
    }
}

/// `GET /api/openapi.json` (the document, `application/json`), `GET /api/docs` (the page),
/// `GET /api/docs.js` and `GET /api/docs.css` (its script and style). No authentication.
pub fn routes<S: Clone + Send + Sync + 'static>(document: Arc<str>) -> Router<S> {
    Router::new()
        .route(
            "/api/openapi.json",
            get(move || {
                let d = document.clone();
                async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("application/json"),
                        )],
                        d.to_string(),
                    )
                }
            }),
        )
        .route(
            "/api/docs",
            get(|| async { page(DOCS_HTML, "text/html; charset=utf-8") }),
        )
        .route(
            "/api/docs.js",
            get(|| async { page(DOCS_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/api/docs.css",
            get(|| async { page(DOCS_CSS, "text/css; charset=utf-8") }),
        )
}

fn page(body: &'static str, content_type: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(DOCS_CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}
