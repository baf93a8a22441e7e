//! Whole requests and answers as a client sends and reads them.

use chrono::{NaiveDate, NaiveDateTime};
use gongji_core::codes::{AccountUse, Admdvs, CertType, Channel, Gender, Insutype, MedType};
use gongji_core::pii::{CertNo, PersonName};
use gongji_core::{BasisPoints, Fen};
use gongji_nhsa::error::{AmountProblem, FieldProblem, MsgidProblem};
use gongji_nhsa::input::{FeeLine, Settlement};
use gongji_nhsa::output::{
    CashPayKey, DrugSettlementOutput, FeeResult, SetlDetail, SetlInfo, SetlInfoIdentity,
    SettlementOutput, TxOutput,
};
use gongji_nhsa::wire_codes::{ClrType, SetlWay};
use gongji_nhsa::{
    decode_input, Count, EmptyOutput, Envelope, InfCode, Price, RefIds, Response, TxInput,
    WireError, BODY_BYTES_MAX, FEE_LINES_MAX,
};
use serde_json::value::RawValue;

const REQ_2207: &str = r#"{
  "infno": "2207",
  "msgid": "H37030300001202403050930071234",
  "mdtrtarea_admvs": "370303",
  "insuplc_admdvs": "370302",
  "recer_sys_code": "MDY32",
  "dev_no": "",
  "dev_safe_info": "",
  "cainfo": "",
  "signtype": "SM2",
  "sign_no": "SN202403050001",
  "enc_type": null,
  "infver": "V1.0",
  "opter_type": "1",
  "opter": "0012",
  "opter_name": "王收费",
  "inf_time": "2024-03-05 09:30:07",
  "fixmedins_code": "H37030300001",
  "fixmedins_name": "淄博市张店区人民医院",
  "input": {
    "data": {
      "psn_no": "37000000000000000001",
      "mdtrt_cert_type": "02",
      "mdtrt_cert_no": "370302199001010114",
      "med_type": "11",
      "medfee_sumamt": 12345678.99,
      "psn_setlway": "01",
      "mdtrt_id": "370303M2024030500001",
      "chrg_bchno": "B0001",
      "acct_used_flag": "2",
      "insutype": "310",
      "invono": "FP20240305001",
      "fulamt_ownpay_amt": 0.30,
      "overlmt_selfpay": "12.30",
      "preselfpay_amt": "",
      "inscp_scp_amt": 0,
      "exp_content": "unused by us"
    }
  }
}"#;

const REQ_2102: &str = r#"{
  "infno": "2102",
  "msgid": "P37030300042202403051015000007",
  "mdtrtarea_admvs": "370303",
  "insuplc_admdvs": "370303",
  "recer_sys_code": "YDY",
  "infver": "V1.0",
  "opter_type": 2,
  "opter": "T01",
  "opter_name": "自助机",
  "inf_time": "2024-03-05 10:15:00",
  "fixmedins_code": "P37030300042",
  "fixmedins_name": "淄博惠民大药房",
  "input": {
    "druginfo": {
      "psn_no": "37000000000000000002",
      "mdtrt_cert_type": "01",
      "mdtrt_cert_no": "EV-TOKEN-abc123",
      "begntime": "2024-03-05 10:14:00",
      "medfee_sumamt": 57.60,
      "invono": "FP0042",
      "insutype": 390,
      "acct_used_flag": "1",
      "med_type": "41"
    },
    "drugdetail": [
      {
        "feedetl_sn": "1",
        "rxno": "",
        "rx_circ_flag": "0",
        "fee_ocur_time": "2024-03-05 10:14:30",
        "med_list_codg": "XA02BCA049A001010101445",
        "medins_list_codg": "YP0001",
        "det_item_fee_sumamt": 24.69,
        "cnt": 2,
        "pric": 12.345,
        "bilg_dr_name": null
      },
      {
        "feedetl_sn": "2",
        "fee_ocur_time": "2024-03-05",
        "med_list_codg": "ZA01AAA0001010100000",
        "medins_list_codg": "YP0002",
        "det_item_fee_sumamt": "32.91",
        "cnt": "1.5",
        "pric": "21.940000"
      }
    ]
  }
}"#;

fn dt(text: &str) -> NaiveDateTime {
    gongji_nhsa::wire_time::parse_datetime(text).unwrap()
}

