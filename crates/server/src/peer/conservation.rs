//! R-N3's promise over two provinces' books: for each holder, what one province says it
//! granted and got back against what the other says it credited, holds, spent and returned
//! (`gongji_core::quota::check_conservation`), in both directions.

use gongji_core::quota::{self, Discrepancy, QuotaPosition, RelativeSide};

use super::ledger::Figures;

/// One holder's quota between two provinces, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HolderCheck {
    /// The holder's province and the relative's.
    pub holder_province: u32,
    pub relative_province: u32,
    pub holder_psn_no: String,
    pub outcome: Result<QuotaPosition, Discrepancy>,
}

/// Checks every holder either province knows about, each against the other's books.
pub fn check(a: u32, a_books: &Figures, b: u32, b_books: &Figures) -> Vec<HolderCheck> {
    let mut out = one_way(a, a_books, b, b_books);
    out.extend(one_way(b, b_books, a, a_books));
    out
}

fn one_way(
    holder_province: u32,
    holders: &Figures,
    relative_province: u32,
    relatives: &Figures,
) -> Vec<HolderCheck> {
    let mut names: Vec<&String> = holders
        .holders
        .iter()
        .map(|(h, _)| h)
        .chain(relatives.relatives.iter().map(|(h, _)| h))
        .collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|holder| {
            let a = holders
                .holders
                .iter()
                .find(|(h, _)| h == holder)
                .map(|(_, side)| side.clone())
                .unwrap_or_default();
            let outcome = merged(relatives, holder).and_then(|b| quota::check_conservation(&a, &b));
            HolderCheck {
                holder_province,
                relative_province,
                holder_psn_no: holder.clone(),
                outcome,
            }
        })
        .collect()
}

/// The holder's quotas for all their relatives in one province, as one side.
fn merged(relatives: &Figures, holder: &str) -> Result<RelativeSide, Discrepancy> {
    let mut out = RelativeSide::default();
    for (_, side) in relatives.relatives.iter().filter(|(h, _)| h == holder) {
        out.quota = out
            .quota
            .checked_add(side.quota)
            .ok_or(Discrepancy::Overflow)?;
        out.spent = out
            .spent
            .checked_add(side.spent)
            .ok_or(Discrepancy::Overflow)?;
        out.grants_applied
            .extend(side.grants_applied.iter().cloned());
        out.returns_sent.extend(side.returns_sent.iter().cloned());
    }
    Ok(out)
}
