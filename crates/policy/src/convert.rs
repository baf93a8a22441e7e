//! Wire types → core policy model, checking everything the types alone cannot say.
//!
//! The first problem found stops the conversion; its error names the file, the line and the
//! dotted field path (`pooling[1].ratio_class_a`).

use std::ops::Range;

use chrono::NaiveDate;
use gongji_core::codes::{Admdvs, HospitalLevel, Insutype, MedType, MutualAidUse, RelationClass};
use gongji_core::money::MoneyParseError;
use gongji_core::policy::{
    BindingPolicy, ContributionCategory, ContributionPolicy, ContributionYear, EmployeePremium,
    HolderOrder, PaymentPolicy, Policy, PoolingRule, ReimbursementTier, ScopePeriod,
    SecondReimbursement, WindowExtension,
};
use gongji_core::{BasisPoints, Fen};
use toml::Spanned;

use crate::wire::{self, Codes, Quoted, RawDate};
use crate::{locate, PolicyError, PolicyErrorKind};

/// Bounds on what a policy file may say, named so they can be read and changed in one place.
const ID_LEN_MAX: usize = 64;
const YEAR_MIN: i64 = 1990;
const YEAR_MAX: i64 = 2100;
const COUNT_CAP_MAX: i64 = 1000;

/// A parsed policy with the lines the file-set checks need.
pub(crate) struct Parsed {
    pub policy: Policy,
    pub id_line: usize,
    pub admdvs_line: usize,
}

struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
}

type R<T> = Result<T, PolicyError>;

