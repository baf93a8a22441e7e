//! The embedded default backend: one SQLite file, WAL, `synchronous=FULL`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use gongji_core::domain::{Agency, Binding, CatalogItem, Institution, Person};
use gongji_core::pooling::PoolUsage;
use gongji_core::quota::QuotaParties;
use gongji_core::Fen;
use rusqlite::{params, Connection, OptionalExtension};

use crate::batch::{
    AuditRow, BindingUsageDelta, JournalEntry, PoolUsageDelta, PostingRow, PremiumRow,
    QuotaAppliedRow, QuotaSentRow, QuotaSpendRow, SettlementRow, VisitRow, WithheldRow, Write,
    WriteBatch,
};
use crate::chain::{
    self, ChainAlg, ChainSource, ChainedAudit, ChainedEntry, Checkpoint, Head, Heads, UsageRow,
};
use crate::codec::{self, BindingCols, InstitutionCols, PersonCols};
use crate::privacy::{self, KeyEvidence, Mode, PrivacyKey, PrivacyStatus};
use crate::quota;
use crate::rows::{
    audit_row_of, bubao_of, fee_of, journal_entry_of, posting_at, premium_payment_of,
    recovery_case_of, settlement_of, with_owner, withheld_of,
};
use crate::verify::{VerifyReport, Violation};
use crate::{
    ReconcileQuery, ReconcileTotals, Snapshot, Store, StoreError, StoredAnswer, StoredSettlement,
};
use gongji_core::pii::PiiField;

/// Migrations, in order; the PostgreSQL backend runs the same files.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init", include_str!("migrations/0001_init.sql")),
    ("0002_visits", include_str!("migrations/0002_visits.sql")),
    ("0003_people", include_str!("migrations/0003_people.sql")),
    (
        "0012_sessions",
        include_str!("migrations/0012_sessions.sql"),
    ),
    (
        "0013_operators",
        include_str!("migrations/0013_operators.sql"),
    ),
    // Numbered before the chains (0016) so that old rows are chained with their kind.
    (
        "0014_premiums",
        include_str!("migrations/0014_premiums.sql"),
    ),
    (
        "0015_limits_and_floors",
        include_str!("migrations/0015_limits_and_floors.sql"),
    ),
    // Before the chains although numbered after: the chains encode a settlement with the
    // fee lines it paid, so chaining the rows already there (0016) reads this table.
    // Databases that have 0016 already apply it on their next open like any other.
    (
        "0024_settled_fees",
        include_str!("migrations/0024_settled_fees.sql"),
    ),
    (CHAINS_MIGRATION, include_str!("migrations/0016_chains.sql")),
    (
        "0018_app_partners",
        include_str!("migrations/0018_app_partners.sql"),
    ),
    ("0019_checks", include_str!("migrations/0019_checks.sql")),
    (
        "0021_institution_contact",
        include_str!("migrations/0021_institution_contact.sql"),
    ),
    (
        "0022_proxy_consents",
        include_str!("migrations/0022_proxy_consents.sql"),
    ),
    ("0023_privacy", include_str!("migrations/0023_privacy.sql")),
    (
        "0025_payment_channels",
        include_str!("migrations/0025_payment_channels.sql"),
    ),
    ("0026_bubao", include_str!("migrations/0026_bubao.sql")),
    ("0027_quota", include_str!("migrations/0027_quota.sql")),
    (
        "0029_agencies",
        include_str!("migrations/0029_agencies.sql"),
    ),
    (
        "0030_review_requests",
        include_str!("migrations/0030_review_requests.sql"),
    ),
];

/// Inserts or replaces an agency; the same text on both backends (`$n` is SQLite's too).
pub(crate) const SQL_AGENCY: &str = "INSERT INTO agencies (agency_code, agency_name, admdvs,
        lat, lon, address, phone, opening_hours)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
    ON CONFLICT (agency_code) DO UPDATE SET agency_name = excluded.agency_name,
        admdvs = excluded.admdvs, lat = excluded.lat, lon = excluded.lon,
        address = excluded.address, phone = excluded.phone,
        opening_hours = excluded.opening_hours";
/// A fee line as the settlement that paid it saw it (the first write wins: the chain
/// encoded that one).
const SQL_SETTLED_FEE: &str = "INSERT INTO settled_fees (setl_id, feedetl_sn, mdtrt_id,
        chrg_bchno, med_list_codg, amount_fen, count_e4, price_fen)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
    ON CONFLICT (setl_id, feedetl_sn) DO NOTHING";

/// The migration that adds the hash chains; the backends chain the rows already there in
/// the transaction that applies it.
pub(crate) const CHAINS_MIGRATION: &str = "0016_chains";

pub struct SqliteStore {
    conn: Connection,
    /// The file, for the checkpointer's own connection (`None` in memory).
    path: Option<PathBuf>,
    /// Started by the first commit: moves WAL frames into the database file off the
    /// writer's thread.
    checkpointer: Option<Checkpointer>,
    /// How persons' ID and phone numbers are stored (`use_privacy`).
    pub(crate) privacy: Mode,
}

/// WAL checkpoints on a thread of their own, and only once the WAL has grown. SQLite's
/// default runs a checkpoint inside the commit that crosses 1,000 WAL pages, so the writer
/// copies pages into the database file and fsyncs it while every request of the next batch
/// waits. Here a WAL hook on the writer's connection (which replaces SQLite's automatic
/// checkpoint) sees the WAL's length after each commit: past [`WAL_FRAMES_CHECKPOINT`]
/// pages it wakes this thread, whose own connection runs `PRAGMA wal_checkpoint(PASSIVE)`
/// (which never blocks the writer); past [`WAL_FRAMES_FORCE`] (the checkpointer fell far
/// behind) the writer checkpoints itself, as SQLite's automatic checkpoint would. Letting
/// the WAL grow over several batches means a page dirtied by many of them is copied into
/// the database file once (a checkpoint copies each page's latest frame), with one `fsync`
/// of the database file per checkpoint instead of per batch. Durability does not change: a
/// commit is durable once its WAL frames are fsynced (`synchronous=FULL`), before any
/// checkpoint; a crash, mid-checkpoint or not, is recovered from the WAL as always. The
/// WAL is reused from its start once a checkpoint has caught up.
struct Checkpointer {
    /// Boxed: the writer's WAL hook holds its address until [`SqliteStore`]'s drop.
    wake: Option<Box<std::sync::mpsc::SyncSender<()>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A WAL this long (about 128 MB of 4 KB pages, several batches) is checkpointed by the
/// checkpointer thread.
const WAL_FRAMES_CHECKPOINT: i64 = 32_000;

/// At most this many WAL frames (about a batch) are left for RESTART to copy while it
/// holds the writer back.
const WAL_FRAMES_TAIL: i64 = 6_000;

/// A WAL this long (about 512 MB of 4 KB pages) is checkpointed by the writer itself,
/// which bounds the WAL when the checkpointer falls far behind.
const WAL_FRAMES_FORCE: i64 = 128_000;

/// The writer connection's page cache, in KiB (64 MiB). 128 MiB measured within noise of
/// this (+60 MiB resident); 256 MiB took the benchmark's peak to ~1 GiB.
const CACHE_KIB: i64 = 65_536;

/// The writer's WAL hook, called by SQLite after each commit (the write lock released)
/// with the WAL's length in frames.
unsafe extern "C" fn on_wal_commit(
    wake: *mut std::ffi::c_void,
    db: *mut rusqlite::ffi::sqlite3,
    name: *const std::ffi::c_char,
    frames: std::ffi::c_int,
) -> std::ffi::c_int {
    let frames = i64::from(frames);
    if frames >= WAL_FRAMES_CHECKPOINT {
        // SAFETY: registered with a `SyncSender` that outlives the registration.
        let wake = unsafe { &*(wake as *const std::sync::mpsc::SyncSender<()>) };
        // Full means a wake is pending already.
        let _ = wake.try_send(());
    }
    if frames >= WAL_FRAMES_FORCE {
        // What SQLite's automatic checkpoint does from its own hook.
        // SAFETY: the connection and name SQLite handed this hook.
        unsafe { rusqlite::ffi::sqlite3_wal_checkpoint(db, name) };
    }
    rusqlite::ffi::SQLITE_OK
}

impl Checkpointer {
    fn start(path: &Path) -> Result<Checkpointer, StoreError> {
        let conn = Connection::open(path).map_err(io)?;
        conn.execute_batch("PRAGMA busy_timeout=5000;")
            .map_err(io)?;
        let (wake, woken) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("gongji-checkpoint".into())
            .spawn(move || {
                while woken.recv().is_ok() {
                    while woken.try_recv().is_ok() {}
                    // Under steady load the writer commits again before a checkpoint
                    // ends, so the WAL would never start over and only grow. RESTART
                    // makes the next commit write the WAL from its start, but it holds
                    // the writer back while it copies what was written since the last
                    // pass: so passes repeat (each copying what the writer appended
                    // during the one before) until that tail is at most a batch or so.
                    // Errors are not the writer's: the next wake tries again.
                    let mut before = 0;
                    for _ in 0..8 {
                        let Ok((log, done)) =
                            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                                Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
                            })
                        else {
                            break;
                        };
                        if log <= 0 || done < log {
                            break;
                        }
                        if log - before <= WAL_FRAMES_TAIL {
                            let _ =
                                conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()));
                            break;
                        }
                        before = log;
                    }
                }
            })
            .map_err(|e| StoreError::Io(format!("checkpoint thread: {e}")))?;
        Ok(Checkpointer {
            wake: Some(Box::new(wake)),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.wake.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        if self.checkpointer.is_some() {
            // SAFETY: removes the hook that points into the checkpointer, before it goes.
            unsafe {
                rusqlite::ffi::sqlite3_wal_hook(self.conn.handle(), None, std::ptr::null_mut())
            };
        }
    }
}

/// Opens [`SqliteStore::open_reader`] connections on one file.
struct SqliteReaders {
    path: PathBuf,
    /// The writer's: readers match and show persons as it stores them.
    privacy: Mode,
}

impl crate::read::ReaderSource for SqliteReaders {
    fn open_reader(&self) -> Result<Box<dyn crate::read::ReadStore + Send>, StoreError> {
        let mut reader = SqliteStore::open_reader(&self.path)?;
        reader.privacy = self.privacy.clone();
        Ok(Box::new(reader))
    }
}

impl crate::rows::Cols for rusqlite::Row<'_> {
    type Error = rusqlite::Error;

    fn col<T: crate::rows::Value>(&self, i: usize) -> rusqlite::Result<T> {
        self.get(i)
    }

    fn flag(&self, i: usize) -> rusqlite::Result<bool> {
        self.get::<_, i64>(i).map(|v| v != 0)
    }
}

