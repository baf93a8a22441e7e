//! What a family relation says about the two persons' ID numbers, and how it reads from the
//! other side.
//!
//! A binding's relationship code (GB/T 4761) is the relative's relation to the holder ("my
//! mother" = 52). It implies the relative's sex (52 is a woman) and an order of birth (a
//! mother is older than her child), both of which the 18-digit ID numbers carry: the 17th
//! digit is odd for a man, even for a woman, and digits 7–14 are the birth date (GB 11643).
//! A declaration the ID numbers contradict is refused before anything is signed.
//!
//! The least gaps between generations are deliberately loose, to refuse only what cannot be
//! true, never an unusual family: a parent at least [`GENERATION_YEARS_MIN`] years older than
//! a (birth) child, a grandparent at least twice that. Adopted and step children (27, 37) need
//! only be younger; in-laws (28, 38, 53–56) and siblings' spouses are judged by sex alone, as
//! marriages set no age order.

use chrono::{Months, NaiveDate};

use crate::codes::Relationship;
use crate::idcard;
use crate::refusal::Refusal;

/// The least age gap, in years, between a parent and the child born to them.
pub const GENERATION_YEARS_MIN: u32 = 12;

/// The sex a relation code names for the relative; `None` for codes that name none
/// (配偶, 子女 in general, 兄弟姐妹, 其他).
pub fn implied_male(relationship: Relationship) -> Option<bool> {
    match relationship.code() {
        11 | 20..=29 | 41 | 43 | 51 | 53 | 55 | 61 | 63 | 71 | 73 | 76 | 78 => Some(true),
        12 | 30..=39 | 42 | 44 | 52 | 54 | 56 | 62 | 64 | 72 | 74 | 75 | 77 => Some(false),
        _ => None,
    }
}

/// How the relative's birth must lie against the holder's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BirthOrder {
    /// The relative is born at least this many years after the holder.
    YoungerBy(u32),
    /// The relative is born at least this many years before the holder.
    OlderBy(u32),
    /// Born after the holder, or the same day (a younger twin).
    YoungerOrTwin,
    /// Born before the holder, or the same day (an elder twin).
    OlderOrTwin,
    /// Born after the holder (adopted and step children).
    Younger,
    Any,
}

fn birth_order(relationship: Relationship) -> BirthOrder {
    match relationship.code() {
        27 | 37 => BirthOrder::Younger,
        20..=26 | 29 | 30..=36 | 39 => BirthOrder::YoungerBy(GENERATION_YEARS_MIN),
        40..=49 => BirthOrder::YoungerBy(2 * GENERATION_YEARS_MIN),
        50..=52 => BirthOrder::OlderBy(GENERATION_YEARS_MIN),
        60..=69 => BirthOrder::OlderBy(2 * GENERATION_YEARS_MIN),
        71 | 75 => BirthOrder::OlderOrTwin,
        73 | 77 => BirthOrder::YoungerOrTwin,
        _ => BirthOrder::Any,
    }
}

fn years_after(date: NaiveDate, years: u32) -> Option<NaiveDate> {
    date.checked_add_months(Months::new(years.checked_mul(12)?))
}

/// Checks a declared relation against both ID numbers: the relative's sex and the order of
/// the two births. An ID number that does not carry a valid birth date or sex digit is not
/// judged here (the registry validates ID numbers when persons are registered).
pub fn check_relation_plausible(
    holder_certno: &str,
    relative_certno: &str,
    relationship: Relationship,
) -> Result<(), Refusal> {
    if let (Some(male), Some(expected)) = (
        idcard::gender_digit_is_male(relative_certno),
        implied_male(relationship),
    ) {
        if male != expected {
            return Err(Refusal::RelationSexMismatch { relationship });
        }
    }
    let (Ok(holder), Ok(relative)) = (
        idcard::validate(holder_certno),
        idcard::validate(relative_certno),
    ) else {
        return Ok(());
    };
    let plausible = match birth_order(relationship) {
        BirthOrder::YoungerBy(years) => years_after(holder, years).is_some_and(|d| relative >= d),
        BirthOrder::OlderBy(years) => years_after(relative, years).is_some_and(|d| holder >= d),
        BirthOrder::YoungerOrTwin => relative >= holder,
        BirthOrder::OlderOrTwin => relative <= holder,
        BirthOrder::Younger => relative > holder,
        BirthOrder::Any => true,
    };
    if plausible {
        Ok(())
    } else {
        Err(Refusal::RelationAgeImplausible { relationship })
    }
}

