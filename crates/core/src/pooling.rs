//! How a bill splits between self-paid parts and the pooled fund.
//!
//! Each fee line is priced against the catalog: class C is fully self-paid, the part above a
//! price cap is self-paid, class B carries a first self-paid share, and what remains is
//! within scope (inscp). The pooled fund then pays a ratio of the within-scope amount after
//! the deductible, up to the per-visit, per-day and annual caps of the matching rule
//! (R-R6). Employees' chronic and inpatient care also gets the second reimbursement (R-J9).

use std::collections::HashMap;

use crate::codes::{ChargeLevel, HospitalLevel, Insutype, MedType};
use crate::domain::CatalogItem;
use crate::money::{BasisPoints, Fen};
use crate::policy::{Policy, PoolingRule, SecondReimbursement};
use crate::refusal::Refusal;
use crate::second_reimbursement::{self, refund_now, RefundYear};

/// The cap group under which the second reimbursement's cumulative burden is kept.
pub const SECOND_REIMBURSEMENT_GROUP: &str = "second_reimbursement";

/// A fee line as the institution sends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeeLine {
    pub sn: String,
    pub item_code: String,
    pub amount: Fen,
    /// Count scaled by 10^4 (counts carry up to 4 decimals).
    pub count_e4: i64,
    pub price: Fen,
}

/// A fee line split by the catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PricedLine {
    pub sn: String,
    pub item_code: String,
    pub level: ChargeLevel,
    pub amount: Fen,
    pub count_e4: i64,
    pub price: Fen,
    pub price_cap: Option<Fen>,
    pub selfpay_prop: BasisPoints,
    /// 全自费 (class C).
    pub fulamt_ownpay: Fen,
    /// 超限价自费.
    pub overlmt: Fen,
    /// 先行自付 (class B share).
    pub preselfpay: Fen,
    /// 符合范围.
    pub inscp: Fen,
}

/// Splits one line. The parts always add up to the line's amount.
pub fn price_line(line: &FeeLine, item: &CatalogItem) -> PricedLine {
    let amount = line.amount;
    let (fulamt_ownpay, overlmt, preselfpay) = match item.level {
        ChargeLevel::ClassC => (amount, Fen::ZERO, Fen::ZERO),
        level => {
            let overlmt = match item.price_cap {
                Some(cap) if line.price > cap => {
                    let over = (i128::from(line.price.fen()) - i128::from(cap.fen()))
                        * i128::from(line.count_e4);
                    let over_fen = (over + 5_000) / 10_000;
                    Fen::from_fen(i64::try_from(over_fen).unwrap_or(i64::MAX)).min(amount)
                }
                _ => Fen::ZERO,
            };
            let base = amount.saturating_sub_floor0(overlmt);
            let preselfpay = if level == ChargeLevel::ClassB {
                base.share(item.selfpay_prop)
            } else {
                Fen::ZERO
            };
            (Fen::ZERO, overlmt, preselfpay)
        }
    };
    // Each self-paid part is at most what the parts before it left, so this never floors.
    let inscp = amount
        .saturating_sub_floor0(fulamt_ownpay)
        .saturating_sub_floor0(overlmt)
        .saturating_sub_floor0(preselfpay);
    PricedLine {
        sn: line.sn.clone(),
        item_code: line.item_code.clone(),
        level: item.level,
        amount,
        count_e4: line.count_e4,
        price: line.price,
        price_cap: item.price_cap,
        selfpay_prop: item.selfpay_prop,
        fulamt_ownpay,
        overlmt,
        preselfpay,
        inscp,
    }
}

/// What a person has already used of a cap group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolUsage {
    pub deductible_used_year: Fen,
    pub fund_paid_year: Fen,
    pub fund_paid_today: Fen,
    /// Cumulative compliant personal burden this year (for R-J9).
    pub burden_year: Fen,
}

/// Facts for the pooled fund.
#[derive(Clone, Debug)]
pub struct PoolingFacts<'a> {
    pub insutype: Insutype,
    pub med_type: MedType,
    pub level: HospitalLevel,
    /// Usage by cap group for this person, year and day.
    pub usage: &'a HashMap<String, PoolUsage>,
}

/// One fund's share, for `setldetail`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FundLine {
    pub fund_pay_type: String,
    pub name_zh: String,
    pub inscp: Fen,
    /// The most this fund could have paid before caps (crt_payb_lmt_amt).
    pub payable_before_caps: Fen,
    pub amount: Fen,
    pub explanation: String,
    /// The cap group whose usage this payment adds to.
    pub cap_group: String,
}

