//! The 国密 envelope of the national platform's open interfaces, as app partners (WeChat and
//! Alipay mini-programs, 爱山东) send it (NHSA-INTERFACE.md, "The 国密 envelope for apps").
//!
//! An envelope is a JSON object: `appCode`, `version`, `timestamp` (Unix seconds),
//! `encType` `"SM4"`, `signType` `"SM2"`, `signData`, and either `data` (the plain request
//! object) or `encData`. [`OpenEnvelope::parse`] reads one, [`OpenEnvelope::open`] decrypts
//! and checks its signature with the sender's public key, and [`seal`] writes one (the
//! platform's answers, and in tests a partner's requests).
//!
//! The signature covers the plain `data`, not `encData`: a receiver decrypts first, then
//! verifies. Numbers keep their source text through the signing string (values are read as
//! [`RawValue`]), so `12.30` is signed as `"12.30"` the way the sender wrote it.
//!
//! No codes here: the server gives each [`OpenEnvelopeError`] its stable code.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use serde_json::value::RawValue;
use sm2::dsa::signature::{Signer, Verifier};
use sm2::dsa::Signature;
use sm4::cipher::{Array, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use sm4::Sm4;

pub use sm2::dsa::{SigningKey, VerifyingKey};

/// The envelope version this platform writes.
pub const VERSION: &str = "1.0.0";
pub const ENC_TYPE: &str = "SM4";
pub const SIGN_TYPE: &str = "SM2";
/// The SM2 user id (distinguishing identifier) both sides hash into `Z`: the default of
/// GB/T 32918 and of common SM2 libraries.
pub const USER_ID: &str = "1234567812345678";
/// The SM4 key of the key derivation is the first 16 bytes of `appCode`.
pub const APP_CODE_BYTES_MIN: usize = 16;

pub const FIELD_APP_CODE: &str = "appCode";
pub const FIELD_VERSION: &str = "version";
pub const FIELD_TIMESTAMP: &str = "timestamp";
pub const FIELD_ENC_TYPE: &str = "encType";
pub const FIELD_SIGN_TYPE: &str = "signType";
pub const FIELD_SIGN_DATA: &str = "signData";
pub const FIELD_ENC_DATA: &str = "encData";
pub const FIELD_DATA: &str = "data";
/// Left out of the signing string, like `signData` and `encData`.
pub const FIELD_EXTRA: &str = "extra";

const SM4_BLOCK: usize = 16;
const SIGNATURE_BYTES: usize = 64;

/// Why an envelope was not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpenEnvelopeError {
    /// Not a JSON object, or a field missing or of the wrong type (the field is named).
    Malformed(String),
    /// `encType` or `signType` is not `SM4` / `SM2` (the value is named).
    Unsupported(String),
    /// `appCode` is shorter than the 16 bytes the SM4 key is cut from.
    AppCodeTooShort,
    /// `signData` is not Base64 of a 64-byte r‖s, or does not verify with the sender's key.
    BadSignature,
    /// `encData` is not hex of whole SM4 blocks, its padding is wrong (another key), or it
    /// does not hold a JSON object.
    Undecryptable,
    /// Not an SM2 key (hex of a 32-byte private key, or of a 65-byte uncompressed point).
    BadKey(String),
}

impl fmt::Display for OpenEnvelopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenEnvelopeError::Malformed(what) => write!(f, "malformed envelope: {what}"),
            OpenEnvelopeError::Unsupported(what) => write!(f, "unsupported algorithm: {what}"),
            OpenEnvelopeError::AppCodeTooShort => {
                write!(f, "appCode must have at least {APP_CODE_BYTES_MIN} bytes")
            }
            OpenEnvelopeError::BadSignature => write!(f, "signData does not verify"),
            OpenEnvelopeError::Undecryptable => write!(f, "encData does not decrypt"),
            OpenEnvelopeError::BadKey(why) => write!(f, "not an SM2 key: {why}"),
        }
    }
}

impl std::error::Error for OpenEnvelopeError {}

type Fields = BTreeMap<String, Box<RawValue>>;

/// A parsed envelope, not yet verified.
#[derive(Debug)]
pub struct OpenEnvelope {
    fields: Fields,
    app_code: String,
    timestamp: i64,
    signature: [u8; SIGNATURE_BYTES],
    payload: Option<Payload>,
}

#[derive(Debug)]
enum Payload {
    Plain(Box<RawValue>),
    /// The hex text of `encData`.
    Encrypted(String),
}

