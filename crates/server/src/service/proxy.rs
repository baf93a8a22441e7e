//! 亲情账户 (E6): a parent, signed in, lets a named child show the parent's e-voucher at a
//! designated institution. The till accepts the child's code for the parent, and the
//! parent's own account pays, exactly as if the parent had shown his own e-voucher.
//!
//! This is not family mutual aid (共济): nobody's account pays for anybody else, no binding
//! is made, and the consent is the parent's alone to give and revoke. Every consent given,
//! revoked and used is an audit row that commits with its change in one engine batch: the
//! consent, or the settlement paid with the code.

use gongji_core::codes::Channel;
use gongji_core::pii::mask_name;
use gongji_engine::{AuditDetail, AuditNote, Command, Outcome, Request};
use gongji_store::read::ProxyConsentRow;
use rand::RngCore;

use super::auth::audit_row;
use super::{PersonRef, ServiceError, ServiceResult};
use crate::app::App;

/// The start of every proxy code, so the till tells it from a person's own e-voucher.
pub const CODE_PREFIX: &str = "QQ";
/// Most children one parent lets show his e-voucher at a time.
pub const ACTIVE_MAX: usize = 5;

/// A consent as a page shows it: the other person, masked, and whether it still holds.
#[derive(Clone, Debug)]
pub struct Consent {
    pub token: String,
    pub parent: PersonRef,
    pub child: PersonRef,
    pub given_at: String,
    pub revoked_at: Option<String>,
}

