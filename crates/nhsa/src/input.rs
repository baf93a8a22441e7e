//! Typed inputs of each transaction and the decoder from the envelope's `input`.
//!
//! Every field named in `NHSA-INTERFACE.md` is here, under its wire name. A field is required
//! when the transaction cannot be understood without it (who, which visit, which settlement,
//! what money, which codes); descriptive fields (doctor, department, device) are optional.
//! Text that is absent, `null` or `""` is `None`; an absent optional amount is 0.
//!
//! The checks are about the message, not the business: code values must be codes, amounts exact
//! and not negative, dates real, arrays within their limits, and the lines of one request must
//! belong to one visit with distinct `feedetl_sn`. Whether a person, visit or settlement exists,
//! and whether the sums add up, is for the engine.

use std::collections::HashMap;
use std::fmt;

use chrono::{NaiveDate, NaiveDateTime};
use gongji_core::codes::{AccountUse, Admdvs, CertType, Insutype, MedType};
use gongji_core::pii::{CertNo, PersonName};
use gongji_core::Fen;
use serde_json::value::RawValue;

use crate::error::{echo, FieldProblem, WireError};
use crate::number::{Count, Price};
use crate::reader::Node;
use crate::wire_codes::{BatchSelector, ClrType, SetlWay};
use crate::{BODY_BYTES_MAX, DIAG_LINES_MAX, FEE_LINES_MAX};

/// The transactions this interface serves.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Infno {
    /// 9001 签到.
    SignIn,
    /// 1101 人员信息获取.
    PersonInfo,
    /// 2201 门诊挂号.
    Register,
    /// 2202 门诊挂号撤销.
    CancelRegister,
    /// 2203 门诊就诊信息上传.
    VisitInfo,
    /// 2204 门诊费用明细信息上传.
    FeeUpload,
    /// 2205 门诊费用明细信息撤销.
    CancelFees,
    /// 2206 门诊预结算.
    PreSettle,
    /// 2207 门诊结算.
    Settle,
    /// 2208 门诊结算撤销.
    CancelSettle,
    /// 2101 药店预结算.
    DrugPreSettle,
    /// 2102 药店结算.
    DrugSettle,
    /// 2103 药店结算撤销.
    DrugCancel,
    /// 3201 医药机构费用结算对总账.
    Reconcile,
}

impl Infno {
    pub const ALL: &'static [Infno] = &[
        Infno::SignIn,
        Infno::PersonInfo,
        Infno::Register,
        Infno::CancelRegister,
        Infno::VisitInfo,
        Infno::FeeUpload,
        Infno::CancelFees,
        Infno::PreSettle,
        Infno::Settle,
        Infno::CancelSettle,
        Infno::DrugPreSettle,
        Infno::DrugSettle,
        Infno::DrugCancel,
        Infno::Reconcile,
    ];

    pub fn parse(code: &str) -> Option<Infno> {
        Infno::ALL.iter().copied().find(|i| i.code() == code.trim())
    }

    pub const fn code(self) -> &'static str {
        match self {
            Infno::SignIn => "9001",
            Infno::PersonInfo => "1101",
            Infno::Register => "2201",
            Infno::CancelRegister => "2202",
            Infno::VisitInfo => "2203",
            Infno::FeeUpload => "2204",
            Infno::CancelFees => "2205",
            Infno::PreSettle => "2206",
            Infno::Settle => "2207",
            Infno::CancelSettle => "2208",
            Infno::DrugPreSettle => "2101",
            Infno::DrugSettle => "2102",
            Infno::DrugCancel => "2103",
            Infno::Reconcile => "3201",
        }
    }

    pub const fn name_zh(self) -> &'static str {
        match self {
            Infno::SignIn => "签到",
            Infno::PersonInfo => "人员信息获取",
            Infno::Register => "门诊挂号",
            Infno::CancelRegister => "门诊挂号撤销",
            Infno::VisitInfo => "门诊就诊信息上传",
            Infno::FeeUpload => "门诊费用明细信息上传",
            Infno::CancelFees => "门诊费用明细信息撤销",
            Infno::PreSettle => "门诊预结算",
            Infno::Settle => "门诊结算",
            Infno::CancelSettle => "门诊结算撤销",
            Infno::DrugPreSettle => "药店预结算",
            Infno::DrugSettle => "药店结算",
            Infno::DrugCancel => "药店结算撤销",
            Infno::Reconcile => "医药机构费用结算对总账",
        }
    }
}

