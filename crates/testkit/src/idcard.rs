//! Valid 18-digit ID numbers for test persons: district, birth date, a 3-digit sequence
//! (odd for men, even for women, as on a real card) and the check character.

use chrono::NaiveDate;

/// The ID number of the person born on `birth` (`yyyymmdd`) in `district` with sequence
/// `seq` (only its last three digits count).
pub fn certno_of(district: &str, birth: &str, seq: u16) -> String {
    let first17 = format!("{district}{birth}{:03}", seq % 1000);
    match gongji_core::idcard::check_char(&first17) {
        Some(check) => format!("{first17}{check}"),
        None => panic!("not 17 digits: {first17:?}"),
    }
}

/// [`certno_of`] with the birth date as a date.
pub fn certno(district: &str, birth: NaiveDate, seq: u16) -> String {
    certno_of(district, &birth.format("%Y%m%d").to_string(), seq)
}

/// `1` (male) for an odd sequence, `2` (female) for an even one: what the 17th digit says.
pub fn gend_of(seq: u16) -> &'static str {
    if seq % 2 == 1 {
        "1"
    } else {
        "2"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_check_character_and_sex() {
        let id = certno_of("370303", "19800101", 1);
        assert_eq!(id.len(), 18);
        assert!(gongji_core::idcard::validate(&id).is_ok());
        assert_eq!(gongji_core::idcard::gender_digit_is_male(&id), Some(true));
        assert_eq!(gend_of(1), "1");
        assert_eq!(gend_of(2), "2");
    }
}
