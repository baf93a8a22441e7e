//! The registry files through `import_dir` and back out through `export_dir`: good rows load,
//! each bad row is refused with its FILE:LINE and stable code, a wrong header refuses the
//! whole import, and export → import → export is byte for byte the same.

mod common;

use std::path::Path;

use common::World;
use gongji_core::codes::{ChargeLevel, Relationship};
use gongji_core::domain::{Binding, BindingStatus};
use gongji_core::idcard::check_char;
use gongji_core::Fen;
use gongji_engine::csv_io::{
    export_dir, import_dir, ImportReport, AGENCIES, BINDINGS, INSTITUTIONS, PERSONS,
};
use gongji_engine::{BindingChange, Limits};
use gongji_store::Store;

const FILES: [&str; 5] = [
    "persons.csv",
    "accounts.csv",
    "institutions.csv",
    "catalog.csv",
    "bindings.csv",
];

/// A valid ID number: address, birth date, sequence and the GB 11643 check character.
fn certno(address: &str, birth: &str, seq: &str) -> String {
    let first17 = format!("{address}{birth}{seq}");
    format!("{first17}{}", check_char(&first17).unwrap())
}

/// The same with the wrong check character.
fn bad_certno(address: &str, birth: &str, seq: &str) -> String {
    let good = certno(address, birth, seq);
    let last = if good.ends_with('1') { '2' } else { '1' };
    format!("{}{last}", &good[..17])
}

fn person_row(psn_no: &str, address: &str, birth: &str, insutype: &str, admdvs: &str) -> String {
    let brdy = format!("{}-{}-{}", &birth[..4], &birth[4..6], &birth[6..]);
    let seq = &psn_no[psn_no.len() - 3..];
    format!(
        "{psn_no},{},测试{seq},1,{brdy},{insutype},11,{admdvs},1,0,0,某单位,13800000{seq}",
        certno(address, birth, seq)
    )
}

/// The registry of the test, with good and bad rows; line numbers in comments.
fn write_registry(dir: &Path) -> String {
    let bad_id = bad_certno("370303", "19800101", "009");
    let persons = [
        PERSONS.1.join(","),
        person_row("37030300000001", "370303", "19700101", "310", "370303"), // 2 ZH1
        person_row("37030300000002", "370303", "19710101", "310", "370303"), // 3 ZH2
        person_row("37030300000003", "370303", "20100101", "390", "370303"), // 4 ZR
        person_row("37060200000004", "370602", "19720101", "310", "370602"), // 5 YH
        person_row("37060200000005", "370602", "19750101", "390", "370602"), // 6 YS
        person_row("37060200000006", "370602", "20120101", "390", "370602"), // 7 YC
        person_row("14010500000007", "140105", "19730101", "310", "140105"), // 8 TH
        person_row("14010500000008", "140105", "20150101", "390", "140105"), // 9 TC
        // 10: bad check digit
        format!("37030300000009,{bad_id},坏号,1,1980-01-01,310,11,370303,1,0,0,,"),
        // 11: unknown insutype code
        person_row("37030300000010", "370303", "19810101", "999", "370303"),
    ];
    let accounts = [
        "psn_no,balance",
        "37030300000001,1000.00", // 2
        "37030300000002,500.50",  // 3
        "37060200000004,2000.00", // 4
        "14010500000007,3000.00", // 5
        "37030300000003,0.00",    // 6 a resident's empty account
        "99999900000000,10.00",   // 7 unknown person
        "37060200000005,10.00",   // 8 a resident has no personal account
    ];
    let institutions = [
        "fixmedins_code,fixmedins_name,fixmedins_type,hosp_lv,admdvs,lat,lon,mutual_aid,paasid,token",
        "H37030300001,淄博市第一医院,1,3,370303,36.800000,118.050000,1,paas-zb1,tok-zb1", // 2
        "P37060200001,烟台大药房,2,1,370602,37.460000,121.440000,1,paas-yt1,tok-yt1",     // 3
        "H3703,编码太短,1,1,370303,36.8,118.0,1,paas-x,tok-x",                            // 4
        "H37030300002,等级未知,1,9,370303,36.8,118.0,1,paas-y,tok-y",                     // 5
    ];
    let catalog = [
        "med_list_codg,med_list_name,chrgitm_lv,pric_uplmt_amt,selfpay_prop",
        "X01,阿莫西林胶囊,01,12.50,0", // 2
        "X02,某乙类药,02,,0.1",        // 3
        "X03,等级未知,04,,0",          // 4
    ];
    let bindings = [
        // The first version of the format: six columns, still accepted.
        BINDINGS.1[..6].join(","),
        "37030300000001,37030300000003,21,2024-01-01,,".into(), // 2 Zibo child
        "37030300000002,37030300000003,21,2024-02-01,,".into(), // 3 the same child again
        "37060200000004,37060200000005,73,2025-08-01,,".into(), // 4 Yantai sibling too early
        "37060200000004,37060200000006,21,2025-08-01,2026-12-31,".into(), // 5
        "37060200000004,37060200000005,73,2025-09-01,,".into(), // 6 the sibling in time
        "14010500000007,14010500000008,21,2024-01-01,,200.00".into(), // 7 Shanxi, with a limit
        "37060200000004,37060200000006,01,2025-09-01,,".into(), // 8 not a relation code
    ];
    let write = |name: &str, lines: Vec<String>| {
        std::fs::write(dir.join(name), lines.join("\n") + "\n").unwrap();
    };
    let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    write("persons.csv", persons.to_vec());
    write("accounts.csv", own(&accounts));
    write("institutions.csv", own(&institutions));
    write("catalog.csv", own(&catalog));
    write("bindings.csv", bindings.to_vec());
    bad_id
}

