//! `/nearby`: designated institutions near a place (R-J6), no sign-in. A list with distances
//! and a map drawn as SVG from the coordinates (no tile server), filtered by kind and by
//! mutual aid. The place is a city centre from the select, or coordinates typed in (the
//! script fills them from the browser's geolocation when the person allows it).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use gongji_core::codes::{Admdvs, InstitutionKind};
use serde::Deserialize;

use super::charts::{self, MapView};
use super::h5::Opt;
use super::i18n::{self, fill, Lang};
use super::session::{field, ErrorView};
use super::{lang_of, render_page, LangQuery, Page};
use crate::app::App;
use crate::service::institutions::{self, NearQuery};

/// Where a search starts when no coordinates are given: city centres (admdvs, lat, lon).
const CITY_CENTRES: &[(u32, f64, f64)] = &[
    (370100, 36.651, 117.120),
    (370300, 36.813, 118.055),
    (370600, 37.464, 121.448),
    (140100, 37.870, 112.549),
    (140800, 35.026, 111.007),
];
const DEFAULT_CITY: u32 = 370100;
/// Institutions one page lists.
const LIST_MAX: usize = 20;
/// The distances a search may cover, in km; the default keeps a search inside one city.
const RADII_KM: &[u32] = &[5, 10, 30, 100];
const DEFAULT_RADIUS_KM: u32 = 30;

#[derive(Deserialize, Default)]
pub struct NearbyQuery {
    lang: Option<String>,
    city: Option<String>,
    lat: Option<String>,
    lon: Option<String>,
    kind: Option<String>,
    aid: Option<String>,
    radius: Option<String>,
    /// Part of an institution's name.
    q: Option<String>,
}

/// Most institutions a name search looks through (the nearest first).
const SEARCH_POOL: usize = institutions::NEAR_LIMIT_MAX;

/// The city whose centre is nearest to a position: the city box follows where the person is.
fn nearest_city(lat: f64, lon: f64) -> u32 {
    CITY_CENTRES
        .iter()
        .min_by(|a, b| {
            institutions::haversine_m(lat, lon, a.1, a.2)
                .total_cmp(&institutions::haversine_m(lat, lon, b.1, b.2))
        })
        .map_or(DEFAULT_CITY, |c| c.0)
}

/// Links that open the institution in the common map apps, in the forms their makers document
/// for a marker: 高德 (uri.amap.com/marker), 百度 (api.map.baidu.com/marker) and 腾讯
/// (apis.map.qq.com/uri/v1/marker). The registry's coordinates are GPS (WGS-84), said so in
/// each link. They open in the app where it is installed and in the browser otherwise, on
/// iOS and Android and inside WeChat, where a `geo:` link does nothing.
fn map_links(t: &i18n::Dict, name: &str, lat: f64, lon: f64) -> Vec<MapLink> {
    let n = super::encode_query_value(name);
    let links = [
        (
            t.near_amap,
            format!(
                "https://uri.amap.com/marker?position={lon:.6},{lat:.6}&name={n}&coordinate=wgs84&callnative=1&src=gongji"
            ),
        ),
        (
            t.near_baidu,
            format!(
                "https://api.map.baidu.com/marker?location={lat:.6},{lon:.6}&title={n}&content={n}&output=html&coord_type=wgs84&src=webapp.gongji"
            ),
        ),
        (
            t.near_tencent,
            format!(
                "https://apis.map.qq.com/uri/v1/marker?marker=coord:{lat:.6},{lon:.6};title:{n}&coord_type=1&referer=gongji"
            ),
        ),
    ];
    links
        .into_iter()
        .map(|(label, href)| MapLink { label, href })
        .collect()
}

/// A link that opens an institution in a map app.
#[derive(Clone)]
pub struct MapLink {
    pub label: &'static str,
    pub href: String,
}

#[derive(Clone)]
pub struct InstView {
    pub n: usize,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub kind_class: &'static str,
    pub level: String,
    pub region: String,
    pub aid: bool,
    pub distance: String,
    pub distance_m: u64,
    /// 高德, 百度 and 腾讯 maps.
    pub maps: Vec<MapLink>,
    pub address: String,
    pub phone: String,
    /// The telephone as a `tel:` link (digits only).
    pub phone_href: String,
    pub hours: String,
    /// A medical-insurance agency (经办机构), not a place that takes payments.
    pub agency: bool,
}

#[derive(Template)]
#[template(path = "nearby.html")]
struct NearbyTemplate {
    p: Page,
    cities: Vec<Opt>,
    lat: String,
    lon: String,
    kinds: Vec<Opt>,
    radii: Vec<Opt>,
    aid: bool,
    name_q: String,
    list: Vec<InstView>,
    map: Option<MapView>,
    error: Option<ErrorView>,
    summary: String,
}

