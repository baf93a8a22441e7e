//! The registry files: `gongji import` and `gongji export` (CSV, UTF-8, header row,
//! amounts in yuan). Every row goes through the same commands and rules as a request
//! would; a refused row is reported with its file, line and code, and the others load.
//!
//! Files are read as people make them: UTF-8 with or without a BOM, or GB18030 (what Excel
//! writes on a Chinese Windows for "CSV (逗号分隔)"), with LF or CRLF line ends.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use gongji_core::codes::{
    Admdvs, Channel, ChargeLevel, Gender, HospitalLevel, InstitutionKind, InsuStatus, Insutype,
    Relationship,
};
use gongji_core::domain::{
    Agency, BindingStatus, CatalogItem, Institution, InstitutionContact, Person,
};
use gongji_core::idcard;
use gongji_core::ledger::LedgerAccount;
use gongji_core::pii::{CertNo, PersonName, Phone};
use gongji_core::{BasisPoints, Fen};
use gongji_store::Store;

use crate::command::{BindCommand, Command, EngineError, Request, RestoredBinding};
use crate::engine::{Engine, BATCH_SIZE_MAX};

pub const PERSONS: (&str, &[&str]) = (
    "persons.csv",
    &[
        "psn_no",
        "certno",
        "psn_name",
        "gend",
        "brdy",
        "insutype",
        "psn_type",
        "admdvs",
        "psn_insu_stas",
        "cvlserv_flag",
        "public_medical",
        "emp_name",
        "phone",
    ],
);
pub const ACCOUNTS: (&str, &[&str]) = ("accounts.csv", &["psn_no", "balance"]);
pub const INSTITUTIONS: (&str, &[&str]) = (
    "institutions.csv",
    &[
        "fixmedins_code",
        "fixmedins_name",
        "fixmedins_type",
        "hosp_lv",
        "admdvs",
        "lat",
        "lon",
        "mutual_aid",
        "paasid",
        "token",
        "address",
        "phone",
        "opening_hours",
    ],
);
/// The medical-insurance agencies (经办机构) people visit in person (R-J6).
pub const AGENCIES: (&str, &[&str]) = (
    "agencies.csv",
    &[
        "agency_code",
        "agency_name",
        "admdvs",
        "lat",
        "lon",
        "address",
        "phone",
        "opening_hours",
    ],
);
/// institutions.csv before its address, phone and opening-hours columns still imports.
const INSTITUTIONS_COLUMNS_MIN: usize = 10;
pub const BINDINGS: (&str, &[&str]) = (
    "bindings.csv",
    &[
        "holder_psn_no",
        "relative_psn_no",
        "relationship",
        "begin_date",
        "end_date",
        "limit_per_payment",
        "limit_per_month",
        "status",
        "channel",
        "limit_per_day",
        "limit_per_year",
    ],
);
/// Files written before the bindings carried their monthly limit, status and channel have
/// only the first six columns; they still import (as active bindings made by import).
const BINDINGS_COLUMNS_MIN: usize = 6;
pub const CATALOG: (&str, &[&str]) = (
    "catalog.csv",
    &[
        "med_list_codg",
        "med_list_name",
        "chrgitm_lv",
        "pric_uplmt_amt",
        "selfpay_prop",
    ],
);

/// A whole file could not be read or is not in the expected shape (exit 2).
#[derive(Debug)]
pub struct FileError {
    pub file: PathBuf,
    pub message: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: GJ-IMPORT-FILE {}",
            self.file.display(),
            self.message
        )
    }
}

/// One refused row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowRefusal {
    pub file: String,
    pub line: u64,
    pub code: String,
    pub message: String,
}

impl fmt::Display for RowRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {} {}",
            self.file, self.line, self.code, self.message
        )
    }
}

#[derive(Clone, Debug, Default)]
pub struct ImportReport {
    /// (file, rows loaded) in the order read.
    pub loaded: Vec<(String, usize)>,
    pub refused: Vec<RowRefusal>,
}

