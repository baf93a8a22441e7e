//! `gongji privacy`: the key of persons' ID and phone numbers at rest (`keygen`), sealing the
//! rows stored in clear (`encrypt-existing`), and the one way every command applies the key
//! to a database it opens.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use gongji_server::config::Config;
use gongji_store::privacy::PrivacyKey;
use gongji_store::Store;

use crate::registry::{EXIT_OK, EXIT_UNUSABLE};

/// Rows sealed per transaction: a few seconds of work, so progress shows and a failure
/// loses little.
const SEAL_BATCH: usize = 10_000;

/// `--privacy-key FILE` of the commands that read or write persons (import, export,
/// contribution-list) on a database whose ID and phone numbers are encrypted.
#[derive(Args, Clone, Debug, Default)]
pub struct KeyArg {
    /// The personal-data key (64 hex digits; `[privacy] key_file` of the server's config):
    /// persons are then written encrypted, and a database encrypted with it can be read.
    #[arg(long = "privacy-key", value_name = "FILE")]
    pub privacy_key: Option<PathBuf>,
}

impl KeyArg {
    pub fn key(&self) -> Result<Option<PrivacyKey>, String> {
        self.privacy_key
            .as_deref()
            .map(PrivacyKey::from_file)
            .transpose()
            .map_err(|e| e.to_string())
    }
}

#[derive(Subcommand)]
pub enum PrivacyCmd {
    /// Write a new personal-data key (64 hex digits, readable by its owner only) to FILE,
    /// for `[privacy] key_file`. Never overwrites a file.
    Keygen {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Encrypt the ID and phone numbers still stored in clear, in batches with progress
    /// (`gongji serve` does the same at start): the database and key of the config file,
    /// or as overridden. Stop the server first (PostgreSQL: it holds the writer lease).
    EncryptExisting {
        /// The deployment file whose [database] and [privacy] to use.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Overrides the config's database: this SQLite file.
        #[arg(long, conflicts_with = "database")]
        db: Option<PathBuf>,
        /// Overrides the config's database: a PostgreSQL URL.
        #[arg(long, env = "GONGJI_DATABASE", hide_env_values = true)]
        database: Option<String>,
        #[command(flatten)]
        key: KeyArg,
    },
}

pub fn run(cmd: &PrivacyCmd) -> u8 {
    let done = match cmd {
        PrivacyCmd::Keygen { out } => keygen(out),
        PrivacyCmd::EncryptExisting {
            config,
            db,
            database,
            key,
        } => encrypt_existing(config.as_deref(), db.as_deref(), database.as_deref(), key),
    };
    match done {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("{e}");
            EXIT_UNUSABLE
        }
    }
}

fn keygen(out: &Path) -> Result<(), String> {
    PrivacyKey::generate_file(out).map_err(|e| e.to_string())?;
    println!(
        "已生成个人信息加密密钥 / wrote a new personal-data key: {}\n\
         在配置中设置 [privacy] encrypt_at_rest = true, key_file = \"{}\"；请另行备份此文件，丢失即无法解密 / \
         set [privacy] encrypt_at_rest = true and key_file to it; back it up apart from the database: without it the data cannot be read",
        out.display(),
        out.display()
    );
    Ok(())
}

fn encrypt_existing(
    config: Option<&Path>,
    db: Option<&Path>,
    database: Option<&str>,
    key: &KeyArg,
) -> Result<(), String> {
    let config = match config {
        Some(file) => Config::load(file).map_err(|e| e.to_string())?,
        None => Config::default(),
    };
    let key = match key.key()? {
        Some(k) => k,
        None => config
            .privacy_key()
            .map_err(|e| e.to_string())?
            .ok_or_else(|| {
                "没有密钥：请在配置中开启 [privacy] 或用 --privacy-key 指定 / no key: enable [privacy] in the config or give --privacy-key".to_string()
            })?,
    };
    let target = crate::serve::database_target(&config, db, database)?;
    let mut store = target.open()?;
    let sealed = apply(&mut store, Some(key), Progress::Bar)?;
    println!(
        "已加密 {sealed} 名参保人的身份证号和手机号 / sealed the ID and phone numbers of {sealed} persons ({})",
        target.label()
    );
    Ok(())
}

/// How sealing reports its progress: a bar on a terminal command, log lines in a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    Bar,
    Log,
}

/// Applies `key` (or none) to a store just opened, before anything reads or writes persons:
/// a wrong key, or no key for encrypted data, stops here with its stable code; with a key,
/// rows still stored in clear are sealed. Returns how many were sealed.
pub fn apply<S: Store + ?Sized>(
    store: &mut S,
    key: Option<PrivacyKey>,
    progress: Progress,
) -> Result<u64, String> {
    let status = store.use_privacy(key).map_err(|e| e.to_string())?;
    if !status.enabled || status.plaintext_persons == 0 {
        return Ok(0);
    }
    let total = status.plaintext_persons;
    let bar = match progress {
        Progress::Bar => indicatif::ProgressBar::new(total),
        Progress::Log => indicatif::ProgressBar::hidden(),
    };
    bar.set_message("加密身份证号和手机号 / sealing ID and phone numbers");
    let sealed = store
        .seal_plaintext_persons(SEAL_BATCH, &mut |done, total| {
            bar.set_position(done);
            if progress == Progress::Log {
                tracing::info!(
                    done,
                    total,
                    "加密已有的身份证号和手机号 / sealing stored ID and phone numbers"
                );
            }
        })
        .map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    Ok(sealed)
}
