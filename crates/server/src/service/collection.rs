//! Premiums paid with outside money through a payment provider (R-J5, issue 13): an order is
//! made for what the registry says is due, the payer pays at the provider, and the
//! provider's signed notification confirms it. The engine keeps the payment as the person's
//! premium, or, when it cannot be kept (a second payment for the same person, year and kind
//! through any channel, R-R4), records it and the provider is asked to refund it.
//!
//! Idempotency: a notification is the engine request `pay:{provider}:{transaction_id}`, so a
//! duplicated or late delivery of the same transaction replays the first answer and moves
//! nothing again (a refund is asked again with the same refund number, which the provider
//! takes once). Refused notifications (bad signature, unknown order, another amount than
//! the order's) change nothing and are logged and audited.

use chrono::NaiveDateTime;
use gongji_core::codes::{Admdvs, Channel};
use gongji_core::collection::PaymentChannel;
use gongji_core::premium::PremiumKind;
use gongji_core::Fen;
use gongji_engine::{ChannelPaid, ChannelPremiumCommand, Command, EngineError, Outcome, Request};
use gongji_store::payments::PaymentOrderRow;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::auth;
use super::providers::payment::{
    OrderToPay, PayError, PaymentNotice, PaymentProvider, RefundToMake, SignedNotification,
};
use super::{PersonRef, ServiceError, ServiceResult};
use crate::app::App;

/// A new order: whose premium, which, and who asks.
#[derive(Clone, Debug)]
pub struct NewOrder {
    pub psn_no: String,
    pub kind: PremiumKind,
    pub year: i32,
}

/// An order made; `confirmed` when the provider paid it at once (the demo's).
#[derive(Clone, Debug)]
pub struct OrderMade {
    pub order_id: String,
    pub person: PersonRef,
    pub kind: PremiumKind,
    pub year: i32,
    pub category: String,
    pub category_name: String,
    pub amount: Fen,
    pub channel: PaymentChannel,
    pub pay_url: Option<String>,
    pub confirmed: Option<Confirmation>,
}

/// What a notification did.
#[derive(Clone, Debug)]
pub struct Confirmation {
    pub receipt_no: i64,
    pub order_id: String,
    pub transaction_id: String,
    pub psn_no: String,
    pub kind: PremiumKind,
    pub year: i32,
    pub amount: Fen,
    pub channel: PaymentChannel,
    /// Kept as the person's premium, in this category (code, name); `None`: refunded.
    pub category: Option<(String, String)>,
    /// Why it was refunded: code and Chinese message.
    pub refund_reason: Option<(String, String)>,
    /// The tax collection time, `yyyy-MM-dd HH:mm:ss` (UTC+8).
    pub paid_at: String,
    pub explanation: String,
    /// Answered from the first delivery of the same transaction.
    pub replayed: bool,
}

impl Confirmation {
    pub fn kept(&self) -> bool {
        self.refund_reason.is_none()
    }
}

/// The provider orders may be made with: not an unconfigured one, and in production not
/// the development provider.
pub fn provider_for(app: &App) -> ServiceResult<&dyn PaymentProvider> {
    let p = app.payment.as_ref();
    if !p.is_configured() || (p.is_development() && !app.deployment.is_demo()) {
        return Err(ServiceError::PaymentNotConfigured);
    }
    Ok(p)
}

