//! The hash chains that make an edit behind the ledger's back show (issue 12).
//!
//! Two chains per province database: the **journal chain** (each journal entry with its
//! postings, the settlement, premium or repaid recovery case it records and the usage-counter
//! deltas it made (`usage_log`), in commit
//! order, which `journal.chain_seq` records: 1, 2, 3, ...) and the **audit chain** (each
//! audit_log row, in audit_id order, which the commit assigns). Each row stores
//! `hash_n = H(hash_{n-1} || canonical(row_n))`, genesis 32 zero bytes, with `H` recorded
//! per row (`chain_alg`: `sm3`, the default, or `sha256`). The backends compute the hashes
//! inside the commit, in batch order, from the head kept in `chain_heads` (read in the same
//! transaction, so a failed commit leaves the head where it was); `verify` recomputes them
//! from the rows read back. The canonical encoding lives here only, so writer and verifier
//! cannot drift apart.
//!
//! Mutable columns are left out of the encoding, and checked by `verify` against the rows
//! that are chained instead: `journal.reversed_by` and `settlements.cancelled` must agree
//! with the cancel entry that reverses them. The usage counters (`pool_usage`,
//! `binding_usage`) are running sums of the chained `usage_log` rows, which `verify` checks.

use std::collections::HashMap;
use std::fmt;

use gongji_core::Fen;
use sha2::Digest as _;

use crate::batch::{
    AuditRow, BindingUsageDelta, BubaoRow, FeeRow, JournalEntry, PoolUsageDelta, PremiumRow,
    QuotaAppliedRow, QuotaSentRow, QuotaSpendRow, RecoveryCaseRow, SettlementRow, WithheldRow,
    Write,
};
use crate::verify::Violation;
use crate::StoreError;

pub type Digest = [u8; 32];

/// `premiums.channel`'s default (migration 0025): every premium written before it.
const PERSONAL_ACCOUNT_CHANNEL: &str = "personal_account";

/// The hash before the first row of a chain.
pub const GENESIS: Digest = [0; 32];

/// Rows read per round trip when a chain is walked.
pub(crate) const CHUNK: i64 = 20_000;

/// The two chains, named by the table whose rows they hold.
pub const JOURNAL: &str = "journal";
pub const AUDIT: &str = "audit_log";

/// The hash function of a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ChainAlg {
    /// SM3 (GB/T 32905), what a 密评 assessment asks for.
    #[default]
    Sm3,
    Sha256,
}

impl ChainAlg {
    pub fn code(self) -> &'static str {
        match self {
            ChainAlg::Sm3 => "sm3",
            ChainAlg::Sha256 => "sha256",
        }
    }

    pub fn from_code(code: &str) -> Option<ChainAlg> {
        match code {
            "sm3" => Some(ChainAlg::Sm3),
            "sha256" => Some(ChainAlg::Sha256),
            _ => None,
        }
    }

    /// `H(prev || canonical)`.
    pub fn link(self, prev: &Digest, canonical: &[u8]) -> Digest {
        match self {
            ChainAlg::Sm3 => {
                let mut h = <sm3::Sm3 as sm3::Digest>::new();
                sm3::Digest::update(&mut h, prev);
                sm3::Digest::update(&mut h, canonical);
                sm3::Digest::finalize(h).into()
            }
            ChainAlg::Sha256 => {
                let mut h = sha2::Sha256::new();
                h.update(prev);
                h.update(canonical);
                h.finalize().into()
            }
        }
    }
}

impl fmt::Display for ChainAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

pub fn to_hex(d: &Digest) -> String {
    use fmt::Write as _;
    let mut s = String::with_capacity(64);
    for b in d {
        let _ = write!(s, "{b:02x}");
    }
    s
}

pub fn from_hex(s: &str) -> Option<Digest> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut d = [0_u8; 32];
    for (i, out) in d.iter_mut().enumerate() {
        *out = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(d)
}

/// Length-prefixed fields, each tagged by its kind, so no two different rows encode alike
/// (a field's text cannot pass for the next field, a NULL for an empty text, 12 for "12").
struct Canon(Vec<u8>);

impl Canon {
    fn new(record: &str) -> Canon {
        let mut c = Canon(Vec::with_capacity(512));
        c.text(record);
        c
    }
    fn text(&mut self, s: &str) {
        self.0.push(b'S');
        self.0.extend_from_slice(&(s.len() as u64).to_be_bytes());
        self.0.extend_from_slice(s.as_bytes());
    }
    fn opt_text(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.text(s),
            None => self.0.push(b'N'),
        }
    }
    fn int(&mut self, v: i64) {
        self.0.push(b'I');
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn opt_int(&mut self, v: Option<i64>) {
        match v {
            Some(v) => self.int(v),
            None => self.0.push(b'N'),
        }
    }
    fn fen(&mut self, v: Fen) {
        self.int(v.fen());
    }
    fn absent(&mut self) {
        self.0.push(b'N');
    }
}

