//! Acceptance tests of the Foundation issue: one scenario per requirement of MISSION.md,
//! named after its ID, run through a real engine on SQLite with the seed presets, asserting
//! exact amounts in fen or the exact refusal code.

mod common;

use common::*;
use gongji_core::codes::{ChargeLevel, HospitalLevel, InsuStatus, Insutype, MedType, MutualAidUse};
use gongji_core::domain::BindingStatus;
use gongji_core::policy::HolderOrder;
use gongji_core::Fen;
use gongji_engine::{BindingChange, Command, Credential, Limits, Outcome, Request};

const OUT_OF_SCOPE: &str = "GJ-BIND-RELATIONSHIP-OUT-OF-SCOPE";

fn aid(holder: &str, fen: i64) -> (String, i64) {
    (holder.to_string(), fen)
}

fn cash(fen: i64) -> Paid {
    Paid {
        fund: 0,
        own: 0,
        aid: vec![],
        cash: fen,
    }
}

fn from_holders(aids: Vec<(String, i64)>, cash: i64) -> Paid {
    Paid {
        fund: 0,
        own: 0,
        aid: aids,
        cash,
    }
}

// ---------------------------------------------------------------- 000 Yantai

#[test]
fn r_y1_yantai_siblings_only_from_2025_09_01() {
    let mut w = World::new();
    let holder = w.employee(YANTAI, yuan(1000));
    let spouse = w.resident(YANTAI);
    let sibling = w.resident(YANTAI);
    let grandparent = w.resident(YANTAI);
    let grandchild = w.resident(YANTAI);

    // Judged by the policy in force on the binding's date: the old scope on 2025-08-31.
    w.bind(&holder, &spouse, 12, "2025-08-31").unwrap();
    refused(w.bind(&holder, &sibling, 73, "2025-08-31"), OUT_OF_SCOPE);
    refused(
        w.bind(&holder, &grandparent, 63, "2025-08-31"),
        OUT_OF_SCOPE,
    );
    refused(w.bind(&holder, &grandchild, 44, "2025-08-31"), OUT_OF_SCOPE);

    // The widened scope from 2025-09-01: siblings, (maternal) grandparents and grandchildren.
    w.bind(&holder, &sibling, 73, "2025-09-01").unwrap();
    w.bind(&holder, &grandparent, 63, "2025-09-01").unwrap();
    w.bind(&holder, &grandchild, 44, "2025-09-01").unwrap();

    // Still not near relatives: in-law parents and siblings' spouses.
    let in_law = w.resident(YANTAI);
    let sibling_spouse = w.resident(YANTAI);
    refused(w.bind(&holder, &in_law, 55, "2025-09-01"), OUT_OF_SCOPE);
    refused(
        w.bind(&holder, &sibling_spouse, 74, "2025-09-01"),
        OUT_OF_SCOPE,
    );

    // Zibo kept spouse, parents and children until the national widening (R-N1, 2024):
    // a sibling is refused in 2023 and accepted from 2024.
    let zibo_holder = w.employee(ZIBO, 0);
    let zibo_sibling = w.resident(ZIBO);
    refused(
        w.bind(&zibo_holder, &zibo_sibling, 73, "2023-10-01"),
        OUT_OF_SCOPE,
    );
    w.bind(&zibo_holder, &zibo_sibling, 73, "2025-10-01")
        .unwrap();

    // The sibling's binding carries a payment.
    let shop = w.pharmacy(YANTAI);
    let a = w.item(ChargeLevel::ClassA, 0);
    check(
        w.settle(w.bill(&sibling, &shop, &[(&a, 12_345)], "2025-09-02")),
        from_holders(vec![aid(&holder, 12_345)], 0),
    );
    assert_eq!(w.balance(&holder), yuan(1000) - 12_345);
    w.verify();
}

#[test]
fn r_y2_holder_pays_relative_premium_and_medical_costs() {
    // Yantai has no contribution table of its own in the presets; give it Yuncheng's
    // standards so the premium use can be exercised (policy is data).
    let standards = gongji_policy::presets()
        .by_id("shanxi-yuncheng")
        .unwrap()
        .contribution
        .clone();
    let mut w = World::with_policies(presets_with("shandong-yantai", |p| {
        p.contribution = standards;
    }));
    let holder = w.employee(YANTAI, yuan(1000));
    let child = w.resident(YANTAI);
    w.bind(&holder, &child, 21, "2025-09-01").unwrap();

    // (a) the relative's resident premium for 2026, paid in the 2025 window.
    let p = w
        .premium(&holder, &child, 2026, "general", "2025-10-10")
        .unwrap();
    assert_eq!(p.amount, Fen::from_fen(38_000));
    assert_eq!(p.holder_balance_after, Fen::from_fen(62_000));
    assert_eq!(w.balance(&holder), 62_000);
    assert_eq!(w.account("premium:370602:390"), 38_000);

    // (b) the relative's personal burden at a designated institution.
    let shop = w.pharmacy(YANTAI);
    let a = w.item(ChargeLevel::ClassA, 0);
    check(
        w.settle(w.bill(&child, &shop, &[(&a, 15_000)], "2025-10-11")),
        from_holders(vec![aid(&holder, 15_000)], 0),
    );
    assert_eq!(w.balance(&holder), 47_000);
    w.verify();

    // A region that allows only medical costs refuses the premium use.
    let mut w = World::with_policies(presets_with("shandong-yantai", |p| {
        p.payment.mutual_aid_uses = vec![MutualAidUse::MedicalCost];
    }));
    let holder = w.employee(YANTAI, yuan(1000));
    let child = w.resident(YANTAI);
    w.bind(&holder, &child, 21, "2025-09-01").unwrap();
    refused(
        w.premium(&holder, &child, 2026, "general", "2025-10-10"),
        "GJ-PREMIUM-USE-NOT-ALLOWED",
    );
    assert_eq!(w.balance(&holder), yuan(1000));
}

#[test]
fn r_y3_relatives_insured_inside_shandong_only() {
    let mut w = World::new();
    let holder = w.employee(YANTAI, yuan(500));
    let in_jinan = w.resident(JINAN);
    let in_taiyuan = w.resident(TAIYUAN);
    w.bind(&holder, &in_jinan, 21, "2025-09-01").unwrap();
    refused(
        w.bind(&holder, &in_taiyuan, 21, "2025-09-01"),
        "GJ-BIND-DIFFERENT-PROVINCE",
    );

    let a = w.item(ChargeLevel::ClassA, 0);
    // Inside Shandong the Yantai holder pays for the Jinan relative.
    let jinan_shop = w.pharmacy(JINAN);
    check(
        w.settle(w.bill(&in_jinan, &jinan_shop, &[(&a, 10_000)], "2025-09-10")),
        from_holders(vec![aid(&holder, 10_000)], 0),
    );
    // Outside the province mutual aid does not apply: cash.
    let taiyuan_shop = w.pharmacy(TAIYUAN);
    check(
        w.settle(w.bill(&in_jinan, &taiyuan_shop, &[(&a, 10_000)], "2025-09-11")),
        cash(10_000),
    );
    assert_eq!(w.balance(&holder), yuan(400));
    w.verify();
}

// ---------------------------------------------------------------- 001 Shanxi

