//! Paying a relative's resident premium from the holder's account (R-Y2, R-S6, R-R1, R-R2,
//! R-R4), with a receipt. The engine's premium command decides; a retried request with the
//! same idempotency key gets the first receipt and moves no money again.

use chrono::NaiveDateTime;
use gongji_core::codes::{Admdvs, Channel, Insutype};
use gongji_core::premium::{in_window, PremiumKind};
use gongji_core::Fen;
use gongji_engine::category_list::{self, ListReport, RowResult};
use gongji_engine::{Command, EngineError, Outcome, PremiumCommand, PremiumPaid, Request};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::auth::Permission;
use super::staff::Staff;
use super::{auth, PersonRef, ServiceError, ServiceResult};
use crate::app::App;

/// Longest idempotency key accepted.
pub const IDEMPOTENCY_KEY_BYTES_MAX: usize = 128;

#[derive(Clone, Debug)]
pub struct PremiumOrder {
    pub relative_psn_no: String,
    pub kind: PremiumKind,
    /// The benefit year paid for. The category is the registry's, never the payer's (R-R5).
    pub year: i32,
    /// The insured place (参保缴费地) the payer chose, when the channel asks (R-R4).
    pub place: Option<Admdvs>,
    /// The app's `Idempotency-Key`: the same key and order give the same receipt.
    pub idempotency_key: Option<String>,
    /// The payer's second factor; needed unless the key's payment was made already.
    pub second_factor: Option<SecondFactor>,
}

/// What proves the payer is at his phone before money leaves his account for someone else
/// (issue 13 item 7): a bearer token alone, or a session left open, pays nothing.
#[derive(Clone, Debug)]
pub enum SecondFactor {
    /// The code [`auth::send_second_factor`] sent to the payer's own registered phone.
    SmsCode(String),
    /// The token of a passed face check of the payer, started for this payment.
    FaceToken(String),
}

/// What a face check before a premium payment was started for. The H5 keeps it with the
/// provider's check (as the `premium` kind of its face actions) and the check's token pays
/// only the relative, year and premium named here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaceForPremium {
    pub relative: String,
    pub year: i32,
    /// The premium's code (`resident_premium`, ...).
    pub premium: String,
    /// The payment form's idempotency key, so the payment made on return is the form's.
    #[serde(default)]
    pub key: Option<String>,
}

impl FaceForPremium {
    pub fn of(order: &PremiumOrder) -> FaceForPremium {
        FaceForPremium {
            relative: order.relative_psn_no.clone(),
            year: order.year,
            premium: order.kind.code().to_string(),
            key: order.idempotency_key.clone(),
        }
    }

    /// Whether a face check's action, as the H5 stored it, was started for this order.
    pub fn names(action: &str, order: &PremiumOrder) -> bool {
        #[derive(Deserialize)]
        struct Tagged {
            kind: String,
            #[serde(flatten)]
            premium: FaceForPremium,
        }
        serde_json::from_str::<Tagged>(action).is_ok_and(|t| {
            t.kind == "premium"
                && t.premium.relative == order.relative_psn_no
                && t.premium.year == order.year
                && t.premium.premium == order.kind.code()
        })
    }
}

/// Checks the payer's second factor for `order` and uses it up.
async fn check_second_factor(app: &App, holder: &str, order: &PremiumOrder) -> ServiceResult<()> {
    match &order.second_factor {
        None => Err(ServiceError::SecondFactorRequired),
        Some(SecondFactor::SmsCode(code)) if code.trim().is_empty() => {
            Err(ServiceError::SecondFactorRequired)
        }
        Some(SecondFactor::SmsCode(code)) => auth::check_second_factor(app, holder, code).await,
        Some(SecondFactor::FaceToken(token)) => {
            let for_this = |action: &str| FaceForPremium::names(action, order);
            if token.trim().is_empty() {
                Err(ServiceError::SecondFactorRequired)
            } else if super::providers::face_accepts_for(app, holder, token.trim(), &for_this) {
                Ok(())
            } else {
                Err(ServiceError::FaceRejected)
            }
        }
    }
}

