//! A deterministic synthetic population (same seed, same people) and the C2S
//! leads generated from it, covering the cases the pipeline must handle.

use std::collections::HashMap;

use brazil::{synth, Cnpj, Cpf, Email, PhoneBr};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// One phone of a person.
#[derive(Debug, Clone)]
pub struct SimPhone {
    pub phone: PhoneBr,
    pub active: bool,
    pub whatsapp: bool,
    /// Diretrix's phone lookup returns this person for the number.
    pub in_diretrix: bool,
    /// The Work API's phone lookup does (a number a dossier merely lists,
    /// e.g. a relative's, is in neither).
    pub in_work: bool,
}

/// One address, possibly dirty the way providers send them.
#[derive(Debug, Clone)]
pub struct SimAddress {
    pub street_type: String,
    pub street: String,
    pub number: String,
    pub neighborhood: String,
    pub city: String,
    pub uf: String,
    pub cep: String,
}

/// A synthetic person.
#[derive(Debug, Clone)]
pub struct Person {
    pub cpf: Cpf,
    pub name: String,
    pub birth: String,
    pub female: bool,
    pub mother: String,
    pub phones: Vec<SimPhone>,
    pub emails: Vec<Email>,
    pub addresses: Vec<SimAddress>,
    /// (index into the population, degree as the provider writes it)
    pub relatives: Vec<(usize, &'static str)>,
    pub companies: Vec<(Cnpj, &'static str, &'static str)>,
    pub income_cents: u64,
    pub score: u32,
    /// The registry records a death.
    pub deceased: bool,
}

/// What a lead's contact data leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadKind {
    /// Phone and e-mail of the same person.
    Owner,
    /// Only a phone, the person's own.
    PhoneOnly,
    /// The phone belongs to a relative (shared home line).
    RelativePhone,
    /// Phone of one person, e-mail of another.
    Split,
    /// No phone, no e-mail.
    NoContact,
    /// Valid contacts nobody in the population has.
    Unknown,
    /// (labelled world) The phone of the lead's parent or spouse; the lead is
    /// among the owner's relatives.
    Household,
    /// (labelled world) A number a company, the spouse and the lead share.
    SharedLine,
    /// (labelled world) An old number of the lead's, now a stranger's.
    Recycled,
    /// (labelled world) The lead's phone with a relative's e-mail.
    RelativeEmail,
}

/// A C2S lead of the sandbox.
#[derive(Debug, Clone)]
pub struct SimLead {
    pub id: String,
    pub internal_id: u64,
    pub name: String,
    /// As a person would type it (varied formats).
    pub phone: Option<String>,
    pub email: Option<String>,
    pub kind: LeadKind,
    /// The person the lead is (when there is one).
    pub person: Option<usize>,
    pub created_at: String,
    pub updated_at: String,
    pub description: Option<String>,
    pub source: Option<String>,
    pub seller_id: Option<String>,
    /// What makes this lead hard (labelled world): `household_phone`,
    /// `shared_line`, `recycled_number`, `relative_email`, `unrelated_email`,
    /// `nickname`, `first_name_only`, `married_name`, `typo`.
    pub confounders: Vec<&'static str>,
    /// The lead's CPF can be found from its contacts (directly or through a
    /// relative's dossier).
    pub resolvable: bool,
}

/// The whole synthetic world.
#[derive(Debug)]
pub struct Population {
    pub people: Vec<Person>,
    pub leads: Vec<SimLead>,
    by_phone: HashMap<String, Vec<usize>>,
    by_phone_work: HashMap<String, Vec<usize>>,
    /// Companies registered on a number (Work API phone lookups list them).
    company_lines: HashMap<String, Vec<(Cnpj, String)>>,
    by_email: HashMap<String, Vec<usize>>,
    by_cpf: HashMap<String, usize>,
}

const STREET_TYPES: [&str; 8] = ["R", "AV", "AL", "R", "AVENIDA", "VIA ACESSO", "{R}", "TV"];
const STREETS: [&str; 8] = [
    "DAS PALMEIRAS",
    "AUGUSTA",
    "OSCAR FREIRE",
    "GABRIEL MONTEIRO DA SILVA",
    "ATLANTICA",
    "BRASIL",
    "JOAQUIM FLORIANO",
    "HADDOCK LOBO",
];
const CITIES: [(&str, &str, &str); 5] = [
    ("SAO PAULO", "SP", "JARDIM AMERICA"),
    ("SAO PAULO", "SP", "ITAIM BIBI"),
    ("SANTOS", "sp", "GONZAGA"),
    ("RIO DE JANEIRO", "RJ", "LEBLON"),
    ("PORTO ALEGRE", "RS", "MOINHOS DE VENTO"),
];

pub(crate) fn hex_id(rng: &mut StdRng) -> String {
    (0..32)
        .map(|_| char::from_digit(rng.gen_range(0..16), 16).unwrap_or('0'))
        .collect()
}

