//! Payment notices (issue 15): the owner of an account is told by SMS of every payment from it,
//! his own care or a relative's by mutual aid, where the deployment configured a payment
//! template (`[sms] payment_template_id`, or `payment_template` for the webhook). Sent after
//! the settlement committed, on a task of its own: a slow or failing provider never delays or
//! fails the settlement, and a failure is only logged. The message centre of the H5
//! (`/h5/messages`) tells the same from the ledger, with or without SMS.

use gongji_core::pii::{mask_name, Phone};
use gongji_engine::Settled;

use super::providers::PaymentNotice;
use crate::app::App;

/// Sends the notices of a committed settlement in the background.
pub fn settled(app: &App, s: &Settled) {
    if s.dry_run {
        return;
    }
    let sms = &app.auth.sms;
    if !sms.is_configured() || (sms.is_development() && !app.deployment.is_demo()) {
        return;
    }
    let alloc = &s.decision.allocation;
    let at = s.at.format("%Y-%m-%d %H:%M").to_string();
    let place = s.institution.name.clone();
    let mut notices: Vec<(String, PaymentNotice)> = Vec::new();
    if alloc.own.is_positive() {
        notices.push((
            s.patient.psn_no.clone(),
            PaymentNotice {
                whom: "本人".into(),
                place: place.clone(),
                amount: alloc.own.to_string(),
                balance: alloc.own_balance_after.to_string(),
                at: at.clone(),
            },
        ));
    }
    let relative = mask_name(s.patient.name.reveal());
    for d in alloc.draws.iter().filter(|d| d.amount.is_positive()) {
        notices.push((
            d.holder.clone(),
            PaymentNotice {
                whom: relative.clone(),
                place: place.clone(),
                amount: d.amount.to_string(),
                balance: d.balance_after.to_string(),
                at: at.clone(),
            },
        ));
    }
    if notices.is_empty() {
        return;
    }
    let app = app.clone();
    tokio::spawn(async move {
        let owners: Vec<String> = notices.iter().map(|(p, _)| p.clone()).collect();
        let phones: Vec<Option<Phone>> = match app
            .read(move |engine| {
                owners
                    .iter()
                    .map(|p| engine.state().persons.get(p).map(|p| p.phone.clone()))
                    .collect()
            })
            .await
        {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "payment notices not sent: registry not readable");
                return;
            }
        };
        for ((_, notice), phone) in notices.iter().zip(phones) {
            let Some(phone) = phone.filter(|p| !p.reveal().is_empty()) else {
                continue;
            };
            if let Err(e) = app.auth.sms.notify_payment(&phone, notice).await {
                tracing::warn!(error = %e, "payment notice not sent");
            }
        }
    });
}
