//! The OpenAPI document against the router, Swagger UI offline, the status
//! page and its figures, and the data-quality endpoint.

use std::collections::BTreeSet;
use std::sync::Arc;

use c2s_enrich::http::{routes, AppState};
use c2s_enrich::store::api_keys;
use c2s_lab::testing::{serve_app, TestDb};
use serde_json::Value;

async fn get_json(url: &str) -> (u16, Value) {
    let r = reqwest::get(url).await.expect("get");
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// Whether `schema` (resolving `$ref`s in `doc`) is an object with named
/// properties, an array of such, or a choice among such.
fn names_its_fields(doc: &Value, schema: &Value) -> bool {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return names_its_fields(doc, &doc["components"]["schemas"][name]);
    }
    if let Some(choices) = schema["oneOf"].as_array().or(schema["anyOf"].as_array()) {
        return !choices.is_empty() && choices.iter().all(|c| names_its_fields(doc, c));
    }
    if let Some(all) = schema["allOf"].as_array() {
        return all.iter().any(|c| names_its_fields(doc, c));
    }
    if schema["type"] == "array" {
        return names_its_fields(doc, &schema["items"]);
    }
    schema["properties"]
        .as_object()
        .is_some_and(|p| !p.is_empty())
}

#[tokio::test]
async fn the_document_lists_exactly_the_routes_the_router_serves() {
    let test = TestDb::migrated().await.expect("db");
    let served = serve_app(AppState::new(test.pool.clone()))
        .await
        .expect("serve");
    let (status, doc) = get_json(&format!("{}/api-docs/openapi.json", served.base)).await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            documented.insert((method.to_uppercase(), path.clone()));
            let responses = op["responses"].as_object().expect("responses");
            assert!(
                !responses.is_empty(),
                "{method} {path} documents no response"
            );
            // Every JSON success names its fields: a schema of the
            // components with properties (or a choice of such), never a
            // free-form value.
            for (code, response) in responses.iter().filter(|(c, _)| c.starts_with('2')) {
                if let Some(schema) = response["content"]["application/json"].get("schema") {
                    assert!(
                        names_its_fields(&doc, schema),
                        "{method} {path} {code} answers a free-form value: {schema}"
                    );
                }
            }
            // Operations behind a key document how that fails.
            let keyed = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
            if keyed {
                for code in ["401", "403", "429"] {
                    assert!(responses.contains_key(code), "{method} {path} lacks {code}");
                    assert_eq!(
                        responses[code]["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{method} {path} {code}"
                    );
                }
                let text = op["description"].as_str().unwrap_or_default();
                assert!(text.contains("Scope: `"), "{method} {path} names no scope");
            }
        }
    }
    let served_routes: BTreeSet<(String, String)> = routes()
        .into_iter()
        .map(|(m, p, _)| (m.to_string(), p.to_owned()))
        .collect();
    let missing: Vec<_> = served_routes.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&served_routes).collect();
    assert!(missing.is_empty(), "served but not documented: {missing:?}");
    assert!(extra.is_empty(), "documented but not served: {extra:?}");
    for scheme in ["bearer", "api_key", "api_key_query", "webhook_token"] {
        assert!(
            doc["components"]["securitySchemes"].get(scheme).is_some(),
            "{scheme}"
        );
    }
}

#[tokio::test]
async fn swagger_ui_is_served_from_the_binary() {
    let test = TestDb::migrated().await.expect("db");
    let served = serve_app(AppState::new(test.pool.clone()))
        .await
        .expect("serve");
    let page = reqwest::get(format!("{}/docs/", served.base))
        .await
        .expect("docs");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("swagger-ui"), "{html}");
    for asset in [
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-initializer.js",
    ] {
        let r = reqwest::get(format!("{}/docs/{asset}", served.base))
            .await
            .expect("asset");
        assert_eq!(r.status(), 200, "{asset}");
    }
    let init = reqwest::get(format!("{}/docs/swagger-initializer.js", served.base))
        .await
        .expect("init")
        .text()
        .await
        .expect("text");
    assert!(init.contains("/api-docs/openapi.json"), "{init}");
}

