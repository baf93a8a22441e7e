//! One settlement decided end to end: bill split, pooled fund, personal accounts, cash,
//! and the balanced postings that carry it out.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::allocation::{allocate, Allocation, AllocationFacts, HolderFacts, QuotaFacts};
use crate::codes::Admdvs;
use crate::codes::{AccountUse, InsuStatus, MedType, MutualAidUse};
use crate::domain::{CatalogItem, Institution, Person};
use crate::ledger::{LedgerAccount, Posting, PostingRule, PostingSet};
use crate::money::Fen;
use crate::policy::{Policy, SecondReimbursement};
use crate::pooling::{split_bill, BillSplit, FeeLine, PoolUsage, PoolingFacts};
use crate::refusal::Refusal;
use crate::second_reimbursement::{recompute_after_cancel, RefundYear};

/// Everything a settlement needs, loaded before deciding.
#[derive(Clone, Debug)]
pub struct SettlementFacts<'a> {
    pub patient: &'a Person,
    pub own_balance: Fen,
    pub institution: &'a Institution,
    pub med_type: MedType,
    pub account_use: AccountUse,
    pub lines: &'a [FeeLine],
    /// medfee_sumamt as the institution declared it; must equal the lines' sum.
    pub declared_total: Option<Fen>,
    pub date: NaiveDate,
    pub usage: &'a HashMap<String, PoolUsage>,
    pub holders: Vec<HolderFacts<'a>>,
    /// Quotas from holders in other provinces (R-N3).
    pub quotas: Vec<QuotaFacts<'a>>,
    pub presented_holder: Option<&'a str>,
}

/// The amounts of `setlinfo`, all in fen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SettlementTotals {
    pub medfee_sumamt: Fen,
    pub fulamt_ownpay_amt: Fen,
    pub overlmt_selfpay: Fen,
    pub preselfpay_amt: Fen,
    pub inscp_scp_amt: Fen,
    pub act_pay_dedc: Fen,
    pub hifp_pay: Fen,
    pub pool_prop_selfpay: Fen,
    pub oth_pay: Fen,
    pub fund_pay_sumamt: Fen,
    pub psn_part_amt: Fen,
    pub acct_pay: Fen,
    pub psn_cash_pay: Fen,
    pub hosp_part_amt: Fen,
    pub acct_mulaid_pay: Fen,
    /// The patient's own balance after.
    pub balc: Fen,
}

impl SettlementTotals {
    /// The identities every settlement answer must satisfy (NHSA-INTERFACE.md).
    pub fn identities_hold(&self) -> bool {
        let sum = |parts: &[Fen]| Fen::checked_sum(parts.iter().copied());
        Some(self.medfee_sumamt)
            == sum(&[self.fund_pay_sumamt, self.psn_part_amt, self.hosp_part_amt])
            && Some(self.psn_part_amt) == sum(&[self.acct_pay, self.psn_cash_pay])
            && self.acct_mulaid_pay <= self.acct_pay
            && Some(self.fund_pay_sumamt) == sum(&[self.hifp_pay, self.oth_pay])
    }
}

#[derive(Clone, Debug)]
pub struct SettlementDecision {
    pub split: BillSplit,
    pub allocation: Allocation,
    pub totals: SettlementTotals,
    pub postings: PostingSet,
}

/// Decides a settlement under the patient's region policy.
pub fn decide_settlement(
    facts: &SettlementFacts<'_>,
    catalog: &dyn Fn(&str) -> Option<CatalogItem>,
    policy: &Policy,
) -> Result<SettlementDecision, Refusal> {
    let patient = facts.patient;
    if patient.insu_status != InsuStatus::Normal {
        return Err(Refusal::PersonNotInsured);
    }
    let pooling = PoolingFacts {
        insutype: patient.insutype,
        med_type: facts.med_type,
        level: facts.institution.level,
        usage: facts.usage,
    };
    let split = split_bill(facts.lines, catalog, &pooling, policy)?;
    if let Some(declared) = facts.declared_total {
        if declared != split.medfee_sumamt {
            return Err(Refusal::FeeTotalMismatch {
                declared,
                computed: split.medfee_sumamt,
            });
        }
    }
    let allocation = allocate(
        &AllocationFacts {
            patient,
            own_balance: facts.own_balance,
            amount: split.personal_burden(),
            account_use: facts.account_use,
            holders: facts.holders.clone(),
            quotas: facts.quotas.clone(),
            date: facts.date,
            pooled_fund_paid: split.pooled_fund.is_positive(),
            institution: Some(facts.institution),
            presented_holder: facts.presented_holder,
            purpose: MutualAidUse::MedicalCost,
        },
        policy,
    )?;
    let mulaid = allocation.mutual_aid_total();
    let acct_pay = allocation
        .own
        .checked_add(mulaid)
        .ok_or(Refusal::AmountOverflow)?;
    let totals = SettlementTotals {
        medfee_sumamt: split.medfee_sumamt,
        fulamt_ownpay_amt: split.fulamt_ownpay,
        overlmt_selfpay: split.overlmt,
        preselfpay_amt: split.preselfpay,
        inscp_scp_amt: split.inscp,
        act_pay_dedc: split.deductible_applied,
        hifp_pay: split.pooled_fund,
        pool_prop_selfpay: split.pool_prop_selfpay,
        oth_pay: split.second_reimbursement,
        fund_pay_sumamt: split.fund_total(),
        psn_part_amt: split.personal_burden(),
        acct_pay,
        psn_cash_pay: allocation.cash,
        hosp_part_amt: Fen::ZERO,
        acct_mulaid_pay: mulaid,
        balc: allocation.own_balance_after,
    };
    let postings = settlement_postings(&split, &allocation, facts)?;
    debug_assert!(totals.identities_hold());
    Ok(SettlementDecision {
        split,
        allocation,
        totals,
        postings,
    })
}

