//! Who is asking: SMS sign-in of insured persons (R-S11) with a real-name check, staff
//! sign-in with a password, expiring sessions, and the two outside providers behind traits:
//! the SMS sender and the face verifier (R-Z5).
//!
//! Sessions, pending codes and rate-limit counters live in memory (bounded); a restart signs
//! everyone out, which is safe. Every limit has a name below.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{NaiveDateTime, TimeDelta};
use gongji_core::codes::Channel;
use gongji_core::pii::{mask_phone, Phone};
use gongji_engine::{Command, Request};
use gongji_store::{AuditRow, ReadStore};
use rand::{Rng, RngCore};

use super::{ServiceError, ServiceResult};
use crate::app::App;
pub use crate::service::providers::{DevFaceVerifier, DevSmsSender, FaceVerifier, SmsSender};

/// How long an SMS code is good for.
pub const CODE_TTL_SECS: i64 = 300;
/// The least time between two codes to one phone.
pub const CODE_RESEND_SECS: i64 = 60;
/// Most codes sent to one phone in an hour.
pub const CODE_REQUESTS_PER_HOUR_MAX: usize = 5;
/// Wrong tries before a code is spent.
pub const CODE_ATTEMPTS_MAX: u32 = 5;
/// A session ends after this long without use...
pub const SESSION_IDLE_SECS: i64 = 30 * 60;
/// ...and after this long in any case.
pub const SESSION_ABSOLUTE_SECS: i64 = 12 * 60 * 60;
/// Wrong staff passwords before the username is locked for a while.
pub const STAFF_FAILURES_MAX: u32 = 5;
pub const STAFF_LOCK_SECS: i64 = 15 * 60;
/// Bounds of the in-memory tables; beyond them the oldest entries go.
pub const SESSIONS_MAX: usize = 100_000;
pub const PENDING_CODES_MAX: usize = 100_000;
/// The name of the session cookie (pages) beside the `Authorization: Bearer` header (apps).
pub const SESSION_COOKIE: &str = "gongji_session";

/// Bureau staff roles. What each may do is [`Role::may`]; ARCHITECTURE.md has the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// 经办员: serves people at the window and on the phone.
    Clerk,
    /// 稽核员: supervises the fund; opens recovery cases.
    Auditor,
    /// 管理员.
    Admin,
}

/// What staff do, for the role check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// Search persons and read a person's record, bindings, usage and records (audited).
    ReadPersons,
    /// Suspend and lift mutual aid (R-S7).
    SuspendBindings,
    ReadRecoveryCases,
    /// Open a recovery case (追回).
    OpenRecoveryCase,
    /// Record that a case was repaid: the money returns to the holder.
    RecordRepayment,
    Reports,
    ReadAuditLog,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s.trim() {
            "clerk" => Some(Role::Clerk),
            "auditor" => Some(Role::Auditor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Role::Clerk => "clerk",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    /// The role model. Opening a recovery case accuses a holder of a false commitment, so
    /// it is the auditors' (稽核) decision, not the window's; recording a repayment is what
    /// the window does when the money comes in.
    pub fn may(self, p: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Admin => true,
            Role::Auditor => true,
            Role::Clerk => matches!(
                p,
                ReadPersons | SuspendBindings | ReadRecoveryCases | RecordRepayment | Reports
            ),
        }
    }
}

/// Who a session belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    Person {
        psn_no: String,
    },
    Staff {
        username: String,
        role: Role,
    },
    /// A till operator of one designated institution (`gongji operator add`).
    Operator {
        username: String,
        fixmedins_code: String,
    },
}

