//! `gongji bubao run`: the 补报 job (R-R2) from the command line, one line per settlement.

use chrono::NaiveDate;
use gongji_core::codes::Channel;
use gongji_engine::bubao::{bubao_request, held, BubaoResult};
use gongji_store::ReadStore;

use crate::privacy::KeyArg;
use crate::registry::{Target, EXIT_OK, EXIT_UNUSABLE};

pub fn run(target: &Target, key: &KeyArg, date: Option<&str>) -> u8 {
    let at = match date {
        None => chrono::Local::now().naive_local(),
        Some(text) => match NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
            Ok(d) => d.and_hms_opt(9, 0, 0).unwrap_or_default(),
            Err(_) => {
                eprintln!("--date {text}: 日期应为 YYYY-MM-DD / the date must be YYYY-MM-DD");
                return EXIT_UNUSABLE;
            }
        },
    };
    let mut engine = match target.open_engine_with(key) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_UNUSABLE;
        }
    };
    let candidates = match engine.store_mut().bubao_candidates() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}: {e}", target.label());
            return EXIT_UNUSABLE;
        }
    };
    let (mut paid, mut waiting) = (0, 0);
    for c in &candidates {
        let answer = engine.execute(bubao_request(c, Channel::BatchImport, "cli:bubao", at));
        let head = format!(
            "{} {} {} 暂未支付{}元",
            c.setl_id,
            c.setl_date,
            c.psn_no,
            held(c)
        );
        match BubaoResult::of(answer) {
            BubaoResult::Paid { amount, lines, .. } => {
                paid += 1;
                println!("{head} → 补报{amount}元");
                for (account, amount, why) in lines {
                    println!("    {account} {amount}: {why}");
                }
            }
            BubaoResult::AlreadyPaid => println!("{head} → 已补报 / paid before"),
            BubaoResult::NotNow { code, message_zh } => {
                waiting += 1;
                println!("{head} → {code} {message_zh}");
            }
        }
    }
    println!(
        "{} 笔补报，{} 笔暂不补报 / {} paid, {} not now",
        paid, waiting, paid, waiting
    );
    EXIT_OK
}