impl Ctx<'_> {
    fn err(&self, span: Range<usize>, field: &str, message: impl Into<String>) -> PolicyError {
        PolicyError {
            kind: PolicyErrorKind::Invalid,
            file: self.file.to_owned(),
            line: Some(locate::line_of(self.text, span.start)),
            field: field.to_owned(),
            message: message.into(),
        }
    }

    fn line(&self, span: Range<usize>) -> usize {
        locate::line_of(self.text, span.start)
    }

    fn text(&self, v: &Spanned<String>, field: &str) -> R<String> {
        let t = v.get_ref().trim();
        if t.is_empty() {
            return Err(self.err(v.span(), field, "不能为空 / must not be empty"));
        }
        Ok(t.to_owned())
    }

    fn date(&self, v: &Spanned<RawDate>, field: &str) -> R<NaiveDate> {
        let bad = || {
            self.err(
                v.span(),
                field,
                "日期须为 yyyy-mm-dd 且真实存在 / a date is yyyy-mm-dd and must exist",
            )
        };
        match v.get_ref() {
            RawDate::Text(t) => {
                let b = t.as_bytes();
                let shape = b.len() == 10
                    && b.iter().enumerate().all(|(i, c)| match i {
                        4 | 7 => *c == b'-',
                        _ => c.is_ascii_digit(),
                    });
                if !shape {
                    return Err(bad());
                }
                NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| bad())
            }
            RawDate::Toml(dt) => match (dt.date, dt.time, dt.offset) {
                (Some(d), None, None) => NaiveDate::from_ymd_opt(
                    i32::from(d.year),
                    u32::from(d.month),
                    u32::from(d.day),
                )
                .ok_or_else(bad),
                _ => Err(self.err(
                    v.span(),
                    field,
                    "只写日期 yyyy-mm-dd，不带时间或时区 / a date only, yyyy-mm-dd, without time or offset",
                )),
            },
        }
    }

    /// Yuan text → fen, exactly; never negative.
    fn money(&self, v: &Spanned<Quoted>, field: &str) -> R<Fen> {
        let fen = Fen::parse_yuan(&v.get_ref().0)
            .map_err(|e| self.err(v.span(), field, e.to_string()))?;
        if fen.is_negative() {
            return Err(self.err(
                v.span(),
                field,
                "金额不能为负 / an amount must not be negative",
            ));
        }
        if fen > Fen::INPUT_MAX {
            return Err(self.err(v.span(), field, MoneyParseError::OutOfRange.to_string()));
        }
        Ok(fen)
    }

    /// A positive amount (caps).
    fn cap(&self, v: &Option<Spanned<Quoted>>, field: &str) -> R<Option<Fen>> {
        let Some(v) = v else { return Ok(None) };
        let fen = self.money(v, field)?;
        if !fen.is_positive() {
            return Err(self.err(
                v.span(),
                field,
                "限额须大于 0；不限额请删去此项 / a cap must be above 0; leave it out for no cap",
            ));
        }
        Ok(Some(fen))
    }

    fn ratio(&self, v: &Spanned<Quoted>, field: &str) -> R<BasisPoints> {
        BasisPoints::parse_fraction(&v.get_ref().0).map_err(|e| {
            let msg = match e {
                MoneyParseError::TooManyDecimals { .. } => {
                    "比例最多4位小数 / a ratio has at most 4 decimals"
                }
                MoneyParseError::OutOfRange => {
                    "比例须在 0 到 1 之间 / a ratio lies between 0 and 1"
                }
                MoneyParseError::Empty | MoneyParseError::NotANumber => {
                    "比例须写成小数，如 \"0.60\" / a ratio is a decimal such as \"0.60\""
                }
            };
            self.err(v.span(), field, msg)
        })
    }

    fn count_cap(&self, v: &Option<Spanned<i64>>, field: &str) -> R<Option<u32>> {
        let Some(v) = v else { return Ok(None) };
        let n = *v.get_ref();
        if !(1..=COUNT_CAP_MAX).contains(&n) {
            return Err(self.err(
                v.span(),
                field,
                format!(
                    "须在 1 到 {COUNT_CAP_MAX} 之间；不限制请删去此项 / must be 1 to {COUNT_CAP_MAX}; leave it out for no limit"
                ),
            ));
        }
        u32::try_from(n)
            .map(Some)
            .map_err(|_| self.err(v.span(), field, "超出范围 / out of range"))
    }

    /// A non-empty list of distinct codes, each parsed by `parse`.
    fn codes<T: PartialEq>(
        &self,
        list: &Codes,
        field: &str,
        what: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> R<Vec<T>> {
        if list.get_ref().is_empty() {
            return Err(self.err(list.span(), field, "不能为空 / must not be empty"));
        }
        let mut out = Vec::with_capacity(list.get_ref().len());
        for (i, item) in list.get_ref().iter().enumerate() {
            let path = format!("{field}[{i}]");
            let raw = item.get_ref().0.as_str();
            let code = parse(raw).ok_or_else(|| {
                self.err(
                    item.span(),
                    &path,
                    format!("未知的{what} \"{raw}\" / unknown {what} \"{raw}\""),
                )
            })?;
            if out.contains(&code) {
                return Err(self.err(
                    item.span(),
                    &path,
                    format!("重复的值 \"{raw}\" / duplicate \"{raw}\""),
                ));
            }
            out.push(code);
        }
        Ok(out)
    }

    fn insutype(&self, v: &Spanned<Quoted>, field: &str) -> R<Insutype> {
        let raw = v.get_ref().0.as_str();
        Insutype::parse(raw).ok_or_else(|| {
            self.err(
                v.span(),
                field,
                format!("未知险种 \"{raw}\" / unknown insutype \"{raw}\""),
            )
        })
    }
}

fn identifier(s: &str, extra: char) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == extra)
}

fn relation_class(s: &str) -> Option<RelationClass> {
    RelationClass::parse(s)
}

fn insutype(s: &str) -> Option<Insutype> {
    Insutype::parse(s)
}

fn med_type(s: &str) -> Option<MedType> {
    MedType::parse(s)
}

fn hospital_level(s: &str) -> Option<HospitalLevel> {
    HospitalLevel::parse(s)
}

