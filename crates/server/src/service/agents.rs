//! Collecting agents (代收点: a village committee, a bank branch, a school; issue 13): staff
//! register one and hand it its API token; it pays residents' premiums in batches (CSV,
//! thousands of rows), each row matched by ID number and answered on its own (right place,
//! no second payment, the registry's category and amount); its daily statement (rows,
//! total, per category) is summed from its premiums and checked against the postings on its
//! clearing account, to the fen.
//!
//! An agent's row moves no money before it is decided: the agent holds the cash it took, so
//! a row the rules refuse is refused, not refunded (`money_moved: false`).

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use gongji_core::codes::{Admdvs, Channel};
use gongji_core::collection::PaymentChannel;
use gongji_core::ledger::LedgerAccount;
use gongji_core::pii::mask_certno;
use gongji_core::premium::PremiumKind;
use gongji_core::Fen;
use gongji_engine::{ChannelPremiumCommand, Command, Outcome, Request};
use gongji_store::payments::AgentRow;
use sha2::{Digest, Sha256};

use super::auth::{self, Permission};
use super::staff::Staff;
use super::{ServiceError, ServiceResult};
use crate::app::App;

/// Rows one batch may hold.
pub const BATCH_ROWS_MAX: usize = 20_000;

/// The kinds of agent the seed lists.
pub const AGENT_KINDS: &[&str] = &["village_committee", "bank_branch", "school", "other"];

/// Registers a collecting agent for `admdvs`; the token is shown once, only its SHA-256 kept.
pub async fn add_agent(
    app: &App,
    who: &Staff,
    agent_id: &str,
    name: &str,
    admdvs: &str,
    kind: &str,
) -> ServiceResult<(AgentRow, String)> {
    who.require(Permission::ManageAgents)?;
    let (row, token) = new_agent(agent_id, name, admdvs, kind, &who.actor(), app.clock.now())?;
    let stored = row.clone();
    app.read(move |e| e.store_mut().put_agent(&stored))
        .await?
        .map_err(|_| ServiceError::BadRequest("代收点编号已被使用".into()))?;
    let audit = auth::audit_row(
        app,
        &who.actor(),
        Channel::StaffConsole,
        "agent_added",
        &format!("agent:{}", row.agent_id),
        Some(format!("{}（{}，{}）", row.name, row.kind, row.admdvs)),
    );
    app.submit(Request::new(Command::Audit(audit))).await?;
    Ok((row, token))
}

/// A checked agent row and its new API token (`agt_` + 48 hex digits), for the console's
/// route and `gongji agent add` alike.
pub fn new_agent(
    agent_id: &str,
    name: &str,
    admdvs: &str,
    kind: &str,
    added_by: &str,
    now: NaiveDateTime,
) -> ServiceResult<(AgentRow, String)> {
    let agent_id = agent_id.trim();
    if agent_id.is_empty()
        || agent_id.len() > 32
        || !agent_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ServiceError::BadRequest(
            "代收点编号应为1到32位字母、数字、-或_".into(),
        ));
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ServiceError::BadRequest("代收点名称应为1到100个字".into()));
    }
    let admdvs = Admdvs::parse(admdvs)
        .ok_or_else(|| ServiceError::BadRequest("行政区划应为6位代码".into()))?;
    if !AGENT_KINDS.contains(&kind) {
        return Err(ServiceError::BadRequest(format!(
            "代收点类型应为{}之一",
            AGENT_KINDS.join("、")
        )));
    }
    let mut secret = [0u8; 24];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut secret);
    let token = format!("agt_{}", hex::encode(secret));
    let row = AgentRow {
        agent_id: agent_id.to_string(),
        name: name.to_string(),
        admdvs: admdvs.to_string(),
        kind: kind.to_string(),
        token_sha256: token_hash(&token),
        added_by: added_by.to_string(),
        added_at: auth::time_text(now),
    };
    Ok((row, token))
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

/// The agent whose API token this is.
pub async fn agent_for_token(app: &App, token: &str) -> ServiceResult<AgentRow> {
    let hash = token_hash(token);
    app.read_store(move |s| s.agent_by_token(&hash))
        .await?
        .ok_or(ServiceError::Unauthenticated)
}

/// One row of a batch as the agent sent it.
#[derive(Clone, Debug)]
struct BatchRow {
    line: u64,
    certno: String,
    year: Option<i32>,
    amount: Option<Fen>,
    paid_at: Option<NaiveDateTime>,
}

