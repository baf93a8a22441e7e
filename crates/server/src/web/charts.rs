//! Geometry for the SVG pictures the pages draw: the map of institutions near a place and the
//! bar charts of the mutual-aid report. Only positions and labels are computed here; the
//! templates write the SVG. Money is scaled in integer fen (no float touches money);
//! coordinates are the one float.

use gongji_core::Fen;

/// A point on the map, in SVG user units.
#[derive(Clone, Debug)]
pub struct MapPoint {
    pub n: usize,
    pub x: String,
    pub y: String,
    /// CSS class: `pin-pharmacy` or `pin-medical`, plus `pin-noaid`.
    pub class: String,
    pub title: String,
}

#[derive(Clone, Debug)]
pub struct Ring {
    pub r: String,
    pub label: String,
    pub label_x: String,
    pub label_y: String,
}

#[derive(Clone, Debug)]
pub struct MapView {
    pub width: u32,
    pub height: u32,
    pub me_x: String,
    pub me_y: String,
    pub points: Vec<MapPoint>,
    pub rings: Vec<Ring>,
    pub scale_x1: String,
    pub scale_x2: String,
    pub scale_y: String,
    pub scale_label: String,
}

/// Metres per degree of latitude, and of longitude at the equator (WGS-84, rounded).
const M_PER_DEG_LAT: f64 = 110_574.0;
const M_PER_DEG_LON: f64 = 111_320.0;
/// Distances a ring or the scale bar may show, in metres.
const NICE_M: &[f64] = &[
    100.0, 200.0, 500.0, 1_000.0, 2_000.0, 5_000.0, 10_000.0, 20_000.0, 50_000.0, 100_000.0,
    200_000.0, 500_000.0,
];

fn n1(v: f64) -> String {
    format!("{v:.1}")
}

/// Places `points` (lat, lon, class, title) around `me` on a `width`×`height` picture with the
/// same scale on both axes, the centre being `me`. `km`/`m` format a distance label.
pub fn map(
    width: u32,
    height: u32,
    me: (f64, f64),
    points: &[(f64, f64, String, String)],
    distance_label: impl Fn(f64) -> String,
) -> MapView {
    let (w, h) = (f64::from(width), f64::from(height));
    let pad = 26.0;
    let kx = M_PER_DEG_LON * me.0.to_radians().cos();
    let offsets: Vec<(f64, f64)> = points
        .iter()
        .map(|(lat, lon, _, _)| ((lon - me.1) * kx, (lat - me.0) * M_PER_DEG_LAT))
        .collect();
    let max_dx = offsets.iter().map(|o| o.0.abs()).fold(500.0, f64::max);
    let max_dy = offsets.iter().map(|o| o.1.abs()).fold(500.0, f64::max);
    let scale = ((w / 2.0 - pad) / max_dx).min((h / 2.0 - pad) / max_dy);
    let (cx, cy) = (w / 2.0, h / 2.0);
    let map_points = offsets
        .iter()
        .zip(points)
        .enumerate()
        .map(|(i, ((dx, dy), (_, _, class, title)))| MapPoint {
            n: i + 1,
            x: n1(cx + dx * scale),
            y: n1(cy - dy * scale),
            class: class.clone(),
            title: title.clone(),
        })
        .collect();
    // Rings: the largest nice distance that fits, and half of it.
    let fit = (w.min(h) / 2.0 - 6.0) / scale;
    let big = NICE_M
        .iter()
        .copied()
        .filter(|m| *m <= fit)
        .fold(0.0, f64::max);
    let rings = [big / 2.0, big]
        .iter()
        .filter(|m| **m > 0.0)
        .map(|m| {
            let r = m * scale;
            Ring {
                r: n1(r),
                label: distance_label(*m),
                label_x: n1(cx + r * std::f64::consts::FRAC_1_SQRT_2 + 3.0),
                label_y: n1(cy - r * std::f64::consts::FRAC_1_SQRT_2 - 3.0),
            }
        })
        .collect();
    // Scale bar: a nice distance between 60 and 160 px long.
    let bar_m = NICE_M
        .iter()
        .copied()
        .find(|m| m * scale >= 60.0)
        .unwrap_or(1_000.0);
    let bar = (bar_m * scale).min(w - 2.0 * pad);
    MapView {
        width,
        height,
        me_x: n1(cx),
        me_y: n1(cy),
        points: map_points,
        rings,
        scale_x1: n1(pad),
        scale_x2: n1(pad + bar),
        scale_y: n1(h - 12.0),
        scale_label: distance_label(bar_m),
    }
}

/// A bar of a chart.
#[derive(Clone, Debug)]
pub struct Bar {
    pub x: String,
    pub y: String,
    pub w: String,
    pub h: String,
    pub title: String,
}

/// A labelled grid line.
#[derive(Clone, Debug)]
pub struct Tick {
    pub pos: String,
    pub label: String,
    /// SVG `text-anchor`: the first and last labels under the axis stay inside the picture.
    pub anchor: &'static str,
}

#[derive(Clone, Debug)]
pub struct BarChart {
    pub width: u32,
    pub height: u32,
    pub left: u32,
    pub bottom: String,
    pub right: String,
    pub bars: Vec<Bar>,
    pub y_ticks: Vec<Tick>,
    pub x_labels: Vec<Tick>,
}

/// The least 1-2-5 × 10^k at or above `v` (v ≥ 1).
pub fn nice_ceiling(v: i64) -> i64 {
    let v = v.max(1);
    let mut step = 1i64;
    loop {
        for m in [1, 2, 5] {
            let c = step.saturating_mul(m);
            if c >= v {
                return c;
            }
        }
        if step > i64::MAX / 10 {
            return v;
        }
        step *= 10;
    }
}