#[test]
fn r_s1_holder_and_relative_eligibility() {
    let mut w = World::new();
    let holder = w.employee(TAIYUAN, yuan(2000));

    // The holder must be employee-insured and not public-medical.
    let resident_holder = w.resident(TAIYUAN);
    let r = w.resident(TAIYUAN);
    refused(
        w.bind(&resident_holder, &r, 21, "2025-01-01"),
        "GJ-BIND-HOLDER-NOT-EMPLOYEE",
    );
    let public_holder = w.employee(TAIYUAN, yuan(2000));
    w.update_person(&public_holder, |p| p.public_medical = true);
    refused(
        w.bind(&public_holder, &r, 21, "2025-01-01"),
        "GJ-BIND-HOLDER-PUBLIC-MEDICAL",
    );

    // The relative: spouse, child or parent, insured (employee or resident), not public-medical.
    let public_relative = w.resident(TAIYUAN);
    w.update_person(&public_relative, |p| p.public_medical = true);
    refused(
        w.bind(&holder, &public_relative, 21, "2025-01-01"),
        "GJ-BIND-RELATIVE-PUBLIC-MEDICAL",
    );
    let uninsured = w.resident(TAIYUAN);
    w.set_status(&uninsured, InsuStatus::Terminated);
    refused(
        w.bind(&holder, &uninsured, 21, "2025-01-01"),
        "GJ-BIND-RELATIVE-NOT-INSURED",
    );
    let ltc_only = w.person(TAIYUAN, Insutype::LongTermCare);
    refused(
        w.bind(&holder, &ltc_only, 21, "2025-01-01"),
        "GJ-BIND-RELATIVE-INSUTYPE",
    );
    // 兄, 祖父, 孙子: outside spouse, child and parent before the national widening
    // (R-N1, 2024); 岳母 (an in-law parent) is no near relative, then or now.
    for code in [71, 61, 41] {
        let r = w.resident(TAIYUAN);
        refused(w.bind(&holder, &r, code, "2023-12-31"), OUT_OF_SCOPE);
    }
    let in_law = w.resident(TAIYUAN);
    refused(w.bind(&holder, &in_law, 56, "2025-01-01"), OUT_OF_SCOPE);

    let spouse = w.employee(TAIYUAN, 0);
    let child = w.resident(TAIYUAN);
    let mother = w.resident(TAIYUAN);
    w.bind(&holder, &spouse, 12, "2025-01-01").unwrap();
    w.bind(&holder, &child, 21, "2025-01-01").unwrap();
    w.bind(&holder, &mother, 52, "2025-01-01").unwrap();

    // The public-medical exclusion is Shanxi's: in Yantai such a holder may bind.
    let yantai_public = w.employee(YANTAI, 0);
    w.update_person(&yantai_public, |p| p.public_medical = true);
    let yantai_child = w.resident(YANTAI);
    w.bind(&yantai_public, &yantai_child, 21, "2025-01-01")
        .unwrap();
}

#[test]
fn r_s2_only_the_balance_above_1000_yuan_is_shared() {
    let mut w = World::new();
    let holder = w.employee(TAIYUAN, yuan(1500));
    let child = w.resident(TAIYUAN);
    w.bind(&holder, &child, 21, "2025-01-01").unwrap();
    let shop = w.pharmacy(TAIYUAN);
    let a = w.item(ChargeLevel::ClassA, 0);

    // Authorisable = 1,500 − 1,000 = 500 yuan.
    let s = check(
        w.settle(w.with_card(
            w.bill(&child, &shop, &[(&a, yuan(800))], "2025-03-03"),
            &holder,
        )),
        from_holders(vec![aid(&holder, yuan(500))], yuan(300)),
    );
    assert_eq!(
        s.decision.allocation.draws[0].reserve,
        Fen::from_fen(yuan(1000))
    );
    assert_eq!(w.balance(&holder), yuan(1000));

    // At the reserve nothing more is shared.
    check(
        w.settle(w.with_card(
            w.bill(&child, &shop, &[(&a, yuan(50))], "2025-03-04"),
            &holder,
        )),
        cash(yuan(50)),
    );
    // One fen above it, one fen is shared.
    w.fund(&holder, 1);
    check(
        w.settle(w.with_card(
            w.bill(&child, &shop, &[(&a, yuan(50))], "2025-03-05"),
            &holder,
        )),
        from_holders(vec![aid(&holder, 1)], yuan(50) - 1),
    );
    assert_eq!(w.balance(&holder), yuan(1000));
    w.verify();
}

#[test]
fn r_s3_per_relative_limits() {
    let mut w = World::new();
    let holder = w.employee(TAIYUAN, yuan(10_000));
    let child = w.resident(TAIYUAN);
    let mut cmd = w.bind_cmd(&holder, &child, 21, "2025-01-01");
    cmd.limit_per_payment = Some(Fen::from_fen(yuan(200)));
    cmd.limit_per_month = Some(Fen::from_fen(yuan(300)));
    let binding = w.run_bind(cmd).unwrap();
    let shop = w.pharmacy(TAIYUAN);
    let a = w.item(ChargeLevel::ClassA, 0);
    let buy = |w: &mut World, amount: i64, on: &str| {
        let cmd = w.with_card(w.bill(&child, &shop, &[(&a, amount)], on), &holder);
        w.settle(cmd)
    };

    // 200 per payment, 300 per month.
    check(
        buy(&mut w, yuan(250), "2025-03-03"),
        from_holders(vec![aid(&holder, yuan(200))], yuan(50)),
    );
    check(
        buy(&mut w, yuan(250), "2025-03-10"),
        from_holders(vec![aid(&holder, yuan(100))], yuan(150)),
    );
    check(buy(&mut w, yuan(50), "2025-03-20"), cash(yuan(50)));
    // A new month.
    check(
        buy(&mut w, yuan(250), "2025-04-01"),
        from_holders(vec![aid(&holder, yuan(200))], yuan(50)),
    );

    // The holder changes the limits: no per-payment limit, 500 a month.
    let changed = w
        .change(
            binding.id,
            BindingChange::Limits(Limits {
                per_month: Some(Fen::from_fen(yuan(500))),
                ..Limits::default()
            }),
            "2025-04-02",
        )
        .unwrap();
    assert_eq!(changed.limit_per_month, Some(Fen::from_fen(yuan(500))));
    let s = check(
        buy(&mut w, yuan(400), "2025-04-02"),
        from_holders(vec![aid(&holder, yuan(300))], yuan(100)),
    );
    // A cancel gives the month's limit back.
    w.cancel(&s, "2025-04-02").unwrap();
    check(
        buy(&mut w, yuan(400), "2025-04-03"),
        from_holders(vec![aid(&holder, yuan(300))], yuan(100)),
    );
    assert_eq!(w.balance(&holder), yuan(10_000 - 200 - 100 - 200 - 300));
    w.verify();

    // Where the policy has no per-relative limits, setting one is refused.
    let mut w = World::with_policies(presets_with("shandong-yantai", |p| {
        p.payment.per_relative_limits = false;
    }));
    let yh = w.employee(YANTAI, 0);
    let yc = w.resident(YANTAI);
    let mut cmd = w.bind_cmd(&yh, &yc, 21, "2025-09-01");
    cmd.limit_per_payment = Some(Fen::from_fen(yuan(100)));
    refused(w.run_bind(cmd), "GJ-BIND-LIMITS-NOT-ALLOWED");
    let b = w.bind(&yh, &yc, 21, "2025-09-01").unwrap();
    refused(
        w.change(
            b.id,
            BindingChange::Limits(Limits {
                per_payment: Some(Fen::from_fen(yuan(100))),
                ..Limits::default()
            }),
            "2025-09-02",
        ),
        "GJ-BIND-LIMITS-NOT-ALLOWED",
    );
}

#[test]
fn r_s3_per_day_and_per_year_limits() {
    let mut w = World::new();
    let holder = w.employee(TAIYUAN, yuan(10_000));
    let child = w.resident(TAIYUAN);
    let binding = w.bind(&holder, &child, 21, "2025-01-01").unwrap();
    let limits = Limits {
        per_day: Some(Fen::from_fen(yuan(300))),
        per_year: Some(Fen::from_fen(yuan(500))),
        ..Limits::default()
    };
    let changed = w
        .change(binding.id, BindingChange::Limits(limits), "2025-03-01")
        .unwrap();
    assert_eq!(Limits::of(&changed), limits);
    let shop = w.pharmacy(TAIYUAN);
    let a = w.item(ChargeLevel::ClassA, 0);
    let buy = |w: &mut World, amount: i64, on: &str| {
        let cmd = w.with_card(w.bill(&child, &shop, &[(&a, amount)], on), &holder);
        w.settle(cmd)
    };

    // 300 a day: the second payment of the day draws only what the day has left.
    check(
        buy(&mut w, yuan(200), "2025-03-03"),
        from_holders(vec![aid(&holder, yuan(200))], 0),
    );
    let second = check(
        buy(&mut w, yuan(200), "2025-03-03"),
        from_holders(vec![aid(&holder, yuan(100))], yuan(100)),
    );
    // A cancel gives the day (and the year) back.
    w.cancel(&second, "2025-03-03").unwrap();
    check(
        buy(&mut w, yuan(50), "2025-03-03"),
        from_holders(vec![aid(&holder, yuan(50))], 0),
    );
    // A new day, but 500 a year: 250 of the year is used, 250 is left.
    check(
        buy(&mut w, yuan(300), "2025-03-04"),
        from_holders(vec![aid(&holder, yuan(250))], yuan(50)),
    );
    check(buy(&mut w, yuan(100), "2025-03-05"), cash(yuan(100)));
    // A new year starts from zero.
    check(
        buy(&mut w, yuan(100), "2026-01-02"),
        from_holders(vec![aid(&holder, yuan(100))], 0),
    );
    assert_eq!(w.balance(&holder), yuan(10_000 - 200 - 50 - 250 - 100));
    w.verify();

    // The limits and what was drawn are stored: an engine opened on the store again
    // decides the same.
    let snapshot = gongji_store::Store::load_snapshot(w.engine.store_mut()).unwrap();
    let reopened = gongji_engine::state::State::from_snapshot(snapshot);
    assert_eq!(
        reopened.bindings[&binding.id],
        w.engine.state().bindings[&binding.id]
    );
    assert_eq!(reopened.binding_usage, w.engine.state().binding_usage);
    assert_eq!(
        reopened.binding_used(binding.id, "2025"),
        Fen::from_fen(yuan(500))
    );
    assert_eq!(
        reopened.binding_used(binding.id, "2025-03-03"),
        Fen::from_fen(yuan(250))
    );
}

