//! Who is asking: SMS sign-in of insured persons (R-S11) with a real-name check, staff
//! sign-in with a password, expiring sessions, and the two outside providers behind traits:
//! the SMS sender and the face verifier (R-Z5).
//!
//! Sessions live in the database (`sessions`, only the SHA-256 of each token), so they
//! survive a restart and every server process on the database sees a sign-out at once.
//! Pending codes and the failure counters live in memory (bounded): a restart forgets them,
//! which at worst lets a locked source try again. Every limit has a name below.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{NaiveDateTime, TimeDelta};
use gongji_core::codes::Channel;
use gongji_core::pii::{mask_phone, Phone};
use gongji_engine::{Command, Request};
use gongji_store::read::SessionRow;
use gongji_store::{AuditRow, ReadStore};
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};

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
/// A session's last use is written at most this often: idle expiry is exact to within it,
/// and a busy page does not write the database on every request.
pub const SESSION_TOUCH_SECS: i64 = 60;
/// How often (real time) a sign-in also sweeps expired sessions out of the database.
pub const SESSION_SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(10 * 60);
/// Wrong staff passwords from one source (client IP) before that source may not try that
/// username again for [`STAFF_LOCK_SECS`]. Counted before the password is checked, so no
/// burst of parallel tries gets more checks than this.
pub const STAFF_FAILURES_MAX: u32 = 5;
/// Wrong passwords for one username from all sources together before the account is locked
/// for everyone: guessing spread over many addresses is stopped too, and locking a colleague
/// out takes this many failures from at least ten sources, not five from anyone.
pub const STAFF_ACCOUNT_FAILURES_MAX: u32 = 50;
/// Wrong staff passwords from one source over all usernames (one password tried on many
/// accounts) before that source is stopped.
pub const STAFF_SOURCE_FAILURES_MAX: u32 = 20;
pub const STAFF_LOCK_SECS: i64 = 15 * 60;
/// Bound of the in-memory failure counters; beyond it the expired entries go.
pub const FAILURE_COUNTERS_MAX: usize = 100_000;
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
    /// Mark residents' contribution categories from departments' lists (R-R5).
    MarkContributionCategories,
    /// Bind, grant, lower and end a holder's cross-province quota at the window (R-N3).
    CrossProvinceQuotas,
    /// Register collecting agents (issue 13), which collect money: not a clerk's.
    ManageAgents,
    /// Approve or reject persons' online registration and correction requests (R-R7).
    ReviewRequests,
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
                ReadPersons
                    | SuspendBindings
                    | ReadRecoveryCases
                    | RecordRepayment
                    | Reports
                    | MarkContributionCategories
                    | CrossProvinceQuotas
                    | ReviewRequests
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
    /// An operator of the web till, acting for one institution only.
    Operator {
        username: String,
        fixmedins_code: String,
    },
}

impl Subject {
    /// The actor named in audit rows: the psn_no, `staff:username` or
    /// `operator:username@institution`.
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

    /// The stored row's subject columns.
    fn to_row(&self, row: &mut SessionRow) {
        match self {
            Subject::Person { psn_no } => {
                row.kind = "person".into();
                row.psn_no = Some(psn_no.clone());
            }
            Subject::Staff { username, role } => {
                row.kind = "staff".into();
                row.username = Some(username.clone());
                row.role = Some(role.code().into());
            }
            Subject::Operator {
                username,
                fixmedins_code,
            } => {
                row.kind = "operator".into();
                row.username = Some(username.clone());
                row.fixmedins_code = Some(fixmedins_code.clone());
            }
        }
    }

