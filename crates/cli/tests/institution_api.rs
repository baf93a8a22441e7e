//! Acceptance tests of the institution interface (issue 3) over real HTTP: a spawned
//! `gongji serve` on a temporary SQLite file, a population imported with `gongji import`,
//! requests signed as a hospital HIS or pharmacy POS would sign them. Every settlement answer
//! is checked for the interface's identities to the fen (see `support::Setl`), and every
//! database is checked with `gongji verify` at the end of its test.

mod support;

use support::*;

/// 9001, 1101, 2201, 2202, 2203, 2204, 2205, 2206, 2207, 2208 and 3201 along one outpatient
/// visit: the money comes back on cancel, replays return the first answer byte for byte, and
/// the channel (opter_type) is recorded with the settlement.
#[test]
fn outpatient_journey_through_every_visit_transaction() {
    let env = Env::new();
    let srv = env.serve(NOW);
    let inst = &YT_HOSP1;
    let who = person("YT-E1");

    // 9001 sign-in, at the path with the infno appended too.
    let out = srv.call(inst, "9001", sign_in()).ok();
    let sign = out.get("signinoutb");
    assert!(sign.get("sign_no").s().starts_with(inst.code));
    assert!(sign.get("sign_time").s().starts_with(TODAY));
    let out = srv
        .send(&Call::new(inst, "9001", sign_in()).at_path("9001"))
        .ok();
    assert!(out.get("signinoutb").has("sign_no"));

    // 1101 person info by ID card (and by social-security card and e-voucher token).
    let out = srv
        .call(inst, "1101", person_query("02", &who.certno()))
        .ok();
    let base = out.get("baseinfo");
    assert_eq!(base.get("psn_no").s(), "YT-E1");
    assert_eq!(base.get("certno").s(), who.certno());
    assert_eq!(base.get("psn_name").s(), "赵明远");
    assert_eq!(base.get("gend").s(), "1");
    assert_eq!(base.get("brdy").s(), "1980-03-15");
    assert_eq!(base.get("age").num_text(), "45");
    let insu = &out.get("insuinfo").arr()[0];
    assert_eq!(insu.get("balc").fen(), fen("500.00"));
    assert_eq!(insu.get("insutype").s(), "310");
    assert_eq!(insu.get("psn_insu_stas").s(), "1");
    assert_eq!(insu.get("insuplc_admdvs").s(), "370600");
    for key in [
        "psn_type",
        "psn_insu_date",
        "paus_insu_date",
        "cvlserv_flag",
        "emp_name",
    ] {
        assert!(insu.has(key), "insuinfo lacks {key}");
    }
    assert!(out.has("idetinfo"));
    for cert_type in ["03", "01"] {
        let out = srv
            .call(inst, "1101", person_query(cert_type, &who.certno()))
            .ok();
        assert_eq!(out.get("baseinfo").get("psn_no").s(), "YT-E1");
    }
    let out = srv.call(inst, "1101", person_query("01", "YT-E1")).ok();
    assert_eq!(out.get("baseinfo").get("psn_no").s(), "YT-E1");

    // 2201 registration, then 2202 cancels one visit: it takes no more fees.
    let dropped = srv.register(inst, &who);
    srv.send(&Call::new(
        inst,
        "2202",
        registration_cancel(&who, &dropped),
    ))
    .ok();
    let lines = one(ITEM_A, "10.00");
    let code = srv
        .send(&Call::new(
            inst,
            "2204",
            fee_upload(&dropped, &who, "0001", &lines),
        ))
        .refused();
    assert_eq!(code, "GJ-UNKNOWN-VISIT");

    // The visit that is settled. A replayed 2201 or 2204 answers as the first time and opens
    // or uploads nothing more.
    let reg = Call::new(inst, "2201", registration(&who)).insured_in(who.admdvs);
    let first_reg = srv.send(&reg);
    let mdtrt_id = first_reg.ok().get("data").get("mdtrt_id").s().to_string();
    let before = env.counts();
    assert_eq!(srv.send(&reg).bytes, first_reg.bytes);
    assert_eq!(env.counts(), before);
    srv.call(inst, "2203", visit_info(&mdtrt_id, &who, "11"))
        .ok();
    let batch1 = vec![
        line("1", ITEM_A, "100.00", "3", "300.00"),
        line("2", ITEM_B, "50.00", "1", "50.00"),
        line("3", ITEM_C, "20.00", "1", "20.00"),
        line("4", ITEM_A_CAPPED, "10.00", "3", "30.00"),
    ];
    let upload = Call::new(inst, "2204", fee_upload(&mdtrt_id, &who, "0001", &batch1));
    let first_upload = srv.send(&upload);
    let out = first_upload.ok();
    let before = env.counts();
    assert_eq!(srv.send(&upload).bytes, first_upload.bytes);
    assert_eq!(env.counts(), before);
    let result = out.get("result").arr();
    assert_eq!(result.len(), 4);
    let by_sn = |sn: &str| {
        result
            .iter()
            .find(|r| r.get("feedetl_sn").s() == sn)
            .unwrap_or_else(|| panic!("no result for line {sn}"))
    };
    let a = by_sn("1");
    assert_eq!(a.get("chrgitm_lv").s(), "01");
    assert_eq!(a.get("inscp_scp_amt").fen(), fen("300.00"));
    let b = by_sn("2");
    assert_eq!(b.get("chrgitm_lv").s(), "02");
    assert_eq!(b.get("preselfpay_amt").fen(), fen("5.00"));
    assert_eq!(b.get("inscp_scp_amt").fen(), fen("45.00"));
    let c = by_sn("3");
    assert_eq!(c.get("chrgitm_lv").s(), "03");
    assert_eq!(c.get("fulamt_ownpay_amt").fen(), fen("20.00"));
    assert_eq!(c.get("inscp_scp_amt").fen(), 0);
    let capped = by_sn("4");
    assert_eq!(capped.get("pric_uplmt_amt").fen(), fen("8.00"));
    assert_eq!(capped.get("overlmt_amt").fen(), fen("6.00"));
    assert_eq!(capped.get("inscp_scp_amt").fen(), fen("24.00"));
    for r in result {
        let parts = r.get("fulamt_ownpay_amt").fen()
            + r.get("overlmt_amt").fen()
            + r.get("preselfpay_amt").fen()
            + r.get("inscp_scp_amt").fen();
        assert_eq!(
            parts,
            r.get("det_item_fee_sumamt").fen(),
            "a line's parts add up"
        );
    }

    // A second batch, withdrawn by 2205 before settlement.
    let batch2 = vec![line("5", ITEM_C, "15.00", "1", "15.00")];
    srv.call(inst, "2204", fee_upload(&mdtrt_id, &who, "0002", &batch2))
        .ok();
    srv.call(inst, "2205", fee_cancel(&mdtrt_id, &who, "0002"))
        .ok();

    // 2206 pre-settlement: the bill as the employee outpatient pooling of Yantai (level 1,
    // placeholder values: deductible 200, class A 70%, class B 60%) splits it; nothing moves.
    let settle = settle_input(&who, "02", &who.certno(), "11", "400.00", &mdtrt_id, "1");
    let out = srv.call(inst, "2206", settle.clone()).ok();
    let pre = Setl::of_settlement(&out);
    let expected = |s: &Setl| {
        assert_eq!(s.medfee, fen("400.00"));
        assert_eq!(s.fulamt_ownpay, fen("20.00"));
        assert_eq!(s.overlmt, fen("6.00"));
        assert_eq!(s.preselfpay, fen("5.00"));
        assert_eq!(s.inscp, fen("369.00"));
        assert_eq!(s.act_pay_dedc, fen("200.00"));
        // (324 − 200) × 70% + 45 × 60% = 86.80 + 27.00
        assert_eq!(s.hifp, fen("113.80"));
        assert_eq!(s.fund, fen("113.80"));
        assert_eq!(s.psn_part, fen("286.20"));
        assert_eq!(s.acct, fen("286.20"));
        assert_eq!(s.cash, 0);
        assert_eq!(s.mulaid, 0);
        assert_eq!(s.balc, fen("213.80"));
    };
    expected(&pre);
    assert_eq!(pre.setl_id, None, "a pre-settlement has no setl_id");
    assert_eq!(
        out.get("setldetail").arr()[0].get("fund_pay_type").s(),
        "310102"
    );
    assert_eq!(srv.balance(inst, &who), fen("500.00"), "2206 moves nothing");

    // 2207 settlement from a self-service terminal (opter_type 2).
    let call = Call::new(inst, "2207", settle.clone())
        .opter_type("2")
        .insured_in("370600");
    let first = srv.send(&call);
    let out = first.ok();
    assert!(first.json().get("inf_refmsgid").s().starts_with("370600"));
    let setl = Setl::of_settlement(&out);
    expected(&setl);
    let setl_id = setl.setl_id.clone().expect("2207 answers a setl_id");
    assert_eq!(setl.mdtrt_id, mdtrt_id);
    let info = out.get("setlinfo");
    assert_eq!(info.get("medins_setl_id").s(), call.msgid);
    assert_eq!(info.get("clr_type").s(), "11");
    assert_eq!(info.get("med_type").s(), "11");
    assert_eq!(info.get("insutype").s(), "310");
    assert_eq!(info.get("clr_optins").s(), "370600");
    assert!(info.get("setl_time").s().starts_with(TODAY));
    assert_eq!(srv.balance(inst, &who), fen("213.80"));

    // Replaying the msgid returns the first answer byte for byte and charges nothing more.
    let again = srv.send(&call);
    assert_eq!(again.status, 200);
    assert_eq!(
        again.bytes, first.bytes,
        "a replay is the first answer, byte for byte"
    );
    assert_eq!(srv.balance(inst, &who), fen("213.80"));
    // The same msgid with another body is refused.
    let mut other = call.clone();
    other.input["data"]["invono"] = serde_json::json!("INV-9999");
    assert_eq!(srv.send(&other).refused(), "GJ-IDEMPOTENCY-MSGID-REUSED");
    assert_eq!(srv.balance(inst, &who), fen("213.80"));

    // 3201: our totals of the day agree with the institution's; a wrong figure is named.
    let out = srv
        .call(
            inst,
            "3201",
            reconcile_input(
                "310", "11", "370600", "400.00", "113.80", "286.20", "1", "0",
            ),
        )
        .ok();
    let stmt = out.get("stmtinfo");
    assert_eq!(stmt.get("stmt_rslt").s(), "0", "{stmt:?}");
    assert_eq!(stmt.get("setl_optins").s(), "370600");
    let out = srv
        .call(
            inst,
            "3201",
            reconcile_input(
                "310", "11", "370600", "400.00", "113.80", "286.00", "2", "0",
            ),
        )
        .ok();
    let stmt = out.get("stmtinfo");
    assert_eq!(stmt.get("stmt_rslt").s(), "1");
    let dscr = stmt.get("stmt_rslt_dscr").s();
    assert!(
        dscr.contains("个人账户") && dscr.contains("286.20"),
        "{dscr}"
    );
    assert!(dscr.contains("笔数"), "{dscr}");
    assert!(
        !dscr.contains("医疗费总额"),
        "only what differs is named: {dscr}"
    );

    // 2208 cancels from the window (opter_type 1): every fen comes back, once.
    let cancel = cancel_input(&setl_id, &mdtrt_id, &who);
    let out = srv.call(inst, "2208", cancel.clone()).ok();
    let back = Setl::of_cancel(&out, &setl);
    assert_eq!(back.balc, fen("500.00"));
    assert_eq!(srv.balance(inst, &who), fen("500.00"));
    let code = srv.call(inst, "2208", cancel.clone()).refused();
    assert_eq!(code, "GJ-SETL-ALREADY-CANCELLED");
    assert_eq!(srv.balance(inst, &who), fen("500.00"), "returned once");

    // The pooled-fund usage came back too: the same bill pre-settles as before.
    let out = srv.call(inst, "2206", settle).ok();
    expected(&Setl::of_settlement(&out));

    // 3201 without refunded settlements: nothing left that day.
    let out = srv
        .call(
            inst,
            "3201",
            reconcile_input("310", "11", "370600", "0", "0", "0", "0", "0"),
        )
        .ok();
    assert_eq!(out.get("stmtinfo").get("stmt_rslt").s(), "0");

    // R-Y4: the channel is recorded with the settlement and with its cancel.
    let db = env.sql();
    let (channel, msgid, entry_id): (String, String, i64) = db
        .query_row(
            "SELECT j.channel, j.msgid, j.entry_id FROM settlements s
             JOIN journal j ON j.entry_id = s.entry_id WHERE s.setl_id = ?1",
            [&setl_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("the settlement's journal row");
    assert_eq!(channel, "2", "opter_type 2 = self-service terminal");
    assert_eq!(msgid, call.msgid);
    let cancel_channel: String = db
        .query_row(
            "SELECT channel FROM journal WHERE reverses_entry = ?1",
            [entry_id],
            |r| r.get(0),
        )
        .expect("the cancel's journal row");
    assert_eq!(cancel_channel, "1");
    drop(db);

    srv.stop();
    env.verify();
}

/// 2101 → 2102 → 2103 at a pharmacy: the pre-settlement moves nothing, the settlement is
/// replayed byte for byte, the cancel returns every fen once.
#[test]
fn pharmacy_journey_presettle_settle_cancel() {
    let env = Env::new();
    let srv = env.serve(NOW);
    let inst = &ZB_PHARM;
    let who = person("ZB-E1");
    let lines = vec![
        line("1", ITEM_A, "20.00", "3", "60.00"),
        line("2", ITEM_B, "30.00", "1", "30.00"),
    ];

    let out = srv
        .send(
            &Call::new(
                inst,
                "2101",
                drug_input(&who, &who.certno(), "1", &lines, false),
            )
            .insured_in(who.admdvs),
        )
        .ok();
    let pre = Setl::of_settlement(&out);
    assert_eq!(pre.setl_id, None);
    assert_eq!(pre.medfee, fen("90.00"));
    assert_eq!(pre.preselfpay, fen("3.00"));
    assert_eq!(pre.fund, 0, "no pooled fund for pharmacy purchases");
    assert_eq!(pre.acct, fen("90.00"));
    assert_eq!(pre.balc, fen("10.00"));
    let cut = out.get("detlcutinfo").arr();
    assert_eq!(cut.len(), 2);
    assert_eq!(cut[1].get("preselfpay_amt").fen(), fen("3.00"));
    assert_eq!(srv.balance(inst, &who), fen("100.00"), "2101 moves nothing");

    let call = Call::new(
        inst,
        "2102",
        drug_input(&who, &who.certno(), "1", &lines, true),
    )
    .insured_in(who.admdvs)
    .opter_type("3");
    let first = srv.send(&call);
    let out = first.ok();
    let setl = Setl::of_settlement(&out);
    assert_eq!(
        (
            setl.medfee,
            setl.fund,
            setl.acct,
            setl.cash,
            setl.mulaid,
            setl.balc
        ),
        (pre.medfee, pre.fund, pre.acct, pre.cash, pre.mulaid, pre.balc),
        "2102 settles what 2101 announced"
    );
    let setl_id = setl.setl_id.clone().expect("setl_id");
    let info = out.get("setlinfo");
    assert_eq!(info.get("clr_type").s(), "41");
    assert_eq!(info.get("med_type").s(), "41");
    assert_eq!(out.get("detlcutinfo").arr().len(), 2);
    assert_eq!(srv.balance(inst, &who), fen("10.00"));
    assert_eq!(srv.send(&call).bytes, first.bytes, "replayed byte for byte");
    assert_eq!(
        srv.balance(inst, &who),
        fen("10.00"),
        "a replay charges nothing"
    );
    // Also after a restart: the answer comes from the database.
    let srv = srv.restart(NOW);
    assert_eq!(
        srv.send(&call).bytes,
        first.bytes,
        "replayed after a restart"
    );
    assert_eq!(srv.balance(inst, &who), fen("10.00"));

    let cancel = cancel_input(&setl_id, &setl.mdtrt_id, &who);
    let out = srv
        .send(&Call::new(inst, "2103", cancel.clone()).insured_in(who.admdvs))
        .ok();
    let back = Setl::of_cancel(&out, &setl);
    assert_eq!(back.balc, fen("100.00"));
    assert_eq!(srv.balance(inst, &who), fen("100.00"));
    let code = srv
        .send(&Call::new(inst, "2103", cancel).insured_in(who.admdvs))
        .refused();
    assert_eq!(code, "GJ-SETL-ALREADY-CANCELLED");
    assert_eq!(srv.balance(inst, &who), fen("100.00"));

    let channel: String = env
        .sql()
        .query_row(
            "SELECT j.channel FROM settlements s JOIN journal j ON j.entry_id = s.entry_id
             WHERE s.setl_id = ?1",
            [&setl_id],
            |r| r.get(0),
        )
        .expect("journal row");
    assert_eq!(channel, "3", "opter_type 3 = mobile terminal");

    srv.stop();
    env.verify();
}

/// Yantai: own account first, then the holder automatically (acct_used_flag 1), within the
/// holder's per-payment limit; acct_used_flag 0 pays cash; a cancel returns the holder's
/// share to the holder.
#[test]
fn mutual_aid_yantai_own_first_limit_and_cancel() {
    let env = Env::new();
    let srv = env.serve(NOW);
    let inst = &YT_PHARM;
    let holder = person("YT-H1");
    let spouse = person("YT-R2");
    let child = person("YT-R1");

    // Own 20.00 first, then the holder, but at most 30.00 per payment; the rest is cash.
    let (s, out) = srv.buy(inst, &spouse, &spouse.certno(), "1", &one(ITEM_A, "100.00"));
    assert_eq!(
        (s.acct, s.mulaid, s.cash, s.balc),
        (fen("50.00"), fen("30.00"), fen("50.00"), 0)
    );
    let aid = mutual_aid_lines(&out);
    assert_eq!(aid.len(), 1, "{aid:?}");
    assert_eq!(aid[0].1, fen("30.00"));
    assert!(
        aid[0].0.contains("孙*华"),
        "names the holder, masked: {}",
        aid[0].0
    );
    assert!(
        proc_info(&out).contains("单笔限额30.00元"),
        "{}",
        proc_info(&out)
    );
    assert_eq!(srv.balance(inst, &holder), fen("970.00"));
    assert_eq!(srv.balance(inst, &spouse), 0);

    // A resident child without an account: the holder pays it all.
    let (s2, _) = srv.buy(inst, &child, &child.certno(), "1", &one(ITEM_A, "80.00"));
    assert_eq!(
        (s2.acct, s2.mulaid, s2.cash),
        (fen("80.00"), fen("80.00"), 0)
    );
    assert_eq!(s2.balc, 0);
    assert_eq!(srv.balance(inst, &holder), fen("890.00"));

    // acct_used_flag 0: cash only.
    let (s3, _) = srv.buy(inst, &child, &child.certno(), "0", &one(ITEM_A, "10.00"));
    assert_eq!((s3.acct, s3.mulaid, s3.cash), (0, 0, fen("10.00")));
    assert_eq!(srv.balance(inst, &holder), fen("890.00"));

    // 2103 of the first purchase: 20.00 back to the spouse, 30.00 back to the holder.
    let out = srv
        .send(
            &Call::new(
                inst,
                "2103",
                cancel_input(s.setl_id.as_deref().expect("setl_id"), &s.mdtrt_id, &spouse),
            )
            .insured_in(spouse.admdvs),
        )
        .ok();
    Setl::of_cancel(&out, &s);
    let returned: Vec<(String, i64)> = out
        .get("setldetail")
        .arr()
        .iter()
        .map(|d| {
            (
                d.get("fund_pay_type_name").s().to_string(),
                d.get("fund_payamt").fen(),
            )
        })
        .collect();
    assert!(
        returned.contains(&("退回户主个人账户（家庭共济）".to_string(), fen("30.00"))),
        "{returned:?}"
    );
    assert!(
        returned.contains(&("退回本人个人账户".to_string(), fen("20.00"))),
        "{returned:?}"
    );
    assert_eq!(srv.balance(inst, &holder), fen("920.00"));
    assert_eq!(srv.balance(inst, &spouse), fen("20.00"));

    srv.stop();
    env.verify();
}

/// Zibo: own account first then mutual aid automatically (R-Z6); none in a settlement the
/// pooled fund pays into (R-Z6); none from a holder whose insurance is interrupted (R-Z4).
#[test]
fn mutual_aid_zibo_own_first_pooled_exclusion_and_interrupted_holder() {
    let env = Env::new();
    let srv = env.serve(NOW);
    let holder = person("ZB-H1");
    let spouse = person("ZB-R1");

    // Pharmacy: own 10.00, then 40.00 from the holder, automatically (flag 1).
    let (s, out) = srv.buy(
        &ZB_PHARM,
        &spouse,
        &spouse.certno(),
        "1",
        &one(ITEM_A, "50.00"),
    );
    assert_eq!(
        (s.acct, s.mulaid, s.cash, s.balc),
        (fen("50.00"), fen("40.00"), 0, 0)
    );
    assert!(
        proc_info(&out).contains("本人个人账户优先支付10.00元"),
        "{}",
        proc_info(&out)
    );
    assert!(mutual_aid_lines(&out)[0].0.contains("刘*强"));
    assert_eq!(srv.balance(&ZB_PHARM, &holder), fen("760.00"));

    // Hospital visit where the employee outpatient pooling pays: no mutual aid (R-Z6).
    let (s, out) = srv.outpatient(&ZB_HOSP1, &spouse, "11", &one(ITEM_A, "300.00"), "1");
    assert_eq!(s.hifp, fen("70.00"), "(300 − 200 deductible) × 70%");
    assert_eq!((s.acct, s.mulaid, s.cash), (0, 0, fen("230.00")));
    assert!(proc_info(&out).contains("R-Z6"), "{}", proc_info(&out));
    assert_eq!(srv.balance(&ZB_PHARM, &holder), fen("760.00"));

    // A hospital bill the pooled fund does not touch (class C): mutual aid applies.
    let (s, _) = srv.outpatient(&ZB_HOSP2, &spouse, "11", &one(ITEM_C, "30.00"), "1");
    assert_eq!(
        (s.fund, s.acct, s.mulaid, s.cash),
        (0, fen("30.00"), fen("30.00"), 0)
    );
    assert_eq!(srv.balance(&ZB_PHARM, &holder), fen("730.00"));

    // R-Z4: ZB-H2 is paused (减员); his child gets nothing from him, even when asking (flag 2).
    let paused = person("ZB-H2");
    let child = person("ZB-R2");
    let (psn_no, balc, stas) = srv.person_info(&ZB_PHARM, &paused.certno());
    assert_eq!(
        (psn_no.as_str(), balc, stas.as_str()),
        ("ZB-H2", fen("500.00"), "2")
    );
    for flag in ["1", "2"] {
        let (s, out) = srv.buy(
            &ZB_PHARM,
            &child,
            &child.certno(),
            flag,
            &one(ITEM_A, "40.00"),
        );
        assert_eq!((s.acct, s.mulaid, s.cash), (0, 0, fen("40.00")));
        assert!(proc_info(&out).contains("R-Z4"), "{}", proc_info(&out));
    }
    assert_eq!(srv.balance(&ZB_PHARM, &paused), fen("500.00"));
    // Nor can he settle for himself while paused.
    let before = env.counts();
    let code = srv
        .send(
            &Call::new(
                &ZB_PHARM,
                "2102",
                drug_input(&paused, &paused.certno(), "1", &one(ITEM_A, "10.00"), true),
            )
            .insured_in(paused.admdvs),
        )
        .refused();
    assert_eq!(code, "GJ-SETL-PERSON-NOT-INSURED");
    assert_eq!(env.counts(), before);
    assert_eq!(srv.balance(&ZB_PHARM, &paused), fen("500.00"));

    srv.stop();
    env.verify();
}

/// Jinan: a relative with two holders is paid by them in binding-date order (R-N2,
/// by_binding_date), whatever the order they were imported in; an institution outside mutual
/// aid pays none; an emptied holder is passed over.
#[test]
fn mutual_aid_jinan_several_holders_in_policy_order() {
    let env = Env::new();
    let srv = env.serve(NOW);
    let father = person("JN-H1"); // bound 2024-06-01, first in the file
    let mother = person("JN-H2"); // bound 2024-01-05
    let child = person("JN-R1");

    let (first, out) = srv.buy(
        &JN_PHARM,
        &child,
        &child.certno(),
        "2",
        &one(ITEM_A, "150.00"),
    );
    assert_eq!(
        (first.acct, first.mulaid, first.cash),
        (fen("150.00"), fen("150.00"), 0)
    );
    let aid = mutual_aid_lines(&out);
    assert_eq!(aid.len(), 2, "{aid:?}");
    assert!(
        aid[0].0.contains("李*英"),
        "the earlier binding pays first: {aid:?}"
    );
    assert_eq!(aid[0].1, fen("100.00"));
    assert!(aid[1].0.contains("王*国"), "{aid:?}");
    assert_eq!(aid[1].1, fen("50.00"));
    assert_eq!(srv.balance(&JN_PHARM, &mother), 0);
    assert_eq!(srv.balance(&JN_PHARM, &father), fen("50.00"));

    // A pharmacy that does not take part in mutual aid.
    let (s, out) = srv.buy(
        &JN_PHARM_NOAID,
        &child,
        &child.certno(),
        "2",
        &one(ITEM_A, "20.00"),
    );
    assert_eq!((s.acct, s.mulaid, s.cash), (0, 0, fen("20.00")));
    assert!(proc_info(&out).contains("未开通"), "{}", proc_info(&out));
    assert_eq!(srv.balance(&JN_PHARM, &father), fen("50.00"));

    // The emptied mother is passed over; the father pays what he has (flag 1 follows
    // automatically in Shandong).
    let (s, out) = srv.buy(
        &JN_PHARM,
        &child,
        &child.certno(),
        "1",
        &one(ITEM_A, "80.00"),
    );
    assert_eq!(
        (s.acct, s.mulaid, s.cash),
        (fen("50.00"), fen("50.00"), fen("30.00"))
    );
    let aid = mutual_aid_lines(&out);
    assert_eq!(aid.len(), 1, "{aid:?}");
    assert!(aid[0].0.contains("王*国"));
    assert_eq!(srv.balance(&JN_PHARM, &father), 0);

    // Cancelling the first purchase returns each holder's share to that holder.
    let (_, out) = srv.cancel(&JN_PHARM, &child, &first);
    let mut returned: Vec<i64> = out
        .get("setldetail")
        .arr()
        .iter()
        .filter(|d| d.get("fund_pay_type_name").s().contains("户主"))
        .map(|d| d.get("fund_payamt").fen())
        .collect();
    returned.sort_unstable();
    assert_eq!(returned, vec![fen("50.00"), fen("100.00")]);
    assert_eq!(srv.balance(&JN_PHARM, &mother), fen("100.00"));
    assert_eq!(srv.balance(&JN_PHARM, &father), fen("50.00"));

    srv.stop();
    env.verify();
}

/// The Shandong provincial preset (Qingdao has no city file): a younger brother, in scope
/// since 2024 (R-N1), is paid by the holder automatically; the cancel returns it.
#[test]
fn mutual_aid_shandong_provincial_preset_in_qingdao() {
    let env = Env::new();
    let srv = env.serve(NOW);
    let inst = &QD_PHARM;
    let holder = person("QD-H1");
    let brother = person("QD-R1");

    let (s, out) = srv.buy(
        inst,
        &brother,
        &brother.certno(),
        "1",
        &one(ITEM_A, "70.00"),
    );
    assert_eq!(
        (s.acct, s.mulaid, s.cash, s.balc),
        (fen("70.00"), fen("70.00"), 0, 0)
    );
    assert!(mutual_aid_lines(&out)[0].0.contains("赵*明"));
    assert_eq!(srv.balance(inst, &holder), fen("530.00"));
    srv.cancel(inst, &brother, &s);
    assert_eq!(srv.balance(inst, &holder), fen("600.00"));

    srv.stop();
    env.verify();
}

/// Shanxi (Taiyuan, provincial policy): mutual aid only with the holder's certificate
/// (R-S12), only above the 1,000-yuan reserve (R-S2), own account first (R-S4), within the
/// per-payment limit (R-S3); a certificate of someone not bound is refused; provincial only
/// (R-S5): no mutual aid at a Shandong institution; a person insured in a province we have
/// no policy for is refused.
#[test]
fn mutual_aid_shanxi_reserve_credential_limit_and_cross_province() {
    let env = Env::new();
    let srv = env.serve(NOW);
    let inst = &TY_PHARM;
    let h1 = person("TY-H1");
    let r1 = person("TY-R1");
    let h2 = person("TY-H2");
    let r2 = person("TY-R2");

    // 1101 with the holder's certificate answers the holder's own record.
    let (psn_no, balc, _) = srv.person_info(inst, &h1.certno());
    assert_eq!((psn_no.as_str(), balc), ("TY-H1", fen("1050.00")));

    // The relative's own certificate does not authorise mutual aid, even with flag 2.
    let (s, out) = srv.buy(inst, &r1, &r1.certno(), "2", &one(ITEM_A, "100.00"));
    assert_eq!((s.acct, s.mulaid, s.cash), (0, 0, fen("100.00")));
    assert!(proc_info(&out).contains("R-S12"), "{}", proc_info(&out));
    assert_eq!(srv.balance(inst, &h1), fen("1050.00"));

    // With the holder's certificate: only the part above 1,000 yuan.
    let (s, out) = srv.buy(inst, &r1, &h1.certno(), "1", &one(ITEM_A, "200.00"));
    assert_eq!(
        (s.acct, s.mulaid, s.cash),
        (fen("50.00"), fen("50.00"), fen("150.00"))
    );
    assert_eq!(out.get("setlinfo").get("mdtrt_cert_type").s(), "02");
    // The answer (and so the receipt) says who paid and how much, never what the holder
    // keeps or has left (issue 10).
    let line = &mutual_aid_lines(&out)[0].0;
    assert!(
        line.contains("支付50.00元") && !line.contains("1000.00") && !line.contains("余额1"),
        "{line}"
    );
    assert_eq!(srv.balance(inst, &h1), fen("1000.00"));
    // Nothing above the reserve is left.
    let (s, out) = srv.buy(inst, &r1, &h1.certno(), "2", &one(ITEM_A, "10.00"));
    assert_eq!((s.acct, s.mulaid, s.cash), (0, 0, fen("10.00")));
    assert!(proc_info(&out).contains("R-S2"), "{}", proc_info(&out));
    assert_eq!(srv.balance(inst, &h1), fen("1000.00"));

    // Own account first (30.00), then the holder within the 20.00 per-payment limit.
    let (s, out) = srv.buy(inst, &r2, &h2.certno(), "1", &one(ITEM_A, "100.00"));
    assert_eq!(
        (s.acct, s.mulaid, s.cash, s.balc),
        (fen("50.00"), fen("20.00"), fen("50.00"), 0)
    );
    assert!(
        proc_info(&out).contains("单笔限额20.00元"),
        "{}",
        proc_info(&out)
    );
    assert_eq!(srv.balance(inst, &h2), fen("2980.00"));

    // A certificate whose owner is not bound to the patient.
    let before = env.counts();
    let code = srv
        .send(
            &Call::new(
                inst,
                "2102",
                drug_input(&r2, &h1.certno(), "1", &one(ITEM_A, "5.00"), true),
            )
            .insured_in(r2.admdvs),
        )
        .refused();
    assert_eq!(code, "GJ-SETL-CREDENTIAL-MISMATCH");
    assert_eq!(env.counts(), before, "a refusal writes nothing");

    // R-S5: at a Shandong pharmacy the Shanxi holder's certificate buys no mutual aid.
    let (s, out) = srv.buy(&JN_PHARM, &r2, &h2.certno(), "1", &one(ITEM_A, "60.00"));
    assert_eq!((s.acct, s.mulaid, s.cash), (0, 0, fen("60.00")));
    assert!(
        proc_info(&out).contains("共济仅限省内"),
        "{}",
        proc_info(&out)
    );
    assert_eq!(srv.balance(inst, &h2), fen("2980.00"));

    // At a Shanxi hospital the holder's certificate in 2207 works the same way (a class C
    // bill, so the employee pooling pays nothing; the limit still holds).
    let (s, out) = srv.outpatient_with(
        &TY_HOSP2,
        &r2,
        &h2.certno(),
        "11",
        &one(ITEM_C, "40.00"),
        "1",
    );
    assert_eq!(
        (s.fund, s.acct, s.mulaid, s.cash),
        (0, fen("20.00"), fen("20.00"), fen("20.00"))
    );
    assert!(mutual_aid_lines(&out)[0].0.contains("黄*明"));
    assert_eq!(srv.balance(inst, &h2), fen("2960.00"));
    // Without it, the patient's own certificate at the hospital draws nothing.
    let (s, _) = srv.outpatient(&TY_HOSP1, &r2, "11", &one(ITEM_C, "40.00"), "2");
    assert_eq!((s.acct, s.mulaid, s.cash), (0, 0, fen("40.00")));
    assert_eq!(srv.balance(inst, &h2), fen("2960.00"));

    // A person insured in Beijing, where no policy of ours applies, is refused.
    let bj = person("BJ-P1");
    let before = env.counts();
    let code = srv
        .send(
            &Call::new(
                inst,
                "2102",
                drug_input(&bj, &bj.certno(), "1", &one(ITEM_A, "5.00"), true),
            )
            .insured_in(bj.admdvs),
        )
        .refused();
    assert_eq!(code, "GJ-POLICY-NOT-FOUND");
    assert_eq!(env.counts(), before);
    assert_eq!(srv.balance(inst, &bj), fen("100.00"));

    srv.stop();
    env.verify();
}

/// Yuncheng (Shanxi's rules in a city preset): own account, then the holder above the
/// reserve with the holder's certificate; the cancel returns both.
#[test]
fn mutual_aid_yuncheng_holder_certificate_reserve_and_cancel() {
    let env = Env::new();
    let srv = env.serve(NOW);
    let inst = &YC_PHARM;
    let holder = person("YC-H1");
    let spouse = person("YC-R1");

    let (s, out) = srv.buy(inst, &spouse, &holder.certno(), "1", &one(ITEM_B, "250.00"));
    // Class B: 25.00 self-paid first, but all of it is personal burden at a pharmacy.
    assert_eq!(s.preselfpay, fen("25.00"));
    assert_eq!(
        (s.acct, s.mulaid, s.cash, s.balc),
        (fen("215.00"), fen("200.00"), fen("35.00"), 0)
    );
    assert!(mutual_aid_lines(&out)[0].0.contains("杨*福"));
    assert_eq!(srv.balance(inst, &holder), fen("1000.00"));

    let out = srv
        .send(
            &Call::new(
                inst,
                "2103",
                cancel_input(s.setl_id.as_deref().expect("setl_id"), &s.mdtrt_id, &spouse),
            )
            .insured_in(spouse.admdvs),
        )
        .ok();
    let back = Setl::of_cancel(&out, &s);
    assert_eq!(back.balc, fen("15.00"));
    assert_eq!(srv.balance(inst, &holder), fen("1200.00"));
    assert_eq!(srv.balance(inst, &spouse), fen("15.00"));

    srv.stop();
    env.verify();
}

/// R-R6, Yuncheng resident outpatient pooling over HTTP: no deductible; class A 60% and
/// class B 50% at primary level, 55% and 45% at level 2; at most 50 yuan a day (shared by
/// both levels) and 300 yuan a year.
#[test]
fn yuncheng_resident_outpatient_pooling_r_r6() {
    let env = Env::new();
    let mut srv = env.serve(NOW);
    let y = |i: u32| person(&format!("YC-Y{i}"));
    let fund_line = |out: &J| -> (String, i64, i64, String) {
        let d = &out.get("setldetail").arr()[0];
        (
            d.get("fund_pay_type").s().to_string(),
            d.get("crt_payb_lmt_amt").fen(),
            d.get("fund_payamt").fen(),
            d.get("setl_proc_info").s().to_string(),
        )
    };

    // Class A and B at level 1 and level 2, 60.00 each (class B: 10% self-paid first).
    let cases = [
        (1, &YC_HOSP1, ITEM_A, "36.00"), // 60 × 60%
        (2, &YC_HOSP1, ITEM_B, "27.00"), // 54 × 50%
        (3, &YC_HOSP2, ITEM_A, "33.00"), // 60 × 55%
        (4, &YC_HOSP2, ITEM_B, "24.30"), // 54 × 45%
    ];
    for (i, inst, item, pays) in cases {
        let who = y(i);
        let (s, out) = srv.outpatient(inst, &who, "11", &one(item, "60.00"), "1");
        assert_eq!(s.act_pay_dedc, 0, "no deductible");
        assert_eq!(s.hifp, fen(pays), "YC-Y{i}");
        assert_eq!(s.psn_part, fen("60.00") - fen(pays));
        assert_eq!((s.acct, s.mulaid), (0, 0), "residents have no account");
        assert_eq!(s.cash, s.psn_part);
        let (fund_type, _, amount, _) = fund_line(&out);
        assert_eq!(fund_type, "390102", "resident outpatient pooled fund");
        assert_eq!(amount, fen(pays));
    }

    // 50 yuan a day: 100.00 of class A would pay 60.00; then nothing more that day, at
    // either level (one cap group).
    let who = y(5);
    let (first, out) = srv.outpatient(&YC_HOSP1, &who, "11", &one(ITEM_A, "100.00"), "1");
    assert_eq!(first.hifp, fen("50.00"));
    let (_, payable, _, info) = fund_line(&out);
    assert_eq!(payable, fen("60.00"));
    assert!(info.contains("每日限额50.00元"), "{info}");
    let (s, out) = srv.outpatient(&YC_HOSP2, &who, "11", &one(ITEM_A, "40.00"), "1");
    assert_eq!(s.hifp, 0);
    assert_eq!(s.cash, fen("40.00"));
    let (_, payable, _, info) = fund_line(&out);
    assert_eq!(payable, fen("22.00"));
    assert!(info.contains("今日已支付50.00元"), "{info}");
    // Cancelling the first visit gives the day's 50 yuan back.
    let (back, _) = srv.cancel(&YC_HOSP1, &who, &first);
    assert_eq!(back.hifp, -fen("50.00"));
    let (s, _) = srv.outpatient(&YC_HOSP2, &who, "11", &one(ITEM_A, "40.00"), "1");
    assert_eq!(
        s.hifp,
        fen("22.00"),
        "40 × 55% once the day's cap is free again"
    );

    // 300 yuan a year, over seven days (the server restarted on each day's clock):
    // 5 × 50.00 + 36.00 = 286.00, then only 14.00 is left of the year.
    let who = y(6);
    let mut paid = 0;
    for d in 0..7u32 {
        if d > 0 {
            srv = srv.restart(&format!("2026-03-{:02} 09:00:00", 10 + d));
        }
        let amount = if d == 5 { "60.00" } else { "100.00" };
        let (s, out) = srv.outpatient(&YC_HOSP1, &who, "11", &one(ITEM_A, amount), "1");
        let expected = match d {
            0..=4 => fen("50.00"),
            5 => fen("36.00"),
            _ => fen("14.00"),
        };
        assert_eq!(s.hifp, expected, "day {d}");
        paid += s.hifp;
        if d == 6 {
            let (_, _, _, info) = fund_line(&out);
            assert!(info.contains("年度限额300.00元"), "{info}");
            assert!(info.contains("本年已支付286.00元"), "{info}");
        }
    }
    assert_eq!(paid, fen("300.00"));
    // The year is used up.
    let (s, _) = srv.outpatient(&YC_HOSP2, &who, "11", &one(ITEM_A, "10.00"), "1");
    assert_eq!(s.hifp, 0);

    srv.stop();
    env.verify();
}

/// R-J9, Jinan employee second reimbursement for chronic/special outpatient care (med_type
/// 14), applied at settlement: of the year's compliant personal burden, the part above
/// 12,000 up to 200,000 is refunded 60%, from 200,000 to 400,000 70%, nothing above.
#[test]
fn jinan_second_reimbursement_r_j9_across_its_boundaries() {
    let env = Env::new();
    let srv = env.serve(NOW);
    let inst = &JN_HOSP2;
    let who = person("JN-E9");

    // (item, amount, compliant burden of this bill, refund)
    let steps = [
        (ITEM_A, "11000.00", "11000.00", "0.00"), // cumulative 11,000: below the threshold
        // class B: 10% self-paid first does not count; cumulative 12,800 → 800 × 60%
        (ITEM_B, "2000.00", "1800.00", "480.00"),
        // cumulative 202,800: 187,200 × 60% + 2,800 × 70% = 112,320 + 1,960
        (ITEM_A, "190000.00", "190000.00", "114280.00"),
        // cumulative 402,800: 197,200 × 70%; nothing above 400,000
        (ITEM_A, "200000.00", "200000.00", "138040.00"),
        (ITEM_A, "1000.00", "1000.00", "0.00"), // all above 400,000
    ];
    for (n, (item, amount, burden, refund)) in steps.into_iter().enumerate() {
        let (mut s, mut out) = srv.outpatient(inst, &who, "14", &one(item, amount), "0");
        if n == 1 {
            // A cancel takes back the burden it added: the same bill again refunds the same.
            let (back, _) = srv.cancel(inst, &who, &s);
            assert_eq!(back.oth, -fen(refund));
            (s, out) = srv.outpatient(inst, &who, "14", &one(item, amount), "0");
        }
        assert_eq!(s.medfee, fen(amount));
        assert_eq!(s.inscp, fen(burden), "step {n}");
        assert_eq!(s.hifp, 0, "no pooling rule for med_type 14 in the preset");
        assert_eq!(s.oth, fen(refund), "step {n}: second reimbursement");
        assert_eq!(s.fund, fen(refund));
        assert_eq!(s.cash, fen(amount) - fen(refund));
        assert_eq!(out.get("setlinfo").get("clr_type").s(), "14");
        let line = out
            .get("setldetail")
            .arr()
            .iter()
            .find(|d| d.get("fund_pay_type_name").s() == "职工二次报销")
            .unwrap_or_else(|| panic!("step {n}: no second-reimbursement line"))
            .clone();
        assert_eq!(line.get("fund_pay_type").s(), "310100");
        assert_eq!(line.get("fund_payamt").fen(), fen(refund));
        assert!(line.get("setl_proc_info").s().contains("R-J9"));
    }

    // The same bill as general outpatient care (med_type 11) gets no second reimbursement.
    let (s, _) = srv.outpatient(inst, &who, "11", &one(ITEM_C, "100.00"), "0");
    assert_eq!(s.oth, 0);

    srv.stop();
    env.verify();
}

/// Gateway authentication: a missing or wrong signature, a timestamp ten minutes off, a
/// reused nonce, an unknown paasid, and a fixmedins_code that is not the paasid's
/// institution (including a code we do not know at all) are refused with HTTP 401 and
/// `{"code":401,"message":...}`, and nothing is written. Also /healthz, /metrics and the body
/// size limit.
#[test]
fn gateway_refusals_write_nothing() {
    let env = Env::new();
    let srv = env.serve(NOW);
    let inst = &ZB_PHARM;
    let who = person("ZB-E2");
    let buy = |msgid_inst: &Inst| {
        let mut c = Call::new(
            inst,
            "2102",
            drug_input(&who, &who.certno(), "1", &one(ITEM_A, "25.00"), true),
        )
        .insured_in(who.admdvs);
        c.msgid = new_msgid(msgid_inst);
        c
    };
    let before = env.counts();
    let balances = env.balances();
    let body = buy(inst).body().into_bytes();
    let (paasid, token) = (inst.paasid(), inst.token());
    let now = unix_now();

    let mut refusals: Vec<String> = Vec::new();
    fn refused401(list: &mut Vec<String>, a: Answer) -> String {
        let m = a.unauthorized();
        list.push(m.clone());
        m
    }

    // No gateway headers at all; then each header missing in turn.
    let m = refused401(&mut refusals, srv.post(API, &[], body.clone()));
    assert!(m.starts_with("GJ-AUTH-"), "{m}");
    for missing in [
        "x-tif-paasid",
        "x-tif-timestamp",
        "x-tif-nonce",
        "x-tif-signature",
    ] {
        let headers: Vec<_> = gateway_headers(&paasid, &token, now, &new_nonce())
            .into_iter()
            .filter(|(k, _)| k != missing)
            .collect();
        refused401(&mut refusals, srv.post(API, &headers, body.clone()));
    }
    let m = refusals.last().cloned().unwrap_or_default();
    assert!(m.starts_with("GJ-AUTH-MISSING-HEADER"), "{m}");
    // Signed with another token; a signature over other text.
    let m = refused401(
        &mut refusals,
        srv.post(
            API,
            &gateway_headers(&paasid, "not-the-token", now, &new_nonce()),
            body.clone(),
        ),
    );
    assert!(m.starts_with("GJ-AUTH-BAD-SIGNATURE"), "{m}");
    let mut headers = gateway_headers(&paasid, &token, now, &new_nonce());
    headers[3].1 = gongji_nhsa::auth::sign(&now.to_string(), &token, "another-nonce");
    refused401(&mut refusals, srv.post(API, &headers, body.clone()));
    // Correctly signed, but ten minutes off either way.
    for skew in [-600, 600] {
        let m = refused401(
            &mut refusals,
            srv.post(
                API,
                &gateway_headers(&paasid, &token, now + skew, &new_nonce()),
                body.clone(),
            ),
        );
        assert!(m.starts_with("GJ-AUTH-CLOCK-SKEW"), "{m}");
    }
    // An unknown paasid.
    let m = refused401(
        &mut refusals,
        srv.post(
            API,
            &gateway_headers("paas-nobody", &token, now, &new_nonce()),
            body.clone(),
        ),
    );
    assert!(m.starts_with("GJ-AUTH-UNKNOWN-PAASID"), "{m}");
    // A nonce used before (by an accepted read) is refused the second time.
    let nonce = new_nonce();
    let read = Call::new(inst, "1101", person_query("02", &who.certno())).body();
    srv.post(
        API,
        &gateway_headers(&paasid, &token, now, &nonce),
        read.into_bytes(),
    )
    .ok();
    let m = refused401(
        &mut refusals,
        srv.post(
            API,
            &gateway_headers(&paasid, &token, now, &nonce),
            body.clone(),
        ),
    );
    assert!(m.starts_with("GJ-AUTH-NONCE-REPLAYED"), "{m}");
    // Another institution's code under this paasid (a Yantai pharmacy's), and a code that
    // belongs to no institution: neither is the paasid's institution.
    let yt = buy(&YT_PHARM);
    let mut foreign = yt.envelope();
    foreign["fixmedins_code"] = serde_json::json!(YT_PHARM.code);
    foreign["fixmedins_name"] = serde_json::json!(YT_PHARM.name);
    let m = refused401(
        &mut refusals,
        srv.post(API, &signed_headers(inst), render(&foreign).into_bytes()),
    );
    assert!(m.starts_with("GJ-AUTH-INSTITUTION-MISMATCH"), "{m}");
    let ghost = Inst {
        code: "H99999999999",
        ..*inst
    };
    let mut unknown = buy(&ghost).envelope();
    unknown["fixmedins_code"] = serde_json::json!(ghost.code);
    let m = refused401(
        &mut refusals,
        srv.post(API, &signed_headers(inst), render(&unknown).into_bytes()),
    );
    assert!(m.starts_with("GJ-AUTH-INSTITUTION-MISMATCH"), "{m}");
    // Every refusal carries one of the stable codes of the gateway.
    for m in &refusals {
        let code = m.split(':').next().unwrap_or_default();
        assert!(
            gongji_nhsa::auth::AuthError::CODES.contains(&code)
                || code == "GJ-AUTH-INSTITUTION-MISMATCH",
            "unknown gateway code {code}"
        );
    }

    assert_eq!(env.counts(), before, "refused requests write nothing");
    assert_eq!(env.balances(), balances);
    assert_eq!(srv.balance(inst, &who), fen("300.00"));

    // The same purchase, properly signed, goes through (so the refusals above were real).
    let (s, _) = srv.buy(inst, &who, &who.certno(), "1", &one(ITEM_A, "25.00"));
    assert_eq!(s.acct, fen("25.00"));
    assert_eq!(srv.balance(inst, &who), fen("275.00"));

    // A body over 1 MiB is refused before it is read as JSON.
    let mut big = buy(inst).envelope();
    big["dev_safe_info"] = serde_json::json!("x".repeat(1024 * 1024 + 1));
    let a = srv.post(API, &signed_headers(inst), render(&big).into_bytes());
    assert_eq!(a.status, 413, "{}", a.text());

    // Health and metrics.
    assert_eq!(srv.get("/healthz"), (200, "ok".to_string()));
    let (status, metrics) = srv.metrics();
    assert_eq!(status, 200);
    assert!(metrics.contains("gongji_requests_total"), "{metrics}");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("gongji_requests_total") && l.contains("unauthorized")),
        "refusals are counted: {metrics}"
    );
    assert!(metrics.contains("infno=\"2102\""), "{metrics}");

    // Every refusal is logged, with its code and without the secret.
    let log = srv.stop();
    let logged: Vec<&String> = log
        .iter()
        .filter(|l| l.contains("gateway authentication refused"))
        .collect();
    assert_eq!(logged.len(), refusals.len(), "{log:#?}");
    for m in &refusals {
        let code = m.split(':').next().unwrap_or_default();
        assert!(
            logged.iter().any(|l| l.contains(code)),
            "{code} not logged: {log:#?}"
        );
    }
    assert!(
        !log.iter().any(|l| l.contains(&token)),
        "the token never reaches the log"
    );
    env.verify();
}

