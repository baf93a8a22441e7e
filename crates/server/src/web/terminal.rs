//! `/terminal`: a charging window or self-service terminal of a designated institution.
//!
//! The clerk chooses the institution, reads the person (1101), adds catalog items,
//! pre-settles (2101, or 2201 + 2203 + 2204 then 2206 at a hospital), settles (2102 / 2207),
//! cancels (2103 / 2208) and prints the receipt. Every step is a message of the institution
//! interface sent by [`terminal_wire`](super::terminal_wire), exactly as a HIS sends it; the
//! receipt's numbers are the answer's numbers.
//!
//! Who may use it: a till operator signed in at `/terminal/signin` (`gongji operator add`),
//! and the till then acts as the operator's institution only (a form naming another is
//! refused); every form carries the session's CSRF token and is refused from another origin.
//! Only the demo (`Deployment::is_demo`) keeps an open till where the institution is chosen
//! on the page, under a 演示 banner, its forms protected by the pre-session CSRF cookie.
//!
//! No JavaScript is needed: each step is a form posted to `/terminal`, and the terminal's
//! state (institution, person, cart, visit, settlement) travels in hidden fields. The form
//! that settles carries the msgid it will use, so a form sent twice (a reload, a double click)
//! sends the same message twice and the interface answers the first settlement again instead
//! of charging twice.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use chrono::NaiveDateTime;
use gongji_core::codes::{
    AccountUse, Admdvs, CertType, Gender, InstitutionKind, InsuStatus, Insutype, MedType,
};
use gongji_core::domain::{CatalogItem, Institution as CoreInstitution};
use gongji_core::pii::mask_certno;
use gongji_core::Fen;
use gongji_engine::AuditNote;
use gongji_nhsa::number::Count;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::csrf;
use super::i18n::{self, fill, Dict, Lang};
use super::session::{self, see_other, see_other_with_session, ErrorView};
use super::terminal_wire::{
    amount, msgid_time, new_msgid, CallError, Exchange, Institution, PersonInfo, Registered,
    Sender, Settlement,
};
use super::{lang_of, render_page, LangQuery, Page};
use crate::app::App;
use crate::service::operators::{self, Operator};
use crate::service::proxy;

/// At most this many lines in one bill.
const CART_LINES_MAX: usize = 50;
const COUNT_MAX: i64 = 9_999;
/// 1,000,000 yuan: no single unit price above this.
const PRICE_MAX_FEN: i64 = 100_000_000;

/// Everything the terminal's forms may post. Unknown fields are ignored; every value is
/// checked before use.
#[derive(Deserialize, Default, Debug)]
pub struct TerminalForm {
    op: Option<String>,
    inst: Option<String>,
    inst_code: Option<String>,
    channel: Option<String>,
    cert_type: Option<String>,
    cert_no: Option<String>,
    holder_cert: Option<String>,
    psn_no: Option<String>,
    psn_name: Option<String>,
    gend: Option<String>,
    age: Option<String>,
    insutype: Option<String>,
    insu_stas: Option<String>,
    insuplc: Option<String>,
    balc: Option<String>,
    emp: Option<String>,
    cart: Option<String>,
    item: Option<String>,
    count: Option<String>,
    price: Option<String>,
    med_type: Option<String>,
    acct: Option<String>,
    mdtrt_id: Option<String>,
    visit_med: Option<String>,
    chrg_bchno: Option<String>,
    uploaded: Option<String>,
    settle_msgid: Option<String>,
    cancel_msgid: Option<String>,
    setl_id: Option<String>,
    setl_mdtrt_id: Option<String>,
    /// A 亲情账户 code the person was read with (E6): the parent pays from his own account.
    proxy: Option<String>,
    csrf: Option<String>,
}

fn text(v: &Option<String>) -> String {
    v.as_deref().map(str::trim).unwrap_or_default().to_string()
}

/// The person read by 1101, carried in hidden fields.
#[derive(Clone, Default)]
struct Person {
    psn_no: String,
    name: String,
    gend: String,
    age: String,
    insutype: String,
    insu_stas: String,
    insuplc: String,
    balc: String,
    emp: String,
}

#[derive(Clone)]
struct CartLine {
    code: String,
    count: i64,
    price: Fen,
}

impl CartLine {
    fn amount(&self) -> Fen {
        self.price.checked_mul(self.count).unwrap_or(Fen::ZERO)
    }
}

/// The terminal between two requests.
#[derive(Clone, Default)]
struct Term {
    inst: Option<CoreInstitution>,
    channel: String,
    cert_type: String,
    cert_no: String,
    holder_cert: String,
    person: Option<Person>,
    cart: Vec<CartLine>,
    med_type: String,
    acct: String,
    mdtrt_id: String,
    visit_med: String,
    chrg_bchno: String,
    uploaded: String,
    setl_id: String,
    setl_mdtrt_id: String,
    proxy: String,
}

/// The credential sent on the wire: a 亲情账户 code stands for the parent's own e-voucher
/// (whose token is the parent's person number), resolved when it was read.
fn wire_credential(term: &Term) -> (String, String) {
    match (&term.person, term.proxy.is_empty()) {
        (Some(p), false) => (CertType::EVoucher.code().to_string(), p.psn_no.clone()),
        _ => (term.cert_type.clone(), term.cert_no.clone()),
    }
}

/// Whether a retail pharmacy sells this catalog item: drugs and home-use consumables, not
/// medical services (examinations such as CT, consultations, procedures: numeric codes) nor
/// interventional and implant consumables (the catalog's classes C01 and C10: stents,
/// lenses). Other codes (an institution's own items) are kept.
fn sold_at_pharmacy(code: &str) -> bool {
    let medical_service = code.starts_with(|c: char| c.is_ascii_digit());
    let implant = code.starts_with("C01") || code.starts_with("C10");
    !(medical_service || implant)
}

/// The catalog items this institution may charge for.
fn sold_here<'a>(term: &Term, catalog: &'a [CatalogItem]) -> impl Iterator<Item = &'a CatalogItem> {
    let pharmacy = is_pharmacy(term);
    catalog
        .iter()
        .filter(move |c| !pharmacy || sold_at_pharmacy(&c.code))
}

fn encode_cart(cart: &[CartLine]) -> String {
    cart.iter()
        .map(|l| format!("{}:{}:{}", l.code, l.count, l.price.fen()))
        .collect::<Vec<_>>()
        .join(",")
}

/// Reads the hidden cart; `None` when it was tampered with or is out of bounds.
fn decode_cart(s: &str, catalog: &[CatalogItem]) -> Option<Vec<CartLine>> {
    if s.is_empty() {
        return Some(Vec::new());
    }
    let lines: Option<Vec<CartLine>> = s
        .split(',')
        .map(|part| {
            let mut it = part.split(':');
            let code = it.next()?.to_string();
            let count: i64 = it.next()?.parse().ok()?;
            let price: i64 = it.next()?.parse().ok()?;
            let ok = it.next().is_none()
                && catalog.iter().any(|c| c.code == code)
                && (1..=COUNT_MAX).contains(&count)
                && (1..=PRICE_MAX_FEN).contains(&price);
            ok.then(|| CartLine {
                code,
                count,
                price: Fen::from_fen(price),
            })
        })
        .collect();
    lines.filter(|l| l.len() <= CART_LINES_MAX)
}

struct Loaded {
    institutions: Vec<CoreInstitution>,
    catalog: Vec<CatalogItem>,
}

async fn load(app: &App) -> Loaded {
    let read = app
        .read(|e| {
            let s = e.state();
            let mut institutions: Vec<CoreInstitution> = s.institutions.values().cloned().collect();
            institutions.sort_by(|a, b| a.admdvs.cmp(&b.admdvs).then(a.code.cmp(&b.code)));
            let mut catalog: Vec<CatalogItem> = s.catalog.values().cloned().collect();
            catalog.sort_by(|a, b| a.code.cmp(&b.code));
            (institutions, catalog)
        })
        .await;
    match read {
        Ok((institutions, catalog)) => Loaded {
            institutions,
            catalog,
        },
        Err(e) => {
            tracing::error!(error = %e, "terminal: engine read failed");
            Loaded {
                institutions: Vec::new(),
                catalog: Vec::new(),
            }
        }
    }
}

