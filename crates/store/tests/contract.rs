//! The store contract: one behavioural suite, written once against the `Store` trait and run
//! on every backend — SQLite (a temporary file) and PostgreSQL (one throwaway cluster shared
//! by the tests of this file, a fresh database per test).
//!
//! PostgreSQL tests fail when the cluster cannot start under `CI=true`; elsewhere they are
//! skipped with a line on stderr (`scripts/ensure-postgres.sh` installs PostgreSQL).

use std::path::PathBuf;

use chrono::NaiveDate;
use gongji_core::codes::{
    Admdvs, Channel, ChargeLevel, Gender, HospitalLevel, InstitutionKind, InsuStatus, Insutype,
    Relationship,
};
use gongji_core::domain::{Binding, BindingStatus, CatalogItem, Institution, Person};
use gongji_core::pii::{CertNo, PersonName, Phone};
use gongji_core::quota::{Direction, QuotaBindingStatus, QuotaParties, QuotaSide, SentState};
use gongji_core::{BasisPoints, Fen};
use gongji_store::read::{
    AuditQuery, OperatorRow, ProxyConsentRow, ReadStore, RecordQuery, RecordRow, RecoveryQuery,
    ReportQuery, ReportRow, SessionRow, StaffRow, YearTotals,
};
use gongji_store::testing;
use gongji_store::{
    AuditRow, BindingUsageDelta, CommitmentRow, ConventionalTx, FeeRow, JournalEntry, PgStore,
    PoolUsageDelta, PostingRow, PremiumRow, QuotaAppliedRow, QuotaBindingRow, QuotaSentRow,
    QuotaSpendRow, ReconcileQuery, RecoveryCaseRow, SettlementRow, SqliteStore, Store, StoreError,
    Violation, VisitRow, Write, WriteBatch,
};
use gongji_store::{BubaoRow, WithheldRow};

// ---------------------------------------------------------------------------------------
// Backends

/// A database for one test and the ways to reach it.
trait Backend {
    type S: Store + ReadStore + ConventionalTx;
    /// Opens (and migrates) this test's database. May be called again once the previous
    /// store is dropped: it is the same database.
    fn open(&self) -> Self::S;
    /// Raw SQL behind the ledger's back.
    fn exec(store: &mut Self::S, sql: &str);
    /// Raw SQL that the database may refuse: its error, as text.
    fn try_exec(store: &mut Self::S, sql: &str) -> Result<(), String>;
    /// A single integer from raw SQL.
    fn scalar(store: &mut Self::S, sql: &str) -> i64;
    /// `gongji staff add`: staff rows are written beside the ledger, not through a batch.
    fn add_staff(store: &mut Self::S, row: &StaffRow);
    /// `gongji operator add`: like staff rows, beside the ledger.
    fn add_operator(store: &mut Self::S, row: &OperatorRow);
    /// A session for the conventional baseline (one transaction per request).
    fn open_conventional(&self) -> Self::S;
}

struct SqliteBackend {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl SqliteBackend {
    fn new() -> SqliteBackend {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("gongji.db");
        SqliteBackend { _dir: dir, path }
    }
}

impl Backend for SqliteBackend {
    type S = SqliteStore;
    fn open(&self) -> SqliteStore {
        SqliteStore::open(&self.path).expect("open sqlite")
    }
    fn exec(store: &mut SqliteStore, sql: &str) {
        store.connection().execute_batch(sql).expect("raw sql");
    }
    fn try_exec(store: &mut SqliteStore, sql: &str) -> Result<(), String> {
        store
            .connection()
            .execute_batch(sql)
            .map_err(|e| e.to_string())
    }
    fn scalar(store: &mut SqliteStore, sql: &str) -> i64 {
        store
            .connection()
            .query_row(sql, [], |r| r.get(0))
            .expect("raw scalar")
    }
    fn add_staff(store: &mut SqliteStore, row: &StaffRow) {
        store.add_staff(row).expect("add staff");
    }
    fn add_operator(store: &mut SqliteStore, row: &OperatorRow) {
        store.add_operator(row).expect("add operator");
    }
    fn open_conventional(&self) -> SqliteStore {
        self.open()
    }
}

struct PgBackend {
    url: String,
}

impl PgBackend {
    /// A fresh database named after the test, or `None` when PostgreSQL is unavailable
    /// outside CI (see `testing::shared_or_skip`).
    fn new(test: &str) -> Option<PgBackend> {
        let cluster = testing::shared_or_skip(test)?;
        Some(PgBackend {
            url: cluster.create_db(test),
        })
    }
}

impl Backend for PgBackend {
    type S = PgStore;
    fn open(&self) -> PgStore {
        PgStore::connect(&self.url).expect("connect to postgres")
    }
    fn exec(store: &mut PgStore, sql: &str) {
        store.client().batch_execute(sql).expect("raw sql");
    }
    fn try_exec(store: &mut PgStore, sql: &str) -> Result<(), String> {
        store
            .client()
            .batch_execute(sql)
            .map_err(|e| format!("{e:?}"))
    }
    fn scalar(store: &mut PgStore, sql: &str) -> i64 {
        store
            .client()
            .query_one(sql, &[])
            .and_then(|r| r.try_get(0))
            .expect("raw scalar")
    }
    fn add_staff(store: &mut PgStore, row: &StaffRow) {
        store.add_staff(row).expect("add staff");
    }
    fn add_operator(store: &mut PgStore, row: &OperatorRow) {
        store.add_operator(row).expect("add operator");
    }
    fn open_conventional(&self) -> PgStore {
        PgStore::connect_unleased(&self.url).expect("unleased session")
    }
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[test]
            fn $name() {
                super::$name(&super::SqliteBackend::new());
            })*
        }
        mod on_postgres {
            $(#[test]
            fn $name() {
                if let Some(b) = super::PgBackend::new(stringify!($name)) {
                    super::$name(&b);
                }
            })*
        }
    };
}

contract!(
    migrations_are_idempotent,
    registry_round_trips_through_the_snapshot,
    postings_move_balances_and_verify_is_clean,
    unbalanced_entry_is_refused_and_its_batch_leaves_no_trace,
    conflict_in_the_third_write_leaves_no_trace_of_the_first_two,
    duplicate_msgid_conflicts,
    mark_reversed_twice_conflicts,
    answer_for_msgid_finds_journal_and_message_answers,
    settlement_returns_row_entry_and_usage,
    reconcile_sums_with_and_without_cancelled,
    verify_names_a_balance_changed_behind_its_back,
    verify_names_an_entry_made_unbalanced,
    a_large_batch_sums_repeated_keys,
    writes_of_one_batch_see_the_writes_before_them,
    recovery_cases_and_commitments_are_kept,
    records_show_own_postings_and_what_others_paid,
    records_filter_by_date_kind_and_page,
    year_totals_split_own_spending_mutual_aid_and_premiums,
    persons_are_found_by_phone_number_name_and_id,
    mutual_aid_report_counts_uses_by_day_and_kind,
    collection_report_groups_two_benefit_years,
    staff_recovery_cases_commitments_and_audit_are_read_back,
    operators_belong_to_one_institution,
    sessions_are_shared_by_every_connection_until_they_end,
    proxy_consents_are_kept_and_revoked,
    review_requests_are_listed_and_decided_once_stored,
    conventional_transactions_lock_write_and_roll_back,
    a_reader_beside_the_writer_reads_what_was_committed,
    a_negative_limit_is_refused_by_the_schema,
    the_schema_refuses_rows_the_ledger_never_writes,
    chains_cover_every_row_and_hash_alike_on_both_backends,
    verify_names_a_settlement_amount_zeroed,
    verify_names_a_posting_amount_changed,
    verify_names_a_journal_row_deleted,
    verify_names_the_last_journal_row_deleted,
    verify_names_a_posting_deleted,
    verify_names_postings_reordered,
    verify_names_journal_rows_reordered,
    verify_names_the_chain_order_changed,
    verify_names_a_journal_row_slipped_in_outside_the_chain,
    verify_names_a_posting_text_changed,
    verify_names_a_premium_changed,
    verify_names_a_usage_row_changed,
    verify_names_a_settled_fee_line_changed_or_removed,
    verify_names_a_usage_row_deleted,
    verify_names_a_usage_counter_changed,
    verify_names_a_usage_row_slipped_in,
    verify_names_a_premium_channel_changed,
    payment_orders_and_agents_are_kept,
    verify_names_an_audit_row_deleted,
    verify_names_the_last_audit_row_deleted,
    verify_names_an_audit_row_changed,
    verify_names_a_reversal_mark_without_its_cancel,
    sha256_is_recorded_per_row_when_chosen,
    rows_written_before_the_chains_are_chained_at_open,
    anchors_catch_a_rewritten_chain_and_allow_appends,
    quota_rows_round_trip_and_a_transfer_is_applied_once,
    verify_names_a_quota_dedup_row_deleted_or_a_spend_changed,
    bubao_is_kept_once_per_settlement_and_chained,
    a_channel_premium_is_dated_by_the_time_its_notification_carried,
);

// ---------------------------------------------------------------------------------------
// Fixtures

const ADMDVS: &str = "370602";
const INST: &str = "H37060200001";
const FUND: &str = "fund:370600:310100";

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

fn person(psn_no: &str, certno: &str) -> Person {
    Person {
        psn_no: psn_no.to_string(),
        certno: CertNo::new(certno),
        name: PersonName::new("张建国"),
        gender: Gender::Male,
        birth_date: day("1980-05-17"),
        insutype: Insutype::Employee,
        psn_type: "在职".to_string(),
        admdvs: Admdvs::parse(ADMDVS).expect("admdvs"),
        insu_status: InsuStatus::Normal,
        civil_servant: false,
        public_medical: true,
        employer_name: "烟台港务集团".to_string(),
        phone: Phone::new("13800005678"),
    }
}

fn institution() -> Institution {
    Institution {
        code: INST.to_string(),
        name: "烟台市芝罘区医院".to_string(),
        kind: InstitutionKind::Medical,
        level: HospitalLevel::Level3,
        admdvs: Admdvs::parse(ADMDVS).expect("admdvs"),
        lat: 37.5,
        lon: 121.375,
        mutual_aid: true,
        paasid: "paas-0001".to_string(),
        token: "secret-token".to_string(),
        contact: gongji_core::domain::InstitutionContact {
            address: "历下区泉城路1号".into(),
            phone: "0531-88880000".into(),
            opening_hours: "08:00-20:00".into(),
        },
    }
}

fn catalog_item(code: &str) -> CatalogItem {
    CatalogItem {
        code: code.to_string(),
        name: "阿莫西林胶囊".to_string(),
        level: ChargeLevel::ClassB,
        price_cap: Some(Fen::from_fen(1234)),
        selfpay_prop: BasisPoints::new(1000).expect("bp"),
    }
}

fn binding(id: i64, holder: &str, relative: &str) -> Binding {
    Binding {
        id,
        holder: holder.to_string(),
        relative: relative.to_string(),
        relationship: Relationship::parse("10").expect("relationship"),
        begin: day("2025-01-01"),
        end: None,
        limit_per_payment: Some(Fen::from_fen(50_000)),
        limit_per_month: None,
        limit_per_day: Some(Fen::from_fen(10_000)),
        limit_per_year: Some(Fen::from_fen(1_000_000)),
        status: BindingStatus::Active,
        channel: Channel::WeChat,
    }
}

/// One posting; `after` is the account's balance once it is applied.
fn posting(account: &str, amount: i64, after: i64) -> PostingRow {
    PostingRow {
        account_key: account.to_string(),
        psn_no: account.strip_prefix("psn:").map(str::to_string),
        amount: Fen::from_fen(amount),
        rule: "test".to_string(),
        floor: account.starts_with("psn:").then_some(Fen::ZERO),
        balance_after: Fen::from_fen(after),
        explanation: format!("{account} {amount}"),
    }
}

fn entry(
    entry_id: i64,
    kind: &str,
    msgid: Option<&str>,
    postings: Vec<PostingRow>,
) -> JournalEntry {
    JournalEntry {
        entry_id,
        msgid: msgid.map(str::to_string),
        kind: kind.to_string(),
        admdvs: ADMDVS.to_string(),
        psn_no: postings.iter().find_map(|p| p.psn_no.clone()),
        fixmedins_code: (kind == "settle" || kind == "cancel").then(|| INST.to_string()),
        channel: "1".to_string(),
        occurred_at: "2025-03-01 10:00:00".to_string(),
        reverses_entry: None,
        request_hash: msgid.map(|m| format!("hash-{m}")),
        response: msgid.map(|m| format!("{{\"infcode\":0,\"msgid\":\"{m}\"}}")),
        summary: format!("{kind} {entry_id}"),
        postings,
    }
}

/// Funding pays `amount` into the personal account of `psn` (whose balance was `before`).
fn opening(entry_id: i64, psn: &str, before: i64, amount: i64) -> JournalEntry {
    entry(
        entry_id,
        "opening",
        None,
        vec![
            posting(&format!("psn:{psn}"), amount, before + amount),
            posting("funding", -amount, -(before + amount)),
        ],
    )
}

/// A settlement of `total`: the personal account pays `acct`, the pooled fund the rest,
/// the institution is owed the whole. `balances` are (psn, fund, inst) before it.
fn settle_entry(
    entry_id: i64,
    msgid: &str,
    psn: &str,
    acct: i64,
    total: i64,
    before: (i64, i64, i64),
) -> JournalEntry {
    entry(
        entry_id,
        "settle",
        Some(msgid),
        // A zero line is left out, as `PostingSet::new` does (the schema refuses it).
        [
            posting(&format!("psn:{psn}"), -acct, before.0 - acct),
            posting(FUND, -(total - acct), before.1 - (total - acct)),
            posting(&format!("inst:{INST}"), total, before.2 + total),
        ]
        .into_iter()
        .filter(|p| !p.amount.is_zero())
        .collect(),
    )
}

fn settlement_row(setl_id: &str, entry_id: i64, psn: &str, acct: i64, total: i64) -> SettlementRow {
    SettlementRow {
        setl_id: setl_id.to_string(),
        entry_id,
        mdtrt_id: format!("MD{setl_id}"),
        psn_no: psn.to_string(),
        fixmedins_code: INST.to_string(),
        admdvs: ADMDVS.to_string(),
        insutype: "310".to_string(),
        med_type: "11".to_string(),
        setl_date: "2025-03-01".to_string(),
        medfee_sumamt: Fen::from_fen(total),
        fund_pay_sumamt: Fen::from_fen(total - acct),
        acct_pay: Fen::from_fen(acct),
        acct_mulaid_pay: Fen::ZERO,
        psn_cash_pay: Fen::ZERO,
        cancelled: false,
        detail: format!("{{\"setl_id\":\"{setl_id}\"}}"),
    }
}

