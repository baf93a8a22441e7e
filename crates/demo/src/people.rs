//! Households and the persons in them, their accounts, and the bindings their families
//! allow under the region's rules.

use std::collections::HashSet;
use std::fmt::Write;

use chrono::{Datelike, NaiveDate};
use gongji_core::codes::{Gender, InsuStatus, Insutype, RelationClass, Relationship};
use gongji_core::idcard;
use gongji_core::Fen;
use rand::rngs::SmallRng;
use rand::Rng;

use crate::names::{self, Employers};
use crate::regions::{apportion, RegionSpec};
use crate::{
    AccountRow, PersonRow, PopulationSpec, AS_OF, BEGIN_MAX, BEGIN_MIN, PSN_TYPE_EMPLOYED,
    PSN_TYPE_RESIDENT_ADULT, PSN_TYPE_RESIDENT_MINOR, PSN_TYPE_RETIRED,
};

/// Where a person came from, for the invalid rows.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Meta {
    pub region: u16,
    pub household: u32,
}

/// A binding the family and the region's rules allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Candidate {
    pub holder: u32,
    pub relative: u32,
    /// GB/T 4761: what the relative is to the holder.
    pub code: u8,
    /// The first day the binding may begin, as days from the common era.
    pub earliest: i32,
}

pub(crate) struct People {
    pub persons: Vec<PersonRow>,
    pub accounts: Vec<AccountRow>,
    pub meta: Vec<Meta>,
    pub candidates: Vec<Candidate>,
}

/// A household member's place, seen from the household's anchor person.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Anchor,
    Spouse,
    Child,
    Parent,
    Grandparent { paternal: bool },
    Sibling,
    Grandchild { via_son: bool },
}

#[derive(Clone, Copy, Debug)]
struct Member {
    role: Role,
    male: bool,
    age: u32,
    birth: NaiveDate,
    surname: &'static str,
    /// For children: 20-29 sons, 30-39 daughters, by birth order.
    child_code: u8,
}

/// What the bindings need to know of a person once generated.
#[derive(Clone, Copy, Debug)]
struct Facts {
    index: u32,
    employee: bool,
    normal: bool,
    public_medical: bool,
}

const PHONE_PREFIXES: [u16; 24] = [
    130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155, 156, 157, 158, 159,
    180, 182, 185, 186, 188,
];
/// Odd and not a multiple of 5: `i * MUL + add` is a bijection modulo 10^8.
const PHONE_MUL: u64 = 61_803_399;
const PHONE_MOD: u64 = 100_000_000;

struct Generator<'a> {
    rng: &'a mut SmallRng,
    persons: Vec<PersonRow>,
    accounts: Vec<AccountRow>,
    meta: Vec<Meta>,
    candidates: Vec<Candidate>,
    certnos: HashSet<u64>,
    phone_add: u64,
    household: u32,
}

pub(crate) fn generate(
    spec: &PopulationSpec,
    rng: &mut SmallRng,
    progress: &mut dyn FnMut(usize, usize),
) -> People {
    let total = spec.persons;
    let weights: Vec<u32> = spec.regions.iter().map(|r| r.weight).collect();
    let quotas = apportion(total, &weights);
    let phone_add = rng.gen_range(0..PHONE_MOD);
    let mut g = Generator {
        rng,
        persons: Vec::with_capacity(total),
        accounts: Vec::with_capacity(total / 2 + 16),
        meta: Vec::with_capacity(total),
        candidates: Vec::with_capacity(total),
        certnos: HashSet::with_capacity(total),
        phone_add,
        household: 0,
    };
    let step = (total / 100).max(1);
    let mut next_report = step;
    let mut members = Vec::with_capacity(8);
    for (region_index, (region, &quota)) in spec.regions.iter().zip(&quotas).enumerate() {
        if quota == 0 || region.districts.is_empty() {
            continue;
        }
        let employers = Employers::new(g.rng, region, quota);
        let end = g.persons.len() + quota;
        while g.persons.len() < end {
            household(g.rng, region, &mut members);
            members.truncate(end - g.persons.len());
            g.add_household(region_index as u16, region, &employers, &members);
            let done = g.persons.len();
            if done >= next_report && done < total {
                progress(done, total);
                next_report = (done / step + 1) * step;
            }
        }
    }
    progress(g.persons.len(), total);
    People {
        persons: g.persons,
        accounts: g.accounts,
        meta: g.meta,
        candidates: g.candidates,
    }
}