/// What became of a row.
#[derive(Clone, Debug)]
pub struct BatchRowResult {
    pub line: u64,
    /// Masked.
    pub certno: String,
    pub psn_no: Option<String>,
    /// `paid`, `replayed` (the same batch row sent before) or `refused`.
    pub status: &'static str,
    pub category: Option<String>,
    pub category_name: Option<String>,
    pub amount: Option<Fen>,
    pub receipt_no: Option<i64>,
    pub code: Option<String>,
    pub message: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct BatchReport {
    pub batch_id: String,
    pub rows: Vec<BatchRowResult>,
}

impl BatchReport {
    pub fn paid(&self) -> usize {
        self.rows.iter().filter(|r| r.status != "refused").count()
    }

    pub fn refused(&self) -> usize {
        self.rows.iter().filter(|r| r.status == "refused").count()
    }
}

/// Parses the batch: a header `certno,year,amount,paid_at` (or 身份证号码,年度,金额,缴费时间);
/// `year` defaults to `default_year`, `amount` to the registry's, `paid_at`
/// (`yyyy-MM-dd HH:mm:ss`) to now. A line that cannot be read is answered as refused.
fn parse_batch(
    text: &str,
    default_year: i32,
) -> ServiceResult<(Vec<BatchRow>, Vec<BatchRowResult>)> {
    let mut lines = text.lines().enumerate();
    let header: Vec<String> = lines
        .next()
        .map(|(_, h)| {
            h.trim_start_matches('\u{feff}')
                .split(',')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .unwrap_or_default();
    let col = |names: &[&str]| header.iter().position(|h| names.contains(&h.as_str()));
    let Some(certno_col) = col(&["certno", "身份证号码"]) else {
        return Err(ServiceError::BadRequest(
            "首行应为表头，含 certno（身份证号码）列".into(),
        ));
    };
    let (year_col, amount_col, paid_col) = (
        col(&["year", "年度"]),
        col(&["amount", "金额"]),
        col(&["paid_at", "缴费时间"]),
    );
    let mut rows = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let n = i as u64 + 1;
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        let cell = |c: Option<usize>| c.and_then(|c| cells.get(c)).filter(|v| !v.is_empty());
        let certno = cell(Some(certno_col)).unwrap_or(&"").to_ascii_uppercase();
        let year = match cell(year_col) {
            None => Ok(default_year),
            Some(y) => y.parse::<i32>().map_err(|_| "年度应为4位数字"),
        };
        let amount = match cell(amount_col) {
            None => Ok(None),
            Some(a) => Fen::parse_yuan(a)
                .map(Some)
                .map_err(|_| "金额应为元，最多2位小数"),
        };
        let paid_at = match cell(paid_col) {
            None => Ok(None),
            Some(t) => NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S")
                .map(Some)
                .map_err(|_| "缴费时间应为 yyyy-MM-dd HH:mm:ss"),
        };
        match (certno.is_empty(), year, amount, paid_at) {
            (false, Ok(year), Ok(amount), Ok(paid_at)) => rows.push(BatchRow {
                line: n,
                certno,
                year: Some(year),
                amount,
                paid_at,
            }),
            (empty, year, amount, paid_at) => {
                let why = if empty {
                    "缺少身份证号码"
                } else {
                    year.err().or(amount.err()).or(paid_at.err()).unwrap_or("")
                };
                bad.push(BatchRowResult {
                    line: n,
                    certno: mask_certno(&certno),
                    psn_no: None,
                    status: "refused",
                    category: None,
                    category_name: None,
                    amount: None,
                    receipt_no: None,
                    code: Some(super::codes::API_BAD_REQUEST.into()),
                    message: Some(why.to_string()),
                })
            }
        }
    }
    Ok((rows, bad))
}

/// Pays a batch of residents' premiums for `agent`, each row on its own: matched by ID
/// number, at the agent's place only, refused when the person's year is paid already
/// (through any channel, or by an earlier row), at the registry's category and amount (a
/// row's amount, when given, must be it). The same batch id sent again answers each row as
/// before and pays nothing twice.
pub async fn import_batch(
    app: &App,
    agent: &AgentRow,
    batch_id: &str,
    default_year: i32,
    bytes: &[u8],
) -> ServiceResult<BatchReport> {
    let batch_id = batch_id.trim();
    if batch_id.is_empty()
        || batch_id.len() > 40
        || !batch_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ServiceError::BadRequest(
            "批次号应为1到40位字母、数字、-或_".into(),
        ));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ServiceError::BadRequest("文件应为UTF-8编码的CSV".into()))?;
    let (rows, mut results) = parse_batch(text, default_year)?;
    if rows.len() > BATCH_ROWS_MAX {
        return Err(ServiceError::BadRequest(format!(
            "一个批次最多{BATCH_ROWS_MAX}行"
        )));
    }
    let place = Admdvs::parse(&agent.admdvs);
    let now = app.clock.now();
    let certnos: Vec<String> = rows.iter().map(|r| r.certno.clone()).collect();
    let persons: Vec<Option<String>> = app
        .read(move |engine| {
            certnos
                .iter()
                .map(|c| {
                    engine
                        .state()
                        .persons
                        .by_certno(c)
                        .map(|p| p.psn_no.clone())
                })
                .collect()
        })
        .await?;
    // Submitted together, in line order, so the writer decides them in that order (an
    // earlier row's payment refuses a later duplicate) and commits them in few batches.
    let mut pending = Vec::with_capacity(rows.len());
    for (row, psn_no) in rows.into_iter().zip(persons) {
        let masked = mask_certno(&row.certno);
        let Some(psn_no) = psn_no else {
            let e = gongji_engine::EngineError::UnknownPerson(masked.clone());
            results.push(refused(row.line, masked, None, e.code(), e.message_zh()));
            continue;
        };
        let year = row.year.unwrap_or(default_year);
        let paid_at = row.paid_at.unwrap_or(now);
        let (agent_id, place_c, batch) = (agent.agent_id.clone(), place, batch_id.to_string());
        let app2 = app.clone();
        let psn = psn_no.clone();
        pending.push((
            row.line,
            masked,
            psn_no,
            tokio::spawn(async move {
                pay_row(
                    &app2, &agent_id, place_c, &batch, row.line, &psn, year, row.amount, paid_at,
                    now,
                )
                .await
            }),
        ));
        // Yield so each row reaches the writer in line order.
        tokio::task::yield_now().await;
    }
    for (line, masked, psn_no, task) in pending {
        let outcome = match task.await {
            Ok(r) => r,
            Err(_) => Err(ServiceError::PaymentProviderFailed),
        };
        results.push(match outcome {
            Ok((status, paid)) => BatchRowResult {
                line,
                certno: masked,
                psn_no: Some(psn_no),
                status,
                category: paid.category.as_ref().map(|c| c.0.clone()),
                category_name: paid.category.map(|c| c.1),
                amount: Some(paid.amount),
                receipt_no: Some(paid.entry_id),
                code: None,
                message: Some(paid.explanation),
            },
            Err(e) => refused(line, masked, Some(psn_no), e.code(), e.message_zh()),
        });
    }
    results.sort_by_key(|r| r.line);
    Ok(BatchReport {
        batch_id: batch_id.to_string(),
        rows: results,
    })
}