impl ImportReport {
    pub fn exit_code(&self) -> i32 {
        if self.refused.is_empty() {
            0
        } else {
            3
        }
    }
}

struct BadField {
    code: &'static str,
    message: String,
}

fn bad(field: &str, value: &str, why: &str) -> BadField {
    BadField {
        code: "GJ-IMPORT-BAD-FIELD",
        message: format!("{field}={value:?}: {why}"),
    }
}

fn date(field: &str, v: &str) -> Result<NaiveDate, BadField> {
    NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
        .map_err(|_| bad(field, v, "日期应为 yyyy-MM-dd"))
}

fn flag(field: &str, v: &str) -> Result<bool, BadField> {
    match v.trim() {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err(bad(field, v, "应为 0 或 1")),
    }
}

fn money(field: &str, v: &str) -> Result<Fen, BadField> {
    let f = Fen::parse_yuan(v).map_err(|e| bad(field, v, &e.to_string()))?;
    if f.is_negative() || f > Fen::INPUT_MAX {
        return Err(bad(field, v, "金额不能为负或过大"));
    }
    Ok(f)
}

fn code<T>(field: &str, v: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T, BadField> {
    parse(v).ok_or_else(|| bad(field, v, "代码无效"))
}

fn nonempty<'a>(field: &str, v: &'a str) -> Result<&'a str, BadField> {
    let t = v.trim();
    if t.is_empty() {
        Err(bad(field, v, "不能为空"))
    } else {
        Ok(t)
    }
}

fn parse_person(r: &csv::StringRecord) -> Result<Person, BadField> {
    let g = |i: usize| r.get(i).unwrap_or("");
    let certno = nonempty("certno", g(1))?.to_ascii_uppercase();
    let birth_from_id = idcard::validate(&certno).map_err(|e| {
        bad(
            "certno",
            &gongji_core::pii::mask_certno(&certno),
            match e {
                idcard::IdNumberError::Shape => "身份证号应为18位",
                idcard::IdNumberError::BirthDate => "身份证号中的出生日期无效",
                idcard::IdNumberError::CheckDigit => "身份证号校验位错误",
            },
        )
    })?;
    let brdy = date("brdy", g(4))?;
    if brdy != birth_from_id {
        return Err(bad("brdy", g(4), "与身份证号中的出生日期不一致"));
    }
    let phone = g(12).trim();
    if !(phone.is_empty() || (phone.len() == 11 && phone.bytes().all(|b| b.is_ascii_digit()))) {
        return Err(bad(
            "phone",
            &gongji_core::pii::mask_phone(phone),
            "手机号应为11位数字",
        ));
    }
    Ok(Person {
        psn_no: nonempty("psn_no", g(0))?.to_string(),
        certno: CertNo::new(certno),
        name: PersonName::new(nonempty("psn_name", g(2))?),
        gender: code("gend", g(3), Gender::parse)?,
        birth_date: brdy,
        insutype: code("insutype", g(5), Insutype::parse)?,
        psn_type: g(6).trim().to_string(),
        admdvs: code("admdvs", g(7), Admdvs::parse)?,
        insu_status: code("psn_insu_stas", g(8), InsuStatus::parse)?,
        civil_servant: flag("cvlserv_flag", g(9))?,
        public_medical: flag("public_medical", g(10))?,
        employer_name: g(11).trim().to_string(),
        phone: Phone::new(phone),
    })
}

fn parse_institution(r: &csv::StringRecord) -> Result<Institution, BadField> {
    let g = |i: usize| r.get(i).unwrap_or("");
    let coord = |field: &str, v: &str, max: f64| -> Result<f64, BadField> {
        v.trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && x.abs() <= max)
            .ok_or_else(|| bad(field, v, "坐标无效"))
    };
    let code_ = nonempty("fixmedins_code", g(0))?;
    if code_.len() != 12 {
        return Err(bad("fixmedins_code", g(0), "机构编码应为12位"));
    }
    Ok(Institution {
        code: code_.to_string(),
        name: nonempty("fixmedins_name", g(1))?.to_string(),
        kind: code("fixmedins_type", g(2), InstitutionKind::parse)?,
        level: code("hosp_lv", g(3), HospitalLevel::parse)?,
        admdvs: code("admdvs", g(4), Admdvs::parse)?,
        lat: coord("lat", g(5), 90.0)?,
        lon: coord("lon", g(6), 180.0)?,
        mutual_aid: flag("mutual_aid", g(7))?,
        paasid: nonempty("paasid", g(8))?.to_string(),
        token: nonempty("token", g(9))?.to_string(),
        contact: InstitutionContact {
            address: g(10).trim().to_string(),
            phone: g(11).trim().to_string(),
            opening_hours: g(12).trim().to_string(),
        },
    })
}

