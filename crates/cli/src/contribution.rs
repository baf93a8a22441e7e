//! `gongji contribution-list`: the agency marks subsidised residents from a department's list
//! (R-R5), straight into the database, with one line of result per row.

use std::path::Path;

use gongji_engine::category_list::{import_list, RowOutcome};

use crate::privacy::KeyArg;
use crate::registry::{Target, EXIT_OK, EXIT_UNUSABLE};

/// Exit code when some rows were refused (as `gongji import`).
const EXIT_ROWS_REFUSED: u8 = 3;

pub fn import(target: &Target, key: &KeyArg, year: i32, file: &Path, staff: &str) -> u8 {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{}: 无法读取 / cannot read: {e}", file.display());
            return EXIT_UNUSABLE;
        }
    };
    let mut engine = match target.open_engine_with(key) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_UNUSABLE;
        }
    };
    let now = chrono::Local::now().naive_local();
    let report = match import_list(&mut engine, &bytes, year, &format!("cli:{staff}"), now) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{}: {e}", file.display());
            return EXIT_UNUSABLE;
        }
    };
    let name = file.display();
    for r in &report.rows {
        match &r.outcome {
            RowOutcome::Marked {
                psn_no,
                category,
                due_category,
                due_amount,
            } => println!(
                "{name}:{}: {} {psn_no} {category} → {year}年度按 {due_category} 缴费 {due_amount} 元",
                r.line, r.certno
            ),
            RowOutcome::Refused { code, message } => {
                eprintln!("{name}:{}: {} {code} {message}", r.line, r.certno)
            }
        }
    }
    println!(
        "{} 行已标识，{} 行被拒绝 / {} rows marked, {} refused",
        report.marked(),
        report.refused(),
        report.marked(),
        report.refused()
    );
    if report.refused() == 0 {
        EXIT_OK
    } else {
        EXIT_ROWS_REFUSED
    }
}
