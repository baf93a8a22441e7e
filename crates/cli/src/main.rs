//! `gongji`: the command line. Glue only: every rule lives in the library crates.

mod agent;
mod anchor;
mod backup;
mod bench;
mod bubao;
mod contribution;
mod demo;
mod demo_partner;
mod operator;
mod partner;
mod privacy;
mod province;
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
    /// The demo (演示模式): build a demo population across the five seed regions (10,000
    /// persons), say what it made, and serve it on localhost with the demo's conveniences (the
    /// SMS code shown on the page, the development face check, the open till, open metrics),
    /// each labelled 演示. `gongji serve` never has them.
    Demo {
        /// The SQLite file to build (reused if it exists, unless --fresh).
        #[arg(long, default_value = "gongji-demo.db")]
        db: PathBuf,
        /// Rebuild even if the file exists.
        #[arg(long, conflicts_with = "no_build")]
        fresh: bool,
        /// Serve the database as it is (any registry, e.g. one made with `gongji import`);
        /// refuse if it does not exist rather than build the demo population.
        #[arg(long)]
        no_build: bool,
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
        /// Build only; do not serve.
        #[arg(long)]
        no_serve: bool,
        /// Pin the clock to this time at start (yyyy-MM-dd HH:mm:ss), for tests of a given day.
        #[arg(long)]
        now: Option<String>,
    },
    /// Serve in production: the institution interface, API and pages, as the config file
    /// says (see gongji.example.toml). Never the demo's conveniences.
    Serve {
        /// The deployment file (TOML). Without it: SQLite gongji.db on 127.0.0.1:8080, no
        /// SMS or face provider, no metrics, no TLS.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Overrides the config's database: this SQLite file.
        #[arg(long, conflicts_with = "database")]
        db: Option<PathBuf>,
        /// Overrides the config's database: a PostgreSQL URL (prefer the config's
        /// postgres_url_env or postgres_url_file: a URL here shows in the process list).
        #[arg(long, env = "GONGJI_DATABASE", hide_env_values = true)]
        database: Option<String>,
        /// Overrides the config's [http] listen address.
        #[arg(long)]
        addr: Option<String>,
        /// Pin the clock to this time at start (yyyy-MM-dd HH:mm:ss), for tests.
        #[arg(long)]
        now: Option<String>,
        /// Overrides the config's [institutions] token_key_file: the SM4 key (32 hex
        /// digits) of the gateway tokens at rest. Plaintext tokens are encrypted when the
        /// server opens the database with it.
        #[arg(long, value_name = "FILE")]
        token_key: Option<PathBuf>,
        /// Overrides the config's [privacy]: persons' ID and phone numbers are encrypted at
        /// rest with this key file (64 hex digits; `gongji privacy keygen`).
        #[arg(long, value_name = "FILE")]
        privacy_key: Option<PathBuf>,
    },
    /// Import registry CSV files (persons, accounts, institutions, catalog, bindings) from DIR.
    Import {
        #[command(flatten)]
        target: registry::Target,
        #[command(flatten)]
        key: privacy::KeyArg,
        dir: PathBuf,
    },
    /// 补报 (R-R2): settle the pooled fund's share of settlements a resident made before he
    /// paid for the year, once per settlement however often it runs.
    Bubao {
        #[command(subcommand)]
        command: BubaoCmd,
    },
    /// Mark residents' contribution categories for a benefit year from a department's list
    /// (CSV: certno,category,source_dept,list_date; UTF-8 or GB18030) (R-R5).
    ContributionList {
        #[command(flatten)]
        target: registry::Target,
        /// The benefit year the list marks.
        #[arg(long)]
        year: i32,
        /// Who imports it, for the record.
        #[arg(long, default_value = "operator")]
        staff: String,
        #[command(flatten)]
        key: privacy::KeyArg,
        file: PathBuf,
    },
    /// Export the registry to DIR in the import format. ID and phone numbers are written in
    /// clear (the files are for the bureau's systems), encrypted at rest or not.
    Export {
        #[command(flatten)]
        target: registry::Target,
        #[command(flatten)]
        key: privacy::KeyArg,
        dir: PathBuf,
    },
    /// Policy files.
    Policy {
        #[command(subcommand)]
        command: PolicyCmd,
    },
    /// Check a whole database: balanced postings, balances, floors, cancels, and the hash
    /// chains of the journal and audit log; with --anchor, that nothing before a signed
    /// anchor changed; with --peer or --peers (and --config), then the conservation of
    /// cross-province quotas with the peer provinces (`province check`).
    Verify(anchor::VerifyArgs),
    /// Write a signed checkpoint (SM2) of both hash chains' heads, to file elsewhere; or
    /// `anchor keygen` for a key pair.
    Anchor(anchor::AnchorArgs),
    /// Copy a SQLite database, even while it serves, into a backup file (SQLite's online
    /// backup API; PostgreSQL: scripts/pg-backup.sh).
    Backup(backup::BackupArgs),
    /// Restore a backup into a new database, after checking it as `verify` does.
    Restore(backup::RestoreArgs),
    /// Run N settlements of a realistic mix through the engine and report speed.
    Bench(bench::BenchArgs),
    /// Collecting agents (代收点) that pay residents' premiums in batches.
    Agent {
        #[command(subcommand)]
        command: AgentCmd,
    },
    /// Bureau staff accounts for the console and the staff API.
    Staff {
        #[command(subcommand)]
        command: StaffCmd,
    },
    /// Till operators of a designated institution, for `/terminal`.
    Operator {
        #[command(subcommand)]
        command: OperatorCmd,
    },
    /// App partners (WeChat, Alipay, 爱山东) of the 国密 envelope at `/open/v1`.
    Partner {
        #[command(subcommand)]
        command: PartnerCmd,
    },
    /// Persons' ID and phone numbers at rest: make a key, encrypt what is stored in clear.
    Privacy {
        #[command(subcommand)]
        command: privacy::PrivacyCmd,
    },
    /// This province among its peers (cross-province quotas): its SM2 key pair, and the
    /// conservation check across two provinces.
    Province {
        #[command(subcommand)]
        command: ProvinceCmd,
    },
}