pub(crate) fn io(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(f, ref m)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Conflict(m.clone().unwrap_or_else(|| e.to_string()))
        }
        other => StoreError::Io(other.to_string()),
    }
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        // The WAL's writes coalesced (see `walbuf`); the default VFS if that cannot be had.
        let conn = if crate::walbuf::register() {
            Connection::open_with_flags_and_vfs(
                path,
                rusqlite::OpenFlags::default(),
                crate::walbuf::NAME,
            )
        } else {
            Connection::open(path)
        }
        .map_err(io)?;
        SqliteStore::setup(conn, Some(path.to_path_buf()))
    }

    /// A read-only connection on a database file that a writer has opened and migrated:
    /// the API's and pages' reads, which WAL lets run while the writer commits.
    pub fn open_reader(path: &Path) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open(path).map_err(io)?;
        conn.execute_batch("PRAGMA busy_timeout=5000; PRAGMA query_only=ON;")
            .map_err(io)?;
        Ok(SqliteStore {
            conn,
            path: None,
            checkpointer: None,
            privacy: Mode::Unchecked,
        })
    }

    /// More read-only connections on this store's file (none for an in-memory database).
    pub(crate) fn readers(&self) -> Option<std::sync::Arc<dyn crate::read::ReaderSource>> {
        let path = self.path.clone()?;
        Some(std::sync::Arc::new(SqliteReaders {
            path,
            privacy: self.privacy.clone(),
        }))
    }

    pub fn open_in_memory() -> Result<SqliteStore, StoreError> {
        SqliteStore::setup(Connection::open_in_memory().map_err(io)?, None)
    }

    fn setup(conn: Connection, path: Option<PathBuf>) -> Result<SqliteStore, StoreError> {
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;
             PRAGMA busy_timeout=5000;",
        )
        .map_err(io)?;
        conn.execute_batch(&format!("PRAGMA cache_size=-{CACHE_KIB};"))
            .map_err(io)?;
        let mut store = SqliteStore {
            conn,
            path,
            checkpointer: None,
            privacy: Mode::Unchecked,
        };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        self.conn
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)",
            )
            .map_err(io)?;
        for (name, sql) in MIGRATIONS {
            let done: Option<String> = self
                .conn
                .query_row(
                    "SELECT name FROM schema_migrations WHERE name = ?1",
                    [name],
                    |r| r.get(0),
                )
                .optional()
                .map_err(io)?;
            if done.is_none() {
                let tx = self.conn.transaction().map_err(io)?;
                tx.execute_batch(sql).map_err(io)?;
                if *name == CHAINS_MIGRATION {
                    chain_existing_rows(&tx)?;
                }
                tx.execute(
                    "INSERT INTO schema_migrations (name, applied_at) VALUES (?1, datetime('now'))",
                    [name],
                )
                .map_err(io)?;
                tx.commit().map_err(io)?;
            }
        }
        Ok(())
    }

    /// The first commit of a file-backed store hands checkpoints to their own thread.
    fn start_checkpointer(&mut self) {
        if self.checkpointer.is_some() {
            return;
        }
        let Some(path) = &self.path else {
            return;
        };
        if let Ok(c) = Checkpointer::start(path) {
            if let Some(wake) = &c.wake {
                let arg =
                    &**wake as *const std::sync::mpsc::SyncSender<()> as *mut std::ffi::c_void;
                // SAFETY: the sender is boxed in `self.checkpointer`, and the hook is
                // removed (in `drop`) before the checkpointer is.
                unsafe {
                    rusqlite::ffi::sqlite3_wal_hook(self.conn.handle(), Some(on_wal_commit), arg)
                };
            }
            self.checkpointer = Some(c);
        }
    }

    /// Raw access for tests and tools that must reach behind the ledger (e.g. to prove
    /// that `verify` notices a balance changed with SQL).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    pub fn persons(&mut self) -> Result<Vec<Person>, StoreError> {
        let mode = self.privacy_mode()?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT psn_no, certno, psn_name, gend, brdy, insutype, psn_type, admdvs,
                        psn_insu_stas, cvlserv_flag, public_medical, emp_name, phone
                 FROM persons ORDER BY psn_no",
            )
            .map_err(io)?;
        let mut rows = stmt.query([]).map_err(io)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(io)? {
            let s = |i: usize| r.get::<_, String>(i).map_err(io);
            let psn_no = s(0)?;
            out.push(codec::person_from_cols(PersonCols {
                psn_no: &psn_no,
                certno: &mode.reveal(PiiField::CertNo, &psn_no, &s(1)?)?,
                name: &s(2)?,
                gend: &s(3)?,
                brdy: &s(4)?,
                insutype: &s(5)?,
                psn_type: &s(6)?,
                admdvs: &s(7)?,
                insu_status: &s(8)?,
                civil_servant: r.get::<_, i64>(9).map_err(io)? != 0,
                public_medical: r.get::<_, i64>(10).map_err(io)? != 0,
                emp_name: &s(11)?,
                phone: &mode.reveal(PiiField::Phone, &psn_no, &s(12)?)?,
            })?);
        }
        Ok(out)
    }

    /// How persons are stored, decided as "off" on first use when no key was given (a
    /// database holding sealed data then refuses with `GJ-PRIVACY-KEY-NEEDED`).
    pub(crate) fn privacy_mode(&mut self) -> Result<Mode, StoreError> {
        if let Mode::Unchecked = self.privacy {
            self.apply_privacy_key(None)?;
        }
        Ok(self.privacy.clone())
    }

    fn key_evidence(&self) -> Result<KeyEvidence, StoreError> {
        let check = self
            .conn
            .query_row("SELECT key_check FROM privacy_key LIMIT 1", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(io)?;
        let sealed_sample = self
            .conn
            .query_row(
                "SELECT psn_no, certno FROM persons WHERE certno_lookup IS NOT NULL LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(io)?;
        Ok(KeyEvidence {
            check,
            sealed_sample,
        })
    }

    /// Applies the deployment's personal-data key (`None`: encryption off). The key is
    /// checked against the one the database's data was sealed with before anything is
    /// read or written (`GJ-PRIVACY-KEY-WRONG`); without a key, a database holding sealed
    /// data is refused (`GJ-PRIVACY-KEY-NEEDED`). The first key given to a database is
    /// recorded. From here on, persons are written sealed, with their look-up hashes.
    /// Rows stored in clear before stay so until `seal_plaintext_persons`.
    fn apply_privacy_key(&mut self, key: Option<PrivacyKey>) -> Result<PrivacyStatus, StoreError> {
        let (mode, check) = privacy::decide(key, &self.key_evidence()?)?;
        if let Some(check) = check {
            self.conn
                .execute(
                    "INSERT INTO privacy_key (key_check, alg) VALUES (?1, ?2)",
                    params![check, privacy::ALG],
                )
                .map_err(io)?;
        }
        let enabled = mode.key().is_some();
        self.privacy = mode;
        let plaintext_persons = if enabled {
            count(
                &self.conn,
                "SELECT COUNT(*) FROM persons WHERE certno_lookup IS NULL",
            )?
        } else {
            0
        };
        Ok(PrivacyStatus {
            enabled,
            plaintext_persons,
        })
    }

    /// Seals the persons still stored in clear, `batch` rows per transaction, calling
    /// `progress(done, total)` after each; returns how many were sealed. Needs the key
    /// (`use_privacy`). The plaintext is then gone from the file, not only replaced: an
    /// UPDATE leaves old bytes in the unused space of b-tree pages (even with
    /// `secure_delete`, which a 10,000-person test showed), so the file is rebuilt with
    /// VACUUM (a one-time rewrite of the whole database) and the WAL emptied.
    fn seal_plaintext_rows(
        &mut self,
        batch: usize,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<u64, StoreError> {
        let mode = self.privacy.clone();
        if mode.key().is_none() {
            return Err(privacy::PrivacyError::KeyNeeded.into());
        }
        let total = count(
            &self.conn,
            "SELECT COUNT(*) FROM persons WHERE certno_lookup IS NULL",
        )?;
        if total == 0 {
            return Ok(0);
        }
        let sealed = self.seal_in_batches(&mode, batch.max(1), total, progress)?;
        self.conn.execute_batch("VACUUM;").map_err(io)?;
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(io)?;
        Ok(sealed)
    }

    fn seal_in_batches(
        &mut self,
        mode: &Mode,
        batch: usize,
        total: u64,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<u64, StoreError> {
        let mut done = 0_u64;
        loop {
            let tx = self
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(io)?;
            let rows: Vec<(String, String, String)> = {
                let mut stmt = tx
                    .prepare(
                        "SELECT psn_no, certno, phone FROM persons WHERE certno_lookup IS NULL
                         ORDER BY psn_no LIMIT ?1",
                    )
                    .map_err(io)?;
                let rows = stmt
                    .query_map([i64::try_from(batch).unwrap_or(i64::MAX)], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })
                    .map_err(io)?;
                rows.collect::<Result<_, _>>().map_err(io)?
            };
            if rows.is_empty() {
                tx.commit().map_err(io)?;
                return Ok(done);
            }
            {
                let mut update = tx
                    .prepare(
                        "UPDATE persons SET certno = ?2, phone = ?3, certno_lookup = ?4,
                             phone_lookup = ?5 WHERE psn_no = ?1",
                    )
                    .map_err(io)?;
                for (psn_no, certno, phone) in &rows {
                    let c = mode.store(PiiField::CertNo, psn_no, certno)?;
                    let p = mode.store(PiiField::Phone, psn_no, phone)?;
                    update
                        .execute(params![psn_no, c.value, p.value, c.lookup, p.lookup])
                        .map_err(io)?;
                }
            }
            tx.commit().map_err(io)?;
            done += rows.len() as u64;
            progress(done, total);
        }
    }

    pub fn institutions(&self) -> Result<Vec<Institution>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT fixmedins_code, fixmedins_name, fixmedins_type, hosp_lv, admdvs, lat, lon,
                        mutual_aid, paasid, token, address, phone, opening_hours
                 FROM institutions ORDER BY fixmedins_code",
            )
            .map_err(io)?;
        let mut rows = stmt.query([]).map_err(io)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(io)? {
            let s = |i: usize| r.get::<_, String>(i).map_err(io);
            out.push(codec::institution_from_cols(InstitutionCols {
                code: &s(0)?,
                name: &s(1)?,
                kind: &s(2)?,
                level: &s(3)?,
                admdvs: &s(4)?,
                lat: &s(5)?,
                lon: &s(6)?,
                mutual_aid: r.get::<_, i64>(7).map_err(io)? != 0,
                paasid: &s(8)?,
                token: &s(9)?,
                address: &s(10)?,
                phone: &s(11)?,
                opening_hours: &s(12)?,
            })?);
        }
        Ok(out)
    }

    pub fn agencies(&self) -> Result<Vec<Agency>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {} FROM agencies ORDER BY agency_code",
                codec::AGENCY_COLUMNS
            ))
            .map_err(io)?;
        let mut rows = stmt.query([]).map_err(io)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(io)? {
            let s = |i: usize| r.get::<_, String>(i).map_err(io);
            out.push(codec::agency_from_cols([
                &s(0)?,
                &s(1)?,
                &s(2)?,
                &s(3)?,
                &s(4)?,
                &s(5)?,
                &s(6)?,
                &s(7)?,
            ])?);
        }
        Ok(out)
    }

    pub fn catalog(&self) -> Result<Vec<CatalogItem>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT med_list_codg, med_list_name, chrgitm_lv, pric_uplmt_fen, selfpay_prop_bp
                 FROM catalog ORDER BY med_list_codg",
            )
            .map_err(io)?;
        let mut rows = stmt.query([]).map_err(io)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(io)? {
            out.push(codec::catalog_from_cols(
                &r.get::<_, String>(0).map_err(io)?,
                &r.get::<_, String>(1).map_err(io)?,
                &r.get::<_, String>(2).map_err(io)?,
                r.get::<_, Option<i64>>(3).map_err(io)?,
                r.get::<_, i64>(4).map_err(io)?,
            )?);
        }
        Ok(out)
    }

    pub fn bindings(&self) -> Result<Vec<Binding>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT binding_id, holder_psn_no, relative_psn_no, relationship, begin_date, end_date,
                        limit_per_payment_fen, limit_per_month_fen, status, channel,
                        limit_per_day_fen, limit_per_year_fen
                 FROM bindings ORDER BY binding_id",
            )
            .map_err(io)?;
        let mut rows = stmt.query([]).map_err(io)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(io)? {
            let s = |i: usize| r.get::<_, String>(i).map_err(io);
            let end: Option<String> = r.get(5).map_err(io)?;
            out.push(codec::binding_from_cols(BindingCols {
                id: r.get(0).map_err(io)?,
                holder: &s(1)?,
                relative: &s(2)?,
                relationship: &s(3)?,
                begin: &s(4)?,
                end: end.as_deref(),
                limit_per_payment: r.get(6).map_err(io)?,
                limit_per_month: r.get(7).map_err(io)?,
                status: &s(8)?,
                channel: &s(9)?,
                limit_per_day: r.get(10).map_err(io)?,
                limit_per_year: r.get(11).map_err(io)?,
            })?);
        }
        Ok(out)
    }

    /// Balances of every ledger account.
    pub fn balances(&self) -> Result<HashMap<String, Fen>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT account_key, balance_fen FROM accounts")
            .map_err(io)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, Fen::from_fen(r.get(1)?)))
            })
            .map_err(io)?;
        rows.collect::<Result<HashMap<_, _>, _>>().map_err(io)
    }

    fn max_id(&self, sql: &str) -> Result<i64, StoreError> {
        self.conn
            .query_row(sql, [], |r| r.get::<_, Option<i64>>(0))
            .map(|v| v.unwrap_or(0))
            .map_err(io)
    }

    fn entry(&self, entry_id: i64) -> Result<Option<JournalEntry>, StoreError> {
        let head = self
            .conn
            .query_row(
                concat!(
                    "SELECT ",
                    crate::row_columns!(journal_entry),
                    " FROM journal WHERE entry_id = ?1"
                ),
                [entry_id],
                |r| journal_entry_of(r),
            )
            .optional()
            .map_err(io)?;
        let Some(mut entry) = head else {
            return Ok(None);
        };
        entry.postings = self.postings_of(entry_id)?;
        Ok(Some(entry))
    }

    fn postings_of(&self, entry_id: i64) -> Result<Vec<PostingRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(concat!(
                "SELECT ",
                crate::row_columns!(posting),
                " FROM postings WHERE entry_id = ?1 ORDER BY seq"
            ))
            .map_err(io)?;
        let rows = stmt
            .query_map([entry_id], |r| posting_at(r, 0).map(with_owner))
            .map_err(io)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(io)
    }

    fn usage_of(
        &self,
        entry_id: i64,
    ) -> Result<(Vec<PoolUsageDelta>, Vec<BindingUsageDelta>), StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(concat!(
                "SELECT ",
                crate::row_columns!(usage),
                " FROM usage_log WHERE entry_id = ?1"
            ))
            .map_err(io)?;
        let mut rows = stmt.query([entry_id]).map_err(io)?;
        let (mut pool, mut binding) = (Vec::new(), Vec::new());
        while let Some(r) = rows.next().map_err(io)? {
            let kind: String = r.get(0).map_err(io)?;
            if kind == "pool" {
                pool.push(PoolUsageDelta {
                    entry_id,
                    psn_no: r
                        .get::<_, Option<String>>(1)
                        .map_err(io)?
                        .unwrap_or_default(),
                    period: r.get(2).map_err(io)?,
                    cap_group: r
                        .get::<_, Option<String>>(3)
                        .map_err(io)?
                        .unwrap_or_default(),
                    deductible: Fen::from_fen(r.get(5).map_err(io)?),
                    fund: Fen::from_fen(r.get(6).map_err(io)?),
                    burden: Fen::from_fen(r.get(7).map_err(io)?),
                });
            } else {
                binding.push(BindingUsageDelta {
                    entry_id,
                    binding_id: r.get::<_, Option<i64>>(4).map_err(io)?.unwrap_or_default(),
                    month: r.get(2).map_err(io)?,
                    amount: Fen::from_fen(r.get(8).map_err(io)?),
                });
            }
        }
        Ok((pool, binding))
    }

    fn settlement_row(&self, setl_id: &str) -> Result<Option<SettlementRow>, StoreError> {
        self.conn
            .query_row(
                concat!(
                    "SELECT ",
                    crate::row_columns!(settlement),
                    " FROM settlements WHERE setl_id = ?1"
                ),
                [setl_id],
                |r| settlement_of(r),
            )
            .optional()
            .map_err(io)
    }
}

