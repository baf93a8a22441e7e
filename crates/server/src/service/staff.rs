//! Bureau staff: search persons, a person's record, bindings and usage (every read of a
//! person is audited), suspend and lift mutual aid (R-S7), recovery cases (追回) and the
//! audit log. Every operation checks the role model first ([`Role::may`]).

use chrono::Datelike;
use gongji_core::codes::Channel;
use gongji_core::domain::{BindingStatus, Person};
use gongji_core::ledger::LedgerAccount;
use gongji_core::Fen;
use gongji_engine::{
    BindingChange, Command, EngineError, Outcome, RecoveryAction, RecoveryCommand, Request,
};
use gongji_store::read::{
    AuditEntry, AuditQuery, MutualAidPaymentRow, RecoveryQuery, YearTotals, PAGE_SIZE_MAX,
};
use gongji_store::RecoveryCaseRow;

use super::auth::{audit_read, Permission, Role};
use super::family::{self, BindingView};
use super::records::{self, Record, RecordFilter};
use super::{PersonRef, ServiceError, ServiceResult};
use crate::app::App;

/// Longest reason staff may give.
pub const REASON_CHARS_MAX: usize = 500;

/// A signed-in staff member.
#[derive(Clone, Debug)]
pub struct Staff {
    pub username: String,
    pub role: Role,
}

impl Staff {
    pub fn actor(&self) -> String {
        format!("staff:{}", self.username)
    }

    pub fn require(&self, p: Permission) -> ServiceResult<()> {
        if self.role.may(p) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden)
        }
    }
}

fn reason(text: &str) -> ServiceResult<String> {
    let t = text.trim();
    if t.is_empty() || t.chars().count() > REASON_CHARS_MAX {
        return Err(ServiceError::BadRequest(format!(
            "请填写原因，最多{REASON_CHARS_MAX}字。"
        )));
    }
    Ok(t.to_string())
}

/// Persons whose psn_no, ID number, phone or exact name is `text`, masked.
pub async fn search_persons(app: &App, staff: &Staff, text: &str) -> ServiceResult<Vec<PersonRef>> {
    staff.require(Permission::ReadPersons)?;
    let t = text.trim().to_string();
    if t.is_empty() || t.chars().count() > 64 {
        return Err(ServiceError::BadRequest("q 应为1到64个字符".into()));
    }
    let ids = app
        .read_store(move |s| s.search_persons(&t, PAGE_SIZE_MAX))
        .await?;
    let found = app
        .read(move |engine| -> ServiceResult<Vec<PersonRef>> {
            let state = engine.state();
            Ok(ids
                .iter()
                .filter_map(|p| state.persons.get(p))
                .map(PersonRef::of)
                .collect())
        })
        .await??;
    audit_read(
        app,
        &staff.actor(),
        Channel::StaffConsole,
        "staff_search_persons",
        "persons",
        Some(format!("results={}", found.len())),
    )
    .await?;
    Ok(found)
}

/// A person's record as an authorised clerk sees it: full personal data (audited).
#[derive(Clone, Debug)]
pub struct PersonDetail {
    pub person: Person,
    pub balance: Fen,
    pub as_holder: Vec<BindingView>,
    pub as_relative: Vec<BindingView>,
    pub year: i32,
    pub totals: YearTotals,
}

