//! The policy model: what a region's rules say, as data.
//!
//! Policies are written as TOML files under `policies/` and turned into these types by
//! `gongji-policy`; the rules in this crate read only these types.

use chrono::NaiveDate;

use crate::codes::{Admdvs, HospitalLevel, Insutype, MedType, MutualAidUse, RelationClass};
use crate::money::{BasisPoints, Fen};

/// One region's rules, effective from a date.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    /// File stem, e.g. `shandong-zibo`.
    pub id: String,
    pub name_zh: String,
    /// The city (e.g. 370300) or province (e.g. 140000) it governs.
    pub admdvs: Admdvs,
    pub version: String,
    pub effective_from: NaiveDate,
    pub binding: BindingPolicy,
    pub payment: PaymentPolicy,
    pub pooling: Vec<PoolingRule>,
    pub second_reimbursement: Option<SecondReimbursement>,
    pub contribution: Option<ContributionPolicy>,
    /// Employee premiums (large-expense supplement, long-term care) and their yearly amounts,
    /// which a holder may pay for a relative where `payment.mutual_aid_uses` allows (R-S6).
    pub employee_premiums: Vec<EmployeePremium>,
}

/// The relationship scope from a date on (R-Y1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopePeriod {
    pub from: NaiveDate,
    pub classes: Vec<RelationClass>,
}

/// Who may bind whom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindingPolicy {
    /// Sorted by `from`, ascending; the last one starting on or before a date applies.
    pub scope: Vec<ScopePeriod>,
    /// Holder and relative must be insured in the same province (R-Y3, R-S5).
    pub same_province_only: bool,
    /// Insurance types a holder may have (R-S1: employee only).
    pub holder_insutypes: Vec<Insutype>,
    /// Insurance types a relative may have.
    pub relative_insutypes: Vec<Insutype>,
    /// No 公费医疗 persons on either side (R-S1).
    pub exclude_public_medical: bool,
    /// At most one spouse, one father, one mother, two parents in all (R-S8).
    pub one_spouse_two_parents: bool,
    /// How many holders one relative may have (Zibo 1, R-Z2; R-N4 seen 2).
    pub max_holders_per_relative: Option<u32>,
    /// How many relatives one holder may bind (R-N4).
    pub max_relatives_per_holder: Option<u32>,
    /// Bind and unbind operations per holder per calendar month (R-N4).
    pub max_changes_per_month: Option<u32>,
    /// Bindings go one way: a relative cannot be a holder, a holder cannot be a relative (R-Z3).
    pub one_way: bool,
    /// A holder whose insurance is paused (减员) may not bind, and his relatives may not spend (R-Z4).
    pub holder_must_be_insured_normally: bool,
    /// Bind and unbind need the holder's face verification (R-Z5).
    pub face_verification: bool,
    /// An end date may be moved only earlier (R-S9).
    pub end_date_only_earlier: bool,
    /// A binding ends by itself when either side's insurance ends (R-S10).
    pub auto_end_with_insurance: bool,
    /// The day this region joined cross-province mutual aid by quota (R-N3); `None`: it has
    /// not, and R-Y3/R-S5 stay the rule.
    pub cross_province_from: Option<NaiveDate>,
}

impl BindingPolicy {
    /// The relation classes in scope on `date`; empty before the first period.
    pub fn scope_on(&self, date: NaiveDate) -> &[RelationClass] {
        self.scope
            .iter()
            .rev()
            .find(|p| p.from <= date)
            .map_or(&[], |p| p.classes.as_slice())
    }
}

/// The order in which several holders pay one relative (R-N2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HolderOrder {
    /// Earliest binding first (Beijing).
    ByBindingDate,
    /// Largest available balance first (Shenzhen).
    ByAvailableDesc,
}

impl HolderOrder {
    pub fn key(self) -> &'static str {
        match self {
            HolderOrder::ByBindingDate => "by_binding_date",
            HolderOrder::ByAvailableDesc => "by_available_desc",
        }
    }

    pub fn parse(s: &str) -> Option<HolderOrder> {
        match s {
            "by_binding_date" => Some(HolderOrder::ByBindingDate),
            "by_available_desc" => Some(HolderOrder::ByAvailableDesc),
            _ => None,
        }
    }
}

/// How mutual aid pays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentPolicy {
    /// Only the part of a holder's balance above this may be shared (R-S2: 1,000 yuan).
    pub reserve: Fen,
    /// The holder may set per-relative limits (R-S3).
    pub per_relative_limits: bool,
    /// With acct_used_flag 1, mutual aid follows the own account automatically (R-Z6).
    pub mutual_aid_follows_own_account: bool,
    pub holder_order: HolderOrder,
    /// A settlement in which the pooled fund pays anything gets no mutual aid (R-Z6).
    pub mutual_aid_excludes_pooled_settlements: bool,
    /// The holder's credential, presented at the institution, authorises the draw (R-S12).
    pub holder_credential_authorises: bool,
    /// What mutual aid may pay for (R-Y2, R-S6).
    pub mutual_aid_uses: Vec<MutualAidUse>,
}

