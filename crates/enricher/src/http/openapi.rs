//! The OpenAPI 3.1 document, generated from the handlers' annotations
//! (`utoipa`), served at `/api-docs/openapi.json` with Swagger UI at `/docs`
//! (assets compiled in: works offline).
//!
//! Authentication: API keys (`c2s-enrich apikey create`) in
//! `Authorization: Bearer` or `X-API-Key`; Make.com's GET trigger may pass
//! `?api_key=`. Each operation names the scope it needs. The C2S webhook uses
//! the shared secret header `X-Webhook-Token`; Google Ads puts `google_key`
//! in the body.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::error::{ErrorBody, ErrorDetail};

#[derive(Debug)]
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API key: `Authorization: Bearer <key>`"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
        components.add_security_scheme(
            "api_key_query",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "api_key",
                "Make.com's GET trigger only; the weaker option (URLs end up in logs)",
            ))),
        );
        components.add_security_scheme(
            "webhook_token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Webhook-Token",
                "The shared secret configured in the C2S dashboard (WEBHOOK_SECRET)",
            ))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "c2s-enrich",
        description = "Turns Contact2Sale leads into known people: CPF discovery, dossier, golden record, one CRM note per lead.",
    ),
    paths(
        super::health::alias,
        super::health::live,
        super::health::ready,
        super::status::page,
        super::status::status_json,
        super::status::data_quality,
        super::webhooks::c2s,
        super::google_ads::intake,
        super::leads::enrich,
        super::leads::process,
        super::leads::status,
        super::customers::lookup,
        super::customers::lookup_post,
        super::customers::erase,
        super::customers::erase_post,
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&Security),
    tags(
        (name = "intake", description = "How leads arrive"),
        (name = "leads", description = "Synchronous runs and a lead's state (scope: enrich)"),
        (name = "customers", description = "Personal data (LGPD): lookup (read:pii), erasure (admin); every read is audited"),
        (name = "operations", description = "Health, metrics, status page, data quality"),
    )
)]
#[derive(Debug)]
pub struct ApiDoc;

/// The document as served.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