    /// The subject of a stored row; `None` for a row this server does not understand.
    fn of_row(row: &SessionRow) -> Option<Subject> {
        match row.kind.as_str() {
            "person" => Some(Subject::Person {
                psn_no: row.psn_no.clone()?,
            }),
            "staff" => Some(Subject::Staff {
                username: row.username.clone()?,
                role: Role::parse(row.role.as_deref()?)?,
            }),
            "operator" => Some(Subject::Operator {
                username: row.username.clone()?,
                fixmedins_code: row.fixmedins_code.clone()?,
            }),
            _ => None,
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
    /// False for a phone no one registered: nothing was sent and no code matches, but its
    /// tries count down like a real code's, so the sign-in page's "tries left" and expiry
    /// tell no one which phones are insured.
    real: bool,
}

/// A sent code's standing, for the sign-in page: until when it is valid and how many wrong
/// tries it has left.
#[derive(Clone, Copy, Debug)]
pub struct CodeStatus {
    pub expires_at: NaiveDateTime,
    pub attempts_left: u32,
}

/// What a staff sign-in failure is counted against.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum FailureKey {
    /// One username tried from one source.
    Pair(String, IpAddr),
    /// One username, from anywhere.
    Account(String),
    /// One source, whatever the username.
    Source(IpAddr),
}

impl FailureKey {
    fn max(&self) -> u32 {
        match self {
            FailureKey::Pair(..) => STAFF_FAILURES_MAX,
            FailureKey::Account(_) => STAFF_ACCOUNT_FAILURES_MAX,
            FailureKey::Source(_) => STAFF_SOURCE_FAILURES_MAX,
        }
    }
}

/// Failures (and tries in flight) in the window that began at `since`.
struct Failures {
    count: u32,
    since: NaiveDateTime,
}

/// The sign-in state of the server: providers, pending codes and counters (sessions are in
/// the database).
pub struct AuthContext {
    pub sms: Arc<dyn SmsSender>,
    pub face: Arc<dyn FaceVerifier>,
    codes: Mutex<HashMap<String, PendingCode>>,
    code_requests: Mutex<HashMap<String, VecDeque<NaiveDateTime>>>,
    staff_failures: Mutex<HashMap<FailureKey, Failures>>,
    /// When this process last swept expired sessions.
    last_sweep: Mutex<Option<std::time::Instant>>,
}

impl AuthContext {
    pub fn new(sms: Arc<dyn SmsSender>, face: Arc<dyn FaceVerifier>) -> AuthContext {
        AuthContext {
            sms,
            face,
            codes: Mutex::new(HashMap::new()),
            code_requests: Mutex::new(HashMap::new()),
            staff_failures: Mutex::new(HashMap::new()),
            last_sweep: Mutex::new(None),
        }
    }

    /// The development providers.
    pub fn development() -> AuthContext {
        AuthContext::new(Arc::new(DevSmsSender::default()), Arc::new(DevFaceVerifier))
    }

    /// Reserves one staff sign-in try for `username` from `source`, before the password is
    /// checked: every counter it falls under goes up now, so parallel tries see each other.
    /// Refused when any of them is at its limit within its window.
    fn reserve_staff_try(
        &self,
        username: &str,
        source: IpAddr,
        now: NaiveDateTime,
    ) -> ServiceResult<[FailureKey; 3]> {
        let keys = [
            FailureKey::Pair(username.to_string(), source),
            FailureKey::Account(username.to_string()),
            FailureKey::Source(source),
        ];
        let mut failures = self.staff_failures.lock().map_err(|_| poisoned())?;
        let window = TimeDelta::seconds(STAFF_LOCK_SECS);
        if failures.len() >= FAILURE_COUNTERS_MAX {
            failures.retain(|_, f| now - f.since < window);
        }
        let mut locked_for = 0;
        for key in &keys {
            if let Some(f) = failures.get(key) {
                let left = (f.since + window - now).num_seconds();
                if left > 0 && f.count >= key.max() {
                    locked_for = locked_for.max(left);
                }
            }
        }
        if locked_for > 0 {
            return Err(ServiceError::RateLimited {
                retry_after_secs: locked_for,
            });
        }
        if failures.len() >= FAILURE_COUNTERS_MAX {
            // Still full of live counters: refuse rather than forget who is locked.
            return Err(ServiceError::RateLimited {
                retry_after_secs: STAFF_LOCK_SECS,
            });
        }
        for key in &keys {
            let f = failures.entry(key.clone()).or_insert(Failures {
                count: 0,
                since: now,
            });
            if now - f.since >= window {
                *f = Failures {
                    count: 0,
                    since: now,
                };
            }
            f.count += 1;
        }
        Ok(keys)
    }

    /// Whether it is time to sweep expired sessions (and the sweep is now this process's).
    fn sweep_due(&self) -> bool {
        let Ok(mut last) = self.last_sweep.lock() else {
            return false;
        };
        let now = std::time::Instant::now();
        if last.is_some_and(|t| now.duration_since(t) < SESSION_SWEEP_EVERY) {
            return false;
        }
        *last = Some(now);
        true
    }