/// The holder's relation to the relative: how the binding reads when the relative looks at
/// it ("my mother" seen by the mother is "my son" or "my daughter"). `holder_male` comes
/// from the holder's ID number; without it the code that names no sex is used. `None` where
/// GB/T 4761 has no code for the inverse (the spouse of one's sibling seen the other way).
pub fn holder_as_seen_by_relative(
    relationship: Relationship,
    holder_male: Option<bool>,
) -> Option<Relationship> {
    let by_sex = |male: u8, female: u8, either: u8| match holder_male {
        Some(true) => male,
        Some(false) => female,
        None => either,
    };
    let code = match relationship.code() {
        10..=12 => by_sex(11, 12, 10),
        28 => by_sex(55, 56, 97),
        38 => by_sex(53, 54, 97),
        20..=39 => by_sex(51, 52, 50),
        40 => 60,
        41 | 42 => by_sex(61, 62, 60),
        43 | 44 => by_sex(63, 64, 60),
        50..=52 => by_sex(20, 30, 29),
        53 | 54 => 38,
        55 | 56 => 28,
        60 => 40,
        61 | 62 => by_sex(41, 42, 40),
        63 | 64 => by_sex(43, 44, 40),
        70 => 70,
        71 | 75 => by_sex(73, 77, 70),
        73 | 77 => by_sex(71, 75, 70),
        97 => 97,
        99 => 99,
        _ => return None,
    };
    Relationship::from_code(code)
}

