//! The REST API's test harness: a registry built through the engine's own commands on a
//! SQLite file, a real server on 127.0.0.1:0 with a manual clock, an HTTP client, and the
//! ledger check (`verify`) after every test.

#![allow(dead_code)]

pub mod fake_payment;
pub mod faulty;

use chrono::{NaiveDate, NaiveDateTime};
use gongji_core::codes::{
    AccountUse, Admdvs, Channel, ChargeLevel, Gender, HospitalLevel, InstitutionKind, InsuStatus,
    Insutype, MedType, Relationship,
};
use gongji_core::domain::{CatalogItem, Institution, Person};
use gongji_core::idcard::check_char;
use gongji_core::pii::{CertNo, PersonName, Phone};
use gongji_core::policy::{Policy, PolicySet};
use gongji_core::pooling::FeeLine;
use gongji_core::{BasisPoints, Fen};
use gongji_engine::{
    BindCommand, CancelCommand, Command, Engine, EngineHandle, Outcome, Request, SettleCommand,
};
use std::sync::Arc;

use gongji_nhsa::client;
use gongji_server::app::DynStore;
use gongji_server::deployment::Deployment;
use gongji_server::limits::SignInLimit;
use gongji_server::service::auth::hash_password;
use gongji_server::{App, Clock};
use gongji_store::read::{OperatorRow, StaffRow};
use gongji_store::{ReadStore, SqliteStore, Store};
use gongji_testkit as testkit;
use reqwest::Method;
use serde_json::value::RawValue;
use serde_json::Value;

pub const JINAN: &str = "370102";
pub const ZIBO: &str = "370303";
pub const TAIYUAN: &str = "140105";
pub const YUNCHENG: &str = "140802";

/// The server's clock at start: inside Yuncheng's 2026 collection window.
pub const NOW: &str = "2025-10-10 10:00:00";
pub const STAFF_PASSWORD: &str = "correct horse";

static SIGNED_SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

pub fn time(t: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S").expect("test time")
}

pub fn day(t: &str) -> NaiveDate {
    NaiveDate::parse_from_str(t, "%Y-%m-%d").expect("test day")
}

/// The seed presets with some policies changed.
pub fn presets_with(edit: impl Fn(&mut Policy)) -> PolicySet {
    let mut policies = gongji_policy::presets().policies().to_vec();
    for p in &mut policies {
        edit(p);
    }
    PolicySet::new(policies)
}

/// A registered person as a test drives them.
#[derive(Clone, Debug)]
pub struct P {
    pub psn_no: String,
    pub certno: String,
    pub name: String,
    pub phone: String,
}

pub struct Fixture {
    engine: Engine<DynStore>,
    seq: u32,
    dir: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Fixture {
        Fixture::with_policies(gongji_policy::presets())
    }