pub async fn person_detail(app: &App, staff: &Staff, psn_no: &str) -> ServiceResult<PersonDetail> {
    staff.require(Permission::ReadPersons)?;
    let exists = {
        let p = psn_no.to_string();
        app.read(move |e| e.state().persons.contains_key(&p))
            .await?
    };
    if !exists {
        return Err(ServiceError::NotFound("参保人"));
    }
    // The audit row is durable before the record is shown.
    audit_read(
        app,
        &staff.actor(),
        Channel::StaffConsole,
        "staff_read_person",
        &format!("person:{psn_no}"),
        None,
    )
    .await?;
    let now = app.clock.now();
    let p = psn_no.to_string();
    let totals = {
        let p = p.clone();
        app.read_store(move |s| s.year_totals(&p, now.year()))
            .await?
    };
    app.read(move |engine| -> ServiceResult<PersonDetail> {
        let state = engine.state();
        let person = state
            .persons
            .get(&p)
            .cloned()
            .ok_or(ServiceError::NotFound("参保人"))?;
        let as_holder = state
            .by_holder
            .get(&p)
            .into_iter()
            .flatten()
            .filter_map(|id| state.bindings.get(id))
            .map(|b| family::view(engine, b, now))
            .collect();
        let as_relative = state
            .holders_of(&p)
            .map(|b| family::view(engine, b, now))
            .collect();
        Ok(PersonDetail {
            balance: state.balance(&LedgerAccount::Personal(p.clone()).key()),
            person,
            as_holder,
            as_relative,
            year: now.year(),
            totals,
        })
    })
    .await?
}

/// A person's records as staff see them (audited).
pub async fn person_records(
    app: &App,
    staff: &Staff,
    psn_no: &str,
    filter: &RecordFilter,
) -> ServiceResult<Vec<Record>> {
    staff.require(Permission::ReadPersons)?;
    let p = psn_no.to_string();
    if !app
        .read(move |e| e.state().persons.contains_key(&p))
        .await?
    {
        return Err(ServiceError::NotFound("参保人"));
    }
    audit_read(
        app,
        &staff.actor(),
        Channel::StaffConsole,
        "staff_read_records",
        &format!("person:{psn_no}"),
        None,
    )
    .await?;
    records::records(app, psn_no, filter).await
}

/// Suspends mutual aid on a binding, with a reason (R-S7).
pub async fn suspend(
    app: &App,
    staff: &Staff,
    binding_id: i64,
    why: &str,
) -> ServiceResult<BindingView> {
    staff.require(Permission::SuspendBindings)?;
    let reason = reason(why)?;
    family::change(
        app,
        binding_id,
        BindingChange::Suspend { reason },
        staff.actor(),
        Channel::StaffConsole,
    )
    .await
}

pub async fn lift(
    app: &App,
    staff: &Staff,
    binding_id: i64,
    why: &str,
) -> ServiceResult<BindingView> {
    staff.require(Permission::SuspendBindings)?;
    let reason = reason(why)?;
    family::change(
        app,
        binding_id,
        BindingChange::Lift { reason },
        staff.actor(),
        Channel::StaffConsole,
    )
    .await
}

/// Suspends every active binding in which `psn_no` is the holder. Each is its own audited
/// change; the answer lists what was suspended.
pub async fn suspend_holder(
    app: &App,
    staff: &Staff,
    psn_no: &str,
    why: &str,
) -> ServiceResult<Vec<BindingView>> {
    staff.require(Permission::SuspendBindings)?;
    let reason = reason(why)?;
    let p = psn_no.to_string();
    let ids = app
        .read(move |engine| -> ServiceResult<Vec<i64>> {
            let state = engine.state();
            if !state.persons.contains_key(&p) {
                return Err(ServiceError::NotFound("参保人"));
            }
            let mut ids: Vec<i64> = state
                .by_holder
                .get(&p)
                .into_iter()
                .flatten()
                .filter(|id| {
                    state
                        .bindings
                        .get(id)
                        .is_some_and(|b| b.status == BindingStatus::Active)
                })
                .copied()
                .collect();
            ids.sort_unstable();
            Ok(ids)
        })
        .await??;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(
            family::change(
                app,
                id,
                BindingChange::Suspend {
                    reason: reason.clone(),
                },
                staff.actor(),
                Channel::StaffConsole,
            )
            .await?,
        );
    }
    Ok(out)
}

#[derive(Clone, Debug)]
pub struct RecoveryOpening {
    pub binding_id: i64,
    pub setl_id: String,
    pub amount: Fen,
    pub reason: String,
}