#[derive(Clone, Debug)]
pub struct Receipt {
    /// The journal entry of the payment.
    pub receipt_no: i64,
    pub holder: PersonRef,
    pub relative: PersonRef,
    pub kind: PremiumKind,
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

/// What a keyed payment's stored answer holds, to answer a retry (stored as JSON).
#[derive(Serialize, Deserialize)]
struct Paid {
    entry_id: i64,
    kind: String,
    year: i32,
    category: String,
    category_name: String,
    amount_fen: i64,
    balance_after_fen: i64,
    paid_at: String,
    explanation: String,
}

impl Paid {
    fn of(p: &PremiumPaid) -> Paid {
        Paid {
            entry_id: p.entry_id,
            kind: p.kind.code().to_string(),
            year: p.year,
            category: p.category.clone(),
            category_name: p.category_name.clone(),
            amount_fen: p.amount.fen(),
            balance_after_fen: p.holder_balance_after.fen(),
            paid_at: p.at.format("%Y-%m-%d %H:%M:%S").to_string(),
            explanation: p.explanation.clone(),
        }
    }

    fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    fn decode(text: &str) -> Option<Paid> {
        serde_json::from_str(text).ok()
    }
}

/// Whether a payment under this idempotency key was made already: a form sent again answers
/// its receipt without a second factor, since no money moves.
pub async fn paid_with_key(app: &App, holder: &str, key: &str) -> ServiceResult<bool> {
    let msgid = format!("api:premium:{holder}:{key}");
    Ok(app
        .read(move |e| e.store_mut().answer_for_msgid(&msgid))
        .await??
        .is_some())
}

/// Pays `order` from the holder's account. For someone else only with the holder's second
/// factor, which a payment already made under the same idempotency key does not need again
/// (its receipt is answered, nothing moves).
pub async fn pay_premium(
    app: &App,
    holder: &str,
    order: PremiumOrder,
    channel: Channel,
) -> ServiceResult<Receipt> {
    if let Some(key) = &order.idempotency_key {
        if key.is_empty() || key.len() > IDEMPOTENCY_KEY_BYTES_MAX {
            return Err(ServiceError::BadRequest(format!(
                "Idempotency-Key 长度应为1到{IDEMPOTENCY_KEY_BYTES_MAX}字节"
            )));
        }
    }
    let replay = match &order.idempotency_key {
        Some(key) => paid_with_key(app, holder, key).await?,
        None => false,
    };
    if order.relative_psn_no != holder && !replay {
        check_second_factor(app, holder, &order).await?;
    }
    let now = app.clock.now();
    let cmd = Command::Premium(PremiumCommand {
        holder: holder.to_string(),
        relative: order.relative_psn_no.clone(),
        kind: order.kind,
        year: order.year,
        place: order.place,
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
        let hash = hex::encode(Sha256::digest(
            format!(
                "premium\0{holder}\0{}\0{}\0{}\0{}",
                order.relative_psn_no,
                order.kind.code(),
                order.year,
                order.place.map(|p| p.to_string()).unwrap_or_default()
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
        kind: PremiumKind::parse(&paid.kind).unwrap_or(order.kind),
        year: paid.year,
        category: paid.category,
        category_name: paid.category_name,
        amount: Fen::from_fen(paid.amount_fen),
        holder_balance_after: Fen::from_fen(paid.balance_after_fen),
        paid_at: paid.paid_at,
        explanation: paid.explanation,
        replayed,
    })
}

/// A premium a holder could pay for a relative today.
#[derive(Clone, Debug)]
pub struct PremiumOption {
    pub kind: PremiumKind,
    pub year: i32,
    pub category: String,
    pub category_name: String,
    pub amount: Fen,
    pub already_paid: bool,
}

/// What a holder may pay for a relative today: for a resident relative, each benefit year
/// whose collection window is open, in the category the registry gives him and at its amount
/// (R-R1, R-R2, R-R5); for an employee
/// relative, the large-expense supplement and long-term-care premiums being collected (R-S6).
/// Only what the holder's region lets mutual aid pay. Only for a holder of the relative.
pub async fn premium_options(
    app: &App,
    holder: &str,
    relative: &str,
) -> ServiceResult<Vec<PremiumOption>> {
    let now: NaiveDateTime = app.clock.now();
    let today = now.date();
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
        let policies = engine.policies();
        let allowed = |kind: PremiumKind| {
            state
                .persons
                .get(&holder)
                .and_then(|h| policies.for_admdvs(h.admdvs))
                .is_some_and(|p| p.payment.mutual_aid_uses.contains(&kind.mutual_aid_use()))
        };
        let Some(policy) = policies.for_admdvs(person.admdvs) else {
            return Ok(Vec::new());
        };
        let paid = |kind: PremiumKind, year: i32| {
            state
                .premiums_paid
                .contains(&(relative.clone(), year, kind))
        };
        let mut out = Vec::new();
        match person.insutype {
            Insutype::Resident if allowed(PremiumKind::Resident) => {
                let years = policy.contribution.iter().flat_map(|c| &c.years);
                for y in years.filter(|y| in_window(y, today)) {
                    // The registry's category for the year, never one the payer picks (R-R5).
                    let listed: Vec<&str> = state
                        .contribution_categories
                        .get(&(relative.clone(), y.year))
                        .into_iter()
                        .flatten()
                        .map(String::as_str)
                        .collect();
                    if let Some(c) = y.category_due(&listed) {
                        out.push(PremiumOption {
                            kind: PremiumKind::Resident,
                            year: y.year,
                            category: c.code.clone(),
                            category_name: c.name_zh.clone(),
                            amount: c.amount,
                            already_paid: paid(PremiumKind::Resident, y.year),
                        });
                    }
                }
            }
            Insutype::Employee => {
                for kind in [PremiumKind::LargeExpense, PremiumKind::LongTermCare] {
                    if !allowed(kind) {
                        continue;
                    }
                    let open = policy.employee_premiums.iter().filter(|p| {
                        p.kind == kind.mutual_aid_use()
                            && (p.collect_from..=p.collect_to).contains(&today)
                    });
                    for p in open {
                        out.push(PremiumOption {
                            kind,
                            year: p.year,
                            category: kind.code().to_string(),
                            category_name: p.name_zh.clone(),
                            amount: p.amount,
                            already_paid: paid(kind, p.year),
                        });
                    }
                }
            }
            _ => {}
        }
        Ok(out)
    })
    .await?
}

/// Imports a department's contribution-category list for a benefit year (R-R5): each row
/// matched to a person by ID number and recorded through the writer, with its result. Staff
/// only; audited once per list.
pub async fn import_category_list(
    app: &App,
    who: &Staff,
    year: i32,
    bytes: Vec<u8>,
) -> ServiceResult<ListReport> {
    who.require(Permission::MarkContributionCategories)?;
    let staff = who.actor();
    let staff = staff.as_str();
    let (rows, bad) = category_list::parse_list(&bytes).map_err(ServiceError::BadRequest)?;
    let certnos: Vec<String> = rows.iter().map(|r| r.certno.clone()).collect();
    let psn_nos: Vec<Option<String>> = app
        .read(move |engine| {
            let persons = &engine.state().persons;
            certnos
                .iter()
                .map(|c| persons.by_certno(c).map(|p| p.psn_no.clone()))
                .collect()
        })
        .await?;
    let now = app.clock.now();
    let mut results: Vec<RowResult> = bad.into_iter().map(category_list::bad_row).collect();
    // Different persons are submitted together, so the writer commits them in a few batches
    // rather than one by one; one person's rows go in the file's order, so the amount each
    // row reports is the same on every run (the cheapest category the rows so far give).
    let mut by_person: Vec<(String, Vec<category_list::ListRow>)> = Vec::new();
    let mut place: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (row, psn_no) in rows.into_iter().zip(psn_nos) {
        let Some(psn_no) = psn_no else {
            results.push(category_list::unknown_person(&row));
            continue;
        };
        match place.get(&psn_no) {
            Some(&i) => by_person[i].1.push(row),
            None => {
                place.insert(psn_no.clone(), by_person.len());
                by_person.push((psn_no, vec![row]));
            }
        }
    }
    let mut pending = tokio::task::JoinSet::new();
    for (psn_no, rows) in by_person {
        let app = app.clone();
        let staff = staff.to_string();
        pending.spawn(async move {
            let mut done = Vec::with_capacity(rows.len());
            for row in rows {
                let command = category_list::mark_command(&psn_no, &row, year, &staff, now);
                done.push(category_list::row_result(
                    &row,
                    app.submit(Request::new(command)).await,
                ));
            }
            done
        });
    }
    while let Some(done) = pending.join_next().await {
        results.extend(done.map_err(|e| {
            ServiceError::BadRequest(format!("导入中断 / import interrupted: {e}"))
        })?);
    }
    results.sort_by_key(|r| r.line);
    let report = ListReport { rows: results };
    auth::audit_read(
        app,
        &who.actor(),
        Channel::StaffConsole,
        "contribution_list_imported",
        &format!("year:{year}"),
        Some(format!(
            "{year}年度缴费人群名单：{}行标识，{}行未通过",
            report.marked(),
            report.refused()
        )),
    )
    .await?;
    Ok(report)
}

/// One premium paid for a person, as the person sees it (R-R7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentView {
    pub year: i32,
    pub what_zh: &'static str,
    pub amount: gongji_core::Fen,
    /// The stored code (`premiums.channel`); pages name it in their language.
    pub channel: String,
    pub paid_at: String,
    /// `None` when the person paid himself; else the payer's masked name.
    pub payer_masked: Option<String>,
}

/// The Chinese name of a payment channel (the codes migration 0025 lists).
pub fn channel_name_zh(code: &str) -> &'static str {
    match code {
        "personal_account" => "家人个人账户（家庭共济）",
        "wechat" => "微信",
        "alipay" => "支付宝",
        "unionpay" => "云闪付（银联）",
        "pos" => "POS机刷卡",
        "bank_app" => "银行App",
        "agent" => "代收网点",
        "dev" => "演示渠道",
        _ => "其他渠道",
    }
}