#[tokio::test]
async fn the_status_page_is_self_contained_and_its_figures_add_up() {
    let test = TestDb::migrated().await.expect("db");
    let served = serve_app(AppState::new(test.pool.clone()))
        .await
        .expect("serve");
    let page = reqwest::get(format!("{}/", served.base))
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"]
        .to_str()
        .expect("ct")
        .starts_with("text/html"));
    let html = page.text().await.expect("html");
    for external in ["src=\"http", "href=\"http", "@import", "url(http"] {
        assert!(!html.contains(external), "external asset: {external}");
    }

    let pool = &test.pool;
    for (i, (state, outcome)) in [
        ("completed", Some("enriched")),
        ("completed", Some("enriched")),
        ("completed", Some("nobody_found")),
        ("failed", None),
        ("processing", None),
    ]
    .into_iter()
    .enumerate()
    {
        sqlx::query("INSERT INTO enrich.leads (lead_id, state, outcome) VALUES ($1, $2, $3)")
            .bind(format!("{i:032x}"))
            .bind(state)
            .bind(outcome)
            .execute(pool)
            .await
            .expect("lead");
    }
    sqlx::query("INSERT INTO enrich.leads (lead_id, state, outcome, created_at) VALUES ($1, 'completed', 'enriched', now() - interval '3 days')")
        .bind(format!("{:032x}", 99))
        .execute(pool)
        .await
        .expect("old lead");
    sqlx::query("INSERT INTO enrich.jobs (kind, state) VALUES ('enrich_lead', 'dead')")
        .execute(pool)
        .await
        .expect("dead job");
    let (status, s) = get_json(&format!("{}/api/v1/status", served.base)).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["last_24h"]["received"], 5);
    assert_eq!(s["last_24h"]["enriched"], 2);
    assert_eq!(s["last_24h"]["failed"], 1);
    assert_eq!(s["last_24h"]["in_progress"], 1);
    assert_eq!(s["last_24h"]["success_share"], 0.5);
    assert_eq!(s["last_7d"]["received"], 6);
    assert_eq!(s["queue"]["dead"], 1);
    let hours = s["leads_per_hour"].as_array().expect("hours");
    assert_eq!(hours.len(), 24);
    assert_eq!(hours.last(), Some(&Value::from(5)));
    assert!(!s["data_quality"].as_array().expect("dq").is_empty());
    assert_eq!(s["providers"].as_array().expect("providers").len(), 2);
    // This test's state has no webhook secret: the page warns of it.
    assert_eq!(s["webhooks_signed"], false);
}

#[tokio::test]
async fn data_quality_over_http_needs_the_admin_scope() {
    let test = TestDb::migrated().await.expect("db");
    let served = serve_app(AppState::new(test.pool.clone()))
        .await
        .expect("serve");
    let (_, enrich) = api_keys::create(&test.pool, "make", &["enrich".to_owned()])
        .await
        .expect("key");
    let (_, admin) = api_keys::create(&test.pool, "ops", &["admin".to_owned()])
        .await
        .expect("key");
    let url = format!("{}/api/v1/admin/data-quality", served.base);
    let http = reqwest::Client::new();
    assert_eq!(http.get(&url).send().await.expect("get").status(), 401);
    let r = http
        .get(&url)
        .bearer_auth(&enrich)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 403);
    let r = http
        .get(&url)
        .header("x-api-key", &admin)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["passed"], true, "{body}");
    assert!(body["checks"].as_array().expect("checks").len() > 5);
}

/// Values of `pattern` (anchors dropped: the generator matches whole
/// strings), drawn deterministically — the same values on every run.
fn values_of(
    pattern: &str,
    n: usize,
    runner: &mut proptest::test_runner::TestRunner,
) -> Vec<String> {
    use proptest::strategy::{Strategy, ValueTree};
    let bare = pattern.trim_start_matches('^').trim_end_matches('$');
    let strategy =
        proptest::string::string_regex(bare).unwrap_or_else(|e| panic!("{pattern}: {e}"));
    (0..n)
        .map(|_| strategy.new_tree(runner).expect("value").current())
        .collect()
}

