//! Who pays the personal burden: the patient's own account first (R-S4, R-Z6), then the
//! quotas holders in other provinces granted him (R-N3, oldest first), then bound holders in
//! policy order (R-N2) within each holder's reserve (R-S2) and limits (R-S3), then cash.

use chrono::NaiveDate;

use crate::binding_rules::binding_usable_on;
use crate::codes::{AccountUse, InsuStatus, MutualAidUse};
use crate::domain::{Binding, Institution, Person};
use crate::money::Fen;
use crate::pii::mask_name;
use crate::policy::{HolderOrder, Policy};
use crate::quota::QuotaParties;
use crate::refusal::Refusal;

/// A holder who could pay for this patient, with what the store knows about him.
#[derive(Clone, Debug)]
pub struct HolderFacts<'a> {
    pub holder: &'a Person,
    pub balance: Fen,
    pub binding: &'a Binding,
    /// The reserve of the holder's own region (R-S2).
    pub reserve: Fen,
    /// Drawn through this binding so far in the payment's day, month and year (R-S3).
    pub used: BindingUsage,
}

/// What a binding has carried so far in the calendar periods its limits count (R-S3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BindingUsage {
    pub today: Fen,
    pub this_month: Fen,
    pub this_year: Fen,
}

/// The most a binding may still carry on one payment under the holder's limits (R-S3), and
/// one line for each limit that binds, in Chinese. `None` when no limit is set.
pub fn limits_left(binding: &Binding, used: BindingUsage) -> (Option<Fen>, Vec<String>) {
    let mut left: Option<Fen> = None;
    let mut why = Vec::new();
    let mut cap = |limit: Option<Fen>, used: Fen, line: &dyn Fn(Fen) -> String| {
        if let Some(limit) = limit {
            let rest = limit.saturating_sub_floor0(used);
            if left.is_none_or(|l| rest < l) {
                left = Some(rest);
            }
            why.push((rest, line(limit)));
        }
    };
    cap(binding.limit_per_payment, Fen::ZERO, &|l| {
        format!("单笔限额{l}元（R-S3）")
    });
    cap(binding.limit_per_day, used.today, &|l| {
        format!("每日限额{l}元，今日已用{}元（R-S3）", used.today)
    });
    cap(binding.limit_per_month, used.this_month, &|l| {
        format!("月度限额{l}元，本月已用{}元（R-S3）", used.this_month)
    });
    cap(binding.limit_per_year, used.this_year, &|l| {
        format!("年度限额{l}元，本年已用{}元（R-S3）", used.this_year)
    });
    // Only the limits that decide the amount are worth a line.
    let lines = match left {
        Some(l) => why
            .into_iter()
            .filter(|(rest, _)| *rest == l)
            .map(|(_, line)| line)
            .collect(),
        None => Vec::new(),
    };
    (left, lines)
}

/// The limit that decides what a binding may still carry, as in [`limits_left`].
fn deciding_limit(binding: &Binding, used: BindingUsage) -> Option<(LimitKind, Fen)> {
    let (left, _) = limits_left(binding, used);
    let left = left?;
    [
        (LimitKind::PerPayment, binding.limit_per_payment, Fen::ZERO),
        (LimitKind::PerDay, binding.limit_per_day, used.today),
        (
            LimitKind::PerMonth,
            binding.limit_per_month,
            used.this_month,
        ),
        (LimitKind::PerYear, binding.limit_per_year, used.this_year),
    ]
    .into_iter()
    .find_map(|(kind, limit, used)| {
        let limit = limit?;
        (limit.saturating_sub_floor0(used) == left).then_some((kind, limit))
    })
}

/// A quota a holder in another province granted the patient (R-N3), as his province keeps it.
#[derive(Clone, Debug)]
pub struct QuotaFacts<'a> {
    pub parties: &'a QuotaParties,
    /// What is left of it.
    pub remaining: Fen,
    /// The day its binding began: older quotas pay first.
    pub since: NaiveDate,
    /// Its binding is in force today and the patient's region takes part (see
    /// `quota::judge_binding_in_force`).
    pub in_force: bool,
}

/// What one quota paid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaDraw {
    pub parties: QuotaParties,
    pub amount: Fen,
    pub remaining_after: Fen,
}