fn coordinate(field: &str, v: &str, max: f64) -> Result<f64, BadField> {
    v.trim()
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && x.abs() <= max)
        .ok_or_else(|| bad(field, v, "坐标无效"))
}

fn parse_agency(r: &csv::StringRecord) -> Result<Agency, BadField> {
    let g = |i: usize| r.get(i).unwrap_or("");
    Ok(Agency {
        code: nonempty("agency_code", g(0))?.to_string(),
        name: nonempty("agency_name", g(1))?.to_string(),
        admdvs: code("admdvs", g(2), Admdvs::parse)?,
        lat: coordinate("lat", g(3), 90.0)?,
        lon: coordinate("lon", g(4), 180.0)?,
        contact: InstitutionContact {
            address: g(5).trim().to_string(),
            phone: g(6).trim().to_string(),
            opening_hours: g(7).trim().to_string(),
        },
    })
}

fn parse_catalog(r: &csv::StringRecord) -> Result<CatalogItem, BadField> {
    let g = |i: usize| r.get(i).unwrap_or("");
    let cap = g(3).trim();
    Ok(CatalogItem {
        code: nonempty("med_list_codg", g(0))?.to_string(),
        name: nonempty("med_list_name", g(1))?.to_string(),
        level: code("chrgitm_lv", g(2), ChargeLevel::parse)?,
        price_cap: if cap.is_empty() {
            None
        } else {
            Some(money("pric_uplmt_amt", cap)?)
        },
        selfpay_prop: BasisPoints::parse_fraction(if g(4).trim().is_empty() { "0" } else { g(4) })
            .map_err(|e| bad("selfpay_prop", g(4), &e.to_string()))?,
    })
}

/// A registry file's text, decoded to UTF-8 with CRLF line ends made LF.
type TextReader = Box<dyn Read>;

/// What to tell a person whose file is in an encoding we cannot read.
const SAVE_AS_UTF8: &str =
    "请在 Excel 中用“文件 → 另存为”，保存类型选择“CSV UTF-8（逗号分隔）(*.csv)”，再导入 / \
     save the file from Excel as \"CSV UTF-8 (Comma delimited)\" and import it again";

/// Opens a registry file as UTF-8 text. A file that is valid UTF-8 (with or without a BOM) is
/// read as such; any other file is read as GB18030 (GBK is a subset), which is what Excel on
/// a Chinese Windows writes for "CSV (逗号分隔)". A file that is neither (or UTF-16, Excel's
/// "Unicode 文本") is refused with what to do, before any row of any file is imported.
fn open_text(path: &Path) -> Result<TextReader, String> {
    let cannot_read = |e: std::io::Error| format!("无法读取 / cannot read: {e}");
    let mut file = BufReader::new(File::open(path).map_err(cannot_read)?);
    refuse_utf16(file.fill_buf().map_err(cannot_read)?)?;
    if is_utf8(File::open(path).map_err(cannot_read)?).map_err(cannot_read)? {
        return Ok(Box::new(CrlfToLf::new(file)));
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(cannot_read)?;
    let text = gb18030(&bytes)?;
    Ok(Box::new(CrlfToLf::new(std::io::Cursor::new(
        text.into_bytes(),
    ))))
}

/// Decodes a CSV held in memory (an upload) the way `open_text` reads a file: UTF-8 with or
/// without a BOM, else GB18030; CRLF made LF, so a record's line is the line an editor shows.
pub fn decode_text(bytes: &[u8]) -> Result<String, String> {
    refuse_utf16(bytes)?;
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t.to_string(),
        Err(_) => gb18030(bytes)?,
    };
    let mut out = String::with_capacity(text.len());
    CrlfToLf::new(text.as_bytes())
        .read_to_string(&mut out)
        .map_err(|e| format!("无法读取 / cannot read: {e}"))?;
    Ok(out)
}

