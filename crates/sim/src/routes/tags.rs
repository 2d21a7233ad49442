//! C2S tags: the company's tags (list by name, create) and a lead's tags
//! (list, add); and a Slack-like incoming webhook for alerts. Adding a tag is a change to the lead, as in C2S: its
//! `updated_at` moves and `on_update_lead` fires.

#[allow(unused_imports)]
use super::*;

fn tag_json(id: &str, name: &str) -> Value {
    json!({"id": id, "type": "tag", "attributes": {"name": name, "autofill": false}})
}

fn bad(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"message": message}))).into_response()
}

/// `GET /integration/tags?name=`: the tags whose name contains `name`
/// (case-insensitive), as C2S's filter does.
pub(super) async fn list_tags(
    State(state): St,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let s = state.clone();
    let name = q.get("name").cloned().unwrap_or_default();
    serve(&state, "c2s", "list_tags", name.clone(), move || {
        if !c2s_authorized(&s, &headers) {
            return unauthorized();
        }
        let wanted = name.to_lowercase();
        let data: Vec<Value> = lock(&s.tags)
            .iter()
            .filter(|(_, n)| n.to_lowercase().contains(&wanted))
            .map(|(id, n)| tag_json(id, n))
            .collect();
        Json(json!({ "data": data })).into_response()
    })
    .await
}

/// `POST /integration/tags` with `{"name"}` (or the JSON:API wrapper).
pub(super) async fn create_tag(State(state): St, headers: HeaderMap, body: Bytes) -> Response {
    let s = state.clone();
    serve(&state, "c2s", "create_tag", String::new(), move || {
        if !c2s_authorized(&s, &headers) {
            return unauthorized();
        }
        let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let name = parsed
            .get("name")
            .or_else(|| parsed.get("data")?.get("attributes")?.get("name"))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|n| !n.is_empty());
        let Some(name) = name else {
            return bad("name is required");
        };
        let mut tags = lock(&s.tags);
        if tags.iter().any(|(_, n)| n.eq_ignore_ascii_case(name)) {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({"message": "tag already exists"})),
            )
                .into_response();
        }
        let id = format!("t-{}", tags.len() + 1);
        tags.push((id.clone(), name.to_owned()));
        (
            StatusCode::CREATED,
            Json(json!({ "data": tag_json(&id, name) })),
        )
            .into_response()
    })
    .await
}

/// `GET /integration/leads/{id}/tags`.
pub(super) async fn lead_tags(
    State(state): St,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let s = state.clone();
    serve(&state, "c2s", "lead_tags", id.clone(), move || {
        if !c2s_authorized(&s, &headers) {
            return unauthorized();
        }
        if s.lead(&id).is_none() {
            return (StatusCode::NOT_FOUND, "Lead not found").into_response();
        }
        let on = s.lead_tags(&id);
        let tags = lock(&s.tags);
        let data: Vec<Value> = tags
            .iter()
            .filter(|(t, _)| on.contains(t))
            .map(|(t, n)| tag_json(t, n))
            .collect();
        Json(json!({ "data": data })).into_response()
    })
    .await
}

/// `POST /integration/leads/{id}/create_tag` with `{"tag_id"}`.
pub(super) async fn tag_lead(
    State(state): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let s = state.clone();
    let lead_id = id.clone();
    let response = serve(&state, "c2s", "tag_lead", id.clone(), move || {
        if !c2s_authorized(&s, &headers) {
            return unauthorized();
        }
        let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let tag = match parsed.get("tag_id") {
            Some(Value::String(t)) => t.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return bad("tag_id is required"),
        };
        if !lock(&s.tags).iter().any(|(t, _)| *t == tag) {
            return (StatusCode::NOT_FOUND, "Tag not found").into_response();
        }
        if !s.touch_lead(&lead_id) {
            return (StatusCode::NOT_FOUND, "Lead not found").into_response();
        }
        lock(&s.lead_tags)
            .entry(lead_id.clone())
            .or_default()
            .push(tag);
        (StatusCode::CREATED, Json(json!({"success": true}))).into_response()
    })
    .await;
    if response.status() == StatusCode::CREATED {
        notify_update(state, id);
    }
    response
}

/// `POST /hooks/slack/{*path}`: a stand-in for a Slack incoming webhook (the
/// demo's alerts): takes `{text, blocks}` and answers `ok`, as Slack does.
pub(super) async fn slack_hook(State(state): St, body: Bytes) -> Response {
    match serde_json::from_slice::<Value>(&body) {
        Ok(v) if v.get("text").is_some_and(Value::is_string) => {
            lock(&state.journal).slack_messages.push(v);
            (StatusCode::OK, "ok").into_response()
        }
        _ => (StatusCode::BAD_REQUEST, "invalid_payload").into_response(),
    }
}