fn refused(
    line: u64,
    certno: String,
    psn_no: Option<String>,
    code: &str,
    message: String,
) -> BatchRowResult {
    BatchRowResult {
        line,
        certno,
        psn_no,
        status: "refused",
        category: None,
        category_name: None,
        amount: None,
        receipt_no: None,
        code: Some(code.to_string()),
        message: Some(message),
    }
}

/// What a stored row's answer holds, to answer the same batch row sent again.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredRow {
    entry_id: i64,
    amount_fen: i64,
    category: Option<(String, String)>,
    explanation: String,
}

struct RowPaid {
    entry_id: i64,
    amount: Fen,
    category: Option<(String, String)>,
    explanation: String,
}

#[allow(clippy::too_many_arguments)]
async fn pay_row(
    app: &App,
    agent_id: &str,
    place: Option<Admdvs>,
    batch_id: &str,
    line: u64,
    psn_no: &str,
    year: i32,
    amount: Option<Fen>,
    paid_at: NaiveDateTime,
    now: NaiveDateTime,
) -> ServiceResult<(&'static str, RowPaid)> {
    let kind = PremiumKind::Resident;
    let transaction_id = format!("{batch_id}:{line}");
    let msgid = format!("agent:{agent_id}:{transaction_id}");
    // The same batch row sent before: its first answer, before anything is asked again.
    let wanted = msgid.clone();
    if let Some(answer) = app
        .read(move |e| e.store_mut().answer_for_msgid(&wanted))
        .await??
    {
        return replayed(answer.response.as_deref().unwrap_or(""));
    }
    // The registry's amount, unless the row says what was collected (checked against it).
    let amount = match amount {
        Some(a) => a,
        None => {
            let (p, a) = (psn_no.to_string(), agent_id.to_string());
            app.read(move |e| {
                e.quote_channel_premium(
                    &p,
                    kind,
                    year,
                    place,
                    PaymentChannel::Agent,
                    Some(&a),
                    paid_at,
                )
            })
            .await??
            .amount
        }
    };
    let cmd = ChannelPremiumCommand {
        psn_no: psn_no.to_string(),
        kind,
        year,
        amount,
        channel: PaymentChannel::Agent,
        agent_id: Some(agent_id.to_string()),
        place,
        paid_at,
        paid_at_text: format!("{}+08:00", paid_at.format("%Y-%m-%dT%H:%M:%S")),
        order_id: batch_id.to_string(),
        transaction_id: transaction_id.clone(),
        via: Channel::BatchImport,
        at: now,
        money_moved: false,
    };
    let hash = hex::encode(Sha256::digest(
        format!("agent_row\0{psn_no}\0{year}\0{}", amount.fen()).as_bytes(),
    ));
    let request = Request::new(Command::ChannelPremium(cmd))
        .with_msgid(msgid, hash)
        .with_render(Box::new(|o: &Outcome| match o {
            Outcome::ChannelPaid(p) => serde_json::to_string(&StoredRow {
                entry_id: p.entry_id,
                amount_fen: p.amount.fen(),
                category: p.category.clone(),
                explanation: p.explanation.clone(),
            })
            .unwrap_or_default(),
            _ => String::new(),
        }));
    match app.submit(request).await? {
        Outcome::ChannelPaid(p) => Ok((
            "paid",
            RowPaid {
                entry_id: p.entry_id,
                amount: p.amount,
                category: p.category,
                explanation: p.explanation,
            },
        )),
        Outcome::Replayed { response } => replayed(&response),
        _ => Err(ServiceError::Engine(
            gongji_engine::EngineError::MsgidReused,
        )),
    }
}

