//! Synthetic, reproducible populations in the import CSV format, from a demo town of
//! 10,000 people in the five seed regions to a province of a million.
//!
//! Everything is drawn from one seed: the same [`PopulationSpec`] gives the same rows and
//! byte-identical files. Nothing here reads the clock; ages are taken on [`AS_OF`].
//!
//! ```no_run
//! let spec = gongji_demo::demo_spec();
//! let pop = gongji_demo::generate(&spec, &mut |_done, _total| {});
//! gongji_demo::write_csv_dir(&pop, std::path::Path::new("demo-data"))?;
//! println!("{}", pop.summary());
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Files (UTF-8, header row, amounts in yuan with 2 decimals, dates `yyyy-MM-dd`):
//! `persons.csv`, `accounts.csv`, `institutions.csv`, `bindings.csv`, `catalog.csv`;
//! the headers are [`PERSONS_HEADER`] and its siblings.

mod agencies;
mod catalog;
mod csv_out;
mod institutions;
mod invalid;
mod names;
mod people;
pub mod regions;
mod summary;

use chrono::{Datelike, NaiveDate};
use gongji_core::codes::{
    Admdvs, ChargeLevel, Gender, HospitalLevel, InstitutionKind, InsuStatus, Insutype, Relationship,
};
use gongji_core::{BasisPoints, Fen};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

pub use csv_out::{
    write_accounts, write_agencies, write_bindings, write_catalog, write_csv_dir,
    write_institutions, write_persons, ACCOUNTS_FILE, ACCOUNTS_HEADER, AGENCIES_FILE,
    AGENCIES_HEADER, BINDINGS_FILE, BINDINGS_HEADER, CATALOG_FILE, CATALOG_HEADER,
    INSTITUTIONS_FILE, INSTITUTIONS_HEADER, PERSONS_FILE, PERSONS_HEADER,
};
pub use regions::{BindingRules, District, RegionSpec};
pub use summary::{DemoSummary, RegionSummary};

/// The day on which ages are taken and after which nobody is born.
pub const AS_OF: NaiveDate = match NaiveDate::from_ymd_opt(2026, 11, 1) {
    Some(date) => date,
    None => panic!("invalid date"),
};
/// Bindings begin between these days (inclusive).
pub const BEGIN_MIN: NaiveDate = match NaiveDate::from_ymd_opt(2023, 1, 1) {
    Some(date) => date,
    None => panic!("invalid date"),
};
pub const BEGIN_MAX: NaiveDate = match NaiveDate::from_ymd_opt(2026, 10, 31) {
    Some(date) => date,
    None => panic!("invalid date"),
};

/// The default size of [`province_spec`].
pub const PROVINCE_PERSONS: usize = 1_000_000;

/// psn_type codes used here.
pub const PSN_TYPE_EMPLOYED: &str = "11";
pub const PSN_TYPE_RETIRED: &str = "21";
pub const PSN_TYPE_RESIDENT_ADULT: &str = "1501";
pub const PSN_TYPE_RESIDENT_MINOR: &str = "1502";

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct PopulationSpec {
    /// Exactly this many persons (households are cut to fit).
    pub persons: usize,
    /// Exactly this many institutions, split over the regions by weight.
    pub institutions: usize,
    /// How many bindings to keep of those the families allow (all of them if fewer);
    /// `None`: half of them.
    pub bindings_target: Option<usize>,
    pub seed: u64,
    pub regions: Vec<RegionSpec>,
    /// Append a few binding rows that break a rule (listed in [`Population::invalid_rows`]),
    /// for import tests.
    pub include_invalid_rows: bool,
}

/// About 10,000 persons in the five seed regions (Yantai, Zibo, Jinan, Shanxi as Taiyuan,
/// Yuncheng) and 130 institutions.
pub fn demo_spec() -> PopulationSpec {
    PopulationSpec {
        persons: 10_000,
        institutions: 130,
        bindings_target: None,
        seed: 4761,
        regions: regions::seed_regions(),
        include_invalid_rows: false,
    }
}

/// Shandong's 16 cities at scale: `persons` persons (default [`PROVINCE_PERSONS`]), 30% as
/// many bindings and one institution per 200 persons (1,000,000 → 300,000 and 5,000).
pub fn province_spec(persons: usize) -> PopulationSpec {
    PopulationSpec {
        persons,
        institutions: (persons / 200).max(32),
        bindings_target: Some(persons / 10 * 3),
        seed: 370_000,
        regions: regions::shandong_cities(),
        include_invalid_rows: false,
    }
}

/// Shanxi at the same scale as [`province_spec`], in the two Shanxi cities the presets know
/// (Taiyuan under the province's rules, Yuncheng with its resident contribution standards),
/// so a workload can pay relatives' premiums as well as settle.
pub fn shanxi_province_spec(persons: usize) -> PopulationSpec {
    PopulationSpec {
        seed: 140_000,
        regions: regions::shanxi_cities(),
        ..province_spec(persons)
    }
}

/// One line of persons.csv.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonRow {
    pub psn_no: String,
    pub certno: String,
    pub psn_name: String,
    pub gend: Gender,
    pub brdy: NaiveDate,
    pub insutype: Insutype,
    pub psn_type: String,
    pub admdvs: Admdvs,
    pub psn_insu_stas: InsuStatus,
    pub cvlserv_flag: bool,
    pub public_medical: bool,
    pub emp_name: String,
    pub phone: String,
}

/// One line of accounts.csv: an employee's personal-account balance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRow {
    pub psn_no: String,
    pub balance: Fen,
}