fn import(w: &mut World, dir: &Path) -> ImportReport {
    let report = import_dir(&mut w.engine, dir, &mut |_, _| {}).expect("files readable");
    w.verify();
    report
}

fn refusals(report: &ImportReport) -> Vec<String> {
    report
        .refused
        .iter()
        .map(|r| format!("{}:{}: {}", r.file, r.line, r.code))
        .collect()
}

#[test]
fn import_loads_good_rows_and_refuses_bad_ones_by_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad_id = write_registry(dir.path());
    let mut w = World::new();
    let report = import(&mut w, dir.path());

    assert_eq!(
        refusals(&report),
        [
            "accounts.csv:7: GJ-UNKNOWN-PERSON",
            "accounts.csv:8: GJ-IMPORT-BAD-FIELD",
            "bindings.csv:3: GJ-BIND-RELATIVE-ALREADY-BOUND",
            "bindings.csv:4: GJ-BIND-RELATIONSHIP-OUT-OF-SCOPE",
            "bindings.csv:8: GJ-IMPORT-BAD-FIELD",
            "catalog.csv:4: GJ-IMPORT-BAD-FIELD",
            "institutions.csv:4: GJ-IMPORT-BAD-FIELD",
            "institutions.csv:5: GJ-IMPORT-BAD-FIELD",
            "persons.csv:10: GJ-IMPORT-BAD-FIELD",
            "persons.csv:11: GJ-IMPORT-BAD-FIELD",
        ]
    );
    assert_eq!(report.exit_code(), 3);
    let id_refusal = report.refused.iter().find(|r| r.line == 10).unwrap();
    assert!(
        id_refusal.message.contains("校验位"),
        "{}",
        id_refusal.message
    );
    assert!(
        !id_refusal.message.contains(&bad_id),
        "the ID number is masked"
    );
    let loaded: Vec<(&str, usize)> = report
        .loaded
        .iter()
        .map(|(f, n)| (f.as_str(), *n))
        .collect();
    assert_eq!(
        loaded,
        [
            ("persons.csv", 8),
            ("institutions.csv", 2),
            ("catalog.csv", 2),
            ("accounts.csv", 5),
            ("bindings.csv", 4),
        ]
    );

    // The good rows are there, and only they.
    let state = w.engine.state();
    let mut persons: Vec<&String> = state.persons.keys().collect();
    persons.sort();
    assert_eq!(
        persons,
        [
            "14010500000007",
            "14010500000008",
            "37030300000001",
            "37030300000002",
            "37030300000003",
            "37060200000004",
            "37060200000005",
            "37060200000006",
        ]
    );
    assert_eq!(w.balance("37030300000001"), 100_000);
    assert_eq!(w.balance("37030300000002"), 50_050);
    assert_eq!(w.balance("37060200000004"), 200_000);
    assert_eq!(w.balance("14010500000007"), 300_000);
    assert_eq!(w.balance("37030300000003"), 0);
    assert_eq!(w.account("funding"), -650_050);
    let mut bindings: Vec<_> = state
        .bindings
        .values()
        .map(|b| {
            (
                b.holder.as_str(),
                b.relative.as_str(),
                b.relationship,
                b.limit_per_payment,
            )
        })
        .collect();
    bindings.sort();
    let rel = |c| Relationship::from_code(c).unwrap();
    assert_eq!(
        bindings,
        [
            (
                "14010500000007",
                "14010500000008",
                rel(21),
                Some(Fen::from_fen(20_000))
            ),
            ("37030300000001", "37030300000003", rel(21), None),
            ("37060200000004", "37060200000005", rel(73), None),
            ("37060200000004", "37060200000006", rel(21), None),
        ]
    );
    let mut institutions: Vec<&String> = state.institutions.keys().collect();
    institutions.sort();
    assert_eq!(institutions, ["H37030300001", "P37060200001"]);
    assert_eq!(state.catalog.len(), 2);
    assert_eq!(state.catalog["X01"].price_cap, Some(Fen::from_fen(1_250)));
    assert_eq!(state.catalog["X02"].level, ChargeLevel::ClassB);
    assert_eq!(state.catalog["X02"].selfpay_prop.get(), 1_000);
}