/// One pooled-fund rule: for an insurance type, medical types and institution levels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolingRule {
    pub name_zh: String,
    pub insutype: Insutype,
    pub med_types: Vec<MedType>,
    pub hospital_levels: Vec<HospitalLevel>,
    /// Rules sharing a cap group share the deductible and the annual cap
    /// (e.g. all resident outpatient levels share the 300-yuan year).
    pub cap_group: String,
    pub deductible_per_year: Fen,
    pub ratio_class_a: BasisPoints,
    pub ratio_class_b: BasisPoints,
    pub cap_per_visit: Option<Fen>,
    pub cap_per_day: Option<Fen>,
    pub cap_per_year: Option<Fen>,
    /// The values are placeholders until the bureau sets them.
    pub placeholder: bool,
}

impl PoolingRule {
    pub fn applies_to(&self, insutype: Insutype, med_type: MedType, level: HospitalLevel) -> bool {
        self.insutype == insutype
            && self.med_types.contains(&med_type)
            && self.hospital_levels.contains(&level)
    }
}

/// A refund band of the employee second reimbursement (R-J9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReimbursementTier {
    /// Cumulative compliant personal burden in the year, exclusive lower bound.
    pub above: Fen,
    /// Inclusive upper bound.
    pub up_to: Fen,
    pub ratio: BasisPoints,
}

/// 二次报销 (R-J9): refund bands over the year's cumulative compliant personal burden.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecondReimbursement {
    pub insutype: Insutype,
    pub med_types: Vec<MedType>,
    pub tiers: Vec<ReimbursementTier>,
}

/// A resident contribution category and its amount for a year (R-R1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContributionCategory {
    pub code: String,
    pub name_zh: String,
    pub amount: Fen,
}

/// The collection of one benefit year (R-R1, R-R2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContributionYear {
    /// The benefit year (待遇享受期), e.g. 2024 means 2024-01-01..2024-12-31.
    pub year: i32,
    pub window_start: NaiveDate,
    pub window_end: NaiveDate,
    /// Extensions of the window, each a dated amendment (2024: to 2024-02-25).
    pub extensions: Vec<WindowExtension>,
    /// Payments are accepted on these days of each month (1st-25th), inclusive.
    pub accept_days: (u32, u32),
    pub categories: Vec<ContributionCategory>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContributionPolicy {
    pub years: Vec<ContributionYear>,
}

impl ContributionYear {
    /// The last day payments are accepted under every amendment known.
    pub fn extended_to(&self) -> Option<NaiveDate> {
        self.extensions.iter().map(|e| e.to).max()
    }

    /// The category a person pays in: of the categories the agency's lists give him (`codes`)
    /// and the general one everybody qualifies for, the one this year charges least for
    /// (R-R5). Codes this year does not know are ignored; on a tie the listed one wins.
    pub fn category_due<'a>(&'a self, codes: &[&str]) -> Option<&'a ContributionCategory> {
        self.categories
            .iter()
            .filter(|c| codes.contains(&c.code.as_str()))
            .chain(self.category(GENERAL_CATEGORY))
            .min_by_key(|c| c.amount)
    }

    pub fn category(&self, code: &str) -> Option<&ContributionCategory> {
        self.categories.iter().find(|c| c.code == code)
    }
}

/// The category of everyone no department's list names (普通人群).
pub const GENERAL_CATEGORY: &str = "general";

/// An amendment that extends a year's collection window: from the day it takes effect,
/// payments are accepted up to `to` (R-R2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowExtension {
    /// The day the amendment takes effect.
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// An employee premium a holder may pay from his account for a bound employee relative, with
/// the days it is collected and its amount for one year (R-S6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmployeePremium {
    /// `large_expense_premium` or `ltc_premium`.
    pub kind: MutualAidUse,
    pub name_zh: String,
    /// The year it insures.
    pub year: i32,
    pub collect_from: NaiveDate,
    pub collect_to: NaiveDate,
    pub amount: Fen,
    /// The amount is a placeholder until the bureau publishes it.
    pub placeholder: bool,
}

impl ContributionPolicy {
    pub fn year(&self, year: i32) -> Option<&ContributionYear> {
        self.years.iter().find(|y| y.year == year)
    }
}

/// All loaded policies, looked up by admdvs: the city's policy if there is one, else the province's.
#[derive(Clone, Debug, Default)]
pub struct PolicySet {
    policies: Vec<Policy>,
}

impl PolicySet {
    pub fn new(policies: Vec<Policy>) -> PolicySet {
        PolicySet { policies }
    }

    pub fn policies(&self) -> &[Policy] {
        &self.policies
    }

    pub fn for_admdvs(&self, admdvs: Admdvs) -> Option<&Policy> {
        let city = admdvs.city_admdvs();
        let province = admdvs.province_admdvs();
        self.policies
            .iter()
            .find(|p| p.admdvs == city)
            .or_else(|| self.policies.iter().find(|p| p.admdvs == province))
    }

    pub fn by_id(&self, id: &str) -> Option<&Policy> {
        self.policies.iter().find(|p| p.id == id)
    }
}
