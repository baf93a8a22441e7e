//! The console's 补报 page (R-R2): a settlement a Yuncheng resident made on 10 January before
//! paying on 20 February (2025, with the window extended as 2024's was) waits there; running the job pays it once, line by line, and a
//! second run pays nothing. The resident then sees the premium in her H5 (R-R7).

mod common;

use common::{day, form_of, presets_with, testid, time, world_with, Browser, World};
use gongji_core::codes::{AccountUse, Admdvs, Channel, HospitalLevel, InstitutionKind, MedType};
use gongji_core::domain::Institution;
use gongji_core::policy::WindowExtension;
use gongji_core::pooling::FeeLine;
use gongji_core::premium::PremiumKind;
use gongji_core::Fen;
use gongji_engine::{Command, Outcome, PremiumCommand, Request, SettleCommand};

async fn console(w: &World) -> Browser {
    let mut b = Browser::new(&w.s.base);
    let page = b
        .submit(
            "/console/signin",
            &[
                ("username".to_string(), "clerk1".to_string()),
                ("password".to_string(), common::STAFF_PASSWORD.to_string()),
                ("next".to_string(), "/console".to_string()),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    b
}

async fn first_item(w: &World) -> String {
    w.s.app
        .read(|e| {
            e.state()
                .catalog
                .keys()
                .find(|c| c.starts_with("ITEM"))
                .cloned()
        })
        .await
        .expect("read")
        .expect("an item")
}

/// A settlement of RY's at a Yuncheng clinic on 10 January 2025, before she paid.
async fn settled_before_paying(w: &World) -> String {
    let clinic = "H14080200099".to_string();
    w.s.app
        .submit(Request::new(Command::RegisterInstitution(Institution {
            code: clinic.clone(),
            name: "运城测试卫生院".into(),
            kind: InstitutionKind::Medical,
            level: HospitalLevel::Primary,
            admdvs: Admdvs::parse("140802").expect("admdvs"),
            lat: 35.0,
            lon: 111.0,
            mutual_aid: true,
            paasid: "paas-yc".into(),
            token: "token-yc".into(),
            contact: Default::default(),
        })))
        .await
        .expect("clinic");
    let item = first_item(w).await;
    let settled =
        w.s.app
            .submit(Request::new(Command::Settle(SettleCommand {
                institution: clinic,
                psn_no: w.ry.psn_no.clone(),
                credential: None,
                med_type: MedType::GeneralOutpatient,
                account_use: AccountUse::OwnAccount,
                lines: vec![FeeLine {
                    sn: "1".into(),
                    item_code: item,
                    amount: Fen::from_yuan(60),
                    count_e4: 10_000,
                    price: Fen::from_yuan(60),
                }],
                declared_total: None,
                mdtrt_id: None,
                channel: Channel::Window,
                at: time("2025-01-10 10:00:00"),
                dry_run: false,
            })))
            .await
            .expect("settled awaiting payment");
    let Outcome::Settled(s) = settled else {
        panic!("{settled:?}")
    };
    assert!(
        !s.decision.withheld.is_empty(),
        "the fund's share is held back"
    );
    s.setl_id
}

#[tokio::test]
async fn the_console_pays_a_held_back_share_once_after_the_resident_paid() {
    let w = world_with(presets_with(|p| {
        // Collection moved here from 2025, and 2025's window extended to 25 February, as
        // 2024's was, so RY (bound from 2025-01-01) can pay after 1 January.
        if let Some(c) = p.contribution.as_mut() {
            c.coverage_from_payments = Some(2025);
            for y in c.years.iter_mut().filter(|y| y.year == 2025) {
                y.extensions.push(WindowExtension {
                    from: day("2024-12-26"),
                    to: day("2025-02-25"),
                });
            }
        }
    }))
    .await;
    let setl_id = settled_before_paying(&w).await;
    let mut b = console(&w).await;

    // Before she pays, it waits, and a run says why it does not pay yet.
    let page = b.get("/console/bubao").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(&format!("data-setl=\"{setl_id}\"")));
    let page = b.post("/console/bubao", &form_of(&page.body, "run")).await;
    assert!(page.body.contains("GJ-BUBAO-NOT-PAID"), "{}", page.body);

    w.s.app
        .submit(Request::new(Command::Premium(PremiumCommand {
            holder: w.hy.psn_no.clone(),
            relative: w.ry.psn_no.clone(),
            kind: PremiumKind::Resident,
            year: 2025,
            place: None,
            channel: Channel::WeChat,
            at: time("2025-02-20 10:00:00"),
        })))
        .await
        .expect("premium paid on 20 February");

    let page = b.get("/console/bubao").await;
    let page = b.post("/console/bubao", &form_of(&page.body, "run")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let results = page
        .body
        .split("data-testid=\"bubao-results\"")
        .nth(1)
        .expect("results");
    assert!(results.contains("已补报 36.00元"), "{results}");
    assert!(results.contains("2025-01-10"), "{results}");
    assert!(results.contains("2025-02-20缴费后"), "{results}");
    assert_eq!(
        testid(&page.body, "bubao-none").as_deref(),
        Some("没有待补报的结算。")
    );

    // A second run finds nothing waiting; the paid list holds it once.
    let page = b.post("/console/bubao", &form_of(&page.body, "run")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let paid = page
        .body
        .split("data-testid=\"bubao-paid\"")
        .nth(1)
        .expect("paid list");
    assert_eq!(paid.matches(&format!("data-setl=\"{setl_id}\"")).count(), 1);
    let fund =
        w.s.app
            .read(|e| e.state().balance("fund:140802:390102"))
            .await
            .expect("read");
    assert_eq!(fund, Fen::from_yuan(-36));

    // RY sees the premium in her H5: what, how much, which channel, when, who paid; and the
    // honest note about channel payments not yet confirmed.
    let token = w.s.sign_in(&w.ry).await;
    let mut h5 = Browser::new(&w.s.base);
    h5.cookies.push(("gongji_session".into(), token));
    let page = h5.get("/h5/payments").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        testid(&page.body, "payment").as_deref(),
        Some("2025年度城乡居民医保")
    );
    let list = page
        .body
        .split("data-testid=\"payments\"")
        .nth(1)
        .expect("payments");
    for said in ["380.00", "家人个人账户（家庭共济）", "2025-02-20 10:00"] {
        assert!(list.contains(said), "{said} in {list}");
    }
    assert!(testid(&page.body, "payments-note").is_some_and(|n| n.contains("不要重复缴费")));
}
