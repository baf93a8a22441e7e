//! Paying a relative's premium from the holder's account: the resident premium (R-Y2, R-R1,
//! R-R2, R-R4) and, where the policy allows, the employee large-expense supplement and
//! long-term-care premiums (R-S6).

use chrono::{Datelike, NaiveDate};

use crate::allocation::shareable;
use crate::binding_rules::binding_usable_on;
use crate::codes::{Admdvs, InsuStatus, Insutype, MutualAidUse};
use crate::domain::{Binding, Person};
use crate::ledger::{LedgerAccount, Posting, PostingRule, PostingSet};
use crate::money::Fen;
use crate::pii::mask_name;
use crate::policy::{ContributionCategory, ContributionYear, Policy};
use crate::refusal::Refusal;

/// What a premium a holder pays for a relative insures (R-Y2, R-S6).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum PremiumKind {
    /// 城乡居民医保个人缴费.
    Resident,
    /// 职工大额医疗费用补助个人缴费.
    LargeExpense,
    /// 长期护理保险个人缴费.
    LongTermCare,
}

impl PremiumKind {
    pub const ALL: &'static [PremiumKind] = &[
        PremiumKind::Resident,
        PremiumKind::LargeExpense,
        PremiumKind::LongTermCare,
    ];

    /// The mutual-aid use a policy must list for a holder to pay it.
    pub const fn mutual_aid_use(self) -> MutualAidUse {
        match self {
            PremiumKind::Resident => MutualAidUse::ResidentPremium,
            PremiumKind::LargeExpense => MutualAidUse::LargeExpensePremium,
            PremiumKind::LongTermCare => MutualAidUse::LongTermCarePremium,
        }
    }

    /// The stored and wire code: the mutual-aid use's code.
    pub const fn code(self) -> &'static str {
        self.mutual_aid_use().code()
    }

    pub fn parse(code: &str) -> Option<PremiumKind> {
        PremiumKind::ALL
            .iter()
            .copied()
            .find(|k| k.code() == code.trim())
    }

    /// What it is called in a sentence.
    pub const fn name_zh(self) -> &'static str {
        match self {
            PremiumKind::Resident => "城乡居民医保",
            PremiumKind::LargeExpense => "职工大额医疗费用补助",
            PremiumKind::LongTermCare => "长期护理保险",
        }
    }

    /// The insurance whose premium income receives it.
    pub(crate) const fn insutype(self) -> Insutype {
        match self {
            PremiumKind::Resident => Insutype::Resident,
            PremiumKind::LargeExpense => Insutype::LargeExpenseSupplement,
            PremiumKind::LongTermCare => Insutype::LongTermCare,
        }
    }
}

#[derive(Clone, Debug)]
pub struct PremiumFacts<'a> {
    pub holder: &'a Person,
    pub holder_balance: Fen,
    pub relative: &'a Person,
    /// The binding from holder to relative, if any.
    pub binding: Option<&'a Binding>,
    pub kind: PremiumKind,
    /// The year insured (the benefit year of a resident premium).
    pub year: i32,
    /// The contribution categories the agency's lists give the relative for the year (R-R5);
    /// the payer never chooses one. Unused for employee premiums.
    pub listed_categories: &'a [&'a str],
    pub date: NaiveDate,
    /// The insured place (参保缴费地) the payer chose, when the channel asks for one; it must be
    /// the relative's (R-R4).
    pub place: Option<Admdvs>,
    /// A premium of this kind for this relative and year is already recorded, by any payer
    /// through any channel (R-R4).
    pub already_paid: bool,
}

#[derive(Clone, Debug)]
pub struct PremiumDecision {
    pub amount: Fen,
    /// The category's code, or the premium kind's for an employee premium.
    pub category: String,
    pub category_name: String,
    pub holder_balance_after: Fen,
    pub postings: PostingSet,
    pub explanation: String,
}