/// One `usage_log` row as stored: what an entry added to a usage counter (a cap's
/// deductible, fund and burden for `pool`, a binding's month for `binding`), which a cancel
/// takes back and the caps of later settlements are decided on.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct UsageRow {
    /// `pool` or `binding`.
    pub kind: String,
    pub psn_no: Option<String>,
    pub period: String,
    pub cap_group: Option<String>,
    pub binding_id: Option<i64>,
    pub deductible: Fen,
    pub fund: Fen,
    pub burden: Fen,
    pub amount: Fen,
}

impl UsageRow {
    /// The row a pool-usage delta is stored as.
    pub fn of_pool(u: &PoolUsageDelta) -> UsageRow {
        UsageRow {
            kind: "pool".into(),
            psn_no: Some(u.psn_no.clone()),
            period: u.period.clone(),
            cap_group: Some(u.cap_group.clone()),
            binding_id: None,
            deductible: u.deductible,
            fund: u.fund,
            burden: u.burden,
            amount: Fen::ZERO,
        }
    }

    /// The row a binding-usage delta is stored as.
    pub fn of_binding(u: &BindingUsageDelta) -> UsageRow {
        UsageRow {
            kind: "binding".into(),
            psn_no: None,
            period: u.month.clone(),
            cap_group: None,
            binding_id: Some(u.binding_id),
            deductible: Fen::ZERO,
            fund: Fen::ZERO,
            burden: Fen::ZERO,
            amount: u.amount,
        }
    }
}

/// The rows a journal entry records beside its postings (at most one of each, and its
/// usage rows).
#[derive(Clone, Copy, Debug, Default)]
pub struct EntryRecords<'a> {
    pub settlement: Option<&'a SettlementRow>,
    pub premium: Option<&'a PremiumRow>,
    /// The recovery case this entry repaid (`repaid_entry_id`).
    pub recovery: Option<&'a RecoveryCaseRow>,
    /// Its `usage_log` rows, in any order (they are encoded sorted: the table keeps no
    /// order of its own).
    pub usage: &'a [UsageRow],
    /// The fee lines its settlement paid (`settled_fees`), in any order (encoded by
    /// `feedetl_sn`).
    pub fees: &'a [FeeRow],
    /// A settlement's fund shares held back until the resident pays (R-R2), in seq order.
    pub withheld: &'a [&'a WithheldRow],
    /// The 补报 this entry pays.
    pub bubao: Option<&'a BubaoRow>,
    /// The cross-province quota rows this entry records.
    pub quota: Option<&'a QuotaRecords>,
}

/// The cross-province quota rows (R-N3) a journal entry records: the transfer it sent (the
/// outbox row's columns that never change), the transfer it applied or refused (the
/// receiver's dedup row, whole) and what a settlement drew on quotas, or its cancel gave
/// back. Deleting a dedup row, to have a transfer applied twice, breaks the chain at the
/// entry that applied it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QuotaRecords {
    pub sent: Option<QuotaSentRow>,
    pub applied: Option<QuotaAppliedRow>,
    pub spends: Vec<QuotaSpendRow>,
}

impl QuotaRecords {
    fn is_empty(&self) -> bool {
        self.sent.is_none() && self.applied.is_none() && self.spends.is_empty()
    }
}

fn quota_parties(c: &mut Canon, p: &gongji_core::quota::QuotaParties) {
    c.int(i64::from(p.holder_province));
    c.text(&p.holder_psn_no);
    c.int(i64::from(p.relative_province));
    c.text(&p.relative_psn_no);
}