/// The exact reverse of `original`, as entry `entry_id`; balances are those before it.
fn cancel_entry(
    entry_id: i64,
    msgid: &str,
    original: &JournalEntry,
    before: &[i64],
) -> JournalEntry {
    let postings = original
        .postings
        .iter()
        .zip(before)
        .map(|(p, b)| posting(&p.account_key, -p.amount.fen(), b - p.amount.fen()))
        .collect();
    let mut e = entry(entry_id, "cancel", Some(msgid), postings);
    e.reverses_entry = Some(original.entry_id);
    e
}

fn batch(writes: Vec<Write>) -> WriteBatch {
    WriteBatch { writes }
}

fn balance<S: Store>(s: &mut S, key: &str) -> Option<i64> {
    let snap = s.load_snapshot().expect("snapshot");
    snap.balances.get(key).map(|f| f.fen())
}

fn expect_conflict(r: Result<(), StoreError>, what: &str) -> String {
    match r {
        Err(StoreError::Conflict(m)) => m,
        other => panic!("{what}: expected a Conflict, got {other:?}"),
    }
}

/// A person with an opening balance of 500.00 (entry 1).
fn funded<S: Store>(s: &mut S) {
    s.commit(&batch(vec![
        Write::Person(person("P0001", "370602198005170011")),
        Write::Institution(institution()),
        Write::Entry(opening(1, "P0001", 0, 50_000)),
    ]))
    .expect("fund");
}

// ---------------------------------------------------------------------------------------
// The contract

fn migrations_are_idempotent<B: Backend>(b: &B) {
    {
        let mut s = b.open();
        s.commit(&batch(vec![Write::Person(person(
            "P0001",
            "370602198005170011",
        ))]))
        .expect("commit");
    }
    for _ in 0..2 {
        let mut s = b.open();
        let applied = B::scalar(&mut s, "SELECT COUNT(*) FROM schema_migrations");
        assert_eq!(applied, gongji_store::sqlite::MIGRATIONS.len() as i64);
        assert_eq!(s.load_snapshot().expect("snapshot").persons.len(), 1);
        assert!(s.verify().expect("verify").is_clean());
    }
}

fn registry_round_trips_through_the_snapshot<B: Backend>(b: &B) {
    let mut s = b.open();
    let p1 = person("P0001", "370602198005170011");
    let mut p2 = person("P0002", "370602198107200022");
    let mut bind = binding(7, "P0001", "P0002");
    s.commit(&batch(vec![
        Write::Person(p1.clone()),
        Write::Person(p2.clone()),
        Write::Institution(institution()),
        Write::CatalogItem(catalog_item("XA01")),
        Write::CatalogItem(CatalogItem {
            price_cap: None,
            ..catalog_item("XA02")
        }),
        Write::Binding {
            binding: bind.clone(),
            admdvs: ADMDVS.to_string(),
        },
        Write::BindingChange {
            holder_psn_no: "P0001".into(),
            month: "2025-03".into(),
        },
        Write::BindingChange {
            holder_psn_no: "P0001".into(),
            month: "2025-03".into(),
        },
        Write::Visit(VisitRow {
            mdtrt_id: "MD1".into(),
            psn_no: "P0002".into(),
            fixmedins_code: INST.into(),
            admdvs: ADMDVS.into(),
            insutype: "310".into(),
            med_type: "11".into(),
            begntime: "2025-03-01 09:00:00".into(),
            status: "open".into(),
            diagnosis: "J06.9".into(),
        }),
        Write::Fee(FeeRow {
            mdtrt_id: "MD1".into(),
            feedetl_sn: "1".into(),
            chrg_bchno: "B1".into(),
            med_list_codg: "XA01".into(),
            amount: Fen::from_fen(2468),
            count_e4: 20_000,
            price: Fen::from_fen(1234),
            setl_id: None,
        }),
        Write::Fee(FeeRow {
            mdtrt_id: "MD1".into(),
            feedetl_sn: "2".into(),
            chrg_bchno: "B1".into(),
            med_list_codg: "XA02".into(),
            amount: Fen::from_fen(100),
            count_e4: 10_000,
            price: Fen::from_fen(100),
            setl_id: None,
        }),
        Write::FeeDelete {
            mdtrt_id: "MD1".into(),
            feedetl_sn: "2".into(),
        },
        Write::Premium(PremiumRow {
            relative_psn_no: "P0002".into(),
            year: 2025,
            kind: "resident_premium".into(),
            entry_id: 0,
            holder_psn_no: "P0001".into(),
            category: "resident".into(),
            amount: Fen::from_fen(40_000),
            channel: "personal_account".into(),
            agent_id: None,
            paid_at: None,
        }),
        Write::Audit(AuditRow {
            at: "2025-03-01 10:00:00".into(),
            actor: "staff-1".into(),
            channel: "console".into(),
            action: "read".into(),
            subject: "P0001".into(),
            before_state: None,
            after_state: Some("{}".into()),
        }),
        Write::Audit(AuditRow {
            at: "2025-03-01 10:01:00".into(),
            actor: "staff-1".into(),
            channel: "console".into(),
            action: "read".into(),
            subject: "P0002".into(),
            before_state: None,
            after_state: None,
        }),
    ]))
    .expect("commit registry");

    // Upserts: a later batch replaces a person and ends the binding.
    p2.phone = Phone::new("13900001111");
    p2.insu_status = InsuStatus::Paused;
    bind.status = BindingStatus::Ended;
    bind.end = Some(day("2025-03-31"));
    s.commit(&batch(vec![
        Write::Person(p2.clone()),
        Write::Binding {
            binding: bind.clone(),
            admdvs: ADMDVS.to_string(),
        },
        Write::BindingChange {
            holder_psn_no: "P0001".into(),
            month: "2025-03".into(),
        },
    ]))
    .expect("commit upserts");

    drop(s);
    let snap = b.open().load_snapshot().expect("snapshot");
    assert_eq!(snap.persons, vec![p1, p2]);
    assert_eq!(snap.institutions, vec![institution()]);
    assert_eq!(
        snap.catalog,
        vec![
            catalog_item("XA01"),
            CatalogItem {
                price_cap: None,
                ..catalog_item("XA02")
            }
        ]
    );
    assert_eq!(snap.bindings, vec![bind]);
    assert_eq!(snap.max_binding_id, 7);
    assert_eq!(snap.max_audit_id, 2);
    assert_eq!(
        snap.binding_changes
            .get(&("P0001".to_string(), "2025-03".to_string())),
        Some(&3)
    );
    assert_eq!(snap.visits.len(), 1);
    assert_eq!(snap.visits[0].diagnosis, "J06.9");
    assert_eq!(snap.fees.len(), 1, "the deleted fee line is gone");
    assert_eq!(snap.fees[0].amount, Fen::from_fen(2468));
    assert_eq!(
        snap.premiums_paid,
        vec![("P0002".to_string(), 2025, "resident_premium".to_string())]
    );
}

fn recovery_case(status: &str) -> RecoveryCaseRow {
    RecoveryCaseRow {
        case_id: 1,
        binding_id: 7,
        holder_psn_no: "P0001".into(),
        relative_psn_no: "P0002".into(),
        setl_id: "S2".into(),
        admdvs: ADMDVS.into(),
        amount: Fen::from_fen(1_234),
        reason: "冒用".into(),
        status: status.into(),
        opened_by: "staff-1".into(),
        opened_at: "2025-03-02 09:00:00".into(),
        repaid_by: (status == "repaid").then(|| "staff-2".into()),
        repaid_at: (status == "repaid").then(|| "2025-03-03 09:00:00".into()),
        repaid_entry_id: (status == "repaid").then_some(9),
    }
}

fn commitment() -> CommitmentRow {
    CommitmentRow {
        binding_id: 7,
        holder_psn_no: "P0001".into(),
        admdvs: ADMDVS.into(),
        notice_version: "v1".into(),
        letter: "本人承诺……".into(),
        sha256: "00".repeat(32),
        signature: "张建国".into(),
        signed_at: "2025-03-01 10:00:00".into(),
        channel: "wechat".into(),
    }
}

fn recovery_cases_and_commitments_are_kept<B: Backend>(b: &B) {
    let mut s = b.open();
    s.commit(&batch(vec![
        Write::RecoveryCase(recovery_case("open")),
        Write::Commitment(commitment()),
    ]))
    .expect("open a case, sign a letter");
    assert_eq!(
        s.load_snapshot().expect("snapshot").recovery_cases,
        vec![recovery_case("open")]
    );
    s.commit(&batch(vec![Write::RecoveryCase(recovery_case("repaid"))]))
        .expect("repay");
    assert_eq!(
        s.load_snapshot().expect("snapshot").recovery_cases,
        vec![recovery_case("repaid")]
    );
    expect_conflict(
        s.commit(&batch(vec![Write::Commitment(commitment())])),
        "a second letter for the same binding",
    );
    assert_eq!(B::scalar(&mut s, "SELECT COUNT(*) FROM commitments"), 1);
}

fn quota_parties() -> QuotaParties {
    QuotaParties {
        holder_province: 37,
        holder_psn_no: "37060200000001".into(),
        relative_province: 14,
        relative_psn_no: "14080200000002".into(),
    }
}

fn quota_sent(state: SentState, attempts: u32) -> QuotaSentRow {
    QuotaSentRow {
        transfer_id: "37G000000000002".into(),
        direction: Direction::Grant,
        parties: quota_parties(),
        amount: Fen::from_fen(30_000),
        state,
        entry_id: 2,
        release_entry_id: None,
        attempts,
        last_error: (attempts > 0).then(|| "对方省份暂时无法连接".to_string()),
        created_at: "2026-03-02 10:00:00".into(),
        updated_at: format!("2026-03-02 10:0{attempts}:00"),
    }
}

fn quota_applied(entry_id: Option<i64>) -> QuotaAppliedRow {
    QuotaAppliedRow {
        transfer_id: "14R000000000009".into(),
        direction: Direction::Return,
        parties: quota_parties(),
        amount: Fen::from_fen(22_000),
        entry_id,
        refusal_code: entry_id.is_none().then(|| "GJ-QUOTA-NOT-BOUND".to_string()),
        refusal_zh: entry_id.is_none().then(|| "没有绑定".to_string()),
        at: "2026-03-10 10:00:00".into(),
    }
}

/// The cross-province quota's rows (R-N3) come back from the snapshot as written, an
/// outbox row changes in place, and a second row for one received transfer id is refused
/// with everything else of its batch: the receiver's dedup holds in the schema.
fn quota_rows_round_trip_and_a_transfer_is_applied_once<B: Backend>(b: &B) {
    let mut s = b.open();
    funded(&mut s);
    let mut binding = QuotaBindingRow {
        parties: quota_parties(),
        side: QuotaSide::Holder,
        relationship: Relationship::from_code(10).expect("spouse"),
        begin: day("2026-03-01"),
        end: None,
        status: QuotaBindingStatus::Active,
        created_at: "2026-03-01 10:00:00".into(),
        updated_at: "2026-03-01 10:00:00".into(),
    };
    let spend = QuotaSpendRow {
        entry_id: 7,
        setl_id: "140802000000000007".into(),
        parties: quota_parties(),
        fixmedins_code: "P14080200003".into(),
        amount: Fen::from_fen(8_000),
        at: "2026-03-05 10:00:00".into(),
    };
    s.commit(&batch(vec![
        Write::QuotaBinding(binding.clone()),
        Write::QuotaSent(quota_sent(SentState::Reserved, 0)),
        Write::QuotaApplied(quota_applied(Some(3))),
        Write::QuotaApplied(QuotaAppliedRow {
            transfer_id: "14R000000000011".into(),
            ..quota_applied(None)
        }),
        Write::QuotaSpend(spend.clone()),
    ]))
    .expect("quota rows");
    binding.status = QuotaBindingStatus::Ended;
    binding.end = Some(day("2026-03-10"));
    binding.updated_at = "2026-03-10 10:00:00".into();
    s.commit(&batch(vec![
        Write::QuotaSent(quota_sent(SentState::Confirmed, 2)),
        Write::QuotaBinding(binding.clone()),
    ]))
    .expect("the outbox row and the binding change");
    drop(s);
    let mut s = b.open();
    let snap = s.load_snapshot().expect("snapshot");
    assert_eq!(snap.quota_bindings, vec![binding]);
    assert_eq!(snap.quota_sent, vec![quota_sent(SentState::Confirmed, 2)]);
    assert_eq!(
        snap.quota_applied,
        vec![
            quota_applied(Some(3)),
            QuotaAppliedRow {
                transfer_id: "14R000000000011".into(),
                ..quota_applied(None)
            }
        ]
    );
    assert_eq!(snap.quota_spends, vec![spend]);

    let before = balance(&mut s, "psn:P0001");
    expect_conflict(
        s.commit(&batch(vec![
            Write::Entry(opening(2, "P0001", 50_000, 22_000)),
            Write::QuotaApplied(quota_applied(Some(2))),
        ])),
        "the same return applied a second time",
    );
    assert_eq!(
        balance(&mut s, "psn:P0001"),
        before,
        "its entry went with it"
    );
    assert_eq!(B::scalar(&mut s, "SELECT COUNT(*) FROM quota_applied"), 2);
}

/// The quota rows an entry records are chained with it: deleting the dedup row that would
/// stop a transfer being applied twice, or changing where a quota was spent, breaks the
/// chain at that entry.
fn verify_names_a_quota_dedup_row_deleted_or_a_spend_changed<B: Backend>(b: &B) {
    let mut s = b.open();
    funded(&mut s);
    let back = QuotaAppliedRow {
        entry_id: Some(2),
        parties: QuotaParties {
            holder_psn_no: "P0001".into(),
            ..quota_parties()
        },
        ..quota_applied(Some(2))
    };
    let spend = QuotaSpendRow {
        entry_id: 3,
        setl_id: "S3".into(),
        parties: quota_parties(),
        fixmedins_code: INST.into(),
        amount: Fen::from_fen(100),
        at: "2026-03-05 10:00:00".into(),
    };
    s.commit(&batch(vec![
        Write::Entry(entry(
            2,
            "quota_return_credit",
            None,
            vec![
                posting("psn:P0001", 22_000, 72_000),
                posting("quotaout:14:P0001", -22_000, -22_000),
            ],
        )),
        Write::QuotaApplied(back),
        Write::Entry(entry(
            3,
            "settle",
            None,
            vec![
                posting("quota:37:H/R", 100, 100),
                posting("peer:37", -100, -100),
            ],
        )),
        Write::QuotaSpend(spend),
    ]))
    .expect("a return applied, a quota spent");
    let report = s.verify().expect("verify");
    assert!(report.is_clean(), "{report}");
    B::exec(&mut s, "UPDATE quota_spends SET fixmedins_code = 'P0000'");
    assert_broken_at(&s.verify().expect("verify"), "journal", 3);
    B::exec(
        &mut s,
        &format!("UPDATE quota_spends SET fixmedins_code = '{INST}'"),
    );
    let report = s.verify().expect("verify");
    assert!(report.is_clean(), "{report}");
    B::exec(&mut s, "DELETE FROM quota_applied");
    assert_broken_at(&s.verify().expect("verify"), "journal", 2);
}

