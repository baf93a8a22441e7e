//! `gongji operator add`: till operators (收费操作员) of one designated institution, who sign
//! in to `/terminal`; the till then acts as that institution only. Passwords are argon2id
//! hashes, as for staff.

use gongji_server::service::auth::hash_password;
use gongji_store::read::OperatorRow;
use gongji_store::{PgStore, SqliteStore, StoreError};

use crate::registry::{Target, EXIT_OK, EXIT_UNUSABLE};
use crate::staff::{checked_username, read_password};

/// Shortest password accepted.
/// Longest institution code accepted (national codes are 12 characters).
const CODE_BYTES_MAX: usize = 32;

pub fn add(target: &Target, institution: &str, username: &str, password: Option<&str>) -> u8 {
    match add_inner(target, institution, username, password) {
        Ok(code) => {
            println!("已保存收费操作员账户 / till operator saved: {username}@{code}");
            EXIT_OK
        }
        Err(e) => {
            eprintln!("{e}");
            EXIT_UNUSABLE
        }
    }
}

fn add_inner(
    target: &Target,
    institution: &str,
    username: &str,
    password: Option<&str>,
) -> Result<String, String> {
    let code = institution.trim().to_ascii_uppercase();
    let valid_code = !code.is_empty()
        && code.len() <= CODE_BYTES_MAX
        && code.bytes().all(|b| b.is_ascii_alphanumeric());
    if !valid_code {
        return Err(format!(
            "--institution {institution:?}: 应为定点医药机构编码（字母和数字）"
        ));
    }
    let username = checked_username(username)?;
    let password = read_password(password)?;
    let row = OperatorRow {
        fixmedins_code: code.clone(),
        username: username.to_string(),
        password_hash: hash_password(&password)?,
        created_at: chrono::Local::now()
            .naive_local()
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
    };
    // Operator rows are not engine state: written straight into the database, beside a
    // running writer (on PostgreSQL without taking the writer lease).
    let saved = match &target.database {
        Some(url) => PgStore::connect_admin(url).and_then(|mut s| s.add_operator(&row)),
        None => SqliteStore::open(&target.db).and_then(|mut s| s.add_operator(&row)),
    };
    saved.map_err(|e: StoreError| format!("{}: {e}", target.label()))?;
    Ok(code)
}
