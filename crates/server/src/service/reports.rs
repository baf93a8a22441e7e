//! Reports for staff: mutual-aid use by division, day and institution kind (uses, persons,
//! amounts), as rows and as CSV.

use chrono::NaiveDate;
use gongji_core::codes::InstitutionKind;
use gongji_store::read::{ReportQuery, ReportRow};

use super::auth::Permission;
use super::staff::Staff;
use super::{ServiceError, ServiceResult};
use crate::app::App;

/// The longest period one report covers.
pub const REPORT_DAYS_MAX: i64 = 366;

pub async fn mutual_aid_report(
    app: &App,
    staff: &Staff,
    from: NaiveDate,
    to: NaiveDate,
    admdvs_prefix: Option<&str>,
) -> ServiceResult<Vec<ReportRow>> {
    staff.require(Permission::Reports)?;
    if to < from || (to - from).num_days() >= REPORT_DAYS_MAX {
        return Err(ServiceError::BadRequest(format!(
            "开始日期不能晚于结束日期，一次最多查询{REPORT_DAYS_MAX}天。"
        )));
    }
    let prefix = admdvs_prefix.unwrap_or("").trim().to_string();
    if prefix.len() > 6 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ServiceError::BadRequest(
            "地区应为最多6位的区划代码（37 省、3703 市、370303 区县），请从列表中选择。".into(),
        ));
    }
    let q = ReportQuery {
        from: from.format("%Y-%m-%d").to_string(),
        to: to.format("%Y-%m-%d").to_string(),
        admdvs_prefix: prefix,
    };
    Ok(app.read_store(move |s| s.mutual_aid_report(&q)).await?)
}

/// The Chinese name of a report row's kind.
pub fn kind_name(kind: &str) -> &'static str {
    match kind {
        "premium" => "代缴居民医保保费",
        k => InstitutionKind::parse(k).map_or("未知", |k| k.name_zh()),
    }
}

/// The report as CSV (UTF-8 with a BOM so spreadsheet programs read the Chinese headers).
pub fn to_csv(rows: &[ReportRow]) -> Result<Vec<u8>, ServiceError> {
    let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    let fail = |e: csv::Error| ServiceError::BadRequest(e.to_string());
    w.write_record([
        "admdvs",
        "day",
        "kind",
        "kind_name",
        "uses",
        "persons",
        "amount",
    ])
    .map_err(fail)?;
    for r in rows {
        w.write_record([
            r.admdvs.as_str(),
            r.day.as_str(),
            r.kind.as_str(),
            kind_name(&r.kind),
            &r.uses.to_string(),
            &r.persons.to_string(),
            &r.amount.to_string(),
        ])
        .map_err(fail)?;
    }
    w.into_inner()
        .map_err(|e| ServiceError::BadRequest(e.to_string()))
}
