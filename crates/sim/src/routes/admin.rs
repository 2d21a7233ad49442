//! The admin API: the journal, faults, the labelled truth and webhook delivery.

#[allow(unused_imports)]
use super::*;

pub(super) async fn journal(State(state): St) -> Response {
    Json(state.journal()).into_response()
}

pub(super) async fn reset(State(state): St) -> Response {
    state.reset_journal();
    StatusCode::NO_CONTENT.into_response()
}

pub(super) async fn all_faults(State(state): St) -> Response {
    let map: HashMap<&str, Faults> = PROVIDERS.iter().map(|p| (*p, state.faults(p))).collect();
    Json(map).into_response()
}

pub(super) async fn set_faults(
    State(state): St,
    Path(provider): Path<String>,
    body: Bytes,
) -> Response {
    if !PROVIDERS.contains(&provider.as_str()) {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "unknown provider", "providers": PROVIDERS})),
        )
            .into_response();
    }
    match serde_json::from_slice::<Faults>(&body) {
        Ok(f) => {
            state.set_faults(&provider, f.clone());
            Json(f).into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": e.to_string()})),
        )
            .into_response(),
    }
}

#[derive(Debug, Serialize)]
pub(super) struct LeadTruth {
    id: String,
    kind: LeadKind,
    name: String,
    phone: Option<String>,
    email: Option<String>,
    cpf: Option<String>,
    confounders: Vec<&'static str>,
    resolvable: bool,
}

pub(super) async fn admin_leads(State(state): St) -> Response {
    let truth: Vec<LeadTruth> = state
        .leads()
        .into_iter()
        .map(|l| LeadTruth {
            cpf: l
                .person
                .map(|i| state.population.people[i].cpf.digits().to_owned()),
            id: l.id,
            kind: l.kind,
            name: l.name,
            phone: l.phone,
            email: l.email,
            confounders: l.confounders,
            resolvable: l.resolvable,
        })
        .collect();
    Json(truth).into_response()
}

/// What `POST /__admin/deliver` sends.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DeliveryRequest {
    /// Where to POST.
    pub url: String,
    /// `on_create_lead` (default), `on_update_lead` or `on_close_lead`.
    pub action: Option<String>,
    /// Which leads (default: all).
    pub lead_ids: Option<Vec<String>>,
    /// Send each event this many times (C2S retries deliveries), default 1.
    pub duplicates: u32,
    /// Parallel deliveries, default 4.
    pub concurrency: usize,
    /// Shared-secret header configured in the C2S dashboard.
    pub header_name: Option<String>,
    pub header_value: Option<String>,
    /// Group events into arrays of this size (default: one event per request).
    pub batch: usize,
}

/// What a delivery run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeliveryReport {
    pub requests: usize,
    pub statuses: HashMap<u16, usize>,
    pub errors: usize,
    /// Events never sent (C2S's `webhook_drop_rate` fault).
    pub dropped: usize,
}

pub(super) async fn deliver_webhooks(
    State(state): St,
    Json(req): Json<DeliveryRequest>,
) -> Response {
    if reqwest::Url::parse(&req.url).is_err() {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "url must be absolute"})),
        )
            .into_response();
    }
    Json(deliver(&state, &req).await).into_response()
}

/// The webhook events of `leads`, in turn in each of C2S's shapes, each
/// `duplicates` times.
fn render_events(leads: &[SimLead], action: &str, duplicates: u32) -> Vec<Value> {
    leads
        .iter()
        .enumerate()
        .flat_map(|(i, lead)| {
            let mut obj = render::c2s_lead(lead);
            let event = match i % 3 {
                0 => {
                    obj["hook_action"] = json!(action);
                    obj
                }
                1 => json!({"hook_action": action, "lead": obj}),
                _ => {
                    obj["hook_action"] = json!(action);
                    json!({"data": obj})
                }
            };
            std::iter::repeat_n(event, duplicates.max(1) as usize)
        })
        .collect()
}

/// Delivers webhooks for the sandbox's leads, in the shapes C2S uses
/// (single, `lead`-wrapped, `data`-wrapped; arrays when batching).
pub async fn deliver(state: &SimState, req: &DeliveryRequest) -> DeliveryReport {
    let action = req
        .action
        .clone()
        .unwrap_or_else(|| "on_create_lead".into());
    let drop_rate = state.faults("c2s").webhook_drop_rate.clamp(0.0, 1.0);
    let mut dropped = 0;
    let leads: Vec<SimLead> = state
        .leads()
        .into_iter()
        .filter(|l| req.lead_ids.as_ref().is_none_or(|ids| ids.contains(&l.id)))
        .filter(|_| {
            let lost = drop_rate > 0.0 && state.chance(drop_rate);
            dropped += usize::from(lost);
            !lost
        })
        .collect();
    let events = render_events(&leads, &action, req.duplicates);
    let bodies: Vec<Value> = if req.batch > 1 {
        events
            .chunks(req.batch)
            .map(|c| Value::Array(c.to_vec()))
            .collect()
    } else {
        events
    };
    let report = Arc::new(std::sync::Mutex::new(DeliveryReport::default()));
    let semaphore = Arc::new(tokio::sync::Semaphore::new(req.concurrency.max(1)));
    let mut tasks = Vec::with_capacity(bodies.len());
    for body in bodies {
        let permit = semaphore.clone().acquire_owned().await;
        let http = state.http.clone();
        let url = req.url.clone();
        let header = req.header_name.clone().zip(req.header_value.clone());
        let report = report.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = permit;
            let mut rb = http.post(&url).json(&body);
            if let Some((k, v)) = header {
                rb = rb.header(k, v);
            }
            let outcome = rb.send().await;
            let mut r = lock(&report);
            r.requests += 1;
            match outcome {
                Ok(resp) => *r.statuses.entry(resp.status().as_u16()).or_default() += 1,
                Err(_) => r.errors += 1,
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let mut r = lock(&report).clone();
    r.dropped = dropped;
    r
}
