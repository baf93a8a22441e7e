//! The production backend: PostgreSQL 15 (and the PostgreSQL-compatible engines bureaus run:
//! openGauss, KingbaseES, PolarDB), through the blocking `postgres` client.
//!
//! Same schema (the same migration files as SQLite, listed in [`crate::sqlite::MIGRATIONS`]),
//! same [`Store`] semantics, same checks in `verify`; `tests/contract.rs` runs one behavioural
//! suite against both backends.
//!
//! **One writer per province.** [`PgStore::connect`] takes a session-level advisory lock on
//! the database before it migrates or writes anything (DESIGN principle 8). The lock lives
//! exactly as long as the connection: if the writer process dies, PostgreSQL drops the
//! session and a standby's `connect` succeeds; there is no split brain because `PgStore`
//! never reconnects by itself (a lost connection is a lost lease, and every later commit
//! fails until the process starts over and takes the lock again). How quickly the server
//! notices a writer whose machine vanished is set by the server's `tcp_keepalives_*`
//! settings. The writer needs a session of its own: connect it to the server directly or
//! through a pooler in session mode (a transaction-mode pooler would hand the lock's
//! session to others). [`PgStore::connect_reader`] takes no lock and cannot commit:
//! records, reports, pages and `verify` scale out on readers (or replicas).
//!
//! **Routing by province.** Every row that belongs to a person or an institution carries
//! its `admdvs`, and mutual aid never leaves a province, so a national deployment is one
//! database per province: a router takes the 2-digit province prefix of `admdvs`
//! (`Admdvs::province`, e.g. 37 Shandong) to pick the database URL, and each provincial
//! database has its own writer holding its own lease. No query here ever crosses provinces.
//!
//! **Group commit.** A batch is one transaction; `synchronous_commit` stays on, so `commit`
//! returns only once the batch is durable. Statements are prepared once per connection.
//! A batch of thousands of writes must not cost a round trip per row, so most rows are
//! gathered while the batch is walked and written at its end, a statement per kind of row
//! rather than per row: journal rows, settlement rows, postings and the usage log
//! (insert-only) by one array (`UNNEST`) insert each; account balances, usage counters and binding-change
//! counts (additive, read by no other write of the batch, summed per key first) by one
//! statement of array (`UNNEST`) upserts in data-modifying CTEs; premiums and fee lines by
//! one array insert each (written out early when a later write of the batch deletes one);
//! and last the reversal marks and cancel flags, one statement for both, once every row
//! they change is in (a mark that finds its entry reversed already, or missing, refuses the
//! batch as a single mark would). Everything else (persons, institutions, catalog,
//! bindings, visits, recovery cases, commitments, audit, messages) goes row by row in
//! batch order. The outcome is the outcome of writing the batch one write at a time, as
//! SQLite does; a refused batch leaves nothing. Reads the engine makes before deciding a
//! batch come in bulk too: the stored answers of all its msgids (one query over both
//! tables) and the settlements its cancels name (four queries in one snapshot).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use gongji_core::domain::{Agency, Binding, CatalogItem, Institution, Person};
use gongji_core::pooling::PoolUsage;
use gongji_core::Fen;
use postgres::error::SqlState;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{FromSql, ToSql};
use postgres::{Client, Config, GenericClient, IsolationLevel, NoTls, Row, Statement};

use crate::batch::{
    BindingUsageDelta, BubaoRow, CommitmentRow, FeeRow, JournalEntry, PoolUsageDelta, PostingRow,
    PremiumRow, RecoveryCaseRow, SettlementRow, VisitRow, WithheldRow, Write, WriteBatch,
};
use crate::chain::{
    self, ChainAlg, ChainSource, ChainedAudit, ChainedEntry, Checkpoint, Heads, Stamps, UsageRow,
};
use crate::codec::{self, BindingCols, InstitutionCols, PersonCols};
use crate::payments::{self, AgentPostingRow, AgentRow, PaymentOrderRow};
use crate::privacy::{self, KeyEvidence, Mode, PrivacyKey, PrivacyStatus};
use crate::quota;
use crate::read;
use crate::reviews::ReviewRow;
use crate::rows::{
    agent_of, audit_row_of, bubao_of, fee_of, journal_entry_of, posting_at, premium_payment_of,
    proxy_consent_of, recovery_case_of, review_of, settlement_of, with_owner, withheld_of, Cols,
};
use crate::sqlite::{heads_from_rows, CHAINS_MIGRATION, MIGRATIONS};
use crate::verify::{VerifyReport, Violation};
use crate::{
    ReconcileQuery, ReconcileTotals, Snapshot, Store, StoreError, StoredAnswer, StoredSettlement,
};
use gongji_core::pii::PiiField;

/// The message of the `Conflict` a second writer gets.
pub const LEASE_HELD: &str = "another writer holds this province's database";

/// A PostgreSQL database of one province, as its writer or as a reader.
pub struct PgStore {
    client: Client,
    stmts: Stmts,
    database: String,
    /// The advisory-lock key held by this session; `None` for a reader.
    lease: Option<i64>,
    /// A session of the conventional baseline (`connect_unleased`) may write through
    /// [`ConventionalTx`] only.
    unleased_writer: bool,
    /// A [`ConventionalTx`] transaction is open on this session.
    in_conventional_tx: bool,
    /// How this session connected, for the readers opened beside it (never shown: it may
    /// carry a password).
    url: String,
    /// How persons' ID and phone numbers are stored (`use_privacy`).
    privacy: Mode,
}

/// Maps a client error: unique violations are `Conflict`, everything else `Io`. Only the
/// server's message and SQLSTATE are kept, never its DETAIL, which quotes key values (an ID
/// number, for `persons.certno`).
fn pg(e: postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) => {
            let msg = format!("{} (SQLSTATE {})", db.message(), db.code().code());
            // A constraint that refuses the write is a conflict, as it is on SQLite.
            if *db.code() == SqlState::UNIQUE_VIOLATION || *db.code() == SqlState::CHECK_VIOLATION {
                StoreError::Conflict(msg)
            } else {
                StoreError::Io(msg)
            }
        }
        None => StoreError::Io(format!("PostgreSQL: {e}")),
    }
}

fn get<'a, T: FromSql<'a>>(r: &'a Row, i: usize) -> Result<T, StoreError> {
    r.try_get(i).map_err(pg)
}

fn fen(r: &Row, i: usize) -> Result<Fen, StoreError> {
    get::<i64>(r, i).map(Fen::from_fen)
}

fn flag(r: &Row, i: usize) -> Result<bool, StoreError> {
    get::<i32>(r, i).map(|v| v != 0)
}

impl Cols for Row {
    type Error = StoreError;

    fn col<T: crate::rows::Value>(&self, i: usize) -> Result<T, StoreError> {
        get(self, i)
    }

    fn flag(&self, i: usize) -> Result<bool, StoreError> {
        flag(self, i)
    }
}

fn overflow(what: &str) -> StoreError {
    StoreError::Io(format!("{what}: sum out of range"))
}

/// Runs `sql` and feeds every row to `f` as it arrives (no full result in memory).
fn each_row<C: GenericClient>(
    c: &mut C,
    sql: &str,
    mut f: impl FnMut(&Row) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let none: [&(dyn ToSql + Sync); 0] = [];
    let mut rows = c.query_raw(sql, none).map_err(pg)?;
    while let Some(r) = rows.next().map_err(pg)? {
        f(&r)?;
    }
    Ok(())
}

