//! The import CSV files: UTF-8, a header row, `\n` line ends, amounts in yuan with two
//! decimals, dates `yyyy-MM-dd`, empty fields for "none".

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use gongji_core::{BasisPoints, Fen};

use crate::{
    push_date, AccountRow, AgencyRow, BindingRow, CatalogRow, InstitutionRow, PersonRow, Population,
};

pub const PERSONS_FILE: &str = "persons.csv";
pub const ACCOUNTS_FILE: &str = "accounts.csv";
pub const INSTITUTIONS_FILE: &str = "institutions.csv";
pub const BINDINGS_FILE: &str = "bindings.csv";
pub const CATALOG_FILE: &str = "catalog.csv";
pub const AGENCIES_FILE: &str = "agencies.csv";
pub const AGENCIES_HEADER: [&str; 8] = [
    "agency_code",
    "agency_name",
    "admdvs",
    "lat",
    "lon",
    "address",
    "phone",
    "opening_hours",
];

pub const PERSONS_HEADER: [&str; 13] = [
    "psn_no",
    "certno",
    "psn_name",
    "gend",
    "brdy",
    "insutype",
    "psn_type",
    "admdvs",
    "psn_insu_stas",
    "cvlserv_flag",
    "public_medical",
    "emp_name",
    "phone",
];
pub const ACCOUNTS_HEADER: [&str; 2] = ["psn_no", "balance"];
pub const INSTITUTIONS_HEADER: [&str; 13] = [
    "fixmedins_code",
    "fixmedins_name",
    "fixmedins_type",
    "hosp_lv",
    "admdvs",
    "lat",
    "lon",
    "mutual_aid",
    "paasid",
    "token",
    "address",
    "phone",
    "opening_hours",
];
pub const BINDINGS_HEADER: [&str; 6] = [
    "holder_psn_no",
    "relative_psn_no",
    "relationship",
    "begin_date",
    "end_date",
    "limit_per_payment",
];
pub const CATALOG_HEADER: [&str; 5] = [
    "med_list_codg",
    "med_list_name",
    "chrgitm_lv",
    "pric_uplmt_amt",
    "selfpay_prop",
];

fn writer<W: Write>(w: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(w)
}

fn flag(b: bool) -> &'static str {
    if b {
        "1"
    } else {
        "0"
    }
}

fn money(buf: &mut String, amount: Option<Fen>) -> &str {
    buf.clear();
    if let Some(a) = amount {
        let _ = write!(buf, "{a}");
    }
    buf
}

/// A fraction with two decimals, e.g. 0.10 (whole percents print exactly).
fn fraction(buf: &mut String, p: BasisPoints) -> &str {
    buf.clear();
    let bp = p.get();
    let _ = write!(buf, "{}.{:02}", bp / 10_000, bp % 10_000 / 100);
    if bp % 100 != 0 {
        let _ = write!(buf, "{:02}", bp % 100);
    }
    buf
}

pub fn write_persons<W: Write>(rows: &[PersonRow], w: W) -> io::Result<()> {
    let mut out = writer(w);
    out.write_record(PERSONS_HEADER)?;
    let (mut brdy, mut admdvs) = (String::new(), String::new());
    for r in rows {
        brdy.clear();
        push_date(&mut brdy, r.brdy);
        admdvs.clear();
        let _ = write!(admdvs, "{}", r.admdvs);
        out.write_record([
            r.psn_no.as_str(),
            &r.certno,
            &r.psn_name,
            r.gend.code(),
            &brdy,
            r.insutype.code(),
            &r.psn_type,
            &admdvs,
            r.psn_insu_stas.code(),
            flag(r.cvlserv_flag),
            flag(r.public_medical),
            &r.emp_name,
            &r.phone,
        ])?;
    }
    out.flush()
}

pub fn write_accounts<W: Write>(rows: &[AccountRow], w: W) -> io::Result<()> {
    let mut out = writer(w);
    out.write_record(ACCOUNTS_HEADER)?;
    let mut buf = String::new();
    for r in rows {
        out.write_record([r.psn_no.as_str(), money(&mut buf, Some(r.balance))])?;
    }
    out.flush()
}

