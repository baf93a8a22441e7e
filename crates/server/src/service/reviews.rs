//! Online requests staff review (R-R7): a signed-in person asks to correct his registered
//! name or mobile number, or to register a new resident of his family; staff approve or
//! reject with a reason the person reads. Each step commits with its audit row in one
//! engine batch, and an approval's change to the registry commits with both.

use std::collections::BTreeSet;

use gongji_core::codes::{Admdvs, Channel, Gender, InsuStatus, Insutype};
use gongji_core::domain::Person;
use gongji_core::pii::{CertNo, PersonName, Phone};
use gongji_core::review::{self, Decision, ReviewKind, ReviewState};
use gongji_engine::{Command, Request};
use gongji_store::reviews::ReviewRow;
use rand::RngCore;

use super::auth::{audit_row, Permission};
use super::staff::Staff;
use super::{ServiceError, ServiceResult};
use crate::app::App;

/// psn_type of a resident registered online (城乡居民): adult or minor as the registry
/// codes them.
const PSN_TYPE_RESIDENT_ADULT: &str = "1501";
const PSN_TYPE_RESIDENT_MINOR: &str = "1502";

fn now_text(app: &App) -> String {
    app.clock.now().format("%Y-%m-%d %H:%M:%S").to_string()
}

fn random_digits(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| char::from(b'0' + b % 10)).collect()
}

fn new_review_id() -> String {
    format!("SQ{}", random_digits(14))
}

async fn registered(app: &App, psn_no: &str) -> ServiceResult<Person> {
    let p = psn_no.to_string();
    app.read(move |e| e.state().persons.get(&p).cloned())
        .await?
        .ok_or(ServiceError::NotFound("参保人"))
}

async fn submit(app: &App, row: ReviewRow, channel: Channel) -> ServiceResult<ReviewRow> {
    let audit = audit_row(
        app,
        &row.psn_no,
        channel,
        "review_submitted",
        &format!("person:{}", row.psn_no),
        Some(format!("review_id={} kind={}", row.review_id, row.kind)),
    );
    app.submit(Request::new(Command::PutReview(row.clone())).with_audit(audit))
        .await?;
    Ok(row)
}

/// The person asks to correct his own name or mobile number (a blank field is kept).
pub async fn submit_correction(
    app: &App,
    psn_no: &str,
    name: &str,
    phone: &str,
    channel: Channel,
) -> ServiceResult<ReviewRow> {
    let me = registered(app, psn_no).await?;
    let c = review::check_correction((me.name.reveal(), me.phone.reveal()), name, phone)?;
    let row = ReviewRow {
        review_id: new_review_id(),
        psn_no: psn_no.to_string(),
        kind: ReviewKind::Correction.code().into(),
        state: ReviewState::Pending.code().into(),
        name: c.name.unwrap_or_default(),
        phone: c.phone.unwrap_or_default(),
        submitted_at: now_text(app),
        ..ReviewRow::default()
    };
    submit(app, row, channel).await
}

/// The regions a registration may name: the divisions of this deployment's registry
/// (its institutions' and agencies', and the applicant's own) that a loaded policy covers,
/// the applicant's own first, then by code.
pub async fn regions(app: &App, psn_no: &str) -> ServiceResult<Vec<Admdvs>> {
    let p = psn_no.to_string();
    Ok(app
        .read(move |e| {
            let state = e.state();
            let own = state.persons.get(&p).map(|me| me.admdvs);
            let registry: BTreeSet<Admdvs> = state
                .institutions
                .values()
                .map(|i| i.admdvs)
                .chain(state.agencies.values().map(|a| a.admdvs))
                .chain(own)
                .filter(|a| e.policies().for_admdvs(*a).is_some())
                .collect();
            own.filter(|a| registry.contains(a))
                .into_iter()
                .chain(registry.iter().copied().filter(|a| Some(*a) != own))
                .collect()
        })
        .await?)
}

/// The person asks to register a family member not yet registered, as a resident, in one of
/// the regions this deployment serves.
pub async fn submit_registration(
    app: &App,
    psn_no: &str,
    name: &str,
    certno: &str,
    region: &str,
    channel: Channel,
) -> ServiceResult<ReviewRow> {
    registered(app, psn_no).await?;
    let r = review::check_registration(name, certno, region)?;
    review::check_region_served(r.admdvs, &regions(app, psn_no).await?)?;
    let known = {
        let c = r.certno.clone();
        app.read(move |e| e.state().persons.by_certno(&c).is_some())
            .await?
    };
    if known {
        return Err(ServiceError::BadRequest(
            "这个身份证号码已经在医保登记，无需重新登记。如信息有误，请本人申请更正。".into(),
        ));
    }
    let row = ReviewRow {
        review_id: new_review_id(),
        psn_no: psn_no.to_string(),
        kind: ReviewKind::Registration.code().into(),
        state: ReviewState::Pending.code().into(),
        name: r.name,
        certno: r.certno,
        admdvs: r.admdvs.to_string(),
        submitted_at: now_text(app),
        ..ReviewRow::default()
    };
    submit(app, row, channel).await
}

/// The requests the person made, newest first: only his own.
pub async fn mine(app: &App, psn_no: &str) -> ServiceResult<Vec<ReviewRow>> {
    let p = psn_no.to_string();
    Ok(app.read_store(move |s| s.reviews_of(&p)).await?)
}