/// Every premium paid for `psn_no`, newest first, who paid it and through which channel.
pub async fn payments(app: &App, psn_no: &str) -> ServiceResult<Vec<PaymentView>> {
    let me = psn_no.to_string();
    let rows = app.read_store(move |s| s.premium_payments(&me)).await?;
    let payers: Vec<String> = rows.iter().map(|r| r.payer_psn_no.clone()).collect();
    let names: Vec<Option<String>> = app
        .read(move |e| {
            payers
                .iter()
                .map(|p| {
                    e.state()
                        .persons
                        .get(p)
                        .map(|p| gongji_core::pii::mask_name(p.name.reveal()))
                })
                .collect()
        })
        .await?;
    Ok(rows
        .into_iter()
        .zip(names)
        .map(|(r, name)| PaymentView {
            year: r.year,
            what_zh: gongji_core::premium::PremiumKind::parse(&r.kind)
                .map_or("保费", |k| k.name_zh()),
            amount: r.amount,
            channel: r.channel,
            paid_at: r.paid_at.get(..16).unwrap_or(&r.paid_at).replace('T', " "),
            payer_masked: (r.payer_psn_no != psn_no)
                .then(|| name.unwrap_or_else(|| "家人".to_string())),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(relative: &str, year: i32, kind: PremiumKind) -> PremiumOrder {
        PremiumOrder {
            relative_psn_no: relative.to_string(),
            kind,
            year,
            place: None,
            idempotency_key: Some("k".into()),
            second_factor: None,
        }
    }

    /// The H5 keeps a premium's face action as the `premium` kind of its actions.
    fn stored(o: &PremiumOrder) -> String {
        let mut v = serde_json::to_value(FaceForPremium::of(o)).expect("json");
        v["kind"] = serde_json::json!("premium");
        v.to_string()
    }

    #[test]
    fn a_face_check_pays_only_the_payment_it_was_started_for() {
        let paid = order("R1", 2026, PremiumKind::Resident);
        assert!(FaceForPremium::names(&stored(&paid), &paid));
        for other in [
            order("R2", 2026, PremiumKind::Resident),
            order("R1", 2027, PremiumKind::Resident),
            order("R1", 2026, PremiumKind::LongTermCare),
        ] {
            assert!(!FaceForPremium::names(&stored(&paid), &other));
            assert!(!FaceForPremium::names(&stored(&other), &paid));
        }
        // A check started to bind or unbind pays nothing.
        for action in [
            r#"{"kind":"unbind","binding_id":7}"#,
            r#"{"kind":"bind","relative":"R1","year":2026,"premium":"resident_premium"}"#,
            "",
            "premium:R1:2026",
        ] {
            assert!(!FaceForPremium::names(action, &paid), "{action}");
        }
    }
}
