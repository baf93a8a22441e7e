//! The 18-digit resident ID number (GB 11643): structure and check digit.

use chrono::NaiveDate;

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// The check character for the first 17 digits; `None` if they are not 17 digits.
pub fn check_char(first17: &str) -> Option<char> {
    if first17.len() != 17 || !first17.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = first17
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    Some(CHECK_CHARS[(sum % 11) as usize])
}

/// Why an ID number is not valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdNumberError {
    Shape,
    BirthDate,
    CheckDigit,
}

/// Validates an 18-digit ID number and returns the birth date it carries.
pub fn validate(certno: &str) -> Result<NaiveDate, IdNumberError> {
    let bytes = certno.as_bytes();
    if bytes.len() != 18 || !bytes[..17].iter().all(u8::is_ascii_digit) {
        return Err(IdNumberError::Shape);
    }
    let birth = NaiveDate::parse_from_str(&certno[6..14], "%Y%m%d")
        .map_err(|_| IdNumberError::BirthDate)?;
    let expected = check_char(&certno[..17]).ok_or(IdNumberError::Shape)?;
    let last = char::from(bytes[17]).to_ascii_uppercase();
    if last != expected {
        return Err(IdNumberError::CheckDigit);
    }
    Ok(birth)
}

/// Gender from the 17th digit: odd male, even female.
pub fn gender_digit_is_male(certno: &str) -> Option<bool> {
    certno
        .as_bytes()
        .get(16)
        .filter(|b| b.is_ascii_digit())
        .map(|b| (b - b'0') % 2 == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_check_digits() {
        // The standard's worked example.
        assert_eq!(check_char("11010519491231002"), Some('X'));
        assert!(validate("11010519491231002X").is_ok());
        assert_eq!(
            validate("110105194912310021"),
            Err(IdNumberError::CheckDigit)
        );
        assert_eq!(
            validate("110105194913310021"),
            Err(IdNumberError::BirthDate)
        );
        assert_eq!(validate("1101051949"), Err(IdNumberError::Shape));
    }
}