fn days(date: NaiveDate) -> i32 {
    date.num_days_from_ce()
}

fn birth_for_age(rng: &mut SmallRng, age: u32) -> NaiveDate {
    // A birthday 0..365 days past the age's anniversary before AS_OF.
    let back = age as i32 * 365 + age as i32 / 4 + rng.gen_range(1..=365);
    NaiveDate::from_num_days_from_ce_opt(days(AS_OF) - back).unwrap_or(AS_OF)
}

fn member(rng: &mut SmallRng, role: Role, male: bool, age: u32, surname: &'static str) -> Member {
    Member {
        role,
        male,
        age,
        birth: birth_for_age(rng, age),
        surname,
        child_code: 0,
    }
}

/// Draws one household of 1-6 members, anchor first, in order of closeness.
fn household(rng: &mut SmallRng, region: &RegionSpec, out: &mut Vec<Member>) {
    out.clear();
    let extended = region.rules.extended_from.is_some();
    let anchor_male = rng.gen_bool(0.55);
    let age = match rng.gen_range(0..100) {
        0..=27 => rng.gen_range(22..=35),
        28..=61 => rng.gen_range(36..=50),
        62..=81 => rng.gen_range(51..=62),
        _ => rng.gen_range(63..=85),
    };
    let anchor_surname = names::surname(rng);
    out.push(member(rng, Role::Anchor, anchor_male, age, anchor_surname));

    let mut family_surname = anchor_surname;
    if age >= 24 && rng.gen_bool(0.8) {
        let delta: i32 = rng.gen_range(-2..=5);
        let spouse_age = if anchor_male {
            age as i32 - delta
        } else {
            age as i32 + delta
        };
        let spouse_age = spouse_age.clamp(20, 95) as u32;
        let surname = names::surname(rng);
        if !anchor_male {
            family_surname = surname;
        }
        out.push(member(rng, Role::Spouse, !anchor_male, spouse_age, surname));
    }

    // Children.
    let (count, min_age, max_age) = if (24..=55).contains(&age) {
        let count = match rng.gen_range(0..100) {
            0..=24 => 0,
            25..=69 => 1,
            70..=94 => 2,
            _ => 3,
        };
        (count, 0, (age - 22).min(30))
    } else if age > 55 {
        let count = match rng.gen_range(0..100) {
            0..=49 => 0,
            50..=84 => 1,
            _ => 2,
        };
        (count, age - 34, age - 24)
    } else {
        (0, 0, 0)
    };
    for _ in 0..count {
        let child_age = rng.gen_range(min_age..=max_age);
        let male = rng.gen_bool(0.52);
        out.push(member(rng, Role::Child, male, child_age, family_surname));
    }

    // Parents.
    let (p_father, p_mother) = if age <= 45 {
        (0.55, 0.65)
    } else if age <= 62 {
        (0.3, 0.4)
    } else {
        (0.0, 0.0)
    };
    if rng.gen_bool(p_father) {
        let father_age = age + rng.gen_range(23..=33);
        if father_age <= 92 {
            out.push(member(rng, Role::Parent, true, father_age, anchor_surname));
        }
    }
    if rng.gen_bool(p_mother) {
        let mother_age = age + rng.gen_range(21..=31);
        if mother_age <= 95 {
            let surname = names::surname(rng);
            out.push(member(rng, Role::Parent, false, mother_age, surname));
        }
    }

    if extended {
        // Grandchildren of older anchors.
        if age >= 50 && rng.gen_bool(0.4) {
            for _ in 0..rng.gen_range(1..=2) {
                let via_son = rng.gen_bool(0.55);
                let male = rng.gen_bool(0.52);
                let surname = if via_son {
                    family_surname
                } else {
                    names::surname(rng)
                };
                let child_age = rng.gen_range(0..=(age - 46).min(20));
                out.push(member(
                    rng,
                    Role::Grandchild { via_son },
                    male,
                    child_age,
                    surname,
                ));
            }
        }
        // Siblings.
        if rng.gen_bool(0.32) {
            let count = if rng.gen_bool(0.2) { 2 } else { 1 };
            for _ in 0..count {
                let mut delta: i32 = rng.gen_range(-8..=8);
                if delta == 0 {
                    delta = 1;
                }
                let sibling_age = (age as i32 + delta).max(0) as u32;
                let male = rng.gen_bool(0.5);
                out.push(member(
                    rng,
                    Role::Sibling,
                    male,
                    sibling_age,
                    anchor_surname,
                ));
            }
        }
        // A grandparent of a young anchor.
        if age <= 40 && rng.gen_bool(0.3) {
            let gp_age = age + rng.gen_range(46..=56);
            if gp_age <= 97 {
                let paternal = rng.gen_bool(0.5);
                let male = rng.gen_bool(0.4);
                let surname = if paternal && male {
                    anchor_surname
                } else {
                    names::surname(rng)
                };
                out.push(member(
                    rng,
                    Role::Grandparent { paternal },
                    male,
                    gp_age,
                    surname,
                ));
            }
        }
    }
    out.truncate(6);

    // Children's codes by birth order: 21 长子, 22 次子...; 31 长女...; sometimes 20/30.
    let generic = rng.gen_bool(0.1);
    let mut children: Vec<usize> = (0..out.len())
        .filter(|&i| out[i].role == Role::Child)
        .collect();
    children.sort_by_key(|&i| out[i].birth);
    let (mut sons, mut daughters) = (0u8, 0u8);
    for i in children {
        let m = &mut out[i];
        m.child_code = if m.male {
            sons += 1;
            if generic {
                20
            } else {
                20 + sons.min(9)
            }
        } else {
            daughters += 1;
            if generic {
                30
            } else {
                30 + daughters.min(9)
            }
        };
    }
}

