//! R-J9, the employees' second reimbursement (二次报销): of the compliant personal burden a
//! year's live settlements leave, the part above each tier's threshold is refunded at the
//! tier's ratio.
//!
//! The rule is stated on the year as a whole, so it is computed on the year as a whole: what
//! the year's live burden deserves, less what was already refunded. A settlement pays the
//! difference; a cancel of any settlement, not only the latest, claws back (or tops up) the
//! difference, so every refund that stays equals what the rule gives on the settlements that
//! stay, and the fund never pays for a burden that no longer exists.

use crate::codes::Admdvs;
use crate::ledger::{LedgerAccount, Posting, PostingRule, PostingSet};
use crate::money::Fen;
use crate::policy::SecondReimbursement;
use crate::refusal::Refusal;

/// The fund_pay_type the second reimbursement is paid from.
pub const FUND_PAY_TYPE: &str = "310100";

/// The year so far, counted on live (not cancelled) settlements only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RefundYear {
    /// Cumulative compliant personal burden of the year's live settlements.
    pub burden: Fen,
    /// Second reimbursement paid on them, net of earlier clawbacks and top-ups.
    pub refunded: Fen,
}

/// What the rule says now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RefundNow {
    /// The year's burden with this settlement's.
    pub burden_after: Fen,
    /// What that burden deserves over the whole year.
    pub owed: Fen,
    /// What the fund pays now: positive a refund, negative a clawback.
    pub now: Fen,
}

/// The refund owed for a whole year's cumulative compliant burden.
pub fn cumulative_refund(sr: &SecondReimbursement, burden: Fen) -> Result<Fen, Refusal> {
    let mut owed = Fen::ZERO;
    for t in sr.tiers.iter().filter(|t| burden > t.above) {
        let in_tier = burden
            .min(t.up_to)
            .checked_sub(t.above)
            .ok_or(Refusal::AmountOverflow)?
            .max(Fen::ZERO);
        owed = owed
            .checked_add(in_tier.share(t.ratio))
            .ok_or(Refusal::AmountOverflow)?;
    }
    Ok(owed)
}

/// The year's refund once `added_burden` joins the live settlements (zero for a cancel, whose
/// settlement has already left `year`).
pub fn refund_now(
    sr: &SecondReimbursement,
    year: RefundYear,
    added_burden: Fen,
) -> Result<RefundNow, Refusal> {
    let burden_after = year
        .burden
        .checked_add(added_burden)
        .ok_or(Refusal::AmountOverflow)?;
    let owed = cumulative_refund(sr, burden_after)?;
    let now = owed
        .checked_sub(year.refunded)
        .ok_or(Refusal::AmountOverflow)?;
    Ok(RefundNow {
        burden_after,
        owed,
        now,
    })
}