/// Writes a batch on `conn`, inside a transaction the caller opened and will commit.
///
/// Balances are additive upserts that no other write of the batch reads, so they are
/// summed per account while the batch is walked and written once per account at its end
/// (a batch of thousands of settlements at a few pharmacies touches each pharmacy's
/// clearing account once, not once per settlement). Everything else is written in batch
/// order, so every write sees the ones before it.
///
/// Journal entries and audit rows are chained onto the heads in `chain_heads`, read in
/// this transaction, and the heads advanced with them (see `chain.rs`).
fn write_batch(conn: &Connection, writes: &[Write], privacy: &Mode) -> Result<(), StoreError> {
    let mut heads = read_heads(conn)?.unwrap_or_default();
    let before = heads;
    let stamps = chain::stamp(writes, &mut heads)?;
    let mut audits = stamps.audit.iter();
    let alg = heads.alg.code();
    let mut accounts: BTreeMap<&str, (Option<&str>, i64)> = BTreeMap::new();
    for w in writes {
        match w {
            Write::Entry(e) => write_entry(conn, e, &mut accounts, alg, stamps.entry(e.entry_id)?)?,
            Write::Audit(a) => {
                let (id, hash) = audits
                    .next()
                    .ok_or_else(|| StoreError::Io("audit row was not chained".into()))?;
                write_audit(conn, *id, a, alg, hash)?
            }
            other => write_one(conn, other, privacy)?,
        }
    }
    if heads != before {
        write_heads(conn, &heads)?;
    }
    let mut update = conn
        .prepare_cached(
            "INSERT INTO accounts (account_key, psn_no, balance_fen) VALUES (?1, ?2, ?3)
             ON CONFLICT (account_key) DO UPDATE SET balance_fen = accounts.balance_fen + excluded.balance_fen",
        )
        .map_err(io)?;
    for (key, (psn_no, delta)) in &accounts {
        update.execute(params![key, psn_no, delta]).map_err(io)?;
    }
    Ok(())
}

