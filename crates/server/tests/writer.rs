//! The writer seen from the server (issue 11): reads of the store run beside it, not on it;
//! once it has stopped (a failed commit whose reload failed), the health check is red and
//! nothing is decided or shown from its state; and a refusal has one HTTP status, on the
//! API and on the pages alike.

mod common;

use std::collections::HashMap;
use std::sync::{mpsc, Arc, Mutex};

use common::*;
use gongji_core::codes::{AccountUse, Channel, InstitutionKind, MedType};
use gongji_core::pooling::FeeLine;
use gongji_core::Fen;
use gongji_engine::{Command, EngineError, Outcome, Request, SettleCommand};
use gongji_server::app::DynStore;
use gongji_store::read::{
    AuditEntry, AuditQuery, OperatorRow, RecordQuery, RecordRow, RecoveryQuery, ReportQuery,
    ReportRow, SessionRow, StaffRow, YearTotals,
};
use gongji_store::{
    CommitmentRow, ReadStore, ReaderSource, ReconcileQuery, ReconcileTotals, RecoveryCaseRow,
    Snapshot, Store, StoreError, StoredAnswer, StoredSettlement, VerifyReport, WriteBatch,
};
use reqwest::Method;

/// A person with 100 yuan, a pharmacy and a drug, in Jinan.
struct Shop {
    patient: P,
    pharmacy: String,
    item: String,
}

fn shop(f: &mut Fixture) -> Shop {
    Shop {
        patient: f.employee(JINAN, 100),
        pharmacy: f.institution(JINAN, InstitutionKind::Pharmacy, 36.65, 117.0, true),
        item: f.item(),
    }
}

impl Shop {
    fn purchase(&self, yuan: i64) -> Request {
        let amount = Fen::from_yuan(yuan);
        Request::new(Command::Settle(SettleCommand {
            institution: self.pharmacy.clone(),
            psn_no: self.patient.psn_no.clone(),
            credential: None,
            med_type: MedType::PharmacyPurchase,
            account_use: AccountUse::OwnAccount,
            lines: vec![FeeLine {
                sn: "1".into(),
                item_code: self.item.clone(),
                amount,
                count_e4: 10_000,
                price: amount,
            }],
            declared_total: None,
            mdtrt_id: None,
            channel: Channel::Window,
            at: time(NOW),
            dry_run: false,
        }))
    }
}

fn code_of(r: Result<Outcome, EngineError>) -> String {
    match r {
        Ok(o) => format!("went through: {o:?}"),
        Err(e) => e.code().to_string(),
    }
}

// ---------------------------------------------------------------------------------------
// Reads beside the writer.

/// Holds the mutual-aid report inside its reader until released.
struct Gate {
    entered: tokio::sync::mpsc::UnboundedSender<()>,
    release: Mutex<mpsc::Receiver<()>>,
}

struct GatedSource {
    inner: Arc<dyn ReaderSource>,
    gate: Arc<Gate>,
}

impl ReaderSource for GatedSource {
    fn open_reader(&self) -> Result<Box<dyn ReadStore + Send>, StoreError> {
        Ok(Box::new(GatedReader {
            inner: self.inner.open_reader()?,
            gate: self.gate.clone(),
        }))
    }
}

struct GatedReader {
    inner: Box<dyn ReadStore + Send>,
    gate: Arc<Gate>,
}