/// The postings that bring the year's refunds back to the rule after a cancel: a clawback
/// returns to the fund what the remaining settlements no longer deserve (the patient pays
/// it, out of what the cancel returns), a top-up pays what they now deserve. Empty when the
/// refunds already agree with the rule, as they do when the latest settlement is cancelled.
pub fn recompute_after_cancel(
    sr: &SecondReimbursement,
    admdvs: Admdvs,
    live: RefundYear,
) -> Result<Vec<Posting>, Refusal> {
    let due = refund_now(sr, live, Fen::ZERO)?;
    if due.now.is_zero() {
        return Ok(Vec::new());
    }
    let fund_amount = due.now.checked_neg().ok_or(Refusal::AmountOverflow)?;
    let (fund_line, cash_line) = if due.now.is_negative() {
        (
            format!(
                "二次报销重新计算：撤销后本年有效结算的合规个人负担累计{}元，按分段比例应返还{}元，已返还{}元，追回多返还的{}元（R-J9）",
                due.burden_after, due.owed, live.refunded, fund_amount
            ),
            format!(
                "二次报销重新计算：多返还的{fund_amount}元由患者退还，从撤销退回的款项中扣除"
            ),
        )
    } else {
        (
            format!(
                "二次报销重新计算：撤销后本年有效结算的合规个人负担累计{}元，按分段比例应返还{}元，已返还{}元，补发{}元（R-J9）",
                due.burden_after, due.owed, live.refunded, due.now
            ),
            format!("二次报销重新计算：补发的{}元以现金退给患者", due.now),
        )
    };
    let postings = vec![
        Posting {
            account: LedgerAccount::PoolFund {
                admdvs,
                fund_pay_type: FUND_PAY_TYPE.into(),
            },
            amount: fund_amount,
            rule: PostingRule::SecondReimbursement,
            floor: None,
            explanation: fund_line,
        },
        Posting {
            account: LedgerAccount::Cash,
            amount: due.now,
            rule: PostingRule::SecondReimbursement,
            floor: None,
            explanation: cash_line,
        },
    ];
    // The pair balances by construction; building the set checks it all the same.
    PostingSet::new(postings.clone()).map_err(|_| Refusal::InternalUnbalanced)?;
    Ok(postings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::{Insutype, MedType};
    use crate::money::BasisPoints;
    use crate::policy::ReimbursementTier;

    /// Jinan's tiers: 60% from 12,000 to 200,000 yuan, 70% from 200,000 to 400,000.
    fn jinan() -> SecondReimbursement {
        let tier = |above: i64, up_to: i64, bp: u16| ReimbursementTier {
            above: Fen::from_yuan(above),
            up_to: Fen::from_yuan(up_to),
            ratio: BasisPoints::new(bp).unwrap_or(BasisPoints::ZERO),
        };
        SecondReimbursement {
            insutype: Insutype::Employee,
            med_types: vec![MedType::ChronicSpecialOutpatient, MedType::Inpatient],
            tiers: vec![tier(12_000, 200_000, 6000), tier(200_000, 400_000, 7000)],
        }
    }

    /// The year (burden, refunded) in yuan, the burden added in fen → what the fund pays now.
    fn check(scenario: (i64, i64, i64), expected_now_fen: i64) {
        let (burden, refunded, added) = scenario;
        let got = refund_now(
            &jinan(),
            RefundYear {
                burden: Fen::from_yuan(burden),
                refunded: Fen::from_yuan(refunded),
            },
            Fen::from_fen(added),
        )
        .map(|r| r.now);
        assert_eq!(got, Ok(Fen::from_fen(expected_now_fen)), "{scenario:?}");
    }

    #[test]
    fn a_settlement_pays_what_the_year_deserves_less_what_was_paid() {
        // Up to the threshold nothing; one fen above it, 60% of a fen rounded up.
        check((0, 0, 1_200_000), 0);
        check((12_000, 0, 1), 1);
        // B 10,000 after A 12,000: 6,000.
        check((12_000, 0, 1_000_000), 600_000);
        // Across the 200,000 boundary both ratios apply.
        check((190_000, 106_800, 2_000_000), 600_000 + 700_000);
        // Above 400,000 nothing more.
        check((400_000, 252_800, 100), 0);
        // A year that was over-refunded (before this rule was kept) pays nothing until the
        // burden catches up: the clawback is netted.
        check((10_000, 6_000, 100_000), -600_000);
    }

    #[test]
    fn a_cancel_of_an_earlier_settlement_claws_back_the_excess() {
        // A 12,000 (refund 0), B 10,000 (refund 6,000), cancel A: the live year is B alone.
        let live = RefundYear {
            burden: Fen::from_yuan(10_000),
            refunded: Fen::from_yuan(6_000),
        };
        let admdvs = Admdvs::parse("370102").expect("an admdvs");
        let postings = recompute_after_cancel(&jinan(), admdvs, live).expect("postings");
        let fund = LedgerAccount::PoolFund {
            admdvs,
            fund_pay_type: FUND_PAY_TYPE.into(),
        };
        let amounts: Vec<(LedgerAccount, Fen)> = postings
            .iter()
            .map(|p| (p.account.clone(), p.amount))
            .collect();
        assert_eq!(
            amounts,
            vec![
                (fund, Fen::from_yuan(6_000)),
                (LedgerAccount::Cash, Fen::from_yuan(-6_000))
            ]
        );
        assert!(postings
            .iter()
            .all(|p| p.explanation.starts_with("二次报销重新计算：")));
        // Cancelling the latest leaves nothing to recompute.
        let latest = RefundYear {
            burden: Fen::from_yuan(12_000),
            refunded: Fen::ZERO,
        };
        assert_eq!(recompute_after_cancel(&jinan(), admdvs, latest), Ok(vec![]));
        // Above the last tier a cancel of an early settlement tops up.
        let capped = RefundYear {
            burden: Fen::from_yuan(400_000),
            refunded: Fen::from_yuan(222_800),
        };
        let topped = recompute_after_cancel(&jinan(), admdvs, capped).expect("postings");
        assert_eq!(topped[1].amount, Fen::from_yuan(30_000));
    }
}