fn find_inst(loaded: &Loaded, code: &str) -> Option<CoreInstitution> {
    let code = code.trim().to_ascii_uppercase();
    loaded.institutions.iter().find(|i| i.code == code).cloned()
}

fn is_pharmacy(term: &Term) -> bool {
    term.inst
        .as_ref()
        .is_some_and(|i| i.kind == InstitutionKind::Pharmacy)
}

/// The state the form says, checked. A broken cart gives an error and an empty cart.
fn term_from(form: &TerminalForm, loaded: &Loaded) -> (Term, bool) {
    let inst = find_inst(loaded, &text(&form.inst));
    let person = {
        let psn_no = text(&form.psn_no);
        (!psn_no.is_empty()).then(|| Person {
            psn_no,
            name: text(&form.psn_name),
            gend: text(&form.gend),
            age: text(&form.age),
            insutype: text(&form.insutype),
            insu_stas: text(&form.insu_stas),
            insuplc: text(&form.insuplc),
            balc: text(&form.balc),
            emp: text(&form.emp),
        })
    };
    let cart = decode_cart(&text(&form.cart), &loaded.catalog);
    let broken = cart.is_none();
    let channel = match text(&form.channel).as_str() {
        "2" => "2",
        _ => "1",
    };
    let term = Term {
        inst,
        channel: channel.to_string(),
        cert_type: CertType::parse(&text(&form.cert_type))
            .unwrap_or(CertType::IdCard)
            .code()
            .to_string(),
        cert_no: text(&form.cert_no),
        holder_cert: text(&form.holder_cert),
        person,
        cart: cart.unwrap_or_default(),
        med_type: MedType::parse(&text(&form.med_type))
            .unwrap_or(MedType::GeneralOutpatient)
            .code()
            .to_string(),
        acct: AccountUse::parse(&text(&form.acct))
            .unwrap_or(AccountUse::OwnAccount)
            .code()
            .to_string(),
        mdtrt_id: text(&form.mdtrt_id),
        visit_med: text(&form.visit_med),
        chrg_bchno: text(&form.chrg_bchno),
        uploaded: text(&form.uploaded),
        setl_id: text(&form.setl_id),
        setl_mdtrt_id: text(&form.setl_mdtrt_id),
        proxy: text(&form.proxy),
    };
    (term, broken)
}

// ---- messages ----

#[derive(Serialize)]
struct PersonQueryData<'a> {
    mdtrt_cert_type: &'a str,
    mdtrt_cert_no: &'a str,
    card_sn: &'a str,
    begntime: String,
    psn_cert_type: &'a str,
    certno: &'a str,
    psn_name: &'a str,
}

#[derive(Serialize)]
struct DataInput<T: Serialize> {
    data: T,
}

#[derive(Serialize)]
struct RegistrationData<'a> {
    psn_no: &'a str,
    insutype: &'a str,
    begntime: String,
    mdtrt_cert_type: &'a str,
    mdtrt_cert_no: &'a str,
    ipt_otp_no: String,
    atddr_no: &'a str,
    dr_name: &'a str,
    dept_code: &'a str,
    dept_name: &'a str,
    caty: &'a str,
}

#[derive(Serialize)]
struct VisitInput<'a> {
    mdtrtinfo: MdtrtInfo<'a>,
    diseinfo: Vec<()>,
}

#[derive(Serialize)]
struct MdtrtInfo<'a> {
    mdtrt_id: &'a str,
    psn_no: &'a str,
    med_type: &'a str,
    begntime: String,
}

#[derive(Serialize)]
struct FeeUploadInput {
    feedetail: Vec<FeeDetail>,
}

#[derive(Serialize)]
struct FeeDetail {
    feedetl_sn: String,
    mdtrt_id: String,
    psn_no: String,
    chrg_bchno: String,
    rxno: String,
    rx_circ_flag: &'static str,
    fee_ocur_time: String,
    med_list_codg: String,
    medins_list_codg: String,
    det_item_fee_sumamt: Box<RawValue>,
    cnt: Count,
    pric: Box<RawValue>,
    bilg_dept_codg: &'static str,
    bilg_dept_name: &'static str,
    bilg_dr_codg: &'static str,
    bilg_dr_name: &'static str,
}

#[derive(Serialize)]
struct FeeCancelData<'a> {
    mdtrt_id: &'a str,
    chrg_bchno: &'a str,
    psn_no: &'a str,
}

#[derive(Serialize)]
struct SettleData<'a> {
    psn_no: &'a str,
    mdtrt_cert_type: &'a str,
    mdtrt_cert_no: &'a str,
    med_type: &'a str,
    medfee_sumamt: Box<RawValue>,
    psn_setlway: &'a str,
    mdtrt_id: &'a str,
    chrg_bchno: &'a str,
    acct_used_flag: &'a str,
    insutype: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    invono: Option<String>,
}

#[derive(Serialize)]
struct DrugInput<'a> {
    druginfo: DrugInfo<'a>,
    drugdetail: Vec<DrugDetail>,
}

#[derive(Serialize)]
struct DrugInfo<'a> {
    psn_no: &'a str,
    mdtrt_cert_type: &'a str,
    mdtrt_cert_no: &'a str,
    begntime: String,
    medfee_sumamt: Box<RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    invono: Option<String>,
    insutype: &'a str,
    acct_used_flag: &'a str,
    med_type: &'a str,
}

#[derive(Serialize)]
struct DrugDetail {
    feedetl_sn: String,
    rxno: String,
    rx_circ_flag: &'static str,
    fee_ocur_time: String,
    med_list_codg: String,
    medins_list_codg: String,
    det_item_fee_sumamt: Box<RawValue>,
    cnt: Count,
    pric: Box<RawValue>,
}

#[derive(Serialize)]
struct CancelData<'a> {
    setl_id: &'a str,
    mdtrt_id: &'a str,
    psn_no: &'a str,
}

