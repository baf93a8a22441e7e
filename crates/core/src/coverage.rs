//! Whether a resident is covered on a day, from the premiums he paid (R-R2), and the
//! retroactive settlement (补报) of what the pooled fund held back before he paid.
//!
//! The benefit year is the calendar year; its premium is collected in the window before it
//! (and any dated extension). A resident who pays after 1 January is covered for the whole
//! year: until he pays, while the collection is still open, he settles as a person awaiting
//! payment — the pooled fund's share is worked out and held back, and once he has paid the
//! 补报 job pays it, once per settlement.

use chrono::{Datelike, NaiveDate};

use crate::codes::{Admdvs, InsuStatus, Insutype};
use crate::domain::Person;
use crate::ledger::{LedgerAccount, Posting, PostingRule, PostingSet};
use crate::money::Fen;
use crate::policy::Policy;
use crate::pooling::{BillSplit, FundLine};
use crate::refusal::Refusal;

/// A person's standing for the pooled fund on one day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coverage {
    Covered,
    /// A resident who has not paid for `year` while its collection is open until `pay_by`:
    /// he may settle, the pooled fund's share is held back until he pays (补报).
    AwaitingPayment {
        year: i32,
        pay_by: NaiveDate,
    },
    /// Left the scheme (the registry's status), or a resident who did not pay for `year`.
    NotCovered {
        year: Option<i32>,
    },
}

#[derive(Clone, Copy, Debug)]
pub struct CoverageFacts<'a> {
    pub person: &'a Person,
    pub date: NaiveDate,
    /// A resident premium for the date's benefit year is recorded, through any channel.
    pub resident_premium_paid: bool,
}

/// Coverage on `facts.date` under the person's region policy. The registry's status still
/// says who left the scheme (death, moving away, paused employment); a resident's coverage
/// for a year his region collects here comes from his payments only.
pub fn coverage_on(facts: &CoverageFacts<'_>, policy: &Policy) -> Coverage {
    let person = facts.person;
    if person.insu_status != InsuStatus::Normal {
        return Coverage::NotCovered { year: None };
    }
    if person.insutype != Insutype::Resident {
        return Coverage::Covered;
    }
    let year = facts.date.year();
    let Some(contribution) = policy.contribution.as_ref() else {
        return Coverage::Covered;
    };
    let derived = contribution
        .coverage_from_payments
        .is_some_and(|first| year >= first);
    if !derived || facts.resident_premium_paid {
        return Coverage::Covered;
    }
    match last_day_to_pay(policy, year) {
        Some(pay_by) if facts.date <= pay_by => Coverage::AwaitingPayment { year, pay_by },
        _ => Coverage::NotCovered { year: Some(year) },
    }
}

/// The last day a resident may pay for benefit year `year`: the window's end or its latest
/// dated extension; `None` when the region does not collect that year here.
pub fn last_day_to_pay(policy: &Policy, year: i32) -> Option<NaiveDate> {
    let y = policy.contribution.as_ref()?.year(year)?;
    Some(
        y.extended_to()
            .map_or(y.window_end, |e| e.max(y.window_end)),
    )
}

/// What the person knows of a settlement whose pooled-fund share was held back.
#[derive(Clone, Copy, Debug)]
pub struct BubaoStandingFacts {
    pub setl_date: NaiveDate,
    pub cancelled: bool,
    /// 补报 has paid it.
    pub paid: bool,
    /// A resident premium for the settlement's year is kept (refunded ones are not).
    pub premium_paid: bool,
    pub today: NaiveDate,
}

/// Where a held-back share stands for the person, as the 补报 job would judge it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BubaoStanding {
    Paid,
    /// He has paid for the year; the job's next run pays it.
    Due,
    /// Not paid for the year yet, and he still may until `pay_by`.
    AwaitingPayment {
        pay_by: NaiveDate,
    },
    /// Never: the settlement was cancelled, its money went back.
    Cancelled,
    /// Never: the year's collection closed on `pay_by` without a payment kept.
    CollectionClosed {
        pay_by: Option<NaiveDate>,
    },
}

