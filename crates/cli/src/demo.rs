//! `gongji demo`: a synthetic population across the five seed regions, ready to use.

use std::path::Path;

use gongji_demo::{demo_spec, generate, write_csv_dir};

use crate::registry::{import_into, open_engine, EXIT_OK, EXIT_UNUSABLE};

/// Builds the demo database (unless it exists and `fresh` is off). Returns the exit code.
pub fn run(db: &Path, fresh: bool) -> u8 {
    match build(db, fresh) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("{e}");
            EXIT_UNUSABLE
        }
    }
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