/// How many requests wait for staff (the console's pending work).
pub async fn pending_count(app: &App, staff: &Staff) -> ServiceResult<usize> {
    staff.require(Permission::ReviewRequests)?;
    Ok(app.read_store(|s| s.pending_reviews()).await?.len())
}

/// A waiting request with the applicant's registered name, for staff to judge.
pub struct Waiting {
    pub row: ReviewRow,
    pub registered_name: String,
    pub registered_phone: String,
}

/// The requests waiting for staff, oldest first. Staff see the names and numbers asked in
/// full to judge them, so the list is a staff read of personal data and is audited.
pub async fn waiting(app: &App, staff: &Staff) -> ServiceResult<Vec<Waiting>> {
    staff.require(Permission::ReviewRequests)?;
    let rows = app.read_store(|s| s.pending_reviews()).await?;
    if !rows.is_empty() {
        super::auth::audit_read(
            app,
            &staff.actor(),
            Channel::StaffConsole,
            "review_list_read",
            "reviews:pending",
            Some(format!("count={}", rows.len())),
        )
        .await?;
    }
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let me = registered(app, &row.psn_no).await.ok();
        out.push(Waiting {
            registered_name: me
                .as_ref()
                .map(|p| p.name.reveal().to_string())
                .unwrap_or_default(),
            registered_phone: me
                .as_ref()
                .map(|p| p.phone.reveal().to_string())
                .unwrap_or_default(),
            row,
        });
    }
    Ok(out)
}

fn new_resident(app: &App, row: &ReviewRow, psn_no: String) -> ServiceResult<Person> {
    let r = review::check_registration(&row.name, &row.certno, &row.admdvs)?;
    let today = app.clock.now().date();
    let adult = r
        .birth_date
        .checked_add_months(chrono::Months::new(18 * 12))
        .is_some_and(|d| d <= today);
    Ok(Person {
        psn_no,
        certno: CertNo::new(r.certno.as_str()),
        name: PersonName::new(r.name.as_str()),
        gender: if r.male { Gender::Male } else { Gender::Female },
        birth_date: r.birth_date,
        insutype: Insutype::Resident,
        psn_type: if adult {
            PSN_TYPE_RESIDENT_ADULT
        } else {
            PSN_TYPE_RESIDENT_MINOR
        }
        .into(),
        admdvs: r.admdvs,
        insu_status: InsuStatus::Normal,
        civil_servant: false,
        public_medical: false,
        employer_name: String::new(),
        phone: Phone::new(""),
    })
}

/// A person number for a resident registered online: the region, then digits not taken.
async fn free_psn_no(app: &App, admdvs: &str) -> ServiceResult<String> {
    for _ in 0..8 {
        let candidate = format!("{admdvs}{}", random_digits(8));
        let c = candidate.clone();
        if !app
            .read(move |e| e.state().persons.get(&c).is_some())
            .await?
        {
            return Ok(candidate);
        }
    }
    Err(ServiceError::BadRequest(
        "暂时无法分配人员编号，请稍后再试。".into(),
    ))
}

/// Staff approve or reject a waiting request. An approved correction changes the person's
/// registration; an approved registration registers the new resident; both commit with
/// the request's new state and the audit row, or nothing does.
pub async fn decide(
    app: &App,
    staff: &Staff,
    review_id: &str,
    decision: Decision,
) -> ServiceResult<ReviewRow> {
    staff.require(Permission::ReviewRequests)?;
    let id = review_id.trim().to_string();
    let mut row = app
        .read_store(move |s| s.review(&id))
        .await?
        .ok_or(ServiceError::NotFound("申请"))?;
    let current = ReviewState::parse(&row.state).ok_or(ServiceError::NotFound("申请"))?;
    let next = review::decide(current, &decision)?;
    let register = match (next, ReviewKind::parse(&row.kind)) {
        // The writer applies a correction to the person as it holds him then.
        (ReviewState::Approved, Some(ReviewKind::Correction)) => {
            registered(app, &row.psn_no).await?;
            None
        }
        (ReviewState::Approved, Some(ReviewKind::Registration)) => {
            let psn_no = free_psn_no(app, &row.admdvs).await?;
            Some(new_resident(app, &row, psn_no)?)
        }
        (ReviewState::Approved, None) => return Err(ServiceError::NotFound("申请")),
        _ => None,
    };
    row.state = next.code().into();
    row.decided_at = Some(now_text(app));
    row.decided_by = Some(staff.actor());
    row.reason = match &decision {
        Decision::Reject { reason } => Some(reason.trim().to_string()),
        Decision::Approve => None,
    };
    let action = match next {
        ReviewState::Approved => "review_approved",
        _ => "review_rejected",
    };
    let detail = match &register {
        Some(p) => format!("review_id={} psn_no={}", row.review_id, p.psn_no),
        None => format!("review_id={}", row.review_id),
    };
    let audit = audit_row(
        app,
        &staff.actor(),
        Channel::StaffConsole,
        action,
        &format!("person:{}", row.psn_no),
        Some(detail),
    );
    app.submit(
        Request::new(Command::DecideReview {
            row: row.clone(),
            register,
        })
        .with_audit(audit),
    )
    .await?;
    Ok(row)
}
