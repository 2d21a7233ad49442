//! Who is this lead, and how sure are we? An evidence model in the
//! Fellegi–Sunter tradition (as Splink implements it), pure and without I/O.
//!
//! Every candidate CPF gathers evidence: which discovery sources returned it
//! for which contact, how its registry name compares with the lead's, whether
//! it is a relative listed in another candidate's dossier (a household phone),
//! whether the same contact was resolved to it before with `confirmed`, whether
//! the customer typed it in a form, and signals of its dossier (deceased,
//! registration status, whether it lists the lead's contact). Each comparison
//! has agreement levels with `m` = P(level | the candidate is the lead) and
//! `u` = P(level | it is not); `log2(m/u)` is the level's weight. The weights
//! plus the prior add up to a match weight and a probability; the confidence
//! levels are thresholds on it, with rules no weight can buy (a contradicting
//! name is never shown). The reasons are the largest contributions (Splink's
//! "waterfall"). The m/u estimates are `identity_weights.json`, produced by
//! `c2s-enrich identity-weights` from the labelled sandbox population.

mod decide;
mod evidence;
mod reasons;
mod score;
mod weights;

pub use decide::*;
pub use evidence::*;
pub use reasons::*;
pub use score::*;
pub use weights::*;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Candidate;
    use brazil::{Cpf, NameComparison, SurnameAgreement};

    use proptest::prelude::*;

    const PEOPLE: [(&str, &str); 4] = [
        ("52998224725", "HELENA MARQUES DA COSTA"),
        ("31847920560", "LUCIA MARQUES DA COSTA"),
        ("74215630835", "PEDRO COSTA LIMA"),
        ("11144477735", "ROBERTO ALVES SOUZA"),
    ];
    const SOURCES: [(Source, bool); 4] = [
        (Source::DiretrixPhone, true),
        (Source::WorkApiPhone, true),
        (Source::DiretrixEmail, false),
        (Source::Database, true),
    ];
    const LEADS: [&str; 5] = [
        "Helena Costa",
        "Lena Costa",
        "Helena",
        "Pedro Lima",
        "Bia Souza",
    ];

    fn cpf(i: usize) -> Cpf {
        Cpf::parse(PEOPLE[i].0).expect("valid")
    }

    fn found(person: usize, source: usize) -> Found {
        let (s, by_phone) = SOURCES[source];
        Found {
            candidate: Candidate {
                cpf: cpf(person),
                name: Some(PEOPLE[person].1.into()),
            },
            source: s,
            by_phone,
        }
    }

    fn set_of(lead: &str, found: &[Found]) -> EvidenceSet {
        let mut set = EvidenceSet::new(Some(lead));
        for f in found {
            set.add_found(f);
        }
        set
    }

    fn confidence_of_person(set: &EvidenceSet, person: usize) -> Option<Confidence> {
        identify(set, &[], &WEIGHTS)
            .scored
            .into_iter()
            .find(|s| s.cpf == cpf(person))
            .map(|s| s.confidence)
    }

    fn answers() -> impl Strategy<Value = Vec<Found>> {
        proptest::collection::vec((0..PEOPLE.len(), 0..SOURCES.len()), 0..8)
            .prop_map(|v| v.into_iter().map(|(p, s)| found(p, s)).collect())
    }

    proptest! {
        #[test]
        fn the_decision_does_not_depend_on_the_order_sources_answered(
            lead in 0..LEADS.len(), answers in answers(), seed in any::<u64>()
        ) {
            let mut shuffled = answers.clone();
            // A deterministic shuffle from the seed.
            let n = shuffled.len();
            for i in (1..n).rev() {
                let j = (seed.wrapping_mul(6364136223846793005).wrapping_add(i as u64) % (i as u64 + 1)) as usize;
                shuffled.swap(i, j);
            }
            let a = identify(&set_of(LEADS[lead], &answers), &[], &WEIGHTS);
            let b = identify(&set_of(LEADS[lead], &shuffled), &[], &WEIGHTS);
            prop_assert_eq!(a, b);
        }

        #[test]
        fn a_candidate_whose_name_contradicts_the_leads_is_never_confirmed(
            lead in 0..LEADS.len(), answers in answers()
        ) {
            let set = set_of(LEADS[lead], &answers);
            for s in identify(&set, &[], &WEIGHTS).scored {
                if s.comparison.as_ref().is_some_and(NameComparison::contradicts) {
                    prop_assert_eq!(s.confidence, Confidence::Unconfirmed);
                }
            }
        }

        #[test]
        fn a_contradicting_source_never_raises_a_candidates_confidence(
            lead in 0..LEADS.len(), answers in answers(), other in 0..PEOPLE.len(),
            source in 0..SOURCES.len(), deceased in any::<bool>()
        ) {
            let base = set_of(LEADS[lead], &answers);
            for (person, (_, person_name)) in PEOPLE.iter().enumerate() {
                let Some(before) = confidence_of_person(&base, person) else { continue };
                // Another person returned for a contact: a rival, never support.
                if other != person {
                    let mut more = answers.clone();
                    more.push(found(other, source));
                    let after = confidence_of_person(&set_of(LEADS[lead], &more), person);
                    prop_assert!(after <= Some(before), "{:?} → {:?}", before, after);
                }
                // The person's dossier says deceased or irregular.
                let mut worse = base.clone();
                worse.add_dossier(&cpf(person), DossierSignals {
                    name: (*person_name).into(),
                    deceased,
                    irregular: !deceased,
                    ..DossierSignals::default()
                });
                prop_assert_eq!(confidence_of_person(&worse, person), Some(Confidence::Unconfirmed));
            }
        }
    }

    #[test]
    fn phone_and_email_agreeing_on_the_named_person_is_confirmed() {
        let set = set_of("Helena Costa", &[found(0, 0), found(0, 2), found(1, 0)]);
        let id = identify(&set, &[], &WEIGHTS);
        assert_eq!(id.best.len(), 1);
        assert_eq!(id.best[0].via, Via::PhoneAndEmail);
        assert_eq!(id.best[0].scored.confidence, Confidence::Confirmed);
        assert_eq!(confidence_of_person(&set, 1), Some(Confidence::Unconfirmed));
        let s = &id.best[0].scored;
        assert!(reasons_en(s).starts_with("confirmed"));
        assert!(
            !reasons_en(s).contains("52998224725"),
            "no CPF in the reasons"
        );
    }

    #[test]
    fn a_household_relative_whose_name_agrees_becomes_the_lead_with_the_owner_named_by_initials() {
        // The phone is Lucia's (the mother); her dossier lists Helena.
        let mut set = set_of("Helena Costa", &[found(1, 0), found(1, 1)]);
        set.add_dossier(
            &cpf(1),
            DossierSignals {
                name: PEOPLE[1].1.into(),
                female: Some(true),
                relatives: vec![(cpf(0), Some(PEOPLE[0].1.into()), Some("FILHA(O)".into()))],
                ..DossierSignals::default()
            },
        );
        // The pipeline then checks the relative's own dossier, which lists
        // the number among hers (without that, p stays just under probable).
        set.add_dossier(
            &cpf(0),
            DossierSignals {
                name: PEOPLE[0].1.into(),
                female: Some(true),
                lists_phone: true,
                ..DossierSignals::default()
            },
        );
        let id = identify(&set, &[], &WEIGHTS);
        let chosen = &id.best[0];
        assert_eq!(chosen.scored.cpf, cpf(0));
        assert!(
            chosen.scored.confidence >= Confidence::Probable,
            "{:?}",
            chosen.scored
        );
        let h = chosen.household.as_ref().expect("household");
        assert_eq!(brazil::initials(&h.owner_name), "L. M. C.");
        assert_eq!(owner_relation_pt(h.degree.as_deref(), Some(true)), "mãe");
        let owner = registered_owner(&set, &id, Contact::Phone).expect("owner line");
        assert_eq!(owner.owner_initials, "L. M. C.");
    }

    #[test]
    fn a_married_surname_the_registry_lacks_agrees_through_the_spouse() {
        let mut set = set_of("Helena Lima", &[found(0, 0)]);
        let before = name_comparison(&set.candidates[&cpf(0)], set.lead_name.as_deref());
        assert_eq!(before.map(|c| c.surname), Some(SurnameAgreement::Disagree));
        set.add_dossier(
            &cpf(0),
            DossierSignals {
                name: PEOPLE[0].1.into(),
                relatives: vec![(cpf(2), Some(PEOPLE[2].1.into()), Some("CONJUGE".into()))],
                ..DossierSignals::default()
            },
        );
        let after =
            name_comparison(&set.candidates[&cpf(0)], set.lead_name.as_deref()).expect("compared");
        assert_eq!(after.surname, SurnameAgreement::All);
        assert_eq!(after.agreeing_surnames, ["LIMA"]);
    }

    #[test]
    fn namesake_relatives_behind_the_two_contacts_are_neither_shown() {
        // Mother and daughter of one name: the phone is one's, the e-mail
        // the other's, and each dossier lists the other.
        let (mother, daughter) = ("31847920560", "52998224725");
        let person = |c: &str| Candidate {
            cpf: Cpf::parse(c).expect("valid"),
            name: Some("HELENA MARQUES DA COSTA".into()),
        };
        let mut set = EvidenceSet::new(Some("Helena Costa"));
        set.add_found(&Found::phone(person(mother), Source::DiretrixPhone));
        set.add_found(&Found::email(person(daughter), Source::DiretrixEmail));
        for (who, other, degree) in [(mother, daughter, "FILHA(O)"), (daughter, mother, "MAE")] {
            set.add_dossier(
                &Cpf::parse(who).expect("valid"),
                DossierSignals {
                    name: "HELENA MARQUES DA COSTA".into(),
                    relatives: vec![(
                        Cpf::parse(other).expect("valid"),
                        Some("HELENA MARQUES DA COSTA".into()),
                        Some(degree.into()),
                    )],
                    ..DossierSignals::default()
                },
            );
        }
        let id = identify(&set, &[], &WEIGHTS);
        assert_eq!(id.best.len(), 2);
        for chosen in &id.best {
            assert_eq!(chosen.scored.confidence, Confidence::Unconfirmed);
            assert_eq!(chosen.scored.contributions[0].level, "namesake_relatives");
        }
    }

    /// A phone registered to `JOSE CARLOS PRADO`, whose son is `JOSE PRADO
    /// VILLELA`; the lead typed `lead` (and perhaps an e-mail the father's
    /// dossier lists).
    fn father_and_son(lead: &str, lists_email: bool) -> Identification {
        let (father, son) = ("31847920560", "52998224725");
        let mut set = EvidenceSet::new(Some(lead));
        for source in [Source::DiretrixPhone, Source::WorkApiPhone] {
            set.add_found(&Found::phone(
                Candidate {
                    cpf: Cpf::parse(father).expect("valid"),
                    name: Some("JOSE CARLOS PRADO".into()),
                },
                source,
            ));
        }
        set.add_dossier(
            &Cpf::parse(father).expect("valid"),
            DossierSignals {
                name: "JOSE CARLOS PRADO".into(),
                lists_phone: true,
                lists_email,
                relatives: vec![(
                    Cpf::parse(son).expect("valid"),
                    Some("JOSE PRADO VILLELA".into()),
                    Some("FILHO".into()),
                )],
                ..DossierSignals::default()
            },
        );
        identify(&set, &[], &WEIGHTS)
    }

    #[test]
    fn a_namesake_in_the_owners_own_dossier_keeps_the_owner_unshown() {
        // "Jose Prado" fits the father and the son alike: the phone cannot
        // say which of them called.
        let id = father_and_son("Jose Prado", false);
        assert_eq!(id.best.len(), 1);
        let best = &id.best[0].scored;
        assert_eq!(best.confidence, Confidence::Unconfirmed);
        assert_eq!(best.contributions[0].level, "relative_with_the_same_name");
        // The lead's e-mail in the father's own dossier tells them apart.
        let id = father_and_son("Jose Prado", true);
        assert!(id.best[0].scored.confidence >= Confidence::Probable);
        // A name only the father has: no ambiguity.
        let id = father_and_son("Jose Carlos Prado", false);
        assert!(id.best[0].scored.confidence >= Confidence::Probable);
        assert_ne!(id.best[0].scored.contributions[0].comparison, "ambiguity");
    }

    #[test]
    fn two_unrelated_namesakes_behind_the_two_contacts_are_not_both_shown() {
        // "Pedro": a recycled number now owned by a stranger called Pedro,
        // and the lead's e-mail pointing at another Pedro. A lead is one
        // person; nothing tells which, so neither is shown in full.
        let person = |c: &str, name: &str| Candidate {
            cpf: Cpf::parse(c).expect("valid"),
            name: Some(name.into()),
        };
        let mut set = EvidenceSet::new(Some("Pedro"));
        for source in [Source::DiretrixPhone, Source::WorkApiPhone] {
            set.add_found(&Found::phone(
                person("31847920560", "PEDRO ALVES LIMA"),
                source,
            ));
        }
        set.add_found(&Found::email(
            person("52998224725", "PEDRO SOUZA COSTA"),
            Source::DiretrixEmail,
        ));
        let id = identify(&set, &[], &WEIGHTS);
        assert_eq!(id.best.len(), 2);
        for chosen in &id.best {
            assert_eq!(chosen.scored.confidence, Confidence::Unconfirmed);
            assert_eq!(
                chosen.scored.contributions[0].level,
                "rival_with_the_same_name"
            );
        }
        // When only one of them carries the lead's surname, the other is
        // not a namesake: the one whose name agrees stands alone.
        let mut set = EvidenceSet::new(Some("Pedro Costa"));
        set.add_found(&Found::phone(
            person("31847920560", "PEDRO ALVES LIMA"),
            Source::DiretrixPhone,
        ));
        set.add_found(&Found::email(
            person("52998224725", "PEDRO SOUZA COSTA"),
            Source::DiretrixEmail,
        ));
        let id = identify(&set, &[], &WEIGHTS);
        let shown: Vec<_> = id
            .best
            .iter()
            .filter(|c| c.scored.confidence >= Confidence::Probable)
            .collect();
        assert_eq!(shown.len(), 1);
        assert_eq!(shown[0].via, Via::Email);
    }

    #[test]
    fn a_relative_the_name_fits_alone_outweighs_one_of_several() {
        // The phone is the mother's; "Rafa" fits her son Rafael and, with a
        // sister Rafaela, fits two of her relatives.
        let (mother, son, daughter) = ("31847920560", "52998224725", "11144477735");
        let relatives = |with_sister: bool| {
            let mut r = vec![(
                Cpf::parse(son).expect("valid"),
                Some("RAFAEL LIMA COSTA".into()),
                Some("FILHA(O)".into()),
            )];
            if with_sister {
                r.push((
                    Cpf::parse(daughter).expect("valid"),
                    Some("RAFAELA LIMA COSTA".into()),
                    Some("FILHA(O)".into()),
                ));
            }
            r
        };
        let son_probability = |with_sister: bool| {
            let mut set = EvidenceSet::new(Some("Rafa Costa"));
            set.add_found(&Found::phone(
                Candidate {
                    cpf: Cpf::parse(mother).expect("valid"),
                    name: Some("HELENA MARQUES LIMA COSTA".into()),
                },
                Source::DiretrixPhone,
            ));
            set.add_dossier(
                &Cpf::parse(mother).expect("valid"),
                DossierSignals {
                    name: "HELENA MARQUES LIMA COSTA".into(),
                    relatives: relatives(with_sister),
                    ..DossierSignals::default()
                },
            );
            let id = identify(&set, &[], &WEIGHTS);
            let s = id
                .scored
                .iter()
                .find(|s| s.cpf == Cpf::parse(son).expect("valid"))
                .expect("the son is a candidate")
                .clone();
            (s.probability, id.best[0].scored.confidence)
        };
        let (alone, _) = son_probability(false);
        let (with_sister, shown) = son_probability(true);
        assert!(alone > with_sister, "{alone} vs {with_sister}");
        assert_eq!(shown, Confidence::Unconfirmed);
    }

    #[test]
    fn the_committed_weights_parse_and_were_estimated() {
        assert!(
            WEIGHTS.produced_by.contains("identity-weights"),
            "{}",
            WEIGHTS.produced_by
        );
        // Relatives are blocked on a fitting given name: far fewer pairs.
        assert!(WEIGHTS.direct.pairs > 1000 && WEIGHTS.relative.pairs > 300);
        assert!(WEIGHTS.direct.weight("given", "disagree") < -5.0);
        assert!(WEIGHTS.direct.weight("given", "exact") > 3.0);
    }
}