pub(crate) fn address(rng: &mut StdRng) -> SimAddress {
    let (city, uf, hood) = CITIES[rng.gen_range(0..CITIES.len())];
    let cep = synth::cep(rng).digits().to_owned();
    // Dirty CEPs the way providers send them: formatted, or short and unrepairable.
    let cep = match rng.gen_range(0..10) {
        0 => format!("{}-{}", &cep[..5], &cep[5..]),
        1 => cep[..4].to_owned(),
        _ => cep,
    };
    SimAddress {
        street_type: STREET_TYPES[rng.gen_range(0..STREET_TYPES.len())].to_owned(),
        street: STREETS[rng.gen_range(0..STREETS.len())].to_owned(),
        number: if rng.gen_bool(0.1) {
            "S/N".into()
        } else {
            rng.gen_range(1..3000).to_string()
        },
        neighborhood: hood.to_owned(),
        city: city.to_owned(),
        uf: uf.to_owned(),
        cep,
    }
}

pub(crate) fn person(rng: &mut StdRng) -> Person {
    let name = synth::person_name(rng);
    let mut phones = vec![SimPhone {
        phone: synth::mobile(rng),
        active: true,
        whatsapp: rng.gen_bool(0.7),
        in_diretrix: true,
        in_work: true,
    }];
    for _ in 0..rng.gen_range(0..4) {
        let phone = if rng.gen_bool(0.5) {
            synth::mobile(rng)
        } else {
            synth::landline(rng)
        };
        phones.push(SimPhone {
            phone,
            active: rng.gen_bool(0.8),
            whatsapp: false,
            in_diretrix: true,
            in_work: true,
        });
    }
    let mut emails = vec![synth::email_for(rng, &name)];
    if rng.gen_bool(0.5) {
        emails.push(synth::email_for(rng, &name));
    }
    let addresses = (0..rng.gen_range(1..=15)).map(|_| address(rng)).collect();
    let companies = (0..rng.gen_range(0..3))
        .map(|_| {
            (
                synth::cnpj(rng),
                if rng.gen_bool(0.7) {
                    "QSA"
                } else {
                    "REPRESENTANTELEGAL"
                },
                "SOCIO",
            )
        })
        .collect();
    Person {
        cpf: synth::cpf(rng),
        birth: format!(
            "{:02}/{:02}/{}",
            rng.gen_range(1..=28),
            rng.gen_range(1..=12),
            rng.gen_range(1940..2004)
        ),
        female: rng.gen_bool(0.5),
        mother: synth::person_name(rng),
        name,
        phones,
        emails,
        addresses,
        relatives: Vec::new(),
        companies,
        income_cents: rng.gen_range(150_000..6_000_000),
        score: rng.gen_range(100..1000),
        deceased: false,
    }
}

/// How a person types a phone number into a form.
pub(crate) fn typed(rng: &mut StdRng, p: &PhoneBr) -> String {
    match rng.gen_range(0..4) {
        0 => p.to_string(),
        1 => p.e164(),
        2 => p.national().to_owned(),
        _ => format!("+55 {}", p),
    }
}

