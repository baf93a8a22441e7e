//! Medical-insurance agencies (医保经办机构): the city's service centre and one in each of its
//! first districts, near the city centre, with an address, a telephone and office hours.
//! Derived from the regions alone (no random draw), so the rest of the population stays as
//! it was.

use crate::names::STREETS;
use crate::{AgencyRow, PopulationSpec};

/// District offices a city gets besides its centre.
const DISTRICT_OFFICES: usize = 2;

pub(crate) fn generate(spec: &PopulationSpec) -> Vec<AgencyRow> {
    let mut out = Vec::new();
    for region in &spec.regions {
        let area = match region.admdvs.code() / 100 {
            3701 => "0531",
            3703 => "0533",
            3706 => "0535",
            1401 => "0351",
            1408 => "0359",
            _ => "0530",
        };
        let centre = region.districts.first().map_or("", |d| d.name);
        let offices = std::iter::once((
            region.admdvs.code(),
            format!("{}医疗保障服务中心", region.name),
            centre,
        ))
        .chain(region.districts.iter().take(DISTRICT_OFFICES).map(|d| {
            (
                d.code,
                format!("{}{}医疗保障服务大厅", region.name, d.name),
                d.name,
            )
        }));
        for (k, (code, name, district)) in offices.enumerate() {
            let street = STREETS[(k * 11 + 5) % STREETS.len()];
            // A few kilometres apart, on whole micro-degrees so six decimals print them exactly.
            let step = k as i64 * 21_000;
            let lat = ((region.centre_lat * 1e6).round() as i64 + step) as f64 / 1e6;
            let lon = ((region.centre_lon * 1e6).round() as i64 - step / 2) as f64 / 1e6;
            out.push(AgencyRow {
                agency_code: format!("JB{code}"),
                agency_name: name,
                admdvs: region.admdvs,
                lat,
                lon,
                address: format!("{}{district}{street}路{}号", region.name, 100 + k * 12),
                phone: format!("{area}-12345{:03}", k + 1),
                opening_hours: "周一至周五 09:00–12:00，13:30–17:00".into(),
            });
        }
    }
    out
}
