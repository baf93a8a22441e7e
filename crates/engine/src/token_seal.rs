//! Gateway tokens at rest: SM4-GCM (the national block cipher in an authenticated mode),
//! with a 128-bit key read from a file the deployment names.
//!
//! A sealed token is stored as `sm4gcm:` + hex(12-byte random nonce ‖ ciphertext ‖ 16-byte
//! tag), authenticated together with the institution's code, so a sealed token copied onto
//! another institution's row does not open. A stored token without the prefix is plaintext
//! from before encryption (or from a database served without a key); the engine seals those
//! when it is given the key (see `Engine::use_token_key`).

use std::path::Path;

use aes_gcm::aead::{Aead, Generate, KeyInit, Payload};
use aes_gcm::{AesGcm, Nonce};
use sm4::cipher::consts::U12;
use sm4::Sm4;

type Sm4Gcm = AesGcm<Sm4, U12>;

/// What marks a sealed token.
pub const SEALED_PREFIX: &str = "sm4gcm:";

const KEY_BYTES: usize = 16;
const NONCE_BYTES: usize = 12;
const TAG_BYTES: usize = 16;

/// Why a key or a sealed token could not be used. Messages never include a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenKeyError {
    /// The key file cannot be read.
    Unreadable(String),
    /// The key file does not hold 32 hex digits.
    Malformed(String),
    /// A sealed token does not open with this key (another key, or a damaged row).
    WrongKey { institution: String },
    /// Tokens are sealed but no key was given.
    KeyNeeded,
    /// Sealing the plaintext tokens could not be written.
    Store(String),
}

impl std::fmt::Display for TokenKeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenKeyError::Unreadable(why) => write!(
                f,
                "GJ-TOKEN-KEY-UNREADABLE: 无法读取机构令牌密钥文件：{why} / cannot read the token key file: {why}"
            ),
            TokenKeyError::Malformed(path) => write!(
                f,
                "GJ-TOKEN-KEY-MALFORMED: 机构令牌密钥文件 {path} 应为32位十六进制（128位SM4密钥） / the token key file {path} must hold 32 hex digits (a 128-bit SM4 key)"
            ),
            TokenKeyError::WrongKey { institution } => write!(
                f,
                "GJ-TOKEN-KEY-WRONG: 机构令牌密钥不对：机构 {institution} 的令牌无法用此密钥解密，请使用加密时的密钥文件 / the token key is wrong: institution {institution}'s token does not open with it; use the key the tokens were sealed with"
            ),
            TokenKeyError::Store(why) => write!(
                f,
                "GJ-TOKEN-SEAL-STORE: 加密后的机构令牌未能写入数据库：{why} / the sealed tokens could not be written: {why}"
            ),
            TokenKeyError::KeyNeeded => write!(
                f,
                "GJ-TOKEN-KEY-NEEDED: 数据库中的机构令牌已加密，请用 --token-key 指定密钥文件 / the institutions' tokens are encrypted: give the key file with --token-key"
            ),
        }
    }
}

impl std::error::Error for TokenKeyError {}

/// The SM4 key that seals gateway tokens. `Debug` does not show it.
#[derive(Clone)]
pub struct TokenKey([u8; KEY_BYTES]);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

impl TokenKey {
    pub fn from_bytes(bytes: [u8; KEY_BYTES]) -> TokenKey {
        TokenKey(bytes)
    }