impl fmt::Display for Infno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A decoded `input`, one variant per transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxInput {
    /// 9001: `signIn`.
    SignIn(SignIn),
    /// 1101: `data`.
    PersonInfo(PersonQuery),
    /// 2201: `data`.
    Register(Registration),
    /// 2202: `data`.
    CancelRegister(RegistrationCancel),
    /// 2203: `mdtrtinfo`, `diseinfo[]`.
    VisitInfo(VisitInfo),
    /// 2204: `feedetail[]`.
    FeeUpload(FeeUpload),
    /// 2205: `data`.
    CancelFees(FeeCancel),
    /// 2206: `data`; no money moves.
    PreSettle(Settlement),
    /// 2207: `data`.
    Settle(Settlement),
    /// 2208: `data`.
    CancelSettle(SettlementCancel),
    /// 2101: `druginfo`, `drugdetail[]`; no money moves.
    DrugPreSettle(DrugSettlement),
    /// 2102: `druginfo`, `drugdetail[]`.
    DrugSettle(DrugSettlement),
    /// 2103: `data`.
    DrugCancel(SettlementCancel),
    /// 3201: `data`.
    Reconcile(Reconcile),
}

impl TxInput {
    pub fn infno(&self) -> Infno {
        match self {
            TxInput::SignIn(_) => Infno::SignIn,
            TxInput::PersonInfo(_) => Infno::PersonInfo,
            TxInput::Register(_) => Infno::Register,
            TxInput::CancelRegister(_) => Infno::CancelRegister,
            TxInput::VisitInfo(_) => Infno::VisitInfo,
            TxInput::FeeUpload(_) => Infno::FeeUpload,
            TxInput::CancelFees(_) => Infno::CancelFees,
            TxInput::PreSettle(_) => Infno::PreSettle,
            TxInput::Settle(_) => Infno::Settle,
            TxInput::CancelSettle(_) => Infno::CancelSettle,
            TxInput::DrugPreSettle(_) => Infno::DrugPreSettle,
            TxInput::DrugSettle(_) => Infno::DrugSettle,
            TxInput::DrugCancel(_) => Infno::DrugCancel,
            TxInput::Reconcile(_) => Infno::Reconcile,
        }
    }

    /// The patient's `psn_no`, for inputs that carry one (the envelope then needs
    /// `insuplc_admdvs`).
    pub fn psn_no(&self) -> Option<&str> {
        match self {
            TxInput::SignIn(_) | TxInput::PersonInfo(_) | TxInput::Reconcile(_) => None,
            TxInput::Register(r) => Some(&r.psn_no),
            TxInput::CancelRegister(r) => Some(&r.psn_no),
            TxInput::VisitInfo(v) => Some(&v.mdtrtinfo.psn_no),
            TxInput::FeeUpload(f) => f.feedetail.first().map(|d| d.psn_no.as_str()),
            TxInput::CancelFees(f) => Some(&f.psn_no),
            TxInput::PreSettle(s) | TxInput::Settle(s) => Some(&s.psn_no),
            TxInput::CancelSettle(c) | TxInput::DrugCancel(c) => Some(&c.psn_no),
            TxInput::DrugPreSettle(d) | TxInput::DrugSettle(d) => Some(&d.druginfo.psn_no),
        }
    }
}

/// 9001 `signIn`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignIn {
    pub opter_no: String,
    pub mac: Option<String>,
    pub ip: Option<String>,
}

