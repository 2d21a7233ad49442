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
use brazil::{synth, Cnpj};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::population::{
    hex_id, titlecase, typed, LeadKind, Person, Population, SimLead, SimPhone,
};

const FEMALE: [&str; 20] = [
    "ANA", "MARIA", "HELENA", "JULIANA", "BEATRIZ", "LUCIA", "FERNANDA", "CAMILA", "PATRICIA",
    "MARIANA", "GABRIELA", "CAROLINA", "TATIANA", "RAFAELA", "ISABELA", "EDUARDA", "VIVIANE",
    "CRISTINA", "NATALIA", "TEREZA",
];
const MALE: [&str; 20] = [
    "JOAO",
    "PEDRO",
    "LUCAS",
    "GABRIEL",
    "RAFAEL",
    "CARLOS",
    "PAULO",
    "MARCOS",
    "RICARDO",
    "FELIPE",
    "ANDRE",
    "BRUNO",
    "TIAGO",
    "EDUARDO",
    "JOSE",
    "FERNANDO",
    "FRANCISCO",
    "ANTONIO",
    "ROBERTO",
    "GUSTAVO",
];
const RARE: [&str; 12] = [
    "VILLELA",
    "BITTENCOURT",
    "FALCAO",
    "MEIRELES",
    "LACERDA",
    "QUEIROZ",
    "SAMPAIO",
    "PRADO",
    "BRANDAO",
    "ANTUNES",
    "VASCONCELOS",
    "GUIMARAES",
];

fn surname(rng: &mut StdRng) -> String {
    // Common surnames by their share; one in five names carries a rarer one.
    if rng.gen_bool(0.2) {
        return RARE[rng.gen_range(0..RARE.len())].to_owned();
    }
    let total: f64 = SURNAME_SHARES.iter().map(|(_, f)| f).sum();
    let mut x = rng.gen_range(0.0..total);
    for (s, f) in SURNAME_SHARES {
        if x < *f {
            return (*s).to_owned();
        }
        x -= f;
    }
    "SILVA".to_owned()
}

fn given(rng: &mut StdRng, female: bool) -> &'static str {
    if female {
        FEMALE[rng.gen_range(0..FEMALE.len())]
    } else {
        MALE[rng.gen_range(0..MALE.len())]
    }
}

fn own_phone(rng: &mut StdRng) -> SimPhone {
    // Each provider misses some numbers (coverage differs by region).
    let (in_diretrix, in_work) = match rng.gen_range(0..20) {
        0 | 1 => (true, false),
        2 => (false, true),
        _ => (true, true),
    };
    SimPhone {
        phone: synth::mobile(rng),
        active: true,
        whatsapp: rng.gen_bool(0.7),
        in_diretrix,
        in_work,
    }
}

fn member(rng: &mut StdRng, name: String, female: bool, born: std::ops::Range<u32>) -> Person {
    let mut p = crate::population::person(rng);
    p.emails = vec![synth::email_for(rng, &name)];
    if rng.gen_bool(0.3) {
        p.emails.push(synth::email_for(rng, &name));
    }
    p.phones = vec![own_phone(rng)];
    if rng.gen_bool(0.4) {
        p.phones.push(SimPhone {
            phone: synth::landline(rng),
            active: rng.gen_bool(0.6),
            whatsapp: false,
            in_diretrix: true,
            in_work: true,
        });
    }
    p.name = name;
    p.female = female;
    p.birth = format!(
        "{:02}/{:02}/{}",
        rng.gen_range(1..=28),
        rng.gen_range(1..=12),
        rng.gen_range(born)
    );
    p.addresses.truncate(3);
    p
}

/// Indexes of one family in the population.
struct Family {
    father: usize,
    mother: usize,
    children: Vec<usize>,
    /// The father's surname the mother would add when married.
    family_surname: String,
    /// The mother's registry name lacks it (she kept her maiden name).
    mother_maiden_only: bool,
}

fn family(rng: &mut StdRng, people: &mut Vec<Person>) -> Family {
    let (s1, s2, m1, m2) = (surname(rng), surname(rng), surname(rng), surname(rng));
    let father_name = format!("{} {s1} {s2}", given(rng, false));
    let mother_maiden_only = rng.gen_bool(0.4);
    let mother_given = given(rng, true);
    let mother_name = if mother_maiden_only {
        format!("{mother_given} {m1} {m2}")
    } else {
        format!("{mother_given} {m1} {m2} {s2}")
    };
    let father = people.len();
    let mut f = member(rng, father_name, false, 1950..1972);
    f.mother = format!("{} {} {}", given(rng, true), surname(rng), s1);
    people.push(f);
    let mother = people.len();
    let mut m = member(rng, mother_name.clone(), true, 1952..1975);
    m.mother = format!("{} {} {}", given(rng, true), surname(rng), m1);
    people.push(m);
    let mut children = Vec::new();
    for _ in 0..rng.gen_range(1..=3) {
        let female = rng.gen_bool(0.5);
        let mut g = given(rng, female).to_owned();
        if rng.gen_bool(0.2) {
            g = format!("{g} {}", given(rng, female));
        }
        let mut c = member(rng, format!("{g} {m2} {s2}"), female, 1978..2006);
        c.mother = mother_name.clone();
        // Dossiers list relatives' numbers among the person's own.
        if rng.gen_bool(0.5) {
            let mut listed = people[mother].phones[0].clone();
            listed.in_diretrix = false;
            listed.in_work = false;
            listed.whatsapp = false;
            c.phones.push(listed);
        }
        children.push(people.len());
        people.push(c);
    }
    // Relatives as each dossier lists them (how *they* relate to the person).
    people[father].relatives.push((mother, "CONJUGE"));
    people[mother].relatives.push((father, "CONJUGE"));
    for &c in &children {
        people[father].relatives.push((c, "FILHA(O)"));
        people[mother].relatives.push((c, "FILHA(O)"));
        people[c].relatives.push((mother, "MAE"));
        people[c].relatives.push((father, "PAI"));
        for &d in &children {
            if d != c {
                people[c].relatives.push((d, "IRMA(O)"));
            }
        }
    }
    Family {
        father,
        mother,
        children,
        family_surname: s2,
        mother_maiden_only,
    }
}