#[test]
fn r_s4_own_account_first_then_mutual_aid() {
    let mut w = World::new();
    let holder = w.employee(TAIYUAN, yuan(5000));
    let spouse = w.employee(TAIYUAN, yuan(300));
    w.bind(&holder, &spouse, 12, "2025-01-01").unwrap();
    let shop = w.pharmacy(TAIYUAN);
    let a = w.item(ChargeLevel::ClassA, 0);

    check(
        w.settle(w.with_card(
            w.bill(&spouse, &shop, &[(&a, yuan(1000))], "2025-03-03"),
            &holder,
        )),
        Paid {
            fund: 0,
            own: yuan(300),
            aid: vec![aid(&holder, yuan(700))],
            cash: 0,
        },
    );
    assert_eq!(w.balance(&spouse), 0);
    assert_eq!(w.balance(&holder), yuan(4300));

    // acct_used_flag 0: no account at all, even with the holder's card.
    let mut c = w.with_card(
        w.bill(&spouse, &shop, &[(&a, yuan(100))], "2025-03-04"),
        &holder,
    );
    c.account_use = gongji_core::codes::AccountUse::CashOnly;
    check(w.settle(c), cash(yuan(100)));

    // Without the holder's card, the own account only.
    w.fund(&spouse, yuan(50));
    check(
        w.settle(w.bill(&spouse, &shop, &[(&a, yuan(20))], "2025-03-05")),
        Paid {
            fund: 0,
            own: yuan(20),
            aid: vec![],
            cash: 0,
        },
    );
    check(
        w.settle(w.bill(&spouse, &shop, &[(&a, yuan(100))], "2025-03-06")),
        Paid {
            fund: 0,
            own: yuan(30),
            aid: vec![],
            cash: yuan(70),
        },
    );
    assert_eq!(w.balance(&holder), yuan(4300));
    w.verify();
}

#[test]
fn r_s5_provincial_only() {
    let mut w = World::new();
    let holder = w.employee(TAIYUAN, yuan(2000));
    let in_jinan = w.resident(JINAN);
    let in_yuncheng = w.resident(YUNCHENG);
    refused(
        w.bind(&holder, &in_jinan, 21, "2025-01-01"),
        "GJ-BIND-DIFFERENT-PROVINCE",
    );
    w.bind(&holder, &in_yuncheng, 21, "2025-01-01").unwrap();

    let a = w.item(ChargeLevel::ClassA, 0);
    let jinan_shop = w.pharmacy(JINAN);
    let yuncheng_shop = w.pharmacy(YUNCHENG);
    check(
        w.settle(w.with_card(
            w.bill(&in_yuncheng, &jinan_shop, &[(&a, yuan(100))], "2025-03-03"),
            &holder,
        )),
        cash(yuan(100)),
    );
    check(
        w.settle(w.with_card(
            w.bill(
                &in_yuncheng,
                &yuncheng_shop,
                &[(&a, yuan(100))],
                "2025-03-04",
            ),
            &holder,
        )),
        from_holders(vec![aid(&holder, yuan(100))], 0),
    );
    assert_eq!(w.balance(&holder), yuan(1900));
    w.verify();
}

#[test]
fn r_s8_one_spouse_one_father_one_mother_children_unlimited() {
    let mut w = World::new();
    let h = w.employee(TAIYUAN, 0);
    let rel = |w: &mut World| w.resident(TAIYUAN);

    let spouse = rel(&mut w);
    let spouse_binding = w.bind(&h, &spouse, 12, "2025-01-01").unwrap();
    let second_spouse = rel(&mut w);
    refused(
        w.bind(&h, &second_spouse, 11, "2025-01-02"),
        "GJ-BIND-SPOUSE-LIMIT",
    );

    let father = rel(&mut w);
    w.bind(&h, &father, 51, "2025-01-01").unwrap();
    let other_father = rel(&mut w);
    refused(
        w.bind(&h, &other_father, 51, "2025-01-02"),
        "GJ-BIND-PARENT-LIMIT",
    );
    let mother = rel(&mut w);
    w.bind(&h, &mother, 52, "2025-01-01").unwrap();
    let third_parent = rel(&mut w);
    refused(
        w.bind(&h, &third_parent, 50, "2025-01-02"),
        "GJ-BIND-PARENT-LIMIT",
    );

    // A generic parent (50) takes either place, never more than two parents in all.
    let h2 = w.employee(TAIYUAN, 0);
    let (p1, p2, p3) = (rel(&mut w), rel(&mut w), rel(&mut w));
    w.bind(&h2, &p1, 50, "2025-01-01").unwrap();
    w.bind(&h2, &p2, 51, "2025-01-01").unwrap();
    refused(w.bind(&h2, &p3, 52, "2025-01-01"), "GJ-BIND-PARENT-LIMIT");
    let h3 = w.employee(TAIYUAN, 0);
    let (q1, q2, q3) = (rel(&mut w), rel(&mut w), rel(&mut w));
    w.bind(&h3, &q1, 50, "2025-01-01").unwrap();
    w.bind(&h3, &q2, 50, "2025-01-01").unwrap();
    refused(w.bind(&h3, &q3, 50, "2025-01-01"), "GJ-BIND-PARENT-LIMIT");

    // Any number of children.
    for code in [20, 21, 22, 30, 31, 32] {
        let c = rel(&mut w);
        w.bind(&h, &c, code, "2025-01-01").unwrap();
    }

    // Once the spouse binding has ended, another spouse may be bound.
    w.unbind(spouse_binding.id, "2025-02-01").unwrap();
    w.bind(&h, &second_spouse, 11, "2025-02-02").unwrap();
}

#[test]
fn r_s9_valid_by_time_and_end_only_earlier() {
    let mut w = World::new();
    let holder = w.employee(TAIYUAN, yuan(5000));
    let child = w.resident(TAIYUAN);
    let shop = w.pharmacy(TAIYUAN);
    let a = w.item(ChargeLevel::ClassA, 0);

    let mut cmd = w.bind_cmd(&holder, &child, 21, "2025-01-01");
    cmd.end = Some(day("2024-12-31"));
    refused(w.run_bind(cmd), "GJ-BIND-END-BEFORE-BEGIN");

    let mut cmd = w.bind_cmd(&holder, &child, 21, "2025-01-01");
    cmd.end = Some(day("2025-06-30"));
    let b = w.run_bind(cmd).unwrap();
    assert!(!b.is_valid_on(day("2024-12-31")));
    assert!(b.is_valid_on(day("2025-01-01")));
    assert!(b.is_valid_on(day("2025-06-30")));
    assert!(!b.is_valid_on(day("2025-07-01")));

    check(
        w.settle(w.with_card(
            w.bill(&child, &shop, &[(&a, yuan(100))], "2025-03-01"),
            &holder,
        )),
        from_holders(vec![aid(&holder, yuan(100))], 0),
    );
    // After its end the holder's card no longer authorises anything for this patient.
    refused(
        w.settle(w.with_card(
            w.bill(&child, &shop, &[(&a, yuan(100))], "2025-07-01"),
            &holder,
        )),
        "GJ-SETL-CREDENTIAL-MISMATCH",
    );

    // The end moves only earlier.
    let moved = w
        .change(b.id, BindingChange::EndOn(day("2025-05-31")), "2025-04-01")
        .unwrap();
    assert_eq!(moved.end, Some(day("2025-05-31")));
    refused(
        w.change(b.id, BindingChange::EndOn(day("2025-06-15")), "2025-04-02"),
        "GJ-BIND-END-ONLY-EARLIER",
    );
    refused(
        w.change(b.id, BindingChange::EndOn(day("2024-12-01")), "2025-04-02"),
        "GJ-BIND-END-BEFORE-BEGIN",
    );
    refused(
        w.settle(w.with_card(
            w.bill(&child, &shop, &[(&a, yuan(100))], "2025-06-10"),
            &holder,
        )),
        "GJ-SETL-CREDENTIAL-MISMATCH",
    );
    // An open-ended binding may be given an end.
    let spouse = w.resident(TAIYUAN);
    let open = w.bind(&holder, &spouse, 12, "2025-01-01").unwrap();
    assert_eq!(open.end, None);
    let ended = w
        .change(
            open.id,
            BindingChange::EndOn(day("2026-01-01")),
            "2025-04-01",
        )
        .unwrap();
    assert_eq!(ended.end, Some(day("2026-01-01")));

    // Where the policy allows it (Yantai), an end may move later.
    let yh = w.employee(YANTAI, 0);
    let yc = w.resident(YANTAI);
    let mut cmd = w.bind_cmd(&yh, &yc, 21, "2025-09-01");
    cmd.end = Some(day("2025-12-31"));
    let yb = w.run_bind(cmd).unwrap();
    w.change(yb.id, BindingChange::EndOn(day("2026-12-31")), "2025-09-02")
        .unwrap();

    assert_eq!(w.balance(&holder), yuan(4900));
    w.verify();
}