impl ReadStore for GatedReader {
    fn mutual_aid_report(&mut self, q: &ReportQuery) -> Result<Vec<ReportRow>, StoreError> {
        let _ = self.gate.entered.send(());
        if let Ok(release) = self.gate.release.lock() {
            let _ = release.recv();
        }
        self.inner.mutual_aid_report(q)
    }
    fn records(&mut self, q: &RecordQuery) -> Result<Vec<RecordRow>, StoreError> {
        self.inner.records(q)
    }
    fn year_totals(&mut self, psn_no: &str, year: i32) -> Result<YearTotals, StoreError> {
        self.inner.year_totals(psn_no, year)
    }
    fn persons_by_phone(&mut self, phone: &str) -> Result<Vec<String>, StoreError> {
        self.inner.persons_by_phone(phone)
    }
    fn search_persons(&mut self, text: &str, limit: u32) -> Result<Vec<String>, StoreError> {
        self.inner.search_persons(text, limit)
    }
    fn staff(&mut self, username: &str) -> Result<Option<StaffRow>, StoreError> {
        self.inner.staff(username)
    }
    fn app_partner(
        &mut self,
        app_code: &str,
    ) -> Result<Option<gongji_store::read::AppPartnerRow>, StoreError> {
        self.inner.app_partner(app_code)
    }
    fn recovery_cases(&mut self, q: &RecoveryQuery) -> Result<Vec<RecoveryCaseRow>, StoreError> {
        self.inner.recovery_cases(q)
    }
    fn commitment(&mut self, binding_id: i64) -> Result<Option<CommitmentRow>, StoreError> {
        self.inner.commitment(binding_id)
    }
    fn audit_log(&mut self, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        self.inner.audit_log(q)
    }
    fn operator(&mut self, code: &str, username: &str) -> Result<Option<OperatorRow>, StoreError> {
        self.inner.operator(code, username)
    }
    fn insert_session(&mut self, row: &SessionRow) -> Result<(), StoreError> {
        self.inner.insert_session(row)
    }
    fn session(&mut self, token_sha256: &str) -> Result<Option<SessionRow>, StoreError> {
        self.inner.session(token_sha256)
    }
    fn touch_session(
        &mut self,
        token_sha256: &str,
        last_seen_at: &str,
        expires_at: &str,
    ) -> Result<(), StoreError> {
        self.inner
            .touch_session(token_sha256, last_seen_at, expires_at)
    }
    fn delete_session(&mut self, token_sha256: &str) -> Result<(), StoreError> {
        self.inner.delete_session(token_sha256)
    }
    fn delete_expired_sessions(&mut self, now: &str) -> Result<u64, StoreError> {
        self.inner.delete_expired_sessions(now)
    }
}

/// A staff report that is still running (held inside its reader) does not hold a settlement
/// back: the settlement is answered, and durable, while the report waits. When reports ran
/// on the writer's thread, the settlement waited for the report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_still_running_does_not_hold_back_a_settlement() {
    let mut f = Fixture::new();
    let shop = shop(&mut f);
    let (entered_tx, mut entered) = tokio::sync::mpsc::unbounded_channel();
    let (release, release_rx) = mpsc::channel();
    let gate = Arc::new(Gate {
        entered: entered_tx,
        release: Mutex::new(release_rx),
    });
    let s = f
        .start_with(|app| {
            let inner = app.reader_source().expect("a file database has readers");
            app.with_readers(Arc::new(GatedSource { inner, gate }))
        })
        .await;
    let token = s.staff("admin1").await;

    let report = tokio::spawn(
        s.req(
            Method::GET,
            "/api/v1/staff/reports/mutual-aid?from=2025-10-01&to=2025-10-31",
            Some(&token),
        )
        .send(),
    );
    entered.recv().await.expect("the report reached its reader");

    // The bound only keeps a failing run from hanging; nothing here measures time.
    let settled = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        s.app.submit(shop.purchase(30)),
    )
    .await
    .expect("the settlement was answered while the report was still running");
    assert!(
        matches!(settled, Ok(Outcome::Settled(_))),
        "{}",
        code_of(settled)
    );
    assert!(!report.is_finished(), "the report is still held");
    assert_eq!(s.balance(&shop.patient).await, Fen::from_yuan(70));

    release.send(()).expect("release the report");
    let answer = report.await.expect("report task").expect("report answer");
    assert_eq!(answer.status(), 200);
    s.verify_clean().await;
}

// ---------------------------------------------------------------------------------------
// Fail-stop.

#[derive(Clone, Default)]
struct Faults(Arc<Mutex<(u32, u32)>>);