fn raw(json: &str) -> Box<RawValue> {
    RawValue::from_string(json.to_string()).unwrap()
}

/// REQ_2207 with one string replaced, re-parsed.
fn envelope_with(from: &str, to: &str) -> Result<Envelope, WireError> {
    assert!(REQ_2207.contains(from), "fixture lacks {from}");
    Envelope::parse(REQ_2207.replacen(from, to, 1).as_bytes())
}

#[test]
fn parses_a_realistic_2207() {
    let env = Envelope::parse(REQ_2207.as_bytes()).unwrap();
    assert_eq!(env.infno, "2207");
    assert_eq!(env.msgid.as_str(), "H37030300001202403050930071234");
    assert_eq!(env.msgid.institution(), "H37030300001");
    assert_eq!(env.msgid.sent_at(), dt("2024-03-05 09:30:07"));
    assert_eq!(env.msgid.sequence(), 1234);
    assert_eq!(env.mdtrtarea_admvs, Admdvs::parse("370303").unwrap());
    assert_eq!(env.insuplc_admdvs, Admdvs::parse("370302"));
    assert_eq!(env.opter_type, Channel::Window);
    assert_eq!(env.inf_time, dt("2024-03-05 09:30:07"));
    assert_eq!(env.dev_no, None);
    assert_eq!(env.enc_type, None);
    assert_eq!(env.signtype.as_deref(), Some("SM2"));
    // Debug shows neither the input nor the clerk's full name.
    let debug = format!("{env:?}");
    assert!(!debug.contains("370302199001010114"));
    assert!(!debug.contains("王收费"));

    let TxInput::Settle(s) = env.decode_input().unwrap() else {
        panic!("not a 2207");
    };
    let expected = Settlement {
        psn_no: "37000000000000000001".to_string(),
        mdtrt_cert_type: CertType::IdCard,
        mdtrt_cert_no: CertNo::new("370302199001010114"),
        med_type: MedType::GeneralOutpatient,
        medfee_sumamt: Fen::from_fen(1_234_567_899),
        psn_setlway: SetlWay::ByItem,
        mdtrt_id: "370303M2024030500001".to_string(),
        chrg_bchno: "B0001".to_string(),
        acct_used_flag: AccountUse::OwnThenMutualAid,
        insutype: Insutype::Employee,
        invono: Some("FP20240305001".to_string()),
        fulamt_ownpay_amt: Fen::from_fen(30),
        overlmt_selfpay: Fen::from_fen(1230),
        preselfpay_amt: Fen::ZERO,
        inscp_scp_amt: Fen::ZERO,
    };
    assert_eq!(s, expected);
    assert!(!format!("{s:?}").contains("199001010114"));
}

#[test]
fn the_same_data_decodes_as_2206() {
    let env = envelope_with("\"infno\": \"2207\"", "\"infno\": \"2206\"").unwrap();
    assert!(matches!(env.decode_input(), Ok(TxInput::PreSettle(_))));
}

#[test]
fn parses_a_realistic_2102() {
    let env = Envelope::parse(REQ_2102.as_bytes()).unwrap();
    assert_eq!(env.opter_type, Channel::SelfServiceTerminal);
    let TxInput::DrugSettle(d) = env.decode_input().unwrap() else {
        panic!("not a 2102");
    };
    assert_eq!(d.druginfo.psn_no, "37000000000000000002");
    assert_eq!(d.druginfo.mdtrt_cert_type, CertType::EVoucher);
    assert_eq!(d.druginfo.insutype, Insutype::Resident);
    assert_eq!(d.druginfo.acct_used_flag, AccountUse::OwnAccount);
    assert_eq!(d.druginfo.med_type, MedType::PharmacyPurchase);
    assert_eq!(d.druginfo.medfee_sumamt, Fen::from_fen(5760));
    assert_eq!(d.druginfo.begntime, dt("2024-03-05 10:14:00"));
    assert_eq!(d.druginfo.invono.as_deref(), Some("FP0042"));
    assert_eq!(d.drugdetail.len(), 2);
    let first = &d.drugdetail[0];
    assert_eq!(
        first,
        &FeeLine {
            feedetl_sn: "1".to_string(),
            rxno: None,
            rx_circ_flag: false,
            fee_ocur_time: dt("2024-03-05 10:14:30"),
            med_list_codg: "XA02BCA049A001010101445".to_string(),
            medins_list_codg: "YP0001".to_string(),
            det_item_fee_sumamt: Fen::from_fen(2469),
            cnt: Count::from_units(2),
            pric: Price::from_micro_yuan(12_345_000),
            bilg_dept_codg: None,
            bilg_dept_name: None,
            bilg_dr_codg: None,
            bilg_dr_name: None,
            hosp_appr_flag: None,
        }
    );
    let second = &d.drugdetail[1];
    assert_eq!(second.fee_ocur_time, dt("2024-03-05 00:00:00"));
    assert_eq!(second.cnt.ten_thousandths(), 15_000);
    assert_eq!(second.pric.micro_yuan(), 21_940_000);
    assert_eq!(second.det_item_fee_sumamt, Fen::from_fen(3291));
}

