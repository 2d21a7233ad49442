//! The labelled world (`--world labelled`): families and leads with the
//! confounders production has, each lead labelled with the truth — who the
//! lead is, whether that person can be found from the contacts at all, and
//! which confounders it carries.
//!
//! Families as Brazilian registries write them: a father `GIVEN S1 S2`, a
//! mother `GIVEN M1 M2` who took the husband's last surname in most cases,
//! children `GIVEN M2 S2`; given names match the person's sex; surnames are
//! drawn by how common they are. Dossiers list relatives (with CPFs) and,
//! often, relatives' phone numbers among the person's own.
//!
//! Leads (rates like production's, where more than half of the phone matches
//! can belong to a relative): the lead's own phone and e-mail; the phone of
//! the lead's mother, father or spouse (household phone, the lead among the
//! owner's relatives); a number several own (a company, the spouse, the
//! lead), where two sources agree on the spouse; a recycled number now owned
//! by a stranger (some deceased); a relative's e-mail; an unrelated e-mail;
//! unknown contacts; and names as people type them — nicknames, first name
//! only, a married surname the registry lacks, typos.

use std::collections::HashMap;

use brazil::agreement::{nickname_for, SURNAME_SHARES};
use brazil::{synth, Cnpj, PhoneBr};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::population::{
    hex_id, titlecase, typed, LeadKind, Person, Population, SimLead, SimPhone,
};

mod families;
use families::*;

/// What a lead gives and what is true of it: its kind, the person it is
/// (if any), the phone and e-mail typed, and whether the truth can be found.
type Drawn = (
    LeadKind,
    Option<usize>,
    Option<PhoneBr>,
    Option<String>,
    bool,
);

/// The lead's own phone with `other`'s e-mail (the lead's own when `other`
/// is the lead).
fn email_of_other(kind: LeadKind, lead: usize, other: usize, people: &[Person]) -> Drawn {
    (
        kind,
        Some(lead),
        Some(people[lead].phones[0].phone.clone()),
        Some(people[other].emails[0].to_string()),
        true,
    )
}

/// A household phone: the child gives a parent's number, or the mother gives
/// her husband's.
fn household_lead(
    rng: &mut StdRng,
    fam: &Family,
    child: usize,
    people: &[Person],
    confounders: &mut Vec<&'static str>,
) -> Drawn {
    let (lead, owner) = if rng.gen_bool(0.75) {
        (
            child,
            if rng.gen_bool(0.6) {
                fam.mother
            } else {
                fam.father
            },
        )
    } else {
        (fam.mother, fam.father)
    };
    confounders.push("household_phone");
    let email = rng
        .gen_bool(0.4)
        .then(|| people[lead].emails[0].to_string());
    (
        LeadKind::Household,
        Some(lead),
        Some(people[owner].phones[0].phone.clone()),
        email,
        true,
    )
}

/// A number several own: a company, the spouse and the lead. Diretrix knows
/// the spouse and the lead, the Work API the company and the spouse: two
/// sources agree on the spouse.
fn shared_line_lead(
    rng: &mut StdRng,
    fam: &Family,
    people: &mut [Person],
    company_lines: &mut HashMap<String, Vec<(Cnpj, String)>>,
    confounders: &mut Vec<&'static str>,
) -> Drawn {
    let lead = fam.mother;
    let line = synth::mobile(rng);
    let national = line.national().to_owned();
    people[fam.father].phones.push(SimPhone {
        phone: line.clone(),
        active: true,
        whatsapp: false,
        in_diretrix: true,
        in_work: true,
    });
    people[lead].phones.push(SimPhone {
        phone: line.clone(),
        active: true,
        whatsapp: true,
        in_diretrix: true,
        in_work: false,
    });
    let company = synth::cnpj(rng);
    let company_name = format!(
        "{} {} COMERCIO LTDA",
        people[fam.father].name.split(' ').next().unwrap_or("ALFA"),
        fam.family_surname
    );
    company_lines
        .entry(national)
        .or_default()
        .push((company, company_name));
    confounders.push("shared_line");
    (LeadKind::SharedLine, Some(lead), Some(line), None, true)
}

