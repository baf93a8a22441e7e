//! The quota's books in the engine (`gongji_engine::quota`), as the transport's
//! [`QuotaLedger`]: every step a command through the writer thread, committed with its
//! postings and its outbox or dedup row before the answer goes out; every read of the
//! books a read of the engine's hot set between batches.
//!
//! It holds the engine handle and the clock, not the [`App`](crate::app::App): the app
//! holds it, and a cycle would keep the writer alive after the server stops.

use chrono::NaiveDate;
use gongji_core::codes::{Channel, Relationship};
use gongji_core::quota::{Direction, QuotaBindingStatus, QuotaParties, QuotaSide};
use gongji_core::{Fen, Refusal};
use gongji_engine::quota::{QuotaAnswer, QuotaBindCommand, QuotaCommand, QuotaSentRow};
use gongji_engine::{Command, Engine, EngineError, EngineHandle, Outcome, Request};
use tokio::sync::oneshot;

use super::ledger::{
    CrossBinding, EligibilityAsk, Eligible, Figures, OutboxStep, QuotaLedger, QuotaView, Spending,
    StepKind, Transfer, Verdict,
};
use crate::app::{Clock, DynStore};
use crate::service::{ServiceError, ServiceResult};

pub struct EngineLedger {
    engine: EngineHandle<DynStore>,
    clock: Clock,
    province: u32,
}

impl EngineLedger {
    pub fn new(engine: EngineHandle<DynStore>, clock: Clock, province: u32) -> EngineLedger {
        EngineLedger {
            engine,
            clock,
            province,
        }
    }

    async fn run(&self, command: QuotaCommand) -> Result<QuotaAnswer, EngineError> {
        match self.submit(Request::new(Command::Quota(command))).await? {
            Outcome::Quota(answer) => Ok(*answer),
            _ => Err(EngineError::WriterStopped),
        }
    }

    async fn submit(&self, request: Request) -> Result<Outcome, EngineError> {
        let (tx, rx) = oneshot::channel();
        self.engine.submit(
            request,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        );
        rx.await.unwrap_or(Err(EngineError::WriterStopped))
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Engine<DynStore>) -> T + Send + 'static,
    ) -> ServiceResult<T> {
        let (tx, rx) = oneshot::channel();
        let sent = self.engine.read(Box::new(move |engine| {
            let _ = tx.send(f(engine));
        }));
        if !sent {
            return Err(EngineError::WriterStopped.into());
        }
        rx.await
            .map_err(|_| ServiceError::from(EngineError::WriterStopped))
    }

    /// A transfer a peer sent: applied or refused for good, both answers; anything else
    /// (a store failure, a mismatch of a known id) is an error the sender retries.
    async fn receive(&self, command: QuotaCommand) -> ServiceResult<Verdict> {
        match self.run(command).await {
            Ok(QuotaAnswer::Applied { .. }) => Ok(Verdict::Applied),
            Ok(QuotaAnswer::Refused { row, .. }) => Ok(Verdict::Refused {
                code: row.refusal_code.unwrap_or_default(),
                message_zh: row.refusal_zh.unwrap_or_default(),
            }),
            Ok(_) => Err(EngineError::WriterStopped.into()),
            Err(e) if gongji_engine::quota::peer_error_is_final(&e) => {
                let EngineError::Refused(r) = e else {
                    return Err(e.into());
                };
                Ok(Verdict::Refused {
                    code: r.code().to_string(),
                    message_zh: r.message_zh(),
                })
            }
            // A mismatch of a known id is not final: the sender must not release on it
            // (that could create money); it stays in flight for staff to look at.
            Err(e) => Err(e.into()),
        }
    }
}

fn day(text: &str) -> ServiceResult<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| ServiceError::BadRequest("日期应为 yyyy-MM-dd".to_string()))
}

fn relationship(text: &str) -> ServiceResult<Relationship> {
    Relationship::parse(text).ok_or_else(|| ServiceError::BadRequest("relationship".to_string()))
}

/// The engine's idempotency key of a lowering: per holder, so that two holders' ids never
/// meet, and apart from the institutions' msgids by its prefix.
fn lower_msgid(parties: &QuotaParties, lower_id: &str) -> String {
    format!(
        "quota-lower:{:02}:{}:{lower_id}",
        parties.holder_province, parties.holder_psn_no
    )
}

/// What a lowering asked: the same id asking anything else is refused.
fn lower_meaning(parties: &QuotaParties, amount: Option<Fen>) -> String {
    let amount = amount.map_or_else(|| "all".to_string(), |a| a.fen().to_string());
    format!(
        "{:02}:{}:{amount}",
        parties.relative_province, parties.relative_psn_no
    )
}

/// The first answer to a lowering as stored with it: `{transfer_id} {fen}`, or empty when
/// nothing was left to take.
fn render_lowered(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Quota(answer) => match answer.as_ref() {
            QuotaAnswer::Sent(row) => format!("{} {}", row.transfer_id, row.amount.fen()),
            _ => String::new(),
        },
        _ => String::new(),
    }
}

