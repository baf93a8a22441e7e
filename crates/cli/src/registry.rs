//! import, export, verify and policy check, and the one place that opens a database.

use std::path::{Path, PathBuf};

use clap::Args;
use gongji_engine::csv_io::{export_dir, import_dir};
use gongji_engine::Engine;
use gongji_server::app::DynStore;
use gongji_store::{PgStore, SqliteStore, Store};

use crate::privacy::KeyArg;

/// Exit codes: 0 fine, 1 checks failed, 2 could not run, 3 some rows refused.
pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_UNUSABLE: u8 = 2;

/// Which database a command works on: a SQLite file (`--db`, the default) or a PostgreSQL
/// database (`--database`, one province's).
#[derive(Args, Clone, Debug)]
pub struct Target {
    /// The SQLite file (the embedded default).
    #[arg(long, default_value = "gongji.db")]
    pub db: PathBuf,
    /// A PostgreSQL database instead of the SQLite file: a libpq URL
    /// (`postgres://user@host:5432/gongji_37`) or key=value string. Also read from
    /// GONGJI_DATABASE.
    #[arg(long, env = "GONGJI_DATABASE", hide_env_values = true)]
    pub database: Option<String>,
}

impl Target {
    pub fn sqlite(db: &Path) -> Target {
        Target {
            db: db.to_path_buf(),
            database: None,
        }
    }

    /// How errors name the database. A URL may carry a password, so it is never printed.
    pub fn label(&self) -> String {
        match &self.database {
            Some(_) => "PostgreSQL (--database)".to_string(),
            None => self.db.display().to_string(),
        }
    }

    /// Opens the database for writing: the SQLite file (created if missing) or the
    /// PostgreSQL database as its province's writer (takes the writer lease, migrates).
    pub fn open(&self) -> Result<DynStore, String> {
        let opened: Result<DynStore, _> = match &self.database {
            Some(url) => PgStore::connect(url).map(|s| Box::new(s) as DynStore),
            None => SqliteStore::open(&self.db).map(|s| Box::new(s) as DynStore),
        };
        opened.map_err(|e| format!("{}: {e}", self.label()))
    }

    /// Opens the database for reading only (`verify`): PostgreSQL without the writer
    /// lease, so it runs beside a serving writer. A missing SQLite file is an error here.
    pub fn open_reader(&self) -> Result<DynStore, String> {
        match &self.database {
            Some(url) => PgStore::connect_reader(url)
                .map(|s| Box::new(s) as DynStore)
                .map_err(|e| format!("{}: {e}", self.label())),
            None if !self.db.exists() => Err(format!(
                "{}: 数据库不存在 / no such database",
                self.db.display()
            )),
            None => self.open(),
        }
    }

    /// An engine over this database, with the shipped policies.
    pub fn open_engine(&self) -> Result<Engine<DynStore>, String> {
        self.open_engine_with(&KeyArg::default())
    }

    /// An engine over this database, persons' ID and phone numbers read and written with
    /// the personal-data key given (rows still in clear are sealed first).
    pub fn open_engine_with(&self, key: &KeyArg) -> Result<Engine<DynStore>, String> {
        let key = key.key()?;
        let mut store = self.open()?;
        crate::privacy::apply(&mut store, key, crate::privacy::Progress::Bar)
            .map_err(|e| format!("{}: {e}", self.label()))?;
        Engine::open(store, presets()?).map_err(|e| format!("{}: {e}", self.label()))
    }
}

/// The shipped region policies.
pub fn presets() -> Result<gongji_core::policy::PolicySet, String> {
    gongji_policy::try_presets().map_err(|errors| {
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// An engine over a SQLite file (the demo and the benchmark).
pub fn open_engine(db: &Path) -> Result<Engine<SqliteStore>, String> {
    let store = SqliteStore::open(db).map_err(|e| format!("{}: {e}", db.display()))?;
    Engine::open(store, presets()?).map_err(|e| format!("{}: {e}", db.display()))
}

pub fn import(target: &Target, key: &KeyArg, dir: &Path) -> u8 {
    let mut engine = match target.open_engine_with(key) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_UNUSABLE;
        }
    };
    match import_into(&mut engine, dir) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{e}");
            EXIT_UNUSABLE
        }
    }
}

/// Imports and reports; returns the exit code (0 or 3), or the file error (exit 2).
pub fn import_into<S: Store>(engine: &mut Engine<S>, dir: &Path) -> Result<u8, String> {
    let bar = indicatif::ProgressBar::new_spinner();
    let report = import_dir(engine, dir, &mut |file, n| {
        bar.set_message(format!("导入 {file}: {n} 行"));
        bar.tick();
    })
    .map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    for r in &report.refused {
        eprintln!("{r}");
    }
    for (file, n) in &report.loaded {
        println!("{file}: 导入 {n} 行 / loaded {n} rows");
    }
    if !report.refused.is_empty() {
        println!(
            "{} 行被拒绝，见上方错误 / {} rows refused (see stderr)",
            report.refused.len(),
            report.refused.len()
        );
    }
    Ok(report.exit_code() as u8)
}

/// Writes the registry in clear, encrypted at rest or not: the CSV files are for the
/// bureau's own systems and hold every ID and phone number (keep them as such).
pub fn export(target: &Target, key: &KeyArg, dir: &Path) -> u8 {
    let engine = match target.open_engine_with(key) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_UNUSABLE;
        }
    };
    match export_dir(&engine, dir) {
        Ok(()) => {
            println!("已导出到 / exported to {}", dir.display());
            EXIT_OK
        }
        Err(e) => {
            eprintln!("{e}");
            EXIT_UNUSABLE
        }
    }
}

pub fn policy_check(files: &[PathBuf]) -> u8 {
    let mut worst = EXIT_OK;
    for file in files {
        match gongji_policy::load_file(file) {
            Ok(policy) => {
                println!("{}: OK", file.display());
                println!("{}", gongji_policy::render_summary(&policy));
            }
            Err(e) => {
                eprintln!("{e}");
                worst = EXIT_FAILED;
            }
        }
    }
    worst
}