fn postings_move_balances_and_verify_is_clean<B: Backend>(b: &B) {
    let mut s = b.open();
    funded(&mut s);
    s.commit(&batch(vec![
        Write::Entry(settle_entry(
            2,
            "M2",
            "P0001",
            3_000,
            10_000,
            (50_000, 0, 0),
        )),
        Write::Settlement(settlement_row("S2", 2, "P0001", 3_000, 10_000)),
    ]))
    .expect("settle");
    let snap = s.load_snapshot().expect("snapshot");
    let bal = |k: &str| snap.balances.get(k).map(|f| f.fen());
    assert_eq!(bal("psn:P0001"), Some(47_000));
    assert_eq!(bal("funding"), Some(-50_000));
    assert_eq!(bal(FUND), Some(-7_000));
    assert_eq!(bal(&format!("inst:{INST}")), Some(10_000));
    assert_eq!(snap.max_entry_id, 2);

    let report = s.verify().expect("verify");
    assert!(report.is_clean(), "{report}");
    assert_eq!(
        (
            report.entries,
            report.postings,
            report.accounts,
            report.settlements
        ),
        (2, 5, 4, 1)
    );
    assert_eq!(report.trial_balance(), Some(Fen::ZERO));
    let kinds: Vec<(&str, i64)> = report
        .totals_by_kind
        .iter()
        .map(|(k, v)| (k.as_str(), v.fen()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("fund", -7_000),
            ("funding", -50_000),
            ("inst", 10_000),
            ("psn", 47_000)
        ]
    );
}

fn unbalanced_entry_is_refused_and_its_batch_leaves_no_trace<B: Backend>(b: &B) {
    let mut s = b.open();
    let mut bad = opening(2, "P0001", 0, 10_000);
    bad.postings[1].amount = Fen::from_fen(-9_999);
    let m = expect_conflict(
        s.commit(&batch(vec![
            Write::Person(person("P0001", "370602198005170011")),
            Write::Entry(opening(1, "P0001", 0, 50_000)),
            Write::Entry(bad),
        ])),
        "unbalanced entry",
    );
    assert!(m.contains("entry 2 does not balance"), "{m}");
    let snap = s.load_snapshot().expect("snapshot");
    assert!(snap.persons.is_empty());
    assert!(snap.balances.is_empty());
    assert_eq!(snap.max_entry_id, 0);
    assert_eq!(B::scalar(&mut s, "SELECT COUNT(*) FROM postings"), 0);
    // The store is usable after the refusal.
    funded(&mut s);
    assert_eq!(balance(&mut s, "psn:P0001"), Some(50_000));
}

fn conflict_in_the_third_write_leaves_no_trace_of_the_first_two<B: Backend>(b: &B) {
    let mut s = b.open();
    funded(&mut s);
    s.commit(&batch(vec![Write::Message {
        msgid: "M-QUERY".into(),
        request_hash: Some("h".into()),
        response: Some("first".into()),
    }]))
    .expect("message");

    expect_conflict(
        s.commit(&batch(vec![
            Write::Person(person("P0002", "370602198107200022")),
            Write::Entry(opening(2, "P0002", 0, 20_000)),
            Write::Message {
                msgid: "M-QUERY".into(),
                request_hash: Some("h2".into()),
                response: Some("second".into()),
            },
        ])),
        "third write",
    );
    let snap = s.load_snapshot().expect("snapshot");
    assert_eq!(snap.persons.len(), 1, "the first write is gone");
    assert_eq!(snap.max_entry_id, 1, "the second write is gone");
    assert_eq!(snap.balances.get("psn:P0002"), None);
    assert_eq!(snap.balances.get("funding").map(|f| f.fen()), Some(-50_000));
    assert_eq!(
        B::scalar(&mut s, "SELECT COUNT(*) FROM postings WHERE entry_id = 2"),
        0
    );
    let answer = s
        .answer_for_msgid("M-QUERY")
        .expect("answer")
        .expect("some");
    assert_eq!(answer.response.as_deref(), Some("first"));
    assert!(s.verify().expect("verify").is_clean());
}

fn a_negative_limit_is_refused_by_the_schema<B: Backend>(b: &B) {
    let mut s = b.open();
    funded(&mut s);
    for negative in [
        Binding {
            limit_per_day: Some(Fen::from_fen(-1)),
            ..binding(7, "P0001", "P0002")
        },
        Binding {
            limit_per_year: Some(Fen::from_fen(-1)),
            ..binding(7, "P0001", "P0002")
        },
    ] {
        expect_conflict(
            s.commit(&batch(vec![Write::Binding {
                binding: negative,
                admdvs: ADMDVS.into(),
            }])),
            "negative limit",
        );
    }
    assert!(s.load_snapshot().expect("snapshot").bindings.is_empty());
}

/// Migration 0019: each CHECK refuses a bad row written straight into the database (a script,
/// a hand repair), and the refused statement changes nothing.
fn the_schema_refuses_rows_the_ledger_never_writes<B: Backend>(b: &B) {
    let mut s = b.open();
    funded(&mut s);
    s.commit(&batch(vec![Write::Binding {
        binding: binding(7, "P0001", "P0002"),
        admdvs: ADMDVS.into(),
    }]))
    .expect("bind");
    let own = "WHERE entry_id = 1 AND account_key = 'psn:P0001'";
    for (what, sql) in [
        (
            "a posting of zero",
            format!(
                "INSERT INTO postings (entry_id, seq, account_key, amount_fen, rule, floor_fen,
                     balance_after_fen, explanation)
                 VALUES (1, 99, '{FUND}', 0, 'test', NULL, 0, 'nothing')"
            ),
        ),
        (
            "a personal account below zero",
            format!("UPDATE postings SET balance_after_fen = -1, floor_fen = NULL {own}"),
        ),
        (
            "a balance below the posting's floor",
            format!("UPDATE postings SET floor_fen = 60000 {own}"),
        ),
        (
            "a binding status that does not exist",
            "UPDATE bindings SET status = 'paused'".to_string(),
        ),
        (
            "a negative per-payment limit",
            "UPDATE bindings SET limit_per_payment_fen = -1".to_string(),
        ),
        (
            "a negative per-month limit",
            "UPDATE bindings SET limit_per_month_fen = -1".to_string(),
        ),
        (
            "a person bound to themself",
            "UPDATE bindings SET relative_psn_no = holder_psn_no".to_string(),
        ),
    ] {
        let refused = B::try_exec(&mut s, &sql);
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.to_lowercase().contains("check")),
            "{what}: {refused:?}"
        );
    }
    assert_eq!(
        B::scalar(&mut s, "SELECT COUNT(*) FROM postings WHERE amount_fen = 0"),
        0
    );
    assert_eq!(
        B::scalar(
            &mut s,
            "SELECT COUNT(*) FROM bindings WHERE status = 'active'"
        ),
        1
    );
    assert!(s.verify().expect("verify").violations.is_empty());
    // What the ledger does write still passes.
    B::exec(
        &mut s,
        "UPDATE bindings SET status = 'suspended', limit_per_month_fen = 0",
    );
}

fn duplicate_msgid_conflicts<B: Backend>(b: &B) {
    let mut s = b.open();
    funded(&mut s);
    s.commit(&batch(vec![Write::Entry(settle_entry(
        2,
        "M2",
        "P0001",
        1_000,
        1_000,
        (50_000, 0, 0),
    ))]))
    .expect("settle");
    expect_conflict(
        s.commit(&batch(vec![Write::Entry(settle_entry(
            3,
            "M2",
            "P0001",
            1_000,
            1_000,
            (49_000, 0, 1_000),
        ))])),
        "duplicate msgid in the journal",
    );
    expect_conflict(
        s.commit(&batch(vec![Write::Entry(opening(2, "P0001", 49_000, 1))])),
        "duplicate entry id",
    );
    s.commit(&batch(vec![Write::Message {
        msgid: "Q1".into(),
        request_hash: None,
        response: None,
    }]))
    .expect("message");
    expect_conflict(
        s.commit(&batch(vec![Write::Message {
            msgid: "Q1".into(),
            request_hash: None,
            response: None,
        }])),
        "duplicate msgid in messages",
    );
    assert_eq!(balance(&mut s, "psn:P0001"), Some(49_000));
    assert!(s.verify().expect("verify").is_clean());
}

fn mark_reversed_twice_conflicts<B: Backend>(b: &B) {
    let mut s = b.open();
    funded(&mut s);
    let original = settle_entry(2, "M2", "P0001", 3_000, 10_000, (50_000, 0, 0));
    s.commit(&batch(vec![
        Write::Entry(original.clone()),
        Write::Settlement(settlement_row("S2", 2, "P0001", 3_000, 10_000)),
    ]))
    .expect("settle");
    let cancel = cancel_entry(3, "M3", &original, &[47_000, -7_000, 10_000]);
    s.commit(&batch(vec![
        Write::Entry(cancel),
        Write::MarkReversed {
            entry_id: 2,
            reversed_by: 3,
        },
        Write::SettlementCancelled {
            setl_id: "S2".into(),
        },
    ]))
    .expect("cancel");
    let report = s.verify().expect("verify");
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.cancels, 1);
    assert_eq!(balance(&mut s, "psn:P0001"), Some(50_000));

    let again = cancel_entry(4, "M4", &original, &[50_000, 0, 0]);
    let m = expect_conflict(
        s.commit(&batch(vec![
            Write::Entry(again),
            Write::MarkReversed {
                entry_id: 2,
                reversed_by: 4,
            },
        ])),
        "second reversal",
    );
    assert!(m.contains("entry 2 is already reversed"), "{m}");
    expect_conflict(
        s.commit(&batch(vec![Write::MarkReversed {
            entry_id: 99,
            reversed_by: 3,
        }])),
        "reversal of a missing entry",
    );
    let snap = s.load_snapshot().expect("snapshot");
    assert_eq!(snap.max_entry_id, 3, "the second cancel left nothing");
    assert_eq!(snap.balances["psn:P0001"].fen(), 50_000);
    assert!(s.verify().expect("verify").is_clean());
}

fn answer_for_msgid_finds_journal_and_message_answers<B: Backend>(b: &B) {
    let mut s = b.open();
    funded(&mut s);
    s.commit(&batch(vec![
        Write::Entry(settle_entry(
            2,
            "M-SETTLE",
            "P0001",
            100,
            100,
            (50_000, 0, 0),
        )),
        Write::Message {
            msgid: "M-QUERY".into(),
            request_hash: Some("hash-q".into()),
            response: Some("{\"infcode\":0}".into()),
        },
    ]))
    .expect("commit");
    let j = s
        .answer_for_msgid("M-SETTLE")
        .expect("lookup")
        .expect("journal answer");
    assert_eq!(j.entry_id, Some(2));
    assert_eq!(j.request_hash.as_deref(), Some("hash-M-SETTLE"));
    assert_eq!(
        j.response.as_deref(),
        Some("{\"infcode\":0,\"msgid\":\"M-SETTLE\"}")
    );
    let m = s
        .answer_for_msgid("M-QUERY")
        .expect("lookup")
        .expect("message answer");
    assert_eq!(m.entry_id, None);
    assert_eq!(m.request_hash.as_deref(), Some("hash-q"));
    assert_eq!(m.response.as_deref(), Some("{\"infcode\":0}"));
    assert_eq!(s.answer_for_msgid("M-NONE").expect("lookup"), None);
}

fn settlement_returns_row_entry_and_usage<B: Backend>(b: &B) {
    let mut s = b.open();
    funded(&mut s);
    let e = settle_entry(2, "M2", "P0001", 3_000, 10_000, (50_000, 0, 0));
    let row = settlement_row("S2", 2, "P0001", 3_000, 10_000);
    let pool = vec![
        PoolUsageDelta {
            entry_id: 2,
            psn_no: "P0001".into(),
            period: "2025".into(),
            cap_group: "outpatient".into(),
            deductible: Fen::from_fen(500),
            fund: Fen::from_fen(7_000),
            burden: Fen::from_fen(2_500),
        },
        PoolUsageDelta {
            entry_id: 2,
            psn_no: "P0001".into(),
            period: "2025-03-01".into(),
            cap_group: "outpatient".into(),
            deductible: Fen::ZERO,
            fund: Fen::from_fen(7_000),
            burden: Fen::ZERO,
        },
    ];
    let binding_usage = vec![BindingUsageDelta {
        entry_id: 2,
        binding_id: 7,
        month: "2025-03".into(),
        amount: Fen::from_fen(1_000),
    }];
    let mut writes = vec![Write::Entry(e.clone()), Write::Settlement(row.clone())];
    writes.extend(pool.iter().cloned().map(Write::PoolUsage));
    writes.extend(binding_usage.iter().cloned().map(Write::BindingUsage));
    s.commit(&batch(writes)).expect("settle");

    let got = s.settlement("S2").expect("lookup").expect("stored");
    assert_eq!(got.row, row);
    assert_eq!(got.entry, e);
    let mut got_pool = got.pool_usage.clone();
    got_pool.sort_by(|a, b| a.period.cmp(&b.period));
    assert_eq!(got_pool, pool);
    assert_eq!(got.binding_usage, binding_usage);
    assert_eq!(s.settlement("S-NONE").expect("lookup"), None);
    // Many at once (the cancels of a batch): the same answers, unknown ids left out.
    let many = s.settlements(&["S2", "S-NONE"]).expect("lookup many");
    assert_eq!(many.len(), 1);
    let mut one = many["S2"].clone();
    one.pool_usage.sort_by(|a, b| a.period.cmp(&b.period));
    assert_eq!(one.row, got.row);
    assert_eq!(one.entry, got.entry);
    assert_eq!(one.pool_usage, pool);
    assert_eq!(one.binding_usage, got.binding_usage);
    assert!(s.settlements(&[]).expect("none").is_empty());
    // And the stored answers of many msgids.
    let answers = s.answers_for_msgids(&["M2", "M-NONE"]).expect("answers");
    assert_eq!(answers.len(), 1);
    assert_eq!(
        answers["M2"],
        s.answer_for_msgid("M2").expect("one").expect("M2")
    );

    let snap = s.load_snapshot().expect("snapshot");
    let year = &snap.pool_usage[&("P0001".to_string(), "2025".to_string())]["outpatient"];
    assert_eq!(year.deductible_used_year, Fen::from_fen(500));
    assert_eq!(year.fund_paid_year, Fen::from_fen(7_000));
    assert_eq!(year.burden_year, Fen::from_fen(2_500));
    assert_eq!(year.fund_paid_today, Fen::ZERO);
    let today = &snap.pool_usage[&("P0001".to_string(), "2025-03-01".to_string())]["outpatient"];
    assert_eq!(today.fund_paid_today, Fen::from_fen(7_000));
    assert_eq!(today.fund_paid_year, Fen::ZERO);
    assert_eq!(
        snap.binding_usage.get(&(7, "2025-03".to_string())),
        Some(&Fen::from_fen(1_000))
    );
}