/// Decides a premium payment. `holder_policy` gives the reserve and allowed uses;
/// `relative_policy` gives the amounts of the relative's insured place.
pub fn decide_premium(
    facts: &PremiumFacts<'_>,
    holder_policy: &Policy,
    relative_policy: &Policy,
) -> Result<PremiumDecision, Refusal> {
    if !holder_policy
        .payment
        .mutual_aid_uses
        .contains(&facts.kind.mutual_aid_use())
    {
        return Err(Refusal::PremiumUseNotAllowed {
            what: facts.kind.name_zh(),
        });
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
    if facts
        .place
        .is_some_and(|p| p.city_admdvs() != facts.relative.admdvs.city_admdvs())
    {
        return Err(Refusal::PremiumWrongPlace);
    }
    let due = premium_due(
        facts.relative,
        facts.kind,
        facts.year,
        facts.listed_categories,
        facts.date,
        relative_policy,
    )?;
    if facts.already_paid {
        return Err(Refusal::PremiumAlreadyPaid {
            year: facts.year,
            what: facts.kind.name_zh(),
        });
    }
    let reserve = holder_policy.payment.reserve;
    let available = shareable(facts.holder_balance, reserve);
    if due.amount > available {
        return Err(Refusal::PremiumInsufficientBalance {
            available,
            needed: due.amount,
        });
    }
    let holder_name = mask_name(facts.holder.name.reveal());
    let relative_name = mask_name(facts.relative.name.reveal());
    let explanation = match facts.kind {
        PremiumKind::Resident => format!(
            "户主{holder_name}个人账户为{relative_name}缴纳{}年度城乡居民医保（{}）{}元",
            facts.year, due.name_zh, due.amount
        ),
        _ => format!(
            "户主{holder_name}个人账户为{relative_name}缴纳{}年度{}{}元",
            facts.year, due.name_zh, due.amount
        ),
    };
    let postings = PostingSet::new(vec![
        Posting {
            account: LedgerAccount::Personal(facts.holder.psn_no.clone()),
            amount: due.amount.checked_neg().ok_or(Refusal::AmountOverflow)?,
            rule: PostingRule::Premium,
            floor: Some(reserve),
            explanation: explanation.clone(),
        },
        Posting {
            account: LedgerAccount::PremiumIncome {
                admdvs: facts.relative.admdvs,
                insutype: facts.kind.insutype().code().into(),
            },
            amount: due.amount,
            rule: PostingRule::Premium,
            floor: None,
            explanation: explanation.clone(),
        },
    ])
    .map_err(|_| Refusal::InternalUnbalanced)?;
    Ok(PremiumDecision {
        amount: due.amount,
        category: due.code,
        category_name: due.name_zh,
        holder_balance_after: facts
            .holder_balance
            .checked_sub(due.amount)
            .ok_or(Refusal::AmountOverflow)?,
        postings,
        explanation,
    })
}

/// What a premium costs and what it is called.
pub(crate) struct Due {
    pub(crate) code: String,
    pub(crate) name_zh: String,
    pub(crate) amount: Fen,
}

/// What `person` owes for a premium of `kind` and `year` paid on `date`, whoever pays: the
/// registry's category for a resident premium (R-R5), the region's amount for an employee one.
pub(crate) fn premium_due(
    person: &Person,
    kind: PremiumKind,
    year: i32,
    listed_categories: &[&str],
    date: NaiveDate,
    policy: &Policy,
) -> Result<Due, Refusal> {
    match kind {
        PremiumKind::Resident => resident_due(person, year, listed_categories, date, policy),
        PremiumKind::LargeExpense | PremiumKind::LongTermCare => {
            employee_due(person, kind, year, date, policy)
        }
    }
}

/// A resident premium: the amount of the category the registry gives the person for the
/// benefit year (R-R5), inside the collection window (R-R1, R-R2).
fn resident_due(
    person: &Person,
    year: i32,
    listed_categories: &[&str],
    date: NaiveDate,
    policy: &Policy,
) -> Result<Due, Refusal> {
    if person.insutype != Insutype::Resident {
        return Err(Refusal::PremiumRelativeNotResident);
    }
    let contribution = policy
        .contribution
        .as_ref()
        .and_then(|c| c.year(year))
        .ok_or(Refusal::PremiumYearUnknown { year })?;
    let category = contribution
        .category_due(listed_categories)
        .ok_or(Refusal::PremiumCategoryUnknown)?;
    if !in_window(contribution, date) {
        return Err(Refusal::PremiumOutsideWindow);
    }
    Ok(Due {
        code: category.code.clone(),
        name_zh: category.name_zh.clone(),
        amount: category.amount,
    })
}

/// An employee premium (large-expense supplement, long-term care): the amount the person's
/// region sets for the year, on the days it is collected (R-S6).
fn employee_due(
    person: &Person,
    kind: PremiumKind,
    year: i32,
    date: NaiveDate,
    policy: &Policy,
) -> Result<Due, Refusal> {
    if person.insutype != Insutype::Employee {
        return Err(Refusal::PremiumRelativeNotEmployee);
    }
    let premium = policy
        .employee_premiums
        .iter()
        .find(|p| p.kind == kind.mutual_aid_use() && p.year == year)
        .ok_or(Refusal::PremiumYearUnknown { year })?;
    if !(premium.collect_from..=premium.collect_to).contains(&date) {
        return Err(Refusal::PremiumOutsideCollection {
            from: premium.collect_from,
            to: premium.collect_to,
        });
    }
    Ok(Due {
        code: kind.code().to_string(),
        name_zh: premium.name_zh.clone(),
        amount: premium.amount,
    })
}

/// What a department's list row means for a person (R-R5): the category it names, and the one
/// he then pays in.
#[derive(Clone, Debug)]
pub struct CategoryMark<'p> {
    pub listed: &'p ContributionCategory,
    pub due: &'p ContributionCategory,
}

