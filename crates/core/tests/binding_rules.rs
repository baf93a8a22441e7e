//! Changes to a binding (R-S3, R-S7, R-S9, R-Z5, R-N4), one scenario per line.

mod fixtures;

use fixtures::*;
use gongji_core::binding_rules::{judge_binding_change, BindingChange, Limits};
use gongji_core::codes::Insutype;
use gongji_core::domain::BindingStatus;

/// (region, the binding's status, the holder's changes this month, the change) →
/// the status after, or the refusal's code.
fn check(
    scenario: (&str, BindingStatus, u32, BindingChange),
    expected: Result<BindingStatus, &str>,
) {
    let (region, status, changes, change) = scenario;
    let holder = person("H1", region, Insutype::Employee);
    let relative = person("R1", region, Insutype::Resident);
    let mut before = binding(1, &holder, &relative, "2025-01-01");
    before.status = status;
    let got = judge_binding_change(
        &before,
        &change,
        day("2025-03-03"),
        changes,
        &policy(region),
    )
    .map(|after| after.status)
    .map_err(|r| r.code());
    assert_eq!(got, expected, "{change:?}");
}

const ZIBO: &str = "370303";

#[test]
fn unbinding_suspending_and_lifting() {
    use BindingStatus::*;
    let unbind = |face_verified| BindingChange::Unbind { face_verified };
    let suspend = || BindingChange::Suspend {
        reason: "违规".into(),
    };
    let lift = || BindingChange::Lift {
        reason: "核实".into(),
    };
    // Zibo asks for the holder's face to unbind (R-Z5).
    check(
        (ZIBO, Active, 0, unbind(false)),
        Err("GJ-BIND-FACE-REQUIRED"),
    );
    check((ZIBO, Active, 0, unbind(true)), Ok(Ended));
    check((TAIYUAN, Ended, 0, unbind(true)), Err("GJ-BIND-NOT-ACTIVE"));
    check((TAIYUAN, Active, 0, suspend()), Ok(Suspended));
    check(
        (TAIYUAN, Suspended, 0, suspend()),
        Err("GJ-BIND-NOT-ACTIVE"),
    );
    check((TAIYUAN, Suspended, 0, lift()), Ok(Active));
    check((TAIYUAN, Active, 0, lift()), Err("GJ-BIND-NOT-ACTIVE"));
}

#[test]
fn limits_are_amounts_on_a_live_binding() {
    use BindingStatus::*;
    let limits = |y: i64| {
        BindingChange::Limits(Limits {
            per_day: Some(yuan(y)),
            ..Limits::default()
        })
    };
    check((TAIYUAN, Active, 0, limits(300)), Ok(Active));
    check((TAIYUAN, Suspended, 0, limits(300)), Ok(Suspended));
    check(
        (TAIYUAN, Active, 0, limits(-1)),
        Err("GJ-SETL-INVALID-AMOUNT"),
    );
    check((TAIYUAN, Ended, 0, limits(300)), Err("GJ-BIND-NOT-ACTIVE"));
}