/// [`holder_as_seen_by_relative`] in Chinese, with the holder's sex read from his ID number.
pub fn holder_as_seen_by_relative_zh(
    relationship: Relationship,
    holder_certno: &str,
) -> &'static str {
    match holder_as_seen_by_relative(relationship, idcard::gender_digit_is_male(holder_certno)) {
        Some(r) => r.name_zh(),
        None => "配偶的兄弟姐妹",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid ID number born on `birth` (yyyymmdd); `male` sets the 17th digit.
    fn id(birth: &str, male: bool) -> String {
        let first17 = format!("370303{birth}01{}", if male { 1 } else { 2 });
        format!("{first17}{}", idcard::check_char(&first17).unwrap())
    }

    fn rel(code: u8) -> Relationship {
        Relationship::from_code(code).unwrap()
    }

    fn check(holder: &str, relative: &str, code: u8) -> Result<(), &'static str> {
        check_relation_plausible(holder, relative, rel(code)).map_err(|r| r.code())
    }

    #[test]
    fn a_68_year_old_woman_is_no_son() {
        let holder = id("19850301", false);
        let mother = id("19570101", false);
        assert_eq!(check(&holder, &mother, 20), Err("GJ-BIND-RELATION-SEX"));
        // As "daughter" she has the right sex but is older than the holder.
        assert_eq!(check(&holder, &mother, 30), Err("GJ-BIND-RELATION-AGE"));
        assert_eq!(check(&holder, &mother, 52), Ok(()));
        assert_eq!(check(&holder, &mother, 51), Err("GJ-BIND-RELATION-SEX"));
    }

    #[test]
    fn generations_keep_their_order_and_least_gaps() {
        let holder = id("19800601", true);
        // A child 12 years younger to the day is possible, a day less is not.
        assert_eq!(check(&holder, &id("19920601", true), 21), Ok(()));
        assert_eq!(
            check(&holder, &id("19920531", true), 21),
            Err("GJ-BIND-RELATION-AGE")
        );
        // Step and adopted children need only be younger.
        assert_eq!(check(&holder, &id("19850101", false), 37), Ok(()));
        assert_eq!(
            check(&holder, &id("19790101", false), 37),
            Err("GJ-BIND-RELATION-AGE")
        );
        // Parents at least 12 years older, grandparents 24.
        assert_eq!(check(&holder, &id("19680601", true), 51), Ok(()));
        assert_eq!(
            check(&holder, &id("19700101", true), 51),
            Err("GJ-BIND-RELATION-AGE")
        );
        assert_eq!(check(&holder, &id("19560101", false), 62), Ok(()));
        assert_eq!(
            check(&holder, &id("19600101", false), 62),
            Err("GJ-BIND-RELATION-AGE")
        );
        assert_eq!(check(&holder, &id("20040601", false), 42), Ok(()));
        assert_eq!(
            check(&holder, &id("20000601", false), 42),
            Err("GJ-BIND-RELATION-AGE")
        );
        // Elder and younger siblings; twins either way.
        assert_eq!(check(&holder, &id("19780101", true), 71), Ok(()));
        assert_eq!(
            check(&holder, &id("19820101", true), 71),
            Err("GJ-BIND-RELATION-AGE")
        );
        assert_eq!(check(&holder, &id("19800601", false), 77), Ok(()));
        assert_eq!(
            check(&holder, &id("19790101", false), 77),
            Err("GJ-BIND-RELATION-AGE")
        );
        // In-laws and spouses: sex only.
        assert_eq!(check(&holder, &id("19500101", false), 12), Ok(()));
        assert_eq!(
            check(&holder, &id("19500101", true), 12),
            Err("GJ-BIND-RELATION-SEX")
        );
        assert_eq!(check(&holder, &id("19850101", true), 28), Ok(()));
        assert_eq!(check(&holder, &id("19900101", true), 10), Ok(()));
    }

    #[test]
    fn each_relation_reads_from_the_other_side() {
        let mother = id("19570101", false);
        let father = id("19550101", true);
        // The holder binds his or her mother (52); the mother sees her son or daughter.
        let seen = |code: u8, holder: &str| holder_as_seen_by_relative_zh(rel(code), holder);
        assert_eq!(seen(52, &id("19850301", false)), "女");
        assert_eq!(seen(52, &id("19850301", true)), "子");
        // A parent binds a daughter (30): she sees her mother or father.
        assert_eq!(seen(30, &mother), "母亲");
        assert_eq!(seen(31, &father), "父亲");
        assert_eq!(seen(12, &father), "夫");
        assert_eq!(seen(11, &mother), "妻");
        assert_eq!(seen(10, &mother), "妻");
        assert_eq!(seen(73, &father), "兄");
        assert_eq!(seen(75, &mother), "妹妹");
        assert_eq!(seen(44, &mother), "外祖母");
        assert_eq!(seen(61, &father), "孙子");
        assert_eq!(seen(38, &mother), "婆婆");
        assert_eq!(seen(55, &father), "女婿");
        assert_eq!(seen(72, &mother), "配偶的兄弟姐妹");
        // Every code's inverse names the holder's sex where the code has one (a spouse's
        // parents name the holder's marriage instead: 公公 is a wife's, 岳父 a husband's).
        for code in 10..=99u8 {
            let Some(r) = Relationship::from_code(code) else {
                continue;
            };
            if (53..=56).contains(&code) {
                continue;
            }
            for male in [true, false] {
                if let Some(inverse) = holder_as_seen_by_relative(r, Some(male)) {
                    if let Some(m) = implied_male(inverse) {
                        assert_eq!(m, male, "{code} seen back as {inverse}");
                    }
                }
            }
        }
    }
}
