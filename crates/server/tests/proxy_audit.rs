//! A till settlement paid with a 亲情账户 code and its `proxy_used` audit row (who showed the
//! code) commit together or not at all (issue 12, evidence): no payment from a parent's
//! account without the record of who showed the code, and a replayed settlement no second
//! record.

mod common;

use common::faulty::Faults;
use common::*;
use gongji_core::codes::{Channel, InstitutionKind};
use gongji_core::Fen;
use gongji_server::service::proxy;
use gongji_store::Write;

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

struct Scene {
    s: Server,
    faults: Faults,
    parent: P,
    /// The form that settles the parent's 20 yuan at the pharmacy's open till, read with
    /// the child's proxy code; posting it again is the same settlement (its msgid).
    settle: Vec<(String, String)>,
    browser: Browser,
}

/// A Jinan parent with 500 yuan who lets his child show his e-voucher, and a Jinan pharmacy's
/// till with the child's code read and one 20-yuan item in the cart.
async fn scene() -> Scene {
    let mut f = Fixture::new();
    let pharmacy = f.institution(JINAN, InstitutionKind::Pharmacy, 36.6512, 117.1201, true);
    let item = f.item();
    let parent = f.employee(JINAN, 500);
    let child = f.resident(JINAN);
    let faults = Faults::default();
    let s = f.wrap_store(faults.wrapper()).start().await;
    let consent = proxy::give(
        &s.app,
        &parent.psn_no,
        &child.certno,
        &child.name,
        Channel::WeChat,
    )
    .await
    .expect("consent");

    let mut browser = Browser::new(&s.base);
    let page = browser.get(&format!("/terminal?inst={pharmacy}")).await;
    let mut form = form_of(&page.body, "read");
    form.extend(owned(&[("cert_type", "01"), ("cert_no", &consent.token)]));
    let page = browser.post("/terminal", &form).await;
    assert!(testid(&page.body, "proxy-note").is_some(), "{}", page.body);
    let mut form = form_of(&page.body, "add");
    form.extend(owned(&[("item", &item), ("count", "1"), ("price", "20")]));
    let page = browser.post("/terminal", &form).await;
    let mut settle = form_of(&page.body, "settle");
    settle.extend(owned(&[("acct", "2")]));
    Scene {
        s,
        faults,
        parent,
        settle,
        browser,
    }
}

impl Scene {
    async fn settle(&mut self) -> PageResp {
        self.browser.post("/terminal", &self.settle).await
    }

    /// Settlements stored, and `proxy_used` rows written.
    fn stored(&self) -> (i64, i64) {
        (
            self.s.count("SELECT COUNT(*) FROM settlements"),
            self.s
                .count("SELECT COUNT(*) FROM audit_log WHERE action = 'proxy_used'"),
        )
    }
}

/// Fails on main, where the settlement committed first and the audit row after it: the
/// failed commit of the row left the parent's payment with no record of who showed the code,
/// and the replayed settlement wrote a second row.
#[tokio::test]
async fn a_proxy_settlement_and_its_audit_row_commit_together_or_not_at_all() {
    let mut sc = scene().await;
    let before = sc.s.balance(&sc.parent).await;

    // The commit holding the audit row fails: nothing is paid, nothing recorded.
    sc.faults
        .fail_commit_holding(|w| matches!(w, Write::Audit(_)));
    let page = sc.settle().await;
    assert!(testid(&page.body, "receipt").is_none(), "{}", page.body);
    assert_eq!(sc.stored(), (0, 0));
    assert_eq!(sc.s.balance(&sc.parent).await, before);

    // The commit holding the settlement fails: the same.
    sc.faults
        .fail_commit_holding(|w| matches!(w, Write::Settlement(_)));
    let page = sc.settle().await;
    assert!(testid(&page.body, "receipt").is_none(), "{}", page.body);
    assert_eq!(sc.stored(), (0, 0));
    assert_eq!(sc.s.balance(&sc.parent).await, before);

    // The store works again: one settlement, paid by the parent, and one record of it.
    sc.faults.clear();
    let page = sc.settle().await;
    assert!(
        testid(&page.body, "receipt-proxy").is_some(),
        "{}",
        page.body
    );
    assert_eq!(sc.stored(), (1, 1));
    let names_it = sc.s.count(&format!(
        "SELECT COUNT(*) FROM audit_log a JOIN settlements s \
         ON a.after_state LIKE 'setl_id=' || s.setl_id || ' shown_by=%' \
         WHERE a.action = 'proxy_used' AND a.subject = 'person:{}' AND s.psn_no = '{}'",
        sc.parent.psn_no, sc.parent.psn_no
    ));
    assert_eq!(
        names_it, 1,
        "the record names the settlement and the parent"
    );
    let paid = before.checked_sub(Fen::from_yuan(20)).expect("fen");
    assert_eq!(sc.s.balance(&sc.parent).await, paid);

    // The same form again is the same settlement, answered as before: no second record.
    let page = sc.settle().await;
    assert!(
        testid(&page.body, "receipt-proxy").is_some(),
        "{}",
        page.body
    );
    assert_eq!(sc.stored(), (1, 1));
    assert_eq!(sc.s.balance(&sc.parent).await, paid);
    sc.s.verify_clean().await;
}