pub fn bubao_standing(facts: &BubaoStandingFacts, policy: &Policy) -> BubaoStanding {
    if facts.paid {
        return BubaoStanding::Paid;
    }
    if facts.cancelled {
        return BubaoStanding::Cancelled;
    }
    if facts.premium_paid {
        return BubaoStanding::Due;
    }
    match last_day_to_pay(policy, facts.setl_date.year()) {
        Some(pay_by) if facts.today <= pay_by => BubaoStanding::AwaitingPayment { pay_by },
        pay_by => BubaoStanding::CollectionClosed { pay_by },
    }
}

/// One fund's share held back from a settlement, as the fund line would have paid it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WithheldLine {
    pub fund_pay_type: String,
    pub name_zh: String,
    pub amount: Fen,
    /// How the share was worked out (the fund line's own explanation).
    pub explanation: String,
}

/// Holds back every fund's share of a split: the person bears the whole bill for now. The
/// split's totals are brought back to the identities (fund 0, personal part = the bill).
pub fn withhold_funds(split: &mut BillSplit) -> Result<Vec<FundLine>, Refusal> {
    let held = std::mem::take(&mut split.fund_lines);
    split.pooled_fund = Fen::ZERO;
    split.second_reimbursement = Fen::ZERO;
    split.fund_pay_sumamt = Fen::ZERO;
    split.psn_part_amt = split.medfee_sumamt;
    split.pool_prop_selfpay = split
        .inscp
        .checked_sub(split.deductible_applied)
        .ok_or(Refusal::AmountOverflow)?;
    split.burden = split.inscp;
    Ok(held)
}

/// What the 补报 job knows of one settlement whose fund share was held back.
#[derive(Clone, Debug)]
pub struct BubaoFacts<'a> {
    pub setl_id: &'a str,
    pub admdvs: Admdvs,
    pub setl_date: NaiveDate,
    pub withheld: &'a [WithheldLine],
    pub cancelled: bool,
    /// When his resident premium for the settlement's year was paid, if it was.
    pub paid_on: Option<NaiveDate>,
}

#[derive(Clone, Debug)]
pub struct BubaoDecision {
    pub amount: Fen,
    pub postings: PostingSet,
    /// One sentence: which settlement, which day, how much, why.
    pub explanation: String,
}

/// Settles a held-back share once the person has paid for its year: each fund pays its
/// line, and the sum goes to the person (who had paid it himself at the counter).
pub fn decide_bubao(facts: &BubaoFacts<'_>) -> Result<BubaoDecision, Refusal> {
    let year = facts.setl_date.year();
    if facts.cancelled {
        return Err(Refusal::BubaoSettlementCancelled);
    }
    let Some(paid_on) = facts.paid_on else {
        return Err(Refusal::BubaoNotPaid { year });
    };
    let amount =
        Fen::checked_sum(facts.withheld.iter().map(|l| l.amount)).ok_or(Refusal::AmountOverflow)?;
    if !amount.is_positive() {
        return Err(Refusal::BubaoNothingWithheld);
    }
    let why = format!(
        "{}结算{}时尚未缴纳{year}年度城乡居民医保，统筹基金未支付；{paid_on}缴费后全年享受待遇，补报",
        facts.setl_date, facts.setl_id
    );
    let mut postings = Vec::with_capacity(facts.withheld.len() + 1);
    for line in facts.withheld.iter().filter(|l| !l.amount.is_zero()) {
        postings.push(Posting {
            account: LedgerAccount::PoolFund {
                admdvs: facts.admdvs,
                fund_pay_type: line.fund_pay_type.clone(),
            },
            amount: line.amount.checked_neg().ok_or(Refusal::AmountOverflow)?,
            rule: PostingRule::PooledFund,
            floor: None,
            explanation: format!(
                "{why}{}{}元（{}）",
                line.name_zh, line.amount, line.explanation
            ),
        });
    }
    postings.push(Posting {
        account: LedgerAccount::Cash,
        amount,
        rule: PostingRule::PooledFund,
        floor: None,
        explanation: format!("{why}：统筹基金应付的{amount}元退给本人"),
    });
    let postings = PostingSet::new(postings).map_err(|_| Refusal::InternalUnbalanced)?;
    Ok(BubaoDecision {
        amount,
        postings,
        explanation: format!("{why}{amount}元"),
    })
}