/// 1101 `data`: whose record, by the certificate presented.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonQuery {
    pub mdtrt_cert_type: CertType,
    /// An e-voucher token, ID number or social-security card number: masked in `Debug`.
    pub mdtrt_cert_no: CertNo,
    pub card_sn: Option<String>,
    pub begntime: Option<NaiveDateTime>,
    pub psn_cert_type: Option<String>,
    pub certno: Option<CertNo>,
    pub psn_name: Option<PersonName>,
}

/// 2201 `data`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    pub psn_no: String,
    pub insutype: Insutype,
    pub begntime: NaiveDateTime,
    pub mdtrt_cert_type: CertType,
    pub mdtrt_cert_no: CertNo,
    pub ipt_otp_no: String,
    pub atddr_no: Option<String>,
    pub dr_name: Option<String>,
    pub dept_code: Option<String>,
    pub dept_name: Option<String>,
    pub caty: Option<String>,
}

/// 2202 `data`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrationCancel {
    pub psn_no: String,
    pub mdtrt_id: String,
    pub ipt_otp_no: String,
}

/// 2203 input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VisitInfo {
    pub mdtrtinfo: MdtrtInfo,
    /// At most [`DIAG_LINES_MAX`]; may be empty.
    pub diseinfo: Vec<DiseInfo>,
}

/// 2203 `mdtrtinfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MdtrtInfo {
    pub mdtrt_id: String,
    pub psn_no: String,
    pub med_type: MedType,
    pub begntime: NaiveDateTime,
    pub main_cond_dscr: Option<String>,
    pub dise_codg: Option<String>,
    pub dise_name: Option<String>,
}

/// 2203 `diseinfo[]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiseInfo {
    pub diag_type: String,
    pub diag_srt_no: u64,
    pub diag_code: String,
    pub diag_name: String,
    pub diag_dept: Option<String>,
    pub dise_dor_no: Option<String>,
    pub dise_dor_name: Option<String>,
    pub diag_time: Option<NaiveDateTime>,
    /// `"1"` valid (the default), `"0"` not.
    pub vali_flag: bool,
}

/// 2204 input: 1 to [`FEE_LINES_MAX`] lines of one visit (`mdtrt_id`, `psn_no` equal on every
/// line, `feedetl_sn` distinct).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeeUpload {
    pub feedetail: Vec<FeeDetail>,
}

impl FeeUpload {
    /// The visit all lines belong to.
    pub fn mdtrt_id(&self) -> Option<&str> {
        self.feedetail.first().map(|d| d.mdtrt_id.as_str())
    }
}

/// 2204 `feedetail[]`: the visit's keys and one fee line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeeDetail {
    pub mdtrt_id: String,
    pub psn_no: String,
    pub chrg_bchno: String,
    pub line: FeeLine,
}

/// The fields a fee line has in both `feedetail[]` (2204) and `drugdetail[]` (2101/2102).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeeLine {
    pub feedetl_sn: String,
    pub rxno: Option<String>,
    /// 外购处方标志: `"1"` yes, `"0"` no (the default).
    pub rx_circ_flag: bool,
    pub fee_ocur_time: NaiveDateTime,
    pub med_list_codg: String,
    pub medins_list_codg: String,
    pub det_item_fee_sumamt: Fen,
    pub cnt: Count,
    pub pric: Price,
    pub bilg_dept_codg: Option<String>,
    pub bilg_dept_name: Option<String>,
    pub bilg_dr_codg: Option<String>,
    pub bilg_dr_name: Option<String>,
    pub hosp_appr_flag: Option<String>,
}

/// 2205 `data`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeeCancel {
    pub mdtrt_id: String,
    /// `"0000"` is every unsettled batch of the visit.
    pub chrg_bchno: BatchSelector,
    pub psn_no: String,
}

