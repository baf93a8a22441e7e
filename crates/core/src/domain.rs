//! The things the rules reason about: persons, accounts, bindings, institutions, catalog items.
//! Plain data; the store loads them and the rules read them.

use chrono::NaiveDate;

use crate::codes::{
    Admdvs, Channel, ChargeLevel, Gender, HospitalLevel, InstitutionKind, InsuStatus, Insutype,
    Relationship,
};
use crate::money::{BasisPoints, Fen};
use crate::pii::{CertNo, PersonName, Phone};

/// 人员编号.
pub type PsnNo = String;

/// An insured person (参保人).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    pub psn_no: PsnNo,
    pub certno: CertNo,
    pub name: PersonName,
    pub gender: Gender,
    pub birth_date: NaiveDate,
    pub insutype: Insutype,
    /// psn_type as the bureau assigns it (在职, 退休, 城乡居民...), kept verbatim.
    pub psn_type: String,
    pub admdvs: Admdvs,
    pub insu_status: InsuStatus,
    pub civil_servant: bool,
    /// 公费医疗 persons may not take part in Shanxi (R-S1).
    pub public_medical: bool,
    pub employer_name: String,
    pub phone: Phone,
}

impl Person {
    pub fn is_employee(&self) -> bool {
        self.insutype == Insutype::Employee
    }

    pub fn is_insured_normally(&self) -> bool {
        self.insu_status == InsuStatus::Normal
    }

    /// Age in whole years on `date`.
    pub fn age_on(&self, date: NaiveDate) -> u32 {
        date.years_since(self.birth_date).unwrap_or(0)
    }
}

/// The state of a binding as people and staff change it; time validity is separate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindingStatus {
    Active,
    /// Suspended by staff (R-S7); may be lifted.
    Suspended,
    /// Unbound by the holder or ended by staff; final.
    Ended,
}

impl BindingStatus {
    pub fn code(self) -> &'static str {
        match self {
            BindingStatus::Active => "active",
            BindingStatus::Suspended => "suspended",
            BindingStatus::Ended => "ended",
        }
    }

    pub fn parse(s: &str) -> Option<BindingStatus> {
        match s {
            "active" => Some(BindingStatus::Active),
            "suspended" => Some(BindingStatus::Suspended),
            "ended" => Some(BindingStatus::Ended),
            _ => None,
        }
    }
}

/// A holder → relative mutual-aid binding (共济绑定).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    pub id: i64,
    pub holder: PsnNo,
    pub relative: PsnNo,
    /// What the relative is to the holder.
    pub relationship: Relationship,
    pub begin: NaiveDate,
    /// Last valid day, inclusive; `None` = open-ended.
    pub end: Option<NaiveDate>,
    pub limit_per_payment: Option<Fen>,
    pub limit_per_month: Option<Fen>,
    /// R-S3: what the relative may draw in one calendar day, and in one calendar year.
    pub limit_per_day: Option<Fen>,
    pub limit_per_year: Option<Fen>,
    pub status: BindingStatus,
    pub channel: Channel,
}

impl Binding {
    /// Valid by time and status on `date` (R-S9). Insurance status is judged separately.
    pub fn is_valid_on(&self, date: NaiveDate) -> bool {
        self.status == BindingStatus::Active && self.covers(date)
    }

    /// Whether `date` lies between begin and end, whatever the status.
    pub fn covers(&self, date: NaiveDate) -> bool {
        self.begin <= date && self.end.is_none_or(|end| date <= end)
    }

    /// Counts against uniqueness caps: active and not yet ended by `date`.
    pub fn is_current_or_future_on(&self, date: NaiveDate) -> bool {
        self.status != BindingStatus::Ended && self.end.is_none_or(|end| date <= end)
    }
}

/// A designated institution (定点医药机构).
#[derive(Clone, Debug, PartialEq)]
pub struct Institution {
    pub code: String,
    pub name: String,
    pub kind: InstitutionKind,
    pub level: HospitalLevel,
    pub admdvs: Admdvs,
    /// Coordinates are not money; degrees as f64 are fine here.
    pub lat: f64,
    pub lon: f64,
    /// Takes part in mutual aid.
    pub mutual_aid: bool,
    pub paasid: String,
    pub token: String,
    /// How people find and reach it (R-J6).
    pub contact: InstitutionContact,
}

/// Where an institution is, its telephone and when it is open, as people are shown them;
/// empty when the registry does not say.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InstitutionContact {
    pub address: String,
    pub phone: String,
    pub opening_hours: String,
}

/// A medical-insurance agency (医保经办机构): the office where people register, bind and ask
/// in person. Listed beside the institutions on the nearby page (R-J6); it takes no payments.
#[derive(Clone, Debug, PartialEq)]
pub struct Agency {
    pub code: String,
    pub name: String,
    pub admdvs: Admdvs,
    /// Coordinates are not money; degrees as f64 are fine here.
    pub lat: f64,
    pub lon: f64,
    pub contact: InstitutionContact,
}

/// A catalog entry (医保目录): class, price cap and class-B self-pay share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogItem {
    pub code: String,
    pub name: String,
    pub level: ChargeLevel,
    /// 最高限价 per unit; `None` = no cap.
    pub price_cap: Option<Fen>,
    /// 先行自付比例 for class B.
    pub selfpay_prop: BasisPoints,
}
