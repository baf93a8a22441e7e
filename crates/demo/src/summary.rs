//! A short account of a generated population, in Chinese.

use std::collections::BTreeMap;
use std::fmt;

use gongji_core::codes::{
    Admdvs, ChargeLevel, HospitalLevel, InstitutionKind, Insutype, RelationClass,
};
use gongji_core::Fen;

use crate::regions::city_name;
use crate::{Population, PSN_TYPE_RETIRED};

/// Persons of one city.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegionSummary {
    pub admdvs: Admdvs,
    pub name: &'static str,
    pub persons: usize,
    /// insutype 310, of whom `retired` are 退休.
    pub employees: usize,
    pub retired: usize,
    /// insutype 390.
    pub residents: usize,
    pub public_medical: usize,
    pub bindings: usize,
    pub institutions: usize,
}

/// Counts of a population: persons per region and insutype, accounts, bindings,
/// institutions by type, catalog items. `Display` prints it in Chinese.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoSummary {
    pub persons: usize,
    pub regions: Vec<RegionSummary>,
    pub civil_servants: usize,
    pub paused: usize,
    pub terminated: usize,
    pub accounts: usize,
    pub account_total: Fen,
    pub bindings: usize,
    pub bindings_by_class: Vec<(RelationClass, usize)>,
    pub bindings_with_end: usize,
    pub bindings_with_limit: usize,
    pub invalid_rows: usize,
    /// Medical institutions by level: primary, level 2, level 3.
    pub hospitals: [usize; 3],
    pub pharmacies: usize,
    pub mutual_aid_institutions: usize,
    /// Catalog items by class: A, B, C.
    pub catalog: [usize; 3],
}

impl DemoSummary {
    pub fn of(pop: &Population) -> DemoSummary {
        let mut regions: BTreeMap<Admdvs, RegionSummary> = BTreeMap::new();
        fn entry(
            regions: &mut BTreeMap<Admdvs, RegionSummary>,
            admdvs: Admdvs,
        ) -> &mut RegionSummary {
            regions.entry(admdvs).or_insert_with(|| RegionSummary {
                admdvs,
                name: city_name(admdvs).unwrap_or(""),
                persons: 0,
                employees: 0,
                retired: 0,
                residents: 0,
                public_medical: 0,
                bindings: 0,
                institutions: 0,
            })
        }
        let mut city_of = std::collections::HashMap::with_capacity(pop.persons.len());
        let (mut civil_servants, mut paused, mut terminated) = (0, 0, 0);
        for p in &pop.persons {
            let r = entry(&mut regions, p.admdvs);
            r.persons += 1;
            match p.insutype {
                Insutype::Employee => {
                    r.employees += 1;
                    if p.psn_type == PSN_TYPE_RETIRED {
                        r.retired += 1;
                    }
                }
                Insutype::Resident => r.residents += 1,
                _ => {}
            }
            r.public_medical += usize::from(p.public_medical);
            civil_servants += usize::from(p.cvlserv_flag);
            paused += usize::from(p.psn_insu_stas == gongji_core::codes::InsuStatus::Paused);
            terminated +=
                usize::from(p.psn_insu_stas == gongji_core::codes::InsuStatus::Terminated);
            city_of.insert(p.psn_no.as_str(), p.admdvs);
        }
        let mut by_class: BTreeMap<RelationClass, usize> = BTreeMap::new();
        for b in &pop.bindings {
            *by_class.entry(b.relationship.class()).or_default() += 1;
            if let Some(&admdvs) = city_of.get(b.holder_psn_no.as_str()) {
                entry(&mut regions, admdvs).bindings += 1;
            }
        }
        let mut hospitals = [0; 3];
        let mut pharmacies = 0;
        for i in &pop.institutions {
            entry(&mut regions, i.admdvs).institutions += 1;
            match (i.fixmedins_type, i.hosp_lv) {
                (InstitutionKind::Pharmacy, _) => pharmacies += 1,
                (_, HospitalLevel::Primary) => hospitals[0] += 1,
                (_, HospitalLevel::Level2) => hospitals[1] += 1,
                (_, HospitalLevel::Level3) => hospitals[2] += 1,
            }
        }
        let mut catalog = [0; 3];
        for c in &pop.catalog {
            let k = match c.chrgitm_lv {
                ChargeLevel::ClassA => 0,
                ChargeLevel::ClassB => 1,
                ChargeLevel::ClassC => 2,
            };
            catalog[k] += 1;
        }
        DemoSummary {
            persons: pop.persons.len(),
            regions: regions.into_values().collect(),
            civil_servants,
            paused,
            terminated,
            accounts: pop.accounts.len(),
            account_total: Fen::checked_sum(pop.accounts.iter().map(|a| a.balance))
                .unwrap_or(Fen::ZERO),
            bindings: pop.bindings.len(),
            bindings_by_class: by_class.into_iter().collect(),
            bindings_with_end: pop.bindings.iter().filter(|b| b.end_date.is_some()).count(),
            bindings_with_limit: pop
                .bindings
                .iter()
                .filter(|b| b.limit_per_payment.is_some())
                .count(),
            invalid_rows: pop.invalid_rows.len(),
            hospitals,
            pharmacies,
            mutual_aid_institutions: pop.institutions.iter().filter(|i| i.mutual_aid).count(),
            catalog,
        }
    }
}

impl fmt::Display for DemoSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "参保人 {} 人（公务员 {} 人，暂停参保 {} 人，终止参保 {} 人）",
            self.persons, self.civil_servants, self.paused, self.terminated
        )?;
        for r in &self.regions {
            write!(
                f,
                "  {}（{}）：{} 人，职工 {} 人（其中退休 {} 人），居民 {} 人",
                r.name, r.admdvs, r.persons, r.employees, r.retired, r.residents
            )?;
            if r.public_medical > 0 {
                write!(f, "，公费医疗 {} 人", r.public_medical)?;
            }
            writeln!(
                f,
                "；共济绑定 {} 条，定点医药机构 {} 家",
                r.bindings, r.institutions
            )?;
        }
        writeln!(
            f,
            "职工个人账户 {} 个，余额合计 {} 元",
            self.accounts, self.account_total
        )?;
        write!(f, "共济绑定 {} 条", self.bindings)?;
        if self.invalid_rows > 0 {
            write!(f, "（含故意违规 {} 条）", self.invalid_rows)?;
        }
        let classes: Vec<String> = self
            .bindings_by_class
            .iter()
            .map(|(c, n)| format!("{} {}", c.name_zh(), n))
            .collect();
        writeln!(
            f,
            "：{}；有终止日期 {} 条，设单笔限额 {} 条",
            classes.join("，"),
            self.bindings_with_end,
            self.bindings_with_limit
        )?;
        let medical: usize = self.hospitals.iter().sum();
        writeln!(
            f,
            "定点医药机构 {} 家：医疗机构 {} 家（基层 {}，二级及以下 {}，三级 {}），零售药店 {} 家；支持共济 {} 家",
            medical + self.pharmacies,
            medical,
            self.hospitals[0],
            self.hospitals[1],
            self.hospitals[2],
            self.pharmacies,
            self.mutual_aid_institutions
        )?;
        write!(
            f,
            "医保目录 {} 条：甲类 {}，乙类 {}，丙类 {}",
            self.catalog.iter().sum::<usize>(),
            self.catalog[0],
            self.catalog[1],
            self.catalog[2]
        )
    }
}