#[test]
fn importing_the_same_balances_again_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write_registry(dir.path());
    let mut w = World::new();
    import(&mut w, dir.path());
    let before = w.balances();

    let again = tempfile::tempdir().unwrap();
    std::fs::copy(
        dir.path().join("accounts.csv"),
        again.path().join("accounts.csv"),
    )
    .unwrap();
    let report = import(&mut w, again.path());
    assert_eq!(
        refusals(&report),
        [
            "accounts.csv:7: GJ-UNKNOWN-PERSON",
            "accounts.csv:8: GJ-IMPORT-BAD-FIELD"
        ]
    );
    assert_eq!(w.balances(), before);

    // A new balance moves only the difference.
    std::fs::write(
        again.path().join("accounts.csv"),
        "psn_no,balance\n37030300000002,600.00\n",
    )
    .unwrap();
    assert!(import(&mut w, again.path()).refused.is_empty());
    assert_eq!(w.balance("37030300000002"), 60_000);
    assert_eq!(w.account("funding"), -660_000);
}

#[test]
fn a_wrong_header_is_a_file_error_and_nothing_is_loaded() {
    let dir = tempfile::tempdir().unwrap();
    write_registry(dir.path());
    // persons.csv is fine; bindings.csv, read last, has a wrong header.
    let text = std::fs::read_to_string(dir.path().join("bindings.csv")).unwrap();
    let wrong = text.replacen("holder_psn_no", "holder", 1);
    std::fs::write(dir.path().join("bindings.csv"), wrong).unwrap();

    let mut w = World::new();
    let err = import_dir(&mut w.engine, dir.path(), &mut |_, _| {}).unwrap_err();
    assert!(err.file.ends_with("bindings.csv"), "{err}");
    assert!(err.to_string().contains("GJ-IMPORT-FILE"), "{err}");
    assert!(err.message.contains(&BINDINGS.1.join(",")), "{err}");
    assert!(w.engine.state().persons.is_empty(), "nothing was imported");
    assert!(w.balances().is_empty());
    w.verify();

    // A wrong header in the first file read, too.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("persons.csv"), "psn_no,name\n1,张三\n").unwrap();
    let err = import_dir(&mut w.engine, dir.path(), &mut |_, _| {}).unwrap_err();
    assert!(err.file.ends_with("persons.csv"), "{err}");
}

