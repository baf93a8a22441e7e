//! What the institution interface refuses before any money rule runs: a transaction of the
//! other kind of institution, and a fee line whose amount is not its price times its count.

use crate::codes::InstitutionKind;
use crate::money::Fen;
use crate::refusal::Refusal;

/// Which kind of institution a transaction belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransactionKind {
    /// 2101–2103: a pharmacy's purchase, its pre-settlement and its cancel.
    Pharmacy,
    /// 2201–2208: a hospital visit from registration to its cancel.
    Hospital,
    /// Sign-in, person information, reconciliation: every institution.
    Any,
}

/// A pharmacy may not run a hospital visit (it could bill outpatient pooling it does not
/// provide) and a hospital may not sell as a pharmacy (the policy's pharmacy rules would
/// apply to it), so each kind calls only its own transactions.
pub fn may_call(kind: InstitutionKind, tx: TransactionKind) -> Result<(), Refusal> {
    match (tx, kind) {
        (TransactionKind::Pharmacy, InstitutionKind::Medical) => Err(Refusal::NotAPharmacy),
        (TransactionKind::Hospital, InstitutionKind::Pharmacy) => Err(Refusal::NotAHospital),
        _ => Ok(()),
    }
}

/// Micro-yuan × ten-thousandths of a unit = 10⁻¹⁰ yuan; a fen is 10⁸ of those.
const PRODUCT_UNITS_PER_FEN: i128 = 100_000_000;

/// Checks a fee line: `pric × cnt` must be `det_item_fee_sumamt` to within one fen, so any
/// way a HIS rounds the product to the fen (half up, down, up) passes and anything more is
/// refused. Exact: the price in micro-yuan (6 decimals) times the count in ten-thousandths
/// (4 decimals) is an integer of 10⁻¹⁰ yuan, compared in `i128`.
pub fn check_fee_line(
    feedetl_sn: &str,
    price_micro_yuan: i64,
    count_e4: i64,
    amount: Fen,
) -> Result<(), Refusal> {
    let product = i128::from(price_micro_yuan) * i128::from(count_e4);
    let declared = i128::from(amount.fen()) * PRODUCT_UNITS_PER_FEN;
    if (product - declared).abs() < PRODUCT_UNITS_PER_FEN {
        return Ok(());
    }
    Err(Refusal::FeeLineAmountMismatch {
        feedetl_sn: feedetl_sn.to_string(),
        price_times_count: yuan_text(product),
        amount,
    })
}

/// 10⁻¹⁰ yuan as yuan text with 2 to 10 decimals (trailing zeros past the fen dropped).
fn yuan_text(units: i128) -> String {
    const PER_YUAN: i128 = 10_000_000_000;
    let sign = if units < 0 { "-" } else { "" };
    let abs = units.abs();
    let fraction = format!("{:010}", abs % PER_YUAN);
    let trimmed = fraction.trim_end_matches('0');
    let decimals = if trimmed.len() < 2 {
        &fraction[..2]
    } else {
        trimmed
    };
    format!("{sign}{}.{decimals}", abs / PER_YUAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fen(f: i64) -> Fen {
        Fen::from_fen(f)
    }

    #[test]
    fn each_kind_calls_only_its_own_transactions() {
        use InstitutionKind::*;
        assert_eq!(may_call(Pharmacy, TransactionKind::Pharmacy), Ok(()));
        assert_eq!(may_call(Medical, TransactionKind::Hospital), Ok(()));
        assert_eq!(may_call(Medical, TransactionKind::Any), Ok(()));
        assert_eq!(may_call(Pharmacy, TransactionKind::Any), Ok(()));
        assert_eq!(
            may_call(Medical, TransactionKind::Pharmacy),
            Err(Refusal::NotAPharmacy)
        );
        assert_eq!(
            may_call(Pharmacy, TransactionKind::Hospital),
            Err(Refusal::NotAHospital)
        );
        assert_eq!(Refusal::NotAPharmacy.code(), "GJ-INST-NOT-PHARMACY");
        assert_eq!(Refusal::NotAHospital.code(), "GJ-INST-NOT-HOSPITAL");
    }

    #[test]
    fn a_line_within_a_fen_of_price_times_count_passes() {
        // 12.00 × 1 = 12.00
        assert_eq!(check_fee_line("1", 12_000_000, 10_000, fen(1200)), Ok(()));
        // 0.333333 × 3 = 0.999999: 1.00 (rounded) and 0.99 (cut) both pass.
        assert_eq!(check_fee_line("1", 333_333, 30_000, fen(100)), Ok(()));
        assert_eq!(check_fee_line("1", 333_333, 30_000, fen(99)), Ok(()));
        // 1.234567 × 2.5 = 3.0864175
        assert_eq!(check_fee_line("1", 1_234_567, 25_000, fen(309)), Ok(()));
        assert_eq!(check_fee_line("1", 1_234_567, 25_000, fen(308)), Ok(()));
        // Returns (negative counts) are checked the same way.
        assert_eq!(check_fee_line("1", 5_000_000, -20_000, fen(-1000)), Ok(()));
        // The largest inputs do not overflow.
        let max_price = 100_000_000 * 1_000_000;
        let max_count = 100_000_000 * 10_000;
        assert!(check_fee_line("1", max_price, max_count, fen(1)).is_err());
    }

    #[test]
    fn a_line_off_by_a_fen_or_more_is_refused_naming_it() {
        // 12.00 × 2 = 24.00, declared 12.00.
        let r = check_fee_line("L-7", 12_000_000, 20_000, fen(1200));
        assert_eq!(
            r,
            Err(Refusal::FeeLineAmountMismatch {
                feedetl_sn: "L-7".into(),
                price_times_count: "24.00".into(),
                amount: fen(1200),
            })
        );
        let e = r.err().map(|e| (e.code(), e.message_zh()));
        assert_eq!(
            e.as_ref().map(|e| e.0),
            Some("GJ-SETL-LINE-AMOUNT-MISMATCH")
        );
        assert!(e.is_some_and(|e| e.1.contains("L-7") && e.1.contains("24.00")));
        // 0.333333 × 3 = 0.999999: 1.01 is more than a fen away, as is 0.98.
        assert!(check_fee_line("1", 333_333, 30_000, fen(101)).is_err());
        assert!(check_fee_line("1", 333_333, 30_000, fen(98)).is_err());
        // Exactly one fen off is refused.
        assert!(check_fee_line("1", 12_000_000, 10_000, fen(1201)).is_err());
        assert_eq!(yuan_text(30_864_175_000), "3.0864175");
        assert_eq!(yuan_text(-10_000_000_000), "-1.00");
    }
}