/// How the lead typed their name, and which name confounder that is.
fn typed_name(
    rng: &mut StdRng,
    p: &Person,
    married: Option<&str>,
) -> (String, Option<&'static str>) {
    let tokens: Vec<&str> = p.name.split(' ').collect();
    let first = tokens[0];
    let last = tokens.last().copied().unwrap_or(first);
    let roll = rng.gen_range(0..100);
    if let (Some(husband), true) = (married, roll < 35) {
        // The husband's surname the registry lacks, alone or after her own.
        let name = if roll < 18 {
            format!("{first} {husband}")
        } else {
            format!("{first} {last} {husband}")
        };
        return (titlecase(&name), Some("married_name"));
    }
    match roll {
        0..=13 => match nickname_for(first) {
            Some(nick) => (titlecase(&format!("{nick} {last}")), Some("nickname")),
            None => (titlecase(&format!("{first} {last}")), None),
        },
        14..=23 => (titlecase(first), Some("first_name_only")),
        24..=29 if first.len() >= 5 => {
            // One letter dropped: a typo.
            let i = rng.gen_range(1..first.len() - 1);
            let typo = format!("{}{}", &first[..i], &first[i + 1..]);
            (titlecase(&format!("{typo} {last}")), Some("typo"))
        }
        _ if tokens.len() > 3 && rng.gen_bool(0.3) => {
            (titlecase(&format!("{first} {} {last}", tokens[1])), None)
        }
        _ => (titlecase(&format!("{first} {last}")), None),
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
            0..=27 => {
                let p = &people[lead_person];
                (
                    LeadKind::Owner,
                    Some(lead_person),
                    Some(p.phones[0].phone.clone()),
                    Some(p.emails[0].to_string()),
                    true,
                )
            }
            28..=37 => (
                LeadKind::PhoneOnly,
                Some(lead_person),
                Some(people[lead_person].phones[0].phone.clone()),
                None,
                true,
            ),
            38..=55 => {
                // A household phone: the child gives a parent's number, or
                // the mother gives her husband's.
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
            56..=63 => {
                // A number several own: a company, the spouse and the lead.
                // Diretrix knows the spouse and the lead, the Work API the
                // company and the spouse: two sources agree on the spouse.
                let lead = fam.mother;
                let line = synth::mobile(&mut rng);
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
                let company = synth::cnpj(&mut rng);
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
            64..=71 => {
                // A recycled number: a stranger owns it now (some deceased).
                let stranger_name = format!(
                    "{} {} {}",
                    given(&mut rng, false),
                    surname(&mut rng),
                    surname(&mut rng)
                );
                let mut stranger = member(&mut rng, stranger_name, false, 1935..1970);
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
            72..=77 => {
                // A relative's e-mail.
                let other = if lead_person == fam.mother {
                    fam.father
                } else {
                    fam.mother
                };
                confounders.push("relative_email");
                (
                    LeadKind::RelativeEmail,
                    Some(lead_person),
                    Some(people[lead_person].phones[0].phone.clone()),
                    Some(people[other].emails[0].to_string()),
                    true,
                )
            }
            78..=82 => {
                // Someone unrelated's e-mail (an assistant's, a colleague's).
                let other_fam = &families[(i + 7) % families.len()];
                confounders.push("unrelated_email");
                (
                    LeadKind::Split,
                    Some(lead_person),
                    Some(people[lead_person].phones[0].phone.clone()),
                    Some(people[other_fam.father].emails[0].to_string()),
                    true,
                )
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
        let name = match person {
            Some(p) => {
                let married = (p == fam.mother && fam.mother_maiden_only)
                    .then_some(fam.family_surname.as_str());
                let (name, conf) = typed_name(&mut rng, &people[p], married);
                confounders.extend(conf);
                name
            }
            None => {
                let female = rng.gen_bool(0.5);
                let g = given(&mut rng, female);
                titlecase(&format!("{g} {}", surname(&mut rng)))
            }
        };
        let day = 1 + (i % 28);
        let stamp = format!("2026-11-{day:02}T{:02}:{:02}:00-03:00", 8 + i % 12, i % 60);
        out.push(SimLead {
            id: hex_id(&mut rng),
            internal_id: 50_000 + i as u64,
            name,
            phone: phone.as_ref().map(|p| typed(&mut rng, p)),
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
        });
    }
    Population::assemble(people, out, company_lines)
}
