//! Designated hospitals and pharmacies (定点医药机构) around each city centre.

use std::collections::HashSet;
use std::fmt::Write;

use gongji_core::codes::{HospitalLevel, InstitutionKind};
use rand::rngs::SmallRng;
use rand::Rng;

use crate::names::{
    cn_number, district_short, pick, HOSPITAL_BRANDS, PHARMACY_CHAINS, STREETS, TOWNS,
};
use crate::regions::{apportion, RegionSpec};
use crate::{InstitutionRow, PopulationSpec};

const HOSPITAL_SPECIALTIES: &[&str] = &[
    "医院",
    "医院",
    "口腔医院",
    "眼科医院",
    "骨科医院",
    "妇产医院",
    "中西医结合医院",
    "康复医院",
    "肛肠医院",
    "心血管病医院",
    "皮肤病医院",
    "老年病医院",
];

/// How far from the centre, in micro-degrees, an institution may lie.
const SPREAD: i64 = 150_000;

pub(crate) fn generate(spec: &PopulationSpec, rng: &mut SmallRng) -> Vec<InstitutionRow> {
    let weights: Vec<u32> = spec.regions.iter().map(|r| r.weight).collect();
    let counts = apportion(spec.institutions, &weights);
    let mut out = Vec::with_capacity(spec.institutions);
    for (region, &count) in spec.regions.iter().zip(&counts) {
        region_institutions(rng, region, count, &mut out);
    }
    out
}

/// Most level-3 hospitals a city gets; the rest of its share goes to level 2.
const MAX_LEVEL3: usize = 12;

/// Splits a city's institutions: ~6% level 3 (at most 12), ~14% level 2, ~30% primary,
/// the rest pharmacies.
fn mix(count: usize) -> [usize; 4] {
    let share3 = ((count * 6 + 50) / 100)
        .max(usize::from(count >= 2))
        .min(count);
    let l3 = share3.min(MAX_LEVEL3);
    let l2 = ((count * 14 + 50) / 100 + share3 - l3).min(count - l3);
    let l1 = ((count * 30 + 50) / 100).min(count - l3 - l2);
    [l3, l2, l1, count - l3 - l2 - l1]
}

fn region_institutions(
    rng: &mut SmallRng,
    region: &RegionSpec,
    count: usize,
    out: &mut Vec<InstitutionRow>,
) {
    if region.districts.is_empty() {
        return;
    }
    let [l3, l2, l1, pharmacies] = mix(count);
    let mut used = HashSet::with_capacity(count);
    let mut hospital_seq = 0usize;
    let mut pharmacy_seq = 0usize;
    let plan = [
        (l3, HospitalLevel::Level3, InstitutionKind::Medical),
        (l2, HospitalLevel::Level2, InstitutionKind::Medical),
        (l1, HospitalLevel::Primary, InstitutionKind::Medical),
        (
            pharmacies,
            HospitalLevel::Primary,
            InstitutionKind::Pharmacy,
        ),
    ];
    for (n, level, kind) in plan {
        for i in 0..n {
            let mut name = String::new();
            for attempt in 0..30 {
                name = match kind {
                    InstitutionKind::Pharmacy => pharmacy_name(rng, region, attempt),
                    InstitutionKind::Medical => hospital_name(rng, region, level, i, attempt),
                };
                if !used.contains(&name) {
                    break;
                }
            }
            if used.contains(&name) {
                let base = name.clone();
                for k in 2.. {
                    name = if kind == InstitutionKind::Pharmacy {
                        format!("{base}{k}")
                    } else {
                        format!("{base}{}分院", cn_number(k))
                    };
                    if !used.contains(&name) {
                        break;
                    }
                }
            }
            used.insert(name.clone());

            let (letter, seq) = if kind == InstitutionKind::Pharmacy {
                pharmacy_seq += 1;
                ('P', pharmacy_seq)
            } else {
                hospital_seq += 1;
                ('H', hospital_seq)
            };
            let mut code = String::with_capacity(12);
            let _ = write!(code, "{letter}{}{seq:05}", region.admdvs);
            let paasid = format!("paas-{}", code.to_ascii_lowercase());
            let token = format!("{:032x}", rng.gen::<u128>());
            let lat = jitter(rng, region.centre_lat);
            let lon = jitter(rng, region.centre_lon);
            let serial = out.len();
            let (address, phone, opening_hours) = contact(region, kind, level, serial);
            out.push(InstitutionRow {
                fixmedins_code: code,
                fixmedins_name: name,
                fixmedins_type: kind,
                hosp_lv: level,
                admdvs: region.admdvs,
                lat,
                lon,
                mutual_aid: rng.gen_bool(0.85),
                paasid,
                token,
                address,
                phone,
                opening_hours,
            });
        }
    }
}