    /// A fresh database with three staff accounts: `clerk1`, `auditor1`, `admin1`.
    pub fn with_policies(policies: PolicySet) -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = SqliteStore::open(&dir.path().join("api.db")).expect("store");
        let hash = hash_password(STAFF_PASSWORD).expect("hash");
        for (u, r) in [
            ("clerk1", "clerk"),
            ("auditor1", "auditor"),
            ("admin1", "admin"),
        ] {
            store
                .add_staff(&StaffRow {
                    username: u.into(),
                    password_hash: hash.clone(),
                    role: r.into(),
                    created_at: "2025-01-01 00:00:00".into(),
                })
                .expect("staff");
        }
        let store: DynStore = Box::new(store);
        let engine = Engine::open(store, policies).expect("engine");
        Fixture {
            engine,
            seq: 0,
            dir,
        }
    }

    /// The same registry behind `wrap` (a fault injector): the engine reloads through it.
    pub fn wrap_store(self, wrap: impl FnOnce(DynStore) -> DynStore) -> Fixture {
        let Fixture { engine, seq, dir } = self;
        let policies = engine.policies().clone();
        let engine = Engine::open(wrap(engine.into_store()), policies).expect("engine");
        Fixture { engine, seq, dir }
    }

    fn next(&mut self) -> u32 {
        self.seq += 1;
        self.seq
    }

    fn run(&mut self, command: Command) -> Outcome {
        match self.engine.execute(Request::new(command)) {
            Ok(o) => o,
            Err(e) => panic!("fixture command refused: {} {}", e.code(), e.message_en()),
        }
    }

    /// A normally insured person; `edit` may change anything before registration.
    pub fn person_with(
        &mut self,
        admdvs: &str,
        insutype: Insutype,
        edit: impl FnOnce(&mut Person),
    ) -> P {
        let n = self.next();
        let birth = day("1970-01-01") + chrono::Duration::days(i64::from(n) * 131);
        let certno = testkit::idcard::certno(admdvs, birth, (n % 1000) as u16);
        let mut person = Person {
            psn_no: format!("{admdvs}{n:08}"),
            certno: CertNo::new(certno),
            name: PersonName::new(format!("测试{n}")),
            gender: if n % 2 == 1 {
                Gender::Male
            } else {
                Gender::Female
            },
            birth_date: birth,
            insutype,
            psn_type: if insutype == Insutype::Employee {
                "11".into()
            } else {
                "1501".into()
            },
            admdvs: Admdvs::parse(admdvs).expect("admdvs"),
            insu_status: InsuStatus::Normal,
            civil_servant: false,
            public_medical: false,
            employer_name: String::new(),
            phone: Phone::new(format!("139{n:08}")),
        };
        edit(&mut person);
        // An edited birth date or sex is written into the ID number too, as on a real card.
        let first17 = format!(
            "{admdvs}{}{:02}{}",
            person.birth_date.format("%Y%m%d"),
            (n / 10) % 100,
            match (person.gender, n % 2 == 1) {
                (Gender::Male, true) | (Gender::Female, false) => n % 10,
                _ => (n + 1) % 10,
            }
        );
        person.certno = CertNo::new(format!(
            "{first17}{}",
            check_char(&first17).expect("17 digits")
        ));
        let p = P {
            psn_no: person.psn_no.clone(),
            certno: person.certno.reveal().to_string(),
            name: person.name.reveal().to_string(),
            phone: person.phone.reveal().to_string(),
        };
        self.run(Command::RegisterPerson(person));
        p
    }

    /// Changes a registered person's insurance status (as a registry update would).
    pub fn set_status(&mut self, p: &P, status: InsuStatus) {
        let mut person = self.engine.state().persons[&p.psn_no].clone();
        person.insu_status = status;
        self.run(Command::RegisterPerson(person));
    }

    pub fn resident(&mut self, admdvs: &str) -> P {
        self.person_with(admdvs, Insutype::Resident, |_| {})
    }

    /// An employee with `yuan` in the personal account.
    pub fn employee(&mut self, admdvs: &str, yuan: i64) -> P {
        let p = self.person_with(admdvs, Insutype::Employee, |_| {});
        if yuan > 0 {
            self.run(Command::Fund {
                psn_no: p.psn_no.clone(),
                amount: Fen::from_yuan(yuan),
                at: time("2025-01-02 09:00:00"),
            });
        }
        p
    }

    pub fn institution(
        &mut self,
        admdvs: &str,
        kind: InstitutionKind,
        lat: f64,
        lon: f64,
        mutual_aid: bool,
    ) -> String {
        let n = self.next();
        let code = format!(
            "{}{admdvs}{n:05}",
            if kind == InstitutionKind::Pharmacy {
                "P"
            } else {
                "H"
            }
        );
        self.run(Command::RegisterInstitution(Institution {
            code: code.clone(),
            name: format!("测试机构{n}"),
            kind,
            level: HospitalLevel::Primary,
            admdvs: Admdvs::parse(admdvs).expect("admdvs"),
            lat,
            lon,
            mutual_aid,
            paasid: format!("paas{n}"),
            token: format!("token{n}"),
            contact: gongji_core::domain::InstitutionContact {
                address: format!("历下区测试路{n}号"),
                phone: format!("0531-880{n:05}"),
                opening_hours: "每天 08:00–21:00".into(),
            },
        }));
        code
    }

    /// A medical-insurance agency (经办机构) with its contacts, for the nearby page.
    pub fn agency(&mut self, admdvs: &str, name: &str, lat: f64, lon: f64) -> String {
        let code = format!("JB{admdvs}{:03}", self.next());
        self.run(Command::RegisterAgency(gongji_core::domain::Agency {
            code: code.clone(),
            name: name.into(),
            admdvs: Admdvs::parse(admdvs).expect("admdvs"),
            lat,
            lon,
            contact: gongji_core::domain::InstitutionContact {
                address: "张店区人民西路1号".into(),
                phone: "0533-3170000".into(),
                opening_hours: "周一至周五 09:00–17:00".into(),
            },
        }));
        code
    }

    pub fn item(&mut self) -> String {
        let n = self.next();
        let code = format!("ITEM{n:05}");
        self.run(Command::RegisterCatalogItem(CatalogItem {
            code: code.clone(),
            name: format!("测试药品{n}"),
            level: ChargeLevel::ClassA,
            price_cap: None,
            selfpay_prop: BasisPoints::new(0).expect("ratio"),
        }));
        code
    }

    /// A binding made the way an import makes it (no face check, no letter).
    pub fn bind(
        &mut self,
        holder: &P,
        relative: &P,
        relationship: u8,
        begin: &str,
        end: Option<&str>,
    ) -> i64 {
        let outcome = self.run(Command::Bind(BindCommand {
            holder: holder.psn_no.clone(),
            relative: relative.psn_no.clone(),
            relationship: Relationship::from_code(relationship).expect("relationship"),
            begin: day(begin),
            end: end.map(day),
            limit_per_payment: None,
            limit_per_month: None,
            face_verified: true,
            channel: Channel::BatchImport,
            actor: "import".into(),
            at: time(&format!("{begin} 09:00:00")),
            restored: None,
        }));
        match outcome {
            Outcome::Binding(b) => b.id,
            other => panic!("unexpected {other:?}"),
        }
    }

    /// A binding whose holder limits each payment to `limit_yuan`.
    pub fn bind_limited(
        &mut self,
        holder: &P,
        relative: &P,
        relationship: u8,
        limit_yuan: i64,
    ) -> i64 {
        let outcome = self.run(Command::Bind(BindCommand {
            holder: holder.psn_no.clone(),
            relative: relative.psn_no.clone(),
            relationship: Relationship::from_code(relationship).expect("relationship"),
            begin: day("2025-01-01"),
            end: None,
            limit_per_payment: Some(Fen::from_yuan(limit_yuan)),
            limit_per_month: None,
            face_verified: true,
            channel: Channel::BatchImport,
            actor: "import".into(),
            at: time("2025-01-01 09:00:00"),
            restored: None,
        }));
        match outcome {
            Outcome::Binding(b) => b.id,
            other => panic!("unexpected {other:?}"),
        }
    }

    /// A pharmacy purchase (med_type 41, own account then mutual aid); returns setl_id.
    pub fn buy(&mut self, patient: &P, pharmacy: &str, item: &str, yuan: i64, at: &str) -> String {
        let amount = Fen::from_yuan(yuan);
        let outcome = self.run(Command::Settle(SettleCommand {
            institution: pharmacy.to_string(),
            psn_no: patient.psn_no.clone(),
            credential: None,
            med_type: MedType::PharmacyPurchase,
            account_use: AccountUse::OwnThenMutualAid,
            lines: vec![FeeLine {
                sn: "1".into(),
                item_code: item.to_string(),
                amount,
                count_e4: 10_000,
                price: amount,
            }],
            declared_total: None,
            mdtrt_id: None,
            channel: Channel::Window,
            at: time(at),
            dry_run: false,
        }));
        match outcome {
            Outcome::Settled(s) => s.setl_id.clone(),
            other => panic!("unexpected {other:?}"),
        }
    }

    pub fn cancel(&mut self, setl_id: &str, patient: &P, pharmacy: &str, at: &str) {
        self.run(Command::Cancel(CancelCommand {
            institution: pharmacy.to_string(),
            setl_id: setl_id.to_string(),
            psn_no: patient.psn_no.clone(),
            channel: Channel::Window,
            at: time(at),
        }));
    }

    /// Serves the registry on 127.0.0.1:0 with the clock at [`NOW`], as the demo.
    pub async fn start(self) -> Server {
        self.start_as(test_deployment()).await
    }

    /// Serves the registry as `deployment` (demo or production).
    pub async fn start_as(self, deployment: Deployment) -> Server {
        self.start_with(move |app| app.with_deployment(deployment))
            .await
    }

    /// Serves the registry as [`Fixture::start`] does, deployed as `deployment`.
    pub async fn start_deployed(self, deployment: Deployment) -> Server {
        self.start_as(deployment).await
    }

    /// As [`Fixture::start`], with the app changed before serving (deployment, providers).
    pub async fn start_with(self, configure: impl FnOnce(App) -> App) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        self.start_on(listener, configure).await
    }

    /// As [`Fixture::start_with`], on a listener bound before (two servers that must know
    /// each other's address: provinces as peers).
    pub async fn start_on(
        self,
        listener: tokio::net::TcpListener,
        configure: impl FnOnce(App) -> App,
    ) -> Server {
        let Fixture { engine, dir, .. } = self;
        serve_engine(engine, Arc::new(dir), configure, time(NOW), listener).await
    }
}