/// Statements prepared once per connection (the PostgreSQL side of `prepare_cached`).
/// Prepared statements belong to the session, not to a transaction, so a rollback keeps them.
#[derive(Default)]
struct Stmts(HashMap<&'static str, Statement>);

impl Stmts {
    fn get<C: GenericClient>(
        &mut self,
        c: &mut C,
        sql: &'static str,
    ) -> Result<Statement, StoreError> {
        if let Some(s) = self.0.get(sql) {
            return Ok(s.clone());
        }
        let s = c.prepare(sql).map_err(pg)?;
        self.0.insert(sql, s.clone());
        Ok(s)
    }
}

/// A stable 64-bit key for the writer lease of a database (FNV-1a of a fixed prefix and the
/// database name). Advisory locks are scoped to their database already; the prefix keeps
/// the key apart from any other application's locks in the same database.
fn lease_key(database: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in "gongji-writer:".bytes().chain(database.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(h.to_ne_bytes())
}

impl PgStore {
    /// Connects as the province's writer: takes the writer lease (a session-level advisory
    /// lock), makes sure commits are durable, and migrates. Fails with
    /// `Conflict("another writer holds this province's database")` while another process
    /// holds the lease.
    ///
    /// `url` is a libpq URL or key/value string (`postgresql://user@host:5432/gongji_37`,
    /// `host=/run/postgresql dbname=gongji_37`).
    pub fn connect(url: &str) -> Result<PgStore, StoreError> {
        let mut store = PgStore::open(url)?;
        store.acquire_lease()?;
        store.ensure_durable()?;
        store.migrate()?;
        Ok(store)
    }

    /// Connects without the lease, for read-only tools (`verify`, reports, pages). The
    /// session is read-only and `commit` is refused. The schema must have been migrated by
    /// a writer.
    pub fn connect_reader(url: &str) -> Result<PgStore, StoreError> {
        let mut store = PgStore::open(url)?;
        store
            .client
            .batch_execute("SET default_transaction_read_only = on")
            .map_err(pg)?;
        store.check_schema()?;
        Ok(store)
    }

    /// Connects without the lease for rows that are not engine state (staff accounts,
    /// `gongji staff add`), beside a running writer. `commit` is refused as on a reader;
    /// the schema must have been migrated by a writer.
    pub fn connect_admin(url: &str) -> Result<PgStore, StoreError> {
        let mut store = PgStore::open(url)?;
        store.check_schema()?;
        Ok(store)
    }

    /// A writable session **without** the writer lease, for the conventional baseline of
    /// `gongji bench` only: many such sessions write at once, each request in its own
    /// transaction with row locks ([`ConventionalTx`]), which is what the lease exists to
    /// forbid beside an engine. `Store::commit` stays refused. Never use it while the
    /// province's writer runs: the writer's in-memory balances would go stale.
    pub fn connect_unleased(url: &str) -> Result<PgStore, StoreError> {
        let mut store = PgStore::open(url)?;
        store.ensure_durable()?;
        store.check_schema()?;
        store.unleased_writer = true;
        Ok(store)
    }

    fn open(url: &str) -> Result<PgStore, StoreError> {
        // The URL may carry a password: never quote it in an error.
        let mut config: Config = url
            .parse()
            .map_err(|e| StoreError::Io(format!("invalid PostgreSQL connection string: {e}")))?;
        if config.get_application_name().is_none() {
            config.application_name("gongji");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let mut client = config.connect(NoTls).map_err(pg)?;
        let database: String = client
            .query_one("SELECT current_database()", &[])
            .and_then(|r| r.try_get(0))
            .map_err(pg)?;
        Ok(PgStore {
            client,
            stmts: Stmts::default(),
            database,
            lease: None,
            unleased_writer: false,
            in_conventional_tx: false,
            url: url.to_string(),
            privacy: Mode::Unchecked,
        })
    }

    fn acquire_lease(&mut self) -> Result<(), StoreError> {
        let key = lease_key(&self.database);
        let got: bool = self
            .client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
            .and_then(|r| r.try_get(0))
            .map_err(pg)?;
        if !got {
            return Err(StoreError::Conflict(format!(
                "{LEASE_HELD} (database {})",
                self.database
            )));
        }
        self.lease = Some(key);
        Ok(())
    }

    /// `synchronous_commit` stays on: an acknowledged batch survives a crash. `local`,
    /// `remote_write` and `remote_apply` are durable too and left as configured.
    fn ensure_durable(&mut self) -> Result<(), StoreError> {
        let mode: String = self
            .client
            .query_one("SELECT current_setting('synchronous_commit')", &[])
            .and_then(|r| r.try_get(0))
            .map_err(pg)?;
        if mode == "off" {
            self.client
                .batch_execute("SET synchronous_commit = on")
                .map_err(pg)?;
        }
        Ok(())
    }

    /// Runs each migration not yet applied in its own transaction, as SQLite does. Only the
    /// lease holder migrates, so two processes never race on the DDL.
    fn migrate(&mut self) -> Result<(), StoreError> {
        self.client
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)",
            )
            .map_err(pg)?;
        for (name, sql) in MIGRATIONS {
            let mut tx = self.client.transaction().map_err(pg)?;
            let done = tx
                .query_opt(
                    "SELECT name FROM schema_migrations WHERE name = $1",
                    &[name],
                )
                .map_err(pg)?;
            if done.is_none() {
                tx.batch_execute(sql)
                    .map_err(|e| prefix(&format!("migration {name}"), pg(e)))?;
                if *name == CHAINS_MIGRATION {
                    chain_existing_rows(&mut tx)?;
                }
                tx.execute(
                    "INSERT INTO schema_migrations (name, applied_at)
                     VALUES ($1, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'))",
                    &[name],
                )
                .map_err(pg)?;
            }
            tx.commit().map_err(pg)?;
        }
        Ok(())
    }

    fn check_schema(&mut self) -> Result<(), StoreError> {
        let exists: bool = self
            .client
            .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
            .and_then(|r| r.try_get(0))
            .map_err(pg)?;
        let applied: Vec<String> = if exists {
            self.client
                .query("SELECT name FROM schema_migrations", &[])
                .map_err(pg)?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()
                .map_err(pg)?
        } else {
            Vec::new()
        };
        let missing: Vec<&str> = MIGRATIONS
            .iter()
            .map(|(n, _)| *n)
            .filter(|n| !applied.iter().any(|a| a == n))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(StoreError::Io(format!(
                "database {} lacks migrations {}: start its writer once to migrate it",
                self.database,
                missing.join(", ")
            )))
        }
    }

    /// The database this store talks to (one province's).
    pub fn database(&self) -> &str {
        &self.database
    }

    /// Whether this connection holds the writer lease.
    pub fn is_writer(&self) -> bool {
        self.lease.is_some()
    }

    /// Raw access for tests and tools that must reach behind the ledger (e.g. to prove
    /// that `verify` notices a balance changed with SQL).
    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    fn read_tx(&mut self) -> Result<postgres::Transaction<'_>, StoreError> {
        // One snapshot for everything read together, whatever the writer commits meanwhile.
        self.client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(pg)
    }

    /// How persons are stored, decided as "off" on first use when no key was given (a
    /// database holding sealed data then refuses with `GJ-PRIVACY-KEY-NEEDED`).
    fn privacy_mode(&mut self) -> Result<Mode, StoreError> {
        if let Mode::Unchecked = self.privacy {
            self.apply_privacy_key(None)?;
        }
        Ok(self.privacy.clone())
    }

    /// Applies the deployment's personal-data key (`None`: encryption off): as
    /// `SqliteStore::use_privacy`. The first key given to a database is recorded, which
    /// only a writer (or an admin session) can do.
    fn apply_privacy_key(&mut self, key: Option<PrivacyKey>) -> Result<PrivacyStatus, StoreError> {
        let check = self
            .client
            .query_opt("SELECT key_check FROM privacy_key LIMIT 1", &[])
            .map_err(pg)?
            .map(|r| get::<String>(&r, 0))
            .transpose()?;
        let sealed_sample = self
            .client
            .query_opt(
                "SELECT psn_no, certno FROM persons WHERE certno_lookup IS NOT NULL LIMIT 1",
                &[],
            )
            .map_err(pg)?
            .map(|r| Ok::<_, StoreError>((get::<String>(&r, 0)?, get::<String>(&r, 1)?)))
            .transpose()?;
        let (mode, check) = privacy::decide(
            key,
            &KeyEvidence {
                check,
                sealed_sample,
            },
        )?;
        if let Some(check) = check {
            self.client
                .execute(
                    "INSERT INTO privacy_key (key_check, alg) VALUES ($1, $2)",
                    &[&check, &privacy::ALG],
                )
                .map_err(pg)?;
        }
        let enabled = mode.key().is_some();
        self.privacy = mode;
        let plaintext_persons = if enabled {
            let n: i64 = self
                .client
                .query_one(
                    "SELECT COUNT(*) FROM persons WHERE certno_lookup IS NULL",
                    &[],
                )
                .and_then(|r| r.try_get(0))
                .map_err(pg)?;
            u64::try_from(n).unwrap_or(0)
        } else {
            0
        };
        Ok(PrivacyStatus {
            enabled,
            plaintext_persons,
        })
    }

    /// Seals the persons still stored in clear, `batch` rows per transaction, calling
    /// `progress(done, total)` after each; returns how many were sealed. Needs the key and
    /// the writer lease. The old row versions are then removed from the table's files
    /// (`VACUUM FULL persons`); PostgreSQL's WAL and earlier backups still hold them.
    fn seal_plaintext_rows(
        &mut self,
        batch: usize,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<u64, StoreError> {
        let mode = self.privacy.clone();
        if mode.key().is_none() {
            return Err(privacy::PrivacyError::KeyNeeded.into());
        }
        if self.lease.is_none() {
            return Err(StoreError::Conflict(
                "only the province's writer seals persons' data".into(),
            ));
        }
        let total: i64 = self
            .client
            .query_one(
                "SELECT COUNT(*) FROM persons WHERE certno_lookup IS NULL",
                &[],
            )
            .and_then(|r| r.try_get(0))
            .map_err(pg)?;
        let total = u64::try_from(total).unwrap_or(0);
        if total == 0 {
            return Ok(0);
        }
        let limit = i64::try_from(batch.max(1)).unwrap_or(i64::MAX);
        let mut done = 0_u64;
        loop {
            let mut tx = self.client.transaction().map_err(pg)?;
            let rows = tx
                .query(
                    "SELECT psn_no, certno, phone FROM persons WHERE certno_lookup IS NULL
                     ORDER BY psn_no COLLATE \"C\" LIMIT $1",
                    &[&limit],
                )
                .map_err(pg)?;
            if rows.is_empty() {
                tx.commit().map_err(pg)?;
                break;
            }
            let update = tx
                .prepare(
                    "UPDATE persons SET certno = $2, phone = $3, certno_lookup = $4,
                         phone_lookup = $5 WHERE psn_no = $1",
                )
                .map_err(pg)?;
            for r in &rows {
                let psn_no: &str = get(r, 0)?;
                let c = mode.store(PiiField::CertNo, psn_no, get(r, 1)?)?;
                let p = mode.store(PiiField::Phone, psn_no, get(r, 2)?)?;
                tx.execute(
                    &update,
                    &[&psn_no, &c.value, &p.value, &c.lookup, &p.lookup],
                )
                .map_err(pg)?;
            }
            tx.commit().map_err(pg)?;
            done += rows.len() as u64;
            progress(done, total);
        }
        self.wait_for_older_snapshots(Duration::from_secs(60))?;
        self.client
            .batch_execute("VACUUM FULL persons")
            .map_err(pg)?;
        Ok(done)
    }

    /// Waits (at most `patience`) until no other session of the cluster holds a snapshot
    /// taken before now: VACUUM FULL keeps every row version such a snapshot could still
    /// read, the plaintext just replaced included. Sessions this role may not see are not
    /// waited for; a snapshot still open after `patience` keeps its versions until a later
    /// vacuum.
    fn wait_for_older_snapshots(&mut self, patience: Duration) -> Result<(), StoreError> {
        // An xid taken now: every row version the sealing replaced was deleted before it.
        let now: String = self
            .client
            .query_one("SELECT (txid_current() % 4294967296)::text", &[])
            .and_then(|r| r.try_get(0))
            .map_err(pg)?;
        let deadline = std::time::Instant::now() + patience;
        loop {
            let older: i64 = self
                .client
                .query_one(
                    "SELECT COUNT(*) FROM pg_stat_activity
                     WHERE pid <> pg_backend_pid()
                       AND (age(backend_xmin) >= age($1::text::xid)
                            OR age(backend_xid) >= age($1::text::xid))",
                    &[&now],
                )
                .and_then(|r| r.try_get(0))
                .map_err(pg)?;
            if older == 0 || std::time::Instant::now() >= deadline {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for PgStore {
    /// Hands the lease back before the session closes, so a successor can take it at once
    /// (the server would release it anyway when the session ends, a moment later).
    fn drop(&mut self) {
        if let Some(key) = self.lease.take() {
            let _ = self
                .client
                .execute("SELECT pg_advisory_unlock($1)", &[&key]);
        }
    }
}

fn prefix(what: &str, e: StoreError) -> StoreError {
    match e {
        StoreError::Io(m) => StoreError::Io(format!("{what}: {m}")),
        StoreError::Corrupt(m) => StoreError::Corrupt(format!("{what}: {m}")),
        StoreError::Conflict(m) => StoreError::Conflict(format!("{what}: {m}")),
        // A stable code that start-up reports as it is.
        StoreError::Privacy(e) => StoreError::Privacy(e),
    }
}

// ---------------------------------------------------------------------------------------
// Reads

fn persons<C: GenericClient>(c: &mut C, privacy: &Mode) -> Result<Vec<Person>, StoreError> {
    let mut out = Vec::new();
    each_row(
        c,
        "SELECT psn_no, certno, psn_name, gend, brdy, insutype, psn_type, admdvs,
                psn_insu_stas, cvlserv_flag, public_medical, emp_name, phone
         FROM persons ORDER BY psn_no",
        |r| {
            let s = |i: usize| get::<&str>(r, i);
            let psn_no = s(0)?;
            out.push(codec::person_from_cols(PersonCols {
                psn_no,
                certno: &privacy.reveal(PiiField::CertNo, psn_no, s(1)?)?,
                name: s(2)?,
                gend: s(3)?,
                brdy: s(4)?,
                insutype: s(5)?,
                psn_type: s(6)?,
                admdvs: s(7)?,
                insu_status: s(8)?,
                civil_servant: flag(r, 9)?,
                public_medical: flag(r, 10)?,
                emp_name: s(11)?,
                phone: &privacy.reveal(PiiField::Phone, psn_no, s(12)?)?,
            })?);
            Ok(())
        },
    )?;
    Ok(out)
}

fn institutions<C: GenericClient>(c: &mut C) -> Result<Vec<Institution>, StoreError> {
    let mut out = Vec::new();
    each_row(
        c,
        "SELECT fixmedins_code, fixmedins_name, fixmedins_type, hosp_lv, admdvs, lat, lon,
                mutual_aid, paasid, token, address, phone, opening_hours
         FROM institutions ORDER BY fixmedins_code",
        |r| {
            let s = |i: usize| get::<&str>(r, i);
            out.push(codec::institution_from_cols(InstitutionCols {
                code: s(0)?,
                name: s(1)?,
                kind: s(2)?,
                level: s(3)?,
                admdvs: s(4)?,
                lat: s(5)?,
                lon: s(6)?,
                mutual_aid: flag(r, 7)?,
                paasid: s(8)?,
                token: s(9)?,
                address: s(10)?,
                phone: s(11)?,
                opening_hours: s(12)?,
            })?);
            Ok(())
        },
    )?;
    Ok(out)
}

fn agencies<C: GenericClient>(c: &mut C) -> Result<Vec<Agency>, StoreError> {
    let mut out = Vec::new();
    each_row(
        c,
        &format!(
            "SELECT {} FROM agencies ORDER BY agency_code",
            codec::AGENCY_COLUMNS
        ),
        |r| {
            let s = |i: usize| get::<&str>(r, i);
            out.push(codec::agency_from_cols([
                s(0)?,
                s(1)?,
                s(2)?,
                s(3)?,
                s(4)?,
                s(5)?,
                s(6)?,
                s(7)?,
            ])?);
            Ok(())
        },
    )?;
    Ok(out)
}

fn catalog<C: GenericClient>(c: &mut C) -> Result<Vec<CatalogItem>, StoreError> {
    let mut out = Vec::new();
    each_row(
        c,
        "SELECT med_list_codg, med_list_name, chrgitm_lv, pric_uplmt_fen, selfpay_prop_bp
         FROM catalog ORDER BY med_list_codg",
        |r| {
            out.push(codec::catalog_from_cols(
                get(r, 0)?,
                get(r, 1)?,
                get(r, 2)?,
                get(r, 3)?,
                i64::from(get::<i32>(r, 4)?),
            )?);
            Ok(())
        },
    )?;
    Ok(out)
}

fn bindings<C: GenericClient>(c: &mut C) -> Result<Vec<Binding>, StoreError> {
    let mut out = Vec::new();
    each_row(
        c,
        "SELECT binding_id, holder_psn_no, relative_psn_no, relationship, begin_date, end_date,
                limit_per_payment_fen, limit_per_month_fen, status, channel,
                limit_per_day_fen, limit_per_year_fen
         FROM bindings ORDER BY binding_id",
        |r| {
            out.push(codec::binding_from_cols(BindingCols {
                id: get(r, 0)?,
                holder: get(r, 1)?,
                relative: get(r, 2)?,
                relationship: get(r, 3)?,
                begin: get(r, 4)?,
                end: get(r, 5)?,
                limit_per_payment: get(r, 6)?,
                limit_per_month: get(r, 7)?,
                status: get(r, 8)?,
                channel: get(r, 9)?,
                limit_per_day: get(r, 10)?,
                limit_per_year: get(r, 11)?,
            })?);
            Ok(())
        },
    )?;
    Ok(out)
}

fn max_id<C: GenericClient>(c: &mut C, sql: &str) -> Result<i64, StoreError> {
    let row = c.query_one(sql, &[]).map_err(pg)?;
    Ok(get::<Option<i64>>(&row, 0)?.unwrap_or(0))
}

fn load_snapshot<C: GenericClient>(c: &mut C, privacy: &Mode) -> Result<Snapshot, StoreError> {
    let mut snap = Snapshot {
        persons: persons(c, privacy)?,
        bindings: bindings(c)?,
        institutions: institutions(c)?,
        agencies: agencies(c)?,
        catalog: catalog(c)?,
        max_entry_id: max_id(c, "SELECT MAX(entry_id) FROM journal")?,
        max_binding_id: max_id(c, "SELECT MAX(binding_id) FROM bindings")?,
        max_audit_id: max_id(c, "SELECT MAX(audit_id) FROM audit_log")?,
        ..Snapshot::default()
    };
    each_row(c, "SELECT account_key, balance_fen FROM accounts", |r| {
        snap.balances.insert(get(r, 0)?, fen(r, 1)?);
        Ok(())
    })?;
    each_row(
        c,
        "SELECT psn_no, period, cap_group, deductible_fen, fund_fen, burden_fen FROM pool_usage",
        |r| {
            let psn_no: String = get(r, 0)?;
            let period: String = get(r, 1)?;
            let group: String = get(r, 2)?;
            let is_day = period.len() > 4;
            let deductible = fen(r, 3)?;
            let fund = fen(r, 4)?;
            let burden = fen(r, 5)?;
            let usage = PoolUsage {
                deductible_used_year: if is_day { Fen::ZERO } else { deductible },
                fund_paid_year: if is_day { Fen::ZERO } else { fund },
                fund_paid_today: if is_day { fund } else { Fen::ZERO },
                burden_year: if is_day { Fen::ZERO } else { burden },
            };
            snap.pool_usage
                .entry((psn_no, period))
                .or_default()
                .insert(group, usage);
            Ok(())
        },
    )?;
    each_row(
        c,
        "SELECT binding_id, month, amount_fen FROM binding_usage",
        |r| {
            snap.binding_usage
                .insert((get(r, 0)?, get(r, 1)?), fen(r, 2)?);
            Ok(())
        },
    )?;
    each_row(c, "SELECT relative_psn_no, year, kind FROM premiums", |r| {
        snap.premiums_paid
            .push((get(r, 0)?, get(r, 1)?, get(r, 2)?));
        Ok(())
    })?;
    each_row(
        c,
        "SELECT psn_no, year, category FROM contribution_categories",
        |r| {
            snap.contribution_categories
                .push((get(r, 0)?, get(r, 1)?, get(r, 2)?));
            Ok(())
        },
    )?;
    each_row(
        c,
        "SELECT mdtrt_id, psn_no, fixmedins_code, admdvs, insutype, med_type, begntime,
                status, diagnosis FROM visits WHERE status = 'open'",
        |r| {
            snap.visits.push(VisitRow {
                mdtrt_id: get(r, 0)?,
                psn_no: get(r, 1)?,
                fixmedins_code: get(r, 2)?,
                admdvs: get(r, 3)?,
                insutype: get(r, 4)?,
                med_type: get(r, 5)?,
                begntime: get(r, 6)?,
                status: get(r, 7)?,
                diagnosis: get(r, 8)?,
            });
            Ok(())
        },
    )?;
    each_row(
        c,
        concat!(
            "SELECT ",
            crate::row_columns!(fee),
            " FROM fee_details f JOIN visits v ON v.mdtrt_id = f.mdtrt_id
         WHERE v.status = 'open' ORDER BY f.mdtrt_id, f.feedetl_sn"
        ),
        |r| {
            snap.fees.push(fee_of(r)?);
            Ok(())
        },
    )?;
    each_row(
        c,
        "SELECT holder_psn_no, month, count FROM binding_changes",
        |r| {
            let n: i32 = get(r, 2)?;
            let n = u32::try_from(n)
                .map_err(|_| StoreError::Corrupt(format!("binding_changes.count: {n}")))?;
            snap.binding_changes.insert((get(r, 0)?, get(r, 1)?), n);
            Ok(())
        },
    )?;
    each_row(
        c,
        concat!(
            "SELECT ",
            crate::row_columns!(recovery_case),
            " FROM recovery_cases ORDER BY case_id"
        ),
        |r| {
            snap.recovery_cases.push(recovery_case_of(r)?);
            Ok(())
        },
    )?;
    quota_rows(c, &mut snap)?;
    Ok(snap)
}

fn quota_parties(r: &Row, i: usize) -> Result<gongji_core::quota::QuotaParties, StoreError> {
    quota::parties(
        i64::from(get::<i32>(r, i)?),
        get(r, i + 1)?,
        i64::from(get::<i32>(r, i + 2)?),
        get(r, i + 3)?,
    )
}

fn quota_sent_of(r: &Row) -> Result<crate::batch::QuotaSentRow, StoreError> {
    quota::sent(quota::SentCols {
        transfer_id: get(r, 0)?,
        direction: get(r, 1)?,
        parties: quota_parties(r, 2)?,
        amount: get(r, 6)?,
        state: get(r, 7)?,
        entry_id: get(r, 8)?,
        release_entry_id: get(r, 9)?,
        attempts: i64::from(get::<i32>(r, 10)?),
        last_error: get(r, 11)?,
        created_at: get(r, 12)?,
        updated_at: get(r, 13)?,
    })
}

fn quota_applied_of(r: &Row) -> Result<crate::batch::QuotaAppliedRow, StoreError> {
    quota::applied(quota::AppliedCols {
        transfer_id: get(r, 0)?,
        direction: get(r, 1)?,
        parties: quota_parties(r, 2)?,
        amount: get(r, 6)?,
        entry_id: get(r, 7)?,
        refusal_code: get(r, 8)?,
        refusal_zh: get(r, 9)?,
        at: get(r, 10)?,
    })
}

fn quota_spend_of(r: &Row) -> Result<crate::batch::QuotaSpendRow, StoreError> {
    Ok(quota::spend(quota::SpendCols {
        entry_id: get(r, 0)?,
        setl_id: get(r, 1)?,
        parties: quota_parties(r, 2)?,
        fixmedins_code: get(r, 6)?,
        amount: get(r, 7)?,
        at: get(r, 8)?,
    }))
}

fn quota_rows<C: GenericClient>(c: &mut C, snap: &mut Snapshot) -> Result<(), StoreError> {
    each_row(c, quota::SELECT_BINDINGS, |r| {
        snap.quota_bindings.push(quota::binding(quota::BindingCols {
            parties: quota_parties(r, 0)?,
            side: get(r, 4)?,
            relationship: get(r, 5)?,
            begin: get(r, 6)?,
            end: get(r, 7)?,
            status: get(r, 8)?,
            created_at: get(r, 9)?,
            updated_at: get(r, 10)?,
        })?);
        Ok(())
    })?;
    each_row(c, quota::SELECT_SENT, |r| {
        snap.quota_sent.push(quota_sent_of(r)?);
        Ok(())
    })?;
    each_row(c, quota::SELECT_APPLIED, |r| {
        snap.quota_applied.push(quota_applied_of(r)?);
        Ok(())
    })?;
    each_row(c, quota::SELECT_SPENDS, |r| {
        snap.quota_spends.push(quota_spend_of(r)?);
        Ok(())
    })
}

/// A province code as an INTEGER column takes it.
fn province_col(p: u32) -> Result<i32, StoreError> {
    i32::try_from(p).map_err(|_| StoreError::Corrupt(format!("province {p}")))
}

const SQL_ENTRY: &str = concat!(
    "SELECT ",
    crate::row_columns!(journal_entry),
    " FROM journal WHERE entry_id = $1"
);
const SQL_POSTINGS_OF: &str = concat!(
    "SELECT ",
    crate::row_columns!(posting),
    " FROM postings WHERE entry_id = $1 ORDER BY seq"
);
const SQL_USAGE_OF: &str = concat!(
    "SELECT ",
    crate::row_columns!(usage),
    " FROM usage_log WHERE entry_id = $1"
);
const SQL_SETTLEMENT: &str = concat!(
    "SELECT ",
    crate::row_columns!(settlement),
    " FROM settlements WHERE setl_id = $1"
);
const SQL_ANSWER_JOURNAL: &str =
    "SELECT entry_id, request_hash, response FROM journal WHERE msgid = $1";
const SQL_ANSWER_MESSAGE: &str = "SELECT request_hash, response FROM messages WHERE msgid = $1";
/// The stored answers of many msgids: journal rows carry their entry id, messages none.
const SQL_ANSWERS_ANY: &str = "SELECT msgid, entry_id, request_hash, response
    FROM journal WHERE msgid = ANY($1)
    UNION ALL
    SELECT msgid, NULL::BIGINT, request_hash, response FROM messages WHERE msgid = ANY($1)";
const SQL_LOCK_ACCOUNTS: &str = "SELECT account_key, balance_fen FROM accounts
    WHERE account_key = ANY($1) ORDER BY account_key FOR UPDATE";
const SQL_RECONCILE: &str = "SELECT med_type, COALESCE(SUM(medfee_sumamt), 0)::BIGINT,
        COALESCE(SUM(fund_pay_sumamt), 0)::BIGINT, COALESCE(SUM(acct_pay), 0)::BIGINT, COUNT(*)
    FROM settlements
    WHERE fixmedins_code = $1 AND insutype = $2 AND setl_date >= $3 AND setl_date <= $4
      AND ($5 OR cancelled = 0)
    GROUP BY med_type";

fn entry<C: GenericClient>(
    c: &mut C,
    stmts: &mut Stmts,
    entry_id: i64,
) -> Result<Option<JournalEntry>, StoreError> {
    let st = stmts.get(c, SQL_ENTRY)?;
    let Some(r) = c.query_opt(&st, &[&entry_id]).map_err(pg)? else {
        return Ok(None);
    };
    let mut e = journal_entry_of(&r)?;
    let st = stmts.get(c, SQL_POSTINGS_OF)?;
    for r in c.query(&st, &[&entry_id]).map_err(pg)? {
        e.postings.push(with_owner(posting_at(&r, 0)?));
    }
    Ok(Some(e))
}

const SQL_SETTLEMENTS_ANY: &str = concat!(
    "SELECT ",
    crate::row_columns!(settlement),
    " FROM settlements WHERE setl_id = ANY($1)"
);
const SQL_ENTRIES_ANY: &str = concat!(
    "SELECT ",
    crate::row_columns!(journal_entry),
    " FROM journal WHERE entry_id = ANY($1)"
);
const SQL_POSTINGS_ANY: &str = concat!(
    "SELECT entry_id, ",
    crate::row_columns!(posting),
    " FROM postings WHERE entry_id = ANY($1) ORDER BY entry_id, seq"
);
const SQL_USAGE_ANY: &str = concat!(
    "SELECT entry_id, ",
    crate::row_columns!(usage),
    " FROM usage_log WHERE entry_id = ANY($1)"
);

/// Many settlements with their entries and usage in four queries, read on `c` (inside the
/// caller's transaction, so they agree).
fn settlements_in<C: GenericClient>(
    c: &mut C,
    stmts: &mut Stmts,
    setl_ids: &[&str],
) -> Result<HashMap<String, StoredSettlement>, StoreError> {
    let st = stmts.get(c, SQL_SETTLEMENTS_ANY)?;
    let rows: Vec<SettlementRow> = c
        .query(&st, &[&setl_ids])
        .map_err(pg)?
        .iter()
        .map(settlement_of)
        .collect::<Result<_, _>>()?;
    if rows.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.entry_id).collect();
    let mut entries: HashMap<i64, JournalEntry> = HashMap::new();
    let st = stmts.get(c, SQL_ENTRIES_ANY)?;
    for r in c.query(&st, &[&ids]).map_err(pg)? {
        let e = journal_entry_of(&r)?;
        entries.insert(e.entry_id, e);
    }
    let st = stmts.get(c, SQL_POSTINGS_ANY)?;
    for r in c.query(&st, &[&ids]).map_err(pg)? {
        let entry_id: i64 = get(&r, 0)?;
        let posting = with_owner(posting_at(&r, 1)?);
        if let Some(e) = entries.get_mut(&entry_id) {
            e.postings.push(posting);
        }
    }
    let mut usage: HashMap<i64, (Vec<PoolUsageDelta>, Vec<BindingUsageDelta>)> = HashMap::new();
    let st = stmts.get(c, SQL_USAGE_ANY)?;
    for r in c.query(&st, &[&ids]).map_err(pg)? {
        let entry_id: i64 = get(&r, 0)?;
        let (pool, binding) = usage.entry(entry_id).or_default();
        push_usage_at(&r, 1, entry_id, pool, binding)?;
    }
    let mut out = HashMap::new();
    for row in rows {
        let entry = entries.remove(&row.entry_id).ok_or_else(|| {
            StoreError::Corrupt(format!("settlement {} has no journal entry", row.setl_id))
        })?;
        let (pool_usage, binding_usage) = usage.remove(&row.entry_id).unwrap_or_default();
        out.insert(
            row.setl_id.clone(),
            StoredSettlement {
                row,
                entry,
                pool_usage,
                binding_usage,
            },
        );
    }
    Ok(out)
}

/// A settlement with its entry and usage, read on `c` (inside the caller's transaction).
fn settlement_in<C: GenericClient>(
    c: &mut C,
    stmts: &mut Stmts,
    setl_id: &str,
) -> Result<Option<StoredSettlement>, StoreError> {
    let Some(row) = settlement_row(c, stmts, setl_id)? else {
        return Ok(None);
    };
    let entry = entry(c, stmts, row.entry_id)?
        .ok_or_else(|| StoreError::Corrupt(format!("settlement {setl_id} has no journal entry")))?;
    let (pool, binding) = usage_of(c, stmts, row.entry_id)?;
    Ok(Some(StoredSettlement {
        row,
        entry,
        pool_usage: pool,
        binding_usage: binding,
    }))
}

fn usage_of<C: GenericClient>(
    c: &mut C,
    stmts: &mut Stmts,
    entry_id: i64,
) -> Result<(Vec<PoolUsageDelta>, Vec<BindingUsageDelta>), StoreError> {
    let st = stmts.get(c, SQL_USAGE_OF)?;
    let (mut pool, mut binding) = (Vec::new(), Vec::new());
    for r in c.query(&st, &[&entry_id]).map_err(pg)? {
        push_usage_at(&r, 0, entry_id, &mut pool, &mut binding)?;
    }
    Ok((pool, binding))
}

/// A `usage_log` row of `entry_id` from its `kind` column at `first` on, onto the pool or
/// the binding deltas as its kind says.
fn push_usage_at(
    r: &Row,
    first: usize,
    entry_id: i64,
    pool: &mut Vec<PoolUsageDelta>,
    binding: &mut Vec<BindingUsageDelta>,
) -> Result<(), StoreError> {
    if get::<&str>(r, first)? == "pool" {
        pool.push(PoolUsageDelta {
            entry_id,
            psn_no: get::<Option<String>>(r, first + 1)?.unwrap_or_default(),
            period: get(r, first + 2)?,
            cap_group: get::<Option<String>>(r, first + 3)?.unwrap_or_default(),
            deductible: fen(r, first + 5)?,
            fund: fen(r, first + 6)?,
            burden: fen(r, first + 7)?,
        });
    } else {
        binding.push(BindingUsageDelta {
            entry_id,
            binding_id: get::<Option<i64>>(r, first + 4)?.unwrap_or_default(),
            month: get(r, first + 2)?,
            amount: fen(r, first + 8)?,
        });
    }
    Ok(())
}

fn settlement_row<C: GenericClient>(
    c: &mut C,
    stmts: &mut Stmts,
    setl_id: &str,
) -> Result<Option<SettlementRow>, StoreError> {
    let st = stmts.get(c, SQL_SETTLEMENT)?;
    let Some(r) = c.query_opt(&st, &[&setl_id]).map_err(pg)? else {
        return Ok(None);
    };
    settlement_of(&r).map(Some)
}

// ---------------------------------------------------------------------------------------
// Writes

const SQL_PERSON: &str = "INSERT INTO persons (psn_no, certno, psn_name, gend, brdy, insutype,
        psn_type, admdvs, psn_insu_stas, cvlserv_flag, public_medical, emp_name, phone,
        certno_lookup, phone_lookup)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
    ON CONFLICT (psn_no) DO UPDATE SET certno = excluded.certno, psn_name = excluded.psn_name,
        gend = excluded.gend, brdy = excluded.brdy, insutype = excluded.insutype,
        psn_type = excluded.psn_type, admdvs = excluded.admdvs,
        psn_insu_stas = excluded.psn_insu_stas, cvlserv_flag = excluded.cvlserv_flag,
        public_medical = excluded.public_medical, emp_name = excluded.emp_name,
        phone = excluded.phone, certno_lookup = excluded.certno_lookup,
        phone_lookup = excluded.phone_lookup";
const SQL_INSTITUTION: &str = "INSERT INTO institutions (fixmedins_code, fixmedins_name,
        fixmedins_type, hosp_lv, admdvs, lat, lon, mutual_aid, paasid, token, address, phone,
        opening_hours)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
    ON CONFLICT (fixmedins_code) DO UPDATE SET fixmedins_name = excluded.fixmedins_name,
        fixmedins_type = excluded.fixmedins_type, hosp_lv = excluded.hosp_lv,
        admdvs = excluded.admdvs, lat = excluded.lat, lon = excluded.lon,
        mutual_aid = excluded.mutual_aid, paasid = excluded.paasid, token = excluded.token,
        address = excluded.address, phone = excluded.phone, opening_hours = excluded.opening_hours";
const SQL_CATALOG: &str = "INSERT INTO catalog (med_list_codg, med_list_name, chrgitm_lv,
        pric_uplmt_fen, selfpay_prop_bp)
    VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (med_list_codg) DO UPDATE SET med_list_name = excluded.med_list_name,
        chrgitm_lv = excluded.chrgitm_lv, pric_uplmt_fen = excluded.pric_uplmt_fen,
        selfpay_prop_bp = excluded.selfpay_prop_bp";
const SQL_BINDING: &str = "INSERT INTO bindings (binding_id, holder_psn_no, relative_psn_no,
        relationship, begin_date, end_date, limit_per_payment_fen, limit_per_month_fen, status,
        channel, admdvs, limit_per_day_fen, limit_per_year_fen)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
    ON CONFLICT (binding_id) DO UPDATE SET end_date = excluded.end_date,
        limit_per_payment_fen = excluded.limit_per_payment_fen,
        limit_per_month_fen = excluded.limit_per_month_fen,
        limit_per_day_fen = excluded.limit_per_day_fen,
        limit_per_year_fen = excluded.limit_per_year_fen, status = excluded.status";