/// Opens a recovery case (auditors and admins).
pub async fn open_recovery(
    app: &App,
    staff: &Staff,
    opening: RecoveryOpening,
) -> ServiceResult<RecoveryCaseRow> {
    staff.require(Permission::OpenRecoveryCase)?;
    let reason = reason(&opening.reason)?;
    let outcome = app
        .submit(Request::new(Command::Recovery(RecoveryCommand {
            action: RecoveryAction::Open {
                binding_id: opening.binding_id,
                setl_id: opening.setl_id.trim().to_string(),
                amount: opening.amount,
                reason,
            },
            channel: Channel::StaffConsole,
            actor: staff.actor(),
            at: app.clock.now(),
        })))
        .await?;
    recovery_row(outcome)
}

/// Records that a case was repaid: the money returns to the holder's account by postings.
pub async fn record_repayment(
    app: &App,
    staff: &Staff,
    case_id: i64,
) -> ServiceResult<RecoveryCaseRow> {
    staff.require(Permission::RecordRepayment)?;
    let outcome = app
        .submit(Request::new(Command::Recovery(RecoveryCommand {
            action: RecoveryAction::Repaid { case_id },
            channel: Channel::StaffConsole,
            actor: staff.actor(),
            at: app.clock.now(),
        })))
        .await?;
    recovery_row(outcome)
}

fn recovery_row(outcome: Outcome) -> ServiceResult<RecoveryCaseRow> {
    match outcome {
        Outcome::Recovery(row) => Ok(*row),
        _ => Err(ServiceError::Engine(EngineError::Refused(
            gongji_core::Refusal::InternalUnbalanced,
        ))),
    }
}

pub async fn recovery_cases(
    app: &App,
    staff: &Staff,
    q: RecoveryQuery,
) -> ServiceResult<Vec<RecoveryCaseRow>> {
    staff.require(Permission::ReadRecoveryCases)?;
    if let Some(s) = &q.status {
        if s != "open" && s != "repaid" {
            return Err(ServiceError::BadRequest(
                "status 应为 open 或 repaid".into(),
            ));
        }
    }
    if q.limit == 0 || q.limit > PAGE_SIZE_MAX {
        return Err(ServiceError::BadRequest(format!(
            "limit 应在1到{PAGE_SIZE_MAX}之间"
        )));
    }
    Ok(app.read_store(move |s| s.recovery_cases(&q)).await?)
}

pub async fn audit_log(app: &App, staff: &Staff, q: AuditQuery) -> ServiceResult<Vec<AuditEntry>> {
    staff.require(Permission::ReadAuditLog)?;
    if q.limit == 0 || q.limit > PAGE_SIZE_MAX {
        return Err(ServiceError::BadRequest(format!(
            "limit 应在1到{PAGE_SIZE_MAX}之间"
        )));
    }
    Ok(app.read_store(move |s| s.audit_log(&q)).await?)
}

/// Why, when and by whom a binding was suspended: the newest `suspend` audit row's reason.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Suspension {
    pub reason: String,
    pub at: String,
    /// The audit row's actor (`staff:NAME`, a holder's psn_no, …).
    pub by: String,
}

/// The suspension of each binding named, read from the audit log (the engine writes the
/// reason there, after ` 原因：`).
pub async fn suspensions(app: &App, binding_ids: &[i64]) -> ServiceResult<Vec<(i64, Suspension)>> {
    let ids = binding_ids.to_vec();
    Ok(app
        .read_store(move |s| {
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                let rows = s.audit_log(&AuditQuery {
                    subject: Some(format!("binding:{id}")),
                    action: Some("suspend".into()),
                    limit: 1,
                    ..AuditQuery::default()
                })?;
                if let Some(e) = rows.into_iter().next() {
                    let after = e.row.after_state.unwrap_or_default();
                    let reason = after
                        .split_once(" 原因：")
                        .map(|(_, r)| r.to_string())
                        .unwrap_or_default();
                    out.push((
                        id,
                        Suspension {
                            reason,
                            at: e.row.at,
                            by: e.row.actor,
                        },
                    ));
                }
            }
            Ok(out)
        })
        .await?)
}