fn reconcile_sums_with_and_without_cancelled<B: Backend>(b: &B) {
    let mut s = b.open();
    funded(&mut s);
    let mut other_insutype = settlement_row("S5", 5, "P0001", 0, 700);
    other_insutype.insutype = "390".into();
    let mut outside = settlement_row("S6", 6, "P0001", 0, 900);
    outside.setl_date = "2025-04-01".into();
    let mut cancelled = settlement_row("S4", 4, "P0001", 200, 400);
    cancelled.cancelled = true;
    // An inpatient settlement is reconciled under its own clearing type, not outpatient.
    let mut inpatient = settlement_row("S7", 7, "P0001", 800, 1_600);
    inpatient.med_type = "21".into();
    s.commit(&batch(vec![
        Write::Settlement(inpatient),
        Write::Settlement(settlement_row("S2", 2, "P0001", 1_000, 3_000)),
        Write::Settlement(settlement_row("S3", 3, "P0001", 500, 2_000)),
        Write::Settlement(cancelled),
        Write::Settlement(other_insutype),
        Write::Settlement(outside),
    ]))
    .expect("settlements");
    let mut q = ReconcileQuery {
        fixmedins_code: INST.into(),
        insutype: "310".into(),
        begin: "2025-03-01".into(),
        end: "2025-03-31".into(),
        include_cancelled: false,
        med_types: vec!["11".into(), "12".into(), "13".into()],
    };
    let t = s.reconcile(&q).expect("reconcile");
    assert_eq!(t.count, 2);
    assert_eq!(t.medfee_sumamt, Fen::from_fen(5_000));
    assert_eq!(t.fund_pay_sumamt, Fen::from_fen(3_500));
    assert_eq!(t.acct_pay, Fen::from_fen(1_500));
    q.include_cancelled = true;
    let t = s.reconcile(&q).expect("reconcile");
    assert_eq!(t.count, 3);
    assert_eq!(t.medfee_sumamt, Fen::from_fen(5_400));
    assert_eq!(t.fund_pay_sumamt, Fen::from_fen(3_700));
    assert_eq!(t.acct_pay, Fen::from_fen(1_700));
    q.med_types = vec!["21".into()];
    let t = s.reconcile(&q).expect("reconcile");
    assert_eq!((t.count, t.medfee_sumamt), (1, Fen::from_fen(1_600)));
    q.fixmedins_code = "H-NONE".into();
    let t = s.reconcile(&q).expect("reconcile");
    assert_eq!((t.count, t.medfee_sumamt), (0, Fen::ZERO));
}

fn verify_names_a_balance_changed_behind_its_back<B: Backend>(b: &B) {
    let mut s = b.open();
    funded(&mut s);
    B::exec(
        &mut s,
        "UPDATE accounts SET balance_fen = balance_fen + 100 WHERE account_key = 'psn:P0001'",
    );
    let report = s.verify().expect("verify");
    assert_eq!(
        report.violations,
        vec![Violation::BalanceMismatch {
            account: "psn:P0001".into(),
            stored: Fen::from_fen(50_100),
            postings: Fen::from_fen(50_000),
        }]
    );
    assert!(report.to_string().contains("psn:P0001"), "{report}");
}

fn verify_names_an_entry_made_unbalanced<B: Backend>(b: &B) {
    let mut s = b.open();
    funded(&mut s);
    s.commit(&batch(vec![Write::Entry(settle_entry(
        2,
        "M2",
        "P0001",
        3_000,
        10_000,
        (50_000, 0, 0),
    ))]))
    .expect("settle");
    B::exec(
        &mut s,
        &format!("UPDATE postings SET amount_fen = amount_fen + 5 WHERE entry_id = 2 AND account_key = '{FUND}'"),
    );
    let report = s.verify().expect("verify");
    assert!(
        report.violations.contains(&Violation::EntryUnbalanced {
            entry_id: 2,
            sum: Fen::from_fen(5),
        }),
        "{report}"
    );
    assert!(
        report.violations.contains(&Violation::BalanceMismatch {
            account: FUND.into(),
            stored: Fen::from_fen(-7_000),
            postings: Fen::from_fen(-6_995),
        }),
        "{report}"
    );
}

/// Hundreds of settlements in one batch, many on the same accounts and counters: the sums
/// come out right and the ledger verifies.
fn a_large_batch_sums_repeated_keys<B: Backend>(b: &B) {
    let mut s = b.open();
    funded(&mut s);
    let n = 400_i64;
    let mut writes = Vec::new();
    let (mut psn, mut fund, mut inst) = (50_000_i64, 0_i64, 0_i64);
    for i in 0..n {
        let id = 2 + i;
        writes.push(Write::Entry(settle_entry(
            id,
            &format!("M{id}"),
            "P0001",
            100,
            300,
            (psn, fund, inst),
        )));
        psn -= 100;
        fund -= 200;
        inst += 300;
        writes.push(Write::PoolUsage(PoolUsageDelta {
            entry_id: id,
            psn_no: "P0001".into(),
            period: "2025".into(),
            cap_group: "outpatient".into(),
            deductible: Fen::from_fen(1),
            fund: Fen::from_fen(200),
            burden: Fen::from_fen(2),
        }));
        writes.push(Write::BindingUsage(BindingUsageDelta {
            entry_id: id,
            binding_id: 1 + i % 3,
            month: "2025-03".into(),
            amount: Fen::from_fen(10),
        }));
        writes.push(Write::BindingChange {
            holder_psn_no: "P0001".into(),
            month: "2025-03".into(),
        });
    }
    let started = std::time::Instant::now();
    s.commit(&batch(writes)).expect("large batch");
    let took = started.elapsed();
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!(
            "{}: a batch of {n} settlements ({} writes) committed in {took:?}\n",
            std::any::type_name::<B>()
                .rsplit("::")
                .next()
                .unwrap_or("?"),
            4 * n
        )
        .as_bytes(),
    );

    let snap = s.load_snapshot().expect("snapshot");
    assert_eq!(snap.balances["psn:P0001"].fen(), 50_000 - 100 * n);
    assert_eq!(snap.balances[FUND].fen(), -200 * n);
    assert_eq!(snap.balances[&format!("inst:{INST}")].fen(), 300 * n);
    let year = &snap.pool_usage[&("P0001".to_string(), "2025".to_string())]["outpatient"];
    assert_eq!(year.deductible_used_year, Fen::from_fen(n));
    assert_eq!(year.fund_paid_year, Fen::from_fen(200 * n));
    assert_eq!(year.burden_year, Fen::from_fen(2 * n));
    let per_binding: i64 = (1..=3)
        .map(|id| snap.binding_usage[&(id, "2025-03".to_string())].fen())
        .sum();
    assert_eq!(per_binding, 10 * n);
    assert_eq!(
        snap.binding_changes[&("P0001".to_string(), "2025-03".to_string())],
        u32::try_from(n).expect("n")
    );
    assert_eq!(B::scalar(&mut s, "SELECT COUNT(*) FROM usage_log"), 2 * n);
    let report = s.verify().expect("verify");
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.postings as i64, 2 + 3 * n);
}

/// A settlement and its cancel in one batch, a fee line written, deleted and written again,
/// a fee line replaced twice: each write sees the ones before it.
fn writes_of_one_batch_see_the_writes_before_them<B: Backend>(b: &B) {
    let mut s = b.open();
    funded(&mut s);
    let fee = |sn: &str, amount: i64, setl_id: Option<&str>| FeeRow {
        mdtrt_id: "MD1".into(),
        feedetl_sn: sn.into(),
        chrg_bchno: "B1".into(),
        med_list_codg: "XA01".into(),
        amount: Fen::from_fen(amount),
        count_e4: 10_000,
        price: Fen::from_fen(amount),
        setl_id: setl_id.map(str::to_string),
    };
    let original = settle_entry(2, "M2", "P0001", 3_000, 10_000, (50_000, 0, 0));
    let cancel = cancel_entry(3, "M3", &original, &[47_000, -7_000, 10_000]);
    s.commit(&batch(vec![
        Write::Visit(VisitRow {
            mdtrt_id: "MD1".into(),
            psn_no: "P0001".into(),
            fixmedins_code: INST.into(),
            admdvs: ADMDVS.into(),
            insutype: "310".into(),
            med_type: "11".into(),
            begntime: "2025-03-01 09:00:00".into(),
            status: "open".into(),
            diagnosis: "J06.9".into(),
        }),
        Write::Fee(fee("1", 100, None)),
        Write::Fee(fee("2", 200, None)),
        Write::FeeDelete {
            mdtrt_id: "MD1".into(),
            feedetl_sn: "1".into(),
        },
        Write::Fee(fee("1", 150, None)),
        Write::Fee(fee("2", 250, Some("S2"))),
        Write::Fee(fee("3", 300, None)),
        Write::Fee(fee("3", 350, None)),
        Write::Entry(original),
        Write::Settlement(settlement_row("S2", 2, "P0001", 3_000, 10_000)),
        Write::PoolUsage(PoolUsageDelta {
            entry_id: 2,
            psn_no: "P0001".into(),
            period: "2025".into(),
            cap_group: "outpatient".into(),
            deductible: Fen::ZERO,
            fund: Fen::from_fen(7_000),
            burden: Fen::ZERO,
        }),
        Write::MarkReversed {
            entry_id: 2,
            reversed_by: 3,
        },
        Write::Entry(cancel),
        Write::SettlementCancelled {
            setl_id: "S2".into(),
        },
        Write::PoolUsage(PoolUsageDelta {
            entry_id: 3,
            psn_no: "P0001".into(),
            period: "2025".into(),
            cap_group: "outpatient".into(),
            deductible: Fen::ZERO,
            fund: Fen::from_fen(-7_000),
            burden: Fen::ZERO,
        }),
    ]))
    .expect("one batch");
    let stored = s.settlement("S2").expect("lookup").expect("stored");
    assert!(stored.row.cancelled);
    let report = s.verify().expect("verify");
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.cancels, 1);
    let snap = s.load_snapshot().expect("snapshot");
    assert_eq!(snap.balances["psn:P0001"].fen(), 50_000);
    let year = &snap.pool_usage[&("P0001".to_string(), "2025".to_string())]["outpatient"];
    assert_eq!(year.fund_paid_year, Fen::ZERO);
    let fees: Vec<(String, i64, Option<String>)> = snap
        .fees
        .iter()
        .map(|f| (f.feedetl_sn.clone(), f.amount.fen(), f.setl_id.clone()))
        .collect();
    assert_eq!(
        fees,
        vec![
            ("1".to_string(), 150, None),
            ("2".to_string(), 250, Some("S2".to_string())),
            ("3".to_string(), 350, None),
        ]
    );
}

// ---------------------------------------------------------------------------------------
// Reads (`ReadStore`): the same ledger read back the same way on both backends.

/// `e` as if it happened at `at`.
fn at(mut e: JournalEntry, at: &str) -> JournalEntry {
    e.occurred_at = at.to_string();
    e
}

/// A small ledger to read: P0001 holds P0002; P0003 shares P0001's phone.
///
/// 1  2025-03-01  P0001's account opens with 500.00
/// 2  2025-03-02  P0002's account opens with 10.00
/// 3  2025-03-05  P0002 settles 100.00: own account 10.00, P0001's 20.00 (mutual aid), fund 70.00
/// 4  2025-03-06  P0001 settles 20.00: own account 5.00, fund 15.00
/// 5  2025-03-07  settlement 4 is cancelled
/// 6  2025-03-08  P0001's account pays P0002's premium of 400.00
fn read_ledger<S: Store>(s: &mut S) {
    let mut p2 = person("P0002", "37060220050612002X");
    p2.name = PersonName::new("张小雨");
    p2.phone = Phone::new("13900001111");
    let mut p3 = person("P0003", "370602197501010033");
    p3.name = PersonName::new("李秀英");
    let mut settle3 = entry(
        3,
        "settle",
        Some("M3"),
        vec![
            posting("psn:P0002", -1_000, 0),
            posting("psn:P0001", -2_000, 48_000),
            posting(FUND, -7_000, -7_000),
            posting(&format!("inst:{INST}"), 10_000, 10_000),
        ],
    );
    settle3.psn_no = Some("P0002".into());
    let settle3 = at(settle3, "2025-03-05 09:00:00");
    let settle4 = at(
        settle_entry(4, "M4", "P0001", 500, 2_000, (48_000, -7_000, 10_000)),
        "2025-03-06 09:00:00",
    );
    let cancel5 = at(
        cancel_entry(5, "M5", &settle4, &[47_500, -8_500, 12_000]),
        "2025-03-07 09:00:00",
    );
    let mut premium6 = entry(
        6,
        "premium",
        Some("M6"),
        vec![
            posting("psn:P0001", -40_000, 8_000),
            posting("premium:370602:390", 40_000, 40_000),
        ],
    );
    premium6.fixmedins_code = None;
    let premium6 = at(premium6, "2025-03-08 09:00:00");
    let mut row3 = settlement_row("S3", 3, "P0002", 3_000, 10_000);
    row3.setl_date = "2025-03-05".into();
    row3.acct_mulaid_pay = Fen::from_fen(2_000);
    let mut row4 = settlement_row("S4", 4, "P0001", 500, 2_000);
    row4.setl_date = "2025-03-06".into();
    s.commit(&batch(vec![
        Write::Person(person("P0001", "370602198005170011")),
        Write::Person(p2),
        Write::Person(p3),
        Write::Institution(institution()),
        Write::Entry(at(opening(1, "P0001", 0, 50_000), "2025-03-01 08:00:00")),
        Write::Entry(at(opening(2, "P0002", 0, 1_000), "2025-03-02 08:00:00")),
        Write::Entry(settle3),
        Write::Settlement(row3),
        Write::Entry(settle4),
        Write::Settlement(row4),
    ]))
    .expect("registry, openings and settlements");
    s.commit(&batch(vec![
        Write::MarkReversed {
            entry_id: 4,
            reversed_by: 5,
        },
        Write::Entry(cancel5),
        Write::SettlementCancelled {
            setl_id: "S4".into(),
        },
        Write::Entry(premium6),
        Write::Premium(PremiumRow {
            relative_psn_no: "P0002".into(),
            year: 2025,
            kind: "resident_premium".into(),
            entry_id: 6,
            holder_psn_no: "P0001".into(),
            category: "general".into(),
            amount: Fen::from_fen(40_000),
            channel: "personal_account".into(),
            agent_id: None,
            paid_at: None,
        }),
    ]))
    .expect("cancel and premium");
    assert!(s.verify().expect("verify").is_clean());
}

