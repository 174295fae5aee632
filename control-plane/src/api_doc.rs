//! The published API document (`GET /api/openapi.json`), generated from the JSON handlers'
//! `#[utoipa::path]` attributes and the types they take and return, so a field cannot change
//! without the document changing with it.
//!
//! Each feature lists its operations in its own `Doc`; [`ApiDoc`] merges them. A handler names
//! its roles in an `x-roles` extension written with the guard type it takes
//! ([`crate::auth::roles`]); [`Guards`] turns that into the operation's security requirements
//! (the roles as scopes, as OpenAPI 3.1 allows for non-OAuth schemes) and its 401/403 answers.
//! An operation without `x-roles` is public. `tests/attack_roles.rs` checks every operation
//! with no session and with each role against what the document says, and that every route
//! the router serves is documented or a listed page.

use crate::app::AppState;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{Content, OpenApi as Document, Ref, RefOr};
use utoipa::{Modify, OpenApi, ToSchema};

/// The document's route.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/openapi.json", get(openapi))
}

/// The published API document, made once from the handlers.
static OPENAPI: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    document()
        .to_json()
        .unwrap_or_else(|e| format!("{{\"error\":\"the API document did not serialise: {e}\"}}"))
});

#[utoipa::path(
    get,
    path = "/api/openapi.json",
    summary = "This document",
    responses(
        (status = 200, description = "This document", body = Object),
    ),
)]
async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        OPENAPI.as_str(),
    )
        .into_response()
}

/// The whole document: every feature's operations, with their guards applied.
pub fn document() -> Document {
    let mut doc = ApiDoc::openapi();
    for part in [
        crate::login::Doc::openapi(),
        crate::users::Doc::openapi(),
        crate::routers::Doc::openapi(),
        crate::packages::Doc::openapi(),
        crate::shifts::Doc::openapi(),
        crate::tokens::Doc::openapi(),
        crate::system::Doc::openapi(),
        crate::alerts::Doc::openapi(),
        crate::enrollment::Doc::openapi(),
        crate::reports::Doc::openapi(),
        crate::releases::Doc::openapi(),
        crate::notify::Doc::openapi(),
        crate::aftersales::Doc::openapi(),
        crate::batch::Doc::openapi(),
    ] {
        doc.merge(part);
    }
    Guards.modify(&mut doc);
    doc
}

/// The document's frame: title, how to authenticate, the shared error answers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "mtm control plane API",
        description = "JSON API of mtm-server. Authenticate with POST /api/auth/login and send \
            the token as `Authorization: Bearer`. With the browser cookie instead, unsafe \
            requests also need the `x-csrf-token` header. `x-roles` lists the roles allowed on \
            each operation (also the scopes of its security requirements); every other role \
            gets 403."
    ),
    paths(openapi),
    components(schemas(ErrorBody))
)]
pub struct ApiDoc;

/// What every refusal carries.
#[derive(Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    /// The reason, in a sentence.
    pub error: String,
}

/// The roles of an operation from its `x-roles`: `None` when public.
fn roles_of(op: &Operation) -> Option<Vec<String>> {
    let roles = op.extensions.as_ref()?.get("x-roles")?.as_array()?;
    Some(
        roles
            .iter()
            .filter_map(|r| r.as_str().map(str::to_owned))
            .collect(),
    )
}

/// Applies each operation's `x-roles`: security requirements and the refusals they bring.
pub struct Guards;

impl Modify for Guards {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        let schemes = [
            (
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWT")
                        .build(),
                ),
            ),
            (
                "cookie",
                SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::auth::COOKIE))),
            ),
            (
                "agentBasic",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Basic)
                        .description(Some("An agent's id and MQTT password"))
                        .build(),
                ),
            ),
        ];
        for (name, scheme) in schemes {
            components.add_security_scheme(name, scheme);
        }
        for (name, description) in [
            ("Unauthenticated", "No valid session"),
            ("Forbidden", "Role not allowed, or CSRF token missing"),
            ("BadRequest", "Invalid input or state"),
        ] {
            components.responses.insert(
                name.to_owned(),
                RefOr::T(
                    ResponseBuilder::new()
                        .description(description)
                        .content(
                            "application/json",
                            Content::new(Some(Ref::from_schema_name("Error"))),
                        )
                        .build(),
                ),
            );
        }
        let refusal = |name: &str| RefOr::Ref(Ref::from_response_name(name));
        for item in doc.paths.paths.values_mut() {
            for op in operations(item) {
                if op.request_body.is_some() {
                    op.responses
                        .responses
                        .entry("400".to_owned())
                        .or_insert_with(|| refusal("BadRequest"));
                }
                match roles_of(op) {
                    None => op.security = Some(Vec::new()),
                    Some(roles) if roles == ["agent"] => {
                        op.security = Some(vec![SecurityRequirement::new(
                            "agentBasic",
                            Vec::<String>::new(),
                        )]);
                        op.responses
                            .responses
                            .insert("401".to_owned(), refusal("Unauthenticated"));
                    }
                    Some(roles) => {
                        op.security = Some(vec![
                            SecurityRequirement::new("bearer", roles.clone()),
                            SecurityRequirement::new("cookie", roles),
                        ]);
                        op.responses
                            .responses
                            .insert("401".to_owned(), refusal("Unauthenticated"));
                        op.responses
                            .responses
                            .insert("403".to_owned(), refusal("Forbidden"));
                    }
                }
            }
        }
    }
}

/// The operations of one path.
fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
    ]
    .into_iter()
    .flatten()
}
