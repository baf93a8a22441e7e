//! Engine outcomes to the institution interface's output types. Pure and deterministic, so
//! that the answer stored for a msgid and the answer sent are the same bytes.

use chrono::NaiveDateTime;
use gongji_core::codes::{CertType, MedType};
use gongji_core::domain::Person;
use gongji_core::pooling::PricedLine;
use gongji_core::{BasisPoints, Fen};
use gongji_engine::{Cancelled, Settled};
use gongji_nhsa::output::{
    BaseInfo, CashPayKey, FeeResult, InsuInfo, PersonInfoOutput, SetlDetail, SetlInfo,
};
use gongji_nhsa::wire_codes::ClrType;
use gongji_nhsa::{Count, Price, RefIds, Response};

/// 居民身份证 in the national psn_cert_type table.
const PSN_CERT_TYPE_ID_CARD: &str = "01";
/// 汉族 by default: the registry carries no nationality.
const NATY_DEFAULT: &str = "01";
/// 个人账户 fund type.
const FUND_PERSONAL_ACCOUNT: &str = "310200";

/// The clearing type (清算类别) a settlement of `med_type` is cleared and reconciled under.
pub fn clr_type_for(med_type: MedType) -> ClrType {
    match med_type {
        MedType::PharmacyPurchase => ClrType::Pharmacy,
        MedType::ChronicSpecialOutpatient => ClrType::ChronicOutpatient,
        MedType::Inpatient => ClrType::Inpatient,
        MedType::GeneralOutpatient | MedType::RegistrationOnly | MedType::Emergency => {
            ClrType::Outpatient
        }
    }
}

/// The medical types reconciled under one clearing type (3201).
pub fn med_types_of(clr_type: ClrType) -> Vec<String> {
    MedType::ALL
        .iter()
        .filter(|m| clr_type_for(**m) == clr_type)
        .map(|m| m.code().to_string())
        .collect()
}

fn ratio(part: Fen, whole: Fen) -> BasisPoints {
    if whole.fen() <= 0 || part.fen() <= 0 {
        return BasisPoints::ZERO;
    }
    let bp =
        (i128::from(part.fen()) * 10_000 + i128::from(whole.fen()) / 2) / i128::from(whole.fen());
    BasisPoints::new(u16::try_from(bp.min(10_000)).unwrap_or(10_000)).unwrap_or(BasisPoints::FULL)
}

pub fn base_info(p: &Person, on: NaiveDateTime) -> BaseInfo {
    BaseInfo {
        psn_no: p.psn_no.clone(),
        psn_cert_type: PSN_CERT_TYPE_ID_CARD.into(),
        certno: p.certno.clone(),
        psn_name: p.name.clone(),
        gend: p.gender,
        naty: NATY_DEFAULT.into(),
        brdy: p.birth_date,
        age: p.age_on(on.date()),
    }
}

pub fn person_info(p: &Person, balance: Fen, on: NaiveDateTime) -> PersonInfoOutput {
    PersonInfoOutput {
        baseinfo: base_info(p, on),
        insuinfo: vec![InsuInfo {
            balc: balance,
            insutype: p.insutype,
            psn_type: p.psn_type.clone(),
            psn_insu_stas: p.insu_status,
            psn_insu_date: p
                .birth_date
                .max(chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or(p.birth_date)),
            paus_insu_date: None,
            cvlserv_flag: p.civil_servant,
            insuplc_admdvs: p.admdvs,
            emp_name: p.employer_name.clone(),
        }],
        idetinfo: Vec::new(),
    }
}