const SQL_VISIT: &str = "INSERT INTO visits (mdtrt_id, psn_no, fixmedins_code, admdvs,
        insutype, med_type, begntime, status, diagnosis)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
    ON CONFLICT (mdtrt_id) DO UPDATE SET med_type = excluded.med_type,
        status = excluded.status, diagnosis = excluded.diagnosis";
const SQL_FEE_DELETE: &str = "DELETE FROM fee_details WHERE mdtrt_id = $1 AND feedetl_sn = $2";
const SQL_MESSAGE: &str =
    "INSERT INTO messages (msgid, request_hash, response) VALUES ($1, $2, $3)";
/// The batch's reversal marks and cancel flags, after every row of the batch is in. Marks
/// each (entry, reversed_by) pair once: a pair whose entry was reversed before, or that
/// repeats an entry of the same statement, updates nothing and is missing from the returned
/// ids. The two updates touch different tables.
const SQL_BULK_MARKS_AND_CANCELS: &str = "WITH c AS (
        UPDATE settlements SET cancelled = 1 WHERE setl_id = ANY($3::TEXT[]))
    UPDATE journal AS j SET reversed_by = v.r
    FROM (SELECT DISTINCT ON (e) e, r FROM UNNEST($1::BIGINT[], $2::BIGINT[]) AS t(e, r)) AS v
    WHERE j.entry_id = v.e AND j.reversed_by IS NULL
    RETURNING j.entry_id";
const SQL_BULK_PREMIUMS: &str = "INSERT INTO premiums (relative_psn_no, year, entry_id,
        holder_psn_no, category, amount_fen, kind, channel, agent_id, paid_at)
    SELECT * FROM UNNEST($1::TEXT[], $2::INTEGER[], $3::BIGINT[], $4::TEXT[], $5::TEXT[],
        $6::BIGINT[], $7::TEXT[], $8::TEXT[], $9::TEXT[], $10::TEXT[])";
const SQL_PREMIUM_REFUND: &str = "DELETE FROM premiums WHERE relative_psn_no = $1 AND year = $2";
const SQL_WITHHELD: &str = "INSERT INTO pool_withheld (setl_id, seq, entry_id, psn_no, admdvs,
    year, setl_date, fund_pay_type, name_zh, amount_fen, explanation)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
const SQL_CHAIN_WITHHELD: &str = concat!(
    "SELECT ",
    crate::row_columns!(withheld),
    " FROM pool_withheld WHERE entry_id >= $1 AND entry_id <= $2 ORDER BY entry_id, seq"
);
const SQL_CHAIN_BUBAO: &str = concat!(
    "SELECT ",
    crate::row_columns!(bubao),
    " FROM bubao WHERE entry_id >= $1 AND entry_id <= $2"
);
const SQL_WITHHELD_OF: &str = concat!(
    "SELECT ",
    crate::row_columns!(withheld),
    " FROM pool_withheld WHERE setl_id = $1
    ORDER BY seq"
);
const SQL_BUBAO_PAID: &str = concat!(
    "SELECT ",
    crate::row_columns!(bubao),
    " FROM bubao ORDER BY entry_id DESC LIMIT $1"
);
const SQL_PREMIUM_PAYMENTS: &str = concat!(
    crate::premium_payment_select!(),
    " WHERE pr.relative_psn_no = $1 ORDER BY pr.entry_id DESC"
);
const SQL_BUBAO: &str = "INSERT INTO bubao (setl_id, entry_id, psn_no, admdvs, year, amount_fen,
    paid_on) VALUES ($1, $2, $3, $4, $5, $6, $7)";
const SQL_CONTRIBUTION_CATEGORY: &str = "INSERT INTO contribution_categories (psn_no, year,
        category, source_dept, list_date, imported_at, imported_by)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (psn_no, year, category, source_dept) DO UPDATE SET
        list_date = excluded.list_date, imported_at = excluded.imported_at,
        imported_by = excluded.imported_by";
const SQL_RECOVERY_CASE: &str = "INSERT INTO recovery_cases (case_id, binding_id, holder_psn_no,
        relative_psn_no, setl_id, admdvs, amount_fen, reason, status, opened_by, opened_at,
        repaid_by, repaid_at, repaid_entry_id)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
    ON CONFLICT (case_id) DO UPDATE SET status = excluded.status,
        repaid_by = excluded.repaid_by, repaid_at = excluded.repaid_at,
        repaid_entry_id = excluded.repaid_entry_id";
const SQL_COMMITMENT: &str = "INSERT INTO commitments (binding_id, holder_psn_no, admdvs,
        notice_version, letter, sha256, signature, signed_at, channel)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const SQL_AUDIT: &str = "INSERT INTO audit_log (audit_id, at, actor, channel, action, subject,
        before_state, after_state, chain_alg, chain_hash)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// The additive upserts of a batch (balances, usage counters, binding-change counts), every
/// table's as arrays, in one statement. Data-modifying CTEs run whether or not they are
/// referenced; each touches its own table and none reads another's rows, so doing them at
/// once is doing them in turn. Rows come summed per key (a statement may not update a row
/// twice); empty arrays write nothing.
const SQL_BULK_UPSERTS: &str = "WITH account_rows AS (
    INSERT INTO accounts (account_key, psn_no, balance_fen)
    SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[], $3::BIGINT[])
    ON CONFLICT (account_key) DO UPDATE
        SET balance_fen = accounts.balance_fen + excluded.balance_fen
), pool_rows AS (
    INSERT INTO pool_usage (psn_no, period, cap_group, deductible_fen, fund_fen, burden_fen)
    SELECT * FROM UNNEST($4::TEXT[], $5::TEXT[], $6::TEXT[], $7::BIGINT[], $8::BIGINT[],
        $9::BIGINT[])
    ON CONFLICT (psn_no, period, cap_group) DO UPDATE SET
        deductible_fen = pool_usage.deductible_fen + excluded.deductible_fen,
        fund_fen = pool_usage.fund_fen + excluded.fund_fen,
        burden_fen = pool_usage.burden_fen + excluded.burden_fen
), binding_usage_rows AS (
    INSERT INTO binding_usage (binding_id, month, amount_fen)
    SELECT * FROM UNNEST($10::BIGINT[], $11::TEXT[], $12::BIGINT[])
    ON CONFLICT (binding_id, month) DO UPDATE SET
        amount_fen = binding_usage.amount_fen + excluded.amount_fen
)
INSERT INTO binding_changes (holder_psn_no, month, count)
SELECT * FROM UNNEST($13::TEXT[], $14::TEXT[], $15::INTEGER[])
ON CONFLICT (holder_psn_no, month) DO UPDATE SET
    count = binding_changes.count + excluded.count";
const SQL_BULK_POSTINGS: &str = "INSERT INTO postings (entry_id, seq, account_key, amount_fen,
        rule, floor_fen, balance_after_fen, explanation)
    SELECT * FROM UNNEST($1::BIGINT[], $2::INTEGER[], $3::TEXT[], $4::BIGINT[], $5::TEXT[],
        $6::BIGINT[], $7::BIGINT[], $8::TEXT[])";
const SQL_BULK_USAGE_LOG: &str = "INSERT INTO usage_log (entry_id, kind, psn_no, period,
        cap_group, binding_id, deductible_fen, fund_fen, burden_fen, amount_fen)
    SELECT * FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[],
        $6::BIGINT[], $7::BIGINT[], $8::BIGINT[], $9::BIGINT[], $10::BIGINT[])";

const SQL_BULK_JOURNAL: &str = "INSERT INTO journal (entry_id, msgid, kind, admdvs, psn_no,
        fixmedins_code, channel, occurred_at, reverses_entry, reversed_by, request_hash,
        response, summary, chain_alg, chain_hash, chain_seq)
    SELECT e, m, k, a, p, f, ch, o, r, NULL, h, resp, s, $13, ch_h, ch_s
    FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::TEXT[],
        $7::TEXT[], $8::TEXT[], $9::BIGINT[], $10::TEXT[], $11::TEXT[], $12::TEXT[],
        $14::TEXT[], $15::BIGINT[])
        AS t(e, m, k, a, p, f, ch, o, r, h, resp, s, ch_h, ch_s)";
/// The chains' heads, locked for the rest of the transaction: two writers (the conventional
/// baseline's sessions) chain one after the other, never both onto the same head.
const SQL_HEADS_FOR_UPDATE: &str =
    "SELECT chain, alg, head, row_count, last_id FROM chain_heads FOR UPDATE";
const SQL_HEADS_WRITE: &str = "INSERT INTO chain_heads (chain, alg, head, row_count, last_id)
    VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (chain) DO UPDATE SET alg = excluded.alg, head = excluded.head,
        row_count = excluded.row_count, last_id = excluded.last_id";
const SQL_BULK_SETTLEMENTS: &str = "INSERT INTO settlements (setl_id, entry_id, mdtrt_id,
        psn_no, fixmedins_code, admdvs, insutype, med_type, setl_date, medfee_sumamt,
        fund_pay_sumamt, acct_pay, acct_mulaid_pay, psn_cash_pay, cancelled, detail)
    SELECT * FROM UNNEST($1::TEXT[], $2::BIGINT[], $3::TEXT[], $4::TEXT[], $5::TEXT[],
        $6::TEXT[], $7::TEXT[], $8::TEXT[], $9::TEXT[], $10::BIGINT[], $11::BIGINT[],
        $12::BIGINT[], $13::BIGINT[], $14::BIGINT[], $15::INTEGER[], $16::TEXT[])";
const SQL_BULK_FEES: &str = "INSERT INTO fee_details (mdtrt_id, feedetl_sn, chrg_bchno,
        med_list_codg, amount_fen, count_e4, price_fen, setl_id)
    SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::BIGINT[],
        $6::BIGINT[], $7::BIGINT[], $8::TEXT[])
    ON CONFLICT (mdtrt_id, feedetl_sn) DO UPDATE SET chrg_bchno = excluded.chrg_bchno,
        med_list_codg = excluded.med_list_codg, amount_fen = excluded.amount_fen,
        count_e4 = excluded.count_e4, price_fen = excluded.price_fen,
        setl_id = excluded.setl_id";

const SQL_BULK_SETTLED_FEES: &str = "INSERT INTO settled_fees (setl_id, feedetl_sn, mdtrt_id,
        chrg_bchno, med_list_codg, amount_fen, count_e4, price_fen)
    SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[],
        $6::BIGINT[], $7::BIGINT[], $8::BIGINT[])
    ON CONFLICT (setl_id, feedetl_sn) DO NOTHING";

