//! Personal data at rest: persons' ID numbers and phone numbers encrypted in the database,
//! and found again through a keyed hash, where the deployment enables it (`[privacy]`).
//!
//! One 256-bit key (a file of 64 hex digits) gives three keys through HMAC-SM3 with fixed
//! labels: the SM4 key that seals each value (SM4-GCM: the national block cipher in an
//! authenticated mode), the HMAC-SM3 key of the look-up columns, and a key check stored in
//! the database (`privacy_key`) so a wrong key is refused before anything is read or
//! written. None of the three tells anything about the others.
//!
//! A sealed value is stored as `pii:` + Base64(version 1 ‖ 12-byte random nonce ‖ ciphertext
//! ‖ 16-byte tag), authenticated together with the field and the person's psn_no, so a
//! sealed ID number copied onto another person's row does not open. The look-up column
//! holds the first 16 bytes of HMAC-SM3(look-up key, field ‖ 0 ‖ normalised value) in hex:
//! equal values hash alike, so sign-in by phone and search by ID number are one indexed
//! equality, and the hash says nothing of the value without the key. A stored value without
//! the prefix is plaintext (a database from before encryption, or served without it).

use std::path::Path;
use std::sync::Arc;

use aes_gcm::aead::{Aead, Generate, KeyInit, Payload};
use aes_gcm::{AesGcm, Nonce};
use base64::Engine as _;
use gongji_core::pii::PiiField;
use hmac::{Hmac, Mac};
use sm3::Sm3;
use sm4::cipher::consts::U12;
use sm4::Sm4;

type Sm4Gcm = AesGcm<Sm4, U12>;
type HmacSm3 = Hmac<Sm3>;

/// What marks a sealed value.
pub const SEALED_PREFIX: &str = "pii:";
/// The algorithms recorded beside the key check.
pub const ALG: &str = "sm4-gcm+hmac-sm3";
/// The key file's length in bytes (64 hex digits).
pub const KEY_BYTES: usize = 32;

const VERSION: u8 = 1;
const NONCE_BYTES: usize = 12;
const TAG_BYTES: usize = 16;
const LOOKUP_BYTES: usize = 16;

/// Why personal data cannot be read or written with the key given. Messages never include
/// the key nor a personal value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrivacyError {
    /// `[privacy]` enables encryption but the key file or variable cannot be read.
    KeyMissing(String),
    /// The key file does not hold 64 hex digits.
    KeyMalformed(String),
    /// The key is not the one the database's data was sealed with.
    KeyWrong,
    /// The database holds sealed data and no key was given.
    KeyNeeded,
}

impl PrivacyError {
    pub fn code(&self) -> &'static str {
        match self {
            PrivacyError::KeyMissing(_) => crate::CODE_PRIVACY_KEY_MISSING,
            PrivacyError::KeyMalformed(_) => crate::CODE_PRIVACY_KEY_MALFORMED,
            PrivacyError::KeyWrong => crate::CODE_PRIVACY_KEY_WRONG,
            PrivacyError::KeyNeeded => crate::CODE_PRIVACY_KEY_NEEDED,
        }
    }

    fn message(&self) -> String {
        match self {
            PrivacyError::KeyMissing(why) => format!(
                "无法读取个人信息加密密钥：{why} / cannot read the personal-data key: {why}"
            ),
            PrivacyError::KeyMalformed(whence) => format!(
                "个人信息加密密钥 {whence} 应为64位十六进制（256位） / the personal-data key {whence} must be 64 hex digits (256 bits)"
            ),
            PrivacyError::KeyWrong => "个人信息加密密钥与数据库不符：请使用加密时的密钥，未读写任何数据 / the personal-data key does not match this database: use the key its data was encrypted with; nothing was read or written".to_string(),
            PrivacyError::KeyNeeded => "数据库中的身份证号和手机号已加密，请在配置 [privacy] 中提供密钥（或 --privacy-key） / this database's ID and phone numbers are encrypted: give the key in [privacy] (or --privacy-key)".to_string(),
        }
    }
}

impl std::fmt::Display for PrivacyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

impl std::error::Error for PrivacyError {}

/// The deployment's personal-data key, with what it derives. `Debug` does not show it.
#[derive(Clone)]
pub struct PrivacyKey {
    data: [u8; 16],
    lookup: [u8; 32],
    check: String,
}

impl std::fmt::Debug for PrivacyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivacyKey(..)")
    }
}

