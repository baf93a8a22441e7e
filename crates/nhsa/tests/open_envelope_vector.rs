//! The 国密 envelope against the test vector of NHSA-INTERFACE.md ("The 国密 envelope for
//! apps"), copied from ../shared/open-envelope-vector.json: every intermediate value of the
//! document is reproduced, and the published signature verifies.

use gongji_nhsa::open_envelope::{
    derive_key, encrypt_data, seal, signing_key_from_hex, signing_string_of, sm4_ecb_decrypt,
    verifying_key_from_hex, verifying_key_hex, OpenEnvelope, OpenEnvelopeError,
};
use serde_json::Value;

fn vector() -> Value {
    serde_json::from_str(include_str!("data/open-envelope-vector.json")).expect("vector")
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().expect(key).to_string()
}

/// The vector's message as it travels: `data` replaced by `encData`, with `signData`.
fn wire_envelope(v: &Value) -> Value {
    let mut envelope = v["message"].clone();
    let map = envelope.as_object_mut().expect("object");
    map.remove("data");
    map.insert("encData".into(), v["encData"].clone());
    map.insert("signData".into(), v["signData"].clone());
    envelope
}

#[test]
fn the_derived_key_and_enc_data_are_the_vectors() {
    let v = vector();
    let key = derive_key(&text(&v, "appCode"), &text(&v, "appSecret")).expect("key");
    assert_eq!(
        std::str::from_utf8(&key).expect("ascii"),
        text(&v, "derivedKey")
    );
    assert_eq!(
        encrypt_data(&key, &text(&v, "dataJson")),
        text(&v, "encData")
    );
    let plain = sm4_ecb_decrypt(&key, &hex::decode(text(&v, "encData")).expect("hex"));
    assert_eq!(plain, Some(text(&v, "dataJson").into_bytes()));
}

#[test]
fn the_signing_string_is_the_vectors() {
    let v = vector();
    let s = signing_string_of(&v["message"].to_string(), None, &text(&v, "appSecret"))
        .expect("signing string");
    assert_eq!(s, text(&v, "signingString"));
    // The same from the decrypted data text (the order in which the sender wrote its keys).
    let mut envelope = v["message"].clone();
    envelope.as_object_mut().expect("object").remove("data");
    let s = signing_string_of(
        &envelope.to_string(),
        Some(&text(&v, "dataJson")),
        &text(&v, "appSecret"),
    )
    .expect("signing string");
    assert_eq!(s, text(&v, "signingString"));
}

#[test]
fn the_published_envelope_decrypts_and_its_signature_verifies() {
    let v = vector();
    assert_eq!(v["verifies"], Value::Bool(true));
    let public = verifying_key_from_hex(&text(&v, "publicKeyHex")).expect("public key");
    let envelope = OpenEnvelope::parse(wire_envelope(&v).to_string().as_bytes()).expect("parse");
    assert_eq!(envelope.app_code(), text(&v, "appCode"));
    assert_eq!(envelope.timestamp(), 1_796_371_200);
    let data = envelope
        .open(&text(&v, "appSecret"), &public)
        .expect("opens");
    assert_eq!(data, Some(text(&v, "dataJson")));
}

#[test]
fn the_private_key_is_the_public_keys() {
    let v = vector();
    let key = signing_key_from_hex(&text(&v, "privateKeyHex")).expect("private key");
    assert_eq!(
        verifying_key_hex(key.verifying_key()),
        text(&v, "publicKeyHex")
    );
}

#[test]
fn a_changed_field_or_another_secret_or_key_is_refused() {
    let v = vector();
    let public = verifying_key_from_hex(&text(&v, "publicKeyHex")).expect("public key");
    let secret = text(&v, "appSecret");

    let mut later = wire_envelope(&v);
    later["timestamp"] = Value::from(1_796_371_201_i64);
    let later = OpenEnvelope::parse(later.to_string().as_bytes()).expect("parse");
    assert_eq!(
        later.open(&secret, &public),
        Err(OpenEnvelopeError::BadSignature)
    );

    let envelope = OpenEnvelope::parse(wire_envelope(&v).to_string().as_bytes()).expect("parse");
    // Another secret derives another SM4 key: the padding does not check out.
    assert_eq!(
        envelope.open("GJSECRET10000000000000000000000B", &public),
        Err(OpenEnvelopeError::Undecryptable)
    );
    // Only the first block of the secret reaches the derived key; all of it is signed.
    assert_eq!(
        envelope.open("GJSECRET00000000000000000000000C", &public),
        Err(OpenEnvelopeError::BadSignature)
    );
    let stranger = signing_key_from_hex(&"11".repeat(32)).expect("key");
    assert_eq!(
        envelope.open(&secret, stranger.verifying_key()),
        Err(OpenEnvelopeError::BadSignature)
    );
}

#[test]
fn a_sealed_envelope_opens_with_the_senders_public_key() {
    let v = vector();
    let key = signing_key_from_hex(&text(&v, "privateKeyHex")).expect("private key");
    let data = serde_json::json!({"psn_no": "37030000002201", "name": "张三", "n": 1});
    let sealed = seal(
        &[
            ("appCode", text(&v, "appCode").into()),
            ("timestamp", Value::from(1_796_371_200_i64)),
            ("code", "0".into()),
        ],
        Some(&data),
        &text(&v, "appSecret"),
        &key,
    )
    .expect("seal");
    assert!(!sealed.contains_key("data"), "only encData travels");
    let body = Value::Object(sealed).to_string();
    assert!(
        body.is_ascii(),
        "non-ASCII is escaped before encryption: {body}"
    );
    let envelope = OpenEnvelope::parse(body.as_bytes()).expect("parse");
    assert_eq!(envelope.field("code").as_deref(), Some("0"));
    let opened = envelope
        .open(&text(&v, "appSecret"), key.verifying_key())
        .expect("opens")
        .expect("data");
    let back: Value = serde_json::from_str(&opened).expect("json");
    assert_eq!(back, data);
}