#[test]
fn export_then_import_into_a_fresh_engine_gives_the_same_files() {
    let src = tempfile::tempdir().unwrap();
    write_registry(src.path());
    let mut first = World::new();
    import(&mut first, src.path());

    let out1 = tempfile::tempdir().unwrap();
    export_dir(&first.engine, out1.path()).unwrap();
    let read = |dir: &Path, name: &str| std::fs::read(dir.join(name)).unwrap();
    assert_eq!(
        String::from_utf8(read(out1.path(), "accounts.csv")).unwrap(),
        "psn_no,balance\n\
         14010500000007,3000.00\n\
         37030300000001,1000.00\n\
         37030300000002,500.50\n\
         37060200000004,2000.00\n"
    );
    assert_eq!(
        String::from_utf8(read(out1.path(), "bindings.csv")).unwrap(),
        "holder_psn_no,relative_psn_no,relationship,begin_date,end_date,limit_per_payment,limit_per_month,status,channel,limit_per_day,limit_per_year\n\
         37030300000001,37030300000003,21,2024-01-01,,,,active,import,,\n\
         37060200000004,37060200000006,21,2025-08-01,2026-12-31,,,active,import,,\n\
         37060200000004,37060200000005,73,2025-09-01,,,,active,import,,\n\
         14010500000007,14010500000008,21,2024-01-01,,200.00,,active,import,,\n"
    );

    let mut second = World::new();
    let report = import(&mut second, out1.path());
    assert!(report.refused.is_empty(), "{:?}", refusals(&report));
    let out2 = tempfile::tempdir().unwrap();
    export_dir(&second.engine, out2.path()).unwrap();
    for name in FILES {
        assert_eq!(
            read(out1.path(), name),
            read(out2.path(), name),
            "{name} differs after a round trip"
        );
    }
    assert_eq!(first.balances(), second.balances());
    let persons_csv = String::from_utf8(read(out1.path(), "persons.csv")).unwrap();
    assert_eq!(persons_csv.lines().count(), 1 + 8);
}

/// The lines of the test's bindings.csv refused, as the LF file reports them.
const BINDING_REFUSALS: [&str; 3] = [
    "bindings.csv:3: GJ-BIND-RELATIVE-ALREADY-BOUND",
    "bindings.csv:4: GJ-BIND-RELATIONSHIP-OUT-OF-SCOPE",
    "bindings.csv:8: GJ-IMPORT-BAD-FIELD",
];

fn binding_refusals(report: &ImportReport) -> Vec<String> {
    refusals(report)
        .into_iter()
        .filter(|r| r.starts_with("bindings.csv"))
        .collect()
}

#[test]
fn a_crlf_file_reports_the_lines_an_editor_shows() {
    let dir = tempfile::tempdir().unwrap();
    write_registry(dir.path());
    let mut w = World::new();
    assert_eq!(
        binding_refusals(&import(&mut w, dir.path())),
        BINDING_REFUSALS
    );

    // The same registry as Excel or Python's csv module writes it: CRLF line ends.
    let crlf = tempfile::tempdir().unwrap();
    for name in FILES {
        let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
        std::fs::write(crlf.path().join(name), text.replace('\n', "\r\n")).unwrap();
    }
    let mut w = World::new();
    let report = import(&mut w, crlf.path());
    assert_eq!(binding_refusals(&report), BINDING_REFUSALS);
    assert_eq!(
        refusals(&report)
            .iter()
            .filter(|r| r.starts_with("persons.csv"))
            .collect::<Vec<_>>(),
        [
            "persons.csv:10: GJ-IMPORT-BAD-FIELD",
            "persons.csv:11: GJ-IMPORT-BAD-FIELD"
        ]
    );
    assert_eq!(w.engine.state().bindings.len(), 4);
}

