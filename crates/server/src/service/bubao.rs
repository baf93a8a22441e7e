//! 补报 (R-R2) for staff: the settlements whose fund share was held back before the resident
//! paid, and a run of the job, each settlement its own request under its own msgid (paid
//! once however often staff run it), audited with the change. For the resident: each of his
//! held-back settlements and where it stands, to be told in plain words.

use chrono::NaiveDate;
use gongji_core::codes::Channel;
use gongji_core::coverage::{bubao_standing, BubaoStanding, BubaoStandingFacts};
use gongji_core::premium::PremiumKind;
use gongji_core::Fen;
use gongji_engine::bubao::{bubao_request, BubaoResult};
use gongji_store::read::WithheldSettlement;
use gongji_store::BubaoRow;

use super::auth::Permission;
use super::staff::Staff;
use super::ServiceResult;
use crate::app::App;

/// How many paid 补报 the page lists.
const PAID_SHOWN: u32 = 50;

/// What waits for 补报, and the latest paid.
pub async fn overview(
    app: &App,
    staff: &Staff,
) -> ServiceResult<(Vec<WithheldSettlement>, Vec<BubaoRow>)> {
    staff.require(Permission::RecordRepayment)?;
    Ok(app
        .read_store(|s| Ok((s.bubao_candidates()?, s.bubao_paid(PAID_SHOWN)?)))
        .await?)
}

/// Runs the job now: every waiting settlement, with what became of it.
pub async fn run(
    app: &App,
    staff: &Staff,
) -> ServiceResult<Vec<(WithheldSettlement, BubaoResult)>> {
    staff.require(Permission::RecordRepayment)?;
    let candidates = app.read_store(|s| s.bubao_candidates()).await?;
    let mut results = Vec::with_capacity(candidates.len());
    for c in candidates {
        let request = bubao_request(&c, Channel::StaffConsole, &staff.actor(), app.clock.now());
        let answer = app.submit(request).await;
        results.push((c, BubaoResult::of(answer)));
    }
    Ok(results)
}

/// One held-back settlement of the signed-in resident, as he is told of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonBubaoView {
    pub setl_date: NaiveDate,
    /// The institution's name (its code if it is no longer registered).
    pub place: String,
    pub year: i32,
    /// What the pooled fund held back.
    pub held: Fen,
    /// What 补报 paid, once it has.
    pub paid: Option<Fen>,
    /// `None` where his region's policy is not configured here.
    pub standing: Option<BubaoStanding>,
}

/// The resident's held-back settlements, newest first, each with where it stands today.
pub async fn of_person(app: &App, psn_no: &str) -> ServiceResult<Vec<PersonBubaoView>> {
    let me = psn_no.to_string();
    let rows = app.read_store(move |s| s.bubao_of_person(&me)).await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let me = psn_no.to_string();
    let today = app.clock.now().date();
    let views = app
        .read(move |engine| {
            let state = engine.state();
            let policy = state
                .persons
                .get(&me)
                .and_then(|p| engine.policy_for(p).ok());
            rows.into_iter()
                .filter_map(|r| {
                    let setl_date = NaiveDate::parse_from_str(&r.setl_date, "%Y-%m-%d").ok()?;
                    let facts = BubaoStandingFacts {
                        setl_date,
                        cancelled: r.cancelled,
                        paid: r.paid.is_some(),
                        premium_paid: state.premiums_paid.contains(&(
                            me.clone(),
                            r.year,
                            PremiumKind::Resident,
                        )),
                        today,
                    };
                    Some(PersonBubaoView {
                        setl_date,
                        place: state
                            .institutions
                            .get(&r.fixmedins_code)
                            .map_or_else(|| r.fixmedins_code.clone(), |i| i.name.clone()),
                        year: r.year,
                        held: r.held,
                        paid: r.paid,
                        standing: policy.map(|p| bubao_standing(&facts, p)),
                    })
                })
                .collect::<Vec<_>>()
        })
        .await?;
    Ok(views)
}
