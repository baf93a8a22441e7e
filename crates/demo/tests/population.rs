//! Properties of generated populations and their CSV files.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use chrono::NaiveDate;
use gongji_core::codes::{
    Admdvs, ChargeLevel, Gender, HospitalLevel, InstitutionKind, InsuStatus, Insutype,
    RelationClass, Relationship,
};
use gongji_core::{idcard, BasisPoints, Fen};
use gongji_demo::*;

fn demo() -> &'static Population {
    static POP: OnceLock<Population> = OnceLock::new();
    POP.get_or_init(|| generate(&demo_spec(), &mut |_, _| {}))
}

fn demo_with_invalid() -> &'static Population {
    static POP: OnceLock<Population> = OnceLock::new();
    POP.get_or_init(|| {
        let spec = PopulationSpec {
            include_invalid_rows: true,
            ..demo_spec()
        };
        generate(&spec, &mut |_, _| {})
    })
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn persons_by_psn_no(pop: &Population) -> HashMap<&str, &PersonRow> {
    pop.persons.iter().map(|p| (p.psn_no.as_str(), p)).collect()
}

fn csv_bytes(pop: &Population) -> Vec<Vec<u8>> {
    let mut files = vec![Vec::new(); 5];
    write_persons(&pop.persons, &mut files[0]).unwrap();
    write_accounts(&pop.accounts, &mut files[1]).unwrap();
    write_institutions(&pop.institutions, &mut files[2]).unwrap();
    write_bindings(&pop.bindings, &mut files[3]).unwrap();
    write_catalog(&pop.catalog, &mut files[4]).unwrap();
    files
}

const ZIBO: u32 = 370300;
const YANTAI: u32 = 370600;

fn is_shanxi(a: Admdvs) -> bool {
    a.province() == 14
}

#[test]
fn demo_spec_has_the_promised_size() {
    let pop = demo();
    assert!((9_000..=11_000).contains(&pop.persons.len()));
    assert!(pop.institutions.len() >= 100);
    assert!((35..=60).contains(&pop.catalog.len()));
    let cities: HashSet<u32> = pop.persons.iter().map(|p| p.admdvs.code()).collect();
    let expected: HashSet<u32> = [370600, 370300, 370100, 140100, 140800].into();
    assert_eq!(cities, expected);
    assert!(pop.bindings.len() > 2_000, "{}", pop.bindings.len());
    assert!(pop.invalid_rows.is_empty());
}

#[test]
fn same_seed_same_rows_and_bytes() {
    let spec = demo_spec();
    let a = generate(&spec, &mut |_, _| {});
    assert_eq!(&a, demo());
    assert_eq!(csv_bytes(&a), csv_bytes(demo()));

    let other = generate(
        &PopulationSpec {
            seed: spec.seed + 1,
            ..spec
        },
        &mut |_, _| {},
    );
    assert_ne!(other.persons, a.persons);
}

#[test]
fn id_numbers_are_valid_and_match_the_person() {
    let spec = demo_spec();
    let districts: HashMap<u32, HashSet<u32>> = spec
        .regions
        .iter()
        .map(|r| {
            (
                r.admdvs.code(),
                r.districts.iter().map(|d| d.code).collect(),
            )
        })
        .collect();
    for p in &demo().persons {
        let birth = idcard::validate(&p.certno).unwrap_or_else(|e| panic!("{} {e:?}", p.certno));
        assert_eq!(birth, p.brdy, "{}", p.certno);
        assert!(p.brdy < AS_OF);
        let male = idcard::gender_digit_is_male(&p.certno).unwrap();
        assert_eq!(male, p.gend == Gender::Male, "{}", p.certno);
        let district: u32 = p.certno[..6].parse().unwrap();
        assert!(
            districts[&p.admdvs.code()].contains(&district),
            "{} in {}",
            p.certno,
            p.admdvs
        );
        let name_chars = p.psn_name.chars().count();
        assert!((2..=3).contains(&name_chars), "{}", p.psn_name);
    }
}

