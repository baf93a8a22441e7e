//! Online requests that staff review (R-R7): a person asks to correct his own registered
//! name or mobile number, or asks to register a new resident of his family. What may be
//! asked, what a valid answer is, and that a request is decided once.
//!
//! The ID number of a registered person is not correctable online: it is the person's key
//! in every other department's list, and a wrong one is put right at the counter.

use chrono::NaiveDate;

use crate::codes::Admdvs;
use crate::idcard;
use crate::refusal::Refusal;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReviewKind {
    /// 信息更正: the applicant's own name or mobile number.
    Correction,
    /// 新参保登记: a family member not yet registered, as a resident.
    Registration,
}

impl ReviewKind {
    pub fn code(self) -> &'static str {
        match self {
            ReviewKind::Correction => "correction",
            ReviewKind::Registration => "registration",
        }
    }

    pub fn parse(code: &str) -> Option<ReviewKind> {
        match code {
            "correction" => Some(ReviewKind::Correction),
            "registration" => Some(ReviewKind::Registration),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReviewState {
    Pending,
    Approved,
    Rejected,
}

impl ReviewState {
    pub fn code(self) -> &'static str {
        match self {
            ReviewState::Pending => "pending",
            ReviewState::Approved => "approved",
            ReviewState::Rejected => "rejected",
        }
    }

    pub fn parse(code: &str) -> Option<ReviewState> {
        match code {
            "pending" => Some(ReviewState::Pending),
            "approved" => Some(ReviewState::Approved),
            "rejected" => Some(ReviewState::Rejected),
            _ => None,
        }
    }
}

/// Staff's answer to a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject { reason: String },
}

/// Longest reason a rejection carries: a few sentences the person reads on a phone.
pub const REASON_MAX_CHARS: usize = 200;

/// The state a pending request moves to; a decided request is never decided again, and a
/// rejection says why in words the person reads.
pub fn decide(current: ReviewState, decision: &Decision) -> Result<ReviewState, Refusal> {
    if current != ReviewState::Pending {
        return Err(Refusal::ReviewAlreadyDecided);
    }
    match decision {
        Decision::Approve => Ok(ReviewState::Approved),
        Decision::Reject { reason } => {
            let n = reason.trim().chars().count();
            if n == 0 || n > REASON_MAX_CHARS {
                return Err(Refusal::ReviewReasonMissing);
            }
            Ok(ReviewState::Rejected)
        }
    }
}

/// A name as the ID card prints it: 2 to 20 characters, letters (Han or Latin) and the
/// middle dot of minority and foreign names, no digits.
pub fn check_name(name: &str) -> Result<String, Refusal> {
    let name = name.trim();
    let n = name.chars().count();
    let allowed = |c: char| c.is_alphabetic() || c == '·' || c == '•';
    if !(2..=20).contains(&n) || !name.chars().all(allowed) {
        return Err(Refusal::ReviewNameInvalid);
    }
    Ok(name.to_string())
}

/// A mainland mobile number: 11 digits starting with 1.
pub fn check_phone(phone: &str) -> Result<String, Refusal> {
    let phone = phone.trim();
    let ok =
        phone.len() == 11 && phone.starts_with('1') && phone.bytes().all(|b| b.is_ascii_digit());
    if !ok {
        return Err(Refusal::ReviewPhoneInvalid);
    }
    Ok(phone.to_string())
}

/// What a correction changes: the new name and mobile number, each only if it differs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Correction {
    pub name: Option<String>,
    pub phone: Option<String>,
}

/// A correction of the registered `(name, phone)` to the ones asked; a field left blank is
/// kept as registered, and a request that changes nothing is refused.
pub fn check_correction(
    registered: (&str, &str),
    asked_name: &str,
    asked_phone: &str,
) -> Result<Correction, Refusal> {
    let name = match asked_name.trim() {
        "" => None,
        n => Some(check_name(n)?).filter(|n| n != registered.0),
    };
    let phone = match asked_phone.trim() {
        "" => None,
        p => Some(check_phone(p)?).filter(|p| p != registered.1),
    };
    if name.is_none() && phone.is_none() {
        return Err(Refusal::ReviewNothingChanged);
    }
    Ok(Correction { name, phone })
}

/// A new resident as asked: a valid name, an ID number whose check digit holds (its birth
/// date returned) and a region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewResident {
    pub name: String,
    pub certno: String,
    pub birth_date: NaiveDate,
    pub male: bool,
    pub admdvs: Admdvs,
}

pub fn check_registration(name: &str, certno: &str, region: &str) -> Result<NewResident, Refusal> {
    let name = check_name(name)?;
    let certno = certno.trim().to_ascii_uppercase();
    let birth_date = idcard::validate(&certno).map_err(|_| Refusal::ReviewIdNumberInvalid)?;
    let male = idcard::gender_digit_is_male(&certno).ok_or(Refusal::ReviewIdNumberInvalid)?;
    let admdvs = Admdvs::parse(region).ok_or(Refusal::ReviewRegionInvalid)?;
    Ok(NewResident {
        name,
        certno,
        birth_date,
        male,
        admdvs,
    })
}