/// Stores a sign-in session: in a batch (with its audit row) or on its own.
pub(crate) fn insert_session(
    conn: &Connection,
    row: &crate::read::SessionRow,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO sessions (token_sha256, kind, psn_no, username, role, fixmedins_code,
             created_at, last_seen_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .and_then(|mut st| {
        st.execute(params![
            row.token_sha256,
            row.kind,
            row.psn_no,
            row.username,
            row.role,
            row.fixmedins_code,
            row.created_at,
            row.last_seen_at,
            row.expires_at
        ])
    })
    .map(|_| ())
    .map_err(io)
}

fn write_one(tx: &Connection, w: &Write, privacy: &Mode) -> Result<(), StoreError> {
    match w {
        Write::Person(p) => {
            let certno = privacy.store(PiiField::CertNo, &p.psn_no, p.certno.reveal())?;
            let phone = privacy.store(PiiField::Phone, &p.psn_no, p.phone.reveal())?;
            tx.prepare_cached(
                "INSERT INTO persons (psn_no, certno, psn_name, gend, brdy, insutype, psn_type, admdvs,
                     psn_insu_stas, cvlserv_flag, public_medical, emp_name, phone, certno_lookup,
                     phone_lookup)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
                 ON CONFLICT (psn_no) DO UPDATE SET certno = excluded.certno, psn_name = excluded.psn_name,
                     gend = excluded.gend, brdy = excluded.brdy, insutype = excluded.insutype,
                     psn_type = excluded.psn_type, admdvs = excluded.admdvs,
                     psn_insu_stas = excluded.psn_insu_stas, cvlserv_flag = excluded.cvlserv_flag,
                     public_medical = excluded.public_medical, emp_name = excluded.emp_name,
                     phone = excluded.phone, certno_lookup = excluded.certno_lookup,
                     phone_lookup = excluded.phone_lookup",
            )
            .and_then(|mut s| {
                s.execute(params![
                    p.psn_no,
                    certno.value,
                    p.name.reveal(),
                    p.gender.code(),
                    codec::fmt_date(p.birth_date),
                    p.insutype.code(),
                    p.psn_type,
                    p.admdvs.to_string(),
                    p.insu_status.code(),
                    i64::from(p.civil_servant),
                    i64::from(p.public_medical),
                    p.employer_name,
                    phone.value,
                    certno.lookup,
                    phone.lookup,
                ])
            })
            .map_err(io)?;
        }
        Write::Institution(i) => {
            tx.prepare_cached(
                "INSERT INTO institutions (fixmedins_code, fixmedins_name, fixmedins_type, hosp_lv, admdvs,
                     lat, lon, mutual_aid, paasid, token, address, phone, opening_hours)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
                 ON CONFLICT (fixmedins_code) DO UPDATE SET fixmedins_name = excluded.fixmedins_name,
                     fixmedins_type = excluded.fixmedins_type, hosp_lv = excluded.hosp_lv,
                     admdvs = excluded.admdvs, lat = excluded.lat, lon = excluded.lon,
                     mutual_aid = excluded.mutual_aid, paasid = excluded.paasid, token = excluded.token,
                     address = excluded.address, phone = excluded.phone,
                     opening_hours = excluded.opening_hours",
            )
            .and_then(|mut s| {
                s.execute(params![
                    i.code,
                    i.name,
                    i.kind.code(),
                    i.level.code(),
                    i.admdvs.to_string(),
                    format!("{:.6}", i.lat),
                    format!("{:.6}", i.lon),
                    i64::from(i.mutual_aid),
                    i.paasid,
                    i.token,
                    i.contact.address,
                    i.contact.phone,
                    i.contact.opening_hours,
                ])
            })
            .map_err(io)?;
        }
        Write::Agency(a) => {
            tx.prepare_cached(SQL_AGENCY)
                .and_then(|mut s| {
                    s.execute(params![
                        a.code,
                        a.name,
                        a.admdvs.to_string(),
                        format!("{:.6}", a.lat),
                        format!("{:.6}", a.lon),
                        a.contact.address,
                        a.contact.phone,
                        a.contact.opening_hours,
                    ])
                })
                .map_err(io)?;
        }
        Write::CatalogItem(c) => {
            tx.prepare_cached(
                "INSERT INTO catalog (med_list_codg, med_list_name, chrgitm_lv, pric_uplmt_fen, selfpay_prop_bp)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (med_list_codg) DO UPDATE SET med_list_name = excluded.med_list_name,
                     chrgitm_lv = excluded.chrgitm_lv, pric_uplmt_fen = excluded.pric_uplmt_fen,
                     selfpay_prop_bp = excluded.selfpay_prop_bp",
            )
            .and_then(|mut s| {
                s.execute(params![
                    c.code,
                    c.name,
                    c.level.code(),
                    c.price_cap.map(Fen::fen),
                    i64::from(c.selfpay_prop.get()),
                ])
            })
            .map_err(io)?;
        }
        Write::Binding { binding: b, admdvs } => {
            tx.prepare_cached(
                "INSERT INTO bindings (binding_id, holder_psn_no, relative_psn_no, relationship, begin_date,
                     end_date, limit_per_payment_fen, limit_per_month_fen, status, channel, admdvs,
                     limit_per_day_fen, limit_per_year_fen)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
                 ON CONFLICT (binding_id) DO UPDATE SET end_date = excluded.end_date,
                     limit_per_payment_fen = excluded.limit_per_payment_fen,
                     limit_per_month_fen = excluded.limit_per_month_fen,
                     limit_per_day_fen = excluded.limit_per_day_fen,
                     limit_per_year_fen = excluded.limit_per_year_fen, status = excluded.status",
            )
            .and_then(|mut s| {
                s.execute(params![
                    b.id,
                    b.holder,
                    b.relative,
                    b.relationship.to_string(),
                    codec::fmt_date(b.begin),
                    b.end.map(codec::fmt_date),
                    b.limit_per_payment.map(Fen::fen),
                    b.limit_per_month.map(Fen::fen),
                    b.status.code(),
                    b.channel.code(),
                    admdvs,
                    b.limit_per_day.map(Fen::fen),
                    b.limit_per_year.map(Fen::fen),
                ])
            })
            .map_err(io)?;
        }
        Write::BindingChange {
            holder_psn_no,
            month,
        } => {
            tx.prepare_cached(
                "INSERT INTO binding_changes (holder_psn_no, month, count) VALUES (?1, ?2, 1)
                 ON CONFLICT (holder_psn_no, month) DO UPDATE SET count = binding_changes.count + 1",
            )
            .and_then(|mut s| s.execute(params![holder_psn_no, month]))
            .map_err(io)?;
        }
        Write::Entry(_) | Write::Audit(_) => {
            return Err(StoreError::Io(
                "journal entries and audit rows are written chained, by write_batch".into(),
            ));
        }
        Write::Visit(v) => {
            tx.prepare_cached(
                "INSERT INTO visits (mdtrt_id, psn_no, fixmedins_code, admdvs, insutype, med_type,
                     begntime, status, diagnosis)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (mdtrt_id) DO UPDATE SET med_type = excluded.med_type,
                     status = excluded.status, diagnosis = excluded.diagnosis",
            )
            .and_then(|mut s| {
                s.execute(params![
                    v.mdtrt_id,
                    v.psn_no,
                    v.fixmedins_code,
                    v.admdvs,
                    v.insutype,
                    v.med_type,
                    v.begntime,
                    v.status,
                    v.diagnosis
                ])
            })
            .map_err(io)?;
        }
        Write::Fee(f) => {
            tx.prepare_cached(
                "INSERT INTO fee_details (mdtrt_id, feedetl_sn, chrg_bchno, med_list_codg, amount_fen,
                     count_e4, price_fen, setl_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (mdtrt_id, feedetl_sn) DO UPDATE SET chrg_bchno = excluded.chrg_bchno,
                     med_list_codg = excluded.med_list_codg, amount_fen = excluded.amount_fen,
                     count_e4 = excluded.count_e4, price_fen = excluded.price_fen,
                     setl_id = excluded.setl_id",
            )
            .and_then(|mut s| {
                s.execute(params![
                    f.mdtrt_id,
                    f.feedetl_sn,
                    f.chrg_bchno,
                    f.med_list_codg,
                    f.amount.fen(),
                    f.count_e4,
                    f.price.fen(),
                    f.setl_id
                ])
            })
            .map_err(io)?;
            if let Some(setl_id) = &f.setl_id {
                tx.prepare_cached(SQL_SETTLED_FEE)
                    .and_then(|mut s| {
                        s.execute(params![
                            setl_id,
                            f.feedetl_sn,
                            f.mdtrt_id,
                            f.chrg_bchno,
                            f.med_list_codg,
                            f.amount.fen(),
                            f.count_e4,
                            f.price.fen()
                        ])
                    })
                    .map_err(io)?;
            }
        }
        Write::FeeDelete {
            mdtrt_id,
            feedetl_sn,
        } => {
            tx.prepare_cached("DELETE FROM fee_details WHERE mdtrt_id = ?1 AND feedetl_sn = ?2")
                .and_then(|mut s| s.execute(params![mdtrt_id, feedetl_sn]))
                .map_err(io)?;
        }
        Write::Message {
            msgid,
            request_hash,
            response,
        } => {
            tx.prepare_cached(
                "INSERT INTO messages (msgid, request_hash, response) VALUES (?1, ?2, ?3)",
            )
            .and_then(|mut s| s.execute(params![msgid, request_hash, response]))
            .map_err(io)?;
        }
        Write::Settlement(s) => {
            tx.prepare_cached(
                "INSERT INTO settlements (setl_id, entry_id, mdtrt_id, psn_no, fixmedins_code, admdvs,
                     insutype, med_type, setl_date, medfee_sumamt, fund_pay_sumamt, acct_pay,
                     acct_mulaid_pay, psn_cash_pay, cancelled, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    s.setl_id,
                    s.entry_id,
                    s.mdtrt_id,
                    s.psn_no,
                    s.fixmedins_code,
                    s.admdvs,
                    s.insutype,
                    s.med_type,
                    s.setl_date,
                    s.medfee_sumamt.fen(),
                    s.fund_pay_sumamt.fen(),
                    s.acct_pay.fen(),
                    s.acct_mulaid_pay.fen(),
                    s.psn_cash_pay.fen(),
                    i64::from(s.cancelled),
                    s.detail,
                ])
            })
            .map_err(io)?;
        }
        Write::SettlementCancelled { setl_id } => {
            tx.prepare_cached("UPDATE settlements SET cancelled = 1 WHERE setl_id = ?1")
                .and_then(|mut s| s.execute([setl_id]))
                .map_err(io)?;
        }
        Write::MarkReversed {
            entry_id,
            reversed_by,
        } => {
            let n = tx
                .prepare_cached(
                    "UPDATE journal SET reversed_by = ?2 WHERE entry_id = ?1 AND reversed_by IS NULL",
                )
                .and_then(|mut s| s.execute(params![entry_id, reversed_by]))
                .map_err(io)?;
            if n != 1 {
                return Err(StoreError::Conflict(format!(
                    "entry {entry_id} is already reversed"
                )));
            }
        }
        Write::PoolUsage(u) => {
            tx.prepare_cached(
                "INSERT INTO pool_usage (psn_no, period, cap_group, deductible_fen, fund_fen, burden_fen)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (psn_no, period, cap_group) DO UPDATE SET
                     deductible_fen = pool_usage.deductible_fen + excluded.deductible_fen,
                     fund_fen = pool_usage.fund_fen + excluded.fund_fen,
                     burden_fen = pool_usage.burden_fen + excluded.burden_fen",
            )
            .and_then(|mut s| {
                s.execute(params![
                    u.psn_no,
                    u.period,
                    u.cap_group,
                    u.deductible.fen(),
                    u.fund.fen(),
                    u.burden.fen()
                ])
            })
            .map_err(io)?;
            tx.prepare_cached(
                "INSERT INTO usage_log (entry_id, kind, psn_no, period, cap_group, binding_id,
                     deductible_fen, fund_fen, burden_fen, amount_fen)
                 VALUES (?1, 'pool', ?2, ?3, ?4, NULL, ?5, ?6, ?7, 0)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    u.entry_id,
                    u.psn_no,
                    u.period,
                    u.cap_group,
                    u.deductible.fen(),
                    u.fund.fen(),
                    u.burden.fen()
                ])
            })
            .map_err(io)?;
        }
        Write::BindingUsage(u) => {
            tx.prepare_cached(
                "INSERT INTO binding_usage (binding_id, month, amount_fen) VALUES (?1, ?2, ?3)
                 ON CONFLICT (binding_id, month) DO UPDATE SET
                     amount_fen = binding_usage.amount_fen + excluded.amount_fen",
            )
            .and_then(|mut s| s.execute(params![u.binding_id, u.month, u.amount.fen()]))
            .map_err(io)?;
            tx.prepare_cached(
                "INSERT INTO usage_log (entry_id, kind, psn_no, period, cap_group, binding_id,
                     deductible_fen, fund_fen, burden_fen, amount_fen)
                 VALUES (?1, 'binding', NULL, ?2, NULL, ?3, 0, 0, 0, ?4)",
            )
            .and_then(|mut s| s.execute(params![u.entry_id, u.month, u.binding_id, u.amount.fen()]))
            .map_err(io)?;
        }
        Write::Premium(p) => {
            tx.prepare_cached(
                "INSERT INTO premiums (relative_psn_no, year, kind, entry_id, holder_psn_no, category,
                     amount_fen, channel, agent_id, paid_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    p.relative_psn_no,
                    p.year,
                    p.kind,
                    p.entry_id,
                    p.holder_psn_no,
                    p.category,
                    p.amount.fen(),
                    p.channel,
                    p.agent_id,
                    p.paid_at
                ])
            })
            .map_err(io)?;
        }
        Write::Withheld(w) => {
            tx.prepare_cached(
                "INSERT INTO pool_withheld (setl_id, seq, entry_id, psn_no, admdvs, year, setl_date,
                     fund_pay_type, name_zh, amount_fen, explanation)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    w.setl_id,
                    w.seq,
                    w.entry_id,
                    w.psn_no,
                    w.admdvs,
                    w.year,
                    w.setl_date,
                    w.fund_pay_type,
                    w.name_zh,
                    w.amount.fen(),
                    w.explanation
                ])
            })
            .map_err(io)?;
        }
        Write::Bubao(b) => {
            tx.prepare_cached(
                "INSERT INTO bubao (setl_id, entry_id, psn_no, admdvs, year, amount_fen, paid_on)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    b.setl_id,
                    b.entry_id,
                    b.psn_no,
                    b.admdvs,
                    b.year,
                    b.amount.fen(),
                    b.paid_on
                ])
            })
            .map_err(io)?;
        }
        Write::PremiumRefund {
            relative_psn_no,
            year,
        } => {
            tx.prepare_cached("DELETE FROM premiums WHERE relative_psn_no = ?1 AND year = ?2")
                .and_then(|mut s| s.execute(params![relative_psn_no, year]))
                .map_err(io)?;
        }
        Write::ContributionCategory(c) => {
            tx.prepare_cached(
                "INSERT INTO contribution_categories (psn_no, year, category, source_dept, list_date,
                     imported_at, imported_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (psn_no, year, category, source_dept) DO UPDATE SET
                     list_date = excluded.list_date, imported_at = excluded.imported_at,
                     imported_by = excluded.imported_by",
            )
            .and_then(|mut s| {
                s.execute(params![
                    c.psn_no,
                    c.year,
                    c.category,
                    c.source_dept,
                    c.list_date,
                    c.imported_at,
                    c.imported_by,
                ])
            })
            .map_err(io)?;
        }
        Write::RecoveryCase(c) => {
            tx.prepare_cached(
                "INSERT INTO recovery_cases (case_id, binding_id, holder_psn_no, relative_psn_no, setl_id,
                     admdvs, amount_fen, reason, status, opened_by, opened_at, repaid_by, repaid_at,
                     repaid_entry_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
                 ON CONFLICT (case_id) DO UPDATE SET status = excluded.status,
                     repaid_by = excluded.repaid_by, repaid_at = excluded.repaid_at,
                     repaid_entry_id = excluded.repaid_entry_id",
            )
            .and_then(|mut s| {
                s.execute(params![
                    c.case_id,
                    c.binding_id,
                    c.holder_psn_no,
                    c.relative_psn_no,
                    c.setl_id,
                    c.admdvs,
                    c.amount.fen(),
                    c.reason,
                    c.status,
                    c.opened_by,
                    c.opened_at,
                    c.repaid_by,
                    c.repaid_at,
                    c.repaid_entry_id,
                ])
            })
            .map_err(io)?;
        }
        Write::Commitment(c) => {
            tx.prepare_cached(
                "INSERT INTO commitments (binding_id, holder_psn_no, admdvs, notice_version, letter,
                     sha256, signature, signed_at, channel)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    c.binding_id,
                    c.holder_psn_no,
                    c.admdvs,
                    c.notice_version,
                    c.letter,
                    c.sha256,
                    c.signature,
                    c.signed_at,
                    c.channel,
                ])
            })
            .map_err(io)?;
        }
        Write::Session(row) => insert_session(tx, row)?,
        Write::QuotaBinding(b) => {
            let p = &b.parties;
            tx.prepare_cached(quota::BINDING_SQLITE)
                .and_then(|mut st| {
                    st.execute(params![
                        p.holder_province,
                        p.holder_psn_no,
                        p.relative_province,
                        p.relative_psn_no,
                        b.side.code(),
                        b.relationship.to_string(),
                        codec::fmt_date(b.begin),
                        b.end.map(codec::fmt_date),
                        b.status.code(),
                        b.created_at,
                        b.updated_at
                    ])
                })
                .map_err(io)?;
        }
        Write::QuotaSent(r) => {
            let p = &r.parties;
            tx.prepare_cached(quota::SENT_SQLITE)
                .and_then(|mut st| {
                    st.execute(params![
                        r.transfer_id,
                        r.direction.code(),
                        p.holder_province,
                        p.holder_psn_no,
                        p.relative_province,
                        p.relative_psn_no,
                        r.amount.fen(),
                        r.state.code(),
                        r.entry_id,
                        r.release_entry_id,
                        r.attempts,
                        r.last_error,
                        r.created_at,
                        r.updated_at
                    ])
                })
                .map_err(io)?;
        }
        Write::QuotaApplied(r) => {
            let p = &r.parties;
            tx.prepare_cached(quota::APPLIED_SQLITE)
                .and_then(|mut st| {
                    st.execute(params![
                        r.transfer_id,
                        r.direction.code(),
                        p.holder_province,
                        p.holder_psn_no,
                        p.relative_province,
                        p.relative_psn_no,
                        r.amount.fen(),
                        r.entry_id,
                        r.refusal_code,
                        r.refusal_zh,
                        r.at
                    ])
                })
                .map_err(io)?;
        }
        Write::QuotaSpend(r) => {
            let p = &r.parties;
            tx.prepare_cached(quota::SPEND_SQLITE)
                .and_then(|mut st| {
                    st.execute(params![
                        r.entry_id,
                        r.setl_id,
                        p.holder_province,
                        p.holder_psn_no,
                        p.relative_province,
                        p.relative_psn_no,
                        r.fixmedins_code,
                        r.amount.fen(),
                        r.at
                    ])
                })
                .map_err(io)?;
        }
        Write::Review(row) => {
            let (phone, certno) = crate::reviews::stored_pii(privacy, row)?;
            tx.prepare_cached(crate::reviews::SQL_PUT)
                .and_then(|mut st| {
                    st.execute(params![
                        row.review_id,
                        row.psn_no,
                        row.kind,
                        row.state,
                        row.name,
                        phone,
                        certno,
                        row.admdvs,
                        row.submitted_at,
                        row.decided_at,
                        row.decided_by,
                        row.reason
                    ])
                })
                .map_err(io)?;
        }
        Write::ProxyConsent(row) => {
            tx.prepare_cached(
                "INSERT INTO proxy_consents (token, parent_psn_no, child_psn_no, given_at, revoked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (token) DO UPDATE SET revoked_at = excluded.revoked_at",
            )
            .and_then(|mut st| {
                st.execute(params![
                    row.token,
                    row.parent_psn_no,
                    row.child_psn_no,
                    row.given_at,
                    row.revoked_at
                ])
            })
            .map_err(io)?;
        }
    }
    Ok(())
}

