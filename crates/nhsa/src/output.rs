//! Typed outputs, serialized with the interface's field names in a stable order.
//!
//! Amounts are core [`Fen`] and go out as JSON numbers with exactly two decimals (`12.30`);
//! ratios as fractions (`0.6`); codes, flags, dates and ids as strings; an absent date as `""`.
//! The server fills these from the engine's decision; nothing here computes money.

use chrono::{NaiveDate, NaiveDateTime};
use gongji_core::codes::{Admdvs, CertType, ChargeLevel, Gender, InsuStatus, Insutype, MedType};
use gongji_core::pii::{CertNo, PersonName};
use gongji_core::{BasisPoints, Fen};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use crate::envelope::EmptyOutput;
use crate::number::{serialize_fen, serialize_ratio, AmountOut, Count, Price, RatioOut};
use crate::wire_codes::{
    serialize_admdvs, serialize_code, serialize_flag, ClrType, StmtResult, WireCode,
};
use crate::wire_time;

fn reveal_cert<S: Serializer>(c: &CertNo, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(c.reveal())
}

fn reveal_name<S: Serializer>(n: &PersonName, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(n.reveal())
}

/// Any transaction's output, serialized as the bare object of the variant it holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum TxOutput {
    /// 9001.
    SignIn(SignInOutput),
    /// 1101.
    PersonInfo(PersonInfoOutput),
    /// 2201.
    Register(RegistrationOutput),
    /// 2204.
    FeeUpload(FeeUploadOutput),
    /// 2206, 2207, 2208, 2103.
    Settlement(SettlementOutput),
    /// 2101, 2102.
    DrugSettlement(DrugSettlementOutput),
    /// 3201.
    Reconcile(ReconcileOutput),
    /// 2202, 2203, 2205 (which return nothing), and every failure.
    Empty(EmptyOutput),
}

impl Default for TxOutput {
    fn default() -> TxOutput {
        TxOutput::Empty(EmptyOutput {})
    }
}

// ---- 9001 ----

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SignInOutput {
    pub signinoutb: SignInOut,
}

/// 9001 `signinoutb`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SignInOut {
    #[serde(serialize_with = "wire_time::ser::datetime")]
    pub sign_time: NaiveDateTime,
    pub sign_no: String,
}

// ---- 1101 ----

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PersonInfoOutput {
    pub baseinfo: BaseInfo,
    pub insuinfo: Vec<InsuInfo>,
    pub idetinfo: Vec<IdetInfo>,
}

/// 1101 `baseinfo`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BaseInfo {
    pub psn_no: String,
    pub psn_cert_type: String,
    #[serde(serialize_with = "reveal_cert")]
    pub certno: CertNo,
    #[serde(serialize_with = "reveal_name")]
    pub psn_name: PersonName,
    #[serde(serialize_with = "serialize_code")]
    pub gend: Gender,
    pub naty: String,
    #[serde(serialize_with = "wire_time::ser::date")]
    pub brdy: NaiveDate,
    /// Whole years.
    pub age: u32,
}

/// 1101 `insuinfo[]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InsuInfo {
    /// The person's own personal-account balance.
    #[serde(serialize_with = "serialize_fen")]
    pub balc: Fen,
    #[serde(serialize_with = "serialize_code")]
    pub insutype: Insutype,
    pub psn_type: String,
    #[serde(serialize_with = "serialize_code")]
    pub psn_insu_stas: InsuStatus,
    #[serde(serialize_with = "wire_time::ser::date")]
    pub psn_insu_date: NaiveDate,
    #[serde(serialize_with = "wire_time::ser::opt_date")]
    pub paus_insu_date: Option<NaiveDate>,
    #[serde(serialize_with = "serialize_flag")]
    pub cvlserv_flag: bool,
    #[serde(serialize_with = "serialize_admdvs")]
    pub insuplc_admdvs: Admdvs,
    pub emp_name: String,
}

/// 1101 `idetinfo[]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IdetInfo {
    pub psn_idet_type: String,
    pub psn_type_lv: String,
    pub memo: String,
    #[serde(serialize_with = "wire_time::ser::datetime")]
    pub begntime: NaiveDateTime,
    #[serde(serialize_with = "wire_time::ser::opt_datetime")]
    pub endtime: Option<NaiveDateTime>,
}

// ---- 2201 ----

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RegistrationOutput {
    pub data: RegistrationOut,
}

/// 2201 `data`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RegistrationOut {
    pub mdtrt_id: String,
    pub psn_no: String,
    pub ipt_otp_no: String,
}

// ---- 2204, and detlcutinfo of 2101/2102 ----

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FeeUploadOutput {
    pub result: Vec<FeeResult>,
}

