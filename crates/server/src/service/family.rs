//! My family: bindings as holder and as relative, valid or invalid by time (R-S9); binding a
//! relative with the notice, the commitment letter and face verification (R-S7, R-Z5);
//! moving the end date (R-S9), limits (R-S3) and unbinding.
//!
//! Who may touch a binding: only its two persons see it; only its holder changes it. The
//! engine's commands decide everything else.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use gongji_core::binding_rules::{check_relative_identity, validity_on, Limits};
use gongji_core::codes::{Channel, RelationClass, Relationship};
use gongji_core::commitment::{
    check_commitment, check_signature, commitment_letter, notice_zh, LetterFacts, NoticeTerms,
    NOTICE_VERSION,
};
use gongji_core::domain::Binding;
use gongji_core::idcard;
use gongji_core::kinship::{
    check_relation_plausible, holder_as_seen_by_relative, holder_as_seen_by_relative_zh,
};
use gongji_core::Fen;
use gongji_engine::{
    BindCommand, BindingChange, ChangeBindingCommand, Command, Engine, EngineError, Outcome,
    Request, SignedCommitment,
};
use gongji_store::CommitmentRow;
use sha2::{Digest, Sha256};

use super::{PersonRef, ServiceError, ServiceResult};
use crate::app::{App, DynStore};

/// Longest signature the API accepts (the holder's typed name).
pub const SIGNATURE_BYTES_MAX: usize = 16 * 1024;

pub use gongji_core::binding_rules::Validity;

#[derive(Clone, Debug)]
pub struct BindingView {
    pub binding: Binding,
    pub holder: PersonRef,
    pub relative: PersonRef,
    pub validity: Validity,
    /// Drawn through this binding in the current month.
    pub used_this_month: Fen,
    /// What the holder is to the relative, in Chinese: the label the relative sees (the
    /// binding's relationship is the relative's to the holder).
    pub holder_to_relative_zh: &'static str,
    /// The same as a relation code, where GB/T 4761 has one.
    pub holder_to_relative: Option<Relationship>,
}

#[derive(Clone, Debug)]
pub struct MyFamily {
    pub as_holder: Vec<BindingView>,
    pub as_relative: Vec<BindingView>,
    /// The holder's region asks for face verification to bind and unbind (R-Z5).
    pub face_verification_required: bool,
    pub limits_allowed: bool,
    /// The relationship classes a new binding may have today (R-Y1).
    pub scope_today: Vec<RelationClass>,
    pub end_date_only_earlier: bool,
}

fn validity(engine: &Engine<DynStore>, b: &Binding, today: NaiveDate) -> Validity {
    let state = engine.state();
    let holder = state.persons.get(&b.holder);
    let policy = holder.and_then(|h| engine.policies().for_admdvs(h.admdvs));
    validity_on(
        b,
        holder,
        state.persons.get(&b.relative),
        today,
        policy.map(|p| &p.binding),
    )
}

/// The view of one binding, as its persons and staff see it.
pub(crate) fn view(engine: &Engine<DynStore>, b: &Binding, now: NaiveDateTime) -> BindingView {
    let state = engine.state();
    let person = |p: &str| {
        state
            .persons
            .get(p)
            .map(PersonRef::of)
            .unwrap_or_else(|| PersonRef::unknown(p))
    };
    let month = format!("{:04}-{:02}", now.year(), now.month());
    let holder_certno = state
        .persons
        .get(&b.holder)
        .map_or("", |p| p.certno.reveal());
    BindingView {
        binding: b.clone(),
        holder: person(&b.holder),
        relative: person(&b.relative),
        validity: validity(engine, b, now.date()),
        holder_to_relative_zh: holder_as_seen_by_relative_zh(b.relationship, holder_certno),
        holder_to_relative: holder_as_seen_by_relative(
            b.relationship,
            idcard::gender_digit_is_male(holder_certno),
        ),
        used_this_month: state
            .binding_usage
            .get(&(b.id, month))
            .copied()
            .unwrap_or(Fen::ZERO),
    }
}