#[test]
fn psn_no_certno_and_phone_are_unique_and_well_formed() {
    let pop = demo();
    let mut psn_nos = HashSet::new();
    let mut certnos = HashSet::new();
    let mut phones = HashSet::new();
    for p in &pop.persons {
        assert!(psn_nos.insert(p.psn_no.as_str()), "{}", p.psn_no);
        assert!(certnos.insert(p.certno.as_str()), "{}", p.certno);
        assert!(phones.insert(p.phone.as_str()), "{}", p.phone);
        assert_eq!(p.psn_no.len(), 14);
        assert!(p.psn_no.starts_with(&p.admdvs.to_string()));
        assert_eq!(p.phone.len(), 11);
        assert!(p.phone.bytes().all(|b| b.is_ascii_digit()));
        assert!(["13", "15", "18"].contains(&&p.phone[..2]), "{}", p.phone);
    }
}

#[test]
fn insurance_types_and_flags_are_plausible() {
    let pop = demo();
    let n = pop.persons.len() as f64;
    let count = |f: &dyn Fn(&PersonRow) -> bool| pop.persons.iter().filter(|p| f(p)).count();
    let paused = count(&|p| p.psn_insu_stas == InsuStatus::Paused) as f64 / n;
    let ended = count(&|p| p.psn_insu_stas == InsuStatus::Terminated) as f64 / n;
    let civil = count(&|p| p.cvlserv_flag) as f64 / n;
    assert!((0.02..0.04).contains(&paused), "{paused}");
    assert!((0.005..0.02).contains(&ended), "{ended}");
    assert!((0.01..0.03).contains(&civil), "{civil}");

    let shanxi = count(&|p| is_shanxi(p.admdvs)) as f64;
    let public = count(&|p| p.public_medical);
    assert!(public > 0);
    assert_eq!(count(&|p| p.public_medical && !is_shanxi(p.admdvs)), 0);
    assert!((0.01..0.035).contains(&(public as f64 / shanxi)));

    for p in &pop.persons {
        match p.insutype {
            Insutype::Employee => {
                assert!(["11", "21"].contains(&p.psn_type.as_str()));
                assert!(!p.emp_name.is_empty());
            }
            Insutype::Resident => {
                assert!(p.psn_type.starts_with("15"));
                assert!(p.emp_name.is_empty());
                assert!(!p.cvlserv_flag);
            }
            other => panic!("unexpected insutype {other}"),
        }
    }
    // Families: children, parents and grandparents are there, not only working adults.
    let minors = count(&|p| p.brdy > date(2008, 11, 1));
    let elderly = count(&|p| p.brdy < date(1956, 11, 1));
    assert!(minors as f64 / n > 0.1, "{minors}");
    assert!(elderly as f64 / n > 0.08, "{elderly}");
}

#[test]
fn accounts_belong_to_employees_with_money_in_range() {
    let pop = demo();
    let by_no = persons_by_psn_no(pop);
    let employees = pop
        .persons
        .iter()
        .filter(|p| p.insutype == Insutype::Employee)
        .count();
    assert_eq!(pop.accounts.len(), employees);
    let mut seen = HashSet::new();
    for a in &pop.accounts {
        assert!(seen.insert(a.psn_no.as_str()));
        assert_eq!(by_no[a.psn_no.as_str()].insutype, Insutype::Employee);
        assert!(a.balance >= Fen::ZERO && a.balance <= Fen::from_yuan(20_000));
    }
    // Shanxi holders near and below the 1,000-yuan reserve (R-S2).
    let balance: HashMap<&str, Fen> = pop
        .accounts
        .iter()
        .map(|a| (a.psn_no.as_str(), a.balance))
        .collect();
    let holders: HashSet<&str> = pop
        .bindings
        .iter()
        .map(|b| b.holder_psn_no.as_str())
        .filter(|h| is_shanxi(by_no[h].admdvs))
        .collect();
    let low = holders
        .iter()
        .filter(|h| balance[*h] < Fen::from_yuan(1_000))
        .count();
    let near = holders
        .iter()
        .filter(|h| (Fen::from_yuan(800)..=Fen::from_yuan(1_200)).contains(&balance[*h]))
        .count();
    assert!(low >= 20 && near >= 20, "low {low}, near {near}");
}

