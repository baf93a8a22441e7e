//! Till operators (收费操作员): accounts of one designated institution, made by `gongji operator
//! add`, that sign in to `/terminal` with institution code, username and password. The till
//! then acts as that institution only (see `web/terminal.rs`).
//!
//! The lockout is the operators' own small one rather than the staff sign-in's: an attempt is
//! counted under the lock *before* the password is checked, so parallel guesses cannot all
//! pass a check made before any of them failed.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::NaiveDateTime;
use gongji_core::codes::Channel;
use gongji_store::ReadStore;

use super::auth::{audit_row, dummy_hash, verify_password, Session, Subject};
use super::{ServiceError, ServiceResult};
use crate::app::App;

/// Password tries of one operator account within [`OPERATOR_LOCK_SECS`] before it is locked
/// for the rest of that time. A successful sign-in clears the count.
pub const OPERATOR_ATTEMPTS_MAX: u32 = 5;
pub const OPERATOR_LOCK_SECS: i64 = 15 * 60;
const USERNAME_BYTES_MAX: usize = 64;
const PASSWORD_BYTES_MAX: usize = 1024;
const CODE_BYTES_MAX: usize = 32;
/// Accounts whose attempts are remembered at once; beyond, the expired go first.
const TRACKED_MAX: usize = 100_000;

/// A signed-in till operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operator {
    pub username: String,
    /// The institution the till acts as.
    pub fixmedins_code: String,
}

impl Operator {
    pub fn of(subject: Subject) -> Option<Operator> {
        match subject {
            Subject::Operator {
                username,
                fixmedins_code,
            } => Some(Operator {
                username,
                fixmedins_code,
            }),
            Subject::Person { .. } | Subject::Staff { .. } => None,
        }
    }
}

/// Attempts per operator account: (count, start of the window).
#[derive(Default)]
pub struct Lockout {
    attempts: Mutex<HashMap<String, (u32, NaiveDateTime)>>,
}

impl Lockout {
    /// Counts one attempt, or refuses it when the account has used its tries in this window.
    fn begin(&self, key: &str, now: NaiveDateTime) -> ServiceResult<()> {
        let mut attempts = self.attempts.lock().map_err(|_| poisoned())?;
        if attempts.len() >= TRACKED_MAX && !attempts.contains_key(key) {
            attempts.retain(|_, (_, since)| (now - *since).num_seconds() < OPERATOR_LOCK_SECS);
            if attempts.len() >= TRACKED_MAX {
                attempts.clear();
            }
        }
        let entry = attempts.entry(key.to_string()).or_insert((0, now));
        let elapsed = (now - entry.1).num_seconds();
        if elapsed >= OPERATOR_LOCK_SECS {
            *entry = (0, now);
        }
        if entry.0 >= OPERATOR_ATTEMPTS_MAX {
            return Err(ServiceError::RateLimited {
                retry_after_secs: (OPERATOR_LOCK_SECS - elapsed).max(1),
            });
        }
        entry.0 += 1;
        Ok(())
    }

    fn succeeded(&self, key: &str) {
        if let Ok(mut attempts) = self.attempts.lock() {
            attempts.remove(key);
        }
    }
}

fn poisoned() -> ServiceError {
    ServiceError::Engine(gongji_engine::EngineError::Store(
        gongji_store::StoreError::Io("lock poisoned".into()),
    ))
}

/// Signs a till operator in. Unknown institution, unknown username and wrong password all
/// answer the same, after the same hash.
pub async fn sign_in(
    app: &App,
    fixmedins_code: &str,
    username: &str,
    password: &str,
) -> ServiceResult<Session> {
    let now = app.clock.now();
    let code = fixmedins_code.trim().to_ascii_uppercase();
    let username = username.trim().to_string();
    if code.is_empty()
        || code.len() > CODE_BYTES_MAX
        || username.is_empty()
        || username.len() > USERNAME_BYTES_MAX
        || password.len() > PASSWORD_BYTES_MAX
    {
        return Err(ServiceError::BadCredentials);
    }
    let key = format!("{username}@{code}");
    app.operator_lockout.begin(&key, now)?;
    let (c, u) = (code.clone(), username.clone());
    let row = app
        .read(move |engine| -> ServiceResult<_> {
            if !engine.state().institutions.contains_key(&c) {
                return Ok(None);
            }
            Ok(engine.store_mut().operator(&c, &u)?)
        })
        .await??;
    let hash = row
        .as_ref()
        .map(|r| r.password_hash.clone())
        .unwrap_or_else(|| dummy_hash().to_string());
    let password = password.to_string();
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    if !(ok && row.is_some()) {
        return Err(ServiceError::BadCredentials);
    }
    app.operator_lockout.succeeded(&key);
    let subject = Subject::Operator {
        username,
        fixmedins_code: code.clone(),
    };
    let signed_in = audit_row(
        app,
        &subject.actor(),
        Channel::Window,
        "operator_sign_in",
        &format!("institution:{code}"),
        None,
    );
    super::auth::new_session(app, subject, signed_in).await
}

/// The operator of a session token, if it is an operator's live session.
pub async fn of_session(app: &App, token: &str) -> Option<Operator> {
    super::auth::session(app, token)
        .await
        .ok()
        .and_then(|s| Operator::of(s.subject))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn attempts_are_counted_before_the_check_and_expire() {
        let l = Lockout::default();
        let t0 = at("2026-03-10 09:00:00");
        for _ in 0..OPERATOR_ATTEMPTS_MAX {
            assert!(l.begin("a@P1", t0).is_ok());
        }
        // Without any failure recorded yet, a sixth try is refused: the count is taken first.
        assert!(matches!(
            l.begin("a@P1", t0),
            Err(ServiceError::RateLimited { .. })
        ));
        assert!(l.begin("b@P1", t0).is_ok());
        let later = t0 + TimeDelta::seconds(OPERATOR_LOCK_SECS);
        assert!(l.begin("a@P1", later).is_ok());
        l.succeeded("a@P1");
        for _ in 0..OPERATOR_ATTEMPTS_MAX {
            assert!(l.begin("a@P1", later).is_ok());
        }
    }
}