fn wire_time(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn cart_total(cart: &[CartLine]) -> Fen {
    Fen::checked_sum(cart.iter().map(CartLine::amount)).unwrap_or(Fen::ZERO)
}

fn drug_lines(cart: &[CartLine], at: NaiveDateTime) -> Vec<DrugDetail> {
    cart.iter()
        .enumerate()
        .map(|(i, l)| DrugDetail {
            feedetl_sn: format!("{}", i + 1),
            rxno: String::new(),
            rx_circ_flag: "0",
            fee_ocur_time: wire_time(at),
            med_list_codg: l.code.clone(),
            medins_list_codg: l.code.clone(),
            det_item_fee_sumamt: amount(l.amount()),
            cnt: Count::from_units(l.count),
            pric: amount(l.price),
        })
        .collect()
}

/// What one step did: the exchanges, and an error to show if it stopped.
#[derive(Default)]
struct Outcome {
    log: Vec<Exchange>,
    error: Option<String>,
    notice: Option<String>,
    preview: Option<Settlement>,
    receipt: Option<Settlement>,
    cancelled: Option<Settlement>,
    receipt_infno: String,
    /// The stable code of a refusal, for the small 咨询时请提供 line.
    error_code: Option<String>,
    /// Who showed a 亲情账户 code for whom, when the person was read with one.
    proxy: Option<proxy::ProxyUse>,
    /// The add form's item, count and price, kept when adding them was refused.
    kept: Option<(String, String, String)>,
}

impl Outcome {
    fn fail(&mut self, t: &Dict, e: CallError) {
        self.error = Some(match e {
            CallError::Gateway(m) => format!("{} {m}", t.term_err_gateway),
            CallError::Internal(m) => {
                tracing::error!(error = %m, "terminal");
                t.term_err_internal.to_string()
            }
        });
    }

    /// Keeps the exchange; `Some` when it succeeded.
    fn keep(&mut self, t: &Dict, r: Result<Exchange, CallError>) -> Option<Exchange> {
        match r {
            Ok(ex) => {
                self.log.push(ex.clone());
                if ex.ok {
                    Some(ex)
                } else {
                    // `CODE: 中文说明`: the words for the cashier, the code in a small line.
                    match ex.err_msg.split_once(": ") {
                        Some((code, msg)) if is_error_code(code) => {
                            self.error = Some(msg.to_string());
                            self.error_code = Some(code.to_string());
                        }
                        _ => self.error = Some(format!("{} {}", t.term_err_prefix, ex.err_msg)),
                    }
                    None
                }
            }
            Err(e) => {
                self.fail(t, e);
                None
            }
        }
    }
}

/// A stable error code (`XX-YYY-ZZZ`): capitals, digits and dashes.
fn is_error_code(text: &str) -> bool {
    text.contains('-')
        && text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
}

/// What the till sends as: the institution's code, name and division, never its gateway
/// credentials.
fn sender_institution(i: &CoreInstitution) -> Institution {
    Institution {
        code: i.code.clone(),
        name: i.name.clone(),
        admdvs: i.admdvs,
        kind: i.kind,
    }
}

/// 1101 with the credential typed in.
async fn read_person(
    s: &Sender<'_>,
    term: &mut Term,
    out: &mut Outcome,
    t: &Dict,
    proxy_parent: Option<&str>,
) {
    let (cert_type, cert_no) = match proxy_parent {
        Some(parent) => (CertType::EVoucher.code().to_string(), parent.to_string()),
        None => (term.cert_type.clone(), term.cert_no.clone()),
    };
    let input = DataInput {
        data: PersonQueryData {
            mdtrt_cert_type: &cert_type,
            mdtrt_cert_no: &cert_no,
            card_sn: "",
            begntime: wire_time(s.now),
            psn_cert_type: "01",
            certno: if cert_type == "02" { &cert_no } else { "" },
            psn_name: "",
        },
    };
    let Some(ex) = out.keep(t, s.call("1101", None, &input).await) else {
        return;
    };
    match ex.output::<PersonInfo>() {
        Ok(info) => {
            let insu = info.insuinfo.first();
            term.person = Some(Person {
                psn_no: info.baseinfo.psn_no,
                name: info.baseinfo.psn_name,
                gend: info.baseinfo.gend,
                age: info.baseinfo.age.to_string(),
                insutype: insu.map(|i| i.insutype.clone()).unwrap_or_default(),
                insu_stas: insu.map(|i| i.psn_insu_stas.clone()).unwrap_or_default(),
                insuplc: insu.map(|i| i.insuplc_admdvs.clone()).unwrap_or_default(),
                balc: insu.map(|i| i.balc.0.to_string()).unwrap_or_default(),
                emp: insu.map(|i| i.emp_name.clone()).unwrap_or_default(),
            });
            if term.cert_type == "02" && term.cert_no.is_empty() {
                term.cert_no = info.baseinfo.certno;
            }
            out.notice = Some(t.term_notice_read.to_string());
        }
        Err(e) => out.fail(t, e),
    }
}

/// The credential sent with a settlement: the holder's where one was given (R-S12), else the
/// patient's own.
fn settle_credential(term: &Term) -> (String, String) {
    if term.holder_cert.is_empty() {
        wire_credential(term)
    } else {
        ("02".to_string(), term.holder_cert.clone())
    }
}

/// A hospital visit ready to (pre-)settle: registered (2201), its medical type known (2203)
/// and the current cart uploaded (2205 of an older upload, then 2204).
async fn prepare_visit(
    s: &Sender<'_>,
    term: &mut Term,
    p: &Person,
    out: &mut Outcome,
    t: &Dict,
) -> bool {
    if term.mdtrt_id.is_empty() {
        let (cert_type, cert_no) = wire_credential(term);
        let reg = DataInput {
            data: RegistrationData {
                psn_no: &p.psn_no,
                insutype: &p.insutype,
                begntime: wire_time(s.now),
                mdtrt_cert_type: &cert_type,
                mdtrt_cert_no: &cert_no,
                ipt_otp_no: format!("MZ{}", s.now.format("%Y%m%d%H%M%S")),
                atddr_no: "D001",
                dr_name: "门诊医师",
                dept_code: "A03",
                dept_name: "内科",
                caty: "A03",
            },
        };
        let Some(ex) = out.keep(t, s.call("2201", None, &reg).await) else {
            return false;
        };
        match ex.output::<Registered>() {
            Ok(r) => term.mdtrt_id = r.data.mdtrt_id,
            Err(e) => {
                out.fail(t, e);
                return false;
            }
        }
        term.visit_med.clear();
        term.uploaded.clear();
    }
    if term.visit_med != term.med_type {
        let visit = VisitInput {
            mdtrtinfo: MdtrtInfo {
                mdtrt_id: &term.mdtrt_id,
                psn_no: &p.psn_no,
                med_type: &term.med_type,
                begntime: wire_time(s.now),
            },
            diseinfo: Vec::new(),
        };
        if out.keep(t, s.call("2203", None, &visit).await).is_none() {
            return false;
        }
        term.visit_med = term.med_type.clone();
    }
    let cart = encode_cart(&term.cart);
    if term.uploaded != cart {
        if !term.uploaded.is_empty() {
            let cancel = DataInput {
                data: FeeCancelData {
                    mdtrt_id: &term.mdtrt_id,
                    chrg_bchno: "0000",
                    psn_no: &p.psn_no,
                },
            };
            if out.keep(t, s.call("2205", None, &cancel).await).is_none() {
                return false;
            }
        }
        let batch = format!("B{}", new_msgid("", s.now).get(8..).unwrap_or_default());
        let lines = term
            .cart
            .iter()
            .enumerate()
            .map(|(i, l)| FeeDetail {
                feedetl_sn: format!("{batch}-{}", i + 1),
                mdtrt_id: term.mdtrt_id.clone(),
                psn_no: p.psn_no.clone(),
                chrg_bchno: batch.clone(),
                rxno: String::new(),
                rx_circ_flag: "0",
                fee_ocur_time: wire_time(s.now),
                med_list_codg: l.code.clone(),
                medins_list_codg: l.code.clone(),
                det_item_fee_sumamt: amount(l.amount()),
                cnt: Count::from_units(l.count),
                pric: amount(l.price),
                bilg_dept_codg: "A03",
                bilg_dept_name: "内科",
                bilg_dr_codg: "D001",
                bilg_dr_name: "门诊医师",
            })
            .collect();
        let upload = FeeUploadInput { feedetail: lines };
        if out.keep(t, s.call("2204", None, &upload).await).is_none() {
            return false;
        }
        term.uploaded = cart;
        term.chrg_bchno = batch;
    }
    true
}

/// 2101 / 2206 (dry run) or 2102 / 2207 (with the form's msgid), the latter with `audit`
/// committed together with the settlement.
async fn settle(
    s: &Sender<'_>,
    term: &mut Term,
    out: &mut Outcome,
    t: &Dict,
    settle_msgid: Option<&str>,
    audit: Option<AuditNote>,
) {
    let Some(p) = term.person.clone() else {
        out.error = Some(t.term_err_no_person.to_string());
        return;
    };
    if term.cart.is_empty() {
        out.error = Some(t.term_err_cart_empty.to_string());
        return;
    }
    let dry = settle_msgid.is_none();
    let total = cart_total(&term.cart);
    let (cert_type, cert_no) = settle_credential(term);
    let ex = if is_pharmacy(term) {
        // The times of a settlement come from its msgid, so that the same form sent twice
        // is the same request.
        let at = settle_msgid.and_then(msgid_time).unwrap_or(s.now);
        let input = DrugInput {
            druginfo: DrugInfo {
                psn_no: &p.psn_no,
                mdtrt_cert_type: &cert_type,
                mdtrt_cert_no: &cert_no,
                begntime: wire_time(at),
                medfee_sumamt: amount(total),
                invono: settle_msgid.map(|m| format!("FP{}", m.get(12..).unwrap_or_default())),
                insutype: &p.insutype,
                acct_used_flag: &term.acct,
                med_type: MedType::PharmacyPurchase.code(),
            },
            drugdetail: drug_lines(&term.cart, at),
        };
        let infno = if dry { "2101" } else { "2102" };
        out.receipt_infno = "2103".into();
        out.keep(
            t,
            send_settlement(s, infno, settle_msgid, &input, audit).await,
        )
    } else {
        if !prepare_visit(s, term, &p, out, t).await {
            return;
        }
        let input = DataInput {
            data: SettleData {
                psn_no: &p.psn_no,
                mdtrt_cert_type: &cert_type,
                mdtrt_cert_no: &cert_no,
                med_type: &term.med_type,
                medfee_sumamt: amount(total),
                psn_setlway: "01",
                mdtrt_id: &term.mdtrt_id,
                chrg_bchno: &term.chrg_bchno,
                acct_used_flag: &term.acct,
                insutype: &p.insutype,
                invono: settle_msgid.map(|m| format!("FP{}", m.get(12..).unwrap_or_default())),
            },
        };
        let infno = if dry { "2206" } else { "2207" };
        out.receipt_infno = "2208".into();
        out.keep(
            t,
            send_settlement(s, infno, settle_msgid, &input, audit).await,
        )
    };
    let Some(ex) = ex else {
        return;
    };
    match ex.output::<Settlement>() {
        Ok(st) => {
            if dry {
                out.preview = Some(st);
            } else {
                term.setl_id = st.setlinfo.setl_id.clone().unwrap_or_default();
                term.setl_mdtrt_id = st.setlinfo.mdtrt_id.clone();
                out.notice = Some(t.term_notice_settled.to_string());
                out.receipt = Some(st);
            }
        }
        Err(e) => out.fail(t, e),
    }
}

async fn send_settlement<I: Serialize>(
    s: &Sender<'_>,
    infno: &str,
    settle_msgid: Option<&str>,
    input: &I,
    audit: Option<AuditNote>,
) -> Result<Exchange, CallError> {
    match (settle_msgid, audit) {
        (Some(msgid), Some(audit)) => s.settle_audited(infno, msgid, input, audit).await,
        _ => s.call(infno, settle_msgid, input).await,
    }
}

async fn cancel(s: &Sender<'_>, term: &mut Term, out: &mut Outcome, t: &Dict, msgid: Option<&str>) {
    let Some(p) = term.person.clone() else {
        out.error = Some(t.term_err_no_person.to_string());
        return;
    };
    if term.setl_id.is_empty() {
        out.error = Some(t.term_err_state.to_string());
        return;
    }
    let input = DataInput {
        data: CancelData {
            setl_id: &term.setl_id,
            mdtrt_id: &term.setl_mdtrt_id,
            psn_no: &p.psn_no,
        },
    };
    let infno = if is_pharmacy(term) { "2103" } else { "2208" };
    let Some(ex) = out.keep(t, s.call(infno, msgid, &input).await) else {
        return;
    };
    match ex.output::<Settlement>() {
        Ok(st) => {
            out.cancelled = Some(st);
            out.notice = Some(t.term_notice_cancelled.to_string());
            term.setl_id.clear();
            term.setl_mdtrt_id.clear();
            // A new visit for whatever is charged next.
            term.mdtrt_id.clear();
            term.visit_med.clear();
            term.uploaded.clear();
            term.chrg_bchno.clear();
            // The bill was taken back: the next one starts empty, not with its lines.
            term.cart.clear();
        }
        Err(e) => out.fail(t, e),
    }
}

/// Adds the item the add form names, or says what is wrong with it.
fn add_item(form: &TerminalForm, term: &mut Term, loaded: &Loaded, t: &Dict) -> Option<String> {
    let code = text(&form.item);
    let Some(item) = sold_here(term, &loaded.catalog).find(|c| c.code == code) else {
        return Some(t.term_err_item.to_string());
    };
    let count = match text(&form.count).parse::<i64>() {
        Ok(n) if (1..=COUNT_MAX).contains(&n) => n,
        _ => return Some(t.term_err_count.to_string()),
    };
    let price_text = text(&form.price);
    let price = if price_text.is_empty() {
        item.price_cap
    } else {
        Fen::parse_yuan(&price_text).ok()
    };
    let Some(price) = price.filter(|p| (1..=PRICE_MAX_FEN).contains(&p.fen())) else {
        return Some(t.term_err_price.to_string());
    };
    if term.cart.len() >= CART_LINES_MAX {
        return Some(t.term_err_cart_full.to_string());
    }
    term.cart.push(CartLine {
        code: item.code.clone(),
        count,
        price,
    });
    None
}

// ---- who uses the till ----

/// Who the till acts for in this request.
enum Till {
    /// A signed-in operator: the till is the operator's institution and nothing else.
    Operator { token: String, op: Operator },
    /// The demo's open till (the institution chosen on the page), its forms carrying the
    /// pre-session CSRF cookie's value; `new_cookie` when this answer must set it.
    OpenDemo { csrf: String, new_cookie: bool },
}

impl Till {
    fn csrf(&self) -> String {
        match self {
            Till::Operator { token, .. } => csrf::for_session(token),
            Till::OpenDemo { csrf, .. } => csrf.clone(),
        }
    }

    fn operator(&self) -> Option<&Operator> {
        match self {
            Till::Operator { op, .. } => Some(op),
            Till::OpenDemo { .. } => None,
        }
    }
}

/// The pre-session CSRF value of the request: the one the pages' layer
/// (`session::form_tokens_scope`) read or made, and sets on the page when it is new, so the
/// till never sets a second, different cookie.
fn pre_session_csrf(_headers: &HeaderMap) -> (String, bool) {
    (session::form_tokens().pre_session, false)
}

fn set_pre_session_cookie(resp: &mut Response, value: &str) {
    if let Some(v) = session::pre_session_cookie(value) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// The till of a page view: the operator's, else the demo's open till, else none (sign in).
async fn till_of(app: &App, headers: &HeaderMap) -> Option<Till> {
    if let Some((token, op)) = session::operator(app, headers).await {
        return Some(Till::Operator { token, op });
    }
    app.deployment.is_demo().then(|| {
        let (csrf, new_cookie) = pre_session_csrf(headers);
        Till::OpenDemo { csrf, new_cookie }
    })
}

fn refusal(status: StatusCode, message: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message,
    )
        .into_response()
}

/// Why a form post is refused before anything is sent to the interface.
enum PostRefused {
    /// Another origin, or no valid CSRF token (403).
    CrossSite,
    /// No operator session outside the demo (401).
    SignInFirst,
}

impl PostRefused {
    fn response(self, lang: Lang) -> Response {
        match self {
            PostRefused::CrossSite => session::cross_site(lang),
            PostRefused::SignInFirst => {
                refusal(StatusCode::UNAUTHORIZED, lang.t().term_err_signin_first)
            }
        }
    }
}

/// The till of a form post, or why it is refused.
async fn till_of_post(
    app: &App,
    headers: &HeaderMap,
    form_csrf: Option<&str>,
) -> Result<Till, PostRefused> {
    if !session::same_origin(headers) {
        return Err(PostRefused::CrossSite);
    }
    if let Some((token, op)) = session::operator(app, headers).await {
        if !csrf::check_session(&token, form_csrf) {
            return Err(PostRefused::CrossSite);
        }
        return Ok(Till::Operator { token, op });
    }
    if !app.deployment.is_demo() {
        return Err(PostRefused::SignInFirst);
    }
    if !csrf::check_pre_session(headers, form_csrf) {
        return Err(PostRefused::CrossSite);
    }
    let (csrf, _) = pre_session_csrf(headers);
    Ok(Till::OpenDemo {
        csrf,
        new_cookie: false,
    })
}

fn signin_href(lang: Lang, remember: bool) -> String {
    if remember {
        format!("/terminal/signin?lang={}", lang.code())
    } else {
        "/terminal/signin".to_string()
    }
}

// ---- handlers ----

#[derive(Deserialize, Default)]
pub struct ShowQuery {
    lang: Option<String>,
    inst: Option<String>,
}

pub async fn show(
    State(app): State<App>,
    Query(q): Query<ShowQuery>,
    headers: HeaderMap,
) -> Response {
    let (lang, remember) = lang_of(
        &LangQuery {
            lang: q.lang.clone(),
        },
        &headers,
    );
    let Some(till) = till_of(&app, &headers).await else {
        return see_other(&signin_href(lang, remember));
    };
    let loaded = load(&app).await;
    let chosen = match till.operator() {
        Some(op) => Some(op.fixmedins_code.clone()),
        None => q.inst.clone(),
    };
    let term = Term {
        inst: chosen.as_deref().and_then(|c| find_inst(&loaded, c)),
        ..fresh_term()
    };
    let now = app.clock.now();
    let mut resp = page(
        lang,
        remember,
        &loaded,
        &term,
        Outcome::default(),
        now,
        &till,
    );
    if let Till::OpenDemo {
        csrf,
        new_cookie: true,
    } = &till
    {
        set_pre_session_cookie(&mut resp, csrf);
    }
    resp
}

pub async fn act(
    State(app): State<App>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Form<TerminalForm>,
) -> Response {
    let (lang, remember) = lang_of(&q, &headers);
    let till = match till_of_post(&app, &headers, form.csrf.as_deref()).await {
        Ok(t) => t,
        Err(refused) => return refused.response(lang),
    };
    let t = lang.t();
    let loaded = load(&app).await;
    let (mut term, broken) = term_from(&form, &loaded);
    let mut out = Outcome::default();
    let now = app.clock.now();
    if let Some(op) = till.operator() {
        let own = op.fixmedins_code.as_str();
        let names_other = [text(&form.inst), text(&form.inst_code)]
            .iter()
            .any(|c| !c.is_empty() && !c.eq_ignore_ascii_case(own));
        if names_other {
            let term = Term {
                inst: find_inst(&loaded, own),
                ..fresh_term()
            };
            out.error = Some(t.term_err_other_inst.to_string());
            let mut resp = page(lang, remember, &loaded, &term, out, now, &till);
            *resp.status_mut() = StatusCode::FORBIDDEN;
            return resp;
        }
        term.inst = find_inst(&loaded, own);
    }
    if broken {
        out.error = Some(t.term_err_state.to_string());
    }
    let op = text(&form.op);
    let op = match op.as_str() {
        // An operator's till has one institution: choosing another starts afresh with it.
        "inst" | "change_inst" if till.operator().is_some() => "next".to_string(),
        _ => op,
    };
    match op.as_str() {
        "inst" => {
            let typed = text(&form.inst_code);
            let code = if typed.is_empty() {
                text(&form.inst)
            } else {
                typed
            };
            let channel = term.channel.clone();
            term = Term {
                inst: find_inst(&loaded, &code),
                channel,
                ..fresh_term()
            };
            if term.inst.is_none() {
                out.error = Some(if code.is_empty() {
                    t.term_err_no_inst.to_string()
                } else {
                    t.term_err_unknown_inst.to_string()
                });
            }
        }
        "change_inst" => {
            term = Term {
                channel: term.channel.clone(),
                ..fresh_term()
            };
        }
        "next" => {
            term = Term {
                inst: term.inst.clone(),
                channel: term.channel.clone(),
                ..fresh_term()
            };
        }
        _ => {
            if let Some(inst) = term.inst.clone() {
                let creds = sender_institution(&inst);
                let insuplc = term
                    .person
                    .as_ref()
                    .map(|p| p.insuplc.clone())
                    .unwrap_or_default();
                let channel = term.channel.clone();
                let sender = Sender {
                    app: &app,
                    inst: &creds,
                    opter_type: &channel,
                    insuplc_admdvs: &insuplc,
                    now,
                };
                let actor = match till.operator() {
                    Some(op) => format!("operator:{}@{}", op.username, op.fixmedins_code),
                    None => format!("institution:{}", inst.code),
                };
                run_op(&op, &form, &sender, &mut term, &loaded, &mut out, t, &actor).await;
                if op == "add" && out.error.is_some() {
                    out.kept = Some((text(&form.item), text(&form.count), text(&form.price)));
                }
            } else {
                out.error = Some(t.term_err_no_inst.to_string());
            }
        }
    }
    page(lang, remember, &loaded, &term, out, now, &till)
}

/// The form's settlement msgid when it is one of this institution's, else a new one.
fn settle_msgid(form: &TerminalForm, term: &Term, sender: &Sender<'_>) -> String {
    let msgid = text(&form.settle_msgid);
    let inst_code = term
        .inst
        .as_ref()
        .map(|i| i.code.clone())
        .unwrap_or_default();
    if msgid.len() == 30 && msgid.starts_with(&inst_code) {
        msgid
    } else {
        new_msgid(&inst_code, sender.now)
    }
}

fn fresh_term() -> Term {
    Term {
        channel: "1".into(),
        cert_type: CertType::IdCard.code().into(),
        med_type: MedType::GeneralOutpatient.code().into(),
        acct: AccountUse::OwnAccount.code().into(),
        ..Term::default()
    }
}

/// The parent behind the term's 亲情账户 code, checked again before money moves: a consent
/// revoked since the read stops the payment.
async fn proxy_still_valid(
    sender: &Sender<'_>,
    term: &Term,
    out: &mut Outcome,
    t: &Dict,
) -> Option<Option<proxy::ProxyUse>> {
    if term.proxy.is_empty() {
        return Some(None);
    }
    let resolved = proxy::resolve(sender.app, &term.proxy).await;
    match resolved {
        Ok(Some(u))
            if term
                .person
                .as_ref()
                .is_some_and(|p| p.psn_no == u.parent_psn_no) =>
        {
            Some(Some(u))
        }
        Ok(_) => {
            out.error = Some(t.term_err_proxy.to_string());
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "terminal: proxy consent read failed");
            out.error = Some(t.term_err_internal.to_string());
            None
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_op(
    op: &str,
    form: &TerminalForm,
    sender: &Sender<'_>,
    term: &mut Term,
    loaded: &Loaded,
    out: &mut Outcome,
    t: &Dict,
    actor: &str,
) {
    match op {
        "read" => {
            if term.cert_no.is_empty() {
                out.error = Some(t.term_err_no_cert.to_string());
                return;
            }
            let keep = Term {
                inst: term.inst.clone(),
                channel: term.channel.clone(),
                cert_type: term.cert_type.clone(),
                cert_no: term.cert_no.clone(),
                ..fresh_term()
            };
            *term = keep;
            let mut parent = None;
            if term.cert_type == CertType::EVoucher.code() && proxy::is_proxy_code(&term.cert_no) {
                match proxy::resolve(sender.app, &term.cert_no).await {
                    Ok(Some(u)) => {
                        term.proxy = u.token.clone();
                        parent = Some(u.parent_psn_no.clone());
                        out.proxy = Some(u);
                    }
                    Ok(None) => {
                        out.error = Some(t.term_err_proxy.to_string());
                        return;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "terminal: proxy consent read failed");
                        out.error = Some(t.term_err_internal.to_string());
                        return;
                    }
                }
            }
            // The person's division is known only after 1101 answers.
            read_person(sender, term, out, t, parent.as_deref()).await;
            if term.person.is_none() {
                term.proxy.clear();
                out.proxy = None;
            }
        }
        "add" => {
            if term.person.is_none() {
                out.error = Some(t.term_err_no_person.to_string());
            } else if let Some(e) = add_item(form, term, loaded, t) {
                out.error = Some(e);
            }
        }
        "presettle" | "settle" if !term.proxy.is_empty() => {
            let Some(used) = proxy_still_valid(sender, term, out, t).await else {
                return;
            };
            // The parent's own account pays; the child's code draws on nobody else's.
            term.acct = AccountUse::OwnAccount.code().to_string();
            term.holder_cert.clear();
            out.proxy = used.clone();
            let msgid = (op == "settle").then(|| settle_msgid(form, term, sender));
            let audit = used.map(|u| proxy::use_audit(sender.app, &u, actor));
            settle(sender, term, out, t, msgid.as_deref(), audit).await;
        }
        "presettle" => settle(sender, term, out, t, None, None).await,
        "settle" => {
            let msgid = settle_msgid(form, term, sender);
            settle(sender, term, out, t, Some(&msgid), None).await;
        }
        "cancel" => {
            let msgid = text(&form.cancel_msgid);
            let inst_code = term
                .inst
                .as_ref()
                .map(|i| i.code.clone())
                .unwrap_or_default();
            let valid = msgid.len() == 30 && msgid.starts_with(&inst_code);
            cancel(sender, term, out, t, valid.then_some(msgid.as_str())).await;
        }
        other => {
            if let Some(n) = other
                .strip_prefix("remove:")
                .and_then(|n| n.parse::<usize>().ok())
            {
                if n < term.cart.len() {
                    term.cart.remove(n);
                }
            }
        }
    }
}

// ---- sign-in and sign-out ----

#[derive(Deserialize, Default)]
pub struct SigninForm {
    inst: Option<String>,
    username: Option<String>,
    password: Option<String>,
    csrf: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct CsrfForm {
    csrf: Option<String>,
}

#[derive(Template)]
#[template(path = "terminal_signin.html")]
struct SigninTemplate {
    p: Page,
    inst: String,
    username: String,
    csrf: String,
    demo_open: bool,
    error: Option<ErrorView>,
}

fn signin_page(
    app: &App,
    lang: Lang,
    remember: bool,
    status: StatusCode,
    form: SigninTemplateFields,
) -> Response {
    let t = lang.t();
    let page_data = Page::new(
        lang,
        remember,
        t.term_signin_title,
        "terminal",
        "/terminal/signin",
    );
    let template = SigninTemplate {
        p: page_data.clone(),
        inst: form.inst,
        username: form.username,
        csrf: form.csrf,
        demo_open: app.deployment.is_demo(),
        error: form.error,
    };
    render_page(&page_data, status, &template)
}

struct SigninTemplateFields {
    inst: String,
    username: String,
    csrf: String,
    error: Option<ErrorView>,
}

/// `GET /terminal/signin`: the operator's sign-in form (the till itself once signed in).
pub async fn signin_show(
    State(app): State<App>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let (lang, remember) = lang_of(&q, &headers);
    if session::operator(&app, &headers).await.is_some() {
        return see_other("/terminal");
    }
    let (csrf, new_cookie) = pre_session_csrf(&headers);
    let mut resp = signin_page(
        &app,
        lang,
        remember,
        StatusCode::OK,
        SigninTemplateFields {
            inst: String::new(),
            username: String::new(),
            csrf: csrf.clone(),
            error: None,
        },
    );
    if new_cookie {
        set_pre_session_cookie(&mut resp, &csrf);
    }
    resp
}

/// `POST /terminal/signin`.
pub async fn signin(
    State(app): State<App>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Form<SigninForm>,
) -> Response {
    let (lang, remember) = lang_of(&q, &headers);
    if !session::same_origin(&headers) || !csrf::check_pre_session(&headers, form.csrf.as_deref()) {
        return session::cross_site(lang);
    }
    let inst = text(&form.inst).to_ascii_uppercase();
    let username = text(&form.username);
    let password = form.password.clone().unwrap_or_default();
    match operators::sign_in(&app, &inst, &username, &password).await {
        Ok(s) => {
            let home = if remember {
                format!("/terminal?lang={}", lang.code())
            } else {
                "/terminal".to_string()
            };
            see_other_with_session(&home, Some(&s.token))
        }
        Err(e) => signin_page(
            &app,
            lang,
            remember,
            session::status_of(&e),
            SigninTemplateFields {
                inst,
                username,
                csrf: text(&form.csrf),
                error: Some(ErrorView::of(lang, &e)),
            },
        ),
    }
}

/// `POST /terminal/signout`.
pub async fn signout(
    State(app): State<App>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let (lang, _) = lang_of(&q, &headers);
    if !session::same_origin(&headers) {
        return session::cross_site(lang);
    }
    if let Some((token, _)) = session::operator(&app, &headers).await {
        if !csrf::check_session(&token, form.csrf.as_deref()) {
            return session::cross_site(lang);
        }
        if let Err(e) = crate::service::auth::sign_out(&app, &token).await {
            tracing::warn!(error = %e, "sign-out not recorded");
        }
    }
    see_other_with_session("/terminal/signin", None)
}

// ---- the page ----

pub struct InstOption {
    pub code: String,
    pub label: String,
    pub selected: bool,
}

pub struct InstGroup {
    pub label: String,
    pub options: Vec<InstOption>,
}

pub struct InstView {
    pub code: String,
    pub name: String,
    pub kind: &'static str,
    pub region: String,
    pub mutual_aid: bool,
    pub pharmacy: bool,
}

pub struct PersonView {
    pub name: String,
    pub gender_age: String,
    pub insutype: String,
    pub insu_place: String,
    pub insu_status: String,
    pub status_ok: bool,
    pub balance: String,
    pub employer: String,
}

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub struct CartView {
    pub index: usize,
    pub name: String,
    pub class: String,
    pub price: String,
    pub count: i64,
    pub amount: String,
}

pub struct MutualView {
    pub holder: String,
    pub amount: String,
}

pub struct DetailView {
    pub name: String,
    pub amount: String,
    pub info: String,
}

/// A settlement's split as the answer says it.
pub struct SplitView {
    pub setl_id: String,
    pub msgid: String,
    pub time: String,
    pub patient: String,
    pub certno: String,
    pub med_type: String,
    pub medfee: String,
    pub fund: String,
    pub acct: String,
    pub own: String,
    pub mutual_total: String,
    pub mutual: Vec<MutualView>,
    pub cash: String,
    pub hosp_part: String,
    pub has_hosp_part: bool,
    pub balc: String,
    pub fulamt: String,
    pub overlmt: String,
    pub preselfpay: String,
    pub inscp: String,
    pub details: Vec<DetailView>,
    /// Why mutual aid left part of the bill to cash, in plain words; empty when it did not.
    pub stop: String,
}

/// The reason the engine wrote among the notes (`共济未支付原因：…`), if any.
fn stop_of(st: &Settlement) -> String {
    st.setldetail
        .iter()
        .flat_map(|d| d.setl_proc_info.split('；'))
        .find_map(|seg| seg.strip_prefix(gongji_core::allocation::MUTUAL_AID_STOP_PREFIX))
        .unwrap_or_default()
        .to_string()
}

/// The holder's masked name inside `家庭共济：户主张*国账户支付…` (see `render.rs`).
fn holder_of(info: &str) -> Option<String> {
    let rest = info.split_once("户主")?.1;
    let name = rest.split_once("账户")?.0;
    (!name.is_empty()).then(|| name.to_string())
}

/// `cancel`: the answer of 2208 / 2103, whose detail lines say where money went back (they
/// name no holder), so mutual aid is shown as its total there.
fn split_view(lang: Lang, st: &Settlement, cancel: bool) -> SplitView {
    let t = lang.t();
    let s = &st.setlinfo;
    let own = s
        .acct_pay
        .0
        .checked_sub(s.acct_mulaid_pay.0)
        .unwrap_or(Fen::ZERO);
    let mutual = st
        .setldetail
        .iter()
        .filter(|d| {
            !cancel && d.fund_pay_type_name.contains("共济") && d.fund_payamt.0 != Fen::ZERO
        })
        .map(|d| MutualView {
            holder: fill(
                t.term_mutual_from,
                &[&holder_of(&d.setl_proc_info).unwrap_or_else(|| "—".into())],
            ),
            amount: d.fund_payamt.0.to_string(),
        })
        .collect();
    SplitView {
        setl_id: s.setl_id.clone().unwrap_or_default(),
        msgid: s.medins_setl_id.clone(),
        time: s.setl_time.clone(),
        patient: s.psn_name.clone(),
        certno: mask_certno(&s.certno),
        med_type: MedType::parse(&s.med_type)
            .map(|m| i18n::med_type(lang, m).to_string())
            .unwrap_or_else(|| s.med_type.clone()),
        medfee: s.medfee_sumamt.0.to_string(),
        fund: s.fund_pay_sumamt.0.to_string(),
        acct: s.acct_pay.0.to_string(),
        own: own.to_string(),
        mutual_total: s.acct_mulaid_pay.0.to_string(),
        mutual,
        cash: s.psn_cash_pay.0.to_string(),
        hosp_part: s.hosp_part_amt.0.to_string(),
        has_hosp_part: s.hosp_part_amt.0 != Fen::ZERO,
        balc: s.balc.0.to_string(),
        fulamt: s.fulamt_ownpay_amt.0.to_string(),
        overlmt: s.overlmt_selfpay.0.to_string(),
        preselfpay: s.preselfpay_amt.0.to_string(),
        inscp: s.inscp_scp_amt.0.to_string(),
        stop: if cancel { String::new() } else { stop_of(st) },
        details: st
            .setldetail
            .iter()
            .map(|d| DetailView {
                name: format!("{} {}", d.fund_pay_type, d.fund_pay_type_name),
                amount: d.fund_payamt.0.to_string(),
                info: d.setl_proc_info.clone(),
            })
            .collect(),
    }
}

pub struct LogView {
    pub infno: String,
    pub name: String,
    pub msgid: String,
    pub ok: bool,
    pub err_msg: String,
    pub request: String,
    pub response: String,
}

fn infno_name(lang: Lang, infno: &str) -> String {
    match gongji_nhsa::Infno::parse(infno) {
        Some(i) if !lang.is_en() => i.name_zh().to_string(),
        Some(i) => match i {
            gongji_nhsa::Infno::PersonInfo => "person info",
            gongji_nhsa::Infno::Register => "outpatient registration",
            gongji_nhsa::Infno::VisitInfo => "visit info",
            gongji_nhsa::Infno::FeeUpload => "fee details upload",
            gongji_nhsa::Infno::CancelFees => "fee details cancel",
            gongji_nhsa::Infno::PreSettle => "outpatient pre-settlement",
            gongji_nhsa::Infno::Settle => "outpatient settlement",
            gongji_nhsa::Infno::CancelSettle => "outpatient settlement cancel",
            gongji_nhsa::Infno::DrugPreSettle => "pharmacy pre-settlement",
            gongji_nhsa::Infno::DrugSettle => "pharmacy settlement",
            gongji_nhsa::Infno::DrugCancel => "pharmacy settlement cancel",
            gongji_nhsa::Infno::SignIn => "sign-in",
            gongji_nhsa::Infno::CancelRegister => "registration cancel",
            gongji_nhsa::Infno::Reconcile => "reconciliation",
        }
        .to_string(),
        None => infno.to_string(),
    }
}

#[derive(Template)]
#[template(path = "terminal.html")]
struct TerminalTemplate {
    p: Page,
    groups: Vec<InstGroup>,
    inst: Option<InstView>,
    channels: Vec<Choice>,
    cert_types: Vec<Choice>,
    cert_no: String,
    holder_cert: String,
    person: Option<PersonView>,
    catalog: Vec<Choice>,
    add_count: String,
    add_price: String,
    /// 亲情账户: who showed whose e-voucher, said once above the person.
    proxy_note: Option<String>,
    error_code: Option<String>,
    cart: Vec<CartView>,
    total: String,
    med_types: Vec<Choice>,
    accts: Vec<Choice>,
    settled: bool,
    preview: Option<SplitView>,
    receipt: Option<SplitView>,
    cancelled: Option<SplitView>,
    inst_name: String,
    notice: Option<String>,
    error: Option<String>,
    log: Vec<LogView>,
    /// Hidden fields of each form: the state minus what the form shows.
    h_read: Vec<(String, String)>,
    h_add: Vec<(String, String)>,
    h_cart: Vec<(String, String)>,
    h_settle: Vec<(String, String)>,
    h_receipt: Vec<(String, String)>,
    h_confirm: Vec<(String, String)>,
    form_action: String,
    /// Every form's CSRF token.
    csrf: String,
    /// The demo's open till: the 演示 banner, and the institution may be chosen.
    demo_open: bool,
    /// The signed-in operator, shown with the sign-out form.
    operator_who: Option<String>,
}

/// The state as hidden fields, less the names in `except`.
fn hidden(term: &Term, except: &[&str], extra: &[(&str, String)]) -> Vec<(String, String)> {
    let mut v: Vec<(&str, String)> = vec![
        (
            "inst",
            term.inst
                .as_ref()
                .map(|i| i.code.clone())
                .unwrap_or_default(),
        ),
        ("channel", term.channel.clone()),
        ("cert_type", term.cert_type.clone()),
        ("cert_no", term.cert_no.clone()),
        ("holder_cert", term.holder_cert.clone()),
        ("cart", encode_cart(&term.cart)),
        ("med_type", term.med_type.clone()),
        ("acct", term.acct.clone()),
        ("mdtrt_id", term.mdtrt_id.clone()),
        ("visit_med", term.visit_med.clone()),
        ("chrg_bchno", term.chrg_bchno.clone()),
        ("uploaded", term.uploaded.clone()),
        ("setl_id", term.setl_id.clone()),
        ("setl_mdtrt_id", term.setl_mdtrt_id.clone()),
        ("proxy", term.proxy.clone()),
    ];
    if let Some(p) = &term.person {
        v.extend([
            ("psn_no", p.psn_no.clone()),
            ("psn_name", p.name.clone()),
            ("gend", p.gend.clone()),
            ("age", p.age.clone()),
            ("insutype", p.insutype.clone()),
            ("insu_stas", p.insu_stas.clone()),
            ("insuplc", p.insuplc.clone()),
            ("balc", p.balc.clone()),
            ("emp", p.emp.clone()),
        ]);
    }
    v.extend(extra.iter().cloned());
    v.into_iter()
        .filter(|(k, val)| !except.contains(k) && !val.is_empty())
        .map(|(k, val)| (k.to_string(), val))
        .collect()
}

fn page(
    lang: Lang,
    remember: bool,
    loaded: &Loaded,
    term: &Term,
    out: Outcome,
    now: NaiveDateTime,
    till: &Till,
) -> Response {
    let t = lang.t();
    let current = term.inst.as_ref().map(|i| i.code.as_str()).unwrap_or("");
    let operator_who = till.operator().map(|op| {
        let inst_name = loaded
            .institutions
            .iter()
            .find(|i| i.code == op.fixmedins_code)
            .map(|i| i.name.as_str())
            .unwrap_or("");
        fill(
            t.term_signed_in_as,
            &[&op.username, &inst_name, &op.fixmedins_code],
        )
    });
    let mut groups: Vec<InstGroup> = Vec::new();
    for i in &loaded.institutions {
        let region = i18n::region_name(lang, i.admdvs.city_admdvs(), &i.admdvs.to_string());
        let label = format!(
            "{} · {}{}",
            i18n::with_code(lang, &i.name, &i.code),
            i18n::institution_kind(lang, i.kind),
            if i.mutual_aid {
                format!(" · {}", t.term_inst_aid_yes)
            } else {
                String::new()
            }
        );
        let option = InstOption {
            code: i.code.clone(),
            label,
            selected: i.code == current,
        };
        match groups.last_mut() {
            Some(g) if g.label == region => g.options.push(option),
            _ => groups.push(InstGroup {
                label: region,
                options: vec![option],
            }),
        }
    }
    let inst = term.inst.as_ref().map(|i| InstView {
        code: i.code.clone(),
        name: i.name.clone(),
        kind: i18n::institution_kind(lang, i.kind),
        region: i18n::region_name(lang, i.admdvs.city_admdvs(), &i.admdvs.to_string()),
        mutual_aid: i.mutual_aid,
        pharmacy: i.kind == InstitutionKind::Pharmacy,
    });
    let choice = |value: &str, label: String, selected: &str| Choice {
        value: value.to_string(),
        label,
        selected: value == selected,
    };
    let channels = vec![
        choice("1", t.term_channel_window.to_string(), &term.channel),
        choice("2", t.term_channel_self.to_string(), &term.channel),
    ];
    let cert_types = [
        CertType::IdCard,
        CertType::SocialSecurityCard,
        CertType::EVoucher,
    ]
    .iter()
    .map(|c| {
        choice(
            c.code(),
            i18n::cert_type(lang, *c).to_string(),
            &term.cert_type,
        )
    })
    .collect();
    let person = term.person.as_ref().map(|p| {
        let gender = Gender::parse(&p.gend)
            .map(|g| i18n::gender(lang, g))
            .unwrap_or("");
        let status = InsuStatus::parse(&p.insu_stas);
        PersonView {
            name: p.name.clone(),
            gender_age: format!("{gender} / {}", fill(t.term_age, &[&p.age])),
            insutype: Insutype::parse(&p.insutype)
                .map(|x| i18n::insutype(lang, x).to_string())
                .unwrap_or_else(|| p.insutype.clone()),
            insu_place: Admdvs::parse(&p.insuplc)
                .map(|a| i18n::region_name(lang, a.city_admdvs(), &a.to_string()))
                .unwrap_or_else(|| p.insuplc.clone()),
            insu_status: status
                .map(|s| i18n::insu_status(lang, s).to_string())
                .unwrap_or_else(|| p.insu_stas.clone()),
            status_ok: status == Some(InsuStatus::Normal),
            balance: p.balc.clone(),
            employer: p.emp.clone(),
        }
    });
    let (kept_item, add_count, add_price) = out
        .kept
        .clone()
        .unwrap_or_else(|| (String::new(), "1".to_string(), String::new()));
    let catalog = sold_here(term, &loaded.catalog)
        .map(|c| {
            let cap = c.price_cap.map(|p| format!(" · ≤{p}")).unwrap_or_default();
            Choice {
                value: c.code.clone(),
                label: format!("{} · {}{cap}", c.name, i18n::charge_level(lang, c.level)),
                selected: c.code == kept_item,
            }
        })
        .collect();
    let proxy_note = (!term.proxy.is_empty()).then(|| match &out.proxy {
        Some(u) => fill(
            t.term_proxy_note,
            &[&u.child_name_masked, &u.parent_name_masked],
        ),
        None => t.term_proxy_note_short.to_string(),
    });
    let cart = term
        .cart
        .iter()
        .enumerate()
        .map(|(index, l)| {
            let item = loaded.catalog.iter().find(|c| c.code == l.code);
            CartView {
                index,
                name: item
                    .map(|c| c.name.clone())
                    .unwrap_or_else(|| l.code.clone()),
                class: item
                    .map(|c| i18n::charge_level(lang, c.level).to_string())
                    .unwrap_or_default(),
                price: l.price.to_string(),
                count: l.count,
                amount: l.amount().to_string(),
            }
        })
        .collect();
    let med_types = [
        MedType::GeneralOutpatient,
        MedType::Emergency,
        MedType::ChronicSpecialOutpatient,
    ]
    .iter()
    .map(|m| {
        choice(
            m.code(),
            i18n::med_type(lang, *m).to_string(),
            &term.med_type,
        )
    })
    .collect();
    let accts = [
        AccountUse::OwnAccount,
        AccountUse::OwnThenMutualAid,
        AccountUse::CashOnly,
    ]
    .iter()
    .map(|a| {
        choice(
            a.code(),
            i18n::account_use(lang, *a).to_string(),
            &term.acct,
        )
    })
    .collect();
    let settled = !term.setl_id.is_empty();
    let inst_code = current.to_string();
    // Fresh msgids for the forms that move money: sent again as they are if the form is.
    let settle_msgid = if term.person.is_some() && !term.cart.is_empty() && !settled {
        new_msgid(&inst_code, now)
    } else {
        String::new()
    };
    let cancel_msgid = if settled {
        new_msgid(&inst_code, now)
    } else {
        String::new()
    };
    let log = out
        .log
        .iter()
        .map(|e| LogView {
            infno: e.infno.clone(),
            name: infno_name(lang, &e.infno),
            msgid: e.msgid.clone(),
            ok: e.ok,
            err_msg: e.err_msg.clone(),
            request: e.request.clone(),
            response: e.response.clone(),
        })
        .collect();
    let page_data = Page::new(lang, remember, t.term_title, "terminal", "/terminal");
    let form_action = if remember {
        format!("/terminal?lang={}", lang.code())
    } else {
        "/terminal".to_string()
    };
    let template = TerminalTemplate {
        p: page_data.clone(),
        groups,
        inst,
        channels,
        cert_types,
        cert_no: term.cert_no.clone(),
        holder_cert: term.holder_cert.clone(),
        person,
        catalog,
        add_count,
        add_price,
        proxy_note,
        error_code: out.error_code,
        cart,
        total: cart_total(&term.cart).to_string(),
        med_types,
        accts,
        settled,
        preview: out.preview.as_ref().map(|s| split_view(lang, s, false)),
        receipt: out.receipt.as_ref().map(|s| split_view(lang, s, false)),
        cancelled: out.cancelled.as_ref().map(|s| split_view(lang, s, true)),
        inst_name: term
            .inst
            .as_ref()
            .map(|i| i.name.clone())
            .unwrap_or_default(),
        notice: out.notice,
        error: out.error,
        log,
        h_read: hidden(term, &["cert_type", "cert_no"], &[]),
        h_add: hidden(term, &[], &[]),
        h_cart: hidden(term, &[], &[]),
        h_settle: hidden(
            term,
            &["med_type", "acct", "holder_cert"],
            &[("settle_msgid", settle_msgid.clone())],
        ),
        // The pre-settlement's own button settles exactly what was pre-settled, with the
        // same msgid as the form below it: whichever is pressed, it is one settlement.
        h_confirm: hidden(term, &[], &[("settle_msgid", settle_msgid)]),
        h_receipt: hidden(term, &[], &[("cancel_msgid", cancel_msgid)]),
        form_action,
        csrf: till.csrf(),
        demo_open: matches!(till, Till::OpenDemo { .. }),
        operator_who,
    };
    render_page(&page_data, StatusCode::OK, &template)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gongji_core::codes::ChargeLevel;
    use gongji_core::pii::mask_name;

    #[test]
    fn holder_name_is_read_from_the_explanation() {
        assert_eq!(
            holder_of("家庭共济：户主张*国账户支付12.00元（保留0.00元，支付后余额1.00元）")
                .as_deref(),
            Some("张*国")
        );
        assert_eq!(holder_of("本人账户"), None);
    }

    #[test]
    fn a_tampered_cart_is_refused() {
        let catalog = vec![CatalogItem {
            code: "X1".into(),
            name: "药".into(),
            level: ChargeLevel::ClassA,
            price_cap: None,
            selfpay_prop: gongji_core::BasisPoints::ZERO,
        }];
        assert_eq!(decode_cart("X1:2:1000", &catalog).map(|c| c.len()), Some(1));
        assert!(decode_cart("X1:0:1000", &catalog).is_none());
        assert!(decode_cart("X2:1:1000", &catalog).is_none());
        assert!(decode_cart("X1:1:-5", &catalog).is_none());
        assert!(decode_cart("X1:1", &catalog).is_none());
        let line = CartLine {
            code: "X1".into(),
            count: 3,
            price: Fen::from_fen(1234),
        };
        assert_eq!(encode_cart(std::slice::from_ref(&line)), "X1:3:1234");
        assert_eq!(line.amount(), Fen::from_fen(3702));
    }

    #[test]
    fn names_are_masked_where_shown() {
        assert_eq!(mask_name("张建国"), "张*国");
    }
}