fn mutual_aid_use(s: &str) -> Option<MutualAidUse> {
    MutualAidUse::parse(s)
}

/// Turns a serde/TOML error into ours: line from the span, field read from the text around it,
/// and the message in Chinese and English.
fn from_toml(file: &str, text: &str, e: &toml::de::Error) -> PolicyError {
    let msg = e.message().trim();
    let span = e.span();
    let offset = span.as_ref().map_or(0, |s| s.start);
    let line = span.as_ref().map(|s| locate::line_of(text, s.start));
    let quoted = |m: &str| m.split('`').nth(1).map(str::to_owned);
    let (field, message) = if let Some(rest) = msg.strip_prefix("unknown field ") {
        let name = quoted(rest).unwrap_or_default();
        let expected = rest
            .split_once(", ")
            .map_or(String::new(), |(_, e)| format!("; {e}"));
        (
            locate::field_in_table(text, offset, &name),
            format!("未知字段 / unknown field{expected}"),
        )
    } else if let Some(rest) = msg.strip_prefix("missing field ") {
        let name = quoted(rest).unwrap_or_default();
        (
            locate::field_in_table(text, offset, &name),
            "缺少必填字段 / missing required field".to_owned(),
        )
    } else {
        let field = if span.is_some() {
            locate::field_of_value(text, offset)
        } else {
            String::new()
        };
        let one_line = msg.replace('\n', "; ");
        let message = if msg.starts_with(|c: char| !c.is_ascii()) {
            // Our own visitors already speak both languages.
            one_line
        } else if let Some(rest) = one_line.strip_prefix("invalid type: ") {
            format!("类型不对 / wrong type: {rest}")
        } else if let Some(rest) = one_line.strip_prefix("invalid value: ") {
            format!("取值不对 / invalid value: {rest}")
        } else if let Some(rest) = one_line.strip_prefix("invalid length ") {
            format!("长度不对 / invalid length {rest}")
        } else {
            format!("TOML 格式错误 / TOML syntax error: {one_line}")
        };
        (field, message)
    };
    PolicyError {
        kind: PolicyErrorKind::Invalid,
        file: file.to_owned(),
        line,
        field,
        message,
    }
}

pub(crate) fn parse(file: &str, text: &str) -> R<Parsed> {
    let raw: wire::File = toml::from_str(text).map_err(|e| from_toml(file, text, &e))?;
    let cx = Ctx { file, text };

    let id = cx.text(&raw.id, "id")?;
    if id.len() > ID_LEN_MAX || !identifier(&id, '-') {
        return Err(cx.err(
            raw.id.span(),
            "id",
            "id 只用小写字母、数字和连字符，如 \"shandong-zibo\" / an id uses lowercase letters, digits and '-', e.g. \"shandong-zibo\"",
        ));
    }
    let name_zh = cx.text(&raw.name_zh, "name_zh")?;
    let admdvs_text = raw.admdvs.get_ref().0.trim();
    let admdvs = Admdvs::parse(admdvs_text).ok_or_else(|| {
        cx.err(
            raw.admdvs.span(),
            "admdvs",
            "区划须为6位数字，如 \"370300\" / admdvs is 6 digits, e.g. \"370300\"",
        )
    })?;
    if admdvs.city_admdvs() != admdvs {
        return Err(cx.err(
            raw.admdvs.span(),
            "admdvs",
            "策略只能属于省（如 370000）或市（如 370300），不能属于区县 / a policy belongs to a province (e.g. 370000) or a city (e.g. 370300), not a county",
        ));
    }
    let version = cx.text(&raw.version, "version")?;
    let effective_from = cx.date(&raw.effective_from, "effective_from")?;

    let binding = binding(&cx, &raw.binding, effective_from)?;
    let payment = payment(&cx, &raw.payment)?;
    let pooling = pooling(&cx, &raw.pooling)?;
    let second_reimbursement = raw
        .second_reimbursement
        .as_ref()
        .map(|s| second_reimbursement(&cx, s))
        .transpose()?;
    let contribution = raw
        .contribution
        .as_ref()
        .map(|c| contribution(&cx, c))
        .transpose()?;
    let employee_premiums = employee_premiums(&cx, &raw.employee_premiums)?;

    Ok(Parsed {
        id_line: cx.line(raw.id.span()),
        admdvs_line: cx.line(raw.admdvs.span()),
        policy: Policy {
            id,
            name_zh,
            admdvs,
            version,
            effective_from,
            binding,
            payment,
            pooling,
            second_reimbursement,
            contribution,
            employee_premiums,
        },
    })
}