fn quota_parties(r: &rusqlite::Row<'_>, i: usize) -> Result<QuotaParties, StoreError> {
    quota::parties(
        r.get(i).map_err(io)?,
        r.get(i + 1).map_err(io)?,
        r.get(i + 2).map_err(io)?,
        r.get(i + 3).map_err(io)?,
    )
}

fn quota_sent_of(r: &rusqlite::Row<'_>) -> Result<QuotaSentRow, StoreError> {
    quota::sent(quota::SentCols {
        transfer_id: r.get(0).map_err(io)?,
        direction: r.get(1).map_err(io)?,
        parties: quota_parties(r, 2)?,
        amount: r.get(6).map_err(io)?,
        state: r.get(7).map_err(io)?,
        entry_id: r.get(8).map_err(io)?,
        release_entry_id: r.get(9).map_err(io)?,
        attempts: r.get(10).map_err(io)?,
        last_error: r.get(11).map_err(io)?,
        created_at: r.get(12).map_err(io)?,
        updated_at: r.get(13).map_err(io)?,
    })
}

fn quota_applied_of(r: &rusqlite::Row<'_>) -> Result<QuotaAppliedRow, StoreError> {
    quota::applied(quota::AppliedCols {
        transfer_id: r.get(0).map_err(io)?,
        direction: r.get(1).map_err(io)?,
        parties: quota_parties(r, 2)?,
        amount: r.get(6).map_err(io)?,
        entry_id: r.get(7).map_err(io)?,
        refusal_code: r.get(8).map_err(io)?,
        refusal_zh: r.get(9).map_err(io)?,
        at: r.get(10).map_err(io)?,
    })
}

fn quota_spend_of(r: &rusqlite::Row<'_>) -> Result<QuotaSpendRow, StoreError> {
    Ok(quota::spend(quota::SpendCols {
        entry_id: r.get(0).map_err(io)?,
        setl_id: r.get(1).map_err(io)?,
        parties: quota_parties(r, 2)?,
        fixmedins_code: r.get(6).map_err(io)?,
        amount: r.get(7).map_err(io)?,
        at: r.get(8).map_err(io)?,
    }))
}

/// Every row of a quota query, decoded.
fn quota_query<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    decode: impl Fn(&rusqlite::Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut st = conn.prepare_cached(sql).map_err(io)?;
    let mut rows = st.query(params).map_err(io)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(io)? {
        out.push(decode(r)?);
    }
    Ok(out)
}

fn quota_rows(conn: &Connection, snap: &mut Snapshot) -> Result<(), StoreError> {
    snap.quota_bindings = quota_query(conn, quota::SELECT_BINDINGS, [], |r| {
        quota::binding(quota::BindingCols {
            parties: quota_parties(r, 0)?,
            side: r.get(4).map_err(io)?,
            relationship: r.get(5).map_err(io)?,
            begin: r.get(6).map_err(io)?,
            end: r.get(7).map_err(io)?,
            status: r.get(8).map_err(io)?,
            created_at: r.get(9).map_err(io)?,
            updated_at: r.get(10).map_err(io)?,
        })
    })?;
    snap.quota_sent = quota_query(conn, quota::SELECT_SENT, [], quota_sent_of)?;
    snap.quota_applied = quota_query(conn, quota::SELECT_APPLIED, [], quota_applied_of)?;
    snap.quota_spends = quota_query(conn, quota::SELECT_SPENDS, [], quota_spend_of)?;
    Ok(())
}

fn write_audit(
    tx: &Connection,
    audit_id: i64,
    a: &AuditRow,
    alg: &str,
    hash: &chain::Digest,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO audit_log (audit_id, at, actor, channel, action, subject, before_state,
             after_state, chain_alg, chain_hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )
    .and_then(|mut s| {
        s.execute(params![
            audit_id,
            a.at,
            a.actor,
            a.channel,
            a.action,
            a.subject,
            a.before_state,
            a.after_state,
            alg,
            chain::to_hex(hash),
        ])
    })
    .map_err(io)?;
    Ok(())
}

fn write_entry<'a>(
    tx: &Connection,
    e: &'a JournalEntry,
    accounts: &mut BTreeMap<&'a str, (Option<&'a str>, i64)>,
    chain_alg: &str,
    (chain_seq, chain_hash): (i64, String),
) -> Result<(), StoreError> {
    // Refuse an unbalanced entry here too: the second of the two balance checks.
    let sum = e
        .postings
        .iter()
        .try_fold(0_i64, |acc, p| acc.checked_add(p.amount.fen()))
        .ok_or_else(|| StoreError::Io(format!("entry {}: sum out of range", e.entry_id)))?;
    if sum != 0 {
        return Err(StoreError::Conflict(format!(
            "entry {} does not balance: {}",
            e.entry_id,
            Fen::from_fen(sum)
        )));
    }
    tx.prepare_cached(
        "INSERT INTO journal (entry_id, msgid, kind, admdvs, psn_no, fixmedins_code, channel, occurred_at,
             reverses_entry, reversed_by, request_hash, response, summary, chain_seq, chain_alg,
             chain_hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, NULL, ?10, ?11, ?12, ?13, ?14, ?15)",
    )
    .and_then(|mut s| {
        s.execute(params![
            e.entry_id,
            e.msgid,
            e.kind,
            e.admdvs,
            e.psn_no,
            e.fixmedins_code,
            e.channel,
            e.occurred_at,
            e.reverses_entry,
            e.request_hash,
            e.response,
            e.summary,
            chain_seq,
            chain_alg,
            chain_hash,
        ])
    })
    .map_err(io)?;
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO postings (entry_id, seq, account_key, amount_fen, rule, floor_fen,
                 balance_after_fen, explanation)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .map_err(io)?;
    for (seq, p) in e.postings.iter().enumerate() {
        insert
            .execute(params![
                e.entry_id,
                seq as i64,
                p.account_key,
                p.amount.fen(),
                p.rule,
                p.floor.map(Fen::fen),
                p.balance_after.fen(),
                p.explanation,
            ])
            .map_err(io)?;
        let slot = accounts
            .entry(p.account_key.as_str())
            .or_insert((p.psn_no.as_deref(), 0));
        slot.1 = slot.1.checked_add(p.amount.fen()).ok_or_else(|| {
            StoreError::Io(format!("account {}: sum out of range", p.account_key))
        })?;
    }
    Ok(())
}

