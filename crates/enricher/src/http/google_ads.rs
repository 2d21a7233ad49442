//! `POST /api/v1/webhooks/google-ads`: Google Ads lead-form deliveries,
//! authenticated by the `google_key` in the body, recorded once per lead id.

use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use secrecy::ExposeSecret;

use super::auth::constant_time_eq;
use super::error::ApiError;
use super::state::AppState;
use crate::domain::google_ads::GoogleAdsLead;
use crate::store::google_ads;

/// Google expects 200 for a delivery it should not repeat: both a new lead and
/// a repeated one answer 200 (`decision` tells which).
#[utoipa::path(post, path = "/api/v1/webhooks/google-ads", tag = "intake",
    description = "Google Ads lead-form webhook. `google_key` in the body must equal GOOGLE_ADS_WEBHOOK_KEY. Recorded once per `lead_id`; the job enriches with the form's contacts (a valid typed CPF is used directly) and creates the C2S lead (source Google Ads, the note and answers in its description). `is_test` leads are recorded only.",
    request_body(content = super::payloads::GoogleAdsDelivery, description = "Google's lead-form delivery; ids may also come as numbers; unknown fields are ignored."),
    responses(
        (status = 200, description = "`{decision: accepted|test_recorded|duplicate, job_id}`", body = crate::store::google_ads::Recorded),
        (status = 400, description = "Not JSON or not a lead-form delivery", body = super::error::ErrorBody),
        (status = 401, description = "Wrong or missing google_key", body = super::error::ErrorBody),
        (status = 503, description = "GOOGLE_ADS_WEBHOOK_KEY is not configured", body = super::error::ErrorBody)))]
pub async fn intake(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<google_ads::Recorded>, ApiError> {
    let Some(expected) = &state.google_ads_key else {
        return Err(ApiError::Unavailable(
            "Google Ads intake is off: GOOGLE_ADS_WEBHOOK_KEY is not set".into(),
        ));
    };
    let payload: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("body is not valid JSON: {e}")))?;
    // The key is checked before the payload's shape, so an unauthenticated
    // caller learns nothing about what a valid body looks like.
    let given = payload
        .get("google_key")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    if !constant_time_eq(given.as_bytes(), expected.expose_secret().as_bytes()) {
        crate::metrics::METRICS.webhook("google_ads_unauthorized");
        return Err(ApiError::Unauthorized);
    }
    let lead = GoogleAdsLead::from_json(&payload)
        .map_err(|e| ApiError::BadRequest(format!("not a Google Ads lead: {e}")))?;
    let recorded = google_ads::record(&state.intake, &lead).await?;
    crate::metrics::METRICS.webhook(match recorded.decision {
        "accepted" => "google_ads_accepted",
        "test_recorded" => "google_ads_test",
        _ => "google_ads_duplicate",
    });
    Ok(Json(recorded))
}