fn replayed_lowering(parties: &QuotaParties, response: &str) -> ServiceResult<Option<Transfer>> {
    if response.is_empty() {
        return Ok(None);
    }
    let unreadable = || {
        EngineError::Store(gongji_store::StoreError::Io(
            "stored lowering answer".into(),
        ))
    };
    let (id, fen) = response.split_once(' ').ok_or_else(unreadable)?;
    let fen: i64 = fen.parse().map_err(|_| unreadable())?;
    Ok(Some(Transfer {
        id: id.to_string(),
        direction: Direction::Return,
        parties: parties.clone(),
        amount: Fen::from_fen(fen),
    }))
}

fn transfer_of(row: &QuotaSentRow) -> Transfer {
    Transfer {
        id: row.transfer_id.clone(),
        direction: row.direction,
        parties: row.parties.clone(),
        amount: row.amount,
    }
}

#[axum::async_trait]
impl QuotaLedger for EngineLedger {
    async fn eligibility(&self, ask: &EligibilityAsk) -> ServiceResult<Eligible> {
        let ask = ask.clone();
        let own = self.province;
        let on = day(&ask.on)?;
        self.read(move |engine| {
            let person = engine
                .state()
                .persons
                .by_certno(&ask.relative_certno)
                .filter(|p| p.name.reveal() == ask.relative_name)
                .ok_or(ServiceError::NotFound("本省参保人（身份证号与姓名须一致）"))?;
            let parties = QuotaParties {
                holder_province: ask.holder_province,
                holder_psn_no: ask.holder_psn_no.clone(),
                relative_province: own,
                relative_psn_no: person.psn_no.clone(),
            };
            engine.quota_check_relative(&parties, on)?;
            Ok(Eligible {
                relative_psn_no: parties.relative_psn_no,
            })
        })
        .await?
    }

    async fn bind_in(&self, b: &CrossBinding) -> ServiceResult<()> {
        self.run(QuotaCommand::BindIn(QuotaBindCommand {
            parties: b.parties.clone(),
            relationship: relationship(&b.relationship)?,
            begin: day(&b.begin)?,
            end: None,
            channel: Channel::Web,
            actor: format!("peer:{:02}", b.parties.holder_province),
            at: self.clock.now(),
        }))
        .await?;
        Ok(())
    }

    async fn credit(&self, t: &Transfer) -> ServiceResult<Verdict> {
        self.receive(QuotaCommand::Credit {
            parties: t.parties.clone(),
            transfer_id: t.id.clone(),
            amount: t.amount,
            at: self.clock.now(),
        })
        .await
    }

    async fn return_credit(&self, t: &Transfer) -> ServiceResult<Verdict> {
        self.receive(QuotaCommand::ReturnCredit {
            parties: t.parties.clone(),
            transfer_id: t.id.clone(),
            amount: t.amount,
            at: self.clock.now(),
        })
        .await
    }

    async fn lower(
        &self,
        parties: &QuotaParties,
        amount: Option<Fen>,
        lower_id: Option<&str>,
    ) -> ServiceResult<Option<Transfer>> {
        let command = Command::Quota(QuotaCommand::ReturnReserve {
            parties: parties.clone(),
            amount,
            channel: Channel::Web,
            actor: format!("peer:{:02}", parties.holder_province),
            at: self.clock.now(),
        });
        // The msgid row commits with the take-out, so a repeat after a lost answer (or a
        // crash after the commit) finds it and takes nothing more.
        let request = match lower_id {
            Some(id) => Request::new(command)
                .with_msgid(lower_msgid(parties, id), lower_meaning(parties, amount))
                .with_render(Box::new(render_lowered)),
            None => Request::new(command),
        };
        match self.submit(request).await? {
            Outcome::Quota(answer) => match *answer {
                QuotaAnswer::Sent(row) => Ok(Some(transfer_of(&row))),
                _ => Ok(None),
            },
            Outcome::Replayed { response } => replayed_lowering(parties, &response),
            _ => Err(EngineError::WriterStopped.into()),
        }
    }

    async fn end_in(&self, parties: &QuotaParties) -> ServiceResult<()> {
        self.run(QuotaCommand::EndIn {
            parties: parties.clone(),
            at: self.clock.now(),
        })
        .await?;
        Ok(())
    }

    async fn lookup(&self, transfer_id: &str) -> ServiceResult<Option<(Fen, Verdict)>> {
        let id = transfer_id.to_string();
        self.read(move |engine| {
            engine.quota_applied(&id).map(|row| {
                let verdict = match (&row.refusal_code, &row.refusal_zh) {
                    (Some(code), zh) => Verdict::Refused {
                        code: code.clone(),
                        message_zh: zh.clone().unwrap_or_default(),
                    },
                    (None, _) => Verdict::Applied,
                };
                (row.amount, verdict)
            })
        })
        .await
    }

    async fn spends(&self, parties: &QuotaParties) -> ServiceResult<Vec<Spending>> {
        let parties = parties.clone();
        self.read(move |engine| {
            engine
                .quota_spends(&parties)
                .into_iter()
                .map(|s| Spending {
                    setl_id: s.setl_id,
                    fixmedins_name: engine
                        .state()
                        .institutions
                        .get(&s.fixmedins_code)
                        .map(|i| i.name.clone()),
                    fixmedins_code: s.fixmedins_code,
                    amount: s.amount,
                    at: s.at,
                })
                .collect()
        })
        .await
    }