/// One line of institutions.csv.
#[derive(Clone, Debug, PartialEq)]
pub struct InstitutionRow {
    pub fixmedins_code: String,
    pub fixmedins_name: String,
    pub fixmedins_type: InstitutionKind,
    pub hosp_lv: HospitalLevel,
    pub admdvs: Admdvs,
    /// Degrees with at most 6 decimals (exact when printed with 6).
    pub lat: f64,
    pub lon: f64,
    pub mutual_aid: bool,
    pub paasid: String,
    pub token: String,
    pub address: String,
    pub phone: String,
    pub opening_hours: String,
}

/// One line of agencies.csv: a medical-insurance agency (经办机构).
#[derive(Clone, Debug, PartialEq)]
pub struct AgencyRow {
    pub agency_code: String,
    pub agency_name: String,
    pub admdvs: Admdvs,
    pub lat: f64,
    pub lon: f64,
    pub address: String,
    pub phone: String,
    pub opening_hours: String,
}

/// One line of bindings.csv; the relationship is what the relative is to the holder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindingRow {
    pub holder_psn_no: String,
    pub relative_psn_no: String,
    pub relationship: Relationship,
    pub begin_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub limit_per_payment: Option<Fen>,
}

/// One line of catalog.csv.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogRow {
    pub med_list_codg: String,
    pub med_list_name: String,
    pub chrgitm_lv: ChargeLevel,
    pub pric_uplmt_amt: Option<Fen>,
    /// Class B's 先行自付比例, whole percent; printed as "0.10".
    pub selfpay_prop: BasisPoints,
}

/// A row put in on purpose to break a rule (only with `include_invalid_rows`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidRow {
    /// The file, e.g. "bindings.csv".
    pub file: &'static str,
    /// 0-based data row in that file (the header is not counted).
    pub row: usize,
    /// The requirement it breaks, e.g. "R-Z2".
    pub rule: &'static str,
    pub reason_zh: &'static str,
}

/// A generated population, rows in file order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Population {
    pub persons: Vec<PersonRow>,
    pub accounts: Vec<AccountRow>,
    pub institutions: Vec<InstitutionRow>,
    pub agencies: Vec<AgencyRow>,
    pub bindings: Vec<BindingRow>,
    pub catalog: Vec<CatalogRow>,
    pub invalid_rows: Vec<InvalidRow>,
}

impl Population {
    pub fn summary(&self) -> DemoSummary {
        DemoSummary::of(self)
    }
}

/// An independent random stream per part, so that e.g. the institutions do not change
/// when the number of persons does.
fn stream(seed: u64, part: u64) -> SmallRng {
    // splitmix64 of the pair.
    let mut z = seed ^ part.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    SmallRng::seed_from_u64(z ^ (z >> 31))
}

/// Generates the population. `progress(done, total)` is called about every 1% of persons
/// and once at the end.
pub fn generate(spec: &PopulationSpec, progress: &mut dyn FnMut(usize, usize)) -> Population {
    let mut rng = stream(spec.seed, 1);
    let people = people::generate(spec, &mut rng, progress);

    let mut rng = stream(spec.seed, 2);
    let selected = select_candidates(&mut rng, people.candidates.len(), spec.bindings_target);
    let mut bindings = Vec::with_capacity(selected.len());
    let mut chosen = Vec::with_capacity(selected.len());
    for i in selected {
        let c = people.candidates[i];
        if let Some(row) = binding_row(&mut rng, &people.persons, c) {
            bindings.push(row);
            chosen.push(c);
        }
    }

    let mut rng = stream(spec.seed, 3);
    let institutions = institutions::generate(spec, &mut rng);

    let mut pop = Population {
        persons: people.persons,
        accounts: people.accounts,
        institutions,
        agencies: agencies::generate(spec),
        bindings,
        catalog: catalog::rows(),
        invalid_rows: Vec::new(),
    };
    if spec.include_invalid_rows {
        invalid::append(&mut pop, spec, &people.meta, &people.candidates, &chosen);
    }
    pop
}

fn select_candidates(rng: &mut SmallRng, n: usize, target: Option<usize>) -> Vec<usize> {
    let want = target.unwrap_or(n / 2);
    if want >= n {
        return (0..n).collect();
    }
    let mut picked = rand::seq::index::sample(rng, n, want).into_vec();
    picked.sort_unstable();
    picked
}

const LIMITS_YUAN: [i64; 7] = [100, 200, 300, 500, 800, 1000, 2000];

fn binding_row(
    rng: &mut SmallRng,
    persons: &[PersonRow],
    c: people::Candidate,
) -> Option<BindingRow> {
    let relationship = Relationship::from_code(c.code)?;
    let holder = persons.get(c.holder as usize)?;
    let relative = persons.get(c.relative as usize)?;
    let last = BEGIN_MAX.num_days_from_ce();
    let first = c.earliest.min(last);
    let begin = NaiveDate::from_num_days_from_ce_opt(rng.gen_range(first..=last))?;
    let end_date = if rng.gen_bool(0.10) {
        NaiveDate::from_num_days_from_ce_opt(begin.num_days_from_ce() + rng.gen_range(30..=730))
    } else {
        None
    };
    let limit_per_payment = if rng.gen_bool(0.30) {
        Some(Fen::from_yuan(
            LIMITS_YUAN[rng.gen_range(0..LIMITS_YUAN.len())],
        ))
    } else {
        None
    };
    Some(BindingRow {
        holder_psn_no: holder.psn_no.clone(),
        relative_psn_no: relative.psn_no.clone(),
        relationship,
        begin_date: begin,
        end_date,
        limit_per_payment,
    })
}

/// Appends `yyyy-MM-dd`.
pub(crate) fn push_date(buf: &mut String, date: NaiveDate) {
    use std::fmt::Write;
    let _ = write!(
        buf,
        "{:04}-{:02}-{:02}",
        date.year(),
        date.month(),
        date.day()
    );
}