pub async fn my_family(app: &App, psn_no: &str) -> ServiceResult<MyFamily> {
    let psn_no = psn_no.to_string();
    let now = app.clock.now();
    app.read(move |engine| -> ServiceResult<MyFamily> {
        let state = engine.state();
        let me = state
            .persons
            .get(&psn_no)
            .ok_or(ServiceError::NotFound("参保人"))?;
        let policy = engine.policies().for_admdvs(me.admdvs);
        let mut as_holder: Vec<BindingView> = state
            .by_holder
            .get(&psn_no)
            .into_iter()
            .flatten()
            .filter_map(|id| state.bindings.get(id))
            .map(|b| view(engine, b, now))
            .collect();
        let mut as_relative: Vec<BindingView> = state
            .holders_of(&psn_no)
            .map(|b| view(engine, b, now))
            .collect();
        as_holder.sort_by_key(|v| std::cmp::Reverse(v.binding.id));
        as_relative.sort_by_key(|v| std::cmp::Reverse(v.binding.id));
        Ok(MyFamily {
            as_holder,
            as_relative,
            face_verification_required: policy.is_some_and(|p| p.binding.face_verification),
            limits_allowed: policy.is_some_and(|p| p.payment.per_relative_limits),
            scope_today: policy
                .map(|p| p.binding.scope_on(now.date()).to_vec())
                .unwrap_or_default(),
            end_date_only_earlier: policy.is_some_and(|p| p.binding.end_date_only_earlier),
        })
    })
    .await?
}

/// What a holder fills in to bind a relative.
#[derive(Clone, Debug)]
pub struct BindRequest {
    pub relative_certno: String,
    pub relative_name: String,
    pub relationship: Relationship,
    /// Default: today.
    pub begin: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
    pub limit_per_payment: Option<Fen>,
    pub limit_per_month: Option<Fen>,
}

/// The notice and the commitment letter to sign, after the eligibility check passed.
#[derive(Clone, Debug)]
pub struct CommitmentPreview {
    pub notice_version: &'static str,
    /// The notice as the holder's region has it.
    pub notice: String,
    /// The name the holder signs the letter with.
    pub holder_name: String,
    pub letter: String,
    pub sha256: String,
    pub relative: PersonRef,
    pub face_verification_required: bool,
}

pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Resolves the relative, checks name and ID, runs the binding rules as a dry run and makes
/// the letter. Runs on the writer thread.
fn prepare(
    engine: &Engine<DynStore>,
    holder: &str,
    req: &BindRequest,
    now: NaiveDateTime,
    channel: Channel,
) -> ServiceResult<(BindCommand, CommitmentPreview)> {
    let state = engine.state();
    let certno = req.relative_certno.trim().to_ascii_uppercase();
    let relative_no = state
        .persons
        .by_certno(&certno)
        .map(|p| p.psn_no.clone())
        .ok_or_else(|| EngineError::UnknownPerson(gongji_core::pii::mask_certno(&certno)))?;
    let relative = state
        .persons
        .get(&relative_no)
        .ok_or_else(|| EngineError::UnknownPerson(relative_no.clone()))?;
    check_relative_identity(relative, &req.relative_name)?;
    let holder_person = state
        .persons
        .get(holder)
        .ok_or_else(|| EngineError::UnknownPerson(holder.to_string()))?;
    let policy = engine.policy_for(holder_person)?;
    let cmd = BindCommand {
        holder: holder.to_string(),
        relative: relative_no.clone(),
        relationship: req.relationship,
        begin: req.begin.unwrap_or(now.date()),
        end: req.end,
        limit_per_payment: req.limit_per_payment,
        limit_per_month: req.limit_per_month,
        face_verified: true,
        channel,
        actor: holder.to_string(),
        at: now,
        restored: None,
    };
    // Eligibility as the rules see it now; the face check comes when the holder submits.
    engine.check_binding(&cmd)?;
    // What the holder declares must fit both ID numbers (sex, order of birth).
    check_relation_plausible(
        holder_person.certno.reveal(),
        relative.certno.reveal(),
        req.relationship,
    )?;
    let letter = commitment_letter(&LetterFacts {
        holder_name: holder_person.name.reveal(),
        holder_certno: holder_person.certno.reveal(),
        relative_name: relative.name.reveal(),
        relative_certno: relative.certno.reveal(),
        relationship: req.relationship,
        begin: cmd.begin,
        end: cmd.end,
        policy: &format!("{} {}", policy.name_zh, policy.version),
        date: now.date(),
    });
    let preview = CommitmentPreview {
        notice_version: NOTICE_VERSION,
        notice: notice_zh(Some(NoticeTerms::of(policy))),
        holder_name: holder_person.name.reveal().to_string(),
        sha256: sha256_hex(&letter),
        letter,
        relative: PersonRef::of(relative),
        face_verification_required: policy.binding.face_verification,
    };
    Ok((cmd, preview))
}