fn binding(cx: &Ctx<'_>, b: &wire::Binding, effective_from: NaiveDate) -> R<BindingPolicy> {
    if b.scope.get_ref().is_empty() {
        return Err(cx.err(
            b.scope.span(),
            "binding.scope",
            "至少需要一个共济范围时段 [[binding.scope]] / at least one [[binding.scope]] period is needed",
        ));
    }
    let mut scope: Vec<ScopePeriod> = Vec::with_capacity(b.scope.get_ref().len());
    for (i, p) in b.scope.get_ref().iter().enumerate() {
        let path = format!("binding.scope[{i}]");
        let from = cx.date(&p.from, &format!("{path}.from"))?;
        if let Some(prev) = scope.last() {
            if from == prev.from {
                return Err(cx.err(
                    p.from.span(),
                    &format!("{path}.from"),
                    format!("与上一时段日期相同（{from}） / the same date as the period before ({from})"),
                ));
            }
            if from < prev.from {
                return Err(cx.err(
                    p.from.span(),
                    &format!("{path}.from"),
                    format!(
                        "共济范围时段须按日期升序排列：{from} 早于上一时段的 {} / scope periods must be in ascending date order: {from} is before the previous {}",
                        prev.from, prev.from
                    ),
                ));
            }
        } else if from > effective_from {
            return Err(cx.err(
                p.from.span(),
                &format!("{path}.from"),
                format!(
                    "第一个时段须不晚于 effective_from（{effective_from}），否则生效后有一段时间无人可绑定 / the first period must start on or before effective_from ({effective_from}), or nobody could bind for a while"
                ),
            ));
        }
        let classes = cx.codes(
            &p.classes,
            &format!("{path}.classes"),
            "亲属类别 / relation class",
            relation_class,
        )?;
        scope.push(ScopePeriod { from, classes });
    }
    Ok(BindingPolicy {
        scope,
        same_province_only: b.same_province_only,
        holder_insutypes: cx.codes(
            &b.holder_insutypes,
            "binding.holder_insutypes",
            "险种 / insutype",
            insutype,
        )?,
        relative_insutypes: cx.codes(
            &b.relative_insutypes,
            "binding.relative_insutypes",
            "险种 / insutype",
            insutype,
        )?,
        exclude_public_medical: b.exclude_public_medical,
        one_spouse_two_parents: b.one_spouse_two_parents,
        max_holders_per_relative: cx.count_cap(
            &b.max_holders_per_relative,
            "binding.max_holders_per_relative",
        )?,
        max_relatives_per_holder: cx.count_cap(
            &b.max_relatives_per_holder,
            "binding.max_relatives_per_holder",
        )?,
        max_changes_per_month: cx
            .count_cap(&b.max_changes_per_month, "binding.max_changes_per_month")?,
        one_way: b.one_way,
        holder_must_be_insured_normally: b.holder_must_be_insured_normally,
        face_verification: b.face_verification,
        end_date_only_earlier: b.end_date_only_earlier,
        auto_end_with_insurance: b.auto_end_with_insurance,
        cross_province_from: b
            .cross_province_from
            .as_ref()
            .map(|d| cx.date(d, "binding.cross_province_from"))
            .transpose()?,
    })
}