/// Bad requests get HTTP 200, infcode -1, err_msg `CODE: 中文说明`, an empty output, and
/// change nothing.
#[test]
fn bad_requests_are_answered_with_a_code_and_write_nothing() {
    let env = Env::new();
    let srv = env.serve(NOW);
    let inst = &ZB_PHARM;
    let who = person("ZB-E2");
    let purchase = || drug_input(&who, &who.certno(), "1", &one(ITEM_A, "25.00"), true);
    let buy = || Call::new(inst, "2102", purchase()).insured_in(who.admdvs);

    // A settlement of this institution, for the cancel cases below.
    let (setl, _) = srv.buy(inst, &who, &who.certno(), "1", &one(ITEM_A, "12.00"));
    let setl_id = setl.setl_id.clone().expect("setl_id");
    let before = env.counts();
    let balances = env.balances();
    let post = |body: String| srv.post(API, &signed_headers(inst), body.into_bytes());

    // Not JSON.
    assert_eq!(
        post("{\"infno\": \"2102\", ".into()).refused(),
        "GJ-WIRE-BAD-JSON"
    );
    assert_eq!(post("[1, 2, 3]".into()).refused(), "GJ-WIRE-BAD-JSON");
    // A required field missing: in the envelope, and in the input.
    let mut env_missing = buy().envelope();
    env_missing
        .as_object_mut()
        .expect("object")
        .remove("infver");
    assert_eq!(
        post(render(&env_missing)).refused(),
        "GJ-WIRE-MISSING-FIELD"
    );
    let mut c = buy();
    c.input["druginfo"]
        .as_object_mut()
        .expect("object")
        .remove("medfee_sumamt");
    assert_eq!(srv.send(&c).refused(), "GJ-WIRE-MISSING-FIELD");
    // insuplc_admdvs is required when the input names a psn_no.
    let mut c = buy().envelope();
    c.as_object_mut().expect("object").remove("insuplc_admdvs");
    assert_eq!(post(render(&c)).refused(), "GJ-WIRE-MISSING-FIELD");
    // A malformed field: three decimals in an amount, a code that is no code.
    let mut c = buy();
    c.input["druginfo"]["medfee_sumamt"] = num("25.001");
    assert_eq!(srv.send(&c).refused(), "GJ-WIRE-BAD-AMOUNT");
    let mut c = buy();
    c.input["druginfo"]["acct_used_flag"] = serde_json::json!("7");
    assert_eq!(srv.send(&c).refused(), "GJ-WIRE-BAD-FIELD");
    // An unknown infno; an infno in the path that is not the body's.
    assert_eq!(
        srv.call(inst, "9999", sign_in()).refused(),
        "GJ-WIRE-UNKNOWN-INFNO"
    );
    assert_eq!(
        srv.send(&buy().at_path("2207")).refused(),
        "GJ-WIRE-INFNO-MISMATCH"
    );
    // A msgid that does not start with the institution's code.
    let mut c = buy();
    c.msgid = new_msgid(&YT_PHARM);
    assert_eq!(srv.send(&c).refused(), "GJ-WIRE-BAD-MSGID");
    // Unknown persons: by certificate (1101) and by psn_no (2102).
    assert_eq!(
        srv.call(inst, "1101", person_query("02", "370303199001010000"))
            .refused(),
        "GJ-UNKNOWN-PERSON"
    );
    let mut c = buy();
    c.input["druginfo"]["psn_no"] = serde_json::json!("NO-SUCH-PERSON");
    assert_eq!(srv.send(&c).refused(), "GJ-UNKNOWN-PERSON");
    // Business refusals: totals that do not add up, an item not in the catalog.
    let mut c = buy();
    c.input["druginfo"]["medfee_sumamt"] = num("26.00");
    assert_eq!(srv.send(&c).refused(), "GJ-SETL-FEE-MISMATCH");
    let mut c = buy();
    c.input["drugdetail"][0]["med_list_codg"] = serde_json::json!("NOT-IN-CATALOG");
    assert_eq!(srv.send(&c).refused(), "GJ-SETL-UNKNOWN-ITEM");
    // Cancels: an unknown setl_id; another institution's settlement.
    assert_eq!(
        srv.send(
            &Call::new(inst, "2103", cancel_input("370300999999999999", "M0", &who))
                .insured_in(who.admdvs)
        )
        .refused(),
        "GJ-UNKNOWN-SETTLEMENT"
    );
    assert_eq!(
        srv.send(
            &Call::new(
                &YT_PHARM,
                "2103",
                cancel_input(&setl_id, &setl.mdtrt_id, &who)
            )
            .insured_in(who.admdvs)
        )
        .refused(),
        "GJ-SETL-OTHER-INSTITUTION"
    );
    // A visit that does not exist (asked by a hospital: a pharmacy may not call 2207).
    assert_eq!(
        srv.send(
            &Call::new(
                &ZB_HOSP1,
                "2207",
                settle_input(&who, "02", &who.certno(), "11", "1.00", "NO-VISIT", "1")
            )
            .insured_in(who.admdvs)
        )
        .refused(),
        "GJ-UNKNOWN-VISIT"
    );

    assert_eq!(env.counts(), before, "nothing written by any refusal");
    assert_eq!(env.balances(), balances);
    assert_eq!(srv.balance(inst, &who), fen("288.00"));

    // Refusals are counted, under labels that do not grow with what clients send.
    let (_, metrics) = srv.metrics();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("gongji_requests_total") && l.contains("bad_request")),
        "{metrics}"
    );
    assert!(
        !metrics.contains("infno=\"9999\""),
        "a client's infno is no label: {metrics}"
    );

    srv.stop();
    env.verify();
}