#[derive(Clone, Debug)]
pub struct AllocationFacts<'a> {
    pub patient: &'a Person,
    pub own_balance: Fen,
    /// The personal burden to cover.
    pub amount: Fen,
    pub account_use: AccountUse,
    pub holders: Vec<HolderFacts<'a>>,
    /// Quotas from holders in other provinces (R-N3); they pay before the holders here.
    pub quotas: Vec<QuotaFacts<'a>>,
    pub date: NaiveDate,
    /// The pooled fund pays something in this settlement (R-Z6).
    pub pooled_fund_paid: bool,
    /// Where the money is spent; `None` for a premium.
    pub institution: Option<&'a Institution>,
    /// The owner of the credential presented, when it is not the patient's own (R-S12).
    pub presented_holder: Option<&'a str>,
    pub purpose: MutualAidUse,
}

/// One holder's share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HolderDraw {
    pub holder: String,
    pub holder_name_masked: String,
    pub binding_id: i64,
    pub amount: Fen,
    pub reserve: Fen,
    pub balance_after: Fen,
}

/// Which of a holder's limits (R-S3) stopped a draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitKind {
    PerPayment,
    PerDay,
    PerMonth,
    PerYear,
}

/// Why mutual aid paid nothing, or less than the rest of the bill: said on the receipt and
/// in the records in plain Chinese (issue 15), so the cashier can tell the family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MutualAidStop {
    /// Only the own account was asked for, and mutual aid does not follow it here.
    NotRequested,
    PurposeNotAllowed(MutualAidUse),
    InstitutionNotOpen,
    OtherProvince,
    PooledFundPaid,
    HolderCredentialRequired,
    NoHolder,
    /// A holder's limit was reached; the amount is the limit.
    Limit(LimitKind, Fen),
    /// No holder had anything above his reserve.
    HolderBalanceShort,
    /// Every holder was unusable today (binding not valid, insurance paused, other province).
    HolderUnavailable,
}

/// The start of the note that says why mutual aid stopped, so a reader of
/// `setl_proc_info` (the till's receipt) finds it among the other notes.
pub const MUTUAL_AID_STOP_PREFIX: &str = "共济未支付原因：";

impl MutualAidStop {
    pub fn text_zh(&self) -> String {
        match self {
            MutualAidStop::NotRequested => "收费时只选了本人账户，未申请使用共济".into(),
            MutualAidStop::PurposeNotAllowed(p) => {
                format!("本地政策不允许共济资金用于{}", p.name_zh())
            }
            MutualAidStop::InstitutionNotOpen => "本机构未开通共济".into(),
            MutualAidStop::OtherProvince => "共济仅限省内，本机构与参保地不在同一省份".into(),
            MutualAidStop::PooledFundPaid => {
                "本次有统筹基金支付，按本地政策不能同时使用共济".into()
            }
            MutualAidStop::HolderCredentialRequired => {
                "本地须出示户主的社保卡或医保电子凭证才能使用共济".into()
            }
            MutualAidStop::NoHolder => "没有家人为本人开通共济".into(),
            MutualAidStop::Limit(kind, limit) => {
                let which = match kind {
                    LimitKind::PerPayment => "单笔",
                    LimitKind::PerDay => "每日",
                    LimitKind::PerMonth => "每月",
                    LimitKind::PerYear => "每年",
                };
                format!("超出户主设置的{which}限额{limit}元")
            }
            MutualAidStop::HolderBalanceShort => "户主账户可共济的余额不足".into(),
            MutualAidStop::HolderUnavailable => {
                "户主的共济今天不能使用（已暂停、未生效或参保暂停）".into()
            }
        }
    }

