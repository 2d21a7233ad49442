//! The erasure holds: a later lead, form or dossier for an erased person is
//! recognised by the tombstones (keyed hashes) and nothing is kept.

use sqlx::PgPool;

use crate::store::ledger::Ledger;

/// Why nothing may be looked up or stored about a lead's person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// They were erased (a tombstone matches).
    Erased,
    /// They object to the processing (a block matches, and no tombstone).
    Blocked,
}

/// Whether a lead's contacts belong to an erased or blocked person (a
/// tombstone or a block matches): then nothing is looked up or stored for
/// them.
pub async fn is_erased_subject(
    pool: &PgPool,
    ledger: &Ledger,
    cpf: Option<&brazil::Cpf>,
    phones: &[brazil::PhoneBr],
    email: Option<&brazil::Email>,
) -> Result<bool, sqlx::Error> {
    Ok(held_subject(pool, ledger, cpf, phones, email)
        .await?
        .is_some())
}

/// [`is_erased_subject`], saying why.
pub async fn held_subject(
    pool: &PgPool,
    ledger: &Ledger,
    cpf: Option<&brazil::Cpf>,
    phones: &[brazil::PhoneBr],
    email: Option<&brazil::Email>,
) -> Result<Option<Hold>, sqlx::Error> {
    let mut kinds = Vec::new();
    let mut hashes = Vec::new();
    if let Some(c) = cpf {
        kinds.push("cpf".to_owned());
        hashes.push(ledger.subject_hash("cpf", c.digits()).to_vec());
    }
    for p in phones {
        kinds.push("phone".to_owned());
        hashes.push(ledger.subject_hash("phone", p.national()).to_vec());
    }
    if let Some(e) = email {
        kinds.push("email".to_owned());
        hashes.push(
            ledger
                .subject_hash("email", &e.as_str().trim().to_lowercase())
                .to_vec(),
        );
    }
    if hashes.is_empty() {
        return Ok(None);
    }
    // A block (the person's opposition, `store::subjects`) holds the same way.
    let r = sqlx::query!("SELECT EXISTS (SELECT 1 FROM enrich.erasure_tombstones t
                          JOIN unnest($1::text[], $2::bytea[]) AS q(kind, key_hash) USING (kind, key_hash)) AS \"erased!\",
                         EXISTS (SELECT 1 FROM enrich.subject_blocks b
                          JOIN unnest($1::text[], $2::bytea[]) AS q(kind, key_hash) USING (kind, key_hash)) AS \"blocked!\"", &kinds, &hashes)
    .fetch_one(pool)
    .await?;
    Ok(match (r.erased, r.blocked) {
        (true, _) => Some(Hold::Erased),
        (false, true) => Some(Hold::Blocked),
        (false, false) => None,
    })
}

/// The keyed hashes of a dossier's CPFs (the person's and their relatives'),
/// checked against the tombstones inside the store's transaction, after its
/// locks: an erasure that committed while the dossier was being fetched
/// cannot be undone by storing it.
#[derive(Debug, Clone, Default)]
pub struct CpfGuard {
    keys: Vec<(brazil::Cpf, Vec<u8>)>,
}

impl CpfGuard {
    /// The guard for these CPFs.
    pub fn of<'a>(ledger: &Ledger, cpfs: impl IntoIterator<Item = &'a brazil::Cpf>) -> Self {
        let keys = cpfs
            .into_iter()
            .map(|c| (c.clone(), ledger.subject_hash("cpf", c.digits()).to_vec()))
            .collect();
        Self { keys }
    }

    /// The guard for `dossier`'s CPFs.
    pub fn for_dossier(ledger: &Ledger, dossier: &crate::domain::dossier::Dossier) -> Self {
        Self::of(
            ledger,
            std::iter::once(&dossier.cpf).chain(dossier.relatives.iter().map(|r| &r.cpf)),
        )
    }

    /// The guarded CPFs that were erased or are blocked.
    pub(crate) async fn erased<'e, E: sqlx::PgExecutor<'e>>(
        &self,
        executor: E,
    ) -> Result<Vec<brazil::Cpf>, sqlx::Error> {
        if self.keys.is_empty() {
            return Ok(Vec::new());
        }
        let hashes: Vec<Vec<u8>> = self.keys.iter().map(|(_, h)| h.clone()).collect();
        let hit: Vec<Vec<u8>> = sqlx::query_scalar!("SELECT key_hash AS \"key_hash!\" FROM enrich.erasure_tombstones WHERE kind = 'cpf' AND key_hash = ANY($1)
               UNION ALL SELECT key_hash FROM enrich.subject_blocks WHERE kind = 'cpf' AND key_hash = ANY($1)", &hashes)
        .fetch_all(executor)
        .await?;
        Ok(self
            .keys
            .iter()
            .filter(|(_, h)| hit.contains(h))
            .map(|(c, _)| c.clone())
            .collect())
    }
}

/// Which of `cpfs` belong to erased people (their dossiers are not bought,
/// nothing about them is stored).
pub async fn erased_cpfs(
    pool: &PgPool,
    ledger: &Ledger,
    cpfs: &[brazil::Cpf],
) -> Result<Vec<brazil::Cpf>, sqlx::Error> {
    CpfGuard::of(ledger, cpfs).erased(pool).await
}