impl OpenEnvelope {
    /// Reads the envelope's fields; checks nothing that needs the sender's keys.
    pub fn parse(body: &[u8]) -> Result<OpenEnvelope, OpenEnvelopeError> {
        let mut fields: Fields = serde_json::from_slice(body)
            .map_err(|e| OpenEnvelopeError::Malformed(format!("not a JSON object ({e})")))?;
        let app_code =
            string_field(&fields, FIELD_APP_CODE)?.ok_or_else(|| missing(FIELD_APP_CODE))?;
        if app_code.len() < APP_CODE_BYTES_MIN {
            return Err(OpenEnvelopeError::AppCodeTooShort);
        }
        let timestamp = timestamp_field(&fields)?;
        for (field, wanted) in [(FIELD_ENC_TYPE, ENC_TYPE), (FIELD_SIGN_TYPE, SIGN_TYPE)] {
            match string_field(&fields, field)? {
                Some(v) if v.eq_ignore_ascii_case(wanted) => {}
                Some(v) => return Err(OpenEnvelopeError::Unsupported(format!("{field}={v}"))),
                None => return Err(missing(field)),
            }
        }
        let sign_data =
            string_field(&fields, FIELD_SIGN_DATA)?.ok_or_else(|| missing(FIELD_SIGN_DATA))?;
        let signature = decode_signature(&sign_data)?;
        let enc_data = string_field(&fields, FIELD_ENC_DATA)?;
        let data = fields
            .remove(FIELD_DATA)
            .filter(|raw| raw.get().trim() != "null");
        let payload = match (enc_data, data) {
            (Some(_), Some(_)) => {
                return Err(OpenEnvelopeError::Malformed(
                    "both data and encData".to_string(),
                ))
            }
            (Some(hex), None) => Some(Payload::Encrypted(hex)),
            (None, Some(raw)) => Some(Payload::Plain(raw)),
            (None, None) => None,
        };
        Ok(OpenEnvelope {
            fields,
            app_code,
            timestamp,
            signature,
            payload,
        })
    }

    pub fn app_code(&self) -> &str {
        &self.app_code
    }

    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }

    /// The 64 bytes of `signData`: what a replay repeats (SM2 signatures are not malleable,
    /// so the same signed content cannot be resent under another signature without the key).
    pub fn signature(&self) -> &[u8; SIGNATURE_BYTES] {
        &self.signature
    }

    /// A string field other than `data` (`code`, `message` of an answer).
    pub fn field(&self, name: &str) -> Option<String> {
        string_field(&self.fields, name).ok().flatten()
    }

    /// Decrypts `encData` (or takes `data`) and checks `signData` with the sender's key.
    /// Returns the compact JSON text of `data`, or `None` when the envelope carries none.
    pub fn open(
        &self,
        app_secret: &str,
        sender: &VerifyingKey,
    ) -> Result<Option<String>, OpenEnvelopeError> {
        let data = match &self.payload {
            None => None,
            Some(Payload::Plain(raw)) => Some(raw.get().to_string()),
            Some(Payload::Encrypted(hex_text)) => {
                let key = derive_key(&self.app_code, app_secret)?;
                let bytes = hex::decode(hex_text).map_err(|_| OpenEnvelopeError::Undecryptable)?;
                let plain =
                    sm4_ecb_decrypt(&key, &bytes).ok_or(OpenEnvelopeError::Undecryptable)?;
                Some(String::from_utf8(plain).map_err(|_| OpenEnvelopeError::Undecryptable)?)
            }
        };
        let text =
            signing_string(&self.fields, data.as_deref(), app_secret).map_err(|e| {
                match self.payload {
                    Some(Payload::Encrypted(_)) => OpenEnvelopeError::Undecryptable,
                    _ => e,
                }
            })?;
        let signature =
            Signature::from_slice(&self.signature).map_err(|_| OpenEnvelopeError::BadSignature)?;
        sender
            .verify(text.as_bytes(), &signature)
            .map_err(|_| OpenEnvelopeError::BadSignature)?;
        Ok(data)
    }
}

fn missing(field: &str) -> OpenEnvelopeError {
    OpenEnvelopeError::Malformed(format!("{field} is missing"))
}

fn string_field(fields: &Fields, name: &str) -> Result<Option<String>, OpenEnvelopeError> {
    match fields.get(name) {
        None => Ok(None),
        Some(raw) if raw.get().trim() == "null" => Ok(None),
        Some(raw) => serde_json::from_str::<String>(raw.get())
            .map(Some)
            .map_err(|_| OpenEnvelopeError::Malformed(format!("{name} must be a string"))),
    }
}