/// The checks every generated (valid) binding passes.
fn check_bindings(pop: &Population, rows: &[&BindingRow]) {
    let by_no = persons_by_psn_no(pop);
    let mut pairs = HashSet::new();
    for b in rows {
        let h = by_no[b.holder_psn_no.as_str()];
        let r = by_no[b.relative_psn_no.as_str()];
        assert_eq!(h.insutype, Insutype::Employee, "{b:?}");
        assert_eq!(h.psn_insu_stas, InsuStatus::Normal, "{b:?}");
        assert_eq!(r.psn_insu_stas, InsuStatus::Normal, "{b:?}");
        assert_eq!(h.admdvs, r.admdvs, "{b:?}");
        assert_ne!(h.psn_no, r.psn_no);
        assert!(
            pairs.insert((h.psn_no.as_str(), r.psn_no.as_str())),
            "{b:?}"
        );
        assert!(
            b.begin_date >= BEGIN_MIN && b.begin_date <= BEGIN_MAX,
            "{b:?}"
        );
        assert!(b.begin_date >= r.brdy, "{b:?}");
        if let Some(end) = b.end_date {
            assert!(end > b.begin_date, "{b:?}");
        }
        let class = b.relationship.class();
        assert!(
            !matches!(
                class,
                RelationClass::InLawParent | RelationClass::SiblingSpouse | RelationClass::Other
            ),
            "{b:?}"
        );
        // Gendered codes match the relative's gender.
        let code = b.relationship.code();
        if let Some(male) = match code {
            11 | 21..=29 | 41 | 43 | 51 | 61 | 63 | 71 | 73 => Some(true),
            12 | 31..=39 | 42 | 44 | 52 | 62 | 64 | 75 | 77 => Some(false),
            _ => None,
        } {
            assert_eq!(r.gend == Gender::Male, male, "{b:?}");
        }
        // Generations go the right way.
        match class {
            RelationClass::Child | RelationClass::Grandchild => assert!(r.brdy > h.brdy),
            RelationClass::Parent | RelationClass::Grandparent => assert!(r.brdy < h.brdy),
            _ => {}
        }
        if is_shanxi(h.admdvs) {
            assert!(!h.public_medical && !r.public_medical, "{b:?}");
        }
        if h.admdvs.code() == ZIBO || is_shanxi(h.admdvs) {
            assert!(
                matches!(
                    class,
                    RelationClass::Spouse | RelationClass::Parent | RelationClass::Child
                ),
                "{b:?}"
            );
        }
        if h.admdvs.code() == YANTAI
            && matches!(
                class,
                RelationClass::Sibling | RelationClass::Grandparent | RelationClass::Grandchild
            )
        {
            assert!(b.begin_date >= date(2025, 9, 1), "{b:?}");
        }
    }

    // Zibo: one holder per relative, and holders are nobody's relatives (R-Z2, R-Z3).
    let zibo: Vec<&&BindingRow> = rows
        .iter()
        .filter(|b| by_no[b.holder_psn_no.as_str()].admdvs.code() == ZIBO)
        .collect();
    assert!(!zibo.is_empty());
    let mut holders_of: HashMap<&str, HashSet<&str>> = HashMap::new();
    for b in &zibo {
        holders_of
            .entry(b.relative_psn_no.as_str())
            .or_default()
            .insert(b.holder_psn_no.as_str());
    }
    for (relative, holders) in &holders_of {
        assert_eq!(holders.len(), 1, "{relative}");
    }
    for b in &zibo {
        assert!(!holders_of.contains_key(b.holder_psn_no.as_str()), "{b:?}");
    }

    // Shanxi: one spouse, one father, one mother per holder (R-S8).
    let mut counts: HashMap<(&str, u8), usize> = HashMap::new();
    for b in rows
        .iter()
        .filter(|b| is_shanxi(by_no[b.holder_psn_no.as_str()].admdvs))
    {
        let key = match b.relationship.class() {
            RelationClass::Spouse => 1,
            RelationClass::Parent => b.relationship.code(),
            _ => continue,
        };
        *counts.entry((b.holder_psn_no.as_str(), key)).or_default() += 1;
    }
    assert!(!counts.is_empty());
    assert!(counts.values().all(|&n| n == 1));
}