#[test]
fn a_gb18030_file_from_excel_imports_with_its_chinese_names() {
    let dir = tempfile::tempdir().unwrap();
    let names = ["张建国", "李秀英", "欧阳娜娜"];
    let mut lines = vec![PERSONS.1.join(",")];
    for (i, name) in names.iter().enumerate() {
        let psn_no = format!("3703030000000{}", i + 1);
        lines.push(
            person_row(&psn_no, "370303", "19700101", "310", "370303")
                .replace(&format!("测试{:03}", i + 1), name),
        );
    }
    let text = lines.join("\r\n") + "\r\n";
    let (gb, _, unmappable) = encoding_rs::GB18030.encode(&text);
    assert!(!unmappable);
    assert!(std::str::from_utf8(&gb).is_err(), "the file is not UTF-8");
    std::fs::write(dir.path().join("persons.csv"), &gb).unwrap();

    let mut w = World::new();
    let report = import(&mut w, dir.path());
    assert!(report.refused.is_empty(), "{:?}", refusals(&report));
    let state = w.engine.state();
    for (i, name) in names.iter().enumerate() {
        let person = &state.persons[&format!("3703030000000{}", i + 1)];
        assert_eq!(person.name.reveal(), *name);
        assert_eq!(person.employer_name, "某单位");
    }
}

#[test]
fn a_file_in_no_known_encoding_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = format!("{}\n", PERSONS.1.join(",")).into_bytes();
    // Neither UTF-8 nor GB18030: 0xFF is no lead byte in either.
    bytes.extend_from_slice(b"1,\xff\xff\xff\n");
    std::fs::write(dir.path().join("persons.csv"), &bytes).unwrap();
    let mut w = World::new();
    let err = import_dir(&mut w.engine, dir.path(), &mut |_, _| {}).unwrap_err();
    assert!(err.message.contains("无法识别文件编码"), "{err}");
    assert!(err.message.contains("CSV UTF-8"), "{err}");
    assert!(w.engine.state().persons.is_empty());

    // Excel's "Unicode 文本" (UTF-16) is named as such.
    std::fs::write(dir.path().join("persons.csv"), b"\xff\xfep\0s\0").unwrap();
    let err = import_dir(&mut w.engine, dir.path(), &mut |_, _| {}).unwrap_err();
    assert!(err.message.contains("UTF-16"), "{err}");
}

/// A binding's fields but its id, which is the registry's own.
fn binding_fields(b: &Binding) -> String {
    format!(
        "{} {} {} {} {:?} {:?} {:?} {:?} {:?}",
        b.holder,
        b.relative,
        b.relationship,
        b.begin,
        b.end,
        b.limit_per_payment,
        b.limit_per_month,
        b.status,
        b.channel
    )
}

fn all_bindings(w: &World) -> Vec<String> {
    let mut v: Vec<&Binding> = w.engine.state().bindings.values().collect();
    v.sort_by_key(|b| b.id);
    v.into_iter().map(binding_fields).collect()
}

#[test]
fn export_then_import_keeps_every_binding_state() {
    let src = tempfile::tempdir().unwrap();
    write_registry(src.path());
    let mut first = World::new();
    import(&mut first, src.path());
    let id_of = |w: &World, relative: &str| {
        w.engine
            .state()
            .bindings
            .values()
            .find(|b| b.relative == relative)
            .unwrap()
            .id
    };
    // Shanxi: limits per payment and per month, then suspended by staff.
    let shanxi = id_of(&first, "14010500000008");
    first
        .change(
            shanxi,
            BindingChange::Limits(Limits {
                per_payment: Some(Fen::from_fen(20_000)),
                per_day: Some(Fen::from_fen(50_000)),
                per_month: Some(Fen::from_fen(150_000)),
                per_year: Some(Fen::from_fen(900_000)),
            }),
            "2025-10-01",
        )
        .unwrap();
    first
        .change(
            shanxi,
            BindingChange::Suspend {
                reason: "核查中".into(),
            },
            "2025-10-02",
        )
        .unwrap();
    // Yantai: one relative unbound by the holder.
    let ended = id_of(&first, "37060200000006");
    first.unbind(ended, "2025-10-03").unwrap();
    let states: Vec<BindingStatus> = {
        let mut v: Vec<&Binding> = first.engine.state().bindings.values().collect();
        v.sort_by_key(|b| b.id);
        v.iter().map(|b| b.status).collect()
    };
    assert!(states.contains(&BindingStatus::Suspended) && states.contains(&BindingStatus::Ended));

    let out1 = tempfile::tempdir().unwrap();
    export_dir(&first.engine, out1.path()).unwrap();
    let mut second = World::new();
    let report = import(&mut second, out1.path());
    assert!(report.refused.is_empty(), "{:?}", refusals(&report));
    assert_eq!(all_bindings(&second), all_bindings(&first));

    let out2 = tempfile::tempdir().unwrap();
    export_dir(&second.engine, out2.path()).unwrap();
    let read = |dir: &Path| std::fs::read_to_string(dir.join("bindings.csv")).unwrap();
    assert_eq!(read(out1.path()), read(out2.path()));
}

