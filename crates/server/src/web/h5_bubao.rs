//! 补报 on /h5/payments (R-R2): each bill whose pooled-fund share was held back because the
//! resident had not yet paid for the year, told in plain words — paid back, to be paid back,
//! waiting for his payment, or never, and why.

use chrono::Datelike;
use gongji_core::coverage::BubaoStanding;

use super::i18n::{fill, Lang};
use super::session::ErrorView;
use crate::app::App;
use crate::service::bubao::{self, PersonBubaoView};

/// One sentence; `state` names it for the page (`paid`, `due`, `waiting`, `refused`).
#[derive(Clone, Debug)]
pub struct BubaoLine {
    pub state: &'static str,
    pub text: String,
}

/// The resident's 补报, newest first, or why they could not be read.
pub async fn lines(app: &App, lang: Lang, psn_no: &str) -> (Vec<BubaoLine>, Option<ErrorView>) {
    match bubao::of_person(app, psn_no).await {
        Ok(views) => (views.iter().map(|v| line(lang, v)).collect(), None),
        Err(e) => (Vec::new(), Some(ErrorView::of(lang, &e))),
    }
}

fn line(lang: Lang, v: &PersonBubaoView) -> BubaoLine {
    let t = lang.t();
    let day = |d: chrono::NaiveDate| {
        fill(
            t.h5_bubao_day,
            &[&d.year(), &d.month(), &d.day(), &d.format("%Y-%m-%d")],
        )
    };
    let (on, at) = (day(v.setl_date), v.place.as_str());
    let (state, text) = match (v.paid, v.standing) {
        (Some(paid), _) => ("paid", fill(t.h5_bubao_paid, &[&on, &at, &paid])),
        (None, Some(BubaoStanding::Due | BubaoStanding::Paid)) => {
            ("due", fill(t.h5_bubao_due, &[&on, &at, &v.held]))
        }
        (None, Some(BubaoStanding::AwaitingPayment { pay_by })) => (
            "waiting",
            fill(
                t.h5_bubao_awaiting,
                &[&on, &at, &v.held, &v.year, &day(pay_by)],
            ),
        ),
        (None, Some(BubaoStanding::Cancelled)) => {
            ("refused", fill(t.h5_bubao_cancelled, &[&on, &at]))
        }
        (
            None,
            Some(BubaoStanding::CollectionClosed {
                pay_by: Some(pay_by),
            }),
        ) => (
            "refused",
            fill(t.h5_bubao_closed, &[&on, &at, &v.year, &day(pay_by)]),
        ),
        (None, Some(BubaoStanding::CollectionClosed { pay_by: None }) | None) => {
            ("refused", fill(t.h5_bubao_not_here, &[&on, &at, &v.year]))
        }
    };
    BubaoLine { state, text }
}
