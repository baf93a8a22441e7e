//! The cities a population lives in: district codes, centre coordinates, and the
//! binding rules that decide which relatives are bound (so that the rows pass import).

use chrono::NaiveDate;
use gongji_core::codes::Admdvs;

/// A county-level district (区/县/县级市) whose code starts an ID number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct District {
    pub code: u32,
    pub name: &'static str,
}

/// What the generator respects when it binds relatives in a region, so that most rows
/// would be accepted by that region's policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BindingRules {
    /// From this date on siblings, grandparents and grandchildren may be bound too
    /// (R-Y1, R-N1); `None`: spouse, parents and children only (R-Z1, R-S1). Households
    /// in such a region also get siblings, grandparents and grandchildren.
    pub extended_from: Option<NaiveDate>,
    /// One holder per household; a relative has one holder and holders are nobody's
    /// relatives (R-Z2, R-Z3).
    pub one_way_single_holder: bool,
    /// About 2% of the region's adults are public-medical (公费医疗) persons, and they take
    /// no part in mutual aid on either side (R-S1).
    pub public_medical: bool,
}

impl BindingRules {
    /// Spouse, parents and children; many-to-many.
    pub const NEAR_FAMILY: BindingRules = BindingRules {
        extended_from: None,
        one_way_single_holder: false,
        public_medical: false,
    };
}

/// One city of a population.
#[derive(Clone, Debug, PartialEq)]
pub struct RegionSpec {
    /// The city's code, used as every person's and institution's admdvs.
    pub admdvs: Admdvs,
    /// Full name with 市, e.g. "淄博市".
    pub name: &'static str,
    /// Districts whose codes start the residents' ID numbers; each inside the city.
    pub districts: Vec<District>,
    pub centre_lat: f64,
    pub centre_lon: f64,
    /// Relative share of persons and institutions.
    pub weight: u32,
    pub rules: BindingRules,
}

impl RegionSpec {
    /// The name without 市, e.g. "淄博".
    pub fn short_name(&self) -> &'static str {
        self.name.strip_suffix('市').unwrap_or(self.name)
    }
}

const fn adm(code: u32) -> Admdvs {
    match Admdvs::from_code(code) {
        Some(a) => a,
        None => panic!("admdvs out of range"),
    }
}

const fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(date) => date,
        None => panic!("invalid date"),
    }
}

/// Yantai widened the scope to near relatives from this date (R-Y1).
pub const YANTAI_EXTENDED_FROM: NaiveDate = ymd(2025, 9, 1);
/// The national near-relative scope inside a province (R-N1, 2024).
pub const NATIONAL_EXTENDED_FROM: NaiveDate = ymd(2024, 1, 1);

pub const JINAN: Admdvs = adm(370100);
pub const QINGDAO: Admdvs = adm(370200);
pub const ZIBO: Admdvs = adm(370300);
pub const YANTAI: Admdvs = adm(370600);
/// Shanxi people are placed in Taiyuan (the province itself is 140000).
pub const TAIYUAN: Admdvs = adm(140100);
pub const YUNCHENG: Admdvs = adm(140800);

const fn d(code: u32, name: &'static str) -> District {
    District { code, name }
}

struct CityPreset {
    admdvs: Admdvs,
    name: &'static str,
    districts: &'static [District],
    lat: f64,
    lon: f64,
    /// Roughly the city's population in 100,000s.
    weight: u32,
}

