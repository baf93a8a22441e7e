//! The JSON bodies of `/peer/v1/...`. Amounts are yuan text with two decimals (`"100.00"`),
//! never JSON numbers, so no side reads them through a float.

use gongji_core::quota::{
    AppliedTransfer, Direction, HolderSide, QuotaParties, RelativeSide, SentState, SentTransfer,
};
use gongji_core::Fen;
use serde::{Deserialize, Serialize};

use super::ledger::{CrossBinding, EligibilityAsk, Eligible, Figures, Spending, Transfer};
use crate::service::{ServiceError, ServiceResult};

pub const PATH_ELIGIBILITY: &str = "/peer/v1/eligibility";
pub const PATH_BIND: &str = "/peer/v1/binding";
pub const PATH_END: &str = "/peer/v1/binding/end";
pub const PATH_CREDIT: &str = "/peer/v1/quota/credit";
pub const PATH_RETURN: &str = "/peer/v1/quota/return";
pub const PATH_LOWER: &str = "/peer/v1/quota/lower";
pub const PATH_CONFIRM: &str = "/peer/v1/quota/confirm";
pub const PATH_SPENDING: &str = "/peer/v1/quota/spending";
pub const PATH_FIGURES: &str = "/peer/v1/quota/figures";

pub fn amount_text(amount: Fen) -> String {
    amount.to_string()
}

pub fn parse_amount(text: &str) -> ServiceResult<Fen> {
    Fen::parse_yuan(text).map_err(|_| ServiceError::BadRequest("amount".to_string()))
}

const ID_BYTES_MAX: usize = 64;

fn checked_id(text: &str, what: &str) -> ServiceResult<String> {
    if text.is_empty() || text.len() > ID_BYTES_MAX || !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ServiceError::BadRequest(what.to_string()));
    }
    Ok(text.to_string())
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EligibilityIn {
    pub holder_psn_no: String,
    pub relative_certno: String,
    pub relative_name: String,
    pub relationship: String,
    pub on: String,
}