    /// Gives back a reserved try whose password was right: it was not a failure.
    fn release_staff_try(&self, keys: &[FailureKey; 3]) {
        if let Ok(mut failures) = self.staff_failures.lock() {
            for key in keys {
                if let Some(f) = failures.get_mut(key) {
                    f.count = f.count.saturating_sub(1);
                }
            }
        }
    }
}

/// The stored form of a token: its SHA-256, so a copy of the sessions table signs no one in.
fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

pub(crate) fn time_text(t: NaiveDateTime) -> String {
    t.format(TIME_FORMAT).to_string()
}

fn parse_time(text: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(text, TIME_FORMAT).ok()
}

/// Starts a session for `subject` (after it proved who it is) and stores it with the
/// sign-in's audit row `signed_in`, in one engine batch: the session exists exactly when its
/// audit row does. The answer carries the token, which is never stored. Expired sessions are
/// swept out on the way, at most every [`SESSION_SWEEP_EVERY`].
pub(crate) async fn new_session(
    app: &App,
    subject: Subject,
    signed_in: AuditRow,
) -> ServiceResult<Session> {
    let now = app.clock.now();
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let expires_at = now + TimeDelta::seconds(SESSION_IDLE_SECS);
    let mut row = SessionRow {
        token_sha256: token_hash(&token),
        created_at: time_text(now),
        last_seen_at: time_text(now),
        expires_at: time_text(expires_at),
        ..SessionRow::default()
    };
    subject.to_row(&mut row);
    if app.auth.sweep_due() {
        let before = row.last_seen_at.clone();
        app.read(move |engine| engine.store_mut().delete_expired_sessions(&before))
            .await??;
    }
    app.submit(Request::new(Command::OpenSession(row)).with_audit(signed_in))
        .await?;
    Ok(Session {
        token,
        subject,
        created_at: now,
        expires_at,
    })
}

/// The live session of a bearer token or cookie value, its idle time renewed; an unknown,
/// expired or signed-out token is `Unauthenticated`.
pub async fn session(app: &App, token: &str) -> ServiceResult<Session> {
    let token = token.trim();
    if token.is_empty() || token.len() > 128 {
        return Err(ServiceError::Unauthenticated);
    }
    let now = app.clock.now();
    let hash = token_hash(token);
    let found = app
        .read(
            move |engine| -> ServiceResult<Option<(Subject, NaiveDateTime, NaiveDateTime)>> {
                let store = engine.store_mut();
                let Some(row) = store.session(&hash)? else {
                    return Ok(None);
                };
                let (Some(subject), Some(created), Some(last_seen), Some(expires)) = (
                    Subject::of_row(&row),
                    parse_time(&row.created_at),
                    parse_time(&row.last_seen_at),
                    parse_time(&row.expires_at),
                ) else {
                    return Ok(None);
                };
                let absolute = created + TimeDelta::seconds(SESSION_ABSOLUTE_SECS);
                if now >= expires || now >= absolute {
                    store.delete_session(&hash)?;
                    return Ok(None);
                }
                if (now - last_seen).num_seconds() < SESSION_TOUCH_SECS {
                    return Ok(Some((subject, created, expires)));
                }
                let renewed = (now + TimeDelta::seconds(SESSION_IDLE_SECS)).min(absolute);
                store.touch_session(&hash, &time_text(now), &time_text(renewed))?;
                Ok(Some((subject, created, renewed)))
            },
        )
        .await??;
    let Some((subject, created_at, expires_at)) = found else {
        return Err(ServiceError::Unauthenticated);
    };
    Ok(Session {
        token: token.to_string(),
        subject,
        created_at,
        expires_at,
    })
}

/// Ends the session of `token` for every server process on the database.
pub async fn sign_out(app: &App, token: &str) -> ServiceResult<()> {
    let hash = token_hash(token.trim());
    app.read(move |engine| engine.store_mut().delete_session(&hash))
        .await??;
    Ok(())
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

/// Sends a sign-in code to a phone registered to an insured person (R-S11). The answer is
/// the same for a phone no one registered (nothing is sent), so it tells no one which
/// numbers are insured; outside the demo the code is delivered in the background, so the
/// SMS provider's time does not tell either.
pub async fn request_code(app: &App, phone: &str) -> ServiceResult<CodeSent> {
    request_code_in(app, phone, SIGN_IN_SLOT).await
}

/// Where a code waits: the sign-in's and a payment's second factor are kept apart, so that
/// one does not use up, or wait out the resend limit of, the other.
const SIGN_IN_SLOT: &str = "";
const PAYMENT_SLOT: &str = "pay:";

async fn request_code_in(app: &App, phone: &str, slot: &str) -> ServiceResult<CodeSent> {
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
        let q = requests
            .entry(format!("{slot}{}", phone.reveal()))
            .or_default();
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
    let sent = CodeSent {
        phone_masked: mask_phone(phone.reveal()),
        expires_in_secs: CODE_TTL_SECS,
        resend_after_secs: CODE_RESEND_SECS,
    };
    let real = !persons.is_empty();
    let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000));
    {
        let mut codes = app.auth.codes.lock().map_err(|_| poisoned())?;
        if codes.len() >= PENDING_CODES_MAX {
            codes.retain(|_, c| c.expires_at > now);
            if codes.len() >= PENDING_CODES_MAX {
                codes.clear();
            }
        }
        codes.insert(
            format!("{slot}{}", phone.reveal()),
            PendingCode {
                code: code.clone(),
                expires_at: now + TimeDelta::seconds(CODE_TTL_SECS),
                attempts_left: CODE_ATTEMPTS_MAX,
                real,
            },
        );
    }
    if !real {
        return Ok(sent);
    }
    if app.deployment.is_demo() {
        // The demo page shows the code it just sent, so it waits for the sending.
        if let Err(e) = sms.send(&phone, &code).await {
            tracing::warn!(phone = %phone, error = %e, "sign-in code not sent");
            return Err(ServiceError::SmsUnavailable);
        }
    } else {
        // In the background, so the provider's time does not tell registered phones from
        // unknown ones. The provider's words go to the log, never the code.
        tokio::spawn(async move {
            if let Err(e) = sms.send(&phone, &code).await {
                tracing::warn!(phone = %phone, error = %e, "sign-in code not sent");
            }
        });
    }
    Ok(sent)
}