/// Vertical bars of `values` (one per label), scaled in integers; `fmt` writes a tick or a
/// bar's value. Every `label_every`-th label is written under the axis.
pub fn bar_chart(
    values: &[(String, i64, String)],
    fmt: impl Fn(i64) -> String,
    label_every: usize,
) -> BarChart {
    let (width, height, left, top, bottom) = (480u32, 250u32, 60u32, 14u32, 34u32);
    let plot_w = i64::from(width - left - 8);
    let plot_h = i64::from(height - top - bottom);
    let max = nice_ceiling(values.iter().map(|v| v.1).max().unwrap_or(0).max(1));
    // Ticks at values that divide the maximum exactly (5 → 0..5, 200 → 0, 50, ..., 200).
    let steps = [4, 5, 2].into_iter().find(|s| max % s == 0).unwrap_or(1);
    let y_ticks = (0..=steps)
        .map(|i| {
            let v = max * i / steps;
            Tick {
                pos: (i64::from(top) + plot_h - plot_h * v / max).to_string(),
                label: fmt(v),
                anchor: "end",
            }
        })
        .collect();
    let n = values.len().max(1) as i64;
    // Slots in tenths of a unit, so that many days still get whole-number positions.
    let slot10 = plot_w * 10 / n;
    let bar10 = (slot10 * 7 / 10).max(10);
    let bars = values
        .iter()
        .enumerate()
        .map(|(i, (_, v, title))| {
            let h = plot_h * (*v).max(0) / max;
            let x10 = i64::from(left) * 10 + slot10 * i as i64 + (slot10 - bar10) / 2;
            Bar {
                x: tenths(x10),
                y: (i64::from(top) + plot_h - h).to_string(),
                w: tenths(bar10),
                h: h.to_string(),
                title: title.clone(),
            }
        })
        .collect();
    let every = label_every.max(1);
    let x_labels = values
        .iter()
        .enumerate()
        .filter(|(i, _)| i % every == 0 || *i + 1 == values.len())
        .map(|(i, (label, _, _))| Tick {
            pos: tenths(i64::from(left) * 10 + slot10 * i as i64 + slot10 / 2),
            label: label.clone(),
            anchor: if values.len() > 2 && i + 1 == values.len() {
                "end"
            } else if values.len() > 2 && i == 0 {
                "start"
            } else {
                "middle"
            },
        })
        .collect();
    BarChart {
        width,
        height,
        left,
        bottom: (i64::from(top) + plot_h).to_string(),
        right: (width - 8).to_string(),
        bars,
        y_ticks,
        x_labels,
    }
}

fn tenths(v: i64) -> String {
    format!("{}.{}", v / 10, v % 10)
}

/// A horizontal bar: its label, value text and length in percent of the longest.
#[derive(Clone, Debug)]
pub struct HBar {
    pub label: String,
    pub value: String,
    pub width_pct: String,
    pub y: String,
    pub text_y: String,
    pub class: String,
}

/// Horizontal bars for a few categories, scaled by `amounts` in fen.
pub fn hbars(items: &[(String, Fen, String, String)]) -> (Vec<HBar>, u32) {
    let max = items.iter().map(|i| i.1.fen()).max().unwrap_or(0).max(1);
    let bars = items
        .iter()
        .enumerate()
        .map(|(i, (label, amount, value, class))| {
            let pct10 = amount.fen().max(0) * 1000 / max;
            let y = 30 + i as i64 * 60;
            HBar {
                label: label.clone(),
                value: value.clone(),
                width_pct: tenths(pct10.max(if amount.fen() > 0 { 5 } else { 0 })),
                y: y.to_string(),
                text_y: (y - 9).to_string(),
                class: class.clone(),
            }
        })
        .collect();
    (bars, 18 + items.len() as u32 * 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ceilings() {
        assert_eq!(nice_ceiling(0), 1);
        assert_eq!(nice_ceiling(3), 5);
        assert_eq!(nice_ceiling(7), 10);
        assert_eq!(nice_ceiling(101), 200);
        assert_eq!(nice_ceiling(123_456), 200_000);
    }

    #[test]
    fn the_map_is_centred_on_me_and_keeps_points_inside() {
        let pts = vec![
            (36.82, 118.06, "a".to_string(), "A".to_string()),
            (36.70, 117.90, "b".to_string(), "B".to_string()),
        ];
        let m = map(600, 400, (36.813, 118.055), &pts, |d| format!("{d}"));
        assert_eq!(m.me_x, "300.0");
        for p in &m.points {
            let (x, y): (f64, f64) = (p.x.parse().unwrap(), p.y.parse().unwrap());
            assert!(
                (0.0..=600.0).contains(&x) && (0.0..=400.0).contains(&y),
                "{p:?}"
            );
        }
        assert!(!m.rings.is_empty());
    }

    #[test]
    fn bars_scale_in_integers() {
        let v = vec![
            ("a".to_string(), 0, String::new()),
            ("b".to_string(), 50, String::new()),
            ("c".to_string(), 100, String::new()),
        ];
        let c = bar_chart(&v, |x| x.to_string(), 1);
        assert_eq!(c.bars.len(), 3);
        assert_eq!(c.bars[0].h, "0");
        assert_eq!(c.bars[2].h, "202");
        assert_eq!(c.y_ticks.last().unwrap().label, "100");
        let labels: Vec<&str> = c.y_ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["0", "25", "50", "75", "100"]);
        let five = bar_chart(&[("a".into(), 3, String::new())], |x| x.to_string(), 1);
        let labels: Vec<&str> = five.y_ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["0", "1", "2", "3", "4", "5"]);
    }
}
