//! Institutions near me (R-J6): no sign-in; by coordinates, kind and mutual-aid flag,
//! nearest first, with the distance.

use gongji_core::codes::{HospitalLevel, InstitutionKind};

use super::{ServiceError, ServiceResult};
use crate::app::App;

/// Most institutions one answer lists.
pub const NEAR_LIMIT_MAX: usize = 50;
pub const NEAR_LIMIT_DEFAULT: usize = 10;
/// The widest search, in metres.
pub const NEAR_RADIUS_MAX_M: f64 = 200_000.0;
/// Mean Earth radius (IUGG), metres.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

#[derive(Clone, Debug)]
pub struct NearQuery {
    pub lat: f64,
    pub lon: f64,
    pub kind: Option<InstitutionKind>,
    /// Only institutions that take mutual aid.
    pub mutual_aid: Option<bool>,
    pub radius_m: Option<f64>,
    pub limit: Option<usize>,
}

#[derive(Clone, Debug)]
pub struct NearInstitution {
    pub code: String,
    pub name: String,
    pub kind: InstitutionKind,
    pub level: HospitalLevel,
    pub admdvs: String,
    pub lat: f64,
    pub lon: f64,
    pub mutual_aid: bool,
    /// Great-circle distance, whole metres.
    pub distance_m: u64,
    /// Address, telephone and opening hours, as the registry has them.
    pub contact: gongji_core::domain::InstitutionContact,
}

/// A medical-insurance agency (经办机构) near the place asked about.
#[derive(Clone, Debug)]
pub struct NearAgency {
    pub code: String,
    pub name: String,
    pub admdvs: String,
    pub lat: f64,
    pub lon: f64,
    pub distance_m: u64,
    pub contact: gongji_core::domain::InstitutionContact,
}

/// The agencies within `radius_m` of a place, nearest first, at most `limit`, those whose
/// name contains `name` when it is not empty.
pub async fn near_agencies(
    app: &App,
    lat: f64,
    lon: f64,
    radius_m: f64,
    limit: usize,
    name: &str,
) -> ServiceResult<Vec<NearAgency>> {
    if !(lat.is_finite() && lon.is_finite() && radius_m.is_finite()) {
        return Err(ServiceError::BadRequest("坐标无效".into()));
    }
    let name = name.to_string();
    let found = app
        .read(move |engine| {
            let mut out: Vec<NearAgency> = engine
                .state()
                .agencies
                .values()
                .filter(|a| name.is_empty() || a.name.contains(name.as_str()))
                .filter_map(|a| {
                    let d = haversine_m(lat, lon, a.lat, a.lon);
                    (d <= radius_m).then(|| NearAgency {
                        code: a.code.clone(),
                        name: a.name.clone(),
                        admdvs: a.admdvs.to_string(),
                        lat: a.lat,
                        lon: a.lon,
                        distance_m: d.round() as u64,
                        contact: a.contact.clone(),
                    })
                })
                .collect();
            out.sort_by(|a, b| a.distance_m.cmp(&b.distance_m).then(a.code.cmp(&b.code)));
            out.truncate(limit);
            out
        })
        .await?;
    Ok(found)
}

/// Great-circle distance by the haversine formula, in metres.
pub fn haversine_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
}

pub async fn near(app: &App, q: NearQuery) -> ServiceResult<Vec<NearInstitution>> {
    if !(q.lat.is_finite() && (-90.0..=90.0).contains(&q.lat)) {
        return Err(ServiceError::BadRequest("lat 应在 -90 到 90 之间".into()));
    }
    if !(q.lon.is_finite() && (-180.0..=180.0).contains(&q.lon)) {
        return Err(ServiceError::BadRequest("lon 应在 -180 到 180 之间".into()));
    }
    let radius = q.radius_m.unwrap_or(NEAR_RADIUS_MAX_M);
    if !(radius.is_finite() && radius > 0.0 && radius <= NEAR_RADIUS_MAX_M) {
        return Err(ServiceError::BadRequest(format!(
            "radius_m 应在 0 到 {NEAR_RADIUS_MAX_M} 之间"
        )));
    }
    let limit = q.limit.unwrap_or(NEAR_LIMIT_DEFAULT);
    if limit == 0 || limit > NEAR_LIMIT_MAX {
        return Err(ServiceError::BadRequest(format!(
            "limit 应在1到{NEAR_LIMIT_MAX}之间"
        )));
    }
    let found = app
        .read(move |engine| {
            let mut out: Vec<NearInstitution> = engine
                .state()
                .institutions
                .values()
                .filter(|i| q.kind.is_none_or(|k| i.kind == k))
                .filter(|i| q.mutual_aid.is_none_or(|m| i.mutual_aid == m))
                .filter_map(|i| {
                    let d = haversine_m(q.lat, q.lon, i.lat, i.lon);
                    (d <= radius).then(|| NearInstitution {
                        code: i.code.clone(),
                        name: i.name.clone(),
                        kind: i.kind,
                        level: i.level,
                        admdvs: i.admdvs.to_string(),
                        lat: i.lat,
                        lon: i.lon,
                        mutual_aid: i.mutual_aid,
                        distance_m: d.round() as u64,
                        contact: i.contact.clone(),
                    })
                })
                .collect();
            out.sort_by(|a, b| a.distance_m.cmp(&b.distance_m).then(a.code.cmp(&b.code)));
            out.truncate(limit);
            out
        })
        .await?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::haversine_m;

    #[test]
    fn haversine_matches_known_distances() {
        // Jinan (36.6512, 117.1201) to Zibo (36.8131, 118.0549): about 85 km.
        let d = haversine_m(36.6512, 117.1201, 36.8131, 118.0549);
        assert!((84_000.0..86_000.0).contains(&d), "{d}");
        assert_eq!(haversine_m(36.0, 117.0, 36.0, 117.0), 0.0);
        // One degree of latitude is about 111.2 km.
        let one = haversine_m(36.0, 117.0, 37.0, 117.0);
        assert!((111_000.0..111_400.0).contains(&one), "{one}");
    }
}
