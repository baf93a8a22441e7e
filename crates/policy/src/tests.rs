use std::path::PathBuf;

use chrono::NaiveDate;
use gongji_core::codes::{Admdvs, HospitalLevel, Insutype, MedType, MutualAidUse, RelationClass};
use gongji_core::policy::{HolderOrder, Policy, PolicySet};
use gongji_core::{BasisPoints, Fen};

use super::*;

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn admdvs(s: &str) -> Admdvs {
    Admdvs::parse(s).unwrap()
}

fn set() -> PolicySet {
    try_presets().unwrap()
}

fn preset(id: &str) -> Policy {
    set().by_id(id).cloned().unwrap()
}

fn yuan(s: &str) -> Fen {
    Fen::parse_yuan(s).unwrap()
}

fn bp(n: u16) -> BasisPoints {
    BasisPoints::new(n).unwrap()
}

// ---- presets ----------------------------------------------------------------------------

#[test]
fn every_preset_parses_alone_and_as_a_set() {
    for (file, text) in PRESET_FILES {
        if let Err(e) = parse_policy(file, text) {
            panic!("{e}");
        }
    }
    let set = try_presets().unwrap_or_else(|errors| {
        panic!(
            "{}",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    assert_eq!(set.policies().len(), PRESET_FILES.len());
    assert_eq!(presets().policies().len(), PRESET_FILES.len());
    for (file, _) in PRESET_FILES {
        // Each preset's id is its file stem.
        let stem = file
            .trim_start_matches("policies/")
            .trim_end_matches(".toml");
        assert!(set.by_id(stem).is_some(), "{file}");
    }
}

#[test]
fn presets_are_exactly_the_files_in_the_policies_directory() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    let on_disk = load_dir(&dir).unwrap_or_else(|errors| {
        panic!(
            "{}",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    let mut disk_ids: Vec<&str> = on_disk.policies().iter().map(|p| p.id.as_str()).collect();
    let compiled = set();
    let mut compiled_ids: Vec<&str> = compiled.policies().iter().map(|p| p.id.as_str()).collect();
    disk_ids.sort_unstable();
    compiled_ids.sort_unstable();
    assert_eq!(disk_ids, compiled_ids);
    for p in on_disk.policies() {
        assert_eq!(Some(p), compiled.by_id(&p.id));
    }
}

#[test]
fn lookup_by_admdvs_prefers_the_city_then_the_province() {
    let set = presets();
    let id = |code: &str| set.for_admdvs(admdvs(code)).map(|p| p.id.clone());
    assert_eq!(id("370303").as_deref(), Some("shandong-zibo"));
    assert_eq!(id("370211").as_deref(), Some("shandong"));
    assert_eq!(id("370602").as_deref(), Some("shandong-yantai"));
    assert_eq!(id("370102").as_deref(), Some("shandong-jinan"));
    assert_eq!(id("140802").as_deref(), Some("shanxi-yuncheng"));
    assert_eq!(id("140100").as_deref(), Some("shanxi"));
    assert_eq!(id("110101"), None);
}

#[test]
fn yantai_widens_to_near_relatives_on_2025_09_01() {
    let p = preset("shandong-yantai");
    let before = p.binding.scope_on(date("2025-08-31"));
    let after = p.binding.scope_on(date("2025-09-01"));
    for c in [
        RelationClass::Spouse,
        RelationClass::Parent,
        RelationClass::Child,
    ] {
        assert!(before.contains(&c) && after.contains(&c));
    }
    for c in [
        RelationClass::Sibling,
        RelationClass::Grandparent,
        RelationClass::Grandchild,
    ] {
        assert!(!before.contains(&c), "{c:?} before");
        assert!(after.contains(&c), "{c:?} after");
    }
    assert!(!after.contains(&RelationClass::InLawParent));
    assert!(p.binding.same_province_only);
}

#[test]
fn shandong_province_allows_all_near_relatives() {
    let p = preset("shandong");
    assert_eq!(p.admdvs, admdvs("370000"));
    let scope = p.binding.scope_on(date("2024-06-01"));
    for c in [
        RelationClass::Spouse,
        RelationClass::Child,
        RelationClass::Parent,
        RelationClass::Grandparent,
        RelationClass::Grandchild,
        RelationClass::Sibling,
    ] {
        assert!(scope.contains(&c), "{c:?}");
    }
    assert!(p.binding.same_province_only);
}

#[test]
fn zibo_switches() {
    let p = preset("shandong-zibo");
    let b = &p.binding;
    assert_eq!(
        b.scope_on(date("2023-12-31")),
        &[
            RelationClass::Spouse,
            RelationClass::Parent,
            RelationClass::Child
        ]
    );
    assert_eq!(b.max_holders_per_relative, Some(1));
    assert!(b.one_way && b.holder_must_be_insured_normally && b.face_verification);
    assert!(p.payment.mutual_aid_follows_own_account);
    assert!(p.payment.mutual_aid_excludes_pooled_settlements);
    assert!(!p.payment.holder_credential_authorises);
}

#[test]
fn shanxi_authorisation_model() {
    let p = preset("shanxi");
    let b = &p.binding;
    assert_eq!(b.holder_insutypes, vec![Insutype::Employee]);
    assert_eq!(
        b.relative_insutypes,
        vec![Insutype::Employee, Insutype::Resident]
    );
    assert!(b.exclude_public_medical && b.one_spouse_two_parents);
    assert!(b.end_date_only_earlier && b.auto_end_with_insurance && b.same_province_only);
    assert_eq!(p.payment.reserve, Fen::from_yuan(1000));
    assert!(p.payment.per_relative_limits && p.payment.holder_credential_authorises);
    assert_eq!(
        p.payment.mutual_aid_uses,
        vec![
            MutualAidUse::MedicalCost,
            MutualAidUse::ResidentPremium,
            MutualAidUse::LargeExpensePremium,
            MutualAidUse::LongTermCarePremium
        ]
    );
}

#[test]
fn jinan_second_reimbursement_tiers() {
    let p = preset("shandong-jinan");
    let s = p.second_reimbursement.unwrap();
    assert_eq!(s.insutype, Insutype::Employee);
    assert_eq!(
        s.med_types,
        vec![MedType::ChronicSpecialOutpatient, MedType::Inpatient]
    );
    assert_eq!(s.tiers.len(), 2);
    assert_eq!(
        (s.tiers[0].above, s.tiers[0].up_to, s.tiers[0].ratio),
        (yuan("12000"), yuan("200000"), bp(6000))
    );
    assert_eq!(
        (s.tiers[1].above, s.tiers[1].up_to, s.tiers[1].ratio),
        (yuan("200000"), yuan("400000"), bp(7000))
    );
}

#[test]
fn yuncheng_contributions_and_resident_pooling() {
    let p = preset("shanxi-yuncheng");
    assert_eq!(p.payment.reserve, Fen::from_yuan(1000));
    let c = p.contribution.as_ref().unwrap();
    assert_eq!(
        c.years.iter().map(|y| y.year).collect::<Vec<_>>(),
        vec![2024, 2025, 2026, 2027]
    );
    let y = c.year(2024).unwrap();
    assert_eq!(
        (y.window_start, y.window_end, y.extended_to(), y.accept_days),
        (
            date("2023-09-01"),
            date("2023-12-25"),
            Some(date("2024-02-25")),
            (1, 25)
        )
    );
    let amounts: Vec<(&str, Fen)> = y
        .categories
        .iter()
        .map(|c| (c.code.as_str(), c.amount))
        .collect();
    assert_eq!(
        amounts,
        vec![
            ("general", yuan("380")),
            ("special_hardship", Fen::ZERO),
            ("returned_to_poverty", yuan("38")),
            ("monitored", yuan("100")),
            ("minimum_subsistence", yuan("76")),
            ("disabled_elderly_minor", yuan("190")),
        ]
    );
    let y26 = c.year(2026).unwrap();
    assert_eq!(
        (y26.window_start, y26.window_end, y26.extended_to()),
        (date("2025-09-01"), date("2025-12-25"), None)
    );

    let rule = |level| {
        p.pooling
            .iter()
            .find(|r| r.applies_to(Insutype::Resident, MedType::GeneralOutpatient, level))
            .unwrap()
    };
    let primary = rule(HospitalLevel::Primary);
    let level2 = rule(HospitalLevel::Level2);
    assert_eq!(
        (primary.ratio_class_a, primary.ratio_class_b),
        (bp(6000), bp(5000))
    );
    assert_eq!(
        (level2.ratio_class_a, level2.ratio_class_b),
        (bp(5500), bp(4500))
    );
    for r in [primary, level2] {
        assert_eq!(r.cap_group, "resident_outpatient");
        assert_eq!(r.deductible_per_year, Fen::ZERO);
        assert_eq!(r.cap_per_day, Some(yuan("50")));
        assert_eq!(r.cap_per_year, Some(yuan("300")));
        assert!(!r.placeholder);
    }
    assert!(!p.pooling.iter().any(|r| r.applies_to(
        Insutype::Resident,
        MedType::Emergency,
        HospitalLevel::Level3
    )));
}

#[test]
fn every_region_has_placeholder_employee_pooling_and_defaults() {
    for p in presets().policies() {
        for level in HospitalLevel::ALL {
            for med in [MedType::GeneralOutpatient, MedType::Emergency] {
                let r = p
                    .pooling
                    .iter()
                    .find(|r| r.applies_to(Insutype::Employee, med, *level));
                assert!(r.is_some_and(|r| r.placeholder), "{} {level:?}", p.id);
            }
        }
        assert_eq!(
            p.payment.holder_order,
            HolderOrder::ByBindingDate,
            "{}",
            p.id
        );
        assert!(p
            .payment
            .mutual_aid_uses
            .contains(&MutualAidUse::MedicalCost));
        assert!(p
            .payment
            .mutual_aid_uses
            .contains(&MutualAidUse::ResidentPremium));
    }
}

#[test]
fn summary_reads_in_chinese() {
    let s = render_summary(&preset("shanxi-yuncheng"));
    for needle in [
        "运城市",
        "140800",
        "2022-08-01 起：配偶、子女、父母",
        "保留额 1000.00 元",
        "按绑定先后",
        "甲类 60%、乙类 50%",
        "每日限额 50.00 元",
        "年度限额 300.00 元",
        "2024 年度：征收期 2023-09-01 至 2023-12-25，自 2023-12-26 起延至 2024-02-25",
        "2024 年度 职工大额医疗费用补助：2024-01-01 至 2024-12-25 缴费，120.00 元（占位值）",
        "普通人群 380.00 元",
        "[占位值",
    ] {
        assert!(s.contains(needle), "{needle} missing in:\n{s}");
    }
    let j = render_summary(&preset("shandong-jinan"));
    assert!(j.contains("12000.00–200000.00 元部分 60%"), "{j}");
}

// ---- errors -----------------------------------------------------------------------------

/// A small valid policy; tests break one thing in it at a time.
const BASE: &str = r#"id = "test"
name_zh = "测试"
admdvs = "370300"
version = "1"
effective_from = 2024-01-01

[binding]
holder_insutypes = ["310"]
relative_insutypes = ["310", "390"]
same_province_only = true
exclude_public_medical = false
one_spouse_two_parents = false
one_way = false
holder_must_be_insured_normally = false
face_verification = false
end_date_only_earlier = false
auto_end_with_insurance = true

[[binding.scope]]
from = 2023-01-01
classes = ["spouse", "parent", "child"]

[[binding.scope]]
from = 2024-01-01
classes = ["spouse", "parent", "child", "sibling"]

[payment]
reserve = "1000.00"
per_relative_limits = true
mutual_aid_follows_own_account = false
holder_order = "by_binding_date"
mutual_aid_excludes_pooled_settlements = false
holder_credential_authorises = true
mutual_aid_uses = ["medical", "resident_premium"]

[[pooling]]
name_zh = "居民门诊统筹"
insutype = "390"
med_types = ["11", "13"]
hospital_levels = ["1"]
cap_group = "resident_outpatient"
deductible_per_year = "0"
ratio_class_a = "0.6"
ratio_class_b = "0.5"
cap_per_day = "50"
cap_per_year = "300"

[second_reimbursement]
insutype = "310"
med_types = ["14", "21"]

[[second_reimbursement.tiers]]
above = "12000.00"
up_to = "200000.00"
ratio = "0.60"

[[second_reimbursement.tiers]]
above = "200000.00"
up_to = "400000.00"
ratio = "0.70"

[[contribution.years]]
year = 2024
window_start = "2023-09-01"
window_end = 2023-12-25
accept_days = [1, 25]

[[contribution.years.categories]]
code = "general"
name_zh = "普通人群"
amount = "380.00"

[[contribution.years.extensions]]
from = 2023-12-26
to = 2024-02-25

[[employee_premiums]]
use = "large_expense_premium"
name_zh = "职工大额医疗费用补助"
year = 2024
collect_from = 2024-01-01
collect_to = 2024-12-25
amount = "120.00"
"#;

/// 1-based line of the first line containing `needle`.
fn line_with(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("{needle} not in text"))
}

fn replaced(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "{from}");
    BASE.replacen(from, to, 1)
}

/// Parses `text`, expects an error at `line` in `field`, returns its message.
fn refused(text: &str, line: usize, field: &str) -> String {
    let e = parse_policy("policies/test.toml", text).expect_err("should be refused");
    assert_eq!(e.code(), CODE_INVALID);
    assert_eq!(
        (e.line, e.field.as_str()),
        (Some(line), field),
        "wrong place: {e}"
    );
    let shown = e.to_string();
    let prefix = format!("policies/test.toml:{line}: {field}: ");
    assert!(shown.starts_with(&prefix), "{shown}");
    assert!(e.message.contains(" / "), "not bilingual: {shown}");
    e.message
}

#[test]
fn base_is_valid() {
    let p = parse_policy("policies/test.toml", BASE).unwrap();
    assert_eq!(p.payment.reserve, Fen::from_fen(100_000));
    assert_eq!(
        p.contribution.unwrap().years[0].window_start,
        date("2023-09-01")
    );
}

#[test]
fn money_with_three_decimals_is_refused() {
    let text = replaced("reserve = \"1000.00\"", "reserve = \"1000.001\"");
    let msg = refused(&text, line_with(&text, "reserve"), "payment.reserve");
    assert_eq!(msg, "金额最多2位小数 / at most 2 decimals");
    let e = parse_policy("policies/shanxi.toml", &text).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "policies/shanxi.toml:{}: payment.reserve: 金额最多2位小数 / at most 2 decimals",
            line_with(&text, "reserve")
        )
    );
}

#[test]
fn money_as_a_float_is_refused() {
    let text = replaced("reserve = \"1000.00\"", "reserve = 1000.00");
    let msg = refused(&text, line_with(&text, "reserve"), "payment.reserve");
    assert!(msg.contains("浮点"), "{msg}");
    let text = replaced("cap_per_day = \"50\"", "cap_per_day = 50");
    refused(
        &text,
        line_with(&text, "cap_per_day"),
        "pooling[0].cap_per_day",
    );
}

#[test]
fn negative_money_is_refused() {
    let text = replaced("amount = \"380.00\"", "amount = \"-1\"");
    refused(
        &text,
        line_with(&text, "amount"),
        "contribution.years[0].categories[0].amount",
    );
}

#[test]
fn unknown_field_is_refused() {
    let text = replaced(
        "per_relative_limits = true",
        "per_relative_limits = true\ncolour = \"red\"",
    );
    let msg = refused(&text, line_with(&text, "colour"), "payment.colour");
    assert!(msg.starts_with("未知字段 / unknown field"), "{msg}");
    let text = replaced("ratio = \"0.70\"", "ratio = \"0.70\"\nrate = \"0.1\"");
    refused(
        &text,
        line_with(&text, "rate ="),
        "second_reimbursement.tiers[1].rate",
    );
}

#[test]
fn unknown_relation_class_is_refused() {
    let text = replaced(
        "classes = [\"spouse\", \"parent\", \"child\", \"sibling\"]",
        "classes = [\"spouse\", \"parent\", \"cousin\"]",
    );
    let msg = refused(
        &text,
        line_with(&text, "cousin"),
        "binding.scope[1].classes[2]",
    );
    assert!(msg.contains("cousin"), "{msg}");
}

#[test]
fn unsorted_scope_is_refused() {
    let text = replaced("\nfrom = 2024-01-01", "\nfrom = 2022-06-01");
    refused(
        &text,
        line_with(&text, "2022-06-01"),
        "binding.scope[1].from",
    );
    let text = replaced("\nfrom = 2024-01-01", "\nfrom = 2023-01-01");
    let line = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("from = 2023-01-01"))
        .nth(1)
        .map(|(i, _)| i + 1)
        .unwrap();
    refused(&text, line, "binding.scope[1].from");
}

