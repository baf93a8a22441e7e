//! One fault-injecting store for every test: [`Faulty`] forwards every `Store` and
//! `ReadStore` call to the store it wraps, and a test's [`Faults`] make chosen calls fail
//! (the next one, the one after `n` that pass, a commit holding a chosen kind of write) or
//! wait at a [`Gate`] until the test lets them through. `ReadStore` has no default methods,
//! so a method added to it and not forwarded here fails to compile instead of answering
//! empty behind a test's back.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};

use gongji_server::app::DynStore;
use gongji_store::payments::{AgentPostingRow, AgentRow, PaymentOrderRow};
use gongji_store::privacy::{PrivacyKey, PrivacyStatus};
use gongji_store::read::{
    AppPartnerRow, AuditEntry, AuditQuery, CollectionGroup, CollectionRow, MutualAidPaymentRow,
    OperatorRow, PersonBubao, PremiumPayment, ProxyConsentRow, RecordQuery, RecordRow,
    RecoveryQuery, ReportQuery, ReportRow, ReviewRow, SessionRow, StaffRow, WithheldSettlement,
    YearTotals,
};
use gongji_store::{
    BubaoRow, Checkpoint, CommitmentRow, ReadStore, ReaderSource, ReconcileQuery, ReconcileTotals,
    RecoveryCaseRow, Snapshot, Store, StoreError, StoredAnswer, StoredSettlement, VerifyReport,
    WithheldRow, Write, WriteBatch,
};

/// A store call a fault or a gate is set on, named after its method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    LoadSnapshot,
    Commit,
    AnswerForMsgid,
    AnswersForMsgids,
    Settlement,
    Settlements,
    ReviewState,
    Verify,
    VerifyWith,
    Reconcile,
    Withheld,
    PremiumPayments,
    UsePrivacy,
    SealPlaintextPersons,
    Records,
    YearTotals,
    PersonsByPhone,
    SearchPersons,
    MutualAidReport,
    Staff,
    Operator,
    AppPartner,
    RecoveryCases,
    Commitment,
    AuditLog,
    InsertSession,
    Session,
    TouchSession,
    DeleteSession,
    DeleteExpiredSessions,
    ProxyConsents,
    ProxyConsent,
    ReviewsOf,
    Review,
    PendingReviews,
    MutualAidPayments,
    BubaoCandidates,
    BubaoPaid,
    BubaoOfPerson,
    PutPaymentOrder,
    PaymentOrder,
    PutAgent,
    CollectionReport,
    Agents,
    AgentByToken,
    AgentPostings,
}

/// Fails one call of `call` after letting `passing` through; for commits, only those whose
/// batch holds a write `holding` picks count.
struct Failure {
    call: Call,
    passing: u32,
    holding: Option<fn(&Write) -> bool>,
}

impl Failure {
    fn concerns(&self, call: Call, batch: Option<&WriteBatch>) -> bool {
        self.call == call
            && match (self.holding, batch) {
                (Some(kind), Some(b)) => b.writes.iter().any(kind),
                (Some(_), None) => false,
                (None, _) => true,
            }
    }
}

#[derive(Default)]
struct Plan {
    failures: Vec<Failure>,
    gates: Vec<(Call, Arc<Gate>)>,
}

/// The faults a test sets on its [`Faulty`] store; clones share them.
#[derive(Clone, Default)]
pub struct Faults(Arc<Mutex<Plan>>);

impl Faults {
    /// The wrapper for [`Fixture::wrap_store`](super::Fixture::wrap_store).
    pub fn wrapper(&self) -> impl FnOnce(DynStore) -> DynStore {
        let faults = self.clone();
        move |inner| Box::new(Faulty::new(inner, faults))
    }

    /// The next `call` fails.
    pub fn fail_next(&self, call: Call) {
        self.fail_after(call, 0);
    }

    /// `passing` calls of `call` go through, then one fails.
    pub fn fail_after(&self, call: Call, passing: u32) {
        self.add(Failure {
            call,
            passing,
            holding: None,
        });
    }

    /// The next commit whose batch holds a write `kind` picks fails (nothing of it written);
    /// commits without one go through.
    pub fn fail_commit_holding(&self, kind: fn(&Write) -> bool) {
        self.add(Failure {
            call: Call::Commit,
            passing: 0,
            holding: Some(kind),
        });
    }

    /// No more failures (gates stay).
    pub fn clear(&self) {
        if let Ok(mut plan) = self.0.lock() {
            plan.failures.clear();
        }
    }

