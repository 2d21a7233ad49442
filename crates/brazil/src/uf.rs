//! UF — the 27 federative units (26 states and the Federal District).

use std::fmt;

use crate::name::normalize_name;

macro_rules! ufs {
    ($($code:ident => $name:literal),+ $(,)?) => {
        /// One of the 27 Brazilian federative units.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Uf { $($code),+ }

        impl Uf {
            /// All 27, in alphabetical order of code.
            pub const ALL: [Uf; 27] = [$(Uf::$code),+];

            /// The two-letter code, e.g. `SP`.
            pub fn code(self) -> &'static str {
                match self { $(Uf::$code => stringify!($code)),+ }
            }

            /// The full name, e.g. `São Paulo`.
            pub fn name(self) -> &'static str {
                match self { $(Uf::$code => $name),+ }
            }
        }
    };
}

ufs! {
    AC => "Acre", AL => "Alagoas", AM => "Amazonas", AP => "Amapá", BA => "Bahia",
    CE => "Ceará", DF => "Distrito Federal", ES => "Espírito Santo", GO => "Goiás",
    MA => "Maranhão", MG => "Minas Gerais", MS => "Mato Grosso do Sul", MT => "Mato Grosso",
    PA => "Pará", PB => "Paraíba", PE => "Pernambuco", PI => "Piauí", PR => "Paraná",
    RJ => "Rio de Janeiro", RN => "Rio Grande do Norte", RO => "Rondônia", RR => "Roraima",
    RS => "Rio Grande do Sul", SC => "Santa Catarina", SE => "Sergipe", SP => "São Paulo",
    TO => "Tocantins",
}

/// Why a value is not a UF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UfError {
    #[error("UF is empty")]
    Empty,
    #[error("not one of the 27 Brazilian federative units")]
    Unknown,
}

impl Uf {
    /// Parses a code (`SP`, `sp`) or a full name in any case, with or without
    /// accents (`São Paulo`, `SAO PAULO`).
    pub fn parse(input: &str) -> Result<Self, UfError> {
        let key = normalize_name(input);
        if key.is_empty() {
            return Err(UfError::Empty);
        }
        Self::ALL
            .into_iter()
            .find(|uf| uf.code() == key || normalize_name(uf.name()) == key)
            .ok_or(UfError::Unknown)
    }
}

impl fmt::Display for Uf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

text_type!(Uf, UfError, |v| v.code());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_codes_in_any_case_and_full_names_with_or_without_accents() {
        for raw in ["SP", "sp", " Sp ", "São Paulo", "SAO PAULO", "sao paulo"] {
            assert_eq!(Uf::parse(raw), Ok(Uf::SP), "{raw}");
        }
        assert_eq!(Uf::parse("Rio Grande do Sul"), Ok(Uf::RS));
        assert_eq!(Uf::parse("distrito federal"), Ok(Uf::DF));
    }

    #[test]
    fn refuses_what_is_not_one_of_the_27() {
        assert_eq!(Uf::parse("S"), Err(UfError::Unknown));
        assert_eq!(Uf::parse("XX"), Err(UfError::Unknown));
        assert_eq!(Uf::parse("  "), Err(UfError::Empty));
        assert_eq!(Uf::ALL.len(), 27);
    }
}
