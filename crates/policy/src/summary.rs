//! A short human summary of a policy in Chinese, for `gongji policy check` and the console.

use std::fmt::Write as _;

use gongji_core::policy::{HolderOrder, Policy, PoolingRule};
use gongji_core::BasisPoints;

/// `6000` → `60%`, `5550` → `55.5%`.
fn percent(r: BasisPoints) -> String {
    let bp = r.get();
    let (whole, frac) = (bp / 100, bp % 100);
    if frac == 0 {
        format!("{whole}%")
    } else {
        let f = format!("{frac:02}");
        format!("{whole}.{}%", f.trim_end_matches('0'))
    }
}

fn joined<T>(items: &[T], f: impl Fn(&T) -> String) -> String {
    items.iter().map(f).collect::<Vec<_>>().join("、")
}

fn order_zh(order: HolderOrder) -> &'static str {
    match order {
        HolderOrder::ByBindingDate => "按绑定先后",
        HolderOrder::ByAvailableDesc => "按可用余额从多到少",
    }
}

fn pooling_line(r: &PoolingRule) -> String {
    let mut s = format!(
        "{}：险种 {}；医疗类别 {}；医院等级 {}；起付线 {} 元/年；甲类 {}、乙类 {}",
        r.name_zh,
        r.insutype,
        joined(&r.med_types, |m| format!("{m} {}", m.name_zh())),
        joined(&r.hospital_levels, |l| format!("{l} {}", l.name_zh())),
        r.deductible_per_year,
        percent(r.ratio_class_a),
        percent(r.ratio_class_b),
    );
    if let Some(c) = r.cap_per_visit {
        let _ = write!(s, "；每次限额 {c} 元");
    }
    if let Some(c) = r.cap_per_day {
        let _ = write!(s, "；每日限额 {c} 元");
    }
    if let Some(c) = r.cap_per_year {
        let _ = write!(s, "；年度限额 {c} 元");
    }
    let _ = write!(s, "（限额组 {}）", r.cap_group);
    if r.placeholder {
        s.push_str(" [占位值，以医保局公布为准]");
    }
    s
}

/// A few lines in Chinese: scope by date, holder and relative types, binding rules, reserve,
/// payment order and uses, pooling rules, second reimbursement and contribution years.
pub fn render_summary(policy: &Policy) -> String {
    let mut out = String::new();
    let b = &policy.binding;
    let p = &policy.payment;
    let _ = writeln!(out, "{}（{}）", policy.name_zh, policy.id);
    let _ = writeln!(
        out,
        "区划 {} · 版本 {} · 自 {} 起施行",
        policy.admdvs, policy.version, policy.effective_from
    );

    out.push_str("共济范围：\n");
    for period in &b.scope {
        let _ = writeln!(
            out,
            "  {} 起：{}",
            period.from,
            joined(&period.classes, |c| c.name_zh().to_owned())
        );
    }
    let _ = writeln!(
        out,
        "户主险种：{}；关系人险种：{}",
        joined(&b.holder_insutypes, |t| format!("{t} {}", t.name_zh())),
        joined(&b.relative_insutypes, |t| format!("{t} {}", t.name_zh())),
    );

    let mut rules: Vec<String> = Vec::new();
    if b.same_province_only {
        rules.push("仅限省内参保".into());
    }
    if b.exclude_public_medical {
        rules.push("公费医疗人员除外".into());
    }
    if b.one_spouse_two_parents {
        rules.push("配偶、父亲、母亲各限一条有效绑定".into());
    }
    if let Some(n) = b.max_holders_per_relative {
        rules.push(format!("每位关系人最多 {n} 位户主"));
    }
    if let Some(n) = b.max_relatives_per_holder {
        rules.push(format!("每位户主最多绑定 {n} 人"));
    }
    if let Some(n) = b.max_changes_per_month {
        rules.push(format!("每月最多绑定、解绑 {n} 次"));
    }
    if b.one_way {
        rules.push("单向绑定".into());
    }
    if b.holder_must_be_insured_normally {
        rules.push("户主须正常参保（减员时不可绑定、不可共济）".into());
    }
    if b.face_verification {
        rules.push("绑定、解绑须户主刷脸".into());
    }
    if b.end_date_only_earlier {
        rules.push("结束日期只能提前".into());
    }
    if b.auto_end_with_insurance {
        rules.push("任一方参保终止时绑定自动解除".into());
    }
    if rules.is_empty() {
        rules.push("无额外限制".into());
    }
    let _ = writeln!(out, "绑定规则：{}", rules.join("；"));

    let mut pay = vec![
        format!("保留额 {} 元（余额超出部分可共济）", p.reserve),
        format!("多位户主时{}支付", order_zh(p.holder_order)),
    ];
    if p.per_relative_limits {
        pay.push("户主可为每位关系人设限额".into());
    }
    if p.mutual_aid_follows_own_account {
        pay.push("本人账户不足时自动共济".into());
    }
    if p.mutual_aid_excludes_pooled_settlements {
        pay.push("统筹基金参与支付的结算不用共济".into());
    }
    pay.push(if p.holder_credential_authorises {
        "凭户主社保卡或电子凭证支取".into()
    } else {
        "凭就医人本人凭证支取".into()
    });
    let _ = writeln!(out, "支付：{}", pay.join("；"));
    let _ = writeln!(
        out,
        "共济用途：{}",
        joined(&p.mutual_aid_uses, |u| u.name_zh().to_owned())
    );

    if !policy.pooling.is_empty() {
        out.push_str("统筹规则：\n");
        for r in &policy.pooling {
            let _ = writeln!(out, "  {}", pooling_line(r));
        }
    }

    if let Some(s) = &policy.second_reimbursement {
        let _ = writeln!(
            out,
            "二次报销：险种 {}；医疗类别 {}；{}",
            s.insutype,
            joined(&s.med_types, |m| format!("{m} {}", m.name_zh())),
            s.tiers
                .iter()
                .map(|t| format!("{}–{} 元部分 {}", t.above, t.up_to, percent(t.ratio)))
                .collect::<Vec<_>>()
                .join("；"),
        );
    }

    if let Some(c) = &policy.contribution {
        out.push_str("居民缴费：\n");
        for y in &c.years {
            let mut line = format!(
                "  {} 年度：征收期 {} 至 {}",
                y.year, y.window_start, y.window_end
            );
            for e in &y.extensions {
                let _ = write!(line, "，自 {} 起延至 {}", e.from, e.to);
            }
            let _ = write!(
                line,
                "；每月 {}–{} 日受理；{}",
                y.accept_days.0,
                y.accept_days.1,
                joined(&y.categories, |c| format!("{} {} 元", c.name_zh, c.amount)),
            );
            let _ = writeln!(out, "{line}");
        }
    }
    if !policy.employee_premiums.is_empty() {
        out.push_str("可由共济缴纳的职工保费：\n");
        for p in &policy.employee_premiums {
            let _ = writeln!(
                out,
                "  {} 年度 {}：{} 至 {} 缴费，{} 元{}",
                p.year,
                p.name_zh,
                p.collect_from,
                p.collect_to,
                p.amount,
                if p.placeholder { "（占位值）" } else { "" }
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percents() {
        let p = |bp| BasisPoints::new(bp).map(percent);
        assert_eq!(p(6000).as_deref(), Some("60%"));
        assert_eq!(p(5550).as_deref(), Some("55.5%"));
        assert_eq!(p(1).as_deref(), Some("0.01%"));
        assert_eq!(p(0).as_deref(), Some("0%"));
    }
}
