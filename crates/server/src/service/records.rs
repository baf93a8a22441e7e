//! My records: every movement of my money, newest first, with filters by date and kind; what
//! my relatives spent from my account, and whose account paid for me.

use chrono::NaiveDate;
use gongji_core::Fen;
use gongji_store::read::{RecordQuery, RecordRow, PAGE_SIZE_MAX};

use super::{PersonRef, ServiceError, ServiceResult};
use crate::app::App;

/// Most rows one page may skip.
pub const RECORD_OFFSET_MAX: u32 = 100_000;
/// Rows on a page unless the caller asks for another size.
pub const RECORD_PAGE_DEFAULT: u32 = 50;
/// The journal kinds a filter may name.
pub const RECORD_KINDS: &[&str] = &[
    "settle",
    "cancel",
    "premium",
    "opening",
    "recovery",
    "refund_recompute",
];

/// What a record is to the person reading it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordRole {
    /// My account paid (or got back) for my own care.
    OwnCare,
    /// My account paid (or got back) for a relative's care: mutual aid given.
    PaidForRelative,
    /// A holder's account paid (or got back) for my care: mutual aid received.
    PaidByHolder,
    /// My account paid a relative's premium.
    PremiumForRelative,
    /// A holder's account paid my premium.
    PremiumForMe,
    /// Money into my account (opening balance, employer transfer).
    Funding,
    /// A recovered improper payment returned to my account.
    Recovery,
    /// My care that no account paid: all in cash (shown to a relative, with the reason).
    PaidInCash,
}

impl RecordRole {
    pub fn code(self) -> &'static str {
        match self {
            RecordRole::OwnCare => "own_care",
            RecordRole::PaidForRelative => "paid_for_relative",
            RecordRole::PaidByHolder => "paid_by_holder",
            RecordRole::PremiumForRelative => "premium_for_relative",
            RecordRole::PremiumForMe => "premium_for_me",
            RecordRole::Funding => "funding",
            RecordRole::Recovery => "recovery",
            RecordRole::PaidInCash => "paid_in_cash",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Record {
    pub entry_id: i64,
    pub occurred_at: String,
    pub kind: String,
    pub role: RecordRole,
    /// Signed: negative when the account paid.
    pub amount: Fen,
    /// The balance after, only for my own account.
    pub balance_after: Option<Fen>,
    /// The other person: the relative I paid for, the holder who paid for me.
    pub counterpart: Option<PersonRef>,
    pub fixmedins_code: Option<String>,
    pub fixmedins_name: Option<String>,
    pub channel: String,
    pub explanation: String,
    pub summary: String,
    /// The entry was later cancelled.
    pub cancelled_by: Option<i64>,
    pub cancels: Option<i64>,
}

#[derive(Clone, Debug, Default)]
pub struct RecordFilter {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub kind: Option<String>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

impl RecordFilter {
    fn query(&self, psn_no: &str) -> ServiceResult<RecordQuery> {
        if let Some(k) = &self.kind {
            if !RECORD_KINDS.contains(&k.as_str()) {
                return Err(ServiceError::BadRequest(format!(
                    "kind 应为 {} 之一",
                    RECORD_KINDS.join("、")
                )));
            }
        }
        if let (Some(f), Some(t)) = (self.from, self.to) {
            if f > t {
                return Err(ServiceError::BadRequest(
                    "from 晚于 to / from is after to".into(),
                ));
            }
        }
        let limit = self.limit.unwrap_or(RECORD_PAGE_DEFAULT);
        if limit == 0 || limit > PAGE_SIZE_MAX {
            return Err(ServiceError::BadRequest(format!(
                "limit 应在1到{PAGE_SIZE_MAX}之间"
            )));
        }
        let offset = self.offset.unwrap_or(0);
        if offset > RECORD_OFFSET_MAX {
            return Err(ServiceError::BadRequest(format!(
                "offset 最大{RECORD_OFFSET_MAX}"
            )));
        }
        Ok(RecordQuery {
            psn_no: psn_no.to_string(),
            from: self.from.map(|d| d.format("%Y-%m-%d").to_string()),
            to: self.to.map(|d| d.format("%Y-%m-%d").to_string()),
            kind: self.kind.clone(),
            limit,
            offset,
        })
    }
}

/// The ledger's cash account, as a record row names it.
const CASH_ACCOUNT: &str = "cash";

fn role_of(me: &str, r: &RecordRow) -> RecordRole {
    let mine = r.account_psn_no == me;
    match (r.kind.as_str(), mine) {
        ("settle", false) if r.account_psn_no == CASH_ACCOUNT => RecordRole::PaidInCash,
        ("settle" | "cancel", true) if r.entry_psn_no.as_deref() == Some(me) => RecordRole::OwnCare,
        ("settle" | "cancel", true) => RecordRole::PaidForRelative,
        ("settle" | "cancel", false) => RecordRole::PaidByHolder,
        ("premium", true) => RecordRole::PremiumForRelative,
        ("premium", false) => RecordRole::PremiumForMe,
        ("recovery", _) => RecordRole::Recovery,
        _ => RecordRole::Funding,
    }
}

/// The records of `psn_no`, newest first. Callers check that the reader may see them.
pub async fn records(app: &App, psn_no: &str, filter: &RecordFilter) -> ServiceResult<Vec<Record>> {
    let q = filter.query(psn_no)?;
    let me = psn_no.to_string();
    let rows = app.read_store(move |s| s.records(&q)).await?;
    app.read(move |engine| -> ServiceResult<Vec<Record>> {
        let state = engine.state();
        let person = |p: &str| {
            state
                .persons
                .get(p)
                .map(PersonRef::of)
                .unwrap_or_else(|| PersonRef::unknown(p))
        };
        Ok(rows
            .into_iter()
            .map(|r| {
                let role = role_of(&me, &r);
                let counterpart = match role {
                    RecordRole::PaidForRelative => r.entry_psn_no.as_deref().map(person),
                    RecordRole::PaidByHolder | RecordRole::PremiumForMe => {
                        Some(person(&r.account_psn_no))
                    }
                    RecordRole::PremiumForRelative => r.premium_for.as_deref().map(person),
                    _ => None,
                };
                Record {
                    entry_id: r.entry_id,
                    occurred_at: r.occurred_at,
                    kind: r.kind,
                    role,
                    amount: r.amount,
                    balance_after: (r.account_psn_no == me).then_some(r.balance_after),
                    counterpart,
                    fixmedins_code: r.fixmedins_code,
                    fixmedins_name: r.fixmedins_name,
                    channel: r.channel,
                    explanation: r.explanation,
                    summary: r.summary,
                    cancelled_by: r.reversed_by,
                    cancels: r.reverses_entry,
                }
            })
            .collect())
    })
    .await?
}