/// The canonical encoding of a journal entry: every stored column of `journal` but
/// `reversed_by`, its postings in `seq` order (every column), the settlement (every
/// column but `cancelled`, and the fee lines it paid), premium and repaid recovery case rows it records, and its
/// `usage_log` rows (every column, sorted). A posting's `psn_no` is not a column of
/// `postings` and is not encoded.
pub fn journal_canonical(e: &JournalEntry, records: &EntryRecords<'_>) -> Vec<u8> {
    let mut c = Canon::new("gongji.journal.v2");
    c.int(e.entry_id);
    c.opt_text(e.msgid.as_deref());
    c.text(&e.kind);
    c.text(&e.admdvs);
    c.opt_text(e.psn_no.as_deref());
    c.opt_text(e.fixmedins_code.as_deref());
    c.text(&e.channel);
    c.text(&e.occurred_at);
    c.opt_int(e.reverses_entry);
    c.opt_text(e.request_hash.as_deref());
    c.opt_text(e.response.as_deref());
    c.text(&e.summary);
    c.int(e.postings.len() as i64);
    for (seq, p) in e.postings.iter().enumerate() {
        c.int(seq as i64);
        c.text(&p.account_key);
        c.fen(p.amount);
        c.text(&p.rule);
        c.opt_int(p.floor.map(Fen::fen));
        c.fen(p.balance_after);
        c.text(&p.explanation);
    }
    match records.settlement {
        Some(s) => {
            c.text("settlement");
            c.text(&s.setl_id);
            c.int(s.entry_id);
            c.text(&s.mdtrt_id);
            c.text(&s.psn_no);
            c.text(&s.fixmedins_code);
            c.text(&s.admdvs);
            c.text(&s.insutype);
            c.text(&s.med_type);
            c.text(&s.setl_date);
            c.fen(s.medfee_sumamt);
            c.fen(s.fund_pay_sumamt);
            c.fen(s.acct_pay);
            c.fen(s.acct_mulaid_pay);
            c.fen(s.psn_cash_pay);
            c.text(&s.detail);
            let mut fees: Vec<&FeeRow> = records.fees.iter().collect();
            fees.sort_unstable_by(|a, b| a.feedetl_sn.cmp(&b.feedetl_sn));
            c.int(fees.len() as i64);
            for f in fees {
                c.text(&f.feedetl_sn);
                c.text(&f.mdtrt_id);
                c.text(&f.chrg_bchno);
                c.text(&f.med_list_codg);
                c.fen(f.amount);
                c.int(f.count_e4);
                c.fen(f.price);
            }
        }
        None => c.absent(),
    }
    match records.premium {
        Some(p) => {
            c.text("premium");
            c.text(&p.relative_psn_no);
            c.int(i64::from(p.year));
            c.int(p.entry_id);
            c.text(&p.holder_psn_no);
            c.text(&p.category);
            c.fen(p.amount);
            c.text(&p.kind);
            // Migration 0025's columns, encoded only when they say something other than
            // their defaults, so a row written before still hashes to what it stores, and a
            // channel changed afterwards (to or from a personal account) shows.
            let default_channel = p.channel == PERSONAL_ACCOUNT_CHANNEL
                && p.agent_id.is_none()
                && p.paid_at.is_none();
            if !default_channel {
                c.text("channel");
                c.text(&p.channel);
                c.opt_text(p.agent_id.as_deref());
                c.opt_text(p.paid_at.as_deref());
            }
        }
        None => c.absent(),
    }
    match records.recovery {
        Some(r) => {
            c.text("recovery");
            c.int(r.case_id);
            c.int(r.binding_id);
            c.text(&r.holder_psn_no);
            c.text(&r.relative_psn_no);
            c.text(&r.setl_id);
            c.text(&r.admdvs);
            c.fen(r.amount);
            c.text(&r.reason);
            c.text(&r.status);
            c.text(&r.opened_by);
            c.text(&r.opened_at);
            c.opt_text(r.repaid_by.as_deref());
            c.opt_text(r.repaid_at.as_deref());
            c.opt_int(r.repaid_entry_id);
        }
        None => c.absent(),
    }
    // Entries without quota rows encode as they did before the quota existed, so chains
    // written then still verify.
    if let Some(q) = records.quota.filter(|q| !q.is_empty()) {
        c.text("quota");
        match &q.sent {
            Some(r) => {
                c.text(&r.transfer_id);
                c.text(r.direction.code());
                quota_parties(&mut c, &r.parties);
                c.fen(r.amount);
                c.int(r.entry_id);
                c.text(&r.created_at);
            }
            None => c.absent(),
        }
        match &q.applied {
            Some(r) => {
                c.text(&r.transfer_id);
                c.text(r.direction.code());
                quota_parties(&mut c, &r.parties);
                c.fen(r.amount);
                c.opt_int(r.entry_id);
                c.opt_text(r.refusal_code.as_deref());
                c.opt_text(r.refusal_zh.as_deref());
                c.text(&r.at);
            }
            None => c.absent(),
        }
        let mut spends: Vec<&QuotaSpendRow> = q.spends.iter().collect();
        spends.sort_by(|a, b| {
            (
                a.parties.holder_province,
                &a.parties.holder_psn_no,
                a.parties.relative_province,
                &a.parties.relative_psn_no,
            )
                .cmp(&(
                    b.parties.holder_province,
                    &b.parties.holder_psn_no,
                    b.parties.relative_province,
                    &b.parties.relative_psn_no,
                ))
        });
        c.int(spends.len() as i64);
        for r in spends {
            c.int(r.entry_id);
            c.text(&r.setl_id);
            quota_parties(&mut c, &r.parties);
            c.text(&r.fixmedins_code);
            c.fen(r.amount);
            c.text(&r.at);
        }
    }
    // Appended only when present, so every entry written before 补报 existed encodes (and
    // verifies) exactly as it did.
    if !records.withheld.is_empty() {
        c.text("withheld");
        c.int(records.withheld.len() as i64);
        for w in records.withheld {
            c.text(&w.setl_id);
            c.int(w.seq);
            c.int(w.entry_id);
            c.text(&w.psn_no);
            c.text(&w.admdvs);
            c.int(i64::from(w.year));
            c.text(&w.setl_date);
            c.text(&w.fund_pay_type);
            c.text(&w.name_zh);
            c.fen(w.amount);
            c.text(&w.explanation);
        }
    }
    if let Some(b) = records.bubao {
        c.text("bubao");
        c.text(&b.setl_id);
        c.int(b.entry_id);
        c.text(&b.psn_no);
        c.text(&b.admdvs);
        c.int(i64::from(b.year));
        c.fen(b.amount);
        c.text(&b.paid_on);
    }
    let mut usage: Vec<&UsageRow> = records.usage.iter().collect();
    usage.sort_unstable();
    c.text("usage");
    c.int(usage.len() as i64);
    for u in usage {
        c.text(&u.kind);
        c.opt_text(u.psn_no.as_deref());
        c.text(&u.period);
        c.opt_text(u.cap_group.as_deref());
        c.opt_int(u.binding_id);
        c.fen(u.deductible);
        c.fen(u.fund);
        c.fen(u.burden);
        c.fen(u.amount);
    }
    c.0
}