#[test]
fn pharmacy_med_type_must_be_41() {
    let body = REQ_2102.replace("\"med_type\": \"41\"", "\"med_type\": \"11\"");
    let err = Envelope::parse(body.as_bytes())
        .unwrap()
        .decode_input()
        .unwrap_err();
    assert!(matches!(
        err,
        WireError::BadField { ref field, problem: FieldProblem::NotAllowed { .. } }
            if field == "input.druginfo.med_type"
    ));
}

#[test]
fn amounts_are_exact_and_refuse_a_third_decimal() {
    let settle = |amount: &str| {
        let body = REQ_2207.replace("12345678.99", amount);
        Envelope::parse(body.as_bytes()).unwrap().decode_input()
    };
    let fen_of = |r: Result<TxInput, WireError>| match r {
        Ok(TxInput::Settle(s)) => s.medfee_sumamt.fen(),
        other => panic!("{other:?}"),
    };
    assert_eq!(fen_of(settle("0.30")), 30);
    assert_eq!(fen_of(settle("0.3")), 30);
    assert_eq!(fen_of(settle("\"0.30\"")), 30);
    assert_eq!(fen_of(settle("12345678.99")), 1_234_567_899);
    assert_eq!(fen_of(settle("1.2e1")), 1200);
    let err = settle("1.234").unwrap_err();
    assert_eq!(err.code(), "GJ-WIRE-BAD-AMOUNT");
    assert_eq!(err.field(), Some("input.data.medfee_sumamt"));
    assert!(matches!(
        err,
        WireError::BadAmount {
            problem: AmountProblem::TooManyDecimals { max: 2, .. },
            ..
        }
    ));
    assert!(err.err_msg().starts_with("GJ-WIRE-BAD-AMOUNT: "));
    assert!(err.err_msg().contains("input.data.medfee_sumamt"));
    assert!(matches!(
        settle("-1.00"),
        Err(WireError::BadAmount {
            problem: AmountProblem::Negative { .. },
            ..
        })
    ));
    assert!(matches!(
        settle("\"12,30\""),
        Err(WireError::BadAmount { .. })
    ));
    // A required amount cannot be empty.
    assert_eq!(
        settle("\"\"").unwrap_err(),
        WireError::MissingField {
            field: "input.data.medfee_sumamt".to_string()
        }
    );
}

#[test]
fn prices_take_six_decimals_and_counts_four() {
    let line = |pric: &str, cnt: &str| {
        format!(
            r#"{{"druginfo":{{"psn_no":"1","mdtrt_cert_type":"02","mdtrt_cert_no":"x",
            "begntime":"2024-03-05 10:00:00","medfee_sumamt":1,"insutype":"390",
            "acct_used_flag":"0","med_type":"41"}},
            "drugdetail":[{{"feedetl_sn":"1","fee_ocur_time":"2024-03-05 10:00:00",
            "med_list_codg":"A","medins_list_codg":"B","det_item_fee_sumamt":1,
            "cnt":{cnt},"pric":{pric}}}]}}"#
        )
    };
    let decode = |pric: &str, cnt: &str| decode_input("2101", &raw(&line(pric, cnt)));
    let Ok(TxInput::DrugPreSettle(d)) = decode("1.234567", "0.0001") else {
        panic!("price with 6 decimals refused");
    };
    assert_eq!(d.drugdetail[0].pric.micro_yuan(), 1_234_567);
    assert_eq!(d.drugdetail[0].cnt.ten_thousandths(), 1);
    let err = decode("1.2345678", "1").unwrap_err();
    assert_eq!(err.field(), Some("input.drugdetail[0].pric"));
    let err = decode("1", "1.23456").unwrap_err();
    assert_eq!(err.field(), Some("input.drugdetail[0].cnt"));
}

