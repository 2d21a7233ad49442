//! The estimator of the identity model's m/u (`c2s-enrich identity-weights`): the labelled world, every candidate the providers would return, compared and counted by class and level.

#[allow(unused_imports)]
use super::*;

pub(super) fn signals_of(
    pop: &Population,
    i: usize,
    phone: Option<&PhoneBr>,
    email: Option<&Email>,
) -> DossierSignals {
    let p = &pop.people[i];
    DossierSignals {
        name: p.name.clone(),
        female: Some(p.female),
        deceased: p.deceased,
        irregular: false,
        lists_phone: phone.is_some_and(|x| p.phones.iter().any(|y| &y.phone == x)),
        lists_email: email.is_some_and(|x| p.emails.iter().any(|y| y == x)),
        relatives: p
            .relatives
            .iter()
            .map(|(r, d)| {
                (
                    pop.people[*r].cpf.clone(),
                    Some(pop.people[*r].name.clone()),
                    Some((*d).to_owned()),
                )
            })
            .collect(),
    }
}

pub(super) fn candidate(pop: &Population, i: usize) -> Candidate {
    Candidate {
        cpf: pop.people[i].cpf.clone(),
        name: Some(pop.people[i].name.clone()),
    }
}

pub(super) type Counts = BTreeMap<(String, String), (usize, usize)>;

pub(super) fn count(
    counts: &mut Counts,
    totals: &mut (usize, usize),
    e: &CandidateEvidence,
    lead: Option<&str>,
    is_lead: bool,
) {
    let name = c2s_enrich::domain::identity::name_comparison(e, lead);
    for (c, level) in comparison_levels(e, name.as_ref()) {
        let entry = counts.entry((c.to_owned(), level)).or_default();
        if is_lead {
            entry.0 += 1;
        } else {
            entry.1 += 1;
        }
    }
    if is_lead {
        totals.0 += 1;
    } else {
        totals.1 += 1;
    }
}

pub(super) fn model(counts: &Counts, totals: (usize, usize)) -> Model {
    let mut comparisons: BTreeMap<String, BTreeMap<String, MU>> = BTreeMap::new();
    let mut levels_of: BTreeMap<&str, usize> = BTreeMap::new();
    for (c, _) in counts.keys() {
        *levels_of.entry(c.as_str()).or_default() += 1;
    }
    for ((c, level), (m, u)) in counts {
        // Add-one smoothing: a level never seen among matches (or
        // non-matches) gets a small, not an infinite, weight.
        let k = levels_of[c.as_str()] as f64;
        comparisons.entry(c.clone()).or_default().insert(
            level.clone(),
            MU {
                m: round((*m as f64 + 1.0) / (totals.0 as f64 + k)),
                u: round((*u as f64 + 1.0) / (totals.1 as f64 + k)),
            },
        );
    }
    Model {
        pairs: totals.0 + totals.1,
        prior: round(totals.0 as f64 / (totals.0 + totals.1).max(1) as f64),
        comparisons,
    }
}

pub(super) fn round(x: f64) -> f64 {
    (x * 1e5).round() / 1e5
}

/// Estimates m/u from the labelled world (`seed`, `leads`): every
/// candidate the providers return for each lead's contacts, the relatives
/// their dossiers list, and — for one lead in ten — a CPF typed in a form
/// (the lead's own, or in 15 % of those someone else's).
pub fn estimate(seed: u64, leads: usize, command: &str) -> Weights {
    estimate_explained(seed, leads, command, false)
}