/// The standing of the code last sent to `phone`: `None` when none is waiting (never sent,
/// expired, used, or out of tries).
pub fn code_status(app: &App, phone: &str) -> Option<CodeStatus> {
    let phone = parse_phone(phone).ok()?;
    let now = app.clock.now();
    let codes = app.auth.codes.lock().ok()?;
    codes
        .get(phone.reveal())
        .filter(|c| now < c.expires_at && c.attempts_left > 0)
        .map(|c| CodeStatus {
            expires_at: c.expires_at,
            attempts_left: c.attempts_left,
        })
}

/// Checks the code last sent to `phone` and uses it up; a wrong one costs a try. Compared in
/// constant time: the code is the secret.
fn consume_code(app: &App, phone: &Phone, slot: &str, code: &str) -> ServiceResult<()> {
    let now = app.clock.now();
    let mut codes = app.auth.codes.lock().map_err(|_| poisoned())?;
    let key = format!("{slot}{}", phone.reveal());
    let Some(pending) = codes.get_mut(&key) else {
        return Err(ServiceError::CodeInvalid);
    };
    if now >= pending.expires_at || pending.attempts_left == 0 {
        codes.remove(&key);
        return Err(ServiceError::CodeInvalid);
    }
    let offered = code.trim().as_bytes();
    // An unregistered phone's entry (`real` false) counts tries like a real one but never matches.
    let matches = pending.real
        && pending.code.len() == offered.len()
        && bool::from(subtle::ConstantTimeEq::ct_eq(
            pending.code.as_bytes(),
            offered,
        ));
    if !matches {
        pending.attempts_left -= 1;
        if pending.attempts_left == 0 {
            codes.remove(&key);
        }
        return Err(ServiceError::CodeInvalid);
    }
    codes.remove(&key);
    Ok(())
}

