//! Reports for staff: mutual-aid use by division, day and institution kind (uses, persons,
//! amounts), and the collection of residents' premiums by region, category, channel and
//! agent against the year before (issue 13), as rows and as CSV.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate};
use gongji_core::codes::{Admdvs, InstitutionKind};
use gongji_core::collection::PaymentChannel;
use gongji_core::Fen;
use gongji_store::read::{CollectionGroup, CollectionRow, ReportQuery, ReportRow};

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

/// The benefit years the collection report answers for.
pub const COLLECTION_YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// One group of the collection report: the chosen year, the year before and the change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectionLine {
    /// The division, category, channel or agent code; empty for premiums without one.
    pub group: String,
    /// Its Chinese name.
    pub name: String,
    pub persons: i64,
    pub amount: Fen,
    pub prev_persons: i64,
    pub prev_amount: Fen,
    pub persons_change: i64,
    pub amount_change: Fen,
}

/// Collection progress of a benefit year against the year before.
#[derive(Clone, Debug)]
pub struct CollectionReport {
    pub year: i32,
    pub by: CollectionGroup,
    pub lines: Vec<CollectionLine>,
    /// The sums of the lines (a person is counted once per group, so the persons of the
    /// total are the sum of the groups').
    pub total: CollectionLine,
}

/// The benefit year whose collection season is open today in any region's policy (in the
/// autumn, next year), else this calendar year: what the collection report opens on.
pub async fn year_being_collected(app: &App) -> ServiceResult<i32> {
    let today = app.clock.now().date();
    let collected = app
        .read(move |engine| {
            let years = engine
                .policies()
                .policies()
                .iter()
                .filter_map(|p| p.contribution.as_ref())
                .flat_map(|c| &c.years);
            gongji_core::premium::year_being_collected(years, today)
        })
        .await?;
    Ok(collected.unwrap_or(today.year()))
}

/// Persons paid and amounts of residents' premiums for benefit year `year` and the year
/// before, per region, category, channel or agent.
pub async fn collection_report(
    app: &App,
    staff: &Staff,
    year: i32,
    by: CollectionGroup,
) -> ServiceResult<CollectionReport> {
    staff.require(Permission::Reports)?;
    if by == CollectionGroup::Agent {
        // What each agent took is read where agents are managed (agents.rs), not at the
        // window: the per-agent lines are their takings for the year.
        staff.require(Permission::ManageAgents)?;
    }
    if !COLLECTION_YEARS.contains(&year) {
        return Err(ServiceError::BadRequest(
            "待遇年度应为2000到2100之间的年份。".into(),
        ));
    }
    let rows = app
        .read_store(move |s| s.collection_report(year, by))
        .await?;
    let names = group_names(app, by).await?;
    let name_of = |code: &str| -> String {
        if let Some(n) = names.get(code) {
            return n.clone();
        }
        match by {
            CollectionGroup::Region => Admdvs::parse(code)
                .map(|a| crate::web::i18n::region_name(crate::web::i18n::Lang::Zh, a, code))
                .unwrap_or_else(|| "未知地区".to_string()),
            CollectionGroup::Channel => {
                PaymentChannel::parse(code).map_or(code.to_string(), |c| c.name_zh().to_string())
            }
            CollectionGroup::Agent if code.is_empty() => "非代收点缴纳".to_string(),
            _ => code.to_string(),
        }
    };
    lines_of(year, by, &rows, name_of)
}

