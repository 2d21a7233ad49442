//! The rows: each a pure function of (seed, table, row number), with production's dirt in the legacy shape.

#[allow(unused_imports)]
use super::*;

/// A well-mixed 64-bit value from (seed, stream, index): rows are pure functions.
pub(super) fn mix(seed: u64, stream: u64, i: u64) -> u64 {
    let mut z =
        seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub(super) fn row_rng(seed: u64, stream: u64, i: u64) -> StdRng {
    StdRng::seed_from_u64(mix(seed, stream, i))
}

pub(super) fn uuid_of(seed: u64, stream: u64, i: u64) -> Uuid {
    let hi = mix(seed, stream, 2 * i);
    let lo = mix(seed, stream, 2 * i + 1);
    uuid::Builder::from_random_bytes(((u128::from(hi) << 64) | u128::from(lo)).to_be_bytes())
        .into_uuid()
}

pub(super) const ENTITY: u64 = 1;
pub(super) const PHONE: u64 = 2;
pub(super) const EMAIL: u64 = 3;
pub(super) const ADDRESS: u64 = 4;
pub(super) const LINK: u64 = 5;
pub(super) const PROFILE: u64 = 6;
pub(super) const PROPERTY: u64 = 7;

pub(super) fn entity_id(seed: u64, i: u64) -> Uuid {
    uuid_of(seed, ENTITY, i)
}

pub(super) fn address_id(seed: u64, i: u64) -> Uuid {
    uuid_of(seed, ADDRESS, i)
}

/// A unique valid CPF per entity: a bijection of the index onto 9-digit bases
/// (3^18 is coprime with 10^9), then the check digits.
pub(super) fn cpf_of(seed: u64, i: u64) -> Option<Cpf> {
    let base = (i
        .wrapping_mul(387_420_489)
        .wrapping_add(seed % 1_000_000_000))
        % 1_000_000_000;
    let mut digits = [0u8; 9];
    let mut n = base;
    for d in digits.iter_mut().rev() {
        *d = (n % 10) as u8;
        n /= 10;
    }
    Cpf::from_base(digits).ok()
}

pub(super) fn ts(rng: &mut StdRng, from_days: i64, span_days: i64) -> String {
    let base =
        chrono::DateTime::<chrono::Utc>::from_timestamp(1_577_836_800, 0).unwrap_or_default(); // 2020-01-01
    let t = base
        + chrono::Duration::days(from_days + rng.gen_range(0..span_days.max(1)))
        + chrono::Duration::seconds(rng.gen_range(0..86_400));
    t.format("%Y-%m-%d %H:%M:%S+00").to_string()
}

pub(super) const STREET_CODES: [&str; 8] = ["R", "R", "R", "AV", "AV", "AL", "TV", "PC"];
pub(super) const DIRTY_STREET_TYPES: [&str; 8] = [
    "AVENIDA",
    "RUA",
    "VIA ACESSO",
    "{R}",
    "Av.",
    "ALAMEDA",
    "INVALIDO",
    "TRAV",
];
pub(super) const STREETS: [&str; 10] = [
    "DAS PALMEIRAS",
    "AUGUSTA",
    "OSCAR FREIRE",
    "GABRIEL MONTEIRO DA SILVA",
    "EUROPA",
    "BRIGADEIRO FARIA LIMA",
    "HADDOCK LOBO",
    "DOS BANDEIRANTES",
    "SANTOS",
    "BELA CINTRA",
];
pub(super) const CITIES: [(&str, &str); 6] = [
    ("SAO PAULO", "SP"),
    ("SAO PAULO", "SP"),
    ("GUARUJA", "SP"),
    ("CAMPINAS", "SP"),
    ("RIO DE JANEIRO", "RJ"),
    ("BELO HORIZONTE", "MG"),
];
pub(super) const NEIGHBORHOODS: [&str; 6] = [
    "JARDIM EUROPA",
    "JARDIM AMERICA",
    "ITAIM BIBI",
    "PINHEIROS",
    "MOEMA",
    "CENTRO",
];
pub(super) const PROPERTY_TYPES: [&str; 6] = [
    "APARTAMENTO",
    "APARTAMENTO",
    "CASA",
    "COBERTURA",
    "CASA_CONDOMINIO",
    "TERRENO",
];

pub(super) fn phone_text(phone: &PhoneBr, rng: &mut StdRng, legacy: bool) -> (String, bool) {
    let national = phone.national().to_owned();
    if !legacy {
        return (national, true);
    }
    let ddd = &national[..2];
    let rest = &national[2..];
    match rng.gen_range(0..100) {
        0..=59 => (national.clone(), true),
        60..=74 => (
            format!(
                "({ddd}) {}-{}",
                &rest[..rest.len() - 4],
                &rest[rest.len() - 4..]
            ),
            true,
        ),
        75..=84 => (format!("+55 {ddd} {rest}"), true),
        85..=98 => (format!("55{national}"), true),
        // No DDD: not a usable Brazilian number (the hardening archives it).
        _ => (rest.to_owned(), false),
    }
}

pub(super) fn cep_text(rng: &mut StdRng, legacy: bool) -> Option<String> {
    let cep = brazil::synth::cep(rng);
    let d = cep.digits().to_owned();
    if !legacy {
        return Some(d);
    }
    Some(match rng.gen_range(0..100) {
        0..=92 => d,
        93..=95 => format!("{}-{}", &d[..5], &d[5..]),
        96 => d.trim_start_matches('0').chars().take(7).collect(),
        97 => d[..4].to_owned(),
        98 => "ABCDEFGH".to_owned(),
        _ => return None,
    })
}

pub(super) fn uf_text(uf: Uf, rng: &mut StdRng, legacy: bool) -> Option<String> {
    let code = uf.code().to_owned();
    if !legacy {
        return Some(code);
    }
    match rng.gen_range(0..100) {
        0..=94 => Some(code),
        95 | 96 => Some(code.to_lowercase()),
        97 => Some(uf.name().to_owned()),
        98 => Some(code[..1].to_owned()),
        _ => None,
    }
}

/// A row generator: writes row `i` of its table.
pub(super) type Row = fn(&Gen, u64, &mut String);

/// What every row generator needs: rows are pure functions of these and
/// their number.
#[derive(Clone, Copy)]
pub(super) struct Gen {
    pub(super) seed: u64,
    pub(super) legacy: bool,
    pub(super) plan: Plan,
}

impl Gen {
    /// Phone rows: one per entity first, then second numbers (`singles`),
    /// then (legacy) exact duplicates of a person's number.
    pub(super) fn phone_rows(&self) -> (u64, u64) {
        let duplicates = if self.legacy {
            self.plan.duplicate_phone_pairs
        } else {
            0
        };
        (self.plan.phones.saturating_sub(duplicates), duplicates)
    }

    pub(super) fn entity(&self, i: u64, buf: &mut String) {
        let Gen { seed, .. } = *self;
        let mut rng = row_rng(seed, ENTITY, i);
        let name = brazil::synth::person_name(&mut rng);
        let enriched = rng.gen_bool(ENRICHED_SHARE);
        let created = ts(&mut rng, 0, 1800);
        let enriched_at = enriched.then(|| ts(&mut rng, 1800, 300));
        let cpf = cpf_of(seed, i);
        line(buf)
            .text(&entity_id(seed, i).to_string())
            .opt(cpf.as_ref().map(Cpf::digits))
            .text("person")
            .text(&name)
            .text(&brazil::normalize_name(&name))
            .text(if enriched { "t" } else { "f" })
            .opt(enriched_at.as_deref())
            .opt(enriched.then_some("work_api"))
            .opt(enriched.then_some("0.900"))
            .text("{}")
            .text("t")
            .text(&created)
            .text(&created)
            .end();
    }

    pub(super) fn profile(&self, i: u64, buf: &mut String) {
        let Gen { seed, .. } = *self;
        let mut rng = row_rng(seed, PROFILE, i);
        let birth = format!(
            "{}-{:02}-{:02}",
            rng.gen_range(1940..2005),
            rng.gen_range(1..=12),
            rng.gen_range(1..=28)
        );
        let created = ts(&mut rng, 0, 1800);
        line(buf)
            .text(&entity_id(seed, i).to_string())
            .text(if rng.gen_bool(0.5) { "F" } else { "M" })
            .text(&birth)
            .text("BRASILEIRA")
            .opt(rng.gen_bool(0.6).then_some("CASADO(A)"))
            .stamps(&created);
    }

    pub(super) fn phone(&self, i: u64, buf: &mut String) {
        let Gen {
            seed, legacy, plan, ..
        } = *self;
        let (singles, _) = self.phone_rows();
        // Row i < singles: entity (i mod entities), its k-th number; else a
        // duplicate of the first number of entity (i - singles).
        let (owner, k) = if i < singles {
            (i % plan.entities, i / plan.entities)
        } else {
            (i - singles, 0)
        };
        let mut rng = row_rng(seed, PHONE, owner * 8 + k);
        let mobile = rng.gen_bool(0.8);
        let phone = if mobile {
            brazil::synth::mobile(&mut rng)
        } else {
            brazil::synth::landline(&mut rng)
        };
        let (text, usable) = phone_text(&phone, &mut rng, legacy);
        let e164 = (!legacy && usable).then(|| phone.e164());
        let created = ts(&mut rng, 0, 1800);
        line(buf)
            .text(&uuid_of(seed, PHONE, i).to_string())
            .text(&entity_id(seed, owner).to_string())
            .text(&text)
            .opt(e164.as_deref())
            .text(if mobile { "mobile" } else { "landline" })
            .text(if k == 0 { "t" } else { "f" })
            .text("f")
            .text(if mobile && rng.gen_bool(0.5) {
                "t"
            } else {
                "f"
            })
            .stamps(&created);
    }

    pub(super) fn email(&self, i: u64, buf: &mut String) {
        let Gen {
            seed, legacy, plan, ..
        } = *self;
        let owner = i % plan.entities;
        let mut rng = row_rng(seed, EMAIL, i);
        let name = brazil::synth::person_name(&mut row_rng(seed, ENTITY, owner));
        let email = brazil::synth::email_for(&mut rng, &name);
        let text = if legacy && rng.gen_bool(0.05) {
            email.as_str().to_uppercase()
        } else {
            email.as_str().to_owned()
        };
        let created = ts(&mut rng, 0, 1800);
        line(buf)
            .text(&uuid_of(seed, EMAIL, i).to_string())
            .text(&entity_id(seed, owner).to_string())
            .text(&text)
            .text("personal")
            .text(if i < plan.entities { "t" } else { "f" })
            .text("f")
            .stamps(&created);
    }

    pub(super) fn address(&self, i: u64, buf: &mut String) {
        let Gen { seed, legacy, .. } = *self;
        let mut rng = row_rng(seed, ADDRESS, i);
        let street_type = if legacy && rng.gen_bool(0.25) {
            DIRTY_STREET_TYPES[rng.gen_range(0..DIRTY_STREET_TYPES.len())]
        } else {
            STREET_CODES[rng.gen_range(0..STREET_CODES.len())]
        };
        let street = STREETS[rng.gen_range(0..STREETS.len())];
        let number = rng.gen_range(1..4000).to_string();
        let complement = rng
            .gen_bool(0.4)
            .then(|| format!("AP {}", rng.gen_range(1..300)));
        let (city, state) = CITIES[rng.gen_range(0..CITIES.len())];
        let uf = Uf::parse(state).unwrap_or(Uf::SP);
        let zip = cep_text(&mut rng, legacy);
        // Unique per row; legacy repeats a few (the hardening clears them).
        let hash_of = if legacy && i > 0 && rng.gen_bool(0.0005) {
            i - 1
        } else {
            i
        };
        let hash = format!(
            "{:016x}{:016x}",
            mix(seed, 40, hash_of),
            mix(seed, 41, hash_of)
        );
        let created = ts(&mut rng, 0, 1800);
        line(buf)
            .text(&address_id(seed, i).to_string())
            .text(street_type)
            .text(street)
            .text(&number)
            .opt(complement.as_deref())
            .text(NEIGHBORHOODS[rng.gen_range(0..NEIGHBORHOODS.len())])
            .text(city)
            .opt(uf_text(uf, &mut rng, legacy).as_deref())
            .opt(zip.as_deref())
            .text(&hash)
            .text("t")
            .text("f")
            .text(&created)
            .text(&created)
            .end();
    }

    pub(super) fn link(&self, i: u64, buf: &mut String) {
        let Gen { seed, plan, .. } = *self;
        let mut rng = row_rng(seed, LINK, i);
        // Distinct (entity, address) pairs: entity i, address i (both exist: links ≪ both).
        let created = ts(&mut rng, 0, 1800);
        let confidence = ["0.90", "0.75", "0.50"][rng.gen_range(0..3)];
        line(buf)
            .text(&uuid_of(seed, LINK, i).to_string())
            .text(&entity_id(seed, i % plan.entities).to_string())
            .text(&address_id(seed, i % plan.addresses).to_string())
            .text("residential")
            .text("t")
            .text("t")
            .text(confidence)
            .text("f")
            .stamps(&created);
    }

    pub(super) fn property(&self, i: u64, buf: &mut String) {
        let Gen { seed, plan, .. } = *self;
        let mut rng = row_rng(seed, PROPERTY, i);
        let kind = PROPERTY_TYPES[rng.gen_range(0..PROPERTY_TYPES.len())];
        let area = rng.gen_range(40..1200);
        let price = area * rng.gen_range(9_000..35_000);
        let created = ts(&mut rng, 0, 1800);
        let mut title = String::new();
        let _ = write!(title, "{kind} {area} M2");
        line(buf)
            .text(&uuid_of(seed, PROPERTY, i).to_string())
            .text(kind)
            .text(&address_id(seed, rng.gen_range(0..plan.addresses)).to_string())
            .text(&title)
            .text(&format!("{area}.00"))
            .text(&format!("{price}.00"))
            .stamps(&created);
    }
}