#[test]
fn scope_starting_after_effective_from_is_refused() {
    let text = replaced("\nfrom = 2023-01-01", "\nfrom = 2024-06-01");
    refused(
        &text,
        line_with(&text, "2024-06-01"),
        "binding.scope[0].from",
    );
}

#[test]
fn overlapping_and_gapped_tiers_are_refused() {
    let text = replaced("above = \"200000.00\"", "above = \"150000.00\"");
    let msg = refused(
        &text,
        line_with(&text, "150000.00"),
        "second_reimbursement.tiers[1].above",
    );
    assert!(msg.contains("重叠"), "{msg}");
    let text = replaced("above = \"200000.00\"", "above = \"250000.00\"");
    let msg = refused(
        &text,
        line_with(&text, "250000.00"),
        "second_reimbursement.tiers[1].above",
    );
    assert!(msg.contains("衔接"), "{msg}");
    let text = replaced("up_to = \"200000.00\"", "up_to = \"12000.00\"");
    refused(
        &text,
        line_with(&text, "up_to = \"12000.00\""),
        "second_reimbursement.tiers[0].up_to",
    );
}

#[test]
fn missing_required_field_is_refused() {
    let text = replaced("holder_order = \"by_binding_date\"\n", "");
    let msg = refused(&text, line_with(&text, "[payment]"), "payment.holder_order");
    assert_eq!(msg, "缺少必填字段 / missing required field");
    let text = replaced("id = \"test\"\n", "");
    refused(&text, 1, "id");
    let text = replaced("ratio = \"0.60\"\n", "");
    refused(
        &text,
        line_with(&text, "[[second_reimbursement.tiers]]"),
        "second_reimbursement.tiers[0].ratio",
    );
}