#[test]
fn bindings_respect_the_regional_rules() {
    let pop = demo();
    let rows: Vec<&BindingRow> = pop.bindings.iter().collect();
    check_bindings(pop, &rows);

    let classes: HashSet<RelationClass> = pop
        .bindings
        .iter()
        .map(|b| b.relationship.class())
        .collect();
    for c in [
        RelationClass::Spouse,
        RelationClass::Child,
        RelationClass::Parent,
        RelationClass::Sibling,
        RelationClass::Grandparent,
        RelationClass::Grandchild,
    ] {
        assert!(classes.contains(&c), "{c:?}");
    }
    let n = pop.bindings.len() as f64;
    let ended = pop.bindings.iter().filter(|b| b.end_date.is_some()).count() as f64 / n;
    let limited = pop
        .bindings
        .iter()
        .filter(|b| b.limit_per_payment.is_some())
        .count() as f64
        / n;
    assert!((0.07..0.13).contains(&ended), "{ended}");
    assert!((0.25..0.35).contains(&limited), "{limited}");
    let years: HashSet<i32> = pop
        .bindings
        .iter()
        .map(|b| chrono::Datelike::year(&b.begin_date))
        .collect();
    assert_eq!(years, [2023, 2024, 2025, 2026].into());
}

#[test]
fn invalid_rows_are_few_listed_and_the_rest_stays_valid() {
    let pop = demo_with_invalid();
    let n = pop.invalid_rows.len();
    assert!((5..=15).contains(&n), "{n}");
    let listed: HashSet<usize> = pop.invalid_rows.iter().map(|r| r.row).collect();
    assert_eq!(listed.len(), n);
    for r in &pop.invalid_rows {
        assert_eq!(r.file, BINDINGS_FILE);
        assert!(r.row < pop.bindings.len());
        assert!(!r.reason_zh.is_empty());
    }
    let rules: HashSet<&str> = pop.invalid_rows.iter().map(|r| r.rule).collect();
    for rule in [
        "R-Z2", "R-Z3", "R-Z4", "R-S8", "R-S1", "R-Y1", "R-Y3", "R-S9",
    ] {
        assert!(rules.contains(rule), "{rule}");
    }
    let valid: Vec<&BindingRow> = pop
        .bindings
        .iter()
        .enumerate()
        .filter(|(i, _)| !listed.contains(i))
        .map(|(_, b)| b)
        .collect();
    assert_eq!(valid.len(), demo().bindings.len());
    check_bindings(pop, &valid);
    assert_eq!(pop.persons, demo().persons);
}

#[test]
fn institutions_lie_around_their_city() {
    let spec = demo_spec();
    let pop = demo();
    let centre: HashMap<Admdvs, (f64, f64)> = spec
        .regions
        .iter()
        .map(|r| (r.admdvs, (r.centre_lat, r.centre_lon)))
        .collect();
    let mut codes = HashSet::new();
    let mut names = HashSet::new();
    for i in &pop.institutions {
        let (lat, lon) = centre[&i.admdvs];
        assert!(
            (i.lat - lat).abs() <= 0.3 && (i.lon - lon).abs() <= 0.3,
            "{i:?}"
        );
        assert_eq!(i.fixmedins_code.len(), 12);
        assert!(codes.insert(i.fixmedins_code.clone()));
        assert!(
            names.insert(i.fixmedins_name.clone()),
            "{}",
            i.fixmedins_name
        );
        let letter = if i.fixmedins_type == InstitutionKind::Pharmacy {
            assert_eq!(i.hosp_lv, HospitalLevel::Primary);
            assert!(i.fixmedins_name.contains("药房"));
            'P'
        } else {
            'H'
        };
        assert!(i.fixmedins_code.starts_with(letter));
        assert_eq!(&i.fixmedins_code[1..7], i.admdvs.to_string());
        assert_eq!(
            i.paasid,
            format!("paas-{}", i.fixmedins_code.to_lowercase())
        );
        assert_eq!(i.token.len(), 32);
        assert!(i.token.bytes().all(|b| b.is_ascii_hexdigit()));
    }
    for level in HospitalLevel::ALL {
        assert!(pop
            .institutions
            .iter()
            .any(|i| i.fixmedins_type == InstitutionKind::Medical && i.hosp_lv == *level));
    }
    let aid = pop.institutions.iter().filter(|i| i.mutual_aid).count() as f64
        / pop.institutions.len() as f64;
    assert!((0.75..0.95).contains(&aid), "{aid}");
}