/// 2206 / 2207 `data`. The five fields after `insutype` are sent with 2207 only; they are the
/// client's own figures, 0 when absent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settlement {
    pub psn_no: String,
    pub mdtrt_cert_type: CertType,
    /// The patient's certificate, or a mutual-aid holder's (see NHSA-INTERFACE.md).
    pub mdtrt_cert_no: CertNo,
    pub med_type: MedType,
    pub medfee_sumamt: Fen,
    pub psn_setlway: SetlWay,
    pub mdtrt_id: String,
    pub chrg_bchno: String,
    pub acct_used_flag: AccountUse,
    pub insutype: Insutype,
    pub invono: Option<String>,
    pub fulamt_ownpay_amt: Fen,
    pub overlmt_selfpay: Fen,
    pub preselfpay_amt: Fen,
    pub inscp_scp_amt: Fen,
}

/// 2208 and 2103 `data`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettlementCancel {
    pub setl_id: String,
    pub mdtrt_id: String,
    pub psn_no: String,
}

/// 2101 / 2102 input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DrugSettlement {
    pub druginfo: DrugInfo,
    /// 1 to [`FEE_LINES_MAX`] lines with distinct `feedetl_sn`.
    pub drugdetail: Vec<FeeLine>,
}

/// 2101 / 2102 `druginfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DrugInfo {
    pub psn_no: String,
    pub mdtrt_cert_type: CertType,
    pub mdtrt_cert_no: CertNo,
    pub begntime: NaiveDateTime,
    pub medfee_sumamt: Fen,
    /// Sent with 2102.
    pub invono: Option<String>,
    pub insutype: Insutype,
    pub acct_used_flag: AccountUse,
    /// Always [`MedType::PharmacyPurchase`] (41); anything else is refused.
    pub med_type: MedType,
}

/// 3201 `data`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reconcile {
    pub insutype: Insutype,
    pub clr_type: ClrType,
    pub setl_optins: Admdvs,
    pub stmt_begndate: NaiveDate,
    pub stmt_enddate: NaiveDate,
    pub medfee_sumamt: Fen,
    pub fund_pay_sumamt: Fen,
    pub acct_pay: Fen,
    pub fixmedins_setl_cnt: u64,
    /// 退费结算标志. `"0"`: the totals leave out refunded (cancelled) settlements; `"1"`,
    /// empty, null or absent: they include them. Clients of the national interface read it
    /// so (e.g. the 3201 client of the DHC HIS, `dhcinsu/divmonstmt.js`: "为0时，总账对账数据
    /// 不包含退费数据；为1、空值、null、缺省时，总账对账数据包含退费数据").
    pub refd_setl_flag: bool,
}

/// Decodes a transaction's `input` object (the envelope's `input`, exact text) into its typed
/// form. An unknown `infno` is [`WireError::UnknownInfno`]; field problems name the field as
/// `input.<node>.<field>`.
pub fn decode_input(infno: &str, input: &RawValue) -> Result<TxInput, WireError> {
    let infno = Infno::parse(infno).ok_or_else(|| WireError::UnknownInfno {
        infno: infno.to_string(),
    })?;
    let bytes = input.get().len();
    if bytes > BODY_BYTES_MAX {
        return Err(WireError::BodyTooLarge {
            bytes,
            max: BODY_BYTES_MAX,
        });
    }
    let root = Node::parse("input".to_string(), input)?;
    Ok(match infno {
        Infno::SignIn => {
            // The interface spells this node `signIn`; accept `signin` as some clients send.
            let name = root
                .first_present(&["signIn", "signin"])
                .unwrap_or("signIn");
            TxInput::SignIn(sign_in(&root.object(name)?)?)
        }
        Infno::PersonInfo => TxInput::PersonInfo(person_query(&root.object("data")?)?),
        Infno::Register => TxInput::Register(registration(&root.object("data")?)?),
        Infno::CancelRegister => {
            TxInput::CancelRegister(registration_cancel(&root.object("data")?)?)
        }
        Infno::VisitInfo => TxInput::VisitInfo(visit_info(&root)?),
        Infno::FeeUpload => TxInput::FeeUpload(fee_upload(&root)?),
        Infno::CancelFees => TxInput::CancelFees(fee_cancel(&root.object("data")?)?),
        Infno::PreSettle => TxInput::PreSettle(settlement(&root.object("data")?)?),
        Infno::Settle => TxInput::Settle(settlement(&root.object("data")?)?),
        Infno::CancelSettle => TxInput::CancelSettle(settlement_cancel(&root.object("data")?)?),
        Infno::DrugPreSettle => TxInput::DrugPreSettle(drug_settlement(&root)?),
        Infno::DrugSettle => TxInput::DrugSettle(drug_settlement(&root)?),
        Infno::DrugCancel => TxInput::DrugCancel(settlement_cancel(&root.object("data")?)?),
        Infno::Reconcile => TxInput::Reconcile(reconcile(&root.object("data")?)?),
    })
}

