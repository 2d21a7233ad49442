//! C2S: leads (read, list, create), messages (notes) and webhook subscriptions.

#[allow(unused_imports)]
use super::*;

pub(super) async fn get_lead(
    State(state): St,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let s = state.clone();
    serve(&state, "c2s", "get_lead", id.clone(), move || {
        if !c2s_authorized(&s, &headers) {
            return unauthorized();
        }
        match s.lead(&id) {
            Some(lead) => Json(json!({ "data": render::c2s_lead(&lead) })).into_response(),
            None => (StatusCode::NOT_FOUND, "Lead not found").into_response(),
        }
    })
    .await
}

pub(super) async fn list_leads(
    State(state): St,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let s = state.clone();
    serve(&state, "c2s", "list_leads", String::new(), move || {
        if !c2s_authorized(&s, &headers) {
            return unauthorized();
        }
        let page: usize = q
            .get("page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(1)
            .max(1);
        let perpage: usize = q
            .get("perpage")
            .and_then(|p| p.parse().ok())
            .unwrap_or(20)
            .clamp(1, 50);
        let mut leads: Vec<SimLead> = s
            .leads()
            .into_iter()
            .filter(|l| {
                q.get("phone").is_none_or(|p| {
                    l.phone
                        .as_deref()
                        .is_some_and(|lp| digits(lp).ends_with(&digits(p)))
                })
            })
            .filter(|l| {
                q.get("email")
                    .is_none_or(|e| l.email.as_deref() == Some(e.as_str()))
            })
            .filter(|l| {
                q.get("created_gte")
                    .is_none_or(|t| l.created_at.as_str() >= t.as_str())
            })
            .filter(|l| {
                q.get("created_lt")
                    .is_none_or(|t| l.created_at.as_str() < t.as_str())
            })
            .filter(|l| {
                q.get("updated_gte")
                    .is_none_or(|t| l.updated_at.as_str() >= t.as_str())
            })
            .filter(|l| {
                q.get("updated_lt")
                    .is_none_or(|t| l.updated_at.as_str() < t.as_str())
            })
            .collect();
        match q.get("sort").map(String::as_str) {
            Some("-created_at") => leads.sort_by(|a, b| b.created_at.cmp(&a.created_at)),
            Some("created_at") => leads.sort_by(|a, b| a.created_at.cmp(&b.created_at)),
            Some("updated_at") => leads.sort_by(|a, b| a.updated_at.cmp(&b.updated_at)),
            Some("-updated_at") => leads.sort_by(|a, b| b.updated_at.cmp(&a.updated_at)),
            _ => {}
        }
        let total = leads.len();
        let data: Vec<Value> = leads
            .iter()
            .skip((page - 1) * perpage)
            .take(perpage)
            .map(render::c2s_lead)
            .collect();
        Json(json!({"data": data, "meta": {"total": total, "page": page, "perpage": perpage}}))
            .into_response()
    })
    .await
}

pub(super) fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

pub(super) async fn create_message(
    State(state): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let s = state.clone();
    let lead_id = id.clone();
    let response = serve(&state, "c2s", "create_message", id.clone(), move || {
        if !c2s_authorized(&s, &headers) {
            return unauthorized();
        }
        let Some(text) = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v.get("body")?.as_str().map(str::to_owned))
        else {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"message": "body is required"})),
            )
                .into_response();
        };
        // A note is a change to the lead: C2S moves updated_at (and fires on_update_lead).
        if !s.touch_lead(&lead_id) {
            return (StatusCode::NOT_FOUND, "Lead not found").into_response();
        }
        lock(&s.journal).notes.push(NoteRecord {
            lead_id: lead_id.clone(),
            body: text,
        });
        (StatusCode::CREATED, Json(json!({"success": true}))).into_response()
    })
    .await;
    if response.status() == StatusCode::CREATED {
        notify_update(state, id);
    }
    response
}