/// A plausible address, telephone and opening hours, derived from the institution's place in
/// the list (no random draw, so the rest of the population stays as it was).
fn contact(
    region: &RegionSpec,
    kind: InstitutionKind,
    level: HospitalLevel,
    serial: usize,
) -> (String, String, String) {
    let district = region.districts[serial % region.districts.len()].name;
    let street = STREETS[(serial * 7 + 3) % STREETS.len()];
    let number = serial * 37 % 290 + 1;
    let address = format!("{}{district}{street}路{number}号", region.name);
    let area = match region.admdvs.code() / 100 {
        3701 => "0531",
        3703 => "0533",
        3706 => "0535",
        1401 => "0351",
        1408 => "0359",
        _ => "0530",
    };
    let phone = format!("{area}-{}", 8_100_000 + (serial * 7_919) % 900_000);
    let hours = match (kind, level) {
        (InstitutionKind::Pharmacy, _) if serial % 5 == 0 => "全天24小时营业",
        (InstitutionKind::Pharmacy, _) => "每天 08:00–21:30",
        (InstitutionKind::Medical, HospitalLevel::Level3 | HospitalLevel::Level2) => {
            "门诊 周一至周日 08:00–17:30；急诊24小时"
        }
        (InstitutionKind::Medical, _) => "周一至周六 08:00–17:00",
    };
    (address, phone, hours.to_string())
}

/// The centre moved by up to 0.15 degrees, on whole micro-degrees so that six decimals
/// print it exactly.
fn jitter(rng: &mut SmallRng, centre: f64) -> f64 {
    let micro = (centre * 1e6).round() as i64 + rng.gen_range(-SPREAD..=SPREAD);
    micro as f64 / 1e6
}

fn hospital_name(
    rng: &mut SmallRng,
    region: &RegionSpec,
    level: HospitalLevel,
    i: usize,
    attempt: usize,
) -> String {
    let city = region.name;
    let short = region.short_name();
    let district = region.districts[rng.gen_range(0..region.districts.len())].name;
    match level {
        HospitalLevel::Level3 => {
            const NAMES: [&str; 16] = [
                "中心医院",
                "立医院",
                "第一人民医院",
                "中医医院",
                "妇幼保健院",
                "第二人民医院",
                "传染病医院",
                "口腔医院",
                "精神卫生中心",
                "肿瘤医院",
                "儿童医院",
                "第三人民医院",
                "骨科医院",
                "眼科医院",
                "康复医院",
                "第四人民医院",
            ];
            match NAMES.get(i + attempt) {
                Some(n) => format!("{city}{n}"),
                None => format!("{city}第{}人民医院", cn_number(i + attempt - 11)),
            }
        }
        HospitalLevel::Level2 => match rng.gen_range(0..20) {
            0..=4 => format!("{city}{district}人民医院"),
            5..=6 => format!("{city}{district}中医医院"),
            7 => format!("{city}{district}妇幼保健院"),
            8 => format!("{city}{district}第二人民医院"),
            9 => format!("{city}{district}{}中心卫生院", pick(rng, TOWNS)),
            _ => format!(
                "{short}{}{}",
                pick(rng, HOSPITAL_BRANDS),
                pick(rng, HOSPITAL_SPECIALTIES)
            ),
        },
        HospitalLevel::Primary => {
            let street = pick(rng, STREETS);
            match rng.gen_range(0..10) {
                0..=4 => format!("{city}{district}{street}街道社区卫生服务中心"),
                5..=7 => format!("{city}{district}{}镇卫生院", pick(rng, TOWNS)),
                _ => format!("{city}{district}{street}社区卫生服务站"),
            }
        }
    }
}

fn pharmacy_name(rng: &mut SmallRng, region: &RegionSpec, attempt: usize) -> String {
    let district = region.districts[rng.gen_range(0..region.districts.len())].name;
    let chain = pick(rng, PHARMACY_CHAINS);
    let street = pick(rng, STREETS);
    let branch = if attempt < 3 {
        String::new()
    } else {
        cn_number(attempt % 9 + 2)
    };
    format!(
        "{}{}{chain}大药房({street}{}{branch}店)",
        region.short_name(),
        district_short(district),
        pick(rng, &["路", "街", ""])
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_adds_up() {
        for n in 0..300 {
            assert_eq!(mix(n).iter().sum::<usize>(), n);
        }
        assert_eq!(mix(26), [2, 4, 8, 12]);
        assert_eq!(mix(500), [12, 88, 150, 250]);
    }
}
