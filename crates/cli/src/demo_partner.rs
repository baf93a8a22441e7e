//! The demo's app partner of the 国密 envelope (`/open/v1`), so the envelope can be tried on
//! a laptop: `gongji demo` keeps, beside its database, the platform's SM2 signing key and one
//! app partner labelled 演示 (its own SM2 key and appSecret, in a file only the demo reads),
//! registers that partner and serves with that platform key. `gongji partner demo-request`
//! sends one signed, encrypted request as that partner and prints the answer it decrypted.
//!
//! `gongji serve` never reads these files: production partners are registered by staff with
//! `gongji partner add`, and the platform key comes from `[open_api] platform_key_file`.

use std::path::{Path, PathBuf};

use gongji_nhsa::open_envelope::{self, OpenEnvelope, SigningKey};
use gongji_store::read::AppPartnerRow;
use gongji_store::SqliteStore;
use rand::Rng;
use serde_json::{json, Value};

use crate::registry::{EXIT_OK, EXIT_UNUSABLE};

/// The demo partner's appCode (16 characters, the shortest the envelope accepts).
pub const APP_CODE: &str = "GJDEMOAPP0000001";
const APP_NAME: &str = "演示应用（仅供演示）/ demo app";

/// The demo partner as its file keeps it: what a real partner holds on its own side.
pub struct DemoPartner {
    pub app_code: String,
    pub app_secret: String,
    pub key: SigningKey,
    pub platform_key: SigningKey,
}

/// The platform's signing key beside `db`.
pub fn platform_key_file(db: &Path) -> PathBuf {
    PathBuf::from(format!("{}.open-platform.key", db.display()))
}

/// The demo partner's appCode, appSecret and private key beside `db`.
pub fn partner_file(db: &Path) -> PathBuf {
    PathBuf::from(format!("{}.open-demo-app.json", db.display()))
}

/// Makes the platform key and the demo partner beside `db` unless they exist, and registers
/// the partner in `db` (again, so a rebuilt database has it too). Returns the partner and
/// the lines to tell the user.
pub fn ensure(db: &Path) -> Result<(DemoPartner, Vec<String>), String> {
    let mut said = Vec::new();
    let platform_key = crate::partner::platform_key(&platform_key_file(db), &mut said)?;
    let file = partner_file(db);
    let partner = if file.exists() {
        read_partner(db, platform_key)?
    } else {
        let partner = DemoPartner {
            app_code: APP_CODE.to_string(),
            app_secret: crate::partner::generate_secret(),
            key: crate::partner::new_signing_key(),
            platform_key,
        };
        let text = json!({
            "appCode": partner.app_code,
            "appSecret": partner.app_secret,
            "privateKey": hex_of(&partner.key.to_bytes()),
        });
        crate::partner::write_private(&file, &text.to_string())?;
        said.push(format!(
            "已生成演示渠道应用 / generated the demo app partner: {}",
            file.display()
        ));
        partner
    };
    let row = AppPartnerRow {
        app_code: partner.app_code.clone(),
        name: APP_NAME.to_string(),
        channel: gongji_core::codes::Channel::WeChat.code().to_string(),
        // In clear: the demo has no token key, and its secret is in the file beside it.
        app_secret: partner.app_secret.clone(),
        public_key: open_envelope::verifying_key_hex(partner.key.verifying_key()),
        active: true,
        created_at: chrono::Local::now()
            .naive_local()
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
    };
    SqliteStore::open(db)
        .and_then(|mut s| s.add_app_partner(&row))
        .map_err(|e| format!("{}: {e}", db.display()))?;
    Ok((partner, said))
}

fn read_partner(db: &Path, platform_key: SigningKey) -> Result<DemoPartner, String> {
    let file = partner_file(db);
    let unusable = |why: String| format!("{}: {why}", file.display());
    let text = std::fs::read_to_string(&file).map_err(|e| unusable(e.to_string()))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| unusable(e.to_string()))?;
    let field = |name: &str| {
        v[name]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| unusable(format!("缺少 {name} / no {name}")))
    };
    let key = open_envelope::signing_key_from_hex(&field("privateKey")?)
        .map_err(|e| unusable(e.to_string()))?;
    Ok(DemoPartner {
        app_code: field("appCode")?,
        app_secret: field("appSecret")?,
        key,
        platform_key,
    })
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// How to try it, for the demo's guide.
pub fn guide(db: &Path, addr: &str, psn_no: Option<&str>) -> String {
    format!(
        "开放接口（国密信封）/ the 国密 envelope at /open/v1: 演示应用 appCode {APP_CODE}，密钥见 {}\n  试一试 / try: gongji partner demo-request --db {} --url http://{addr} --psn-no {}\n",
        partner_file(db).display(),
        db.display(),
        psn_no.unwrap_or("<psn_no>")
    )
}

