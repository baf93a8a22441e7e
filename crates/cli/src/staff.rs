//! `gongji staff add`: bureau staff accounts (argon2id password hashes) for the console and
//! the staff API. The role model is in ARCHITECTURE.md.

use std::io::BufRead;

use gongji_server::service::auth::{hash_password, Role};
use gongji_store::read::StaffRow;
use gongji_store::{PgStore, SqliteStore, StoreError};

use crate::registry::{Target, EXIT_OK, EXIT_UNUSABLE};

/// Shortest password accepted.
const PASSWORD_CHARS_MIN: usize = 8;

pub fn add(target: &Target, username: &str, role: &str, password: Option<&str>) -> u8 {
    match add_inner(target, username, role, password) {
        Ok(()) => {
            println!("已保存经办人员账户 / staff account saved: {username} ({role})");
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
    username: &str,
    role: &str,
    password: Option<&str>,
) -> Result<(), String> {
    let role = Role::parse(role)
        .ok_or_else(|| format!("--role {role:?}: 应为 clerk、auditor 或 admin"))?;
    let username = checked_username(username)?;
    let password = read_password(password)?;
    let hash = hash_password(&password)?;
    let row = StaffRow {
        username: username.to_string(),
        password_hash: hash,
        role: role.code().to_string(),
        created_at: chrono::Local::now()
            .naive_local()
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
    };
    // Staff rows are not engine state: written straight into the database, beside a
    // running writer (on PostgreSQL without taking the writer lease).
    let saved = match &target.database {
        Some(url) => PgStore::connect_admin(url).and_then(|mut s| s.add_staff(&row)),
        None => SqliteStore::open(&target.db).and_then(|mut s| s.add_staff(&row)),
    };
    saved.map_err(|e: StoreError| format!("{}: {e}", target.label()))
}

/// A username of staff or of a till operator: 1–64 letters, digits, dots, underscores or
/// hyphens, trimmed.
pub fn checked_username(username: &str) -> Result<&str, String> {
    let username = username.trim();
    let valid = !username.is_empty()
        && username.len() <= 64
        && username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if valid {
        Ok(username)
    } else {
        Err(format!(
            "--username {username:?}: 应为1到64位字母、数字、点、下划线或连字符"
        ))
    }
}

/// The password given with --password, or one line of standard input; at least
/// [`PASSWORD_CHARS_MIN`] characters.
pub fn read_password(password: Option<&str>) -> Result<String, String> {
    let password = match password {
        Some(p) => p.to_string(),
        None => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| format!("读取密码失败 / cannot read the password: {e}"))?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    if password.chars().count() < PASSWORD_CHARS_MIN {
        return Err(format!(
            "密码至少{PASSWORD_CHARS_MIN}位 / the password needs at least {PASSWORD_CHARS_MIN} characters"
        ));
    }
    Ok(password)
}