#[test]
fn wrong_codes_and_values_are_refused() {
    let text = replaced("admdvs = \"370300\"", "admdvs = \"37030\"");
    refused(&text, 3, "admdvs");
    let text = replaced("admdvs = \"370300\"", "admdvs = \"370303\"");
    refused(&text, 3, "admdvs");
    let text = replaced("admdvs = \"370300\"", "admdvs = 370300");
    refused(&text, 3, "admdvs");
    let text = replaced(
        "holder_order = \"by_binding_date\"",
        "holder_order = \"random\"",
    );
    refused(&text, line_with(&text, "random"), "payment.holder_order");
    let text = replaced(
        "holder_insutypes = [\"310\"]",
        "holder_insutypes = [\"311\"]",
    );
    refused(
        &text,
        line_with(&text, "311"),
        "binding.holder_insutypes[0]",
    );
    let text = replaced(
        "mutual_aid_uses = [\"medical\", \"resident_premium\"]",
        "mutual_aid_uses = [\"medical\", \"medical\"]",
    );
    refused(
        &text,
        line_with(&text, "mutual_aid_uses"),
        "payment.mutual_aid_uses[1]",
    );
    let text = replaced("ratio_class_a = \"0.6\"", "ratio_class_a = \"1.2\"");
    refused(
        &text,
        line_with(&text, "ratio_class_a"),
        "pooling[0].ratio_class_a",
    );
    let text = replaced("hospital_levels = [\"1\"]", "hospital_levels = []");
    refused(
        &text,
        line_with(&text, "hospital_levels"),
        "pooling[0].hospital_levels",
    );
    let text = replaced("cap_group = \"resident_outpatient\"", "cap_group = \" \"");
    refused(&text, line_with(&text, "cap_group"), "pooling[0].cap_group");
    let text = replaced(
        "effective_from = 2024-01-01",
        "effective_from = \"2024-1-1\"",
    );
    refused(&text, 5, "effective_from");
    let text = replaced("effective_from = 2024-01-01", "effective_from = 2024-02-30");
    let e = parse_policy("t.toml", &text).unwrap_err();
    assert_eq!(e.line, Some(5), "{e}");
}