static CITIES: [CityPreset; 18] = [
    CityPreset {
        admdvs: JINAN,
        name: "济南市",
        districts: &[
            d(370102, "历下区"),
            d(370103, "市中区"),
            d(370104, "槐荫区"),
            d(370105, "天桥区"),
            d(370112, "历城区"),
            d(370113, "长清区"),
        ],
        lat: 36.651,
        lon: 117.120,
        weight: 94,
    },
    CityPreset {
        admdvs: QINGDAO,
        name: "青岛市",
        districts: &[
            d(370202, "市南区"),
            d(370203, "市北区"),
            d(370211, "黄岛区"),
            d(370212, "崂山区"),
            d(370213, "李沧区"),
            d(370214, "城阳区"),
        ],
        lat: 36.067,
        lon: 120.383,
        weight: 103,
    },
    CityPreset {
        admdvs: ZIBO,
        name: "淄博市",
        districts: &[
            d(370302, "淄川区"),
            d(370303, "张店区"),
            d(370304, "博山区"),
            d(370305, "临淄区"),
            d(370306, "周村区"),
        ],
        lat: 36.813,
        lon: 118.055,
        weight: 47,
    },
    CityPreset {
        admdvs: adm(370400),
        name: "枣庄市",
        districts: &[
            d(370402, "市中区"),
            d(370403, "薛城区"),
            d(370404, "峄城区"),
            d(370405, "台儿庄区"),
            d(370481, "滕州市"),
        ],
        lat: 34.810,
        lon: 117.323,
        weight: 38,
    },
    CityPreset {
        admdvs: adm(370500),
        name: "东营市",
        districts: &[
            d(370502, "东营区"),
            d(370503, "河口区"),
            d(370505, "垦利区"),
            d(370523, "广饶县"),
        ],
        lat: 37.434,
        lon: 118.675,
        weight: 22,
    },
    CityPreset {
        admdvs: YANTAI,
        name: "烟台市",
        districts: &[
            d(370602, "芝罘区"),
            d(370611, "福山区"),
            d(370612, "牟平区"),
            d(370613, "莱山区"),
            d(370614, "蓬莱区"),
            d(370681, "龙口市"),
        ],
        lat: 37.464,
        lon: 121.448,
        weight: 71,
    },
    CityPreset {
        admdvs: adm(370700),
        name: "潍坊市",
        districts: &[
            d(370702, "潍城区"),
            d(370703, "寒亭区"),
            d(370704, "坊子区"),
            d(370705, "奎文区"),
            d(370781, "青州市"),
            d(370782, "诸城市"),
        ],
        lat: 36.707,
        lon: 119.162,
        weight: 94,
    },
    CityPreset {
        admdvs: adm(370800),
        name: "济宁市",
        districts: &[
            d(370811, "任城区"),
            d(370812, "兖州区"),
            d(370881, "曲阜市"),
            d(370883, "邹城市"),
        ],
        lat: 35.415,
        lon: 116.587,
        weight: 83,
    },
    CityPreset {
        admdvs: adm(370900),
        name: "泰安市",
        districts: &[
            d(370902, "泰山区"),
            d(370911, "岱岳区"),
            d(370982, "新泰市"),
            d(370983, "肥城市"),
        ],
        lat: 36.200,
        lon: 117.088,
        weight: 54,
    },
    CityPreset {
        admdvs: adm(371000),
        name: "威海市",
        districts: &[
            d(371002, "环翠区"),
            d(371003, "文登区"),
            d(371082, "荣成市"),
            d(371083, "乳山市"),
        ],
        lat: 37.513,
        lon: 122.121,
        weight: 29,
    },
    CityPreset {
        admdvs: adm(371100),
        name: "日照市",
        districts: &[
            d(371102, "东港区"),
            d(371103, "岚山区"),
            d(371121, "五莲县"),
            d(371122, "莒县"),
        ],
        lat: 35.417,
        lon: 119.527,
        weight: 30,
    },
    CityPreset {
        admdvs: adm(371300),
        name: "临沂市",
        districts: &[
            d(371302, "兰山区"),
            d(371311, "罗庄区"),
            d(371312, "河东区"),
            d(371321, "沂南县"),
        ],
        lat: 35.105,
        lon: 118.356,
        weight: 110,
    },
    CityPreset {
        admdvs: adm(371400),
        name: "德州市",
        districts: &[
            d(371402, "德城区"),
            d(371403, "陵城区"),
            d(371481, "乐陵市"),
            d(371482, "禹城市"),
        ],
        lat: 37.436,
        lon: 116.359,
        weight: 56,
    },
    CityPreset {
        admdvs: adm(371500),
        name: "聊城市",
        districts: &[
            d(371502, "东昌府区"),
            d(371503, "茌平区"),
            d(371521, "阳谷县"),
            d(371581, "临清市"),
        ],
        lat: 36.457,
        lon: 115.985,
        weight: 59,
    },
    CityPreset {
        admdvs: adm(371600),
        name: "滨州市",
        districts: &[
            d(371602, "滨城区"),
            d(371603, "沾化区"),
            d(371621, "惠民县"),
            d(371625, "博兴县"),
        ],
        lat: 37.382,
        lon: 117.971,
        weight: 39,
    },
    CityPreset {
        admdvs: adm(371700),
        name: "菏泽市",
        districts: &[
            d(371702, "牡丹区"),
            d(371703, "定陶区"),
            d(371721, "曹县"),
            d(371722, "单县"),
        ],
        lat: 35.234,
        lon: 115.481,
        weight: 87,
    },
    CityPreset {
        admdvs: TAIYUAN,
        name: "太原市",
        districts: &[
            d(140105, "小店区"),
            d(140106, "迎泽区"),
            d(140107, "杏花岭区"),
            d(140108, "尖草坪区"),
            d(140109, "万柏林区"),
            d(140110, "晋源区"),
        ],
        lat: 37.870,
        lon: 112.549,
        weight: 54,
    },
    CityPreset {
        admdvs: YUNCHENG,
        name: "运城市",
        districts: &[
            d(140802, "盐湖区"),
            d(140821, "临猗县"),
            d(140881, "永济市"),
            d(140882, "河津市"),
        ],
        lat: 35.026,
        lon: 111.007,
        weight: 47,
    },
];

