//! Company names by CNPJ from a public source (BrasilAPI's
//! `GET /cnpj/v1/{cnpj}`, free): the dossier gives a person's companies as
//! CNPJs and roles only; the note names them. Answers go through the ledger
//! like every outside answer (cached, recorded at 0 credits).

use brazil::Cnpj;
use reqwest::Url;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::c2s::parse_base;
use super::error::ProviderError;
use super::lenient::{read, Text};
use super::pacer::Pacer;
use super::policy::Policy;
use super::transport::{common_status, parse_json, Transport};

const NAME: &str = "brasilapi";

/// What the note says of a company.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanyInfo {
    /// `razao_social`.
    pub legal_name: Option<String>,
    /// `nome_fantasia`.
    pub trade_name: Option<String>,
    /// `descricao_situacao_cadastral` (`ATIVA`, `BAIXADA`, …).
    pub status: Option<String>,
    /// `capital_social`, R$.
    pub share_capital: Option<Decimal>,
}

impl CompanyInfo {
    /// The trade name, else the legal name.
    pub fn display_name(&self) -> Option<&str> {
        self.trade_name
            .as_deref()
            .or(self.legal_name.as_deref())
            .map(str::trim)
            .filter(|n| !n.is_empty())
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Dto {
    razao_social: Text,
    nome_fantasia: Text,
    descricao_situacao_cadastral: Text,
    capital_social: Text,
}

/// The client. Build once and share.
#[derive(Debug)]
pub struct CnpjClient {
    transport: Transport,
    base: Url,
}

impl CnpjClient {
    pub fn new(base_url: &str, policy: Policy, pacer: Pacer) -> Result<Self, ProviderError> {
        Ok(Self {
            transport: Transport::new(NAME, policy, pacer)?,
            base: parse_base(NAME, base_url)?,
        })
    }

    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// `GET {base}/cnpj/v1/{14 digits}`; unknown CNPJ → `NotFound`.
    pub async fn company(&self, cnpj: &Cnpj) -> Result<Option<CompanyInfo>, ProviderError> {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["cnpj", "v1", cnpj.digits()]);
        }
        self.transport
            .call(
                "company",
                |http| http.get(url.clone()),
                |raw| {
                    if let Some(e) = common_status(NAME, &raw) {
                        return Err(e);
                    }
                    let body: serde_json::Value = parse_json(NAME, &raw.body)?;
                    let dto: Dto = read(&body).ok_or_else(|| ProviderError::Malformed {
                        provider: NAME,
                        excerpt: super::error::excerpt(&raw.body),
                    })?;
                    let upper = |t: &Text| t.get().map(|s| one_line(&s)).filter(|s| !s.is_empty());
                    Ok(Some(CompanyInfo {
                        legal_name: upper(&dto.razao_social),
                        trade_name: upper(&dto.nome_fantasia),
                        status: upper(&dto.descricao_situacao_cadastral),
                        share_capital: dto
                            .capital_social
                            .get()
                            .and_then(|c| c.trim().parse::<Decimal>().ok())
                            .filter(|c| *c >= Decimal::ZERO),
                    }))
                },
            )
            .await
    }
}

/// A name as the note may say it: one line, upper case, at most 80
/// characters.
fn one_line(raw: &str) -> String {
    crate::domain::one_line(raw, 80).to_uppercase()
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_answer_cannot_add_lines_to_the_note() {
        assert_eq!(
            super::one_line(" Costa\nAdvocacia\r\n\u{7}  Ltda "),
            "COSTA ADVOCACIA LTDA"
        );
        assert_eq!(super::one_line(&"x".repeat(200)).chars().count(), 80);
    }
}
