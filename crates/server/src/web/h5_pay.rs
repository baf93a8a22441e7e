//! Paying my own resident premium (R-J5, issue 13): the years I may pay for, a confirmation
//! step (payee, year, category, amount), then an order with the payment provider. The
//! demo's provider (演示) pays at once and the page answers what was paid for which year;
//! a real provider's cashier page is where the browser goes next.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use serde::Deserialize;

use super::{PersonView, CHANNEL};
use crate::app::App;
use crate::service::collection::{self, NewOrder};
use crate::service::people;
use crate::web::h5_page::H5Page;
use crate::web::i18n::{self, fill};
use crate::web::session::{field, see_other, ErrorView};
use crate::web::{render_page, LangQuery, Page};
use gongji_core::premium::PremiumKind;

pub const PATH: &str = "/h5/premium/self";

#[derive(Deserialize, Default)]
pub struct SelfQuery {
    lang: Option<String>,
    /// The benefit year to confirm.
    year: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct SelfForm {
    csrf: Option<String>,
    year: Option<String>,
}

pub struct SelfOptionView {
    pub year: i32,
    pub year_label: String,
    pub category: String,
    pub amount: String,
    pub paid: bool,
}

pub struct SelfConfirmView {
    pub year: i32,
    pub category: String,
    pub amount: String,
}

pub struct SelfPaidView {
    pub year: i32,
    pub category: String,
    pub amount: String,
    pub channel: String,
    pub at: String,
    pub explanation: String,
    pub receipt_no: i64,
}

#[derive(Template)]
#[template(path = "h5_premium_self.html")]
struct SelfTemplate {
    p: Page,
    me: PersonView,
    options: Vec<SelfOptionView>,
    confirm: Option<SelfConfirmView>,
    paid: Option<SelfPaidView>,
    demo: bool,
    error: Option<ErrorView>,
}

async fn page(app: &App, h5: &H5Page, year: &str) -> Result<SelfTemplate, Response> {
    let (lang, psn_no) = (h5.lang, h5.psn_no.as_str());
    let t = h5.t();
    let p = h5.frame(app, t.self_title, "premium", PATH, &[]).await;
    let me = match people::who(app, psn_no).await {
        Ok(me) => PersonView::of(&me),
        Err(e) => return Err(super::problem(p, &e)),
    };
    let mut error = None;
    let options = match collection::own_options(app, psn_no).await {
        Ok(list) => list
            .into_iter()
            .map(|o| SelfOptionView {
                year: o.year,
                year_label: fill(t.premium_year_n, &[&o.year]),
                category: i18n::contribution_category(lang, &o.category, &o.category_name),
                amount: o.amount.to_string(),
                paid: o.already_paid,
            })
            .collect(),
        Err(e) => {
            error = Some(ErrorView::of(lang, &e));
            Vec::new()
        }
    };
    let confirm = options
        .iter()
        .find(|o| o.year.to_string() == year && !o.paid)
        .map(|o| SelfConfirmView {
            year: o.year,
            category: o.category.clone(),
            amount: o.amount.clone(),
        });
    Ok(SelfTemplate {
        p,
        me,
        options,
        confirm,
        paid: None,
        demo: app.deployment.is_demo() && app.payment.is_development(),
        error,
    })
}

pub async fn show(
    State(app): State<App>,
    Query(q): Query<SelfQuery>,
    headers: HeaderMap,
) -> Response {
    let h5 = match H5Page::open(&app, &headers, q.lang, PATH).await {
        Ok(h5) => h5,
        Err(r) => return r,
    };
    match page(&app, &h5, &field(&q.year)).await {
        Ok(v) => {
            let p = v.p.clone();
            render_page(&p, StatusCode::OK, &v)
        }
        Err(r) => r,
    }
}

pub async fn act(
    State(app): State<App>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Form<SelfForm>,
) -> Response {
    let csrf = form.csrf.as_deref();
    let h5 = match H5Page::open_form(&app, &headers, q.lang, csrf, PATH).await {
        Ok(h5) => h5,
        Err(r) => return r,
    };
    let (lang, psn_no) = (h5.lang, &h5.psn_no);
    let year = field(&form.year);
    let made = match year.parse::<i32>() {
        Ok(y) => collection::create_order(
            &app,
            psn_no,
            NewOrder {
                psn_no: psn_no.clone(),
                kind: PremiumKind::Resident,
                year: y,
            },
            CHANNEL,
        )
        .await
        .map_err(|e| ErrorView::of(lang, &e)),
        Err(_) => Err(ErrorView::input(lang.t().premium_choose_missing)),
    };
    let made = match made {
        Ok(m) => m,
        Err(e) => {
            let mut v = match page(&app, &h5, &year).await {
                Ok(v) => v,
                Err(r) => return r,
            };
            v.error = Some(e);
            let p = v.p.clone();
            return render_page(&p, StatusCode::UNPROCESSABLE_ENTITY, &v);
        }
    };
    if let (None, Some(url)) = (&made.confirmed, &made.pay_url) {
        return see_other(url);
    }
    let mut v = match page(&app, &h5, "").await {
        Ok(v) => v,
        Err(r) => return r,
    };
    v.paid = made.confirmed.map(|c| SelfPaidView {
        year: c.year,
        category: i18n::contribution_category(lang, &made.category, &made.category_name),
        amount: c.amount.to_string(),
        channel: i18n::payment_channel(lang, c.channel.code()).to_string(),
        at: c.paid_at,
        explanation: c.explanation,
        receipt_no: c.receipt_no,
    });
    let p = v.p.clone();
    render_page(&p, StatusCode::OK, &v)
}