impl Subject {
    /// The actor named in audit rows: the psn_no, `staff:username` or
    /// `operator:username@fixmedins_code`.
    pub fn actor(&self) -> String {
        match self {
            Subject::Person { psn_no } => psn_no.clone(),
            Subject::Staff { username, .. } => format!("staff:{username}"),
            Subject::Operator {
                username,
                fixmedins_code,
            } => format!("operator:{username}@{fixmedins_code}"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Session {
    pub token: String,
    pub subject: Subject,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

struct PendingCode {
    code: String,
    expires_at: NaiveDateTime,
    attempts_left: u32,
}

/// The sign-in state of the server: providers, sessions, codes and counters.
pub struct AuthContext {
    pub sms: Arc<dyn SmsSender>,
    pub face: Arc<dyn FaceVerifier>,
    sessions: Mutex<HashMap<String, Session>>,
    codes: Mutex<HashMap<String, PendingCode>>,
    code_requests: Mutex<HashMap<String, VecDeque<NaiveDateTime>>>,
    staff_failures: Mutex<HashMap<String, (u32, NaiveDateTime)>>,
}

impl AuthContext {
    pub fn new(sms: Arc<dyn SmsSender>, face: Arc<dyn FaceVerifier>) -> AuthContext {
        AuthContext {
            sms,
            face,
            sessions: Mutex::new(HashMap::new()),
            codes: Mutex::new(HashMap::new()),
            code_requests: Mutex::new(HashMap::new()),
            staff_failures: Mutex::new(HashMap::new()),
        }
    }

    /// The development providers.
    pub fn development() -> AuthContext {
        AuthContext::new(Arc::new(DevSmsSender::default()), Arc::new(DevFaceVerifier))
    }

    pub(crate) fn new_session(
        &self,
        subject: Subject,
        now: NaiveDateTime,
    ) -> ServiceResult<Session> {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let session = Session {
            token: hex::encode(bytes),
            subject,
            created_at: now,
            expires_at: now + TimeDelta::seconds(SESSION_IDLE_SECS),
        };
        let mut sessions = self.sessions.lock().map_err(|_| poisoned())?;
        if sessions.len() >= SESSIONS_MAX {
            sessions.retain(|_, s| s.expires_at > now);
            if sessions.len() >= SESSIONS_MAX {
                if let Some(oldest) = sessions
                    .values()
                    .min_by_key(|s| s.created_at)
                    .map(|s| s.token.clone())
                {
                    sessions.remove(&oldest);
                }
            }
        }
        sessions.insert(session.token.clone(), session.clone());
        Ok(session)
    }

    /// The live session of `token`, its idle time renewed.
    pub fn session(&self, token: &str, now: NaiveDateTime) -> ServiceResult<Session> {
        let mut sessions = self.sessions.lock().map_err(|_| poisoned())?;
        let Some(s) = sessions.get_mut(token) else {
            return Err(ServiceError::Unauthenticated);
        };
        let absolute = s.created_at + TimeDelta::seconds(SESSION_ABSOLUTE_SECS);
        if now >= s.expires_at || now >= absolute {
            sessions.remove(token);
            return Err(ServiceError::Unauthenticated);
        }
        s.expires_at = (now + TimeDelta::seconds(SESSION_IDLE_SECS)).min(absolute);
        Ok(s.clone())
    }

    pub fn end_session(&self, token: &str) {
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.remove(token);
        }
    }
}

fn poisoned() -> ServiceError {
    ServiceError::Engine(gongji_engine::EngineError::Store(
        gongji_store::StoreError::Io("lock poisoned".into()),
    ))
}

/// A phone number as sign-in takes it: 11 digits starting with 1.
pub fn parse_phone(text: &str) -> ServiceResult<Phone> {
    let t = text.trim();
    if t.len() == 11 && t.starts_with('1') && t.bytes().all(|b| b.is_ascii_digit()) {
        Ok(Phone::new(t))
    } else {
        Err(ServiceError::BadRequest(
            "手机号应为11位数字 / phone must be 11 digits".into(),
        ))
    }
}

/// What the app is told after a code was sent.
#[derive(Clone, Debug)]
pub struct CodeSent {
    pub phone_masked: String,
    pub expires_in_secs: i64,
    pub resend_after_secs: i64,
}

/// Sends a sign-in code to a phone registered to an insured person (R-S11).
pub async fn request_code(app: &App, phone: &str) -> ServiceResult<CodeSent> {
    let sms = super::providers::sms_for(app)?;
    let phone = parse_phone(phone)?;
    let now = app.clock.now();
    // Rate limits first: they also slow down probing which phones are registered.
    {
        let mut requests = app.auth.code_requests.lock().map_err(|_| poisoned())?;
        if requests.len() >= PENDING_CODES_MAX {
            requests.retain(|_, q| q.back().is_some_and(|t| now - *t < TimeDelta::hours(1)));
            if requests.len() >= PENDING_CODES_MAX {
                requests.clear();
            }
        }
        let q = requests.entry(phone.reveal().to_string()).or_default();
        while q.front().is_some_and(|t| now - *t >= TimeDelta::hours(1)) {
            q.pop_front();
        }
        if let Some(last) = q.back() {
            let since = (now - *last).num_seconds();
            if since < CODE_RESEND_SECS {
                return Err(ServiceError::RateLimited {
                    retry_after_secs: CODE_RESEND_SECS - since,
                });
            }
        }
        if q.len() >= CODE_REQUESTS_PER_HOUR_MAX {
            let first = q.front().copied().unwrap_or(now);
            return Err(ServiceError::RateLimited {
                retry_after_secs: (first + TimeDelta::hours(1) - now).num_seconds().max(1),
            });
        }
        q.push_back(now);
    }
    let number = phone.reveal().to_string();
    let persons = app
        .read(move |engine| engine.store_mut().persons_by_phone(&number))
        .await??;
    if persons.is_empty() {
        return Err(ServiceError::PhoneUnknown);
    }
    let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000));
    if let Err(e) = sms.send(&phone, &code).await {
        // The provider's words go to the log, never the code; the person hears 短信发送失败.
        tracing::warn!(phone = %phone, error = %e, "sign-in code not sent");
        return Err(ServiceError::SmsUnavailable);
    }
    let mut codes = app.auth.codes.lock().map_err(|_| poisoned())?;
    if codes.len() >= PENDING_CODES_MAX {
        codes.retain(|_, c| c.expires_at > now);
        if codes.len() >= PENDING_CODES_MAX {
            codes.clear();
        }
    }
    codes.insert(
        phone.reveal().to_string(),
        PendingCode {
            code,
            expires_at: now + TimeDelta::seconds(CODE_TTL_SECS),
            attempts_left: CODE_ATTEMPTS_MAX,
        },
    );
    Ok(CodeSent {
        phone_masked: mask_phone(phone.reveal()),
        expires_in_secs: CODE_TTL_SECS,
        resend_after_secs: CODE_RESEND_SECS,
    })
}

/// Signs a person in with the code sent to their phone. `certno` picks the person when
/// several share the phone.
pub async fn sign_in_with_code(
    app: &App,
    phone: &str,
    code: &str,
    certno: Option<&str>,
    channel: Channel,
) -> ServiceResult<Session> {
    let phone = parse_phone(phone)?;
    let now = app.clock.now();
    {
        let mut codes = app.auth.codes.lock().map_err(|_| poisoned())?;
        let key = phone.reveal().to_string();
        let Some(pending) = codes.get_mut(&key) else {
            return Err(ServiceError::CodeInvalid);
        };
        if now >= pending.expires_at || pending.attempts_left == 0 {
            codes.remove(&key);
            return Err(ServiceError::CodeInvalid);
        }
        if pending.code != code.trim() {
            pending.attempts_left -= 1;
            if pending.attempts_left == 0 {
                codes.remove(&key);
            }
            return Err(ServiceError::CodeInvalid);
        }
        codes.remove(&key);
    }
    let number = phone.reveal().to_string();
    let certno = certno.map(|c| c.trim().to_ascii_uppercase());
    let chosen = app
        .read(move |engine| -> ServiceResult<String> {
            let candidates = engine.store_mut().persons_by_phone(&number)?;
            let state = engine.state();
            let mut fits: Vec<&String> = candidates
                .iter()
                .filter(|p| {
                    certno.as_deref().is_none_or(|c| {
                        state
                            .persons
                            .get(p)
                            .is_some_and(|person| person.certno.reveal() == c)
                    })
                })
                .collect();
            match fits.len() {
                0 => Err(ServiceError::PhoneUnknown),
                1 => Ok(fits.remove(0).clone()),
                _ => Err(ServiceError::PhoneShared),
            }
        })
        .await??;
    let session = app.auth.new_session(
        Subject::Person {
            psn_no: chosen.clone(),
        },
        now,
    )?;
    audit(
        app,
        &chosen,
        channel,
        "sign_in",
        &format!("person:{chosen}"),
        None,
    )
    .await?;
    Ok(session)
}

/// Signs a staff member in with username and password.
pub async fn staff_sign_in(app: &App, username: &str, password: &str) -> ServiceResult<Session> {
    let now = app.clock.now();
    let username = username.trim().to_string();
    if username.is_empty() || username.len() > 64 || password.len() > 1024 {
        return Err(ServiceError::BadCredentials);
    }
    {
        let failures = app.auth.staff_failures.lock().map_err(|_| poisoned())?;
        if let Some((n, since)) = failures.get(&username) {
            let locked_for = STAFF_LOCK_SECS - (now - *since).num_seconds();
            if *n >= STAFF_FAILURES_MAX && locked_for > 0 {
                return Err(ServiceError::RateLimited {
                    retry_after_secs: locked_for,
                });
            }
        }
    }
    let name = username.clone();
    let row = app
        .read(move |engine| engine.store_mut().staff(&name))
        .await??;
    let password = password.to_string();
    // An unknown username costs the same hash as a known one, so timing tells nothing.
    let hash = row
        .as_ref()
        .map(|r| r.password_hash.clone())
        .unwrap_or_else(|| dummy_hash().to_string());
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    let verified = row.and_then(|r| Role::parse(&r.role)).filter(|_| ok);
    let Some(role) = verified else {
        let mut failures = app.auth.staff_failures.lock().map_err(|_| poisoned())?;
        if failures.len() >= SESSIONS_MAX {
            failures.clear();
        }
        let e = failures.entry(username.clone()).or_insert((0, now));
        if (now - e.1).num_seconds() >= STAFF_LOCK_SECS {
            *e = (0, now);
        }
        e.0 += 1;
        return Err(ServiceError::BadCredentials);
    };
    if let Ok(mut failures) = app.auth.staff_failures.lock() {
        failures.remove(&username);
    }
    let subject = Subject::Staff {
        username: username.clone(),
        role,
    };
    let session = app.auth.new_session(subject.clone(), now)?;
    audit(
        app,
        &subject.actor(),
        Channel::StaffConsole,
        "staff_sign_in",
        &format!("staff:{username}"),
        None,
    )
    .await?;
    Ok(session)
}

/// The session of a bearer token or cookie value.
pub fn session(app: &App, token: &str) -> ServiceResult<Session> {
    app.auth.session(token, app.clock.now())
}

pub fn sign_out(app: &App, token: &str) {
    app.auth.end_session(token);
}

/// Writes one audit row through the engine (a sign-in, a staff read).
pub async fn audit(
    app: &App,
    actor: &str,
    channel: Channel,
    action: &str,
    subject: &str,
    detail: Option<String>,
) -> ServiceResult<()> {
    let row = AuditRow {
        at: app.clock.now().format("%Y-%m-%d %H:%M:%S").to_string(),
        actor: actor.to_string(),
        channel: channel.code().to_string(),
        action: action.to_string(),
        subject: subject.to_string(),
        before_state: None,
        after_state: detail,
    };
    app.submit(Request::new(Command::Audit(row))).await?;
    Ok(())
}

/// An argon2id hash in PHC format, for `gongji staff add`.
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// A hash no password matches in practice, for unknown usernames.
pub(crate) fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("gongji-no-such-user").unwrap_or_default())
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("s3cret").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("s3cret", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("s3cret", "not a hash"));
    }

    #[test]
    fn the_role_model() {
        assert!(!Role::Clerk.may(Permission::OpenRecoveryCase));
        assert!(!Role::Clerk.may(Permission::ReadAuditLog));
        assert!(Role::Clerk.may(Permission::SuspendBindings));
        assert!(Role::Auditor.may(Permission::OpenRecoveryCase));
        assert!(Role::Admin.may(Permission::ReadAuditLog));
    }
}
