//! Paying my own resident premium (R-J5, issue 13): the years I may pay for, a confirmation
//! step (payee, year, category, amount), then an order with the payment provider. The
//! demo's provider (演示) pays at once and the page answers what was paid for which year;
//! a real provider's cashier page is where the browser goes next.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;

use super::{frame, require, PersonView, CHANNEL};
use crate::app::App;
use crate::service::collection::{self, NewOrder};
use crate::service::people;
use crate::web::i18n::{self, fill, Lang};
use crate::web::session::{self, field, see_other, ErrorView};
use crate::web::{lang_of, render_page, LangQuery, Page};
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

async fn page(
    app: &App,
    lang: Lang,
    remember: bool,
    psn_no: &str,
    year: &str,
) -> Result<SelfTemplate, Response> {
    let t = lang.t();
    let p = frame(
        app,
        (lang, remember),
        t.self_title,
        "premium",
        PATH,
        &[],
        Some(psn_no),
    )
    .await;
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
    let (lang, remember) = lang_of(
        &LangQuery {
            lang: q.lang.clone(),
        },
        &headers,
    );
    let psn_no = match require(&app, &headers, PATH).await {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    match page(&app, lang, remember, &psn_no, &field(&q.year)).await {
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
    let (lang, remember) = lang_of(&q, &headers);
    if !session::same_origin(&headers) {
        return session::cross_site(lang);
    }
    if !session::csrf_ok(&headers, form.csrf.as_deref()) {
        return session::stale_form(lang);
    }
    let psn_no = match require(&app, &headers, PATH).await {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let year = field(&form.year);
    let made = match year.parse::<i32>() {
        Ok(y) => collection::create_order(
            &app,
            &psn_no,
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
            let mut v = match page(&app, lang, remember, &psn_no, &year).await {
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
    let mut v = match page(&app, lang, remember, &psn_no, "").await {
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
