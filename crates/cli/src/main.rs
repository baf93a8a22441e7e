//! `gongji`: the command line. Glue only: every rule lives in the library crates.

mod backup;
mod bench;
mod demo;
mod registry;
mod serve;
mod staff;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "gongji",
    version,
    about = "共济 Gongji: 职工医保个人账户家庭共济结算平台 / settlement platform for personal-account family mutual aid"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build a demo population across the five seed regions (10,000 persons), say what it
    /// made, and serve it on localhost.
    Demo {
        /// The SQLite file to build (reused if it exists, unless --fresh).
        #[arg(long, default_value = "gongji-demo.db")]
        db: PathBuf,
        /// Rebuild even if the file exists.
        #[arg(long)]
        fresh: bool,
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
        /// Build only; do not serve.
        #[arg(long)]
        no_serve: bool,
    },
    /// Serve the institution interface, API and pages.
    Serve {
        #[command(flatten)]
        target: registry::Target,
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
        /// Pin the clock to this time at start (yyyy-MM-dd HH:mm:ss), for tests and demos.
        #[arg(long)]
        now: Option<String>,
    },
    /// Import registry CSV files (persons, accounts, institutions, catalog, bindings) from DIR.
    Import {
        #[command(flatten)]
        target: registry::Target,
        dir: PathBuf,
    },
    /// Export the registry to DIR in the import format.
    Export {
        #[command(flatten)]
        target: registry::Target,
        dir: PathBuf,
    },
    /// Policy files.
    Policy {
        #[command(subcommand)]
        command: PolicyCmd,
    },
    /// Check a whole database: balanced postings, balances, floors, cancels.
    Verify {
        #[command(flatten)]
        target: registry::Target,
    },
    /// Copy a SQLite database, even while it serves, into a backup file (SQLite's online
    /// backup API; PostgreSQL: scripts/pg-backup.sh).
    Backup(backup::BackupArgs),
    /// Restore a backup into a new database, after checking it as `verify` does.
    Restore(backup::RestoreArgs),
    /// Run N settlements of a realistic mix through the engine and report speed.
    Bench(bench::BenchArgs),
    /// Bureau staff accounts for the console and the staff API.
    Staff {
        #[command(subcommand)]
        command: StaffCmd,
    },
}

#[derive(Subcommand)]
enum StaffCmd {
    /// Create a staff account, or replace its password and role. The password is read from
    /// standard input (one line) unless --password is given.
    Add {
        #[command(flatten)]
        target: registry::Target,
        #[arg(long)]
        username: String,
        /// clerk (经办员), auditor (稽核员) or admin (管理员).
        #[arg(long)]
        role: String,
        #[arg(long)]
        password: Option<String>,
    },
}

#[derive(Subcommand)]
enum PolicyCmd {
    /// Validate policy files and summarise them.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Cmd::Demo {
            db,
            fresh,
            addr,
            no_serve,
        } => demo::run(&db, fresh, (!no_serve).then_some(addr.as_str())),
        Cmd::Serve { target, addr, now } => serve::run(&serve::ServeOptions {
            target: &target,
            addr: &addr,
            now: now.as_deref(),
            banner: None,
        }),
        Cmd::Import { target, dir } => registry::import(&target, &dir),
        Cmd::Export { target, dir } => registry::export(&target, &dir),
        Cmd::Policy {
            command: PolicyCmd::Check { files },
        } => registry::policy_check(&files),
        Cmd::Verify { target } => registry::verify(&target),
        Cmd::Backup(args) => backup::backup(&args),
        Cmd::Restore(args) => backup::restore(&args),
        Cmd::Bench(args) => bench::run(&args),
        Cmd::Staff {
            command:
                StaffCmd::Add {
                    target,
                    username,
                    role,
                    password,
                },
        } => staff::add(&target, &username, &role, password.as_deref()),
    };
    ExitCode::from(code)
}