impl Store for SqliteStore {
    fn load_snapshot(&mut self) -> Result<Snapshot, StoreError> {
        let mut snap = Snapshot {
            persons: self.persons()?,
            balances: self.balances()?,
            bindings: self.bindings()?,
            institutions: self.institutions()?,
            agencies: self.agencies()?,
            catalog: self.catalog()?,
            max_entry_id: self.max_id("SELECT MAX(entry_id) FROM journal")?,
            max_binding_id: self.max_id("SELECT MAX(binding_id) FROM bindings")?,
            max_audit_id: self.max_id("SELECT MAX(audit_id) FROM audit_log")?,
            ..Snapshot::default()
        };
        {
            let mut stmt = self
                .conn
                .prepare(
                    "SELECT psn_no, period, cap_group, deductible_fen, fund_fen, burden_fen FROM pool_usage",
                )
                .map_err(io)?;
            let mut rows = stmt.query([]).map_err(io)?;
            while let Some(r) = rows.next().map_err(io)? {
                let key = (r.get(0).map_err(io)?, r.get(1).map_err(io)?);
                let group: String = r.get(2).map_err(io)?;
                let period: &String = &key.1;
                let is_day = period.len() > 4;
                let deductible = Fen::from_fen(r.get(3).map_err(io)?);
                let fund = Fen::from_fen(r.get(4).map_err(io)?);
                let burden = Fen::from_fen(r.get(5).map_err(io)?);
                let usage = PoolUsage {
                    deductible_used_year: if is_day { Fen::ZERO } else { deductible },
                    fund_paid_year: if is_day { Fen::ZERO } else { fund },
                    fund_paid_today: if is_day { fund } else { Fen::ZERO },
                    burden_year: if is_day { Fen::ZERO } else { burden },
                };
                snap.pool_usage.entry(key).or_default().insert(group, usage);
            }
        }
        {
            let mut stmt = self
                .conn
                .prepare("SELECT binding_id, month, amount_fen FROM binding_usage")
                .map_err(io)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(((r.get(0)?, r.get(1)?), Fen::from_fen(r.get(2)?)))
                })
                .map_err(io)?;
            snap.binding_usage = rows.collect::<Result<_, _>>().map_err(io)?;
        }
        {
            let mut stmt = self
                .conn
                .prepare("SELECT relative_psn_no, year, kind FROM premiums")
                .map_err(io)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(io)?;
            snap.premiums_paid = rows.collect::<Result<_, _>>().map_err(io)?;
        }
        {
            let mut stmt = self
                .conn
                .prepare("SELECT psn_no, year, category FROM contribution_categories")
                .map_err(io)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(io)?;
            snap.contribution_categories = rows.collect::<Result<_, _>>().map_err(io)?;
        }
        {
            let mut stmt = self
                .conn
                .prepare(
                    "SELECT mdtrt_id, psn_no, fixmedins_code, admdvs, insutype, med_type, begntime,
                            status, diagnosis FROM visits WHERE status = 'open'",
                )
                .map_err(io)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(VisitRow {
                        mdtrt_id: r.get(0)?,
                        psn_no: r.get(1)?,
                        fixmedins_code: r.get(2)?,
                        admdvs: r.get(3)?,
                        insutype: r.get(4)?,
                        med_type: r.get(5)?,
                        begntime: r.get(6)?,
                        status: r.get(7)?,
                        diagnosis: r.get(8)?,
                    })
                })
                .map_err(io)?;
            snap.visits = rows.collect::<Result<_, _>>().map_err(io)?;
        }
        {
            let mut stmt = self
                .conn
                .prepare(concat!(
                    "SELECT ",
                    crate::row_columns!(fee),
                    " FROM fee_details f JOIN visits v ON v.mdtrt_id = f.mdtrt_id
                     WHERE v.status = 'open' ORDER BY f.mdtrt_id, f.feedetl_sn"
                ))
                .map_err(io)?;
            let rows = stmt.query_map([], |r| fee_of(r)).map_err(io)?;
            snap.fees = rows.collect::<Result<_, _>>().map_err(io)?;
        }
        {
            let mut stmt = self
                .conn
                .prepare("SELECT holder_psn_no, month, count FROM binding_changes")
                .map_err(io)?;
            let rows = stmt
                .query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))
                .map_err(io)?;
            snap.binding_changes = rows.collect::<Result<_, _>>().map_err(io)?;
        }
        snap.recovery_cases = self.recovery_case_rows("ORDER BY case_id", &[])?;
        quota_rows(&self.conn, &mut snap)?;
        // The page cache now holds the last pages of a full scan, of no use to the writer:
        // hand it back (it refills with the pages batches touch).
        let _ = self.conn.execute_batch("PRAGMA shrink_memory;");
        Ok(snap)
    }

    fn commit(&mut self, batch: &WriteBatch) -> Result<(), StoreError> {
        self.start_checkpointer();
        // IMMEDIATE: the batch's first statement reads the chain heads. A deferred transaction
        // would hold a read snapshot and then ask for the write lock, which SQLite refuses at
        // once ("database is locked", no busy wait) when another connection wrote meanwhile,
        // as the checkpointer's RESTART does; taking the write lock first waits like any writer.
        let privacy = self.privacy_mode()?;
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(io)?;
        write_batch(&tx, &batch.writes, &privacy)?;
        tx.commit().map_err(io)?;
        Ok(())
    }

    fn answers_for_msgids(
        &mut self,
        msgids: &[&str],
    ) -> Result<HashMap<String, StoredAnswer>, StoreError> {
        // One read transaction for the whole batch: outside a transaction every lookup
        // would take and release SQLite's shared lock (two fcntl calls) on its own.
        let tx = if self.conn.is_autocommit() {
            Some(self.conn.unchecked_transaction().map_err(io)?)
        } else {
            None
        };
        let mut journal = self.conn.prepare_cached(SQL_ANSWER_JOURNAL).map_err(io)?;
        let mut messages = self.conn.prepare_cached(SQL_ANSWER_MESSAGE).map_err(io)?;
        let mut out = HashMap::new();
        for m in msgids {
            let found = journal
                .query_row([m], journal_answer_of)
                .optional()
                .map_err(io)?;
            let found = match found {
                Some(a) => Some(a),
                None => messages
                    .query_row([m], message_answer_of)
                    .optional()
                    .map_err(io)?,
            };
            if let Some(a) = found {
                out.insert((*m).to_string(), a);
            }
        }
        drop((journal, messages));
        if let Some(tx) = tx {
            tx.commit().map_err(io)?;
        }
        Ok(out)
    }

    fn answer_for_msgid(&mut self, msgid: &str) -> Result<Option<StoredAnswer>, StoreError> {
        let journal = self
            .conn
            .prepare_cached(SQL_ANSWER_JOURNAL)
            .and_then(|mut s| s.query_row([msgid], journal_answer_of).optional())
            .map_err(io)?;
        if journal.is_some() {
            return Ok(journal);
        }
        self.conn
            .prepare_cached(SQL_ANSWER_MESSAGE)
            .and_then(|mut s| s.query_row([msgid], message_answer_of).optional())
            .map_err(io)
    }

    fn settlement(&mut self, setl_id: &str) -> Result<Option<StoredSettlement>, StoreError> {
        if self.conn.is_autocommit() {
            // One snapshot for the row, its entry and its usage (as on PostgreSQL).
            let tx = self.conn.unchecked_transaction().map_err(io)?;
            let found = self.settlement_parts(setl_id);
            tx.commit().map_err(io)?;
            return found;
        }
        self.settlement_parts(setl_id)
    }

    fn review_state(&mut self, review_id: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .prepare_cached(crate::reviews::SQL_STATE)
            .and_then(|mut st| st.query_row([review_id], |r| r.get(0)).optional())
            .map_err(io)
    }

    fn verify(&mut self) -> Result<VerifyReport, StoreError> {
        verify_sqlite(&self.conn, &[])
    }

    fn withheld(&mut self, setl_id: &str) -> Result<Vec<WithheldRow>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(concat!(
                "SELECT ",
                crate::row_columns!(withheld),
                " FROM pool_withheld WHERE setl_id = ?1 ORDER BY seq"
            ))
            .map_err(io)?;
        let rows = st
            .query_map(params![setl_id], |r| withheld_of(r))
            .map_err(io)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(io)
    }

    fn premium_payments(
        &mut self,
        psn_no: &str,
    ) -> Result<Vec<crate::read::PremiumPayment>, StoreError> {
        premium_payments(&self.conn, psn_no)
    }

    fn verify_with(&mut self, anchors: &[Checkpoint]) -> Result<VerifyReport, StoreError> {
        verify_sqlite(&self.conn, anchors)
    }

    fn use_privacy(&mut self, key: Option<PrivacyKey>) -> Result<PrivacyStatus, StoreError> {
        self.apply_privacy_key(key)
    }

    fn seal_plaintext_persons(
        &mut self,
        batch: usize,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<u64, StoreError> {
        self.seal_plaintext_rows(batch, progress)
    }

    fn reconcile(&mut self, q: &ReconcileQuery) -> Result<ReconcileTotals, StoreError> {
        self.reconcile_totals(q)
    }
}

impl SqliteStore {
    fn settlement_parts(&self, setl_id: &str) -> Result<Option<StoredSettlement>, StoreError> {
        let Some(row) = self.settlement_row(setl_id)? else {
            return Ok(None);
        };
        let entry = self.entry(row.entry_id)?.ok_or_else(|| {
            StoreError::Corrupt(format!("settlement {setl_id} has no journal entry"))
        })?;
        let (pool, binding) = self.usage_of(row.entry_id)?;
        Ok(Some(StoredSettlement {
            row,
            entry,
            pool_usage: pool,
            binding_usage: binding,
        }))
    }

    fn reconcile_totals(&self, q: &ReconcileQuery) -> Result<ReconcileTotals, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT med_type, COALESCE(SUM(medfee_sumamt), 0), COALESCE(SUM(fund_pay_sumamt), 0),
                        COALESCE(SUM(acct_pay), 0), COUNT(*)
                 FROM settlements
                 WHERE fixmedins_code = ?1 AND insutype = ?2 AND setl_date >= ?3 AND setl_date <= ?4
                   AND (?5 = 1 OR cancelled = 0)
                 GROUP BY med_type",
            )
            .map_err(io)?;
        let rows = stmt
            .query_map(
                params![
                    q.fixmedins_code,
                    q.insutype,
                    q.begin,
                    q.end,
                    i64::from(q.include_cancelled)
                ],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        ReconcileTotals {
                            medfee_sumamt: Fen::from_fen(r.get(1)?),
                            fund_pay_sumamt: Fen::from_fen(r.get(2)?),
                            acct_pay: Fen::from_fen(r.get(3)?),
                            count: r.get(4)?,
                        },
                    ))
                },
            )
            .map_err(io)?;
        let mut totals = ReconcileTotals::default();
        for row in rows {
            let (med_type, t) = row.map_err(io)?;
            if q.med_types.contains(&med_type) {
                totals.add(&t)?;
            }
        }
        Ok(totals)
    }
}