/// What `r` is to `h` (GB/T 4761), where the household model says.
fn relation(h: &Member, r: &Member, anchor_male: bool, generic_spouse: bool) -> Option<u8> {
    use Role::*;
    let older = r.birth < h.birth;
    let code = match (h.role, r.role) {
        (Anchor, Spouse) | (Spouse, Anchor) => match (generic_spouse, r.male) {
            (true, _) => 10,
            (false, true) => 11,
            (false, false) => 12,
        },
        (Anchor, Child) | (Spouse, Child) => r.child_code,
        (Anchor, Parent) | (Child, Anchor) | (Child, Spouse) => {
            if r.male {
                51
            } else {
                52
            }
        }
        (Anchor, Grandparent { paternal }) => grandparent_code(paternal, r.male),
        (Child, Parent) => grandparent_code(anchor_male, r.male),
        (Anchor, Sibling) | (Child, Child) => match (older, r.male) {
            (true, true) => 71,
            (false, true) => 73,
            (true, false) => 75,
            (false, false) => 77,
        },
        (Anchor, Grandchild { via_son }) | (Spouse, Grandchild { via_son }) => {
            match (via_son, r.male) {
                (true, true) => 41,
                (true, false) => 42,
                (false, true) => 43,
                (false, false) => 44,
            }
        }
        _ => return None,
    };
    Some(code)
}

fn grandparent_code(paternal: bool, male: bool) -> u8 {
    match (paternal, male) {
        (true, true) => 61,
        (true, false) => 62,
        (false, true) => 63,
        (false, false) => 64,
    }
}