impl EligibilityIn {
    pub fn ask(self, holder_province: u32) -> EligibilityAsk {
        EligibilityAsk {
            holder_province,
            holder_psn_no: self.holder_psn_no,
            relative_certno: self.relative_certno,
            relative_name: self.relative_name,
            relationship: self.relationship,
            on: self.on,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EligibilityOut {
    pub relative_psn_no: String,
}

impl From<Eligible> for EligibilityOut {
    fn from(e: Eligible) -> EligibilityOut {
        EligibilityOut {
            relative_psn_no: e.relative_psn_no,
        }
    }
}

/// The holder and the relative of a quota; the provinces are the caller's and this one's.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartiesIn {
    pub holder_psn_no: String,
    pub relative_psn_no: String,
}

impl PartiesIn {
    pub fn of(p: &QuotaParties) -> PartiesIn {
        PartiesIn {
            holder_psn_no: p.holder_psn_no.clone(),
            relative_psn_no: p.relative_psn_no.clone(),
        }
    }

    pub fn parties(
        &self,
        holder_province: u32,
        relative_province: u32,
    ) -> ServiceResult<QuotaParties> {
        Ok(QuotaParties {
            holder_province,
            holder_psn_no: checked_id(&self.holder_psn_no, "holder_psn_no")?,
            relative_province,
            relative_psn_no: checked_id(&self.relative_psn_no, "relative_psn_no")?,
        })
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindIn {
    pub holder_psn_no: String,
    pub relative_psn_no: String,
    pub relationship: String,
    pub begin: String,
}

impl BindIn {
    pub fn of(b: &CrossBinding) -> BindIn {
        BindIn {
            holder_psn_no: b.parties.holder_psn_no.clone(),
            relative_psn_no: b.parties.relative_psn_no.clone(),
            relationship: b.relationship.clone(),
            begin: b.begin.clone(),
        }
    }

    pub fn binding(
        &self,
        holder_province: u32,
        relative_province: u32,
    ) -> ServiceResult<CrossBinding> {
        let parties = PartiesIn {
            holder_psn_no: self.holder_psn_no.clone(),
            relative_psn_no: self.relative_psn_no.clone(),
        }
        .parties(holder_province, relative_province)?;
        Ok(CrossBinding {
            parties,
            relationship: self.relationship.clone(),
            begin: self.begin.clone(),
        })
    }
}

/// A grant (A → B) or a return (B → A).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferIn {
    pub transfer_id: String,
    pub holder_psn_no: String,
    pub relative_psn_no: String,
    pub amount: String,
}

impl TransferIn {
    pub fn of(t: &Transfer) -> TransferIn {
        TransferIn {
            transfer_id: t.id.clone(),
            holder_psn_no: t.parties.holder_psn_no.clone(),
            relative_psn_no: t.parties.relative_psn_no.clone(),
            amount: amount_text(t.amount),
        }
    }

    pub fn transfer(
        &self,
        direction: Direction,
        holder_province: u32,
        relative_province: u32,
    ) -> ServiceResult<Transfer> {
        let parties = PartiesIn {
            holder_psn_no: self.holder_psn_no.clone(),
            relative_psn_no: self.relative_psn_no.clone(),
        }
        .parties(holder_province, relative_province)?;
        Ok(Transfer {
            id: checked_id(&self.transfer_id, "transfer_id")?,
            direction,
            parties,
            amount: parse_amount(&self.amount)?,
        })
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LowerIn {
    pub holder_psn_no: String,
    pub relative_psn_no: String,
    /// Absent: everything left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    /// The lowering's id, made once by the holder's province when the person confirms
    /// (`{province:02}L…`): B applies it once and answers a repeat with the first answer.
    /// Absent from a caller older than the field, which B serves as before, unguarded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower_id: Option<String>,
}

impl LowerIn {
    /// The lowering id, checked like a transfer id.
    pub fn checked_lower_id(&self) -> ServiceResult<Option<String>> {
        self.lower_id
            .as_deref()
            .map(|id| checked_id(id, "lower_id"))
            .transpose()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StateOut {
    /// `bound`, `ended`, `credited`, `refused`, `unknown`, `returning`, `nothing`.
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdIn {
    pub transfer_id: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SpendingOut {
    pub setl_id: String,
    pub fixmedins_code: String,
    /// Absent from a province that does not send it (older answers parse the same).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixmedins_name: Option<String>,
    /// Negative for a cancel.
    pub amount: String,
    pub at: String,
}

impl SpendingOut {
    pub fn of(s: &Spending) -> SpendingOut {
        SpendingOut {
            setl_id: s.setl_id.clone(),
            fixmedins_code: s.fixmedins_code.clone(),
            fixmedins_name: s.fixmedins_name.clone(),
            amount: amount_text(s.amount),
            at: s.at.clone(),
        }
    }

    pub fn spending(&self) -> ServiceResult<Spending> {
        Ok(Spending {
            setl_id: self.setl_id.clone(),
            fixmedins_code: self.fixmedins_code.clone(),
            fixmedins_name: self.fixmedins_name.clone(),
            amount: parse_amount(&self.amount)?,
            at: self.at.clone(),
        })
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SpendingsOut {
    pub spends: Vec<SpendingOut>,
}

/// The caller asks for the figures about quotas between it and `peer`; a province asking
/// its own server names the peer, a peer asking is the peer.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FiguresIn {
    #[serde(default)]
    pub peer: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SentOut {
    pub id: String,
    pub amount: String,
    /// `reserved`, `confirmed`, `released`.
    pub state: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AppliedOut {
    pub id: String,
    pub amount: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HolderOut {
    pub holder_psn_no: String,
    pub quota_out: String,
    pub grants_sent: Vec<SentOut>,
    pub returns_applied: Vec<AppliedOut>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RelativeOut {
    pub holder_psn_no: String,
    pub quota: String,
    pub spent: String,
    pub grants_applied: Vec<AppliedOut>,
    pub returns_sent: Vec<SentOut>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FiguresOut {
    /// The province these figures are of.
    pub province: String,
    pub holders: Vec<HolderOut>,
    pub relatives: Vec<RelativeOut>,
}

fn state_text(s: SentState) -> &'static str {
    match s {
        SentState::Reserved => "reserved",
        SentState::Confirmed => "confirmed",
        SentState::Released => "released",
    }
}

fn state_of(text: &str) -> ServiceResult<SentState> {
    match text {
        "reserved" => Ok(SentState::Reserved),
        "confirmed" => Ok(SentState::Confirmed),
        "released" => Ok(SentState::Released),
        other => Err(ServiceError::BadRequest(format!("state {other:?}"))),
    }
}

fn sent_out(s: &SentTransfer) -> SentOut {
    SentOut {
        id: s.id.clone(),
        amount: amount_text(s.amount),
        state: state_text(s.state).to_string(),
    }
}

fn applied_out(a: &AppliedTransfer) -> AppliedOut {
    AppliedOut {
        id: a.id.clone(),
        amount: amount_text(a.amount),
    }
}

fn sent_in(s: &SentOut) -> ServiceResult<SentTransfer> {
    Ok(SentTransfer {
        id: s.id.clone(),
        amount: parse_amount(&s.amount)?,
        state: state_of(&s.state)?,
    })
}

fn applied_in(a: &AppliedOut) -> ServiceResult<AppliedTransfer> {
    Ok(AppliedTransfer {
        id: a.id.clone(),
        amount: parse_amount(&a.amount)?,
    })
}

impl FiguresOut {
    pub fn of(province: u32, f: &Figures) -> FiguresOut {
        FiguresOut {
            province: format!("{province:02}"),
            holders: f
                .holders
                .iter()
                .map(|(holder, side)| HolderOut {
                    holder_psn_no: holder.clone(),
                    quota_out: amount_text(side.quota_out),
                    grants_sent: side.grants_sent.iter().map(sent_out).collect(),
                    returns_applied: side.returns_applied.iter().map(applied_out).collect(),
                })
                .collect(),
            relatives: f
                .relatives
                .iter()
                .map(|(holder, side)| RelativeOut {
                    holder_psn_no: holder.clone(),
                    quota: amount_text(side.quota),
                    spent: amount_text(side.spent),
                    grants_applied: side.grants_applied.iter().map(applied_out).collect(),
                    returns_sent: side.returns_sent.iter().map(sent_out).collect(),
                })
                .collect(),
        }
    }

    pub fn figures(&self) -> ServiceResult<Figures> {
        let mut out = Figures::default();
        for h in &self.holders {
            out.holders.push((
                h.holder_psn_no.clone(),
                HolderSide {
                    quota_out: parse_amount(&h.quota_out)?,
                    grants_sent: h
                        .grants_sent
                        .iter()
                        .map(sent_in)
                        .collect::<Result<_, _>>()?,
                    returns_applied: h
                        .returns_applied
                        .iter()
                        .map(applied_in)
                        .collect::<Result<_, _>>()?,
                },
            ));
        }
        for r in &self.relatives {
            out.relatives.push((
                r.holder_psn_no.clone(),
                RelativeSide {
                    quota: parse_amount(&r.quota)?,
                    spent: parse_amount(&r.spent)?,
                    grants_applied: r
                        .grants_applied
                        .iter()
                        .map(applied_in)
                        .collect::<Result<_, _>>()?,
                    returns_sent: r
                        .returns_sent
                        .iter()
                        .map(sent_in)
                        .collect::<Result<_, _>>()?,
                },
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spending_carries_the_institutions_name_and_an_answer_without_it_still_parses() {
        let named = SpendingOut {
            setl_id: "S1".into(),
            fixmedins_code: "P44010300001".into(),
            fixmedins_name: Some("越秀大药房".into()),
            amount: "120.00".into(),
            at: "2026-03-01 10:00:00".into(),
        };
        let text = serde_json::to_string(&named).expect("json");
        let back: SpendingOut = serde_json::from_str(&text).expect("parse");
        let spending = back.spending().expect("spending");
        assert_eq!(spending.fixmedins_name.as_deref(), Some("越秀大药房"));

        let older = r#"{"setl_id":"S1","fixmedins_code":"P1","amount":"-5.00","at":""}"#;
        let spending = serde_json::from_str::<SpendingOut>(older)
            .expect("parse")
            .spending()
            .expect("spending");
        assert_eq!(spending.fixmedins_name, None);
        assert_eq!(spending.amount, Fen::from_yuan(-5));
    }
}