impl crate::ConventionalTx for SqliteStore {
    fn begin(&mut self) -> Result<(), StoreError> {
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(io)
    }

    fn lock_accounts(
        &mut self,
        account_keys: &[String],
    ) -> Result<HashMap<String, Fen>, StoreError> {
        // BEGIN IMMEDIATE holds the database's write lock already; read what is stored.
        let mut stmt = self
            .conn
            .prepare_cached("SELECT balance_fen FROM accounts WHERE account_key = ?1")
            .map_err(io)?;
        let mut out = HashMap::new();
        for key in account_keys {
            let stored: Option<i64> = stmt.query_row([key], |r| r.get(0)).optional().map_err(io)?;
            if let Some(b) = stored {
                out.insert(key.clone(), Fen::from_fen(b));
            }
        }
        Ok(out)
    }

    fn write_and_commit(&mut self, batch: &WriteBatch) -> Result<(), StoreError> {
        let written = self
            .privacy_mode()
            .and_then(|privacy| write_batch(&self.conn, &batch.writes, &privacy))
            .and_then(|()| self.conn.execute_batch("COMMIT").map_err(io));
        if written.is_err() {
            crate::ConventionalTx::rollback(self);
        }
        written
    }

    fn rollback(&mut self) {
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

fn count(conn: &Connection, sql: &str) -> Result<u64, StoreError> {
    conn.query_row(sql, [], |r| r.get::<_, i64>(0))
        .map(|n| n.max(0) as u64)
        .map_err(io)
}

/// One read transaction, so a writer committing meanwhile cannot make the chain's rows and
/// its recorded head disagree.
fn verify_sqlite(conn: &Connection, anchors: &[Checkpoint]) -> Result<VerifyReport, StoreError> {
    let own_tx = conn.is_autocommit();
    if own_tx {
        conn.execute_batch("BEGIN").map_err(io)?;
    }
    let report = verify_sqlite_checks(conn, anchors);
    if own_tx {
        let _ = conn.execute_batch("COMMIT");
    }
    report
}

fn verify_sqlite_checks(
    conn: &Connection,
    anchors: &[Checkpoint],
) -> Result<VerifyReport, StoreError> {
    let mut report = VerifyReport {
        entries: count(conn, "SELECT COUNT(*) FROM journal")?,
        postings: count(conn, "SELECT COUNT(*) FROM postings")?,
        accounts: count(conn, "SELECT COUNT(*) FROM accounts")?,
        settlements: count(conn, "SELECT COUNT(*) FROM settlements")?,
        cancels: count(
            conn,
            "SELECT COUNT(*) FROM journal WHERE reverses_entry IS NOT NULL",
        )?,
        ..VerifyReport::default()
    };
    let v = &mut report.violations;
    let q = |sql: &str, f: &mut dyn FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<()>| {
        let mut stmt = conn.prepare(sql).map_err(io)?;
        let mut rows = stmt.query([]).map_err(io)?;
        while let Some(r) = rows.next().map_err(io)? {
            f(r).map_err(io)?;
        }
        Ok::<(), StoreError>(())
    };
    q(
        "SELECT entry_id, SUM(amount_fen) FROM postings GROUP BY entry_id HAVING SUM(amount_fen) <> 0",
        &mut |r| {
            v.push(Violation::EntryUnbalanced {
                entry_id: r.get(0)?,
                sum: Fen::from_fen(r.get(1)?),
            });
            Ok(())
        },
    )?;
    q(
        "SELECT k, COALESCE(stored, 0), COALESCE(posted, 0) FROM (
             SELECT a.account_key AS k, a.balance_fen AS stored,
                    (SELECT SUM(p.amount_fen) FROM postings p WHERE p.account_key = a.account_key) AS posted
             FROM accounts a
             UNION ALL
             SELECT p.account_key, NULL, SUM(p.amount_fen) FROM postings p
             WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.account_key = p.account_key)
             GROUP BY p.account_key)
         WHERE COALESCE(stored, 0) <> COALESCE(posted, 0) ORDER BY k",
        &mut |r| {
            v.push(Violation::BalanceMismatch {
                account: r.get(0)?,
                stored: Fen::from_fen(r.get(1)?),
                postings: Fen::from_fen(r.get(2)?),
            });
            Ok(())
        },
    )?;
    q(
        "SELECT account_key, balance_fen FROM accounts
         WHERE account_key LIKE 'psn:%' AND balance_fen < 0 ORDER BY account_key",
        &mut |r| {
            v.push(Violation::BelowZero {
                account: r.get(0)?,
                balance: Fen::from_fen(r.get(1)?),
            });
            Ok(())
        },
    )?;
    q(
        "SELECT account_key, entry_id, balance_after_fen, floor_fen FROM postings
         WHERE floor_fen IS NOT NULL AND balance_after_fen < floor_fen ORDER BY entry_id",
        &mut |r| {
            v.push(Violation::BelowFloor {
                account: r.get(0)?,
                entry_id: r.get(1)?,
                balance_after: Fen::from_fen(r.get(2)?),
                floor: Fen::from_fen(r.get(3)?),
            });
            Ok(())
        },
    )?;
    q(
        "SELECT account_key, entry_id, balance_after_fen, running FROM (
             SELECT account_key, entry_id, balance_after_fen,
                    SUM(amount_fen) OVER (PARTITION BY account_key ORDER BY entry_id, seq
                                          ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running
             FROM postings WHERE account_key LIKE 'psn:%')
         WHERE running <> balance_after_fen ORDER BY account_key, entry_id",
        &mut |r| {
            v.push(Violation::RunningBalance {
                account: r.get(0)?,
                entry_id: r.get(1)?,
                recorded: Fen::from_fen(r.get(2)?),
                computed: Fen::from_fen(r.get(3)?),
            });
            Ok(())
        },
    )?;
    q(crate::verify::SQL_POOL_USAGE_MISMATCH, &mut |r| {
        v.push(crate::verify::pool_usage_mismatch(
            [r.get(0)?, r.get(1)?, r.get(2)?],
            [r.get(3)?, r.get(4)?, r.get(5)?],
            [r.get(6)?, r.get(7)?, r.get(8)?],
        ));
        Ok(())
    })?;
    q(crate::verify::SQL_BINDING_USAGE_MISMATCH, &mut |r| {
        v.push(crate::verify::binding_usage_mismatch(
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
        ));
        Ok(())
    })?;
    // Every cancel is the exact negation of its original, and the flags agree.
    q(
        "SELECT c.entry_id, c.reverses_entry, o.reversed_by FROM journal c
         LEFT JOIN journal o ON o.entry_id = c.reverses_entry
         WHERE c.reverses_entry IS NOT NULL",
        &mut |r| {
            let cancel: i64 = r.get(0)?;
            let original: i64 = r.get(1)?;
            let flag: Option<i64> = r.get(2)?;
            if flag != Some(cancel) {
                v.push(Violation::CancelFlag {
                    entry_id: original,
                    detail: format!("reversed_by is {flag:?}, expected {cancel}"),
                });
            }
            Ok(())
        },
    )?;
    q(
        "SELECT c.entry_id, c.reverses_entry, COALESCE(cp.account_key, op.account_key),
                COALESCE(cp.total, 0), COALESCE(op.total, 0)
         FROM journal c
         JOIN (SELECT entry_id, account_key, SUM(amount_fen) AS total FROM postings
               GROUP BY entry_id, account_key) op ON op.entry_id = c.reverses_entry
         LEFT JOIN (SELECT entry_id, account_key, SUM(amount_fen) AS total FROM postings
               GROUP BY entry_id, account_key) cp
              ON cp.entry_id = c.entry_id AND cp.account_key = op.account_key
         WHERE c.reverses_entry IS NOT NULL AND COALESCE(cp.total, 0) <> -op.total",
        &mut |r| {
            v.push(Violation::CancelMismatch {
                cancel_entry: r.get(0)?,
                original_entry: r.get(1)?,
                detail: format!(
                    "account {} moved {} but the original moved {}",
                    r.get::<_, String>(2)?,
                    Fen::from_fen(r.get(3)?),
                    Fen::from_fen(r.get(4)?)
                ),
            });
            Ok(())
        },
    )?;
    q(
        "SELECT s.entry_id, s.cancelled, j.reversed_by FROM settlements s
         JOIN journal j ON j.entry_id = s.entry_id
         WHERE (s.cancelled = 1) <> (j.reversed_by IS NOT NULL)",
        &mut |r| {
            v.push(Violation::CancelFlag {
                entry_id: r.get(0)?,
                detail: format!(
                    "settlement cancelled={} but journal reversed_by={:?}",
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<i64>>(2)?
                ),
            });
            Ok(())
        },
    )?;
    q(
        "SELECT CASE WHEN instr(account_key, ':') > 0
                     THEN substr(account_key, 1, instr(account_key, ':') - 1)
                     ELSE account_key END AS kind,
                SUM(balance_fen) FROM accounts GROUP BY kind",
        &mut |r| {
            report
                .totals_by_kind
                .insert(r.get(0)?, Fen::from_fen(r.get(1)?));
            Ok(())
        },
    )?;
    report.chains = chain::verify_chains(&mut SqliteChain(conn), anchors, &mut report.violations)?;
    Ok(report)
}

// ---------------------------------------------------------------------------------------
// The hash chains (`chain.rs`): where they stand, their rows in chain order, and the
// chaining of rows written before them.

fn read_heads(conn: &Connection) -> Result<Option<Heads>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT chain, alg, head, row_count, last_id FROM chain_heads")
        .map_err(io)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })
        .map_err(io)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(io)?;
    heads_from_rows(rows)
}

/// `chain_heads` rows as [`Heads`]; `None` before the first is written.
pub(crate) fn heads_from_rows(
    rows: Vec<(String, String, String, i64, i64)>,
) -> Result<Option<Heads>, StoreError> {
    if rows.is_empty() {
        return Ok(None);
    }
    let mut heads = Heads::default();
    for (name, alg, head, count, last_id) in rows {
        let corrupt = || StoreError::Corrupt(format!("chain_heads row {name} does not decode"));
        let head = Head {
            hash: chain::from_hex(&head).ok_or_else(corrupt)?,
            rows: u64::try_from(count).map_err(|_| corrupt())?,
            last_id,
        };
        match name.as_str() {
            chain::JOURNAL => {
                heads.alg = ChainAlg::from_code(&alg).ok_or_else(corrupt)?;
                heads.journal = head;
            }
            chain::AUDIT => heads.audit = head,
            _ => return Err(corrupt()),
        }
    }
    Ok(Some(heads))
}

