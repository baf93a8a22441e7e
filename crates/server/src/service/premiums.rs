//! Paying a relative's resident premium from the holder's account (R-Y2, R-S6, R-R1, R-R2,
//! R-R4), with a receipt. The engine's premium command decides; a retried request with the
//! same idempotency key gets the first receipt and moves no money again.

use chrono::NaiveDateTime;
use gongji_core::codes::{Channel, Insutype};
use gongji_core::premium::in_window;
use gongji_core::Fen;
use gongji_engine::{Command, EngineError, Outcome, PremiumCommand, PremiumPaid, Request};
use sha2::{Digest, Sha256};

use super::{auth, PersonRef, ServiceError, ServiceResult};
use crate::app::App;

/// Longest idempotency key accepted.
pub const IDEMPOTENCY_KEY_BYTES_MAX: usize = 128;

#[derive(Clone, Debug)]
pub struct PremiumOrder {
    pub relative_psn_no: String,
    /// The benefit year paid for.
    pub year: i32,
    pub category: String,
    /// The app's `Idempotency-Key`: the same key and order give the same receipt.
    pub idempotency_key: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Receipt {
    /// The journal entry of the payment.
    pub receipt_no: i64,
    pub holder: PersonRef,
    pub relative: PersonRef,
    pub year: i32,
    pub category: String,
    pub category_name: String,
    pub amount: Fen,
    pub holder_balance_after: Fen,
    pub paid_at: String,
    pub explanation: String,
    /// Answered from the first request with the same idempotency key.
    pub replayed: bool,
}

/// What a keyed payment's stored answer holds, to answer a retry.
struct Paid {
    entry_id: i64,
    year: i32,
    category: String,
    category_name: String,
    amount: Fen,
    balance_after: Fen,
    paid_at: String,
    explanation: String,
}

impl Paid {
    fn of(p: &PremiumPaid) -> Paid {
        Paid {
            entry_id: p.entry_id,
            year: p.year,
            category: p.category.clone(),
            category_name: p.category_name.clone(),
            amount: p.amount,
            balance_after: p.holder_balance_after,
            paid_at: p.at.format("%Y-%m-%d %H:%M:%S").to_string(),
            explanation: p.explanation.clone(),
        }
    }

    /// `entry|year|category|name|amount|balance|at|text`.
    fn encode(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}|{}|{}|{}",
            self.entry_id,
            self.year,
            self.category,
            self.category_name.replace('|', "/"),
            self.amount.fen(),
            self.balance_after.fen(),
            self.paid_at,
            self.explanation.replace('|', "/")
        )
    }

    fn decode(text: &str) -> Option<Paid> {
        let f: Vec<&str> = text.splitn(8, '|').collect();
        if f.len() != 8 {
            return None;
        }
        Some(Paid {
            entry_id: f[0].parse().ok()?,
            year: f[1].parse().ok()?,
            category: f[2].to_string(),
            category_name: f[3].to_string(),
            amount: Fen::from_fen(f[4].parse().ok()?),
            balance_after: Fen::from_fen(f[5].parse().ok()?),
            paid_at: f[6].to_string(),
            explanation: f[7].to_string(),
        })
    }
}

