//! The export built from rows: what is someone else's stays out.

use chrono::Utc;

use super::{build, ExportSettings};
use crate::store::subjects::gather::{FormRow, Gathered, LeadRow};

fn lead(id: &str, linked: bool) -> LeadRow {
    LeadRow {
        lead_id: id.into(),
        created_at: Utc::now(),
        completed_at: Some(Utc::now()),
        updated_at: Utc::now(),
        state: "completed".into(),
        outcome: Some("enriched".into()),
        note_status: "sent".into(),
        note_text: Some("Nome: JOAO OUTRO\nCPF: 111.444.777-35\n".into()),
        given: Some(serde_json::json!({"name": "Joao Outro", "phone": "+5511999990000"})),
        tier: Some("A".into()),
        tier_reasons: Some(serde_json::json!(["renda alta"])),
        seller_name: Some("Corretor 1".into()),
        match_kind: linked.then(|| "phone".into()),
        confidence: linked.then(|| "confirmed".into()),
        identity_reasons: None,
        name_score: None,
        linked_at: None,
    }
}

#[test]
fn a_lead_or_form_that_only_mentions_a_contact_shows_only_that_it_exists() {
    let g = Gathered {
        leads: vec![lead("a0000000000000000000000000000001", false)],
        forms: vec![FormRow {
            google_lead_id: "g1".into(),
            c2s_lead_id: None,
            answers: serde_json::json!([{"column_id": "FULL_NAME", "string_value": "Joao Outro"}]),
            received_at: Utc::now(),
            state: "completed".into(),
            linked: false,
        }],
        ..Gathered::default()
    };
    let e = build(&ExportSettings::default(), "phone", 1, &g, Utc::now());
    let json = serde_json::to_string(&e).expect("json");
    assert!(
        !json.contains("JOAO") && !json.contains("Joao") && !json.contains("111.444"),
        "{json}"
    );
    assert_eq!(e.leads.len(), 1);
    assert!(e.leads[0].note.is_none() && e.leads[0].tier.is_none() && e.leads[0].seller.is_none());
    assert!(e.items.is_empty());
    // The same lead, theirs: its contacts and the note (other CPFs masked).
    let g = Gathered {
        leads: vec![lead("a0000000000000000000000000000001", true)],
        ..Gathered::default()
    };
    let e = build(&ExportSettings::default(), "cpf", 1, &g, Utc::now());
    assert_eq!(e.items.len(), 2);
    let note = &e.leads[0].note.as_ref().expect("note").text;
    assert!(note.contains("***.444.777-**"), "{note}");
}