#[test]
fn r_s10_binding_ends_with_either_sides_insurance() {
    let mut w = World::new();
    let holder = w.employee(YUNCHENG, yuan(3000));
    let child = w.resident(YUNCHENG);
    let other_child = w.resident(YUNCHENG);
    w.bind(&holder, &child, 21, "2025-01-01").unwrap();
    w.bind(&holder, &other_child, 22, "2025-01-01").unwrap();
    let shop = w.pharmacy(YUNCHENG);
    let a = w.item(ChargeLevel::ClassA, 0);

    w.premium(&holder, &child, 2026, "general", "2025-10-10")
        .unwrap();
    check(
        w.settle(w.with_card(
            w.bill(&other_child, &shop, &[(&a, yuan(100))], "2025-10-11"),
            &holder,
        )),
        from_holders(vec![aid(&holder, yuan(100))], 0),
    );
    assert_eq!(w.balance(&holder), yuan(3000 - 380 - 100));

    // The holder's insurance ends: his bindings end with it (R-S10), so his card no longer
    // authorises anything for anyone.
    w.set_status(&holder, InsuStatus::Terminated);
    refused(
        w.settle(w.with_card(
            w.bill(&other_child, &shop, &[(&a, yuan(100))], "2025-10-12"),
            &holder,
        )),
        "GJ-SETL-CREDENTIAL-MISMATCH",
    );
    refused(
        w.premium(&holder, &other_child, 2026, "general", "2025-10-12"),
        "GJ-PREMIUM-NOT-BOUND",
    );
    let newcomer = w.resident(YUNCHENG);
    refused(
        w.bind(&holder, &newcomer, 23, "2025-10-12"),
        "GJ-BIND-HOLDER-INSURANCE-INTERRUPTED",
    );
    assert_eq!(w.balance(&holder), yuan(2520));

    // The relative's insurance ends: the binding carries nothing for him either.
    let holder2 = w.employee(YUNCHENG, yuan(3000));
    let child2 = w.resident(YUNCHENG);
    w.bind(&holder2, &child2, 21, "2025-01-01").unwrap();
    w.set_status(&child2, InsuStatus::Terminated);
    refused(
        w.premium(&holder2, &child2, 2026, "general", "2025-10-10"),
        "GJ-PREMIUM-NOT-BOUND",
    );
    refused(
        w.settle(w.with_card(
            w.bill(&child2, &shop, &[(&a, yuan(100))], "2025-10-11"),
            &holder2,
        )),
        "GJ-SETL-PERSON-NOT-INSURED",
    );
    assert_eq!(w.balance(&holder2), yuan(3000));

    // Ended means ended: when the relative is insured again, the old binding stays ended
    // and a new one must be made (with a new commitment).
    w.set_status(&child2, InsuStatus::Normal);
    refused(
        w.settle(w.with_card(
            w.bill(&child2, &shop, &[(&a, yuan(100))], "2025-10-13"),
            &holder2,
        )),
        "GJ-SETL-CREDENTIAL-MISMATCH",
    );
    assert_eq!(w.balance(&holder2), yuan(3000));
    w.bind(&holder2, &child2, 21, "2025-10-14").unwrap();
    check(
        w.settle(w.with_card(
            w.bill(&child2, &shop, &[(&a, yuan(100))], "2025-10-15"),
            &holder2,
        )),
        from_holders(vec![aid(&holder2, yuan(100))], 0),
    );
    w.verify();
}

#[test]
fn r_s12_holders_credential_authorises_the_draw() {
    let mut w = World::new();
    let holder = w.employee(TAIYUAN, yuan(3000));
    let holder2 = w.employee(TAIYUAN, yuan(3000));
    let stranger = w.employee(TAIYUAN, yuan(3000));
    let child = w.resident(TAIYUAN);
    w.bind(&holder, &child, 21, "2025-01-01").unwrap();
    w.bind(&holder2, &child, 21, "2025-02-01").unwrap();
    let shop = w.pharmacy(TAIYUAN);
    let a = w.item(ChargeLevel::ClassA, 0);
    let bill = |w: &World, on: &str| w.bill(&child, &shop, &[(&a, yuan(100))], on);

    // No credential, or the patient's own: no mutual aid in Shanxi.
    check(w.settle(bill(&w, "2025-03-01")), cash(yuan(100)));
    check(
        w.settle(w.with_card(bill(&w, "2025-03-02"), &child)),
        cash(yuan(100)),
    );
    // The holder's social-security card, or his e-voucher: his account pays.
    check(
        w.settle(w.with_card(bill(&w, "2025-03-03"), &holder)),
        from_holders(vec![aid(&holder, yuan(100))], 0),
    );
    let mut c = bill(&w, "2025-03-04");
    c.credential = Some(Credential {
        cert_type: gongji_core::codes::CertType::EVoucher,
        number: holder.clone(),
    });
    check(w.settle(c), from_holders(vec![aid(&holder, yuan(100))], 0));
    // The second holder's card: only he pays, although the first was bound earlier.
    check(
        w.settle(w.with_card(bill(&w, "2025-03-05"), &holder2)),
        from_holders(vec![aid(&holder2, yuan(100))], 0),
    );
    // Asking for mutual aid (acct_used_flag 2) without the holder's credential is not enough.
    let mut c = bill(&w, "2025-03-05");
    c.account_use = gongji_core::codes::AccountUse::OwnThenMutualAid;
    check(w.settle(c), cash(yuan(100)));
    // Someone else's card is refused.
    refused(
        w.settle(w.with_card(bill(&w, "2025-03-06"), &stranger)),
        "GJ-SETL-CREDENTIAL-MISMATCH",
    );
    assert_eq!(w.balance(&holder), yuan(2800));
    assert_eq!(w.balance(&holder2), yuan(2900));
    assert_eq!(w.balance(&stranger), yuan(3000));

    // In Zibo the patient's own credential (or none) suffices.
    let zh = w.employee(ZIBO, yuan(3000));
    let zc = w.resident(ZIBO);
    w.bind(&zh, &zc, 21, "2025-01-01").unwrap();
    let zshop = w.pharmacy(ZIBO);
    check(
        w.settle(w.bill(&zc, &zshop, &[(&a, yuan(100))], "2025-03-01")),
        from_holders(vec![aid(&zh, yuan(100))], 0),
    );
    check(
        w.settle(w.with_card(w.bill(&zc, &zshop, &[(&a, yuan(100))], "2025-03-02"), &zc)),
        from_holders(vec![aid(&zh, yuan(100))], 0),
    );
    w.verify();
}

// ---------------------------------------------------------------- 003 Zibo

