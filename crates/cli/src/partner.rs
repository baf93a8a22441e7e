//! `gongji partner add`: app partners (WeChat and Alipay mini-programs, 爱山东) of the 国密
//! envelope at `/open/v1`. Like staff and operator rows, not engine state: written straight
//! into the database beside a running server, which reads the row on each request.
//!
//! The appSecret is read from standard input (`--secret-stdin`) or generated and printed
//! once; with `--token-key` it is sealed (SM4-GCM, as gateway tokens are) before it is
//! stored. `--platform-key FILE` names the platform's SM2 key that signs the answers
//! (`[open_api] platform_key_file` of the server): generated when the file does not exist,
//! and its public key printed for the partner.

use std::io::BufRead;
use std::path::Path;

use gongji_core::codes::Channel;
use gongji_engine::token_seal::TokenKey;
use gongji_nhsa::open_envelope::{self, SigningKey, APP_CODE_BYTES_MIN};
use gongji_server::open_api::{secret_seal_context, PARTNER_CHANNELS};
use gongji_store::read::AppPartnerRow;
use gongji_store::{PgStore, SqliteStore, StoreError};
use rand::Rng;

use crate::registry::{Target, EXIT_OK, EXIT_UNUSABLE};

/// Longest appCode accepted (the national platform's are 32 characters).
const APP_CODE_BYTES_MAX: usize = 64;
/// A generated secret: 32 characters of letters and digits (about 190 bits).
const SECRET_CHARS: usize = 32;
/// A secret read from standard input: at least this long.
const SECRET_CHARS_MIN: usize = 16;
const NAME_CHARS_MAX: usize = 100;

/// What `partner add` was given.
pub struct AddArgs<'a> {
    pub target: &'a Target,
    pub app_code: &'a str,
    pub name: &'a str,
    pub channel: &'a str,
    pub public_key: &'a Path,
    pub secret_stdin: bool,
    pub token_key: Option<&'a Path>,
    pub platform_key: Option<&'a Path>,
    pub inactive: bool,
}

pub fn add(args: &AddArgs<'_>) -> u8 {
    match add_inner(args) {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            EXIT_OK
        }
        Err(e) => {
            eprintln!("{e}");
            EXIT_UNUSABLE
        }
    }
}

