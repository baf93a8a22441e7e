//! Recovery (追回) of improper mutual-aid payments (R-S7): which payments a case may claim,
//! and the postings that return repaid money to the holder's account.

use crate::ledger::{LedgerAccount, Posting, PostingRule, PostingSet};
use crate::money::Fen;
use crate::refusal::Refusal;

/// What is known about the payment a case claims.
#[derive(Clone, Debug)]
pub struct RecoveryFacts {
    /// The amount the case would recover.
    pub amount: Fen,
    /// What the settlement drew from the binding's holder by mutual aid for its relative
    /// (zero when the settlement is not the relative's, or the holder did not pay).
    pub drawn: Fen,
    /// What other cases on the same payment already claim.
    pub claimed: Fen,
    pub settlement_cancelled: bool,
}

/// Judges opening a case.
pub fn judge_recovery(f: &RecoveryFacts) -> Result<(), Refusal> {
    if !f.amount.is_positive() || f.amount > Fen::INPUT_MAX {
        return Err(Refusal::RecoveryInvalidAmount);
    }
    if f.settlement_cancelled {
        return Err(Refusal::RecoverySettlementCancelled);
    }
    if !f.drawn.is_positive() {
        return Err(Refusal::RecoveryNotMutualAid);
    }
    let available = f.drawn.saturating_sub_floor0(f.claimed);
    if f.amount > available {
        return Err(Refusal::RecoveryExceedsPayment { available });
    }
    Ok(())
}

/// The repaid money goes from the recovery account back to the holder's personal account.
pub fn repayment_postings(holder: &str, amount: Fen, case_id: i64) -> Result<PostingSet, Refusal> {
    if !amount.is_positive() {
        return Err(Refusal::RecoveryInvalidAmount);
    }
    let explanation = format!("追回案件{case_id}：违规共济支付{amount}元已追回，退回户主个人账户");
    PostingSet::new(vec![
        Posting {
            account: LedgerAccount::Recovery,
            amount: amount.checked_neg().ok_or(Refusal::AmountOverflow)?,
            rule: PostingRule::Recovery,
            floor: None,
            explanation: explanation.clone(),
        },
        Posting {
            account: LedgerAccount::Personal(holder.to_string()),
            amount,
            rule: PostingRule::Recovery,
            floor: None,
            explanation,
        },
    ])
    .map_err(|_| Refusal::InternalUnbalanced)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(amount: i64, drawn: i64, claimed: i64) -> RecoveryFacts {
        RecoveryFacts {
            amount: Fen::from_fen(amount),
            drawn: Fen::from_fen(drawn),
            claimed: Fen::from_fen(claimed),
            settlement_cancelled: false,
        }
    }

    #[test]
    fn a_case_claims_at_most_what_was_drawn() {
        assert_eq!(judge_recovery(&facts(500, 500, 0)), Ok(()));
        assert_eq!(
            judge_recovery(&facts(500, 800, 400)),
            Err(Refusal::RecoveryExceedsPayment {
                available: Fen::from_fen(400)
            })
        );
        assert_eq!(
            judge_recovery(&facts(0, 800, 0)),
            Err(Refusal::RecoveryInvalidAmount)
        );
        assert_eq!(
            judge_recovery(&facts(100, 0, 0)),
            Err(Refusal::RecoveryNotMutualAid)
        );
        let mut cancelled = facts(100, 800, 0);
        cancelled.settlement_cancelled = true;
        assert_eq!(
            judge_recovery(&cancelled),
            Err(Refusal::RecoverySettlementCancelled)
        );
        let set = repayment_postings("p1", Fen::from_fen(500), 1).unwrap();
        assert_eq!(
            set.net_for(&LedgerAccount::Personal("p1".into())),
            Some(Fen::from_fen(500))
        );
    }
}
