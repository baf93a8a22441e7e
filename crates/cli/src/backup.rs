//! `gongji backup` and `gongji restore` of a SQLite database (PostgreSQL: scripts/pg-backup.sh).
//!
//! The backup is SQLite's online backup API, copying pages in steps. The source connection
//! holds one read transaction for the whole copy, so the backup is the database as it was
//! when the backup began, whatever is committed meanwhile: without it SQLite restarts the
//! copy whenever another process writes, and under steady load it would never finish. In WAL
//! mode (how Gongji opens every database) a reader never blocks the writer, so a serving
//! `gongji serve` goes on committing; only checkpoints wait for the copy to end.
//!
//! Both commands write to a temporary file beside the destination and rename it into place
//! once it is complete and checked, so a crash leaves the old file or the new, never half.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use clap::Args;
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use crate::registry::{EXIT_FAILED, EXIT_OK, EXIT_UNUSABLE};

/// The pause between steps, which leaves the disk to the serving writer.
const PAUSE_BETWEEN_STEPS: Duration = Duration::from_millis(2);
/// How long a step may keep finding the source busy (a writer mid-commit) before giving up.
const BUSY_MAX: Duration = Duration::from_secs(30);

#[derive(Args, Clone, Debug)]
pub struct BackupArgs {
    /// The SQLite database to back up (it may be serving).
    #[arg(long, default_value = "gongji.db")]
    pub db: PathBuf,
    /// Replace OUT if it exists.
    #[arg(long)]
    pub force: bool,
    /// Pages copied per step (4 KiB pages: the default is 4 MiB a step).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(i32).range(1..))]
    pub pages_per_step: i32,
    /// The backup file to write.
    pub out: PathBuf,
}

#[derive(Args, Clone, Debug)]
pub struct RestoreArgs {
    /// The backup file (from `gongji backup`).
    pub backup: PathBuf,
    /// The SQLite database to create from it. Stop any server on it first.
    #[arg(long, default_value = "gongji.db")]
    pub db: PathBuf,
    /// Replace the database if it exists.
    #[arg(long)]
    pub force: bool,
}

/// A refusal or failure: a stable code and a bilingual message.
struct Failure {
    code: &'static str,
    message: String,
    exit: u8,
}

impl Failure {
    fn unusable(code: &'static str, message: String) -> Failure {
        Failure {
            code,
            message,
            exit: EXIT_UNUSABLE,
        }
    }
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> Failure + '_ {
    move |e| {
        Failure::unusable(
            "GJ-BACKUP-IO",
            format!("{}: 读写失败 / I/O failed: {e}", path.display()),
        )
    }
}

fn sqlite_error(path: &Path) -> impl Fn(rusqlite::Error) -> Failure + '_ {
    move |e| {
        Failure::unusable(
            "GJ-BACKUP-SQLITE",
            format!("{}: 数据库错误 / SQLite error: {e}", path.display()),
        )
    }
}

fn report(result: Result<String, Failure>) -> u8 {
    match result {
        Ok(done) => {
            println!("{done}");
            EXIT_OK
        }
        Err(f) => {
            eprintln!("{}: {}", f.code, f.message);
            f.exit
        }
    }
}

pub fn backup(args: &BackupArgs) -> u8 {
    report(run_backup(args))
}

pub fn restore(args: &RestoreArgs) -> u8 {
    report(run_restore(args))
}

