//! The policy guide (R-J4): what mutual aid is and how it works in each region, read from
//! the region's policy as the engine loaded it, on the server's date. No sign-in.
//!
//! Nothing here states a number of its own: every amount, ratio, date and rule comes from the
//! [`Policy`]; this module only chooses the words.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{Datelike, NaiveDate};
use gongji_core::codes::{Admdvs, Insutype, RelationClass};
use gongji_core::policy::{HolderOrder, Policy};

use super::i18n::{self, fill, Lang};
use super::{lang_of, render_page, LangQuery, Page, RegionLink};
use crate::app::App;

fn is_province(admdvs: Admdvs) -> bool {
    admdvs == admdvs.province_admdvs()
}

/// Cities first, each after its province, in a stable order.
fn ordered(policies: &[Policy]) -> Vec<&Policy> {
    let mut v: Vec<&Policy> = policies.iter().collect();
    v.sort_by_key(|p| (p.admdvs.province(), !is_province(p.admdvs), p.admdvs.code()));
    v
}

fn level_name(lang: Lang, admdvs: Admdvs) -> &'static str {
    if is_province(admdvs) {
        lang.t().level_province
    } else {
        lang.t().level_city
    }
}

pub fn region_links(lang: Lang, policies: &[Policy]) -> Vec<RegionLink> {
    ordered(policies)
        .into_iter()
        .map(|p| RegionLink {
            href: format!("/guide/{}", p.id),
            name: i18n::region_name(lang, p.admdvs, &p.name_zh),
            level: level_name(lang, p.admdvs),
        })
        .collect()
}

fn classes_text(lang: Lang, classes: &[RelationClass]) -> String {
    classes
        .iter()
        .map(|c| i18n::relation_class(lang, *c))
        .collect::<Vec<_>>()
        .join(lang.t().list_sep)
}

fn insutypes_text(lang: Lang, types: &[Insutype]) -> String {
    types
        .iter()
        .map(|t| i18n::with_code(lang, i18n::insutype(lang, *t), &t.code()))
        .collect::<Vec<_>>()
        .join(lang.t().list_sep)
}

async fn policies(app: &App) -> Vec<Policy> {
    app.read(|e| e.policies().policies().to_vec())
        .await
        .unwrap_or_default()
}

// ---- list ----

pub struct RegionCard {
    pub href: String,
    pub name: String,
    pub title: String,
    pub level: &'static str,
    /// When the rules took effect, in words.
    pub version: String,
    pub scope_now: String,
}

#[derive(Template)]
#[template(path = "guide_list.html")]
struct ListTemplate {
    p: Page,
    today: String,
    regions: Vec<RegionCard>,
}

pub async fn list(
    State(app): State<App>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let (lang, remember) = lang_of(&q, &headers);
    let t = lang.t();
    let today = app.clock.now().date();
    let all = policies(&app).await;
    let regions = ordered(&all)
        .into_iter()
        .map(|p| RegionCard {
            href: format!("/guide/{}", p.id),
            name: i18n::region_name(lang, p.admdvs, &p.name_zh),
            title: i18n::policy_title(lang, p.admdvs, &p.name_zh),
            level: level_name(lang, p.admdvs),
            version: fill(t.guide_version, &[&p.version, &p.effective_from]),
            scope_now: classes_text(lang, p.binding.scope_on(today)),
        })
        .collect();
    let page = Page::new(lang, remember, t.guide_title, "guide", "/guide");
    render_page(
        &page,
        StatusCode::OK,
        &ListTemplate {
            p: page.clone(),
            today: fill(t.guide_today, &[&today]),
            regions,
        },
    )
}

// ---- detail ----

pub struct PeriodView {
    pub from: String,
    pub classes: String,
    /// "current", "past" or "future": a CSS class.
    pub state: &'static str,
    pub state_label: &'static str,
}

pub struct PoolRow {
    pub name: String,
    pub insutype: String,
    pub med_types: String,
    pub levels: String,
    pub deductible: String,
    pub class_a: String,
    pub class_b: String,
    pub caps: String,
    pub placeholder: bool,
}

pub struct ContribYear {
    pub title: String,
    pub window: String,
    pub open_now: bool,
    pub current: bool,
    pub categories: Vec<(String, String)>,
}

pub struct Faq {
    pub q: &'static str,
    pub a: String,
    pub reasons: Vec<String>,
    pub after: &'static str,
}

