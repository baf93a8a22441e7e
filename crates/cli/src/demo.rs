//! `gongji demo`: a synthetic population across the five seed regions, ready to use.

use std::path::Path;

use gongji_demo::{demo_spec, generate, write_csv_dir};

use crate::registry::{import_into, open_engine, EXIT_OK, EXIT_UNUSABLE};

/// Whether `gongji demo` makes the demo population.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Build {
    /// Unless the file exists.
    IfMissing,
    /// Always, replacing the file.
    Fresh,
    /// Never: serve the file as it is (`--no-build`).
    Never,
}

pub struct DemoArgs<'a> {
    pub db: &'a Path,
    pub build: Build,
    /// Serve here; `None` builds only.
    pub addr: Option<&'a str>,
    /// Pins the server's clock: `yyyy-MM-dd HH:mm:ss`.
    pub now: Option<&'a str>,
}

/// What the demo adds, said before it serves: none of it is ever in `gongji serve`.
pub const NOTICE: &str = "== 演示模式 / DEMO MODE ==\n\
仅供演示，切勿用于真实参保人 / for demonstration only, never for real insured persons.\n\
演示模式额外提供（页面上均标注“演示”），gongji serve 从不提供 / the demo adds (each labelled 演示 on the page); gongji serve never has them:\n\
  - 登录页直接显示短信验证码 / the SMS sign-in code is shown on the page\n\
  - 开发用人脸核验（模拟刷脸）/ the development face check\n\
  - 无需操作员登录的收银台 /terminal / the till without operator sign-in\n\
  - 公开的 /metrics / open /metrics\n\
  - 开放接口 /open/v1 的演示平台密钥与演示渠道应用（见下方演示指南）/ a demo platform key and a demo app partner for /open/v1 (see the guide below)\n\
  - 宽松的登录频率限制 / loose sign-in rate limits";

/// Builds the demo database as `args.build` says, then serves it as the demo on `args.addr`
/// when given. Returns the exit code.
pub fn run(args: &DemoArgs<'_>) -> u8 {
    match run_inner(args) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("{e}");
            EXIT_UNUSABLE
        }
    }
}

fn run_inner(args: &DemoArgs<'_>) -> Result<(), String> {
    let db = args.db;
    match args.build {
        Build::Never if !db.exists() => {
            return Err(format!(
                "{}: 数据库不存在（--no-build 不生成演示数据）/ no such database (--no-build builds nothing)",
                db.display()
            ))
        }
        Build::Never => {}
        Build::IfMissing => build(db, false)?,
        Build::Fresh => build(db, true)?,
    }
    let (partner, said) = crate::demo_partner::ensure(db)?;
    for line in said {
        println!("{line}");
    }
    let Some(addr) = args.addr else {
        return Ok(());
    };
    crate::serve::init_logging();
    let clock = crate::serve::parse_clock(args.now)?;
    let banner = guide(db, addr)?;
    let store = crate::registry::Target::sqlite(db).open()?;
    let mut setup = crate::serve::Setup::demo(addr, NOTICE.to_string(), banner);
    setup.open_api_key = Some(partner.platform_key);
    crate::serve::serve_store(store, clock, setup)
}

/// What a newcomer needs to settle a bill within a minute.
fn guide(db: &Path, addr: &str) -> Result<String, String> {
    let engine = open_engine(db)?;
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
            "  机构 {} {}  paasid={}  token={}\n",
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
    let mut first_holder = None;
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
        first_holder.get_or_insert_with(|| h.psn_no.clone());
        shown += 1;
        if shown == 3 {
            break;
        }
    }
    out.push_str(&crate::demo_partner::guide(
        db,
        addr,
        first_holder.as_deref(),
    ));
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
    for suffix in ["", "-wal", "-shm"] {
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