/// A value the document allows is accepted: for every operation outside the
/// intake (its payloads: the next test), each parameter
/// and body field the document gives a pattern gets values drawn from that
/// pattern, one at a time, with a key holding every scope — and the server
/// answers neither 400 nor 5xx (404 "nobody"/"unknown lead" is an answer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_the_document_allows_are_accepted() {
    let (_sim, test, pipeline) = c2s_lab::testing::sandbox::setup().await;
    let (_, key) = api_keys::create(
        &test.pool,
        "schema-client",
        &[
            "enrich".to_owned(),
            "read:pii".to_owned(),
            "admin".to_owned(),
        ],
    )
    .await
    .expect("key");
    let state = AppState {
        pipeline: Some(Arc::new(pipeline)),
        ..AppState::new(test.pool.clone())
    };
    let served = serve_app(state).await.expect("serve");
    let (_, doc) = get_json(&format!("{}/api-docs/openapi.json", served.base)).await;
    let http = reqwest::Client::new();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let schema_of = |reference: &str| -> Value {
        let name = reference.rsplit('/').next().unwrap_or_default();
        doc["components"]["schemas"][name].clone()
    };
    let mut tried = 0usize;
    let mut refused = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            if op["tags"][0] == "intake" {
                continue;
            }
            // (where, name, pattern) of every constrained input.
            let mut inputs = Vec::new();
            for p in op["parameters"].as_array().into_iter().flatten() {
                if let Some(pattern) = p["schema"]["pattern"].as_str() {
                    inputs.push((
                        p["in"].as_str().unwrap_or_default().to_owned(),
                        p["name"].as_str().unwrap_or_default().to_owned(),
                        pattern.to_owned(),
                    ));
                }
            }
            if let Some(reference) =
                op["requestBody"]["content"]["application/json"]["schema"]["$ref"].as_str()
            {
                let body = schema_of(reference);
                for (name, field) in body["properties"].as_object().into_iter().flatten() {
                    if let Some(pattern) = field["pattern"].as_str() {
                        inputs.push(("body".into(), name.clone(), pattern.to_owned()));
                    }
                }
            }
            for (place, name, pattern) in inputs {
                for value in values_of(&pattern, 8, &mut runner) {
                    let mut url = format!("{}{path}", served.base);
                    let mut request = None;
                    match place.as_str() {
                        "path" => url = url.replace(&format!("{{{name}}}"), &value),
                        "query" => request = Some(vec![(name.clone(), value.clone())]),
                        _ => {}
                    }
                    let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes())
                        .expect("method");
                    let mut r = http.request(m, &url).bearer_auth(&key);
                    if let Some(q) = &request {
                        r = r.query(q);
                    }
                    if place == "body" {
                        r = r.json(&serde_json::json!({ name.clone(): value.clone() }));
                    }
                    let status = r.send().await.expect("send").status().as_u16();
                    tried += 1;
                    if status == 400 || status >= 500 {
                        refused.push(format!(
                            "{method} {path} {place} {name}={value:?}: {status}"
                        ));
                    }
                }
            }
        }
    }
    assert!(
        tried >= 60,
        "only {tried} requests: the document lost its patterns?"
    );
    assert!(refused.is_empty(), "refused: {refused:#?}");
}