/// The canonical encoding of an audit_log row: its id and every field of [`AuditRow`].
pub fn audit_canonical(audit_id: i64, a: &AuditRow) -> Vec<u8> {
    // Destructured so that a field added to `AuditRow` fails to compile until it is encoded.
    let AuditRow {
        at,
        actor,
        channel,
        action,
        subject,
        before_state,
        after_state,
    } = a;
    let mut c = Canon::new("gongji.audit.v1");
    c.int(audit_id);
    c.text(at);
    c.text(actor);
    c.text(channel);
    c.text(action);
    c.text(subject);
    c.opt_text(before_state.as_deref());
    c.opt_text(after_state.as_deref());
    c.0
}

/// Where a chain stands: its last hash, how many rows it holds and the id of the last
/// (an audit_id; an entry_id, which for the journal is informative only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    pub hash: Digest,
    pub rows: u64,
    pub last_id: i64,
}

impl Default for Head {
    fn default() -> Self {
        Head {
            hash: GENESIS,
            rows: 0,
            last_id: 0,
        }
    }
}

/// Both heads, and the algorithm new rows are chained with, as `chain_heads` keeps them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Heads {
    pub alg: ChainAlg,
    pub journal: Head,
    pub audit: Head,
}

/// The hashes a batch's rows carry.
#[derive(Debug, Default)]
pub(crate) struct Stamps {
    /// entry_id → (chain_seq, hash).
    pub journal: HashMap<i64, (i64, Digest)>,
    /// (audit_id, hash) of the batch's audit rows, in batch order.
    pub audit: Vec<(i64, Digest)>,
}

impl Stamps {
    /// The chain_seq and hash (hex) of a batch's entry.
    pub fn entry(&self, entry_id: i64) -> Result<(i64, String), StoreError> {
        self.journal
            .get(&entry_id)
            .map(|(seq, hash)| (*seq, to_hex(hash)))
            .ok_or_else(|| StoreError::Io(format!("entry {entry_id} was not chained")))
    }
}

