//! R-R2 through the engine: a resident's coverage comes from his premium, a settlement made
//! before he paid holds the pooled fund's share back, and 补报 pays it once he has, once
//! per settlement however often the job runs.

mod common;

use common::*;
use gongji_core::codes::{Channel, ChargeLevel, HospitalLevel, MedType};
use gongji_engine::{bubao_msgid, BubaoCommand, Command, EngineError, Outcome, Request, Settled};

const RESIDENT_OUTPATIENT_FUND: &str = "fund:140802:390102";

/// Yuncheng with its collection moved here from benefit year 2024 (the preset: 2027).
fn world() -> World {
    World::with_policies(presets_with("shanxi-yuncheng", |p| {
        if let Some(c) = p.contribution.as_mut() {
            c.coverage_from_payments = Some(2024);
        }
    }))
}

struct Family {
    holder: String,
    child: String,
    clinic: String,
    drug: String,
}

fn family(w: &mut World) -> Family {
    let holder = w.employee(YUNCHENG, yuan(2000));
    let child = w.resident(YUNCHENG);
    w.bind(&holder, &child, 21, "2023-08-01").unwrap();
    Family {
        holder,
        child,
        clinic: w.hospital(YUNCHENG, HospitalLevel::Primary),
        drug: w.item(ChargeLevel::ClassA, 0),
    }
}

/// A 60-yuan class-A outpatient bill: 36 yuan is the fund's (60%).
fn outpatient(w: &mut World, f: &Family, on: &str) -> Result<Settled, EngineError> {
    let cmd = w.visit(
        &f.child,
        &f.clinic,
        MedType::GeneralOutpatient,
        &[(&f.drug, yuan(60))],
        on,
    );
    w.settle(cmd)
}

fn run_bubao(w: &mut World, setl_id: &str, on: &str) -> Result<Outcome, EngineError> {
    w.execute(
        Request::new(Command::Bubao(BubaoCommand {
            setl_id: setl_id.to_string(),
            channel: Channel::StaffConsole,
            at: at(on),
        }))
        .with_msgid(bubao_msgid(setl_id), setl_id),
    )
}

#[test]
fn a_settlement_on_10_january_is_reimbursed_once_after_paying_on_20_february() {
    let mut w = world();
    let f = family(&mut w);
    let before = outpatient(&mut w, &f, "2024-01-10").expect("settles awaiting payment");
    // Not covered yet: he pays the whole bill, the fund's 36 yuan is held back.
    assert_eq!(
        paid(&before),
        Paid {
            fund: 0,
            own: 0,
            aid: vec![],
            cash: yuan(60)
        }
    );
    assert_eq!(w.account(RESIDENT_OUTPATIENT_FUND), 0);

    // The job before he pays: refused, nothing recorded, so it can pay later.
    refused(
        run_bubao(&mut w, &before.setl_id, "2024-02-01"),
        "GJ-BUBAO-NOT-PAID",
    );

    w.premium(&f.holder, &f.child, 2024, "general", "2024-02-20")
        .expect("paid inside the extension");
    // Covered now: a bill after paying gets the fund at once.
    let after = outpatient(&mut w, &f, "2024-02-21").expect("covered");
    assert_eq!(paid(&after).fund, yuan(36));

    // The job runs three times: it pays once.
    let first = run_bubao(&mut w, &before.setl_id, "2024-02-22").expect("bubao");
    let Outcome::Bubao(b) = first else {
        panic!("expected a 补报, got {first:?}")
    };
    assert_eq!(b.amount.fen(), yuan(36));
    assert_eq!(b.setl_date, day("2024-01-10"));
    assert_eq!(b.paid_on, day("2024-02-20"));
    for (_, _, why) in &b.lines {
        for said in [
            before.setl_id.as_str(),
            "2024-01-10",
            "2024-02-20",
            "2024年度",
        ] {
            assert!(why.contains(said), "{said} in {why}");
        }
    }
    for again in ["2024-02-23", "2024-03-01"] {
        let got = run_bubao(&mut w, &before.setl_id, again).expect("replayed");
        assert!(matches!(got, Outcome::Replayed { .. }), "{got:?}");
    }
    // The fund paid 36 for the bill after paying and 36 by 补报: 72 in all, once each.
    assert_eq!(w.account(RESIDENT_OUTPATIENT_FUND), -yuan(72));
    // Cash: he paid 60 and 24 at the counter, and got 36 back once.
    assert_eq!(w.account("cash"), -yuan(60) - yuan(24) + yuan(36));
    // Reversing the settlement now would leave the 补报 paid: the counter cannot.
    refused(w.cancel(&before, "2024-02-23"), "GJ-BUBAO-PAID-NO-CANCEL");
}

#[test]
fn after_the_window_an_unpaid_resident_is_not_covered_and_a_cancelled_bill_is_not_reimbursed() {
    let mut w = world();
    let f = family(&mut w);
    refused(
        outpatient(&mut w, &f, "2024-02-26"),
        "GJ-SETL-RESIDENT-NOT-COVERED",
    );
    let s = outpatient(&mut w, &f, "2024-01-15").expect("awaiting payment");
    w.cancel(&s, "2024-01-16").expect("cancelled");
    w.premium(&f.holder, &f.child, 2024, "general", "2024-02-20")
        .expect("paid");
    refused(
        run_bubao(&mut w, &s.setl_id, "2024-02-22"),
        "GJ-BUBAO-SETTLEMENT-CANCELLED",
    );
    assert_eq!(w.account(RESIDENT_OUTPATIENT_FUND), 0);
}

#[test]
fn years_before_the_collection_moved_here_keep_the_registry() {
    // The preset moves coverage onto payments from 2027: a 2026 bill is covered as the
    // imported registry says, with nothing held back.
    let mut w = World::new();
    let f = family(&mut w);
    let s = outpatient(&mut w, &f, "2026-03-10").expect("covered by the registry");
    assert_eq!(paid(&s).fund, yuan(36));
    assert!(s.decision.withheld.is_empty());
}