/// The part of a batch that is insert-only or additive and read by no other write of the
/// batch, gathered while the batch is walked and written once at its end. Additive upserts
/// are summed per key first (one statement may not update a row twice).
///
/// Journal rows, settlement rows, premiums and fee lines are deferred too; a fee deletion
/// (a premium refund) first writes out the pending fee lines (premiums), so it sees the
/// rows before it. Reversal marks and
/// cancel flags only change rows, never insert or read any other write's: they are applied
/// last, after every row of the batch is in, which is the outcome of applying them in
/// order. A fee line is a full replace, so of the same line only the last write is kept;
/// no other unique key rides on it.
#[derive(Default)]
struct Bulk<'a> {
    journal: Vec<&'a JournalEntry>,
    settlements: Vec<&'a SettlementRow>,
    fees: Vec<Option<&'a FeeRow>>,
    /// (mdtrt_id, feedetl_sn) → index in `fees` of its latest write.
    fee_slots: HashMap<(&'a str, &'a str), usize>,
    /// Lines as the settlement that paid them saw them: the first write of each
    /// (setl_id, feedetl_sn), insert-only (`settled_fees`).
    settled_fees: Vec<&'a FeeRow>,
    settled_keys: HashSet<(&'a str, &'a str)>,
    postings: Vec<(i64, i32, &'a PostingRow)>,
    /// account_key → (psn_no of its first posting, sum).
    accounts: BTreeMap<&'a str, (Option<&'a str>, i64)>,
    /// (psn_no, period, cap_group) → (deductible, fund, burden).
    pool_usage: BTreeMap<(&'a str, &'a str, &'a str), (i64, i64, i64)>,
    binding_usage: BTreeMap<(i64, &'a str), i64>,
    binding_changes: BTreeMap<(&'a str, &'a str), i32>,
    usage_log: Vec<UsageLog<'a>>,
    /// (entry, reversed_by) of the batch's reversal marks, in batch order.
    marks: Vec<(i64, i64)>,
    /// Settlements the batch cancels.
    cancelled: Vec<&'a str>,
    /// Premiums, insert-only; written out before a refund so it sees them.
    premiums: Vec<&'a PremiumRow>,
    /// The hashes of the batch's journal entries and audit rows (`chain.rs`).
    stamps: Stamps,
    /// How many of `stamps.audit` are written.
    audits_written: usize,
    /// The chains' heads before the batch and after it.
    heads: (Heads, Heads),
}

enum UsageLog<'a> {
    Pool(&'a PoolUsageDelta),
    Binding(&'a BindingUsageDelta),
}

fn add(acc: &mut i64, v: i64, what: &str) -> Result<(), StoreError> {
    *acc = acc.checked_add(v).ok_or_else(|| overflow(what))?;
    Ok(())
}

impl<'a> Bulk<'a> {
    /// A batch's bulk, its journal entries and audit rows chained onto the heads read (and
    /// locked) in this transaction.
    fn chained<C: GenericClient>(
        c: &mut C,
        stmts: &mut Stmts,
        writes: &[Write],
    ) -> Result<Bulk<'a>, StoreError> {
        let st = stmts.get(c, SQL_HEADS_FOR_UPDATE)?;
        let before = heads_of(c.query(&st, &[]).map_err(pg)?)?.unwrap_or_default();
        let mut after = before;
        let stamps = chain::stamp(writes, &mut after)?;
        Ok(Bulk {
            stamps,
            heads: (before, after),
            ..Bulk::default()
        })
    }

    fn next_audit(&mut self) -> Result<(i64, String), StoreError> {
        let (id, hash) = self
            .stamps
            .audit
            .get(self.audits_written)
            .ok_or_else(|| StoreError::Io("audit row was not chained".into()))?;
        self.audits_written += 1;
        Ok((*id, chain::to_hex(hash)))
    }

    fn fee(&mut self, f: &'a FeeRow) {
        let key = (f.mdtrt_id.as_str(), f.feedetl_sn.as_str());
        if let Some(old) = self.fee_slots.insert(key, self.fees.len()) {
            self.fees[old] = None;
        }
        self.fees.push(Some(f));
    }

    fn flush_journal<C: GenericClient>(
        &mut self,
        c: &mut C,
        stmts: &mut Stmts,
    ) -> Result<(), StoreError> {
        if self.journal.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.journal);
        let n = rows.len();
        let mut id = Vec::with_capacity(n);
        let mut msgid = Vec::with_capacity(n);
        let mut kind = Vec::with_capacity(n);
        let mut admdvs = Vec::with_capacity(n);
        let mut psn = Vec::with_capacity(n);
        let mut inst = Vec::with_capacity(n);
        let mut channel = Vec::with_capacity(n);
        let mut at = Vec::with_capacity(n);
        let mut reverses = Vec::with_capacity(n);
        let mut hash = Vec::with_capacity(n);
        let mut response = Vec::with_capacity(n);
        let mut summary = Vec::with_capacity(n);
        let mut links = Vec::with_capacity(n);
        let mut places = Vec::with_capacity(n);
        for e in rows {
            let (place, link) = self.stamps.entry(e.entry_id)?;
            places.push(place);
            links.push(link);
            id.push(e.entry_id);
            msgid.push(e.msgid.as_deref());
            kind.push(e.kind.as_str());
            admdvs.push(e.admdvs.as_str());
            psn.push(e.psn_no.as_deref());
            inst.push(e.fixmedins_code.as_deref());
            channel.push(e.channel.as_str());
            at.push(e.occurred_at.as_str());
            reverses.push(e.reverses_entry);
            hash.push(e.request_hash.as_deref());
            response.push(e.response.as_deref());
            summary.push(e.summary.as_str());
        }
        let st = stmts.get(c, SQL_BULK_JOURNAL)?;
        c.execute(
            &st,
            &[
                &id,
                &msgid,
                &kind,
                &admdvs,
                &psn,
                &inst,
                &channel,
                &at,
                &reverses,
                &hash,
                &response,
                &summary,
                &self.heads.1.alg.code(),
                &links,
                &places,
            ],
        )
        .map_err(pg)?;
        Ok(())
    }

    fn flush_settlements<C: GenericClient>(
        &mut self,
        c: &mut C,
        stmts: &mut Stmts,
    ) -> Result<(), StoreError> {
        if self.settlements.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.settlements);
        let n = rows.len();
        let mut setl_id = Vec::with_capacity(n);
        let mut entry_id = Vec::with_capacity(n);
        let mut mdtrt_id = Vec::with_capacity(n);
        let mut psn = Vec::with_capacity(n);
        let mut inst = Vec::with_capacity(n);
        let mut admdvs = Vec::with_capacity(n);
        let mut insutype = Vec::with_capacity(n);
        let mut med_type = Vec::with_capacity(n);
        let mut date = Vec::with_capacity(n);
        let mut medfee = Vec::with_capacity(n);
        let mut fund = Vec::with_capacity(n);
        let mut acct = Vec::with_capacity(n);
        let mut mulaid = Vec::with_capacity(n);
        let mut cash = Vec::with_capacity(n);
        let mut cancelled = Vec::with_capacity(n);
        let mut detail = Vec::with_capacity(n);
        for s in rows {
            setl_id.push(s.setl_id.as_str());
            entry_id.push(s.entry_id);
            mdtrt_id.push(s.mdtrt_id.as_str());
            psn.push(s.psn_no.as_str());
            inst.push(s.fixmedins_code.as_str());
            admdvs.push(s.admdvs.as_str());
            insutype.push(s.insutype.as_str());
            med_type.push(s.med_type.as_str());
            date.push(s.setl_date.as_str());
            medfee.push(s.medfee_sumamt.fen());
            fund.push(s.fund_pay_sumamt.fen());
            acct.push(s.acct_pay.fen());
            mulaid.push(s.acct_mulaid_pay.fen());
            cash.push(s.psn_cash_pay.fen());
            cancelled.push(i32::from(s.cancelled));
            detail.push(s.detail.as_str());
        }
        let st = stmts.get(c, SQL_BULK_SETTLEMENTS)?;
        c.execute(
            &st,
            &[
                &setl_id, &entry_id, &mdtrt_id, &psn, &inst, &admdvs, &insutype, &med_type, &date,
                &medfee, &fund, &acct, &mulaid, &cash, &cancelled, &detail,
            ],
        )
        .map_err(pg)?;
        Ok(())
    }

    fn settled_fee(&mut self, f: &'a FeeRow) {
        if let Some(setl_id) = f.setl_id.as_deref() {
            if self.settled_keys.insert((setl_id, f.feedetl_sn.as_str())) {
                self.settled_fees.push(f);
            }
        }
    }

    fn flush_settled_fees<C: GenericClient>(
        &mut self,
        c: &mut C,
        stmts: &mut Stmts,
    ) -> Result<(), StoreError> {
        let rows = std::mem::take(&mut self.settled_fees);
        if rows.is_empty() {
            return Ok(());
        }
        let n = rows.len();
        let mut setl_id = Vec::with_capacity(n);
        let mut sn = Vec::with_capacity(n);
        let mut mdtrt_id = Vec::with_capacity(n);
        let mut bchno = Vec::with_capacity(n);
        let mut code = Vec::with_capacity(n);
        let mut amount = Vec::with_capacity(n);
        let mut count = Vec::with_capacity(n);
        let mut price = Vec::with_capacity(n);
        for f in rows {
            setl_id.push(f.setl_id.as_deref().unwrap_or_default());
            sn.push(f.feedetl_sn.as_str());
            mdtrt_id.push(f.mdtrt_id.as_str());
            bchno.push(f.chrg_bchno.as_str());
            code.push(f.med_list_codg.as_str());
            amount.push(f.amount.fen());
            count.push(f.count_e4);
            price.push(f.price.fen());
        }
        let st = stmts.get(c, SQL_BULK_SETTLED_FEES)?;
        c.execute(
            &st,
            &[
                &setl_id, &sn, &mdtrt_id, &bchno, &code, &amount, &count, &price,
            ],
        )
        .map_err(pg)?;
        Ok(())
    }

    fn flush_fees<C: GenericClient>(
        &mut self,
        c: &mut C,
        stmts: &mut Stmts,
    ) -> Result<(), StoreError> {
        self.fee_slots.clear();
        let rows: Vec<&FeeRow> = std::mem::take(&mut self.fees)
            .into_iter()
            .flatten()
            .collect();
        if rows.is_empty() {
            return Ok(());
        }
        let n = rows.len();
        let mut mdtrt_id = Vec::with_capacity(n);
        let mut sn = Vec::with_capacity(n);
        let mut bchno = Vec::with_capacity(n);
        let mut code = Vec::with_capacity(n);
        let mut amount = Vec::with_capacity(n);
        let mut count = Vec::with_capacity(n);
        let mut price = Vec::with_capacity(n);
        let mut setl_id = Vec::with_capacity(n);
        for f in rows {
            mdtrt_id.push(f.mdtrt_id.as_str());
            sn.push(f.feedetl_sn.as_str());
            bchno.push(f.chrg_bchno.as_str());
            code.push(f.med_list_codg.as_str());
            amount.push(f.amount.fen());
            count.push(f.count_e4);
            price.push(f.price.fen());
            setl_id.push(f.setl_id.as_deref());
        }
        let st = stmts.get(c, SQL_BULK_FEES)?;
        c.execute(
            &st,
            &[
                &mdtrt_id, &sn, &bchno, &code, &amount, &count, &price, &setl_id,
            ],
        )
        .map_err(pg)?;
        Ok(())
    }

    fn entry(&mut self, e: &'a JournalEntry) -> Result<(), StoreError> {
        self.journal.push(e);
        for (seq, p) in e.postings.iter().enumerate() {
            let seq = i32::try_from(seq)
                .map_err(|_| StoreError::Io(format!("entry {}: too many postings", e.entry_id)))?;
            self.postings.push((e.entry_id, seq, p));
            let slot = self
                .accounts
                .entry(p.account_key.as_str())
                .or_insert((p.psn_no.as_deref(), 0));
            add(&mut slot.1, p.amount.fen(), &p.account_key)?;
        }
        Ok(())
    }

    fn pool_usage(&mut self, u: &'a PoolUsageDelta) -> Result<(), StoreError> {
        let slot = self
            .pool_usage
            .entry((u.psn_no.as_str(), u.period.as_str(), u.cap_group.as_str()))
            .or_default();
        add(&mut slot.0, u.deductible.fen(), "pool_usage")?;
        add(&mut slot.1, u.fund.fen(), "pool_usage")?;
        add(&mut slot.2, u.burden.fen(), "pool_usage")?;
        self.usage_log.push(UsageLog::Pool(u));
        Ok(())
    }

    fn binding_usage(&mut self, u: &'a BindingUsageDelta) -> Result<(), StoreError> {
        let slot = self
            .binding_usage
            .entry((u.binding_id, u.month.as_str()))
            .or_default();
        add(slot, u.amount.fen(), "binding_usage")?;
        self.usage_log.push(UsageLog::Binding(u));
        Ok(())
    }

    fn binding_change(&mut self, holder: &'a str, month: &'a str) -> Result<(), StoreError> {
        let slot = self.binding_changes.entry((holder, month)).or_default();
        *slot = slot
            .checked_add(1)
            .ok_or_else(|| overflow("binding_changes"))?;
        Ok(())
    }

    fn flush_premiums<C: GenericClient>(
        &mut self,
        c: &mut C,
        stmts: &mut Stmts,
    ) -> Result<(), StoreError> {
        if self.premiums.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.premiums);
        let n = rows.len();
        let (mut relative, mut year, mut entry) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let (mut holder, mut category, mut amount, mut kind) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let (mut channel, mut agent, mut paid_at) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for p in rows {
            channel.push(p.channel.as_str());
            agent.push(p.agent_id.as_deref());
            paid_at.push(p.paid_at.as_deref());
            kind.push(p.kind.as_str());
            relative.push(p.relative_psn_no.as_str());
            year.push(p.year);
            entry.push(p.entry_id);
            holder.push(p.holder_psn_no.as_str());
            category.push(p.category.as_str());
            amount.push(p.amount.fen());
        }
        let st = stmts.get(c, SQL_BULK_PREMIUMS)?;
        c.execute(
            &st,
            &[
                &relative, &year, &entry, &holder, &category, &amount, &kind, &channel, &agent,
                &paid_at,
            ],
        )
        .map_err(pg)?;
        Ok(())
    }

    fn flush<C: GenericClient>(mut self, c: &mut C, stmts: &mut Stmts) -> Result<(), StoreError> {
        self.flush_fees(c, stmts)?;
        self.flush_settled_fees(c, stmts)?;
        self.flush_premiums(c, stmts)?;
        // Every insert-only and additive row of the batch in one statement (one round
        // trip): its data-modifying CTEs touch different tables, and no row of one is read
        // by another. Empty arrays insert nothing.
        self.flush_journal(c, stmts)?;
        self.flush_settlements(c, stmts)?;
        if !self.postings.is_empty() {
            let n = self.postings.len();
            let (mut entry, mut seq, mut key, mut amount) = (
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
            );
            let (mut rule, mut floor, mut after, mut expl) = (
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
            );
            for (e, s, p) in &self.postings {
                entry.push(*e);
                seq.push(*s);
                key.push(p.account_key.as_str());
                amount.push(p.amount.fen());
                rule.push(p.rule.as_str());
                floor.push(p.floor.map(Fen::fen));
                after.push(p.balance_after.fen());
                expl.push(p.explanation.as_str());
            }
            let st = stmts.get(c, SQL_BULK_POSTINGS)?;
            c.execute(
                &st,
                &[&entry, &seq, &key, &amount, &rule, &floor, &after, &expl],
            )
            .map_err(pg)?;
        }
        if !self.usage_log.is_empty() {
            let n = self.usage_log.len();
            let (mut entry, mut kind, mut psn, mut period, mut group) = (
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
            );
            let (mut binding, mut ded, mut fund, mut burden, mut amount) = (
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
            );
            for u in &self.usage_log {
                match u {
                    UsageLog::Pool(u) => {
                        entry.push(u.entry_id);
                        kind.push("pool");
                        psn.push(Some(u.psn_no.as_str()));
                        period.push(u.period.as_str());
                        group.push(Some(u.cap_group.as_str()));
                        binding.push(None::<i64>);
                        ded.push(u.deductible.fen());
                        fund.push(u.fund.fen());
                        burden.push(u.burden.fen());
                        amount.push(0_i64);
                    }
                    UsageLog::Binding(u) => {
                        entry.push(u.entry_id);
                        kind.push("binding");
                        psn.push(None);
                        period.push(u.month.as_str());
                        group.push(None);
                        binding.push(Some(u.binding_id));
                        ded.push(0);
                        fund.push(0);
                        burden.push(0);
                        amount.push(u.amount.fen());
                    }
                }
            }
            let st = stmts.get(c, SQL_BULK_USAGE_LOG)?;
            c.execute(
                &st,
                &[
                    &entry, &kind, &psn, &period, &group, &binding, &ded, &fund, &burden, &amount,
                ],
            )
            .map_err(pg)?;
        }
        // The additive upserts, summed per key (a statement may not update a row twice),
        // in one statement: each of its data-modifying CTEs touches its own table, so
        // doing them at once is doing them in turn; empty arrays write nothing.
        if !(self.accounts.is_empty()
            && self.pool_usage.is_empty()
            && self.binding_usage.is_empty()
            && self.binding_changes.is_empty())
        {
            let n = self.accounts.len();
            let (mut a_key, mut a_psn, mut a_sum) = (
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
            );
            for (k, (p, s)) in &self.accounts {
                a_key.push(*k);
                a_psn.push(*p);
                a_sum.push(*s);
            }
            let n = self.pool_usage.len();
            let (mut u_psn, mut u_period, mut u_group) = (
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
            );
            let (mut u_ded, mut u_fund, mut u_burden) = (
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
            );
            for ((p, pe, g), (d, f, b)) in &self.pool_usage {
                u_psn.push(*p);
                u_period.push(*pe);
                u_group.push(*g);
                u_ded.push(*d);
                u_fund.push(*f);
                u_burden.push(*b);
            }
            let n = self.binding_usage.len();
            let (mut b_id, mut b_month, mut b_amount) = (
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
            );
            for ((i, m), a) in &self.binding_usage {
                b_id.push(*i);
                b_month.push(*m);
                b_amount.push(*a);
            }
            let n = self.binding_changes.len();
            let (mut c_holder, mut c_month, mut c_count) = (
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
            );
            for ((h, m), k) in &self.binding_changes {
                c_holder.push(*h);
                c_month.push(*m);
                c_count.push(*k);
            }
            let st = stmts.get(c, SQL_BULK_UPSERTS)?;
            c.execute(
                &st,
                &[
                    &a_key, &a_psn, &a_sum, &u_psn, &u_period, &u_group, &u_ded, &u_fund,
                    &u_burden, &b_id, &b_month, &b_amount, &c_holder, &c_month, &c_count,
                ],
            )
            .map_err(pg)?;
        }
        // Reversal marks and cancel flags change rows only: after every row of the batch
        // is in, one statement for both. A mark that finds no unreversed entry (reversed
        // before, twice in this batch, or missing) refuses the whole batch.
        if !self.marks.is_empty() || !self.cancelled.is_empty() {
            let (entries, by): (Vec<i64>, Vec<i64>) = self.marks.iter().copied().unzip();
            let st = stmts.get(c, SQL_BULK_MARKS_AND_CANCELS)?;
            let mut marked: std::collections::HashSet<i64> = c
                .query(&st, &[&entries, &by, &self.cancelled])
                .map_err(pg)?
                .iter()
                .map(|r| get::<i64>(r, 0))
                .collect::<Result<_, _>>()?;
            for (entry_id, _) in &self.marks {
                if !marked.remove(entry_id) {
                    return Err(StoreError::Conflict(format!(
                        "entry {entry_id} is already reversed"
                    )));
                }
            }
        }
        if self.heads.0 != self.heads.1 {
            write_heads(c, stmts, &self.heads.1)?;
        }
        Ok(())
    }
}