    /// Every `call` from now on waits at the gate until the test releases it.
    pub fn gate(&self, call: Call) -> Arc<Gate> {
        let gate = Arc::new(Gate::new());
        if let Ok(mut plan) = self.0.lock() {
            plan.gates.push((call, gate.clone()));
        }
        gate
    }

    /// Replaces what was set before on the same call.
    fn add(&self, failure: Failure) {
        if let Ok(mut plan) = self.0.lock() {
            plan.failures.retain(|f| f.call != failure.call);
            plan.failures.push(failure);
        }
    }

    /// Waits at `call`'s gates, then answers the injected error if a failure is due.
    fn at(&self, call: Call, batch: Option<&WriteBatch>) -> Result<(), StoreError> {
        let (gates, fails) = {
            let Ok(mut plan) = self.0.lock() else {
                return Ok(());
            };
            let gates: Vec<Arc<Gate>> = plan
                .gates
                .iter()
                .filter(|(c, _)| *c == call)
                .map(|(_, g)| g.clone())
                .collect();
            let mut fails = false;
            if let Some(i) = plan.failures.iter().position(|f| f.concerns(call, batch)) {
                let f = &mut plan.failures[i];
                if f.passing > 0 {
                    f.passing -= 1;
                } else {
                    fails = true;
                    plan.failures.remove(i);
                }
            }
            (gates, fails)
        };
        for gate in gates {
            gate.pass();
        }
        if fails {
            return Err(StoreError::Io(format!("injected fault: {call:?}")));
        }
        Ok(())
    }
}

/// Holds the calls it is set on until released: the test learns when one has arrived.
pub struct Gate {
    arrived: tokio::sync::Semaphore,
    open: Mutex<bool>,
    opened: Condvar,
}

impl Gate {
    fn new() -> Gate {
        Gate {
            arrived: tokio::sync::Semaphore::new(0),
            open: Mutex::new(false),
            opened: Condvar::new(),
        }
    }

    /// Waits until a call has arrived at the gate.
    pub async fn arrived(&self) {
        if let Ok(permit) = self.arrived.acquire().await {
            permit.forget();
        }
    }

    /// Lets the waiting calls, and every later one, through.
    pub fn release(&self) {
        if let Ok(mut open) = self.open.lock() {
            *open = true;
        }
        self.opened.notify_all();
    }

    fn pass(&self) {
        self.arrived.add_permits(1);
        let Ok(mut open) = self.open.lock() else {
            return;
        };
        while !*open {
            open = match self.opened.wait(open) {
                Ok(o) => o,
                Err(_) => return,
            };
        }
    }
}

/// A store that forwards every call to `inner` once its [`Faults`] let it; the readers it
/// opens for the server are wrapped with the same faults.
pub struct Faulty<S> {
    inner: S,
    faults: Faults,
}

impl<S> Faulty<S> {
    pub fn new(inner: S, faults: Faults) -> Faulty<S> {
        Faulty { inner, faults }
    }
}

struct FaultySource {
    inner: Arc<dyn ReaderSource>,
    faults: Faults,
}

impl ReaderSource for FaultySource {
    fn open_reader(&self) -> Result<Box<dyn ReadStore + Send>, StoreError> {
        Ok(Box::new(Faulty::new(
            self.inner.open_reader()?,
            self.faults.clone(),
        )))
    }
}