    async fn figures(&self, peer: u32) -> ServiceResult<Figures> {
        let own = self.province;
        self.read(move |engine| Figures {
            holders: engine
                .quota_holder_figures()
                .into_iter()
                .filter(|h| h.holder_province == own && h.relative_province == peer)
                .map(|h| (h.holder_psn_no, h.side))
                .collect(),
            relatives: engine
                .quota_relative_figures()
                .into_iter()
                .filter(|r| r.parties.holder_province == peer && r.parties.relative_province == own)
                .map(|r| (r.parties.holder_psn_no, r.side))
                .collect(),
        })
        .await
    }

    async fn bind_out(&self, b: &CrossBinding) -> ServiceResult<()> {
        self.run(QuotaCommand::BindOut(QuotaBindCommand {
            parties: b.parties.clone(),
            relationship: relationship(&b.relationship)?,
            begin: day(&b.begin)?,
            end: None,
            channel: Channel::Web,
            actor: b.parties.holder_psn_no.clone(),
            at: self.clock.now(),
        }))
        .await?;
        Ok(())
    }

    async fn reserve(&self, parties: &QuotaParties, amount: Fen) -> ServiceResult<Transfer> {
        match self
            .run(QuotaCommand::Reserve {
                parties: parties.clone(),
                amount,
                channel: Channel::Web,
                actor: parties.holder_psn_no.clone(),
                at: self.clock.now(),
            })
            .await?
        {
            QuotaAnswer::Sent(row) => Ok(transfer_of(&row)),
            _ => Err(Refusal::QuotaTransferNotPending.into()),
        }
    }

    async fn end_out(&self, parties: &QuotaParties) -> ServiceResult<()> {
        self.run(QuotaCommand::EndOut {
            parties: parties.clone(),
            channel: Channel::Web,
            actor: parties.holder_psn_no.clone(),
            at: self.clock.now(),
        })
        .await?;
        Ok(())
    }

    async fn quotas_of(&self, psn_no: &str) -> ServiceResult<Vec<QuotaView>> {
        let psn_no = psn_no.to_string();
        self.read(move |engine| {
            engine
                .quota_bindings_of(&psn_no)
                .into_iter()
                .map(|b| {
                    let holder_side = b.side == QuotaSide::Holder;
                    let amount = if holder_side {
                        engine.quota_out(&b.parties)
                    } else {
                        engine.quota_remaining(&b.parties)
                    };
                    QuotaView {
                        parties: b.parties,
                        holder_side,
                        relationship: format!("{:02}", b.relationship.code()),
                        status: b.status.code().to_string(),
                        amount,
                    }
                })
                .collect()
        })
        .await
    }

    async fn outbox(&self) -> ServiceResult<Vec<OutboxStep>> {
        self.read(|engine| {
            let mut steps: Vec<OutboxStep> = engine
                .quota_outbox()
                .into_iter()
                .map(|row| OutboxStep {
                    kind: match row.direction {
                        Direction::Grant => StepKind::Grant,
                        Direction::Return => StepKind::Return,
                    },
                    transfer: Some(transfer_of(&row)),
                    parties: row.parties.clone(),
                    attempts: row.attempts,
                    last_error: row.last_error.clone(),
                    since: row.created_at.clone(),
                })
                .collect();
            steps.extend(
                engine
                    .quota_endings()
                    .into_iter()
                    .filter(|b| b.status == QuotaBindingStatus::Ending)
                    .map(|b| OutboxStep {
                        kind: StepKind::End,
                        transfer: None,
                        parties: b.parties,
                        attempts: 0,
                        last_error: None,
                        since: b.updated_at,
                    }),
            );
            steps
        })
        .await
    }

    async fn confirm(&self, transfer_id: &str) -> ServiceResult<()> {
        self.run(QuotaCommand::Confirm {
            transfer_id: transfer_id.to_string(),
            at: self.clock.now(),
        })
        .await?;
        Ok(())
    }

    async fn release(&self, transfer_id: &str, reason: &str) -> ServiceResult<()> {
        self.run(QuotaCommand::Release {
            transfer_id: transfer_id.to_string(),
            reason: reason.to_string(),
            at: self.clock.now(),
        })
        .await?;
        Ok(())
    }

    async fn end_confirmed(&self, parties: &QuotaParties) -> ServiceResult<()> {
        self.run(QuotaCommand::EndConfirmed {
            parties: parties.clone(),
            at: self.clock.now(),
        })
        .await?;
        Ok(())
    }

    async fn note_attempt(&self, step: &OutboxStep, error: &str) -> ServiceResult<()> {
        let Some(t) = &step.transfer else {
            return Ok(());
        };
        self.run(QuotaCommand::NoteAttempt {
            transfer_id: t.id.clone(),
            error: Some(error.to_string()),
            at: self.clock.now(),
        })
        .await?;
        Ok(())
    }
}