fn read(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(bytes);
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

fn parse_date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn opt<T>(s: &str, f: impl Fn(&str) -> T) -> Option<T> {
    (!s.is_empty()).then(|| f(s))
}

#[test]
fn csv_round_trip() {
    let pop = demo_with_invalid();
    let files = csv_bytes(pop);
    assert!(files.iter().all(|f| std::str::from_utf8(f).is_ok()));
    assert!(files.iter().all(|f| !f.contains(&b'\r')));

    let (header, rows) = read(&files[0]);
    assert_eq!(
        header.join(","),
        "psn_no,certno,psn_name,gend,brdy,insutype,psn_type,admdvs,psn_insu_stas,cvlserv_flag,public_medical,emp_name,phone"
    );
    let persons: Vec<PersonRow> = rows
        .iter()
        .map(|r| PersonRow {
            psn_no: r[0].clone(),
            certno: r[1].clone(),
            psn_name: r[2].clone(),
            gend: Gender::parse(&r[3]).unwrap(),
            brdy: parse_date(&r[4]),
            insutype: Insutype::parse(&r[5]).unwrap(),
            psn_type: r[6].clone(),
            admdvs: Admdvs::parse(&r[7]).unwrap(),
            psn_insu_stas: InsuStatus::parse(&r[8]).unwrap(),
            cvlserv_flag: r[9] == "1",
            public_medical: r[10] == "1",
            emp_name: r[11].clone(),
            phone: r[12].clone(),
        })
        .collect();
    assert_eq!(persons, pop.persons);

    let (header, rows) = read(&files[1]);
    assert_eq!(header.join(","), "psn_no,balance");
    let accounts: Vec<AccountRow> = rows
        .iter()
        .map(|r| {
            let (_, decimals) = r[1].split_once('.').unwrap();
            assert_eq!(decimals.len(), 2);
            AccountRow {
                psn_no: r[0].clone(),
                balance: Fen::parse_yuan(&r[1]).unwrap(),
            }
        })
        .collect();
    assert_eq!(accounts, pop.accounts);

    let (header, rows) = read(&files[2]);
    assert_eq!(
        header.join(","),
        "fixmedins_code,fixmedins_name,fixmedins_type,hosp_lv,admdvs,lat,lon,mutual_aid,paasid,token,address,phone,opening_hours"
    );
    let institutions: Vec<InstitutionRow> = rows
        .iter()
        .map(|r| {
            assert_eq!(r[5].split_once('.').unwrap().1.len(), 6);
            InstitutionRow {
                fixmedins_code: r[0].clone(),
                fixmedins_name: r[1].clone(),
                fixmedins_type: InstitutionKind::parse(&r[2]).unwrap(),
                hosp_lv: HospitalLevel::parse(&r[3]).unwrap(),
                admdvs: Admdvs::parse(&r[4]).unwrap(),
                lat: r[5].parse().unwrap(),
                lon: r[6].parse().unwrap(),
                mutual_aid: r[7] == "1",
                paasid: r[8].clone(),
                token: r[9].clone(),
                address: r[10].clone(),
                phone: r[11].clone(),
                opening_hours: r[12].clone(),
            }
        })
        .collect();
    assert_eq!(institutions, pop.institutions);

    let (header, rows) = read(&files[3]);
    assert_eq!(
        header.join(","),
        "holder_psn_no,relative_psn_no,relationship,begin_date,end_date,limit_per_payment"
    );
    let bindings: Vec<BindingRow> = rows
        .iter()
        .map(|r| BindingRow {
            holder_psn_no: r[0].clone(),
            relative_psn_no: r[1].clone(),
            relationship: Relationship::parse(&r[2]).unwrap(),
            begin_date: parse_date(&r[3]),
            end_date: opt(&r[4], parse_date),
            limit_per_payment: opt(&r[5], |s| Fen::parse_yuan(s).unwrap()),
        })
        .collect();
    assert_eq!(bindings, pop.bindings);

    let (header, rows) = read(&files[4]);
    assert_eq!(
        header.join(","),
        "med_list_codg,med_list_name,chrgitm_lv,pric_uplmt_amt,selfpay_prop"
    );
    let catalog: Vec<CatalogRow> = rows
        .iter()
        .map(|r| {
            assert_eq!(r[4].len(), 4, "{}", r[4]);
            CatalogRow {
                med_list_codg: r[0].clone(),
                med_list_name: r[1].clone(),
                chrgitm_lv: ChargeLevel::parse(&r[2]).unwrap(),
                pric_uplmt_amt: opt(&r[3], |s| Fen::parse_yuan(s).unwrap()),
                selfpay_prop: BasisPoints::parse_fraction(&r[4]).unwrap(),
            }
        })
        .collect();
    assert_eq!(catalog, pop.catalog);
    for name in [
        "阿莫西林胶囊",
        "布洛芬缓释胶囊",
        "普通门诊挂号费",
        "血细胞分析(血常规)",
    ] {
        assert!(catalog.iter().any(|c| c.med_list_name == name), "{name}");
    }
}

#[test]
fn write_csv_dir_writes_the_five_files() {
    let dir = std::env::temp_dir().join(format!("gongji-demo-test-{}", std::process::id()));
    let pop = demo();
    write_csv_dir(pop, &dir).unwrap();
    let files = csv_bytes(pop);
    for (name, bytes) in [
        PERSONS_FILE,
        ACCOUNTS_FILE,
        INSTITUTIONS_FILE,
        BINDINGS_FILE,
        CATALOG_FILE,
    ]
    .iter()
    .zip(&files)
    {
        assert_eq!(&std::fs::read(dir.join(name)).unwrap(), bytes, "{name}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn progress_is_reported_every_percent() {
    let mut calls = Vec::new();
    let pop = generate(&demo_spec(), &mut |done, total| calls.push((done, total)));
    let total = pop.persons.len();
    assert!((90..=105).contains(&calls.len()), "{}", calls.len());
    assert!(calls.windows(2).all(|w| w[0].0 < w[1].0));
    assert!(calls.iter().all(|&(_, t)| t == total));
    assert_eq!(calls.last(), Some(&(total, total)));
}

#[test]
fn province_spec_scales_and_meets_its_binding_target() {
    let spec = province_spec(20_000);
    assert_eq!(province_spec(PROVINCE_PERSONS).institutions, 5_000);
    assert_eq!(
        province_spec(PROVINCE_PERSONS).bindings_target,
        Some(300_000)
    );
    let pop = generate(&spec, &mut |_, _| {});
    assert_eq!(pop.persons.len(), 20_000);
    assert_eq!(pop.bindings.len(), 6_000);
    assert_eq!(pop.institutions.len(), spec.institutions);
    let cities: HashSet<Admdvs> = pop.persons.iter().map(|p| p.admdvs).collect();
    assert_eq!(cities.len(), 16);
    assert!(cities.iter().all(|c| c.province() == 37));
    let rows: Vec<&BindingRow> = pop.bindings.iter().collect();
    // check_bindings needs Shanxi rows; check the Shandong rules by hand here.
    let by_no = persons_by_psn_no(&pop);
    for b in rows {
        let h = by_no[b.holder_psn_no.as_str()];
        let r = by_no[b.relative_psn_no.as_str()];
        assert_eq!(h.insutype, Insutype::Employee);
        assert_eq!(h.admdvs, r.admdvs);
    }
}

#[test]
fn summary_speaks_chinese() {
    let text = demo().summary().to_string();
    for word in [
        "参保人",
        "烟台市",
        "淄博市",
        "职工",
        "居民",
        "共济绑定",
        "零售药店",
        "医保目录",
    ] {
        assert!(text.contains(word), "{word}: {text}");
    }
    let s = demo().summary();
    assert_eq!(s.persons, demo().persons.len());
    assert_eq!(s.regions.len(), 5);
    assert_eq!(
        s.regions.iter().map(|r| r.persons).sum::<usize>(),
        s.persons
    );
    assert_eq!(
        s.hospitals.iter().sum::<usize>() + s.pharmacies,
        demo().institutions.len()
    );
}

#[test]
fn every_generated_relation_fits_both_id_numbers() {
    // The relations a holder declares must fit the ID numbers' sexes and birth dates
    // (gongji_core::kinship); the demo population declares only such relations.
    let pop = demo();
    let persons = persons_by_psn_no(pop);
    for b in &pop.bindings {
        let holder = persons[b.holder_psn_no.as_str()];
        let relative = persons[b.relative_psn_no.as_str()];
        assert_eq!(
            gongji_core::kinship::check_relation_plausible(
                &holder.certno,
                &relative.certno,
                b.relationship
            ),
            Ok(()),
            "{} → {} as {}",
            holder.certno,
            relative.certno,
            b.relationship
        );
    }
}
