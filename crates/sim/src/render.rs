//! The providers' real JSON shapes, rendered from the synthetic population.

use serde_json::{json, Value};

use crate::population::{Person, Population, SimLead};

/// A C2S lead object (the `data` of `GET /integration/leads/{id}`).
pub fn c2s_lead(lead: &SimLead) -> Value {
    json!({
        "id": lead.id,
        "type": "lead",
        "internal_id": lead.internal_id,
        "attributes": {
            "customer": {
                "id": format!("c-{}", lead.internal_id),
                "name": lead.name,
                "email": lead.email,
                "phone": lead.phone,
                "phone2": null,
                "phone_global": null,
            },
            "seller": lead.seller_id.as_ref().map(|id| json!({"id": id, "name": format!("Corretor {id}"), "email": "corretor@sandbox.invalid"})),
            "product": null,
            "lead_source": lead.source.as_ref().map(|s| json!({"id": 493, "name": s})),
            "lead_status": {"id": 0, "alias": "new", "name": "Novo"},
            "channel": {"name": "Portal"},
            "description": lead.description,
            "observation": null,
            "created_at": lead.created_at,
            "updated_at": lead.updated_at,
        }
    })
}

/// Diretrix's answer: `[{"nome", "cpf"}]` (CPFs formatted, as it sometimes sends).
pub fn diretrix(pop: &Population, people: &[usize]) -> Value {
    Value::Array(
        people
            .iter()
            .map(|i| {
                let p = &pop.people[*i];
                json!({"nome": p.name, "cpf": p.cpf.to_string()})
            })
            .collect(),
    )
}

/// Work API `modulo=phone`: `{"msg": [{"cpf_cnpj" (14 chars), "nome"}]}`, a
/// company of the owner mixed in, the owner not always first.
pub fn work_phone(pop: &Population, national: &str) -> Value {
    let people = pop.by_phone_work(national);
    let mut msg: Vec<Value> = pop
        .companies_on(national)
        .iter()
        .map(|(cnpj, name)| json!({"cpf_cnpj": cnpj.digits(), "nome": name}))
        .collect();
    for i in people.iter().rev() {
        let p = &pop.people[*i];
        if let Some((cnpj, _, _)) = p.companies.first() {
            msg.push(json!({"cpf_cnpj": cnpj.digits(), "nome": format!("{} LTDA", p.name)}));
        }
        msg.push(json!({"cpf_cnpj": format!("000{}", p.cpf.digits()), "nome": p.name}));
    }
    json!({ "msg": msg })
}

fn money(cents: u64) -> String {
    format!("{},{:02}", cents / 100, cents % 100)
}

fn band(cents: u64) -> (&'static str, &'static str) {
    match cents / 100 {
        0..=3000 => ("MEDIO", "De R$ 1501 até R$ 3000"),
        3001..=7018 => ("ALTO", "De R$ 3001 até R$ 7018"),
        7019..=15000 => ("MUITO ALTO", "De R$ 7019 até R$ 15000"),
        _ => ("ALTISSIMO", "Acima de R$ 15000"),
    }
}

fn risk(score: u32) -> &'static str {
    match score {
        0..=299 => "ALTISSIMO RISCO",
        300..=499 => "ALTO RISCO",
        500..=699 => "MEDIO RISCO",
        700..=899 => "BAIXO RISCO",
        _ => "BAIXISSIMO RISCO",
    }
}

/// The dossier's `telefones`.
fn phones(p: &Person) -> Vec<Value> {
    // The first number is listed twice (as "TELEFONE MÓVEL" and again), as the
    // real API often does.
    p.phones
        .iter()
        .chain(p.phones.first())
        .map(|ph| {
            let mobile = ph.phone.kind() == brazil::PhoneKind::Mobile;
            json!({
                "telefone": ph.phone.national(),
                "tipo": if mobile { "TELEFONE MÓVEL" } else { "TELEFONE RESIDENCIAL" },
                "status": if ph.active { "ATIVO" } else { "INATIVO" },
                "operadora": if mobile { "VIVO" } else { "TELEFONICA" },
                "whatsapp": if ph.whatsapp { Value::from("SIM") } else { Value::Null },
            })
        })
        .collect()
}

