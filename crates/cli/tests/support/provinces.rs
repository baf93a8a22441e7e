//! Two provinces as two `gongji serve` processes on loopback, each with its own database,
//! SM2 key pair and config naming the other as its peer (issue 14): Shandong (37) keeps the
//! holder YT-H1, Shanxi (14) the relative YC-Y1, a Yuncheng resident with no account and
//! no binding of his own, so what he spends at a pharmacy in Shanxi comes from the quota.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{person, Env, Server, GONGJI, NOW};

pub const HOLDER: &str = "YT-H1";
pub const RELATIVE: &str = "YC-Y1";
pub const STAFF: &str = "window";
pub const STAFF_PASSWORD: &str = "window-pass-123";

/// A free loopback port (bound and let go: the peers must know each other's port before
/// either starts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub struct Province {
    pub code: &'static str,
    pub env: Env,
    pub port: u16,
    pub public_key: String,
    pub config: PathBuf,
    /// PostgreSQL instead of the SQLite file (`--database URL`).
    pub database_url: Option<String>,
}

fn run(args: &[&str]) -> String {
    let out = std::process::Command::new(GONGJI)
        .args(args)
        .output()
        .expect("run gongji");
    assert!(
        out.status.success(),
        "gongji {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Province {
    /// The population imported, a key pair generated, a clerk at the window.
    pub fn new(code: &'static str) -> Province {
        let env = Env::new();
        let key = env.dir.path().join("province.key");
        let printed = run(&["province", "keygen", "--key", key.to_str().expect("utf-8")]);
        let public_key = printed
            .lines()
            .last()
            .expect("the public key is printed last")
            .trim()
            .to_string();
        run(&[
            "staff",
            "add",
            "--db",
            env.db.to_str().expect("utf-8"),
            "--username",
            STAFF,
            "--role",
            "clerk",
            "--password",
            STAFF_PASSWORD,
        ]);
        let config = env.dir.path().join("province.toml");
        Province {
            code,
            env,
            port: free_port(),
            public_key,
            config,
            database_url: None,
        }
    }

    /// As [`Province::new`], its books on PostgreSQL at `url` (the same registry, exported
    /// from the SQLite file and imported there).
    pub fn on_postgres(code: &'static str, url: &str) -> Province {
        let mut p = Province::new(code);
        let registry = p.env.dir.path().join("registry-export");
        let dir = registry.to_str().expect("utf-8");
        run(&["export", "--db", p.env.db.to_str().expect("utf-8"), dir]);
        // One binding row is refused, as in the SQLite file (the paused holder ZB-H2 cannot
        // bind again: see postgres_serve.rs); everything else loads.
        let imported = std::process::Command::new(GONGJI)
            .args(["import", "--database", url, dir])
            .output()
            .expect("import");
        let said = String::from_utf8_lossy(&imported.stdout);
        assert!(said.contains("persons.csv: 导入"), "{said}");
        run(&[
            "staff",
            "add",
            "--database",
            url,
            "--username",
            STAFF,
            "--role",
            "clerk",
            "--password",
            STAFF_PASSWORD,
        ]);
        p.database_url = Some(url.to_string());
        p
    }

    /// `gongji verify` on this province's database must pass.
    pub fn verify(&self) {
        match &self.database_url {
            Some(url) => run(&["verify", "--database", url]),
            None => run(&["verify", "--db", self.env.db.to_str().expect("utf-8")]),
        };
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Writes the config: this province, its fixed port, the other as its peer.
    pub fn knows(&self, peer: &Province) {
        let text = format!(
            "[http]\nlisten = \"127.0.0.1:{}\"\n\n[province]\ncode = \"{}\"\nkey_file = \"province.key\"\n\n[[peers]]\ncode = \"{}\"\nurl = \"{}\"\npublic_key = \"{}\"\n",
            self.port,
            self.code,
            peer.code,
            peer.url(),
            peer.public_key
        );
        std::fs::write(&self.config, text).expect("write the config");
    }

    /// `gongji serve` on this province's database; `fault` names a step boundary where a
    /// `fault-test` build aborts.
    pub fn serve(&self, fault: Option<&str>) -> Server {
        let db = self.env.db.to_str().expect("utf-8").to_string();
        let mut args = vec![
            "serve",
            "--config",
            self.config.to_str().expect("utf-8"),
            "--now",
            NOW,
        ];
        match &self.database_url {
            Some(url) => args.extend_from_slice(&["--database", url.as_str()]),
            None => args.extend_from_slice(&["--db", db.as_str()]),
        }
        let envs: Vec<(&str, &str)> = fault.iter().map(|f| ("GONGJI_FAULT", *f)).collect();
        Server::launch_with(&args, &envs)
    }
}

/// A staff member's session on one province's REST API.
pub struct Window {
    pub base: String,
    token: String,
    http: reqwest::blocking::Client,
}

pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Window {
    pub fn sign_in(base: &str) -> Window {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        let r = http
            .post(format!("{base}/api/v1/staff/session"))
            .json(&json!({"username": STAFF, "password": STAFF_PASSWORD}))
            .send()
            .expect("sign in");
        let body: Value = r.json().expect("json");
        let token = body["token"].as_str().expect("token").to_string();
        Window {
            base: base.to_string(),
            token,
            http,
        }
    }

    pub fn post(&self, path: &str, body: Value) -> Result<Reply, String> {
        let r = self
            .http
            .post(format!("{}/api/v1{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .map_err(|e| e.to_string())?;
        let status = r.status().as_u16();
        Ok(Reply {
            status,
            body: r.json().unwrap_or(Value::Null),
        })
    }

    pub fn get(&self, path: &str) -> Value {
        self.try_get(path)
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// A GET that may find the server down (a crash test).
    pub fn try_get(&self, path: &str) -> Result<Value, String> {
        self.http
            .get(format!("{}/api/v1{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .and_then(|r| r.json())
            .map_err(|e| e.to_string())
    }

    /// The steps still waiting for the other province (`usize::MAX` while it is down).
    pub fn in_flight(&self) -> usize {
        self.try_get("/staff/quota-transfers")
            .ok()
            .and_then(|v| v["transfers"].as_array().map(Vec::len))
            .unwrap_or(usize::MAX)
    }

    /// The quotas of a person on this side: (status, amount in fen).
    pub fn quota_of(&self, psn_no: &str) -> Option<(String, i64)> {
        let v = self.get(&format!("/staff/persons/{psn_no}/quotas"));
        let q = v["quotas"].as_array()?.first()?.clone();
        Some((
            q["status"].as_str()?.to_string(),
            super::fen(q["amount"].as_str()?),
        ))
    }
}

/// Waits until neither province has a step in flight.
pub fn settled(a: &Window, b: &Window) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if a.in_flight() == 0 && b.in_flight() == 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("steps still in flight after 60 s");
}

/// The binding request for the holder at the window of province A.
pub fn bind_body(relative_province: &str) -> Value {
    let r = person(RELATIVE);
    json!({
        "province": relative_province,
        "relative_certno": r.certno(),
        "relative_name": r.name,
        "relationship": "20",
        "begin": "2026-03-10",
    })
}

/// `gongji province check` from province A's config: exit code and output.
pub fn check(a: &Province) -> (i32, String) {
    let out = std::process::Command::new(GONGJI)
        .args([
            "province",
            "check",
            "--config",
            a.config.to_str().expect("utf-8"),
        ])
        .output()
        .expect("run gongji province check");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}