impl Consent {
    pub fn active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

fn new_token() -> String {
    let mut bytes = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{CODE_PREFIX}{}", hex::encode_upper(bytes))
}

fn now_text(app: &App) -> String {
    app.clock.now().format("%Y-%m-%d %H:%M:%S").to_string()
}

async fn person_ref(app: &App, psn_no: &str) -> ServiceResult<PersonRef> {
    let p = psn_no.to_string();
    Ok(app
        .read(move |e| {
            e.state()
                .persons
                .get(&p)
                .map(PersonRef::of)
                .unwrap_or_else(|| PersonRef::unknown(&p))
        })
        .await?)
}

async fn consent_of(app: &App, row: ProxyConsentRow) -> ServiceResult<Consent> {
    Ok(Consent {
        parent: person_ref(app, &row.parent_psn_no).await?,
        child: person_ref(app, &row.child_psn_no).await?,
        token: row.token,
        given_at: row.given_at,
        revoked_at: row.revoked_at,
    })
}

/// The consents `psn_no` gave (as parent) and received (as child), newest first.
pub async fn consents(app: &App, psn_no: &str) -> ServiceResult<(Vec<Consent>, Vec<Consent>)> {
    let p = psn_no.to_string();
    let rows = app.read_store(move |s| s.proxy_consents(&p)).await?;
    let (mut given, mut received) = (Vec::new(), Vec::new());
    for row in rows {
        if row.parent_psn_no == psn_no {
            given.push(consent_of(app, row).await?);
        } else if row.child_psn_no == psn_no {
            received.push(consent_of(app, row).await?);
        }
    }
    Ok((given, received))
}

/// The parent lets the child named by ID number and name show his e-voucher.
pub async fn give(
    app: &App,
    parent_psn_no: &str,
    child_certno: &str,
    child_name: &str,
    channel: Channel,
) -> ServiceResult<Consent> {
    let (certno, name) = (child_certno.trim().to_uppercase(), child_name.trim());
    let child = {
        let certno = certno.clone();
        app.read(move |e| e.state().persons.by_certno(&certno).cloned())
            .await?
    };
    // One answer for an unknown ID number and a wrong name: the page tells nobody whose
    // number it is.
    let Some(child) =
        child.filter(|c| gongji_core::binding_rules::check_relative_identity(c, name).is_ok())
    else {
        return Err(ServiceError::BadRequest(
            "家人的姓名与身份证号不一致，或未在医保登记。请核对后重新输入。".into(),
        ));
    };
    if child.psn_no == parent_psn_no {
        return Err(ServiceError::BadRequest(
            "请填写要为您出示电子凭证的家人，不能填写您本人。".into(),
        ));
    }
    let (given, _) = consents(app, parent_psn_no).await?;
    let active: Vec<&Consent> = given.iter().filter(|c| c.active()).collect();
    if let Some(same) = active.iter().find(|c| c.child.psn_no == child.psn_no) {
        return Ok((*same).clone());
    }
    if active.len() >= ACTIVE_MAX {
        return Err(ServiceError::BadRequest(format!(
            "最多可同时授权{ACTIVE_MAX}位家人，请先取消一位再添加。"
        )));
    }
    let row = ProxyConsentRow {
        token: new_token(),
        parent_psn_no: parent_psn_no.to_string(),
        child_psn_no: child.psn_no.clone(),
        given_at: now_text(app),
        revoked_at: None,
    };
    let given = audit_row(
        app,
        parent_psn_no,
        channel,
        "proxy_consent_given",
        &format!("person:{parent_psn_no}"),
        Some(format!("child={}", child.psn_no)),
    );
    app.submit(Request::new(Command::PutProxyConsent(row.clone())).with_audit(given))
        .await?;
    consent_of(app, row).await
}

/// The parent withdraws a consent he gave; the child's code stops working at once.
pub async fn revoke(
    app: &App,
    parent_psn_no: &str,
    token: &str,
    channel: Channel,
) -> ServiceResult<()> {
    let t = token.trim().to_string();
    let row = app.read_store(move |s| s.proxy_consent(&t)).await?;
    // Someone else's consent is answered as no consent at all.
    let Some(mut row) = row.filter(|r| r.parent_psn_no == parent_psn_no) else {
        return Err(ServiceError::NotFound("亲情账户授权"));
    };
    if row.revoked_at.is_some() {
        return Ok(());
    }
    row.revoked_at = Some(now_text(app));
    let revoked = audit_row(
        app,
        parent_psn_no,
        channel,
        "proxy_consent_revoked",
        &format!("person:{parent_psn_no}"),
        Some(format!("child={}", row.child_psn_no)),
    );
    app.submit(Request::new(Command::PutProxyConsent(row)).with_audit(revoked))
        .await?;
    Ok(())
}

/// Who a proxy code stands for at the till: the parent pays, the child shows it.
#[derive(Clone, Debug)]
pub struct ProxyUse {
    pub token: String,
    pub parent_psn_no: String,
    pub parent_name_masked: String,
    pub child_name_masked: String,
}

pub fn is_proxy_code(text: &str) -> bool {
    text.trim().to_ascii_uppercase().starts_with(CODE_PREFIX)
}

/// The parent behind a proxy code, while the consent holds; `None` for a code never given
/// or revoked.
pub async fn resolve(app: &App, code: &str) -> ServiceResult<Option<ProxyUse>> {
    let t = code.trim().to_ascii_uppercase();
    let row = app.read_store(move |s| s.proxy_consent(&t)).await?;
    let Some(row) = row.filter(|r| r.revoked_at.is_none()) else {
        return Ok(None);
    };
    let names = {
        let (p, c) = (row.parent_psn_no.clone(), row.child_psn_no.clone());
        app.read(move |e| {
            let s = e.state();
            let name = |n: &str| s.persons.get(n).map(|p| mask_name(p.name.reveal()));
            (name(&p), name(&c))
        })
        .await?
    };
    let (Some(parent_name_masked), Some(child_name_masked)) = names else {
        return Ok(None);
    };
    Ok(Some(ProxyUse {
        token: row.token,
        parent_psn_no: row.parent_psn_no,
        parent_name_masked,
        child_name_masked,
    }))
}

/// The record that a settlement was paid with a proxy code, to send with the settlement
/// so that both commit or neither does (a payment from the parent's account always says
/// who showed the code); `actor` is the till's operator (or the demo's open till,
/// `institution:CODE`). The settlement's id is filled in from what was decided.
pub fn use_audit(app: &App, used: &ProxyUse, actor: &str) -> AuditNote {
    let row = audit_row(
        app,
        actor,
        Channel::Window,
        "proxy_used",
        &format!("person:{}", used.parent_psn_no),
        None,
    );
    let shown_by = used.child_name_masked.clone();
    let detail: AuditDetail = Box::new(move |outcome| match outcome {
        Outcome::Settled(s) => Some(format!("setl_id={} shown_by={shown_by}", s.setl_id)),
        _ => None,
    });
    AuditNote {
        row,
        detail: Some(detail),
    }
}
