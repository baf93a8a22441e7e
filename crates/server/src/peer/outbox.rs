//! The outbox driver: a task of `serve` that sends every step waiting for a peer's answer,
//! again and again with backoff, after any crash or network error, until the peer answers.
//! An answer is recorded through the books (a grant confirmed, a return credited back once
//! per id); a refusal of the step itself closes it (a grant's reservation goes back).
//!
//! Nothing here holds state that matters: the books keep the outbox, so a process killed
//! at any point finds the same steps when it starts again, and the receiver deduplicates
//! each by its id.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::client::{self, CallError};
use super::fault::{self, Point};
use super::ledger::{OutboxStep, StepKind};
use super::wire::{self, PartiesIn, StateOut, TransferIn};
use super::Peers;

/// How often the outbox is read when nothing wakes the driver.
pub const POLL: Duration = Duration::from_millis(500);
/// The first retry after a failure; doubled each time up to [`BACKOFF_MAX`].
pub const BACKOFF_FIRST: Duration = Duration::from_millis(500);
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// Wakes the driver at once (a holder just granted or lowered a quota).
#[derive(Clone, Default)]
pub struct Wake(Arc<Notify>);

impl Wake {
    pub fn now(&self) {
        self.0.notify_one();
    }
}

struct Backoff {
    failures: u32,
    next: Instant,
}

/// Runs until the process ends.
pub async fn drive(peers: Arc<Peers>, wake: Wake) {
    let http = reqwest::Client::new();
    let mut backoff: HashMap<(StepKind, String), Backoff> = HashMap::new();
    loop {
        let steps = match peers.ledger() {
            Some(ledger) => ledger.outbox().await,
            None => return,
        };
        match steps {
            Ok(steps) => {
                let now = Instant::now();
                backoff.retain(|key, _| steps.iter().any(|s| (s.kind, s.id()) == *key));
                for step in steps {
                    let key = (step.kind, step.id());
                    if backoff.get(&key).is_some_and(|b| b.next > now) {
                        continue;
                    }
                    match send(&http, &peers, &step).await {
                        Ok(()) => {
                            backoff.remove(&key);
                        }
                        Err(code) => {
                            let b = backoff.entry(key).or_insert(Backoff {
                                failures: 0,
                                next: now,
                            });
                            b.failures = b.failures.saturating_add(1);
                            let wait = BACKOFF_FIRST
                                .saturating_mul(1u32 << b.failures.min(8).saturating_sub(1))
                                .min(BACKOFF_MAX);
                            b.next = Instant::now() + wait;
                            tracing::warn!(
                                step = step.kind.as_str(),
                                id = step.id(),
                                peer = step.peer(peers.province),
                                code,
                                retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                                "省际步骤未获应答，稍后重试 / peer step unanswered; will retry"
                            );
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(
                code = e.code(),
                "读取省际待发步骤失败 / reading the outbox failed"
            ),
        }
        tokio::select! {
            _ = wake.0.notified() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
    }
}

/// Sends one step and records what came of it. `Err(code)`: no answer yet, retry later.
pub async fn send(http: &reqwest::Client, peers: &Peers, step: &OutboxStep) -> Result<(), String> {
    let Some(ledger) = peers.ledger() else {
        return Err("no ledger".to_string());
    };
    let peer = step.peer(peers.province);
    let answer: Result<StateOut, CallError> = match (step.kind, &step.transfer) {
        (StepKind::Grant, Some(t)) => {
            client::call(http, peers, peer, wire::PATH_CREDIT, &TransferIn::of(t)).await
        }
        (StepKind::Return, Some(t)) => {
            client::call(http, peers, peer, wire::PATH_RETURN, &TransferIn::of(t)).await
        }
        (StepKind::End, _) => {
            client::call(
                http,
                peers,
                peer,
                wire::PATH_END,
                &PartiesIn::of(&step.parties),
            )
            .await
        }
        _ => return Err("malformed outbox row".to_string()),
    };
    let recorded = match (&answer, &step.transfer) {
        (Ok(_), Some(t)) => {
            fault::point(Point::AfterSend);
            ledger.confirm(&t.id).await
        }
        (Ok(_), None) => {
            fault::point(Point::AfterSend);
            ledger.end_confirmed(&step.parties).await
        }
        (Err(CallError::Refused { body, .. }), Some(t)) => {
            ledger
                .release(&t.id, &format!("{} {}", body.code, body.message_zh))
                .await
        }
        // A refused end (the peer has no such binding) leaves the binding ending, for staff.
        (Err(e), _) => {
            let code = e.code();
            let _ = ledger.note_attempt(step, &code).await;
            return Err(code);
        }
    };
    recorded.map_err(|e| e.code().to_string())?;
    fault::point(Point::AfterConfirm);
    match answer {
        Ok(out) => tracing::info!(
            step = step.kind.as_str(),
            id = step.id(),
            peer,
            state = out.state,
            "省际步骤已获对方确认 / peer step answered"
        ),
        Err(e) => tracing::warn!(
            step = step.kind.as_str(),
            id = step.id(),
            peer,
            code = e.code(),
            "对方省份拒绝了这笔划转，已退回原处 / the peer refused the transfer; released"
        ),
    }
    Ok(())
}