fn records_of<S: ReadStore>(s: &mut S, q: RecordQuery) -> Vec<RecordRow> {
    s.records(&q).expect("records")
}

fn all_records(psn_no: &str) -> RecordQuery {
    RecordQuery {
        psn_no: psn_no.into(),
        limit: 50,
        ..RecordQuery::default()
    }
}

/// (entry, seq, whose account, amount) of each row.
fn shape(rows: &[RecordRow]) -> Vec<(i64, i64, String, i64)> {
    rows.iter()
        .map(|r| (r.entry_id, r.seq, r.account_psn_no.clone(), r.amount.fen()))
        .collect()
}

/// The API's reads run on reader connections the writer's store opens on the same database
/// (issue 11): a reader opened while the writer keeps its connection sees every committed
/// batch, including one committed after the reader opened.
fn a_reader_beside_the_writer_reads_what_was_committed<B: Backend>(b: &B) {
    let mut s = b.open();
    let source = s.reader_source().expect("a database file has readers");
    let mut reader = source.open_reader().expect("reader");
    assert!(records_of(&mut reader, all_records("P0001")).is_empty());
    read_ledger(&mut s);
    let written = records_of(&mut s, all_records("P0001"));
    assert_eq!(written.len(), 5);
    assert_eq!(records_of(&mut reader, all_records("P0001")), written);
    assert_eq!(
        reader.year_totals("P0002", 2025).expect("totals"),
        s.year_totals("P0002", 2025).expect("totals")
    );
}

fn records_show_own_postings_and_what_others_paid<B: Backend>(b: &B) {
    let mut s = b.open();
    read_ledger(&mut s);

    let holder = records_of(&mut s, all_records("P0001"));
    assert_eq!(
        shape(&holder),
        vec![
            (6, 0, "P0001".to_string(), -40_000),
            (5, 0, "P0001".to_string(), 500),
            (4, 0, "P0001".to_string(), -500),
            (3, 1, "P0001".to_string(), -2_000),
            (1, 0, "P0001".to_string(), 50_000),
        ]
    );
    let mutual_aid = &holder[3];
    assert_eq!(mutual_aid.kind, "settle");
    assert_eq!(mutual_aid.entry_psn_no.as_deref(), Some("P0002"));
    assert_eq!(mutual_aid.fixmedins_code.as_deref(), Some(INST));
    assert_eq!(
        mutual_aid.fixmedins_name.as_deref(),
        Some("烟台市芝罘区医院")
    );
    assert_eq!(mutual_aid.balance_after, Fen::from_fen(48_000));
    assert_eq!(mutual_aid.occurred_at, "2025-03-05 09:00:00");
    assert_eq!(mutual_aid.summary, "settle 3");
    assert_eq!(mutual_aid.channel, "1");
    assert_eq!(holder[0].premium_for.as_deref(), Some("P0002"));
    assert_eq!(holder[0].fixmedins_name, None);
    assert_eq!(holder[1].reverses_entry, Some(4));
    assert_eq!(holder[2].reversed_by, Some(5));
    assert_eq!(holder[4].kind, "opening");

    // The relative sees her own postings and whose account paid for her.
    let relative = records_of(&mut s, all_records("P0002"));
    assert_eq!(
        shape(&relative),
        vec![
            (6, 0, "P0001".to_string(), -40_000),
            (3, 1, "P0001".to_string(), -2_000),
            (3, 0, "P0002".to_string(), -1_000),
            (2, 0, "P0002".to_string(), 1_000),
        ]
    );
    assert_eq!(relative[0].premium_for.as_deref(), Some("P0002"));
    assert_eq!(relative[0].entry_psn_no.as_deref(), Some("P0001"));

    assert!(records_of(&mut s, all_records("P0003")).is_empty());
    assert!(records_of(&mut s, all_records("P9999")).is_empty());
}

fn records_filter_by_date_kind_and_page<B: Backend>(b: &B) {
    let mut s = b.open();
    read_ledger(&mut s);
    let entries = |rows: Vec<RecordRow>| rows.iter().map(|r| r.entry_id).collect::<Vec<_>>();

    let from = RecordQuery {
        from: Some("2025-03-06".into()),
        ..all_records("P0001")
    };
    assert_eq!(entries(records_of(&mut s, from)), vec![6, 5, 4]);
    let to = RecordQuery {
        to: Some("2025-03-05".into()),
        ..all_records("P0001")
    };
    assert_eq!(entries(records_of(&mut s, to)), vec![3, 1]);
    let day = RecordQuery {
        from: Some("2025-03-06".into()),
        to: Some("2025-03-06".into()),
        ..all_records("P0001")
    };
    assert_eq!(entries(records_of(&mut s, day)), vec![4]);
    let cancels = RecordQuery {
        kind: Some("cancel".into()),
        ..all_records("P0001")
    };
    assert_eq!(entries(records_of(&mut s, cancels)), vec![5]);
    let premiums = RecordQuery {
        kind: Some("premium".into()),
        ..all_records("P0002")
    };
    assert_eq!(entries(records_of(&mut s, premiums)), vec![6]);
    let page = RecordQuery {
        limit: 2,
        offset: 1,
        ..all_records("P0001")
    };
    assert_eq!(entries(records_of(&mut s, page)), vec![5, 4]);
    // A limit of 0 still returns one row; more than the maximum returns what there is.
    let zero = RecordQuery {
        limit: 0,
        ..all_records("P0001")
    };
    assert_eq!(entries(records_of(&mut s, zero)), vec![6]);
    let huge = RecordQuery {
        limit: u32::MAX,
        ..all_records("P0001")
    };
    assert_eq!(records_of(&mut s, huge).len(), 5);
}

fn year_totals_split_own_spending_mutual_aid_and_premiums<B: Backend>(b: &B) {
    let mut s = b.open();
    read_ledger(&mut s);
    // The holder's own settlement was cancelled: nothing of it counts.
    assert_eq!(
        s.year_totals("P0001", 2025).expect("totals"),
        YearTotals {
            settlements: 0,
            own_account_spent: Fen::ZERO,
            mutual_aid_given: Fen::from_fen(2_000),
            premiums_paid: Fen::from_fen(40_000),
            ..YearTotals::default()
        }
    );
    assert_eq!(
        s.year_totals("P0002", 2025).expect("totals"),
        YearTotals {
            settlements: 1,
            medfee_sumamt: Fen::from_fen(10_000),
            fund_pay_sumamt: Fen::from_fen(7_000),
            acct_pay: Fen::from_fen(3_000),
            acct_mulaid_pay: Fen::from_fen(2_000),
            psn_cash_pay: Fen::ZERO,
            own_account_spent: Fen::from_fen(1_000),
            mutual_aid_given: Fen::ZERO,
            premiums_paid: Fen::ZERO,
        }
    );
    assert_eq!(
        s.year_totals("P0001", 2024).expect("totals"),
        YearTotals::default()
    );
}

fn persons_are_found_by_phone_number_name_and_id<B: Backend>(b: &B) {
    let mut s = b.open();
    read_ledger(&mut s);
    assert_eq!(
        s.persons_by_phone("13800005678").expect("by phone"),
        vec!["P0001".to_string(), "P0003".to_string()]
    );
    assert!(s.persons_by_phone("13700000000").expect("none").is_empty());
    let find = |s: &mut B::S, text: &str| s.search_persons(text, 10).expect("search");
    assert_eq!(find(&mut s, "P0002"), vec!["P0002".to_string()]);
    assert_eq!(find(&mut s, " P0002 "), vec!["P0002".to_string()]);
    // An ID number's check character may be typed in lower case.
    assert_eq!(
        find(&mut s, "37060220050612002x"),
        vec!["P0002".to_string()]
    );
    assert_eq!(find(&mut s, "13900001111"), vec!["P0002".to_string()]);
    assert_eq!(find(&mut s, "李秀英"), vec!["P0003".to_string()]);
    assert_eq!(
        find(&mut s, "13800005678"),
        vec!["P0001".to_string(), "P0003".to_string()]
    );
    assert_eq!(
        s.search_persons("13800005678", 1).expect("search"),
        vec!["P0001".to_string()]
    );
    assert!(find(&mut s, "张").is_empty(), "names match exactly");
}

/// Issue 13: residents' premiums of a benefit year and the year before, per group; a year
/// with nothing paid and the years around it have no rows.
fn collection_report_groups_two_benefit_years<B: Backend>(b: &B) {
    let mut s = b.open();
    read_ledger(&mut s);
    let row = |year: i32, group: &str| gongji_store::read::CollectionRow {
        year,
        group: group.into(),
        persons: 1,
        amount: Fen::from_fen(40_000),
    };
    use gongji_store::read::CollectionGroup as G;
    let mut report = |year: i32, by: G| s.collection_report(year, by).expect("report");
    assert_eq!(
        report(2026, G::Channel),
        vec![row(2025, "personal_account")]
    );
    assert_eq!(report(2025, G::Region), vec![row(2025, ADMDVS)]);
    assert_eq!(report(2025, G::Category), vec![row(2025, "general")]);
    assert_eq!(report(2025, G::Agent), vec![row(2025, "")]);
    assert!(report(2027, G::Channel).is_empty());
    assert!(report(2024, G::Channel).is_empty());
}

fn mutual_aid_report_counts_uses_by_day_and_kind<B: Backend>(b: &B) {
    let mut s = b.open();
    read_ledger(&mut s);
    let report = |s: &mut B::S, from: &str, to: &str, prefix: &str| {
        s.mutual_aid_report(&ReportQuery {
            from: from.into(),
            to: to.into(),
            admdvs_prefix: prefix.into(),
        })
        .expect("report")
    };
    let row = |day: &str, kind: &str, amount: i64| ReportRow {
        admdvs: ADMDVS.into(),
        day: day.into(),
        kind: kind.into(),
        uses: 1,
        persons: 1,
        amount: Fen::from_fen(amount),
    };
    assert_eq!(
        report(&mut s, "2025-03-01", "2025-03-31", "37"),
        vec![
            row("2025-03-05", "1", 2_000),
            row("2025-03-08", "premium", 40_000)
        ]
    );
    assert_eq!(
        report(&mut s, "2025-03-01", "2025-03-31", ""),
        report(&mut s, "2025-03-01", "2025-03-31", "370602")
    );
    assert_eq!(
        report(&mut s, "2025-03-01", "2025-03-06", "3706"),
        vec![row("2025-03-05", "1", 2_000)]
    );
    assert!(report(&mut s, "2025-03-01", "2025-03-31", "14").is_empty());
    assert!(report(&mut s, "2025-04-01", "2025-04-30", "").is_empty());
}

fn operators_belong_to_one_institution<B: Backend>(b: &B) {
    let mut s = b.open();
    let op = OperatorRow {
        fixmedins_code: INST.into(),
        username: "till1".into(),
        password_hash: "$argon2id$v=19$first".into(),
        created_at: "2025-03-01 08:00:00".into(),
    };
    B::add_operator(&mut s, &op);
    assert_eq!(
        s.operator(INST, "till1").expect("operator"),
        Some(op.clone())
    );
    // The same username at another institution is another account, not this one.
    assert_eq!(s.operator("P37060200002", "till1").expect("operator"), None);
    assert_eq!(s.operator(INST, "nobody").expect("operator"), None);
    let other = OperatorRow {
        fixmedins_code: "P37060200002".into(),
        password_hash: "$argon2id$v=19$other".into(),
        ..op.clone()
    };
    B::add_operator(&mut s, &other);
    assert_eq!(
        s.operator("P37060200002", "till1").expect("operator"),
        Some(other)
    );
    // Adding again replaces the password, not the creation time.
    B::add_operator(
        &mut s,
        &OperatorRow {
            password_hash: "$argon2id$v=19$second".into(),
            created_at: "2025-04-01 08:00:00".into(),
            ..op.clone()
        },
    );
    assert_eq!(
        s.operator(INST, "till1").expect("operator"),
        Some(OperatorRow {
            password_hash: "$argon2id$v=19$second".into(),
            ..op
        })
    );
}

