//! `c2s-enrich subject`: the data subject's requests (LGPD art. 18/19) —
//! block or unblock a person, list the request register.

use anyhow::Context;
use clap::{Args as ClapArgs, Subcommand};

use c2s_enrich::config::Config;
use c2s_enrich::db::Database;
use c2s_enrich::store::subjects::{self, Identifier};

/// What `subject` does.
#[derive(Debug, Subcommand)]
pub enum SubjectCommand {
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
