//! Persons' ID and phone numbers at rest, through the real binary: `gongji privacy keygen`,
//! an import with `--privacy-key` that leaves neither in the database file, an export that
//! writes them in clear for the bureau, `gongji serve` refusing a wrong or missing key with
//! its stable code and writing nothing, serving with the right one (1101 by ID number), and
//! `gongji privacy encrypt-existing` sealing a registry imported in clear.

mod support;

use std::path::{Path, PathBuf};

use support::{person_query, Server, GONGJI, NOW, ZB_HOSP1};

/// (psn_no, ID number, phone) of the fixture's Zibo people.
fn people() -> Vec<(String, String, String)> {
    [("ZB-E1", 31), ("ZB-E2", 33), ("ZB-R1", 36)]
        .iter()
        .enumerate()
        .map(|(i, (psn_no, seq))| {
            (
                psn_no.to_string(),
                gongji_testkit::idcard::certno_of("370303", "19850101", *seq),
                format!("1380000{:04}", 1234 + i),
            )
        })
        .collect()
}

fn write_registry(dir: &Path) {
    std::fs::create_dir_all(dir).expect("registry dir");
    let mut persons = String::from(
        "psn_no,certno,psn_name,gend,brdy,insutype,psn_type,admdvs,psn_insu_stas,cvlserv_flag,public_medical,emp_name,phone\n",
    );
    for (psn_no, certno, phone) in people() {
        let gend = gongji_testkit::idcard::gend_of(certno[14..17].parse().expect("seq"));
        persons.push_str(&format!(
            "{psn_no},{certno},钱文博,{gend},1985-01-01,310,11,370300,1,0,0,某某有限公司,{phone}\n"
        ));
    }
    std::fs::write(dir.join("persons.csv"), persons).expect("persons.csv");
    let i = ZB_HOSP1;
    std::fs::write(
        dir.join("institutions.csv"),
        format!(
            "fixmedins_code,fixmedins_name,fixmedins_type,hosp_lv,admdvs,lat,lon,mutual_aid,paasid,token\n\
             {},{},{},{},{},36.500000,117.500000,1,{},{}\n",
            i.code,
            i.name,
            i.kind,
            i.level,
            i.admdvs,
            i.paasid(),
            i.token()
        ),
    )
    .expect("institutions.csv");
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn gongji(args: &[&str]) -> (Option<i32>, String, String) {
    let out = gongji_testkit::process::run(GONGJI, args);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn must(args: &[&str]) -> String {
    gongji_testkit::process::must_succeed(GONGJI, args)
}

/// The database file and its WAL, as bytes.
fn raw(db: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(db).expect("database file");
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    if let Ok(w) = std::fs::read(PathBuf::from(wal)) {
        bytes.extend(w);
    }
    bytes
}

fn plaintext_in(bytes: &[u8]) -> Vec<String> {
    people()
        .into_iter()
        .flat_map(|(_, c, p)| [c, p])
        .filter(|v| bytes.windows(v.len()).any(|w| w == v.as_bytes()))
        .collect()
}

/// Every stored person row, as the database holds it.
fn persons_rows(db: &Path) -> Vec<String> {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open read-only");
    let mut st = c
        .prepare("SELECT psn_no || certno || phone FROM persons ORDER BY psn_no")
        .expect("prepare");
    let rows = st.query_map([], |r| r.get(0)).expect("query");
    rows.map(|r| r.expect("row")).collect()
}

#[test]
fn an_encrypted_registry_is_imported_exported_and_served_only_with_its_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("pii.key");
    let other = dir.path().join("other.key");
    let db = dir.path().join("gongji.db");
    must(&["privacy", "keygen", "--out", s(&key)]);
    let text = std::fs::read_to_string(&key).expect("key file");
    assert_eq!(text.trim().len(), 64, "64 hex digits");
    let (code, _, err) = gongji(&["privacy", "keygen", "--out", s(&key)]);
    assert_ne!(code, Some(0), "a key file is never overwritten: {err}");
    assert_eq!(std::fs::read_to_string(&key).expect("key"), text);
    must(&["privacy", "keygen", "--out", s(&other)]);

    let registry = dir.path().join("registry");
    write_registry(&registry);
    must(&[
        "import",
        "--db",
        s(&db),
        "--privacy-key",
        s(&key),
        s(&registry),
    ]);
    let bytes = raw(&db);
    assert!(
        bytes.windows(5).any(|w| w == b"ZB-E1"),
        "the scan sees rows"
    );
    assert_eq!(plaintext_in(&bytes), Vec::<String>::new());

    // The bureau's export is in clear; without the key there is none.
    let out = dir.path().join("export");
    must(&["export", "--db", s(&db), "--privacy-key", s(&key), s(&out)]);
    let exported = std::fs::read_to_string(out.join("persons.csv")).expect("persons.csv");
    for (psn_no, certno, phone) in people() {
        assert!(
            exported.contains(&format!("{psn_no},{certno},")) && exported.contains(&phone),
            "{psn_no} exported in clear: {exported}"
        );
    }
    let (code, _, err) = gongji(&["export", "--db", s(&db), s(&dir.path().join("x"))]);
    assert_eq!(code, Some(2));
    assert!(err.contains("GJ-PRIVACY-KEY-NEEDED"), "{err}");

    // A wrong key and no key stop the server before it reads or writes a person.
    let before = persons_rows(&db);
    for (args, expected) in [
        (vec!["--privacy-key", s(&other)], "GJ-PRIVACY-KEY-WRONG"),
        (vec![], "GJ-PRIVACY-KEY-NEEDED"),
    ] {
        let mut all = vec!["serve", "--db", s(&db), "--addr", "127.0.0.1:0"];
        all.extend(args);
        let (code, stdout, err) = gongji(&all);
        assert_eq!(code, Some(2), "{stdout}{err}");
        assert!(err.contains(expected), "{err}");
        assert!(err.contains("密钥"), "said in Chinese: {err}");
        assert!(!stdout.contains("listening"), "{stdout}");
        assert_eq!(persons_rows(&db), before, "nothing written");
    }

    // The config's [privacy] key: served, and a hospital finds a person by ID number.
    let config = dir.path().join("gongji.toml");
    std::fs::write(
        &config,
        "[privacy]\nencrypt_at_rest = true\nkey_file = \"pii.key\"\n",
    )
    .expect("config");
    let server = Server::launch(&[
        "serve",
        "--config",
        s(&config),
        "--db",
        s(&db),
        "--addr",
        "127.0.0.1:0",
        "--now",
        NOW,
    ]);
    for (psn_no, certno, _) in people() {
        let out = server
            .call(
                &ZB_HOSP1,
                "1101",
                person_query("02", &certno.to_lowercase()),
            )
            .ok();
        assert_eq!(out.get("baseinfo").get("psn_no").s(), psn_no);
        assert_eq!(out.get("baseinfo").get("certno").s(), certno);
    }
    server.stop();
    assert_eq!(plaintext_in(&raw(&db)), Vec::<String>::new());
}

#[test]
fn encrypt_existing_seals_a_registry_imported_in_clear() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("pii.key");
    let db = dir.path().join("gongji.db");
    let registry = dir.path().join("registry");
    write_registry(&registry);
    must(&["import", "--db", s(&db), s(&registry)]);
    assert_eq!(plaintext_in(&raw(&db)).len(), 6, "in clear before");
    must(&["privacy", "keygen", "--out", s(&key)]);
    let said = must(&[
        "privacy",
        "encrypt-existing",
        "--db",
        s(&db),
        "--privacy-key",
        s(&key),
    ]);
    assert!(said.contains("3"), "{said}");
    assert_eq!(plaintext_in(&raw(&db)), Vec::<String>::new());
    let out = dir.path().join("export");
    must(&["export", "--db", s(&db), "--privacy-key", s(&key), s(&out)]);
    let exported = std::fs::read_to_string(out.join("persons.csv")).expect("persons.csv");
    for (_, certno, phone) in people() {
        assert!(exported.contains(&certno) && exported.contains(&phone));
    }
}