fn cert_no(n: &Node<'_>, name: &str) -> Result<CertNo, WireError> {
    n.text(name).map(CertNo::new)
}

fn sign_in(n: &Node<'_>) -> Result<SignIn, WireError> {
    Ok(SignIn {
        opter_no: n.text("opter_no")?,
        mac: n.opt_text("mac")?,
        ip: n.opt_text("ip")?,
    })
}

fn person_query(n: &Node<'_>) -> Result<PersonQuery, WireError> {
    Ok(PersonQuery {
        mdtrt_cert_type: n.code("mdtrt_cert_type", CertType::parse)?,
        mdtrt_cert_no: cert_no(n, "mdtrt_cert_no")?,
        card_sn: n.opt_text("card_sn")?,
        begntime: n.opt_datetime("begntime")?,
        psn_cert_type: n.opt_text("psn_cert_type")?,
        certno: n.opt_text("certno")?.map(CertNo::new),
        psn_name: n.opt_text("psn_name")?.map(PersonName::new),
    })
}

fn registration(n: &Node<'_>) -> Result<Registration, WireError> {
    Ok(Registration {
        psn_no: n.text("psn_no")?,
        insutype: n.code("insutype", Insutype::parse)?,
        begntime: n.datetime("begntime")?,
        mdtrt_cert_type: n.code("mdtrt_cert_type", CertType::parse)?,
        mdtrt_cert_no: cert_no(n, "mdtrt_cert_no")?,
        ipt_otp_no: n.text("ipt_otp_no")?,
        atddr_no: n.opt_text("atddr_no")?,
        dr_name: n.opt_text("dr_name")?,
        dept_code: n.opt_text("dept_code")?,
        dept_name: n.opt_text("dept_name")?,
        caty: n.opt_text("caty")?,
    })
}

fn registration_cancel(n: &Node<'_>) -> Result<RegistrationCancel, WireError> {
    Ok(RegistrationCancel {
        psn_no: n.text("psn_no")?,
        mdtrt_id: n.text("mdtrt_id")?,
        ipt_otp_no: n.text("ipt_otp_no")?,
    })
}

fn visit_info(root: &Node<'_>) -> Result<VisitInfo, WireError> {
    let m = root.object("mdtrtinfo")?;
    let mdtrtinfo = MdtrtInfo {
        mdtrt_id: m.text("mdtrt_id")?,
        psn_no: m.text("psn_no")?,
        med_type: m.code("med_type", MedType::parse)?,
        begntime: m.datetime("begntime")?,
        main_cond_dscr: m.opt_text("main_cond_dscr")?,
        dise_codg: m.opt_text("dise_codg")?,
        dise_name: m.opt_text("dise_name")?,
    };
    let diseinfo = root
        .array("diseinfo", DIAG_LINES_MAX, false)?
        .iter()
        .map(|d| {
            Ok(DiseInfo {
                diag_type: d.text("diag_type")?,
                diag_srt_no: d.uint("diag_srt_no")?,
                diag_code: d.text("diag_code")?,
                diag_name: d.text("diag_name")?,
                diag_dept: d.opt_text("diag_dept")?,
                dise_dor_no: d.opt_text("dise_dor_no")?,
                dise_dor_name: d.opt_text("dise_dor_name")?,
                diag_time: d.opt_datetime("diag_time")?,
                vali_flag: d.flag_or("vali_flag", true)?,
            })
        })
        .collect::<Result<Vec<_>, WireError>>()?;
    Ok(VisitInfo {
        mdtrtinfo,
        diseinfo,
    })
}

