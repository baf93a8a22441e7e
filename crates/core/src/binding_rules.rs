//! Who may bind whom (R-Y1, R-Y3, R-S1, R-S5, R-S8, R-S9, R-S10, R-Z2, R-Z3, R-Z4, R-N2, R-N4).
//!
//! A binding request is judged against the policy in force on its begin date.

use chrono::{Datelike, NaiveDate};

use crate::codes::{InsuStatus, ParentRole, RelationClass};
use crate::domain::{Binding, BindingStatus, Person};
use crate::money::Fen;
use crate::policy::{BindingPolicy, PaymentPolicy, Policy};
use crate::refusal::Refusal;

/// The limits a holder sets on what one relative may draw (R-S3); `None` is no limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    pub per_payment: Option<Fen>,
    pub per_day: Option<Fen>,
    pub per_month: Option<Fen>,
    pub per_year: Option<Fen>,
}

impl Limits {
    pub fn of(binding: &Binding) -> Limits {
        Limits {
            per_payment: binding.limit_per_payment,
            per_day: binding.limit_per_day,
            per_month: binding.limit_per_month,
            per_year: binding.limit_per_year,
        }
    }

    fn each(&self) -> [Option<Fen>; 4] {
        [
            self.per_payment,
            self.per_day,
            self.per_month,
            self.per_year,
        ]
    }

    pub fn is_empty(&self) -> bool {
        self.each().iter().all(Option::is_none)
    }

    fn apply(&self, binding: &mut Binding) {
        binding.limit_per_payment = self.per_payment;
        binding.limit_per_day = self.per_day;
        binding.limit_per_month = self.per_month;
        binding.limit_per_year = self.per_year;
    }
}

/// Whether these limits may be set: the policy must let holders set limits at all, and each
/// limit is an amount a person could type. `setting` is true when the holder asks to change
/// the limits (even to none), false for the limits that come with a new binding.
pub fn judge_limits(limits: &Limits, setting: bool, policy: &PaymentPolicy) -> Result<(), Refusal> {
    if (setting || !limits.is_empty()) && !policy.per_relative_limits {
        return Err(Refusal::LimitsNotAllowed);
    }
    let out_of_range = |l: &Fen| l.is_negative() || *l > Fen::INPUT_MAX;
    if limits.each().iter().flatten().any(out_of_range) {
        return Err(Refusal::InvalidAmount);
    }
    Ok(())
}

/// Changes to an existing binding.
#[derive(Clone, Debug)]
pub enum BindingChange {
    /// Move the end date (only earlier where the policy says so, R-S9).
    EndOn(NaiveDate),
    /// Per-relative limits (R-S3); `None` removes a limit.
    Limits(Limits),
    /// The holder unbinds (face verification where the policy asks, R-Z5).
    Unbind {
        face_verified: bool,
    },
    /// Staff suspend mutual aid (R-S7).
    Suspend {
        reason: String,
    },
    Lift {
        reason: String,
    },
}

impl BindingChange {
    /// The audit log's name for the change.
    pub fn action(&self) -> &'static str {
        match self {
            BindingChange::EndOn(_) => "change_end",
            BindingChange::Limits(_) => "set_limits",
            BindingChange::Unbind { .. } => "unbind",
            BindingChange::Suspend { .. } => "suspend",
            BindingChange::Lift { .. } => "lift",
        }
    }

    /// Unbinding counts against the holder's changes per month (R-N4); the others do not.
    pub fn counts_as_change(&self) -> bool {
        matches!(self, BindingChange::Unbind { .. })
    }
}