#[derive(Subcommand)]
enum BubaoCmd {
    /// Pay every held-back share whose resident has paid since; one line per settlement.
    Run {
        #[command(flatten)]
        target: registry::Target,
        /// The day the job runs as (YYYY-MM-DD), today when absent.
        #[arg(long)]
        date: Option<String>,
        #[command(flatten)]
        key: privacy::KeyArg,
    },
}

#[derive(Subcommand)]
enum ProvinceCmd {
    /// Generate this province's SM2 key pair: the private key into FILE ([province]
    /// key_file; never overwritten), the public key printed for the peers' config.
    Keygen {
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
    },
    /// Check R-N3 across provinces: asks this province's server and each peer for their
    /// quota books (signed with this province's key) and checks every holder to the fen.
    /// Exit 0: conserved; 1: a discrepancy; 2: could not check. `gongji verify --peer`
    /// runs the same after the local check.
    Check {
        /// This province's config (its [province] and [[peers]]).
        #[arg(long)]
        config: PathBuf,
        /// This province's own server (default: http:// and the config's [http] listen).
        #[arg(long)]
        url: Option<String>,
        /// Only this peer (its code or URL).
        #[arg(long)]
        peer: Option<String>,
    },
}

#[derive(Subcommand)]
enum PartnerCmd {
    /// Register an app partner, or replace its name, channel, key, secret and flag. The
    /// appSecret is generated and printed once, unless --secret-stdin reads it (one line).
    Add {
        #[command(flatten)]
        target: registry::Target,
        /// The partner's appCode (16 to 64 letters and digits).
        #[arg(long)]
        app_code: String,
        #[arg(long)]
        name: String,
        /// wechat, alipay or aishandong: recorded on everything its requests do (R-Y5).
        #[arg(long)]
        channel: String,
        /// A file holding the partner's SM2 public key in hex (04‖x‖y).
        #[arg(long)]
        public_key: PathBuf,
        #[arg(long)]
        secret_stdin: bool,
        /// The server's token key file: the appSecret is stored sealed with it.
        #[arg(long)]
        token_key: Option<PathBuf>,
        /// The platform's SM2 signing key ([open_api] platform_key_file); generated when
        /// the file does not exist. Its public key is printed for the partner.
        #[arg(long)]
        platform_key: Option<PathBuf>,
        /// Register the partner deactivated (or deactivate it): its requests are refused.
        #[arg(long)]
        inactive: bool,
    },
    /// Sends one signed, encrypted request to a running `gongji demo` as the demo's app
    /// partner (made by `gongji demo` beside its database) and prints the answer decrypted.
    DemoRequest {
        /// The demo's database (its partner's files are beside it).
        #[arg(long, default_value = "gongji-demo.db")]
        db: PathBuf,
        /// Where the demo serves.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// me, family or records.
        #[arg(long, default_value = "me")]
        service: String,
        /// The person the request is about (the demo guide lists some).
        #[arg(long)]
        psn_no: String,
    },
}