fn staff_recovery_cases_commitments_and_audit_are_read_back<B: Backend>(b: &B) {
    let mut s = b.open();
    let clerk = StaffRow {
        username: "clerk1".into(),
        password_hash: "$argon2id$v=19$first".into(),
        role: "clerk".into(),
        created_at: "2025-03-01 08:00:00".into(),
    };
    B::add_staff(&mut s, &clerk);
    assert_eq!(s.staff("clerk1").expect("staff"), Some(clerk.clone()));
    assert_eq!(s.staff("nobody").expect("staff"), None);
    // Adding again replaces the password and the role, not the creation time.
    B::add_staff(
        &mut s,
        &StaffRow {
            password_hash: "$argon2id$v=19$second".into(),
            role: "auditor".into(),
            created_at: "2025-04-01 08:00:00".into(),
            ..clerk.clone()
        },
    );
    assert_eq!(
        s.staff("clerk1").expect("staff"),
        Some(StaffRow {
            password_hash: "$argon2id$v=19$second".into(),
            role: "auditor".into(),
            ..clerk
        })
    );

    let repaid = RecoveryCaseRow {
        case_id: 2,
        holder_psn_no: "P0003".into(),
        relative_psn_no: "P0004".into(),
        ..recovery_case("repaid")
    };
    let audit = |subject: &str, actor: &str, action: &str| AuditRow {
        at: "2025-03-01 10:00:00".into(),
        actor: actor.into(),
        channel: "console".into(),
        action: action.into(),
        subject: subject.into(),
        before_state: Some("before".into()),
        after_state: None,
    };
    s.commit(&batch(vec![
        Write::RecoveryCase(recovery_case("open")),
        Write::RecoveryCase(repaid.clone()),
        Write::Commitment(commitment()),
        Write::Audit(audit("P0001", "staff-1", "read")),
        Write::Audit(audit("binding:7", "staff-2", "suspend")),
        Write::Audit(audit("P0001", "staff-2", "read")),
    ]))
    .expect("cases, letter and audit");

    let cases = |s: &mut B::S, status: Option<&str>, psn: Option<&str>, limit: u32| {
        s.recovery_cases(&RecoveryQuery {
            status: status.map(str::to_string),
            psn_no: psn.map(str::to_string),
            limit,
            offset: 0,
        })
        .expect("cases")
        .into_iter()
        .map(|c| c.case_id)
        .collect::<Vec<_>>()
    };
    assert_eq!(cases(&mut s, None, None, 10), vec![2, 1]);
    assert_eq!(cases(&mut s, Some("open"), None, 10), vec![1]);
    assert_eq!(cases(&mut s, None, Some("P0002"), 10), vec![1]);
    assert_eq!(cases(&mut s, None, Some("P0003"), 10), vec![2]);
    assert_eq!(
        cases(&mut s, Some("open"), Some("P0003"), 10),
        Vec::<i64>::new()
    );
    assert_eq!(cases(&mut s, None, None, 1), vec![2]);
    let both = s
        .recovery_cases(&RecoveryQuery {
            limit: 10,
            ..RecoveryQuery::default()
        })
        .expect("cases");
    assert_eq!(both, vec![repaid, recovery_case("open")]);

    assert_eq!(s.commitment(7).expect("letter"), Some(commitment()));
    assert_eq!(s.commitment(8).expect("letter"), None);

    let log = |s: &mut B::S, q: AuditQuery| {
        s.audit_log(&q)
            .expect("audit")
            .into_iter()
            .map(|e| (e.audit_id, e.row.subject, e.row.actor))
            .collect::<Vec<_>>()
    };
    let all = AuditQuery {
        limit: 10,
        ..AuditQuery::default()
    };
    assert_eq!(
        log(&mut s, all.clone()),
        vec![
            (3, "P0001".to_string(), "staff-2".to_string()),
            (2, "binding:7".to_string(), "staff-2".to_string()),
            (1, "P0001".to_string(), "staff-1".to_string()),
        ]
    );
    let ids = |s: &mut B::S, q: AuditQuery| {
        log(s, q)
            .into_iter()
            .map(|(id, _, _)| id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(
            &mut s,
            AuditQuery {
                subject: Some("P0001".into()),
                ..all.clone()
            }
        ),
        vec![3, 1]
    );
    assert_eq!(
        ids(
            &mut s,
            AuditQuery {
                actor: Some("staff-2".into()),
                action: Some("read".into()),
                ..all.clone()
            }
        ),
        vec![3]
    );
    assert_eq!(
        ids(
            &mut s,
            AuditQuery {
                limit: 1,
                offset: 1,
                ..all.clone()
            }
        ),
        vec![2]
    );
    let first = s.audit_log(&all).expect("audit");
    assert_eq!(first[2].row, audit("P0001", "staff-1", "read"));
}

// ---------------------------------------------------------------------------------------
// The conventional path (the baseline of `gongji bench`): one transaction per request.

fn conventional_transactions_lock_write_and_roll_back<B: Backend>(b: &B) {
    funded(&mut b.open());
    let mut c = b.open_conventional();
    let keys = vec!["psn:P0001".to_string(), "psn:P9999".to_string()];

    c.begin().expect("begin");
    let locked = c.lock_accounts(&keys).expect("lock");
    assert_eq!(locked.len(), 1, "an account without a row is not there");
    assert_eq!(locked["psn:P0001"], Fen::from_fen(50_000));
    assert_eq!(c.answer_for_msgid("M2").expect("lookup"), None);
    let settle = settle_entry(2, "M2", "P0001", 1_000, 3_000, (50_000, 0, 0));
    c.write_and_commit(&batch(vec![
        Write::Entry(settle.clone()),
        Write::Settlement(settlement_row("S2", 2, "P0001", 1_000, 3_000)),
    ]))
    .expect("write and commit");

    // Reads inside an open transaction; a rollback leaves nothing.
    c.begin().expect("begin");
    assert_eq!(
        c.lock_accounts(&keys).expect("lock")["psn:P0001"],
        Fen::from_fen(49_000)
    );
    let stored = c.settlement("S2").expect("settlement").expect("S2");
    assert_eq!(stored.entry, settle);
    assert!(c.answer_for_msgid("M2").expect("lookup").is_some());
    c.rollback();

    // A refused batch leaves nothing and the session stays usable.
    c.begin().expect("begin");
    let mut unbalanced = opening(3, "P0001", 49_000, 100);
    unbalanced.postings[1].amount = Fen::from_fen(-99);
    expect_conflict(
        c.write_and_commit(&batch(vec![
            Write::Person(person("P0005", "370602199001010055")),
            Write::Entry(unbalanced),
        ])),
        "an unbalanced entry",
    );
    c.begin().expect("begin after a refusal");
    assert_eq!(
        c.lock_accounts(&keys).expect("lock")["psn:P0001"],
        Fen::from_fen(49_000)
    );
    c.rollback();
    drop(c);

    let mut s = b.open();
    let snap = s.load_snapshot().expect("snapshot");
    assert_eq!(
        snap.persons.len(),
        1,
        "the refused batch's person is not there"
    );
    assert_eq!(snap.max_entry_id, 2);
    assert!(s.verify().expect("verify").is_clean());
}

// ---------------------------------------------------------------------------------------
// PostgreSQL only: the writer lease (DESIGN principle 8).

#[test]
fn postgres_one_writer_per_database_and_readers_without_the_lease() {
    let Some(b) = PgBackend::new("writer_lease") else {
        return;
    };
    let mut writer = b.open();
    assert!(writer.is_writer());
    funded(&mut writer);

    let m = match PgStore::connect(&b.url) {
        Err(StoreError::Conflict(m)) => m,
        Err(e) => panic!("second writer: expected a Conflict, got {e}"),
        Ok(_) => panic!("second writer: expected a Conflict, got a store"),
    };
    assert!(m.contains(gongji_store::postgres::LEASE_HELD), "{m}");

    let mut reader = PgStore::connect_reader(&b.url).expect("reader");
    assert!(!reader.is_writer());
    assert!(reader.verify().expect("verify").is_clean());
    assert_eq!(
        reader.load_snapshot().expect("snapshot").balances["psn:P0001"].fen(),
        50_000
    );
    expect_conflict(
        reader.commit(&batch(vec![Write::Person(person(
            "P0009",
            "370602199001010099",
        ))])),
        "commit on a reader",
    );

    // The lease goes with the session: once the writer is gone, a standby takes over.
    drop(writer);
    let mut standby = PgStore::connect(&b.url).expect("standby takes the lease");
    assert_eq!(balance(&mut standby, "psn:P0001"), Some(50_000));
}

#[test]
fn postgres_unleased_session_writes_only_through_conventional_transactions() {
    let Some(b) = PgBackend::new("unleased_session") else {
        return;
    };
    let mut writer = b.open();
    funded(&mut writer);
    let mut c = b.open_conventional();
    assert!(!c.is_writer());
    expect_conflict(
        c.commit(&batch(vec![Write::Person(person(
            "P0009",
            "370602199001010099",
        ))])),
        "Store::commit without the lease",
    );
    // And a writer's session has no conventional transactions.
    expect_conflict(writer.begin(), "begin on the lease holder's session");
}

#[test]
fn postgres_reader_refuses_an_unmigrated_database() {
    let Some(cluster) = testing::shared_or_skip("reader_unmigrated") else {
        return;
    };
    let url = cluster.create_db("reader_unmigrated");
    match PgStore::connect_reader(&url) {
        Err(StoreError::Io(m)) => assert!(m.contains("lacks migrations"), "{m}"),
        Err(e) => panic!("expected Io, got {e}"),
        Ok(_) => panic!("expected an error for an unmigrated database"),
    }
}

/// 亲情账户 (E6): a consent is read back by token and by either person, and a revocation
/// keeps the row with its time.
fn proxy_consents_are_kept_and_revoked<B: Backend>(b: &B) {
    let mut s = b.open();
    let given = ProxyConsentRow {
        token: "QQ0011223344556677".into(),
        parent_psn_no: "37060200000001".into(),
        child_psn_no: "37060200000002".into(),
        given_at: "2025-10-10 10:00:00".into(),
        revoked_at: None,
    };
    s.commit(&batch(vec![Write::ProxyConsent(given.clone())]))
        .expect("give");
    assert_eq!(
        s.proxy_consent(&given.token).expect("read"),
        Some(given.clone())
    );
    assert_eq!(
        s.proxy_consents("37060200000002").expect("child"),
        vec![given.clone()]
    );
    let revoked = ProxyConsentRow {
        revoked_at: Some("2025-10-11 09:00:00".into()),
        ..given.clone()
    };
    s.commit(&batch(vec![Write::ProxyConsent(revoked.clone())]))
        .expect("revoke");
    assert_eq!(
        s.proxy_consents("37060200000001").expect("parent"),
        vec![revoked]
    );
    assert_eq!(s.proxy_consent("QQ-NONE").expect("read"), None);
}

/// R-R7: a request is read back by id and by its sender, listed while it waits, and its
/// decision replaces its state in place.
fn review_requests_are_listed_and_decided_once_stored<B: Backend>(b: &B) {
    let mut s = b.open();
    let sent = gongji_store::reviews::ReviewRow {
        review_id: "SQ00000000000001".into(),
        psn_no: "37060200000001".into(),
        kind: "correction".into(),
        state: "pending".into(),
        name: "李新华".into(),
        submitted_at: "2025-10-10 10:00:00".into(),
        ..Default::default()
    };
    s.commit(&batch(vec![Write::Review(sent.clone())]))
        .expect("send");
    assert_eq!(s.review(&sent.review_id).expect("read"), Some(sent.clone()));
    assert_eq!(s.pending_reviews().expect("pending"), vec![sent.clone()]);
    // The state the writer reads before it takes a decision.
    assert_eq!(
        s.review_state(&sent.review_id).expect("state").as_deref(),
        Some("pending")
    );
    assert_eq!(s.review_state("SQ99999999999999").expect("state"), None);
    let rejected = gongji_store::reviews::ReviewRow {
        state: "rejected".into(),
        decided_at: Some("2025-10-11 09:00:00".into()),
        decided_by: Some("staff:clerk1".into()),
        reason: Some("请核对姓名".into()),
        ..sent.clone()
    };
    s.commit(&batch(vec![Write::Review(rejected.clone())]))
        .expect("reject");
    assert_eq!(
        s.reviews_of("37060200000001").expect("mine"),
        vec![rejected]
    );
    assert!(s.pending_reviews().expect("pending").is_empty());
    assert_eq!(
        s.review_state(&sent.review_id).expect("state").as_deref(),
        Some("rejected")
    );
    assert!(s.reviews_of("37060200000002").expect("other").is_empty());
}

fn sessions_are_shared_by_every_connection_until_they_end<B: Backend>(b: &B) {
    let staff = SessionRow {
        token_sha256: "a".repeat(64),
        kind: "staff".into(),
        psn_no: None,
        username: Some("clerk1".into()),
        role: Some("clerk".into()),
        fixmedins_code: None,
        created_at: "2025-10-10 10:00:00".into(),
        last_seen_at: "2025-10-10 10:00:00".into(),
        expires_at: "2025-10-10 10:30:00".into(),
    };
    let operator = SessionRow {
        token_sha256: "b".repeat(64),
        kind: "operator".into(),
        username: Some("till1".into()),
        role: None,
        fixmedins_code: Some(INST.into()),
        expires_at: "2025-10-10 10:20:00".into(),
        ..staff.clone()
    };
    let person = SessionRow {
        token_sha256: "c".repeat(64),
        kind: "person".into(),
        psn_no: Some("37060200000001".into()),
        username: None,
        role: None,
        expires_at: "2025-10-10 11:00:00".into(),
        ..staff.clone()
    };
    {
        let mut s = b.open();
        for row in [&staff, &operator, &person] {
            s.insert_session(row).expect("insert session");
        }
        assert!(
            matches!(s.insert_session(&staff), Err(StoreError::Conflict(_))),
            "a token hash is stored once"
        );
        s.touch_session(
            &staff.token_sha256,
            "2025-10-10 10:10:00",
            "2025-10-10 10:40:00",
        )
        .expect("touch");
    }
    // What one connection wrote, the next reads: sessions survive a restart.
    let mut s = b.open();
    let touched = SessionRow {
        last_seen_at: "2025-10-10 10:10:00".into(),
        expires_at: "2025-10-10 10:40:00".into(),
        ..staff.clone()
    };
    assert_eq!(s.session(&staff.token_sha256).expect("read"), Some(touched));
    assert_eq!(
        s.session(&operator.token_sha256).expect("read"),
        Some(operator.clone())
    );
    assert_eq!(s.session(&"d".repeat(64)).expect("read"), None);
    // Expired at 10:30: the operator's (10:20); the touched staff session and the person's
    // stay.
    assert_eq!(
        s.delete_expired_sessions("2025-10-10 10:30:00")
            .expect("prune"),
        1
    );
    assert_eq!(s.session(&operator.token_sha256).expect("read"), None);
    s.delete_session(&staff.token_sha256).expect("sign out");
    s.delete_session(&staff.token_sha256)
        .expect("signing out twice is fine");
    assert_eq!(s.session(&staff.token_sha256).expect("read"), None);
    assert_eq!(s.session(&person.token_sha256).expect("read"), Some(person));
}

// ---------------------------------------------------------------------------------------
// Hash chains (issue 12): every edit behind the ledger's back is named by `verify`.

fn audit(n: i64) -> AuditRow {
    AuditRow {
        at: format!("2025-03-0{n} 09:00:00"),
        actor: "staff:alice".into(),
        channel: "9".into(),
        action: "binding_change".into(),
        subject: format!("binding:{n}"),
        before_state: (n > 1).then(|| format!("limit={}", n * 100)),
        after_state: Some(format!("limit={}", n * 200)),
    }
}

/// A fee line of visit MD2 paid by settlement S2.
fn settled_line(sn: &str, amount: i64) -> FeeRow {
    FeeRow {
        mdtrt_id: "MD2".into(),
        feedetl_sn: sn.into(),
        chrg_bchno: "B1".into(),
        med_list_codg: "XA01".into(),
        amount: Fen::from_fen(amount),
        count_e4: 10_000,
        price: Fen::from_fen(amount),
        setl_id: Some("S2".into()),
    }
}

/// Entries 1 (opening), 2 (a settlement, its row, the two fee lines it paid and its usage
/// deltas: a cap's and a binding's), 3 (a premium and its row), 4 (a recovery repaid, with its case), and audit
/// rows 1 to 3, over three batches.
fn chained_ledger<S: Store>(s: &mut S) {
    funded(s);
    let mut settled = settlement_row("S2", 2, "P0001", 3_000, 10_000);
    settled.acct_mulaid_pay = Fen::from_fen(1_000);
    let mut premium = entry(
        3,
        "premium",
        Some("M3"),
        vec![
            posting("psn:P0001", -2_000, 45_000),
            posting("premium:370600", 2_000, 2_000),
        ],
    );
    premium.summary = "代缴保费".into();
    s.commit(&batch(vec![
        Write::Entry(settle_entry(
            2,
            "M2",
            "P0001",
            3_000,
            10_000,
            (50_000, 0, 0),
        )),
        Write::Settlement(settled),
        Write::PoolUsage(PoolUsageDelta {
            entry_id: 2,
            psn_no: "P0001".into(),
            period: "2025".into(),
            cap_group: "outpatient".into(),
            deductible: Fen::from_fen(500),
            fund: Fen::from_fen(7_000),
            burden: Fen::from_fen(300),
        }),
        Write::BindingUsage(BindingUsageDelta {
            entry_id: 2,
            binding_id: 1,
            month: "2025-03".into(),
            amount: Fen::from_fen(1_000),
        }),
        Write::Fee(settled_line("1", 6_000)),
        Write::Fee(settled_line("2", 4_000)),
        Write::Audit(audit(1)),
        Write::Audit(audit(2)),
        Write::Entry(premium),
        Write::Premium(PremiumRow {
            relative_psn_no: "P0002".into(),
            year: 2025,
            entry_id: 3,
            holder_psn_no: "P0001".into(),
            category: "resident".into(),
            amount: Fen::from_fen(2_000),
            channel: "personal_account".into(),
            agent_id: None,
            paid_at: None,
            kind: "resident_premium".into(),
        }),
    ]))
    .expect("settle and pay a premium");
    let mut repaid = recovery_case("repaid");
    repaid.repaid_entry_id = Some(4);
    s.commit(&batch(vec![
        Write::Entry(opening(4, "P0001", 45_000, 1_234)),
        Write::RecoveryCase(repaid),
        Write::Audit(audit(3)),
    ]))
    .expect("repay a recovery");
}

/// The report names `table id` as the first broken row of its chain.
fn assert_broken_at(report: &gongji_store::VerifyReport, table: &str, id: i64) {
    assert!(
        report.violations.iter().any(|v| matches!(
            v,
            Violation::ChainBroken { table: t, id: i, .. } if t == table && *i == id
        )),
        "expected {table} {id} named: {report}"
    );
    assert!(
        report
            .to_string()
            .contains(&format!("{table} {id}: hash chain broken")),
        "{report}"
    );
}

fn chains_cover_every_row_and_hash_alike_on_both_backends<B: Backend>(b: &B) {
    let mut s = b.open();
    chained_ledger(&mut s);
    let report = s.verify().expect("verify");
    assert!(report.is_clean(), "{report}");
    let heads: Vec<(String, u64, String)> = report
        .chains
        .iter()
        .map(|c| {
            (
                c.table.clone(),
                c.rows,
                gongji_store::chain::to_hex(&c.head),
            )
        })
        .collect();
    // The same rows give the same heads on SQLite and PostgreSQL: the encoding is over the
    // stored values, not over either database's representation.
    assert_eq!(
        heads,
        vec![
            (
                "journal".to_string(),
                4,
                "6b621077bd8f999cce39e94e01a2f1c58526cc0051d0e3e7758ad389fa03ced5".to_string()
            ),
            (
                "audit_log".to_string(),
                3,
                "ef9577d32ea565d931f171ac36a113ab18595e61dab8e3ec242cf7293b06308e".to_string()
            ),
        ]
    );
    assert_eq!(
        B::scalar(
            &mut s,
            "SELECT COUNT(*) FROM journal WHERE chain_alg = 'sm3' AND chain_hash IS NOT NULL"
        ),
        4
    );
}

fn verify_names_a_settlement_amount_zeroed<B: Backend>(b: &B) {
    let mut s = b.open();
    chained_ledger(&mut s);
    B::exec(
        &mut s,
        "UPDATE settlements SET acct_mulaid_pay = 0 WHERE setl_id = 'S2'",
    );
    assert_broken_at(&s.verify().expect("verify"), "journal", 2);
}

fn verify_names_a_posting_amount_changed<B: Backend>(b: &B) {
    let mut s = b.open();
    chained_ledger(&mut s);
    // Moved between two postings of the entry: it still balances, and so do the accounts'
    // sums, since the balances were moved to match.
    B::exec(
        &mut s,
        "UPDATE postings SET amount_fen = amount_fen - 100 WHERE entry_id = 3 AND seq = 0;
         UPDATE postings SET amount_fen = amount_fen + 100 WHERE entry_id = 3 AND seq = 1;
         UPDATE accounts SET balance_fen = balance_fen - 100 WHERE account_key = 'psn:P0001';
         UPDATE accounts SET balance_fen = balance_fen + 100 WHERE account_key = 'premium:370600';
         UPDATE postings SET balance_after_fen = balance_after_fen - 100
             WHERE account_key = 'psn:P0001' AND entry_id >= 3;",
    );
    let report = s.verify().expect("verify");
    assert_broken_at(&report, "journal", 3);
    assert_eq!(report.violations.len(), 1, "{report}");
}

fn verify_names_a_journal_row_deleted<B: Backend>(b: &B) {
    let mut s = b.open();
    chained_ledger(&mut s);
    B::exec(
        &mut s,
        "DELETE FROM premiums WHERE entry_id = 3;
         DELETE FROM postings WHERE entry_id = 3;
         DELETE FROM journal WHERE entry_id = 3;",
    );
    assert_broken_at(&s.verify().expect("verify"), "journal", 4);
}

fn verify_names_the_last_journal_row_deleted<B: Backend>(b: &B) {
    let mut s = b.open();
    chained_ledger(&mut s);
    B::exec(
        &mut s,
        "DELETE FROM postings WHERE entry_id = 4;
         DELETE FROM journal WHERE entry_id = 4;
         UPDATE accounts SET balance_fen = balance_fen - 1234 WHERE account_key = 'psn:P0001';
         UPDATE accounts SET balance_fen = balance_fen + 1234 WHERE account_key = 'funding';",
    );
    let report = s.verify().expect("verify");
    assert!(
        report.violations.iter().any(|v| matches!(
            v,
            Violation::ChainHead { table, .. } if table == "journal"
        )),
        "{report}"
    );
    assert!(
        report.to_string().contains("journal: chain head"),
        "{report}"
    );
}

fn verify_names_a_posting_deleted<B: Backend>(b: &B) {
    let mut s = b.open();
    chained_ledger(&mut s);
    B::exec(
        &mut s,
        "DELETE FROM postings WHERE entry_id = 2 AND seq = 1",
    );
    assert_broken_at(&s.verify().expect("verify"), "journal", 2);
}

fn verify_names_postings_reordered<B: Backend>(b: &B) {
    let mut s = b.open();
    chained_ledger(&mut s);
    B::exec(
        &mut s,
        "UPDATE postings SET seq = 9 WHERE entry_id = 2 AND seq = 0;
         UPDATE postings SET seq = 0 WHERE entry_id = 2 AND seq = 2;
         UPDATE postings SET seq = 2 WHERE entry_id = 2 AND seq = 9;",
    );
    assert_broken_at(&s.verify().expect("verify"), "journal", 2);
}

fn verify_names_journal_rows_reordered<B: Backend>(b: &B) {
    let mut s = b.open();
    chained_ledger(&mut s);
    // Entries 3 and 4 swap places, their hashes with them.
    B::exec(
        &mut s,
        "UPDATE journal SET entry_id = 99 WHERE entry_id = 3;
         UPDATE journal SET entry_id = 3 WHERE entry_id = 4;
         UPDATE journal SET entry_id = 4 WHERE entry_id = 99;
         UPDATE postings SET entry_id = 99 WHERE entry_id = 3;
         UPDATE postings SET entry_id = 3 WHERE entry_id = 4;
         UPDATE postings SET entry_id = 4 WHERE entry_id = 99;",
    );
    // Third in the chain is now the row numbered 4.
    assert_broken_at(&s.verify().expect("verify"), "journal", 4);
}

fn verify_names_the_chain_order_changed<B: Backend>(b: &B) {
    let mut s = b.open();
    chained_ledger(&mut s);
    B::exec(
        &mut s,
        "UPDATE journal SET chain_seq = 99 WHERE chain_seq = 2;
         UPDATE journal SET chain_seq = 2 WHERE chain_seq = 3;
         UPDATE journal SET chain_seq = 3 WHERE chain_seq = 99;",
    );
    assert_broken_at(&s.verify().expect("verify"), "journal", 3);
}

fn verify_names_a_journal_row_slipped_in_outside_the_chain<B: Backend>(b: &B) {
    let mut s = b.open();
    chained_ledger(&mut s);
    B::exec(
        &mut s,
        "INSERT INTO journal (entry_id, kind, admdvs, channel, occurred_at, summary)
         VALUES (7, 'opening', '370602', '1', '2025-03-09 10:00:00', 'slipped in')",
    );
    assert_broken_at(&s.verify().expect("verify"), "journal", 7);
}

fn verify_names_a_posting_text_changed<B: Backend>(b: &B) {
    let mut s = b.open();
    chained_ledger(&mut s);
    B::exec(
        &mut s,
        "UPDATE postings SET explanation = '个人账户支付' WHERE entry_id = 2 AND seq = 0",
    );
    assert_broken_at(&s.verify().expect("verify"), "journal", 2);
}

fn verify_names_a_premium_changed<B: Backend>(b: &B) {
    let mut s = b.open();
    chained_ledger(&mut s);
    B::exec(&mut s, "UPDATE premiums SET holder_psn_no = 'P0009'");
    assert_broken_at(&s.verify().expect("verify"), "journal", 3);
}

/// A settlement's usage deltas (what a cancel takes back, what later caps are decided on)
/// are chained with its entry: one changed, with its counter moved to match, names the
/// entry. Fails before usage_log was in the chain (verify said all clean).
fn verify_names_a_usage_row_changed<B: Backend>(b: &B) {
    let mut s = b.open();
    chained_ledger(&mut s);
    B::exec(
        &mut s,
        "UPDATE usage_log SET fund_fen = fund_fen - 5000 WHERE entry_id = 2 AND kind = 'pool';
         UPDATE pool_usage SET fund_fen = fund_fen - 5000;",
    );
    let report = s.verify().expect("verify");
    assert_broken_at(&report, "journal", 2);
    assert_eq!(report.violations.len(), 1, "{report}");
}

fn verify_names_a_usage_row_deleted<B: Backend>(b: &B) {
    let mut s = b.open();
    chained_ledger(&mut s);
    B::exec(
        &mut s,
        "DELETE FROM usage_log WHERE entry_id = 2 AND kind = 'binding';
         DELETE FROM binding_usage;",
    );
    let report = s.verify().expect("verify");
    assert_broken_at(&report, "journal", 2);
    assert_eq!(report.violations.len(), 1, "{report}");
}

/// The fee lines a settlement paid are chained with it, as it paid them: a line's amount
/// changed, or a line removed, names the settlement's entry. A cancel releasing the visit's
/// working lines (`fee_details`) changes nothing of that. Fails before the lines were kept
/// and chained (there was nothing to change, and fee_details was not checked).
fn verify_names_a_settled_fee_line_changed_or_removed<B: Backend>(b: &B) {
    let mut s = b.open();
    chained_ledger(&mut s);
    B::exec(&mut s, "UPDATE fee_details SET setl_id = NULL");
    assert!(s.verify().expect("verify").is_clean());
    B::exec(
        &mut s,
        "UPDATE settled_fees SET amount_fen = 600, price_fen = 600 WHERE feedetl_sn = '1'",
    );
    assert_broken_at(&s.verify().expect("verify"), "journal", 2);
    B::exec(
        &mut s,
        "UPDATE settled_fees SET amount_fen = 6000, price_fen = 6000 WHERE feedetl_sn = '1'",
    );
    assert!(s.verify().expect("verify").is_clean());
    B::exec(&mut s, "DELETE FROM settled_fees WHERE feedetl_sn = '2'");
    assert_broken_at(&s.verify().expect("verify"), "journal", 2);
}

/// A usage counter changed alone (a cap's fund paid lowered, so the pool pays again; a
/// binding's month cleared, so its limit allows more): verify names the counter. Fails
/// before the counters were checked.
fn verify_names_a_usage_counter_changed<B: Backend>(b: &B) {
    let mut s = b.open();
    chained_ledger(&mut s);
    assert!(s.verify().expect("verify").is_clean());
    B::exec(
        &mut s,
        "UPDATE pool_usage SET fund_fen = 0;
         UPDATE binding_usage SET amount_fen = 0;",
    );
    let report = s.verify().expect("verify");
    let text = report.to_string();
    assert!(
        text.contains("pool_usage P0001/2025/outpatient: counter holds deductible 5.00 fund 0.00"),
        "{text}"
    );
    assert!(
        text.contains("binding_usage binding 1 2025-03: counter holds 0.00 but its usage_log rows sum to 10.00"),
        "{text}"
    );
    assert_eq!(report.violations.len(), 2, "{report}");
}

/// A usage row slipped in for no entry, its counter moved to match: the row belongs to no
/// chained entry, so the counter disagrees with the rows that do.
fn verify_names_a_usage_row_slipped_in<B: Backend>(b: &B) {
    let mut s = b.open();
    chained_ledger(&mut s);
    B::exec(
        &mut s,
        "INSERT INTO usage_log (entry_id, kind, psn_no, period, cap_group, binding_id,
             deductible_fen, fund_fen, burden_fen, amount_fen)
         VALUES (77, 'pool', 'P0001', '2025', 'outpatient', NULL, 0, -7000, 0, 0);
         UPDATE pool_usage SET fund_fen = 0;",
    );
    let report = s.verify().expect("verify");
    assert!(
        report
            .to_string()
            .contains("pool_usage P0001/2025/outpatient: counter holds deductible 5.00 fund 0.00"),
        "{report}"
    );
}