fn add_inner(args: &AddArgs<'_>) -> Result<Vec<String>, String> {
    let app_code = args.app_code.trim();
    let valid_code = (APP_CODE_BYTES_MIN..=APP_CODE_BYTES_MAX).contains(&app_code.len())
        && app_code.bytes().all(|b| b.is_ascii_alphanumeric());
    if !valid_code {
        return Err(format!(
            "--app-code {app_code:?}: 应为{APP_CODE_BYTES_MIN}到{APP_CODE_BYTES_MAX}位字母和数字 / must be {APP_CODE_BYTES_MIN} to {APP_CODE_BYTES_MAX} letters and digits"
        ));
    }
    let name = args.name.trim();
    if name.is_empty() || name.chars().count() > NAME_CHARS_MAX {
        return Err(format!(
            "--name: 应为1到{NAME_CHARS_MAX}个字符 / must have 1 to {NAME_CHARS_MAX} characters"
        ));
    }
    let channel = Channel::parse(args.channel.trim())
        .filter(|c| PARTNER_CHANNELS.contains(c))
        .ok_or_else(|| {
            format!(
                "--channel {:?}: 应为 wechat、alipay 或 aishandong / must be wechat, alipay or aishandong",
                args.channel
            )
        })?;
    let key_text = std::fs::read_to_string(args.public_key).map_err(|e| {
        format!(
            "--public-key {}: 无法读取 / cannot read: {e}",
            args.public_key.display()
        )
    })?;
    let public_key = open_envelope::verifying_key_from_hex(&key_text).map_err(|e| {
        format!(
            "--public-key {}: 应为SM2公钥的十六进制（04‖x‖y）/ must be the hex of an SM2 public key (04‖x‖y): {e}",
            args.public_key.display()
        )
    })?;
    let token_key = args
        .token_key
        .map(TokenKey::from_file)
        .transpose()
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    if let Some(file) = args.platform_key {
        let key = platform_key(file, &mut out)?;
        out.push(format!(
            "平台公钥（交给渠道方验签）/ the platform's public key, for the partner to verify answers: {}",
            open_envelope::verifying_key_hex(key.verifying_key())
        ));
    }
    let (secret, generated) = if args.secret_stdin {
        (read_secret()?, false)
    } else {
        (generate_secret(), true)
    };
    let stored_secret = match &token_key {
        Some(key) => key
            .seal(&secret_seal_context(app_code), &secret)
            .ok_or("appSecret 加密失败 / the appSecret could not be sealed")?,
        None => {
            out.push(
                "未给 --token-key：appSecret 以明文存储 / no --token-key: the appSecret is stored in clear"
                    .to_string(),
            );
            secret.clone()
        }
    };
    let row = AppPartnerRow {
        app_code: app_code.to_string(),
        name: name.to_string(),
        channel: channel.code().to_string(),
        app_secret: stored_secret,
        public_key: open_envelope::verifying_key_hex(&public_key),
        active: !args.inactive,
        created_at: chrono::Local::now()
            .naive_local()
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
    };
    let target = args.target;
    let saved = match &target.database {
        Some(url) => PgStore::connect_admin(url).and_then(|mut s| s.add_app_partner(&row)),
        None => SqliteStore::open(&target.db).and_then(|mut s| s.add_app_partner(&row)),
    };
    saved.map_err(|e: StoreError| format!("{}: {e}", target.label()))?;
    out.push(format!(
        "已登记渠道应用 / app partner saved: {app_code} {name} ({}){}",
        channel.code(),
        if args.inactive {
            "，已停用 / inactive"
        } else {
            ""
        }
    ));
    if generated {
        out.push(format!(
            "appSecret（仅显示这一次，请安全交给渠道方）/ appSecret (shown this once; hand it to the partner safely): {secret}"
        ));
    }
    Ok(out)
}

/// The platform's signing key: read from `file`, or generated into it (mode 600).
pub(crate) fn platform_key(file: &Path, out: &mut Vec<String>) -> Result<SigningKey, String> {
    if file.exists() {
        return read_platform_key(file);
    }
    let key = new_signing_key();
    let hex_text: String = key.to_bytes().iter().map(|b| format!("{b:02x}")).collect();
    write_private(file, &hex_text)?;
    out.push(format!(
        "已生成平台签名私钥 / generated the platform's signing key: {}",
        file.display()
    ));
    Ok(key)
}

/// A fresh SM2 private key.
pub(crate) fn new_signing_key() -> SigningKey {
    loop {
        let bytes: [u8; 32] = rand::rngs::OsRng.gen();
        // Out of the scalar range with probability about 2⁻³²: draw again.
        if let Ok(k) = open_envelope::signing_key_from_bytes(&bytes) {
            return k;
        }
    }
}

/// Reads the platform's SM2 private key (64 hex digits).
pub fn read_platform_key(file: &Path) -> Result<SigningKey, String> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        format!(
            "{}: 无法读取平台私钥 / cannot read the platform key: {e}",
            file.display()
        )
    })?;
    open_envelope::signing_key_from_hex(&text).map_err(|e| {
        format!(
            "{}: 平台私钥应为64位十六进制 / the platform key must be 64 hex digits: {e}",
            file.display()
        )
    })
}

pub(crate) fn write_private(file: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(file)
        .map_err(|e| format!("{}: {e}", file.display()))?;
    writeln!(f, "{text}").map_err(|e| format!("{}: {e}", file.display()))
}

fn read_secret() -> Result<String, String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("读取 appSecret 失败 / cannot read the appSecret: {e}"))?;
    let secret = line.trim_end_matches(['\r', '\n']).to_string();
    if secret.chars().count() < SECRET_CHARS_MIN || !secret.is_ascii() {
        return Err(format!(
            "appSecret 至少{SECRET_CHARS_MIN}个ASCII字符 / the appSecret needs at least {SECRET_CHARS_MIN} ASCII characters"
        ));
    }
    Ok(secret)
}

pub(crate) fn generate_secret() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng;
    (0..SECRET_CHARS)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}