/// The demo deployment with a sign-in limit no test reaches by accident (the limit's own
/// tests set a small one).
pub fn test_deployment() -> Deployment {
    Deployment {
        sign_in_limit: SignInLimit {
            burst: 100_000,
            replenish_every: std::time::Duration::from_millis(1),
        },
        ..Deployment::demo()
    }
}

async fn serve_engine(
    engine: Engine<DynStore>,
    dir: Arc<tempfile::TempDir>,
    configure: impl FnOnce(App) -> App,
    now: NaiveDateTime,
    listener: tokio::net::TcpListener,
) -> Server {
    let (handle, _writer) = EngineHandle::spawn(engine);
    let clock = Clock::manual(now);
    let app = configure(
        App::new(handle, clock)
            .expect("app")
            .with_deployment(test_deployment()),
    );
    app.load_gateways().await.expect("gateways");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let serving = app.clone();
    tokio::spawn(async move {
        let _ = gongji_server::serve(serving, listener, async {
            let _ = rx.await;
        })
        .await;
    });
    Server {
        base,
        app,
        client: reqwest::Client::new(),
        shutdown: Some(tx),
        _dir: dir,
    }
}

/// An answer: status, JSON body (or the text as a JSON string), headers.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Resp {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    /// Asserts an error answer: status, code, and both messages present.
    #[track_caller]
    pub fn refused(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.code()),
            (status, code),
            "answer: {}",
            self.body
        );
        assert!(
            !self.body["message_zh"].as_str().unwrap_or("").is_empty(),
            "{}",
            self.body
        );
        assert!(
            !self.body["message_en"].as_str().unwrap_or("").is_empty(),
            "{}",
            self.body
        );
    }

    #[track_caller]
    pub fn ok(&self) -> &Value {
        assert!(
            (200..300).contains(&self.status),
            "expected success, got {}: {}",
            self.status,
            self.body
        );
        &self.body
    }
}