/// Issue 13: the payment channel is part of the chained row (migration 0025), while rows
/// written with the default channel hash as they did before it.
fn verify_names_a_premium_channel_changed<B: Backend>(b: &B) {
    let mut s = b.open();
    chained_ledger(&mut s);
    assert!(s.verify().expect("verify").violations.is_empty());
    B::exec(&mut s, "UPDATE premiums SET channel = 'wechat'");
    assert_broken_at(&s.verify().expect("verify"), "journal", 3);
    B::exec(
        &mut s,
        "UPDATE premiums SET channel = 'personal_account', paid_at = '2025-10-10T09:00:00+08:00'",
    );
    assert_broken_at(&s.verify().expect("verify"), "journal", 3);
    B::exec(&mut s, "UPDATE premiums SET paid_at = NULL");
    assert!(s.verify().expect("verify").violations.is_empty());
}

fn payment_orders_and_agents_are_kept<B: Backend>(b: &B) {
    use gongji_store::payments::{AgentRow, PaymentOrderRow};
    let mut s = b.open();
    let order = PaymentOrderRow {
        order_id: "GJP2025101009000001".into(),
        provider: "hmac".into(),
        channel: "wechat".into(),
        psn_no: "P0002".into(),
        payer_psn_no: Some("P0002".into()),
        agent_id: None,
        year: 2026,
        kind: "resident_premium".into(),
        category: "general".into(),
        amount: Fen::from_fen(40_000),
        created_at: "2025-10-10 09:00:00".into(),
    };
    s.put_payment_order(&order).expect("order");
    assert!(
        s.put_payment_order(&order).is_err(),
        "an order id is used once"
    );
    assert_eq!(s.payment_order(&order.order_id).expect("read"), Some(order));
    assert_eq!(s.payment_order("GJP-NONE").expect("read"), None);
    let agent = AgentRow {
        agent_id: "VC-001".into(),
        name: "张店村委会".into(),
        admdvs: "370303".into(),
        kind: "village_committee".into(),
        token_sha256: "ab".repeat(32),
        added_by: "admin".into(),
        added_at: "2025-10-10 09:00:00".into(),
    };
    s.put_agent(&agent).expect("agent");
    assert_eq!(s.agents().expect("agents"), vec![agent.clone()]);
    assert_eq!(
        s.agent_by_token(&"ab".repeat(32)).expect("read"),
        Some(agent)
    );
    assert_eq!(s.agent_by_token("cd").expect("read"), None);
}