/// Chains a batch's journal entries and audit rows onto `heads`, in batch order, and
/// advances them. Entries are chained in the order they are committed, whatever their ids
/// (the conventional baseline's sessions commit out of id order): `chain_seq` keeps it.
pub(crate) fn stamp(writes: &[Write], heads: &mut Heads) -> Result<Stamps, StoreError> {
    let mut settlements = HashMap::new();
    let mut premiums = HashMap::new();
    let mut recoveries = HashMap::new();
    let mut quota: HashMap<i64, QuotaRecords> = HashMap::new();
    let mut withheld: HashMap<i64, Vec<&WithheldRow>> = HashMap::new();
    let mut bubao = HashMap::new();
    let mut usage: HashMap<i64, Vec<UsageRow>> = HashMap::new();
    // setl_id → its lines, the first write of each (as `settled_fees` keeps it).
    let mut fees: HashMap<&str, Vec<FeeRow>> = HashMap::new();
    for w in writes {
        match w {
            // A row written again later in the batch (a confirm) keeps its fixed columns.
            Write::QuotaSent(r) => {
                let slot = quota.entry(r.entry_id).or_default();
                if slot.sent.is_none() {
                    slot.sent = Some(r.clone());
                }
            }
            Write::QuotaApplied(r) => {
                if let Some(id) = r.entry_id {
                    quota.entry(id).or_default().applied = Some(r.clone());
                }
            }
            Write::QuotaSpend(r) => quota.entry(r.entry_id).or_default().spends.push(r.clone()),
            Write::Withheld(row) => withheld.entry(row.entry_id).or_default().push(row),
            Write::Bubao(b) => {
                bubao.insert(b.entry_id, b);
            }
            Write::Fee(f) => {
                if let Some(setl_id) = f.setl_id.as_deref() {
                    let lines = fees.entry(setl_id).or_default();
                    if !lines.iter().any(|l| l.feedetl_sn == f.feedetl_sn) {
                        lines.push(f.clone());
                    }
                }
            }
            Write::PoolUsage(u) => usage
                .entry(u.entry_id)
                .or_default()
                .push(UsageRow::of_pool(u)),
            Write::BindingUsage(u) => usage
                .entry(u.entry_id)
                .or_default()
                .push(UsageRow::of_binding(u)),
            Write::Settlement(s) => {
                settlements.insert(s.entry_id, s);
            }
            Write::Premium(p) => {
                premiums.insert(p.entry_id, p);
            }
            Write::RecoveryCase(r) => {
                if let Some(id) = r.repaid_entry_id {
                    recoveries.insert(id, r);
                }
            }
            _ => {}
        }
    }
    let mut stamps = Stamps::default();
    let alg = heads.alg;
    for w in writes {
        match w {
            Write::Entry(e) => {
                let records = EntryRecords {
                    settlement: settlements.get(&e.entry_id).copied(),
                    premium: premiums.get(&e.entry_id).copied(),
                    recovery: recoveries.get(&e.entry_id).copied(),
                    quota: quota.get(&e.entry_id),
                    withheld: withheld.get(&e.entry_id).map_or(&[], Vec::as_slice),
                    bubao: bubao.get(&e.entry_id).copied(),
                    usage: usage.get(&e.entry_id).map(Vec::as_slice).unwrap_or(&[]),
                    fees: settlements
                        .get(&e.entry_id)
                        .and_then(|s| fees.get(s.setl_id.as_str()))
                        .map(Vec::as_slice)
                        .unwrap_or(&[]),
                };
                let hash = alg.link(&heads.journal.hash, &journal_canonical(e, &records));
                let rows = heads.journal.rows + 1;
                let seq = i64::try_from(rows)
                    .map_err(|_| StoreError::Io("journal chain too long".into()))?;
                stamps.journal.insert(e.entry_id, (seq, hash));
                heads.journal = Head {
                    hash,
                    rows,
                    last_id: e.entry_id,
                };
            }
            Write::Audit(a) => {
                let id = heads.audit.last_id + 1;
                let hash = alg.link(&heads.audit.hash, &audit_canonical(id, a));
                stamps.audit.push((id, hash));
                heads.audit = Head {
                    hash,
                    rows: heads.audit.rows + 1,
                    last_id: id,
                };
            }
            _ => {}
        }
    }
    Ok(stamps)
}

/// A journal entry as read back for the chain: the row, what it records, and its link.
#[derive(Clone, Debug)]
pub struct ChainedEntry {
    pub entry: JournalEntry,
    pub reversed_by: Option<i64>,
    pub settlement: Option<SettlementRow>,
    pub premium: Option<PremiumRow>,
    pub recovery: Option<RecoveryCaseRow>,
    pub quota: QuotaRecords,
    /// Held-back fund shares it records, in seq order.
    pub withheld: Vec<WithheldRow>,
    pub bubao: Option<BubaoRow>,
    pub usage: Vec<UsageRow>,
    pub fees: Vec<FeeRow>,
    /// The entry's place in the chain.
    pub chain_seq: Option<i64>,
    pub alg: Option<String>,
    pub hash: Option<String>,
    /// The postings' stored `seq`, which must be 0, 1, 2, ... (the encoding numbers them so).
    pub posting_seqs: Vec<i64>,
}

#[derive(Clone, Debug)]
pub struct ChainedAudit {
    pub audit_id: i64,
    pub row: AuditRow,
    pub alg: Option<String>,
    pub hash: Option<String>,
}

/// A backend's rows in chain order, a chunk at a time.
pub(crate) trait ChainSource {
    /// Up to `limit` entries with `chain_seq > after`, in chain order, postings in seq
    /// order; with `by_id`, entries with `entry_id > after` in id order instead (rows not yet
    /// chained, at migration).
    fn journal_after(
        &mut self,
        after: i64,
        limit: i64,
        by_id: bool,
    ) -> Result<Vec<ChainedEntry>, StoreError>;
    /// The first journal row outside the chain (no chain_seq), if any.
    fn unchained_entry(&mut self) -> Result<Option<i64>, StoreError>;
    fn audit_after(&mut self, after: i64, limit: i64) -> Result<Vec<ChainedAudit>, StoreError>;
    /// What `chain_heads` says, if it has rows yet.
    fn heads(&mut self) -> Result<Option<Heads>, StoreError>;
}

/// A checkpoint a chain must pass through: after `rows` rows its hash is `head`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub table: String,
    pub rows: u64,
    pub head: Digest,
}

/// One chain as `verify` recomputed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainSummary {
    pub table: String,
    /// The algorithm of the last row (`sm3` when the chain is empty and new rows use it).
    pub alg: ChainAlg,
    pub head: Digest,
    pub rows: u64,
    /// False once a row does not hash to what it stores: `head` is then what the rows
    /// before the first bad one give.
    pub intact: bool,
}

