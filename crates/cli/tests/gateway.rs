//! The gateway of the institution interface against the real binary (issue 10, findings 3
//! and 7): headers used before a restart stay refused after it, the interface refuses fee
//! lines whose price × count is not their amount and transactions of the other kind of
//! institution, and gateway tokens are encrypted at rest.

mod support;

use support::*;

/// Sign once, send, restart the server on the same database, then send the same headers
/// (timestamp, nonce, signature) with a new body: a purchase on the holder's account. It is
/// refused and nothing moves; the same purchase signed afresh goes through.
#[test]
fn headers_used_before_a_restart_are_refused_after_it() {
    let env = Env::new();
    let srv = env.serve(NOW);
    let inst = &ZB_PHARM;
    let who = person("ZB-E1");
    let headers = signed_headers(inst);
    let read = Call::new(inst, "1101", person_query("02", &who.certno())).body();
    srv.post(API, &headers, read.into_bytes()).ok();

    let srv = srv.restart(NOW);
    let before = env.balances();
    let purchase = Call::new(
        inst,
        "2102",
        drug_input(&who, &who.certno(), "1", &one(ITEM_A, "12.00"), true),
    )
    .insured_in(who.admdvs);
    let m = srv
        .post(API, &headers, purchase.body().into_bytes())
        .unauthorized();
    assert!(m.starts_with("GJ-AUTH-SIGNED-BEFORE-START"), "{m}");
    assert_eq!(env.balances(), before, "a refused replay moves nothing");

    let (setl, _) = srv.buy(inst, &who, &who.certno(), "1", &one(ITEM_A, "12.00"));
    assert_eq!(setl.acct, 1200);
    srv.stop();
    env.verify();
}