/// Judges a change to a binding on `today` under the holder's policy. Returns the binding as
/// it is after the change.
pub fn judge_binding_change(
    before: &Binding,
    change: &BindingChange,
    today: NaiveDate,
    holder_changes_this_month: u32,
    policy: &Policy,
) -> Result<Binding, Refusal> {
    let mut after = before.clone();
    match change {
        BindingChange::EndOn(date) => {
            after.end = Some(judge_end_date_change(before, *date, &policy.binding)?);
        }
        BindingChange::Limits(limits) => {
            if before.status == BindingStatus::Ended {
                return Err(Refusal::BindingNotActive);
            }
            judge_limits(limits, true, &policy.payment)?;
            limits.apply(&mut after);
        }
        BindingChange::Unbind { face_verified } => {
            if before.status == BindingStatus::Ended {
                return Err(Refusal::BindingNotActive);
            }
            if policy.binding.face_verification && !face_verified {
                return Err(Refusal::FaceVerificationRequired);
            }
            if let Some(max) = policy.binding.max_changes_per_month {
                if holder_changes_this_month >= max {
                    return Err(Refusal::TooManyChanges { max });
                }
            }
            after.status = BindingStatus::Ended;
            // Ended today at the latest, and never before it began.
            if after.end.is_none_or(|e| e > today) {
                after.end = Some(today.max(after.begin));
            }
        }
        BindingChange::Suspend { .. } => {
            if before.status != BindingStatus::Active {
                return Err(Refusal::BindingNotActive);
            }
            after.status = BindingStatus::Suspended;
        }
        BindingChange::Lift { .. } => {
            if before.status != BindingStatus::Suspended {
                return Err(Refusal::BindingNotActive);
            }
            after.status = BindingStatus::Active;
        }
    }
    Ok(after)
}

/// R-S10: where the policy ends bindings with insurance, a binding that is not yet ended
/// ends for good when either side's insurance ends. Returns the ended binding, or `None`
/// when nothing changes.
pub fn end_with_insurance(binding: &Binding, policy: &BindingPolicy) -> Option<Binding> {
    if !policy.auto_end_with_insurance || binding.status == BindingStatus::Ended {
        return None;
    }
    let mut after = binding.clone();
    after.status = BindingStatus::Ended;
    Some(after)
}

/// A request to bind `relative` to `holder`'s account.
#[derive(Clone, Debug)]
pub struct BindingRequest<'a> {
    pub holder: &'a Person,
    pub relative: &'a Person,
    pub relationship: crate::codes::Relationship,
    pub begin: NaiveDate,
    pub end: Option<NaiveDate>,
    /// The face verifier accepted the holder (R-Z5); batch imports pass `true`.
    pub face_verified: bool,
}

/// What the store knows around the request.
#[derive(Clone, Debug, Default)]
pub struct BindingContext<'a> {
    /// Every binding in which the holder or the relative takes part, on either side.
    pub related: &'a [Binding],
    /// Bind and unbind operations the holder made in the begin date's month (R-N4).
    pub holder_changes_this_month: u32,
}

/// Judges a new binding. `Ok(())` means the binding may be created as requested.
pub fn judge_binding(
    req: &BindingRequest<'_>,
    ctx: &BindingContext<'_>,
    policy: &BindingPolicy,
) -> Result<(), Refusal> {
    let holder = req.holder;
    let relative = req.relative;
    if holder.psn_no == relative.psn_no {
        return Err(Refusal::BindSelf);
    }
    if req.end.is_some_and(|end| end < req.begin) {
        return Err(Refusal::EndBeforeBegin);
    }
    check_holder(holder, policy)?;
    check_relative(relative, policy)?;
    if policy.same_province_only && !holder.admdvs.same_province(relative.admdvs) {
        return Err(Refusal::DifferentProvince);
    }
    let allowed = policy.scope_on(req.begin);
    let class = req.relationship.class();
    if !allowed.contains(&class) {
        return Err(Refusal::RelationshipOutOfScope {
            class,
            date: req.begin,
            allowed: allowed.to_vec(),
        });
    }
    if policy.face_verification && !req.face_verified {
        return Err(Refusal::FaceVerificationRequired);
    }
    check_existing(req, ctx.related, policy)?;
    if let Some(max) = policy.max_changes_per_month {
        if ctx.holder_changes_this_month >= max {
            return Err(Refusal::TooManyChanges { max });
        }
    }
    Ok(())
}

fn check_holder(holder: &Person, policy: &BindingPolicy) -> Result<(), Refusal> {
    if !policy.holder_insutypes.contains(&holder.insutype) {
        return Err(Refusal::HolderNotEmployee);
    }
    if policy.exclude_public_medical && holder.public_medical {
        return Err(Refusal::HolderPublicMedical);
    }
    let interrupted = match holder.insu_status {
        InsuStatus::Normal => false,
        InsuStatus::Paused => policy.holder_must_be_insured_normally,
        InsuStatus::Terminated => true,
    };
    if interrupted {
        return Err(Refusal::HolderInsuranceInterrupted);
    }
    Ok(())
}