#[test]
fn contribution_windows_and_categories_are_checked() {
    let text = replaced("to = 2024-02-25", "to = 2023-12-01");
    refused(
        &text,
        line_with(&text, "to = 2023-12-01"),
        "contribution.years[0].extensions[0].to",
    );
    let text = replaced("from = 2023-12-26", "from = 2024-03-01");
    refused(
        &text,
        line_with(&text, "from = 2024-03-01"),
        "contribution.years[0].extensions[0].from",
    );
    let text = replaced("use = \"large_expense_premium\"", "use = \"medical\"");
    refused(
        &text,
        line_with(&text, "use = "),
        "employee_premiums[0].use",
    );
    let text = replaced("collect_to = 2024-12-25", "collect_to = 2023-12-25");
    refused(
        &text,
        line_with(&text, "collect_to"),
        "employee_premiums[0].collect_to",
    );
    let text = replaced("window_end = 2023-12-25", "window_end = 2023-08-01");
    refused(
        &text,
        line_with(&text, "window_end"),
        "contribution.years[0].window_end",
    );
    let text = replaced("accept_days = [1, 25]", "accept_days = [1, 32]");
    refused(
        &text,
        line_with(&text, "accept_days"),
        "contribution.years[0].accept_days",
    );
    let text = replaced("accept_days = [1, 25]", "accept_days = [0, 25]");
    refused(
        &text,
        line_with(&text, "accept_days"),
        "contribution.years[0].accept_days",
    );
    let text = replaced("accept_days = [1, 25]", "accept_days = [1]");
    refused(
        &text,
        line_with(&text, "accept_days"),
        "contribution.years[0].accept_days",
    );
    let dup = format!(
        "{BASE}\n[[contribution.years.categories]]\ncode = \"general\"\nname_zh = \"又一个\"\namount = \"1.00\"\n"
    );
    let line = dup
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("code = \"general\""))
        .nth(1)
        .map(|(i, _)| i + 1)
        .unwrap();
    refused(&dup, line, "contribution.years[0].categories[1].code");
}