fn write_one<'a, C: GenericClient>(
    c: &mut C,
    stmts: &mut Stmts,
    bulk: &mut Bulk<'a>,
    w: &'a Write,
    privacy: &Mode,
) -> Result<(), StoreError> {
    match w {
        Write::Person(p) => {
            let certno = privacy.store(PiiField::CertNo, &p.psn_no, p.certno.reveal())?;
            let phone = privacy.store(PiiField::Phone, &p.psn_no, p.phone.reveal())?;
            let st = stmts.get(c, SQL_PERSON)?;
            c.execute(
                &st,
                &[
                    &p.psn_no,
                    &certno.value,
                    &p.name.reveal(),
                    &p.gender.code(),
                    &codec::fmt_date(p.birth_date),
                    &p.insutype.code(),
                    &p.psn_type,
                    &p.admdvs.to_string(),
                    &p.insu_status.code(),
                    &i32::from(p.civil_servant),
                    &i32::from(p.public_medical),
                    &p.employer_name,
                    &phone.value,
                    &certno.lookup,
                    &phone.lookup,
                ],
            )
            .map_err(pg)?;
        }
        Write::Institution(i) => {
            let st = stmts.get(c, SQL_INSTITUTION)?;
            c.execute(
                &st,
                &[
                    &i.code,
                    &i.name,
                    &i.kind.code(),
                    &i.level.code(),
                    &i.admdvs.to_string(),
                    &format!("{:.6}", i.lat),
                    &format!("{:.6}", i.lon),
                    &i32::from(i.mutual_aid),
                    &i.paasid,
                    &i.token,
                    &i.contact.address,
                    &i.contact.phone,
                    &i.contact.opening_hours,
                ],
            )
            .map_err(pg)?;
        }
        Write::Agency(a) => {
            let st = stmts.get(c, crate::sqlite::SQL_AGENCY)?;
            c.execute(
                &st,
                &[
                    &a.code,
                    &a.name,
                    &a.admdvs.to_string(),
                    &format!("{:.6}", a.lat),
                    &format!("{:.6}", a.lon),
                    &a.contact.address,
                    &a.contact.phone,
                    &a.contact.opening_hours,
                ],
            )
            .map_err(pg)?;
        }
        Write::CatalogItem(item) => {
            let st = stmts.get(c, SQL_CATALOG)?;
            c.execute(
                &st,
                &[
                    &item.code,
                    &item.name,
                    &item.level.code(),
                    &item.price_cap.map(Fen::fen),
                    &i32::from(item.selfpay_prop.get()),
                ],
            )
            .map_err(pg)?;
        }
        Write::Binding { binding: b, admdvs } => {
            let st = stmts.get(c, SQL_BINDING)?;
            c.execute(
                &st,
                &[
                    &b.id,
                    &b.holder,
                    &b.relative,
                    &b.relationship.to_string(),
                    &codec::fmt_date(b.begin),
                    &b.end.map(codec::fmt_date),
                    &b.limit_per_payment.map(Fen::fen),
                    &b.limit_per_month.map(Fen::fen),
                    &b.status.code(),
                    &b.channel.code(),
                    admdvs,
                    &b.limit_per_day.map(Fen::fen),
                    &b.limit_per_year.map(Fen::fen),
                ],
            )
            .map_err(pg)?;
        }
        Write::BindingChange {
            holder_psn_no,
            month,
        } => bulk.binding_change(holder_psn_no, month)?,
        Write::Entry(e) => {
            // Refuse an unbalanced entry here too: the second of the two balance checks.
            let sum = e
                .postings
                .iter()
                .try_fold(0_i64, |acc, p| acc.checked_add(p.amount.fen()))
                .ok_or_else(|| overflow("entry"))?;
            if sum != 0 {
                return Err(StoreError::Conflict(format!(
                    "entry {} does not balance: {}",
                    e.entry_id,
                    Fen::from_fen(sum)
                )));
            }
            bulk.entry(e)?;
        }
        Write::Visit(v) => {
            let st = stmts.get(c, SQL_VISIT)?;
            c.execute(
                &st,
                &[
                    &v.mdtrt_id,
                    &v.psn_no,
                    &v.fixmedins_code,
                    &v.admdvs,
                    &v.insutype,
                    &v.med_type,
                    &v.begntime,
                    &v.status,
                    &v.diagnosis,
                ],
            )
            .map_err(pg)?;
        }
        Write::Fee(f) => {
            bulk.fee(f);
            bulk.settled_fee(f);
        }
        Write::FeeDelete {
            mdtrt_id,
            feedetl_sn,
        } => {
            bulk.flush_fees(c, stmts)?;
            let st = stmts.get(c, SQL_FEE_DELETE)?;
            c.execute(&st, &[mdtrt_id, feedetl_sn]).map_err(pg)?;
        }
        Write::Message {
            msgid,
            request_hash,
            response,
        } => {
            let st = stmts.get(c, SQL_MESSAGE)?;
            c.execute(&st, &[msgid, request_hash, response])
                .map_err(pg)?;
        }
        Write::Settlement(s) => bulk.settlements.push(s),
        Write::SettlementCancelled { setl_id } => bulk.cancelled.push(setl_id),
        Write::MarkReversed {
            entry_id,
            reversed_by,
        } => bulk.marks.push((*entry_id, *reversed_by)),
        Write::PoolUsage(u) => bulk.pool_usage(u)?,
        Write::BindingUsage(u) => bulk.binding_usage(u)?,
        Write::Premium(p) => bulk.premiums.push(p),
        Write::Withheld(w) => {
            let st = stmts.get(c, SQL_WITHHELD)?;
            c.execute(
                &st,
                &[
                    &w.setl_id,
                    &w.seq,
                    &w.entry_id,
                    &w.psn_no,
                    &w.admdvs,
                    &w.year,
                    &w.setl_date,
                    &w.fund_pay_type,
                    &w.name_zh,
                    &w.amount.fen(),
                    &w.explanation,
                ],
            )
            .map_err(pg)?;
        }
        Write::Bubao(b) => {
            let st = stmts.get(c, SQL_BUBAO)?;
            c.execute(
                &st,
                &[
                    &b.setl_id,
                    &b.entry_id,
                    &b.psn_no,
                    &b.admdvs,
                    &b.year,
                    &b.amount.fen(),
                    &b.paid_on,
                ],
            )
            .map_err(pg)?;
        }
        Write::PremiumRefund {
            relative_psn_no,
            year,
        } => {
            // The refund sees the premiums written before it.
            bulk.flush_premiums(c, stmts)?;
            let st = stmts.get(c, SQL_PREMIUM_REFUND)?;
            c.execute(&st, &[relative_psn_no, year]).map_err(pg)?;
        }
        Write::ContributionCategory(r) => {
            let st = stmts.get(c, SQL_CONTRIBUTION_CATEGORY)?;
            c.execute(
                &st,
                &[
                    &r.psn_no,
                    &r.year,
                    &r.category,
                    &r.source_dept,
                    &r.list_date,
                    &r.imported_at,
                    &r.imported_by,
                ],
            )
            .map_err(pg)?;
        }
        Write::RecoveryCase(r) => {
            let st = stmts.get(c, SQL_RECOVERY_CASE)?;
            c.execute(
                &st,
                &[
                    &r.case_id,
                    &r.binding_id,
                    &r.holder_psn_no,
                    &r.relative_psn_no,
                    &r.setl_id,
                    &r.admdvs,
                    &r.amount.fen(),
                    &r.reason,
                    &r.status,
                    &r.opened_by,
                    &r.opened_at,
                    &r.repaid_by,
                    &r.repaid_at,
                    &r.repaid_entry_id,
                ],
            )
            .map_err(pg)?;
        }
        Write::Commitment(m) => {
            let st = stmts.get(c, SQL_COMMITMENT)?;
            c.execute(
                &st,
                &[
                    &m.binding_id,
                    &m.holder_psn_no,
                    &m.admdvs,
                    &m.notice_version,
                    &m.letter,
                    &m.sha256,
                    &m.signature,
                    &m.signed_at,
                    &m.channel,
                ],
            )
            .map_err(pg)?;
        }
        Write::Session(row) => {
            let st = stmts.get(c, SQL_INSERT_SESSION)?;
            c.execute(
                &st,
                &[
                    &row.token_sha256,
                    &row.kind,
                    &row.psn_no,
                    &row.username,
                    &row.role,
                    &row.fixmedins_code,
                    &row.created_at,
                    &row.last_seen_at,
                    &row.expires_at,
                ],
            )
            .map_err(pg)?;
        }
        Write::QuotaBinding(b) => {
            let p = &b.parties;
            let st = stmts.get(c, quota::BINDING_PG)?;
            c.execute(
                &st,
                &[
                    &province_col(p.holder_province)?,
                    &p.holder_psn_no,
                    &province_col(p.relative_province)?,
                    &p.relative_psn_no,
                    &b.side.code(),
                    &b.relationship.to_string(),
                    &codec::fmt_date(b.begin),
                    &b.end.map(codec::fmt_date),
                    &b.status.code(),
                    &b.created_at,
                    &b.updated_at,
                ],
            )
            .map_err(pg)?;
        }
        Write::QuotaSent(r) => {
            let p = &r.parties;
            let attempts = i32::try_from(r.attempts).unwrap_or(i32::MAX);
            let st = stmts.get(c, quota::SENT_PG)?;
            c.execute(
                &st,
                &[
                    &r.transfer_id,
                    &r.direction.code(),
                    &province_col(p.holder_province)?,
                    &p.holder_psn_no,
                    &province_col(p.relative_province)?,
                    &p.relative_psn_no,
                    &r.amount.fen(),
                    &r.state.code(),
                    &r.entry_id,
                    &r.release_entry_id,
                    &attempts,
                    &r.last_error,
                    &r.created_at,
                    &r.updated_at,
                ],
            )
            .map_err(pg)?;
        }
        Write::QuotaApplied(r) => {
            let p = &r.parties;
            let st = stmts.get(c, quota::APPLIED_PG)?;
            c.execute(
                &st,
                &[
                    &r.transfer_id,
                    &r.direction.code(),
                    &province_col(p.holder_province)?,
                    &p.holder_psn_no,
                    &province_col(p.relative_province)?,
                    &p.relative_psn_no,
                    &r.amount.fen(),
                    &r.entry_id,
                    &r.refusal_code,
                    &r.refusal_zh,
                    &r.at,
                ],
            )
            .map_err(pg)?;
        }
        Write::QuotaSpend(r) => {
            let p = &r.parties;
            let st = stmts.get(c, quota::SPEND_PG)?;
            c.execute(
                &st,
                &[
                    &r.entry_id,
                    &r.setl_id,
                    &province_col(p.holder_province)?,
                    &p.holder_psn_no,
                    &province_col(p.relative_province)?,
                    &p.relative_psn_no,
                    &r.fixmedins_code,
                    &r.amount.fen(),
                    &r.at,
                ],
            )
            .map_err(pg)?;
        }
        Write::Review(row) => {
            let (phone, certno) = crate::reviews::stored_pii(privacy, row)?;
            let st = stmts.get(c, crate::reviews::SQL_PUT)?;
            c.execute(
                &st,
                &[
                    &row.review_id,
                    &row.psn_no,
                    &row.kind,
                    &row.state,
                    &row.name,
                    &phone,
                    &certno,
                    &row.admdvs,
                    &row.submitted_at,
                    &row.decided_at,
                    &row.decided_by,
                    &row.reason,
                ],
            )
            .map_err(pg)?;
        }
        Write::ProxyConsent(row) => {
            let st = stmts.get(c, SQL_PUT_PROXY_CONSENT)?;
            c.execute(
                &st,
                &[
                    &row.token,
                    &row.parent_psn_no,
                    &row.child_psn_no,
                    &row.given_at,
                    &row.revoked_at,
                ],
            )
            .map_err(pg)?;
        }
        Write::Audit(a) => {
            let (id, link) = bulk.next_audit()?;
            let st = stmts.get(c, SQL_AUDIT)?;
            c.execute(
                &st,
                &[
                    &id,
                    &a.at,
                    &a.actor,
                    &a.channel,
                    &a.action,
                    &a.subject,
                    &a.before_state,
                    &a.after_state,
                    &bulk.heads.1.alg.code(),
                    &link,
                ],
            )
            .map_err(pg)?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Verify: the checks of `verify_sqlite`, in PostgreSQL's dialect (sums cast back to BIGINT,
// subqueries named, split_part/position for the account kind).

fn count<C: GenericClient>(c: &mut C, sql: &str) -> Result<u64, StoreError> {
    let row = c.query_one(sql, &[]).map_err(pg)?;
    Ok(get::<i64>(&row, 0)?.max(0) as u64)
}

fn verify_pg<C: GenericClient>(c: &mut C) -> Result<VerifyReport, StoreError> {
    let mut report = VerifyReport {
        entries: count(c, "SELECT COUNT(*) FROM journal")?,
        postings: count(c, "SELECT COUNT(*) FROM postings")?,
        accounts: count(c, "SELECT COUNT(*) FROM accounts")?,
        settlements: count(c, "SELECT COUNT(*) FROM settlements")?,
        cancels: count(
            c,
            "SELECT COUNT(*) FROM journal WHERE reverses_entry IS NOT NULL",
        )?,
        ..VerifyReport::default()
    };
    let v = &mut report.violations;
    each_row(
        c,
        "SELECT entry_id, SUM(amount_fen)::BIGINT FROM postings
         GROUP BY entry_id HAVING SUM(amount_fen) <> 0 ORDER BY entry_id",
        |r| {
            v.push(Violation::EntryUnbalanced {
                entry_id: get(r, 0)?,
                sum: fen(r, 1)?,
            });
            Ok(())
        },
    )?;
    each_row(
        c,
        "SELECT k, COALESCE(stored, 0)::BIGINT, COALESCE(posted, 0)::BIGINT FROM (
             SELECT a.account_key AS k, a.balance_fen AS stored,
                    (SELECT SUM(p.amount_fen) FROM postings p
                     WHERE p.account_key = a.account_key) AS posted
             FROM accounts a
             UNION ALL
             SELECT p.account_key, NULL, SUM(p.amount_fen) FROM postings p
             WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.account_key = p.account_key)
             GROUP BY p.account_key) AS t
         WHERE COALESCE(stored, 0) <> COALESCE(posted, 0) ORDER BY k",
        |r| {
            v.push(Violation::BalanceMismatch {
                account: get(r, 0)?,
                stored: fen(r, 1)?,
                postings: fen(r, 2)?,
            });
            Ok(())
        },
    )?;
    each_row(
        c,
        "SELECT account_key, balance_fen FROM accounts
         WHERE account_key LIKE 'psn:%' AND balance_fen < 0 ORDER BY account_key",
        |r| {
            v.push(Violation::BelowZero {
                account: get(r, 0)?,
                balance: fen(r, 1)?,
            });
            Ok(())
        },
    )?;
    each_row(
        c,
        "SELECT account_key, entry_id, balance_after_fen, floor_fen FROM postings
         WHERE floor_fen IS NOT NULL AND balance_after_fen < floor_fen ORDER BY entry_id",
        |r| {
            v.push(Violation::BelowFloor {
                account: get(r, 0)?,
                entry_id: get(r, 1)?,
                balance_after: fen(r, 2)?,
                floor: fen(r, 3)?,
            });
            Ok(())
        },
    )?;
    each_row(
        c,
        "SELECT account_key, entry_id, balance_after_fen, running FROM (
             SELECT account_key, entry_id, balance_after_fen,
                    (SUM(amount_fen) OVER (PARTITION BY account_key ORDER BY entry_id, seq
                                           ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))::BIGINT
                        AS running
             FROM postings WHERE account_key LIKE 'psn:%') AS t
         WHERE running <> balance_after_fen ORDER BY account_key, entry_id",
        |r| {
            v.push(Violation::RunningBalance {
                account: get(r, 0)?,
                entry_id: get(r, 1)?,
                recorded: fen(r, 2)?,
                computed: fen(r, 3)?,
            });
            Ok(())
        },
    )?;
    each_row(c, crate::verify::SQL_POOL_USAGE_MISMATCH, |r| {
        v.push(crate::verify::pool_usage_mismatch(
            [get(r, 0)?, get(r, 1)?, get(r, 2)?],
            [get(r, 3)?, get(r, 4)?, get(r, 5)?],
            [get(r, 6)?, get(r, 7)?, get(r, 8)?],
        ));
        Ok(())
    })?;
    each_row(c, crate::verify::SQL_BINDING_USAGE_MISMATCH, |r| {
        v.push(crate::verify::binding_usage_mismatch(
            get(r, 0)?,
            get(r, 1)?,
            get(r, 2)?,
            get(r, 3)?,
        ));
        Ok(())
    })?;
    // Every cancel is the exact negation of its original, and the flags agree.
    each_row(
        c,
        "SELECT c.entry_id, c.reverses_entry, o.reversed_by FROM journal c
         LEFT JOIN journal o ON o.entry_id = c.reverses_entry
         WHERE c.reverses_entry IS NOT NULL ORDER BY c.entry_id",
        |r| {
            let cancel: i64 = get(r, 0)?;
            let original: i64 = get(r, 1)?;
            let flag: Option<i64> = get(r, 2)?;
            if flag != Some(cancel) {
                v.push(Violation::CancelFlag {
                    entry_id: original,
                    detail: format!("reversed_by is {flag:?}, expected {cancel}"),
                });
            }
            Ok(())
        },
    )?;
    each_row(
        c,
        "SELECT c.entry_id, c.reverses_entry, COALESCE(cp.account_key, op.account_key),
                COALESCE(cp.total, 0)::BIGINT, COALESCE(op.total, 0)::BIGINT
         FROM journal c
         JOIN (SELECT entry_id, account_key, SUM(amount_fen) AS total FROM postings
               GROUP BY entry_id, account_key) op ON op.entry_id = c.reverses_entry
         LEFT JOIN (SELECT entry_id, account_key, SUM(amount_fen) AS total FROM postings
               GROUP BY entry_id, account_key) cp
              ON cp.entry_id = c.entry_id AND cp.account_key = op.account_key
         WHERE c.reverses_entry IS NOT NULL AND COALESCE(cp.total, 0) <> -op.total
         ORDER BY c.entry_id",
        |r| {
            v.push(Violation::CancelMismatch {
                cancel_entry: get(r, 0)?,
                original_entry: get(r, 1)?,
                detail: format!(
                    "account {} moved {} but the original moved {}",
                    get::<&str>(r, 2)?,
                    fen(r, 3)?,
                    fen(r, 4)?
                ),
            });
            Ok(())
        },
    )?;
    each_row(
        c,
        "SELECT s.entry_id, s.cancelled, j.reversed_by FROM settlements s
         JOIN journal j ON j.entry_id = s.entry_id
         WHERE (s.cancelled = 1) <> (j.reversed_by IS NOT NULL) ORDER BY s.entry_id",
        |r| {
            v.push(Violation::CancelFlag {
                entry_id: get(r, 0)?,
                detail: format!(
                    "settlement cancelled={} but journal reversed_by={:?}",
                    get::<i32>(r, 1)?,
                    get::<Option<i64>>(r, 2)?
                ),
            });
            Ok(())
        },
    )?;
    each_row(
        c,
        "SELECT CASE WHEN position(':' in account_key) > 0
                     THEN split_part(account_key, ':', 1)
                     ELSE account_key END AS kind,
                SUM(balance_fen)::BIGINT FROM accounts GROUP BY 1",
        |r| {
            report.totals_by_kind.insert(get(r, 0)?, fen(r, 1)?);
            Ok(())
        },
    )?;
    Ok(report)
}