/// Unix seconds, as a JSON integer or a string of digits.
fn timestamp_field(fields: &Fields) -> Result<i64, OpenEnvelopeError> {
    let raw = fields
        .get(FIELD_TIMESTAMP)
        .ok_or_else(|| missing(FIELD_TIMESTAMP))?;
    let text = raw.get().trim();
    let digits = match serde_json::from_str::<String>(text) {
        Ok(s) => s,
        Err(_) => text.to_string(),
    };
    digits
        .parse::<i64>()
        .ok()
        .filter(|t| *t >= 0)
        .ok_or_else(|| {
            OpenEnvelopeError::Malformed(format!("{FIELD_TIMESTAMP} must be Unix seconds"))
        })
}

fn decode_signature(text: &str) -> Result<[u8; SIGNATURE_BYTES], OpenEnvelopeError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| OpenEnvelopeError::BadSignature)?;
    bytes
        .try_into()
        .map_err(|_| OpenEnvelopeError::BadSignature)
}

/// The signing string: the envelope's fields but `signData`, `encData`, `extra` and nulls,
/// in key order, `data` in its canonical form ([`canonical_data`]), every other value as its
/// plain text, joined as `key=value` with `&`, then `&key=` + appSecret.
fn signing_string(
    fields: &Fields,
    data: Option<&str>,
    app_secret: &str,
) -> Result<String, OpenEnvelopeError> {
    let mut pairs: BTreeMap<&str, String> = BTreeMap::new();
    for (key, raw) in fields {
        let key = key.as_str();
        if [FIELD_SIGN_DATA, FIELD_ENC_DATA, FIELD_EXTRA, FIELD_DATA].contains(&key) {
            continue;
        }
        let text = raw.get().trim();
        if text == "null" {
            continue;
        }
        let plain = match serde_json::from_str::<String>(text) {
            Ok(s) => s,
            Err(_) => text.to_string(),
        };
        pairs.insert(key, plain);
    }
    if let Some(data) = data {
        pairs.insert(FIELD_DATA, canonical_data(data)?);
    }
    let mut out = String::new();
    for (key, value) in pairs {
        out.push_str(key);
        out.push('=');
        out.push_str(&value);
        out.push('&');
    }
    out.push_str("key=");
    out.push_str(app_secret);
    Ok(out)
}

/// `data` as it is signed: numbers and booleans as strings, empty arrays, empty strings,
/// empty objects and nulls dropped, the keys of every object sorted, compact JSON.
pub fn canonical_data(data_json: &str) -> Result<String, OpenEnvelopeError> {
    let not_object = || OpenEnvelopeError::Malformed(format!("{FIELD_DATA} must be an object"));
    let raw: Box<RawValue> = serde_json::from_str(data_json).map_err(|_| not_object())?;
    if !raw.get().trim_start().starts_with('{') {
        return Err(not_object());
    }
    let canonical = canonical_value(&raw).map_err(|_| not_object())?;
    Ok(canonical.unwrap_or_else(|| "{}".to_string()))
}

/// The canonical text of one value, or `None` when the value is dropped.
fn canonical_value(raw: &RawValue) -> Result<Option<String>, serde_json::Error> {
    let text = raw.get().trim();
    match text.as_bytes().first() {
        Some(b'{') => {
            let object: Fields = serde_json::from_str(text)?;
            let mut members = Vec::with_capacity(object.len());
            for (key, value) in &object {
                if let Some(v) = canonical_value(value)? {
                    members.push(format!("{}:{v}", serde_json::to_string(key)?));
                }
            }
            Ok((!members.is_empty()).then(|| format!("{{{}}}", members.join(","))))
        }
        Some(b'[') => {
            let items: Vec<Box<RawValue>> = serde_json::from_str(text)?;
            let mut kept = Vec::with_capacity(items.len());
            for item in &items {
                if let Some(v) = canonical_value(item)? {
                    kept.push(v);
                }
            }
            Ok((!kept.is_empty()).then(|| format!("[{}]", kept.join(","))))
        }
        Some(b'"') => {
            let s: String = serde_json::from_str(text)?;
            if s.is_empty() {
                Ok(None)
            } else {
                Ok(Some(serde_json::to_string(&s)?))
            }
        }
        Some(b'n') => Ok(None),
        // A number or a boolean: its source text, as a string.
        _ => Ok(Some(serde_json::to_string(text)?)),
    }
}

