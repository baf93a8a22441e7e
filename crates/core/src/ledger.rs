//! Double entry: every movement of money is a set of postings that sums to zero.
//!
//! Sign convention: a posting adds its amount to the account's balance. A personal
//! account that pays has a negative posting; the institution that is paid has a positive
//! one. External sources (pooled fund, cash, opening funding) go negative as they pay out.

use std::fmt;

use crate::codes::Admdvs;
use crate::collection::PaymentChannel;
use crate::money::{Fen, Overflow};
use crate::refusal::Refusal;

/// A ledger account, with a stable text key (`psn:...`, `fund:...`, ...).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LedgerAccount {
    /// A person's own personal account (个人账户). Floor: zero.
    Personal(String),
    /// A pooled fund of a region and fund type (e.g. 390102 resident outpatient pooling).
    PoolFund {
        admdvs: Admdvs,
        fund_pay_type: String,
    },
    /// What the system owes an institution for its settlements (清算).
    Institution(String),
    /// Cash paid by patients at the window.
    Cash,
    /// Premiums collected for a region and insurance type.
    PremiumIncome { admdvs: Admdvs, insutype: String },
    /// Money entering personal accounts from outside (opening balances, employer transfers).
    Funding,
    /// Improper payments being recovered (追回).
    Recovery,
    /// On the holder's province: a holder's quota held in another province (R-N3).
    QuotaOut { province: u32, holder: String },
    /// On the relative's province: what a relative may spend of a holder's quota from
    /// another province (R-N3). Floor: zero.
    Quota {
        province: u32,
        holder: String,
        relative: String,
    },
    /// On the relative's province: what it owes another province for quotas it holds.
    Peer(u32),
    /// What a payment channel collected for the fund and has not yet settled to the fund's
    /// bank account (its balance runs negative by that much). A premium paid with outside
    /// money (R-J5, a collecting agent) comes from here; an agent's has its own, so its
    /// daily statement balances against its postings.
    ChannelClearing {
        channel: PaymentChannel,
        agent: Option<String>,
    },
    /// What a channel gave back to payers: premiums collected twice, or that could not be
    /// kept, refunded (R-R4). A channel's clearing plus its refunds is what it owes the fund.
    ChannelRefunds {
        channel: PaymentChannel,
        agent: Option<String>,
    },
}

impl LedgerAccount {
    pub fn key(&self) -> String {
        match self {
            LedgerAccount::Personal(psn_no) => format!("psn:{psn_no}"),
            LedgerAccount::PoolFund {
                admdvs,
                fund_pay_type,
            } => format!("fund:{admdvs}:{fund_pay_type}"),
            LedgerAccount::Institution(code) => format!("inst:{code}"),
            LedgerAccount::Cash => "cash".into(),
            LedgerAccount::PremiumIncome { admdvs, insutype } => {
                format!("premium:{admdvs}:{insutype}")
            }
            LedgerAccount::Funding => "funding".into(),
            LedgerAccount::Recovery => "recovery".into(),
            LedgerAccount::QuotaOut { province, holder } => {
                format!("quotaout:{province:02}:{holder}")
            }
            LedgerAccount::Quota {
                province,
                holder,
                relative,
            } => format!("quota:{province:02}:{holder}/{relative}"),
            LedgerAccount::Peer(province) => format!("peer:{province:02}"),
            LedgerAccount::ChannelClearing { channel, agent } => match agent {
                Some(agent) => format!("clearing:{}:{agent}", channel.code()),
                None => format!("clearing:{}", channel.code()),
            },
            LedgerAccount::ChannelRefunds { channel, agent } => match agent {
                Some(agent) => format!("refunded:{}:{agent}", channel.code()),
                None => format!("refunded:{}", channel.code()),
            },
        }
    }