impl Store for PgStore {
    fn load_snapshot(&mut self) -> Result<Snapshot, StoreError> {
        let privacy = self.privacy_mode()?;
        let mut tx = self.read_tx()?;
        let snap = load_snapshot(&mut tx, &privacy)?;
        tx.commit().map_err(pg)?;
        Ok(snap)
    }

    fn commit(&mut self, batch: &WriteBatch) -> Result<(), StoreError> {
        if self.lease.is_none() {
            return Err(StoreError::Conflict(format!(
                "database {} was opened as a reader: only the lease holder writes",
                self.database
            )));
        }
        let privacy = self.privacy_mode()?;
        let PgStore { client, stmts, .. } = self;
        let mut tx = client.transaction().map_err(pg)?;
        let mut bulk = Bulk::chained(&mut tx, stmts, &batch.writes)?;
        for w in &batch.writes {
            write_one(&mut tx, stmts, &mut bulk, w, &privacy)?;
        }
        bulk.flush(&mut tx, stmts)?;
        // Dropping `tx` on any error above rolls the whole batch back.
        tx.commit().map_err(pg)
    }

    fn answer_for_msgid(&mut self, msgid: &str) -> Result<Option<StoredAnswer>, StoreError> {
        let PgStore { client, stmts, .. } = self;
        let st = stmts.get(client, SQL_ANSWER_JOURNAL)?;
        if let Some(r) = client.query_opt(&st, &[&msgid]).map_err(pg)? {
            return Ok(Some(StoredAnswer {
                entry_id: Some(get(&r, 0)?),
                request_hash: get(&r, 1)?,
                response: get(&r, 2)?,
            }));
        }
        let st = stmts.get(client, SQL_ANSWER_MESSAGE)?;
        match client.query_opt(&st, &[&msgid]).map_err(pg)? {
            Some(r) => Ok(Some(StoredAnswer {
                entry_id: None,
                request_hash: get(&r, 0)?,
                response: get(&r, 1)?,
            })),
            None => Ok(None),
        }
    }

    fn answers_for_msgids(
        &mut self,
        msgids: &[&str],
    ) -> Result<HashMap<String, StoredAnswer>, StoreError> {
        let mut out = HashMap::new();
        if msgids.is_empty() {
            return Ok(out);
        }
        let PgStore { client, stmts, .. } = self;
        // Both tables in one round trip. A journal answer wins over a message's, as in
        // `answer_for_msgid`; a msgid is in at most one of the two in practice.
        let st = stmts.get(client, SQL_ANSWERS_ANY)?;
        for r in client.query(&st, &[&msgids]).map_err(pg)? {
            let entry_id: Option<i64> = get(&r, 1)?;
            let answer = StoredAnswer {
                entry_id,
                request_hash: get(&r, 2)?,
                response: get(&r, 3)?,
            };
            let msgid: String = get(&r, 0)?;
            if entry_id.is_some() {
                out.insert(msgid, answer);
            } else {
                out.entry(msgid).or_insert(answer);
            }
        }
        Ok(out)
    }

    fn settlements(
        &mut self,
        setl_ids: &[&str],
    ) -> Result<HashMap<String, StoredSettlement>, StoreError> {
        if setl_ids.is_empty() {
            return Ok(HashMap::new());
        }
        if self.in_conventional_tx {
            let PgStore { client, stmts, .. } = self;
            return settlements_in(client, stmts, setl_ids);
        }
        let PgStore { client, stmts, .. } = self;
        let mut tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(pg)?;
        let found = settlements_in(&mut tx, stmts, setl_ids)?;
        tx.commit().map_err(pg)?;
        Ok(found)
    }

    fn settlement(&mut self, setl_id: &str) -> Result<Option<StoredSettlement>, StoreError> {
        if self.in_conventional_tx {
            // Inside the baseline's open transaction: read there, not in a new one.
            let PgStore { client, stmts, .. } = self;
            return settlement_in(client, stmts, setl_id);
        }
        let PgStore { client, stmts, .. } = self;
        let mut tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(pg)?;
        let found = settlement_in(&mut tx, stmts, setl_id)?;
        tx.commit().map_err(pg)?;
        Ok(found)
    }

    fn review_state(&mut self, review_id: &str) -> Result<Option<String>, StoreError> {
        let rows = self.read_rows(crate::reviews::SQL_STATE, &[&review_id])?;
        rows.first().map(|r| get(r, 0)).transpose()
    }

    fn verify(&mut self) -> Result<VerifyReport, StoreError> {
        self.verify_with(&[])
    }

    fn verify_with(&mut self, anchors: &[Checkpoint]) -> Result<VerifyReport, StoreError> {
        // One snapshot, so a commit running meanwhile cannot show up as a mismatch.
        let mut tx = self.read_tx()?;
        let mut report = verify_pg(&mut tx)?;
        report.chains =
            chain::verify_chains(&mut PgChain(&mut tx), anchors, &mut report.violations)?;
        tx.commit().map_err(pg)?;
        Ok(report)
    }

    fn withheld(&mut self, setl_id: &str) -> Result<Vec<WithheldRow>, StoreError> {
        self.read_rows(SQL_WITHHELD_OF, &[&setl_id])?
            .iter()
            .map(withheld_of)
            .collect()
    }

    fn premium_payments(&mut self, psn_no: &str) -> Result<Vec<read::PremiumPayment>, StoreError> {
        self.read_rows(SQL_PREMIUM_PAYMENTS, &[&psn_no])?
            .iter()
            .map(premium_payment_of)
            .collect()
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
        let PgStore { client, stmts, .. } = self;
        let st = stmts.get(client, SQL_RECONCILE)?;
        let rows = client
            .query(
                &st,
                &[
                    &q.fixmedins_code,
                    &q.insutype,
                    &q.begin,
                    &q.end,
                    &q.include_cancelled,
                ],
            )
            .map_err(pg)?;
        let mut totals = ReconcileTotals::default();
        for r in &rows {
            let med_type: String = get(r, 0)?;
            if q.med_types.contains(&med_type) {
                totals.add(&ReconcileTotals {
                    medfee_sumamt: fen(r, 1)?,
                    fund_pay_sumamt: fen(r, 2)?,
                    acct_pay: fen(r, 3)?,
                    count: get(r, 4)?,
                })?;
            }
        }
        Ok(totals)
    }
}

// ---------------------------------------------------------------------------------------
// Reads behind the REST API and the pages: the queries of `read.rs` in PostgreSQL's
// dialect. Optional parameters are typed (`$3::TEXT IS NULL`), sums are cast back to
// BIGINT, and text is ordered bytewise (`COLLATE "C"`) whatever the database's locale, so
// both backends list in the same order.

const SQL_RECORDS: &str = "SELECT r.entry_id, r.seq, r.account_key, r.amount_fen, r.rule,
        r.balance_after_fen, r.explanation, r.kind, r.occurred_at, r.psn_no, r.fixmedins_code,
        r.channel, r.summary, r.reverses_entry, r.reversed_by, i.fixmedins_name,
        (SELECT pr.relative_psn_no FROM premiums pr WHERE pr.entry_id = r.entry_id LIMIT 1)
    FROM (
        SELECT p.entry_id, p.seq, p.account_key, p.amount_fen, p.rule, p.balance_after_fen,
               p.explanation, j.kind, j.occurred_at, j.psn_no, j.fixmedins_code, j.channel,
               j.summary, j.reverses_entry, j.reversed_by
        FROM postings p JOIN journal j ON j.entry_id = p.entry_id
        WHERE p.account_key = $1
        UNION ALL
        SELECT p.entry_id, p.seq, p.account_key, p.amount_fen, p.rule, p.balance_after_fen,
               p.explanation, j.kind, j.occurred_at, j.psn_no, j.fixmedins_code, j.channel,
               j.summary, j.reverses_entry, j.reversed_by
        FROM journal j JOIN postings p ON p.entry_id = j.entry_id
        WHERE j.psn_no = $2 AND j.kind IN ('settle', 'cancel')
          AND p.account_key LIKE 'psn:%' AND p.account_key <> $1
        UNION ALL
        SELECT p.entry_id, p.seq, p.account_key, p.amount_fen, p.rule, p.balance_after_fen,
               p.explanation, j.kind, j.occurred_at, j.psn_no, j.fixmedins_code, j.channel,
               j.summary, j.reverses_entry, j.reversed_by
        FROM premiums pr JOIN journal j ON j.entry_id = pr.entry_id
             JOIN postings p ON p.entry_id = j.entry_id
        WHERE pr.relative_psn_no = $2 AND p.account_key LIKE 'psn:%' AND p.account_key <> $1
        UNION ALL
        SELECT p.entry_id, p.seq, p.account_key, p.amount_fen, p.rule, p.balance_after_fen,
               p.explanation, j.kind, j.occurred_at, j.psn_no, j.fixmedins_code, j.channel,
               j.summary, j.reverses_entry, j.reversed_by
        FROM journal j JOIN postings p ON p.entry_id = j.entry_id
        WHERE j.psn_no = $2 AND j.kind = 'settle' AND p.account_key = 'cash'
          AND EXISTS (SELECT 1 FROM bindings b WHERE b.relative_psn_no = $2)
          AND NOT EXISTS (SELECT 1 FROM postings q WHERE q.entry_id = j.entry_id
                          AND q.account_key LIKE 'psn:%')
    ) AS r
    LEFT JOIN institutions i ON i.fixmedins_code = r.fixmedins_code
    WHERE ($3::TEXT IS NULL OR substr(r.occurred_at, 1, 10) >= $3::TEXT)
      AND ($4::TEXT IS NULL OR substr(r.occurred_at, 1, 10) <= $4::TEXT)
      AND ($5::TEXT IS NULL OR r.kind = $5::TEXT)
    ORDER BY r.occurred_at COLLATE \"C\" DESC, r.entry_id DESC, r.seq DESC
    LIMIT $6 OFFSET $7";
const SQL_YEAR_SETTLEMENTS: &str = "SELECT COUNT(*), COALESCE(SUM(medfee_sumamt), 0)::BIGINT,
        COALESCE(SUM(fund_pay_sumamt), 0)::BIGINT, COALESCE(SUM(acct_pay), 0)::BIGINT,
        COALESCE(SUM(acct_mulaid_pay), 0)::BIGINT, COALESCE(SUM(psn_cash_pay), 0)::BIGINT
    FROM settlements WHERE psn_no = $1 AND cancelled = 0 AND setl_date LIKE $2";
const SQL_YEAR_POSTINGS: &str = "SELECT
        COALESCE(SUM(CASE WHEN j.psn_no = $2 AND j.kind IN ('settle', 'cancel')
                          THEN -p.amount_fen ELSE 0 END), 0)::BIGINT,
        COALESCE(SUM(CASE WHEN j.psn_no <> $2 AND j.kind IN ('settle', 'cancel')
                          THEN -p.amount_fen ELSE 0 END), 0)::BIGINT,
        COALESCE(SUM(CASE WHEN j.kind = 'premium' THEN -p.amount_fen ELSE 0 END), 0)::BIGINT
    FROM postings p JOIN journal j ON j.entry_id = p.entry_id
    WHERE p.account_key = $1 AND j.occurred_at LIKE $3";
const SQL_PERSONS_BY_PHONE: &str =
    "SELECT psn_no FROM persons WHERE phone = $1 ORDER BY psn_no COLLATE \"C\" LIMIT $2";
const SQL_PERSONS_BY_PHONE_LOOKUP: &str =
    "SELECT psn_no FROM persons WHERE phone_lookup = $1 ORDER BY psn_no COLLATE \"C\" LIMIT $2";
const SQL_SEARCH_PERSONS: &str = "SELECT psn_no FROM persons
    WHERE psn_no = $1 OR certno = $2 OR phone = $3 OR psn_name = $1
    ORDER BY psn_no COLLATE \"C\" LIMIT $4";
const SQL_SEARCH_PERSONS_LOOKUP: &str = "SELECT psn_no FROM persons
    WHERE psn_no = $1 OR certno_lookup = $2 OR phone_lookup = $3 OR psn_name = $1
    ORDER BY psn_no COLLATE \"C\" LIMIT $4";
const SQL_MUTUAL_AID_REPORT: &str = "SELECT admdvs, day, kind, uses, persons, amount FROM (
        SELECT s.admdvs AS admdvs, s.setl_date AS day,
               COALESCE(i.fixmedins_type, '?') AS kind, COUNT(*) AS uses,
               COUNT(DISTINCT s.psn_no) AS persons,
               SUM(s.acct_mulaid_pay - COALESCE((SELECT SUM(rc.amount_fen)
                   FROM recovery_cases rc
                   WHERE rc.setl_id = s.setl_id AND rc.status = 'repaid'), 0))::BIGINT AS amount
        FROM settlements s LEFT JOIN institutions i ON i.fixmedins_code = s.fixmedins_code
        WHERE s.cancelled = 0 AND s.acct_mulaid_pay > 0
          AND s.setl_date >= $1 AND s.setl_date <= $2 AND s.admdvs LIKE $3
        GROUP BY s.admdvs, s.setl_date, i.fixmedins_type
        UNION ALL
        SELECT j.admdvs AS admdvs, substr(j.occurred_at, 1, 10) AS day,
               'premium' AS kind, COUNT(*) AS uses,
               COUNT(DISTINCT pr.relative_psn_no) AS persons, SUM(pr.amount_fen)::BIGINT AS amount
        FROM premiums pr JOIN journal j ON j.entry_id = pr.entry_id
        WHERE substr(j.occurred_at, 1, 10) >= $1 AND substr(j.occurred_at, 1, 10) <= $2
          AND j.admdvs LIKE $3
        GROUP BY j.admdvs, substr(j.occurred_at, 1, 10)
    ) AS r
    ORDER BY day COLLATE \"C\", admdvs COLLATE \"C\", kind COLLATE \"C\" LIMIT $4";
const SQL_STAFF: &str =
    "SELECT username, password_hash, role, created_at FROM staff WHERE username = $1";
const SQL_ADD_STAFF: &str = "INSERT INTO staff (username, password_hash, role, created_at)
    VALUES ($1, $2, $3, $4)
    ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash,
        role = excluded.role";
const SQL_OPERATOR: &str = "SELECT fixmedins_code, username, password_hash, created_at
    FROM operators WHERE fixmedins_code = $1 AND username = $2";
const SQL_ADD_OPERATOR: &str = "INSERT INTO operators
        (fixmedins_code, username, password_hash, created_at)
    VALUES ($1, $2, $3, $4)
    ON CONFLICT (fixmedins_code, username) DO UPDATE SET password_hash = excluded.password_hash";
const SQL_APP_PARTNER: &str = "SELECT app_code, name, channel, app_secret, public_key, active,
        created_at
    FROM app_partners WHERE app_code = $1";