fn fee_line(n: &Node<'_>) -> Result<FeeLine, WireError> {
    Ok(FeeLine {
        feedetl_sn: n.text("feedetl_sn")?,
        rxno: n.opt_text("rxno")?,
        rx_circ_flag: n.flag_or("rx_circ_flag", false)?,
        fee_ocur_time: n.datetime("fee_ocur_time")?,
        med_list_codg: n.text("med_list_codg")?,
        medins_list_codg: n.text("medins_list_codg")?,
        det_item_fee_sumamt: n.amount("det_item_fee_sumamt")?,
        cnt: n.count("cnt")?,
        pric: n.price("pric")?,
        bilg_dept_codg: n.opt_text("bilg_dept_codg")?,
        bilg_dept_name: n.opt_text("bilg_dept_name")?,
        bilg_dr_codg: n.opt_text("bilg_dr_codg")?,
        bilg_dr_name: n.opt_text("bilg_dr_name")?,
        hosp_appr_flag: n.opt_text("hosp_appr_flag")?,
    })
}

/// Refuses a `feedetl_sn` that an earlier line of the same request already used.
fn check_distinct_sn<'l>(
    lines: impl Iterator<Item = (&'l Node<'l>, &'l FeeLine)>,
    array: &str,
) -> Result<(), WireError> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, (node, line)) in lines.enumerate() {
        if let Some(first) = seen.insert(&line.feedetl_sn, i) {
            return Err(WireError::BadField {
                field: node.path_of("feedetl_sn"),
                problem: FieldProblem::Repeated {
                    other: format!("input.{array}[{first}]"),
                },
            });
        }
    }
    Ok(())
}

fn fee_upload(root: &Node<'_>) -> Result<FeeUpload, WireError> {
    let nodes = root.array("feedetail", FEE_LINES_MAX, true)?;
    let mut feedetail: Vec<FeeDetail> = Vec::with_capacity(nodes.len());
    for n in &nodes {
        let detail = FeeDetail {
            mdtrt_id: n.text("mdtrt_id")?,
            psn_no: n.text("psn_no")?,
            chrg_bchno: n.text("chrg_bchno")?,
            line: fee_line(n)?,
        };
        if let Some(first) = feedetail.first() {
            for (name, a, b) in [
                ("mdtrt_id", &first.mdtrt_id, &detail.mdtrt_id),
                ("psn_no", &first.psn_no, &detail.psn_no),
            ] {
                if a != b {
                    return Err(WireError::BadField {
                        field: n.path_of(name),
                        problem: FieldProblem::Mismatch {
                            other: "input.feedetail[0]".to_string(),
                        },
                    });
                }
            }
        }
        feedetail.push(detail);
    }
    check_distinct_sn(
        nodes.iter().zip(feedetail.iter().map(|d| &d.line)),
        "feedetail",
    )?;
    Ok(FeeUpload { feedetail })
}

fn fee_cancel(n: &Node<'_>) -> Result<FeeCancel, WireError> {
    Ok(FeeCancel {
        mdtrt_id: n.text("mdtrt_id")?,
        chrg_bchno: BatchSelector::parse(n.text("chrg_bchno")?.trim()),
        psn_no: n.text("psn_no")?,
    })
}