/// `setlinfo` and `setldetail` of a settlement or pre-settlement.
pub fn settlement(s: &Settled, cert_type: CertType, msgid: &str) -> (SetlInfo, Vec<SetlDetail>) {
    let t = &s.decision.totals;
    let p = &s.patient;
    let base = base_info(p, s.at);
    let info = SetlInfo {
        mdtrt_id: s.mdtrt_id.clone(),
        setl_id: (!s.dry_run).then(|| s.setl_id.clone()),
        psn_no: p.psn_no.clone(),
        psn_name: p.name.clone(),
        psn_cert_type: base.psn_cert_type,
        certno: p.certno.clone(),
        gend: p.gender,
        naty: base.naty,
        brdy: p.birth_date,
        age: base.age,
        insutype: p.insutype,
        psn_type: p.psn_type.clone(),
        cvlserv_flag: p.civil_servant,
        setl_time: s.at,
        mdtrt_cert_type: cert_type,
        med_type: s.med_type,
        medfee_sumamt: t.medfee_sumamt,
        fulamt_ownpay_amt: t.fulamt_ownpay_amt,
        overlmt_selfpay: t.overlmt_selfpay,
        preselfpay_amt: t.preselfpay_amt,
        inscp_scp_amt: t.inscp_scp_amt,
        act_pay_dedc: t.act_pay_dedc,
        hifp_pay: t.hifp_pay,
        pool_prop_selfpay: ratio(t.hifp_pay, t.inscp_scp_amt.saturating_sub(t.act_pay_dedc)),
        cvlserv_pay: Fen::ZERO,
        hifes_pay: Fen::ZERO,
        hifmi_pay: Fen::ZERO,
        hifob_pay: Fen::ZERO,
        maf_pay: Fen::ZERO,
        oth_pay: t.oth_pay,
        fund_pay_sumamt: t.fund_pay_sumamt,
        psn_part_amt: t.psn_part_amt,
        acct_pay: t.acct_pay,
        psn_cash_pay: t.psn_cash_pay,
        hosp_part_amt: t.hosp_part_amt,
        balc: t.balc,
        acct_mulaid_pay: t.acct_mulaid_pay,
        medins_setl_id: msgid.to_string(),
        clr_optins: p.admdvs,
        clr_way: "1".into(),
        clr_type: clr_type_for(s.med_type),
        cash_pay_key: CashPayKey::PsnCashPay,
    };
    (info, details(s))
}

fn details(s: &Settled) -> Vec<SetlDetail> {
    let split = &s.decision.split;
    let alloc = &s.decision.allocation;
    let mut out: Vec<SetlDetail> = split
        .fund_lines
        .iter()
        .map(|l| SetlDetail {
            fund_pay_type: l.fund_pay_type.clone(),
            inscp_scp_amt: l.inscp,
            crt_payb_lmt_amt: l.payable_before_caps,
            fund_payamt: l.amount,
            fund_pay_type_name: l.name_zh.clone(),
            setl_proc_info: l.explanation.clone(),
        })
        .collect();
    let notes = alloc.notes.join("；");
    let no_draws = alloc.draws.is_empty() && alloc.quota_draws.is_empty();
    if alloc.own.is_positive() || no_draws {
        out.push(SetlDetail {
            fund_pay_type: FUND_PERSONAL_ACCOUNT.into(),
            inscp_scp_amt: split.inscp,
            crt_payb_lmt_amt: split.personal_burden(),
            fund_payamt: alloc.own,
            fund_pay_type_name: "职工基本医疗保险个人账户".into(),
            setl_proc_info: notes.clone(),
        });
    }
    // Why mutual aid left the rest to cash, on the receipt even without an own-account line.
    let stop_note = alloc
        .stop
        .as_ref()
        .filter(|_| !(alloc.own.is_positive() || no_draws))
        .map(|s| format!("；{}", s.note()))
        .unwrap_or_default();
    // Quotas from holders in other provinces pay before the holders here (R-N3).
    for q in &alloc.quota_draws {
        out.push(SetlDetail {
            fund_pay_type: FUND_PERSONAL_ACCOUNT.into(),
            inscp_scp_amt: split.inscp,
            crt_payb_lmt_amt: split.personal_burden(),
            fund_payamt: q.amount,
            fund_pay_type_name: "个人账户跨省共济额度".into(),
            setl_proc_info: format!(
                "跨省共济：{:02}省户主划拨的额度支付{}元{stop_note}",
                q.parties.holder_province, q.amount
            ),
        });
    }
    for d in &alloc.draws {
        out.push(SetlDetail {
            fund_pay_type: FUND_PERSONAL_ACCOUNT.into(),
            inscp_scp_amt: split.inscp,
            crt_payb_lmt_amt: split.personal_burden(),
            fund_payamt: d.amount,
            fund_pay_type_name: "个人账户家庭共济".into(),
            // Who paid and how much, never the holder's balance or reserve: the answer is
            // printed on the receipt the relative and the institution see.
            setl_proc_info: format!(
                "家庭共济：户主{}账户支付{}元{stop_note}",
                d.holder_name_masked, d.amount
            ),
        });
    }
    out
}