/// Judges a list row naming `category` (its code or its Chinese name) for a resident and a
/// benefit year of his region's policy, given the categories earlier lists gave him. The
/// precedence between lists is `ContributionYear::category_due`: the cheapest wins.
pub fn judge_category_mark<'p>(
    person: &Person,
    policy: &'p Policy,
    year: i32,
    category: &str,
    already_listed: &[&str],
) -> Result<CategoryMark<'p>, Refusal> {
    if person.insutype != Insutype::Resident {
        return Err(Refusal::PremiumRelativeNotResident);
    }
    let year = policy
        .contribution
        .as_ref()
        .and_then(|c| c.year(year))
        .ok_or(Refusal::PremiumYearUnknown { year })?;
    let wanted = category.trim();
    let listed = year
        .categories
        .iter()
        .find(|c| c.code == wanted || c.name_zh == wanted)
        .ok_or(Refusal::PremiumCategoryUnknown)?;
    let mut codes = already_listed.to_vec();
    codes.push(listed.code.as_str());
    let due = year
        .category_due(&codes)
        .ok_or(Refusal::PremiumCategoryUnknown)?;
    Ok(CategoryMark { listed, due })
}

/// The benefit year whose collection season spans `date` (its window or an extension, any
/// day of the month), the latest when seasons overlap; `None` between seasons. Staff pages
/// open on it: in the autumn the year being collected is next year, not this one.
pub fn year_being_collected<'y>(
    years: impl IntoIterator<Item = &'y ContributionYear>,
    date: NaiveDate,
) -> Option<i32> {
    years
        .into_iter()
        .filter(|y| {
            (y.window_start <= date && date <= y.window_end)
                || y.extensions.iter().any(|e| e.from <= date && date <= e.to)
        })
        .map(|y| y.year)
        .max()
}

/// Inside the collection window, or inside an extension on or after the day the amendment
/// took effect, and on an accepted day of the month (R-R2).
pub fn in_window(year: &ContributionYear, date: NaiveDate) -> bool {
    let (first, last) = year.accept_days;
    let in_original = year.window_start <= date && date <= year.window_end;
    let in_extension = year
        .extensions
        .iter()
        .any(|e| e.from <= date && date <= e.to);
    (in_original || in_extension) && (first..=last).contains(&date.day())
}