pub async fn pay_premium(
    app: &App,
    holder: &str,
    order: PremiumOrder,
    channel: Channel,
) -> ServiceResult<Receipt> {
    if order.category.trim().is_empty() || order.category.len() > 64 {
        return Err(ServiceError::BadRequest("category 无效".into()));
    }
    let now = app.clock.now();
    let cmd = Command::Premium(PremiumCommand {
        holder: holder.to_string(),
        relative: order.relative_psn_no.clone(),
        year: order.year,
        category: order.category.clone(),
        channel,
        at: now,
    });
    // The payment's audit row commits with its entry (a replay of a stored answer writes
    // neither again).
    let paid_row = auth::audit_row(
        app,
        holder,
        channel,
        "premium_paid",
        &format!("person:{}", order.relative_psn_no),
        None,
    );
    let mut request = Request::new(cmd).with_audit_detail(
        paid_row,
        Box::new(|o: &Outcome| match o {
            Outcome::PremiumPaid(p) => Some(p.explanation.clone()),
            _ => None,
        }),
    );
    if let Some(key) = &order.idempotency_key {
        if key.is_empty() || key.len() > IDEMPOTENCY_KEY_BYTES_MAX {
            return Err(ServiceError::BadRequest(format!(
                "Idempotency-Key 长度应为1到{IDEMPOTENCY_KEY_BYTES_MAX}字节"
            )));
        }
        let hash = hex::encode(Sha256::digest(
            format!(
                "premium\0{holder}\0{}\0{}\0{}",
                order.relative_psn_no, order.year, order.category
            )
            .as_bytes(),
        ));
        request = request
            .with_msgid(format!("api:premium:{holder}:{key}"), hash)
            .with_render(Box::new(|o: &Outcome| match o {
                Outcome::PremiumPaid(p) => Paid::of(p).encode(),
                _ => String::new(),
            }));
    }
    let outcome = app.submit(request).await?;
    let (paid, replayed) = match outcome {
        Outcome::PremiumPaid(p) => (Paid::of(&p), false),
        Outcome::Replayed { response } => (
            Paid::decode(&response).ok_or(ServiceError::Engine(EngineError::MsgidReused))?,
            true,
        ),
        _ => return Err(ServiceError::Engine(EngineError::MsgidReused)),
    };
    let (h, r) = (holder.to_string(), order.relative_psn_no.clone());
    let (holder_ref, relative_ref) = app
        .read(move |engine| {
            let p = |n: &str| {
                engine
                    .state()
                    .persons
                    .get(n)
                    .map(PersonRef::of)
                    .unwrap_or_else(|| PersonRef::unknown(n))
            };
            (p(&h), p(&r))
        })
        .await?;
    Ok(Receipt {
        receipt_no: paid.entry_id,
        holder: holder_ref,
        relative: relative_ref,
        year: paid.year,
        category: paid.category,
        category_name: paid.category_name,
        amount: paid.amount,
        holder_balance_after: paid.balance_after,
        paid_at: paid.paid_at,
        explanation: paid.explanation,
        replayed,
    })
}

/// A premium a holder could pay for a relative today.
#[derive(Clone, Debug)]
pub struct PremiumOption {
    pub year: i32,
    pub category: String,
    pub category_name: String,
    pub amount: Fen,
    pub already_paid: bool,
}

/// The contribution categories of the relative's region whose collection window is open now
/// (R-R1, R-R2); empty for relatives who are not resident-insured. Only for a holder of the
/// relative.
pub async fn premium_options(
    app: &App,
    holder: &str,
    relative: &str,
) -> ServiceResult<Vec<PremiumOption>> {
    let now: NaiveDateTime = app.clock.now();
    let (holder, relative) = (holder.to_string(), relative.to_string());
    app.read(move |engine| -> ServiceResult<Vec<PremiumOption>> {
        let state = engine.state();
        let bound = state
            .by_holder
            .get(&holder)
            .into_iter()
            .flatten()
            .filter_map(|id| state.bindings.get(id))
            .any(|b| b.relative == relative);
        let person = state
            .persons
            .get(&relative)
            .filter(|_| bound)
            .ok_or(ServiceError::NotFound("关系人"))?;
        if person.insutype != Insutype::Resident {
            return Ok(Vec::new());
        }
        let Some(contribution) = engine
            .policies()
            .for_admdvs(person.admdvs)
            .and_then(|p| p.contribution.as_ref())
        else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for y in contribution
            .years
            .iter()
            .filter(|y| in_window(y, now.date()))
        {
            for c in &y.categories {
                out.push(PremiumOption {
                    year: y.year,
                    category: c.code.clone(),
                    category_name: c.name_zh.clone(),
                    amount: c.amount,
                    already_paid: state.premiums_paid.contains(&(relative.clone(), y.year)),
                });
            }
        }
        Ok(out)
    })
    .await?
}
