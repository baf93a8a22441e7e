//! The row mappers both backends share. Each reads one row type by column position, in
//! the order its `row_columns!` list (or the select named on it) gives, through [`Cols`],
//! which both drivers' rows implement: one mapper per row type, whichever database.

use gongji_core::ledger::LedgerAccount;
use gongji_core::Fen;

use crate::batch::{
    AuditRow, BubaoRow, FeeRow, JournalEntry, PostingRow, RecoveryCaseRow, SettlementRow,
    WithheldRow,
};
use crate::payments::AgentRow;
use crate::read::{PremiumPayment, ProxyConsentRow};
use crate::reviews::ReviewRow;

/// A column value both drivers read alike.
pub(crate) trait Value:
    rusqlite::types::FromSql + for<'a> postgres::types::FromSql<'a>
{
}

impl<T: rusqlite::types::FromSql + for<'a> postgres::types::FromSql<'a>> Value for T {}

/// A result row of either driver, read by column position.
pub(crate) trait Cols {
    type Error;

    fn col<T: Value>(&self, i: usize) -> Result<T, Self::Error>;

    /// A 0/1 flag column: INTEGER on PostgreSQL, any integer on SQLite.
    fn flag(&self, i: usize) -> Result<bool, Self::Error>;

    fn fen(&self, i: usize) -> Result<Fen, Self::Error> {
        self.col::<i64>(i).map(Fen::from_fen)
    }
}

/// The column list of a row type, as its mapper below reads it by position: every select
/// that feeds the mapper, on either backend, splices it in with `concat!`, so the list and
/// the mapper change together.
#[macro_export]
#[doc(hidden)]
macro_rules! row_columns {
    // A `journal` row's entry columns, as `journal_entry_of` reads them.
    (journal_entry) => {
        "entry_id, msgid, kind, admdvs, psn_no, fixmedins_code, channel, occurred_at, \
         reverses_entry, request_hash, response, summary"
    };
    // A `settlements` row's columns, as `settlement_of` reads them.
    (settlement) => {
        "setl_id, entry_id, mdtrt_id, psn_no, fixmedins_code, admdvs, insutype, med_type, \
         setl_date, medfee_sumamt, fund_pay_sumamt, acct_pay, acct_mulaid_pay, \
         psn_cash_pay, cancelled, detail"
    };
    // A `recovery_cases` row's columns, as `recovery_case_of` reads them.
    (recovery_case) => {
        "case_id, binding_id, holder_psn_no, relative_psn_no, setl_id, admdvs, \
         amount_fen, reason, status, opened_by, opened_at, repaid_by, repaid_at, \
         repaid_entry_id"
    };
    // A `pool_withheld` row's columns, as `withheld_of` reads them.
    (withheld) => {
        "setl_id, seq, entry_id, psn_no, admdvs, year, setl_date, fund_pay_type, name_zh, \
         amount_fen, explanation"
    };
    // A `premiums` row's columns, as the chain walks read them.
    (premium) => {
        "relative_psn_no, year, entry_id, holder_psn_no, category, amount_fen, kind, \
         channel, agent_id, paid_at"
    };
    // A `usage_log` row's columns after its `entry_id`, as the usage reads take them.
    (usage) => {
        "kind, psn_no, period, cap_group, binding_id, deductible_fen, fund_fen, \
         burden_fen, amount_fen"
    };
    // A fee line's columns (`fee_details` or `settled_fees` as `f`), as `fee_of` reads them.
    (fee) => {
        "f.mdtrt_id, f.feedetl_sn, f.chrg_bchno, f.med_list_codg, f.amount_fen, \
         f.count_e4, f.price_fen, f.setl_id"
    };
    // An `audit_log` row's columns, as `audit_row_of` reads them after the id.
    (audit) => {
        "audit_id, at, actor, channel, action, subject, before_state, after_state"
    };
    // A `bubao` row's columns, as `bubao_of` reads them.
    (bubao) => {
        "setl_id, entry_id, psn_no, admdvs, year, amount_fen, paid_on"
    };
    // A `postings` row's columns after its `entry_id` and `seq`, as `posting_at` reads them.
    (posting) => {
        "account_key, amount_fen, rule, floor_fen, balance_after_fen, explanation"
    };
}

