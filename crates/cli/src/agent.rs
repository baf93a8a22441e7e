//! `gongji agent add`: a collecting agent (代收点, issue 13) and its API token, which is
//! printed once; only its SHA-256 is kept.

use gongji_server::service::agents::new_agent;
use gongji_store::{PgStore, ReadStore, SqliteStore, StoreError};

use crate::registry::{Target, EXIT_OK, EXIT_UNUSABLE};

pub fn add(target: &Target, agent_id: &str, name: &str, admdvs: &str, kind: &str) -> u8 {
    let now = chrono::Local::now().naive_local();
    let made = new_agent(agent_id, name, admdvs, kind, "cli", now).map_err(|e| e.message_zh());
    let saved = made.and_then(|(row, token)| {
        // Agents are not engine state: written straight into the database, beside a
        // running writer, as staff accounts are.
        let saved = match &target.database {
            Some(url) => PgStore::connect_admin(url).and_then(|mut s| s.put_agent(&row)),
            None => SqliteStore::open(&target.db).and_then(|mut s| s.put_agent(&row)),
        };
        saved
            .map(|()| (row, token))
            .map_err(|e: StoreError| format!("{}: {e}", target.label()))
    });
    match saved {
        Ok((row, token)) => {
            println!(
                "已登记代收点 / collecting agent saved: {} {}（{}）",
                row.agent_id, row.name, row.admdvs
            );
            println!("API令牌（只显示这一次）/ API token (shown once): {token}");
            EXIT_OK
        }
        Err(e) => {
            eprintln!("{e}");
            EXIT_UNUSABLE
        }
    }
}
