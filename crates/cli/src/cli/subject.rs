//! `c2s-enrich subject`: the data subject's requests (LGPD art. 18/19) —
//! export what is held about a person, correct a field, block or unblock
//! them, list the request register.

use anyhow::Context;
use clap::{Args as ClapArgs, Subcommand};

use c2s_enrich::config::Config;
use c2s_enrich::db::Database;
use c2s_enrich::ops::subject_export::{self, ExportSettings};
use c2s_enrich::store::subjects::corrections::{self, Field};
use c2s_enrich::store::subjects::{self, Identifier};

/// What `subject` does.
#[derive(Debug, Subcommand)]
pub enum SubjectCommand {
    /// Everything held about a person (access and portability), each item
    /// with its origin, date, purpose, legal basis and retention, and whom
    /// it was shared with: JSON, or a readable page in Portuguese.
    Export(ExportArgs),
    /// Correct a field of a person's record with what they showed; a later
    /// enrichment keeps the correction.
    Correct(CorrectArgs),
    /// Block a person (opposition): their contacts cause no provider call
    /// and nothing is stored about them; their leads get the neutral note.
    Block(Who),
    /// Lift a block.
    Unblock(Who),
    /// The request register: every request with its deadline (15 days).
    Requests {
        /// Only open requests past their deadline.
        #[arg(long)]
        overdue: bool,
    },
}

/// `subject export`'s arguments.
#[derive(Debug, ClapArgs)]
pub struct ExportArgs {
    #[command(flatten)]
    who: Who,
    /// `json` (portability) or `html` (to read or print to PDF).
    #[arg(long, default_value = "json", value_parser = ["json", "html"])]
    format: String,
    /// Write here instead of standard output (a new file, owner-only
    /// permissions: it holds the person's data).
    #[arg(long)]
    out: Option<std::path::PathBuf>,
}

/// `subject correct`'s arguments.
#[derive(Debug, ClapArgs)]
pub struct CorrectArgs {
    /// The person's CPF.
    #[arg(long)]
    cpf: String,
    /// The field: name, birth_date, sex, nationality, marital_status,
    /// education_level or occupation.
    #[arg(long)]
    field: String,
    /// The right value.
    #[arg(long)]
    value: String,
    /// What the person showed (recorded with the correction).
    #[arg(long)]
    source: String,
    /// Who acts (recorded in the register).
    #[arg(long, default_value = "cli")]
    by: String,
}

/// The person, by one identifier, and who acts.
#[derive(Debug, ClapArgs)]
pub struct Who {
    #[command(flatten)]
    id: OneOf,
    /// Who acts (recorded in the register).
    #[arg(long, default_value = "cli")]
    by: String,
}

/// Exactly one of the identifiers.
#[derive(Debug, ClapArgs)]
#[group(required = true, multiple = false)]
struct OneOf {
    #[arg(long)]
    cpf: Option<String>,
    #[arg(long)]
    phone: Option<String>,
    #[arg(long)]
    email: Option<String>,
}

impl Who {
    fn identifier(&self) -> anyhow::Result<Identifier> {
        let w = &self.id;
        Ok(match (&w.cpf, &w.phone, &w.email) {
            (Some(c), _, _) => Identifier::Cpf(brazil::Cpf::parse(c).context("--cpf")?),
            (_, Some(p), _) => Identifier::Phone(brazil::PhoneBr::parse(p).context("--phone")?),
            (_, _, Some(e)) => Identifier::Email(brazil::Email::parse(e).context("--email")?),
            _ => anyhow::bail!("give --cpf, --phone or --email"),
        })
    }
}

