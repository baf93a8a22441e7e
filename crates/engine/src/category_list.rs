//! Contribution-category lists (R-R5): the agency marks subsidised residents from other
//! departments' lists (民政 特困/低保, 乡村振兴 监测对象, 残联 ...). A list is a CSV, UTF-8 or
//! GB18030 as Excel writes it, with the columns
//!
//! `certno,category,source_dept,list_date` (or `身份证号码,人群类别,来源部门,名单日期`)
//!
//! Each row is matched to a person by ID number and recorded for one benefit year; the
//! category is its code or its Chinese name in the person's region's policy. Every row gets a
//! result with the line an editor shows (header = line 1). When lists disagree, the person
//! pays in the cheapest category any of them gives (`ContributionYear::category_due`).

use chrono::{NaiveDate, NaiveDateTime};
use gongji_core::pii::mask_certno;
use gongji_core::{Fen, Refusal};
use gongji_store::Store;

use crate::command::{Command, EngineError, MarkCategoryCommand, Outcome, Request};
use crate::csv_io::decode_text;
use crate::engine::Engine;

const HEADER: [&str; 4] = ["certno", "category", "source_dept", "list_date"];
const HEADER_ZH: [&str; 4] = ["身份证号码", "人群类别", "来源部门", "名单日期"];

/// Most rows one list may hold.
pub const LIST_ROWS_MAX: usize = 200_000;

/// A row as read, before it is matched to a person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListRow {
    pub line: u64,
    pub certno: String,
    pub category: String,
    pub source_dept: String,
    pub list_date: NaiveDate,
}

/// What became of one row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowResult {
    pub line: u64,
    /// The ID number, masked.
    pub certno: String,
    pub outcome: RowOutcome,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowOutcome {
    Marked {
        psn_no: String,
        category: String,
        /// The category and amount the person now pays for the year.
        due_category: String,
        due_amount: Fen,
    },
    Refused {
        code: &'static str,
        message: String,
    },
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListReport {
    pub rows: Vec<RowResult>,
}

impl ListReport {
    pub fn marked(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| matches!(r.outcome, RowOutcome::Marked { .. }))
            .count()
    }

    pub fn refused(&self) -> usize {
        self.rows.len() - self.marked()
    }
}

/// A row the parser could not read: (line, masked ID number, message).
pub type BadRow = (u64, String, String);

/// Reads a list: the rows that parse, and the rows that do not. A file that cannot be
/// decoded or has the wrong header is refused whole, with what to do.
pub fn parse_list(bytes: &[u8]) -> Result<(Vec<ListRow>, Vec<BadRow>), String> {
    let text = decode_text(bytes)?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| format!("无法解析表头 / bad header: {e}"))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
        .collect();
    if header != HEADER && header != HEADER_ZH {
        return Err(format!(
            "表头应为 / header must be: {} （或 / or {}）",
            HEADER.join(","),
            HEADER_ZH.join(",")
        ));
    }
    let (mut rows, mut bad) = (Vec::new(), Vec::new());
    for record in reader.records() {
        let record = record.map_err(|e| format!("CSV 格式错误 / malformed CSV: {e}"))?;
        let line = record.position().map_or(0, |p| p.line());
        if rows.len() + bad.len() >= LIST_ROWS_MAX {
            return Err(format!(
                "名单超过 {LIST_ROWS_MAX} 行，请拆分后导入 / more than {LIST_ROWS_MAX} rows: split the list"
            ));
        }
        let field = |i: usize| record.get(i).map(str::trim).unwrap_or("");
        let certno = field(0).to_uppercase();
        let masked = mask_certno(&certno);
        if record.len() != HEADER.len() {
            bad.push((
                line,
                masked,
                format!("应有 4 列，实有 {} 列 / 4 columns expected", record.len()),
            ));
            continue;
        }
        let missing = HEADER_ZH
            .iter()
            .enumerate()
            .find(|(i, _)| field(*i).is_empty())
            .map(|(_, name)| *name);
        if let Some(name) = missing {
            bad.push((line, masked, format!("{name}为空 / {name} is empty")));
            continue;
        }
        let Ok(list_date) = NaiveDate::parse_from_str(field(3), "%Y-%m-%d") else {
            bad.push((
                line,
                masked,
                format!(
                    "名单日期“{}”应写成 2024-01-15 / the list date is YYYY-MM-DD",
                    field(3)
                ),
            ));
            continue;
        };
        rows.push(ListRow {
            line,
            certno,
            category: field(1).to_string(),
            source_dept: field(2).to_string(),
            list_date,
        });
    }
    Ok((rows, bad))
}

/// The command that records a matched row.
pub fn mark_command(
    psn_no: &str,
    row: &ListRow,
    year: i32,
    staff: &str,
    at: NaiveDateTime,
) -> Command {
    Command::MarkCategory(MarkCategoryCommand {
        psn_no: psn_no.to_string(),
        year,
        category: row.category.clone(),
        source_dept: row.source_dept.clone(),
        list_date: row.list_date,
        staff: staff.to_string(),
        at,
    })
}

/// A row's result from the engine's answer.
pub fn row_result(row: &ListRow, answer: Result<Outcome, EngineError>) -> RowResult {
    let outcome = match answer {
        Ok(Outcome::CategoryMarked(m)) => RowOutcome::Marked {
            psn_no: m.psn_no,
            category: m.category,
            due_category: m.due_category,
            due_amount: m.due_amount,
        },
        Ok(_) => RowOutcome::Refused {
            code: EngineError::MsgidReused.code(),
            message: EngineError::MsgidReused.message_zh(),
        },
        Err(e) => RowOutcome::Refused {
            code: e.code(),
            message: e.message_zh(),
        },
    };
    RowResult {
        line: row.line,
        certno: mask_certno(&row.certno),
        outcome,
    }
}

/// A row whose ID number matches nobody.
pub fn unknown_person(row: &ListRow) -> RowResult {
    row_result(
        row,
        Err(EngineError::UnknownPerson(mask_certno(&row.certno))),
    )
}

/// A row the parser refused.
pub fn bad_row((line, certno, detail): BadRow) -> RowResult {
    let refusal = Refusal::CategoryListRowInvalid { detail };
    RowResult {
        line,
        certno,
        outcome: RowOutcome::Refused {
            code: refusal.code(),
            message: refusal.message_zh(),
        },
    }
}

/// Imports a list straight into an engine (the `gongji` command line): every row matched by
/// ID number and recorded for `year`, with its result, in the file's order.
pub fn import_list<S: Store>(
    engine: &mut Engine<S>,
    bytes: &[u8],
    year: i32,
    staff: &str,
    at: NaiveDateTime,
) -> Result<ListReport, String> {
    let (rows, bad) = parse_list(bytes)?;
    let mut results: Vec<RowResult> = bad.into_iter().map(bad_row).collect();
    for row in &rows {
        let psn_no = engine
            .state()
            .persons
            .by_certno(&row.certno)
            .map(|p| p.psn_no.clone());
        results.push(match psn_no {
            None => unknown_person(row),
            Some(psn_no) => {
                let command = mark_command(&psn_no, row, year, staff, at);
                row_result(row, engine.execute(Request::new(command)))
            }
        });
    }
    results.sort_by_key(|r| r.line);
    Ok(ListReport { rows: results })
}
