//! Which provider a request may use, by deployment: the one place that keeps the demo's
//! conveniences (the shown code, the development face check) out of production.

use std::sync::Arc;

use super::{FaceError, FacePassed, FacePerson, SmsSender};
use crate::app::App;
use crate::service::{ServiceError, ServiceResult};

/// The SMS sender people's sign-in may use: not one that is unconfigured, and in production
/// not the development sender.
pub fn sms_for(app: &App) -> ServiceResult<Arc<dyn SmsSender>> {
    let sms = &app.auth.sms;
    if !sms.is_configured() || (sms.is_development() && !app.deployment.is_demo()) {
        return Err(ServiceError::SmsNotConfigured);
    }
    Ok(sms.clone())
}

/// The code a demo page shows beside 演示; never in production.
pub fn demo_code(app: &App, phone: &str) -> Option<String> {
    if app.deployment.is_demo() {
        app.auth.sms.last_code(phone)
    } else {
        None
    }
}

/// The token a demo page offers in place of a camera; never in production.
pub fn demo_face_token(app: &App) -> Option<&'static str> {
    if app.deployment.is_demo() {
        app.auth.face.demo_token()
    } else {
        None
    }
}

/// Whether a passed face check of `psn_no` is proved by `token`. The development verifier
/// proves nothing in production.
pub fn face_accepts(app: &App, psn_no: &str, token: &str) -> bool {
    let face = &app.auth.face;
    if face.demo_token().is_some() && !app.deployment.is_demo() {
        return false;
    }
    face.verify(psn_no, token)
}

/// Whether `token` proves a passed face check of `psn_no` started for an action `action_ok`
/// accepts (a check for one payment pays no other). The development verifier proves nothing
/// in production.
pub fn face_accepts_for(
    app: &App,
    psn_no: &str,
    token: &str,
    action_ok: &dyn Fn(&str) -> bool,
) -> bool {
    let face = &app.auth.face;
    if face.demo_token().is_some() && !app.deployment.is_demo() {
        return false;
    }
    face.verify_for(psn_no, token, action_ok)
}

/// Whether the face step sends the person to the provider's page (production with the H5
/// flow, or production without a face provider, where the step explains that).
pub fn face_flow_offered(app: &App) -> bool {
    !app.deployment.is_demo()
        && (app.auth.face.redirect().is_some() || !app.auth.face.is_configured())
}

fn face_error(e: FaceError) -> ServiceError {
    match e {
        FaceError::Unavailable(why) => {
            tracing::warn!(%why, "face provider unavailable");
            ServiceError::FaceUnavailable
        }
        FaceError::Rejected(why) => {
            tracing::info!(%why, "face check refused");
            ServiceError::FaceRejected
        }
    }
}

/// Starts the provider's face check of the holder `psn_no`, for `action` (kept with the
/// check and handed back when it passes); the address of the provider's page.
pub async fn face_begin(app: &App, psn_no: &str, action: &str) -> ServiceResult<String> {
    let Some(flow) = app.auth.face.redirect() else {
        return Err(ServiceError::FaceUnavailable);
    };
    let key = psn_no.to_string();
    let person = app
        .read(move |engine| {
            engine.state().persons.get(&key).map(|p| FacePerson {
                psn_no: p.psn_no.clone(),
                name: p.name.reveal().to_string(),
                certno: p.certno.reveal().to_string(),
            })
        })
        .await?
        .ok_or(ServiceError::NotFound("参保人"))?;
    flow.begin(&person, action, app.clock.now())
        .await
        .map_err(face_error)
}

/// Finishes a face check the provider sent the browser back from; the passed check's
/// one-use token and its action.
pub async fn face_finish(
    app: &App,
    psn_no: &str,
    biz_token: &str,
    result_token: &str,
) -> ServiceResult<FacePassed> {
    let Some(flow) = app.auth.face.redirect() else {
        return Err(ServiceError::FaceUnavailable);
    };
    flow.finish(psn_no, biz_token, result_token, app.clock.now())
        .await
        .map_err(face_error)
}