/// Most suspended bindings the console's start page lists.
pub const PENDING_ROWS: usize = 20;

/// What waits for the bureau: open recovery cases and suspended bindings.
#[derive(Clone, Debug, Default)]
pub struct PendingWork {
    pub open_cases: Vec<RecoveryCaseRow>,
    pub suspended: Vec<(BindingView, Suspension)>,
    /// How many there are in all (the lists stop at [`PENDING_ROWS`]); the open cases are
    /// counted only for a role that may read them.
    pub open_cases_total: usize,
    pub suspended_total: usize,
}

pub async fn pending_work(app: &App, staff: &Staff) -> ServiceResult<PendingWork> {
    staff.require(Permission::ReadPersons)?;
    let open_cases = if staff.role.may(Permission::ReadRecoveryCases) {
        let q = RecoveryQuery {
            status: Some("open".into()),
            psn_no: None,
            limit: PENDING_ROWS as u32,
            offset: 0,
        };
        app.read_store(move |s| s.recovery_cases(&q)).await?
    } else {
        Vec::new()
    };
    let now = app.clock.now();
    let may_cases = staff.role.may(Permission::ReadRecoveryCases);
    let (open_cases_total, suspended_total, views): (usize, usize, Vec<BindingView>) = app
        .read(move |engine| {
            let state = engine.state();
            let open = state
                .recovery_cases
                .values()
                .filter(|c| may_cases && c.status == "open")
                .count();
            let mut ids: Vec<i64> = engine
                .state()
                .bindings
                .values()
                .filter(|b| b.status == BindingStatus::Suspended)
                .map(|b| b.id)
                .collect();
            let suspended = ids.len();
            ids.sort_unstable();
            ids.truncate(PENDING_ROWS);
            let views = ids
                .iter()
                .filter_map(|id| engine.state().bindings.get(id))
                .map(|b| family::view(engine, b, now))
                .collect();
            (open, suspended, views)
        })
        .await?;
    let ids: Vec<i64> = views.iter().map(|v| v.binding.id).collect();
    let found = suspensions(app, &ids).await?;
    let suspended = views
        .into_iter()
        .map(|v| {
            let s = found
                .iter()
                .find(|(id, _)| *id == v.binding.id)
                .map(|(_, s)| s.clone())
                .unwrap_or_default();
            (v, s)
        })
        .collect();
    Ok(PendingWork {
        open_cases,
        suspended,
        open_cases_total,
        suspended_total,
    })
}

/// The mutual-aid payments a binding's holder made for its relative: what a recovery case
/// is opened against, picked from a list instead of typed.
pub async fn binding_payments(
    app: &App,
    staff: &Staff,
    binding_id: i64,
) -> ServiceResult<(BindingView, Vec<MutualAidPaymentRow>)> {
    staff.require(Permission::OpenRecoveryCase)?;
    let now = app.clock.now();
    let view = app
        .read(move |engine| {
            engine
                .state()
                .bindings
                .get(&binding_id)
                .map(|b| family::view(engine, b, now))
        })
        .await?
        .ok_or(ServiceError::NotFound("共济绑定"))?;
    let (holder, relative) = (view.binding.holder.clone(), view.binding.relative.clone());
    // Two persons' payments are shown: the audit row is durable first, as for a record.
    audit_read(
        app,
        &staff.actor(),
        Channel::StaffConsole,
        "staff_read_payments",
        &format!("binding:{binding_id}"),
        None,
    )
    .await?;
    let rows = app
        .read_store(move |s| s.mutual_aid_payments(&holder, &relative))
        .await?;
    Ok((view, rows))
}
