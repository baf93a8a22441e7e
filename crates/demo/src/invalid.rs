//! A few binding rows that break one rule each, for import tests.

use std::collections::HashSet;

use chrono::NaiveDate;
use gongji_core::codes::{Gender, InsuStatus, Insutype, RelationClass, Relationship};

use crate::people::{Candidate, Meta};
use crate::{BindingRow, InvalidRow, Population, PopulationSpec, BINDINGS_FILE};

fn date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

fn class(code: u8) -> Option<RelationClass> {
    Relationship::from_code(code).map(|r| r.class())
}

struct Ctx<'a> {
    pop: &'a Population,
    meta: &'a [Meta],
    holders: HashSet<u32>,
    relatives: HashSet<u32>,
    rows: Vec<(BindingRow, &'static str, &'static str)>,
}

impl Ctx<'_> {
    fn region_persons(&self, region: Option<u16>) -> impl Iterator<Item = usize> + '_ {
        let meta = self.meta;
        (0..meta.len()).filter(move |&i| Some(meta[i].region) == region)
    }

    /// A normally insured person of `region`, outside `household`, in no binding.
    fn free_person(&self, region: Option<u16>, household: Option<u32>) -> Option<usize> {
        self.region_persons(region).find(|&i| {
            let p = &self.pop.persons[i];
            Some(self.meta[i].household) != household
                && p.psn_insu_stas == InsuStatus::Normal
                && !p.public_medical
                && !self.holders.contains(&(i as u32))
                && !self.relatives.contains(&(i as u32))
                && !self
                    .rows
                    .iter()
                    .any(|(b, _, _)| b.relative_psn_no == p.psn_no)
        })
    }

    fn child_code(&self, i: usize) -> u8 {
        if self.pop.persons[i].gend == Gender::Male {
            20
        } else {
            30
        }
    }

    fn push(
        &mut self,
        holder: usize,
        relative: String,
        code: u8,
        begin: Option<NaiveDate>,
        end: Option<NaiveDate>,
        (rule, reason): (&'static str, &'static str),
    ) {
        let (Some(h), Some(relationship), Some(begin_date)) = (
            self.pop.persons.get(holder),
            Relationship::from_code(code),
            begin,
        ) else {
            return;
        };
        self.rows.push((
            BindingRow {
                holder_psn_no: h.psn_no.clone(),
                relative_psn_no: relative,
                relationship,
                begin_date,
                end_date: end,
                limit_per_payment: None,
            },
            rule,
            reason,
        ));
    }

    fn psn_no(&self, i: usize) -> String {
        self.pop
            .persons
            .get(i)
            .map_or_else(String::new, |p| p.psn_no.clone())
    }
}

