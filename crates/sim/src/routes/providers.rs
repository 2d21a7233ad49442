//! Diretrix (phone and e-mail lookups, its login) and the Work API (dossiers and phone lookups).

#[allow(unused_imports)]
use super::*;

pub(super) fn diretrix_authorized(state: &SimState, headers: &HeaderMap) -> bool {
    use base64_lite::encode;
    let expected = format!(
        "Basic {}",
        encode(&format!(
            "{}:{}",
            state.config.diretrix_user, state.config.diretrix_pass
        ))
    );
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(expected.as_str())
}

/// Tiny base64 (standard alphabet, padded) for the Basic credentials check.
mod base64_lite {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    pub fn encode(input: &str) -> String {
        let bytes = input.as_bytes();
        let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
                if i <= chunk.len() {
                    out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
}

pub(super) async fn diretrix_phone(
    State(state): St,
    headers: HeaderMap,
    Path(phone): Path<String>,
) -> Response {
    let s = state.clone();
    let query = phone.clone();
    serve(&state, "diretrix", "phone", query, move || {
        if !diretrix_authorized(&s, &headers) {
            return unauthorized();
        }
        let people = s.population.by_phone(&phone);
        if people.is_empty() {
            // Diretrix answers 400 for numbers it does not know.
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"message": "Nenhum registro encontrado"})),
            )
                .into_response();
        }
        Json(render::diretrix(&s.population, people)).into_response()
    })
    .await
}

pub(super) async fn diretrix_email(
    State(state): St,
    headers: HeaderMap,
    Path(email): Path<String>,
) -> Response {
    let s = state.clone();
    serve(&state, "diretrix", "email", email.clone(), move || {
        if !diretrix_authorized(&s, &headers) {
            return unauthorized();
        }
        let people = s.population.by_email(&email.to_lowercase());
        if people.is_empty() {
            return (StatusCode::NOT_FOUND, Json(json!([]))).into_response();
        }
        Json(render::diretrix(&s.population, people)).into_response()
    })
    .await
}

// ---------------------------------------------------------------- Work API

pub(super) async fn work_api(
    State(state): St,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let module = q.get("modulo").cloned().unwrap_or_default();
    let operation = match module.as_str() {
        "cpf" => "cpf",
        "phone" => "phone",
        _ => "other",
    };
    let consulta = q.get("consulta").cloned().unwrap_or_default();
    let s = state.clone();
    serve(&state, "work_api", operation, consulta.clone(), move || {
        if q.get("token") != Some(&s.config.work_token) {
            return Json(json!({"status": 403, "reason": "Token vencido ou inválido",
                               "statusMsg": "token vencido/inválido ou limite atingido"}))
            .into_response();
        }
        match module.as_str() {
            "cpf" => match s.population.by_cpf(&consulta) {
                Some(p) => Json(render::work_dossier(&s.population, p)).into_response(),
                None => Json(json!({"status": 404, "statusMsg": "Not found", "reason": "Document not found."})).into_response(),
            },
            "phone" => Json(render::work_phone(&s.population, &consulta)).into_response(),
            other => Json(json!({"status": 403, "statusMsg": "Forbidden", "reason": format!("Módulo {other} inexistente para a rota.")}))
                .into_response(),
        }
    })
    .await
}