/// 2204 `result[]`, and the elements of 2101/2102 `detlcutinfo[]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FeeResult {
    pub feedetl_sn: String,
    #[serde(serialize_with = "serialize_fen")]
    pub det_item_fee_sumamt: Fen,
    pub cnt: Count,
    pub pric: Price,
    /// The catalogue's price cap; 0 when there is none (an empty number is 0).
    #[serde(serialize_with = "serialize_fen")]
    pub pric_uplmt_amt: Fen,
    #[serde(serialize_with = "serialize_ratio")]
    pub selfpay_prop: BasisPoints,
    #[serde(serialize_with = "serialize_fen")]
    pub fulamt_ownpay_amt: Fen,
    #[serde(serialize_with = "serialize_fen")]
    pub overlmt_amt: Fen,
    #[serde(serialize_with = "serialize_fen")]
    pub preselfpay_amt: Fen,
    #[serde(serialize_with = "serialize_fen")]
    pub inscp_scp_amt: Fen,
    #[serde(serialize_with = "serialize_code")]
    pub chrgitm_lv: ChargeLevel,
    pub med_chrgitm_type: String,
    #[serde(serialize_with = "serialize_flag")]
    pub lmt_used_flag: bool,
    pub memo: String,
}

/// 2101/2102 `detlcutinfo[]` has the 2204 `result[]` fields.
pub type DetlCutInfo = FeeResult;

// ---- settlements ----

/// 2206, 2207, 2208 and 2103: `setlinfo` and `setldetail[]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SettlementOutput {
    pub setlinfo: SetlInfo,
    pub setldetail: Vec<SetlDetail>,
}

/// 2101 and 2102: `setlinfo`, `setldetail[]` and `detlcutinfo[]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DrugSettlementOutput {
    pub setlinfo: SetlInfo,
    pub setldetail: Vec<SetlDetail>,
    pub detlcutinfo: Vec<DetlCutInfo>,
}

/// Which key carries the cash amount in `setlinfo`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum CashPayKey {
    /// `psn_cash_pay`: 2101, 2102, 2206, 2207.
    #[default]
    PsnCashPay,
    /// `pdn_cash_pay`: the spec's own spelling in 2208's output.
    PdnCashPay,
}

impl CashPayKey {
    pub const fn key(self) -> &'static str {
        match self {
            CashPayKey::PsnCashPay => "psn_cash_pay",
            CashPayKey::PdnCashPay => "pdn_cash_pay",
        }
    }
}

/// `setlinfo`: every field of the spec, in the spec's order. Serialized by hand so that the
/// cash amount's key can follow [`SetlInfo::cash_pay_key`]; `setl_id` is left out when `None`
/// (pre-settlements have none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetlInfo {
    // identity
    pub mdtrt_id: String,
    pub setl_id: Option<String>,
    pub psn_no: String,
    pub psn_name: PersonName,
    pub psn_cert_type: String,
    pub certno: CertNo,
    pub gend: Gender,
    pub naty: String,
    pub brdy: NaiveDate,
    pub age: u32,
    pub insutype: Insutype,
    pub psn_type: String,
    pub cvlserv_flag: bool,
    pub setl_time: NaiveDateTime,
    pub mdtrt_cert_type: CertType,
    pub med_type: MedType,
    // totals
    pub medfee_sumamt: Fen,
    pub fulamt_ownpay_amt: Fen,
    pub overlmt_selfpay: Fen,
    pub preselfpay_amt: Fen,
    pub inscp_scp_amt: Fen,
    pub act_pay_dedc: Fen,
    // funds
    pub hifp_pay: Fen,
    /// The pooled fund's payment ratio (a fraction such as `0.6`, not an amount).
    pub pool_prop_selfpay: BasisPoints,
    pub cvlserv_pay: Fen,
    pub hifes_pay: Fen,
    pub hifmi_pay: Fen,
    pub hifob_pay: Fen,
    pub maf_pay: Fen,
    pub oth_pay: Fen,
    pub fund_pay_sumamt: Fen,
    // person
    pub psn_part_amt: Fen,
    /// Includes `acct_mulaid_pay`.
    pub acct_pay: Fen,
    /// Sent under [`SetlInfo::cash_pay_key`].
    pub psn_cash_pay: Fen,
    pub hosp_part_amt: Fen,
    /// The patient's own balance after this settlement.
    pub balc: Fen,
    /// The part of `acct_pay` drawn from relatives' holders.
    pub acct_mulaid_pay: Fen,
    // clearing
    /// The request's msgid.
    pub medins_setl_id: String,
    pub clr_optins: Admdvs,
    pub clr_way: String,
    pub clr_type: ClrType,
    /// Not a field: which key the cash amount goes out under.
    pub cash_pay_key: CashPayKey,
}

/// Which identity of [`SetlInfo`] does not hold.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SetlInfoIdentity {
    /// `medfee_sumamt = fund_pay_sumamt + psn_part_amt + hosp_part_amt`.
    MedfeeSum,
    /// `psn_part_amt = acct_pay + psn_cash_pay`.
    PersonPart,
    /// `acct_mulaid_pay` is part of `acct_pay` (same sign, not larger).
    MutualAidWithinAccount,
}