fn lines_of(
    year: i32,
    by: CollectionGroup,
    rows: &[CollectionRow],
    name_of: impl Fn(&str) -> String,
) -> ServiceResult<CollectionReport> {
    let overflow = || ServiceError::BadRequest("金额超出范围".into());
    let mut groups: BTreeMap<&str, [(i64, Fen); 2]> = BTreeMap::new();
    for r in rows {
        let slot = if r.year == year {
            0
        } else if r.year == year - 1 {
            1
        } else {
            continue;
        };
        let g = groups
            .entry(r.group.as_str())
            .or_insert([(0, Fen::ZERO); 2]);
        g[slot].0 += r.persons;
        g[slot].1 = g[slot].1.checked_add(r.amount).ok_or_else(overflow)?;
    }
    let line = |group: &str, name: String, now: (i64, Fen), prev: (i64, Fen)| {
        Some(CollectionLine {
            group: group.to_string(),
            name,
            persons: now.0,
            amount: now.1,
            prev_persons: prev.0,
            prev_amount: prev.1,
            persons_change: now.0.checked_sub(prev.0)?,
            amount_change: now.1.checked_sub(prev.1)?,
        })
    };
    let mut lines = Vec::with_capacity(groups.len());
    let (mut now_total, mut prev_total) = ((0i64, Fen::ZERO), (0i64, Fen::ZERO));
    for (group, [now, prev]) in groups {
        now_total.0 = now_total.0.checked_add(now.0).ok_or_else(overflow)?;
        now_total.1 = now_total.1.checked_add(now.1).ok_or_else(overflow)?;
        prev_total.0 = prev_total.0.checked_add(prev.0).ok_or_else(overflow)?;
        prev_total.1 = prev_total.1.checked_add(prev.1).ok_or_else(overflow)?;
        lines.push(line(group, name_of(group), now, prev).ok_or_else(overflow)?);
    }
    let total = line("", "合计".to_string(), now_total, prev_total).ok_or_else(overflow)?;
    Ok(CollectionReport {
        year,
        by,
        lines,
        total,
    })
}

/// Names the store does not hold with the premium: the policies' category names and the
/// agents' names.
async fn group_names(app: &App, by: CollectionGroup) -> ServiceResult<HashMap<String, String>> {
    match by {
        CollectionGroup::Category => Ok(app
            .read(|engine| {
                let mut names = HashMap::new();
                for policy in engine.policies().policies() {
                    for y in policy.contribution.iter().flat_map(|c| &c.years) {
                        for c in &y.categories {
                            names
                                .entry(c.code.clone())
                                .or_insert_with(|| c.name_zh.clone());
                        }
                    }
                }
                names
            })
            .await?),
        CollectionGroup::Agent => Ok(app
            .read_store(|s| s.agents())
            .await?
            .into_iter()
            .map(|a| (a.agent_id, a.name))
            .collect()),
        CollectionGroup::Region | CollectionGroup::Channel => Ok(HashMap::new()),
    }
}

/// The Chinese name of a grouping.
pub fn group_title(by: CollectionGroup) -> &'static str {
    match by {
        CollectionGroup::Region => "地区",
        CollectionGroup::Category => "参保类别",
        CollectionGroup::Channel => "缴费渠道",
        CollectionGroup::Agent => "代收点",
    }
}

/// The collection report as CSV (UTF-8 with a BOM so spreadsheet programs read the Chinese;
/// amounts in yuan as exact decimal text).
pub fn collection_csv(report: &CollectionReport) -> Result<Vec<u8>, ServiceError> {
    let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    let fail = |e: csv::Error| ServiceError::BadRequest(e.to_string());
    let (y, p) = (report.year, report.year - 1);
    w.write_record([
        format!("{}代码", group_title(report.by)),
        group_title(report.by).to_string(),
        format!("{y}年缴费人数"),
        format!("{y}年缴费金额（元）"),
        format!("{p}年缴费人数"),
        format!("{p}年缴费金额（元）"),
        "人数增减".to_string(),
        "金额增减（元）".to_string(),
    ])
    .map_err(fail)?;
    for l in report.lines.iter().chain(std::iter::once(&report.total)) {
        w.write_record([
            l.group.clone(),
            l.name.clone(),
            l.persons.to_string(),
            l.amount.to_string(),
            l.prev_persons.to_string(),
            l.prev_amount.to_string(),
            l.persons_change.to_string(),
            l.amount_change.to_string(),
        ])
        .map_err(fail)?;
    }
    w.into_inner()
        .map_err(|e| ServiceError::BadRequest(e.to_string()))
}
