//! Premiums paid with outside money (R-J5, collecting agents): the resident pays his own
//! premium through WeChat, Alipay, UnionPay, a POS or a bank app, or an agent (village
//! committee, bank branch, school) pays for many. The money comes from a channel's clearing
//! account, never from a personal account; the amount and category are the registry's
//! (R-R5), the place the person's (R-R4), and a second payment for the same person, year and
//! kind is refused before money moves ([`quote_channel_premium`]) or, when a channel collected
//! it anyway, given back ([`decide_channel_premium`]), never kept twice.

use chrono::NaiveDate;

use crate::codes::Admdvs;
use crate::domain::Person;
use crate::ledger::{LedgerAccount, Posting, PostingRule, PostingSet};
use crate::money::Fen;
use crate::pii::mask_name;
use crate::policy::Policy;
use crate::premium::{premium_due, PremiumKind};
use crate::refusal::Refusal;

/// Where a premium's money comes from, as the seed lists the channels (R-R3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PaymentChannel {
    /// A holder's personal account, for a bound relative (R-Y2).
    PersonalAccount,
    Wechat,
    Alipay,
    Unionpay,
    Pos,
    BankApp,
    /// A collecting agent registered by staff.
    Agent,
    /// The demo's development provider (演示), which pays at once; production refuses it.
    Dev,
}

impl PaymentChannel {
    pub const ALL: &'static [PaymentChannel] = &[
        PaymentChannel::PersonalAccount,
        PaymentChannel::Wechat,
        PaymentChannel::Alipay,
        PaymentChannel::Unionpay,
        PaymentChannel::Pos,
        PaymentChannel::BankApp,
        PaymentChannel::Agent,
        PaymentChannel::Dev,
    ];

    /// The stored code (`premiums.channel`).
    pub const fn code(self) -> &'static str {
        match self {
            PaymentChannel::PersonalAccount => "personal_account",
            PaymentChannel::Wechat => "wechat",
            PaymentChannel::Alipay => "alipay",
            PaymentChannel::Unionpay => "unionpay",
            PaymentChannel::Pos => "pos",
            PaymentChannel::BankApp => "bank_app",
            PaymentChannel::Agent => "agent",
            PaymentChannel::Dev => "dev",
        }
    }

    pub fn parse(code: &str) -> Option<PaymentChannel> {
        PaymentChannel::ALL
            .iter()
            .copied()
            .find(|c| c.code() == code.trim())
    }

    pub const fn name_zh(self) -> &'static str {
        match self {
            PaymentChannel::PersonalAccount => "个人账户",
            PaymentChannel::Wechat => "微信支付",
            PaymentChannel::Alipay => "支付宝",
            PaymentChannel::Unionpay => "银联",
            PaymentChannel::Pos => "POS机",
            PaymentChannel::BankApp => "银行App",
            PaymentChannel::Agent => "代收点",
            PaymentChannel::Dev => "演示支付",
        }
    }

    /// Outside money: every channel but a personal account.
    pub const fn is_external(self) -> bool {
        !matches!(self, PaymentChannel::PersonalAccount)
    }
}

/// What a premium costs the person today, before an order is made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quote {
    pub category: String,
    pub category_name: String,
    pub amount: Fen,
}

/// The facts of a premium paid, or about to be paid, through a channel.
#[derive(Clone, Debug)]
pub struct ChannelFacts<'a> {
    pub person: &'a Person,
    pub kind: PremiumKind,
    pub year: i32,
    /// The categories the agency's lists give the person for the year (R-R5).
    pub listed_categories: &'a [&'a str],
    /// The day the money was collected: the tax collection time the channel's notification
    /// carries, not the day it was delivered (R-R2).
    pub paid_on: NaiveDate,
    /// The place the payment is made at: the order's, or the agent's region (R-R4).
    pub place: Option<Admdvs>,
    /// A premium of this kind for this person and year is already recorded (R-R4).
    pub already_paid: bool,
    pub channel: PaymentChannel,
    /// The collecting agent, for [`PaymentChannel::Agent`].
    pub agent: Option<&'a str>,
}