impl Faults {
    /// The next commit fails (nothing written), and so do the next `loads` reloads.
    fn fail_next_commit_and_reloads(&self, loads: u32) {
        if let Ok(mut f) = self.0.lock() {
            *f = (f.0 + 1, f.1 + loads);
        }
    }

    fn take(&self, which: fn(&mut (u32, u32)) -> &mut u32) -> bool {
        let Ok(mut f) = self.0.lock() else {
            return false;
        };
        let n = which(&mut f);
        let hit = *n > 0;
        *n = n.saturating_sub(1);
        hit
    }
}

struct Faulty {
    inner: DynStore,
    faults: Faults,
}

impl Store for Faulty {
    fn load_snapshot(&mut self) -> Result<Snapshot, StoreError> {
        if self.faults.take(|f| &mut f.1) {
            return Err(StoreError::Io("injected fault: load".into()));
        }
        self.inner.load_snapshot()
    }
    fn commit(&mut self, batch: &WriteBatch) -> Result<(), StoreError> {
        if self.faults.take(|f| &mut f.0) {
            return Err(StoreError::Io("injected fault: commit".into()));
        }
        self.inner.commit(batch)
    }
    fn answer_for_msgid(&mut self, msgid: &str) -> Result<Option<StoredAnswer>, StoreError> {
        self.inner.answer_for_msgid(msgid)
    }
    fn answers_for_msgids(
        &mut self,
        msgids: &[&str],
    ) -> Result<HashMap<String, StoredAnswer>, StoreError> {
        self.inner.answers_for_msgids(msgids)
    }
    fn settlement(&mut self, setl_id: &str) -> Result<Option<StoredSettlement>, StoreError> {
        self.inner.settlement(setl_id)
    }
    fn verify(&mut self) -> Result<VerifyReport, StoreError> {
        self.inner.verify()
    }
    fn reconcile(&mut self, q: &ReconcileQuery) -> Result<ReconcileTotals, StoreError> {
        self.inner.reconcile(q)
    }
}

impl ReadStore for Faulty {
    fn reader_source(&self) -> Option<Arc<dyn ReaderSource>> {
        self.inner.reader_source()
    }
    fn records(&mut self, q: &RecordQuery) -> Result<Vec<RecordRow>, StoreError> {
        self.inner.records(q)
    }
    fn year_totals(&mut self, psn_no: &str, year: i32) -> Result<YearTotals, StoreError> {
        self.inner.year_totals(psn_no, year)
    }
    fn persons_by_phone(&mut self, phone: &str) -> Result<Vec<String>, StoreError> {
        self.inner.persons_by_phone(phone)
    }
    fn search_persons(&mut self, text: &str, limit: u32) -> Result<Vec<String>, StoreError> {
        self.inner.search_persons(text, limit)
    }
    fn mutual_aid_report(&mut self, q: &ReportQuery) -> Result<Vec<ReportRow>, StoreError> {
        self.inner.mutual_aid_report(q)
    }
    fn staff(&mut self, username: &str) -> Result<Option<StaffRow>, StoreError> {
        self.inner.staff(username)
    }
    fn app_partner(
        &mut self,
        app_code: &str,
    ) -> Result<Option<gongji_store::read::AppPartnerRow>, StoreError> {
        self.inner.app_partner(app_code)
    }
    fn recovery_cases(&mut self, q: &RecoveryQuery) -> Result<Vec<RecoveryCaseRow>, StoreError> {
        self.inner.recovery_cases(q)
    }
    fn commitment(&mut self, binding_id: i64) -> Result<Option<CommitmentRow>, StoreError> {
        self.inner.commitment(binding_id)
    }
    fn audit_log(&mut self, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        self.inner.audit_log(q)
    }
    fn operator(&mut self, code: &str, username: &str) -> Result<Option<OperatorRow>, StoreError> {
        self.inner.operator(code, username)
    }
    fn insert_session(&mut self, row: &SessionRow) -> Result<(), StoreError> {
        self.inner.insert_session(row)
    }
    fn session(&mut self, token_sha256: &str) -> Result<Option<SessionRow>, StoreError> {
        self.inner.session(token_sha256)
    }
    fn touch_session(
        &mut self,
        token_sha256: &str,
        last_seen_at: &str,
        expires_at: &str,
    ) -> Result<(), StoreError> {
        self.inner
            .touch_session(token_sha256, last_seen_at, expires_at)
    }
    fn delete_session(&mut self, token_sha256: &str) -> Result<(), StoreError> {
        self.inner.delete_session(token_sha256)
    }
    fn delete_expired_sessions(&mut self, now: &str) -> Result<u64, StoreError> {
        self.inner.delete_expired_sessions(now)
    }
}