/// A recycled number: a stranger owns it now (some deceased).
fn recycled_lead(
    rng: &mut StdRng,
    lead_person: usize,
    people: &mut Vec<Person>,
    confounders: &mut Vec<&'static str>,
) -> Drawn {
    let stranger_name = format!("{} {} {}", given(rng, false), surname(rng), surname(rng));
    let mut stranger = member(rng, stranger_name, false, 1935..1970);
    stranger.deceased = rng.gen_bool(0.4);
    let number = stranger.phones[0].phone.clone();
    people.push(stranger);
    confounders.push("recycled_number");
    let with_email = rng.gen_bool(0.5);
    let email = with_email.then(|| people[lead_person].emails[0].to_string());
    (
        LeadKind::Recycled,
        Some(lead_person),
        Some(number),
        email,
        with_email,
    )
}

/// Lead `i` as C2S holds it: the name typed (a nickname, a married or
/// maiden name, a typo, or a stranger's for nobody's lead), its dates and
/// seller, and the truth behind it.
fn lead_record(
    rng: &mut StdRng,
    i: usize,
    fam: &Family,
    people: &[Person],
    (kind, person, phone, email, resolvable): Drawn,
    mut confounders: Vec<&'static str>,
) -> SimLead {
    let name = match person {
        Some(p) => {
            let married =
                (p == fam.mother && fam.mother_maiden_only).then_some(fam.family_surname.as_str());
            let (name, conf) = typed_name(rng, &people[p], married);
            confounders.extend(conf);
            name
        }
        None => {
            let female = rng.gen_bool(0.5);
            let g = given(rng, female);
            titlecase(&format!("{g} {}", surname(rng)))
        }
    };
    let day = 1 + (i % 28);
    let stamp = format!("2026-11-{day:02}T{:02}:{:02}:00-03:00", 8 + i % 12, i % 60);
    SimLead {
        id: hex_id(rng),
        internal_id: 50_000 + i as u64,
        name,
        phone: phone.as_ref().map(|p| typed(rng, p)),
        email,
        kind,
        person,
        created_at: stamp.clone(),
        updated_at: stamp,
        description: Some("Gostaria de agendar uma visita.".to_owned()),
        source: Some("Site".to_owned()),
        seller_id: Some(format!("s-{}", i % 7)),
        confounders,
        resolvable,
    }
}

/// The labelled world with `leads` leads.
pub fn generate(seed: u64, leads: usize) -> Population {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x1AB3_11ED);
    let mut people: Vec<Person> = Vec::new();
    let families: Vec<Family> = (0..leads.max(1))
        .map(|_| family(&mut rng, &mut people))
        .collect();
    // Strangers who now own recycled numbers (some deceased).
    let mut company_lines: HashMap<String, Vec<(Cnpj, String)>> = HashMap::new();
    let mut out = Vec::with_capacity(leads);
    for (i, fam) in families.iter().enumerate().take(leads) {
        let roll = rng.gen_range(0..100);
        let child = fam.children[rng.gen_range(0..fam.children.len())];
        let lead_person = if rng.gen_bool(0.6) { child } else { fam.mother };
        let mut confounders: Vec<&'static str> = Vec::new();
        let (kind, person, phone, email, resolvable) = match roll {
            0..=27 => email_of_other(LeadKind::Owner, lead_person, lead_person, &people),
            28..=37 => (
                LeadKind::PhoneOnly,
                Some(lead_person),
                Some(people[lead_person].phones[0].phone.clone()),
                None,
                true,
            ),
            38..=55 => household_lead(&mut rng, fam, child, &people, &mut confounders),
            56..=63 => shared_line_lead(
                &mut rng,
                fam,
                &mut people,
                &mut company_lines,
                &mut confounders,
            ),
            64..=71 => recycled_lead(&mut rng, lead_person, &mut people, &mut confounders),
            72..=77 => {
                // A relative's e-mail.
                let other = if lead_person == fam.mother {
                    fam.father
                } else {
                    fam.mother
                };
                confounders.push("relative_email");
                email_of_other(LeadKind::RelativeEmail, lead_person, other, &people)
            }
            78..=82 => {
                // Someone unrelated's e-mail (an assistant's, a colleague's).
                let other_fam = &families[(i + 7) % families.len()];
                confounders.push("unrelated_email");
                email_of_other(LeadKind::Split, lead_person, other_fam.father, &people)
            }
            83..=94 => (
                LeadKind::Unknown,
                None,
                Some(synth::mobile(&mut rng)),
                Some(format!("ninguem{i}@semcadastro.com.br")),
                false,
            ),
            _ => (LeadKind::NoContact, None, None, None, false),
        };
        let drawn = (kind, person, phone, email, resolvable);
        out.push(lead_record(&mut rng, i, fam, &people, drawn, confounders));
    }
    Population::assemble(people, out, company_lines)
}