impl Population {
    /// `leads` leads over a population of about twice as many people.
    pub fn generate(seed: u64, leads: usize) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let n = (leads * 2).max(10);
        let mut people: Vec<Person> = (0..n).map(|_| person(&mut rng)).collect();
        // Families: person 2k and 2k+1 are relatives sharing a home landline.
        for k in 0..n / 2 {
            let (a, b) = (2 * k, 2 * k + 1);
            let shared = SimPhone {
                phone: synth::landline(&mut rng),
                active: true,
                whatsapp: false,
                in_diretrix: true,
                in_work: true,
            };
            people[a].phones.push(shared.clone());
            people[b].phones.push(shared);
            people[a].relatives.push((b, "IRMA(O)"));
            people[b].relatives.push((a, "IRMA(O)"));
        }
        let mut pop = Self::assemble(people, Vec::new(), HashMap::new());
        for i in 0..leads {
            let lead = pop.lead(&mut rng, i);
            pop.leads.push(lead);
        }
        pop
    }

    /// A population over `people`, indexed.
    pub(crate) fn assemble(
        people: Vec<Person>,
        leads: Vec<SimLead>,
        company_lines: HashMap<String, Vec<(Cnpj, String)>>,
    ) -> Self {
        let mut pop = Self {
            people,
            leads,
            by_phone: HashMap::new(),
            by_phone_work: HashMap::new(),
            company_lines,
            by_email: HashMap::new(),
            by_cpf: HashMap::new(),
        };
        pop.index();
        pop
    }

    fn index(&mut self) {
        for (i, p) in self.people.iter().enumerate() {
            self.by_cpf.insert(p.cpf.digits().to_owned(), i);
            for ph in &p.phones {
                let national = ph.phone.national().to_owned();
                if ph.in_diretrix {
                    self.by_phone.entry(national.clone()).or_default().push(i);
                }
                if ph.in_work {
                    self.by_phone_work.entry(national).or_default().push(i);
                }
            }
            for e in &p.emails {
                self.by_email
                    .entry(e.as_str().to_owned())
                    .or_default()
                    .push(i);
            }
        }
    }

    fn lead(&self, rng: &mut StdRng, i: usize) -> SimLead {
        let owner = (2 * i) % self.people.len();
        let p = &self.people[owner];
        let kind = match i % 10 {
            0..=4 => LeadKind::Owner,
            5 => LeadKind::PhoneOnly,
            6 => LeadKind::RelativePhone,
            7 => LeadKind::Split,
            8 => LeadKind::NoContact,
            _ => LeadKind::Unknown,
        };
        let (phone, email, person) = match kind {
            LeadKind::Owner => (
                Some(typed(rng, &p.phones[0].phone)),
                Some(p.emails[0].to_string()),
                Some(owner),
            ),
            LeadKind::PhoneOnly => (Some(typed(rng, &p.phones[0].phone)), None, Some(owner)),
            LeadKind::RelativePhone => {
                let shared = p
                    .phones
                    .last()
                    .map(|s| s.phone.clone())
                    .unwrap_or_else(|| p.phones[0].phone.clone());
                (Some(typed(rng, &shared)), None, Some(owner))
            }
            LeadKind::Split => {
                let other = &self.people[(owner + 3) % self.people.len()];
                (
                    Some(typed(rng, &p.phones[0].phone)),
                    Some(other.emails[0].to_string()),
                    Some(owner),
                )
            }
            LeadKind::NoContact
            | LeadKind::Household
            | LeadKind::SharedLine
            | LeadKind::Recycled
            | LeadKind::RelativeEmail => (None, None, None),
            LeadKind::Unknown => {
                let nobody = synth::mobile(rng);
                (
                    Some(typed(rng, &nobody)),
                    Some(format!("ninguem{i}@semcadastro.com.br")),
                    None,
                )
            }
        };
        let first = p.name.split(' ').next().unwrap_or("CLIENTE");
        let last = p.name.rsplit(' ').next().unwrap_or("");
        let day = 1 + (i % 28);
        let stamp = format!("2026-11-{day:02}T{:02}:{:02}:00-03:00", 8 + i % 12, i % 60);
        SimLead {
            id: hex_id(rng),
            internal_id: 40_000 + i as u64,
            name: titlecase(&format!("{first} {last}")),
            phone,
            email,
            kind,
            person,
            created_at: stamp.clone(),
            updated_at: stamp,
            description: (!i.is_multiple_of(3))
                .then(|| "Gostaria de agendar uma visita.".to_owned()),
            source: (!i.is_multiple_of(4)).then(|| "Site".to_owned()),
            seller_id: Some(format!("s-{}", i % 7)),
            confounders: Vec::new(),
            resolvable: person.is_some(),
        }
    }

    /// Who Diretrix returns for a number.
    pub fn by_phone(&self, national: &str) -> &[usize] {
        self.by_phone.get(national).map_or(&[], Vec::as_slice)
    }

    /// Who the Work API returns for a number.
    pub fn by_phone_work(&self, national: &str) -> &[usize] {
        self.by_phone_work.get(national).map_or(&[], Vec::as_slice)
    }

    /// Companies registered on a number.
    pub fn companies_on(&self, national: &str) -> &[(Cnpj, String)] {
        self.company_lines.get(national).map_or(&[], Vec::as_slice)
    }

    pub fn by_email(&self, email: &str) -> &[usize] {
        self.by_email.get(email).map_or(&[], Vec::as_slice)
    }

    pub fn by_cpf(&self, digits: &str) -> Option<&Person> {
        self.by_cpf.get(digits).map(|i| &self.people[*i])
    }
}

pub(crate) fn titlecase(s: &str) -> String {
    s.split(' ')
        .map(|w| {
            let lower = w.to_lowercase();
            let mut c = lower.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_world() {
        let a = Population::generate(42, 30);
        let b = Population::generate(42, 30);
        assert_eq!(
            a.leads.iter().map(|l| l.id.clone()).collect::<Vec<_>>(),
            b.leads.iter().map(|l| l.id.clone()).collect::<Vec<_>>()
        );
        assert_eq!(a.people[7].cpf, b.people[7].cpf);
        assert_ne!(Population::generate(43, 30).leads[0].id, a.leads[0].id);
    }

    #[test]
    fn every_lead_kind_occurs_and_lookups_find_the_owner() {
        let pop = Population::generate(1, 20);
        for kind in [
            LeadKind::Owner,
            LeadKind::PhoneOnly,
            LeadKind::RelativePhone,
            LeadKind::Split,
            LeadKind::NoContact,
            LeadKind::Unknown,
        ] {
            assert!(pop.leads.iter().any(|l| l.kind == kind), "{kind:?}");
        }
        let lead = pop
            .leads
            .iter()
            .find(|l| l.kind == LeadKind::Owner)
            .expect("owner lead");
        let phone = PhoneBr::parse(lead.phone.as_deref().expect("phone")).expect("valid");
        assert!(pop
            .by_phone(phone.national())
            .contains(&lead.person.expect("person")));
        let shared = pop
            .leads
            .iter()
            .find(|l| l.kind == LeadKind::RelativePhone)
            .expect("relative lead");
        let phone = PhoneBr::parse(shared.phone.as_deref().expect("phone")).expect("valid");
        assert_eq!(
            pop.by_phone(phone.national()).len(),
            2,
            "a shared home line belongs to two people"
        );
    }
}