#[test]
fn r_z1_zibo_scope_and_participating_institutions() {
    let mut w = World::new();
    let holder = w.employee(ZIBO, yuan(1000));
    let (spouse, father, child) = (w.resident(ZIBO), w.resident(ZIBO), w.resident(ZIBO));
    w.bind(&holder, &spouse, 12, "2025-01-01").unwrap();
    w.bind(&holder, &father, 51, "2025-01-01").unwrap();
    w.bind(&holder, &child, 21, "2025-01-01").unwrap();
    // Siblings, grandparents and grandchildren only from the national widening (R-N1, 2024).
    for code in [73, 61, 41] {
        let r = w.resident(ZIBO);
        refused(w.bind(&holder, &r, code, "2023-10-01"), OUT_OF_SCOPE);
    }

    let a = w.item(ChargeLevel::ClassA, 0);
    let taking_part = w.pharmacy(ZIBO);
    let not_taking_part = w.institution_with(
        ZIBO,
        gongji_core::codes::InstitutionKind::Pharmacy,
        HospitalLevel::Primary,
        false,
    );
    check(
        w.settle(w.bill(&child, &not_taking_part, &[(&a, yuan(60))], "2025-03-01")),
        cash(yuan(60)),
    );
    check(
        w.settle(w.bill(&child, &taking_part, &[(&a, yuan(60))], "2025-03-01")),
        from_holders(vec![aid(&holder, yuan(60))], 0),
    );
    assert_eq!(w.balance(&holder), yuan(940));
    w.verify();
}

#[test]
fn r_z2_one_holder_per_relative_several_relatives_per_holder() {
    let mut w = World::new();
    let a_holder = w.employee(ZIBO, yuan(1000));
    let b_holder = w.employee(ZIBO, yuan(1000));
    let (spouse, child1, child2) = (w.resident(ZIBO), w.resident(ZIBO), w.resident(ZIBO));
    w.bind(&a_holder, &spouse, 12, "2025-01-01").unwrap();
    let b1 = w.bind(&a_holder, &child1, 21, "2025-01-01").unwrap();
    w.bind(&a_holder, &child2, 22, "2025-01-01").unwrap();

    refused(
        w.bind(&b_holder, &child1, 21, "2025-02-01"),
        "GJ-BIND-RELATIVE-ALREADY-BOUND",
    );
    // After A unbinds, B may bind the child, and B alone pays.
    let ended = w.unbind(b1.id, "2025-02-01").unwrap();
    assert_eq!(ended.status, BindingStatus::Ended);
    w.bind(&b_holder, &child1, 21, "2025-02-02").unwrap();
    let shop = w.pharmacy(ZIBO);
    let a = w.item(ChargeLevel::ClassA, 0);
    check(
        w.settle(w.bill(&child1, &shop, &[(&a, yuan(70))], "2025-02-03")),
        from_holders(vec![aid(&b_holder, yuan(70))], 0),
    );
    assert_eq!(
        (w.balance(&a_holder), w.balance(&b_holder)),
        (yuan(1000), yuan(930))
    );
    w.verify();
}

#[test]
fn r_z3_relative_already_bound_refused() {
    let mut w = World::new();
    let a = w.employee(ZIBO, 0);
    let r = w.employee(ZIBO, 0);
    w.bind(&a, &r, 12, "2025-01-01").unwrap();

    // The relative is already bound by another holder.
    let b = w.employee(ZIBO, 0);
    refused(
        w.bind(&b, &r, 12, "2025-01-02"),
        "GJ-BIND-RELATIVE-ALREADY-BOUND",
    );
    // The relative is already a holder.
    let c = w.employee(ZIBO, 0);
    refused(
        w.bind(&c, &a, 51, "2025-01-02"),
        "GJ-BIND-RELATIVE-IS-HOLDER",
    );
    // The holder is already someone's relative.
    let d = w.resident(ZIBO);
    refused(
        w.bind(&r, &d, 21, "2025-01-02"),
        "GJ-BIND-HOLDER-IS-RELATIVE",
    );

    // Bindings that are not one-way elsewhere: in Jinan a relative may hold in turn.
    let ja = w.employee(JINAN, 0);
    let jr = w.employee(JINAN, 0);
    let jd = w.resident(JINAN);
    w.bind(&ja, &jr, 12, "2025-01-01").unwrap();
    w.bind(&jr, &jd, 21, "2025-01-02").unwrap();
}

#[test]
fn r_z4_interrupted_holder_neither_binds_nor_pays() {
    let mut w = World::new();
    let paused = w.employee(ZIBO, yuan(1000));
    w.set_status(&paused, InsuStatus::Paused);
    let r = w.resident(ZIBO);
    refused(
        w.bind(&paused, &r, 21, "2025-01-01"),
        "GJ-BIND-HOLDER-INSURANCE-INTERRUPTED",
    );

    let holder = w.employee(ZIBO, yuan(1000));
    let child = w.resident(ZIBO);
    w.bind(&holder, &child, 21, "2025-01-01").unwrap();
    let shop = w.pharmacy(ZIBO);
    let a = w.item(ChargeLevel::ClassA, 0);
    check(
        w.settle(w.bill(&child, &shop, &[(&a, yuan(100))], "2025-03-01")),
        from_holders(vec![aid(&holder, yuan(100))], 0),
    );
    // 减员: while interrupted, his relatives cannot spend from his account.
    w.set_status(&holder, InsuStatus::Paused);
    check(
        w.settle(w.bill(&child, &shop, &[(&a, yuan(100))], "2025-03-02")),
        cash(yuan(100)),
    );
    refused(
        w.premium(&holder, &child, 2026, "general", "2025-10-10"),
        "GJ-BIND-HOLDER-INSURANCE-INTERRUPTED",
    );
    // Resumed: mutual aid again.
    w.set_status(&holder, InsuStatus::Normal);
    check(
        w.settle(w.bill(&child, &shop, &[(&a, yuan(100))], "2025-03-03")),
        from_holders(vec![aid(&holder, yuan(100))], 0),
    );
    assert_eq!(w.balance(&holder), yuan(800));

    // In Jinan an interrupted employee may still bind (the rule is Zibo's).
    let jp = w.employee(JINAN, 0);
    w.set_status(&jp, InsuStatus::Paused);
    let jr = w.resident(JINAN);
    w.bind(&jp, &jr, 21, "2025-01-01").unwrap();
    w.verify();
}

#[test]
fn r_z5_face_verification_on_bind_and_unbind() {
    let mut w = World::new();
    let holder = w.employee(ZIBO, 0);
    let child = w.resident(ZIBO);
    let mut cmd = w.bind_cmd(&holder, &child, 21, "2025-01-01");
    cmd.face_verified = false;
    refused(w.run_bind(cmd.clone()), "GJ-BIND-FACE-REQUIRED");
    cmd.face_verified = true;
    let b = w.run_bind(cmd).unwrap();
    refused(
        w.change(
            b.id,
            BindingChange::Unbind {
                face_verified: false,
            },
            "2025-02-01",
        ),
        "GJ-BIND-FACE-REQUIRED",
    );
    assert_eq!(
        w.engine.state().bindings[&b.id].status,
        BindingStatus::Active
    );
    let ended = w
        .change(
            b.id,
            BindingChange::Unbind {
                face_verified: true,
            },
            "2025-02-01",
        )
        .unwrap();
    assert_eq!(ended.status, BindingStatus::Ended);

    // Yantai asks for no face check.
    let yh = w.employee(YANTAI, 0);
    let yc = w.resident(YANTAI);
    let mut cmd = w.bind_cmd(&yh, &yc, 21, "2025-09-01");
    cmd.face_verified = false;
    let yb = w.run_bind(cmd).unwrap();
    w.change(
        yb.id,
        BindingChange::Unbind {
            face_verified: false,
        },
        "2025-09-02",
    )
    .unwrap();
}

