//! `gongji demo`: a synthetic population across the five seed regions, ready to use.

use std::path::Path;

use gongji_demo::{demo_spec, generate, write_csv_dir};

use crate::registry::{import_into, open_engine, EXIT_OK, EXIT_UNUSABLE};

/// Builds the demo database (unless it exists and `fresh` is off), then serves it on
/// `addr` when given. Returns the exit code.
pub fn run(db: &Path, fresh: bool, addr: Option<&str>) -> u8 {
    if let Err(e) = build(db, fresh) {
        eprintln!("{e}");
        return EXIT_UNUSABLE;
    }
    let Some(addr) = addr else {
        return EXIT_OK;
    };
    let key_file = token_key_file(db);
    if !key_file.exists() {
        if let Err(e) = gongji_engine::token_seal::TokenKey::generate_file(&key_file) {
            eprintln!("{e}");
            return EXIT_UNUSABLE;
        }
    }
    let banner = match guide(db, &key_file, addr) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_UNUSABLE;
        }
    };
    crate::serve::run(&crate::serve::ServeOptions {
        target: &crate::registry::Target::sqlite(db),
        addr,
        now: None,
        banner: Some(banner),
        token_key: Some(&key_file),
    })
}

/// The demo's token key, generated next to its database (a deployment names its own).
fn token_key_file(db: &Path) -> std::path::PathBuf {
    std::path::PathBuf::from(format!("{}.token-key", db.display()))
}

/// What a newcomer needs to settle a bill within a minute.
fn guide(db: &Path, key_file: &Path, addr: &str) -> Result<String, String> {
    let mut engine = open_engine(db)?;
    let key =
        gongji_engine::token_seal::TokenKey::from_file(key_file).map_err(|e| e.to_string())?;
    engine.use_token_key(Some(key)).map_err(|e| e.to_string())?;
    let state = engine.state();
    let mut out = String::new();
    let mut insts: Vec<_> = state
        .institutions
        .values()
        .filter(|i| i.mutual_aid && i.admdvs.code() == 370300)
        .collect();
    insts.sort_by(|a, b| a.code.cmp(&b.code));
    out.push_str(&format!(
        "\n== 演示指南 / demo guide ==\n网址 / URL: http://{addr}/\n"
    ));
    out.push_str(&format!(
        "机构接口 / institution interface: POST http://{addr}/fsi/api/rsfComIfsService/callService\n"
    ));
    for i in insts.iter().take(2) {
        out.push_str(&format!(
            "  演示机构 {} {}  paasid={}  演示令牌 token={}\n",
            i.code, i.name, i.paasid, i.token
        ));
    }
    let mut bindings: Vec<_> = state
        .bindings
        .values()
        .filter(|b| b.status == gongji_core::domain::BindingStatus::Active && b.end.is_none())
        .collect();
    bindings.sort_by_key(|b| b.id);
    out.push_str("演示人员（身份证号可用于 1101/2207 的 mdtrt_cert_no） / demo persons:\n");
    let mut shown = 0;
    for b in bindings {
        let (Some(h), Some(r)) = (state.persons.get(&b.holder), state.persons.get(&b.relative))
        else {
            continue;
        };
        if h.admdvs.code() != 370300 || !h.is_insured_normally() || !r.is_insured_normally() {
            continue;
        }
        let bal = |p: &str| {
            state.balance(&gongji_core::ledger::LedgerAccount::Personal(p.to_string()).key())
        };
        out.push_str(&format!(
            "  户主 {} {} 证件号 {} 余额 {} 元 → 关系人({}) {} {} 证件号 {} 余额 {} 元\n",
            h.psn_no,
            h.name.reveal(),
            h.certno.reveal(),
            bal(&h.psn_no),
            b.relationship.name_zh(),
            r.psn_no,
            r.name.reveal(),
            r.certno.reveal(),
            bal(&r.psn_no)
        ));
        shown += 1;
        if shown == 3 {
            break;
        }
    }
    out.push_str("按 Ctrl-C 停止 / Ctrl-C to stop");
    Ok(out)
}

pub fn build(db: &Path, fresh: bool) -> Result<(), String> {
    if db.exists() && !fresh {
        println!(
            "使用已有的演示数据库 {}（加 --fresh 重新生成）/ reusing {}",
            db.display(),
            db.display()
        );
        return Ok(());
    }
    for suffix in ["", "-wal", "-shm", ".token-key"] {
        let p = format!("{}{suffix}", db.display());
        if Path::new(&p).exists() {
            std::fs::remove_file(&p).map_err(|e| format!("{p}: {e}"))?;
        }
    }
    let spec = demo_spec();
    let bar = indicatif::ProgressBar::new(spec.persons as u64);
    let population = generate(&spec, &mut |done, _total| bar.set_position(done as u64));
    bar.finish_and_clear();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    write_csv_dir(&population, dir.path()).map_err(|e| e.to_string())?;
    let mut engine = open_engine(db)?;
    let code = import_into(&mut engine, dir.path())?;
    if code != EXIT_OK {
        println!("部分演示数据未通过规则（见上方），其余已导入 / some demo rows were refused (above); the rest loaded");
    }
    println!("{}", population.summary());
    println!("演示数据库 / demo database: {}", db.display());
    Ok(())
}
