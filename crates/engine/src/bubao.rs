//! The 补报 job (R-R2): every settlement whose fund share was held back before the resident
//! paid is sent to the engine as a `Command::Bubao` under its own msgid, so a settlement is
//! paid once however often the job runs; one result line per settlement. The CLI (`gongji
//! bubao run`) and the staff console run the same requests.

use chrono::NaiveDateTime;
use gongji_core::codes::Channel;
use gongji_core::Fen;
use gongji_store::read::WithheldSettlement;
use gongji_store::AuditRow;

use crate::command::{bubao_msgid, BubaoCommand, Command, Outcome, Request};
use crate::EngineError;

/// The request for one candidate, with its audit row (who ran the job, for which settlement).
pub fn bubao_request(
    candidate: &WithheldSettlement,
    channel: Channel,
    actor: &str,
    at: NaiveDateTime,
) -> Request {
    Request::new(Command::Bubao(BubaoCommand {
        setl_id: candidate.setl_id.clone(),
        channel,
        at,
    }))
    .with_msgid(bubao_msgid(&candidate.setl_id), candidate.setl_id.clone())
    .with_audit(AuditRow {
        at: at.format("%Y-%m-%d %H:%M:%S").to_string(),
        actor: actor.to_string(),
        channel: channel.code().to_string(),
        action: "bubao".into(),
        subject: candidate.setl_id.clone(),
        before_state: Some(format!(
            "{} {} 暂未支付统筹基金{}元",
            candidate.psn_no,
            candidate.setl_date,
            held(candidate)
        )),
        after_state: None,
    })
}

/// What the fund held back from a settlement.
pub fn held(candidate: &WithheldSettlement) -> Fen {
    Fen::checked_sum(candidate.lines.iter().map(|l| l.amount)).unwrap_or(Fen::ZERO)
}

/// What the job did with one settlement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BubaoResult {
    /// Paid now, as journal entry `entry_id`; one line per posting (account, amount, why).
    Paid {
        entry_id: i64,
        amount: Fen,
        lines: Vec<(String, Fen, String)>,
    },
    /// An earlier run paid it.
    AlreadyPaid,
    /// Not now (not yet paid for the year, cancelled...), with the stable code and why.
    NotNow { code: String, message_zh: String },
}

impl BubaoResult {
    pub fn of(answer: Result<Outcome, EngineError>) -> BubaoResult {
        match answer {
            Ok(Outcome::Bubao(b)) => BubaoResult::Paid {
                entry_id: b.entry_id,
                amount: b.amount,
                lines: b.lines,
            },
            Ok(_) => BubaoResult::AlreadyPaid,
            Err(e) => BubaoResult::NotNow {
                code: e.code().to_string(),
                message_zh: e.message_zh(),
            },
        }
    }
}