#[test]
fn r_z6_own_account_first_and_no_mutual_aid_with_pooled_fund() {
    let mut w = World::new();
    let holder = w.employee(ZIBO, yuan(1000));
    let spouse = w.employee(ZIBO, yuan(50));
    let child = w.employee(ZIBO, 0);
    w.bind(&holder, &spouse, 12, "2025-01-01").unwrap();
    w.bind(&holder, &child, 21, "2025-01-01").unwrap();
    let shop = w.pharmacy(ZIBO);
    let clinic = w.hospital(ZIBO, HospitalLevel::Primary);
    let a = w.item(ChargeLevel::ClassA, 0);

    // Own account first, mutual aid automatically for the rest (acct_used_flag 1).
    check(
        w.settle(w.bill(&spouse, &shop, &[(&a, yuan(300))], "2025-03-01")),
        Paid {
            fund: 0,
            own: yuan(50),
            aid: vec![aid(&holder, yuan(250))],
            cash: 0,
        },
    );
    // Outpatient pooling pays (deductible 200, then 70%): no mutual aid in this settlement.
    w.fund(&spouse, yuan(50));
    let s = check(
        w.settle(w.visit(
            &spouse,
            &clinic,
            MedType::GeneralOutpatient,
            &[(&a, yuan(500))],
            "2025-03-02",
        )),
        Paid {
            fund: yuan(210),
            own: yuan(50),
            aid: vec![],
            cash: yuan(240),
        },
    );
    assert_eq!(s.decision.totals.act_pay_dedc, Fen::from_fen(yuan(200)));
    // A visit inside the deductible, where the pool pays nothing, may use mutual aid.
    let s = check(
        w.settle(w.visit(
            &child,
            &clinic,
            MedType::GeneralOutpatient,
            &[(&a, yuan(150))],
            "2025-03-03",
        )),
        from_holders(vec![aid(&holder, yuan(150))], 0),
    );
    assert_eq!(s.decision.totals.hifp_pay, Fen::ZERO);
    assert_eq!(w.balance(&holder), yuan(1000 - 250 - 150));
    w.verify();

    // The switch is Zibo's: in Yantai mutual aid pays next to the pooled fund.
    let yh = w.employee(YANTAI, yuan(1000));
    let ys = w.employee(YANTAI, yuan(50));
    w.bind(&yh, &ys, 12, "2025-01-01").unwrap();
    let yclinic = w.hospital(YANTAI, HospitalLevel::Primary);
    check(
        w.settle(w.visit(
            &ys,
            &yclinic,
            MedType::GeneralOutpatient,
            &[(&a, yuan(500))],
            "2025-03-02",
        )),
        Paid {
            fund: yuan(210),
            own: yuan(50),
            aid: vec![aid(&yh, yuan(240))],
            cash: 0,
        },
    );
    w.verify();
}

// ---------------------------------------------------------------- national rules

#[test]
fn r_n2_several_holders_in_policy_order() {
    let by_date = World::new();
    let by_available = World::with_policies(presets_with("shandong-jinan", |p| {
        p.payment.holder_order = HolderOrder::ByAvailableDesc;
    }));
    for (mut w, order) in [
        (by_date, HolderOrder::ByBindingDate),
        (by_available, HolderOrder::ByAvailableDesc),
    ] {
        // Three holders whose request order, begin dates and balances all rank differently.
        let small = w.employee(JINAN, yuan(100));
        let middle = w.employee(JINAN, yuan(300));
        let large = w.employee(JINAN, yuan(500));
        let child = w.resident(JINAN);
        w.bind(&small, &child, 21, "2025-01-10").unwrap();
        w.bind(&middle, &child, 21, "2025-01-05").unwrap();
        w.bind(&large, &child, 21, "2025-01-20").unwrap();
        let shop = w.pharmacy(JINAN);
        let a = w.item(ChargeLevel::ClassA, 0);
        let first = w.settle(w.bill(&child, &shop, &[(&a, yuan(650))], "2025-02-01"));
        let second = w.settle(w.bill(&child, &shop, &[(&a, yuan(300))], "2025-02-02"));
        match order {
            HolderOrder::ByBindingDate => {
                check(
                    first,
                    from_holders(
                        vec![
                            aid(&middle, yuan(300)),
                            aid(&small, yuan(100)),
                            aid(&large, yuan(250)),
                        ],
                        0,
                    ),
                );
                check(second, from_holders(vec![aid(&large, yuan(250))], yuan(50)));
            }
            HolderOrder::ByAvailableDesc => {
                check(
                    first,
                    from_holders(vec![aid(&large, yuan(500)), aid(&middle, yuan(150))], 0),
                );
                check(
                    second,
                    from_holders(
                        vec![aid(&middle, yuan(150)), aid(&small, yuan(100))],
                        yuan(50),
                    ),
                );
            }
        }
        assert_eq!(
            (w.balance(&small), w.balance(&middle), w.balance(&large)),
            (0, 0, 0)
        );
        w.verify();
    }

    // Equal available balances: the earlier binding (lower id) first.
    let mut w = World::with_policies(presets_with("shandong-jinan", |p| {
        p.payment.holder_order = HolderOrder::ByAvailableDesc;
    }));
    let h1 = w.employee(JINAN, yuan(100));
    let h2 = w.employee(JINAN, yuan(100));
    let child = w.resident(JINAN);
    w.bind(&h2, &child, 21, "2025-01-01").unwrap();
    w.bind(&h1, &child, 21, "2025-01-01").unwrap();
    let shop = w.pharmacy(JINAN);
    let a = w.item(ChargeLevel::ClassA, 0);
    check(
        w.settle(w.bill(&child, &shop, &[(&a, yuan(150))], "2025-02-01")),
        from_holders(vec![aid(&h2, yuan(100)), aid(&h1, yuan(50))], 0),
    );
    w.verify();
}

#[test]
fn r_n4_regional_caps() {
    // At most 2 holders per relative.
    let mut w = World::with_policies(presets_with("shandong-jinan", |p| {
        p.binding.max_holders_per_relative = Some(2);
    }));
    let (h1, h2, h3) = (
        w.employee(JINAN, 0),
        w.employee(JINAN, 0),
        w.employee(JINAN, 0),
    );
    let child = w.resident(JINAN);
    let first = w.bind(&h1, &child, 21, "2025-01-01").unwrap();
    w.bind(&h2, &child, 21, "2025-01-01").unwrap();
    refused(
        w.bind(&h3, &child, 21, "2025-01-01"),
        "GJ-BIND-TOO-MANY-HOLDERS",
    );
    w.unbind(first.id, "2025-01-02").unwrap();
    w.bind(&h3, &child, 21, "2025-01-03").unwrap();

    // At most 2 relatives per holder.
    let mut w = World::with_policies(presets_with("shandong-jinan", |p| {
        p.binding.max_relatives_per_holder = Some(2);
    }));
    let h = w.employee(JINAN, 0);
    let (r1, r2, r3) = (w.resident(JINAN), w.resident(JINAN), w.resident(JINAN));
    w.bind(&h, &r1, 21, "2025-01-01").unwrap();
    let b2 = w.bind(&h, &r2, 22, "2025-01-01").unwrap();
    refused(
        w.bind(&h, &r3, 23, "2025-01-01"),
        "GJ-BIND-TOO-MANY-RELATIVES",
    );
    w.unbind(b2.id, "2025-01-02").unwrap();
    w.bind(&h, &r3, 23, "2025-01-03").unwrap();

    // At most 5 bind/unbind operations a month, unbinds included.
    let mut w = World::with_policies(presets_with("shandong-jinan", |p| {
        p.binding.max_changes_per_month = Some(5);
    }));
    let h = w.employee(JINAN, 0);
    let rs: Vec<String> = (0..5).map(|_| w.resident(JINAN)).collect();
    let b0 = w.bind(&h, &rs[0], 21, "2025-03-01").unwrap();
    let b1 = w.bind(&h, &rs[1], 22, "2025-03-02").unwrap();
    let b2 = w.bind(&h, &rs[2], 23, "2025-03-03").unwrap();
    w.unbind(b0.id, "2025-03-04").unwrap();
    w.unbind(b1.id, "2025-03-05").unwrap();
    refused(
        w.bind(&h, &rs[3], 24, "2025-03-06"),
        "GJ-BIND-TOO-MANY-CHANGES",
    );
    refused(w.unbind(b2.id, "2025-03-31"), "GJ-BIND-TOO-MANY-CHANGES");
    // A refused operation does not count; a new month starts afresh.
    w.bind(&h, &rs[3], 24, "2025-04-01").unwrap();
    w.unbind(b2.id, "2025-04-01").unwrap();
    // Another holder has his own count.
    let other = w.employee(JINAN, 0);
    w.bind(&other, &rs[4], 21, "2025-03-06").unwrap();
}

// ---------------------------------------------------------------- 004 Yuncheng

/// A Yuncheng holder with `children` resident children bound from 2023-08-01.
fn yuncheng_family(w: &mut World, balance: i64, children: usize) -> (String, Vec<String>) {
    let holder = w.employee(YUNCHENG, balance);
    let kids: Vec<String> = (0..children)
        .map(|i| {
            let c = w.resident(YUNCHENG);
            w.bind(&holder, &c, 21 + (i % 9) as u8, "2023-08-01")
                .unwrap();
            c
        })
        .collect();
    (holder, kids)
}