/// HMAC-SM3 of `parts` under `key`.
fn hmac_sm3(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes a key of any length, so this cannot fail.
    let Ok(mut mac) = <HmacSm3 as KeyInit>::new_from_slice(key) else {
        return [0; 32];
    };
    for p in parts {
        mac.update(p);
    }
    let mut out = [0; 32];
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

impl PrivacyKey {
    pub fn from_bytes(master: [u8; KEY_BYTES]) -> PrivacyKey {
        let mut data = [0; 16];
        data.copy_from_slice(&hmac_sm3(&master, &[b"gongji pii sm4-gcm v1"])[..16]);
        let lookup = hmac_sm3(&master, &[b"gongji pii lookup v1"]);
        let check = hex::encode(&hmac_sm3(&master, &[b"gongji pii key check v1"])[..16]);
        PrivacyKey {
            data,
            lookup,
            check,
        }
    }

    /// 64 hex digits, surrounding whitespace ignored.
    pub fn from_hex(text: &str) -> Option<PrivacyKey> {
        let bytes = hex::decode(text.trim()).ok()?;
        <[u8; KEY_BYTES]>::try_from(bytes.as_slice())
            .ok()
            .map(PrivacyKey::from_bytes)
    }

    /// Reads a key file (64 hex digits).
    pub fn from_file(path: &Path) -> Result<PrivacyKey, PrivacyError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| PrivacyError::KeyMissing(format!("{}: {e}", path.display())))?;
        PrivacyKey::from_hex(&text)
            .ok_or_else(|| PrivacyError::KeyMalformed(path.display().to_string()))
    }

    /// Reads the key from an environment variable (64 hex digits).
    pub fn from_env(name: &str) -> Result<PrivacyKey, PrivacyError> {
        let text = std::env::var(name)
            .map_err(|_| PrivacyError::KeyMissing(format!("${name} is not set")))?;
        PrivacyKey::from_hex(&text).ok_or_else(|| PrivacyError::KeyMalformed(format!("${name}")))
    }

    /// A fresh key from the operating system's randomness, as the 64 hex digits of a key
    /// file.
    pub fn generate_hex() -> Result<String, PrivacyError> {
        let master = <[u8; KEY_BYTES]>::try_generate()
            .map_err(|e| PrivacyError::KeyMissing(format!("no randomness: {e}")))?;
        Ok(hex::encode(master))
    }

    /// Writes a fresh key to `path` (a new file, readable by its owner only).
    pub fn generate_file(path: &Path) -> Result<PrivacyKey, PrivacyError> {
        use std::io::Write;
        let text = PrivacyKey::generate_hex()?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let failed =
            |e: std::io::Error| PrivacyError::KeyMissing(format!("{}: {e}", path.display()));
        let mut file = options.open(path).map_err(failed)?;
        writeln!(file, "{text}").map_err(failed)?;
        file.sync_all().map_err(failed)?;
        PrivacyKey::from_hex(&text)
            .ok_or_else(|| PrivacyError::KeyMalformed(path.display().to_string()))
    }

    /// What the database keeps to recognise this key (it cannot be turned back into it).
    pub fn check(&self) -> &str {
        &self.check
    }

    /// The look-up value of `value`: a keyed hash of its normalised form.
    pub fn lookup(&self, field: PiiField, value: &str) -> String {
        let normal = field.normalise(value);
        let mac = hmac_sm3(
            &self.lookup,
            &[field.tag().as_bytes(), &[0], normal.as_bytes()],
        );
        hex::encode(&mac[..LOOKUP_BYTES])
    }

    fn cipher(&self) -> Option<Sm4Gcm> {
        Sm4Gcm::new_from_slice(&self.data).ok()
    }

    fn aad(field: PiiField, psn_no: &str) -> Vec<u8> {
        let mut aad = Vec::with_capacity(field.tag().len() + 1 + psn_no.len());
        aad.extend_from_slice(field.tag().as_bytes());
        aad.push(0);
        aad.extend_from_slice(psn_no.as_bytes());
        aad
    }

    /// Seals `value` of the person `psn_no`.
    pub fn seal(&self, field: PiiField, psn_no: &str, value: &str) -> Result<String, PrivacyError> {
        let failed = || PrivacyError::KeyMissing("SM4-GCM could not seal a value".into());
        let nonce = Nonce::<U12>::try_generate().map_err(|_| failed())?;
        let aad = PrivacyKey::aad(field, psn_no);
        let sealed = self
            .cipher()
            .ok_or_else(failed)?
            .encrypt(
                &nonce,
                Payload {
                    msg: value.as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| failed())?;
        let mut out = Vec::with_capacity(1 + NONCE_BYTES + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(nonce.as_slice());
        out.extend_from_slice(&sealed);
        Ok(format!(
            "{SEALED_PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(out)
        ))
    }

    /// Opens a sealed value of the person `psn_no`; a value that does not open (another
    /// key, another row's value, a damaged row) is `KeyWrong`, never garbled text.
    pub fn open(
        &self,
        field: PiiField,
        psn_no: &str,
        stored: &str,
    ) -> Result<String, PrivacyError> {
        let bytes = stored
            .strip_prefix(SEALED_PREFIX)
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .filter(|b| b.len() >= 1 + NONCE_BYTES + TAG_BYTES && b[0] == VERSION)
            .ok_or(PrivacyError::KeyWrong)?;
        let (nonce, body) = bytes[1..].split_at(NONCE_BYTES);
        let nonce = Nonce::<U12>::try_from(nonce).map_err(|_| PrivacyError::KeyWrong)?;
        let aad = PrivacyKey::aad(field, psn_no);
        let plain = self
            .cipher()
            .ok_or(PrivacyError::KeyWrong)?
            .decrypt(
                &nonce,
                Payload {
                    msg: body,
                    aad: &aad,
                },
            )
            .map_err(|_| PrivacyError::KeyWrong)?;
        String::from_utf8(plain).map_err(|_| PrivacyError::KeyWrong)
    }
}

/// Whether a stored value is sealed (else it is plaintext).
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED_PREFIX)
}