/// The bill's split before personal accounts come in.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct BillSplit {
    pub lines: Vec<PricedLine>,
    pub medfee_sumamt: Fen,
    pub fulamt_ownpay: Fen,
    pub overlmt: Fen,
    pub preselfpay: Fen,
    pub inscp: Fen,
    pub deductible_applied: Fen,
    /// 统筹基金支出 (hifp_pay).
    pub pooled_fund: Fen,
    /// 二次报销 (R-J9), reported in `oth_pay`.
    pub second_reimbursement: Fen,
    /// Within-scope amount the person bears under the pooling ratio (pool_prop_selfpay).
    pub pool_prop_selfpay: Fen,
    pub fund_lines: Vec<FundLine>,
    /// Compliant personal burden of this bill, added to the year's cumulative total.
    pub burden: Fen,
    /// Pooled fund and second reimbursement together (fund_pay_sumamt).
    pub fund_pay_sumamt: Fen,
    /// What the person pays from accounts or cash (psn_part_amt).
    pub psn_part_amt: Fen,
}

impl BillSplit {
    pub fn fund_total(&self) -> Fen {
        self.fund_pay_sumamt
    }

    /// What the person pays (from accounts or cash).
    pub fn personal_burden(&self) -> Fen {
        self.psn_part_amt
    }
}

/// Prices the lines and computes the pooled fund.
pub fn split_bill(
    lines: &[FeeLine],
    catalog: &dyn Fn(&str) -> Option<CatalogItem>,
    facts: &PoolingFacts<'_>,
    policy: &Policy,
) -> Result<BillSplit, Refusal> {
    let mut priced = Vec::with_capacity(lines.len());
    for line in lines {
        if line.amount.is_negative() || line.amount > Fen::INPUT_MAX {
            return Err(Refusal::InvalidAmount);
        }
        let item = catalog(&line.item_code).ok_or_else(|| Refusal::UnknownCatalogItem {
            code: line.item_code.clone(),
        })?;
        priced.push(price_line(line, &item));
    }
    let sum = |f: fn(&PricedLine) -> Fen| {
        Fen::checked_sum(priced.iter().map(f)).ok_or(Refusal::AmountOverflow)
    };
    let mut split = BillSplit {
        medfee_sumamt: sum(|l| l.amount)?,
        fulamt_ownpay: sum(|l| l.fulamt_ownpay)?,
        overlmt: sum(|l| l.overlmt)?,
        preselfpay: sum(|l| l.preselfpay)?,
        inscp: sum(|l| l.inscp)?,
        ..BillSplit::default()
    };
    let inscp_a = Fen::checked_sum(
        priced
            .iter()
            .filter(|l| l.level == ChargeLevel::ClassA)
            .map(|l| l.inscp),
    )
    .ok_or(Refusal::AmountOverflow)?;
    let inscp_b = sub(split.inscp, inscp_a)?;
    split.lines = priced;

    let rule = policy
        .pooling
        .iter()
        .find(|r| r.applies_to(facts.insutype, facts.med_type, facts.level));
    if let Some(rule) = rule {
        apply_pooling_rule(&mut split, rule, inscp_a, inscp_b, facts)?;
    }
    split.pool_prop_selfpay = sub(
        sub(split.inscp, split.deductible_applied)?,
        split.pooled_fund,
    )?;
    // The compliant personal burden: what the person bears within scope, incl. the deductible.
    split.burden = sub(split.inscp, split.pooled_fund)?;
    if let Some(sr) = &policy.second_reimbursement {
        apply_second_reimbursement(&mut split, sr, facts)?;
    }
    split.fund_pay_sumamt = add(split.pooled_fund, split.second_reimbursement)?;
    split.psn_part_amt = sub(split.medfee_sumamt, split.fund_pay_sumamt)?;
    Ok(split)
}

fn add(a: Fen, b: Fen) -> Result<Fen, Refusal> {
    a.checked_add(b).ok_or(Refusal::AmountOverflow)
}

fn sub(a: Fen, b: Fen) -> Result<Fen, Refusal> {
    a.checked_sub(b).ok_or(Refusal::AmountOverflow)
}