#[test]
fn msgid_is_checked() {
    let bad = |msgid: &str| match envelope_with("H37030300001202403050930071234", msgid) {
        Err(WireError::BadMsgid { problem, .. }) => problem,
        other => panic!("{msgid}: {other:?}"),
    };
    assert_eq!(
        bad("H3703030000120240305093007123"),
        MsgidProblem::BadLength
    );
    assert_eq!(
        bad("H370303000012024030509300712345"),
        MsgidProblem::BadLength
    );
    assert_eq!(bad("H37030300001202402300930071234"), MsgidProblem::BadTime);
    assert_eq!(bad("H37030300001202403050960071234"), MsgidProblem::BadTime);
    assert_eq!(
        bad("H3703030000120240305093007123x"),
        MsgidProblem::BadSequence
    );
    assert_eq!(
        bad("H37030300009202403050930071234"),
        MsgidProblem::InstitutionMismatch
    );
    let err = envelope_with(
        "H37030300001202403050930071234",
        "H37030300009202403050930071234",
    )
    .unwrap_err();
    assert_eq!(err.code(), "GJ-WIRE-BAD-MSGID");
    assert!(err.err_msg().contains("fixmedins_code"));
}

#[test]
fn envelope_fields_are_validated() {
    let field_of = |from: &str, to: &str| envelope_with(from, to).unwrap_err();
    assert_eq!(
        field_of("\"opter\": \"0012\",", ""),
        WireError::MissingField {
            field: "opter".to_string()
        }
    );
    assert!(matches!(
        field_of("\"opter_type\": \"1\"", "\"opter_type\": \"4\""),
        WireError::BadField { ref field, problem: FieldProblem::BadCode { .. } } if field == "opter_type"
    ));
    assert!(matches!(
        field_of("\"inf_time\": \"2024-03-05 09:30:07\"", "\"inf_time\": \"20240305093007\""),
        WireError::BadField { ref field, problem: FieldProblem::BadDateTime { .. } } if field == "inf_time"
    ));
    assert!(matches!(
        field_of("\"mdtrtarea_admvs\": \"370303\"", "\"mdtrtarea_admvs\": \"37030\""),
        WireError::BadField { ref field, problem: FieldProblem::BadAdmdvs } if field == "mdtrtarea_admvs"
    ));
    assert!(matches!(
        field_of("\"input\": {", "\"input\": [], \"x\": {"),
        WireError::BadField { ref field, problem: FieldProblem::NotObject } if field == "input"
    ));
    assert!(matches!(
        field_of("\"infver\": \"V1.0\",", "\"infver\": \"V1.0\", \"infver\": \"V2\","),
        WireError::DuplicateKey { ref field } if field == "infver"
    ));
    assert_eq!(
        Envelope::parse(b"{\"infno\":").unwrap_err().code(),
        "GJ-WIRE-BAD-JSON"
    );
    let big = vec![b' '; BODY_BYTES_MAX + 1];
    assert_eq!(
        Envelope::parse(&big).unwrap_err().code(),
        "GJ-WIRE-BODY-TOO-LARGE"
    );
}

#[test]
fn insuplc_admdvs_is_required_when_the_input_names_a_patient() {
    let env = envelope_with("\"insuplc_admdvs\": \"370302\"", "\"insuplc_admdvs\": \"\"").unwrap();
    assert_eq!(
        env.decode_input().unwrap_err(),
        WireError::MissingField {
            field: "insuplc_admdvs".to_string()
        }
    );
}

#[test]
fn unknown_and_mismatched_infno() {
    let env = envelope_with("\"infno\": \"2207\"", "\"infno\": \"2301\"").unwrap();
    let err = env.decode_input().unwrap_err();
    assert_eq!(err.code(), "GJ-WIRE-UNKNOWN-INFNO");
    let env = Envelope::parse(REQ_2207.as_bytes()).unwrap();
    assert_eq!(env.check_path_infno(Some("2207")), Ok(()));
    assert_eq!(env.check_path_infno(None), Ok(()));
    assert_eq!(
        env.check_path_infno(Some("2206")).unwrap_err().code(),
        "GJ-WIRE-INFNO-MISMATCH"
    );
}

