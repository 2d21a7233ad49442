//! Generators of synthetic, valid values for the provider sandbox, fixtures and
//! benchmarks (feature `synth`). Deterministic for a seeded RNG; the people they
//! describe do not exist.

use rand::Rng;

use crate::{Cep, Cnpj, Cpf, Email, PhoneBr, Uf, VALID_DDDS};

const GIVEN: [&str; 24] = [
    "ANA", "MARIA", "HELENA", "JULIA", "BEATRIZ", "LUCIA", "FERNANDA", "CAMILA", "PATRICIA",
    "MARIANA", "JOAO", "PEDRO", "LUCAS", "GABRIEL", "RAFAEL", "CARLOS", "PAULO", "MARCOS",
    "RICARDO", "FELIPE", "ANDRE", "BRUNO", "TIAGO", "EDUARDO",
];
const FAMILY: [&str; 20] = [
    "SILVA",
    "SANTOS",
    "OLIVEIRA",
    "SOUZA",
    "RODRIGUES",
    "FERREIRA",
    "ALVES",
    "PEREIRA",
    "LIMA",
    "GOMES",
    "COSTA",
    "RIBEIRO",
    "MARTINS",
    "CARVALHO",
    "ALMEIDA",
    "LOPES",
    "SOARES",
    "VIEIRA",
    "BARBOSA",
    "MARQUES",
];
const MAIL_DOMAINS: [&str; 5] = [
    "gmail.com",
    "hotmail.com",
    "outlook.com",
    "uol.com.br",
    "yahoo.com.br",
];

fn digits<const N: usize, R: Rng + ?Sized>(rng: &mut R) -> [u8; N] {
    std::array::from_fn(|_| rng.gen_range(0..=9))
}

/// A random valid CPF.
pub fn cpf<R: Rng + ?Sized>(rng: &mut R) -> Cpf {
    loop {
        // Only the eleven repeated-digit bases fail; retry them.
        if let Ok(c) = Cpf::from_base(digits(rng)) {
            return c;
        }
    }
}

/// A random valid CNPJ (head office, branch 0001).
pub fn cnpj<R: Rng + ?Sized>(rng: &mut R) -> Cnpj {
    loop {
        let mut base: [u8; 12] = digits(rng);
        base[8..].copy_from_slice(&[0, 0, 0, 1]);
        if let Ok(c) = Cnpj::from_base(base) {
            return c;
        }
    }
}

/// A random valid mobile number with a DDD in service.
pub fn mobile<R: Rng + ?Sized>(rng: &mut R) -> PhoneBr {
    let (ddd, _) = VALID_DDDS[rng.gen_range(0..VALID_DDDS.len())];
    let sub: u32 = rng.gen_range(0..100_000_000);
    PhoneBr::parse(&format!("{ddd:02}9{sub:08}")).unwrap_or_else(|_| mobile(rng))
}

/// A random valid landline with a DDD in service.
pub fn landline<R: Rng + ?Sized>(rng: &mut R) -> PhoneBr {
    let (ddd, _) = VALID_DDDS[rng.gen_range(0..VALID_DDDS.len())];
    let first = rng.gen_range(2..=5);
    let sub: u32 = rng.gen_range(0..10_000_000);
    PhoneBr::parse(&format!("{ddd:02}{first}{sub:07}")).unwrap_or_else(|_| landline(rng))
}

/// A random CEP (not necessarily assigned by the post office).
pub fn cep<R: Rng + ?Sized>(rng: &mut R) -> Cep {
    let n: u32 = rng.gen_range(1_000_000..100_000_000);
    Cep::parse(&format!("{n:08}")).unwrap_or_else(|_| cep(rng))
}

/// A random federative unit.
pub fn uf<R: Rng + ?Sized>(rng: &mut R) -> Uf {
    Uf::ALL[rng.gen_range(0..Uf::ALL.len())]
}

/// A random full name in registry form: `GIVEN [GIVEN|FAMILY] DA FAMILY`.
pub fn person_name<R: Rng + ?Sized>(rng: &mut R) -> String {
    let given = GIVEN[rng.gen_range(0..GIVEN.len())];
    let middle = FAMILY[rng.gen_range(0..FAMILY.len())];
    let last = FAMILY[rng.gen_range(0..FAMILY.len())];
    let particle = if rng.gen_bool(0.3) { " DA" } else { "" };
    format!("{given} {middle}{particle} {last}")
}

/// A plausible e-mail address for `name`.
pub fn email_for<R: Rng + ?Sized>(rng: &mut R, name: &str) -> Email {
    let parts: Vec<String> = crate::normalize_name(name)
        .to_lowercase()
        .split(' ')
        .filter(|p| p.len() > 2)
        .map(str::to_owned)
        .collect();
    let local = match parts.as_slice() {
        [] => "cliente".to_owned(),
        [one] => one.clone(),
        [first, .., last] => format!("{first}.{last}"),
    };
    let n: u16 = rng.gen_range(1..2000);
    let domain = MAIL_DOMAINS[rng.gen_range(0..MAIL_DOMAINS.len())];
    Email::parse(&format!("{local}{n}@{domain}")).unwrap_or_else(|_| email_for(rng, "cliente"))
}

#[cfg(test)]
mod tests {
    use rand::{rngs::StdRng, SeedableRng};

    use super::*;

    #[test]
    fn generators_are_deterministic_for_a_seed_and_produce_valid_values() {
        let mut a = StdRng::seed_from_u64(7);
        let mut b = StdRng::seed_from_u64(7);
        for _ in 0..500 {
            assert_eq!(cpf(&mut a), cpf(&mut b));
            let m = mobile(&mut a);
            assert_eq!(m, mobile(&mut b));
            assert_eq!(PhoneBr::parse(&m.e164()), Ok(m));
            assert_eq!(landline(&mut a), landline(&mut b));
            assert_eq!(cnpj(&mut a), cnpj(&mut b));
            assert_eq!(cep(&mut a), cep(&mut b));
            let name = person_name(&mut a);
            assert_eq!(name, person_name(&mut b));
            assert_eq!(email_for(&mut a, &name), email_for(&mut b, &name));
        }
    }
}