/// How a store writes and reads persons' ID and phone numbers.
#[derive(Clone, Debug, Default)]
pub(crate) enum Mode {
    /// Not decided yet: decided as [`Mode::Off`] (no key) on the first person read or
    /// written, which a database holding sealed data refuses.
    #[default]
    Unchecked,
    Off,
    On(Arc<PrivacyKey>),
}

/// A person's ID or phone number as a row stores it: the value (sealed or plaintext) and its
/// look-up hash (`None` when encryption is off).
pub(crate) struct StoredPii {
    pub value: String,
    pub lookup: Option<String>,
}

impl Mode {
    pub(crate) fn key(&self) -> Option<&PrivacyKey> {
        match self {
            Mode::On(k) => Some(k),
            _ => None,
        }
    }

    pub(crate) fn store(
        &self,
        field: PiiField,
        psn_no: &str,
        value: &str,
    ) -> Result<StoredPii, PrivacyError> {
        Ok(match self.key() {
            Some(k) => StoredPii {
                value: k.seal(field, psn_no, value)?,
                lookup: Some(k.lookup(field, value)),
            },
            None => StoredPii {
                value: value.to_string(),
                lookup: None,
            },
        })
    }

    /// The value a row stores, opened when sealed.
    pub(crate) fn reveal(
        &self,
        field: PiiField,
        psn_no: &str,
        stored: &str,
    ) -> Result<String, PrivacyError> {
        if !is_sealed(stored) {
            return Ok(stored.to_string());
        }
        match self.key() {
            Some(k) => k.open(field, psn_no, stored),
            None => Err(PrivacyError::KeyNeeded),
        }
    }
}

/// What a database says about its personal data, read before a key is accepted.
pub(crate) struct KeyEvidence {
    /// The key check stored when encryption was first used.
    pub check: Option<String>,
    /// One sealed ID number and its psn_no, if any row holds one.
    pub sealed_sample: Option<(String, String)>,
}

/// Decides the mode for `key` on a database with `evidence`; `Ok((mode, write_check))`, the
/// key check to be stored when the database has none yet.
pub(crate) fn decide(
    key: Option<PrivacyKey>,
    evidence: &KeyEvidence,
) -> Result<(Mode, Option<String>), PrivacyError> {
    let Some(key) = key else {
        if evidence.check.is_some() || evidence.sealed_sample.is_some() {
            return Err(PrivacyError::KeyNeeded);
        }
        return Ok((Mode::Off, None));
    };
    match &evidence.check {
        Some(check) if check == key.check() => Ok((Mode::On(Arc::new(key)), None)),
        Some(_) => Err(PrivacyError::KeyWrong),
        None => {
            if let Some((psn_no, sealed)) = &evidence.sealed_sample {
                key.open(PiiField::CertNo, psn_no, sealed)?;
            }
            let check = key.check().to_string();
            Ok((Mode::On(Arc::new(key)), Some(check)))
        }
    }
}