/// Makes an order for `order.psn_no`'s premium, asked by `payer` (the person himself, or a
/// holder bound to him). The amount and category are the registry's; a second payment, the
/// wrong place, a closed window or nothing due are refused here, before money moves.
pub async fn create_order(
    app: &App,
    payer: &str,
    order: NewOrder,
    via: Channel,
) -> ServiceResult<OrderMade> {
    let provider = provider_for(app)?;
    let channel = provider.channel();
    let now = app.clock.now();
    let (payer_no, psn_no) = (payer.to_string(), order.psn_no.clone());
    let (kind, year) = (order.kind, order.year);
    let (person, quote) = app
        .read(move |engine| -> ServiceResult<_> {
            let state = engine.state();
            let bound = payer_no == psn_no
                || state
                    .by_holder
                    .get(&payer_no)
                    .into_iter()
                    .flatten()
                    .filter_map(|id| state.bindings.get(id))
                    .any(|b| b.relative == psn_no && b.is_valid_on(now.date()));
            let person = state
                .persons
                .get(&psn_no)
                .filter(|_| bound)
                .ok_or(ServiceError::NotFound("参保人"))?;
            let person = PersonRef::of(person);
            let quote =
                engine.quote_channel_premium(&psn_no, kind, year, None, channel, None, now)?;
            Ok((person, quote))
        })
        .await??;
    let order_id = new_order_id(now);
    let row = PaymentOrderRow {
        order_id: order_id.clone(),
        provider: provider.code().to_string(),
        channel: channel.code().to_string(),
        psn_no: order.psn_no.clone(),
        payer_psn_no: Some(payer.to_string()),
        agent_id: None,
        year,
        kind: kind.code().to_string(),
        category: quote.category.clone(),
        amount: quote.amount,
        created_at: auth::time_text(now),
    };
    app.read(move |e| e.store_mut().put_payment_order(&row))
        .await??;
    let ordered = auth::audit_row(
        app,
        payer,
        via,
        "payment_order_created",
        &format!("person:{}", order.psn_no),
        Some(format!(
            "订单{order_id}：{}年度{}（{}）{}元，{}",
            year,
            kind.name_zh(),
            quote.category_name,
            quote.amount,
            channel.name_zh()
        )),
    );
    app.submit(Request::new(Command::Audit(ordered))).await?;
    let checkout = provider
        .create(&OrderToPay {
            order_id: order_id.clone(),
            amount: quote.amount,
            description: format!("{}{}年度个人缴费", kind.name_zh(), year),
            now,
        })
        .await
        .map_err(|e| provider_failed(&e))?;
    let confirmed = match checkout.paid_now {
        Some(n) => Some(confirm(app, n, via).await?),
        None => None,
    };
    Ok(OrderMade {
        order_id,
        person,
        kind,
        year,
        category: quote.category,
        category_name: quote.category_name,
        amount: quote.amount,
        channel,
        pay_url: checkout.pay_url,
        confirmed,
    })
}

/// `GJP` + the time + 8 random hex digits: 25 characters, inside WeChat's 32 for
/// `out_trade_no`.
fn new_order_id(now: NaiveDateTime) -> String {
    let mut b = [0u8; 4];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
    format!("GJP{}{}", now.format("%Y%m%d%H%M%S"), hex::encode(b))
}

fn provider_failed(e: &PayError) -> ServiceError {
    match e {
        PayError::NotConfigured => ServiceError::PaymentNotConfigured,
        other => {
            tracing::warn!(error = %other, "payment provider failed");
            ServiceError::PaymentProviderFailed
        }
    }
}

/// A refused notification: logged and audited, nothing else changes.
async fn refuse(app: &App, why: ServiceError, detail: String) -> ServiceError {
    tracing::warn!(code = why.code(), %detail, "payment notification refused");
    let row = auth::audit_row(
        app,
        "payment-provider",
        Channel::Web,
        "payment_notification_refused",
        &format!("provider:{}", app.payment.code()),
        Some(format!("{}：{detail}", why.code())),
    );
    if let Err(e) = app.submit(Request::new(Command::Audit(row))).await {
        tracing::error!(error = %e, "audit of a refused notification not written");
    }
    why
}

/// What a confirmation's stored answer holds, to answer a repeated delivery.
#[derive(Serialize, Deserialize)]
struct Stored {
    entry_id: i64,
    order_id: String,
    transaction_id: String,
    psn_no: String,
    kind: String,
    year: i32,
    amount_fen: i64,
    channel: String,
    category: Option<(String, String)>,
    refund_reason: Option<(String, String)>,
    paid_at: String,
    explanation: String,
}