pub(crate) fn append(
    pop: &mut Population,
    spec: &PopulationSpec,
    meta: &[Meta],
    all: &[Candidate],
    chosen: &[Candidate],
) {
    let region_of = |code: u32| {
        spec.regions
            .iter()
            .position(|r| r.admdvs.code() == code)
            .map(|i| i as u16)
    };
    let province_of = |region: u16| {
        spec.regions
            .get(usize::from(region))
            .map(|r| r.admdvs.province())
    };
    let zibo = region_of(370300);
    let yantai = region_of(370600);
    let shanxi = region_of(140100).or(region_of(140800));
    let chosen_set: HashSet<Candidate> = chosen.iter().copied().collect();
    let mut cx = Ctx {
        pop,
        meta,
        holders: chosen.iter().map(|c| c.holder).collect(),
        relatives: chosen.iter().map(|c| c.relative).collect(),
        rows: Vec::new(),
    };
    let after = date(2025, 10, 1);
    let in_region =
        |c: &&Candidate, region: Option<u16>| Some(meta[c.holder as usize].region) == region;

    // Zibo (R-Z1..R-Z4).
    if let Some(c) = chosen.iter().find(|c| in_region(c, zibo)) {
        let household = meta[c.relative as usize].household;
        let other_holder = cx
            .region_persons(zibo)
            .find(|&i| meta[i].household != household && cx.holders.contains(&(i as u32)));
        if let Some(h2) = other_holder {
            let relative = cx.psn_no(c.relative as usize);
            cx.push(
                h2,
                relative,
                c.code,
                after,
                None,
                (
                    "R-Z2",
                    "淄博：关系人已由其他户主绑定，一名关系人只能被一个户主绑定",
                ),
            );
            let holder = cx.psn_no(c.holder as usize);
            cx.push(
                h2,
                holder,
                10,
                after,
                None,
                ("R-Z3", "淄博：关系人本人已是户主，绑定只能单向"),
            );
            if let Some(p) = cx.free_person(zibo, Some(meta[h2].household)) {
                let code = if cx.pop.persons[p].gend == Gender::Male {
                    73
                } else {
                    77
                };
                let relative = cx.psn_no(p);
                // Dated before the national widening (R-N1, 2024), when Zibo kept spouse,
                // parents and children only.
                cx.push(
                    h2,
                    relative,
                    code,
                    date(2023, 10, 1),
                    None,
                    (
                        "R-Z1",
                        "淄博：2024年前兄弟姐妹不在共济范围（仅配偶、父母、子女）",
                    ),
                );
            }
        }
    }
    let paused = cx.region_persons(zibo).find(|&i| {
        let p = &cx.pop.persons[i];
        p.insutype == Insutype::Employee && p.psn_insu_stas == InsuStatus::Paused
    });
    if let Some(h) = paused {
        if let Some(q) = cx.free_person(zibo, Some(meta[h].household)) {
            let code = cx.child_code(q);
            let relative = cx.psn_no(q);
            cx.push(
                h,
                relative,
                code,
                after,
                None,
                ("R-Z4", "淄博：户主暂停参保（减员），不能绑定"),
            );
        }
    }

    // Yantai: a near relative bound before 2025-09-01 (R-Y1).
    let early = all
        .iter()
        .filter(|c| in_region(c, yantai))
        .filter(|c| {
            matches!(
                class(c.code),
                Some(
                    RelationClass::Sibling | RelationClass::Grandparent | RelationClass::Grandchild
                )
            )
        })
        .min_by_key(|c| chosen_set.contains(*c));
    if let Some(c) = early {
        let relative = cx.psn_no(c.relative as usize);
        cx.push(
            c.holder as usize,
            relative,
            c.code,
            date(2025, 3, 1),
            None,
            (
                "R-Y1",
                "烟台：2025-09-01 之前兄弟姐妹、祖父母、孙子女不在共济范围",
            ),
        );
    }

    // Shanxi: a second spouse (R-S8) and a public-medical relative (R-S1).
    if let Some(c) = chosen
        .iter()
        .find(|c| in_region(c, shanxi) && class(c.code) == Some(RelationClass::Spouse))
    {
        let h = c.holder as usize;
        let gender = cx.pop.persons[c.relative as usize].gend;
        let other = cx.region_persons(shanxi).find(|&i| {
            let p = &cx.pop.persons[i];
            meta[i].household != meta[h].household
                && p.gend == gender
                && p.psn_insu_stas == InsuStatus::Normal
                && !p.public_medical
                && !cx.relatives.contains(&(i as u32))
        });
        if let Some(p) = other {
            let relative = cx.psn_no(p);
            cx.push(
                h,
                relative,
                c.code,
                after,
                None,
                ("R-S8", "山西：户主已有有效的配偶绑定，配偶只能绑定一人"),
            );
        }
    }
    if let Some(c) = chosen.iter().find(|c| in_region(c, shanxi)) {
        let h = c.holder as usize;
        let pm = cx
            .region_persons(shanxi)
            .find(|&i| cx.pop.persons[i].public_medical);
        if let Some(p) = pm {
            let code = cx.child_code(p);
            let relative = cx.psn_no(p);
            cx.push(
                h,
                relative,
                code,
                after,
                None,
                ("R-S1", "山西：公费医疗人员不能参加个人账户家庭共济"),
            );
        }
    }

    // Across provinces (R-Y3, R-S5).
    let shandong_holder = chosen
        .iter()
        .find(|c| province_of(meta[c.holder as usize].region) == Some(37));
    if let (Some(c), Some(p)) = (shandong_holder, cx.free_person(shanxi, None)) {
        let code = if cx.pop.persons[p].gend == Gender::Male {
            51
        } else {
            52
        };
        let relative = cx.psn_no(p);
        cx.push(
            c.holder as usize,
            relative,
            code,
            after,
            None,
            ("R-Y3", "关系人不在户主参保的省内，不能跨省绑定"),
        );
    }

    // A resident as holder (R-S1: holders are employee-insured).
    let resident = (0..meta.len()).find(|&i| {
        let p = &cx.pop.persons[i];
        p.insutype == Insutype::Resident
            && p.psn_insu_stas == InsuStatus::Normal
            && !p.public_medical
            && cx.pop.persons[i].psn_type == crate::PSN_TYPE_RESIDENT_ADULT
            && Some(meta[i].region) != zibo
    });
    if let Some(h) = resident {
        if let Some(q) = cx.free_person(Some(meta[h].region), Some(meta[h].household)) {
            let code = cx.child_code(q);
            let relative = cx.psn_no(q);
            cx.push(
                h,
                relative,
                code,
                after,
                None,
                (
                    "R-S1",
                    "户主参加的是城乡居民医保，没有职工个人账户，不能作为户主",
                ),
            );
        }
    }

    // A binding that ends before it begins (R-S9), between a holder and a near family
    // member that no other row binds.
    let pair = all
        .iter()
        .filter(|c| !in_region(c, zibo))
        .filter(|c| {
            matches!(
                class(c.code),
                Some(RelationClass::Spouse | RelationClass::Parent | RelationClass::Child)
            )
        })
        .filter(|c| {
            let relative = &cx.pop.persons[c.relative as usize].psn_no;
            !cx.rows
                .iter()
                .any(|(b, _, _)| &b.relative_psn_no == relative)
        })
        .min_by_key(|c| chosen_set.contains(*c));
    if let Some(c) = pair {
        let relative = cx.psn_no(c.relative as usize);
        cx.push(
            c.holder as usize,
            relative,
            c.code,
            date(2025, 6, 1),
            date(2025, 5, 1),
            ("R-S9", "终止日期早于起始日期"),
        );
    }

    // A relative who is not in the registry, and an in-law (not a near relative).
    if let Some(c) = chosen.iter().find(|c| !in_region(c, zibo)) {
        let h = c.holder as usize;
        let unknown = format!("{}99999999", cx.pop.persons[h].admdvs);
        cx.push(
            h,
            unknown,
            20,
            after,
            None,
            ("R-N5", "关系人人员编号不存在"),
        );
        let region = Some(meta[h].region);
        let father_in_law = cx.region_persons(region).find(|&i| {
            let p = &cx.pop.persons[i];
            meta[i].household != meta[h].household
                && p.gend == Gender::Male
                && p.brdy < cx.pop.persons[h].brdy
                && p.psn_insu_stas == InsuStatus::Normal
                && !cx.relatives.contains(&(i as u32))
        });
        if let Some(p) = father_in_law {
            let relative = cx.psn_no(p);
            cx.push(
                h,
                relative,
                55,
                after,
                None,
                ("R-Y1", "岳父不属于近亲属，不在共济范围"),
            );
        }
    }

    let rows = std::mem::take(&mut cx.rows);
    for (row, rule, reason_zh) in rows {
        pop.invalid_rows.push(InvalidRow {
            file: BINDINGS_FILE,
            row: pop.bindings.len(),
            rule,
            reason_zh,
        });
        pop.bindings.push(row);
    }
}
