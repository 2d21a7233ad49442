//! BrasilAPI's `GET /cnpj/v1/{cnpj}` (company names for the note): a
//! deterministic fake — the same CNPJ always gets the same company; a CNPJ
//! whose check digits are wrong is refused, as the real one does.

#[allow(unused_imports)]
use super::*;

const TRADE_NAMES: [&str; 6] = [
    "COSTA ADVOCACIA",
    "ALVES ENGENHARIA",
    "JARDINS PARTICIPACOES",
    "PAULISTA INVESTIMENTOS",
    "",
    "ATLANTICO SERVICOS",
];

pub(super) async fn brasilapi_cnpj(State(state): St, Path(raw): Path<String>) -> Response {
    serve(&state, "brasilapi", "cnpj", raw.clone(), move || {
        let Ok(cnpj) = brazil::Cnpj::parse(&raw) else {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"message": format!("CNPJ {raw} inválido."), "type": "bad_request"})),
            )
                .into_response();
        };
        let digits = cnpj.digits();
        let h: u64 = digits.bytes().fold(7u64, |a, b| a.wrapping_mul(31).wrapping_add(u64::from(b)));
        if h.is_multiple_of(11) {
            return (
                StatusCode::NOT_FOUND,
                Json(json!({"message": format!("CNPJ {digits} não encontrado."), "type": "not_found"})),
            )
                .into_response();
        }
        let status = if h.is_multiple_of(5) { "BAIXADA" } else { "ATIVA" };
        Json(json!({
            "cnpj": digits,
            "razao_social": format!("EMPRESA {} LTDA", &digits[..8]),
            "nome_fantasia": TRADE_NAMES[(h % TRADE_NAMES.len() as u64) as usize],
            "descricao_situacao_cadastral": status,
            "capital_social": ((h % 100) + 1) * 10_000,
            "cnae_fiscal_descricao": "Atividades de consultoria em gestão empresarial",
        }))
        .into_response()
    })
    .await
}