#[test]
fn r_r1_contribution_amounts_by_category() {
    let mut w = World::new();
    let (holder, kids) = yuncheng_family(&mut w, yuan(2000), 6);
    let expected = [
        ("general", 38_000),
        ("special_hardship", 0),
        ("returned_to_poverty", 3_800),
        ("monitored", 10_000),
        ("minimum_subsistence", 7_600),
        ("disabled_elderly_minor", 19_000),
    ];
    for ((category, fen), kid) in expected.iter().zip(&kids) {
        let p = w
            .premium(&holder, kid, 2024, category, "2023-10-10")
            .unwrap();
        assert_eq!(p.amount, Fen::from_fen(*fen), "{category}");
    }
    let total: i64 = expected.iter().map(|(_, f)| f).sum();
    assert_eq!(total, 78_400);
    assert_eq!(w.balance(&holder), yuan(2000) - 78_400);
    assert_eq!(w.account("premium:140802:390"), 78_400);

    let (h2, more) = yuncheng_family(&mut w, yuan(1100), 1);
    refused(
        w.premium(&h2, &more[0], 2024, "vip", "2023-10-10"),
        "GJ-PREMIUM-CATEGORY-UNKNOWN",
    );
    refused(
        w.premium(&h2, &more[0], 2030, "general", "2029-10-10"),
        "GJ-PREMIUM-YEAR-UNKNOWN",
    );
    // Only 100 yuan above the 1,000-yuan reserve.
    refused(
        w.premium(&h2, &more[0], 2024, "general", "2023-10-10"),
        "GJ-PREMIUM-INSUFFICIENT-BALANCE",
    );
    w.premium(&h2, &more[0], 2024, "monitored", "2023-10-10")
        .unwrap();
    assert_eq!(w.balance(&h2), yuan(1000));
    // An employee relative pays no resident premium.
    let spouse = w.employee(YUNCHENG, 0);
    w.bind(&h2, &spouse, 12, "2023-08-01").unwrap();
    refused(
        w.premium(&h2, &spouse, 2024, "general", "2023-10-10"),
        "GJ-PREMIUM-RELATIVE-NOT-RESIDENT",
    );
    w.verify();
}

/// R-R5: a department's list, as Excel on a Chinese Windows saves it (GB18030, CRLF), marks
/// residents for a year; every row answered at the line an editor shows; the holder then pays
/// the cheapest category the lists give, never one he picks.
#[test]
fn r_r5_category_list_from_excel_marks_residents_and_sets_the_amount() {
    use gongji_engine::category_list::{import_list, RowOutcome};
    let mut w = World::new();
    let (holder, kids) = yuncheng_family(&mut w, yuan(2000), 2);
    let certno =
        |w: &World, psn_no: &str| w.engine.state().persons[psn_no].certno.reveal().to_string();
    let (a, b) = (certno(&w, &kids[0]), certno(&w, &kids[1]));
    let text = format!(
        "身份证号码,人群类别,来源部门,名单日期\r\n\
         {a},特困人员（孤儿、事实无人抚养儿童）,民政局,2023-09-15\r\n\
         {b},丧失劳动能力的残疾人、低收入家庭60周岁以上老人和未成年人,残联,2023-09-15\r\n\
         {b},返贫致贫人口,乡村振兴局,2023-09-18\r\n\
         {b},低保对象,民政局,\r\n"
    );
    let (gb, _, unmappable) = encoding_rs::GB18030.encode(&text);
    assert!(!unmappable);
    let report =
        import_list(&mut w.engine, &gb, 2024, "staff1", at("2023-09-20")).expect("a readable list");
    let got: Vec<(u64, String)> = report
        .rows
        .iter()
        .map(|r| {
            let what = match &r.outcome {
                RowOutcome::Marked { due_category, .. } => due_category.clone(),
                RowOutcome::Refused { code, .. } => code.to_string(),
            };
            (r.line, what)
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (2, "special_hardship".to_string()),
            (3, "disabled_elderly_minor".to_string()),
            (4, "returned_to_poverty".to_string()),
            (5, "GJ-CATEGORY-LIST-ROW-INVALID".to_string()),
        ]
    );
    assert_eq!(
        w.premium(&holder, &kids[0], 2024, "general", "2023-10-10")
            .unwrap()
            .amount,
        Fen::ZERO
    );
    let p = w
        .premium(&holder, &kids[1], 2024, "general", "2023-10-10")
        .unwrap();
    assert_eq!(
        (p.category.as_str(), p.amount),
        ("returned_to_poverty", Fen::from_yuan(38))
    );
    w.verify();
}

#[test]
fn r_r2_collection_window_and_accepted_days() {
    let mut w = World::new();
    let (holder, kids) = yuncheng_family(&mut w, yuan(10_000), 5);
    let outside = "GJ-PREMIUM-OUTSIDE-WINDOW";
    let pay = |w: &mut World, kid: &str, year: i32, on: &str| {
        w.premium(&holder, kid, year, "general", on)
    };

    // Benefit year 2024: 2023-09-01 .. 2023-12-25, extended to 2024-02-25, days 1–25.
    refused(pay(&mut w, &kids[0], 2024, "2023-08-31"), outside);
    pay(&mut w, &kids[0], 2024, "2023-09-01").unwrap();
    refused(pay(&mut w, &kids[1], 2024, "2023-10-26"), outside);
    pay(&mut w, &kids[1], 2024, "2023-12-25").unwrap();
    refused(pay(&mut w, &kids[2], 2024, "2023-12-26"), outside);
    // After 1 January, inside the extension: still the 2024 year.
    pay(&mut w, &kids[2], 2024, "2024-01-15").unwrap();
    refused(pay(&mut w, &kids[3], 2024, "2024-02-26"), outside);
    pay(&mut w, &kids[3], 2024, "2024-02-25").unwrap();
    refused(pay(&mut w, &kids[4], 2024, "2024-03-01"), outside);
    // Benefit year 2025 has no extension.
    refused(pay(&mut w, &kids[4], 2025, "2025-01-05"), outside);
    pay(&mut w, &kids[4], 2025, "2024-12-25").unwrap();

    assert_eq!(w.balance(&holder), yuan(10_000 - 5 * 380));
    w.verify();
}

#[test]
fn r_r4_right_place_and_duplicate_payment_refused() {
    let mut w = World::new();
    let (h1, kids) = yuncheng_family(&mut w, yuan(5000), 1);
    let kid = &kids[0];
    let h2 = w.employee(YUNCHENG, yuan(5000));
    w.bind(&h2, kid, 21, "2023-08-01").unwrap();

    w.premium(&h1, kid, 2024, "general", "2023-10-10").unwrap();
    refused(
        w.premium(&h1, kid, 2024, "monitored", "2023-10-11"),
        "GJ-PREMIUM-ALREADY-PAID",
    );
    refused(
        w.premium(&h2, kid, 2024, "general", "2023-10-11"),
        "GJ-PREMIUM-ALREADY-PAID",
    );
    w.premium(&h1, kid, 2025, "general", "2024-10-10").unwrap();

    // A retried request (same msgid, same request) is answered again, never paid twice.
    let cmd = w.premium_cmd(&h2, kid, 2026, "2025-10-10");
    let first = w
        .execute(Request::new(Command::Premium(cmd.clone())).with_msgid("pay-2026", "h-2026"))
        .unwrap();
    assert!(matches!(first, Outcome::PremiumPaid(_)));
    let again = w
        .execute(Request::new(Command::Premium(cmd)).with_msgid("pay-2026", "h-2026"))
        .unwrap();
    assert!(matches!(again, Outcome::Replayed { .. }), "{again:?}");
    assert_eq!(
        (w.balance(&h1), w.balance(&h2)),
        (yuan(5000 - 760), yuan(5000 - 380))
    );

    // The premium is income of the relative's insured place...
    assert_eq!(w.account("premium:140802:390"), 3 * 38_000);
    // ...whose contribution table decides: Taiyuan (provincial policy) has none.
    let taiyuan_kid = w.resident(TAIYUAN);
    w.bind(&h1, &taiyuan_kid, 22, "2023-08-01").unwrap();
    refused(
        w.premium(&h1, &taiyuan_kid, 2024, "general", "2023-10-10"),
        "GJ-PREMIUM-YEAR-UNKNOWN",
    );
    w.verify();
}