fn payment(cx: &Ctx<'_>, p: &wire::Payment) -> R<PaymentPolicy> {
    let order = p.holder_order.get_ref().0.as_str();
    let holder_order = HolderOrder::parse(order).ok_or_else(|| {
        cx.err(
            p.holder_order.span(),
            "payment.holder_order",
            format!(
                "未知的户主顺序 \"{order}\"，可选 by_binding_date 或 by_available_desc / unknown holder order \"{order}\"; use by_binding_date or by_available_desc"
            ),
        )
    })?;
    Ok(PaymentPolicy {
        reserve: cx.money(&p.reserve, "payment.reserve")?,
        per_relative_limits: p.per_relative_limits,
        mutual_aid_follows_own_account: p.mutual_aid_follows_own_account,
        holder_order,
        mutual_aid_excludes_pooled_settlements: p.mutual_aid_excludes_pooled_settlements,
        holder_credential_authorises: p.holder_credential_authorises,
        mutual_aid_uses: cx.codes(
            &p.mutual_aid_uses,
            "payment.mutual_aid_uses",
            "共济用途 / mutual-aid use",
            mutual_aid_use,
        )?,
    })
}

fn pooling(cx: &Ctx<'_>, rules: &[wire::Pooling]) -> R<Vec<PoolingRule>> {
    let mut out: Vec<PoolingRule> = Vec::with_capacity(rules.len());
    for (i, r) in rules.iter().enumerate() {
        let path = format!("pooling[{i}]");
        let f = |name: &str| format!("{path}.{name}");
        let cap_group = cx.text(&r.cap_group, &f("cap_group"))?;
        let rule = PoolingRule {
            name_zh: cx.text(&r.name_zh, &f("name_zh"))?,
            insutype: cx.insutype(&r.insutype, &f("insutype"))?,
            med_types: cx.codes(
                &r.med_types,
                &f("med_types"),
                "医疗类别 / med_type",
                med_type,
            )?,
            hospital_levels: cx.codes(
                &r.hospital_levels,
                &f("hospital_levels"),
                "医院等级 / hospital level",
                hospital_level,
            )?,
            cap_group,
            deductible_per_year: cx.money(&r.deductible_per_year, &f("deductible_per_year"))?,
            ratio_class_a: cx.ratio(&r.ratio_class_a, &f("ratio_class_a"))?,
            ratio_class_b: cx.ratio(&r.ratio_class_b, &f("ratio_class_b"))?,
            cap_per_visit: cx.cap(&r.cap_per_visit, &f("cap_per_visit"))?,
            cap_per_day: cx.cap(&r.cap_per_day, &f("cap_per_day"))?,
            cap_per_year: cx.cap(&r.cap_per_year, &f("cap_per_year"))?,
            placeholder: r.placeholder,
        };
        // Caps nest: a visit within a day within a year.
        if let (Some(visit), Some(day)) = (rule.cap_per_visit, rule.cap_per_day) {
            if visit > day {
                if let Some(s) = &r.cap_per_visit {
                    return Err(cx.err(s.span(), &f("cap_per_visit"), "每次限额不能高于每日限额 / the per-visit cap cannot exceed the per-day cap"));
                }
            }
        }
        let smaller = rule.cap_per_day.or(rule.cap_per_visit);
        if let (Some(small), Some(year)) = (smaller, rule.cap_per_year) {
            if small > year {
                if let Some(s) = &r.cap_per_year {
                    return Err(cx.err(s.span(), &f("cap_per_year"), "年度限额不能低于每日或每次限额 / the yearly cap cannot be below the per-day or per-visit cap"));
                }
            }
        }
        for (j, other) in out.iter().enumerate() {
            if other.cap_group == rule.cap_group {
                // One cap group is one shared deductible and one shared yearly cap.
                let mismatch = if other.insutype != rule.insutype {
                    Some((r.insutype.span(), "insutype", "险种 / insutype"))
                } else if other.deductible_per_year != rule.deductible_per_year {
                    Some((
                        r.deductible_per_year.span(),
                        "deductible_per_year",
                        "起付线 / deductible",
                    ))
                } else if other.cap_per_year != rule.cap_per_year {
                    let span = r
                        .cap_per_year
                        .as_ref()
                        .map_or(r.cap_group.span(), |s| s.span());
                    Some((span, "cap_per_year", "年度限额 / yearly cap"))
                } else {
                    None
                };
                if let Some((span, name, what)) = mismatch {
                    return Err(cx.err(
                        span,
                        &f(name),
                        format!(
                            "同一 cap_group \"{}\" 的规则须有相同的{what}（见 pooling[{j}]） / rules in one cap_group \"{}\" share the same {what} (see pooling[{j}])",
                            rule.cap_group, rule.cap_group
                        ),
                    ));
                }
            }
            if other.insutype == rule.insutype {
                let med = rule.med_types.iter().find(|m| other.med_types.contains(m));
                let lv = rule
                    .hospital_levels
                    .iter()
                    .find(|l| other.hospital_levels.contains(l));
                if let (Some(m), Some(l)) = (med, lv) {
                    return Err(cx.err(
                        r.med_types.span(),
                        &f("med_types"),
                        format!(
                            "与 pooling[{j}] 重叠（险种 {}、医疗类别 {m}、医院等级 {l}），一笔费用只能适用一条规则 / overlaps pooling[{j}] (insutype {}, med_type {m}, level {l}); a bill must match one rule only",
                            rule.insutype, rule.insutype
                        ),
                    ));
                }
            }
        }
        out.push(rule);
    }
    Ok(out)
}