fn apply_pooling_rule(
    split: &mut BillSplit,
    rule: &PoolingRule,
    inscp_a: Fen,
    inscp_b: Fen,
    facts: &PoolingFacts<'_>,
) -> Result<(), Refusal> {
    let usage = facts
        .usage
        .get(&rule.cap_group)
        .copied()
        .unwrap_or_default();
    let deductible_left = rule
        .deductible_per_year
        .saturating_sub_floor0(usage.deductible_used_year);
    // The deductible is taken from class A first, then class B.
    let ded_a = deductible_left.min(inscp_a);
    let ded_b = deductible_left.saturating_sub_floor0(ded_a).min(inscp_b);
    let eligible_a = sub(inscp_a, ded_a)?;
    let eligible_b = sub(inscp_b, ded_b)?;
    let payable = add(
        eligible_a.share(rule.ratio_class_a),
        eligible_b.share(rule.ratio_class_b),
    )?;
    let mut pay = payable;
    let mut capped_by = Vec::new();
    if let Some(cap) = rule.cap_per_visit {
        if pay > cap {
            capped_by.push(format!("每次限额{cap}元"));
            pay = cap;
        }
    }
    if let Some(cap) = rule.cap_per_day {
        let left = cap.saturating_sub_floor0(usage.fund_paid_today);
        if pay > left {
            capped_by.push(format!(
                "每日限额{cap}元（今日已支付{}元）",
                usage.fund_paid_today
            ));
            pay = left;
        }
    }
    if let Some(cap) = rule.cap_per_year {
        let left = cap.saturating_sub_floor0(usage.fund_paid_year);
        if pay > left {
            capped_by.push(format!(
                "年度限额{cap}元（本年已支付{}元）",
                usage.fund_paid_year
            ));
            pay = left;
        }
    }
    split.deductible_applied = add(ded_a, ded_b)?;
    split.pooled_fund = pay;
    let mut explanation = format!(
        "{}：甲类{}元×{}、乙类{}元×{}",
        rule.name_zh,
        eligible_a,
        percent(rule.ratio_class_a),
        eligible_b,
        percent(rule.ratio_class_b)
    );
    if !split.deductible_applied.is_zero() {
        explanation.push_str(&format!("，起付线{}元", split.deductible_applied));
    }
    explanation.push_str(&format!("，应付{payable}元"));
    if !capped_by.is_empty() {
        explanation.push_str(&format!("，受{}限制", capped_by.join("、")));
    }
    explanation.push_str(&format!("，统筹支付{pay}元"));
    if rule.placeholder {
        explanation.push_str("（参数待医保部门确认）");
    }
    split.fund_lines.push(FundLine {
        fund_pay_type: pooled_fund_type(rule.insutype, rule.med_types.first().copied()),
        name_zh: rule.name_zh.clone(),
        inscp: split.inscp,
        payable_before_caps: payable,
        amount: pay,
        explanation,
        cap_group: rule.cap_group.clone(),
    });
    Ok(())
}

fn apply_second_reimbursement(
    split: &mut BillSplit,
    sr: &SecondReimbursement,
    facts: &PoolingFacts<'_>,
) -> Result<(), Refusal> {
    if sr.insutype != facts.insutype || !sr.med_types.contains(&facts.med_type) {
        return Ok(());
    }
    let year = facts
        .usage
        .get(SECOND_REIMBURSEMENT_GROUP)
        .map_or(RefundYear::default(), |u| RefundYear {
            burden: u.burden_year,
            refunded: u.fund_paid_year,
        });
    let due = refund_now(sr, year, split.burden)?;
    // A year refunded beyond the rule (an excess not yet clawed back) is netted: this
    // settlement then refunds nothing until the burden catches up.
    let refund = due.now.max(Fen::ZERO);
    if refund.is_zero() && split.burden.is_zero() {
        return Ok(());
    }
    split.second_reimbursement = refund;
    let mut explanation = format!(
        "职工二次报销（R-J9）：本年合规个人负担累计由{}元增至{}元，按分段比例应返还{}元，已返还{}元，本次返还{refund}元",
        year.burden, due.burden_after, due.owed, year.refunded
    );
    if due.now.is_negative() {
        explanation.push_str(&format!(
            "（多返还的{}元在本次抵扣）",
            due.now.saturating_neg()
        ));
    }
    split.fund_lines.push(FundLine {
        fund_pay_type: second_reimbursement::FUND_PAY_TYPE.into(),
        name_zh: "职工二次报销".into(),
        inscp: split.burden,
        payable_before_caps: refund,
        amount: refund,
        explanation,
        cap_group: SECOND_REIMBURSEMENT_GROUP.into(),
    });
    Ok(())
}

/// The national fund_pay_type for a pooling rule.
fn pooled_fund_type(insutype: Insutype, med_type: Option<MedType>) -> String {
    let outpatient = !matches!(med_type, Some(MedType::Inpatient));
    match (insutype, outpatient) {
        (Insutype::Resident, true) => "390102",
        (Insutype::Resident, false) => "390100",
        (_, true) => "310102",
        (_, false) => "310100",
    }
    .into()
}

fn percent(r: BasisPoints) -> String {
    let bp = r.get();
    if bp.is_multiple_of(100) {
        format!("{}%", bp / 100)
    } else {
        format!("{}.{:02}%", bp / 100, bp % 100)
    }
}
