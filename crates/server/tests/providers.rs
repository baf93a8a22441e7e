//! The real providers against local fakes (issue 10, finding 2): a fake Tencent Cloud SMS
//! endpoint that recomputes the TC3-HMAC-SHA256 signature of every request as Tencent
//! documents it, a fake SMS gateway for the signed webhook, and a fake H5 face service
//! (ticket, page, result). Each fake runs on 127.0.0.1:0 inside the test, refuses what the
//! provider would refuse, and records what it received. Beside them: production never shows
//! a code or accepts the development face token, and nothing logs a code.

mod common;

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use common::{time, Fixture, Server, NOW, P, STAFF_PASSWORD, ZIBO};
use gongji_core::codes::Insutype;
use gongji_core::Fen;
use gongji_server::deployment::Deployment;
use gongji_server::service::providers::{
    self, FaceConfig, FaceH5Config, SmsConfig, TencentSmsConfig, WebhookSmsConfig,
};
use gongji_server::App;
use hmac::{Hmac, Mac};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const SECRET_ID: &str = "AKIDgongjitest";
const SECRET_KEY: &str = "tencent-secret-key-of-the-test";
const SDK_APP_ID: &str = "1400000001";
const SIGN_IN_TEMPLATE: &str = "2000001";
const PAYMENT_TEMPLATE: &str = "2000002";
const WEBHOOK_SECRET: &str = "webhook-secret-of-the-test";
const FACE_SECRET: &str = "face-secret-of-the-test";
const FACE_APP_ID: &str = "gongji-face-app";
const RETURN_URL: &str = "https://gongji.example.gov.cn/h5/face/return";

// ---- the log ----

/// Everything logged in this test binary, DEBUG and up, without timestamps.
fn log() -> Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .without_time()
            .with_writer(move || LogSink(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
        buf
    })
    .clone()
}

struct LogSink(Arc<Mutex<Vec<u8>>>);