/// A JSON value the schema `s` allows, drawn at random (a small generator
/// over what the document uses: objects with required and optional
/// properties, oneOf, arrays with bounds, enums, strings with patterns and
/// lengths, booleans, integers; `$ref`s resolved in `doc`).
fn instance(
    doc: &Value,
    s: &Value,
    rng: &mut rand::rngs::StdRng,
    runner: &mut proptest::test_runner::TestRunner,
    depth: usize,
) -> Value {
    use rand::Rng;
    if let Some(r) = s["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap_or_default();
        return instance(doc, &doc["components"]["schemas"][name], rng, runner, depth);
    }
    if let Some(options) = s["oneOf"].as_array() {
        // A nullable field is oneOf [null, T]: draw T mostly.
        let concrete: Vec<&Value> = options.iter().filter(|o| o["type"] != "null").collect();
        if concrete.len() < options.len() && rng.gen_bool(0.2) {
            return Value::Null;
        }
        let pick = concrete[rng.gen_range(0..concrete.len())];
        return instance(doc, pick, rng, runner, depth + 1);
    }
    if let Some(values) = s["enum"].as_array() {
        return values[rng.gen_range(0..values.len())].clone();
    }
    let types: Vec<&str> = match &s["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec!["object"],
    };
    let concrete: Vec<&str> = types.iter().copied().filter(|t| *t != "null").collect();
    if concrete.len() < types.len() && rng.gen_bool(0.2) {
        return Value::Null;
    }
    match concrete.first().copied().unwrap_or("null") {
        "object" => {
            let required: BTreeSet<&str> = s["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let mut out = serde_json::Map::new();
            for (name, p) in s["properties"].as_object().into_iter().flatten() {
                if required.contains(name.as_str()) || (depth < 6 && rng.gen_bool(0.6)) {
                    out.insert(name.clone(), instance(doc, p, rng, runner, depth + 1));
                }
            }
            Value::Object(out)
        }
        "array" => {
            let min = s["minItems"].as_u64().unwrap_or(0) as usize;
            let max = s["maxItems"]
                .as_u64()
                .map_or(min + 3, |m| m as usize)
                .min(min + 3);
            let n = rng.gen_range(min..=max.max(min));
            Value::Array(
                (0..n)
                    .map(|_| instance(doc, &s["items"], rng, runner, depth + 1))
                    .collect(),
            )
        }
        "string" => {
            let min = s["minLength"].as_u64().unwrap_or(0) as usize;
            let max = s["maxLength"].as_u64().map_or(40, |m| m as usize);
            let text = match s["pattern"].as_str() {
                Some(p) if p.starts_with('^') => values_of(p, 1, runner).remove(0),
                // An unanchored pattern (`\S`): any text holding a match.
                Some(_) | None => {
                    let n = rng.gen_range(min.max(1)..=max.clamp(min.max(1), 40));
                    let chars = ['a', 'Z', '9', ' ', 'é', '@', '-', '.', '\u{1F600}', '"'];
                    let mut t: String = (0..n)
                        .map(|_| chars[rng.gen_range(0..chars.len())])
                        .collect();
                    t.replace_range(0..t.chars().next().map_or(0, char::len_utf8), "x");
                    t
                }
            };
            Value::String(text.chars().take(max).collect())
        }
        "boolean" => Value::Bool(rng.gen_bool(0.5)),
        "integer" | "number" => Value::from(rng.gen_range(0..1_000_000)),
        _ => Value::Null,
    }
}

/// The intake accepts what the document says it accepts: bodies drawn from
/// the C2S and Google Ads payload schemas (with the webhook secret and the
/// Google key configured, as in production) are never answered 400 or 5xx.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_bodies_the_document_allows_are_accepted() {
    use rand::SeedableRng;
    use secrecy::SecretString;
    let test = TestDb::migrated().await.expect("db");
    let state = AppState {
        webhook_secret: Some(Arc::new(SecretString::from("hook-secret"))),
        google_ads_key: Some(Arc::new(SecretString::from("google-key"))),
        ..AppState::new(test.pool.clone())
    };
    let served = serve_app(state).await.expect("serve");
    let (_, doc) = get_json(&format!("{}/api-docs/openapi.json", served.base)).await;
    let http = reqwest::Client::new();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut refused = Vec::new();
    let mut statuses = std::collections::BTreeMap::new();
    for (path, secret_header) in [
        ("/api/v1/webhooks/c2s", Some("hook-secret")),
        ("/api/v1/webhooks/google-ads", None),
    ] {
        let schema =
            &doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"];
        assert!(
            schema["$ref"].is_string(),
            "{path}: the document states no payload schema"
        );
        for _ in 0..60 {
            let mut body = instance(&doc, schema, &mut rng, &mut runner, 0);
            let mut request = http.post(format!("{}{path}", served.base));
            match secret_header {
                Some(secret) => request = request.header("x-webhook-token", secret),
                None => body["google_key"] = Value::from("google-key"),
            }
            let status = request
                .json(&body)
                .send()
                .await
                .expect("send")
                .status()
                .as_u16();
            *statuses.entry((path, status)).or_insert(0) += 1;
            if status == 400 || status >= 500 {
                refused.push(format!("{path}: {status} for {body}"));
            }
        }
    }
    assert!(refused.is_empty(), "refused: {refused:#?}");
    // Accepted, not merely unrefused: most bodies are new events.
    for path in ["/api/v1/webhooks/c2s", "/api/v1/webhooks/google-ads"] {
        let accepted: usize = statuses
            .iter()
            .filter(|((p, s), _)| *p == path && (200..300).contains(s))
            .map(|(_, n)| n)
            .sum();
        assert!(accepted >= 50, "{path}: {statuses:?}");
    }
}