impl<S: Store> Store for Faulty<S> {
    fn load_snapshot(&mut self) -> Result<Snapshot, StoreError> {
        self.faults.at(Call::LoadSnapshot, None)?;
        self.inner.load_snapshot()
    }
    fn commit(&mut self, batch: &WriteBatch) -> Result<(), StoreError> {
        self.faults.at(Call::Commit, Some(batch))?;
        self.inner.commit(batch)
    }
    fn answer_for_msgid(&mut self, msgid: &str) -> Result<Option<StoredAnswer>, StoreError> {
        self.faults.at(Call::AnswerForMsgid, None)?;
        self.inner.answer_for_msgid(msgid)
    }
    fn answers_for_msgids(
        &mut self,
        msgids: &[&str],
    ) -> Result<HashMap<String, StoredAnswer>, StoreError> {
        self.faults.at(Call::AnswersForMsgids, None)?;
        self.inner.answers_for_msgids(msgids)
    }
    fn settlement(&mut self, setl_id: &str) -> Result<Option<StoredSettlement>, StoreError> {
        self.faults.at(Call::Settlement, None)?;
        self.inner.settlement(setl_id)
    }
    fn review_state(&mut self, review_id: &str) -> Result<Option<String>, StoreError> {
        self.faults.at(Call::ReviewState, None)?;
        self.inner.review_state(review_id)
    }
    fn settlements(
        &mut self,
        setl_ids: &[&str],
    ) -> Result<HashMap<String, StoredSettlement>, StoreError> {
        self.faults.at(Call::Settlements, None)?;
        self.inner.settlements(setl_ids)
    }
    fn verify(&mut self) -> Result<VerifyReport, StoreError> {
        self.faults.at(Call::Verify, None)?;
        self.inner.verify()
    }
    fn verify_with(&mut self, anchors: &[Checkpoint]) -> Result<VerifyReport, StoreError> {
        self.faults.at(Call::VerifyWith, None)?;
        self.inner.verify_with(anchors)
    }
    fn reconcile(&mut self, q: &ReconcileQuery) -> Result<ReconcileTotals, StoreError> {
        self.faults.at(Call::Reconcile, None)?;
        self.inner.reconcile(q)
    }
    fn withheld(&mut self, setl_id: &str) -> Result<Vec<WithheldRow>, StoreError> {
        self.faults.at(Call::Withheld, None)?;
        self.inner.withheld(setl_id)
    }
    fn premium_payments(&mut self, psn_no: &str) -> Result<Vec<PremiumPayment>, StoreError> {
        self.faults.at(Call::PremiumPayments, None)?;
        Store::premium_payments(&mut self.inner, psn_no)
    }
    fn use_privacy(&mut self, key: Option<PrivacyKey>) -> Result<PrivacyStatus, StoreError> {
        self.faults.at(Call::UsePrivacy, None)?;
        self.inner.use_privacy(key)
    }
    fn seal_plaintext_persons(
        &mut self,
        batch: usize,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<u64, StoreError> {
        self.faults.at(Call::SealPlaintextPersons, None)?;
        self.inner.seal_plaintext_persons(batch, progress)
    }
}

impl<S: ReadStore> ReadStore for Faulty<S> {
    fn records(&mut self, q: &RecordQuery) -> Result<Vec<RecordRow>, StoreError> {
        self.faults.at(Call::Records, None)?;
        self.inner.records(q)
    }
    fn year_totals(&mut self, psn_no: &str, year: i32) -> Result<YearTotals, StoreError> {
        self.faults.at(Call::YearTotals, None)?;
        self.inner.year_totals(psn_no, year)
    }
    fn persons_by_phone(&mut self, phone: &str) -> Result<Vec<String>, StoreError> {
        self.faults.at(Call::PersonsByPhone, None)?;
        self.inner.persons_by_phone(phone)
    }
    fn search_persons(&mut self, text: &str, limit: u32) -> Result<Vec<String>, StoreError> {
        self.faults.at(Call::SearchPersons, None)?;
        self.inner.search_persons(text, limit)
    }
    fn mutual_aid_report(&mut self, q: &ReportQuery) -> Result<Vec<ReportRow>, StoreError> {
        self.faults.at(Call::MutualAidReport, None)?;
        self.inner.mutual_aid_report(q)
    }
    fn staff(&mut self, username: &str) -> Result<Option<StaffRow>, StoreError> {
        self.faults.at(Call::Staff, None)?;
        self.inner.staff(username)
    }
    fn operator(&mut self, code: &str, username: &str) -> Result<Option<OperatorRow>, StoreError> {
        self.faults.at(Call::Operator, None)?;
        self.inner.operator(code, username)
    }
    fn app_partner(&mut self, app_code: &str) -> Result<Option<AppPartnerRow>, StoreError> {
        self.faults.at(Call::AppPartner, None)?;
        self.inner.app_partner(app_code)
    }
    fn recovery_cases(&mut self, q: &RecoveryQuery) -> Result<Vec<RecoveryCaseRow>, StoreError> {
        self.faults.at(Call::RecoveryCases, None)?;
        self.inner.recovery_cases(q)
    }
    fn commitment(&mut self, binding_id: i64) -> Result<Option<CommitmentRow>, StoreError> {
        self.faults.at(Call::Commitment, None)?;
        self.inner.commitment(binding_id)
    }
    fn audit_log(&mut self, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        self.faults.at(Call::AuditLog, None)?;
        self.inner.audit_log(q)
    }
    fn insert_session(&mut self, row: &SessionRow) -> Result<(), StoreError> {
        self.faults.at(Call::InsertSession, None)?;
        self.inner.insert_session(row)
    }
    fn session(&mut self, token_sha256: &str) -> Result<Option<SessionRow>, StoreError> {
        self.faults.at(Call::Session, None)?;
        self.inner.session(token_sha256)
    }
    fn touch_session(
        &mut self,
        token_sha256: &str,
        last_seen_at: &str,
        expires_at: &str,
    ) -> Result<(), StoreError> {
        self.faults.at(Call::TouchSession, None)?;
        self.inner
            .touch_session(token_sha256, last_seen_at, expires_at)
    }
    fn delete_session(&mut self, token_sha256: &str) -> Result<(), StoreError> {
        self.faults.at(Call::DeleteSession, None)?;
        self.inner.delete_session(token_sha256)
    }
    fn delete_expired_sessions(&mut self, now: &str) -> Result<u64, StoreError> {
        self.faults.at(Call::DeleteExpiredSessions, None)?;
        self.inner.delete_expired_sessions(now)
    }
    fn proxy_consents(&mut self, psn_no: &str) -> Result<Vec<ProxyConsentRow>, StoreError> {
        self.faults.at(Call::ProxyConsents, None)?;
        self.inner.proxy_consents(psn_no)
    }
    fn proxy_consent(&mut self, token: &str) -> Result<Option<ProxyConsentRow>, StoreError> {
        self.faults.at(Call::ProxyConsent, None)?;
        self.inner.proxy_consent(token)
    }
    fn reviews_of(&mut self, psn_no: &str) -> Result<Vec<ReviewRow>, StoreError> {
        self.faults.at(Call::ReviewsOf, None)?;
        self.inner.reviews_of(psn_no)
    }
    fn review(&mut self, review_id: &str) -> Result<Option<ReviewRow>, StoreError> {
        self.faults.at(Call::Review, None)?;
        self.inner.review(review_id)
    }
    fn pending_reviews(&mut self) -> Result<Vec<ReviewRow>, StoreError> {
        self.faults.at(Call::PendingReviews, None)?;
        self.inner.pending_reviews()
    }
    fn mutual_aid_payments(
        &mut self,
        holder_psn_no: &str,
        relative_psn_no: &str,
    ) -> Result<Vec<MutualAidPaymentRow>, StoreError> {
        self.faults.at(Call::MutualAidPayments, None)?;
        self.inner
            .mutual_aid_payments(holder_psn_no, relative_psn_no)
    }
    fn premium_payments(&mut self, psn_no: &str) -> Result<Vec<PremiumPayment>, StoreError> {
        self.faults.at(Call::PremiumPayments, None)?;
        ReadStore::premium_payments(&mut self.inner, psn_no)
    }
    fn bubao_candidates(&mut self) -> Result<Vec<WithheldSettlement>, StoreError> {
        self.faults.at(Call::BubaoCandidates, None)?;
        self.inner.bubao_candidates()
    }
    fn bubao_paid(&mut self, limit: u32) -> Result<Vec<BubaoRow>, StoreError> {
        self.faults.at(Call::BubaoPaid, None)?;
        self.inner.bubao_paid(limit)
    }
    fn bubao_of_person(&mut self, psn_no: &str) -> Result<Vec<PersonBubao>, StoreError> {
        self.faults.at(Call::BubaoOfPerson, None)?;
        self.inner.bubao_of_person(psn_no)
    }
    fn put_payment_order(&mut self, row: &PaymentOrderRow) -> Result<(), StoreError> {
        self.faults.at(Call::PutPaymentOrder, None)?;
        self.inner.put_payment_order(row)
    }
    fn payment_order(&mut self, order_id: &str) -> Result<Option<PaymentOrderRow>, StoreError> {
        self.faults.at(Call::PaymentOrder, None)?;
        self.inner.payment_order(order_id)
    }
    fn put_agent(&mut self, row: &AgentRow) -> Result<(), StoreError> {
        self.faults.at(Call::PutAgent, None)?;
        self.inner.put_agent(row)
    }
    fn collection_report(
        &mut self,
        year: i32,
        by: CollectionGroup,
    ) -> Result<Vec<CollectionRow>, StoreError> {
        self.faults.at(Call::CollectionReport, None)?;
        self.inner.collection_report(year, by)
    }
    fn agents(&mut self) -> Result<Vec<AgentRow>, StoreError> {
        self.faults.at(Call::Agents, None)?;
        self.inner.agents()
    }
    fn agent_by_token(&mut self, token_sha256: &str) -> Result<Option<AgentRow>, StoreError> {
        self.faults.at(Call::AgentByToken, None)?;
        self.inner.agent_by_token(token_sha256)
    }
    fn agent_postings(
        &mut self,
        account_key: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<AgentPostingRow>, StoreError> {
        self.faults.at(Call::AgentPostings, None)?;
        self.inner.agent_postings(account_key, from, to)
    }
    fn reader_source(&self) -> Option<Arc<dyn ReaderSource>> {
        let inner = self.inner.reader_source()?;
        Some(Arc::new(FaultySource {
            inner,
            faults: self.faults.clone(),
        }))
    }
}