/// Why a row does not belong where it is.
fn check_link(
    table: &str,
    id: i64,
    prev: &Digest,
    canonical: &[u8],
    alg: Option<&str>,
    hash: Option<&str>,
) -> Result<(ChainAlg, Digest), Violation> {
    let broken = |detail: String| Violation::ChainBroken {
        table: table.to_string(),
        id,
        detail,
    };
    let (Some(alg_code), Some(stored)) = (alg, hash) else {
        return Err(broken("row carries no hash (未入链)".into()));
    };
    let alg = ChainAlg::from_code(alg_code)
        .ok_or_else(|| broken(format!("unknown chain algorithm {alg_code:?}")))?;
    let stored =
        from_hex(stored).ok_or_else(|| broken("stored hash is not 64 hex digits".into()))?;
    let computed = alg.link(prev, canonical);
    if computed != stored {
        return Err(broken(format!(
            "contents or order changed, or a row before it removed: stored {} but rows give {} \
             (内容被改动、顺序被调换或之前的行被删除)",
            to_hex(&stored),
            to_hex(&computed)
        )));
    }
    Ok((alg, computed))
}

/// Follows one chain, reporting its first bad row, the checkpoints it fails and whether
/// its end agrees with `chain_heads` (rows removed from the end change nothing else).
struct Walk<'a> {
    table: &'static str,
    prev: Digest,
    rows: u64,
    last_alg: Option<ChainAlg>,
    broken: bool,
    checkpoints: Vec<&'a Checkpoint>,
}

impl<'a> Walk<'a> {
    fn new(table: &'static str, checkpoints: &'a [Checkpoint]) -> Walk<'a> {
        Walk {
            table,
            prev: GENESIS,
            rows: 0,
            last_alg: None,
            broken: false,
            checkpoints: checkpoints.iter().filter(|c| c.table == table).collect(),
        }
    }

    /// One row; `false` once the chain is broken (nothing after the first bad row is
    /// checked: every later hash depends on it).
    fn row(
        &mut self,
        id: i64,
        canonical: &[u8],
        alg: Option<&str>,
        hash: Option<&str>,
        v: &mut Vec<Violation>,
    ) -> bool {
        if self.broken {
            return false;
        }
        match check_link(self.table, id, &self.prev, canonical, alg, hash) {
            Ok((alg, h)) => {
                self.prev = h;
                self.rows += 1;
                self.last_alg = Some(alg);
                for c in &self.checkpoints {
                    if c.rows == self.rows && c.head != h {
                        v.push(Violation::AnchorMismatch {
                            table: self.table.to_string(),
                            detail: format!(
                                "row {id} (the anchor's {}th) hashes to {}, the anchor says {}",
                                c.rows,
                                to_hex(&h),
                                to_hex(&c.head)
                            ),
                        });
                    }
                }
                true
            }
            Err(violation) => {
                v.push(violation);
                self.broken = true;
                false
            }
        }
    }

    fn finish(self, recorded: Option<&Head>, v: &mut Vec<Violation>) -> ChainSummary {
        if !self.broken {
            for c in &self.checkpoints {
                if c.rows > self.rows {
                    v.push(Violation::AnchorMismatch {
                        table: self.table.to_string(),
                        detail: format!(
                            "the anchor covers {} rows but the chain holds {} (行被删除)",
                            c.rows, self.rows
                        ),
                    });
                }
            }
            if let Some(h) = recorded {
                if h.rows != self.rows || h.hash != self.prev {
                    v.push(Violation::ChainHead {
                        table: self.table.to_string(),
                        detail: format!(
                            "chain_heads records {} rows ending in {}, the rows give {} ending in {} \
                             (末尾的行被删除或链头被改)",
                            h.rows,
                            to_hex(&h.hash),
                            self.rows,
                            to_hex(&self.prev)
                        ),
                    });
                }
            }
        }
        ChainSummary {
            table: self.table.to_string(),
            alg: self.last_alg.unwrap_or_default(),
            head: self.prev,
            rows: self.rows,
            intact: !self.broken,
        }
    }
}