/// A `journal` row's entry columns, first in every select that reads entries (`postings`
/// are read apart).
pub(crate) fn journal_entry_of<R: Cols>(r: &R) -> Result<JournalEntry, R::Error> {
    Ok(JournalEntry {
        entry_id: r.col(0)?,
        msgid: r.col(1)?,
        kind: r.col(2)?,
        admdvs: r.col(3)?,
        psn_no: r.col(4)?,
        fixmedins_code: r.col(5)?,
        channel: r.col(6)?,
        occurred_at: r.col(7)?,
        reverses_entry: r.col(8)?,
        request_hash: r.col(9)?,
        response: r.col(10)?,
        summary: r.col(11)?,
        postings: Vec::new(),
    })
}

/// A `postings` row from its `account_key` column at `first` on, without its owner: the
/// chains do not encode it, and the reads that show it add it with [`with_owner`].
pub(crate) fn posting_at<R: Cols>(r: &R, first: usize) -> Result<PostingRow, R::Error> {
    Ok(PostingRow {
        account_key: r.col(first)?,
        psn_no: None,
        amount: r.fen(first + 1)?,
        rule: r.col(first + 2)?,
        floor: r.col::<Option<i64>>(first + 3)?.map(Fen::from_fen),
        balance_after: r.fen(first + 4)?,
        explanation: r.col(first + 5)?,
    })
}

/// The posting with the person owning its account, for personal accounts.
pub(crate) fn with_owner(mut p: PostingRow) -> PostingRow {
    p.psn_no = LedgerAccount::parse_key(&p.account_key)
        .and_then(|a| a.personal_psn_no().map(str::to_string));
    p
}

/// A `settlements` row, columns in table order.
pub(crate) fn settlement_of<R: Cols>(r: &R) -> Result<SettlementRow, R::Error> {
    Ok(SettlementRow {
        setl_id: r.col(0)?,
        entry_id: r.col(1)?,
        mdtrt_id: r.col(2)?,
        psn_no: r.col(3)?,
        fixmedins_code: r.col(4)?,
        admdvs: r.col(5)?,
        insutype: r.col(6)?,
        med_type: r.col(7)?,
        setl_date: r.col(8)?,
        medfee_sumamt: r.fen(9)?,
        fund_pay_sumamt: r.fen(10)?,
        acct_pay: r.fen(11)?,
        acct_mulaid_pay: r.fen(12)?,
        psn_cash_pay: r.fen(13)?,
        cancelled: r.flag(14)?,
        detail: r.col(15)?,
    })
}

/// A fee line of `fee_details` or `settled_fees`: `mdtrt_id, feedetl_sn, chrg_bchno,
/// med_list_codg, amount_fen, count_e4, price_fen, setl_id`.
pub(crate) fn fee_of<R: Cols>(r: &R) -> Result<FeeRow, R::Error> {
    Ok(FeeRow {
        mdtrt_id: r.col(0)?,
        feedetl_sn: r.col(1)?,
        chrg_bchno: r.col(2)?,
        med_list_codg: r.col(3)?,
        amount: r.fen(4)?,
        count_e4: r.col(5)?,
        price: r.fen(6)?,
        setl_id: r.col(7)?,
    })
}

/// A `recovery_cases` row, columns in table order.
pub(crate) fn recovery_case_of<R: Cols>(r: &R) -> Result<RecoveryCaseRow, R::Error> {
    Ok(RecoveryCaseRow {
        case_id: r.col(0)?,
        binding_id: r.col(1)?,
        holder_psn_no: r.col(2)?,
        relative_psn_no: r.col(3)?,
        setl_id: r.col(4)?,
        admdvs: r.col(5)?,
        amount: r.fen(6)?,
        reason: r.col(7)?,
        status: r.col(8)?,
        opened_by: r.col(9)?,
        opened_at: r.col(10)?,
        repaid_by: r.col(11)?,
        repaid_at: r.col(12)?,
        repaid_entry_id: r.col(13)?,
    })
}