#[test]
fn every_transaction_decodes() {
    let cases: &[(&str, &str)] = &[
        (
            "9001",
            r#"{"signIn":{"opter_no":"0012","mac":"00-16-EA-AE-3C-40","ip":"10.0.0.8"}}"#,
        ),
        (
            "1101",
            r#"{"data":{"mdtrt_cert_type":"02","mdtrt_cert_no":"370302199001010114","card_sn":"","begntime":"2024-03-05 09:00:00","psn_cert_type":"01","certno":"370302199001010114","psn_name":"张建国"}}"#,
        ),
        (
            "2201",
            r#"{"data":{"psn_no":"1","insutype":"310","begntime":"2024-03-05 09:00:00","mdtrt_cert_type":"03","mdtrt_cert_no":"C1","ipt_otp_no":"MZ001","atddr_no":"D1","dr_name":"李医生","dept_code":"K01","dept_name":"内科","caty":"A03"}}"#,
        ),
        (
            "2202",
            r#"{"data":{"psn_no":"1","mdtrt_id":"M1","ipt_otp_no":"MZ001"}}"#,
        ),
        (
            "2203",
            r#"{"mdtrtinfo":{"mdtrt_id":"M1","psn_no":"1","med_type":"14","begntime":"2024-03-05 09:00:00","main_cond_dscr":"头痛","dise_codg":"I10.x00","dise_name":"高血压"},"diseinfo":[{"diag_type":"1","diag_srt_no":1,"diag_code":"I10.x00","diag_name":"高血压","diag_dept":"内科","dise_dor_no":"D1","dise_dor_name":"李医生","diag_time":"2024-03-05 09:10:00","vali_flag":"1"}]}"#,
        ),
        (
            "2204",
            r#"{"feedetail":[{"feedetl_sn":"1","mdtrt_id":"M1","psn_no":"1","chrg_bchno":"B1","rxno":"R1","rx_circ_flag":"0","fee_ocur_time":"2024-03-05 09:20:00","med_list_codg":"X1","medins_list_codg":"Y1","det_item_fee_sumamt":10.00,"cnt":1,"pric":10,"bilg_dept_codg":"K01","bilg_dept_name":"内科","bilg_dr_codg":"D1","bilg_dr_name":"李医生","hosp_appr_flag":"1"}]}"#,
        ),
        (
            "2205",
            r#"{"data":{"mdtrt_id":"M1","chrg_bchno":"0000","psn_no":"1"}}"#,
        ),
        (
            "2206",
            r#"{"data":{"psn_no":"1","mdtrt_cert_type":"02","mdtrt_cert_no":"x","med_type":"11","medfee_sumamt":10,"psn_setlway":"01","mdtrt_id":"M1","chrg_bchno":"B1","acct_used_flag":"1","insutype":"310"}}"#,
        ),
        (
            "2208",
            r#"{"data":{"setl_id":"S1","mdtrt_id":"M1","psn_no":"1"}}"#,
        ),
        (
            "2103",
            r#"{"data":{"setl_id":"S1","mdtrt_id":"M1","psn_no":"1"}}"#,
        ),
        (
            "3201",
            r#"{"data":{"insutype":"310","clr_type":"41","setl_optins":"370300","stmt_begndate":"2024-03-01","stmt_enddate":"2024-03-31","medfee_sumamt":1000.50,"fund_pay_sumamt":600.25,"acct_pay":300.25,"fixmedins_setl_cnt":42,"refd_setl_flag":"0"}}"#,
        ),
    ];
    for (infno, input) in cases {
        let tx = decode_input(infno, &raw(input)).unwrap_or_else(|e| panic!("{infno}: {e}"));
        assert_eq!(tx.infno().code(), *infno);
    }
    let Ok(TxInput::PersonInfo(q)) = decode_input("1101", &raw(cases[1].1)) else {
        panic!()
    };
    assert_eq!(q.psn_name, Some(PersonName::new("张建国")));
    assert!(!format!("{q:?}").contains("张建国"));
    assert!(!format!("{q:?}").contains("199001010114"));
    let Ok(TxInput::CancelFees(c)) = decode_input("2205", &raw(cases[6].1)) else {
        panic!()
    };
    assert_eq!(c.chrg_bchno, gongji_nhsa::wire_codes::BatchSelector::All);
    let Ok(TxInput::Reconcile(r)) = decode_input("3201", &raw(cases[10].1)) else {
        panic!()
    };
    assert_eq!(r.clr_type, ClrType::Pharmacy);
    assert_eq!(r.medfee_sumamt, Fen::from_fen(100_050));
    assert_eq!(r.fixmedins_setl_cnt, 42);
    assert_eq!(
        r.stmt_enddate,
        NaiveDate::from_ymd_opt(2024, 3, 31).unwrap()
    );
    assert!(!r.refd_setl_flag);
    assert_eq!(
        decode_input("9001", &raw(r#"{"signin":{"opter_no":"1"}}"#))
            .unwrap()
            .infno()
            .code(),
        "9001"
    );
}

#[test]
fn fee_lines_are_bounded_and_belong_to_one_visit() {
    let line = |sn: usize, mdtrt: &str| {
        format!(
            r#"{{"feedetl_sn":"{sn}","mdtrt_id":"{mdtrt}","psn_no":"1","chrg_bchno":"B1","fee_ocur_time":"2024-03-05 09:20:00","med_list_codg":"X","medins_list_codg":"Y","det_item_fee_sumamt":1,"cnt":1,"pric":1}}"#
        )
    };
    let upload = |lines: Vec<String>| {
        decode_input(
            "2204",
            &raw(&format!(r#"{{"feedetail":[{}]}}"#, lines.join(","))),
        )
    };
    let full: Vec<String> = (0..FEE_LINES_MAX).map(|i| line(i, "M1")).collect();
    assert!(upload(full.clone()).is_ok());
    let mut over = full;
    over.push(line(FEE_LINES_MAX, "M1"));
    assert_eq!(
        upload(over).unwrap_err(),
        WireError::TooManyLines {
            field: "input.feedetail".to_string(),
            count: FEE_LINES_MAX + 1,
            max: FEE_LINES_MAX
        }
    );
    assert!(matches!(
        upload(vec![line(1, "M1"), line(2, "M2")]).unwrap_err(),
        WireError::BadField { ref field, problem: FieldProblem::Mismatch { .. } }
            if field == "input.feedetail[1].mdtrt_id"
    ));
    assert!(matches!(
        upload(vec![line(1, "M1"), line(1, "M1")]).unwrap_err(),
        WireError::BadField { ref field, problem: FieldProblem::Repeated { .. } }
            if field == "input.feedetail[1].feedetl_sn"
    ));
    assert!(matches!(
        upload(vec![]).unwrap_err(),
        WireError::BadField {
            problem: FieldProblem::Empty,
            ..
        }
    ));
}

fn sample_setlinfo() -> SetlInfo {
    SetlInfo {
        mdtrt_id: "370303M2024030500001".to_string(),
        setl_id: Some("370303S2024030500001".to_string()),
        psn_no: "37000000000000000001".to_string(),
        psn_name: PersonName::new("张建国"),
        psn_cert_type: "01".to_string(),
        certno: CertNo::new("370302199001010114"),
        gend: Gender::Male,
        naty: "01".to_string(),
        brdy: NaiveDate::from_ymd_opt(1990, 1, 1).unwrap(),
        age: 34,
        insutype: Insutype::Employee,
        psn_type: "11".to_string(),
        cvlserv_flag: false,
        setl_time: dt("2024-03-05 09:30:08"),
        mdtrt_cert_type: CertType::IdCard,
        med_type: MedType::GeneralOutpatient,
        medfee_sumamt: Fen::from_fen(10_000),
        fulamt_ownpay_amt: Fen::ZERO,
        overlmt_selfpay: Fen::ZERO,
        preselfpay_amt: Fen::ZERO,
        inscp_scp_amt: Fen::from_fen(10_000),
        act_pay_dedc: Fen::ZERO,
        hifp_pay: Fen::from_fen(6000),
        pool_prop_selfpay: BasisPoints::new(6000).unwrap(),
        cvlserv_pay: Fen::ZERO,
        hifes_pay: Fen::ZERO,
        hifmi_pay: Fen::ZERO,
        hifob_pay: Fen::ZERO,
        maf_pay: Fen::ZERO,
        oth_pay: Fen::ZERO,
        fund_pay_sumamt: Fen::from_fen(6000),
        psn_part_amt: Fen::from_fen(4000),
        acct_pay: Fen::from_fen(1230),
        psn_cash_pay: Fen::from_fen(2770),
        hosp_part_amt: Fen::ZERO,
        balc: Fen::from_fen(88_800),
        acct_mulaid_pay: Fen::from_fen(230),
        medins_setl_id: "H37030300001202403050930071234".to_string(),
        clr_optins: Admdvs::parse("370300").unwrap(),
        clr_way: "1".to_string(),
        clr_type: ClrType::Outpatient,
        cash_pay_key: CashPayKey::PsnCashPay,
    }
}

#[test]
fn setlinfo_serializes_every_field_with_exact_amounts() {
    let info = sample_setlinfo();
    assert_eq!(info.check_identities(), Ok(()));
    let json = serde_json::to_string(&info).unwrap();
    for expected in [
        r#""acct_pay":12.30"#,
        r#""psn_cash_pay":27.70"#,
        r#""medfee_sumamt":100.00"#,
        r#""hifes_pay":0.00"#,
        r#""acct_mulaid_pay":2.30"#,
        r#""balc":888.00"#,
        r#""pool_prop_selfpay":0.6"#,
        r#""gend":"1""#,
        r#""cvlserv_flag":"0""#,
        r#""brdy":"1990-01-01""#,
        r#""setl_time":"2024-03-05 09:30:08""#,
        r#""certno":"370302199001010114""#,
        r#""clr_optins":"370300""#,
        r#""clr_type":"11""#,
        r#""age":34"#,
    ] {
        assert!(json.contains(expected), "{expected} not in {json}");
    }
    // Every field of the spec, in the spec's order.
    let keys: Vec<&str> = json
        .split(['{', ','])
        .filter_map(|part| part.strip_prefix('"')?.split('"').next())
        .collect();
    let spec = "mdtrt_id setl_id psn_no psn_name psn_cert_type certno gend naty brdy age \
        insutype psn_type cvlserv_flag setl_time mdtrt_cert_type med_type medfee_sumamt \
        fulamt_ownpay_amt overlmt_selfpay preselfpay_amt inscp_scp_amt act_pay_dedc hifp_pay \
        pool_prop_selfpay cvlserv_pay hifes_pay hifmi_pay hifob_pay maf_pay oth_pay \
        fund_pay_sumamt psn_part_amt acct_pay psn_cash_pay hosp_part_amt balc acct_mulaid_pay \
        medins_setl_id clr_optins clr_way clr_type";
    assert_eq!(keys, spec.split_whitespace().collect::<Vec<_>>());
    // Debug is masked.
    let debug = format!("{info:?}");
    assert!(!debug.contains("张建国") && !debug.contains("199001010114"));
}

#[test]
fn cancel_setlinfo_uses_the_pdn_spelling_and_pre_settle_has_no_setl_id() {
    let mut info = sample_setlinfo();
    info.cash_pay_key = CashPayKey::PdnCashPay;
    let json = serde_json::to_string(&info).unwrap();
    assert!(json.contains(r#""pdn_cash_pay":27.70"#));
    assert!(!json.contains("psn_cash_pay"));
    info.setl_id = None;
    let json = serde_json::to_string(&info).unwrap();
    assert!(!json.contains(r#""setl_id""#));
    assert!(json.contains(r#""medins_setl_id""#));
}

#[test]
fn setlinfo_identities_are_checked() {
    let mut info = sample_setlinfo();
    info.acct_mulaid_pay = Fen::from_fen(1231);
    assert_eq!(
        info.check_identities(),
        Err(SetlInfoIdentity::MutualAidWithinAccount)
    );
    let mut info = sample_setlinfo();
    info.psn_cash_pay = Fen::from_fen(2771);
    assert_eq!(info.check_identities(), Err(SetlInfoIdentity::PersonPart));
    let mut info = sample_setlinfo();
    info.hosp_part_amt = Fen::from_fen(1);
    assert_eq!(info.check_identities(), Err(SetlInfoIdentity::MedfeeSum));
}

#[test]
fn response_envelope_has_numeric_infcode_and_stable_order() {
    let admdvs = Admdvs::parse("370300").unwrap();
    let received = NaiveDate::from_ymd_opt(2024, 3, 5)
        .unwrap()
        .and_hms_milli_opt(9, 30, 7, 45)
        .unwrap();
    let responded = received + chrono::Duration::milliseconds(3);
    let ids = RefIds::new(admdvs, received, responded, 42);
    assert_eq!(ids.inf_refmsgid, "370300202403050930070000000042");
    assert_eq!(ids.inf_refmsgid.len(), 6 + 14 + 10);
    assert_eq!(ids.refmsg_time, "20240305093007045");
    assert_eq!(ids.respond_time, "20240305093007048");

    let output = TxOutput::Settlement(SettlementOutput {
        setlinfo: sample_setlinfo(),
        setldetail: vec![SetlDetail {
            fund_pay_type: "310100".to_string(),
            inscp_scp_amt: Fen::from_fen(10_000),
            crt_payb_lmt_amt: Fen::ZERO,
            fund_payamt: Fen::from_fen(6000),
            fund_pay_type_name: "职工基本医疗保险统筹基金".to_string(),
            setl_proc_info: "起付线已过，按60%支付".to_string(),
        }],
    });
    let ok = Response::success(ids.clone(), output);
    assert_eq!(ok.infcode(), InfCode::Success);
    let text = String::from_utf8(ok.to_json().unwrap()).unwrap();
    assert!(text.starts_with(
        r#"{"infcode":0,"inf_refmsgid":"370300202403050930070000000042","refmsg_time":"20240305093007045","respond_time":"20240305093007048","err_msg":"","output":{"setlinfo":{"mdtrt_id""#
    ));
    assert!(text.contains(r#""setldetail":[{"fund_pay_type":"310100","inscp_scp_amt":100.00,"crt_payb_lmt_amt":0.00,"fund_payamt":60.00,"#));

    let err = WireError::MissingField {
        field: "input.data.psn_no".to_string(),
    };
    let failed: Response<TxOutput> = Response::wire_failure(ids.clone(), &err);
    let text = String::from_utf8(failed.to_json().unwrap()).unwrap();
    assert_eq!(
        text,
        r#"{"infcode":-1,"inf_refmsgid":"370300202403050930070000000042","refmsg_time":"20240305093007045","respond_time":"20240305093007048","err_msg":"GJ-WIRE-MISSING-FIELD: 缺少必填字段input.data.psn_no","output":{}}"#
    );
    let value: serde_json::Value = serde_json::from_slice(&failed.to_json().unwrap()).unwrap();
    assert!(value["infcode"].is_i64());
    assert_eq!(value["infcode"], -1);

    let empty: Response<EmptyOutput> = Response::success(ids, EmptyOutput {});
    assert!(String::from_utf8(empty.to_json().unwrap())
        .unwrap()
        .ends_with(r#""err_msg":"","output":{}}"#));
}

#[test]
fn drug_output_carries_detlcutinfo() {
    let out = DrugSettlementOutput {
        setlinfo: sample_setlinfo(),
        setldetail: vec![],
        detlcutinfo: vec![FeeResult {
            feedetl_sn: "1".to_string(),
            det_item_fee_sumamt: Fen::from_fen(2469),
            cnt: Count::from_units(2),
            pric: Price::from_micro_yuan(12_345_000),
            pric_uplmt_amt: Fen::ZERO,
            selfpay_prop: BasisPoints::new(1000).unwrap(),
            fulamt_ownpay_amt: Fen::ZERO,
            overlmt_amt: Fen::ZERO,
            preselfpay_amt: Fen::from_fen(247),
            inscp_scp_amt: Fen::from_fen(2222),
            chrgitm_lv: gongji_core::codes::ChargeLevel::ClassB,
            med_chrgitm_type: "09".to_string(),
            lmt_used_flag: false,
            memo: String::new(),
        }],
    };
    let json = serde_json::to_string(&out).unwrap();
    assert!(json.contains(
        r#""detlcutinfo":[{"feedetl_sn":"1","det_item_fee_sumamt":24.69,"cnt":2,"pric":12.345,"pric_uplmt_amt":0.00,"selfpay_prop":0.1,"fulamt_ownpay_amt":0.00,"overlmt_amt":0.00,"preselfpay_amt":2.47,"inscp_scp_amt":22.22,"chrgitm_lv":"02","med_chrgitm_type":"09","lmt_used_flag":"0","memo":""}]"#
    ), "{json}");
}