impl Stored {
    fn of(p: &ChannelPaid) -> Stored {
        Stored {
            entry_id: p.entry_id,
            order_id: p.order_id.clone(),
            transaction_id: p.transaction_id.clone(),
            psn_no: p.psn_no.clone(),
            kind: p.kind.code().to_string(),
            year: p.year,
            amount_fen: p.amount.fen(),
            channel: p.channel.code().to_string(),
            category: p.category.clone(),
            refund_reason: p.refund_reason.clone(),
            paid_at: auth::time_text(p.paid_at),
            explanation: p.explanation.clone(),
        }
    }

    fn confirmation(self, replayed: bool) -> Option<Confirmation> {
        Some(Confirmation {
            receipt_no: self.entry_id,
            order_id: self.order_id,
            transaction_id: self.transaction_id,
            psn_no: self.psn_no,
            kind: PremiumKind::parse(&self.kind)?,
            year: self.year,
            amount: Fen::from_fen(self.amount_fen),
            channel: PaymentChannel::parse(&self.channel)?,
            category: self.category,
            refund_reason: self.refund_reason,
            paid_at: self.paid_at,
            explanation: self.explanation,
            replayed,
        })
    }
}

/// Takes a provider's notification: checks its signature, finds its order, checks the
/// amount, records the payment (kept, or refunded when the person's premium is paid
/// already) and, for a refund, asks the provider to give the money back.
pub async fn confirm(
    app: &App,
    notification: SignedNotification,
    via: Channel,
) -> ServiceResult<Confirmation> {
    let provider = app.payment.clone();
    let notice: PaymentNotice = match provider.verify(&notification) {
        Ok(n) => n,
        Err(PayError::BadSignature) => {
            return Err(refuse(app, ServiceError::PaymentBadSignature, "签名无效".into()).await)
        }
        Err(PayError::NotConfigured) => return Err(ServiceError::PaymentNotConfigured),
        Err(e) => {
            return Err(refuse(
                app,
                ServiceError::BadRequest("支付通知格式不正确".into()),
                e.to_string(),
            )
            .await)
        }
    };
    let wanted = notice.order_id.clone();
    let order = app
        .read(move |e| e.store_mut().payment_order(&wanted))
        .await??;
    let Some(order) = order.filter(|o| o.provider == provider.code()) else {
        return Err(refuse(
            app,
            ServiceError::PaymentUnknownOrder,
            format!("订单{}，交易{}", notice.order_id, notice.transaction_id),
        )
        .await);
    };
    if order.amount != notice.amount {
        return Err(refuse(
            app,
            ServiceError::PaymentAmountMismatch,
            format!(
                "订单{}应付{}元，通知{}元，交易{}",
                order.order_id, order.amount, notice.amount, notice.transaction_id
            ),
        )
        .await);
    }
    let (Some(kind), Some(channel)) = (
        PremiumKind::parse(&order.kind),
        PaymentChannel::parse(&order.channel),
    ) else {
        return Err(ServiceError::PaymentUnknownOrder);
    };
    let cmd = ChannelPremiumCommand {
        psn_no: order.psn_no.clone(),
        kind,
        year: order.year,
        amount: notice.amount,
        channel,
        agent_id: order.agent_id.clone(),
        place: None::<Admdvs>,
        paid_at: notice.paid_at,
        paid_at_text: notice.paid_at_text.clone(),
        order_id: order.order_id.clone(),
        transaction_id: notice.transaction_id.clone(),
        via,
        at: app.clock.now(),
        money_moved: true,
    };
    let hash = hex::encode(Sha256::digest(
        format!(
            "channel_premium\0{}\0{}\0{}",
            order.order_id,
            notice.amount.fen(),
            notice.paid_at_text
        )
        .as_bytes(),
    ));
    let actor = order
        .payer_psn_no
        .clone()
        .or_else(|| order.agent_id.clone())
        .unwrap_or_default();
    let note = auth::audit_row(
        app,
        &actor,
        via,
        "premium_paid_channel",
        &format!("person:{}", order.psn_no),
        None,
    );
    let request = Request::new(Command::ChannelPremium(cmd))
        .with_msgid(
            format!("pay:{}:{}", provider.code(), notice.transaction_id),
            hash,
        )
        .with_render(Box::new(|o: &Outcome| match o {
            Outcome::ChannelPaid(p) => serde_json::to_string(&Stored::of(p)).unwrap_or_default(),
            _ => String::new(),
        }))
        .with_audit_detail(
            note,
            Box::new(|o: &Outcome| match o {
                Outcome::ChannelPaid(p) => Some(p.explanation.clone()),
                _ => None,
            }),
        );
    let confirmation = match app.submit(request).await? {
        Outcome::ChannelPaid(p) => Stored::of(&p).confirmation(false),
        Outcome::Replayed { response } => serde_json::from_str::<Stored>(&response)
            .ok()
            .and_then(|s| s.confirmation(true)),
        _ => None,
    }
    .ok_or(ServiceError::Engine(EngineError::MsgidReused))?;
    if let Some((_, reason)) = &confirmation.refund_reason {
        provider
            .refund(&RefundToMake {
                order_id: confirmation.order_id.clone(),
                transaction_id: confirmation.transaction_id.clone(),
                refund_no: format!("RF{}", confirmation.receipt_no),
                amount: confirmation.amount,
                reason: reason.clone(),
            })
            .await
            .map_err(|e| provider_failed(&e))?;
    }
    Ok(confirmation)
}

