//! Generates a population and writes its CSV files.
//!
//! `cargo run --release -p gongji-demo --example generate -- [--invalid] [demo|province [PERSONS]] [DIR]`
//!
//! `--invalid` adds the few deliberately invalid binding rows and lists them.

use std::path::PathBuf;
use std::time::Instant;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let invalid = args.iter().any(|a| a == "--invalid");
    let mut rest = args
        .iter()
        .map(String::as_str)
        .filter(|a| *a != "--invalid");
    let (spec, dir) = match rest.next() {
        Some("province") => {
            let mut next = rest.next();
            let persons = match next.and_then(|s| s.replace('_', "").parse().ok()) {
                Some(n) => {
                    next = rest.next();
                    n
                }
                None => gongji_demo::PROVINCE_PERSONS,
            };
            (gongji_demo::province_spec(persons), next)
        }
        Some("demo") => (gongji_demo::demo_spec(), rest.next()),
        other => (gongji_demo::demo_spec(), other),
    };
    let dir = PathBuf::from(dir.unwrap_or("demo-data"));
    let spec = gongji_demo::PopulationSpec {
        include_invalid_rows: invalid,
        ..spec
    };

    let started = Instant::now();
    let mut last = 0;
    let pop = gongji_demo::generate(&spec, &mut |done, total| {
        let percent = done * 100 / total.max(1);
        if percent >= last + 10 || done == total {
            eprintln!("  {percent:>3}%  {done}/{total}");
            last = percent;
        }
    });
    let generated = started.elapsed();
    gongji_demo::write_csv_dir(&pop, &dir)?;
    let written = started.elapsed() - generated;
    println!("{}", pop.summary());
    for r in &pop.invalid_rows {
        println!(
            "  {} 第 {} 行 [{}] {}",
            r.file,
            r.row + 2,
            r.rule,
            r.reason_zh
        );
    }
    println!(
        "生成 {:.2} 秒，写入 {:.2} 秒 → {}",
        generated.as_secs_f64(),
        written.as_secs_f64(),
        dir.display()
    );
    Ok(())
}