#[test]
fn pooling_rules_must_not_overlap_and_groups_must_agree() {
    let second = "\n[[pooling]]\nname_zh = \"二\"\ninsutype = \"390\"\nmed_types = [\"13\"]\nhospital_levels = [\"1\", \"2\"]\ncap_group = \"resident_outpatient\"\ndeductible_per_year = \"0\"\nratio_class_a = \"0.55\"\nratio_class_b = \"0.45\"\ncap_per_year = \"300\"\n";
    let text = replaced(
        "[second_reimbursement]",
        &format!("{second}\n[second_reimbursement]"),
    );
    let msg = refused(
        &text,
        line_with(&text, "med_types = [\"13\"]"),
        "pooling[1].med_types",
    );
    assert!(msg.contains("pooling[0]"), "{msg}");
    let fixed = second
        .replace("[\"1\", \"2\"]", "[\"2\"]")
        .replace("cap_per_year = \"300\"", "cap_per_year = \"400\"");
    let text = replaced(
        "[second_reimbursement]",
        &format!("{fixed}\n[second_reimbursement]"),
    );
    refused(
        &text,
        line_with(&text, "\"400\""),
        "pooling[1].cap_per_year",
    );
}

#[test]
fn syntax_errors_name_the_line() {
    let text = replaced("reserve = \"1000.00\"", "reserve = \"1000.00");
    let e = parse_policy("policies/test.toml", &text).unwrap_err();
    assert_eq!(e.line, Some(line_with(&text, "reserve")), "{e}");
    assert!(e.message.starts_with("TOML"), "{e}");
    let text = replaced(
        "per_relative_limits = true",
        "per_relative_limits = \"yes\"",
    );
    let msg = refused(
        &text,
        line_with(&text, "\"yes\""),
        "payment.per_relative_limits",
    );
    assert!(msg.starts_with("类型不对"), "{msg}");
}