/// `setlinfo` of a cancel (2208, 2103): the original amounts, returned.
pub fn cancellation(c: &Cancelled, msgid: &str) -> SetlInfo {
    let p = &c.patient;
    let base = base_info(p, c.at);
    let neg = Fen::saturating_neg;
    SetlInfo {
        mdtrt_id: c.mdtrt_id.clone(),
        setl_id: Some(c.setl_id.clone()),
        psn_no: p.psn_no.clone(),
        psn_name: p.name.clone(),
        psn_cert_type: base.psn_cert_type,
        certno: p.certno.clone(),
        gend: p.gender,
        naty: base.naty,
        brdy: p.birth_date,
        age: base.age,
        insutype: p.insutype,
        psn_type: p.psn_type.clone(),
        cvlserv_flag: p.civil_servant,
        setl_time: c.at,
        mdtrt_cert_type: CertType::IdCard,
        med_type: c.med_type,
        medfee_sumamt: neg(c.medfee_sumamt),
        fulamt_ownpay_amt: Fen::ZERO,
        overlmt_selfpay: Fen::ZERO,
        preselfpay_amt: Fen::ZERO,
        inscp_scp_amt: Fen::ZERO,
        act_pay_dedc: Fen::ZERO,
        hifp_pay: neg(c.fund_pay_sumamt.saturating_sub(c.oth_pay)),
        pool_prop_selfpay: BasisPoints::ZERO,
        cvlserv_pay: Fen::ZERO,
        hifes_pay: Fen::ZERO,
        hifmi_pay: Fen::ZERO,
        hifob_pay: Fen::ZERO,
        maf_pay: Fen::ZERO,
        oth_pay: neg(c.oth_pay),
        fund_pay_sumamt: neg(c.fund_pay_sumamt),
        psn_part_amt: neg(c.acct_pay.saturating_add(c.psn_cash_pay)),
        acct_pay: neg(c.acct_pay),
        psn_cash_pay: neg(c.psn_cash_pay),
        hosp_part_amt: Fen::ZERO,
        balc: c.balc,
        acct_mulaid_pay: neg(c.acct_mulaid_pay),
        medins_setl_id: msgid.to_string(),
        clr_optins: p.admdvs,
        clr_way: "1".into(),
        clr_type: clr_type_for(c.med_type),
        cash_pay_key: CashPayKey::PdnCashPay,
    }
}

/// `setldetail` of a cancel: every fen back where it came from.
pub fn cancellation_details(c: &Cancelled) -> Vec<SetlDetail> {
    c.returned
        .iter()
        .filter(|(key, _)| !key.starts_with("inst:"))
        .map(|(key, amount)| {
            let (code, name) = if let Some(psn) = key.strip_prefix("psn:") {
                if psn == c.patient.psn_no {
                    (FUND_PERSONAL_ACCOUNT, "退回本人个人账户".to_string())
                } else {
                    (
                        FUND_PERSONAL_ACCOUNT,
                        "退回户主个人账户（家庭共济）".to_string(),
                    )
                }
            } else if let Some(fund) = key.strip_prefix("fund:") {
                (
                    fund.rsplit(':').next().unwrap_or(""),
                    "退回统筹基金".to_string(),
                )
            } else {
                ("", "退回现金".to_string())
            };
            SetlDetail {
                fund_pay_type: code.to_string(),
                inscp_scp_amt: Fen::ZERO,
                crt_payb_lmt_amt: Fen::ZERO,
                fund_payamt: *amount,
                fund_pay_type_name: name.clone(),
                setl_proc_info: format!("撤销结算{}：{}{}元", c.setl_id, name, amount),
            }
        })
        .collect()
}

pub fn fee_results(lines: &[PricedLine]) -> Vec<FeeResult> {
    lines
        .iter()
        .map(|l| FeeResult {
            feedetl_sn: l.sn.clone(),
            det_item_fee_sumamt: l.amount,
            cnt: Count::from_ten_thousandths(l.count_e4),
            pric: Price::from_fen(l.price).unwrap_or(Price::from_micro_yuan(0)),
            pric_uplmt_amt: l.price_cap.unwrap_or(Fen::ZERO),
            selfpay_prop: l.selfpay_prop,
            fulamt_ownpay_amt: l.fulamt_ownpay,
            overlmt_amt: l.overlmt,
            preselfpay_amt: l.preselfpay,
            inscp_scp_amt: l.inscp,
            chrgitm_lv: l.level,
            med_chrgitm_type: String::new(),
            lmt_used_flag: false,
            memo: String::new(),
        })
        .collect()
}

/// Serializes an answer; the wire types serialize infallibly in practice, but a failure
/// still yields a valid failure envelope rather than a panic.
pub fn to_bytes<O: serde::Serialize>(response: &Response<O>, ids: &RefIds) -> Vec<u8> {
    response.to_json().unwrap_or_else(|e| {
        let fallback: Response<gongji_nhsa::EmptyOutput> = Response::failure(
            ids.clone(),
            format!(
                "{}: 应答生成失败 {e}",
                crate::service::codes::INTERNAL_SERIALIZE
            ),
        );
        fallback.to_json().unwrap_or_default()
    })
}