fn verify_names_an_audit_row_deleted<B: Backend>(b: &B) {
    let mut s = b.open();
    chained_ledger(&mut s);
    B::exec(&mut s, "DELETE FROM audit_log WHERE audit_id = 2");
    assert_broken_at(&s.verify().expect("verify"), "audit_log", 3);
}

fn verify_names_the_last_audit_row_deleted<B: Backend>(b: &B) {
    let mut s = b.open();
    chained_ledger(&mut s);
    B::exec(&mut s, "DELETE FROM audit_log WHERE audit_id = 3");
    let report = s.verify().expect("verify");
    assert!(
        report.violations.iter().any(|v| matches!(
            v,
            Violation::ChainHead { table, .. } if table == "audit_log"
        )),
        "{report}"
    );
}

fn verify_names_an_audit_row_changed<B: Backend>(b: &B) {
    let mut s = b.open();
    chained_ledger(&mut s);
    B::exec(
        &mut s,
        "UPDATE audit_log SET before_state = NULL WHERE audit_id = 2",
    );
    assert_broken_at(&s.verify().expect("verify"), "audit_log", 2);
}

fn verify_names_a_reversal_mark_without_its_cancel<B: Backend>(b: &B) {
    let mut s = b.open();
    chained_ledger(&mut s);
    // Marks settlement 2 cancelled, "by" entry 4, which reverses nothing.
    B::exec(
        &mut s,
        "UPDATE journal SET reversed_by = 4 WHERE entry_id = 2;
         UPDATE settlements SET cancelled = 1 WHERE entry_id = 2;",
    );
    let report = s.verify().expect("verify");
    assert!(
        report
            .violations
            .iter()
            .any(|v| matches!(v, Violation::CancelFlag { entry_id: 2, .. })),
        "{report}"
    );
}

fn sha256_is_recorded_per_row_when_chosen<B: Backend>(b: &B) {
    let mut s = b.open();
    chained_ledger(&mut s);
    B::exec(&mut s, "UPDATE chain_heads SET alg = 'sha256'");
    s.commit(&batch(vec![
        Write::Entry(opening(5, "P0001", 46_234, 100)),
        Write::Audit(audit(4)),
    ]))
    .expect("commit under sha256");
    let report = s.verify().expect("verify");
    assert!(report.is_clean(), "{report}");
    assert_eq!(
        B::scalar(
            &mut s,
            "SELECT COUNT(*) FROM journal WHERE chain_alg = 'sha256'"
        ),
        1
    );
    assert_eq!(
        B::scalar(
            &mut s,
            "SELECT COUNT(*) FROM journal WHERE chain_alg = 'sm3'"
        ),
        4
    );
    assert_eq!(
        report.chains[0].alg,
        gongji_store::ChainAlg::Sha256,
        "{report}"
    );
    // A row's algorithm is part of what it claims: changing it breaks the link.
    B::exec(
        &mut s,
        "UPDATE audit_log SET chain_alg = 'sm3' WHERE audit_id = 4",
    );
    assert_broken_at(&s.verify().expect("verify"), "audit_log", 4);
}

/// Takes migration 0016 back out, as if the database were made before the chains (also
/// what an attacker who rewrites every hash achieves).
fn unchain<B: Backend>(s: &mut B::S) {
    B::exec(
        s,
        "DROP INDEX journal_chain_seq;
         ALTER TABLE journal DROP COLUMN chain_seq;
         ALTER TABLE journal DROP COLUMN chain_alg;
         ALTER TABLE journal DROP COLUMN chain_hash;
         ALTER TABLE audit_log DROP COLUMN chain_alg;
         ALTER TABLE audit_log DROP COLUMN chain_hash;
         DROP TABLE chain_heads;
         DROP INDEX settlements_entry;
         DROP INDEX recovery_cases_repaid;
         DELETE FROM schema_migrations WHERE name = '0016_chains';",
    );
}

fn rows_written_before_the_chains_are_chained_at_open<B: Backend>(b: &B) {
    let heads = {
        let mut s = b.open();
        chained_ledger(&mut s);
        let heads = s.verify().expect("verify").chains;
        unchain::<B>(&mut s);
        heads
    };
    let mut s = b.open();
    let report = s.verify().expect("verify");
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.chains, heads);
    // And the writer goes on from there.
    s.commit(&batch(vec![Write::Entry(opening(5, "P0001", 46_234, 100))]))
        .expect("commit after the migration");
    let report = s.verify().expect("verify");
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.chains[0].rows, 5);
}

fn anchors_catch_a_rewritten_chain_and_allow_appends<B: Backend>(b: &B) {
    let anchor: Vec<gongji_store::Checkpoint> = {
        let mut s = b.open();
        chained_ledger(&mut s);
        s.verify()
            .expect("verify")
            .chains
            .iter()
            .map(|c| gongji_store::Checkpoint {
                table: c.table.clone(),
                rows: c.rows,
                head: c.head,
            })
            .collect()
    };
    {
        // Appending after the anchor changes nothing before it.
        let mut s = b.open();
        s.commit(&batch(vec![
            Write::Entry(opening(5, "P0001", 46_234, 100)),
            Write::Audit(audit(4)),
        ]))
        .expect("append");
        let report = s.verify_with(&anchor).expect("verify with anchor");
        assert!(report.is_clean(), "{report}");
        // An edit before the anchor whose author then rewrote every hash: the chain is
        // whole again, but it no longer passes through the anchor.
        B::exec(
            &mut s,
            "UPDATE settlements SET acct_mulaid_pay = 0 WHERE setl_id = 'S2'",
        );
        unchain::<B>(&mut s);
    }
    let mut s = b.open();
    assert!(s.verify().expect("verify").is_clean());
    let report = s.verify_with(&anchor).expect("verify with anchor");
    assert!(
        report.violations.iter().any(|v| matches!(
            v,
            Violation::AnchorMismatch { table, .. } if table == "journal"
        )),
        "{report}"
    );
    assert!(
        report.to_string().contains("journal: anchor not matched"),
        "{report}"
    );
    // An anchor over more rows than the chain holds: rows were removed.
    let mut longer = anchor.clone();
    longer[1].rows = 9;
    let report = s.verify_with(&longer).expect("verify with anchor");
    assert!(
        report.violations.iter().any(|v| matches!(
            v,
            Violation::AnchorMismatch { table, .. } if table == "audit_log"
        )),
        "{report}"
    );
}

// ---------------------------------------------------------------------------------------
// 补报 (R-R2): a held-back share written with its settlement, paid once, both chained.

fn withheld_row(setl_id: &str, entry_id: i64) -> WithheldRow {
    WithheldRow {
        setl_id: setl_id.to_string(),
        seq: 0,
        entry_id,
        psn_no: "P0001".to_string(),
        admdvs: ADMDVS.to_string(),
        year: 2025,
        setl_date: "2025-03-01".to_string(),
        fund_pay_type: "390102".to_string(),
        name_zh: "居民门诊统筹".to_string(),
        amount: Fen::from_fen(3_600),
        explanation: "甲类60元×60%".to_string(),
    }
}

fn bubao_is_kept_once_per_settlement_and_chained<B: Backend>(b: &B) {
    let mut s = b.open();
    funded(&mut s);
    // Entry 2: the settlement, all from the personal account, 36.00 of the fund held back.
    let settle = entry(
        2,
        "settle",
        Some("m-s1"),
        vec![
            posting("psn:P0001", -6_000, 44_000),
            posting(&format!("inst:{INST}"), 6_000, 6_000),
        ],
    );
    s.commit(&batch(vec![
        Write::Entry(settle),
        Write::Settlement(settlement_row("S1", 2, "P0001", 6_000, 6_000)),
        Write::Withheld(withheld_row("S1", 2)),
    ]))
    .expect("settle");
    let open = s.bubao_candidates().expect("candidates");
    assert_eq!(open.len(), 1);
    let of_person = |paid: Option<Fen>| {
        vec![gongji_store::read::PersonBubao {
            setl_id: "S1".to_string(),
            setl_date: "2025-03-01".to_string(),
            fixmedins_code: INST.to_string(),
            year: 2025,
            held: Fen::from_fen(3_600),
            cancelled: false,
            paid,
        }]
    };
    assert_eq!(
        s.bubao_of_person("P0001").expect("of person"),
        of_person(None)
    );
    assert!(s.bubao_of_person("P0002").expect("of another").is_empty());
    assert_eq!(open[0].setl_id, "S1");
    assert_eq!(open[0].lines, vec![withheld_row("S1", 2)]);
    assert_eq!(
        Store::withheld(&mut s, "S1").expect("withheld"),
        vec![withheld_row("S1", 2)]
    );
    let bubao = |entry_id: i64| BubaoRow {
        setl_id: "S1".to_string(),
        entry_id,
        psn_no: "P0001".to_string(),
        admdvs: ADMDVS.to_string(),
        year: 2025,
        amount: Fen::from_fen(3_600),
        paid_on: "2025-02-20".to_string(),
    };
    let pay = |entry_id: i64, fund_before: i64, cash_before: i64| {
        let mut e = entry(
            entry_id,
            "bubao",
            Some(&format!("bubao:S1:{entry_id}")),
            vec![
                posting("fund:370600:390102", -3_600, fund_before - 3_600),
                posting("cash", 3_600, cash_before + 3_600),
            ],
        );
        e.psn_no = Some("P0001".to_string());
        e
    };
    s.commit(&batch(vec![
        Write::Entry(pay(3, 0, 0)),
        Write::Bubao(bubao(3)),
    ]))
    .expect("bubao");
    assert!(s.bubao_candidates().expect("candidates").is_empty());
    assert_eq!(s.bubao_paid(10).expect("paid"), vec![bubao(3)]);
    assert_eq!(
        s.bubao_of_person("P0001").expect("of person"),
        of_person(Some(Fen::from_fen(3_600)))
    );
    // A second 补报 of the same settlement is refused by the store, and leaves no trace.
    expect_conflict(
        s.commit(&batch(vec![
            Write::Entry(pay(4, -3_600, 3_600)),
            Write::Bubao(bubao(4)),
        ])),
        "a second 补报",
    );
    assert_eq!(balance(&mut s, "cash"), Some(3_600));
    let report = s.verify().expect("verify");
    assert!(report.is_clean(), "{report}");
    // Both rows are in the journal chain: changing either breaks it where it is recorded.
    B::exec(&mut s, "UPDATE pool_withheld SET amount_fen = 9900");
    assert_broken_at(&s.verify().expect("verify"), "journal", 2);
}

/// 补报 dates a payment by the tax collection time the channel's notification carried, not
/// by when it reached Gongji (R-R2): a notification of 20 February recorded on 23 February
/// reads back as paid on 20 February; a payment from a personal account has no such time
/// and reads as its journal entry's.
fn a_channel_premium_is_dated_by_the_time_its_notification_carried<B: Backend>(b: &B) {
    let mut s = b.open();
    funded(&mut s);
    let premium = |entry_id: i64, psn: &str, channel: &str, paid_at: Option<&str>| {
        Write::Premium(PremiumRow {
            relative_psn_no: psn.into(),
            year: 2026,
            entry_id,
            holder_psn_no: psn.into(),
            category: "general".into(),
            amount: Fen::from_fen(38_000),
            channel: channel.into(),
            agent_id: None,
            paid_at: paid_at.map(str::to_string),
            kind: "resident_premium".into(),
        })
    };
    let late = at(
        entry(
            2,
            "premium",
            Some("notify:4200A"),
            vec![
                posting("clearing:wechat", -38_000, -38_000),
                posting("premium:370602:390", 38_000, 38_000),
            ],
        ),
        "2026-02-23 08:00:00",
    );
    let own = at(
        entry(
            3,
            "premium",
            None,
            vec![
                posting("psn:P0001", -38_000, 12_000),
                posting("premium:370602:390", 38_000, 76_000),
            ],
        ),
        "2026-02-24 09:00:00",
    );
    s.commit(&batch(vec![
        Write::Entry(late),
        premium(2, "P0002", "wechat", Some("2026-02-20T10:00:00+08:00")),
        Write::Entry(own),
        premium(3, "P0003", "personal_account", None),
    ]))
    .expect("two premiums");
    let paid = |s: &mut B::S, psn: &str| {
        let rows = Store::premium_payments(s, psn).expect("payments");
        assert_eq!(rows.len(), 1, "{rows:?}");
        (rows[0].paid_on().to_string(), rows[0].channel.clone())
    };
    assert_eq!(
        paid(&mut s, "P0002"),
        ("2026-02-20".to_string(), "wechat".to_string())
    );
    assert_eq!(
        paid(&mut s, "P0003"),
        ("2026-02-24".to_string(), "personal_account".to_string())
    );
    let report = s.verify().expect("verify");
    assert!(report.is_clean(), "{report}");
}
