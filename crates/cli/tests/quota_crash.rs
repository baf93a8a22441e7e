//! The cross-province journey with a province killed at each step boundary of the quota
//! protocol (issue 14): a `fault-test` build aborts (as abruptly as SIGKILL: no destructor,
//! no flush) where `GONGJI_FAULT` says, in A or in B; the test starts it again on the same
//! database and port, finishes the journey, and checks that the books of both provinces
//! agree to the fen (`gongji province check`), that no transfer was applied twice (the
//! holder has exactly what he had less what was spent), and that nothing is left in flight.
//!
//! Built only with `--features fault-test` (scripts/test.sh runs it).

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::provinces::{self, bind_body, Province, Window, HOLDER, RELATIVE};
use support::{one, person, Server, ITEM_A, YC_PHARM};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    A,
    B,
}

struct Pair {
    a: Province,
    b: Province,
    server_a: Server,
    server_b: Server,
    wa: Window,
    wb: Window,
    faulted: Side,
    killed: bool,
}

impl Pair {
    fn new(faulted: Side, point: &str) -> Pair {
        let a = Province::new("37");
        let b = Province::new("14");
        a.knows(&b);
        b.knows(&a);
        let fault_a = (faulted == Side::A).then_some(point);
        let fault_b = (faulted == Side::B).then_some(point);
        let server_a = a.serve(fault_a);
        let server_b = b.serve(fault_b);
        let wa = Window::sign_in(&server_a.base);
        let wb = Window::sign_in(&server_b.base);
        Pair {
            a,
            b,
            server_a,
            server_b,
            wa,
            wb,
            faulted,
            killed: false,
        }
    }

    /// Restarts the faulted province if it died (without the fault this time).
    fn heal(&mut self, wait: Duration) {
        if self.killed {
            return;
        }
        let (server, province) = match self.faulted {
            Side::A => (&mut self.server_a, &self.a),
            Side::B => (&mut self.server_b, &self.b),
        };
        if let Some(status) = server.ended(wait) {
            assert!(!status.success(), "the faulted province stopped by itself");
            *server = province.serve(None);
            self.killed = true;
        }
    }

    /// Until nothing is in flight on either side, restarting the faulted side if it dies.
    fn settle(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(90);
        while Instant::now() < deadline {
            self.heal(Duration::from_millis(50));
            if self.wa.in_flight() == 0 && self.wb.in_flight() == 0 {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("steps still in flight after 90 s: something is stuck");
    }

    /// A window request that may hit the moment the province dies: retried on the
    /// restarted one only if it did not get through (the request itself is not repeated
    /// when it was answered).
    fn post(&mut self, on: Side, path: &str, body: serde_json::Value) -> serde_json::Value {
        for _ in 0..3 {
            let w = match on {
                Side::A => &self.wa,
                Side::B => &self.wb,
            };
            match w.post(path, body.clone()) {
                Ok(r) if r.status < 500 => {
                    assert!(r.status < 300, "{path}: {} {}", r.status, r.body);
                    return r.body;
                }
                _ => {
                    self.heal(Duration::from_secs(10));
                }
            }
        }
        panic!("{path}: no answer after restarts");
    }
}

fn journey(faulted: Side, point: &str) {
    let mut p = Pair::new(faulted, point);
    let before = p.a.env.balances()["psn:YT-H1"];
    p.post(
        Side::A,
        &format!("/staff/persons/{HOLDER}/quotas"),
        bind_body("14"),
    );

    let grant = format!("/staff/persons/{HOLDER}/quotas/14/{RELATIVE}/grant");
    // A dies after the reserve, before answering: the window sees no answer, and the
    // reservation is in A's books all the same. It is not granted a second time.
    match p.wa.post(&grant, json!({"amount": "300.00"})) {
        Ok(r) if r.status == 200 => {}
        Ok(r) => panic!("grant: {} {}", r.status, r.body),
        Err(_) => p.heal(Duration::from_secs(10)),
    }
    p.settle();
    assert_eq!(
        p.wb.quota_of(RELATIVE).map(|q| q.1),
        Some(30_000),
        "credited once"
    );

    let relative = person(RELATIVE);
    let (setl, _) = p.server_b.buy(
        &YC_PHARM,
        &relative,
        &relative.certno(),
        "2",
        &one(ITEM_A, "80.00"),
    );
    let spent = 30_000 - p.wb.quota_of(RELATIVE).expect("quota").1;
    assert!(spent > 0, "the relative paid from the quota");
    assert_eq!(spent, setl.acct);

    p.post(
        Side::A,
        &format!("/staff/persons/{HOLDER}/quotas/14/{RELATIVE}/lower"),
        json!({"amount": "50.00"}),
    );
    p.settle();
    p.post(
        Side::A,
        &format!("/staff/persons/{HOLDER}/quotas/14/{RELATIVE}/end"),
        json!({}),
    );
    p.settle();

    assert!(p.killed, "the fault point {point} was never reached");
    assert_eq!(p.wa.quota_of(HOLDER).map(|q| q.0), Some("ended".into()));
    assert_eq!(p.wb.quota_of(RELATIVE).map(|q| q.1), Some(0));
    let (code, out) = provinces::check(&p.a);
    assert_eq!(code, 0, "{out}");
    let Pair {
        a,
        b,
        server_a,
        server_b,
        ..
    } = p;
    drop(server_a);
    drop(server_b);
    assert_eq!(
        a.env.balances()["psn:YT-H1"],
        before - spent,
        "nothing applied twice, nothing lost: the holder has all but what was spent"
    );
    a.env.verify();
    b.env.verify();
}

#[test]
fn a_killed_after_reserving() {
    journey(Side::A, "after-reserve");
}

#[test]
fn a_killed_after_bs_answer_before_recording_it() {
    journey(Side::A, "after-send");
}

#[test]
fn a_killed_after_confirming() {
    journey(Side::A, "after-confirm");
}

#[test]
fn b_killed_before_crediting() {
    journey(Side::B, "before-credit");
}

#[test]
fn b_killed_after_crediting_before_answering() {
    journey(Side::B, "after-credit");
}

#[test]
fn b_killed_after_taking_a_return_out_before_answering() {
    journey(Side::B, "after-take-return");
}

#[test]
fn b_killed_after_as_answer_to_a_return_before_recording_it() {
    journey(Side::B, "after-send");
}

#[test]
fn a_killed_before_crediting_a_return() {
    journey(Side::A, "before-credit");
}

#[test]
fn a_killed_after_crediting_a_return_before_answering() {
    journey(Side::A, "after-credit");
}

#[test]
fn b_killed_after_recording_as_answer_to_a_return() {
    journey(Side::B, "after-confirm");
}