/// A balance in fen, skewed towards small amounts; Shanxi gets more near its 1,000-yuan
/// reserve (R-S2).
fn balance(rng: &mut SmallRng, near_reserve: bool) -> Fen {
    /// (from, to exclusive, weight) in fen.
    const BUCKETS: [(i64, i64, u32); 7] = [
        (0, 50_000, 10),
        (50_000, 150_000, 20),
        (150_000, 300_000, 20),
        (300_000, 600_000, 22),
        (600_000, 1_000_000, 15),
        (1_000_000, 1_500_000, 9),
        (1_500_000, 2_000_001, 4),
    ];
    const NEAR_RESERVE: (i64, i64, u32) = (80_000, 120_000, 14);
    let extra = near_reserve.then_some(NEAR_RESERVE);
    let total: u32 = BUCKETS.iter().chain(extra.iter()).map(|b| b.2).sum();
    let mut pick = rng.gen_range(0..total);
    for &(lo, hi, w) in BUCKETS.iter().chain(extra.iter()) {
        if pick < w {
            return Fen::from_fen(rng.gen_range(lo..hi));
        }
        pick -= w;
    }
    Fen::ZERO
}

impl Generator<'_> {
    fn add_household(
        &mut self,
        region_index: u16,
        region: &RegionSpec,
        employers: &Employers,
        members: &[Member],
    ) {
        let household = self.household;
        self.household += 1;
        let home = self.rng.gen_range(0..region.districts.len());
        let mut facts = [Facts {
            index: 0,
            employee: false,
            normal: false,
            public_medical: false,
        }; 8];
        for (k, m) in members.iter().enumerate().take(facts.len()) {
            facts[k] = self.add_person(region_index, region, employers, m, home, household);
        }
        self.add_candidates(region, members, &facts[..members.len().min(facts.len())]);
    }

    fn add_person(
        &mut self,
        region_index: u16,
        region: &RegionSpec,
        employers: &Employers,
        m: &Member,
        home: usize,
        household: u32,
    ) -> Facts {
        let index = self.persons.len();
        let rng = &mut *self.rng;
        let district = if rng.gen_bool(0.75) {
            region.districts[home]
        } else {
            region.districts[rng.gen_range(0..region.districts.len())]
        };

        // ID number: district, birth date, a sequence whose last digit is odd for men.
        let ymd = u64::from(m.birth.year() as u32) * 10_000
            + u64::from(m.birth.month()) * 100
            + u64::from(m.birth.day());
        let base = u64::from(district.code) * 100_000_000_000 + ymd * 1_000;
        let mut first17 = base;
        for _ in 0..200 {
            let seq =
                rng.gen_range(0..100u64) * 10 + rng.gen_range(0..5u64) * 2 + u64::from(m.male);
            first17 = base + seq;
            if self.certnos.insert(first17) {
                break;
            }
        }
        let mut certno = String::with_capacity(18);
        let _ = write!(certno, "{first17:017}");
        let check = idcard::check_char(&certno).unwrap_or('0');
        certno.push(check);

        // Insurance.
        let retire_age = if m.male { 60 } else { 55 };
        let (employee, retired) = if m.age < 18 {
            (false, false)
        } else if m.age < 23 {
            (rng.gen_bool(0.15), false)
        } else if m.age < retire_age {
            let p = match m.role {
                Role::Anchor => 0.9,
                Role::Spouse | Role::Child => 0.7,
                Role::Sibling => 0.65,
                _ => 0.6,
            };
            (rng.gen_bool(p), false)
        } else {
            let p = match m.role {
                Role::Anchor => 0.7,
                Role::Spouse | Role::Sibling => 0.5,
                Role::Parent | Role::Grandparent { .. } => 0.45,
                _ => 0.4,
            };
            (rng.gen_bool(p), true)
        };
        let (insutype, psn_type) = match (employee, retired) {
            (true, false) => (Insutype::Employee, PSN_TYPE_EMPLOYED),
            (true, true) => (Insutype::Employee, PSN_TYPE_RETIRED),
            (false, _) if m.age < 18 => (Insutype::Resident, PSN_TYPE_RESIDENT_MINOR),
            (false, _) => (Insutype::Resident, PSN_TYPE_RESIDENT_ADULT),
        };
        let civil_servant = employee && rng.gen_bool(if retired { 0.03 } else { 0.045 });
        let emp_name = if !employee {
            String::new()
        } else if civil_servant {
            employers.government(rng)
        } else {
            employers.company(rng)
        };
        let public_medical = region.rules.public_medical && m.age >= 22 && rng.gen_bool(0.025);
        let status = match rng.gen_range(0..100) {
            0..=2 => InsuStatus::Paused,
            3 => InsuStatus::Terminated,
            _ => InsuStatus::Normal,
        };

        let mut psn_no = String::with_capacity(14);
        let _ = write!(psn_no, "{}{:08}", region.admdvs, index + 1);
        let prefix = PHONE_PREFIXES[rng.gen_range(0..PHONE_PREFIXES.len())];
        let tail = (index as u64 % PHONE_MOD * PHONE_MUL + self.phone_add) % PHONE_MOD;
        let mut phone = String::with_capacity(11);
        let _ = write!(phone, "{prefix}{tail:08}");

        if employee {
            let near_reserve = region.admdvs.province() == 14;
            self.accounts.push(AccountRow {
                psn_no: psn_no.clone(),
                balance: balance(rng, near_reserve),
            });
        }
        let psn_name = names::full_name(rng, m.surname, m.male);
        self.persons.push(PersonRow {
            psn_no,
            certno,
            psn_name,
            gend: if m.male { Gender::Male } else { Gender::Female },
            brdy: m.birth,
            insutype,
            psn_type: psn_type.to_string(),
            admdvs: region.admdvs,
            psn_insu_stas: status,
            cvlserv_flag: civil_servant,
            public_medical,
            emp_name,
            phone,
        });
        self.meta.push(Meta {
            region: region_index,
            household,
        });
        Facts {
            index: index as u32,
            employee,
            normal: status == InsuStatus::Normal,
            public_medical,
        }
    }

    fn add_candidates(&mut self, region: &RegionSpec, members: &[Member], facts: &[Facts]) {
        let rules = region.rules;
        let excluded = |f: &Facts| rules.public_medical && f.public_medical;
        let can_hold = |k: usize| {
            let f = &facts[k];
            f.employee
                && f.normal
                && !excluded(f)
                && members[k].age >= 18
                && matches!(members[k].role, Role::Anchor | Role::Spouse | Role::Child)
        };
        let holders: Vec<usize> = if rules.one_way_single_holder {
            (0..facts.len())
                .find(|&k| can_hold(k))
                .into_iter()
                .collect()
        } else {
            (0..facts.len()).filter(|&k| can_hold(k)).collect()
        };
        let anchor_male = members.first().is_some_and(|m| m.male);
        let generic_spouse = self.rng.gen_bool(0.1);
        let begin_min = days(BEGIN_MIN);
        let begin_max = days(BEGIN_MAX);
        for &h in &holders {
            let holder = &members[h];
            let adult = days(holder.birth) + 18 * 365 + 5;
            for (r, relative) in members.iter().enumerate() {
                if r == h || !facts[r].normal || excluded(&facts[r]) {
                    continue;
                }
                let Some(code) = relation(holder, relative, anchor_male, generic_spouse) else {
                    continue;
                };
                let Some(relationship) = Relationship::from_code(code) else {
                    continue;
                };
                let extended = matches!(
                    relationship.class(),
                    RelationClass::Sibling | RelationClass::Grandparent | RelationClass::Grandchild
                );
                let mut earliest = begin_min.max(days(relative.birth)).max(adult);
                if extended {
                    match rules.extended_from {
                        Some(from) => earliest = earliest.max(days(from)),
                        None => continue,
                    }
                }
                if earliest > begin_max {
                    continue;
                }
                self.candidates.push(Candidate {
                    holder: facts[h].index,
                    relative: facts[r].index,
                    code,
                    earliest,
                });
            }
        }
    }
}
