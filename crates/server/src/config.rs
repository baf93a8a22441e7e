//! The deployment file of `gongji serve --config gongji.toml` (gongji.example.toml at the
//! repository root documents every key).
//!
//! Secrets (the PostgreSQL URL, the metrics token, provider keys) are never values in this
//! file nor arguments on the command line: a key ending in `_file` names a file holding the
//! secret, one ending in `_env` an environment variable. Relative paths are read from the
//! directory of the config file, so a deployment directory can be moved as a whole.
//!
//! Errors name the file and the line, in Chinese and English, as the policy loader's do.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::http::HttpLimits;
use gongji_store::privacy::{PrivacyError, PrivacyKey};

pub const CODE_INVALID: &str = "GJ-CONFIG-INVALID";
pub const CODE_UNREADABLE: &str = "GJ-CONFIG-UNREADABLE";

/// A provider or feature section whose model belongs to the code that uses it (`[sms]`,
/// `[face]`, `[limits]`): kept as parsed TOML with its position, and read into that code's
/// own type with [`Config::section`].
pub type Section = toml::Spanned<toml::Table>;

/// The whole file. Every section may be left out; what is left out takes the safe default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub database: DatabaseConfig,
    #[serde(default)]
    pub http: HttpConfig,
    pub tls: Option<TlsConfig>,
    #[serde(default)]
    pub session: SessionConfig,
    #[serde(default)]
    pub metrics: MetricsConfig,
    #[serde(default)]
    pub institutions: InstitutionsConfig,
    /// The 国密 envelope of app partners (`/open/v1`).
    #[serde(default)]
    pub open_api: OpenApiConfig,
    /// Per-source rate limits.
    pub limits: Option<Section>,
    /// The SMS provider that sends people's sign-in codes. Without it people cannot sign in.
    pub sms: Option<Section>,
    /// The face-verification provider (R-Z5).
    pub face: Option<Section>,
    /// Persons' ID and phone numbers encrypted at rest.
    #[serde(default)]
    pub privacy: PrivacyConfig,
    /// This province as a peer of others (cross-province quotas, issue 14).
    pub province: Option<ProvinceConfig>,
    /// The other provinces this one moves quotas with.
    #[serde(default)]
    pub peers: Vec<PeerConfig>,
    /// The payment provider residents pay their premiums through (R-J5). Without it no
    /// order is made (在线缴费服务未配置).
    pub payment: Option<Section>,
    #[serde(skip)]
    file: PathBuf,
    #[serde(skip)]
    text: String,
}

/// Where the data lives: one of `sqlite`, `postgres_url_env`, `postgres_url_file`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    pub sqlite: Option<PathBuf>,
    pub postgres_url_env: Option<String>,
    pub postgres_url_file: Option<PathBuf>,
}

/// The listening address and what a connection may cost the server.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    #[serde(default = "default_listen")]
    pub listen: Address,
    #[serde(default = "default_header_read")]
    pub header_read_timeout_secs: Seconds,
    #[serde(default = "default_request")]
    pub request_timeout_secs: Seconds,
    #[serde(default = "default_idle")]
    pub idle_timeout_secs: Seconds,
    #[serde(default = "default_max_connections")]
    pub max_connections: Count,
}

impl Default for HttpConfig {
    fn default() -> HttpConfig {
        HttpConfig {
            listen: default_listen(),
            header_read_timeout_secs: default_header_read(),
            request_timeout_secs: default_request(),
            idle_timeout_secs: default_idle(),
            max_connections: default_max_connections(),
        }
    }
}

impl HttpConfig {
    pub fn limits(&self) -> HttpLimits {
        HttpLimits {
            header_read_timeout: self.header_read_timeout_secs.duration(),
            request_timeout: self.request_timeout_secs.duration(),
            idle_timeout: self.idle_timeout_secs.duration(),
            max_connections: self.max_connections.0,
        }
    }
}

fn default_listen() -> Address {
    Address(SocketAddr::from(([127, 0, 0, 1], 8080)))
}

fn default_header_read() -> Seconds {
    Seconds(HttpLimits::default().header_read_timeout.as_secs())
}

fn default_request() -> Seconds {
    Seconds(HttpLimits::default().request_timeout.as_secs())
}

fn default_idle() -> Seconds {
    Seconds(HttpLimits::default().idle_timeout.as_secs())
}

fn default_max_connections() -> Count {
    Count(HttpLimits::default().max_connections)
}

/// HTTPS served by Gongji itself (rustls). PEM files: the certificate chain and its key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionConfig {
    /// The site is reached over HTTPS (a TLS-terminating proxy in front): session cookies
    /// carry `Secure`. Implied by `[tls]`.
    #[serde(default)]
    pub https: bool,
}