    /// The note as it is written among the settlement's notes.
    pub fn note(&self) -> String {
        format!("{MUTUAL_AID_STOP_PREFIX}{}", self.text_zh())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Allocation {
    pub own: Fen,
    pub own_balance_after: Fen,
    /// What quotas from other provinces paid (R-N3), before the holders here.
    pub quota_draws: Vec<QuotaDraw>,
    pub draws: Vec<HolderDraw>,
    pub cash: Fen,
    /// Lines saying which rule decided what, in Chinese. They reach the institution and its
    /// receipt (`setl_proc_info`), so they never state a holder's balance or reserve.
    pub notes: Vec<String>,
    /// The draws together, quotas included (acct_mulaid_pay).
    pub mutual_aid: Fen,
    /// Why mutual aid left part of the bill to cash, when it did.
    pub stop: Option<MutualAidStop>,
}

impl Allocation {
    pub fn mutual_aid_total(&self) -> Fen {
        self.mutual_aid
    }
}

fn sub(a: Fen, b: Fen) -> Result<Fen, Refusal> {
    a.checked_sub(b).ok_or(Refusal::AmountOverflow)
}

/// What a holder may share: the balance above his region's reserve, never below zero (R-S2).
pub fn shareable(balance: Fen, reserve: Fen) -> Fen {
    balance.saturating_sub_floor0(reserve)
}

/// Splits `facts.amount` between the own account, holders and cash.
pub fn allocate(facts: &AllocationFacts<'_>, policy: &Policy) -> Result<Allocation, Refusal> {
    let mut out = Allocation {
        own_balance_after: facts.own_balance,
        ..Allocation::default()
    };
    let mut remaining = facts.amount.max(Fen::ZERO);
    if facts.account_use == AccountUse::CashOnly {
        out.notes
            .push("未使用个人账户（acct_used_flag=0），个人负担全部现金支付".into());
        out.cash = remaining;
        return Ok(out);
    }
    let own = remaining.min(facts.own_balance.max(Fen::ZERO));
    if own.is_positive() {
        out.own = own;
        out.own_balance_after = sub(facts.own_balance, own)?;
        remaining = sub(remaining, own)?;
        out.notes.push(format!(
            "本人个人账户优先支付{own}元（R-S4），余额{}元",
            out.own_balance_after
        ));
    }
    if remaining.is_positive() {
        let blocker = mutual_aid_blocker(facts, policy);
        // Without a holder here, or without his credential, a quota from another province
        // still pays: its holder granted it for this relative, and cannot be at the counter.
        let quotas_pay = matches!(
            &blocker,
            None | Some((
                _,
                MutualAidStop::NoHolder | MutualAidStop::HolderCredentialRequired
            ))
        );
        if quotas_pay {
            draw_from_quotas(facts, &mut remaining, &mut out)?;
        }
        if remaining.is_positive() {
            match blocker {
                Some((reason, stop)) => {
                    out.notes.push(reason);
                    out.stop = Some(stop);
                }
                None => draw_from_holders(facts, policy, &mut remaining, &mut out)?,
            }
        }
    }
    if let Some(stop) = &out.stop {
        out.notes.push(stop.note());
    }
    out.cash = remaining;
    if remaining.is_positive() {
        out.notes.push(format!("其余{remaining}元由现金支付"));
    }
    Ok(out)
}

/// Why mutual aid does not apply to this payment at all, if it does not.
fn mutual_aid_blocker(
    facts: &AllocationFacts<'_>,
    policy: &Policy,
) -> Option<(String, MutualAidStop)> {
    let wants = match facts.account_use {
        AccountUse::CashOnly => false,
        AccountUse::OwnThenMutualAid => true,
        AccountUse::OwnAccount => {
            policy.payment.mutual_aid_follows_own_account || facts.presented_holder.is_some()
        }
    };
    if !wants {
        return Some((
            "本地共济不自动跟随本人账户，未申请共济支付（acct_used_flag=1）".into(),
            MutualAidStop::NotRequested,
        ));
    }
    if !policy.payment.mutual_aid_uses.contains(&facts.purpose) {
        return Some((
            format!("本地政策不允许共济资金用于{}", facts.purpose.name_zh()),
            MutualAidStop::PurposeNotAllowed(facts.purpose),
        ));
    }
    if let Some(inst) = facts.institution {
        if !inst.mutual_aid {
            return Some((
                "该定点机构未开通家庭共济支付".into(),
                MutualAidStop::InstitutionNotOpen,
            ));
        }
        if !inst.admdvs.same_province(facts.patient.admdvs) {
            return Some((
                "共济仅限省内：就医机构与参保地不在同一省份（R-Y3/R-S5）".into(),
                MutualAidStop::OtherProvince,
            ));
        }
    }
    if policy.payment.mutual_aid_excludes_pooled_settlements && facts.pooled_fund_paid {
        return Some((
            "本次结算有统筹基金支付，暂不支持与医保统筹待遇相关联的消费使用共济（R-Z6）".into(),
            MutualAidStop::PooledFundPaid,
        ));
    }
    if policy.payment.holder_credential_authorises && facts.presented_holder.is_none() {
        return Some((
            "本地须出示户主的社保卡或医保电子凭证才能使用共济（R-S12）".into(),
            MutualAidStop::HolderCredentialRequired,
        ));
    }
    if facts.holders.is_empty() {
        return Some(("没有为本人绑定共济的户主".into(), MutualAidStop::NoHolder));
    }
    None
}

/// Quotas from other provinces pay in the order they were granted (oldest binding first),
/// each down to zero.
fn draw_from_quotas(
    facts: &AllocationFacts<'_>,
    remaining: &mut Fen,
    out: &mut Allocation,
) -> Result<(), Refusal> {
    let mut quotas: Vec<&QuotaFacts<'_>> = facts
        .quotas
        .iter()
        .filter(|q| q.in_force && q.remaining.is_positive())
        .collect();
    quotas.sort_by(|a, b| {
        (
            a.since,
            &a.parties.holder_province,
            &a.parties.holder_psn_no,
        )
            .cmp(&(
                b.since,
                &b.parties.holder_province,
                &b.parties.holder_psn_no,
            ))
    });
    for q in quotas {
        if !remaining.is_positive() {
            break;
        }
        let draw = (*remaining).min(q.remaining);
        *remaining = sub(*remaining, draw)?;
        out.mutual_aid = out
            .mutual_aid
            .checked_add(draw)
            .ok_or(Refusal::AmountOverflow)?;
        let remaining_after = sub(q.remaining, draw)?;
        out.notes.push(format!(
            "省际共济：{}省家人划入的额度支付{draw}元（R-N3）",
            q.parties.holder_province
        ));
        out.quota_draws.push(QuotaDraw {
            parties: q.parties.clone(),
            amount: draw,
            remaining_after,
        });
    }
    Ok(())
}

fn draw_from_holders(
    facts: &AllocationFacts<'_>,
    policy: &Policy,
    remaining: &mut Fen,
    out: &mut Allocation,
) -> Result<(), Refusal> {
    let mut candidates: Vec<(&HolderFacts<'_>, Fen)> = Vec::new();
    // The last reason a holder could not carry the rest: said when cash pays some of it.
    let mut stop = None;
    for h in &facts.holders {
        let name = mask_name(h.holder.name.reveal());
        if let Some(presented) = facts.presented_holder {
            if h.holder.psn_no != presented {
                continue;
            }
        }
        if !binding_usable_on(
            h.binding,
            h.holder,
            facts.patient,
            facts.date,
            &policy.binding,
        ) {
            out.notes
                .push(format!("户主{name}的共济绑定在本日无效，未使用"));
            stop = Some(MutualAidStop::HolderUnavailable);
            continue;
        }
        if h.holder.insu_status != InsuStatus::Normal {
            out.notes.push(format!(
                "户主{name}参保暂停或终止（减员），其账户暂不能共济（R-Z4）"
            ));
            stop = Some(MutualAidStop::HolderUnavailable);
            continue;
        }
        if !h.holder.admdvs.same_province(facts.patient.admdvs) {
            out.notes.push(format!(
                "户主{name}与本人不在同一省份参保，不能共济（R-Y3）"
            ));
            stop = Some(MutualAidStop::HolderUnavailable);
            continue;
        }
        let available = shareable(h.balance, h.reserve);
        if available.is_zero() {
            out.notes.push(format!(
                "户主{name}账户余额未超过保留额，无可共济金额（R-S2）"
            ));
            stop = Some(MutualAidStop::HolderBalanceShort);
            continue;
        }
        candidates.push((h, available));
    }
    match policy.payment.holder_order {
        HolderOrder::ByBindingDate => {
            candidates.sort_by_key(|(h, _)| (h.binding.begin, h.binding.id));
        }
        HolderOrder::ByAvailableDesc => {
            candidates.sort_by_key(|(h, available)| (std::cmp::Reverse(*available), h.binding.id));
        }
    }
    for (h, available) in candidates {
        if !remaining.is_positive() {
            break;
        }
        let name = mask_name(h.holder.name.reveal());
        let mut draw = (*remaining).min(available);
        let mut limited = Vec::new();
        if draw < *remaining {
            stop = Some(MutualAidStop::HolderBalanceShort);
        }
        if let (Some(left), why) = limits_left(h.binding, h.used) {
            if draw > left {
                draw = left;
                limited = why;
                stop = deciding_limit(h.binding, h.used)
                    .map(|(kind, limit)| MutualAidStop::Limit(kind, limit));
            }
        }
        if !draw.is_positive() {
            out.notes.push(format!("户主{name}的共济限额已用完"));
            continue;
        }
        let balance_after = sub(h.balance, draw)?;
        *remaining = sub(*remaining, draw)?;
        out.mutual_aid = out
            .mutual_aid
            .checked_add(draw)
            .ok_or(Refusal::AmountOverflow)?;
        let mut note =
            format!("家庭共济：户主{name}账户支付{draw}元（不超过余额减保留额的可共济部分）");
        if !limited.is_empty() {
            note.push_str(&format!("，受{}限制", limited.join("、")));
        }
        out.notes.push(note);
        out.draws.push(HolderDraw {
            holder: h.holder.psn_no.clone(),
            holder_name_masked: name,
            binding_id: h.binding.id,
            amount: draw,
            reserve: h.reserve,
            balance_after,
        });
    }
    if remaining.is_positive() {
        out.stop = stop;
    }
    Ok(())
}
