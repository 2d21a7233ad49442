//! The resolution rule of the release before the identity model
//! (`domain::identity`), kept for the identity benchmark's baseline
//! (`IdentityPolicy::PreviousRelease`) only: it trusts the name as a
//! tie-breaker, never as a veto.
//!
//! Rules (issue "pipeline", step 2):
//! - the same CPF behind the phone and the e-mail → one person;
//! - a CPF found for both contacts wins over the others, even when it is not
//!   the first candidate of either (a phone's candidates mix the owner with
//!   relatives and previous owners);
//! - among several candidates of one contact, prefer the one whose name matches
//!   the lead's, then the one more sources agree on, then the provider's order;
//! - different CPFs for the two contacts → two persons; one contact → one person.

use brazil::{name_match_score, names_plausibly_match, Cpf};

pub use crate::domain::identity::{Decision, Found, Source, Via};

/// The outcome of resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// Zero, one or two people (phone's first).
    pub persons: Vec<(Cpf, Via)>,
    pub decisions: Vec<Decision>,
}

fn sources_agreeing(found: &[Found], cpf: &Cpf) -> usize {
    found.iter().filter(|f| &f.candidate.cpf == cpf).count()
}

/// The best candidate for one contact.
fn best<'a>(
    found: &'a [Found],
    contact: &[&'a Found],
    lead_name: Option<&str>,
) -> Option<&'a Found> {
    contact.iter().copied().max_by(|a, b| {
        let score = |f: &Found| {
            let named = lead_name
                .zip(f.candidate.name.as_deref())
                .map_or(0.0, |(lead, reg)| {
                    if names_plausibly_match(lead, reg) {
                        1.0 + name_match_score(lead, reg)
                    } else {
                        0.0
                    }
                });
            (named, sources_agreeing(found, &f.candidate.cpf))
        };
        let (sa, sb) = (score(a), score(b));
        // Ties keep the provider's order: `max_by` returns the last maximum, so
        // compare positions reversed.
        sa.0.total_cmp(&sb.0).then(sa.1.cmp(&sb.1)).then_with(|| {
            let pos = |f: &Found| {
                contact
                    .iter()
                    .position(|x| std::ptr::eq(*x, f))
                    .unwrap_or(usize::MAX)
            };
            pos(b).cmp(&pos(a))
        })
    })
}

/// Chooses the people behind the lead.
pub fn resolve(found: &[Found], lead_name: Option<&str>) -> Resolution {
    let phone: Vec<&Found> = found.iter().filter(|f| f.by_phone).collect();
    let email: Vec<&Found> = found.iter().filter(|f| !f.by_phone).collect();
    let both: Vec<&Found> = phone
        .iter()
        .copied()
        .filter(|p| email.iter().any(|e| e.candidate.cpf == p.candidate.cpf))
        .collect();

    let mut persons: Vec<(Cpf, Via)> = Vec::new();
    let mut why: Vec<(Cpf, String)> = Vec::new();
    if let Some(shared) = best(found, &both, lead_name) {
        persons.push((shared.candidate.cpf.clone(), Via::PhoneAndEmail));
        why.push((
            shared.candidate.cpf.clone(),
            "found for both the phone and the e-mail".into(),
        ));
    } else {
        if let Some(p) = best(found, &phone, lead_name) {
            persons.push((p.candidate.cpf.clone(), Via::Phone));
            why.push((p.candidate.cpf.clone(), reason_for(p, lead_name, "phone")));
        }
        if let Some(e) = best(found, &email, lead_name) {
            persons.push((e.candidate.cpf.clone(), Via::Email));
            why.push((e.candidate.cpf.clone(), reason_for(e, lead_name, "e-mail")));
        }
    }

    let mut decisions: Vec<Decision> = why
        .into_iter()
        .map(|(cpf, reason)| Decision {
            cpf_masked: cpf.masked(),
            chosen: true,
            reason,
        })
        .collect();
    let mut rejected: Vec<&Cpf> = Vec::new();
    for f in found {
        let cpf = &f.candidate.cpf;
        if persons.iter().any(|(c, _)| c == cpf) || rejected.contains(&cpf) {
            continue;
        }
        rejected.push(cpf);
        let reason = match (lead_name, f.candidate.name.as_deref()) {
            (Some(lead), Some(reg)) if !names_plausibly_match(lead, reg) => "another candidate fits better; name differs from the lead's (relative or previous owner?)",
            _ => "another candidate fits better",
        };
        decisions.push(Decision {
            cpf_masked: f.candidate.cpf.masked(),
            chosen: false,
            reason: reason.into(),
        });
    }
    Resolution { persons, decisions }
}