/// The dossier's `parentes`: the relatives with their CPFs, and the mother
/// always named.
fn relatives(pop: &Population, p: &Person) -> Vec<Value> {
    let mut parentes: Vec<Value> = p
        .relatives
        .iter()
        .map(|(i, degree)| {
            let r = &pop.people[*i];
            json!({"nomeParente": r.name, "cpfParente": r.cpf.digits(), "grauParentesco": degree})
        })
        .collect();
    if !p.relatives.iter().any(|(_, d)| *d == "MAE") {
        // The mother is always named, with her CPF when the registry has it.
        parentes
            .push(json!({"nomeParente": p.mother, "cpfParente": null, "grauParentesco": "MAE"}));
    }
    parentes
}

/// Work API `modulo=cpf`: the 25-key dossier.
pub fn work_dossier(pop: &Population, p: &Person) -> Value {
    let (power, range) = band(p.income_cents);
    let telefones = phones(p);
    let emails: Vec<Value> = p
        .emails
        .iter()
        .enumerate()
        .map(|(i, e)| json!({"email": e.as_str(), "prioridade": if i == 0 { "MUITO ALTA" } else { "MEDIA" },
                             "qualidade": if i == 0 { "OTIMO" } else { "BOM" }, "emailPessoal": "SIM", "blacklist": "NÃO"}))
        .collect();
    let enderecos: Vec<Value> = p
        .addresses
        .iter()
        .map(|a| json!({"tipoLogradouro": a.street_type, "logradouro": a.street, "logradouroNumero": a.number,
                        "complemento": "", "bairro": a.neighborhood, "cidade": a.city, "uf": a.uf, "cep": a.cep}))
        .collect();
    let parentes = relatives(pop, p);
    let empresas: Vec<Value> = p
        .companies
        .iter()
        .map(|(c, kind, role)| {
            json!({"cnpj": c.digits(), "tipoRelacao": kind, "relacao": role,
                                       "admissao": "14/02/2012", "demissao": "31/12/9999"})
        })
        .collect();
    json!({
        "status": 200,
        "foto": {"foto": null, "assinatura": null, "caracteristicas": []},
        "DadosBasicos": {
            "nome": p.name, "cpf": p.cpf.digits(), "dataNascimento": p.birth,
            "sexo": if p.female { "F - FEMININO" } else { "M - MASCULINO" },
            "nomeMae": p.mother, "nomePai": "SEM INFORMAÇÃO", "nacionalidade": "BRASILEIRA",
            "estadoCivil": "", "escolaridade": "ENSINO SUPERIOR COMPLETO", "municipioNascimento": "SAO PAULO",
            "obito": if p.deceased { json!({"obito": "SIM", "dataObito": "12/03/2021"}) } else { json!({"obito": "NÃO", "dataObito": "Não consta."}) },
            "situacaoCadastral": {"codigoSituacaoCadastral": "2", "descricaoSituacaoCadastral": "REGULAR"}
        },
        "DadosEconomicos": {
            "renda": money(p.income_cents),
            "poderAquisitivo": {"poderAquisitivoDescricao": power, "rendaPoderAquisitivo": money(p.income_cents),
                                "faixaPoderAquisitivo": range},
            "score": {"scoreCSB": p.score.to_string(), "scoreCSBFaixaRisco": risk(p.score),
                      "scoreCSBA": p.score.to_string(), "scoreCSBAFaixaRisco": risk(p.score)},
            "serasaMosaic": {"codigoMosaic": "B03", "descricaoMosaic": "Sandbox", "classeMosaic": "B"}
        },
        "profissao": {"cbo": "241005", "cboDescricao": "Advogado", "pis": null},
        "empregos": [], "empresas": empresas, "registroGeral": {}, "tituloEleitor": {},
        "enderecos": enderecos, "telefones": telefones, "emails": emails, "parentes": parentes,
        "DadosImposto": [], "beneficios": [], "listaDocumentos": {}, "imunoBiologicos": [], "pep": [],
        "vizinhos": [], "internet": {}, "comprasId": [], "perfilConsumo": {}, "servidor_siape": {},
        "flags": {"__pessoa_exposta_politicamente__": false}, "debug_info": []
    })
}