fn run_backup(args: &BackupArgs) -> Result<String, Failure> {
    if !args.db.is_file() {
        return Err(Failure::unusable(
            "GJ-BACKUP-NO-DATABASE",
            format!("{}: 数据库不存在 / no such database", args.db.display()),
        ));
    }
    refuse_existing(&args.out, args.force, "GJ-BACKUP-EXISTS")?;
    let started = Instant::now();
    let source = Connection::open_with_flags(&args.db, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(sqlite_error(&args.db))?;
    source
        .busy_timeout(Duration::from_secs(5))
        .map_err(sqlite_error(&args.db))?;
    // The snapshot: this read transaction is what the backup copies, page after page.
    source
        .execute_batch("BEGIN")
        .map_err(sqlite_error(&args.db))?;
    let tables: i64 = source
        .query_row("SELECT COUNT(*) FROM sqlite_schema", [], |r| r.get(0))
        .map_err(sqlite_error(&args.db))?;
    if tables == 0 {
        return Err(Failure::unusable(
            "GJ-BACKUP-NO-DATABASE",
            format!(
                "{}: 不是 Gongji 数据库 / not a Gongji database",
                args.db.display()
            ),
        ));
    }
    let partial = sibling(&args.out, "partial");
    remove_with_journals(&partial)?;
    let written = copy(&source, &args.db, &partial, args.pages_per_step).and_then(|pages| {
        source
            .execute_batch("COMMIT")
            .map_err(sqlite_error(&args.db))?;
        check_integrity(&partial)?;
        install(&partial, &args.out)?;
        Ok(pages)
    });
    let pages = match written {
        Ok(pages) => pages,
        Err(f) => {
            let _ = remove_with_journals(&partial);
            return Err(f);
        }
    };
    let bytes = std::fs::metadata(&args.out)
        .map_err(io_error(&args.out))?
        .len();
    Ok(format!(
        "备份完成 / backup written: {} ({pages} pages, {:.1} MiB, {:.1} s)",
        args.out.display(),
        bytes as f64 / (1024.0 * 1024.0),
        started.elapsed().as_secs_f64()
    ))
}

fn run_restore(args: &RestoreArgs) -> Result<String, Failure> {
    if !args.backup.is_file() {
        return Err(Failure::unusable(
            "GJ-RESTORE-NO-BACKUP",
            format!(
                "{}: 备份文件不存在 / no such backup file",
                args.backup.display()
            ),
        ));
    }
    refuse_existing(&args.db, args.force, "GJ-RESTORE-EXISTS")?;
    check_integrity(&args.backup)?;
    let source = Connection::open_with_flags(&args.backup, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(sqlite_error(&args.backup))?;
    let is_gongji: bool = source
        .query_row(
            "SELECT COUNT(*) = 2 FROM sqlite_schema WHERE type = 'table'
             AND name IN ('schema_migrations', 'journal')",
            [],
            |r| r.get(0),
        )
        .map_err(sqlite_error(&args.backup))?;
    if !is_gongji {
        return Err(Failure::unusable(
            "GJ-RESTORE-NOT-GONGJI",
            format!(
                "{}: 不是 Gongji 数据库的备份 / not a backup of a Gongji database",
                args.backup.display()
            ),
        ));
    }
    // The copy is checked, not the backup itself: opening a database may migrate it.
    let restoring = sibling(&args.db, "restoring");
    remove_with_journals(&restoring)?;
    copy(&source, &args.backup, &restoring, -1)?;
    drop(source);
    let verdict = verify(&restoring);
    if let Err(f) = verdict {
        let _ = remove_with_journals(&restoring);
        return Err(f);
    }
    fold_wal(&restoring)?;
    if args.force {
        // A write-ahead log left by the replaced database would be replayed onto the new one.
        remove_with_journals(&args.db)?;
    }
    install(&restoring, &args.db)?;
    Ok(format!(
        "已恢复并校验 / restored and verified: {} -> {}",
        args.backup.display(),
        args.db.display()
    ))
}

/// Copies `source` (already open) into a new file `to`, `pages_per_step` at a time (-1: all
/// at once); returns the pages copied.
fn copy(source: &Connection, from: &Path, to: &Path, pages_per_step: i32) -> Result<i32, Failure> {
    let mut target = Connection::open(to).map_err(sqlite_error(to))?;
    let backup = Backup::new(source, &mut target).map_err(sqlite_error(from))?;
    let mut busy_since: Option<Instant> = None;
    loop {
        match backup.step(pages_per_step).map_err(sqlite_error(from))? {
            StepResult::Done => break,
            StepResult::More => {
                busy_since = None;
                thread::sleep(PAUSE_BETWEEN_STEPS);
            }
            // StepResult is non-exhaustive: anything else is a transient busy or locked.
            _ => {
                let since = *busy_since.get_or_insert_with(Instant::now);
                if since.elapsed() > BUSY_MAX {
                    return Err(Failure::unusable(
                        "GJ-BACKUP-BUSY",
                        format!(
                            "{}: 数据库持续繁忙 / the database stayed busy for {} s",
                            from.display(),
                            BUSY_MAX.as_secs()
                        ),
                    ));
                }
                thread::sleep(Duration::from_millis(20));
            }
        }
    }
    let pages = backup.progress().pagecount;
    drop(backup);
    target.close().map_err(|(_, e)| sqlite_error(to)(e))?;
    Ok(pages)
}

/// SQLite's own check of every page and index of the file.
fn check_integrity(path: &Path) -> Result<(), Failure> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(sqlite_error(path))?;
    let verdict: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| {
            Failure::unusable(
                "GJ-RESTORE-CORRUPT",
                format!("{}: 文件已损坏 / the file is damaged: {e}", path.display()),
            )
        })?;
    if verdict != "ok" {
        return Err(Failure::unusable(
            "GJ-RESTORE-CORRUPT",
            format!(
                "{}: 文件已损坏 / the file is damaged: {verdict}",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// The checks of `gongji verify`, printed as it prints them.
fn verify(path: &Path) -> Result<(), Failure> {
    let mut store = gongji_store::SqliteStore::open(path).map_err(|e| {
        Failure::unusable(
            "GJ-RESTORE-VERIFY",
            format!("{}: 无法打开 / cannot open: {e}", path.display()),
        )
    })?;
    let report = gongji_store::Store::verify(&mut store).map_err(|e| {
        Failure::unusable(
            "GJ-RESTORE-VERIFY",
            format!("{}: 无法校验 / cannot verify: {e}", path.display()),
        )
    })?;
    print!("{report}");
    if report.is_clean() {
        Ok(())
    } else {
        Err(Failure {
            code: "GJ-RESTORE-VERIFY",
            message: "备份未通过校验，未恢复 / the backup failed verification; nothing restored"
                .to_string(),
            exit: EXIT_FAILED,
        })
    }
}

fn refuse_existing(path: &Path, force: bool, code: &'static str) -> Result<(), Failure> {
    if path.exists() && !force {
        return Err(Failure::unusable(
            code,
            format!(
                "{}: 已存在，加 --force 才会替换 / already exists; pass --force to replace it",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// Writes any write-ahead log back into the file itself, so the file alone is the database.
fn fold_wal(path: &Path) -> Result<(), Failure> {
    let conn = Connection::open(path).map_err(sqlite_error(path))?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .map_err(sqlite_error(path))?;
    conn.close().map_err(|(_, e)| sqlite_error(path)(e))
}

/// `FILE.tag` beside `FILE`.
fn sibling(path: &Path, tag: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{tag}"));
    path.with_file_name(name)
}

/// Removes a database file and its `-wal` and `-shm` companions, where they exist.
fn remove_with_journals(path: &Path) -> Result<(), Failure> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_os_string();
        name.push(suffix);
        let file = PathBuf::from(name);
        if file.exists() {
            std::fs::remove_file(&file).map_err(io_error(&file))?;
        }
    }
    Ok(())
}

/// Makes `done` durable and renames it to `path`.
fn install(done: &Path, path: &Path) -> Result<(), Failure> {
    File::open(done)
        .and_then(|f| f.sync_all())
        .map_err(io_error(done))?;
    std::fs::rename(done, path).map_err(io_error(path))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))
}