/// Checks a relative's eligibility and returns the letter to sign (R-N5: the check before
/// the journey starts).
pub async fn commitment_preview(
    app: &App,
    holder: &str,
    req: BindRequest,
    channel: Channel,
) -> ServiceResult<CommitmentPreview> {
    let holder = holder.to_string();
    let now = app.clock.now();
    app.read(move |engine| prepare(engine, &holder, &req, now, channel).map(|(_, p)| p))
        .await?
}

/// A holder's signed bind request.
#[derive(Clone, Debug)]
pub struct SignedBind {
    pub request: BindRequest,
    pub notice_acknowledged: bool,
    /// The hash of the letter the holder was shown and signed.
    pub commitment_sha256: String,
    pub signature: String,
    pub face_token: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Bound {
    pub view: BindingView,
    pub commitment_sha256: String,
}

pub async fn bind(
    app: &App,
    holder: &str,
    signed: SignedBind,
    channel: Channel,
) -> ServiceResult<Bound> {
    check_commitment(signed.notice_acknowledged, &signed.signature)?;
    if signed.signature.len() > SIGNATURE_BYTES_MAX {
        return Err(ServiceError::BadRequest(format!(
            "签名过大（最多{SIGNATURE_BYTES_MAX}字节）/ signature too large"
        )));
    }
    let now = app.clock.now();
    let face_verified = match &signed.face_token {
        Some(token) => {
            if !super::providers::face_accepts(app, holder, token) {
                return Err(ServiceError::FaceRejected);
            }
            true
        }
        None => false,
    };
    let holder_no = holder.to_string();
    let request = signed.request.clone();
    let (mut cmd, preview) = app
        .read(move |engine| prepare(engine, &holder_no, &request, now, channel))
        .await??;
    if preview.sha256 != signed.commitment_sha256.trim().to_ascii_lowercase() {
        return Err(ServiceError::CommitmentMismatch);
    }
    check_signature(&signed.signature, &preview.holder_name)?;
    cmd.face_verified = face_verified;
    let letter = SignedCommitment {
        notice_version: NOTICE_VERSION.to_string(),
        letter: preview.letter,
        sha256: preview.sha256.clone(),
        signature: signed.signature,
    };
    let outcome = app
        .submit(Request::new(Command::BindWithCommitment(cmd, letter)))
        .await?;
    let Outcome::Binding(b) = outcome else {
        return Err(ServiceError::Engine(EngineError::Refused(
            gongji_core::Refusal::InternalUnbalanced,
        )));
    };
    let view = app.read(move |engine| view(engine, &b, now)).await?;
    Ok(Bound {
        view,
        commitment_sha256: preview.sha256,
    })
}

/// The binding `id` if `psn_no` is one of its persons; `Forbidden` when the change needs the
/// holder and `psn_no` is the relative.
pub(crate) async fn binding_of(
    app: &App,
    psn_no: &str,
    id: i64,
    need_holder: bool,
) -> ServiceResult<Binding> {
    let psn_no = psn_no.to_string();
    app.read(move |engine| -> ServiceResult<Binding> {
        let b = engine
            .state()
            .bindings
            .get(&id)
            .filter(|b| b.holder == psn_no || b.relative == psn_no)
            .cloned()
            .ok_or(ServiceError::NotFound("共济绑定"))?;
        if need_holder && b.holder != psn_no {
            return Err(ServiceError::Forbidden);
        }
        Ok(b)
    })
    .await?
}

pub(crate) async fn change(
    app: &App,
    binding_id: i64,
    change: BindingChange,
    actor: String,
    channel: Channel,
) -> ServiceResult<BindingView> {
    let now = app.clock.now();
    let outcome = app
        .submit(Request::new(Command::ChangeBinding(ChangeBindingCommand {
            binding_id,
            change,
            channel,
            actor,
            at: now,
        })))
        .await?;
    let Outcome::Binding(b) = outcome else {
        return Err(ServiceError::Engine(EngineError::UnknownBinding(
            binding_id,
        )));
    };
    Ok(app.read(move |engine| view(engine, &b, now)).await?)
}

/// The holder moves the end date (only earlier where the policy says so, R-S9).
pub async fn change_end(
    app: &App,
    holder: &str,
    binding_id: i64,
    end: NaiveDate,
    channel: Channel,
) -> ServiceResult<BindingView> {
    binding_of(app, holder, binding_id, true).await?;
    change(
        app,
        binding_id,
        BindingChange::EndOn(end),
        holder.to_string(),
        channel,
    )
    .await
}

/// The holder sets per-relative limits (R-S3); `None` removes one.
pub async fn set_limits(
    app: &App,
    holder: &str,
    binding_id: i64,
    limits: Limits,
    channel: Channel,
) -> ServiceResult<BindingView> {
    binding_of(app, holder, binding_id, true).await?;
    change(
        app,
        binding_id,
        BindingChange::Limits(limits),
        holder.to_string(),
        channel,
    )
    .await
}

/// The holder unbinds, with face verification where the policy asks (R-Z5).
pub async fn unbind(
    app: &App,
    holder: &str,
    binding_id: i64,
    face_token: Option<&str>,
    channel: Channel,
) -> ServiceResult<BindingView> {
    binding_of(app, holder, binding_id, true).await?;
    let face_verified = match face_token {
        Some(t) if !super::providers::face_accepts(app, holder, t) => {
            return Err(ServiceError::FaceRejected)
        }
        Some(_) => true,
        None => false,
    };
    change(
        app,
        binding_id,
        BindingChange::Unbind { face_verified },
        holder.to_string(),
        channel,
    )
    .await
}

/// Why and when staff suspended a binding, as its persons are told.
#[derive(Clone, Debug)]
pub struct Suspension {
    pub at: String,
    /// The reason the clerk wrote.
    pub reason: String,
}

/// The latest suspension of a binding, for either of its persons: read from the audit log,
/// where the engine records every suspension with its reason.
pub async fn suspension_of(
    app: &App,
    psn_no: &str,
    binding_id: i64,
) -> ServiceResult<Option<Suspension>> {
    binding_of(app, psn_no, binding_id, false).await?;
    let q = gongji_store::read::AuditQuery {
        subject: Some(format!("binding:{binding_id}")),
        actor: None,
        action: Some("suspend".into()),
        limit: 1,
        offset: 0,
    };
    let rows = app.read_store(move |s| s.audit_log(&q)).await?;
    Ok(rows.into_iter().next().map(|e| Suspension {
        at: e.row.at,
        reason: e
            .row
            .after_state
            .as_deref()
            .and_then(|a| a.split_once(" 原因："))
            .map(|(_, r)| r.trim().to_string())
            .unwrap_or_default(),
    }))
}

/// The signed commitment letter of a binding, for either of its persons.
pub async fn commitment_of(
    app: &App,
    psn_no: &str,
    binding_id: i64,
) -> ServiceResult<CommitmentRow> {
    binding_of(app, psn_no, binding_id, false).await?;
    app.read_store(move |s| s.commitment(binding_id))
        .await?
        .ok_or(ServiceError::NotFound("承诺书"))
}
