//! Families as registries write them, and names as people type them.

#[allow(unused_imports)]
use super::*;

pub(super) const FEMALE: [&str; 20] = [
    "ANA", "MARIA", "HELENA", "JULIANA", "BEATRIZ", "LUCIA", "FERNANDA", "CAMILA", "PATRICIA",
    "MARIANA", "GABRIELA", "CAROLINA", "TATIANA", "RAFAELA", "ISABELA", "EDUARDA", "VIVIANE",
    "CRISTINA", "NATALIA", "TEREZA",
];
pub(super) const MALE: [&str; 20] = [
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
pub(super) const RARE: [&str; 12] = [
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

pub(super) fn surname(rng: &mut StdRng) -> String {
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

pub(super) fn given(rng: &mut StdRng, female: bool) -> &'static str {
    if female {
        FEMALE[rng.gen_range(0..FEMALE.len())]
    } else {
        MALE[rng.gen_range(0..MALE.len())]
    }
}

pub(super) fn own_phone(rng: &mut StdRng) -> SimPhone {
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

pub(super) fn member(
    rng: &mut StdRng,
    name: String,
    female: bool,
    born: std::ops::Range<u32>,
) -> Person {
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
pub(super) struct Family {
    pub(super) father: usize,
    pub(super) mother: usize,
    pub(super) children: Vec<usize>,
    /// The father's surname the mother would add when married.
    pub(super) family_surname: String,
    /// The mother's registry name lacks it (she kept her maiden name).
    pub(super) mother_maiden_only: bool,
}

pub(super) fn family(rng: &mut StdRng, people: &mut Vec<Person>) -> Family {
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
pub(super) fn typed_name(
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