fn write_heads(conn: &Connection, heads: &Heads) -> Result<(), StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO chain_heads (chain, alg, head, row_count, last_id) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (chain) DO UPDATE SET alg = excluded.alg, head = excluded.head,
                 row_count = excluded.row_count, last_id = excluded.last_id",
        )
        .map_err(io)?;
    for (name, h) in [
        (chain::JOURNAL, &heads.journal),
        (chain::AUDIT, &heads.audit),
    ] {
        let rows = i64::try_from(h.rows).map_err(|_| StoreError::Io("chain too long".into()))?;
        stmt.execute(params![
            name,
            heads.alg.code(),
            chain::to_hex(&h.hash),
            rows,
            h.last_id
        ])
        .map_err(io)?;
    }
    Ok(())
}

/// Migration 0016's second half: chains the rows already there, in its transaction.
fn chain_existing_rows(tx: &Connection) -> Result<(), StoreError> {
    let mut set_journal = tx
        .prepare(
            "UPDATE journal SET chain_alg = ?1, chain_hash = ?2, chain_seq = ?4 WHERE entry_id = ?3",
        )
        .map_err(io)?;
    let mut set_audit = tx
        .prepare("UPDATE audit_log SET chain_alg = ?1, chain_hash = ?2 WHERE audit_id = ?3")
        .map_err(io)?;
    let alg = ChainAlg::default();
    let heads = chain::chain_existing(&mut SqliteChain(tx), alg, &mut |table, id, seq, hash| {
        if table == chain::JOURNAL {
            set_journal.execute(params![alg.code(), chain::to_hex(hash), id, seq])
        } else {
            set_audit.execute(params![alg.code(), chain::to_hex(hash), id])
        }
        .map_err(io)?;
        Ok(())
    })?;
    write_heads(tx, &heads)
}

/// The rows of the chains on a SQLite connection.
struct SqliteChain<'c>(&'c Connection);

impl ChainSource for SqliteChain<'_> {
    fn journal_after(
        &mut self,
        after: i64,
        limit: i64,
        by_id: bool,
    ) -> Result<Vec<ChainedEntry>, StoreError> {
        let conn = self.0;
        let entries = conn
            .prepare_cached(if by_id {
                concat!(
                    "SELECT ",
                    crate::row_columns!(journal_entry),
                    ", reversed_by, chain_alg, chain_hash, chain_seq \
                     FROM journal WHERE entry_id > ?1 ORDER BY entry_id LIMIT ?2"
                )
            } else {
                concat!(
                    "SELECT ",
                    crate::row_columns!(journal_entry),
                    ", reversed_by, chain_alg, chain_hash, chain_seq \
                     FROM journal WHERE chain_seq > ?1 ORDER BY chain_seq LIMIT ?2"
                )
            })
            .and_then(|mut s| {
                s.query_map(params![after, limit], |r| {
                    Ok(ChainedEntry {
                        entry: journal_entry_of(r)?,
                        reversed_by: r.get(12)?,
                        settlement: None,
                        premium: None,
                        recovery: None,
                        quota: Default::default(),
                        withheld: Vec::new(),
                        bubao: None,
                        usage: Vec::new(),
                        fees: Vec::new(),
                        alg: r.get(13)?,
                        hash: r.get(14)?,
                        chain_seq: r.get(15)?,
                        posting_seqs: Vec::new(),
                    })
                })?
                .collect::<Result<Vec<_>, _>>()
            })
            .map_err(io)?;
        let (Some(lo), Some(hi)) = (
            entries.iter().map(|e| e.entry.entry_id).min(),
            entries.iter().map(|e| e.entry.entry_id).max(),
        ) else {
            return Ok(entries);
        };
        let postings = conn
            .prepare_cached(concat!(
                "SELECT entry_id, seq, ",
                crate::row_columns!(posting),
                " FROM postings WHERE entry_id >= ?1 AND entry_id <= ?2 ORDER BY entry_id, seq"
            ))
            .and_then(|mut s| {
                s.query_map(params![lo, hi], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, posting_at(r, 2)?))
                })?
                .collect::<Result<Vec<_>, _>>()
            })
            .map_err(io)?;
        let settlements = conn
            .prepare_cached(concat!(
                "SELECT ",
                crate::row_columns!(settlement),
                " FROM settlements WHERE entry_id >= ?1 AND entry_id <= ?2"
            ))
            .and_then(|mut s| {
                s.query_map(params![lo, hi], |r| settlement_of(r))?
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(io)?;
        let premiums = conn
            .prepare_cached(concat!(
                "SELECT ",
                crate::row_columns!(premium),
                " FROM premiums WHERE entry_id >= ?1 AND entry_id <= ?2"
            ))
            .and_then(|mut s| {
                s.query_map(params![lo, hi], |r| {
                    Ok(PremiumRow {
                        relative_psn_no: r.get(0)?,
                        year: r.get(1)?,
                        entry_id: r.get(2)?,
                        holder_psn_no: r.get(3)?,
                        category: r.get(4)?,
                        amount: Fen::from_fen(r.get(5)?),
                        kind: r.get(6)?,
                        channel: r.get(7)?,
                        agent_id: r.get(8)?,
                        paid_at: r.get(9)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()
            })
            .map_err(io)?;
        let recoveries = conn
            .prepare_cached(concat!(
                "SELECT ",
                crate::row_columns!(recovery_case),
                " FROM recovery_cases WHERE repaid_entry_id >= ?1 AND repaid_entry_id <= ?2"
            ))
            .and_then(|mut s| {
                s.query_map(params![lo, hi], |r| recovery_case_of(r))?
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(io)?;
        // Chaining at migration 0016 (`by_id`) runs before these tables exist, and no row
        // that old records one.
        let (withheld, bubao) = if by_id {
            (Vec::new(), Vec::new())
        } else {
            let withheld = conn
                .prepare_cached(concat!(
                    "SELECT ",
                    crate::row_columns!(withheld),
                    " FROM pool_withheld WHERE entry_id >= ?1 AND entry_id <= ?2
                     ORDER BY entry_id, seq"
                ))
                .and_then(|mut s| {
                    s.query_map(params![lo, hi], |r| withheld_of(r))?
                        .collect::<Result<Vec<_>, _>>()
                })
                .map_err(io)?;
            let bubao = conn
                .prepare_cached(concat!(
                    "SELECT ",
                    crate::row_columns!(bubao),
                    " FROM bubao WHERE entry_id >= ?1 AND entry_id <= ?2"
                ))
                .and_then(|mut s| {
                    s.query_map(params![lo, hi], |r| bubao_of(r))?
                        .collect::<Result<Vec<_>, _>>()
                })
                .map_err(io)?;
            (withheld, bubao)
        };
        let fees = conn
            .prepare_cached(concat!(
                "SELECT ",
                crate::row_columns!(fee),
                " FROM settled_fees f JOIN settlements s ON s.setl_id = f.setl_id
                 WHERE s.entry_id >= ?1 AND s.entry_id <= ?2"
            ))
            .and_then(|mut s| {
                s.query_map(params![lo, hi], |r| fee_of(r))?
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(io)?;
        let usage = conn
            .prepare_cached(concat!(
                "SELECT entry_id, ",
                crate::row_columns!(usage),
                " FROM usage_log WHERE entry_id >= ?1 AND entry_id <= ?2"
            ))
            .and_then(|mut s| {
                s.query_map(params![lo, hi], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        UsageRow {
                            kind: r.get(1)?,
                            psn_no: r.get(2)?,
                            period: r.get(3)?,
                            cap_group: r.get(4)?,
                            binding_id: r.get(5)?,
                            deductible: Fen::from_fen(r.get(6)?),
                            fund: Fen::from_fen(r.get(7)?),
                            burden: Fen::from_fen(r.get(8)?),
                            amount: Fen::from_fen(r.get(9)?),
                        },
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()
            })
            .map_err(io)?;
        let mut entries = chain::assemble(
            entries,
            chain::RecordedRows {
                postings,
                settlements,
                premiums,
                recoveries,
                withheld,
                bubao,
                usage,
                fees,
            },
        );
        // Rows chained before the quota tables existed (by_id, at migration 0016) record none.
        if !by_id {
            chain::attach_quota(
                &mut entries,
                quota_query(
                    conn,
                    quota::SENT_OF_ENTRIES_SQLITE,
                    params![lo, hi],
                    quota_sent_of,
                )?,
                quota_query(
                    conn,
                    quota::APPLIED_OF_ENTRIES_SQLITE,
                    params![lo, hi],
                    quota_applied_of,
                )?,
                quota_query(
                    conn,
                    quota::SPENDS_OF_ENTRIES_SQLITE,
                    params![lo, hi],
                    quota_spend_of,
                )?,
            );
        }
        Ok(entries)
    }

    fn audit_after(&mut self, after: i64, limit: i64) -> Result<Vec<ChainedAudit>, StoreError> {
        self.0
            .prepare_cached(concat!(
                "SELECT ",
                crate::row_columns!(audit),
                ", chain_alg, chain_hash \
                 FROM audit_log WHERE audit_id > ?1 ORDER BY audit_id LIMIT ?2"
            ))
            .and_then(|mut s| {
                s.query_map(params![after, limit], |r| {
                    Ok(ChainedAudit {
                        audit_id: r.get(0)?,
                        row: audit_row_of(r)?,
                        alg: r.get(8)?,
                        hash: r.get(9)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()
            })
            .map_err(io)
    }

    fn heads(&mut self) -> Result<Option<Heads>, StoreError> {
        read_heads(self.0)
    }

    fn unchained_entry(&mut self) -> Result<Option<i64>, StoreError> {
        self.0
            .query_row(
                "SELECT MIN(entry_id) FROM journal WHERE chain_seq IS NULL",
                [],
                |r| r.get(0),
            )
            .map_err(io)
    }
}

impl SqliteStore {
    /// The hash function new journal and audit rows are chained with (SM3 unless changed);
    /// rows already chained keep theirs.
    pub fn use_chain_alg(&mut self, alg: ChainAlg) -> Result<(), StoreError> {
        let tx = self.conn.transaction().map_err(io)?;
        let mut heads = read_heads(&tx)?.unwrap_or_default();
        heads.alg = alg;
        write_heads(&tx, &heads)?;
        tx.commit().map_err(io)
    }
}

/// Every premium paid for `psn_no`, newest first (R-R7).
pub(crate) fn premium_payments(
    conn: &Connection,
    psn_no: &str,
) -> Result<Vec<crate::read::PremiumPayment>, StoreError> {
    let mut st = conn
        .prepare_cached(concat!(
            crate::premium_payment_select!(),
            " WHERE pr.relative_psn_no = ?1 ORDER BY pr.entry_id DESC"
        ))
        .map_err(io)?;
    let rows = st
        .query_map(params![psn_no], |r| premium_payment_of(r))
        .map_err(io)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(io)
}

const SQL_ANSWER_JOURNAL: &str =
    "SELECT entry_id, request_hash, response FROM journal WHERE msgid = ?1";
const SQL_ANSWER_MESSAGE: &str = "SELECT request_hash, response FROM messages WHERE msgid = ?1";

fn journal_answer_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredAnswer> {
    Ok(StoredAnswer {
        entry_id: Some(r.get(0)?),
        request_hash: r.get(1)?,
        response: r.get(2)?,
    })
}

fn message_answer_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredAnswer> {
    Ok(StoredAnswer {
        entry_id: None,
        request_hash: r.get(0)?,
        response: r.get(1)?,
    })
}