#[test]
fn load_dir_refuses_two_files_for_one_admdvs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.toml"), BASE).unwrap();
    std::fs::write(
        dir.path().join("b.toml"),
        BASE.replacen("id = \"test\"", "id = \"other\"", 1),
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a policy").unwrap();
    let errors = load_dir(dir.path()).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].field, "admdvs");
    assert_eq!(errors[0].line, Some(3));
    assert!(errors[0].file.ends_with("b.toml"));

    std::fs::write(
        dir.path().join("b.toml"),
        BASE.replacen("admdvs = \"370300\"", "admdvs = \"370600\"", 1),
    )
    .unwrap();
    let errors = load_dir(dir.path()).unwrap_err();
    assert_eq!(errors[0].field, "id", "{errors:?}");

    std::fs::write(
        dir.path().join("b.toml"),
        BASE.replacen("admdvs = \"370300\"", "admdvs = \"370600\"", 1)
            .replacen("id = \"test\"", "id = \"other\"", 1),
    )
    .unwrap();
    let set = load_dir(dir.path()).unwrap();
    assert_eq!(set.policies().len(), 2);
    assert_eq!(
        set.for_admdvs(admdvs("370602")).map(|p| p.id.as_str()),
        Some("other")
    );
}

#[test]
fn load_dir_reports_every_bad_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.toml"),
        BASE.replacen("reserve = \"1000.00\"", "reserve = \"x\"", 1),
    )
    .unwrap();
    std::fs::write(dir.path().join("b.toml"), "id = ").unwrap();
    let errors = load_dir(dir.path()).unwrap_err();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].file.ends_with("a.toml") && errors[1].file.ends_with("b.toml"));
}