    /// Reads a key file: 32 hex digits (surrounding whitespace ignored).
    pub fn from_file(path: &Path) -> Result<TokenKey, TokenKeyError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| TokenKeyError::Unreadable(format!("{}: {e}", path.display())))?;
        TokenKey::from_hex(text.trim())
            .ok_or_else(|| TokenKeyError::Malformed(path.display().to_string()))
    }

    pub fn from_hex(text: &str) -> Option<TokenKey> {
        let bytes = hex::decode(text).ok()?;
        <[u8; KEY_BYTES]>::try_from(bytes.as_slice())
            .ok()
            .map(TokenKey)
    }

    /// A fresh random key (the operating system's randomness).
    pub fn generate() -> TokenKey {
        let key = aes_gcm::Key::<Sm4Gcm>::generate();
        let mut bytes = [0_u8; KEY_BYTES];
        bytes.copy_from_slice(key.as_slice());
        TokenKey(bytes)
    }

    /// Writes a fresh key to `path`, readable by its owner only (the demo's key file).
    pub fn generate_file(path: &Path) -> Result<TokenKey, TokenKeyError> {
        use std::io::Write;
        let key = TokenKey::generate();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(path)
            .map_err(|e| TokenKeyError::Unreadable(format!("{}: {e}", path.display())))?;
        writeln!(file, "{}", hex::encode(key.0))
            .map_err(|e| TokenKeyError::Unreadable(format!("{}: {e}", path.display())))?;
        Ok(key)
    }

    fn cipher(&self) -> Option<Sm4Gcm> {
        Sm4Gcm::new_from_slice(&self.0).ok()
    }

    /// Seals a token for the institution `code`.
    pub fn seal(&self, code: &str, token: &str) -> Option<String> {
        let nonce = Nonce::<U12>::generate();
        let sealed = self
            .cipher()?
            .encrypt(
                &nonce,
                Payload {
                    msg: token.as_bytes(),
                    aad: code.as_bytes(),
                },
            )
            .ok()?;
        let mut out = Vec::with_capacity(NONCE_BYTES + sealed.len());
        out.extend_from_slice(nonce.as_slice());
        out.extend_from_slice(&sealed);
        Some(format!("{SEALED_PREFIX}{}", hex::encode(out)))
    }

    /// Opens a sealed token of the institution `code`.
    pub fn open(&self, code: &str, sealed: &str) -> Result<String, TokenKeyError> {
        let wrong = || TokenKeyError::WrongKey {
            institution: code.to_string(),
        };
        let bytes = sealed
            .strip_prefix(SEALED_PREFIX)
            .and_then(|h| hex::decode(h).ok())
            .filter(|b| b.len() >= NONCE_BYTES + TAG_BYTES)
            .ok_or_else(wrong)?;
        let (nonce, body) = bytes.split_at(NONCE_BYTES);
        let nonce = Nonce::<U12>::try_from(nonce).map_err(|_| wrong())?;
        let plain = self
            .cipher()
            .ok_or_else(wrong)?
            .decrypt(
                &nonce,
                Payload {
                    msg: body,
                    aad: code.as_bytes(),
                },
            )
            .map_err(|_| wrong())?;
        String::from_utf8(plain).map_err(|_| wrong())
    }
}

/// Whether a stored token is sealed (else it is plaintext).
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_token_opens_only_with_its_key_and_institution() {
        let key = TokenKey::generate();
        let sealed = key.seal("P37030000001", "tok-secret").expect("seal");
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("tok-secret"));
        assert_ne!(
            sealed,
            key.seal("P37030000001", "tok-secret").expect("seal"),
            "a fresh nonce each time"
        );
        assert_eq!(
            key.open("P37030000001", &sealed).as_deref(),
            Ok("tok-secret")
        );
        assert!(matches!(
            TokenKey::generate().open("P37030000001", &sealed),
            Err(TokenKeyError::WrongKey { .. })
        ));
        assert!(key.open("P37030000002", &sealed).is_err());
        let mut damaged = sealed.clone();
        let last = damaged.pop();
        damaged.push(if last == Some('0') { '1' } else { '0' });
        assert!(key.open("P37030000001", &damaged).is_err());
        assert!(format!("{key:?}").contains(".."));
    }

    #[test]
    fn key_files_are_32_hex_digits() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token.key");
        let key = TokenKey::generate_file(&path).expect("generate");
        let again = TokenKey::from_file(&path).expect("read");
        assert_eq!(key.0, again.0);
        std::fs::write(&path, "not a key\n").expect("write");
        assert!(matches!(
            TokenKey::from_file(&path),
            Err(TokenKeyError::Malformed(_))
        ));
        assert!(matches!(
            TokenKey::from_file(&dir.path().join("missing")),
            Err(TokenKeyError::Unreadable(_))
        ));
    }
}
