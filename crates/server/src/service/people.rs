//! My insurance (R-J1): what the signed-in person sees about themself.

use chrono::Datelike;
use gongji_core::domain::Person;
use gongji_core::ledger::LedgerAccount;
use gongji_core::Fen;
use gongji_store::read::YearTotals;

use super::{ServiceError, ServiceResult};
use crate::app::App;

#[derive(Clone, Debug)]
pub struct PolicyRef {
    pub id: String,
    pub name_zh: String,
    pub version: String,
}

#[derive(Clone, Debug)]
pub struct MyInsurance {
    /// The person themself: full values, shown only to them.
    pub person: Person,
    pub balance: Fen,
    /// What a holder may share: the balance above the region's reserve (R-S2).
    pub shareable: Fen,
    pub policy: Option<PolicyRef>,
    pub year: i32,
    pub totals: YearTotals,
}

pub async fn my_insurance(app: &App, psn_no: &str) -> ServiceResult<MyInsurance> {
    let psn_no = psn_no.to_string();
    let year = app.clock.now().year();
    let totals = {
        let p = psn_no.clone();
        app.read_store(move |s| s.year_totals(&p, year)).await?
    };
    app.read(move |engine| -> ServiceResult<MyInsurance> {
        let person = engine
            .state()
            .persons
            .get(&psn_no)
            .cloned()
            .ok_or(ServiceError::NotFound("参保人"))?;
        let balance = engine
            .state()
            .balance(&LedgerAccount::Personal(psn_no.clone()).key());
        let policy = engine.policies().for_admdvs(person.admdvs);
        let reserve = policy.map_or(Fen::ZERO, |p| p.payment.reserve);
        let policy = policy.map(|p| PolicyRef {
            id: p.id.clone(),
            name_zh: p.name_zh.clone(),
            version: p.version.clone(),
        });
        Ok(MyInsurance {
            shareable: if person.is_employee() {
                gongji_core::allocation::shareable(balance, reserve)
            } else {
                Fen::ZERO
            },
            person,
            balance,
            policy,
            year,
            totals,
        })
    })
    .await?
}

/// The signed-in person as the pages' header shows them: masked, like everyone else.
pub async fn who(app: &App, psn_no: &str) -> ServiceResult<super::PersonRef> {
    let psn_no = psn_no.to_string();
    app.read(move |engine| {
        engine
            .state()
            .persons
            .get(&psn_no)
            .map(super::PersonRef::of)
            .ok_or(ServiceError::NotFound("参保人"))
    })
    .await?
}

/// The id of the policy in force for a division (a guide page's address), if any.
pub async fn policy_id_for(app: &App, admdvs: &str) -> ServiceResult<Option<String>> {
    let Some(code) = gongji_core::codes::Admdvs::parse(admdvs) else {
        return Ok(None);
    };
    Ok(app
        .read(move |engine| engine.policies().for_admdvs(code).map(|p| p.id.clone()))
        .await?)
}