fn second_reimbursement(cx: &Ctx<'_>, s: &wire::SecondReimbursement) -> R<SecondReimbursement> {
    let base = "second_reimbursement";
    let insutype = cx.insutype(&s.insutype, &format!("{base}.insutype"))?;
    let med_types = cx.codes(
        &s.med_types,
        &format!("{base}.med_types"),
        "医疗类别 / med_type",
        med_type,
    )?;
    if s.tiers.get_ref().is_empty() {
        return Err(cx.err(
            s.tiers.span(),
            &format!("{base}.tiers"),
            "至少需要一档 / at least one tier is needed",
        ));
    }
    let mut tiers: Vec<ReimbursementTier> = Vec::with_capacity(s.tiers.get_ref().len());
    for (i, t) in s.tiers.get_ref().iter().enumerate() {
        let path = format!("{base}.tiers[{i}]");
        let above = cx.money(&t.above, &format!("{path}.above"))?;
        let up_to = cx.money(&t.up_to, &format!("{path}.up_to"))?;
        let ratio = cx.ratio(&t.ratio, &format!("{path}.ratio"))?;
        if up_to <= above {
            return Err(cx.err(
                t.up_to.span(),
                &format!("{path}.up_to"),
                "up_to 须大于 above / up_to must be above `above`",
            ));
        }
        if let Some(prev) = tiers.last() {
            if above < prev.up_to {
                return Err(cx.err(
                    t.above.span(),
                    &format!("{path}.above"),
                    format!(
                        "与上一档重叠：上一档止于 {}，本档从 {above} 起 / overlaps the tier before, which ends at {}; this one starts above {above}",
                        prev.up_to, prev.up_to
                    ),
                ));
            }
            if above > prev.up_to {
                return Err(cx.err(
                    t.above.span(),
                    &format!("{path}.above"),
                    format!(
                        "与上一档不衔接：上一档止于 {}，本档须从 {} 起 / leaves a gap after the tier before: it ends at {}, so this one must start above {}",
                        prev.up_to, prev.up_to, prev.up_to, prev.up_to
                    ),
                ));
            }
        }
        tiers.push(ReimbursementTier {
            above,
            up_to,
            ratio,
        });
    }
    Ok(SecondReimbursement {
        insutype,
        med_types,
        tiers,
    })
}