fn refuse_utf16(head: &[u8]) -> Result<(), String> {
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return Err(format!(
            "文件是 UTF-16 编码（Excel 的“Unicode 文本”），无法导入 / the file is UTF-16. {SAVE_AS_UTF8}"
        ));
    }
    Ok(())
}

fn gb18030(bytes: &[u8]) -> Result<String, String> {
    encoding_rs::GB18030
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|t| t.into_owned())
        .ok_or_else(|| format!(
            "无法识别文件编码（既不是 UTF-8 也不是 GB18030）/ the encoding is neither UTF-8 nor GB18030. {SAVE_AS_UTF8}"
        ))
}

/// Whether a whole file is valid UTF-8, read in chunks so a large file is not held in memory.
fn is_utf8(mut file: File) -> std::io::Result<bool> {
    let mut buf = vec![0u8; 64 * 1024];
    // Bytes of a character cut by the end of the previous chunk.
    let mut carried = 0usize;
    loop {
        let n = file.read(&mut buf[carried..])?;
        if n == 0 {
            return Ok(carried == 0);
        }
        let filled = carried + n;
        match std::str::from_utf8(&buf[..filled]) {
            Ok(_) => carried = 0,
            Err(e) if e.error_len().is_none() => {
                let valid = e.valid_up_to();
                buf.copy_within(valid..filled, 0);
                carried = filled - valid;
            }
            Err(_) => return Ok(false),
        }
    }
}

/// Drops the CR of every CRLF. The CSV reader counts lines by LF but ends a record at the CR,
/// so with CRLF line ends it dates each record one line early; with LF alone, the line it
/// reports is the line an editor shows.
struct CrlfToLf<R> {
    inner: R,
    /// A CR ended the previous chunk; whether it belongs to a CRLF depends on the next byte.
    pending_cr: bool,
}

impl<R: BufRead> CrlfToLf<R> {
    fn new(inner: R) -> Self {
        CrlfToLf {
            inner,
            pending_cr: false,
        }
    }
}

impl<R: BufRead> Read for CrlfToLf<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            let chunk = self.inner.fill_buf()?;
            let mut n = 0;
            if self.pending_cr {
                self.pending_cr = false;
                if chunk.first() != Some(&b'\n') {
                    out[0] = b'\r';
                    n = 1;
                }
            }
            if chunk.is_empty() {
                return Ok(n);
            }
            let mut used = 0;
            while used < chunk.len() && n < out.len() {
                let b = chunk[used];
                used += 1;
                if b == b'\r' {
                    match chunk.get(used) {
                        Some(b'\n') => continue,
                        Some(_) => {}
                        None => {
                            self.pending_cr = true;
                            break;
                        }
                    }
                }
                out[n] = b;
                n += 1;
            }
            self.inner.consume(used);
            if n > 0 {
                return Ok(n);
            }
        }
    }
}

/// Whether a file's header is the one its format expects. bindings.csv may omit the
/// columns added after its first version.
fn header_matches(spec: (&str, &[&str]), got: &[&str]) -> bool {
    let min = match spec.0 {
        name if name == BINDINGS.0 => BINDINGS_COLUMNS_MIN,
        name if name == INSTITUTIONS.0 => INSTITUTIONS_COLUMNS_MIN,
        _ => spec.1.len(),
    };
    got == spec.1 || (got.len() >= min && got.len() <= spec.1.len() && got == &spec.1[..got.len()])
}