/// 200 simultaneous pharmacy settlements by 20 children of one Shanxi holder, each presenting
/// the holder's certificate: the holder never goes below the 1,000-yuan reserve, the sum of
/// acct_mulaid_pay in the answers is exactly what left his account, and the ledger verifies.
#[test]
fn concurrent_mutual_aid_never_breaks_the_shanxi_reserve() {
    const REQUESTS: usize = 200;
    let env = Env::new();
    let srv = env.serve(NOW);
    let inst = &TY_PHARM;
    let holder = person("TY-HC");
    let start = srv.balance(inst, &holder);
    assert_eq!(start, fen("1500.00"));
    let children: Vec<P> = (0..CONCURRENT_RELATIVES)
        .map(|i| person(&concurrent_relative(i)))
        .collect();
    let calls: Vec<Call> = (0..REQUESTS)
        .map(|i| {
            let child = &children[i % CONCURRENT_RELATIVES];
            Call::new(
                inst,
                "2102",
                drug_input(child, &holder.certno(), "1", &one(ITEM_A, "7.33"), true),
            )
            .insured_in(child.admdvs)
            .opter_type("2")
        })
        .collect();
    let barrier = std::sync::Barrier::new(REQUESTS);
    let answers: Vec<Answer> = std::thread::scope(|scope| {
        let handles: Vec<_> = calls
            .iter()
            .map(|c| {
                let (srv, barrier) = (&srv, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    srv.send(c)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("client thread"))
            .collect()
    });
    let mut mulaid = 0;
    let mut with_aid = 0;
    for a in &answers {
        let s = Setl::of_settlement(&a.ok());
        assert_eq!(s.medfee, fen("7.33"));
        assert_eq!(
            s.acct, s.mulaid,
            "the children have no accounts of their own"
        );
        mulaid += s.mulaid;
        with_aid += usize::from(s.mulaid > 0);
    }
    let end = srv.balance(inst, &holder);
    assert!(
        end >= fen("1000.00"),
        "the holder went below the reserve: {end}"
    );
    assert_eq!(
        end,
        start - mulaid,
        "what left the account is what the answers say"
    );
    // 1,466.00 was asked for and 500.00 was shareable: all of it was used, by 69 payments.
    assert_eq!(end, fen("1000.00"));
    assert_eq!(with_aid, 69);

    // A retry storm: the same 2102 sent 20 times at once is settled once, and every answer
    // is the first, byte for byte.
    let r2 = person("TY-R2");
    let retry = Call::new(
        inst,
        "2102",
        drug_input(&r2, &r2.certno(), "1", &one(ITEM_A, "5.00"), true),
    )
    .insured_in(r2.admdvs);
    let barrier = std::sync::Barrier::new(20);
    let answers: Vec<Answer> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|_| {
                let (srv, barrier, retry) = (&srv, &barrier, &retry);
                scope.spawn(move || {
                    barrier.wait();
                    srv.send(retry)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("client thread"))
            .collect()
    });
    let s = Setl::of_settlement(&answers[0].ok());
    assert_eq!((s.acct, s.balc), (fen("5.00"), fen("25.00")));
    assert!(answers.iter().all(|a| a.bytes == answers[0].bytes));
    assert_eq!(srv.balance(inst, &r2), fen("25.00"), "charged once");

    srv.stop();
    env.verify();
    let db = env.sql();
    let (n, aid): (i64, i64) = db
        .query_row(
            "SELECT COUNT(*), COALESCE(SUM(acct_mulaid_pay), 0) FROM settlements
             WHERE fixmedins_code = ?1",
            [inst.code],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("settlements");
    assert_eq!((n, aid), (REQUESTS as i64 + 1, mulaid));
}

/// 3201 reconciles each clearing type (清算类别) apart: an inpatient settlement is cleared as
/// 21 and not counted in the outpatient (11) totals; `refd_setl_flag` "0" leaves refunded
/// settlements out, and "1" or no flag at all counts them (as the national interface's
/// clients read it).
#[test]
fn reconcile_keeps_each_clearing_type_apart() {
    let env = Env::new();
    let srv = env.serve(NOW);
    let inst = &YT_HOSP1;
    let who = person("YT-E1");
    let lines = one(ITEM_A, "40.00");
    let (outpatient, out) = srv.outpatient(inst, &who, "11", &lines, "1");
    assert_eq!(out.get("setlinfo").get("clr_type").s(), "11");
    let (inpatient, out) = srv.outpatient(inst, &who, "21", &one(ITEM_A, "30.00"), "1");
    assert_eq!(
        out.get("setlinfo").get("clr_type").s(),
        "21",
        "inpatient clears as 21"
    );
    let (refunded, _) = srv.outpatient(inst, &who, "11", &one(ITEM_A, "20.00"), "1");
    srv.cancel(inst, &who, &refunded);

    let reconcile = |clr_type: &str, s: &[&Setl], flag: Option<&str>| {
        let sum = |f: fn(&Setl) -> i64| yuan_text(s.iter().map(|x| f(x)).sum());
        let mut input = reconcile_input(
            "310",
            clr_type,
            "370600",
            &sum(|x| x.medfee),
            &sum(|x| x.fund),
            &sum(|x| x.acct),
            &s.len().to_string(),
            flag.unwrap_or("0"),
        );
        if flag.is_none() {
            input["data"]
                .as_object_mut()
                .expect("data")
                .remove("refd_setl_flag");
        }
        let out = srv.call(inst, "3201", input).ok();
        let stmt = out.get("stmtinfo");
        (
            stmt.get("stmt_rslt").s().to_string(),
            stmt.get("stmt_rslt_dscr").s().to_string(),
        )
    };
    let balanced = |r: (String, String)| assert_eq!(r.0, "0", "{}", r.1);
    balanced(reconcile("11", &[&outpatient], Some("0")));
    balanced(reconcile("21", &[&inpatient], Some("0")));
    balanced(reconcile("11", &[&outpatient, &refunded], Some("1")));
    balanced(reconcile("11", &[&outpatient, &refunded], None));
    balanced(reconcile("41", &[], None));
    // Totals that mix the clearing types do not balance any one of them.
    let (rslt, dscr) = reconcile("11", &[&outpatient, &inpatient], Some("0"));
    assert_eq!(rslt, "1");
    assert!(dscr.contains("结算笔数"), "{dscr}");

    srv.stop();
    env.verify();
}

/// Read-only transactions (1101, 2206, 2101, 3201) store nothing and answer a replayed msgid
/// from the state at the time of the replay (README, "Interfaces"): a retried 1101 shows the
/// balance as it is now, and no query writes a row.
#[test]
fn read_only_transactions_answer_a_replay_from_the_state_of_now() {
    let env = Env::new();
    let srv = env.serve(NOW);
    let inst = &YT_HOSP1;
    let who = person("YT-E1");
    let query = Call::new(inst, "1101", person_query("02", &who.certno()));
    let first = srv.send(&query);
    let balc = |r: &J| r.get("insuinfo").arr()[0].get("balc").fen();
    assert_eq!(balc(&first.ok()), fen("500.00"));
    let before = env.counts();
    let lines = one(ITEM_A, "40.00");
    let (settled, _) = srv.outpatient(inst, &who, "11", &lines, "1");
    let after_settlement = env.counts();
    assert_ne!(before, after_settlement);

    // The same 1101 message again: the balance after the settlement, not the first answer.
    let again = srv.send(&query);
    assert_eq!(balc(&again.ok()), settled.balc);
    assert_ne!(again.bytes, first.bytes);
    // A pre-settlement (2206) and a reconciliation (3201), each sent twice, write nothing.
    let mdtrt_id = srv.register(inst, &who);
    let counted = env.counts();
    let pre = Call::new(
        inst,
        "2206",
        settle_input(&who, "02", &who.certno(), "11", "0.00", &mdtrt_id, "1"),
    );
    let reconcile = Call::new(
        inst,
        "3201",
        reconcile_input("310", "11", "370600", "0", "0", "0", "0", "0"),
    );
    for call in [&pre, &pre, &reconcile, &reconcile, &query] {
        srv.send(call);
    }
    assert_eq!(env.counts(), counted, "queries store nothing");

    srv.stop();
    env.verify();
}