fn contribution(cx: &Ctx<'_>, c: &wire::Contribution) -> R<ContributionPolicy> {
    if c.years.get_ref().is_empty() {
        return Err(cx.err(
            c.years.span(),
            "contribution.years",
            "至少需要一个缴费年度 / at least one year is needed",
        ));
    }
    let mut years: Vec<ContributionYear> = Vec::with_capacity(c.years.get_ref().len());
    for (i, y) in c.years.get_ref().iter().enumerate() {
        let path = format!("contribution.years[{i}]");
        let f = |name: &str| format!("{path}.{name}");
        let year_raw = *y.year.get_ref();
        let year = i32::try_from(year_raw)
            .ok()
            .filter(|_| (YEAR_MIN..=YEAR_MAX).contains(&year_raw))
            .ok_or_else(|| {
                cx.err(y.year.span(), &f("year"), format!("年度须在 {YEAR_MIN} 到 {YEAR_MAX} 之间 / the year must be {YEAR_MIN} to {YEAR_MAX}"))
            })?;
        if let Some(prev) = years.last() {
            if year <= prev.year {
                return Err(cx.err(
                    y.year.span(),
                    &f("year"),
                    format!("缴费年度须升序且不重复：{year} 不晚于上一个 {} / years must be ascending without duplicates: {year} is not after the previous {}", prev.year, prev.year),
                ));
            }
        }
        let window_start = cx.date(&y.window_start, &f("window_start"))?;
        let window_end = cx.date(&y.window_end, &f("window_end"))?;
        if window_end < window_start {
            return Err(cx.err(
                y.window_end.span(),
                &f("window_end"),
                "征收期结束不能早于开始 / window_end cannot be before window_start",
            ));
        }
        let benefit_end = NaiveDate::from_ymd_opt(year, 12, 31);
        if benefit_end.is_some_and(|end| window_start > end) {
            return Err(cx.err(
                y.window_start.span(),
                &f("window_start"),
                format!("征收期须在待遇年度 {year} 结束前开始 / the window must open before benefit year {year} ends"),
            ));
        }
        let mut extensions: Vec<WindowExtension> = Vec::with_capacity(y.extensions.len());
        for (k, e) in y.extensions.iter().enumerate() {
            let epath = format!("{path}.extensions[{k}]");
            let from = cx.date(&e.from, &format!("{epath}.from"))?;
            let to = cx.date(&e.to, &format!("{epath}.to"))?;
            if to < window_end {
                return Err(cx.err(
                    e.to.span(),
                    &format!("{epath}.to"),
                    "延长截止日不能早于 window_end / an extension cannot end before window_end",
                ));
            }
            if from > to {
                return Err(cx.err(
                    e.from.span(),
                    &format!("{epath}.from"),
                    "延长的生效日不能晚于其截止日 / an extension cannot take effect after it ends",
                ));
            }
            extensions.push(WindowExtension { from, to });
        }
        let day = |d: &Spanned<i64>, first: i64, message: &str| -> R<u32> {
            let n = *d.get_ref();
            u32::try_from(n)
                .ok()
                .filter(|_| (first..=31).contains(&n))
                .ok_or_else(|| cx.err(d.span(), &f("accept_days"), message))
        };
        let accept_days = match y.accept_days.get_ref().as_slice() {
            [a, b] => {
                let first = day(a, 1, "日须在 1 到 31 之间 / a day is 1 to 31")?;
                let last = day(
                    b,
                    i64::from(first),
                    "结束日须在开始日到 31 之间 / the last day lies between the first day and 31",
                )?;
                (first, last)
            }
            _ => return Err(cx.err(
                y.accept_days.span(),
                &f("accept_days"),
                "须写成 [起始日, 结束日]，如 [1, 25] / write [first day, last day], e.g. [1, 25]",
            )),
        };
        if y.categories.get_ref().is_empty() {
            return Err(cx.err(
                y.categories.span(),
                &f("categories"),
                "至少需要一个缴费类别 / at least one category is needed",
            ));
        }
        let mut categories: Vec<ContributionCategory> =
            Vec::with_capacity(y.categories.get_ref().len());
        for (k, cat) in y.categories.get_ref().iter().enumerate() {
            let cpath = format!("{path}.categories[{k}]");
            let code = cx.text(&cat.code, &format!("{cpath}.code"))?;
            if !identifier(&code, '_') {
                return Err(cx.err(
                    cat.code.span(),
                    &format!("{cpath}.code"),
                    "类别代码只用小写字母、数字和下划线 / a category code uses lowercase letters, digits and '_'",
                ));
            }
            if categories.iter().any(|c| c.code == code) {
                return Err(cx.err(
                    cat.code.span(),
                    &format!("{cpath}.code"),
                    format!("类别代码 \"{code}\" 重复 / duplicate category code \"{code}\""),
                ));
            }
            categories.push(ContributionCategory {
                name_zh: cx.text(&cat.name_zh, &format!("{cpath}.name_zh"))?,
                amount: cx.money(&cat.amount, &format!("{cpath}.amount"))?,
                code,
            });
        }
        years.push(ContributionYear {
            year,
            window_start,
            window_end,
            extensions,
            accept_days,
            categories,
        });
    }
    Ok(ContributionPolicy { years })
}

