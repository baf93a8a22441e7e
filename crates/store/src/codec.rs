//! Domain values to and from the text columns every backend stores.

use chrono::NaiveDate;
use gongji_core::codes::{
    Admdvs, Channel, ChargeLevel, Gender, HospitalLevel, InstitutionKind, InsuStatus, Insutype,
    Relationship,
};
use gongji_core::domain::{
    Agency, Binding, BindingStatus, CatalogItem, Institution, InstitutionContact, Person,
};
use gongji_core::pii::{CertNo, PersonName, Phone};
use gongji_core::{BasisPoints, Fen};

use crate::StoreError;

pub const DATE: &str = "%Y-%m-%d";

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what}: {value:?}"))
}

pub fn date(s: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(s, DATE).map_err(|_| corrupt("date", s))
}

pub fn fmt_date(d: NaiveDate) -> String {
    d.format(DATE).to_string()
}

fn code<T>(what: &str, s: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T, StoreError> {
    parse(s).ok_or_else(|| corrupt(what, s))
}

/// The columns of `persons`, in schema order.
pub struct PersonCols<'a> {
    pub psn_no: &'a str,
    pub certno: &'a str,
    pub name: &'a str,
    pub gend: &'a str,
    pub brdy: &'a str,
    pub insutype: &'a str,
    pub psn_type: &'a str,
    pub admdvs: &'a str,
    pub insu_status: &'a str,
    pub civil_servant: bool,
    pub public_medical: bool,
    pub emp_name: &'a str,
    pub phone: &'a str,
}

pub fn person_from_cols(c: PersonCols<'_>) -> Result<Person, StoreError> {
    Ok(Person {
        psn_no: c.psn_no.to_string(),
        certno: CertNo::new(c.certno),
        name: PersonName::new(c.name),
        gender: code("gend", c.gend, Gender::parse)?,
        birth_date: date(c.brdy)?,
        insutype: code("insutype", c.insutype, Insutype::parse)?,
        psn_type: c.psn_type.to_string(),
        admdvs: code("admdvs", c.admdvs, Admdvs::parse)?,
        insu_status: code("psn_insu_stas", c.insu_status, InsuStatus::parse)?,
        civil_servant: c.civil_servant,
        public_medical: c.public_medical,
        employer_name: c.emp_name.to_string(),
        phone: Phone::new(c.phone),
    })
}

pub struct InstitutionCols<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
    pub level: &'a str,
    pub admdvs: &'a str,
    pub lat: &'a str,
    pub lon: &'a str,
    pub mutual_aid: bool,
    pub paasid: &'a str,
    pub token: &'a str,
    pub address: &'a str,
    pub phone: &'a str,
    pub opening_hours: &'a str,
}

pub fn institution_from_cols(c: InstitutionCols<'_>) -> Result<Institution, StoreError> {
    Ok(Institution {
        code: c.code.to_string(),
        name: c.name.to_string(),
        kind: code("fixmedins_type", c.kind, InstitutionKind::parse)?,
        level: code("hosp_lv", c.level, HospitalLevel::parse)?,
        admdvs: code("admdvs", c.admdvs, Admdvs::parse)?,
        lat: c.lat.parse().map_err(|_| corrupt("lat", c.lat))?,
        lon: c.lon.parse().map_err(|_| corrupt("lon", c.lon))?,
        mutual_aid: c.mutual_aid,
        paasid: c.paasid.to_string(),
        token: c.token.to_string(),
        contact: InstitutionContact {
            address: c.address.to_string(),
            phone: c.phone.to_string(),
            opening_hours: c.opening_hours.to_string(),
        },
    })
}

/// An agency's columns as stored: code, name, admdvs, lat, lon, address, phone, hours.
pub fn agency_from_cols(c: [&str; 8]) -> Result<Agency, StoreError> {
    let [code_, name, admdvs, lat, lon, address, phone, hours] = c;
    Ok(Agency {
        code: code_.to_string(),
        name: name.to_string(),
        admdvs: code("admdvs", admdvs, Admdvs::parse)?,
        lat: lat.parse().map_err(|_| corrupt("lat", lat))?,
        lon: lon.parse().map_err(|_| corrupt("lon", lon))?,
        contact: InstitutionContact {
            address: address.to_string(),
            phone: phone.to_string(),
            opening_hours: hours.to_string(),
        },
    })
}

/// The columns SELECT lists for [`agency_from_cols`], in its order.
pub const AGENCY_COLUMNS: &str =
    "agency_code, agency_name, admdvs, lat, lon, address, phone, opening_hours";

pub fn catalog_from_cols(
    code_: &str,
    name: &str,
    level: &str,
    cap_fen: Option<i64>,
    selfpay_bp: i64,
) -> Result<CatalogItem, StoreError> {
    Ok(CatalogItem {
        code: code_.to_string(),
        name: name.to_string(),
        level: code("chrgitm_lv", level, ChargeLevel::parse)?,
        price_cap: cap_fen.map(Fen::from_fen),
        selfpay_prop: u16::try_from(selfpay_bp)
            .ok()
            .and_then(BasisPoints::new)
            .ok_or_else(|| corrupt("selfpay_prop_bp", &selfpay_bp.to_string()))?,
    })
}

pub struct BindingCols<'a> {
    pub id: i64,
    pub holder: &'a str,
    pub relative: &'a str,
    pub relationship: &'a str,
    pub begin: &'a str,
    pub end: Option<&'a str>,
    pub limit_per_payment: Option<i64>,
    pub limit_per_month: Option<i64>,
    pub status: &'a str,
    pub channel: &'a str,
    pub limit_per_day: Option<i64>,
    pub limit_per_year: Option<i64>,
}

pub fn binding_from_cols(c: BindingCols<'_>) -> Result<Binding, StoreError> {
    Ok(Binding {
        id: c.id,
        holder: c.holder.to_string(),
        relative: c.relative.to_string(),
        relationship: code("relationship", c.relationship, Relationship::parse)?,
        begin: date(c.begin)?,
        end: c.end.map(date).transpose()?,
        limit_per_payment: c.limit_per_payment.map(Fen::from_fen),
        limit_per_month: c.limit_per_month.map(Fen::from_fen),
        limit_per_day: c.limit_per_day.map(Fen::from_fen),
        limit_per_year: c.limit_per_year.map(Fen::from_fen),
        status: code("status", c.status, BindingStatus::parse)?,
        channel: code("channel", c.channel, Channel::parse)?,
    })
}