/// What `partner demo-request` was given.
pub struct RequestArgs<'a> {
    pub db: &'a Path,
    pub url: &'a str,
    pub service: &'a str,
    pub psn_no: &'a str,
}

/// Sends one request as the demo partner and prints the envelope sent, the answer and its
/// data decrypted. Exit 0 when the service answered code 0.
pub fn request(args: &RequestArgs<'_>) -> u8 {
    match request_inner(args) {
        Ok(true) => EXIT_OK,
        Ok(false) => 1,
        Err(e) => {
            eprintln!("{e}");
            EXIT_UNUSABLE
        }
    }
}

fn request_inner(args: &RequestArgs<'_>) -> Result<bool, String> {
    if !partner_file(args.db).exists() {
        return Err(format!(
            "{}: 没有演示渠道应用，请先运行 gongji demo / no demo app partner: run gongji demo first",
            partner_file(args.db).display()
        ));
    }
    let platform_key = crate::partner::read_platform_key(&platform_key_file(args.db))?;
    let partner = read_partner(args.db, platform_key)?;
    // The signature is deterministic: a nonce, signed like every field, keeps two requests
    // in the same second from being one replayed.
    let nonce: u64 = rand::rngs::OsRng.gen();
    let sealed = open_envelope::seal(
        &[
            (
                open_envelope::FIELD_APP_CODE,
                Value::from(partner.app_code.as_str()),
            ),
            (
                open_envelope::FIELD_TIMESTAMP,
                Value::from(chrono::Utc::now().timestamp()),
            ),
            ("nonce", Value::from(nonce.to_string())),
        ],
        Some(&json!({ "psn_no": args.psn_no })),
        &partner.app_secret,
        &partner.key,
    )
    .map_err(|e| e.to_string())?;
    let body = Value::Object(sealed).to_string();
    let url = format!(
        "{}/open/v1/{}",
        args.url.trim_end_matches('/'),
        args.service
    );
    println!("请求 / request: POST {url}\n{body}");
    let (status, answer) = post(&url, body)?;
    println!("应答 / answer: HTTP {status}\n{answer}");
    let Ok(envelope) = OpenEnvelope::parse(answer.as_bytes()) else {
        // Refusals before the partner is verified are plain JSON, unsigned.
        let plain: Value = serde_json::from_str(&answer).unwrap_or_default();
        println!(
            "未签名的拒绝 / an unsigned refusal: {} {}",
            plain["code"].as_str().unwrap_or("?"),
            plain["message"].as_str().unwrap_or("")
        );
        return Ok(false);
    };
    let code = envelope.field("code").unwrap_or_default();
    let message = envelope.field("message").unwrap_or_default();
    let data = envelope
        .open(&partner.app_secret, partner.platform_key.verifying_key())
        .map_err(|e| format!("应答验签或解密失败 / the answer does not verify or decrypt: {e}"))?;
    println!("平台签名有效 / the platform's signature verifies: {code} {message}");
    if let Some(data) = data {
        let pretty = serde_json::from_str::<Value>(&data)
            .and_then(|v| serde_json::to_string_pretty(&v))
            .unwrap_or(data);
        println!("解密后的数据 / the data, decrypted:\n{pretty}");
    }
    Ok(code == gongji_server::open_api::CODE_OK)
}

fn post(url: &str, body: String) -> Result<(u16, String), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let answer = reqwest::Client::new()
            .post(url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| format!("{url}: 无法连接 / cannot reach: {e}"))?;
        let status = answer.status().as_u16();
        let text = answer.text().await.map_err(|e| format!("{url}: {e}"))?;
        Ok((status, text))
    })
}