fn check_relative(relative: &Person, policy: &BindingPolicy) -> Result<(), Refusal> {
    if relative.insu_status != InsuStatus::Normal {
        return Err(Refusal::RelativeNotInsured);
    }
    if !policy.relative_insutypes.contains(&relative.insutype) {
        return Err(Refusal::RelativeInsutypeNotAllowed);
    }
    if policy.exclude_public_medical && relative.public_medical {
        return Err(Refusal::RelativePublicMedical);
    }
    Ok(())
}

fn check_existing(
    req: &BindingRequest<'_>,
    related: &[Binding],
    policy: &BindingPolicy,
) -> Result<(), Refusal> {
    let holder = &req.holder.psn_no;
    let relative = &req.relative.psn_no;
    // Bindings that still count on the new binding's begin date.
    let live = || {
        related
            .iter()
            .filter(|b| b.is_current_or_future_on(req.begin))
    };

    if live().any(|b| &b.holder == holder && &b.relative == relative) {
        return Err(Refusal::DuplicateBinding);
    }
    if policy.one_way {
        if live().any(|b| &b.holder == relative) {
            return Err(Refusal::RelativeIsHolder);
        }
        if live().any(|b| &b.relative == holder) {
            return Err(Refusal::HolderIsRelative);
        }
    }
    let holders_of_relative = live().filter(|b| &b.relative == relative).count();
    if let Some(max) = policy.max_holders_per_relative {
        if holders_of_relative >= max as usize {
            return Err(if max == 1 {
                Refusal::RelativeAlreadyBound
            } else {
                Refusal::TooManyHolders { max }
            });
        }
    }
    let mine: Vec<&Binding> = live().filter(|b| &b.holder == holder).collect();
    if policy.one_spouse_two_parents {
        match req.relationship.class() {
            RelationClass::Spouse
                if mine
                    .iter()
                    .any(|b| b.relationship.class() == RelationClass::Spouse) =>
            {
                return Err(Refusal::SpouseAlreadyBound);
            }
            RelationClass::Parent => {
                let roles: Vec<ParentRole> = mine
                    .iter()
                    .filter_map(|b| b.relationship.parent_role())
                    .collect();
                if !parent_fits(&roles, req.relationship.parent_role()) {
                    return Err(Refusal::ParentAlreadyBound);
                }
            }
            _ => {}
        }
    }
    if let Some(max) = policy.max_relatives_per_holder {
        if mine.len() >= max as usize {
            return Err(Refusal::TooManyRelatives { max });
        }
    }
    Ok(())
}

/// At most one father and one mother, two parents in all; a generic parent code (50)
/// takes whichever place is free.
fn parent_fits(existing: &[ParentRole], new: Option<ParentRole>) -> bool {
    if existing.len() >= 2 {
        return false;
    }
    match new {
        Some(role @ (ParentRole::Father | ParentRole::Mother)) => !existing.contains(&role),
        Some(ParentRole::Either) | None => true,
    }
}

/// A holder moves a binding's end date (R-S9). Returns the new end date.
pub fn judge_end_date_change(
    binding: &Binding,
    new_end: NaiveDate,
    policy: &BindingPolicy,
) -> Result<NaiveDate, Refusal> {
    if binding.status == BindingStatus::Ended {
        return Err(Refusal::BindingNotActive);
    }
    if new_end < binding.begin {
        return Err(Refusal::EndBeforeBegin);
    }
    if policy.end_date_only_earlier && binding.end.is_some_and(|old| new_end > old) {
        return Err(Refusal::EndOnlyEarlier);
    }
    Ok(new_end)
}

/// Whether a binding can carry payments on `date`: valid by time and status, and, where the
/// policy ends bindings with insurance (R-S10), both sides still insured.
pub fn binding_usable_on(
    binding: &Binding,
    holder: &Person,
    relative: &Person,
    date: NaiveDate,
    policy: &BindingPolicy,
) -> bool {
    if !binding.is_valid_on(date) {
        return false;
    }
    let ended = |p: &Person| p.insu_status == InsuStatus::Terminated;
    !(policy.auto_end_with_insurance && (ended(holder) || ended(relative)))
}