/// Recomputes both chains from the rows, streaming them in chain order; pushes what is
/// wrong to `v`. Also checks that every `reversed_by` names a cancel that reverses it (the
/// mark is not chained; the cancel is).
pub(crate) fn verify_chains(
    src: &mut dyn ChainSource,
    checkpoints: &[Checkpoint],
    v: &mut Vec<Violation>,
) -> Result<Vec<ChainSummary>, StoreError> {
    let recorded = src.heads()?;
    let mut journal = Walk::new(JOURNAL, checkpoints);
    // original entry → the cancel its reversed_by names, awaiting that cancel.
    let mut marks: HashMap<i64, i64> = HashMap::new();
    let mut after = 0;
    'journal: loop {
        let chunk = src.journal_after(after, CHUNK, false)?;
        let Some(last) = chunk.last() else { break };
        after = last.chain_seq.unwrap_or(i64::MAX);
        for row in &chunk {
            let id = row.entry.entry_id;
            if let Some(by) = row.reversed_by {
                marks.insert(id, by);
            }
            if let Some(original) = row.entry.reverses_entry {
                if marks.get(&original) == Some(&id) {
                    marks.remove(&original);
                }
            }
            let withheld: Vec<&WithheldRow> = row.withheld.iter().collect();
            let records = EntryRecords {
                settlement: row.settlement.as_ref(),
                premium: row.premium.as_ref(),
                recovery: row.recovery.as_ref(),
                quota: Some(&row.quota),
                withheld: &withheld,
                bubao: row.bubao.as_ref(),
                usage: &row.usage,
                fees: &row.fees,
            };
            let numbered = row
                .posting_seqs
                .iter()
                .copied()
                .eq(0..row.posting_seqs.len() as i64);
            if !numbered && !journal.broken {
                v.push(Violation::ChainBroken {
                    table: JOURNAL.into(),
                    id,
                    detail: format!(
                        "its postings are numbered {:?}, not 0, 1, 2, ... (记账行被删除或重排)",
                        row.posting_seqs
                    ),
                });
                journal.broken = true;
                break 'journal;
            }
            let canonical = journal_canonical(&row.entry, &records);
            if !journal.row(id, &canonical, row.alg.as_deref(), row.hash.as_deref(), v) {
                break 'journal;
            }
        }
    }
    let mut marks: Vec<_> = marks.into_iter().collect();
    marks.sort_unstable();
    if !journal.broken {
        if let Some(id) = src.unchained_entry()? {
            v.push(Violation::ChainBroken {
                table: JOURNAL.into(),
                id,
                detail: "row is outside the chain: no chain_seq (未入链，绕过写入者插入)".into(),
            });
        }
        for (entry_id, by) in marks {
            v.push(Violation::CancelFlag {
                entry_id,
                detail: format!("reversed_by is {by}, but entry {by} does not reverse it"),
            });
        }
    }
    let journal = journal.finish(recorded.as_ref().map(|h| &h.journal), v);

    let mut audit = Walk::new(AUDIT, checkpoints);
    let mut after = 0;
    'audit: loop {
        let chunk = src.audit_after(after, CHUNK)?;
        let Some(last) = chunk.last() else { break };
        after = last.audit_id;
        for row in &chunk {
            let canonical = audit_canonical(row.audit_id, &row.row);
            if !audit.row(
                row.audit_id,
                &canonical,
                row.alg.as_deref(),
                row.hash.as_deref(),
                v,
            ) {
                break 'audit;
            }
        }
    }
    let audit = audit.finish(recorded.as_ref().map(|h| &h.audit), v);
    Ok(vec![journal, audit])
}

/// Stores one row's link: (table, id, place in the chain, hash).
pub(crate) type LinkWriter<'a> = dyn FnMut(&str, i64, i64, &Digest) -> Result<(), StoreError> + 'a;

/// Chains rows written before chains existed (migration 0016), oldest first, and returns
/// the heads to record. `write` stores one row's link: (table, id, place in the chain,
/// hash).
pub(crate) fn chain_existing(
    src: &mut dyn ChainSource,
    alg: ChainAlg,
    write: &mut LinkWriter<'_>,
) -> Result<Heads, StoreError> {
    let mut heads = Heads {
        alg,
        ..Heads::default()
    };
    let mut after = 0;
    loop {
        let chunk = src.journal_after(after, CHUNK, true)?;
        let Some(last) = chunk.last() else { break };
        after = last.entry.entry_id;
        for row in &chunk {
            let withheld: Vec<&WithheldRow> = row.withheld.iter().collect();
            let records = EntryRecords {
                settlement: row.settlement.as_ref(),
                premium: row.premium.as_ref(),
                recovery: row.recovery.as_ref(),
                quota: Some(&row.quota),
                withheld: &withheld,
                bubao: row.bubao.as_ref(),
                usage: &row.usage,
                fees: &row.fees,
            };
            let hash = alg.link(
                &heads.journal.hash,
                &journal_canonical(&row.entry, &records),
            );
            let rows = heads.journal.rows + 1;
            let seq =
                i64::try_from(rows).map_err(|_| StoreError::Io("journal chain too long".into()))?;
            write(JOURNAL, row.entry.entry_id, seq, &hash)?;
            heads.journal = Head {
                hash,
                rows,
                last_id: row.entry.entry_id,
            };
        }
    }
    let mut after = 0;
    loop {
        let chunk = src.audit_after(after, CHUNK)?;
        let Some(last) = chunk.last() else { break };
        after = last.audit_id;
        for row in &chunk {
            let hash = alg.link(&heads.audit.hash, &audit_canonical(row.audit_id, &row.row));
            write(AUDIT, row.audit_id, row.audit_id, &hash)?;
            heads.audit = Head {
                hash,
                rows: heads.audit.rows + 1,
                last_id: row.audit_id,
            };
        }
    }
    Ok(heads)
}