impl SetlInfo {
    /// The identities that must hold to the fen before a `setlinfo` goes out. The server
    /// asserts this; a failure is a bug, never an answer to send.
    pub fn check_identities(&self) -> Result<(), SetlInfoIdentity> {
        let sum = [self.fund_pay_sumamt, self.psn_part_amt, self.hosp_part_amt];
        if Fen::checked_sum(sum) != Some(self.medfee_sumamt) {
            return Err(SetlInfoIdentity::MedfeeSum);
        }
        if self.acct_pay.checked_add(self.psn_cash_pay) != Some(self.psn_part_amt) {
            return Err(SetlInfoIdentity::PersonPart);
        }
        let (aid, acct) = (self.acct_mulaid_pay.fen(), self.acct_pay.fen());
        let within = if acct >= 0 {
            (0..=acct).contains(&aid)
        } else {
            (acct..=0).contains(&aid)
        };
        if !within {
            return Err(SetlInfoIdentity::MutualAidWithinAccount);
        }
        Ok(())
    }
}

struct Code<'a, T>(&'a T);

impl<T: WireCode> Serialize for Code<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_code(self.0, s)
    }
}

impl Serialize for SetlInfo {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let fields = if self.setl_id.is_some() { 41 } else { 40 };
        let mut st = s.serialize_struct("setlinfo", fields)?;
        st.serialize_field("mdtrt_id", &self.mdtrt_id)?;
        if let Some(setl_id) = &self.setl_id {
            st.serialize_field("setl_id", setl_id)?;
        } else {
            st.skip_field("setl_id")?;
        }
        st.serialize_field("psn_no", &self.psn_no)?;
        st.serialize_field("psn_name", self.psn_name.reveal())?;
        st.serialize_field("psn_cert_type", &self.psn_cert_type)?;
        st.serialize_field("certno", self.certno.reveal())?;
        st.serialize_field("gend", &Code(&self.gend))?;
        st.serialize_field("naty", &self.naty)?;
        st.serialize_field("brdy", &wire_time::format_date(self.brdy))?;
        st.serialize_field("age", &self.age)?;
        st.serialize_field("insutype", &Code(&self.insutype))?;
        st.serialize_field("psn_type", &self.psn_type)?;
        st.serialize_field("cvlserv_flag", if self.cvlserv_flag { "1" } else { "0" })?;
        st.serialize_field("setl_time", &wire_time::format_datetime(self.setl_time))?;
        st.serialize_field("mdtrt_cert_type", &Code(&self.mdtrt_cert_type))?;
        st.serialize_field("med_type", &Code(&self.med_type))?;
        let amounts_before_ratio = [
            ("medfee_sumamt", self.medfee_sumamt),
            ("fulamt_ownpay_amt", self.fulamt_ownpay_amt),
            ("overlmt_selfpay", self.overlmt_selfpay),
            ("preselfpay_amt", self.preselfpay_amt),
            ("inscp_scp_amt", self.inscp_scp_amt),
            ("act_pay_dedc", self.act_pay_dedc),
            ("hifp_pay", self.hifp_pay),
        ];
        for (key, fen) in amounts_before_ratio {
            st.serialize_field(key, &AmountOut(fen))?;
        }
        st.serialize_field("pool_prop_selfpay", &RatioOut(self.pool_prop_selfpay))?;
        let amounts = [
            ("cvlserv_pay", self.cvlserv_pay),
            ("hifes_pay", self.hifes_pay),
            ("hifmi_pay", self.hifmi_pay),
            ("hifob_pay", self.hifob_pay),
            ("maf_pay", self.maf_pay),
            ("oth_pay", self.oth_pay),
            ("fund_pay_sumamt", self.fund_pay_sumamt),
            ("psn_part_amt", self.psn_part_amt),
            ("acct_pay", self.acct_pay),
            (self.cash_pay_key.key(), self.psn_cash_pay),
            ("hosp_part_amt", self.hosp_part_amt),
            ("balc", self.balc),
            ("acct_mulaid_pay", self.acct_mulaid_pay),
        ];
        for (key, fen) in amounts {
            st.serialize_field(key, &AmountOut(fen))?;
        }
        st.serialize_field("medins_setl_id", &self.medins_setl_id)?;
        st.serialize_field("clr_optins", &self.clr_optins.to_string())?;
        st.serialize_field("clr_way", &self.clr_way)?;
        st.serialize_field("clr_type", &self.clr_type)?;
        st.end()
    }
}

/// `setldetail[]`: one line per fund that paid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SetlDetail {
    /// 310100, 310102, 310200, 390100, 390102, 610100, ...
    pub fund_pay_type: String,
    #[serde(serialize_with = "serialize_fen")]
    pub inscp_scp_amt: Fen,
    #[serde(serialize_with = "serialize_fen")]
    pub crt_payb_lmt_amt: Fen,
    #[serde(serialize_with = "serialize_fen")]
    pub fund_payamt: Fen,
    pub fund_pay_type_name: String,
    /// Which rule applied, in words.
    pub setl_proc_info: String,
}

// ---- 3201 ----

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReconcileOutput {
    pub stmtinfo: StmtInfo,
}

/// 3201 `stmtinfo`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StmtInfo {
    #[serde(serialize_with = "serialize_admdvs")]
    pub setl_optins: Admdvs,
    pub stmt_rslt: StmtResult,
    /// What differs, in words; empty when balanced.
    pub stmt_rslt_dscr: String,
}
