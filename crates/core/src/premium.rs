//! Paying a relative's resident premium from the holder's account (R-Y2, R-S6, R-R1, R-R2, R-R4).

use chrono::{Datelike, NaiveDate};

use crate::allocation::shareable;
use crate::binding_rules::binding_usable_on;
use crate::codes::{InsuStatus, Insutype, MutualAidUse};
use crate::domain::{Binding, Person};
use crate::ledger::{LedgerAccount, Posting, PostingRule, PostingSet};
use crate::money::Fen;
use crate::pii::mask_name;
use crate::policy::{ContributionYear, Policy};
use crate::refusal::Refusal;

#[derive(Clone, Debug)]
pub struct PremiumFacts<'a> {
    pub holder: &'a Person,
    pub holder_balance: Fen,
    pub relative: &'a Person,
    /// The binding from holder to relative, if any.
    pub binding: Option<&'a Binding>,
    /// The benefit year paid for.
    pub year: i32,
    pub category_code: &'a str,
    pub date: NaiveDate,
    /// A premium for this relative and year is already recorded (R-R4).
    pub already_paid: bool,
}

#[derive(Clone, Debug)]
pub struct PremiumDecision {
    pub amount: Fen,
    pub category_name: String,
    pub holder_balance_after: Fen,
    pub postings: PostingSet,
    pub explanation: String,
}

/// Decides a premium payment. `holder_policy` gives the reserve and allowed uses;
/// `relative_policy` gives the contribution standards of the relative's insured place.
pub fn decide_premium(
    facts: &PremiumFacts<'_>,
    holder_policy: &Policy,
    relative_policy: &Policy,
) -> Result<PremiumDecision, Refusal> {
    if !holder_policy
        .payment
        .mutual_aid_uses
        .contains(&MutualAidUse::ResidentPremium)
    {
        return Err(Refusal::PremiumUseNotAllowed);
    }
    let bound = facts.binding.is_some_and(|b| {
        b.holder == facts.holder.psn_no
            && b.relative == facts.relative.psn_no
            && binding_usable_on(
                b,
                facts.holder,
                facts.relative,
                facts.date,
                &holder_policy.binding,
            )
    });
    if !bound {
        return Err(Refusal::PremiumNotBound);
    }
    if facts.holder.insu_status != InsuStatus::Normal {
        return Err(Refusal::HolderInsuranceInterrupted);
    }
    if facts.relative.insutype != Insutype::Resident {
        return Err(Refusal::PremiumRelativeNotResident);
    }
    let year = relative_policy
        .contribution
        .as_ref()
        .and_then(|c| c.year(facts.year))
        .ok_or(Refusal::PremiumYearUnknown { year: facts.year })?;
    let category = year
        .categories
        .iter()
        .find(|c| c.code == facts.category_code)
        .ok_or(Refusal::PremiumCategoryUnknown)?;
    if !in_window(year, facts.date) {
        return Err(Refusal::PremiumOutsideWindow);
    }
    if facts.already_paid {
        return Err(Refusal::PremiumAlreadyPaid { year: facts.year });
    }
    let reserve = holder_policy.payment.reserve;
    let available = shareable(facts.holder_balance, reserve);
    if category.amount > available {
        return Err(Refusal::PremiumInsufficientBalance {
            available,
            needed: category.amount,
        });
    }
    let holder_name = mask_name(facts.holder.name.reveal());
    let relative_name = mask_name(facts.relative.name.reveal());
    let explanation = format!(
        "户主{holder_name}个人账户为{relative_name}缴纳{}年度城乡居民医保（{}）{}元",
        facts.year, category.name_zh, category.amount
    );
    let postings = PostingSet::new(vec![
        Posting {
            account: LedgerAccount::Personal(facts.holder.psn_no.clone()),
            amount: category
                .amount
                .checked_neg()
                .ok_or(Refusal::AmountOverflow)?,
            rule: PostingRule::Premium,
            floor: Some(reserve),
            explanation: explanation.clone(),
        },
        Posting {
            account: LedgerAccount::PremiumIncome {
                admdvs: facts.relative.admdvs,
                insutype: Insutype::Resident.code().into(),
            },
            amount: category.amount,
            rule: PostingRule::Premium,
            floor: None,
            explanation: explanation.clone(),
        },
    ])
    .map_err(|_| Refusal::InternalUnbalanced)?;
    Ok(PremiumDecision {
        amount: category.amount,
        category_name: category.name_zh.clone(),
        holder_balance_after: facts
            .holder_balance
            .checked_sub(category.amount)
            .ok_or(Refusal::AmountOverflow)?,
        postings,
        explanation,
    })
}

/// Inside the collection window (or its extension), on an accepted day of the month (R-R2).
pub fn in_window(year: &ContributionYear, date: NaiveDate) -> bool {
    let end = year
        .extended_to
        .unwrap_or(year.window_end)
        .max(year.window_end);
    let (first, last) = year.accept_days;
    year.window_start <= date && date <= end && (first..=last).contains(&date.day())
}