fn distance_text(lang: Lang, m: f64) -> String {
    let t = lang.t();
    if m < 1000.0 {
        fill(t.near_m, &[&format!("{:.0}", m)])
    } else if m < 10_000.0 {
        fill(t.near_km, &[&format!("{:.1}", m / 1000.0)])
    } else {
        fill(t.near_km, &[&format!("{:.0}", m / 1000.0)])
    }
}

pub async fn show(
    State(app): State<App>,
    Query(q): Query<NearbyQuery>,
    headers: HeaderMap,
) -> Response {
    let (lang, remember) = lang_of(
        &LangQuery {
            lang: q.lang.clone(),
        },
        &headers,
    );
    let t = lang.t();
    let city_code: u32 = field(&q.city)
        .parse()
        .ok()
        .filter(|c| CITY_CENTRES.iter().any(|(a, _, _)| a == c))
        .unwrap_or(DEFAULT_CITY);
    let centre = CITY_CENTRES
        .iter()
        .find(|(a, _, _)| *a == city_code)
        .map_or((36.651, 117.120), |(_, la, lo)| (*la, *lo));
    let (lat_s, lon_s) = (field(&q.lat), field(&q.lon));
    let mut error = None;
    let mut typed = match (lat_s.parse::<f64>(), lon_s.parse::<f64>()) {
        (Ok(la), Ok(lo)) if !lat_s.is_empty() && !lon_s.is_empty() => Some((la, lo)),
        _ if lat_s.is_empty() && lon_s.is_empty() => None,
        _ => {
            error = Some(ErrorView::input(t.near_err_coords));
            None
        }
    };
    let asked_city: Option<u32> = field(&q.city).parse().ok();
    // A city chosen other than the one the position is in: the person wants that city.
    if let (Some((la, lo)), Some(c)) = (typed, asked_city) {
        if nearest_city(la, lo) != c {
            typed = None;
        }
    }
    let city_code = match typed {
        Some((la, lo)) => nearest_city(la, lo),
        None => city_code,
    };
    let centre = match typed {
        Some(_) => centre,
        None => CITY_CENTRES
            .iter()
            .find(|(a, _, _)| *a == city_code)
            .map_or(centre, |(_, la, lo)| (*la, *lo)),
    };
    let me = typed.unwrap_or(centre);
    let name_q = field(&q.q);
    let kind_s = field(&q.kind);
    let kind = match kind_s.as_str() {
        "pharmacy" => Some(InstitutionKind::Pharmacy),
        "medical" => Some(InstitutionKind::Medical),
        _ => None,
    };
    let agencies_only = kind_s == "agency";
    let aid = field(&q.aid) == "1";
    // Agencies take no payments: listed unless a kind of institution or mutual aid is asked.
    let with_agencies = kind.is_none() && !aid;
    let radius_km: u32 = field(&q.radius)
        .parse()
        .ok()
        .filter(|r| RADII_KM.contains(r))
        .unwrap_or(DEFAULT_RADIUS_KM);
    let city_name = |code: u32| {
        Admdvs::from_code(code)
            .map(|a| i18n::region_name(lang, a, &code.to_string()))
            .unwrap_or_default()
    };
    let place = match typed {
        Some(_) => fill(t.near_place_here, &[&city_name(city_code)]),
        None => fill(t.near_place_city, &[&city_name(city_code)]),
    };
    let found = if error.is_none() && !agencies_only {
        match institutions::near(
            &app,
            NearQuery {
                lat: me.0,
                lon: me.1,
                kind,
                mutual_aid: aid.then_some(true),
                radius_m: Some(f64::from(radius_km) * 1000.0),
                limit: Some(if name_q.is_empty() {
                    LIST_MAX
                } else {
                    SEARCH_POOL
                }),
            },
        )
        .await
        {
            Ok(list) => list
                .into_iter()
                .filter(|i| name_q.is_empty() || i.name.contains(name_q.as_str()))
                .take(LIST_MAX)
                .collect(),
            Err(e) => {
                error = Some(ErrorView::of(lang, &e));
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    let agencies = if error.is_none() && with_agencies {
        match institutions::near_agencies(
            &app,
            me.0,
            me.1,
            f64::from(radius_km) * 1000.0,
            LIST_MAX,
            &name_q,
        )
        .await
        {
            Ok(list) => list,
            Err(e) => {
                error = Some(ErrorView::of(lang, &e));
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    let phone_href = |phone: &str| {
        format!(
            "tel:{}",
            phone
                .chars()
                .filter(char::is_ascii_digit)
                .collect::<String>()
        )
    };
    let agency_views = agencies.iter().map(|a| {
        (
            InstView {
                n: 0,
                code: a.code.clone(),
                name: a.name.clone(),
                kind: t.near_kind_agency.to_string(),
                kind_class: "pin-agency",
                level: String::new(),
                region: Admdvs::parse(&a.admdvs)
                    .map(|d| i18n::region_name(lang, d, &a.admdvs))
                    .unwrap_or_default(),
                aid: false,
                distance: distance_text(lang, a.distance_m as f64),
                distance_m: a.distance_m,
                maps: map_links(t, &a.name, a.lat, a.lon),
                address: a.contact.address.clone(),
                phone: a.contact.phone.clone(),
                phone_href: phone_href(&a.contact.phone),
                hours: a.contact.opening_hours.clone(),
                agency: true,
            },
            (a.lat, a.lon),
        )
    });
    let mut places: Vec<(InstView, (f64, f64))> = found
        .iter()
        .map(|f| {
            (
                InstView {
                    n: 0,
                    code: f.code.clone(),
                    name: f.name.clone(),
                    kind: i18n::institution_kind(lang, f.kind).to_string(),
                    kind_class: match f.kind {
                        InstitutionKind::Pharmacy => "pin-pharmacy",
                        InstitutionKind::Medical => "pin-medical",
                    },
                    level: if f.kind == InstitutionKind::Medical {
                        i18n::hospital_level(lang, f.level).to_string()
                    } else {
                        String::new()
                    },
                    region: Admdvs::parse(&f.admdvs)
                        .map(|a| i18n::region_name(lang, a, &f.admdvs))
                        .unwrap_or_default(),
                    aid: f.mutual_aid,
                    distance: distance_text(lang, f.distance_m as f64),
                    distance_m: f.distance_m,
                    maps: map_links(t, &f.name, f.lat, f.lon),
                    address: f.contact.address.clone(),
                    phone: f.contact.phone.clone(),
                    phone_href: phone_href(&f.contact.phone),
                    hours: f.contact.opening_hours.clone(),
                    agency: false,
                },
                (f.lat, f.lon),
            )
        })
        .chain(agency_views)
        .collect();
    places.sort_by(|a, b| {
        a.0.distance_m
            .cmp(&b.0.distance_m)
            .then_with(|| a.0.code.cmp(&b.0.code))
    });
    places.truncate(LIST_MAX);
    for (i, (v, _)) in places.iter_mut().enumerate() {
        v.n = i + 1;
    }
    let map = (!places.is_empty()).then(|| {
        let pts: Vec<(f64, f64, String, String)> = places
            .iter()
            .map(|(v, (lat, lon))| {
                let class = if v.aid || v.agency {
                    v.kind_class.to_string()
                } else {
                    format!("{} pin-noaid", v.kind_class)
                };
                (
                    *lat,
                    *lon,
                    class,
                    format!("{}. {} · {}", v.n, v.name, v.distance),
                )
            })
            .collect();
        charts::map(420, 320, me, &pts, |m| distance_text(lang, m))
    });
    let cities = CITY_CENTRES
        .iter()
        .map(|(c, _, _)| Opt {
            value: c.to_string(),
            label: city_name(*c),
            selected: *c == city_code,
        })
        .collect();
    let kinds = [
        ("", t.near_kind_all),
        ("pharmacy", t.near_kind_pharmacy),
        ("medical", t.near_kind_medical),
        ("agency", t.near_kind_agency),
    ]
    .iter()
    .map(|(v, l)| Opt {
        value: v.to_string(),
        label: l.to_string(),
        selected: kind_s == *v || (v.is_empty() && kind.is_none() && !agencies_only),
    })
    .collect();
    let radii = RADII_KM
        .iter()
        .map(|r| Opt {
            value: r.to_string(),
            label: distance_text(lang, f64::from(*r) * 1000.0),
            selected: *r == radius_km,
        })
        .collect();
    let query = [
        ("city", city_code.to_string()),
        ("lat", lat_s.clone()),
        ("lon", lon_s.clone()),
        ("kind", kind_s.clone()),
        ("aid", if aid { "1".into() } else { String::new() }),
        ("radius", radius_km.to_string()),
        ("q", name_q.clone()),
    ];
    let page = Page::at(lang, remember, t.near_title, "nearby", "/nearby", &query);
    let template = NearbyTemplate {
        p: page.clone(),
        cities,
        lat: lat_s,
        lon: lon_s,
        kinds,
        radii,
        aid,
        name_q,
        summary: fill(t.near_summary, &[&places.len(), &place]),
        list: places.into_iter().map(|(v, _)| v).collect(),
        map,
        error,
    };
    render_page(&page, StatusCode::OK, &template)
}