/// What the providers and dossiers would give for lead `n` of the labelled
/// world: the people its phone and e-mail find, a typed CPF for one lead in
/// ten, their dossiers, and their relatives' dossiers.
pub(super) fn evidence_for(
    pop: &Population,
    by_cpf: &HashMap<&Cpf, usize>,
    n: usize,
    phone: Option<&PhoneBr>,
    email: Option<&Email>,
) -> EvidenceSet {
    let lead = &pop.leads[n];
    let mut set = EvidenceSet::new(Some(&lead.name));
    let mut direct_people: Vec<usize> = Vec::new();
    if let Some(p) = phone {
        for &i in pop.by_phone(p.national()) {
            set.add_found(&Found::phone(candidate(pop, i), Source::DiretrixPhone));
            direct_people.push(i);
        }
        for &i in pop.by_phone_work(p.national()) {
            set.add_found(&Found::phone(candidate(pop, i), Source::WorkApiPhone));
            direct_people.push(i);
        }
    }
    if let Some(e) = email {
        for &i in pop.by_email(e.as_str()) {
            set.add_found(&Found::email(candidate(pop, i), Source::DiretrixEmail));
            direct_people.push(i);
        }
    }
    if n % 10 == 3 {
        if let Some(me) = lead.person {
            let typed = if n % 60 == 3 {
                (me + 5) % pop.people.len()
            } else {
                me
            };
            set.add_typed_cpf(&pop.people[typed].cpf);
            direct_people.push(typed);
        }
    }
    direct_people.sort_unstable();
    direct_people.dedup();
    for &i in &direct_people {
        set.add_dossier(&pop.people[i].cpf, signals_of(pop, i, phone, email));
    }
    let relatives: Vec<Cpf> = set
        .candidates
        .values()
        .filter(|e| !e.is_direct())
        .map(|e| e.cpf.clone())
        .collect();
    for cpf in relatives {
        if let Some(&i) = by_cpf.get(&cpf) {
            set.add_dossier(&cpf, signals_of(pop, i, phone, email));
        }
    }
    set
}

/// [`estimate`], and with `explain` a count on stderr of the relatives the
/// blocking let through that are *not* the lead, by lead kind and levels
/// (where the relative model loses precision).
pub fn estimate_explained(seed: u64, leads: usize, command: &str, explain: bool) -> Weights {
    let mut misfits: BTreeMap<String, usize> = BTreeMap::new();
    let pop = c2s_sim::World::Labelled.population(seed, leads);
    let (mut direct, mut relative): (Counts, Counts) = (BTreeMap::new(), BTreeMap::new());
    let (mut dt, mut rt) = ((0, 0), (0, 0));
    let by_cpf: HashMap<&Cpf, usize> = pop
        .people
        .iter()
        .enumerate()
        .map(|(i, p)| (&p.cpf, i))
        .collect();
    for (n, lead) in pop.leads.iter().enumerate() {
        let phone = lead.phone.as_deref().and_then(|p| PhoneBr::parse(p).ok());
        let email = lead.email.as_deref().and_then(|e| Email::parse(e).ok());
        let set = evidence_for(&pop, &by_cpf, n, phone.as_ref(), email.as_ref());
        let truth = lead.person.map(|i| pop.people[i].cpf.clone());
        // Two or more relatives whose names agree with the lead's (a
        // namesake in the family) are decided by the ambiguity rule, not by
        // the weights: they are left out of the estimates.
        let agrees = |e: &CandidateEvidence| {
            e.name()
                .is_some_and(|n| brazil::compare_names(&lead.name, n).agrees())
        };
        let namesakes = set
            .candidates
            .values()
            .filter(|e| !e.is_direct() && agrees(e))
            .count();
        for e in set.candidates.values() {
            let is_lead = truth.as_ref() == Some(&e.cpf);
            if !e.is_direct() && namesakes > 1 && agrees(e) {
                continue;
            }
            if e.is_direct() {
                count(&mut direct, &mut dt, e, set.lead_name.as_deref(), is_lead);
            } else {
                count(&mut relative, &mut rt, e, set.lead_name.as_deref(), is_lead);
                if explain && !is_lead {
                    let levels = e.name().map(|n| {
                        let c = brazil::compare_names(&lead.name, n);
                        format!("{:?}/{:?}", c.given, c.surname)
                    });
                    let key = format!(
                        "{:?} {:?} {} via {:?}",
                        lead.kind,
                        lead.confounders,
                        levels.unwrap_or_default(),
                        e.relative_of.as_ref().and_then(|r| r.degree.clone())
                    );
                    *misfits.entry(key).or_default() += 1;
                }
            }
        }
    }
    for (k, n) in &misfits {
        eprintln!("{n:>5}  {k}");
    }
    Weights {
        produced_by: command.to_owned(),
        direct: model(&direct, dt),
        relative: model(&relative, rt),
        surname_tf_weight: 0.5,
    }
}