/// Fires `on_update_lead` at subscribers after a note, like C2S does.
pub(super) fn notify_update(state: Arc<SimState>, lead_id: String) {
    let targets: Vec<String> = lock(&state.journal)
        .subscriptions
        .iter()
        .filter(|(_, action)| action == "on_update_lead")
        .map(|(url, _)| url.clone())
        .collect();
    {
        for url in targets {
            let header = state.config.hook_header.clone();
            let req = DeliveryRequest {
                url,
                action: Some("on_update_lead".into()),
                lead_ids: Some(vec![lead_id.clone()]),
                header_name: header.as_ref().map(|h| h.0.clone()),
                header_value: header.map(|h| h.1),
                ..Default::default()
            };
            let s = state.clone();
            tokio::spawn(async move {
                deliver(&s, &req).await;
            });
        }
    }
}

pub(super) async fn create_lead(State(state): St, headers: HeaderMap, body: Bytes) -> Response {
    let s = state.clone();
    serve(&state, "c2s", "create_lead", String::new(), move || {
        if !c2s_authorized(&s, &headers) {
            return unauthorized();
        }
        let parsed: Option<Value> = serde_json::from_slice(&body).ok();
        let Some(attrs) = parsed
            .as_ref()
            .and_then(|v| v.get("data")?.get("attributes"))
            .filter(|a| a.is_object())
        else {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"message": "param_data_not_found"})),
            )
                .into_response();
        };
        let text = |k: &str| attrs.get(k).and_then(Value::as_str).map(str::to_owned);
        let id: String = {
            let mut rng = lock(&s.rng);
            (0..32)
                .map(|_| char::from_digit(rng.gen_range(0..16), 16).unwrap_or('0'))
                .collect()
        };
        let stamp = crate::next_stamp();
        let lead = SimLead {
            id: id.clone(),
            internal_id: 90_000 + lock(&s.leads).len() as u64,
            name: text("name").unwrap_or_default(),
            phone: text("phone"),
            email: text("email"),
            kind: LeadKind::Unknown,
            person: None,
            created_at: stamp.clone(),
            updated_at: stamp,
            description: text("description"),
            source: text("source"),
            seller_id: text("seller_id"),
            confounders: Vec::new(),
            resolvable: false,
        };
        lock(&s.leads).push(lead);
        lock(&s.journal).created_leads.push(attrs.clone());
        (
            StatusCode::CREATED,
            Json(json!({"data": {"id": id, "type": "lead"}})),
        )
            .into_response()
    })
    .await
}

#[derive(Debug, Deserialize)]
pub(super) struct HookBody {
    hook_url: Option<String>,
    hook_action: Option<String>,
}

pub(super) async fn subscribe(state: St, headers: HeaderMap, body: Bytes) -> Response {
    hook(state, headers, body, true).await
}

pub(super) async fn unsubscribe(state: St, headers: HeaderMap, body: Bytes) -> Response {
    hook(state, headers, body, false).await
}

pub(super) async fn hook(State(state): St, headers: HeaderMap, body: Bytes, on: bool) -> Response {
    let s = state.clone();
    serve(
        &state,
        "c2s",
        if on { "subscribe" } else { "unsubscribe" },
        String::new(),
        move || {
            if !c2s_authorized(&s, &headers) {
                return unauthorized();
            }
            let b: Option<HookBody> = serde_json::from_slice(&body).ok();
            let (Some(url), Some(action)) = (
                b.as_ref().and_then(|b| b.hook_url.clone()),
                b.and_then(|b| b.hook_action),
            ) else {
                return (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Json(json!({"success": false, "msg": "hook_url not found"})),
                )
                    .into_response();
            };
            if !["on_create_lead", "on_update_lead", "on_close_lead"].contains(&action.as_str()) {
                return (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Json(json!({"success": false, "msg": "hook_action not found"})),
                )
                    .into_response();
            }
            let mut journal = lock(&s.journal);
            journal
                .subscriptions
                .retain(|(u, a)| !(u == &url && a == &action));
            if on {
                journal.subscriptions.push((url, action));
            }
            Json(json!({"success": true})).into_response()
        },
    )
    .await
}
