//! A note as posted, given back to the person it is about: what it says of
//! anyone else is taken out — the other person's block of a "different
//! people" note, every CPF but theirs (masked), the relatives' names (as
//! initials; their degree stays).

/// The person's own CPF, to keep in clear.
pub(super) fn for_subject(text: &str, own_cpf: Option<&brazil::Cpf>) -> String {
    let own = own_cpf.map(brazil::Cpf::digits);
    let kept = keep_own_block(text, own);
    let masked = mask_cpfs(&kept, own);
    relatives_as_initials(&masked)
}

fn digits_of(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// In a "different people" note, the person's block and the lines before
/// the blocks; the other block is named, not shown.
fn keep_own_block(text: &str, own: Option<&str>) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let starts: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with("═══ PESSOA"))
        .map(|(i, _)| i)
        .collect();
    if starts.is_empty() {
        return text.to_owned();
    }
    let mut out: Vec<String> = lines[..starts[0]].iter().map(|l| (*l).to_owned()).collect();
    for (n, &start) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(lines.len());
        let block = &lines[start..end];
        let theirs = own.is_some_and(|cpf| block.iter().any(|l| digits_of(l).contains(cpf)));
        if theirs {
            out.extend(block.iter().map(|l| (*l).to_owned()));
        } else {
            out.push("═══ OUTRA PESSOA — omitida (dados de terceiro) ═══".to_owned());
            out.push(String::new());
        }
    }
    let mut joined = out.join("\n");
    if text.ends_with('\n') {
        joined.push('\n');
    }
    joined
}

/// Every CPF (`123.456.789-09`, or 11 digits standing alone whose check
/// digits hold) but `own`, masked.
fn mask_cpfs(text: &str, own: Option<&str>) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let before_ok = i == 0 || !chars[i - 1].is_ascii_digit();
        if let Some(len) = before_ok.then(|| cpf_at(&chars[i..])).flatten() {
            let found: String = chars[i..i + len].iter().collect();
            let digits = digits_of(&found);
            if own == Some(digits.as_str()) {
                out.push_str(&found);
            } else {
                out.push_str(
                    &brazil::Cpf::parse(&digits).map_or_else(|_| "***".to_owned(), |c| c.masked()),
                );
            }
            i += len;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// The length of a CPF written at the start of `s`, not followed by a digit.
fn cpf_at(s: &[char]) -> Option<usize> {
    const FORMATTED: &str = "ddd.ddd.ddd-dd";
    let is_formatted = s.len() >= FORMATTED.len()
        && FORMATTED.chars().zip(s).all(|(p, c)| {
            if p == 'd' {
                c.is_ascii_digit()
            } else {
                *c == p
            }
        });
    let len = if is_formatted {
        FORMATTED.len()
    } else if s.len() >= 11
        && s[..11].iter().all(char::is_ascii_digit)
        && brazil::Cpf::parse(&s[..11].iter().collect::<String>()).is_ok()
    {
        // Bare digits only when their check digits hold: a phone written
        // without punctuation is not a CPF.
        11
    } else {
        return None;
    };
    (!s.get(len).is_some_and(char::is_ascii_digit)).then_some(len)
}

/// The numbered lines under `👪 PARENTES`: `1. NAME (Degree)` becomes
/// `1. N. N. (Degree)`.
fn relatives_as_initials(text: &str) -> String {
    let mut in_relatives = false;
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with("👪 PARENTES") {
            in_relatives = true;
            out.push(line.to_owned());
            continue;
        }
        let numbered = line
            .split_once(". ")
            .filter(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        match numbered {
            Some((n, rest)) if in_relatives => {
                let (name, degree) = match rest.rfind(" (") {
                    Some(at) if rest.ends_with(')') => (&rest[..at], &rest[at..]),
                    _ => (rest, ""),
                };
                out.push(format!("{n}. {}{degree}", brazil::initials(name)));
            }
            _ => {
                in_relatives = false;
                out.push(line.to_owned());
            }
        }
    }
    let mut joined = out.join("\n");
    if text.ends_with('\n') {
        joined.push('\n');
    }
    joined
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_other_person_their_cpfs_and_relatives_names_are_taken_out() {
        let own = brazil::Cpf::parse("52998224725").expect("cpf");
        let note = "⚠️ Telefone e e-mail relacionados a PESSOAS DIFERENTES!\n\n\
                    ═══ PESSOA 1 (Telefone: (11) 98765-4321) ═══\nNome: JOAO DA SILVA\nCPF: 111.444.777-35\nRenda: R$ 9.000,00\n\n\
                    ═══ PESSOA 2 (E-mail: helena@x.com) ═══\nNome: HELENA COSTA\nCPF: 529.982.247-25\n\
                    👪 PARENTES\n1. LUCIA MARQUES DA COSTA (Mãe)\n2. PEDRO LIMA (Filho(a))\n\n\
                    Outro número 11144477735 e 123456789012345, fone 11987654321\n";
        let out = for_subject(note, Some(&own));
        assert!(
            !out.contains("JOAO DA SILVA") && !out.contains("9.000"),
            "{out}"
        );
        assert!(out.contains("OUTRA PESSOA — omitida"));
        assert!(out.contains("CPF: 529.982.247-25"), "own CPF kept: {out}");
        assert!(!out.contains("11144477735"), "{out}");
        assert!(
            out.contains("123456789012345"),
            "a longer number is not a CPF"
        );
        assert!(
            out.contains("fone 11987654321"),
            "a phone is not a CPF: {out}"
        );
        assert!(out.contains("1. L. M. C. (Mãe)"), "{out}");
        assert!(out.contains("2. P. L. (Filho(a))"), "{out}");
        assert!(!out.contains("LUCIA") && !out.contains("PEDRO"));
        assert!(out.ends_with('\n'));
    }

    #[test]
    fn a_one_person_note_keeps_everything_of_theirs() {
        let own = brazil::Cpf::parse("52998224725").expect("cpf");
        let note =
            "📞 Encontrado pelo telefone\nNome: HELENA\nCPF: 529.982.247-25\n1. não é parente\n";
        assert_eq!(for_subject(note, Some(&own)), note);
    }
}