/// What `use_privacy` found and did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrivacyStatus {
    /// Encryption is on.
    pub enabled: bool,
    /// Persons whose ID and phone numbers are still stored in clear (sealed by
    /// `seal_plaintext_persons`).
    pub plaintext_persons: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> PrivacyKey {
        PrivacyKey::from_bytes([byte; KEY_BYTES])
    }

    #[test]
    fn a_sealed_value_opens_only_with_its_key_field_and_person() {
        let k = key(7);
        let sealed = k
            .seal(PiiField::CertNo, "P1", "370602198005170011")
            .expect("seal");
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("370602198005170011"));
        assert_ne!(
            sealed,
            k.seal(PiiField::CertNo, "P1", "370602198005170011")
                .expect("seal"),
            "a fresh nonce each time"
        );
        assert_eq!(
            k.open(PiiField::CertNo, "P1", &sealed).as_deref(),
            Ok("370602198005170011")
        );
        assert_eq!(
            k.open(PiiField::CertNo, "P2", &sealed),
            Err(PrivacyError::KeyWrong)
        );
        assert_eq!(
            k.open(PiiField::Phone, "P1", &sealed),
            Err(PrivacyError::KeyWrong)
        );
        assert_eq!(
            key(8).open(PiiField::CertNo, "P1", &sealed),
            Err(PrivacyError::KeyWrong)
        );
        let mut damaged = sealed.clone();
        damaged.insert(10, 'A');
        assert_eq!(
            k.open(PiiField::CertNo, "P1", &damaged),
            Err(PrivacyError::KeyWrong)
        );
        assert!(format!("{k:?}").contains(".."));
    }

    #[test]
    fn look_ups_are_keyed_normalised_and_per_field() {
        let k = key(7);
        let a = k.lookup(PiiField::CertNo, "37060220050612002x");
        assert_eq!(a, k.lookup(PiiField::CertNo, " 37060220050612002X"));
        assert_eq!(a.len(), 32);
        assert_ne!(a, key(8).lookup(PiiField::CertNo, "37060220050612002X"));
        assert_ne!(
            k.lookup(PiiField::Phone, "13800005678"),
            k.lookup(PiiField::CertNo, "13800005678")
        );
        assert_ne!(k.check(), key(8).check());
        assert!(!a.contains(k.check()));
    }

    #[test]
    fn a_database_with_sealed_data_takes_only_its_own_key() {
        let k = key(7);
        let sealed = k
            .seal(PiiField::CertNo, "P1", "370602198005170011")
            .expect("seal");
        let fresh = KeyEvidence {
            check: None,
            sealed_sample: None,
        };
        assert!(matches!(decide(None, &fresh), Ok((Mode::Off, None))));
        assert!(matches!(
            decide(Some(k.clone()), &fresh),
            Ok((Mode::On(_), Some(_)))
        ));
        let keyed = KeyEvidence {
            check: Some(k.check().to_string()),
            sealed_sample: Some(("P1".into(), sealed.clone())),
        };
        assert!(matches!(
            decide(Some(k.clone()), &keyed),
            Ok((Mode::On(_), None))
        ));
        assert_eq!(
            decide(Some(key(8)), &keyed).err(),
            Some(PrivacyError::KeyWrong)
        );
        assert_eq!(decide(None, &keyed).err(), Some(PrivacyError::KeyNeeded));
        let check_lost = KeyEvidence {
            check: None,
            sealed_sample: Some(("P1".into(), sealed)),
        };
        assert_eq!(
            decide(Some(key(8)), &check_lost).err(),
            Some(PrivacyError::KeyWrong)
        );
        assert!(matches!(
            decide(Some(k), &check_lost),
            Ok((Mode::On(_), Some(_)))
        ));
    }

    #[test]
    fn key_files_are_64_hex_digits() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pii.key");
        let k = PrivacyKey::generate_file(&path).expect("generate");
        assert_eq!(
            PrivacyKey::from_file(&path).expect("read").check(),
            k.check()
        );
        assert!(
            PrivacyKey::generate_file(&path).is_err(),
            "never overwrites a key"
        );
        std::fs::write(&path, "not a key\n").expect("write");
        assert_eq!(
            PrivacyKey::from_file(&path).err().map(|e| e.code()),
            Some("GJ-PRIVACY-KEY-MALFORMED")
        );
        assert_eq!(
            PrivacyKey::from_file(&dir.path().join("missing"))
                .err()
                .map(|e| e.code()),
            Some("GJ-PRIVACY-KEY-MISSING")
        );
    }
}