/// `/metrics`: on the public address only with `Authorization: Bearer <token>`, and/or open
/// on a separate (loopback or internal) admin address. Neither set: not served at all.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    pub token_file: Option<PathBuf>,
    pub token_env: Option<String>,
    pub admin_addr: Option<Address>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstitutionsConfig {
    /// The SM4 key that encrypts institutions' gateway tokens at rest.
    pub token_key_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenApiConfig {
    /// The platform's SM2 private key (64 hex digits), which signs the answers to app
    /// partners. Without it `/open/v1` refuses every request.
    pub platform_key_file: Option<PathBuf>,
}

/// Persons' ID and phone numbers at rest: with `encrypt_at_rest`, stored sealed (SM4-GCM) and
/// found by a keyed hash (HMAC-SM3), under the 256-bit key (64 hex digits) that `key_file`
/// or `key_env` holds (`gongji privacy keygen`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyConfig {
    #[serde(default)]
    pub encrypt_at_rest: bool,
    pub key_file: Option<PathBuf>,
    pub key_env: Option<String>,
}

/// This province's identity towards its peers.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvinceConfig {
    /// The province's 2-digit code (the first two digits of its divisions, e.g. `37`).
    pub code: ProvinceCode,
    /// Its SM2 private key (64 hex digits, from `gongji province keygen`), which signs every
    /// call to a peer and every answer to one.
    pub key_file: PathBuf,
}

/// A peer province: where it answers and the public key its calls and answers verify with.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    pub code: ProvinceCode,
    /// Its base URL, e.g. `https://gongji.hi.example:8443`.
    pub url: String,
    /// Its SM2 public key, hex `04`‖x‖y, as its `gongji province keygen` printed it.
    pub public_key: String,
}

/// A 2-digit province code, refused at its line otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProvinceCode(pub u32);

impl fmt::Display for ProvinceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}", self.0)
    }
}

impl<'de> Deserialize<'de> for ProvinceCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ProvinceCode, D::Error> {
        let text = String::deserialize(d)?;
        match text.parse::<u32>() {
            Ok(n) if text.len() == 2 && (11..=99).contains(&n) => Ok(ProvinceCode(n)),
            _ => Err(serde::de::Error::custom(format!(
                "省份代码 {text:?} 无效，应为两位数字，如 \"37\" / invalid province code {text:?}: expected 2 digits such as \"37\""
            ))),
        }
    }
}

/// A socket address, refused at its line when it does not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Address(pub SocketAddr);

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Address, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map(Address).map_err(|_| {
            serde::de::Error::custom(format!(
                "地址 {text:?} 无效，应为 IP:端口，如 127.0.0.1:8080 / invalid address {text:?}: expected IP:PORT such as 127.0.0.1:8080"
            ))
        })
    }
}

/// A positive number of seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seconds(pub u64);

impl Seconds {
    pub fn duration(self) -> Duration {
        Duration::from_secs(self.0)
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Seconds, D::Error> {
        let n = u64::deserialize(d)?;
        if n == 0 || n > 24 * 3600 {
            return Err(serde::de::Error::custom(
                "应为 1 到 86400 秒（0 会关闭保护）/ expected 1 to 86400 seconds (0 would turn the protection off)",
            ));
        }
        Ok(Seconds(n))
    }
}

/// A positive count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Count(pub usize);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Count, D::Error> {
        let n = usize::deserialize(d)?;
        if n == 0 || n > 1_000_000 {
            return Err(serde::de::Error::custom(
                "应为 1 到 1000000 / expected 1 to 1000000",
            ));
        }
        Ok(Count(n))
    }
}

/// The database the config names. The PostgreSQL URL may carry a password: it is not shown
/// by `Debug` and never printed.
pub enum Database {
    Sqlite(PathBuf),
    Postgres(String),
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::Sqlite(p) => write!(f, "Sqlite({})", p.display()),
            Database::Postgres(_) => f.write_str("Postgres(<secret>)"),
        }
    }
}

