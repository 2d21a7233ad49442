//! `c2s-enrich user`: the operator console's logins — add one (a role:
//! viewer, operator or admin), list them, disable one (its sessions end).

use anyhow::Context;
use clap::Subcommand;

use c2s_enrich::config::Config;
use c2s_enrich::db::Database;
use c2s_enrich::store::console::{self, Role};

/// What `user` does.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a console login. The password is read from standard input with
    /// `--password-stdin`; otherwise one is generated and printed once.
    Add {
        /// The login: lower-case letters, digits, '.', '_' or '-'.
        #[arg(long)]
        name: String,
        /// `viewer` (figures, masked data), `operator` (retries, re-sends)
        /// or `admin` (personal data in clear).
        #[arg(long)]
        role: String,
        /// Read the password (at least 12 characters) from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Every login, with its role and last use.
    List,
    /// Disable a login and end its sessions.
    Disable {
        #[arg(long)]
        name: String,
    },
    /// Lift a login's lock (after failed attempts) and enable it again.
    Unlock {
        #[arg(long)]
        name: String,
    },
}

pub async fn run(config: &Config, cmd: &UserCommand) -> anyhow::Result<()> {
    let database = Database::open(&config.database).await?;
    let pool = &database.pool;
    let result = async {
        match cmd {
            UserCommand::Add {
                name,
                role,
                password_stdin,
            } => {
                let role = Role::parse(role).map_err(anyhow::Error::msg)?;
                let (password, show) = if *password_stdin {
                    let mut line = String::new();
                    std::io::stdin()
                        .read_line(&mut line)
                        .context("reading the password")?;
                    (line.trim_end_matches(['\r', '\n']).to_owned(), false)
                } else {
                    (console::generated_password(), true)
                };
                let id = console::add(pool, name, role, &password).await?;
                println!("user {name} ({}) added, id {id}", role.as_str());
                if show {
                    println!("password (shown once): {password}");
                }
            }
            UserCommand::List => {
                for u in console::list(pool).await? {
                    let state = match (&u.disabled_at, &u.locked_until) {
                        (Some(_), _) => "disabled".to_owned(),
                        (None, Some(t)) if *t > chrono::Utc::now() => {
                            format!("locked until {}", t.format("%Y-%m-%d %H:%M"))
                        }
                        _ => "active".to_owned(),
                    };
                    let last = u.last_login_at.map_or_else(
                        || "never".to_owned(),
                        |t| t.format("%Y-%m-%d %H:%M").to_string(),
                    );
                    println!(
                        "{:<24} {:<9} {:<26} last login {last}",
                        u.name, u.role, state
                    );
                }
            }
            UserCommand::Unlock { name } => {
                anyhow::ensure!(console::unlock(pool, name).await?, "no user named {name}");
                println!("user {name} unlocked and enabled");
            }
            UserCommand::Disable { name } => {
                anyhow::ensure!(console::disable(pool, name).await?, "no user named {name}");
                println!("user {name} disabled; their sessions ended");
            }
        }
        anyhow::Ok(())
    }
    .await;
    database.close().await?;
    result
}