/// Compact JSON with every non-ASCII character written as `\uXXXX` (UTF-16 units), the
/// plaintext of `encData`.
pub fn ascii_json(value: &serde_json::Value) -> String {
    let compact = value.to_string();
    let mut out = String::with_capacity(compact.len());
    for c in compact.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// The SM4 key of `encData`: the ASCII bytes of the first 16 characters of the uppercase
/// hex of SM4-ECB-PKCS#7(key = the first 16 bytes of appCode, plaintext = appSecret).
pub fn derive_key(app_code: &str, app_secret: &str) -> Result<[u8; 16], OpenEnvelopeError> {
    let first: [u8; 16] = app_code
        .as_bytes()
        .get(..APP_CODE_BYTES_MIN)
        .and_then(|b| b.try_into().ok())
        .ok_or(OpenEnvelopeError::AppCodeTooShort)?;
    let sealed = hex::encode_upper(sm4_ecb_encrypt(&first, app_secret.as_bytes()));
    sealed
        .as_bytes()
        .get(..16)
        .and_then(|b| b.try_into().ok())
        .ok_or(OpenEnvelopeError::Undecryptable)
}

/// `encData` of a plaintext: uppercase hex of SM4-ECB-PKCS#7 under the derived key.
pub fn encrypt_data(key: &[u8; 16], plaintext: &str) -> String {
    hex::encode_upper(sm4_ecb_encrypt(key, plaintext.as_bytes()))
}

/// SM4 in ECB mode with PKCS#7 padding (what the national platform's envelope uses; ECB is
/// its choice, not ours: each block is encrypted alone).
pub fn sm4_ecb_encrypt(key: &[u8; 16], plaintext: &[u8]) -> Vec<u8> {
    let cipher = Sm4::new(&Array::from(*key));
    let pad = SM4_BLOCK - plaintext.len() % SM4_BLOCK;
    let mut out = Vec::with_capacity(plaintext.len() + pad);
    out.extend_from_slice(plaintext);
    out.extend(std::iter::repeat_n(pad as u8, pad));
    for chunk in out.chunks_exact_mut(SM4_BLOCK) {
        let mut block = Array::try_from(&*chunk).unwrap_or_default();
        cipher.encrypt_block(&mut block);
        chunk.copy_from_slice(&block);
    }
    out
}

/// The inverse of [`sm4_ecb_encrypt`]; `None` when the length or the padding is wrong.
pub fn sm4_ecb_decrypt(key: &[u8; 16], ciphertext: &[u8]) -> Option<Vec<u8>> {
    if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(SM4_BLOCK) {
        return None;
    }
    let cipher = Sm4::new(&Array::from(*key));
    let mut out = ciphertext.to_vec();
    for chunk in out.chunks_exact_mut(SM4_BLOCK) {
        let mut block = Array::try_from(&*chunk).ok()?;
        cipher.decrypt_block(&mut block);
        chunk.copy_from_slice(&block);
    }
    let pad = usize::from(*out.last()?);
    if pad == 0 || pad > SM4_BLOCK || out.len() < pad {
        return None;
    }
    if !out[out.len() - pad..]
        .iter()
        .all(|b| usize::from(*b) == pad)
    {
        return None;
    }
    out.truncate(out.len() - pad);
    Some(out)
}

/// Writes a signed envelope: `fields` (appCode, timestamp and any others; `version`,
/// `encType` and `signType` are added), `data` encrypted into `encData`, `signData` by `key`.
pub fn seal(
    fields: &[(&str, serde_json::Value)],
    data: Option<&serde_json::Value>,
    app_secret: &str,
    key: &SigningKey,
) -> Result<serde_json::Map<String, serde_json::Value>, OpenEnvelopeError> {
    let mut out = serde_json::Map::new();
    out.insert(FIELD_VERSION.into(), VERSION.into());
    out.insert(FIELD_ENC_TYPE.into(), ENC_TYPE.into());
    out.insert(FIELD_SIGN_TYPE.into(), SIGN_TYPE.into());
    for (name, value) in fields {
        out.insert((*name).to_string(), value.clone());
    }
    let app_code = out
        .get(FIELD_APP_CODE)
        .and_then(|v| v.as_str())
        .ok_or_else(|| missing(FIELD_APP_CODE))?
        .to_string();
    let mut raw_fields = Fields::new();
    for (name, value) in &out {
        let raw = serde_json::value::to_raw_value(value)
            .map_err(|e| OpenEnvelopeError::Malformed(e.to_string()))?;
        raw_fields.insert(name.clone(), raw);
    }
    let data_text = data.map(ascii_json);
    let text = signing_string(&raw_fields, data_text.as_deref(), app_secret)?;
    out.insert(FIELD_SIGN_DATA.into(), sign(key, &text).into());
    if let Some(plain) = data_text {
        let derived = derive_key(&app_code, app_secret)?;
        out.insert(FIELD_ENC_DATA.into(), encrypt_data(&derived, &plain).into());
    }
    Ok(out)
}

/// Base64 of the 64-byte r‖s SM2 signature of `text` (SM3, user id [`USER_ID`]).
pub fn sign(key: &SigningKey, text: &str) -> String {
    let signature: Signature = key.sign(text.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(signature.to_bytes())
}

/// The signing string of an envelope with `data` (its JSON text), for tests and tools that
/// show what was signed.
pub fn signing_string_of(
    envelope_json: &str,
    data_json: Option<&str>,
    app_secret: &str,
) -> Result<String, OpenEnvelopeError> {
    let mut fields: Fields = serde_json::from_str(envelope_json)
        .map_err(|e| OpenEnvelopeError::Malformed(format!("not a JSON object ({e})")))?;
    let data = fields.remove(FIELD_DATA).map(|raw| raw.get().to_string());
    signing_string(&fields, data_json.or(data.as_deref()), app_secret)
}

/// A partner's public key from hex: `04`‖x‖y (130 digits) or x‖y (128 digits).
pub fn verifying_key_from_hex(text: &str) -> Result<VerifyingKey, OpenEnvelopeError> {
    let text = text.trim();
    let bytes = hex::decode(text)
        .map_err(|_| OpenEnvelopeError::BadKey("the public key must be hex".to_string()))?;
    let point = match bytes.len() {
        64 => [&[0x04u8][..], &bytes].concat(),
        65 | 33 => bytes,
        n => {
            return Err(OpenEnvelopeError::BadKey(format!(
                "a public key has 65 bytes (04‖x‖y), not {n}"
            )))
        }
    };
    VerifyingKey::from_sec1_bytes(USER_ID, &point)
        .map_err(|_| OpenEnvelopeError::BadKey("not a point of the SM2 curve".to_string()))
}

/// A private key from the hex of its 32 bytes.
pub fn signing_key_from_hex(text: &str) -> Result<SigningKey, OpenEnvelopeError> {
    let bytes = hex::decode(text.trim())
        .map_err(|_| OpenEnvelopeError::BadKey("the private key must be hex".to_string()))?;
    signing_key_from_bytes(&bytes)
}

/// A private key from its 32 bytes (`None`-like error when out of range: draw again).
pub fn signing_key_from_bytes(bytes: &[u8]) -> Result<SigningKey, OpenEnvelopeError> {
    if bytes.len() != 32 {
        return Err(OpenEnvelopeError::BadKey(format!(
            "a private key has 32 bytes, not {}",
            bytes.len()
        )));
    }
    SigningKey::from_slice(USER_ID, bytes)
        .map_err(|_| OpenEnvelopeError::BadKey("out of the SM2 scalar range".to_string()))
}

/// `04`‖x‖y in lowercase hex, the form partners exchange.
pub fn verifying_key_hex(key: &VerifyingKey) -> String {
    hex::encode(key.to_sec1_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_is_checked_on_decryption() {
        let key = [7u8; 16];
        let sealed = sm4_ecb_encrypt(&key, b"exactly sixteen!");
        assert_eq!(
            sealed.len(),
            32,
            "a full block of padding follows a full block"
        );
        assert_eq!(
            sm4_ecb_decrypt(&key, &sealed).as_deref(),
            Some(&b"exactly sixteen!"[..])
        );
        assert_eq!(sm4_ecb_decrypt(&[8u8; 16], &sealed), None, "another key");
        assert_eq!(sm4_ecb_decrypt(&key, &sealed[..31]), None, "a cut block");
    }

    #[test]
    fn canonical_data_sorts_stringifies_and_drops_empties() {
        let text =
            r#"{"b":[{"z":1,"a":true}],"a":{"y":null,"x":12.30},"e":[],"s":"","n":null,"c":"中"}"#;
        assert_eq!(
            canonical_data(text).as_deref(),
            Ok(r#"{"a":{"x":"12.30"},"b":[{"a":"true","z":"1"}],"c":"中"}"#)
        );
        assert!(canonical_data("[1]").is_err());
    }

    #[test]
    fn ascii_json_escapes_every_non_ascii_character() {
        let v = serde_json::json!({"name": "张三😀"});
        assert_eq!(ascii_json(&v), r#"{"name":"\u5f20\u4e09\ud83d\ude00"}"#);
    }
}