/// A registration names one of the regions the deployment serves (R-R7): a region outside
/// them has no policy and no agency here to register the person.
pub fn check_region_served(region: Admdvs, served: &[Admdvs]) -> Result<(), Refusal> {
    if served.contains(&region) {
        Ok(())
    } else {
        Err(Refusal::ReviewRegionNotServed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check<T>(r: Result<T, Refusal>) -> Result<T, &'static str> {
        r.map_err(|e| e.code())
    }

    fn reject(reason: &str) -> Decision {
        Decision::Reject {
            reason: reason.into(),
        }
    }

    #[test]
    fn a_registration_names_a_region_the_deployment_serves() {
        let jinan = Admdvs::parse("370102").expect("region");
        let yuncheng = Admdvs::parse("140802").expect("region");
        let beijing = Admdvs::parse("110101").expect("region");
        assert_eq!(
            check(check_region_served(jinan, &[jinan, yuncheng])),
            Ok(())
        );
        assert_eq!(
            check(check_region_served(beijing, &[jinan, yuncheng])),
            Err("GJ-REVIEW-REGION-NOT-SERVED")
        );
    }

    #[test]
    fn a_request_is_decided_once() {
        use ReviewState::*;
        assert_eq!(check(decide(Pending, &Decision::Approve)), Ok(Approved));
        assert_eq!(check(decide(Pending, &reject("照片不清楚"))), Ok(Rejected));
        for done in [Approved, Rejected] {
            assert_eq!(
                check(decide(done, &Decision::Approve)),
                Err("GJ-REVIEW-ALREADY-DECIDED")
            );
            assert_eq!(
                check(decide(done, &reject("再看一次"))),
                Err("GJ-REVIEW-ALREADY-DECIDED")
            );
        }
    }

    #[test]
    fn a_rejection_says_why() {
        use ReviewState::*;
        assert_eq!(
            check(decide(Pending, &reject("  "))),
            Err("GJ-REVIEW-REASON-MISSING")
        );
        let long = "字".repeat(REASON_MAX_CHARS + 1);
        assert_eq!(
            check(decide(Pending, &reject(&long))),
            Err("GJ-REVIEW-REASON-MISSING")
        );
    }

    #[test]
    fn a_correction_changes_only_what_differs() {
        let reg = ("张三", "13800000001");
        assert_eq!(
            check(check_correction(reg, "张叁", "")),
            Ok(Correction {
                name: Some("张叁".into()),
                phone: None
            })
        );
        assert_eq!(
            check(check_correction(reg, "张三", "13900000002")),
            Ok(Correction {
                name: None,
                phone: Some("13900000002".into())
            })
        );
        assert_eq!(
            check(check_correction(reg, "张三", "13800000001")),
            Err("GJ-REVIEW-NOTHING-CHANGED")
        );
        assert_eq!(
            check(check_correction(reg, "", "")),
            Err("GJ-REVIEW-NOTHING-CHANGED")
        );
    }

    #[test]
    fn a_correction_must_be_a_name_and_a_mobile_number() {
        let reg = ("张三", "13800000001");
        assert_eq!(
            check(check_correction(reg, "张", "")),
            Err("GJ-REVIEW-NAME-INVALID")
        );
        assert_eq!(
            check(check_correction(reg, "张3", "")),
            Err("GJ-REVIEW-NAME-INVALID")
        );
        assert_eq!(
            check(check_correction(reg, "", "2380000000")),
            Err("GJ-REVIEW-PHONE-INVALID")
        );
        assert_eq!(
            check(check_correction(reg, "", "1380000000a")),
            Err("GJ-REVIEW-PHONE-INVALID")
        );
        assert!(check(check_correction(reg, "阿依古丽·买买提", "")).is_ok());
    }

    #[test]
    fn a_registration_needs_an_id_number_whose_check_digit_holds() {
        let first17 = "37060220150301002";
        let good = format!("{first17}{}", idcard::check_char(first17).unwrap());
        let r = check(check_registration("李小明", &good, "370600")).unwrap();
        assert_eq!(r.birth_date, NaiveDate::from_ymd_opt(2015, 3, 1).unwrap());
        assert!(!r.male);
        let wrong = if good.ends_with('0') { "1" } else { "0" };
        let bad = format!("{first17}{wrong}");
        assert_eq!(
            check(check_registration("李小明", &bad, "370600")),
            Err("GJ-REVIEW-ID-NUMBER-INVALID")
        );
        assert_eq!(
            check(check_registration("李小明", &good, "3706")),
            Err("GJ-REVIEW-REGION-INVALID")
        );
        assert_eq!(
            check(check_registration("李", &good, "370600")),
            Err("GJ-REVIEW-NAME-INVALID")
        );
    }
}