fn settlement(n: &Node<'_>) -> Result<Settlement, WireError> {
    Ok(Settlement {
        psn_no: n.text("psn_no")?,
        mdtrt_cert_type: n.code("mdtrt_cert_type", CertType::parse)?,
        mdtrt_cert_no: cert_no(n, "mdtrt_cert_no")?,
        med_type: n.code("med_type", MedType::parse)?,
        medfee_sumamt: n.amount("medfee_sumamt")?,
        psn_setlway: n.code("psn_setlway", SetlWay::parse)?,
        mdtrt_id: n.text("mdtrt_id")?,
        chrg_bchno: n.text("chrg_bchno")?,
        acct_used_flag: n.code("acct_used_flag", AccountUse::parse)?,
        insutype: n.code("insutype", Insutype::parse)?,
        invono: n.opt_text("invono")?,
        fulamt_ownpay_amt: n.amount_or_zero("fulamt_ownpay_amt")?,
        overlmt_selfpay: n.amount_or_zero("overlmt_selfpay")?,
        preselfpay_amt: n.amount_or_zero("preselfpay_amt")?,
        inscp_scp_amt: n.amount_or_zero("inscp_scp_amt")?,
    })
}

fn settlement_cancel(n: &Node<'_>) -> Result<SettlementCancel, WireError> {
    Ok(SettlementCancel {
        setl_id: n.text("setl_id")?,
        mdtrt_id: n.text("mdtrt_id")?,
        psn_no: n.text("psn_no")?,
    })
}

fn drug_settlement(root: &Node<'_>) -> Result<DrugSettlement, WireError> {
    let d = root.object("druginfo")?;
    let med_type = d.code("med_type", MedType::parse)?;
    if med_type != MedType::PharmacyPurchase {
        return Err(WireError::BadField {
            field: d.path_of("med_type"),
            problem: FieldProblem::NotAllowed {
                value: echo(med_type.code()),
                allowed: "41",
            },
        });
    }
    let druginfo = DrugInfo {
        psn_no: d.text("psn_no")?,
        mdtrt_cert_type: d.code("mdtrt_cert_type", CertType::parse)?,
        mdtrt_cert_no: cert_no(&d, "mdtrt_cert_no")?,
        begntime: d.datetime("begntime")?,
        medfee_sumamt: d.amount("medfee_sumamt")?,
        invono: d.opt_text("invono")?,
        insutype: d.code("insutype", Insutype::parse)?,
        acct_used_flag: d.code("acct_used_flag", AccountUse::parse)?,
        med_type,
    };
    let nodes = root.array("drugdetail", FEE_LINES_MAX, true)?;
    let drugdetail = nodes
        .iter()
        .map(fee_line)
        .collect::<Result<Vec<_>, WireError>>()?;
    check_distinct_sn(nodes.iter().zip(drugdetail.iter()), "drugdetail")?;
    Ok(DrugSettlement {
        druginfo,
        drugdetail,
    })
}

fn reconcile(n: &Node<'_>) -> Result<Reconcile, WireError> {
    let stmt_begndate = n.date("stmt_begndate")?;
    let stmt_enddate = n.date("stmt_enddate")?;
    if stmt_enddate < stmt_begndate {
        return Err(WireError::BadField {
            field: n.path_of("stmt_enddate"),
            problem: FieldProblem::EndBeforeBegin,
        });
    }
    Ok(Reconcile {
        insutype: n.code("insutype", Insutype::parse)?,
        clr_type: n.code("clr_type", ClrType::parse)?,
        setl_optins: n.admdvs("setl_optins")?,
        stmt_begndate,
        stmt_enddate,
        medfee_sumamt: n.amount("medfee_sumamt")?,
        fund_pay_sumamt: n.amount("fund_pay_sumamt")?,
        acct_pay: n.amount("acct_pay")?,
        fixmedins_setl_cnt: n.uint("fixmedins_setl_cnt")?,
        refd_setl_flag: n.flag_or("refd_setl_flag", true)?,
    })
}