/// The employee premiums mutual aid may pay (R-S6): one amount per kind and year, each with
/// the days it is collected.
fn employee_premiums(cx: &Ctx<'_>, list: &[wire::EmployeePremium]) -> R<Vec<EmployeePremium>> {
    let mut out: Vec<EmployeePremium> = Vec::with_capacity(list.len());
    for (i, p) in list.iter().enumerate() {
        let path = format!("employee_premiums[{i}]");
        let f = |name: &str| format!("{path}.{name}");
        let code = p.kind.get_ref().0.as_str();
        let kind = mutual_aid_use(code)
            .filter(|u| {
                matches!(
                    u,
                    MutualAidUse::LargeExpensePremium | MutualAidUse::LongTermCarePremium
                )
            })
            .ok_or_else(|| {
                cx.err(
                    p.kind.span(),
                    &f("use"),
                    format!("未知的职工保费 \"{code}\"，可选 large_expense_premium 或 ltc_premium / unknown employee premium \"{code}\"; use large_expense_premium or ltc_premium"),
                )
            })?;
        let year_raw = *p.year.get_ref();
        let year = i32::try_from(year_raw)
            .ok()
            .filter(|_| (YEAR_MIN..=YEAR_MAX).contains(&year_raw))
            .ok_or_else(|| {
                cx.err(p.year.span(), &f("year"), format!("年度须在 {YEAR_MIN} 到 {YEAR_MAX} 之间 / the year must be {YEAR_MIN} to {YEAR_MAX}"))
            })?;
        if out.iter().any(|o| o.kind == kind && o.year == year) {
            return Err(cx.err(
                p.year.span(),
                &f("year"),
                format!("{code} 的 {year} 年度重复 / {code} is given twice for {year}"),
            ));
        }
        let collect_from = cx.date(&p.collect_from, &f("collect_from"))?;
        let collect_to = cx.date(&p.collect_to, &f("collect_to"))?;
        if collect_to < collect_from {
            return Err(cx.err(
                p.collect_to.span(),
                &f("collect_to"),
                "缴费期结束不能早于开始 / collect_to cannot be before collect_from",
            ));
        }
        out.push(EmployeePremium {
            kind,
            name_zh: cx.text(&p.name_zh, &f("name_zh"))?,
            year,
            collect_from,
            collect_to,
            amount: cx.money(&p.amount, &f("amount"))?,
            placeholder: p.placeholder,
        });
    }
    Ok(out)
}