/// A commit fails and so does the reload after it: `/healthz` turns 503 and says why, every
/// later settlement is refused with GJ-WRITER-STOPPED, and the person's own page (whose
/// balance would come from the stopped writer's memory) answers 503 with that code instead
/// of a balance the store never wrote.
#[tokio::test]
async fn a_writer_that_cannot_reload_stops_and_the_health_check_says_so() {
    let mut f = Fixture::new();
    let shop = shop(&mut f);
    let faults = Faults::default();
    let injector = faults.clone();
    let s = f
        .wrap_store(move |inner| {
            Box::new(Faulty {
                inner,
                faults: injector,
            })
        })
        .start()
        .await;
    let token = s.sign_in(&shop.patient).await;
    let health = s.get("/healthz", None).await;
    assert_eq!((health.status, health.body.as_str()), (200, Some("ok")));

    faults.fail_next_commit_and_reloads(1);
    assert_eq!(
        code_of(s.app.submit(shop.purchase(30)).await),
        "GJ-STORE-IO"
    );

    let health = s.get("/healthz", None).await;
    assert_eq!(health.status, 503, "{}", health.body);
    let why = health.body.as_str().unwrap_or_default();
    assert!(
        why.contains("结算服务暂停") && why.contains("reload"),
        "{why}"
    );
    assert_eq!(
        code_of(s.app.submit(shop.purchase(1)).await),
        "GJ-WRITER-STOPPED"
    );
    s.get("/api/v1/me", Some(&token))
        .await
        .refused(503, "GJ-WRITER-STOPPED");
}

// ---------------------------------------------------------------------------------------
// One status per refusal.

/// A phone two registry persons share needs the ID number: the API answers 409, and so does
/// the sign-in page (it answered 422 when the pages had a status map of their own).
#[tokio::test]
async fn a_refusal_has_the_same_status_on_the_pages_as_in_the_api() {
    let w = world().await;
    let s = &w.s;
    let phone = w.sh1.phone.clone();
    s.post(
        "/api/v1/auth/sms-code",
        None,
        serde_json::json!({ "phone": phone }),
    )
    .await
    .ok();
    let code = s.app.auth.sms.last_code(&phone).expect("code sent");
    s.post(
        "/api/v1/auth/session",
        None,
        serde_json::json!({ "phone": phone, "code": code }),
    )
    .await
    .refused(409, "GJ-AUTH-PHONE-SHARED");

    // The code is used up by that attempt: a fresh one for the page.
    s.set_now("2025-10-10 10:05:00");
    s.post(
        "/api/v1/auth/sms-code",
        None,
        serde_json::json!({ "phone": phone }),
    )
    .await
    .ok();
    let code = s.app.auth.sms.last_code(&phone).expect("code sent");
    let page = s
        .client
        .post(format!("{}/h5/signin", s.base))
        .header("cookie", "gongji_csrf=00112233445566778899aabbccddeeff")
        .form(&[
            ("op", "signin"),
            ("phone", &phone),
            ("code", &code),
            ("csrf", "00112233445566778899aabbccddeeff"),
        ])
        .send()
        .await
        .expect("page");
    let status = page.status().as_u16();
    let body = page.text().await.expect("body");
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("GJ-AUTH-PHONE-SHARED"), "{body}");
}