pub fn write_institutions<W: Write>(rows: &[InstitutionRow], w: W) -> io::Result<()> {
    let mut out = writer(w);
    out.write_record(INSTITUTIONS_HEADER)?;
    let (mut admdvs, mut lat, mut lon) = (String::new(), String::new(), String::new());
    for r in rows {
        admdvs.clear();
        let _ = write!(admdvs, "{}", r.admdvs);
        lat.clear();
        let _ = write!(lat, "{:.6}", r.lat);
        lon.clear();
        let _ = write!(lon, "{:.6}", r.lon);
        out.write_record([
            r.fixmedins_code.as_str(),
            &r.fixmedins_name,
            r.fixmedins_type.code(),
            r.hosp_lv.code(),
            &admdvs,
            &lat,
            &lon,
            flag(r.mutual_aid),
            &r.paasid,
            &r.token,
            &r.address,
            &r.phone,
            &r.opening_hours,
        ])?;
    }
    out.flush()
}

pub fn write_bindings<W: Write>(rows: &[BindingRow], w: W) -> io::Result<()> {
    let mut out = writer(w);
    out.write_record(BINDINGS_HEADER)?;
    let (mut rel, mut begin, mut end, mut limit) =
        (String::new(), String::new(), String::new(), String::new());
    for r in rows {
        rel.clear();
        let _ = write!(rel, "{}", r.relationship);
        begin.clear();
        push_date(&mut begin, r.begin_date);
        end.clear();
        if let Some(e) = r.end_date {
            push_date(&mut end, e);
        }
        out.write_record([
            r.holder_psn_no.as_str(),
            &r.relative_psn_no,
            &rel,
            &begin,
            &end,
            money(&mut limit, r.limit_per_payment),
        ])?;
    }
    out.flush()
}

pub fn write_catalog<W: Write>(rows: &[CatalogRow], w: W) -> io::Result<()> {
    let mut out = writer(w);
    out.write_record(CATALOG_HEADER)?;
    let (mut cap, mut prop) = (String::new(), String::new());
    for r in rows {
        out.write_record([
            r.med_list_codg.as_str(),
            &r.med_list_name,
            r.chrgitm_lv.code(),
            money(&mut cap, r.pric_uplmt_amt),
            fraction(&mut prop, r.selfpay_prop),
        ])?;
    }
    out.flush()
}

pub fn write_agencies<W: Write>(rows: &[AgencyRow], w: W) -> io::Result<()> {
    let mut out = writer(w);
    out.write_record(AGENCIES_HEADER)?;
    for r in rows {
        out.write_record([
            r.agency_code.as_str(),
            r.agency_name.as_str(),
            &r.admdvs.to_string(),
            &format!("{:.6}", r.lat),
            &format!("{:.6}", r.lon),
            r.address.as_str(),
            r.phone.as_str(),
            r.opening_hours.as_str(),
        ])?;
    }
    out.flush()
}

fn create(dir: &Path, name: &str) -> io::Result<BufWriter<File>> {
    Ok(BufWriter::with_capacity(
        1 << 16,
        File::create(dir.join(name))?,
    ))
}

/// Writes the five files into `dir`, creating it if needed.
pub fn write_csv_dir(pop: &Population, dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    write_persons(&pop.persons, create(dir, PERSONS_FILE)?)?;
    write_accounts(&pop.accounts, create(dir, ACCOUNTS_FILE)?)?;
    write_institutions(&pop.institutions, create(dir, INSTITUTIONS_FILE)?)?;
    write_bindings(&pop.bindings, create(dir, BINDINGS_FILE)?)?;
    write_catalog(&pop.catalog, create(dir, CATALOG_FILE)?)?;
    write_agencies(&pop.agencies, create(dir, AGENCIES_FILE)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_print_with_two_decimals() {
        let mut buf = String::new();
        let f = |bp| BasisPoints::new(bp).unwrap_or(BasisPoints::ZERO);
        assert_eq!(fraction(&mut buf, f(1000)), "0.10");
        assert_eq!(fraction(&mut buf, f(500)), "0.05");
        assert_eq!(fraction(&mut buf, f(0)), "0.00");
        assert_eq!(fraction(&mut buf, f(10_000)), "1.00");
        assert_eq!(fraction(&mut buf, f(1234)), "0.1234");
        assert_eq!(money(&mut buf, Some(Fen::from_fen(1230))), "12.30");
        assert_eq!(money(&mut buf, None), "");
    }
}