#[derive(Subcommand)]
enum OperatorCmd {
    /// Create a till operator of one institution, or replace its password. The password is
    /// read from standard input (one line) unless --password is given.
    Add {
        #[command(flatten)]
        target: registry::Target,
        /// The institution's code (fixmedins_code); the till acts as this institution only.
        #[arg(long)]
        institution: String,
        #[arg(long)]
        username: String,
        #[arg(long)]
        password: Option<String>,
    },
}

#[derive(Subcommand)]
enum AgentCmd {
    /// Register a collecting agent; prints its API token once.
    Add {
        #[command(flatten)]
        target: registry::Target,
        /// Letters, digits, - or _ (e.g. VC-001).
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        /// The region it collects in (6 digits).
        #[arg(long)]
        admdvs: String,
        /// village_committee, bank_branch, school or other.
        #[arg(long)]
        kind: String,
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
            no_build,
            addr,
            no_serve,
            now,
        } => demo::run(&demo::DemoArgs {
            db: &db,
            build: if no_build {
                demo::Build::Never
            } else if fresh {
                demo::Build::Fresh
            } else {
                demo::Build::IfMissing
            },
            addr: (!no_serve).then_some(addr.as_str()),
            now: now.as_deref(),
        }),
        Cmd::Serve {
            config,
            db,
            database,
            addr,
            now,
            token_key,
            privacy_key,
        } => serve::run(&serve::ServeArgs {
            config: config.as_deref(),
            db: db.as_deref(),
            database: database.as_deref(),
            addr: addr.as_deref(),
            now: now.as_deref(),
            token_key: token_key.as_deref(),
            privacy_key: privacy_key.as_deref(),
        }),
        Cmd::Import { target, key, dir } => registry::import(&target, &key, &dir),
        Cmd::Export { target, key, dir } => registry::export(&target, &key, &dir),
        Cmd::ContributionList {
            target,
            year,
            staff,
            key,
            file,
        } => contribution::import(&target, &key, year, &file, &staff),
        Cmd::Bubao {
            command: BubaoCmd::Run { target, date, key },
        } => bubao::run(&target, &key, date.as_deref()),
        Cmd::Policy {
            command: PolicyCmd::Check { files },
        } => registry::policy_check(&files),
        Cmd::Privacy { command } => privacy::run(&command),
        Cmd::Verify(args) => anchor::verify(&args),
        Cmd::Anchor(args) => anchor::run(&args),
        Cmd::Backup(args) => backup::backup(&args),
        Cmd::Restore(args) => backup::restore(&args),
        Cmd::Bench(args) => bench::run(&args),
        Cmd::Agent {
            command:
                AgentCmd::Add {
                    target,
                    id,
                    name,
                    admdvs,
                    kind,
                },
        } => agent::add(&target, &id, &name, &admdvs, &kind),
        Cmd::Staff {
            command:
                StaffCmd::Add {
                    target,
                    username,
                    role,
                    password,
                },
        } => staff::add(&target, &username, &role, password.as_deref()),
        Cmd::Operator {
            command:
                OperatorCmd::Add {
                    target,
                    institution,
                    username,
                    password,
                },
        } => operator::add(&target, &institution, &username, password.as_deref()),
        Cmd::Partner {
            command:
                PartnerCmd::Add {
                    target,
                    app_code,
                    name,
                    channel,
                    public_key,
                    secret_stdin,
                    token_key,
                    platform_key,
                    inactive,
                },
        } => partner::add(&partner::AddArgs {
            target: &target,
            app_code: &app_code,
            name: &name,
            channel: &channel,
            public_key: &public_key,
            secret_stdin,
            token_key: token_key.as_deref(),
            platform_key: platform_key.as_deref(),
            inactive,
        }),
        Cmd::Province {
            command: ProvinceCmd::Keygen { key },
        } => province::keygen(&key),
        Cmd::Province {
            command: ProvinceCmd::Check { config, url, peer },
        } => province::check(&config, url.as_deref(), peer.as_deref()),
        Cmd::Partner {
            command:
                PartnerCmd::DemoRequest {
                    db,
                    url,
                    service,
                    psn_no,
                },
        } => demo_partner::request(&demo_partner::RequestArgs {
            db: &db,
            url: &url,
            service: &service,
            psn_no: &psn_no,
        }),
    };
    ExitCode::from(code)
}