pub async fn run(config: &Config, cmd: &SubjectCommand) -> anyhow::Result<()> {
    let database = Database::open(&config.database).await?;
    let result = async {
        let ledger = super::ops::open_ledger(config, &database.pool).await?;
        let pool = &database.pool;
        match cmd {
            SubjectCommand::Export(args) => export(config, pool, &ledger, args).await?,
            SubjectCommand::Correct(a) => {
                let cpf = brazil::Cpf::parse(&a.cpf).context("--cpf")?;
                let field = Field::parse(&a.field).map_err(anyhow::Error::msg)?;
                let value = field.normalise(&a.value).map_err(anyhow::Error::msg)?;
                anyhow::ensure!(
                    !a.source.trim().is_empty(),
                    "--source must say what the person showed"
                );
                let request =
                    corrections::correct(pool, &ledger, &cpf, (field, &value), &a.source, &a.by)
                        .await?;
                println!(
                    "{} corrected for {} (request {request})",
                    field.as_str(),
                    cpf.masked()
                );
            }
            SubjectCommand::Block(who) => {
                let id = who.identifier()?;
                let (request, new) = subjects::block(pool, &ledger, &id, &who.by).await?;
                let what = if new { "blocked" } else { "already blocked" };
                println!("{} {what} (request {request})", id.kind());
            }
            SubjectCommand::Unblock(who) => {
                let id = who.identifier()?;
                let (request, was) = subjects::unblock(pool, &ledger, &id, &who.by).await?;
                let what = if was { "unblocked" } else { "was not blocked" };
                println!("{} {what} (request {request})", id.kind());
            }
            SubjectCommand::Requests { overdue } => {
                let now = chrono::Utc::now();
                let list = subjects::requests(pool, *overdue).await?;
                println!(
                    "{:>6}  {:<10} {:<6} {:<20} {:<20} {:<8} acted by",
                    "id", "kind", "ident", "received", "deadline", "status"
                );
                for r in &list {
                    println!(
                        "{:>6}  {:<10} {:<6} {:<20} {:<20} {:<8} {}",
                        r.id,
                        r.kind,
                        r.identifier_kind,
                        r.received_at.format("%Y-%m-%d %H:%M"),
                        r.deadline.format("%Y-%m-%d %H:%M"),
                        if r.overdue(now) { "OVERDUE" } else { &r.status },
                        r.acted_by.as_deref().unwrap_or("-")
                    );
                }
                println!("{} request(s)", list.len());
            }
        }
        anyhow::Ok(())
    }
    .await;
    database.close().await?;
    result
}

async fn export(
    config: &Config,
    pool: &sqlx::PgPool,
    ledger: &c2s_enrich::store::ledger::Ledger,
    args: &ExportArgs,
) -> anyhow::Result<()> {
    let id = args.who.identifier()?;
    let settings = ExportSettings {
        privacy: config.privacy.clone(),
        retention: config.retention.clone(),
    };
    let e = subject_export::export(pool, ledger, &settings, &id, &args.who.by).await?;
    let body = if args.format == "html" {
        subject_export::html::render(&e)
    } else {
        serde_json::to_string_pretty(&e)? + "\n"
    };
    // Who read whose record, as for the API's reads.
    c2s_enrich::store::pii_audit::AuditLog::new(pool.clone())
        .record(vec![c2s_enrich::store::pii_audit::AuditEntry {
            key_name: format!("cli:{}", args.who.by),
            endpoint: "c2s-enrich subject export".into(),
            query_kind: id.kind(),
            entity_id: e.entity_id,
            request_id: format!("access-{}", e.request_id),
            accessed_at: chrono::Utc::now(),
        }])
        .await?;
    match &args.out {
        Some(path) => {
            write_private(path, body.as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "{}: {} items, {} leads, {} shares (access request {})",
                path.display(),
                e.items.len(),
                e.leads.len(),
                e.shared_with.len(),
                e.request_id
            );
        }
        None => print!("{body}"),
    }
    subject_export::delivered(pool, &e).await?;
    if !e.found {
        eprintln!("nothing is held for this {}", id.kind());
    }
    Ok(())
}

/// Creates `path`, readable by its owner only (it holds personal data);
/// never overwrites a file nor follows a link there.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

/// `c2s-enrich ropa`: the record of processing, to `out` or standard output.
pub fn ropa(config: &Config, out: Option<&std::path::Path>) -> anyhow::Result<()> {
    let md = c2s_enrich::ops::ropa::render(config);
    match out {
        Some(path) => {
            std::fs::write(path, md).with_context(|| format!("writing {}", path.display()))
        }
        None => {
            print!("{md}");
            Ok(())
        }
    }
}