/// The phone registered to `psn_no`, where a second factor is sent.
async fn phone_of(app: &App, psn_no: &str) -> ServiceResult<String> {
    let psn_no = psn_no.to_string();
    app.read(move |engine| {
        engine
            .state()
            .persons
            .get(&psn_no)
            .map(|p| p.phone.reveal().to_string())
    })
    .await?
    .ok_or(ServiceError::NotFound("参保人"))
}

/// The second factor before money leaves a personal account for someone else (issue 13):
/// a code sent to the signed-in person's own registered phone, by the same sender, limits
/// and expiry as the sign-in code.
pub async fn send_second_factor(app: &App, psn_no: &str) -> ServiceResult<CodeSent> {
    let phone = phone_of(app, psn_no).await?;
    request_code_in(app, &phone, PAYMENT_SLOT).await
}

/// Checks the second factor [`send_second_factor`] sent, and uses it up.
pub async fn check_second_factor(app: &App, psn_no: &str, code: &str) -> ServiceResult<()> {
    let phone = parse_phone(&phone_of(app, psn_no).await?)?;
    consume_code(app, &phone, PAYMENT_SLOT, code)
}

/// The phone a second factor goes to, for the demo page's 演示 code.
pub async fn second_factor_phone(app: &App, psn_no: &str) -> ServiceResult<String> {
    phone_of(app, psn_no).await
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
    consume_code(app, &phone, SIGN_IN_SLOT, code)?;
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
    let signed_in = audit_row(
        app,
        &chosen,
        channel,
        "sign_in",
        &format!("person:{chosen}"),
        None,
    );
    new_session(
        app,
        Subject::Person {
            psn_no: chosen.clone(),
        },
        signed_in,
    )
    .await
}

/// Signs a staff member in with username and password, from `source` (the client's IP).
///
/// The try is counted before the password is checked ([`STAFF_FAILURES_MAX`] per username
/// and source, [`STAFF_ACCOUNT_FAILURES_MAX`] per username, [`STAFF_SOURCE_FAILURES_MAX`] per
/// source, each per [`STAFF_LOCK_SECS`]) and given back only when the password was right, so
/// no number of parallel tries gets more checks than the limits allow.
pub async fn staff_sign_in(
    app: &App,
    username: &str,
    password: &str,
    source: IpAddr,
) -> ServiceResult<Session> {
    let now = app.clock.now();
    let username = username.trim().to_string();
    if username.is_empty() || username.len() > 64 || password.len() > 1024 {
        return Err(ServiceError::BadCredentials);
    }
    let reserved = app.auth.reserve_staff_try(&username, source, now)?;
    let name = username.clone();
    let row = match app
        .read(move |engine| engine.store_mut().staff(&name))
        .await
    {
        Ok(Ok(row)) => row,
        Ok(Err(e)) => {
            app.auth.release_staff_try(&reserved);
            return Err(e.into());
        }
        Err(e) => {
            app.auth.release_staff_try(&reserved);
            return Err(e.into());
        }
    };
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
        // The reservation stays: it was a failure.
        return Err(ServiceError::BadCredentials);
    };
    app.auth.release_staff_try(&reserved);
    let subject = Subject::Staff {
        username: username.clone(),
        role,
    };
    let signed_in = audit_row(
        app,
        &subject.actor(),
        Channel::StaffConsole,
        "staff_sign_in",
        &format!("staff:{username}"),
        None,
    );
    new_session(app, subject, signed_in).await
}

/// An audit row of `action` now, to go with its change (`Request::with_audit`).
pub fn audit_row(
    app: &App,
    actor: &str,
    channel: Channel,
    action: &str,
    subject: &str,
    detail: Option<String>,
) -> AuditRow {
    AuditRow {
        at: time_text(app.clock.now()),
        actor: actor.to_string(),
        channel: channel.code().to_string(),
        action: action.to_string(),
        subject: subject.to_string(),
        before_state: None,
        after_state: detail,
    }
}

/// Writes the audit row of a read that changes nothing (a staff read of a person, a staff
/// search), durable before the caller shows what was read; if it cannot be written the
/// caller returns the error instead of the data.
pub async fn audit_read(
    app: &App,
    actor: &str,
    channel: Channel,
    action: &str,
    subject: &str,
    detail: Option<String>,
) -> ServiceResult<()> {
    let row = audit_row(app, actor, channel, action, subject, detail);
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