#[test]
fn unreadable_paths_have_their_own_code() {
    let dir = tempfile::tempdir().unwrap();
    let errors = load_dir(dir.path()).unwrap_err();
    assert_eq!(errors[0].code(), CODE_UNREADABLE);
    let missing = dir.path().join("missing.toml");
    let e = load_file(&missing).unwrap_err();
    assert_eq!((e.code(), e.line), (CODE_UNREADABLE, None));
    assert!(e.to_string().starts_with(&missing.display().to_string()));
    let errors = load_dir(&dir.path().join("nope")).unwrap_err();
    assert_eq!(errors[0].code(), CODE_UNREADABLE);
}

#[test]
fn load_file_reads_a_preset() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policies/shandong-zibo.toml");
    let p = load_file(&path).unwrap();
    assert_eq!(p.admdvs, admdvs("370300"));
}

#[test]
fn every_preset_lets_employees_share_with_near_relatives_in_2025() {
    // R-N1 (2024): spouse, children, parents, grandparents, grandchildren and siblings in
    // every province, whatever a city allowed before; in-law parents stay outside.
    let near = [
        RelationClass::Spouse,
        RelationClass::Child,
        RelationClass::Parent,
        RelationClass::Grandparent,
        RelationClass::Grandchild,
        RelationClass::Sibling,
    ];
    for p in set().policies() {
        let scope = p.binding.scope_on(date("2025-10-01"));
        for c in near {
            assert!(scope.contains(&c), "{}: {c:?} on 2025-10-01", p.id);
        }
        assert!(!scope.contains(&RelationClass::InLawParent), "{}", p.id);
    }
    // Before the widening, Zibo and Shanxi kept spouse, parents and children only.
    for id in ["shandong-zibo", "shanxi", "shanxi-yuncheng"] {
        let before = preset(id).binding.scope_on(date("2023-12-31")).to_vec();
        assert!(!before.contains(&RelationClass::Sibling), "{id}");
        assert!(!before.contains(&RelationClass::Grandparent), "{id}");
    }
}

#[test]
fn every_preset_joined_cross_province_aid_with_the_2026_notice() {
    let joined = NaiveDate::from_ymd_opt(2026, 1, 1);
    for p in crate::presets().policies() {
        assert_eq!(p.binding.cross_province_from, joined, "{}", p.id);
    }
}
