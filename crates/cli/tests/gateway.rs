//! The gateway of the institution interface against the real binary (issue 10, findings 3
//! and 7): headers used before a restart stay refused after it, the interface refuses fee
//! lines whose price × count is not their amount and transactions of the other kind of
//! institution, and gateway tokens are encrypted at rest.

mod support;

use support::*;

/// Sign once, send, restart the server on the same database, then send the same headers
/// (timestamp, nonce, signature) with a new body: a purchase on the holder's account. It is
/// refused and nothing moves; the same purchase signed afresh goes through.
#[test]
fn headers_used_before_a_restart_are_refused_after_it() {
    let env = Env::new();
    let srv = env.serve(NOW);
    let inst = &ZB_PHARM;
    let who = person("ZB-E1");
    let headers = signed_headers(inst);
    let read = Call::new(inst, "1101", person_query("02", &who.certno())).body();
    srv.post(API, &headers, read.into_bytes()).ok();

    let srv = srv.restart(NOW);
    let before = env.balances();
    let purchase = Call::new(
        inst,
        "2102",
        drug_input(&who, &who.certno(), "1", &one(ITEM_A, "12.00"), true),
    )
    .insured_in(who.admdvs);
    let m = srv
        .post(API, &headers, purchase.body().into_bytes())
        .unauthorized();
    assert!(m.starts_with("GJ-AUTH-SIGNED-BEFORE-START"), "{m}");
    assert_eq!(env.balances(), before, "a refused replay moves nothing");

    let (setl, _) = srv.buy(inst, &who, &who.certno(), "1", &one(ITEM_A, "12.00"));
    assert_eq!(setl.acct, 1200);
    srv.stop();
    env.verify();
}

/// A fee line whose `pric × cnt` is a fen or more away from `det_item_fee_sumamt` is
/// refused by name (2102 at a pharmacy, 2204 at a hospital) and nothing moves; products that
/// only need rounding to the fen pass, computed exactly (6-decimal price, 4-decimal count).
#[test]
fn a_fee_line_whose_price_times_count_is_not_its_amount_is_refused() {
    let env = Env::new();
    let srv = env.serve(NOW);
    let who = person("ZB-E1");
    let before = env.balances();
    let counts = env.counts();

    // 12.00 × 2 declared as 12.00: half the goods would go unpaid by the fund's reckoning.
    let lines = vec![
        line("1", ITEM_A, "3.00", "1", "3.00"),
        line("RX-2", ITEM_A, "12.00", "2", "12.00"),
    ];
    let a = srv.send(
        &Call::new(
            &ZB_PHARM,
            "2102",
            drug_input(&who, &who.certno(), "1", &lines, true),
        )
        .insured_in(who.admdvs),
    );
    assert_eq!(a.refused(), "GJ-SETL-LINE-AMOUNT-MISMATCH");
    let msg = a.envelope().get("err_msg").s().to_string();
    assert!(
        msg.contains("费用明细RX-2") && msg.contains("24.00") && msg.contains("12.00"),
        "{msg}"
    );
    // The pre-settlement (2101) is held to the same rule.
    let a = srv.send(
        &Call::new(
            &ZB_PHARM,
            "2101",
            drug_input(&who, &who.certno(), "1", &lines, false),
        )
        .insured_in(who.admdvs),
    );
    assert_eq!(a.refused(), "GJ-SETL-LINE-AMOUNT-MISMATCH");

    // A hospital's fee upload (2204) too.
    let mdtrt_id = srv.register(&ZB_HOSP1, &who);
    let bad = vec![line("F-9", ITEM_A, "1.234567", "2.5", "3.10")];
    let a = srv.send(
        &Call::new(&ZB_HOSP1, "2204", fee_upload(&mdtrt_id, &who, "0001", &bad))
            .insured_in(who.admdvs),
    );
    assert_eq!(a.refused(), "GJ-SETL-LINE-AMOUNT-MISMATCH");
    assert!(
        a.envelope().get("err_msg").s().contains("F-9"),
        "{}",
        a.text()
    );
    assert_eq!(env.balances(), before, "refusals move nothing");
    let mut after = env.counts();
    // The registration (2201) is the one thing written.
    after.insert("visits", counts["visits"]);
    after.insert("messages", counts["messages"]);
    assert_eq!(after, counts);

    // Rounding to the fen is not a mismatch: 1.234567 × 2.5 = 3.0864175 → 3.09 (or 3.08),
    // 0.333333 × 3 = 0.999999 → 1.00.
    let good = vec![line("F-9", ITEM_A, "1.234567", "2.5", "3.09")];
    srv.send(
        &Call::new(
            &ZB_HOSP1,
            "2204",
            fee_upload(&mdtrt_id, &who, "0001", &good),
        )
        .insured_in(who.admdvs),
    )
    .ok();
    let (setl, _) = srv.buy(
        &ZB_PHARM,
        &who,
        &who.certno(),
        "1",
        &[line("1", ITEM_A, "0.333333", "3", "1.00")],
    );
    assert_eq!(setl.medfee, 100);
    srv.stop();
    env.verify();
}