/// A binding's standing on a day (R-S9, R-S10), as people and staff see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validity {
    Valid,
    NotYetValid,
    Expired,
    Suspended,
    Ended,
    /// Either side's insurance ended (R-S10).
    InsuranceEnded,
}

impl Validity {
    pub fn code(self) -> &'static str {
        match self {
            Validity::Valid => "valid",
            Validity::NotYetValid => "not_yet_valid",
            Validity::Expired => "expired",
            Validity::Suspended => "suspended",
            Validity::Ended => "ended",
            Validity::InsuranceEnded => "insurance_ended",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Validity::Valid => "有效",
            Validity::NotYetValid => "未到开始日期",
            Validity::Expired => "已过结束日期",
            Validity::Suspended => "已暂停",
            Validity::Ended => "已解除",
            Validity::InsuranceEnded => "参保终止，已失效",
        }
    }
}

/// A binding's standing on `today`: its status, then its dates, then (where the holder's
/// policy ends bindings with insurance) both sides' insurance. A side the registry does not
/// know counts as no longer insured; without a policy the insurance is not judged.
pub fn validity_on(
    binding: &Binding,
    holder: Option<&Person>,
    relative: Option<&Person>,
    today: NaiveDate,
    policy: Option<&BindingPolicy>,
) -> Validity {
    match binding.status {
        BindingStatus::Ended => return Validity::Ended,
        BindingStatus::Suspended => return Validity::Suspended,
        BindingStatus::Active => {}
    }
    if binding.begin > today {
        return Validity::NotYetValid;
    }
    if binding.end.is_some_and(|e| e < today) {
        return Validity::Expired;
    }
    let (Some(holder), Some(relative)) = (holder, relative) else {
        return Validity::InsuranceEnded;
    };
    match policy {
        Some(p) if !binding_usable_on(binding, holder, relative, today, p) => {
            Validity::InsuranceEnded
        }
        _ => Validity::Valid,
    }
}

/// Whose account a credential presented for `patient` lets pay (R-S12).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialUse<'a> {
    /// No credential, or the patient's own: the patient's accounts, mutual aid as the
    /// policy lets it follow.
    Own,
    /// A bound holder's credential: that holder may pay.
    Holder(&'a str),
    /// A holder's whose mutual aid for the patient is suspended (R-S7): refused, saying so.
    HolderSuspended,
    /// Neither the patient's nor a holder's the policy lets authorise: refused.
    Mismatch,
}

/// Judges the credential presented with a payment: its owner (if it is anybody's), the
/// patient's bindings as a relative, the day, and whether the policy lets a holder's
/// credential authorise mutual aid (R-S12).
pub fn credential_use<'a>(
    patient: &Person,
    presented: Option<Option<&'a str>>,
    holders_of_patient: &[&Binding],
    date: NaiveDate,
    policy: &PaymentPolicy,
) -> CredentialUse<'a> {
    let Some(owner) = presented else {
        return CredentialUse::Own;
    };
    match owner {
        Some(o) if o == patient.psn_no => CredentialUse::Own,
        Some(o)
            if policy.holder_credential_authorises
                && holders_of_patient.iter().any(|b| {
                    b.holder == o && b.relative == patient.psn_no && b.is_valid_on(date)
                }) =>
        {
            CredentialUse::Holder(o)
        }
        Some(o)
            if holders_of_patient.iter().any(|b| {
                b.holder == o
                    && b.relative == patient.psn_no
                    && b.status == crate::domain::BindingStatus::Suspended
                    && b.covers(date)
            }) =>
        {
            CredentialUse::HolderSuspended
        }
        _ => CredentialUse::Mismatch,
    }
}

/// The name a holder typed must be the name registered with the ID number he typed (R-N5).
/// Spaces around and inside the name are ignored; nothing else is.
pub fn check_relative_identity(relative: &Person, typed_name: &str) -> Result<(), Refusal> {
    let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    if squeeze(relative.name.reveal()) == squeeze(typed_name) && !typed_name.trim().is_empty() {
        Ok(())
    } else {
        Err(Refusal::RelativeIdentityMismatch)
    }
}

/// The first day of the month of `date`, for counting changes per month.
pub fn month_start(date: NaiveDate) -> NaiveDate {
    date.with_day(1).unwrap_or(date)
}