/// A premium a resident could pay for himself today.
#[derive(Clone, Debug)]
pub struct OwnOption {
    pub kind: PremiumKind,
    pub year: i32,
    pub category: String,
    pub category_name: String,
    pub amount: Fen,
    pub already_paid: bool,
}

/// What `psn_no` may pay for himself today (R-J5): each benefit year of his region whose
/// collection window is open, in the registry's category at its amount (R-R5); a year he owes
/// nothing for (a subsidised category) is not offered.
pub async fn own_options(app: &App, psn_no: &str) -> ServiceResult<Vec<OwnOption>> {
    let now = app.clock.now();
    let psn_no = psn_no.to_string();
    let channel = app.payment.channel();
    app.read(move |engine| -> ServiceResult<Vec<OwnOption>> {
        let Some(person) = engine.state().persons.get(&psn_no) else {
            return Err(ServiceError::NotFound("参保人"));
        };
        let Some(policy) = engine.policies().for_admdvs(person.admdvs) else {
            return Ok(Vec::new());
        };
        let years: Vec<i32> = policy
            .contribution
            .iter()
            .flat_map(|c| &c.years)
            .filter(|y| gongji_core::premium::in_window(y, now.date()))
            .map(|y| y.year)
            .collect();
        let kind = PremiumKind::Resident;
        let mut out = Vec::new();
        for year in years {
            let paid = engine
                .state()
                .premiums_paid
                .contains(&(psn_no.clone(), year, kind));
            let quote = engine.quote_channel_premium(&psn_no, kind, year, None, channel, None, now);
            match quote {
                Ok(q) => out.push(OwnOption {
                    kind,
                    year,
                    category: q.category,
                    category_name: q.category_name,
                    amount: q.amount,
                    already_paid: false,
                }),
                Err(_) if paid => out.push(OwnOption {
                    kind,
                    year,
                    category: String::new(),
                    category_name: String::new(),
                    amount: Fen::ZERO,
                    already_paid: true,
                }),
                Err(_) => {}
            }
        }
        Ok(out)
    })
    .await?
}
