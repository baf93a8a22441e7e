//! A review request (R-R7) is decided once, by the writer: a decision is taken only while
//! the request is still waiting as stored, or as decided earlier in the same batch, so two
//! staff answering at the same instant cannot both change the registry.

mod common;

use common::*;
use gongji_core::codes::{Channel, Insutype};
use gongji_engine::{Command, Outcome, Request};
use gongji_store::reviews::ReviewRow;
use gongji_store::{AuditRow, Store};

const REVIEW_ALREADY_DECIDED: &str = "GJ-REVIEW-ALREADY-DECIDED";

fn correction(psn_no: &str) -> ReviewRow {
    ReviewRow {
        review_id: "SQ00000000000001".into(),
        psn_no: psn_no.into(),
        kind: "correction".into(),
        state: "pending".into(),
        name: "李新华".into(),
        submitted_at: "2025-10-10 10:00:00".into(),
        ..ReviewRow::default()
    }
}

fn decided(row: &ReviewRow, state: &str) -> ReviewRow {
    ReviewRow {
        state: state.into(),
        decided_at: Some("2025-10-11 09:00:00".into()),
        decided_by: Some("staff:clerk1".into()),
        reason: (state == "rejected").then(|| "请核对姓名".into()),
        ..row.clone()
    }
}

fn decision(row: ReviewRow) -> Request {
    let action = format!("review_{}", row.state);
    Request::new(Command::DecideReview {
        row,
        register: None,
    })
    .with_audit(AuditRow {
        at: "2025-10-11 09:00:00".into(),
        actor: "staff:clerk1".into(),
        channel: Channel::StaffConsole.code().into(),
        action,
        subject: "review".into(),
        before_state: None,
        after_state: None,
    })
}

fn decisions(w: &mut World) -> i64 {
    w.engine
        .store_mut()
        .connection()
        .query_row(
            "SELECT COUNT(*) FROM audit_log WHERE action IN ('review_approved', 'review_rejected')",
            [],
            |r| r.get(0),
        )
        .expect("count")
}

#[test]
fn of_two_decisions_in_one_batch_the_second_is_refused_and_changes_nothing() {
    let mut w = World::new();
    let psn = w.person("370102", Insutype::Employee);
    let before = w.person_of(&psn).name.reveal().to_string();
    let sent = correction(&psn);
    assert!(matches!(
        w.execute(Request::new(Command::PutReview(sent.clone()))),
        Ok(Outcome::ReviewStored)
    ));

    let results = w.engine.execute_batch(vec![
        decision(decided(&sent, "approved")),
        decision(decided(&sent, "rejected")),
    ]);
    assert!(
        matches!(results[0], Ok(Outcome::ReviewStored)),
        "{results:?}"
    );
    refused(
        results.into_iter().nth(1).expect("second"),
        REVIEW_ALREADY_DECIDED,
    );
    assert_eq!(w.person_of(&psn).name.reveal(), "李新华");
    assert_ne!(before, "李新华");
    assert_eq!(
        w.engine
            .store_mut()
            .review_state(&sent.review_id)
            .expect("state")
            .as_deref(),
        Some("approved")
    );
    assert_eq!(decisions(&mut w), 1);

    // Later, in a batch of its own, the same answer is refused too.
    refused(
        w.execute(decision(decided(&sent, "rejected"))),
        REVIEW_ALREADY_DECIDED,
    );
    assert_eq!(decisions(&mut w), 1);
}

#[test]
fn a_decision_on_an_unknown_request_or_a_decided_one_put_again_is_refused() {
    let mut w = World::new();
    let psn = w.person("370102", Insutype::Employee);
    let sent = correction(&psn);
    refused(
        w.execute(decision(decided(&sent, "approved"))),
        "GJ-UNKNOWN-REVIEW",
    );
    // A request is put waiting; a decided row cannot be put over it behind the guard.
    refused(
        w.execute(Request::new(Command::PutReview(decided(&sent, "approved")))),
        REVIEW_ALREADY_DECIDED,
    );
    assert_eq!(
        w.engine
            .store_mut()
            .review_state(&sent.review_id)
            .expect("state"),
        None
    );
    assert_ne!(w.person_of(&psn).name.reveal(), "李新华");
}
