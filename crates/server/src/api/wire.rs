//! Wire types shared by several handlers, and the conversions from the service layer's
//! domain results. Money is a yuan string with two decimals (`"12.30"`), never a number;
//! dates are `yyyy-MM-dd`.

use chrono::NaiveDate;
use gongji_core::Fen;
use serde::Serialize;
use utoipa::ToSchema;

use super::errors::ApiError;
use crate::service::family::BindingView;
use crate::service::records::Record;
use crate::service::PersonRef;

pub fn yuan(f: Fen) -> String {
    f.to_string()
}

/// Parses a yuan amount given as a string (`"100"`, `"99.50"`).
pub fn parse_yuan(field: &str, text: &str) -> Result<Fen, ApiError> {
    Fen::parse_yuan(text).map_err(|e| ApiError::bad_request(format!("{field}: {e}")))
}

pub fn parse_date(field: &str, text: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        ApiError::bad_request(format!(
            "{field}: 日期应为 yyyy-MM-dd / date must be yyyy-MM-dd"
        ))
    })
}

/// A person as others see them: masked.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PersonRefOut {
    pub psn_no: String,
    /// e.g. `张*国`.
    pub name: String,
    /// e.g. `3703**********0114`.
    pub certno: String,
    pub admdvs: String,
}

impl From<&PersonRef> for PersonRefOut {
    fn from(p: &PersonRef) -> PersonRefOut {
        PersonRefOut {
            psn_no: p.psn_no.clone(),
            name: p.name_masked.clone(),
            certno: p.certno_masked.clone(),
            admdvs: p.admdvs.clone(),
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BindingOut {
    pub binding_id: i64,
    pub holder: PersonRefOut,
    pub relative: PersonRefOut,
    /// GB/T 4761 code: what the relative is to the holder.
    pub relationship: String,
    /// What the relative is to the holder (the code's name).
    pub relationship_name: String,
    /// What the holder is to the relative: the label for the relative's own view.
    pub holder_to_relative_name: String,
    pub begin: String,
    /// Last valid day; absent = open-ended.
    pub end: Option<String>,
    /// `active`, `suspended`, `ended`.
    pub status: String,
    /// Valid today by time, status and insurance (R-S9, R-S10).
    pub valid: bool,
    /// `valid`, `not_yet_valid`, `expired`, `suspended`, `ended`, `insurance_ended`.
    pub validity: String,
    pub validity_name: String,
    pub limit_per_payment: Option<String>,
    pub limit_per_month: Option<String>,
    pub limit_per_day: Option<String>,
    pub limit_per_year: Option<String>,
    pub used_this_month: String,
    pub channel: String,
}

impl From<&BindingView> for BindingOut {
    fn from(v: &BindingView) -> BindingOut {
        let b = &v.binding;
        BindingOut {
            binding_id: b.id,
            holder: (&v.holder).into(),
            relative: (&v.relative).into(),
            relationship: b.relationship.to_string(),
            relationship_name: b.relationship.name_zh().to_string(),
            holder_to_relative_name: v.holder_to_relative_zh.to_string(),
            begin: b.begin.to_string(),
            end: b.end.map(|d| d.to_string()),
            status: b.status.code().to_string(),
            valid: v.validity == crate::service::family::Validity::Valid,
            validity: v.validity.code().to_string(),
            validity_name: v.validity.name_zh().to_string(),
            limit_per_payment: b.limit_per_payment.map(yuan),
            limit_per_month: b.limit_per_month.map(yuan),
            limit_per_day: b.limit_per_day.map(yuan),
            limit_per_year: b.limit_per_year.map(yuan),
            used_this_month: yuan(v.used_this_month),
            channel: b.channel.code().to_string(),
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RecordOut {
    pub entry_id: i64,
    /// `yyyy-MM-dd HH:mm:ss`.
    pub occurred_at: String,
    /// Journal kind: `settle`, `cancel`, `premium`, `opening`, `recovery`.
    pub kind: String,
    /// `own_care`, `paid_for_relative`, `paid_by_holder`, `premium_for_relative`,
    /// `premium_for_me`, `funding`, `recovery`, `paid_in_cash` (a relative's care no account paid).
    pub role: String,
    /// Signed yuan: negative when the account paid.
    pub amount: String,
    /// Only for the reader's own account.
    pub balance_after: Option<String>,
    /// The relative paid for, or the holder whose account paid.
    pub counterpart: Option<PersonRefOut>,
    pub fixmedins_code: Option<String>,
    pub fixmedins_name: Option<String>,
    pub channel: String,
    pub explanation: String,
    pub summary: String,
    pub cancelled_by_entry: Option<i64>,
    pub cancels_entry: Option<i64>,
}

impl From<&Record> for RecordOut {
    fn from(r: &Record) -> RecordOut {
        RecordOut {
            entry_id: r.entry_id,
            occurred_at: r.occurred_at.clone(),
            kind: r.kind.clone(),
            role: r.role.code().to_string(),
            amount: yuan(r.amount),
            balance_after: r.balance_after.map(yuan),
            counterpart: r.counterpart.as_ref().map(Into::into),
            fixmedins_code: r.fixmedins_code.clone(),
            fixmedins_name: r.fixmedins_name.clone(),
            channel: r.channel.clone(),
            explanation: r.explanation.clone(),
            summary: r.summary.clone(),
            cancelled_by_entry: r.cancelled_by,
            cancels_entry: r.cancels,
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct YearTotalsOut {
    pub year: i32,
    pub settlements: i64,
    pub medfee_sumamt: String,
    pub fund_pay_sumamt: String,
    pub acct_pay: String,
    /// Of `acct_pay`, what holders' accounts paid by mutual aid.
    pub acct_mulaid_pay: String,
    pub psn_cash_pay: String,
    pub own_account_spent: String,
    pub mutual_aid_given: String,
    pub premiums_paid: String,
}

impl YearTotalsOut {
    pub fn of(year: i32, t: &gongji_store::read::YearTotals) -> YearTotalsOut {
        YearTotalsOut {
            year,
            settlements: t.settlements,
            medfee_sumamt: yuan(t.medfee_sumamt),
            fund_pay_sumamt: yuan(t.fund_pay_sumamt),
            acct_pay: yuan(t.acct_pay),
            acct_mulaid_pay: yuan(t.acct_mulaid_pay),
            psn_cash_pay: yuan(t.psn_cash_pay),
            own_account_spent: yuan(t.own_account_spent),
            mutual_aid_given: yuan(t.mutual_aid_given),
            premiums_paid: yuan(t.premiums_paid),
        }
    }
}