fn reason_for(f: &Found, lead_name: Option<&str>, contact: &str) -> String {
    let named = lead_name
        .zip(f.candidate.name.as_deref())
        .is_some_and(|(l, r)| names_plausibly_match(l, r));
    if named {
        format!("best candidate for the {contact}; name matches the lead's")
    } else {
        format!("best candidate for the {contact}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Candidate;

    fn cand(cpf: &str, name: &str) -> Candidate {
        Candidate {
            cpf: Cpf::parse(cpf).expect("cpf"),
            name: Some(name.into()),
        }
    }

    const HELENA: &str = "52998224725";
    const LUCIA: &str = "31847920560";
    const PEDRO: &str = "74215630835";

    #[test]
    fn the_same_cpf_behind_phone_and_email_is_one_person_even_if_not_first() {
        let found = vec![
            Found::phone(cand(LUCIA, "LUCIA MARQUES DA COSTA"), Source::WorkApiPhone),
            Found::phone(
                cand(HELENA, "HELENA MARQUES DA COSTA"),
                Source::WorkApiPhone,
            ),
            Found::email(cand(HELENA, "HELENA M COSTA"), Source::DiretrixEmail),
        ];
        let r = resolve(&found, Some("Rafael"));
        assert_eq!(
            r.persons,
            vec![(Cpf::parse(HELENA).expect("cpf"), Via::PhoneAndEmail)]
        );
        let rejected: Vec<_> = r.decisions.iter().filter(|d| !d.chosen).collect();
        assert_eq!(rejected.len(), 1);
        assert!(
            !format!("{:?}", r.decisions).contains(LUCIA),
            "CPFs are masked in the record"
        );
    }

    #[test]
    fn among_a_phones_candidates_the_lead_name_decides() {
        let found = vec![
            Found::phone(cand(LUCIA, "LUCIA MARQUES DA COSTA"), Source::DiretrixPhone),
            Found::phone(
                cand(HELENA, "HELENA MARQUES DA COSTA"),
                Source::DiretrixPhone,
            ),
        ];
        let r = resolve(&found, Some("Helena Costa"));
        assert_eq!(
            r.persons,
            vec![(Cpf::parse(HELENA).expect("cpf"), Via::Phone)]
        );
        assert!(r.decisions[0].reason.contains("name matches"));
    }

    #[test]
    fn without_a_name_agreement_between_sources_then_order_decide() {
        let found = vec![
            Found::phone(cand(LUCIA, "LUCIA"), Source::DiretrixPhone),
            Found::phone(cand(HELENA, "HELENA"), Source::DiretrixPhone),
            Found::phone(cand(HELENA, "HELENA"), Source::WorkApiPhone),
        ];
        assert_eq!(
            resolve(&found, None).persons[0].0,
            Cpf::parse(HELENA).expect("cpf"),
            "two sources agree"
        );
        let found = vec![
            Found::phone(cand(LUCIA, "LUCIA"), Source::DiretrixPhone),
            Found::phone(cand(HELENA, "HELENA"), Source::DiretrixPhone),
        ];
        assert_eq!(
            resolve(&found, None).persons[0].0,
            Cpf::parse(LUCIA).expect("cpf"),
            "the provider's order"
        );
    }

    #[test]
    fn different_cpfs_are_two_persons_and_nothing_is_nobody() {
        let found = vec![
            Found::phone(cand(PEDRO, "PEDRO COSTA LIMA"), Source::DiretrixPhone),
            Found::email(
                cand(HELENA, "HELENA MARQUES DA COSTA"),
                Source::DiretrixEmail,
            ),
        ];
        let r = resolve(&found, Some("Helena Costa"));
        assert_eq!(
            r.persons,
            vec![
                (Cpf::parse(PEDRO).expect("cpf"), Via::Phone),
                (Cpf::parse(HELENA).expect("cpf"), Via::Email)
            ]
        );
        assert_eq!(resolve(&[], Some("x")).persons, vec![]);
        let only_email = vec![Found::email(cand(HELENA, "HELENA"), Source::Database)];
        assert_eq!(
            resolve(&only_email, None).persons,
            vec![(Cpf::parse(HELENA).expect("cpf"), Via::Email)]
        );
    }
}