#[test]
fn r_r6_yuncheng_resident_outpatient_pooling() {
    let mut w = World::new();
    let patient = w.resident(YUNCHENG);
    let primary = w.hospital(YUNCHENG, HospitalLevel::Primary);
    let county = w.hospital(YUNCHENG, HospitalLevel::Level2);
    let shop = w.pharmacy(YUNCHENG);
    let a = w.item(ChargeLevel::ClassA, 0);
    let b = w.item(ChargeLevel::ClassB, 0);
    let c = w.item(ChargeLevel::ClassC, 0);
    let go = |w: &mut World, inst: &str, lines: &[(&str, i64)], on: &str| {
        let cmd = w.visit(&patient, inst, MedType::GeneralOutpatient, lines, on);
        w.settle(cmd).unwrap()
    };
    let pool = |s: &gongji_engine::Settled| s.decision.totals.hifp_pay.fen();

    // Primary level, no deductible: A 40 × 60% + B 30 × 50% = 39.00; class C is self-paid.
    let s = go(
        &mut w,
        &primary,
        &[(&a, yuan(40)), (&b, yuan(30)), (&c, yuan(10))],
        "2024-03-04",
    );
    assert_eq!(pool(&s), 3_900);
    let t = &s.decision.totals;
    assert_eq!(
        (
            t.medfee_sumamt.fen(),
            t.fulamt_ownpay_amt.fen(),
            t.inscp_scp_amt.fen(),
            t.act_pay_dedc.fen()
        ),
        (8_000, 1_000, 7_000, 0)
    );
    assert_eq!((t.psn_part_amt.fen(), t.psn_cash_pay.fen()), (4_100, 4_100));
    // The same day: at most 50 yuan in all.
    assert_eq!(
        pool(&go(&mut w, &primary, &[(&a, yuan(100))], "2024-03-04")),
        1_100
    );
    assert_eq!(
        pool(&go(&mut w, &county, &[(&a, yuan(20))], "2024-03-04")),
        0
    );
    // County level 2: A 40 × 55% + B 30 × 45% = 35.50.
    assert_eq!(
        pool(&go(
            &mut w,
            &county,
            &[(&a, yuan(40)), (&b, yuan(30))],
            "2024-03-05"
        )),
        3_550
    );
    // Four days at the daily cap: 85.50 + 4 × 50 = 285.50 in the year.
    for d in ["2024-03-06", "2024-03-07", "2024-03-08", "2024-03-09"] {
        assert_eq!(pool(&go(&mut w, &primary, &[(&a, yuan(200))], d)), 5_000);
    }
    // The 300-yuan year: 14.50 left, then nothing.
    assert_eq!(
        pool(&go(&mut w, &primary, &[(&a, yuan(200))], "2024-03-10")),
        1_450
    );
    assert_eq!(
        pool(&go(&mut w, &primary, &[(&a, yuan(200))], "2024-03-11")),
        0
    );
    assert_eq!(w.account("fund:140802:390102"), -yuan(300));
    // A new year, a new 300 yuan.
    assert_eq!(
        pool(&go(&mut w, &primary, &[(&a, yuan(200))], "2025-01-06")),
        5_000
    );
    // A pharmacy purchase is not outpatient pooling.
    let s = w
        .settle(w.bill(&patient, &shop, &[(&a, yuan(30))], "2025-01-07"))
        .unwrap();
    assert_eq!(paid(&s), cash(yuan(30)));
    w.verify();
}

// ---------------------------------------------------------------- 002 Jinan

#[test]
fn r_j9_jinan_second_reimbursement_tiers() {
    let mut w = World::new();
    let patient = w.employee(JINAN, 0);
    let hospital = w.hospital(JINAN, HospitalLevel::Level3);
    let a = w.item(ChargeLevel::ClassA, 0);
    let go = |w: &mut World, med: MedType, fen: i64, on: &str| {
        let cmd = w.visit(&patient, &hospital, med, &[(&a, fen)], on);
        w.settle(cmd).unwrap()
    };
    let refund = |s: &gongji_engine::Settled| s.decision.totals.oth_pay.fen();
    let chronic = MedType::ChronicSpecialOutpatient;

    // General outpatient is not in scope: pooled, but no second reimbursement and no burden.
    let s = go(&mut w, MedType::GeneralOutpatient, yuan(300), "2025-01-10");
    assert_eq!(
        (s.decision.totals.hifp_pay.fen(), refund(&s)),
        (yuan(50), 0)
    );

    // Cumulative 12,000.00 exactly: nothing yet.
    assert_eq!(refund(&go(&mut w, chronic, yuan(12_000), "2025-02-01")), 0);
    // 12,000.01: 60% of one fen, rounded half up.
    assert_eq!(refund(&go(&mut w, chronic, 1, "2025-02-02")), 1);
    // Up to 200,000.00 exactly: 188,000 × 60% = 112,800.00 in all.
    let s = go(&mut w, chronic, yuan(187_999) + 99, "2025-03-01");
    assert_eq!(refund(&s), yuan(112_800) - 1);
    assert_eq!(s.decision.totals.hifp_pay, Fen::ZERO);
    assert_eq!(
        s.decision.totals.psn_cash_pay.fen(),
        yuan(187_999) + 99 - (yuan(112_800) - 1)
    );
    // Inpatient (21) shares the year: up to 400,000.00 at 70% = 140,000.00.
    let big = go(&mut w, MedType::Inpatient, yuan(200_000), "2025-04-01");
    assert_eq!(refund(&big), yuan(140_000));
    // A cancel gives the cumulative burden back: settling it again refunds the same.
    w.cancel(&big, "2025-04-02").unwrap();
    assert_eq!(
        refund(&go(&mut w, MedType::Inpatient, yuan(200_000), "2025-04-03")),
        yuan(140_000)
    );
    // Above 400,000 nothing more.
    assert_eq!(refund(&go(&mut w, chronic, 1, "2025-04-04")), 0);
    assert_eq!(
        w.account("fund:370102:310100"),
        -(yuan(112_800) + yuan(140_000))
    );

    // A new year starts from zero.
    assert_eq!(
        refund(&go(&mut w, chronic, yuan(13_000), "2026-01-05")),
        yuan(600)
    );

    // Residents get no employee second reimbursement.
    let resident = w.resident(JINAN);
    let cmd = w.visit(
        &resident,
        &hospital,
        chronic,
        &[(&a, yuan(20_000))],
        "2025-05-01",
    );
    assert_eq!(refund(&w.settle(cmd).unwrap()), 0);
    w.verify();
}

#[test]
fn r_j9_cancelling_an_earlier_settlement_claws_back_the_refund_it_no_longer_earns() {
    let mut w = World::new();
    let patient = w.employee(JINAN, 0);
    let hospital = w.hospital(JINAN, HospitalLevel::Level3);
    let a = w.item(ChargeLevel::ClassA, 0);
    let go = |w: &mut World, fen: i64, on: &str| {
        let cmd = w.visit(
            &patient,
            &hospital,
            MedType::ChronicSpecialOutpatient,
            &[(&a, fen)],
            on,
        );
        w.settle(cmd).unwrap()
    };
    let refund = |s: &gongji_engine::Settled| s.decision.totals.oth_pay.fen();
    let fund = "fund:370102:310100";

    // A 12,000 reaches the threshold and earns nothing; B 10,000 above it earns 6,000.
    let first = go(&mut w, yuan(12_000), "2025-02-01");
    assert_eq!(refund(&first), 0);
    assert_eq!(refund(&go(&mut w, yuan(10_000), "2025-03-01")), yuan(6_000));
    assert_eq!(w.account(fund), -yuan(6_000));

    // Cancel A: the live year is B alone, 10,000 below the threshold, so the 6,000 comes back
    // to the fund, explained as a recomputation, paid out of what the cancel returns.
    let cancelled = w.cancel(&first, "2025-03-05").unwrap();
    assert_eq!(w.account(fund), 0);
    let recomputed: Vec<(&str, i64)> = cancelled
        .refund_recomputed
        .iter()
        .map(|(account, amount, _)| (account.as_str(), amount.fen()))
        .collect();
    assert_eq!(
        recomputed,
        vec![(fund, yuan(6_000)), ("cash", -yuan(6_000))]
    );
    assert!(cancelled
        .refund_recomputed
        .iter()
        .all(|(_, _, why)| why.starts_with("二次报销重新计算：")));

    // C 1,000: the live burden is 11,000, still below the threshold; nothing is refunded.
    assert_eq!(refund(&go(&mut w, yuan(1_000), "2025-03-10")), 0);
    assert_eq!(w.account(fund), 0);
    // D 3,000 crosses it again: 14,000 earns 1,200, and that is what the year has paid.
    let last = go(&mut w, yuan(3_000), "2025-03-20");
    assert_eq!(refund(&last), yuan(1_200));
    assert_eq!(w.account(fund), -yuan(1_200));
    // Cancelling the latest returns exactly its own refund, with nothing to recompute.
    let undone = w.cancel(&last, "2025-03-21").unwrap();
    assert_eq!(w.account(fund), 0);
    assert!(undone.refund_recomputed.is_empty());
    w.verify();
}