#[derive(Template)]
#[template(path = "guide_detail.html")]
struct DetailTemplate {
    p: Page,
    name: String,
    version: String,
    uses: Vec<&'static str>,
    scope_today_intro: String,
    scope_today: Vec<&'static str>,
    periods: Vec<PeriodView>,
    who: Vec<String>,
    rules: Vec<String>,
    reserve: Vec<String>,
    order: Vec<&'static str>,
    order_notes: Vec<&'static str>,
    pooling: Vec<PoolRow>,
    any_placeholder: bool,
    second_lead: Option<String>,
    second_tiers: Vec<String>,
    contributions: Vec<ContribYear>,
    contrib_benefit: bool,
    faqs: Vec<Faq>,
}

#[derive(Template)]
#[template(path = "guide_missing.html")]
struct MissingTemplate {
    p: Page,
}

pub async fn detail(
    State(app): State<App>,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let (lang, remember) = lang_of(&q, &headers);
    let t = lang.t();
    let today = app.clock.now().date();
    let all = policies(&app).await;
    let path = format!("/guide/{id}");
    let Some(policy) = all.iter().find(|p| p.id == id) else {
        let page = Page::new(lang, remember, t.guide_not_found, "guide", "/guide");
        return render_page(
            &page,
            StatusCode::NOT_FOUND,
            &MissingTemplate { p: page.clone() },
        );
    };
    let view = describe(lang, policy, today);
    let page = Page::new(lang, remember, &view.name, "guide", &path);
    render_page(
        &page,
        StatusCode::OK,
        &DetailTemplate {
            p: page.clone(),
            ..view
        },
    )
}