    pub fn parse_key(key: &str) -> Option<LedgerAccount> {
        let mut parts = key.splitn(3, ':');
        let kind = parts.next()?;
        let a = parts.next();
        let b = parts.next();
        match (kind, a, b) {
            ("psn", Some(p), None) => Some(LedgerAccount::Personal(p.to_string())),
            ("fund", Some(ad), Some(t)) => Some(LedgerAccount::PoolFund {
                admdvs: Admdvs::parse(ad)?,
                fund_pay_type: t.to_string(),
            }),
            ("inst", Some(c), None) => Some(LedgerAccount::Institution(c.to_string())),
            ("cash", None, None) => Some(LedgerAccount::Cash),
            ("premium", Some(ad), Some(t)) => Some(LedgerAccount::PremiumIncome {
                admdvs: Admdvs::parse(ad)?,
                insutype: t.to_string(),
            }),
            ("funding", None, None) => Some(LedgerAccount::Funding),
            ("recovery", None, None) => Some(LedgerAccount::Recovery),
            ("quotaout", Some(pr), Some(h)) => Some(LedgerAccount::QuotaOut {
                province: province_code(pr)?,
                holder: h.to_string(),
            }),
            ("quota", Some(pr), Some(pair)) => {
                let (holder, relative) = pair.split_once('/')?;
                Some(LedgerAccount::Quota {
                    province: province_code(pr)?,
                    holder: holder.to_string(),
                    relative: relative.to_string(),
                })
            }
            ("peer", Some(pr), None) => Some(LedgerAccount::Peer(province_code(pr)?)),
            ("clearing", Some(ch), agent) => Some(LedgerAccount::ChannelClearing {
                channel: PaymentChannel::parse(ch)?,
                agent: agent.map(str::to_string),
            }),
            ("refunded", Some(ch), agent) => Some(LedgerAccount::ChannelRefunds {
                channel: PaymentChannel::parse(ch)?,
                agent: agent.map(str::to_string),
            }),
            _ => None,
        }
    }

    /// Personal accounts and quotas may never go below zero; others have no floor.
    pub fn has_zero_floor(&self) -> bool {
        matches!(
            self,
            LedgerAccount::Personal(_) | LedgerAccount::Quota { .. }
        )
    }

    pub fn personal_psn_no(&self) -> Option<&str> {
        match self {
            LedgerAccount::Personal(p) => Some(p),
            _ => None,
        }
    }
}

/// A 2-digit province code (11–82) as keys write it.
fn province_code(text: &str) -> Option<u32> {
    if text.len() != 2 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|p| (11..=82).contains(p))
}

impl fmt::Display for LedgerAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

/// The rule that produced a posting; kept with it so every fen can be explained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PostingRule {
    PooledFund,
    SecondReimbursement,
    OwnAccount,
    MutualAid,
    Cash,
    InstitutionReceivable,
    Premium,
    Opening,
    Reversal,
    Recovery,
    /// A cross-province quota granted, credited, released or returned (R-N3).
    Quota,
    /// A premium paid twice, given back through the channel it came from (R-R4).
    PremiumRefund,
}

impl PostingRule {
    pub fn code(self) -> &'static str {
        match self {
            PostingRule::PooledFund => "pooled_fund",
            PostingRule::SecondReimbursement => "second_reimbursement",
            PostingRule::OwnAccount => "own_account",
            PostingRule::MutualAid => "mutual_aid",
            PostingRule::Cash => "cash",
            PostingRule::InstitutionReceivable => "institution",
            PostingRule::Premium => "premium",
            PostingRule::Opening => "opening",
            PostingRule::Reversal => "reversal",
            PostingRule::Recovery => "recovery",
            PostingRule::Quota => "quota",
            PostingRule::PremiumRefund => "premium_refund",
        }
    }

    pub fn parse(s: &str) -> Option<PostingRule> {
        [
            PostingRule::PooledFund,
            PostingRule::SecondReimbursement,
            PostingRule::OwnAccount,
            PostingRule::MutualAid,
            PostingRule::Cash,
            PostingRule::InstitutionReceivable,
            PostingRule::Premium,
            PostingRule::Opening,
            PostingRule::Reversal,
            PostingRule::Recovery,
            PostingRule::Quota,
            PostingRule::PremiumRefund,
        ]
        .into_iter()
        .find(|r| r.code() == s)
    }
}

/// One line of a posting set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Posting {
    pub account: LedgerAccount,
    pub amount: Fen,
    pub rule: PostingRule,
    /// The lowest balance this posting may leave the account at: zero for a person's own
    /// spending, the reserve for mutual aid; `None` for accounts without a floor and for
    /// reversals (returning money never breaches one).
    pub floor: Option<Fen>,
    /// Why, in Chinese, for the person and the clerk.
    pub explanation: String,
}

/// Postings that sum to zero; the only way to build one checks it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PostingSet(Vec<Posting>);

/// The postings did not sum to zero: a bug, never written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unbalanced {
    pub sum: Option<Fen>,
}

impl PostingSet {
    pub fn new(postings: Vec<Posting>) -> Result<PostingSet, Unbalanced> {
        let postings: Vec<Posting> = postings
            .into_iter()
            .filter(|p| !p.amount.is_zero())
            .collect();
        match Fen::checked_sum(postings.iter().map(|p| p.amount)) {
            Some(sum) if sum.is_zero() => Ok(PostingSet(postings)),
            sum => Err(Unbalanced { sum }),
        }
    }