/// An `audit_log` row's columns after its `audit_id` (column 0).
pub(crate) fn audit_row_of<R: Cols>(r: &R) -> Result<AuditRow, R::Error> {
    Ok(AuditRow {
        at: r.col(1)?,
        actor: r.col(2)?,
        channel: r.col(3)?,
        action: r.col(4)?,
        subject: r.col(5)?,
        before_state: r.col(6)?,
        after_state: r.col(7)?,
    })
}

/// A `pool_withheld` row, columns in table order.
pub(crate) fn withheld_of<R: Cols>(r: &R) -> Result<WithheldRow, R::Error> {
    Ok(WithheldRow {
        setl_id: r.col(0)?,
        seq: r.col(1)?,
        entry_id: r.col(2)?,
        psn_no: r.col(3)?,
        admdvs: r.col(4)?,
        year: r.col(5)?,
        setl_date: r.col(6)?,
        fund_pay_type: r.col(7)?,
        name_zh: r.col(8)?,
        amount: r.fen(9)?,
        explanation: r.col(10)?,
    })
}

/// A `bubao` row, columns in table order.
pub(crate) fn bubao_of<R: Cols>(r: &R) -> Result<BubaoRow, R::Error> {
    Ok(BubaoRow {
        setl_id: r.col(0)?,
        entry_id: r.col(1)?,
        psn_no: r.col(2)?,
        admdvs: r.col(3)?,
        year: r.col(4)?,
        amount: r.fen(5)?,
        paid_on: r.col(6)?,
    })
}

/// A premium payment, in `premium_payment_select!`'s order.
pub(crate) fn premium_payment_of<R: Cols>(r: &R) -> Result<PremiumPayment, R::Error> {
    Ok(PremiumPayment {
        relative_psn_no: r.col(0)?,
        year: r.col(1)?,
        kind: r.col(2)?,
        entry_id: r.col(3)?,
        payer_psn_no: r.col(4)?,
        category: r.col(5)?,
        amount: r.fen(6)?,
        channel: r.col(7)?,
        agent_id: r.col(8)?,
        paid_at: r.col(9)?,
    })
}

/// A `collecting_agents` row, columns in table order.
pub(crate) fn agent_of<R: Cols>(r: &R) -> Result<AgentRow, R::Error> {
    Ok(AgentRow {
        agent_id: r.col(0)?,
        name: r.col(1)?,
        admdvs: r.col(2)?,
        kind: r.col(3)?,
        token_sha256: r.col(4)?,
        added_by: r.col(5)?,
        added_at: r.col(6)?,
    })
}

/// A review request as its selects list it (sealed numbers not yet opened).
pub(crate) fn review_of<R: Cols>(r: &R) -> Result<ReviewRow, R::Error> {
    Ok(ReviewRow {
        review_id: r.col(0)?,
        psn_no: r.col(1)?,
        kind: r.col(2)?,
        state: r.col(3)?,
        name: r.col(4)?,
        phone: r.col(5)?,
        certno: r.col(6)?,
        admdvs: r.col(7)?,
        submitted_at: r.col(8)?,
        decided_at: r.col(9)?,
        decided_by: r.col(10)?,
        reason: r.col(11)?,
    })
}

/// A `proxy_consents` row, columns in table order.
pub(crate) fn proxy_consent_of<R: Cols>(r: &R) -> Result<ProxyConsentRow, R::Error> {
    Ok(ProxyConsentRow {
        token: r.col(0)?,
        parent_psn_no: r.col(1)?,
        child_psn_no: r.col(2)?,
        given_at: r.col(3)?,
        revoked_at: r.col(4)?,
    })
}
