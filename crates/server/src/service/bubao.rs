//! 补报 (R-R2) for staff: the settlements whose fund share was held back before the resident
//! paid, and a run of the job, each settlement its own request under its own msgid (paid
//! once however often staff run it), audited with the change.

use gongji_core::codes::Channel;
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