fn neg(amount: Fen) -> Result<Fen, Refusal> {
    amount.checked_neg().ok_or(Refusal::AmountOverflow)
}

fn settlement_postings(
    split: &BillSplit,
    allocation: &Allocation,
    facts: &SettlementFacts<'_>,
) -> Result<PostingSet, Refusal> {
    let patient = facts.patient;
    let mut postings = Vec::new();
    for line in &split.fund_lines {
        postings.push(Posting {
            account: LedgerAccount::PoolFund {
                admdvs: patient.admdvs,
                fund_pay_type: line.fund_pay_type.clone(),
            },
            amount: neg(line.amount)?,
            rule: if line.cap_group == crate::pooling::SECOND_REIMBURSEMENT_GROUP {
                PostingRule::SecondReimbursement
            } else {
                PostingRule::PooledFund
            },
            floor: None,
            explanation: line.explanation.clone(),
        });
    }
    postings.push(Posting {
        account: LedgerAccount::Personal(patient.psn_no.clone()),
        amount: neg(allocation.own)?,
        rule: PostingRule::OwnAccount,
        floor: Some(Fen::ZERO),
        explanation: format!("本人个人账户支付{}元", allocation.own),
    });
    for draw in &allocation.quota_draws {
        postings.push(Posting {
            account: draw.parties.quota(),
            amount: neg(draw.amount)?,
            rule: PostingRule::Quota,
            floor: Some(Fen::ZERO),
            explanation: format!(
                "省际共济：{}省家人划入的额度支付{}元",
                draw.parties.holder_province, draw.amount
            ),
        });
    }
    for draw in &allocation.draws {
        postings.push(Posting {
            account: LedgerAccount::Personal(draw.holder.clone()),
            amount: neg(draw.amount)?,
            rule: PostingRule::MutualAid,
            floor: Some(draw.reserve),
            explanation: format!(
                "家庭共济：户主{}账户支付{}元",
                draw.holder_name_masked, draw.amount
            ),
        });
    }
    postings.push(Posting {
        account: LedgerAccount::Cash,
        amount: neg(allocation.cash)?,
        rule: PostingRule::Cash,
        floor: None,
        explanation: format!("现金支付{}元", allocation.cash),
    });
    postings.push(Posting {
        account: LedgerAccount::Institution(facts.institution.code.clone()),
        amount: split.medfee_sumamt,
        rule: PostingRule::InstitutionReceivable,
        floor: None,
        explanation: format!(
            "{}应收医疗费{}元",
            facts.institution.name, split.medfee_sumamt
        ),
    });
    PostingSet::new(postings).map_err(|_| Refusal::InternalUnbalanced)
}

/// A settlement's share of the year's second reimbursement (R-J9) and the year it belongs to.
#[derive(Clone, Copy, Debug)]
pub struct CancelRefundFacts<'a> {
    pub rule: &'a SecondReimbursement,
    /// The year's live settlements before the cancel, this one among them.
    pub year: RefundYear,
    /// This settlement's own burden and refund.
    pub cancelled: RefundYear,
}

/// Everything a cancel needs, loaded before deciding.
#[derive(Clone, Debug)]
pub struct CancelFacts<'a> {
    pub setl_id: &'a str,
    pub admdvs: Admdvs,
    /// The settlement's postings, as written.
    pub original: &'a PostingSet,
    /// Present when the settlement took part in the second reimbursement.
    pub second_reimbursement: Option<CancelRefundFacts<'a>>,
}

/// The second reimbursement brought back to the rule after a cancel: its own entry, so the
/// cancel itself stays the exact reverse of its settlement.
#[derive(Clone, Debug)]
pub struct RefundRecomputation {
    pub postings: PostingSet,
    /// What the fund pays (positive) or claws back (negative), on top of the cancelled
    /// settlement's own refund, which the reversal already returned.
    pub adjustment: Fen,
}

#[derive(Clone, Debug)]
pub struct CancelDecision {
    /// The settlement's postings, each negated.
    pub reversal: PostingSet,
    pub recomputation: Option<RefundRecomputation>,
}

/// A cancel returns every posting of the settlement, line by line, and brings the year's
/// second reimbursement back to what the rule gives on the settlements that stay.
pub fn decide_cancel(facts: &CancelFacts<'_>) -> Result<CancelDecision, Refusal> {
    let reversal = facts
        .original
        .reversed(&format!("撤销结算{}", facts.setl_id))
        .map_err(|_| Refusal::AmountOverflow)?;
    let Some(sr) = facts.second_reimbursement else {
        return Ok(CancelDecision {
            reversal,
            recomputation: None,
        });
    };
    let live = RefundYear {
        burden: sr
            .year
            .burden
            .checked_sub(sr.cancelled.burden)
            .ok_or(Refusal::AmountOverflow)?,
        refunded: sr
            .year
            .refunded
            .checked_sub(sr.cancelled.refunded)
            .ok_or(Refusal::AmountOverflow)?,
    };
    let recomputed = recompute_after_cancel(sr.rule, facts.admdvs, live)?;
    let adjustment = recomputed
        .iter()
        .find(|p| p.account == LedgerAccount::Cash)
        .map_or(Fen::ZERO, |p| p.amount);
    let recomputation = if recomputed.is_empty() {
        None
    } else {
        Some(RefundRecomputation {
            postings: PostingSet::new(recomputed).map_err(|_| Refusal::InternalUnbalanced)?,
            adjustment,
        })
    };
    Ok(CancelDecision {
        reversal,
        recomputation,
    })
}