const SQL_ADD_APP_PARTNER: &str = "INSERT INTO app_partners
        (app_code, name, channel, app_secret, public_key, active, created_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (app_code) DO UPDATE SET name = excluded.name, channel = excluded.channel,
        app_secret = excluded.app_secret, public_key = excluded.public_key,
        active = excluded.active";
const SQL_MUTUAL_AID_PAYMENTS: &str =
    "SELECT s.setl_id, j.occurred_at, s.fixmedins_code, (-SUM(p.amount_fen))::BIGINT
    FROM postings p JOIN journal j ON j.entry_id = p.entry_id
         JOIN settlements s ON s.entry_id = p.entry_id
    WHERE p.account_key = $1 AND s.psn_no = $2 AND s.cancelled = 0
    GROUP BY s.setl_id, j.occurred_at, s.fixmedins_code
    HAVING SUM(p.amount_fen) < 0
    ORDER BY j.occurred_at COLLATE \"C\" DESC, s.setl_id COLLATE \"C\" LIMIT $3";
const SQL_PUT_PROXY_CONSENT: &str = "INSERT INTO proxy_consents
        (token, parent_psn_no, child_psn_no, given_at, revoked_at)
    VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (token) DO UPDATE SET revoked_at = excluded.revoked_at";
const SQL_PROXY_CONSENTS: &str = "SELECT token, parent_psn_no, child_psn_no, given_at, revoked_at
    FROM proxy_consents WHERE parent_psn_no = $1 OR child_psn_no = $1
    ORDER BY given_at COLLATE \"C\" DESC, token COLLATE \"C\" LIMIT $2";
const SQL_PROXY_CONSENT: &str = "SELECT token, parent_psn_no, child_psn_no, given_at, revoked_at
    FROM proxy_consents WHERE token = $1";
const SQL_INSERT_SESSION: &str = "INSERT INTO sessions (token_sha256, kind, psn_no, username,
        role, fixmedins_code, created_at, last_seen_at, expires_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const SQL_SESSION: &str = "SELECT token_sha256, kind, psn_no, username, role, fixmedins_code,
        created_at, last_seen_at, expires_at
    FROM sessions WHERE token_sha256 = $1";
const SQL_TOUCH_SESSION: &str =
    "UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE token_sha256 = $1";
const SQL_DELETE_SESSION: &str = "DELETE FROM sessions WHERE token_sha256 = $1";
const SQL_DELETE_EXPIRED_SESSIONS: &str = "DELETE FROM sessions WHERE expires_at <= $1";
const SQL_RECOVERY_CASES: &str = concat!(
    "SELECT ",
    crate::row_columns!(recovery_case),
    " FROM recovery_cases
    WHERE ($1::TEXT IS NULL OR status = $1::TEXT)
      AND ($2::TEXT IS NULL OR holder_psn_no = $2::TEXT OR relative_psn_no = $2::TEXT)
    ORDER BY case_id DESC LIMIT $3 OFFSET $4"
);
const SQL_COMMITMENT_OF: &str = "SELECT binding_id, holder_psn_no, admdvs, notice_version,
        letter, sha256, signature, signed_at, channel
    FROM commitments WHERE binding_id = $1";
const SQL_AUDIT_LOG: &str = concat!(
    "SELECT ",
    crate::row_columns!(audit),
    " FROM audit_log
    WHERE ($1::TEXT IS NULL OR subject = $1::TEXT) AND ($2::TEXT IS NULL OR actor = $2::TEXT)
      AND ($3::TEXT IS NULL OR action = $3::TEXT)
    ORDER BY audit_id DESC LIMIT $4 OFFSET $5"
);

impl PgStore {
    /// Runs a prepared read and returns its rows.
    fn read_rows(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let PgStore { client, stmts, .. } = self;
        let st = stmts.get(client, sql)?;
        client.query(&st, params).map_err(pg)
    }

    /// Runs a prepared statement that writes rows which are not engine state (sessions);
    /// returns how many rows it touched.
    fn write_row(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        let PgStore { client, stmts, .. } = self;
        let st = stmts.get(client, sql)?;
        client.execute(&st, params).map_err(pg)
    }

    /// Creates or replaces a staff account (`gongji staff add --database`). Staff rows are
    /// not engine state, so this works beside a running writer; it needs a writable session.
    pub fn add_staff(&mut self, row: &read::StaffRow) -> Result<(), StoreError> {
        let PgStore { client, stmts, .. } = self;
        let st = stmts.get(client, SQL_ADD_STAFF)?;
        client
            .execute(
                &st,
                &[
                    &row.username,
                    &row.password_hash,
                    &row.role,
                    &row.created_at,
                ],
            )
            .map(|_| ())
            .map_err(pg)
    }

    /// Creates a till operator or replaces its password (`gongji operator add --database`);
    /// like staff rows, not engine state.
    pub fn add_operator(&mut self, row: &read::OperatorRow) -> Result<(), StoreError> {
        let PgStore { client, stmts, .. } = self;
        let st = stmts.get(client, SQL_ADD_OPERATOR)?;
        client
            .execute(
                &st,
                &[
                    &row.fixmedins_code,
                    &row.username,
                    &row.password_hash,
                    &row.created_at,
                ],
            )
            .map(|_| ())
            .map_err(pg)
    }

    /// Registers an app partner or replaces it (`gongji partner add --database`); like
    /// staff rows, not engine state.
    pub fn add_app_partner(&mut self, row: &read::AppPartnerRow) -> Result<(), StoreError> {
        let PgStore { client, stmts, .. } = self;
        let st = stmts.get(client, SQL_ADD_APP_PARTNER)?;
        client
            .execute(
                &st,
                &[
                    &row.app_code,
                    &row.name,
                    &row.channel,
                    &row.app_secret,
                    &row.public_key,
                    &i32::from(row.active),
                    &row.created_at,
                ],
            )
            .map(|_| ())
            .map_err(pg)
    }
}

/// Opens [`PgStore::connect_reader`] sessions on the writer's database.
struct PgReaders {
    url: String,
    /// The writer's: readers match and show persons as it stores them.
    privacy: Mode,
}

impl read::ReaderSource for PgReaders {
    fn open_reader(&self) -> Result<Box<dyn read::ReadStore + Send>, StoreError> {
        let mut reader = PgStore::connect_reader(&self.url)?;
        reader.privacy = self.privacy.clone();
        Ok(Box::new(reader))
    }
}

impl read::ReadStore for PgStore {
    fn premium_payments(&mut self, psn_no: &str) -> Result<Vec<read::PremiumPayment>, StoreError> {
        Store::premium_payments(self, psn_no)
    }

    fn bubao_candidates(&mut self) -> Result<Vec<read::WithheldSettlement>, StoreError> {
        let rows = self
            .read_rows(read::SQL_BUBAO_CANDIDATES, &[])?
            .iter()
            .map(|r| Ok((withheld_of(r)?, flag(r, 11)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(read::WithheldSettlement::group(rows))
    }

    fn bubao_paid(&mut self, limit: u32) -> Result<Vec<BubaoRow>, StoreError> {
        let limit = i64::from(limit);
        self.read_rows(SQL_BUBAO_PAID, &[&limit])?
            .iter()
            .map(bubao_of)
            .collect()
    }

    fn bubao_of_person(&mut self, psn_no: &str) -> Result<Vec<read::PersonBubao>, StoreError> {
        let rows = self
            .read_rows(read::SQL_BUBAO_OF_PERSON, &[&psn_no])?
            .iter()
            .map(|r| {
                Ok((
                    get(r, 0)?,
                    get(r, 1)?,
                    get(r, 2)?,
                    get(r, 3)?,
                    fen(r, 4)?,
                    flag(r, 5)?,
                    get::<Option<i64>>(r, 6)?.map(Fen::from_fen),
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        read::PersonBubao::group(rows)
    }

    fn reader_source(&self) -> Option<std::sync::Arc<dyn read::ReaderSource>> {
        Some(std::sync::Arc::new(PgReaders {
            url: self.url.clone(),
            privacy: self.privacy.clone(),
        }))
    }

    fn records(&mut self, q: &read::RecordQuery) -> Result<Vec<read::RecordRow>, StoreError> {
        let account = format!("psn:{}", q.psn_no);
        let rows = self.read_rows(
            SQL_RECORDS,
            &[
                &account,
                &q.psn_no,
                &q.from,
                &q.to,
                &q.kind,
                &read::page_size(q.limit),
                &i64::from(q.offset),
            ],
        )?;
        rows.iter()
            .map(|r| {
                let key: String = get(r, 2)?;
                Ok(read::RecordRow {
                    entry_id: get(r, 0)?,
                    seq: i64::from(get::<i32>(r, 1)?),
                    account_psn_no: key.strip_prefix("psn:").unwrap_or(&key).to_string(),
                    amount: fen(r, 3)?,
                    rule: get(r, 4)?,
                    balance_after: fen(r, 5)?,
                    explanation: get(r, 6)?,
                    kind: get(r, 7)?,
                    occurred_at: get(r, 8)?,
                    entry_psn_no: get(r, 9)?,
                    fixmedins_code: get(r, 10)?,
                    channel: get(r, 11)?,
                    summary: get(r, 12)?,
                    reverses_entry: get(r, 13)?,
                    reversed_by: get(r, 14)?,
                    fixmedins_name: get(r, 15)?,
                    premium_for: get(r, 16)?,
                })
            })
            .collect()
    }

    fn year_totals(&mut self, psn_no: &str, year: i32) -> Result<read::YearTotals, StoreError> {
        let year_prefix = format!("{year:04}-%");
        let account = format!("psn:{psn_no}");
        // One snapshot for both sums.
        let PgStore { client, stmts, .. } = self;
        let mut tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(pg)?;
        let st = stmts.get(&mut tx, SQL_YEAR_SETTLEMENTS)?;
        let r = tx.query_one(&st, &[&psn_no, &year_prefix]).map_err(pg)?;
        let mut t = read::YearTotals {
            settlements: get(&r, 0)?,
            medfee_sumamt: fen(&r, 1)?,
            fund_pay_sumamt: fen(&r, 2)?,
            acct_pay: fen(&r, 3)?,
            acct_mulaid_pay: fen(&r, 4)?,
            psn_cash_pay: fen(&r, 5)?,
            ..read::YearTotals::default()
        };
        let st = stmts.get(&mut tx, SQL_YEAR_POSTINGS)?;
        let r = tx
            .query_one(&st, &[&account, &psn_no, &year_prefix])
            .map_err(pg)?;
        t.own_account_spent = fen(&r, 0)?;
        t.mutual_aid_given = fen(&r, 1)?;
        t.premiums_paid = fen(&r, 2)?;
        tx.commit().map_err(pg)?;
        Ok(t)
    }

    fn persons_by_phone(&mut self, phone: &str) -> Result<Vec<String>, StoreError> {
        // Encrypted at rest, a phone number is found by its keyed hash.
        let (sql, phone) = match self.privacy_mode()?.key() {
            Some(k) => (
                SQL_PERSONS_BY_PHONE_LOOKUP,
                k.lookup(PiiField::Phone, phone),
            ),
            None => (SQL_PERSONS_BY_PHONE, phone.to_string()),
        };
        let rows = self.read_rows(sql, &[&phone, &i64::from(read::PAGE_SIZE_MAX)])?;
        rows.iter().map(|r| get(r, 0)).collect()
    }

    fn search_persons(&mut self, text: &str, limit: u32) -> Result<Vec<String>, StoreError> {
        let text = text.trim();
        // Encrypted at rest, ID and phone numbers are found by their keyed hashes.
        let (sql, certno, phone) = match self.privacy_mode()?.key() {
            Some(k) => (
                SQL_SEARCH_PERSONS_LOOKUP,
                k.lookup(PiiField::CertNo, text),
                k.lookup(PiiField::Phone, text),
            ),
            None => (
                SQL_SEARCH_PERSONS,
                text.to_ascii_uppercase(),
                text.to_string(),
            ),
        };
        let rows = self.read_rows(sql, &[&text, &certno, &phone, &read::page_size(limit)])?;
        rows.iter().map(|r| get(r, 0)).collect()
    }

    fn mutual_aid_report(
        &mut self,
        q: &read::ReportQuery,
    ) -> Result<Vec<read::ReportRow>, StoreError> {
        let prefix = format!("{}%", q.admdvs_prefix);
        let rows = self.read_rows(
            SQL_MUTUAL_AID_REPORT,
            &[&q.from, &q.to, &prefix, &i64::from(read::REPORT_ROWS_MAX)],
        )?;
        rows.iter()
            .map(|r| {
                Ok(read::ReportRow {
                    admdvs: get(r, 0)?,
                    day: get(r, 1)?,
                    kind: get(r, 2)?,
                    uses: get(r, 3)?,
                    persons: get(r, 4)?,
                    amount: fen(r, 5)?,
                })
            })
            .collect()
    }

    fn staff(&mut self, username: &str) -> Result<Option<read::StaffRow>, StoreError> {
        let rows = self.read_rows(SQL_STAFF, &[&username])?;
        rows.first()
            .map(|r| {
                Ok(read::StaffRow {
                    username: get(r, 0)?,
                    password_hash: get(r, 1)?,
                    role: get(r, 2)?,
                    created_at: get(r, 3)?,
                })
            })
            .transpose()
    }

    fn operator(
        &mut self,
        fixmedins_code: &str,
        username: &str,
    ) -> Result<Option<read::OperatorRow>, StoreError> {
        let rows = self.read_rows(SQL_OPERATOR, &[&fixmedins_code, &username])?;
        rows.first()
            .map(|r| {
                Ok(read::OperatorRow {
                    fixmedins_code: get(r, 0)?,
                    username: get(r, 1)?,
                    password_hash: get(r, 2)?,
                    created_at: get(r, 3)?,
                })
            })
            .transpose()
    }

    fn app_partner(&mut self, app_code: &str) -> Result<Option<read::AppPartnerRow>, StoreError> {
        let rows = self.read_rows(SQL_APP_PARTNER, &[&app_code])?;
        rows.first()
            .map(|r| {
                Ok(read::AppPartnerRow {
                    app_code: get(r, 0)?,
                    name: get(r, 1)?,
                    channel: get(r, 2)?,
                    app_secret: get(r, 3)?,
                    public_key: get(r, 4)?,
                    active: flag(r, 5)?,
                    created_at: get(r, 6)?,
                })
            })
            .transpose()
    }

    fn recovery_cases(
        &mut self,
        q: &read::RecoveryQuery,
    ) -> Result<Vec<RecoveryCaseRow>, StoreError> {
        let rows = self.read_rows(
            SQL_RECOVERY_CASES,
            &[
                &q.status,
                &q.psn_no,
                &read::page_size(q.limit),
                &i64::from(q.offset),
            ],
        )?;
        rows.iter().map(recovery_case_of).collect()
    }

    fn commitment(&mut self, binding_id: i64) -> Result<Option<CommitmentRow>, StoreError> {
        let rows = self.read_rows(SQL_COMMITMENT_OF, &[&binding_id])?;
        rows.first()
            .map(|r| {
                Ok(CommitmentRow {
                    binding_id: get(r, 0)?,
                    holder_psn_no: get(r, 1)?,
                    admdvs: get(r, 2)?,
                    notice_version: get(r, 3)?,
                    letter: get(r, 4)?,
                    sha256: get(r, 5)?,
                    signature: get(r, 6)?,
                    signed_at: get(r, 7)?,
                    channel: get(r, 8)?,
                })
            })
            .transpose()
    }

    fn audit_log(&mut self, q: &read::AuditQuery) -> Result<Vec<read::AuditEntry>, StoreError> {
        let rows = self.read_rows(
            SQL_AUDIT_LOG,
            &[
                &q.subject,
                &q.actor,
                &q.action,
                &read::page_size(q.limit),
                &i64::from(q.offset),
            ],
        )?;
        rows.iter()
            .map(|r| {
                Ok(read::AuditEntry {
                    audit_id: get(r, 0)?,
                    row: audit_row_of(r)?,
                })
            })
            .collect()
    }

    fn mutual_aid_payments(
        &mut self,
        holder_psn_no: &str,
        relative_psn_no: &str,
    ) -> Result<Vec<read::MutualAidPaymentRow>, StoreError> {
        let account = gongji_core::ledger::LedgerAccount::Personal(holder_psn_no.to_string()).key();
        let limit = read::page_size(read::PAGE_SIZE_MAX);
        let rows = self.read_rows(
            SQL_MUTUAL_AID_PAYMENTS,
            &[&account, &relative_psn_no, &limit],
        )?;
        rows.iter()
            .map(|r| {
                Ok(read::MutualAidPaymentRow {
                    setl_id: get(r, 0)?,
                    occurred_at: get(r, 1)?,
                    fixmedins_code: get(r, 2)?,
                    amount: Fen::from_fen(get(r, 3)?),
                })
            })
            .collect()
    }

    fn put_payment_order(&mut self, row: &PaymentOrderRow) -> Result<(), StoreError> {
        self.write_row(
            payments::PG_PUT_ORDER,
            &[
                &row.order_id,
                &row.provider,
                &row.channel,
                &row.psn_no,
                &row.payer_psn_no,
                &row.agent_id,
                &row.year,
                &row.kind,
                &row.category,
                &row.amount.fen(),
                &row.created_at,
            ],
        )
        .map(|_| ())
    }

    fn payment_order(&mut self, order_id: &str) -> Result<Option<PaymentOrderRow>, StoreError> {
        let rows = self.read_rows(payments::PG_ORDER, &[&order_id])?;
        rows.first()
            .map(|r| {
                Ok(PaymentOrderRow {
                    order_id: get(r, 0)?,
                    provider: get(r, 1)?,
                    channel: get(r, 2)?,
                    psn_no: get(r, 3)?,
                    payer_psn_no: get(r, 4)?,
                    agent_id: get(r, 5)?,
                    year: get(r, 6)?,
                    kind: get(r, 7)?,
                    category: get(r, 8)?,
                    amount: fen(r, 9)?,
                    created_at: get(r, 10)?,
                })
            })
            .transpose()
    }

    fn put_agent(&mut self, row: &AgentRow) -> Result<(), StoreError> {
        self.write_row(
            payments::PG_PUT_AGENT,
            &[
                &row.agent_id,
                &row.name,
                &row.admdvs,
                &row.kind,
                &row.token_sha256,
                &row.added_by,
                &row.added_at,
            ],
        )
        .map(|_| ())
    }

    fn agents(&mut self) -> Result<Vec<AgentRow>, StoreError> {
        let rows = self.read_rows(payments::PG_AGENTS, &[])?;
        rows.iter().map(agent_of).collect()
    }

    fn collection_report(
        &mut self,
        year: i32,
        by: read::CollectionGroup,
    ) -> Result<Vec<read::CollectionRow>, StoreError> {
        let rows = self.read_rows(read::PG_COLLECTION_REPORT, &[&year, &by.code()])?;
        rows.iter()
            .map(|r| {
                Ok(read::CollectionRow {
                    year: i32::try_from(get::<i64>(r, 0)?).unwrap_or(year),
                    group: get(r, 1)?,
                    persons: get(r, 2)?,
                    amount: fen(r, 3)?,
                })
            })
            .collect()
    }

    fn agent_by_token(&mut self, token_sha256: &str) -> Result<Option<AgentRow>, StoreError> {
        let rows = self.read_rows(payments::PG_AGENT_BY_TOKEN, &[&token_sha256])?;
        rows.first().map(agent_of).transpose()
    }

    fn agent_postings(
        &mut self,
        account_key: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<AgentPostingRow>, StoreError> {
        let rows = self.read_rows(payments::PG_AGENT_POSTINGS, &[&account_key, &from, &to])?;
        rows.iter()
            .map(|r| {
                Ok(AgentPostingRow {
                    entry_id: get(r, 0)?,
                    entry_kind: get(r, 1)?,
                    occurred_at: get(r, 2)?,
                    posting: fen(r, 3)?,
                    psn_no: get(r, 4)?,
                    category: get(r, 5)?,
                    premium_amount: get::<Option<i64>>(r, 6)?.map(Fen::from_fen),
                    paid_at: get(r, 7)?,
                })
            })
            .collect()
    }

    fn proxy_consents(&mut self, psn_no: &str) -> Result<Vec<read::ProxyConsentRow>, StoreError> {
        let limit = read::page_size(read::PAGE_SIZE_MAX);
        let rows = self.read_rows(SQL_PROXY_CONSENTS, &[&psn_no, &limit])?;
        rows.iter().map(proxy_consent_of).collect()
    }

    fn proxy_consent(&mut self, token: &str) -> Result<Option<read::ProxyConsentRow>, StoreError> {
        let rows = self.read_rows(SQL_PROXY_CONSENT, &[&token])?;
        rows.first().map(proxy_consent_of).transpose()
    }

    fn reviews_of(&mut self, psn_no: &str) -> Result<Vec<ReviewRow>, StoreError> {
        let limit = crate::reviews::LIST_MAX;
        let rows = self.read_rows(crate::reviews::SQL_OF_PERSON, &[&psn_no, &limit])?;
        let mode = self.privacy_mode()?;
        rows.iter()
            .map(|r| crate::reviews::opened(&mode, review_of(r)?))
            .collect()
    }

    fn review(&mut self, review_id: &str) -> Result<Option<ReviewRow>, StoreError> {
        let rows = self.read_rows(crate::reviews::SQL_ONE, &[&review_id])?;
        let mode = self.privacy_mode()?;
        rows.first()
            .map(|r| crate::reviews::opened(&mode, review_of(r)?))
            .transpose()
    }

    fn pending_reviews(&mut self) -> Result<Vec<ReviewRow>, StoreError> {
        let limit = crate::reviews::LIST_MAX;
        let rows = self.read_rows(crate::reviews::SQL_PENDING, &[&limit])?;
        let mode = self.privacy_mode()?;
        rows.iter()
            .map(|r| crate::reviews::opened(&mode, review_of(r)?))
            .collect()
    }

    fn insert_session(&mut self, row: &read::SessionRow) -> Result<(), StoreError> {
        self.write_row(
            SQL_INSERT_SESSION,
            &[
                &row.token_sha256,
                &row.kind,
                &row.psn_no,
                &row.username,
                &row.role,
                &row.fixmedins_code,
                &row.created_at,
                &row.last_seen_at,
                &row.expires_at,
            ],
        )
        .map(|_| ())
    }

    fn session(&mut self, token_sha256: &str) -> Result<Option<read::SessionRow>, StoreError> {
        let rows = self.read_rows(SQL_SESSION, &[&token_sha256])?;
        rows.first()
            .map(|r| {
                Ok(read::SessionRow {
                    token_sha256: get(r, 0)?,
                    kind: get(r, 1)?,
                    psn_no: get(r, 2)?,
                    username: get(r, 3)?,
                    role: get(r, 4)?,
                    fixmedins_code: get(r, 5)?,
                    created_at: get(r, 6)?,
                    last_seen_at: get(r, 7)?,
                    expires_at: get(r, 8)?,
                })
            })
            .transpose()
    }

    fn touch_session(
        &mut self,
        token_sha256: &str,
        last_seen_at: &str,
        expires_at: &str,
    ) -> Result<(), StoreError> {
        self.write_row(
            SQL_TOUCH_SESSION,
            &[&token_sha256, &last_seen_at, &expires_at],
        )
        .map(|_| ())
    }

    fn delete_session(&mut self, token_sha256: &str) -> Result<(), StoreError> {
        self.write_row(SQL_DELETE_SESSION, &[&token_sha256])
            .map(|_| ())
    }

    fn delete_expired_sessions(&mut self, now: &str) -> Result<u64, StoreError> {
        self.write_row(SQL_DELETE_EXPIRED_SESSIONS, &[&now])
    }
}

impl crate::ConventionalTx for PgStore {
    fn begin(&mut self) -> Result<(), StoreError> {
        if !self.unleased_writer {
            return Err(StoreError::Conflict(format!(
                "database {}: conventional transactions need a session from connect_unleased",
                self.database
            )));
        }
        self.client.batch_execute("BEGIN").map_err(pg)?;
        self.in_conventional_tx = true;
        Ok(())
    }

    fn lock_accounts(
        &mut self,
        account_keys: &[String],
    ) -> Result<HashMap<String, Fen>, StoreError> {
        let PgStore { client, stmts, .. } = self;
        let st = stmts.get(client, SQL_LOCK_ACCOUNTS)?;
        let rows = client.query(&st, &[&account_keys]).map_err(pg)?;
        rows.iter().map(|r| Ok((get(r, 0)?, fen(r, 1)?))).collect()
    }

    fn write_and_commit(&mut self, batch: &WriteBatch) -> Result<(), StoreError> {
        if !self.in_conventional_tx {
            return Err(StoreError::Conflict(
                "no conventional transaction is open".into(),
            ));
        }
        let written = self.privacy_mode().and_then(|privacy| {
            let PgStore { client, stmts, .. } = self;
            Bulk::chained(client, stmts, &batch.writes)
                .and_then(|mut bulk| {
                    batch
                        .writes
                        .iter()
                        .try_for_each(|w| write_one(client, stmts, &mut bulk, w, &privacy))
                        .map(|()| bulk)
                })
                .and_then(|bulk| bulk.flush(client, stmts))
                .and_then(|()| client.batch_execute("COMMIT").map_err(pg))
        });
        if written.is_err() {
            crate::ConventionalTx::rollback(self);
        }
        self.in_conventional_tx = false;
        written
    }

    fn rollback(&mut self) {
        if self.in_conventional_tx {
            let _ = self.client.batch_execute("ROLLBACK");
            self.in_conventional_tx = false;
        }
    }
}

// ---------------------------------------------------------------------------------------
// The hash chains (`chain.rs`) on PostgreSQL: the same rows and encoding as on SQLite.

fn heads_of(rows: Vec<Row>) -> Result<Option<Heads>, StoreError> {
    let rows = rows
        .iter()
        .map(|r| Ok((get(r, 0)?, get(r, 1)?, get(r, 2)?, get(r, 3)?, get(r, 4)?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    heads_from_rows(rows)
}

fn write_heads<C: GenericClient>(
    c: &mut C,
    stmts: &mut Stmts,
    heads: &Heads,
) -> Result<(), StoreError> {
    let st = stmts.get(c, SQL_HEADS_WRITE)?;
    for (name, h) in [
        (chain::JOURNAL, &heads.journal),
        (chain::AUDIT, &heads.audit),
    ] {
        let rows = i64::try_from(h.rows).map_err(|_| StoreError::Io("chain too long".into()))?;
        c.execute(
            &st,
            &[
                &name,
                &heads.alg.code(),
                &chain::to_hex(&h.hash),
                &rows,
                &h.last_id,
            ],
        )
        .map_err(pg)?;
    }
    Ok(())
}

/// Migration 0016's second half: chains the rows already there, in its transaction.
fn chain_existing_rows(tx: &mut postgres::Transaction<'_>) -> Result<(), StoreError> {
    let alg = ChainAlg::default();
    let mut links: Vec<(&'static str, i64, i64, String)> = Vec::new();
    let heads = chain::chain_existing(&mut PgChain(tx), alg, &mut |table, id, seq, hash| {
        let table = if table == chain::JOURNAL {
            chain::JOURNAL
        } else {
            chain::AUDIT
        };
        links.push((table, id, seq, chain::to_hex(hash)));
        Ok(())
    })?;
    // Written after the walk: the walk reads with the same session.
    for table in [chain::JOURNAL, chain::AUDIT] {
        let rows: Vec<_> = links.iter().filter(|l| l.0 == table).collect();
        for rows in rows.chunks(50_000) {
            let ids: Vec<i64> = rows.iter().map(|l| l.1).collect();
            let seqs: Vec<i64> = rows.iter().map(|l| l.2).collect();
            let hashes: Vec<&str> = rows.iter().map(|l| l.3.as_str()).collect();
            if table == chain::JOURNAL {
                tx.execute(
                    "UPDATE journal AS j SET chain_alg = $1, chain_hash = v.h, chain_seq = v.s
                     FROM UNNEST($2::BIGINT[], $3::TEXT[], $4::BIGINT[]) AS v(i, h, s)
                     WHERE j.entry_id = v.i",
                    &[&alg.code(), &ids, &hashes, &seqs],
                )
            } else {
                tx.execute(
                    "UPDATE audit_log AS a SET chain_alg = $1, chain_hash = v.h
                     FROM UNNEST($2::BIGINT[], $3::TEXT[]) AS v(i, h) WHERE a.audit_id = v.i",
                    &[&alg.code(), &ids, &hashes],
                )
            }
            .map_err(pg)?;
        }
    }
    write_heads(tx, &mut Stmts::default(), &heads)
}

const SQL_CHAIN_JOURNAL: &str = concat!(
    "SELECT ",
    crate::row_columns!(journal_entry),
    ", reversed_by, chain_alg, chain_hash, chain_seq \
    FROM journal WHERE chain_seq > $1 ORDER BY chain_seq LIMIT $2"
);
const SQL_UNCHAINED_JOURNAL: &str = concat!(
    "SELECT ",
    crate::row_columns!(journal_entry),
    ", reversed_by, chain_alg, chain_hash, chain_seq \
    FROM journal WHERE entry_id > $1 ORDER BY entry_id LIMIT $2"
);
const SQL_CHAIN_POSTINGS: &str = concat!(
    "SELECT entry_id, seq, ",
    crate::row_columns!(posting),
    " FROM postings WHERE entry_id >= $1 AND entry_id <= $2 ORDER BY entry_id, seq"
);
const SQL_CHAIN_SETTLEMENTS: &str = concat!(
    "SELECT ",
    crate::row_columns!(settlement),
    " FROM settlements WHERE entry_id >= $1 AND entry_id <= $2"
);
const SQL_CHAIN_PREMIUMS: &str = concat!(
    "SELECT ",
    crate::row_columns!(premium),
    " FROM premiums WHERE entry_id >= $1 AND entry_id <= $2"
);
const SQL_CHAIN_RECOVERIES: &str = concat!(
    "SELECT ",
    crate::row_columns!(recovery_case),
    " FROM recovery_cases WHERE repaid_entry_id >= $1 AND repaid_entry_id <= $2"
);
const SQL_CHAIN_AUDIT: &str = concat!(
    "SELECT ",
    crate::row_columns!(audit),
    ", chain_alg, chain_hash FROM audit_log WHERE audit_id > $1 ORDER BY audit_id LIMIT $2"
);

const SQL_CHAIN_FEES: &str = concat!(
    "SELECT ",
    crate::row_columns!(fee),
    " FROM settled_fees f JOIN settlements s ON s.setl_id = f.setl_id
    WHERE s.entry_id >= $1 AND s.entry_id <= $2"
);
const SQL_CHAIN_USAGE: &str = concat!(
    "SELECT entry_id, ",
    crate::row_columns!(usage),
    " FROM usage_log WHERE entry_id >= $1 AND entry_id <= $2"
);

/// The rows of the chains on a PostgreSQL session (inside the caller's transaction).
struct PgChain<'c, C: GenericClient>(&'c mut C);

impl<C: GenericClient> ChainSource for PgChain<'_, C> {
    fn journal_after(
        &mut self,
        after: i64,
        limit: i64,
        by_id: bool,
    ) -> Result<Vec<ChainedEntry>, StoreError> {
        let c = &mut *self.0;
        let sql = if by_id {
            SQL_UNCHAINED_JOURNAL
        } else {
            SQL_CHAIN_JOURNAL
        };
        let entries = c
            .query(sql, &[&after, &limit])
            .map_err(pg)?
            .iter()
            .map(|r| {
                Ok(ChainedEntry {
                    entry: journal_entry_of(r)?,
                    reversed_by: get(r, 12)?,
                    settlement: None,
                    premium: None,
                    recovery: None,
                    quota: Default::default(),
                    withheld: Vec::new(),
                    bubao: None,
                    usage: Vec::new(),
                    fees: Vec::new(),
                    alg: get(r, 13)?,
                    hash: get(r, 14)?,
                    chain_seq: get(r, 15)?,
                    posting_seqs: Vec::new(),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let (Some(lo), Some(hi)) = (
            entries.iter().map(|e| e.entry.entry_id).min(),
            entries.iter().map(|e| e.entry.entry_id).max(),
        ) else {
            return Ok(entries);
        };
        let postings = c
            .query(SQL_CHAIN_POSTINGS, &[&lo, &hi])
            .map_err(pg)?
            .iter()
            .map(|r| {
                Ok((
                    get::<i64>(r, 0)?,
                    i64::from(get::<i32>(r, 1)?),
                    posting_at(r, 2)?,
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let settlements = c
            .query(SQL_CHAIN_SETTLEMENTS, &[&lo, &hi])
            .map_err(pg)?
            .iter()
            .map(settlement_of)
            .collect::<Result<Vec<_>, _>>()?;
        let premiums = c
            .query(SQL_CHAIN_PREMIUMS, &[&lo, &hi])
            .map_err(pg)?
            .iter()
            .map(|r| {
                Ok(PremiumRow {
                    relative_psn_no: get(r, 0)?,
                    year: get(r, 1)?,
                    entry_id: get(r, 2)?,
                    holder_psn_no: get(r, 3)?,
                    category: get(r, 4)?,
                    amount: fen(r, 5)?,
                    kind: get(r, 6)?,
                    channel: get(r, 7)?,
                    agent_id: get(r, 8)?,
                    paid_at: get(r, 9)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let recoveries = c
            .query(SQL_CHAIN_RECOVERIES, &[&lo, &hi])
            .map_err(pg)?
            .iter()
            .map(recovery_case_of)
            .collect::<Result<Vec<_>, _>>()?;
        // Chaining at migration 0016 (`by_id`) runs before these tables exist, and no row
        // that old records one.
        let (withheld, bubao) = if by_id {
            (Vec::new(), Vec::new())
        } else {
            let withheld = c
                .query(SQL_CHAIN_WITHHELD, &[&lo, &hi])
                .map_err(pg)?
                .iter()
                .map(withheld_of)
                .collect::<Result<Vec<_>, StoreError>>()?;
            let bubao = c
                .query(SQL_CHAIN_BUBAO, &[&lo, &hi])
                .map_err(pg)?
                .iter()
                .map(bubao_of)
                .collect::<Result<Vec<_>, StoreError>>()?;
            (withheld, bubao)
        };
        let fees = c
            .query(SQL_CHAIN_FEES, &[&lo, &hi])
            .map_err(pg)?
            .iter()
            .map(fee_of)
            .collect::<Result<Vec<_>, StoreError>>()?;
        let usage = c
            .query(SQL_CHAIN_USAGE, &[&lo, &hi])
            .map_err(pg)?
            .iter()
            .map(|r| {
                Ok((
                    get::<i64>(r, 0)?,
                    UsageRow {
                        kind: get(r, 1)?,
                        psn_no: get(r, 2)?,
                        period: get(r, 3)?,
                        cap_group: get(r, 4)?,
                        binding_id: get(r, 5)?,
                        deductible: fen(r, 6)?,
                        fund: fen(r, 7)?,
                        burden: fen(r, 8)?,
                        amount: fen(r, 9)?,
                    },
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
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
            let rows = |c: &mut C, sql: &str| c.query(sql, &[&lo, &hi]).map_err(pg);
            let sent = rows(c, quota::SENT_OF_ENTRIES_PG)?
                .iter()
                .map(quota_sent_of)
                .collect::<Result<Vec<_>, _>>()?;
            let applied = rows(c, quota::APPLIED_OF_ENTRIES_PG)?
                .iter()
                .map(quota_applied_of)
                .collect::<Result<Vec<_>, _>>()?;
            let spends = rows(c, quota::SPENDS_OF_ENTRIES_PG)?
                .iter()
                .map(quota_spend_of)
                .collect::<Result<Vec<_>, _>>()?;
            chain::attach_quota(&mut entries, sent, applied, spends);
        }
        Ok(entries)
    }

    fn audit_after(&mut self, after: i64, limit: i64) -> Result<Vec<ChainedAudit>, StoreError> {
        self.0
            .query(SQL_CHAIN_AUDIT, &[&after, &limit])
            .map_err(pg)?
            .iter()
            .map(|r| {
                Ok(ChainedAudit {
                    audit_id: get(r, 0)?,
                    row: audit_row_of(r)?,
                    alg: get(r, 8)?,
                    hash: get(r, 9)?,
                })
            })
            .collect()
    }

    fn unchained_entry(&mut self) -> Result<Option<i64>, StoreError> {
        let row = self
            .0
            .query_one(
                "SELECT MIN(entry_id) FROM journal WHERE chain_seq IS NULL",
                &[],
            )
            .map_err(pg)?;
        get(&row, 0)
    }

    fn heads(&mut self) -> Result<Option<Heads>, StoreError> {
        heads_of(
            self.0
                .query(
                    "SELECT chain, alg, head, row_count, last_id FROM chain_heads",
                    &[],
                )
                .map_err(pg)?,
        )
    }
}

impl PgStore {
    /// The hash function new journal and audit rows are chained with (SM3 unless changed);
    /// rows already chained keep theirs. The writer only.
    pub fn use_chain_alg(&mut self, alg: ChainAlg) -> Result<(), StoreError> {
        if self.lease.is_none() {
            return Err(StoreError::Conflict(format!(
                "database {} was opened as a reader: only the lease holder writes",
                self.database
            )));
        }
        let PgStore { client, stmts, .. } = self;
        let mut tx = client.transaction().map_err(pg)?;
        let st = stmts.get(&mut tx, SQL_HEADS_FOR_UPDATE)?;
        let mut heads = heads_of(tx.query(&st, &[]).map_err(pg)?)?.unwrap_or_default();
        heads.alg = alg;
        write_heads(&mut tx, stmts, &heads)?;
        tx.commit().map_err(pg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_keys_are_stable_and_differ_by_database() {
        assert_eq!(lease_key("gongji_37"), lease_key("gongji_37"));
        assert_ne!(lease_key("gongji_37"), lease_key("gongji_14"));
    }
}