/// Whether the person may be charged, and how much: refuses before any money moves (a
/// second payment, the wrong place, outside the window, nothing due).
pub fn quote_channel_premium(facts: &ChannelFacts<'_>, policy: &Policy) -> Result<Quote, Refusal> {
    if !facts.channel.is_external() {
        return Err(Refusal::InvalidAmount);
    }
    if facts
        .place
        .is_some_and(|p| p.city_admdvs() != facts.person.admdvs.city_admdvs())
    {
        return Err(Refusal::PremiumWrongPlace);
    }
    let due = premium_due(
        facts.person,
        facts.kind,
        facts.year,
        facts.listed_categories,
        facts.paid_on,
        policy,
    )?;
    if facts.already_paid {
        return Err(Refusal::PremiumAlreadyPaid {
            year: facts.year,
            what: facts.kind.name_zh(),
        });
    }
    if !due.amount.is_positive() {
        return Err(Refusal::PremiumNothingDue);
    }
    Ok(Quote {
        category: due.code,
        category_name: due.name_zh,
        amount: due.amount,
    })
}

/// A channel payment kept as the person's premium.
#[derive(Clone, Debug)]
pub struct ChannelPremium {
    pub quote: Quote,
    pub postings: PostingSet,
    pub explanation: String,
}

/// A channel payment given back: why, and the postings that record the refund.
#[derive(Clone, Debug)]
pub struct ChannelRefund {
    pub reason: Refusal,
    pub amount: Fen,
    pub postings: PostingSet,
    pub explanation: String,
}

#[derive(Clone, Debug)]
pub enum ChannelDecision {
    Kept(ChannelPremium),
    /// The money was collected but cannot be kept (a second payment, another amount than
    /// due, a closed window, the wrong place): it goes back through the channel, recorded.
    Refunded(ChannelRefund),
}

/// Decides a payment a channel has collected (`amount`, confirmed by its notification). The
/// money has moved at the channel already, so whatever the rules refuse is refunded, not
/// left at the channel: the person's premium is kept once, or not at all.
pub fn decide_channel_premium(
    facts: &ChannelFacts<'_>,
    amount: Fen,
    policy: &Policy,
) -> Result<ChannelDecision, Refusal> {
    if !amount.is_positive() || !facts.channel.is_external() {
        return Err(Refusal::InvalidAmount);
    }
    let clearing = LedgerAccount::ChannelClearing {
        channel: facts.channel,
        agent: facts.agent.map(str::to_string),
    };
    let name = mask_name(facts.person.name.reveal());
    let quote = quote_channel_premium(facts, policy).and_then(|q| {
        if q.amount == amount {
            Ok(q)
        } else {
            Err(Refusal::PremiumAmountMismatch {
                paid: amount,
                due: q.amount,
            })
        }
    });
    let negative = amount.checked_neg().ok_or(Refusal::AmountOverflow)?;
    match quote {
        Ok(quote) => {
            let explanation = format!(
                "{}为{name}缴纳{}年度{}（{}）{}元",
                facts.channel.name_zh(),
                facts.year,
                facts.kind.name_zh(),
                quote.category_name,
                quote.amount
            );
            let postings = PostingSet::new(vec![
                Posting {
                    account: clearing,
                    amount: negative,
                    rule: PostingRule::Premium,
                    floor: None,
                    explanation: explanation.clone(),
                },
                Posting {
                    account: LedgerAccount::PremiumIncome {
                        admdvs: facts.person.admdvs,
                        insutype: facts.kind.insutype().code().into(),
                    },
                    amount,
                    rule: PostingRule::Premium,
                    floor: None,
                    explanation: explanation.clone(),
                },
            ])
            .map_err(|_| Refusal::InternalUnbalanced)?;
            Ok(ChannelDecision::Kept(ChannelPremium {
                quote,
                postings,
                explanation,
            }))
        }
        Err(reason) => {
            let explanation = format!(
                "{}为{name}缴纳的{}年度{}{}元未入账，原路退回：{}",
                facts.channel.name_zh(),
                facts.year,
                facts.kind.name_zh(),
                amount,
                reason.message_zh()
            );
            let postings = PostingSet::new(vec![
                Posting {
                    account: clearing,
                    amount: negative,
                    rule: PostingRule::PremiumRefund,
                    floor: None,
                    explanation: explanation.clone(),
                },
                Posting {
                    account: LedgerAccount::ChannelRefunds {
                        channel: facts.channel,
                        agent: facts.agent.map(str::to_string),
                    },
                    amount,
                    rule: PostingRule::PremiumRefund,
                    floor: None,
                    explanation: explanation.clone(),
                },
            ])
            .map_err(|_| Refusal::InternalUnbalanced)?;
            Ok(ChannelDecision::Refunded(ChannelRefund {
                reason,
                amount,
                postings,
                explanation,
            }))
        }
    }
}
