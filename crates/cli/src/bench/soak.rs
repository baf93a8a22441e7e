//! `--modes soak`: the mix over HTTP at a fixed rate for a long time (`--rate`,
//! `--duration`), in intervals of a tenth of it (one to ten seconds); after each one the
//! resident memory and that interval's p99 are recorded. Writes `soak.json` and `soak.svg`
//! (memory and p99 over time, drawn by hand) into the output folder.

use std::fmt::Write as _;
use std::path::Path;

use super::http::{open_loop, HttpRun};
use super::stats;

pub struct Sample {
    pub at_seconds: f64,
    pub rss_bytes: u64,
    pub p99_us: u64,
    pub answered: usize,
}

/// Runs `intervals` open-loop runs of `per_interval` requests each at `rate`.
pub fn run<'a>(
    make: &mut dyn FnMut(usize, usize) -> HttpRun<'a>,
    rate: f64,
    duration_seconds: u64,
) -> Result<Vec<Sample>, String> {
    let interval = (duration_seconds / 10).clamp(1, 10);
    let intervals = duration_seconds.div_ceil(interval).max(1);
    let per_interval = ((rate * interval as f64).round() as usize).max(1);
    let mut samples = Vec::new();
    let mut at = 0.0;
    for k in 0..intervals as usize {
        let s = open_loop(&make(k, per_interval), rate)?;
        at += s.elapsed.as_secs_f64();
        let (rss, _) = stats::memory();
        samples.push(Sample {
            at_seconds: at,
            rss_bytes: rss.unwrap_or(0),
            p99_us: s.percentile(99.0).as_micros() as u64,
            answered: s.latencies_us.len(),
        });
    }
    Ok(samples)
}

pub fn json(samples: &[Sample], rate: f64) -> String {
    let rows: Vec<String> = samples
        .iter()
        .map(|s| {
            format!(
                "{{\"at_seconds\":{:.1},\"rss_bytes\":{},\"p99_us\":{},\"answered\":{}}}",
                s.at_seconds, s.rss_bytes, s.p99_us, s.answered
            )
        })
        .collect();
    format!("{{\"rate\":{rate},\"samples\":[{}]}}\n", rows.join(","))
}

/// Two line charts one above the other: resident memory (MiB) and p99 (ms) over seconds.
pub fn svg(samples: &[Sample], rate: f64) -> String {
    let (w, h, pad) = (640.0, 200.0, 50.0);
    let t_max = samples.last().map_or(1.0, |s| s.at_seconds.max(1.0));
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{}\" font-family=\"sans-serif\" font-size=\"12\">\n",
        2.0 * h + 40.0
    );
    let _ = writeln!(
        out,
        "<text x=\"{pad}\" y=\"16\">浸泡测试 / soak: {rate:.0}/s, {t_max:.0} s</text>"
    );
    let series: [(&str, Vec<f64>); 2] = [
        (
            "常驻内存 / resident memory (MiB)",
            samples
                .iter()
                .map(|s| s.rss_bytes as f64 / 1048576.0)
                .collect(),
        ),
        (
            "p99 (ms)",
            samples.iter().map(|s| s.p99_us as f64 / 1000.0).collect(),
        ),
    ];
    for (i, (title, values)) in series.iter().enumerate() {
        let top = 30.0 + i as f64 * h;
        let v_max = values.iter().copied().fold(0.0_f64, f64::max).max(1e-9) * 1.1;
        let x = |t: f64| pad + (w - 2.0 * pad) * t / t_max;
        let y = |v: f64| top + h - 30.0 - (h - 50.0) * v / v_max;
        let _ = writeln!(
            out,
            "<text x=\"{pad}\" y=\"{:.1}\">{title}</text>\n<line x1=\"{pad}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#888\"/>\n<text x=\"4\" y=\"{:.1}\">{v_max:.1}</text><text x=\"4\" y=\"{:.1}\">0</text>",
            top + 12.0,
            top + h - 30.0,
            w - pad,
            top + h - 30.0,
            top + 24.0,
            top + h - 30.0
        );
        let points: Vec<String> = samples
            .iter()
            .zip(values)
            .map(|(s, v)| format!("{:.1},{:.1}", x(s.at_seconds), y(*v)))
            .collect();
        let _ = writeln!(
            out,
            "<polyline fill=\"none\" stroke=\"#c0392b\" stroke-width=\"2\" points=\"{}\"/>",
            points.join(" ")
        );
    }
    out.push_str("</svg>\n");
    out
}

pub fn write(dir: &Path, samples: &[Sample], rate: f64) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for (name, text) in [
        ("soak.json", json(samples, rate)),
        ("soak.svg", svg(samples, rate)),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}