fn open_csv(
    dir: &Path,
    spec: (&str, &[&str]),
) -> Result<Option<csv::Reader<TextReader>>, FileError> {
    let path = dir.join(spec.0);
    if !path.exists() {
        return Ok(None);
    }
    let err = |message: String| FileError {
        file: path.clone(),
        message,
    };
    let text = open_text(&path).map_err(err)?;
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(text);
    let headers = reader
        .headers()
        .map_err(|e| err(format!("无法解析表头 / bad header: {e}")))?;
    let got: Vec<&str> = headers
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim())
        .collect();
    if !header_matches(spec, &got) {
        return Err(err(format!(
            "表头应为 / header must be: {}",
            spec.1.join(",")
        )));
    }
    Ok(Some(reader))
}

/// A file's name and its header.
type FileSpec = (&'static str, &'static [&'static str]);
type RowParser<S> = fn(&Engine<S>, &csv::StringRecord) -> Result<Command, BadField>;

/// A row that parsed into a request, remembered by its line.
struct Parsed {
    line: u64,
    request: Request,
}

/// Reads the CSV files in `dir` that exist, in dependency order.
pub fn import_dir<S: Store>(
    engine: &mut Engine<S>,
    dir: &Path,
    progress: &mut dyn FnMut(&str, usize),
) -> Result<ImportReport, FileError> {
    let mut report = ImportReport::default();
    let steps: [(FileSpec, RowParser<S>); 6] = [
        (PERSONS, |_, r| parse_person(r).map(Command::RegisterPerson)),
        (INSTITUTIONS, |_, r| {
            parse_institution(r).map(Command::RegisterInstitution)
        }),
        (AGENCIES, |_, r| {
            parse_agency(r).map(Command::RegisterAgency)
        }),
        (CATALOG, |_, r| {
            parse_catalog(r).map(Command::RegisterCatalogItem)
        }),
        (ACCOUNTS, account_command),
        (BINDINGS, binding_command),
    ];
    // Every file's header is checked before any row is imported, so a file error leaves
    // the registry as it was.
    for (spec, _) in &steps {
        open_csv(dir, *spec)?;
    }
    for (spec, parse) in steps {
        let Some(mut reader) = open_csv(dir, spec)? else {
            continue;
        };
        let mut loaded = 0usize;
        let mut batch: Vec<Parsed> = Vec::new();
        let mut record = csv::StringRecord::new();
        loop {
            let more = reader.read_record(&mut record).map_err(|e| FileError {
                file: dir.join(spec.0),
                message: format!("CSV 格式错误 / malformed CSV: {e}"),
            })?;
            if !more {
                break;
            }
            let line = record.position().map_or(0, |p| p.line());
            // Rows depend on earlier rows of the same file only through the engine state,
            // which the batch updates in order, so batching keeps the file's semantics.
            match parse(engine, &record) {
                Ok(command) => batch.push(Parsed {
                    line,
                    request: Request::new(command),
                }),
                Err(b) => report.refused.push(RowRefusal {
                    file: spec.0.to_string(),
                    line,
                    code: b.code.to_string(),
                    message: b.message,
                }),
            }
            if batch.len() >= BATCH_SIZE_MAX {
                loaded += run_batch(engine, spec.0, &mut batch, &mut report);
                progress(spec.0, loaded);
            }
        }
        loaded += run_batch(engine, spec.0, &mut batch, &mut report);
        progress(spec.0, loaded);
        report.loaded.push((spec.0.to_string(), loaded));
    }
    report
        .refused
        .sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    Ok(report)
}

fn run_batch<S: Store>(
    engine: &mut Engine<S>,
    file: &str,
    batch: &mut Vec<Parsed>,
    report: &mut ImportReport,
) -> usize {
    let lines: Vec<u64> = batch.iter().map(|p| p.line).collect();
    let requests = batch.drain(..).map(|p| p.request).collect();
    let mut loaded = 0;
    for (line, result) in lines.into_iter().zip(engine.execute_batch(requests)) {
        match result {
            Ok(_) => loaded += 1,
            Err(e) => report.refused.push(refusal_row(file, line, &e)),
        }
    }
    loaded
}

fn refusal_row(file: &str, line: u64, e: &EngineError) -> RowRefusal {
    RowRefusal {
        file: file.to_string(),
        line,
        code: e.code().to_string(),
        message: e.message_zh(),
    }
}

fn start_of(d: NaiveDate) -> NaiveDateTime {
    d.and_time(NaiveTime::MIN)
}

fn account_command<S: Store>(
    engine: &Engine<S>,
    r: &csv::StringRecord,
) -> Result<Command, BadField> {
    let psn_no = nonempty("psn_no", r.get(0).unwrap_or(""))?.to_string();
    let target = money("balance", r.get(1).unwrap_or(""))?;
    let person = engine
        .state()
        .persons
        .get(&psn_no)
        .ok_or_else(|| BadField {
            code: "GJ-UNKNOWN-PERSON",
            message: format!("psn_no={psn_no:?}: 人员不存在，请先导入 persons.csv"),
        })?;
    if !person.is_employee() && target.is_positive() {
        return Err(bad(
            "balance",
            r.get(1).unwrap_or(""),
            "只有职工医保参保人有个人账户",
        ));
    }
    // The file states the balance; the ledger moves only the difference, so importing the
    // same file twice changes nothing.
    let current = engine
        .state()
        .balance(&LedgerAccount::Personal(psn_no.clone()).key());
    Ok(Command::Fund {
        psn_no,
        amount: target
            .checked_sub(current)
            .ok_or_else(|| bad("balance", r.get(1).unwrap_or(""), "金额超出范围"))?,
        at: start_of(NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default()),
    })
}

fn binding_command<S: Store>(_: &Engine<S>, r: &csv::StringRecord) -> Result<Command, BadField> {
    let g = |i: usize| r.get(i).unwrap_or("");
    let begin = date("begin_date", g(3))?;
    let end = if g(4).trim().is_empty() {
        None
    } else {
        Some(date("end_date", g(4))?)
    };
    let optional_money = |field: &str, v: &str| -> Result<Option<Fen>, BadField> {
        if v.trim().is_empty() {
            Ok(None)
        } else {
            money(field, v).map(Some)
        }
    };
    let status = match g(7).trim() {
        "" => BindingStatus::Active,
        v => code("status", v, BindingStatus::parse)?,
    };
    let channel = match g(8).trim() {
        "" => Channel::BatchImport,
        v => code("channel", v, Channel::parse)?,
    };
    Ok(Command::Bind(BindCommand {
        holder: nonempty("holder_psn_no", g(0))?.to_string(),
        relative: nonempty("relative_psn_no", g(1))?.to_string(),
        relationship: code("relationship", g(2), Relationship::parse)?,
        begin,
        end,
        limit_per_payment: optional_money("limit_per_payment", g(5))?,
        limit_per_month: optional_money("limit_per_month", g(6))?,
        face_verified: true,
        channel: Channel::BatchImport,
        actor: "import".into(),
        at: start_of(begin),
        restored: Some(RestoredBinding {
            status,
            channel,
            limit_per_day: optional_money("limit_per_day", g(9))?,
            limit_per_year: optional_money("limit_per_year", g(10))?,
        }),
    }))
}

/// Writes the registry back in the import format.
pub fn export_dir<S: Store>(engine: &Engine<S>, dir: &Path) -> Result<(), FileError> {
    std::fs::create_dir_all(dir).map_err(|e| FileError {
        file: dir.to_path_buf(),
        message: e.to_string(),
    })?;
    let state = engine.state();
    let write = |spec: (&str, &[&str]), rows: Vec<Vec<String>>| -> Result<(), FileError> {
        let path = dir.join(spec.0);
        let err = |e: csv::Error| FileError {
            file: path.clone(),
            message: e.to_string(),
        };
        let mut w = csv::Writer::from_path(&path).map_err(err)?;
        w.write_record(spec.1).map_err(err)?;
        for row in rows {
            w.write_record(&row).map_err(err)?;
        }
        w.flush().map_err(|e| FileError {
            file: path.clone(),
            message: e.to_string(),
        })
    };
    let mut persons: Vec<&Person> = state.persons.values().collect();
    persons.sort_by(|a, b| a.psn_no.cmp(&b.psn_no));
    let b01 = |b: bool| if b { "1" } else { "0" }.to_string();
    write(
        PERSONS,
        persons
            .iter()
            .map(|p| {
                vec![
                    p.psn_no.clone(),
                    p.certno.reveal().to_string(),
                    p.name.reveal().to_string(),
                    p.gender.code().into(),
                    p.birth_date.format("%Y-%m-%d").to_string(),
                    p.insutype.code().into(),
                    p.psn_type.clone(),
                    p.admdvs.to_string(),
                    p.insu_status.code().into(),
                    b01(p.civil_servant),
                    b01(p.public_medical),
                    p.employer_name.clone(),
                    p.phone.reveal().to_string(),
                ]
            })
            .collect(),
    )?;
    write(
        ACCOUNTS,
        persons
            .iter()
            .filter_map(|p| {
                let key = LedgerAccount::Personal(p.psn_no.clone()).key();
                state
                    .balances
                    .get(key.as_str())
                    .map(|b| vec![p.psn_no.clone(), b.to_string()])
            })
            .collect(),
    )?;
    let mut insts: Vec<&Institution> = state.institutions.values().collect();
    insts.sort_by(|a, b| a.code.cmp(&b.code));
    write(
        INSTITUTIONS,
        insts
            .iter()
            .map(|i| {
                vec![
                    i.code.clone(),
                    i.name.clone(),
                    i.kind.code().into(),
                    i.level.code().into(),
                    i.admdvs.to_string(),
                    format!("{:.6}", i.lat),
                    format!("{:.6}", i.lon),
                    b01(i.mutual_aid),
                    i.paasid.clone(),
                    i.token.clone(),
                    i.contact.address.clone(),
                    i.contact.phone.clone(),
                    i.contact.opening_hours.clone(),
                ]
            })
            .collect(),
    )?;
    let mut agencies: Vec<&Agency> = state.agencies.values().collect();
    agencies.sort_by(|a, b| a.code.cmp(&b.code));
    write(
        AGENCIES,
        agencies
            .iter()
            .map(|a| {
                vec![
                    a.code.clone(),
                    a.name.clone(),
                    a.admdvs.to_string(),
                    format!("{:.6}", a.lat),
                    format!("{:.6}", a.lon),
                    a.contact.address.clone(),
                    a.contact.phone.clone(),
                    a.contact.opening_hours.clone(),
                ]
            })
            .collect(),
    )?;
    let mut cat: Vec<&CatalogItem> = state.catalog.values().collect();
    cat.sort_by(|a, b| a.code.cmp(&b.code));
    write(
        CATALOG,
        cat.iter()
            .map(|c| {
                vec![
                    c.code.clone(),
                    c.name.clone(),
                    c.level.code().into(),
                    c.price_cap.map(|f| f.to_string()).unwrap_or_default(),
                    c.selfpay_prop.to_string(),
                ]
            })
            .collect(),
    )?;
    // Every binding, ended ones too, with every field the bindings table keeps but its id
    // (ids are the importing registry's), so export → import keeps every state.
    let mut bindings: Vec<_> = state.bindings.values().collect();
    bindings.sort_by_key(|b| b.id);
    let yuan = |f: Option<Fen>| f.map(|f| f.to_string()).unwrap_or_default();
    write(
        BINDINGS,
        bindings
            .iter()
            .map(|b| {
                vec![
                    b.holder.clone(),
                    b.relative.clone(),
                    b.relationship.to_string(),
                    b.begin.format("%Y-%m-%d").to_string(),
                    b.end
                        .map(|d| d.format("%Y-%m-%d").to_string())
                        .unwrap_or_default(),
                    yuan(b.limit_per_payment),
                    yuan(b.limit_per_month),
                    b.status.code().to_string(),
                    b.channel.code().to_string(),
                    yuan(b.limit_per_day),
                    yuan(b.limit_per_year),
                ]
            })
            .collect(),
    )?;
    Ok(())
}
