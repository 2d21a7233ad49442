//! The properties the fuzz targets check (`fuzz/`), shared with the
//! regression test that replays every saved input (`fuzz/regressions/`).
//! Each function panics exactly when a property fails.

/// Every `brazil` parser on arbitrary text: never panics, and whatever parses
/// parses again from its own canonical form to the same value.
pub fn brazil_parsers(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(c) = brazil::Cpf::parse(s) {
        assert_eq!(brazil::Cpf::parse(c.digits()).ok(), Some(c.clone()));
        let _ = c.masked();
    }
    let _ = brazil::Cpf::parse_padding(s);
    if let Ok(c) = brazil::Cnpj::parse(s) {
        assert_eq!(brazil::Cnpj::parse(c.digits()).ok(), Some(c));
    }
    let _ = brazil::classify_cpf_cnpj(s);
    if let Ok(c) = brazil::Cep::parse(s) {
        assert_eq!(brazil::Cep::parse(c.digits()).ok(), Some(c));
    }
    if let Ok(u) = brazil::Uf::parse(s) {
        assert_eq!(brazil::Uf::parse(u.code()).ok(), Some(u));
    }
    if let Ok(p) = brazil::PhoneBr::parse(s) {
        assert_eq!(brazil::PhoneBr::parse(&p.e164()).ok(), Some(p.clone()));
        assert_eq!(brazil::PhoneBr::parse(p.national()).ok(), Some(p.clone()));
        let _ = p.masked();
    }
    if let Ok(e) = brazil::Email::parse(s) {
        assert_eq!(brazil::Email::parse(e.as_str()).ok(), Some(e.clone()));
        let _ = e.masked();
    }
    if let Ok(m) = brazil::Money::parse(s) {
        let _ = m.to_string();
    }
    let n = brazil::normalize_name(s);
    assert_eq!(
        brazil::normalize_name(&n),
        n,
        "normalising twice changes nothing"
    );
    let score = brazil::name_match_score(s, "MARIA DA SILVA");
    assert!((0.0..=1.0).contains(&score), "score {score}");
}

/// Intake parsers on arbitrary bytes: the C2S webhook payload (every shape)
/// and the Google Ads lead form. Errors are fine; panics are bugs.
pub fn webhook_payload(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Ok(events) = c2s_enrich::providers::c2s::parse_webhook(&value) {
        for e in &events {
            let (phone, email, _) = c2s_enrich::domain::lead::usable_contacts(&e.lead);
            let _ = c2s_enrich::domain::lead::contact_fingerprint(phone.as_ref(), email.as_ref());
        }
    }
    if let Ok(lead) = c2s_enrich::domain::google_ads::GoogleAdsLead::from_json(&value) {
        let _ = c2s_enrich::domain::google_ads::form_contacts(&lead.answers);
    }
}

/// The Work API dossier parser on arbitrary JSON: never panics.
pub fn work_api_dossier(data: &[u8]) {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = c2s_enrich::providers::work_api::parse_dossier(value);
    }
}