    pub fn postings(&self) -> &[Posting] {
        &self.0
    }

    /// The exact reverse: every amount negated, each line explained by the line it undoes.
    /// Returning money never breaches a floor, so a reversal carries none.
    pub fn reversed(&self, explanation: &str) -> Result<PostingSet, Overflow> {
        let postings = self
            .0
            .iter()
            .map(|p| {
                Ok(Posting {
                    account: p.account.clone(),
                    amount: p.amount.checked_neg().ok_or(Overflow)?,
                    rule: PostingRule::Reversal,
                    floor: None,
                    explanation: format!("{explanation}：{}", p.explanation),
                })
            })
            .collect::<Result<_, Overflow>>()?;
        Ok(PostingSet(postings))
    }

    /// The net change this set makes to `account`; `None` on overflow.
    pub fn net_for(&self, account: &LedgerAccount) -> Option<Fen> {
        Fen::checked_sum(
            self.0
                .iter()
                .filter(|p| &p.account == account)
                .map(|p| p.amount),
        )
    }
}

/// The floor a posting broke, if it broke one: a personal account never goes below zero,
/// and a posting with its own floor (the reserve, for mutual aid and premiums) never below
/// that. Deciding keeps both; this is the check that a decision did.
pub fn floor_breached(personal: bool, balance_after: Fen, floor: Option<Fen>) -> Option<Fen> {
    let floor = match (personal, floor) {
        (true, Some(f)) => f.max(Fen::ZERO),
        (true, None) => Fen::ZERO,
        (false, f) => f?,
    };
    (balance_after < floor).then_some(floor)
}

/// Money entering a person's account from outside (an opening balance, an employer's
/// transfer). A zero amount (a registry row restating the balance) moves nothing.
pub fn opening_postings(psn_no: &str, amount: Fen) -> Result<PostingSet, Refusal> {
    if amount.is_negative() || amount > Fen::INPUT_MAX {
        return Err(Refusal::InvalidAmount);
    }
    let explanation = format!("个人账户划入{amount}元");
    PostingSet::new(vec![
        Posting {
            account: LedgerAccount::Personal(psn_no.to_string()),
            amount,
            rule: PostingRule::Opening,
            floor: None,
            explanation: explanation.clone(),
        },
        Posting {
            account: LedgerAccount::Funding,
            amount: amount.checked_neg().ok_or(Refusal::AmountOverflow)?,
            rule: PostingRule::Opening,
            floor: None,
            explanation,
        },
    ])
    .map_err(|_| Refusal::InternalUnbalanced)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        let accounts = [
            LedgerAccount::Personal("37030000000001".into()),
            LedgerAccount::PoolFund {
                admdvs: Admdvs::parse("140800").unwrap(),
                fund_pay_type: "390102".into(),
            },
            LedgerAccount::Institution("H37030000001".into()),
            LedgerAccount::Cash,
            LedgerAccount::PremiumIncome {
                admdvs: Admdvs::parse("140800").unwrap(),
                insutype: "390".into(),
            },
            LedgerAccount::Funding,
            LedgerAccount::Recovery,
        ];
        for a in accounts {
            assert_eq!(LedgerAccount::parse_key(&a.key()), Some(a));
        }
    }

    #[test]
    fn personal_accounts_keep_zero_and_reserves_keep_theirs() {
        let fen = Fen::from_fen;
        assert_eq!(floor_breached(true, fen(-1), None), Some(Fen::ZERO));
        assert_eq!(floor_breached(true, Fen::ZERO, None), None);
        assert_eq!(
            floor_breached(true, fen(99_999), Some(fen(100_000))),
            Some(fen(100_000))
        );
        assert_eq!(floor_breached(true, fen(100_000), Some(fen(100_000))), None);
        // Funds and clearing accounts go negative as they pay out.
        assert_eq!(floor_breached(false, fen(-5), None), None);
    }

    #[test]
    fn unbalanced_sets_are_refused() {
        let p = |a: i64| Posting {
            account: LedgerAccount::Cash,
            amount: Fen::from_fen(a),
            rule: PostingRule::Cash,
            floor: None,
            explanation: String::new(),
        };
        assert!(PostingSet::new(vec![p(5), p(-5)]).is_ok());
        assert_eq!(
            PostingSet::new(vec![p(5), p(-4)]),
            Err(Unbalanced {
                sum: Some(Fen::from_fen(1))
            })
        );
    }
}
