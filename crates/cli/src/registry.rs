//! import, export, verify and policy check.

use std::path::{Path, PathBuf};

use gongji_engine::csv_io::{export_dir, import_dir};
use gongji_engine::Engine;
use gongji_store::{SqliteStore, Store};

/// Exit codes: 0 fine, 1 checks failed, 2 could not run, 3 some rows refused.
pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_UNUSABLE: u8 = 2;

pub fn open_engine(db: &Path) -> Result<Engine<SqliteStore>, String> {
    let store = SqliteStore::open(db).map_err(|e| format!("{}: {e}", db.display()))?;
    let policies = gongji_policy::try_presets().map_err(|errors| {
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    Engine::open(store, policies).map_err(|e| format!("{}: {e}", db.display()))
}

pub fn import(db: &Path, dir: &Path) -> u8 {
    let mut engine = match open_engine(db) {
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
pub fn import_into(engine: &mut Engine<SqliteStore>, dir: &Path) -> Result<u8, String> {
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

pub fn export(db: &Path, dir: &Path) -> u8 {
    let engine = match open_engine(db) {
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

pub fn verify(db: &Path) -> u8 {
    if !db.exists() {
        eprintln!("{}: 数据库不存在 / no such database", db.display());
        return EXIT_UNUSABLE;
    }
    let mut store = match SqliteStore::open(db) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{}: {e}", db.display());
            return EXIT_UNUSABLE;
        }
    };
    match store.verify() {
        Ok(report) => {
            print!("{report}");
            if report.is_clean() {
                EXIT_OK
            } else {
                EXIT_FAILED
            }
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
