//! One settlement decided end to end: bill split, pooled fund, personal accounts, cash,
//! and the balanced postings that carry it out.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::allocation::{allocate, Allocation, AllocationFacts, HolderFacts};
use crate::codes::{AccountUse, InsuStatus, MedType, MutualAidUse};
use crate::domain::{CatalogItem, Institution, Person};
use crate::ledger::{LedgerAccount, Posting, PostingRule, PostingSet};
use crate::money::Fen;
use crate::policy::Policy;
use crate::pooling::{split_bill, BillSplit, FeeLine, PoolUsage, PoolingFacts};
use crate::refusal::Refusal;

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
        self.medfee_sumamt.fen()
            == self.fund_pay_sumamt.fen() + self.psn_part_amt.fen() + self.hosp_part_amt.fen()
            && self.psn_part_amt.fen() == self.acct_pay.fen() + self.psn_cash_pay.fen()
            && self.acct_mulaid_pay <= self.acct_pay
            && self.fund_pay_sumamt.fen() == self.hifp_pay.fen() + self.oth_pay.fen()
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
            date: facts.date,
            pooled_fund_paid: split.pooled_fund.is_positive(),
            institution: Some(facts.institution),
            presented_holder: facts.presented_holder,
            purpose: MutualAidUse::MedicalCost,
        },
        policy,
    );
    let mulaid = allocation.mutual_aid_total();
    let acct_pay = Fen::from_fen(allocation.own.fen() + mulaid.fen());
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
            amount: Fen::from_fen(-line.amount.fen()),
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
        amount: Fen::from_fen(-allocation.own.fen()),
        rule: PostingRule::OwnAccount,
        floor: Some(Fen::ZERO),
        explanation: format!("本人个人账户支付{}元", allocation.own),
    });
    for draw in &allocation.draws {
        postings.push(Posting {
            account: LedgerAccount::Personal(draw.holder.clone()),
            amount: Fen::from_fen(-draw.amount.fen()),
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
        amount: Fen::from_fen(-allocation.cash.fen()),
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