#[test]
fn institutions_carry_address_phone_and_opening_hours_through_import_and_export() {
    let src = tempfile::tempdir().unwrap();
    write_registry(src.path());
    std::fs::write(
        src.path().join("institutions.csv"),
        format!(
            "{}\nP37060200001,烟台大药房,2,1,370602,37.460000,121.440000,1,paas-yt1,tok-yt1,芝罘区南大街8号,0535-6600123,每天 08:00–21:30\n",
            INSTITUTIONS.1.join(",")
        ),
    )
    .unwrap();
    let mut w = World::new();
    let report = import(&mut w, src.path());
    assert!(
        !refusals(&report)
            .iter()
            .any(|r| r.starts_with("institutions.csv")),
        "{:?}",
        refusals(&report)
    );
    let out = tempfile::tempdir().unwrap();
    export_dir(&w.engine, out.path()).unwrap();
    let csv = std::fs::read_to_string(out.path().join("institutions.csv")).unwrap();
    assert!(
        csv.starts_with(
            "fixmedins_code,fixmedins_name,fixmedins_type,hosp_lv,admdvs,lat,lon,mutual_aid,paasid,token,address,phone,opening_hours\n"
        ),
        "{csv}"
    );
    assert!(
        csv.contains(",paas-yt1,tok-yt1,芝罘区南大街8号,0535-6600123,每天 08:00–21:30\n"),
        "{csv}"
    );
}

#[test]
fn agencies_are_stored_with_their_contacts_and_come_back_out() {
    let src = tempfile::tempdir().unwrap();
    write_registry(src.path());
    std::fs::write(
        src.path().join("agencies.csv"),
        format!(
            "{}\nJB370600,烟台市医疗保障服务中心,370600,37.463000,121.447000,烟台市莱山区港城东大街1号,0535-6789012,周一至周五 09:00–17:00\n\
             JB370601,,370600,37.4,121.4,,,\n",
            AGENCIES.1.join(",")
        ),
    )
    .unwrap();
    let mut w = World::new();
    let report = import(&mut w, src.path());
    // The row without a name is refused, with its line.
    let agency_refusals: Vec<String> = refusals(&report)
        .into_iter()
        .filter(|r| r.starts_with("agencies.csv"))
        .collect();
    assert_eq!(agency_refusals.len(), 1, "{agency_refusals:?}");
    assert!(agency_refusals[0].starts_with("agencies.csv:3:"));
    // Kept by the store, not only in memory.
    let snap = w.engine.store_mut().load_snapshot().unwrap();
    assert_eq!(snap.agencies.len(), 1);
    assert_eq!(snap.agencies[0].contact.phone, "0535-6789012");
    let out = tempfile::tempdir().unwrap();
    export_dir(&w.engine, out.path()).unwrap();
    let csv = std::fs::read_to_string(out.path().join("agencies.csv")).unwrap();
    assert_eq!(
        csv,
        "agency_code,agency_name,admdvs,lat,lon,address,phone,opening_hours\n\
         JB370600,烟台市医疗保障服务中心,370600,37.463000,121.447000,烟台市莱山区港城东大街1号,0535-6789012,周一至周五 09:00–17:00\n"
    );
}