/// Attaches the quota rows read for a chunk of entries to the entries that record them.
pub(crate) fn attach_quota(
    entries: &mut [ChainedEntry],
    sent: Vec<QuotaSentRow>,
    applied: Vec<QuotaAppliedRow>,
    spends: Vec<QuotaSpendRow>,
) {
    let index: HashMap<i64, usize> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.entry.entry_id, i))
        .collect();
    for r in sent {
        if let Some(&i) = index.get(&r.entry_id) {
            entries[i].quota.sent = Some(r);
        }
    }
    for r in applied {
        if let Some(&i) = r.entry_id.as_ref().and_then(|id| index.get(id)) {
            entries[i].quota.applied = Some(r);
        }
    }
    for r in spends {
        if let Some(&i) = index.get(&r.entry_id) {
            entries[i].quota.spends.push(r);
        }
    }
}

/// The rows a range of chained entries record, read by a backend for `assemble`.
pub(crate) struct RecordedRows {
    /// (entry_id, seq, posting), in (entry_id, seq) order.
    pub postings: Vec<(i64, i64, crate::batch::PostingRow)>,
    pub settlements: Vec<SettlementRow>,
    pub premiums: Vec<PremiumRow>,
    pub recoveries: Vec<RecoveryCaseRow>,
    pub withheld: Vec<WithheldRow>,
    pub bubao: Vec<BubaoRow>,
    pub usage: Vec<(i64, UsageRow)>,
    pub fees: Vec<FeeRow>,
}

/// Groups postings read in (entry_id, seq) order under their entries (read in id order),
/// and attaches the rows they record.
pub(crate) fn assemble(mut entries: Vec<ChainedEntry>, rows: RecordedRows) -> Vec<ChainedEntry> {
    let RecordedRows {
        postings,
        settlements,
        premiums,
        recoveries,
        withheld,
        bubao,
        usage,
        fees,
    } = rows;
    let index: HashMap<i64, usize> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.entry.entry_id, i))
        .collect();
    for (entry_id, seq, p) in postings {
        if let Some(&i) = index.get(&entry_id) {
            entries[i].entry.postings.push(p);
            entries[i].posting_seqs.push(seq);
        }
    }
    for s in settlements {
        if let Some(&i) = index.get(&s.entry_id) {
            entries[i].settlement = Some(s);
        }
    }
    for p in premiums {
        if let Some(&i) = index.get(&p.entry_id) {
            entries[i].premium = Some(p);
        }
    }
    for r in recoveries {
        if let Some(&i) = r.repaid_entry_id.as_ref().and_then(|id| index.get(id)) {
            entries[i].recovery = Some(r);
        }
    }
    for w in withheld {
        if let Some(&i) = index.get(&w.entry_id) {
            entries[i].withheld.push(w);
        }
    }
    for b in bubao {
        if let Some(&i) = index.get(&b.entry_id) {
            entries[i].bubao = Some(b);
        }
    }
    for (entry_id, u) in usage {
        if let Some(&i) = index.get(&entry_id) {
            entries[i].usage.push(u);
        }
    }
    let by_setl: HashMap<String, usize> = entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| e.settlement.as_ref().map(|s| (s.setl_id.clone(), i)))
        .collect();
    for f in fees {
        if let Some(&i) = f.setl_id.as_ref().and_then(|s| by_setl.get(s)) {
            entries[i].fees.push(f);
        }
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sm3_is_the_standards_function() {
        // GB/T 32905-2016 Appendix A, example 1: SM3("abc").
        let mut h = <sm3::Sm3 as sm3::Digest>::new();
        sm3::Digest::update(&mut h, b"abc");
        let d: Digest = sm3::Digest::finalize(h).into();
        assert_eq!(
            to_hex(&d),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
    }

    #[test]
    fn a_text_cannot_pass_for_its_neighbour() {
        let a = AuditRow {
            at: "2025-01-01 00:00:00".into(),
            actor: "ab".into(),
            channel: "c".into(),
            action: "x".into(),
            subject: "s".into(),
            before_state: None,
            after_state: Some(String::new()),
        };
        let mut b = a.clone();
        b.actor = "a".into();
        b.channel = "bc".into();
        assert_ne!(audit_canonical(1, &a), audit_canonical(1, &b));
        let mut c = a.clone();
        c.after_state = None;
        assert_ne!(audit_canonical(1, &a), audit_canonical(1, &c));
        assert_ne!(audit_canonical(1, &a), audit_canonical(2, &a));
    }

    #[test]
    fn hex_round_trips_and_refuses_junk() {
        let d = ChainAlg::Sha256.link(&GENESIS, b"x");
        assert_eq!(from_hex(&to_hex(&d)), Some(d));
        assert_eq!(from_hex("zz"), None);
        assert_eq!(from_hex(&"é".repeat(32)), None);
    }
}
