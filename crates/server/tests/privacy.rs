//! Persons' ID and phone numbers encrypted at rest (`[privacy]`), through the server: a
//! person signs in by phone, a clerk finds him by ID number, a hospital asks 1101 by ID
//! number, and he sees his own ID number in full and his phone masked, while the database
//! file holds neither in clear.

mod common;

use common::{Fixture, P};
use gongji_core::codes::InstitutionKind;
use gongji_store::privacy::PrivacyKey;
use gongji_store::Store;

/// Everything the database file and its WAL hold.
fn database_bytes(s: &common::Server) -> Vec<u8> {
    let db = s.database();
    let path = std::path::PathBuf::from(db.connection().path().expect("a file database"));
    drop(db);
    let mut bytes = std::fs::read(&path).expect("database file");
    if let Ok(wal) = std::fs::read(path.with_extension("db-wal")) {
        bytes.extend(wal);
    }
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn person_query(certno: &str) -> String {
    format!(
        r#"{{"data":{{"mdtrt_cert_type":"02","mdtrt_cert_no":"{certno}","card_sn":"","begntime":"","psn_cert_type":"01","certno":"{certno}","psn_name":""}}}}"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn encrypted_at_rest_people_still_sign_in_by_phone_and_are_found_by_id_number() {
    let key = PrivacyKey::from_bytes([7; 32]);
    let mut f = Fixture::new().wrap_store(move |mut store| {
        let status = store.use_privacy(Some(key)).expect("the key");
        assert!(status.enabled);
        store
    });
    let people: Vec<P> = (0..3).map(|_| f.employee("370600", 100)).collect();
    let hospital = f.institution("370600", InstitutionKind::Medical, 37.5, 121.4, true);
    let s = f.start().await;

    let raw = database_bytes(&s);
    assert!(contains(&raw, &people[0].psn_no), "the scan sees the rows");
    for p in &people {
        assert!(
            !contains(&raw, &p.certno),
            "ID number {} in clear",
            p.psn_no
        );
        assert!(!contains(&raw, &p.phone), "phone of {} in clear", p.psn_no);
    }

    // Sign-in by SMS finds the person by phone; he sees his ID number, his phone masked.
    let p = &people[1];
    let token = s.sign_in(p).await;
    let me = s.get("/api/v1/me", Some(&token)).await;
    let me = me.ok();
    assert_eq!(me["psn_no"], p.psn_no.as_str());
    assert_eq!(me["certno"], p.certno.as_str());
    assert_eq!(
        me["phone"].as_str(),
        Some(gongji_core::pii::mask_phone(&p.phone).as_str())
    );

    // A clerk finds him by ID number (check character typed in lower case) and by phone.
    let clerk = s.staff("clerk1").await;
    for q in [p.certno.to_lowercase(), p.phone.clone()] {
        let r = s
            .get(&format!("/api/v1/staff/persons?q={q}"), Some(&clerk))
            .await;
        let found = r.ok()["persons"].as_array().expect("persons").clone();
        assert_eq!(found.len(), 1, "{q}");
        assert_eq!(found[0]["psn_no"], p.psn_no.as_str());
    }

    // The institution interface's person query (1101) by ID number.
    let answer = s.signed(&hospital, "1101", &person_query(&p.certno)).await;
    assert!(answer.contains("\"infcode\":0"), "{answer}");
    assert!(answer.contains(&p.psn_no), "{answer}");

    let raw = database_bytes(&s);
    for p in &people {
        assert!(!contains(&raw, &p.certno) && !contains(&raw, &p.phone));
    }
}