/// Everything the detail page says about one policy on `today`.
fn describe(lang: Lang, policy: &Policy, today: NaiveDate) -> DetailTemplate {
    let t = lang.t();
    let b = &policy.binding;
    let pay = &policy.payment;

    // Scope periods: which one is in force today (R-Y1).
    let current_from = b
        .scope
        .iter()
        .rev()
        .find(|s| s.from <= today)
        .map(|s| s.from);
    let periods = b
        .scope
        .iter()
        .map(|s| {
            let (state, state_label) = if Some(s.from) == current_from {
                ("current", t.g_period_current)
            } else if s.from > today {
                ("future", t.g_period_future)
            } else {
                ("past", t.g_period_past)
            };
            PeriodView {
                from: fill(t.g_from, &[&s.from]),
                classes: classes_text(lang, &s.classes),
                state,
                state_label,
            }
        })
        .collect();
    let scope_now = b.scope_on(today);

    let mut who = vec![
        fill(t.g_holder, &[&insutypes_text(lang, &b.holder_insutypes)]),
        fill(
            t.g_relative,
            &[&insutypes_text(lang, &b.relative_insutypes)],
        ),
        if b.same_province_only {
            t.g_same_province.to_string()
        } else {
            t.g_any_province.to_string()
        },
    ];
    if b.exclude_public_medical {
        who.push(t.g_no_public_medical.to_string());
    }

    let mut rules = Vec::new();
    if b.one_spouse_two_parents {
        rules.push(t.g_rule_one_spouse.to_string());
    }
    match b.max_holders_per_relative {
        Some(1) => rules.push(t.g_rule_one_holder.to_string()),
        Some(n) => rules.push(fill(t.g_rule_max_holders, &[&n])),
        None => {}
    }
    if let Some(n) = b.max_relatives_per_holder {
        rules.push(fill(t.g_rule_max_relatives, &[&n]));
    }
    if let Some(n) = b.max_changes_per_month {
        rules.push(fill(t.g_rule_max_changes, &[&n]));
    }
    if b.one_way {
        rules.push(t.g_rule_one_way.to_string());
    }
    if b.holder_must_be_insured_normally {
        rules.push(t.g_rule_insured_normally.to_string());
    }
    if b.face_verification {
        rules.push(t.g_rule_face.to_string());
    }
    if b.end_date_only_earlier {
        rules.push(t.g_rule_end_earlier.to_string());
    }
    if b.auto_end_with_insurance {
        rules.push(t.g_rule_auto_end.to_string());
    }
    if rules.is_empty() {
        rules.push(t.g_rule_none.to_string());
    }

    let mut reserve = Vec::new();
    if pay.reserve.is_positive() {
        reserve.push(fill(t.g_reserve_some, &[&pay.reserve]));
        // An example balance of three times the reserve, worked out exactly.
        let example = pay.reserve.checked_mul(3).unwrap_or(pay.reserve);
        let shareable = gongji_core::allocation::shareable(example, pay.reserve);
        reserve.push(fill(
            t.g_reserve_example,
            &[&pay.reserve, &example, &shareable],
        ));
    } else {
        reserve.push(t.g_reserve_none.to_string());
    }
    reserve.push(
        if pay.per_relative_limits {
            t.g_limits_yes
        } else {
            t.g_limits_no
        }
        .to_string(),
    );

    let order = vec![
        t.g_order_1,
        if pay.mutual_aid_follows_own_account {
            t.g_order_2_auto
        } else {
            t.g_order_2_explicit
        },
        t.g_order_3,
    ];
    let mut order_notes = vec![
        match pay.holder_order {
            HolderOrder::ByBindingDate => t.g_order_by_date,
            HolderOrder::ByAvailableDesc => t.g_order_by_available,
        },
        if pay.mutual_aid_excludes_pooled_settlements {
            t.g_pool_excluded
        } else {
            t.g_pool_not_excluded
        },
        if pay.holder_credential_authorises {
            t.g_cred_holder
        } else {
            t.g_cred_own
        },
    ];

    if b.max_holders_per_relative == Some(1) {
        order_notes.insert(1, t.g_order_one_holder);
    }

    let pooling: Vec<PoolRow> = policy
        .pooling
        .iter()
        .map(|r| {
            let mut caps = Vec::new();
            if let Some(c) = r.cap_per_visit {
                caps.push(fill(t.g_cap_visit, &[&c]));
            }
            if let Some(c) = r.cap_per_day {
                caps.push(fill(t.g_cap_day, &[&c]));
            }
            if let Some(c) = r.cap_per_year {
                caps.push(fill(t.g_cap_year, &[&c]));
            }
            PoolRow {
                name: i18n::pooling_rule_name(lang, &r.name_zh, r.insutype),
                insutype: i18n::insutype_short(lang, r.insutype).to_string(),
                med_types: r
                    .med_types
                    .iter()
                    .map(|m| i18n::med_type(lang, *m))
                    .collect::<Vec<_>>()
                    .join(t.list_sep),
                levels: r
                    .hospital_levels
                    .iter()
                    .map(|l| i18n::hospital_level(lang, *l))
                    .collect::<Vec<_>>()
                    .join(t.list_sep),
                deductible: format!("{} {}", r.deductible_per_year, t.yuan),
                class_a: i18n::percent(r.ratio_class_a),
                class_b: i18n::percent(r.ratio_class_b),
                caps: if caps.is_empty() {
                    t.g_no_cap.to_string()
                } else {
                    caps.join(t.list_sep)
                },
                placeholder: r.placeholder,
            }
        })
        .collect();
    let any_placeholder = pooling.iter().any(|r| r.placeholder);

    let (second_lead, second_tiers) = match &policy.second_reimbursement {
        Some(s) => (
            Some(fill(
                t.g_second_lead,
                &[&s.med_types
                    .iter()
                    .map(|m| i18n::med_type(lang, *m))
                    .collect::<Vec<_>>()
                    .join(t.list_sep)],
            )),
            s.tiers
                .iter()
                .map(|tier| {
                    fill(
                        t.g_second_tier,
                        &[&tier.above, &tier.up_to, &i18n::percent(tier.ratio)],
                    )
                })
                .collect(),
        ),
        None => (None, Vec::new()),
    };

    let contributions: Vec<ContribYear> = policy
        .contribution
        .iter()
        .flat_map(|c| c.years.iter())
        .map(|y| {
            let mut window = fill(t.g_contrib_window, &[&y.window_start, &y.window_end]);
            if let Some(e) = y.extended_to() {
                window.push_str(t.list_sep);
                window.push_str(&fill(t.g_contrib_extended, &[&e]));
            }
            window.push_str(t.list_sep);
            window.push_str(&fill(
                t.g_contrib_days,
                &[&y.accept_days.0, &y.accept_days.1],
            ));
            let last = y.extended_to().unwrap_or(y.window_end);
            ContribYear {
                title: fill(t.g_contrib_year, &[&y.year]),
                window,
                open_now: y.window_start <= today && today <= last,
                current: y.year == today.year(),
                categories: y
                    .categories
                    .iter()
                    .map(|c| {
                        (
                            i18n::contribution_category(lang, &c.code, &c.name_zh),
                            format!("{} {}", c.amount, t.yuan),
                        )
                    })
                    .collect(),
            }
        })
        .collect();
    let contrib_benefit = !contributions.is_empty();

    // Why a binding is refused (R-N5), with this region's own rules.
    let mut reasons = vec![
        t.faq_r_not_insured.to_string(),
        fill(t.faq_r_scope, &[&classes_text(lang, scope_now)]),
        t.faq_r_identity.to_string(),
        t.faq_r_type.to_string(),
    ];
    if b.same_province_only {
        reasons.insert(1, t.faq_r_region.to_string());
    }
    if b.max_holders_per_relative.is_some() {
        reasons.push(t.faq_r_already_bound.to_string());
    }
    if b.one_way {
        reasons.push(t.faq_r_one_way.to_string());
    }
    if b.holder_must_be_insured_normally {
        reasons.push(t.faq_r_paused.to_string());
    }
    if b.one_spouse_two_parents {
        reasons.push(t.faq_r_parents.to_string());
    }
    if let Some(n) = b.max_changes_per_month {
        reasons.push(fill(t.faq_r_month, &[&n]));
    }
    let mut faqs = vec![
        Faq {
            q: t.faq_q_qinqing,
            a: t.faq_a_qinqing.to_string(),
            reasons: Vec::new(),
            after: "",
        },
        Faq {
            q: t.faq_q_refused,
            a: t.faq_a_refused_lead.to_string(),
            reasons,
            after: t.faq_a_refused_next,
        },
        Faq {
            q: t.faq_q_check,
            a: t.faq_a_check.to_string(),
            reasons: Vec::new(),
            after: "",
        },
        Faq {
            q: t.faq_q_pay,
            a: t.faq_a_pay.to_string(),
            reasons: Vec::new(),
            after: "",
        },
    ];
    if b.face_verification {
        faqs.insert(
            2,
            Faq {
                q: t.faq_q_face,
                a: t.faq_a_face.to_string(),
                reasons: Vec::new(),
                after: "",
            },
        );
    }

    let name = i18n::policy_title(lang, policy.admdvs, &policy.name_zh);
    DetailTemplate {
        p: Page::new(lang, false, &name, "guide", "/guide"),
        name,
        version: fill(t.guide_version, &[&policy.version, &policy.effective_from]),
        uses: pay
            .mutual_aid_uses
            .iter()
            .map(|u| i18n::mutual_aid_use(lang, *u))
            .collect(),
        scope_today_intro: if scope_now.is_empty() {
            t.g_scope_none.to_string()
        } else {
            fill(t.g_scope_today, &[&today])
        },
        scope_today: scope_now
            .iter()
            .map(|c| i18n::relation_class(lang, *c))
            .collect(),
        periods,
        who,
        rules,
        reserve,
        order,
        order_notes,
        pooling,
        any_placeholder,
        second_lead,
        second_tiers,
        contributions,
        contrib_benefit,
        faqs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preset(id: &str) -> Policy {
        gongji_policy::presets()
            .by_id(id)
            .cloned()
            .unwrap_or_else(|| panic!("preset {id}"))
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    #[test]
    fn yantai_widens_to_siblings_from_its_policy_date() {
        let p = preset("shandong-yantai");
        let before = describe(Lang::Zh, &p, date("2025-08-31"));
        assert!(!before.scope_today.contains(&"兄弟姐妹"));
        let after = describe(Lang::Zh, &p, date("2026-03-10"));
        assert!(after.scope_today.contains(&"兄弟姐妹"));
        let current = after
            .periods
            .iter()
            .find(|x| x.state == "current")
            .map(|x| x.from.clone());
        assert_eq!(current.as_deref(), Some("2025-09-01 起"));
        let en = describe(Lang::En, &p, date("2026-03-10"));
        assert!(en.scope_today.contains(&"brothers and sisters"));
    }

    #[test]
    fn numbers_come_from_the_policy() {
        let p = preset("shanxi-yuncheng");
        let v = describe(Lang::Zh, &p, date("2026-03-10"));
        assert!(v.reserve[0].contains(&p.payment.reserve.to_string()));
        assert!(v.pooling.iter().any(|r| r.class_a == "60%"));
        assert!(v
            .contributions
            .iter()
            .any(|y| y.categories.iter().any(|(_, a)| a.starts_with("380.00"))));
        let zibo = describe(Lang::Zh, &preset("shandong-zibo"), date("2026-03-10"));
        assert!(zibo.rules.iter().any(|r| r.contains("单向")));
        assert!(zibo.order_notes.contains(&ZH_POOL_EXCLUDED));
    }

    const ZH_POOL_EXCLUDED: &str = i18n::ZH.g_pool_excluded;
}
