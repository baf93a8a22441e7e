//! Floors are asserted before a batch is written: a decision that would leave a personal
//! account below zero (or a holder below the reserve) is a bug, and it stops the whole batch
//! with its own error instead of reaching the store.

mod common;

use common::*;
use gongji_core::ledger::LedgerAccount;
use gongji_core::Fen;
use gongji_engine::{Command, Outcome, Request};

fn fund(psn_no: &str, fen: i64) -> Request {
    Request::new(Command::Fund {
        psn_no: psn_no.to_string(),
        amount: Fen::from_fen(fen),
        at: at("2025-01-01"),
    })
}

#[test]
fn a_batch_that_would_break_a_floor_is_stopped_before_the_store() {
    let mut w = World::new();
    let broken = w.employee(TAIYUAN, yuan(10_000));
    let bystander = w.employee(TAIYUAN, yuan(500));
    let key = LedgerAccount::Personal(broken.clone()).key();

    // The test-only way to a wrong decision: the hot set is told a balance the store never
    // had, so the next posting on that account computes a balance below zero.
    w.engine.refresh_balance(&key, Fen::from_fen(-yuan(10)));
    let results = w
        .engine
        .execute_batch(vec![fund(&bystander, yuan(1)), fund(&broken, yuan(5))]);

    // Every request of the batch gets the distinct error; none is a refusal.
    assert_eq!(results.len(), 2);
    for r in &results {
        match r {
            Err(e) => assert_eq!(e.code(), "GJ-ENGINE-FLOOR-BREACHED", "{e}"),
            Ok(o) => panic!("the batch went through: {o:?}"),
        }
    }
    // Nothing was written, and the hot set is the store's again.
    assert_eq!(w.balance(&broken), yuan(10_000));
    assert_eq!(w.balance(&bystander), yuan(500));
    w.verify();

    // The next batch, decided on the true balances, goes through.
    let again = w.engine.execute(fund(&broken, yuan(5)));
    assert!(matches!(again, Ok(Outcome::Funded { .. })), "{again:?}");
    assert_eq!(w.balance(&broken), yuan(10_005));
    w.verify();
}