fn replayed(response: &str) -> ServiceResult<(&'static str, RowPaid)> {
    let s: StoredRow = serde_json::from_str(response)
        .map_err(|_| ServiceError::Engine(gongji_engine::EngineError::MsgidReused))?;
    Ok((
        "replayed",
        RowPaid {
            entry_id: s.entry_id,
            amount: Fen::from_fen(s.amount_fen),
            category: s.category,
            explanation: s.explanation,
        },
    ))
}

/// One category's line of a statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CategoryLine {
    pub category: String,
    pub rows: u64,
    pub total: Fen,
}

/// An agent's day: what it collected, by category, and whether that agrees with the ledger.
#[derive(Clone, Debug)]
pub struct Statement {
    pub agent_id: String,
    pub day: NaiveDate,
    pub rows: u64,
    /// The premiums' amounts, summed from the premium rows.
    pub total: Fen,
    pub categories: Vec<CategoryLine>,
    /// What the postings on the agent's clearing account say it collected that day.
    pub postings_total: Fen,
    /// `total == postings_total`, to the fen.
    pub balanced: bool,
}

/// The agent's statement of `day` (by the time its payments were recorded).
pub async fn statement(app: &App, agent: &AgentRow, day: NaiveDate) -> ServiceResult<Statement> {
    let key = LedgerAccount::ChannelClearing {
        channel: PaymentChannel::Agent,
        agent: Some(agent.agent_id.clone()),
    }
    .key();
    let from = format!("{} 00:00:00", day.format("%Y-%m-%d"));
    let to = format!(
        "{} 00:00:00",
        day.succ_opt().unwrap_or(day).format("%Y-%m-%d")
    );
    let rows = app
        .read_store(move |s| s.agent_postings(&key, &from, &to))
        .await?;
    let overflow = || ServiceError::BadRequest("金额超出范围".into());
    let mut total = Fen::ZERO;
    let mut postings = Fen::ZERO;
    let mut count = 0u64;
    let mut by_category: BTreeMap<String, (u64, Fen)> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.entry_kind == "premium") {
        postings = postings.checked_sub(r.posting).ok_or_else(overflow)?;
        let (Some(category), Some(amount)) = (&r.category, r.premium_amount) else {
            continue;
        };
        count += 1;
        total = total.checked_add(amount).ok_or_else(overflow)?;
        let line = by_category
            .entry(category.clone())
            .or_insert((0, Fen::ZERO));
        line.0 += 1;
        line.1 = line.1.checked_add(amount).ok_or_else(overflow)?;
    }
    Ok(Statement {
        agent_id: agent.agent_id.clone(),
        day,
        rows: count,
        total,
        categories: by_category
            .into_iter()
            .map(|(category, (rows, total))| CategoryLine {
                category,
                rows,
                total,
            })
            .collect(),
        postings_total: postings,
        balanced: total == postings,
    })
}

/// Every registered agent with its statement of today, for the console's list. Reading
/// what agents collected is an agent manager's, like registering them.
pub async fn agents_today(app: &App, who: &Staff) -> ServiceResult<Vec<(AgentRow, Statement)>> {
    who.require(Permission::ManageAgents)?;
    let today = app.clock.now().date();
    let agents = app.read_store(|s| s.agents()).await?;
    let mut out = Vec::with_capacity(agents.len());
    for agent in agents {
        let st = statement(app, &agent, today).await?;
        out.push((agent, st));
    }
    Ok(out)
}