/// The rules the generator uses for a city: Zibo one-way and spouse/parents/children only,
/// Yantai near relatives from 2025-09-01, Shanxi spouse/parents/children without
/// public-medical persons, the other Shandong cities near relatives from 2024 (R-N1).
pub fn default_rules(admdvs: Admdvs) -> BindingRules {
    match admdvs.code() {
        370300 => BindingRules {
            one_way_single_holder: true,
            ..BindingRules::NEAR_FAMILY
        },
        370600 => BindingRules {
            extended_from: Some(YANTAI_EXTENDED_FROM),
            ..BindingRules::NEAR_FAMILY
        },
        _ if admdvs.province() == 14 => BindingRules {
            public_medical: true,
            ..BindingRules::NEAR_FAMILY
        },
        _ if admdvs.province() == 37 => BindingRules {
            extended_from: Some(NATIONAL_EXTENDED_FROM),
            ..BindingRules::NEAR_FAMILY
        },
        _ => BindingRules::NEAR_FAMILY,
    }
}

/// A known city (the 16 of Shandong, Taiyuan, Yuncheng) with its default rules and weight.
pub fn city(admdvs: Admdvs) -> Option<RegionSpec> {
    CITIES
        .iter()
        .find(|c| c.admdvs == admdvs)
        .map(|c| RegionSpec {
            admdvs: c.admdvs,
            name: c.name,
            districts: c.districts.to_vec(),
            centre_lat: c.lat,
            centre_lon: c.lon,
            weight: c.weight,
            rules: default_rules(c.admdvs),
        })
}

/// The name of a known city, e.g. "淄博市".
pub fn city_name(admdvs: Admdvs) -> Option<&'static str> {
    CITIES
        .iter()
        .find(|c| c.admdvs == admdvs.city_admdvs())
        .map(|c| c.name)
}

/// All 16 cities of Shandong, weighted by population.
pub fn shandong_cities() -> Vec<RegionSpec> {
    CITIES
        .iter()
        .filter(|c| c.admdvs.province() == 37)
        .filter_map(|c| city(c.admdvs))
        .collect()
}

/// The Shanxi cities known here (Taiyuan, Yuncheng), weighted by population.
pub fn shanxi_cities() -> Vec<RegionSpec> {
    CITIES
        .iter()
        .filter(|c| c.admdvs.province() == 14)
        .filter_map(|c| city(c.admdvs))
        .collect()
}

/// The five seed regions: Yantai, Zibo, Jinan, Shanxi (as Taiyuan) and Yuncheng.
pub fn seed_regions() -> Vec<RegionSpec> {
    [
        (YANTAI, 22),
        (ZIBO, 22),
        (JINAN, 22),
        (TAIYUAN, 17),
        (YUNCHENG, 17),
    ]
    .into_iter()
    .filter_map(|(admdvs, weight)| city(admdvs).map(|r| RegionSpec { weight, ..r }))
    .collect()
}

/// Splits `total` over `weights` proportionally; the parts add up to `total` exactly.
pub(crate) fn apportion(total: usize, weights: &[u32]) -> Vec<usize> {
    let sum: u128 = weights.iter().map(|&w| u128::from(w)).sum();
    if sum == 0 {
        let mut parts = vec![0; weights.len()];
        if let Some(first) = parts.first_mut() {
            *first = total;
        }
        return parts;
    }
    let mut parts: Vec<usize> = weights
        .iter()
        .map(|&w| (total as u128 * u128::from(w) / sum) as usize)
        .collect();
    let mut rest = total - parts.iter().sum::<usize>();
    // Hand out the remainder one by one, largest weights first (stable order).
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| weights[b].cmp(&weights[a]));
    let mut i = 0;
    while rest > 0 {
        parts[order[i % order.len()]] += 1;
        rest -= 1;
        i += 1;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn districts_lie_inside_their_city() {
        for c in &CITIES {
            assert!(!c.districts.is_empty(), "{}", c.name);
            for dist in c.districts {
                assert_eq!(dist.code / 100 * 100, c.admdvs.code(), "{}", dist.name);
            }
        }
    }

    #[test]
    fn apportion_adds_up() {
        assert_eq!(apportion(10, &[1, 1, 1]), vec![4, 3, 3]);
        assert_eq!(apportion(0, &[5, 2]), vec![0, 0]);
        assert_eq!(apportion(7, &[0, 0]), vec![7, 0]);
        let parts = apportion(1_000_003, &[94, 103, 47, 38]);
        assert_eq!(parts.iter().sum::<usize>(), 1_000_003);
    }

    #[test]
    fn seed_regions_are_the_five() {
        let codes: Vec<u32> = seed_regions().iter().map(|r| r.admdvs.code()).collect();
        assert_eq!(codes, vec![370600, 370300, 370100, 140100, 140800]);
        assert_eq!(shandong_cities().len(), 16);
    }
}