/// A config file refused, with where and why. Displays as `FILE:LINE: message (CODE)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub code: &'static str,
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": {} ({})", self.message, self.code)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads and checks a config file.
    pub fn load(file: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(file).map_err(|e| ConfigError {
            code: CODE_UNREADABLE,
            file: file.display().to_string(),
            line: None,
            message: format!("无法读取配置文件 / cannot read the config file: {e}"),
        })?;
        Config::parse(file, &text)
    }

    /// Parses a config file's text; `file` names it in errors and anchors relative paths.
    pub fn parse(file: &Path, text: &str) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| ConfigError {
            code: CODE_INVALID,
            file: file.display().to_string(),
            line: e.span().map(|s| line_of(text, s.start)),
            message: format!(
                "配置无效 / invalid configuration: {}",
                e.message().trim_end()
            ),
        })?;
        config.file = file.to_path_buf();
        config.text = text.to_string();
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let d = &self.database;
        let named = [
            d.sqlite.is_some(),
            d.postgres_url_env.is_some(),
            d.postgres_url_file.is_some(),
        ]
        .into_iter()
        .filter(|set| *set)
        .count();
        if named > 1 {
            return Err(self.error_at_table(
                "database",
                "sqlite、postgres_url_env、postgres_url_file 只能选一个 / give only one of sqlite, postgres_url_env, postgres_url_file",
            ));
        }
        self.check_peers()?;
        let m = &self.metrics;
        if m.token_file.is_some() && m.token_env.is_some() {
            return Err(self.error_at_table(
                "metrics",
                "token_file 与 token_env 只能选一个 / give only one of token_file, token_env",
            ));
        }
        let p = &self.privacy;
        let keys = usize::from(p.key_file.is_some()) + usize::from(p.key_env.is_some());
        if p.encrypt_at_rest && keys != 1 {
            return Err(self.error_at_table(
                "privacy",
                "encrypt_at_rest 需要 key_file 或 key_env 之一 / encrypt_at_rest needs one of key_file, key_env",
            ));
        }
        if !p.encrypt_at_rest && keys > 0 {
            return Err(self.error_at_table(
                "privacy",
                "给了密钥却未开启 encrypt_at_rest：请设为 true 或删去密钥 / a key is given but encrypt_at_rest is off: set it to true or remove the key",
            ));
        }
        Ok(())
    }

    fn check_peers(&self) -> Result<(), ConfigError> {
        if self.peers.is_empty() {
            return Ok(());
        }
        let Some(own) = &self.province else {
            return Err(self.error_at_table(
                "[peers]",
                "配置了 [[peers]] 就须配置 [province] code 与 key_file / [[peers]] needs [province] with code and key_file",
            ));
        };
        let mut seen = std::collections::BTreeSet::new();
        for peer in &self.peers {
            if peer.code == own.code || !seen.insert(peer.code) {
                return Err(self.error_at_table(
                    "[peers]",
                    &format!(
                        "省份 {} 重复，或与本省相同 / province {} is listed twice, or is this province",
                        peer.code, peer.code
                    ),
                ));
            }
            if !(peer.url.starts_with("http://") || peer.url.starts_with("https://")) {
                return Err(self.error_at_table(
                    "[peers]",
                    &format!(
                        "省份 {} 的 url 应以 http:// 或 https:// 开头 / the url of province {} must start with http:// or https://",
                        peer.code, peer.code
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The file this config was read from (empty for the defaults).
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// A path from the file, relative to the file's directory.
    pub fn path(&self, p: &Path) -> PathBuf {
        match self.file.parent() {
            Some(dir) if p.is_relative() => dir.join(p),
            _ => p.to_path_buf(),
        }
    }

    /// The database, or `None` when the file names none (the caller's default applies).
    pub fn database(&self) -> Result<Option<Database>, ConfigError> {
        let d = &self.database;
        if let Some(p) = &d.sqlite {
            return Ok(Some(Database::Sqlite(self.path(p))));
        }
        let url = self.secret(
            "database",
            d.postgres_url_file.as_deref(),
            d.postgres_url_env.as_deref(),
        )?;
        Ok(url.map(Database::Postgres))
    }

    /// The bearer token `/metrics` asks for on the public address, if any.
    pub fn metrics_token(&self) -> Result<Option<String>, ConfigError> {
        let m = &self.metrics;
        self.secret("metrics", m.token_file.as_deref(), m.token_env.as_deref())
    }

    /// The personal-data key when `[privacy] encrypt_at_rest` is on; `None` when off. A key
    /// that cannot be read is `GJ-PRIVACY-KEY-MISSING` or `-MALFORMED`, never "off".
    pub fn privacy_key(&self) -> Result<Option<PrivacyKey>, PrivacyError> {
        let p = &self.privacy;
        if !p.encrypt_at_rest {
            return Ok(None);
        }
        match (&p.key_file, &p.key_env) {
            (Some(file), _) => PrivacyKey::from_file(&self.path(file)).map(Some),
            (None, Some(var)) => PrivacyKey::from_env(var).map(Some),
            (None, None) => Err(PrivacyError::KeyMissing(
                "[privacy] key_file / key_env".into(),
            )),
        }
    }

    /// The site is reached over HTTPS: served with TLS here, or the file says a proxy does.
    pub fn https(&self) -> bool {
        self.tls.is_some() || self.session.https
    }

    /// Reads a secret from a file (`*_file`, relative to the config's directory) or an
    /// environment variable (`*_env`). Surrounding white space is dropped; an empty secret is
    /// refused. `table` places errors.
    pub fn secret(
        &self,
        table: &str,
        file: Option<&Path>,
        env: Option<&str>,
    ) -> Result<Option<String>, ConfigError> {
        let value = match (file, env) {
            (Some(f), _) => {
                let path = self.path(f);
                std::fs::read_to_string(&path).map_err(|e| {
                    self.error_at_table(
                        table,
                        &format!(
                            "无法读取密钥文件 {} / cannot read the secret file {}: {e}",
                            path.display(),
                            path.display()
                        ),
                    )
                })?
            }
            (None, Some(var)) => std::env::var(var).map_err(|_| {
                self.error_at_table(
                    table,
                    &format!("环境变量 {var} 未设置 / the environment variable {var} is not set"),
                )
            })?,
            (None, None) => return Ok(None),
        };
        let value = value.trim();
        if value.is_empty() {
            return Err(self.error_at_table(table, "密钥为空 / the secret is empty"));
        }
        Ok(Some(value.to_string()))
    }

    /// Reads a pass-through section (`[sms]`, `[face]`, `[limits]`) into the type of the code
    /// that uses it; errors name the section's line.
    pub fn section<T: DeserializeOwned>(
        &self,
        name: &str,
        section: &Section,
    ) -> Result<T, ConfigError> {
        toml::Value::Table(section.get_ref().clone())
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError {
                code: CODE_INVALID,
                file: self.file.display().to_string(),
                line: Some(line_of(&self.text, section.span().start)),
                message: format!("[{name}] 无效 / invalid: {}", e.message().trim_end()),
            })
    }

    /// An error placed at the `[table]` header (or nowhere, for the defaults).
    pub fn error_at_table(&self, table: &str, message: &str) -> ConfigError {
        let header = format!("[{table}]");
        let line = self
            .text
            .lines()
            .position(|l| l.trim() == header)
            .map(|i| i + 1);
        ConfigError {
            code: CODE_INVALID,
            file: self.file.display().to_string(),
            line,
            message: message.to_string(),
        }
    }
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("/etc/gongji/gongji.toml"), text)
    }

    #[test]
    fn the_shipped_example_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../gongji.example.toml");
        let text = std::fs::read_to_string(&path).expect("gongji.example.toml");
        let c = Config::parse(&path, &text).unwrap_or_else(|e| panic!("{e}"));
        assert!(c.tls.is_some() && c.https());
        assert!(c.sms.is_some() && c.face.is_some() && c.limits.is_some());
        assert!(c.institutions.token_key_file.is_some());
        assert!(c.privacy.encrypt_at_rest && c.privacy.key_file.is_some());
        assert_eq!(c.http.limits().max_connections, 10_000);
        let limits: crate::limits::LimitsConfig = c
            .limits
            .as_ref()
            .map(|l| c.section("limits", l))
            .transpose()
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_default();
        assert_eq!(limits.sign_in_burst, Some(20));
    }

    #[test]
    fn defaults_are_safe() {
        let c = parse("").expect("empty file");
        let l = c.http.limits();
        assert_eq!(l, HttpLimits::default());
        assert_eq!(l.header_read_timeout, Duration::from_secs(10));
        assert_eq!(c.http.listen.0.to_string(), "127.0.0.1:8080");
        assert!(!c.https());
        assert!(c.sms.is_none());
        assert!(c.database().expect("database").is_none());
        assert_eq!(c.metrics_token().expect("token"), None);
    }

    #[test]
    fn errors_name_file_line_and_say_why_in_both_languages() {
        let e = parse("[http]\nlisten = \"127.0.0.1:8080\"\nheader_read_timeout_secs = 0\n")
            .expect_err("0 s");
        assert_eq!(e.line, Some(3), "{e}");
        assert_eq!(e.code, CODE_INVALID);
        let shown = e.to_string();
        assert!(shown.starts_with("/etc/gongji/gongji.toml:3: "), "{shown}");
        assert!(
            shown.contains("应为") && shown.contains("expected"),
            "{shown}"
        );

        let e = parse("\n[http]\nlisten = \"localhost\"\n").expect_err("address");
        assert_eq!(e.line, Some(3), "{e}");

        let e = parse("[metrics]\ntoken = \"s3cret\"\n").expect_err("a secret inline");
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.message.contains("unknown field"), "{e}");

        let e = parse("[database]\nsqlite = \"a.db\"\npostgres_url_env = \"X\"\n")
            .expect_err("two databases");
        assert_eq!(e.line, Some(1), "{e}");
    }

    #[test]
    fn secrets_come_from_files_relative_to_the_config_and_are_not_shown() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("url"), "postgres://u:pw@db/gongji\n").expect("write");
        std::fs::write(dir.path().join("metrics-token"), "  tok-1  \n").expect("write");
        let file = dir.path().join("gongji.toml");
        let c = Config::parse(
            &file,
            "[database]\npostgres_url_file = \"url\"\n[metrics]\ntoken_file = \"metrics-token\"\n",
        )
        .expect("config");
        let db = c.database().expect("database").expect("named");
        assert!(matches!(&db, Database::Postgres(u) if u == "postgres://u:pw@db/gongji"));
        assert!(!format!("{db:?}").contains("pw"), "Debug hides the URL");
        assert_eq!(c.metrics_token().expect("token").as_deref(), Some("tok-1"));

        let c = Config::parse(&file, "[metrics]\ntoken_file = \"missing\"\n").expect("config");
        let e = c.metrics_token().expect_err("missing file");
        assert_eq!(e.line, Some(1));

        let c = Config::parse(
            &file,
            "[metrics]\ntoken_env = \"GONGJI_TEST_SURELY_UNSET_VARIABLE\"\n",
        )
        .expect("config");
        let e = c.metrics_token().expect_err("unset variable");
        assert!(
            e.message.contains("GONGJI_TEST_SURELY_UNSET_VARIABLE"),
            "{e}"
        );
    }

    #[test]
    fn privacy_is_off_by_default_and_on_only_with_one_readable_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("gongji.toml");
        let c = Config::parse(&file, "").expect("config");
        assert!(c.privacy_key().expect("off").is_none());
        let e = Config::parse(&file, "[privacy]\nencrypt_at_rest = true\n").expect_err("no key");
        assert_eq!(e.line, Some(1), "{e}");
        let e = Config::parse(&file, "[privacy]\nkey_file = \"pii.key\"\n").expect_err("key, off");
        assert_eq!(e.line, Some(1), "{e}");
        let c = Config::parse(
            &file,
            "[privacy]\nencrypt_at_rest = true\nkey_file = \"pii.key\"\n",
        )
        .expect("config");
        let missing = c.privacy_key().expect_err("no file yet");
        assert_eq!(missing.code(), "GJ-PRIVACY-KEY-MISSING");
        let key = PrivacyKey::generate_file(&dir.path().join("pii.key")).expect("keygen");
        let read = c.privacy_key().expect("key").expect("on");
        assert_eq!(read.check(), key.check(), "read relative to the config");
    }

    #[test]
    fn peers_need_this_provinces_key_and_distinct_two_digit_codes() {
        let c = parse(
            "[province]\ncode = \"37\"\nkey_file = \"province.key\"\n\n[[peers]]\ncode = \"44\"\nurl = \"https://gd.example\"\npublic_key = \"04ab\"\n",
        )
        .expect("config");
        assert_eq!(c.province.as_ref().map(|p| p.code), Some(ProvinceCode(37)));
        assert_eq!(c.peers[0].code.to_string(), "44");

        let e = parse(
            "[[peers]]\ncode = \"44\"\nurl = \"https://gd.example\"\npublic_key = \"04ab\"\n",
        )
        .expect_err("no [province]");
        assert_eq!(e.line, Some(1), "{e}");
        assert!(e.message.contains("[province]"), "{e}");

        let e = parse("[province]\ncode = \"370\"\nkey_file = \"k\"\n").expect_err("3 digits");
        assert_eq!(e.line, Some(2), "{e}");

        let twice = "[province]\ncode = \"37\"\nkey_file = \"k\"\n[[peers]]\ncode = \"37\"\nurl = \"http://x\"\npublic_key = \"04\"\n";
        assert!(parse(twice).expect_err("itself").message.contains("37"));
    }

    #[test]
    fn provider_sections_are_read_by_their_own_types() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Sms {
            kind: String,
        }
        let c = parse("# providers\n\n[sms]\nkind = \"webhook\"\n").expect("config");
        let sms: Sms = c.section("sms", c.sms.as_ref().expect("sms")).expect("sms");
        assert_eq!(sms.kind, "webhook");
        let c = parse("\n[sms]\nkynd = \"webhook\"\n").expect("config");
        let e = c
            .section::<Sms>("sms", c.sms.as_ref().expect("sms"))
            .expect_err("typo");
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.message.contains("[sms]"), "{e}");
    }
}