pub struct Server {
    pub base: String,
    pub app: App,
    pub client: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: Arc<tempfile::TempDir>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Server {
    /// A second connection to the server's database, as `gongji staff add` or `gongji
    /// operator add` opens one beside the running writer.
    pub fn database(&self) -> SqliteStore {
        SqliteStore::open(&self._dir.path().join("api.db")).expect("second connection")
    }

    /// `gongji operator add --institution CODE --username U`.
    pub fn add_operator(&self, fixmedins_code: &str, username: &str, password: &str) {
        self.database()
            .add_operator(&OperatorRow {
                fixmedins_code: fixmedins_code.into(),
                username: username.into(),
                password_hash: hash_password(password).expect("hash"),
                created_at: "2025-01-01 00:00:00".into(),
            })
            .expect("operator");
    }

    /// One integer from raw SQL on the database (counts of rows before and after).
    pub fn count(&self, sql: &str) -> i64 {
        self.database()
            .connection()
            .query_row(sql, [], |r| r.get(0))
            .expect("count")
    }

    /// A message of the institution interface from `fixmedins_code`, signed with its
    /// gateway credentials as its HIS would sign it; `input` is the `input` object's JSON
    /// text (amounts written as exact decimals). Returns the answer's text (amounts in it are
    /// exact; parsed into a `Value` they would become floats).
    pub async fn signed(&self, fixmedins_code: &str, infno: &str, input: &str) -> String {
        let code = fixmedins_code.to_string();
        let inst = self
            .app
            .read(move |e| e.state().institutions.get(&code).cloned())
            .await
            .expect("read")
            .expect("institution");
        let n = SIGNED_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let sender = client::Sender::new(
            inst.code.as_str(),
            inst.name.as_str(),
            inst.admdvs.to_string(),
        )
        .system("GJTEST")
        .operator("1", "0001", "收费员甲");
        let msgid = sender.msgid(time(NOW), n);
        let input = RawValue::from_string(input.to_string()).expect("input JSON");
        let adm = inst.admdvs.to_string();
        let envelope = sender
            .body(infno, &msgid, &adm, time(NOW), &input)
            .expect("envelope");
        let nonce = format!("test-{msgid}-{n}");
        let mut r = self
            .client
            .post(format!(
                "{}/fsi/api/rsfComIfsService/callService",
                self.base
            ))
            .header("content-type", "application/json");
        for (name, value) in client::signed_headers(
            &inst.paasid,
            &inst.token,
            chrono::Utc::now().timestamp(),
            &nonce,
        ) {
            r = r.header(name, value);
        }
        let r = r.body(envelope);
        let resp = r.send().await.expect("http");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        assert_eq!(status, 200, "{text}");
        text
    }

    /// Another server process on the same database file (a second instance behind a load
    /// balancer), with its own engine, memory and clock at this one's time.
    pub async fn twin(&self) -> Server {
        let store = SqliteStore::open(&self._dir.path().join("api.db")).expect("store");
        let store: DynStore = Box::new(store);
        let engine = Engine::open(store, gongji_policy::presets()).expect("engine");
        let deployment = (*self.app.deployment).clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        serve_engine(
            engine,
            self._dir.clone(),
            move |app| app.with_deployment(deployment),
            self.app.clock.now(),
            listener,
        )
        .await
    }

    /// Stops this server and starts a new one on the same database: what a restart does.
    pub async fn restart(self) -> Server {
        let next = self.twin().await;
        drop(self);
        next
    }

    /// A client whose requests come from another loopback address (another source).
    pub fn client_from(ip: &str) -> reqwest::Client {
        reqwest::Client::builder()
            .local_address(ip.parse::<std::net::IpAddr>().expect("ip"))
            .build()
            .expect("client")
    }

    pub fn set_now(&self, t: &str) {
        self.app.clock.set(time(t));
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        let resp = req.send().await.expect("http");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Resp {
            status,
            body,
            headers,
        }
    }

    pub fn req(&self, method: Method, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let mut r = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.send(self.req(Method::GET, path, token)).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.send(self.req(Method::POST, path, token).json(&body))
            .await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.send(self.req(Method::PUT, path, token).json(&body))
            .await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Resp {
        self.send(self.req(Method::DELETE, path, token)).await
    }

    /// Signs a person in by SMS; the development sender keeps the code.
    pub async fn sign_in(&self, p: &P) -> String {
        self.post(
            "/api/v1/auth/sms-code",
            None,
            serde_json::json!({ "phone": p.phone }),
        )
        .await
        .ok();
        let code = self
            .app
            .auth
            .sms
            .last_code(&p.phone)
            .expect("a code was sent");
        let r = self
            .post(
                "/api/v1/auth/session",
                None,
                serde_json::json!({ "phone": p.phone, "code": code }),
            )
            .await;
        r.ok()["token"].as_str().expect("token").to_string()
    }

    pub async fn staff(&self, username: &str) -> String {
        let r = self
            .post(
                "/api/v1/staff/session",
                None,
                serde_json::json!({ "username": username, "password": STAFF_PASSWORD }),
            )
            .await;
        r.ok()["token"].as_str().expect("token").to_string()
    }

    /// The personal-account balance, read from the engine.
    pub async fn balance(&self, p: &P) -> Fen {
        let key = format!("psn:{}", p.psn_no);
        self.app
            .read(move |e| e.state().balance(&key))
            .await
            .expect("read")
    }

    /// How many audit rows are stored.
    pub async fn audit_rows(&self) -> i64 {
        self.app
            .read(|e| {
                e.store_mut()
                    .audit_log(&gongji_store::read::AuditQuery {
                        limit: 200,
                        ..Default::default()
                    })
                    .map(|v| v.len() as i64)
            })
            .await
            .expect("read")
            .expect("audit")
    }

    /// What `gongji verify` checks, on the test database.
    pub async fn verify_clean(&self) {
        let report = self
            .app
            .read(|e| e.store_mut().verify())
            .await
            .expect("read")
            .expect("verify");
        assert!(report.is_clean(), "verify: {report}");
    }
}

/// The registry most tests share: families in Jinan, Zibo, Taiyuan and Yuncheng, one
/// pharmacy purchase paid by mutual aid and one that was cancelled.
pub struct World {
    pub s: Server,
    /// Jinan holder (5,000 yuan) and his wife (resident), bound; a child not yet bound.
    pub hj: P,
    pub rj: P,
    pub cj: P,
    /// Jinan: insurance terminated.
    pub tj: P,
    /// Jinan: insured only in long-term-care insurance (410).
    pub xj: P,
    /// Jinan: two persons sharing one phone.
    pub sh1: P,
    pub sh2: P,
    /// Zibo holder with a resident child (bound) and an employee spouse (bound); a second
    /// holder; a paused holder; a resident sibling candidate.
    pub hz: P,
    pub rz: P,
    pub ez: P,
    pub hz2: P,
    pub hzp: P,
    pub sz: P,
    /// Taiyuan (Shanxi) holder, his bound wife (end 2026-12-31), another spouse candidate,
    /// two father candidates, a public-medical candidate.
    pub hs: P,
    pub rs: P,
    pub s2: P,
    pub f1: P,
    pub f2: P,
    pub pm: P,
    /// Yuncheng holder (2,000 yuan) with a resident relative and an employee relative bound;
    /// an unbound resident; a poor holder (1,200 yuan) with a resident relative.
    pub hy: P,
    pub ry: P,
    pub ey: P,
    pub uy: P,
    pub hy2: P,
    pub ry2: P,
    /// Yuncheng: a holder whose insurance is paused, with a bound resident relative.
    pub hyp: P,
    pub ryp: P,
    /// Taiyuan: a public-medical employee.
    pub hpm: P,
    /// Beijing, where no policy is configured: an employee and a resident.
    pub bj: P,
    pub bjr: P,
    pub pharmacy: String,
    pub hospital: String,
    pub zibo_pharmacy: String,
    /// RJ's purchase of 100 yuan, paid by HJ's account (mutual aid).
    pub setl: String,
    /// A purchase of RJ that was cancelled.
    pub setl_cancelled: String,
    pub b_hj_rj: i64,
    pub b_hz_rz: i64,
    pub b_hz_ez: i64,
    pub b_hs_rs: i64,
    pub b_hy_ry: i64,
    pub b_hy_ey: i64,
    pub b_hy2_ry2: i64,
}

pub async fn world() -> World {
    world_with(gongji_policy::presets()).await
}

/// The same registry served as a production deployment (`gongji serve`).
pub async fn world_in_production() -> World {
    world_as(
        gongji_policy::presets(),
        Deployment {
            sign_in_limit: test_deployment().sign_in_limit,
            ..Deployment::production()
        },
    )
    .await
}

/// A son born on `birth` (in 2005): a plausible 子 (20) of every holder of the world.
fn child(birth: &'static str) -> impl FnOnce(&mut Person) {
    move |p| {
        p.birth_date = day(birth);
        p.gender = Gender::Male;
    }
}

/// A man born on `birth` (in 1940): a plausible 父亲 (51) of every holder of the world.
fn father(birth: &'static str) -> impl FnOnce(&mut Person) {
    move |p| {
        p.birth_date = day(birth);
        p.gender = Gender::Male;
    }
}

pub async fn world_with(policies: PolicySet) -> World {
    world_as(policies, test_deployment()).await
}

pub async fn world_as(policies: PolicySet, deployment: Deployment) -> World {
    world_configured(policies, move |app| app.with_deployment(deployment)).await
}

/// The world served with the app changed before serving (deployment, providers).
pub async fn world_configured(policies: PolicySet, configure: impl FnOnce(App) -> App) -> World {
    let mut f = Fixture::with_policies(policies);
    let pharmacy = f.institution(JINAN, InstitutionKind::Pharmacy, 36.6512, 117.1201, true);
    let hospital = f.institution(JINAN, InstitutionKind::Medical, 36.6700, 117.0300, true);
    let zibo_pharmacy = f.institution(ZIBO, InstitutionKind::Pharmacy, 36.8131, 118.0549, false);
    f.agency(ZIBO, "淄博市医疗保障服务中心", 36.8200, 118.0500);
    let item = f.item();
    let hj = f.employee(JINAN, 5000);
    let rj = f.resident(JINAN);
    let cj = f.person_with(JINAN, Insutype::Resident, child("2005-06-01"));
    let tj = f.person_with(JINAN, Insutype::Resident, |p| {
        p.insu_status = InsuStatus::Terminated
    });
    let xj = f.person_with(JINAN, Insutype::LongTermCare, |_| {});
    let sh1 = f.person_with(JINAN, Insutype::Resident, |p| {
        p.phone = Phone::new("13700000001")
    });
    let sh2 = f.person_with(JINAN, Insutype::Resident, |p| {
        p.phone = Phone::new("13700000001")
    });
    let hz = f.employee(ZIBO, 3000);
    let rz = f.person_with(ZIBO, Insutype::Resident, child("2005-06-02"));
    let ez = f.employee(ZIBO, 100);
    let hz2 = f.employee(ZIBO, 3000);
    let hzp = f.person_with(ZIBO, Insutype::Employee, |p| {
        p.insu_status = InsuStatus::Paused
    });
    let sz = f.person_with(ZIBO, Insutype::Resident, child("2005-06-03"));
    let hs = f.employee(TAIYUAN, 3000);
    let rs = f.resident(TAIYUAN);
    let s2 = f.resident(TAIYUAN);
    let f1 = f.person_with(TAIYUAN, Insutype::Resident, father("1940-06-01"));
    let f2 = f.person_with(TAIYUAN, Insutype::Resident, father("1940-06-02"));
    let pm = f.person_with(TAIYUAN, Insutype::Resident, |p| p.public_medical = true);
    let hy = f.employee(YUNCHENG, 2000);
    let ry = f.resident(YUNCHENG);
    let ey = f.employee(YUNCHENG, 100);
    let uy = f.resident(YUNCHENG);
    let hy2 = f.employee(YUNCHENG, 1200);
    let ry2 = f.resident(YUNCHENG);
    let hyp = f.employee(YUNCHENG, 2000);
    let ryp = f.resident(YUNCHENG);
    let hpm = f.person_with(TAIYUAN, Insutype::Employee, |p| p.public_medical = true);
    let bj = f.employee("110105", 1000);
    let bjr = f.person_with("110105", Insutype::Resident, child("2005-06-04"));
    let b_hj_rj = f.bind(&hj, &rj, 12, "2025-01-01", None);
    let b_hz_rz = f.bind(&hz, &rz, 20, "2025-01-01", None);
    let b_hz_ez = f.bind(&hz, &ez, 12, "2025-01-01", None);
    let b_hs_rs = f.bind(&hs, &rs, 12, "2025-01-01", Some("2026-12-31"));
    let b_hy_ry = f.bind(&hy, &ry, 20, "2025-01-01", None);
    let b_hy_ey = f.bind(&hy, &ey, 12, "2025-01-01", None);
    let b_hy2_ry2 = f.bind(&hy2, &ry2, 20, "2025-01-01", None);
    f.bind(&hyp, &ryp, 20, "2025-01-01", None);
    f.set_status(&hyp, InsuStatus::Paused);
    let setl = f.buy(&rj, &pharmacy, &item, 100, "2025-10-01 15:30:00");
    let setl_cancelled = f.buy(&rj, &pharmacy, &item, 30, "2025-10-02 09:00:00");
    f.cancel(&setl_cancelled, &rj, &pharmacy, "2025-10-02 09:30:00");
    let s = f.start_with(configure).await;
    World {
        s,
        hj,
        rj,
        cj,
        tj,
        xj,
        sh1,
        sh2,
        hz,
        rz,
        ez,
        hz2,
        hzp,
        sz,
        hs,
        rs,
        s2,
        f1,
        f2,
        pm,
        hy,
        ry,
        ey,
        uy,
        hy2,
        ry2,
        hyp,
        ryp,
        hpm,
        bj,
        bjr,
        pharmacy,
        hospital,
        zibo_pharmacy,
        setl,
        setl_cancelled,
        b_hj_rj,
        b_hz_rz,
        b_hz_ez,
        b_hs_rs,
        b_hy_ry,
        b_hy_ey,
        b_hy2_ry2,
    }
}

/// A page client: no redirects followed, every cookie the server sets kept and sent back
/// (the session and the pre-session CSRF cookie), as a browser would.
pub struct Browser {
    pub base: String,
    pub client: reqwest::Client,
    pub cookies: Vec<(String, String)>,
}

/// A page as the client got it.
pub struct PageResp {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl Browser {
    pub fn new(base: &str) -> Browser {
        Browser {
            base: base.to_string(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: Vec::new(),
        }
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub async fn send(&mut self, req: reqwest::RequestBuilder) -> PageResp {
        let req = if self.cookies.is_empty() {
            req
        } else {
            let header = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            req.header(reqwest::header::COOKIE, header)
        };
        let resp = req.send().await.expect("http");
        for v in resp.headers().get_all(reqwest::header::SET_COOKIE) {
            let pair = v.to_str().expect("cookie").split(';').next().unwrap_or("");
            if let Some((k, val)) = pair.split_once('=') {
                self.cookies.retain(|(name, _)| name != k);
                if !val.is_empty() {
                    self.cookies.push((k.to_string(), val.to_string()));
                }
            }
        }
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|v| v.to_str().expect("location").to_string());
        let body = resp.text().await.expect("body");
        PageResp {
            status,
            location,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> PageResp {
        let r = self.client.get(format!("{}{path}", self.base));
        self.send(r).await
    }

    pub async fn post(&mut self, path: &str, form: &[(String, String)]) -> PageResp {
        let r = self.client.post(format!("{}{path}", self.base)).form(form);
        self.send(r).await
    }

    /// Posts a form as our own page would: with its CSRF token (the session's once signed
    /// in, else the pre-session cookie's, fetched from the sign-in page when there is none).
    pub async fn submit(&mut self, path: &str, form: &[(String, String)]) -> PageResp {
        let mut form = form.to_vec();
        if !form.iter().any(|(k, _)| k == "csrf") {
            let csrf = match self.cookie("gongji_session") {
                Some(t) => csrf_of(t),
                None => {
                    if self.cookie("gongji_csrf").is_none() {
                        self.get("/h5/signin").await;
                    }
                    self.cookie("gongji_csrf").unwrap_or_default().to_string()
                }
            };
            form.push(("csrf".into(), csrf));
        }
        self.post(path, &form).await
    }
}

/// The CSRF token of the forms of the session whose token is `session_token`.
pub fn csrf_of(session_token: &str) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(b"gongji-csrf-v1\0");
    h.update(session_token.as_bytes());
    hex::encode(h.finalize())
}

/// An SMS provider of a real deployment (not the development sender) whose deliveries a
/// test reads; production sends in the background, so [`Inbox::code_for`] waits a little.
#[derive(Clone, Default)]
pub struct Inbox(Arc<std::sync::Mutex<std::collections::HashMap<String, String>>>);

#[async_trait::async_trait]
impl gongji_server::service::providers::SmsSender for Inbox {
    async fn send(
        &self,
        phone: &Phone,
        code: &str,
    ) -> Result<(), gongji_server::service::providers::SmsError> {
        if let Ok(mut m) = self.0.lock() {
            m.insert(phone.reveal().to_string(), code.to_string());
        }
        Ok(())
    }
}

impl Inbox {
    pub fn has(&self, phone: &str) -> bool {
        self.0.lock().is_ok_and(|m| m.contains_key(phone))
    }

    pub async fn code_for(&self, phone: &str) -> String {
        for _ in 0..300 {
            if let Some(c) = self.0.lock().ok().and_then(|m| m.get(phone).cloned()) {
                return c;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("no code delivered to {phone}");
    }
}

/// The value of the first hidden or text field `name` in a page (`""` when absent).
pub fn field_value(body: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let Some(start) = body.find(&needle).map(|i| i + needle.len()) else {
        return String::new();
    };
    let end = body[start..].find('"').expect("end of value");
    body[start..start + end].to_string()
}

/// Every hidden field of the form that holds the button `op=value`, as a browser sends it.
pub fn form_of(body: &str, op: &str) -> Vec<(String, String)> {
    let button = format!("name=\"op\" value=\"{op}\"");
    let at = body
        .find(&button)
        .unwrap_or_else(|| panic!("no {op} button"));
    let start = body[..at].rfind("<form").expect("form start");
    let form = &body[start..at];
    let mut fields = Vec::new();
    let mut rest = form;
    while let Some(i) = rest.find("<input type=\"hidden\" name=\"") {
        rest = &rest[i + "<input type=\"hidden\" name=\"".len()..];
        let name_end = rest.find('"').expect("name end");
        let name = rest[..name_end].to_string();
        let v_start = rest.find("value=\"").expect("value") + "value=\"".len();
        let v_end = rest[v_start..].find('"').expect("value end");
        fields.push((name, html_unescape(&rest[v_start..v_start + v_end])));
    }
    fields.push(("op".to_string(), op.to_string()));
    fields
}

fn html_unescape(s: &str) -> String {
    s.replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The exact text of the first `"field":` value after `"within"` in a JSON answer.
pub fn json_field(text: &str, within: &str, field: &str) -> String {
    let from = text.find(&format!("\"{within}\"")).expect(within);
    let needle = format!("\"{field}\":");
    let start = text[from..].find(&needle).expect(field) + from + needle.len();
    let end = text[start..]
        .find([',', '}'])
        .map(|i| i + start)
        .expect("value end");
    text[start..end].trim().trim_matches('"').to_string()
}

/// The text of the element marked `data-testid="id"` (up to its first tag).
pub fn testid(body: &str, id: &str) -> Option<String> {
    let needle = format!("data-testid=\"{id}\"");
    let at = body.find(&needle)? + needle.len();
    let open_end = body[at..].find('>')? + at + 1;
    let close = body[open_end..].find('<')? + open_end;
    Some(body[open_end..close].trim().to_string())
}
