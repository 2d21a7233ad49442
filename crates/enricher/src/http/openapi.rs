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

/// The patterns the server's parsers accept, stated in the document so that
/// a value a schema-driven client builds as valid is accepted (a stricter
/// pattern than the parser is fine: every value it allows parses).
pub mod patterns {
    /// A C2S lead id: 32 hexadecimal characters.
    pub const LEAD_ID: &str = "^[0-9a-fA-F]{32}$";
    /// A CPF, digits with or without the usual punctuation. The check digits
    /// are verified: a CPF whose digits do not check is nobody's (a lookup
    /// finds no one, an erasure answers 404).
    pub const CPF: &str = "^[0-9]{3}[.]?[0-9]{3}[.]?[0-9]{3}-?[0-9]{2}$";
    /// An e-mail address (the server also refuses placeholders such as
    /// `teste@teste.com` and runs such as `aaaaaa@…`).
    pub const EMAIL: &str = "^[a-z0-9_%+-]{1,32}([.][a-z0-9_%+-]{1,16}){0,2}@[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?([.][a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?){0,2}[.][a-z]{2,12}$";

    /// A Brazilian phone with its DDD (a DDD in service; a mobile's 9 digits
    /// start with 9, a landline's 8 with 2–5), optionally after `+55`.
    pub fn phone() -> String {
        let ddds: Vec<String> = brazil::VALID_DDDS
            .iter()
            .map(|(d, _)| d.to_string())
            .collect();
        format!(
            "^([+]55)?({})(9[0-9]{{8}}|[2-5][0-9]{{7}})$",
            ddds.join("|")
        )
    }
}

/// Puts the patterns on every parameter and body field of that name.
#[derive(Debug)]
struct Validations;

impl Modify for Validations {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{RefOr, Schema};
        let phone = patterns::phone();
        let pattern_of = |name: &str| -> Option<(String, Option<usize>, Option<usize>)> {
            match name {
                "lead_id" | "id" => Some((patterns::LEAD_ID.to_owned(), Some(32), Some(32))),
                "cpf" => Some((patterns::CPF.to_owned(), Some(11), Some(14))),
                "phone" => Some((phone.clone(), Some(10), Some(14))),
                "email" => Some((patterns::EMAIL.to_owned(), Some(6), Some(254))),
                _ => None,
            }
        };
        let constrain = |schema: &mut Schema, name: &str| {
            if let (Schema::Object(o), Some((p, min, max))) = (schema, pattern_of(name)) {
                o.pattern = Some(p);
                o.min_length = min;
                o.max_length = max;
            }
        };
        for item in openapi.paths.paths.values_mut() {
            for op in [&mut item.get, &mut item.post, &mut item.delete]
                .into_iter()
                .flatten()
            {
                for param in op.parameters.iter_mut().flatten() {
                    if let Some(RefOr::T(schema)) = param.schema.as_mut() {
                        constrain(schema, &param.name);
                    }
                }
            }
        }
        if let Some(components) = openapi.components.as_mut() {
            // A C2S batch holds 1 to 100 events (more: 413).
            if let Some(RefOr::T(Schema::OneOf(one_of))) =
                components.schemas.get_mut("C2sWebhookDelivery")
            {
                for variant in &mut one_of.items {
                    if let RefOr::T(Schema::Array(batch)) = variant {
                        batch.min_items = Some(1);
                        batch.max_items = Some(crate::providers::c2s::MAX_EVENTS_PER_DELIVERY);
                    }
                }
            }
            for (name, schema) in components.schemas.iter_mut() {
                if !name.ends_with("Request") {
                    continue;
                }
                if let RefOr::T(Schema::Object(o)) = schema {
                    for (field, f) in o.properties.iter_mut() {
                        if let RefOr::T(fs) = f {
                            constrain(fs, field);
                        }
                    }
                }
            }
        }
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
        super::subjects::export,
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&Security, &Validations),
    tags(
        (name = "intake", description = "How leads arrive"),
        (name = "leads", description = "Synchronous runs and a lead's state (scope: enrich)"),
        (name = "customers", description = "Personal data (LGPD): lookup (read:pii), erasure (admin); every read is audited"),
        (name = "subjects", description = "The data subject's rights (LGPD): access and portability export (admin); audited and registered"),
        (name = "operations", description = "Health, metrics, status page, data quality"),
    )
)]
#[derive(Debug)]
pub struct ApiDoc;

/// The document as served.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