impl Write for LogSink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log").extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Whether the log holds `code` as a number of its own (not inside a longer one).
fn logged(code: &str) -> bool {
    let text = String::from_utf8_lossy(&log().lock().expect("log")).to_string();
    assert!(text.contains("serving"), "the log is captured");
    text.match_indices(code).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + code.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

// ---- a fake Tencent Cloud SMS endpoint ----

/// What the fake took: the phone (`+86…`) and the template parameters.
#[derive(Clone, Debug)]
struct Sent {
    phone: String,
    template: String,
    params: Vec<String>,
}

/// Why a request was refused, and the template parameters it carried.
type Refused = (String, Vec<String>);

#[derive(Clone)]
struct FakeTencent {
    base: String,
    sent: Arc<Mutex<Vec<Sent>>>,
    refused: Arc<Mutex<Vec<Refused>>>,
}

impl FakeTencent {
    async fn start() -> FakeTencent {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let fake = FakeTencent {
            base: format!("http://{}", listener.local_addr().expect("addr")),
            sent: Arc::default(),
            refused: Arc::default(),
        };
        let router = Router::new()
            .route("/", post(tencent_send_sms))
            .with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        fake
    }

    /// The last code the fake took for `phone`, waiting a little: production sends in the
    /// background, so the answer does not tell registered phones from unknown ones.
    async fn wait_code(&self, phone: &str) -> Option<String> {
        for _ in 0..300 {
            if let Some(c) = self.code_for(phone) {
                return Some(c);
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        None
    }

    /// The last code the fake took for `phone`.
    fn code_for(&self, phone: &str) -> Option<String> {
        let want = format!("+86{phone}");
        self.sent
            .lock()
            .expect("sent")
            .iter()
            .rev()
            .find(|s| s.phone == want && s.template == SIGN_IN_TEMPLATE)
            .and_then(|s| s.params.first().cloned())
    }

    fn config(&self, dir: &tempfile::TempDir, secret_key: &str) -> SmsConfig {
        let key_file = dir.path().join("tencent.key");
        std::fs::write(&key_file, format!("{secret_key}\n")).expect("key file");
        SmsConfig::Tencent(TencentSmsConfig {
            secret_id: SECRET_ID.into(),
            secret_key_file: Some(key_file),
            secret_key_env: None,
            sdk_app_id: SDK_APP_ID.into(),
            sign_name: "共济测试".into(),
            template_id: SIGN_IN_TEMPLATE.into(),
            template_params: vec!["{code}".into(), "{minutes}".into()],
            payment_template_id: None,
            payment_template_params: vec![
                "{whom}".into(),
                "{place}".into(),
                "{amount}".into(),
                "{balance}".into(),
            ],
            endpoint: format!("{}/", self.base),
            region: "ap-guangzhou".into(),
            timeout_secs: 5,
        })
    }
}

fn hmac(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("key");
    m.update(msg);
    m.finalize().into_bytes().to_vec()
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// Checks a SendSms request as Tencent's API v3 documents it; the template parameters.
fn check_tencent(headers: &HeaderMap, body: &[u8]) -> Result<Vec<String>, String> {
    let h = |name: &str| -> Result<String, String> {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .ok_or(format!("MissingParameter: {name}"))
    };
    if h("content-type")? != "application/json; charset=utf-8" {
        return Err("InvalidParameter: content-type".into());
    }
    if h("x-tc-action")? != "SendSms" || h("x-tc-version")? != "2021-01-11" {
        return Err("InvalidAction".into());
    }
    if h("x-tc-region")?.is_empty() {
        return Err("InvalidParameter: region".into());
    }
    let timestamp: i64 = h("x-tc-timestamp")?
        .parse()
        .map_err(|_| "InvalidParameter: timestamp")?;
    if (chrono::Utc::now().timestamp() - timestamp).abs() > 300 {
        return Err("AuthFailure.SignatureExpire".into());
    }
    let auth = h("authorization")?;
    let rest = auth
        .strip_prefix("TC3-HMAC-SHA256 ")
        .ok_or("AuthFailure.InvalidAuthorization")?;
    let parts: HashMap<&str, &str> = rest
        .split(", ")
        .filter_map(|kv| kv.split_once('='))
        .collect();
    let credential: Vec<&str> = parts
        .get("Credential")
        .ok_or("AuthFailure.InvalidAuthorization")?
        .split('/')
        .collect();
    let date = chrono::DateTime::from_timestamp(timestamp, 0)
        .expect("time")
        .format("%Y-%m-%d")
        .to_string();
    if credential != [SECRET_ID, date.as_str(), "sms", "tc3_request"] {
        return Err("AuthFailure.SecretIdNotFound".into());
    }
    let signed = *parts
        .get("SignedHeaders")
        .ok_or("AuthFailure.InvalidAuthorization")?;
    let names: Vec<&str> = signed.split(';').collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    if names != sorted || !names.contains(&"content-type") || !names.contains(&"host") {
        return Err("AuthFailure.InvalidAuthorization: signed headers".into());
    }
    let mut canonical_headers = String::new();
    for name in &names {
        canonical_headers.push_str(&format!("{name}:{}\n", h(name)?.trim().to_lowercase()));
    }
    let canonical = format!(
        "POST\n/\n\n{canonical_headers}\n{signed}\n{}",
        sha256_hex(body)
    );
    let to_sign = format!(
        "TC3-HMAC-SHA256\n{timestamp}\n{date}/sms/tc3_request\n{}",
        sha256_hex(canonical.as_bytes())
    );
    let k_date = hmac(format!("TC3{SECRET_KEY}").as_bytes(), date.as_bytes());
    let k_service = hmac(&k_date, b"sms");
    let k_signing = hmac(&k_service, b"tc3_request");
    let expected = hex::encode(hmac(&k_signing, to_sign.as_bytes()));
    let json: Value = serde_json::from_slice(body).map_err(|_| "InvalidParameter: JSON")?;
    let params: Vec<String> = json["TemplateParamSet"]
        .as_array()
        .ok_or("MissingParameter: TemplateParamSet")?
        .iter()
        .map(|v| v.as_str().unwrap_or("").to_string())
        .collect();
    if parts.get("Signature") != Some(&expected.as_str()) {
        return Err(format!("AuthFailure.SignatureFailure|{}", params.join(",")));
    }
    let phones = json["PhoneNumberSet"]
        .as_array()
        .ok_or("MissingParameter: PhoneNumberSet")?;
    let phone_ok = |p: &Value| {
        p.as_str().is_some_and(|p| {
            p.strip_prefix("+86")
                .is_some_and(|n| n.len() == 11 && n.bytes().all(|b| b.is_ascii_digit()))
        })
    };
    if phones.len() != 1 || !phones.iter().all(phone_ok) {
        return Err("InvalidParameterValue.IncorrectPhoneNumber".into());
    }
    if json["SmsSdkAppId"] != SDK_APP_ID
        || json["SignName"].as_str().is_none_or(str::is_empty)
        || json["TemplateId"].as_str().is_none_or(str::is_empty)
    {
        return Err("InvalidParameterValue: SmsSdkAppId, SignName or TemplateId".into());
    }
    Ok(params)
}

async fn tencent_send_sms(
    State(fake): State<FakeTencent>,
    headers: HeaderMap,
    body: Bytes,
) -> Json<Value> {
    match check_tencent(&headers, &body) {
        Ok(params) => {
            let json: Value = serde_json::from_slice(&body).expect("checked");
            let phone = json["PhoneNumberSet"][0]
                .as_str()
                .expect("checked")
                .to_string();
            let template = json["TemplateId"].as_str().unwrap_or("").to_string();
            fake.sent.lock().expect("sent").push(Sent {
                phone: phone.clone(),
                template,
                params,
            });
            Json(json!({ "Response": {
                "SendStatusSet": [{ "SerialNo": "2645:1", "PhoneNumber": phone, "Fee": 1,
                    "SessionContext": "", "Code": "Ok", "Message": "send success", "IsoCode": "CN" }],
                "RequestId": "a0aabda6-cf91-4f3e-a81f-9198114a2279" } }))
        }
        Err(why) => {
            let (code, params) = match why.split_once('|') {
                Some((c, p)) => (c.to_string(), p.split(',').map(str::to_string).collect()),
                None => (why.clone(), Vec::new()),
            };
            fake.refused
                .lock()
                .expect("refused")
                .push((code.clone(), params));
            Json(json!({ "Response": {
                "Error": { "Code": code, "Message": "The provided credentials could not be validated." },
                "RequestId": "b1bbceb7-d0a2-4f4e-b92f-a2a9225b338a" } }))
        }
    }
}

// ---- a fake SMS gateway for the signed webhook ----

#[derive(Clone)]
struct FakeGateway {
    url: String,
    /// (phone, code) of the messages taken.
    taken: Arc<Mutex<Vec<(String, String)>>>,
    nonces: Arc<Mutex<HashSet<String>>>,
}

impl FakeGateway {
    async fn start() -> FakeGateway {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let fake = FakeGateway {
            url: format!("http://{}/sms", listener.local_addr().expect("addr")),
            taken: Arc::default(),
            nonces: Arc::default(),
        };
        let router = Router::new()
            .route("/sms", post(gateway_take))
            .with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        fake
    }
}

/// Checks a call signed as Gongji's webhook and face protocol say: the JSON body with
/// `timestamp` and `nonce`, `X-Gongji-Signature` over both and the body. The body.
fn check_gongji_signed(
    secret: &str,
    nonces: &Mutex<HashSet<String>>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, StatusCode> {
    if headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        != Some("application/json")
    {
        return Err(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
    let json: Value = serde_json::from_slice(body).map_err(|_| StatusCode::BAD_REQUEST)?;
    let timestamp = json["timestamp"].as_i64().ok_or(StatusCode::BAD_REQUEST)?;
    let nonce = json["nonce"].as_str().ok_or(StatusCode::BAD_REQUEST)?;
    let mut msg = format!("{timestamp}\n{nonce}\n").into_bytes();
    msg.extend_from_slice(body);
    let expected = hex::encode(hmac(secret.as_bytes(), &msg));
    let given = headers
        .get("x-gongji-signature")
        .and_then(|v| v.to_str().ok());
    if given != Some(expected.as_str()) {
        return Err(StatusCode::UNAUTHORIZED);
    }
    if (chrono::Utc::now().timestamp() - timestamp).abs() > 300
        || nonce.len() < 16
        || !nonces.lock().expect("nonces").insert(nonce.to_string())
    {
        return Err(StatusCode::UNAUTHORIZED);
    }
    Ok(json)
}

async fn gateway_take(
    State(fake): State<FakeGateway>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let json = match check_gongji_signed(WEBHOOK_SECRET, &fake.nonces, &headers, &body) {
        Ok(j) => j,
        Err(status) => return status,
    };
    let (Some(phone), Some(code), Some("sign_in")) = (
        json["phone"].as_str(),
        json["code"].as_str(),
        json["template"].as_str(),
    ) else {
        return StatusCode::BAD_REQUEST;
    };
    fake.taken
        .lock()
        .expect("taken")
        .push((phone.to_string(), code.to_string()));
    StatusCode::OK
}

// ---- a fake H5 face service ----

struct Ticket {
    order_no: String,
    id_card: String,
    return_url: String,
    result_token: Option<String>,
}

#[derive(Clone)]
struct FakeFace {
    base: String,
    tickets: Arc<Mutex<HashMap<String, Ticket>>>,
    nonces: Arc<Mutex<HashSet<String>>>,
    /// Whether the face "matches".
    pass: Arc<Mutex<bool>>,
    results_asked: Arc<Mutex<usize>>,
}

impl FakeFace {
    async fn start() -> FakeFace {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let fake = FakeFace {
            base: format!("http://{}", listener.local_addr().expect("addr")),
            tickets: Arc::default(),
            nonces: Arc::default(),
            pass: Arc::new(Mutex::new(true)),
            results_asked: Arc::default(),
        };
        let router = Router::new()
            .route("/api/ticket", post(face_ticket))
            .route("/api/result", post(face_result))
            .route("/h5", get(face_page))
            .with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        fake
    }

    fn config(&self, dir: &tempfile::TempDir) -> FaceConfig {
        let secret_file = dir.path().join("face.secret");
        std::fs::write(&secret_file, FACE_SECRET).expect("secret file");
        FaceConfig::H5(FaceH5Config {
            api_base: format!("{}/api", self.base),
            page_url: format!("{}/h5", self.base),
            app_id: FACE_APP_ID.into(),
            secret_file: Some(secret_file),
            secret_env: None,
            return_url: RETURN_URL.into(),
            timeout_secs: 5,
        })
    }
}

async fn face_ticket(State(fake): State<FakeFace>, headers: HeaderMap, body: Bytes) -> Response {
    let json = match check_gongji_signed(FACE_SECRET, &fake.nonces, &headers, &body) {
        Ok(j) => j,
        Err(status) => return status.into_response(),
    };
    let field = |k: &str| {
        json[k]
            .as_str()
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let (Some(app_id), Some(order_no), Some(_name), Some(id_card), Some(return_url)) = (
        field("app_id"),
        field("order_no"),
        field("name"),
        field("id_card"),
        field("return_url"),
    ) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    if app_id != FACE_APP_ID {
        return StatusCode::FORBIDDEN.into_response();
    }
    let mut tickets = fake.tickets.lock().expect("tickets");
    let biz_token = format!("biz-{}", tickets.len() + 1);
    tickets.insert(
        biz_token.clone(),
        Ticket {
            order_no,
            id_card,
            return_url,
            result_token: None,
        },
    );
    Json(json!({ "biz_token": biz_token })).into_response()
}

/// The provider's page: the person looks at the camera, and is sent back.
async fn face_page(
    State(fake): State<FakeFace>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (Some(app_id), Some(biz)) = (q.get("app_id"), q.get("biz_token")) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let mut tickets = fake.tickets.lock().expect("tickets");
    let Some(t) = tickets.get_mut(biz).filter(|_| app_id == FACE_APP_ID) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let result_token = format!("res-{biz}-{}", t.order_no.len());
    t.result_token = Some(result_token.clone());
    let back = format!(
        "{}?biz_token={biz}&result_token={result_token}",
        t.return_url
    );
    (StatusCode::SEE_OTHER, [(header::LOCATION, back)]).into_response()
}

async fn face_result(State(fake): State<FakeFace>, headers: HeaderMap, body: Bytes) -> Response {
    let json = match check_gongji_signed(FACE_SECRET, &fake.nonces, &headers, &body) {
        Ok(j) => j,
        Err(status) => return status.into_response(),
    };
    *fake.results_asked.lock().expect("asked") += 1;
    let tickets = fake.tickets.lock().expect("tickets");
    let Some(t) = json["biz_token"].as_str().and_then(|b| tickets.get(b)) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if json["app_id"] != FACE_APP_ID
        || t.result_token.is_none()
        || json["result_token"].as_str() != t.result_token.as_deref()
    {
        return StatusCode::FORBIDDEN.into_response();
    }
    Json(json!({
        "biz_token": json["biz_token"],
        "order_no": t.order_no,
        "id_card": t.id_card,
        "passed": *fake.pass.lock().expect("pass"),
    }))
    .into_response()
}

// ---- a browser without JavaScript ----

const PRE_SESSION_CSRF: &str = "00112233445566778899aabbccddeeff";

struct Browser {
    base: String,
    client: reqwest::Client,
    cookie: Option<String>,
    /// The other cookies our pages set (`name=value`), sent back as a browser would.
    others: Vec<String>,
}

struct Page {
    status: u16,
    location: Option<String>,
    body: String,
}

impl Browser {
    fn new(base: &str) -> Browser {
        Browser {
            base: base.to_string(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookie: None,
            others: Vec::new(),
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        // The pre-session CSRF cookie our pages set, fixed for these tests.
        let mut pre = format!("gongji_csrf={PRE_SESSION_CSRF}");
        for other in &self.others {
            pre = format!("{pre}; {other}");
        }
        let req = match &self.cookie {
            Some(c) => req.header(COOKIE, format!("{c}; {pre}")),
            None => req.header(COOKIE, pre),
        };
        let resp = req.send().await.expect("http");
        for v in resp.headers().get_all(SET_COOKIE) {
            let pair = v.to_str().expect("cookie").split(';').next().unwrap_or("");
            if pair.starts_with("gongji_session=") {
                self.cookie = (pair != "gongji_session=").then(|| pair.to_string());
            } else if let Some((name, value)) =
                pair.split_once('=').filter(|(n, _)| *n != "gongji_csrf")
            {
                self.others.retain(|o| !o.starts_with(&format!("{name}=")));
                if !value.is_empty() {
                    self.others.push(pair.to_string());
                }
            }
        }
        Page {
            status: resp.status().as_u16(),
            location: resp
                .headers()
                .get(LOCATION)
                .map(|v| v.to_str().expect("location").to_string()),
            body: resp.text().await.expect("body"),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let r = self.client.get(format!("{}{path}", self.base));
        self.send(r).await
    }

    /// Posts a form as our page would, with its CSRF token.
    async fn post(&mut self, path: &str, form: &[(&str, String)]) -> Page {
        let mut form = form.to_vec();
        if !form.iter().any(|(k, _)| *k == "csrf") {
            let csrf = match self
                .cookie
                .as_deref()
                .and_then(|c| c.strip_prefix("gongji_session="))
            {
                Some(token) => common::csrf_of(token),
                None => PRE_SESSION_CSRF.to_string(),
            };
            form.push(("csrf", csrf));
        }
        let r = self.client.post(format!("{}{path}", self.base)).form(&form);
        self.send(r).await
    }
}

/// The value of the hidden field `name` in a page.
fn hidden(body: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let start = body.find(&needle).expect(name) + needle.len();
    let end = body[start..].find('"').expect("end of value");
    body[start..start + end].to_string()
}

// ---- the deployments under test ----

/// Zibo asks for the face check to bind and unbind (R-Z5).
struct Zibo {
    holder: P,
    relative: P,
    other_holder: P,
    bound_holder: P,
    binding: i64,
}

fn zibo() -> (Fixture, Zibo) {
    let mut f = Fixture::new();
    let holder = f.employee(ZIBO, 3000);
    // A son young enough to be the holder's (the bind checks sex and age order).
    let relative = f.person_with(ZIBO, Insutype::Resident, |p| {
        p.birth_date = chrono::NaiveDate::from_ymd_opt(2012, 5, 1).expect("date");
        p.gender = gongji_core::codes::Gender::Male;
    });
    let other_holder = f.employee(ZIBO, 3000);
    let bound_holder = f.employee(ZIBO, 3000);
    let bound_relative = f.person_with(ZIBO, Insutype::Resident, |_| {});
    let binding = f.bind(&bound_holder, &bound_relative, 20, "2025-01-01", None);
    (
        f,
        Zibo {
            holder,
            relative,
            other_holder,
            bound_holder,
            binding,
        },
    )
}

fn production(sms: &SmsConfig, face: Option<&FaceConfig>) -> impl FnOnce(App) -> App {
    let sms = providers::build_sms(sms).expect("sms provider");
    let face = match face {
        Some(c) => providers::build_face(c).expect("face provider"),
        None => providers::face_not_configured(),
    };
    move |app: App| {
        app.with_providers(sms, face)
            .with_deployment(Deployment::production())
    }
}

/// Signs `p` in on the H5 page with the code the fake provider received.
async fn sign_in(s: &Server, tencent: &FakeTencent, p: &P) -> Browser {
    let mut b = Browser::new(&s.base);
    let page = b
        .post(
            "/h5/signin",
            &[("op", "code".into()), ("phone", p.phone.clone())],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let code = tencent
        .wait_code(&p.phone)
        .await
        .expect("the provider got a code");
    assert!(
        !page.body.contains(&code),
        "production never shows the code"
    );
    let page = b
        .post(
            "/h5/signin",
            &[
                ("op", "signin".into()),
                ("phone", p.phone.clone()),
                ("code", code),
                ("next", "/h5/family".into()),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert!(b.cookie.is_some());
    b
}

// ---- SMS ----

#[tokio::test]
async fn tencent_sms_carries_the_code_the_person_signs_in_with() {
    log();
    let tencent = FakeTencent::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let (f, z) = zibo();
    let s = f
        .start_with(production(&tencent.config(&dir, SECRET_KEY), None))
        .await;
    // The REST route: the code goes to the provider, not into the answer.
    let r = s
        .post(
            "/api/v1/auth/sms-code",
            None,
            json!({ "phone": z.holder.phone }),
        )
        .await;
    r.ok();
    let code = tencent.wait_code(&z.holder.phone).await.expect("code sent");
    assert_eq!(code.len(), 6);
    assert!(!r.body.to_string().contains(&code));
    let sent = tencent
        .sent
        .lock()
        .expect("sent")
        .last()
        .cloned()
        .expect("sent");
    assert_eq!(sent.params, vec![code.clone(), "5".to_string()]);
    let r = s
        .post(
            "/api/v1/auth/session",
            None,
            json!({ "phone": z.holder.phone, "code": code }),
        )
        .await;
    assert_eq!(r.ok()["psn_no"], z.holder.psn_no.as_str());
    // The page: a code is sent, none is shown, and it signs the person in.
    let mut b = sign_in(&s, &tencent, &z.other_holder).await;
    assert_eq!(b.get("/h5").await.status, 200);
    assert!(tencent.refused.lock().expect("refused").is_empty());
    assert!(!logged(&code), "the code is not logged");
    s.verify_clean().await;
}

/// Issue 15: the holder is told by SMS of every payment from his account, his own care and a
/// relative's, through the provider (Tencent's API, checked by the fake as Tencent checks it)
/// after the settlement committed; a provider that refuses does not fail the settlement.
#[tokio::test]
async fn the_holder_is_told_by_sms_of_each_payment_from_his_account() {
    log();
    let tencent = FakeTencent::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let mut config = tencent.config(&dir, SECRET_KEY);
    if let SmsConfig::Tencent(c) = &mut config {
        c.payment_template_id = Some(PAYMENT_TEMPLATE.into());
    }
    let w = common::world_configured(gongji_policy::presets(), production(&config, None)).await;
    let s = &w.s;
    let item = s
        .app
        .read(|e| {
            e.state()
                .catalog
                .keys()
                .find(|c| c.starts_with("ITEM"))
                .cloned()
        })
        .await
        .expect("read")
        .expect("an item");
    let buy = |p: &P, invono: &str| {
        format!(
            r#"{{"druginfo":{{"psn_no":"{psn}","mdtrt_cert_type":"02","mdtrt_cert_no":"{cert}","begntime":"2025-10-10 10:00:00","medfee_sumamt":20.00,"insutype":"{insutype}","acct_used_flag":"2","med_type":"41","invono":"{invono}"}},"drugdetail":[{{"feedetl_sn":"1","rxno":"","rx_circ_flag":"0","fee_ocur_time":"2025-10-10 10:00:00","med_list_codg":"{item}","medins_list_codg":"{item}","det_item_fee_sumamt":20.00,"cnt":1,"pric":20.00}}]}}"#,
            psn = p.psn_no,
            cert = p.certno,
            insutype = if p.psn_no == w.hj.psn_no {
                "310"
            } else {
                "390"
            },
        )
    };
    let hj_phone = format!("+86{}", w.hj.phone);
    let notices = || -> Vec<Vec<String>> {
        tencent
            .sent
            .lock()
            .expect("sent")
            .iter()
            .filter(|m| m.phone == hj_phone && m.template == PAYMENT_TEMPLATE)
            .map(|m| m.params.clone())
            .collect()
    };
    // The relative buys; the holder's account pays by mutual aid.
    let balance_before = s.balance(&w.hj).await;
    let answer: Value =
        serde_json::from_str(&s.signed(&w.pharmacy, "2102", &buy(&w.rj, "INV-N-1")).await)
            .expect("answer");
    assert_eq!(answer["infcode"], 0, "{answer}");
    let after = s.balance(&w.hj).await;
    assert_eq!(balance_before.checked_sub(after), Some(Fen::from_fen(2000)));
    let mut got = Vec::new();
    for _ in 0..300 {
        got = notices();
        if !got.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let masked = gongji_core::pii::mask_name(&w.rj.name);
    let place = s
        .app
        .read({
            let code = w.pharmacy.clone();
            move |e| e.state().institutions.get(&code).map(|i| i.name.clone())
        })
        .await
        .expect("read")
        .expect("pharmacy");
    assert_eq!(
        got,
        vec![vec![
            masked,
            place.clone(),
            "20.00".to_string(),
            after.to_string()
        ]]
    );
    // The holder's own care: told as 本人.
    let answer: Value =
        serde_json::from_str(&s.signed(&w.pharmacy, "2102", &buy(&w.hj, "INV-N-2")).await)
            .expect("answer");
    assert_eq!(answer["infcode"], 0, "{answer}");
    for _ in 0..300 {
        got = notices();
        if got.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[1][0], "本人");
    assert!(tencent.refused.lock().expect("refused").is_empty());
}

/// A provider that refuses the notice (a wrong secret) leaves the settlement as it was.
#[tokio::test]
async fn a_refused_payment_notice_does_not_fail_the_settlement() {
    log();
    let tencent = FakeTencent::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let mut config = tencent.config(&dir, "not-the-secret-key");
    if let SmsConfig::Tencent(c) = &mut config {
        c.payment_template_id = Some(PAYMENT_TEMPLATE.into());
    }
    let w = common::world_configured(gongji_policy::presets(), production(&config, None)).await;
    let s = &w.s;
    let item = s
        .app
        .read(|e| {
            e.state()
                .catalog
                .keys()
                .find(|c| c.starts_with("ITEM"))
                .cloned()
        })
        .await
        .expect("read")
        .expect("an item");
    let drug = format!(
        r#"{{"druginfo":{{"psn_no":"{psn}","mdtrt_cert_type":"02","mdtrt_cert_no":"{cert}","begntime":"2025-10-10 10:00:00","medfee_sumamt":20.00,"insutype":"390","acct_used_flag":"2","med_type":"41","invono":"INV-R-1"}},"drugdetail":[{{"feedetl_sn":"1","rxno":"","rx_circ_flag":"0","fee_ocur_time":"2025-10-10 10:00:00","med_list_codg":"{item}","medins_list_codg":"{item}","det_item_fee_sumamt":20.00,"cnt":1,"pric":20.00}}]}}"#,
        psn = w.rj.psn_no,
        cert = w.rj.certno,
    );
    let before = s.balance(&w.hj).await;
    let answer: Value =
        serde_json::from_str(&s.signed(&w.pharmacy, "2102", &drug).await).expect("answer");
    assert_eq!(answer["infcode"], 0, "{answer}");
    for _ in 0..300 {
        if !tencent.refused.lock().expect("refused").is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(
        tencent.refused.lock().expect("refused")[0].0,
        "AuthFailure.SignatureFailure"
    );
    assert_eq!(
        before.checked_sub(s.balance(&w.hj).await),
        Some(Fen::from_fen(2000))
    );
    s.verify_clean().await;
}

#[tokio::test]
async fn production_never_shows_the_code_on_the_sign_in_page() {
    log();
    let tencent = FakeTencent::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let (f, z) = zibo();
    let s = f
        .start_with(production(&tencent.config(&dir, SECRET_KEY), None))
        .await;
    let mut b = Browser::new(&s.base);
    for op in ["code", "resend"] {
        let page = b
            .post(
                "/h5/signin",
                &[("op", op.into()), ("phone", z.holder.phone.clone())],
            )
            .await;
        let code = tencent.wait_code(&z.holder.phone).await.expect("code sent");
        assert!(page.body.contains("name=\"code\""), "the code field");
        assert!(!page.body.contains(&code), "{op}: the code is not shown");
        assert!(!page.body.contains("演示环境验证码"));
        assert!(!page.body.contains("demo-code"));
    }
}

#[tokio::test]
/// In production the code is sent in the background (so the answer does not tell which
/// phones are registered): a provider that refuses is seen in the log, in its own words and
/// without the code, never in the person's answer.
async fn a_wrong_secret_is_refused_by_tencent_and_nothing_leaks() {
    log();
    let tencent = FakeTencent::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let (f, z) = zibo();
    let s = f
        .start_with(production(
            &tencent.config(&dir, "not-the-secret-key"),
            None,
        ))
        .await;
    let r = s
        .post(
            "/api/v1/auth/sms-code",
            None,
            json!({ "phone": z.holder.phone }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        !r.body.to_string().contains("AuthFailure"),
        "the provider's words are not shown: {}",
        r.body
    );
    let mut b = Browser::new(&s.base);
    let page = b
        .post(
            "/h5/signin",
            &[
                ("op", "code".into()),
                ("phone", z.other_holder.phone.clone()),
            ],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.body.contains("AuthFailure"));
    for _ in 0..300 {
        if tencent.refused.lock().expect("refused").len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let refused = tencent.refused.lock().expect("refused").clone();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(tencent.sent.lock().expect("sent").is_empty());
    for (why, params) in &refused {
        assert_eq!(why, "AuthFailure.SignatureFailure");
        let code = &params[0];
        assert_eq!(code.len(), 6);
        assert!(!logged(code), "the code is not logged");
    }
}

#[tokio::test]
async fn the_webhook_gateway_gets_a_signed_code_and_a_wrong_secret_fails() {
    log();
    let gateway = FakeGateway::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let secret_file = dir.path().join("webhook.secret");
    std::fs::write(&secret_file, WEBHOOK_SECRET).expect("secret");
    let config = |secret_file| {
        SmsConfig::Webhook(WebhookSmsConfig {
            url: gateway.url.clone(),
            secret_file: Some(secret_file),
            secret_env: None,
            template: "sign_in".into(),
            payment_template: None,
            timeout_secs: 5,
        })
    };
    let (f, z) = zibo();
    let s = f.start_with(production(&config(secret_file), None)).await;
    s.post(
        "/api/v1/auth/sms-code",
        None,
        json!({ "phone": z.holder.phone }),
    )
    .await
    .ok();
    for _ in 0..300 {
        if !gateway.taken.lock().expect("taken").is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let (phone, code) = gateway.taken.lock().expect("taken")[0].clone();
    assert_eq!(phone, z.holder.phone);
    let r = s
        .post(
            "/api/v1/auth/session",
            None,
            json!({ "phone": z.holder.phone, "code": code }),
        )
        .await;
    assert_eq!(r.ok()["psn_no"], z.holder.psn_no.as_str());
    assert!(!logged(&code));

    let wrong = dir.path().join("wrong.secret");
    std::fs::write(&wrong, "not-the-secret").expect("secret");
    let (f, z) = zibo();
    let s = f.start_with(production(&config(wrong), None)).await;
    let r = s
        .post(
            "/api/v1/auth/sms-code",
            None,
            json!({ "phone": z.holder.phone }),
        )
        .await;
    assert_eq!(r.status, 200, "the answer does not depend on the provider");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(gateway.taken.lock().expect("taken").len(), 1);
}

#[tokio::test]
async fn production_without_sms_answers_503_and_staff_still_sign_in() {
    log();
    for with_dev_providers in [false, true] {
        let (f, z) = zibo();
        let s = f
            .start_with(move |app| {
                let app = if with_dev_providers {
                    app
                } else {
                    app.with_providers(
                        providers::sms_not_configured(),
                        providers::face_not_configured(),
                    )
                };
                app.with_deployment(Deployment::production())
            })
            .await;
        let r = s
            .post(
                "/api/v1/auth/sms-code",
                None,
                json!({ "phone": z.holder.phone }),
            )
            .await;
        r.refused(503, "GJ-SMS-NOT-CONFIGURED");
        assert!(r.body["message_zh"]
            .as_str()
            .expect("zh")
            .contains("短信服务未配置"));
        // An unknown phone is answered the same: nothing is looked up.
        s.post(
            "/api/v1/auth/sms-code",
            None,
            json!({ "phone": "13012345678" }),
        )
        .await
        .refused(503, "GJ-SMS-NOT-CONFIGURED");
        let mut b = Browser::new(&s.base);
        let page = b
            .post(
                "/h5/signin",
                &[("op", "code".into()), ("phone", z.holder.phone.clone())],
            )
            .await;
        assert_eq!(page.status, 503);
        assert!(page.body.contains("短信服务未配置"));
        assert!(!page.body.contains("演示环境验证码"));
        assert!(s.app.auth.sms.last_code(&z.holder.phone).is_none());
        // Staff keep working.
        let r = s
            .post(
                "/api/v1/staff/session",
                None,
                json!({ "username": "clerk1", "password": STAFF_PASSWORD }),
            )
            .await;
        assert!(r.ok()["token"].is_string());
    }
}

#[tokio::test]
async fn the_demo_shows_the_code_labelled_and_logs_nothing() {
    log();
    let (f, z) = zibo();
    let s = f.start().await;
    let mut b = Browser::new(&s.base);
    let page = b
        .post(
            "/h5/signin",
            &[("op", "code".into()), ("phone", z.holder.phone.clone())],
        )
        .await;
    let code = s.app.auth.sms.last_code(&z.holder.phone).expect("code");
    assert!(page.body.contains("演示环境验证码") && page.body.contains(&code));
    assert!(
        !logged(&code),
        "the development sender does not log the code"
    );
}

// ---- face ----

#[tokio::test]
async fn production_refuses_the_development_face_token() {
    log();
    let tencent = FakeTencent::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let (f, z) = zibo();
    let sms = providers::build_sms(&tencent.config(&dir, SECRET_KEY)).expect("sms");
    // The development verifier left in place by mistake proves nothing in production.
    let s = f
        .start_with(move |app| {
            app.with_providers(sms, Arc::new(providers::DevFaceVerifier))
                .with_deployment(Deployment::production())
        })
        .await;
    let mut b = sign_in(&s, &tencent, &z.bound_holder).await;
    let path = format!("/h5/family/{}", z.binding);
    let page = b.get(&path).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("FACE-OK"), "no demo token offered");
    let page = b
        .post(
            &path,
            &[
                ("op", "unbind".into()),
                ("confirm", "1".into()),
                ("face_token", "FACE-OK".into()),
            ],
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("GJ-FACE-REJECTED"));
    assert!(
        b.get(&path).await.body.contains("id=\"unbind\""),
        "still bound"
    );
    s.verify_clean().await;
}

/// 子 (20) or 女 (30), as the relative's ID number says (its 17th digit: odd for men).
fn child_code(certno: &str) -> &'static str {
    let odd = certno
        .chars()
        .nth(16)
        .and_then(|c| c.to_digit(10))
        .is_some_and(|d| d % 2 == 1);
    if odd {
        "20"
    } else {
        "30"
    }
}

/// The bind journey up to the face step; the form of the face step.
async fn bind_to_face_step(
    b: &mut Browser,
    holder: &P,
    relative: &P,
) -> Vec<(&'static str, String)> {
    let facts: Vec<(&'static str, String)> = vec![
        ("name", relative.name.clone()),
        ("certno", relative.certno.clone()),
        ("relationship", child_code(&relative.certno).into()),
    ];
    let with = |extra: &[(&'static str, String)]| -> Vec<(&'static str, String)> {
        facts.iter().cloned().chain(extra.iter().cloned()).collect()
    };
    let page = b
        .post(
            "/h5/family/bind",
            &with(&[("op", "notice".into()), ("ack", "1".into())]),
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let sha = hidden(&page.body, "sha");
    let signed = with(&[
        ("op", "sign".into()),
        ("ack", "1".into()),
        ("sha", sha),
        ("signature", holder.name.clone()),
    ]);
    let page = b.post("/h5/family/bind", &signed).await;
    assert!(
        page.body.contains("id=\"s4-h\""),
        "face step: {}",
        page.body
    );
    assert!(page.body.contains("data-testid=\"face-redirect\""));
    assert!(!page.body.contains("FACE-OK"));
    let mut face = signed;
    face[3].1 = "face".into();
    face
}

/// Posts the face step, passes the provider's page; the address the provider sends back to,
/// as a path of this site.
async fn through_the_provider(b: &mut Browser, path: &str, form: &[(&str, String)]) -> String {
    let page = b.post(path, form).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let to_provider = page.location.expect("to the provider");
    let resp = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(&to_provider)
        .send()
        .await
        .expect("provider page");
    assert_eq!(resp.status().as_u16(), 303, "{to_provider}");
    let back = resp.headers()[LOCATION].to_str().expect("back").to_string();
    let query = back.strip_prefix(RETURN_URL).expect("our return address");
    format!("/h5/face/return{query}")
}

async fn relatives_of(b: &mut Browser) -> String {
    b.get("/api/v1/me/family").await.body
}

#[tokio::test]
async fn the_face_redirect_flow_binds_once_the_provider_confirms() {
    log();
    let tencent = FakeTencent::start().await;
    let face = FakeFace::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let (f, z) = zibo();
    let s = f
        .start_with(production(
            &tencent.config(&dir, SECRET_KEY),
            Some(&face.config(&dir)),
        ))
        .await;
    let mut b = sign_in(&s, &tencent, &z.holder).await;
    let form = bind_to_face_step(&mut b, &z.holder, &z.relative).await;
    let back = through_the_provider(&mut b, "/h5/family/bind", &form).await;
    {
        let tickets = face.tickets.lock().expect("tickets");
        assert_eq!(tickets.len(), 1);
        let t = tickets.values().next().expect("ticket");
        assert_eq!(t.id_card, z.holder.certno, "the holder's face is checked");
        assert_eq!(t.return_url, RETURN_URL);
    }
    assert!(!relatives_of(&mut b).await.contains(&z.relative.psn_no));
    // Arriving from the provider's site, the browser withholds the SameSite=Strict cookie:
    // a page of ours navigates again, and nothing is spent meanwhile.
    let page = Browser::new(&s.base).get(&back).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let unescaped = page.body.replace("&#38;", "&").replace("&amp;", "&");
    assert!(
        unescaped.contains(&format!(
            "http-equiv=\"refresh\" content=\"0;url={back}&again=1\""
        )),
        "{}",
        page.body
    );
    assert_eq!(*face.results_asked.lock().expect("asked"), 0);
    let page = b.get(&format!("{back}&again=1")).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location.as_deref(), Some("/h5/family?done=bound"));
    assert!(relatives_of(&mut b).await.contains(&z.relative.psn_no));
    // The same result token again: refused, and the provider is not even asked.
    let page = b.get(&back).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("GJ-FACE-REJECTED"));
    assert_eq!(*face.results_asked.lock().expect("asked"), 1);

    // Unbinding asks the provider too.
    let mut b = sign_in(&s, &tencent, &z.bound_holder).await;
    let path = format!("/h5/family/{}", z.binding);
    let page = b.get(&path).await;
    assert!(page.body.contains("data-testid=\"face-redirect\""));
    let back = through_the_provider(
        &mut b,
        &path,
        &[("op", "unbind".into()), ("confirm", "1".into())],
    )
    .await;
    let page = b.get(&back).await;
    assert_eq!(page.location.as_deref(), Some("/h5/family?done=unbound"));
    let page = b.get(&path).await;
    assert!(!page.body.contains("id=\"unbind\""), "no longer active");
    s.verify_clean().await;
}

/// Issue 13 item 7 through REST in production: the second factor goes through the SMS
/// provider to the payer's own phone and is never in the answer; the development face token
/// proves nothing; the code pays once.
#[tokio::test]
async fn production_rest_pays_a_premium_with_the_code_the_provider_sent() {
    log();
    let tencent = FakeTencent::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let w = common::world_configured(
        gongji_policy::presets(),
        production(&tencent.config(&dir, SECRET_KEY), None),
    )
    .await;
    let s = &w.s;
    s.post(
        "/api/v1/auth/sms-code",
        None,
        json!({ "phone": w.hy.phone }),
    )
    .await
    .ok();
    let code = tencent.wait_code(&w.hy.phone).await.expect("sign-in code");
    let signed_in = s
        .post(
            "/api/v1/auth/session",
            None,
            json!({ "phone": w.hy.phone, "code": code }),
        )
        .await;
    let token = signed_in.ok()["token"].as_str().expect("token").to_string();
    let order = |factor: &str, value: &str| {
        let mut body = json!({ "relative_psn_no": w.ry.psn_no, "year": 2026 });
        body[factor] = json!(value);
        body
    };
    let before = s.balance(&w.hy).await;
    s.post(
        "/api/v1/me/premiums",
        Some(&token),
        order("face_token", "FACE-OK"),
    )
    .await
    .refused(422, "GJ-FACE-REJECTED");

    let sent_before = tencent.sent.lock().expect("sent").len();
    let sent = s
        .post("/api/v1/me/premiums/second-factor", Some(&token), json!({}))
        .await;
    assert!(sent.ok().get("demo_code").is_none(), "{}", sent.body);
    for _ in 0..300 {
        if tencent.sent.lock().expect("sent").len() > sent_before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let pay_code = tencent.code_for(&w.hy.phone).expect("the payment code");
    assert!(!sent.body.to_string().contains(&pay_code));
    assert!(!logged(&pay_code), "no code in the log");
    assert_eq!(s.balance(&w.hy).await, before, "nothing moved");
    let r = s
        .post(
            "/api/v1/me/premiums",
            Some(&token),
            order("sms_code", &pay_code),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let paid = before.checked_sub(Fen::from_yuan(380)).expect("fen");
    assert_eq!(s.balance(&w.hy).await, paid);
    s.post(
        "/api/v1/me/premiums",
        Some(&token),
        order("sms_code", &pay_code),
    )
    .await
    .refused(401, "GJ-AUTH-CODE-INVALID");
    assert_eq!(s.balance(&w.hy).await, paid);
    s.verify_clean().await;
}

/// Issue 13 item 7: in production 用刷脸确认 sends the holder to the provider's page, the
/// check started for this payment; back from it the premium is paid, once; a failed check pays
/// nothing and shows the confirmation again.
#[tokio::test]
async fn the_face_redirect_flow_pays_a_relatives_premium_once() {
    log();
    let tencent = FakeTencent::start().await;
    let face = FakeFace::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let w = common::world_configured(
        gongji_policy::presets(),
        production(&tencent.config(&dir, SECRET_KEY), Some(&face.config(&dir))),
    )
    .await;
    let s = &w.s;
    let mut b = sign_in(s, &tencent, &w.hy).await;
    let choice = "2026:resident_premium";
    let confirm = format!("/h5/premium?relative={}&choice={choice}", w.ry.psn_no);
    let page = b.get(&confirm).await;
    assert!(
        page.body.contains("data-testid=\"face-redirect\""),
        "{}",
        page.body
    );
    assert!(!page.body.contains("FACE-OK"), "no development token");
    let form = [
        ("relative", w.ry.psn_no.clone()),
        ("choice", choice.to_string()),
        ("key", hidden(&page.body, "key")),
        ("op", "face".to_string()),
    ];
    let before = s.balance(&w.hy).await;

    // The provider says the face did not match: nothing paid, the confirmation again.
    *face.pass.lock().expect("pass") = false;
    let back = through_the_provider(&mut b, "/h5/premium", &form).await;
    let page = b.get(&back).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("人脸核验未通过"), "{}", page.body);
    assert!(
        page.body.contains("data-testid=\"premium-confirm\""),
        "{}",
        page.body
    );
    assert_eq!(s.balance(&w.hy).await, before);
    *face.pass.lock().expect("pass") = true;

    let back = through_the_provider(&mut b, "/h5/premium", &form).await;
    assert_eq!(
        s.balance(&w.hy).await,
        before,
        "nothing before the provider says"
    );
    {
        let tickets = face.tickets.lock().expect("tickets");
        assert!(
            tickets.values().all(|t| t.id_card == w.hy.certno),
            "the payer's face"
        );
    }
    let page = b.get(&back).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("data-testid=\"premium-receipt\""),
        "{}",
        page.body
    );
    let paid = before.checked_sub(Fen::from_yuan(380)).expect("fen");
    assert_eq!(s.balance(&w.hy).await, paid);
    // The same return address again pays nothing.
    let page = b.get(&back).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("GJ-FACE-REJECTED"));
    assert_eq!(s.balance(&w.hy).await, paid);
    s.verify_clean().await;
}

#[tokio::test]
async fn a_face_result_is_refused_for_another_person_when_failed_or_expired() {
    log();
    let tencent = FakeTencent::start().await;
    let face = FakeFace::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let (f, z) = zibo();
    let s = f
        .start_with(production(
            &tencent.config(&dir, SECRET_KEY),
            Some(&face.config(&dir)),
        ))
        .await;
    let mut holder = sign_in(&s, &tencent, &z.holder).await;
    let mut other = sign_in(&s, &tencent, &z.other_holder).await;

    // Another person follows the holder's return address: refused, nothing bound.
    let form = bind_to_face_step(&mut holder, &z.holder, &z.relative).await;
    let back = through_the_provider(&mut holder, "/h5/family/bind", &form).await;
    let page = other.get(&back).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("GJ-FACE-REJECTED"));
    assert!(!relatives_of(&mut other).await.contains(&z.relative.psn_no));
    // ...and the check is spent for the holder too.
    assert_eq!(holder.get(&back).await.status, 422);
    assert!(!relatives_of(&mut holder).await.contains(&z.relative.psn_no));

    // The provider says the face did not match.
    *face.pass.lock().expect("pass") = false;
    let back = through_the_provider(&mut holder, "/h5/family/bind", &form).await;
    let page = holder.get(&back).await;
    assert_eq!(page.status, 422);
    assert!(!relatives_of(&mut holder).await.contains(&z.relative.psn_no));
    *face.pass.lock().expect("pass") = true;

    // Back after the check expired.
    let back = through_the_provider(&mut holder, "/h5/family/bind", &form).await;
    s.app.clock.set(time(NOW) + chrono::TimeDelta::minutes(11));
    let page = holder.get(&back).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("GJ-FACE-REJECTED"));
    assert!(!relatives_of(&mut holder).await.contains(&z.relative.psn_no));

    // A made-up result token for a fresh check: the provider refuses, nothing bound.
    let back = through_the_provider(&mut holder, "/h5/family/bind", &form).await;
    let forged = format!("{}x", back);
    let page = holder.get(&forged).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(!relatives_of(&mut holder).await.contains(&z.relative.psn_no));
    s.verify_clean().await;
}

#[tokio::test]
async fn production_without_a_face_provider_explains_the_face_step() {
    log();
    let tencent = FakeTencent::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let (f, z) = zibo();
    let s = f
        .start_with(production(&tencent.config(&dir, SECRET_KEY), None))
        .await;
    let mut b = sign_in(&s, &tencent, &z.holder).await;
    let form = bind_to_face_step(&mut b, &z.holder, &z.relative).await;
    let page = b.post("/h5/family/bind", &form).await;
    assert_eq!(page.status, 503, "{}", page.body);
    assert!(page.body.contains("GJ-FACE-UNAVAILABLE"));
    assert!(page.body.contains("人脸核验服务暂不可用"));
    assert!(!relatives_of(&mut b).await.contains(&z.relative.psn_no));
}