/// A hospital may not call the pharmacy transactions 2101–2103 and a pharmacy may not call
/// the visit transactions 2201–2208 (the institution's type is the registry's
/// fixmedins_type); both may sign in and read a person (9001, 1101).
#[test]
fn each_kind_of_institution_calls_only_its_own_transactions() {
    let env = Env::new();
    let srv = env.serve(NOW);
    let who = person("ZB-E1");
    let before = env.balances();
    let lines = one(ITEM_A, "12.00");
    for infno in ["2101", "2102"] {
        let a = srv.send(
            &Call::new(
                &ZB_HOSP1,
                infno,
                drug_input(&who, &who.certno(), "1", &lines, infno == "2102"),
            )
            .insured_in(who.admdvs),
        );
        assert_eq!(a.refused(), "GJ-INST-NOT-PHARMACY", "{infno}");
        assert!(a.envelope().get("err_msg").s().contains("不是定点零售药店"));
    }
    let a = srv.send(
        &Call::new(
            &ZB_HOSP1,
            "2103",
            cancel_input("S-NOT-THERE", "MDTRT-NOT-THERE", &who),
        )
        .insured_in(who.admdvs),
    );
    assert_eq!(a.refused(), "GJ-INST-NOT-PHARMACY");
    let a = srv.send(&Call::new(&ZB_PHARM, "2201", registration(&who)).insured_in(who.admdvs));
    assert_eq!(a.refused(), "GJ-INST-NOT-HOSPITAL");
    assert!(a.envelope().get("err_msg").s().contains("不是定点医疗机构"));
    assert_eq!(env.counts()["visits"], 0, "no visit was opened");
    assert_eq!(env.balances(), before);
    // Both kinds read a person and sign in.
    for inst in [&ZB_HOSP1, &ZB_PHARM] {
        srv.call(inst, "9001", sign_in()).ok();
        assert_eq!(srv.balance(inst, &who), 10_000);
    }
    srv.stop();
}

/// Runs `gongji serve` expecting it to refuse to start: its exit code and stderr (killed,
/// and the test failed, if it is still running after 60 s).
fn serve_must_not_start(args: &[&str]) -> String {
    let mut child = std::process::Command::new(GONGJI)
        .arg("serve")
        .args(args)
        .args(["--addr", "127.0.0.1:0", "--now", NOW])
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn gongji serve");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("gongji serve {args:?} started; it must refuse");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    assert_eq!(out.status.code(), Some(2), "exit code of a refused start");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The gateway tokens of a database imported in clear are encrypted (SM4-GCM) once served
/// with `--token-key`: the stored column is not the token, signed requests still pass, the
/// server refuses to start with a wrong key or none, and neither `verify`, `export` nor the
/// server's log shows a token.
#[test]
fn gateway_tokens_are_encrypted_at_rest_with_the_key_file() {
    let env = Env::new();
    let db = env.db.to_str().expect("utf-8").to_string();
    let key = env.dir.path().join("token.key");
    std::fs::write(&key, "00112233445566778899aabbccddeeff\n").expect("key file");
    let key = key.to_str().expect("utf-8").to_string();
    let stored = || -> Vec<(String, String)> {
        let c = env.sql();
        let mut s = c
            .prepare("SELECT fixmedins_code, token FROM institutions ORDER BY fixmedins_code")
            .expect("prepare");
        let rows = s
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query");
        rows.map(|r| r.expect("row")).collect()
    };
    assert!(
        stored()
            .iter()
            .any(|(code, token)| *token == format!("tok-{code}-s3cret")),
        "imported in clear (the migration case)"
    );

    let srv = Server::start_on(&["--db", &db, "--token-key", &key], NOW);
    let rows = stored();
    assert_eq!(rows.len(), INSTITUTIONS.len());
    for (code, token) in &rows {
        assert!(token.starts_with("sm4gcm:"), "{code}: {token}");
        assert!(!token.contains(&format!("tok-{code}")), "{code}: {token}");
    }
    let who = person("ZB-E1");
    let (setl, _) = srv.buy(&ZB_PHARM, &who, &who.certno(), "1", &one(ITEM_A, "5.00"));
    assert_eq!(setl.acct, 500);
    // A restart with the key opens what it sealed; nothing is sealed twice.
    let srv = srv.restart(NOW);
    assert_eq!(stored(), rows);
    assert_eq!(srv.balance(&ZB_PHARM, &who), 10_000 - 500);
    let log = srv.stop().join("\n");

    let wrong = env.dir.path().join("wrong.key");
    std::fs::write(&wrong, "ffeeddccbbaa99887766554433221100").expect("key file");
    let err = serve_must_not_start(&["--db", &db, "--token-key", wrong.to_str().expect("utf-8")]);
    assert!(
        err.contains("GJ-TOKEN-KEY-WRONG") && err.contains("密钥不对"),
        "{err}"
    );
    let err = serve_must_not_start(&["--db", &db]);
    assert!(
        err.contains("GJ-TOKEN-KEY-NEEDED") && err.contains("--token-key"),
        "{err}"
    );
    let malformed = env.dir.path().join("malformed.key");
    std::fs::write(&malformed, "tok-P37030000001-s3cret").expect("key file");
    let err = serve_must_not_start(&[
        "--db",
        &db,
        "--token-key",
        malformed.to_str().expect("utf-8"),
    ]);
    assert!(err.contains("GJ-TOKEN-KEY-MALFORMED"), "{err}");
    assert!(
        !err.contains("tok-P37030000001"),
        "the key file's text is not echoed: {err}"
    );

    let verify = std::process::Command::new(GONGJI)
        .args(["verify", "--db", &db])
        .output()
        .expect("verify");
    assert!(verify.status.success());
    let exported = env.dir.path().join("export");
    let export = std::process::Command::new(GONGJI)
        .args(["export", "--db", &db, exported.to_str().expect("utf-8")])
        .output()
        .expect("export");
    assert!(export.status.success());
    let institutions_csv =
        std::fs::read_to_string(exported.join("institutions.csv")).expect("institutions.csv");
    let shown = format!(
        "{}{}{}{}{log}{institutions_csv}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr),
        String::from_utf8_lossy(&export.stdout),
        String::from_utf8_lossy(&export.stderr),
    );
    for i in INSTITUTIONS {
        assert!(!shown.contains(&i.token()), "{} shown: {shown}", i.code);
    }
}
