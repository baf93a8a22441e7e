//! Personal data that must not leak into logs: ID numbers, names, phone numbers.
//!
//! `Debug` and `Display` show the masked form; the full value is read only by
//! calling `reveal()`, which makes every such place easy to find.

use std::fmt;

use crate::small_str::SmallStr;

macro_rules! masked {
    ($(#[$m:meta])* $name:ident, $mask:ident) => {
        $(#[$m])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(SmallStr);

        impl $name {
            /// Short values (all real ones) are kept inline, without a heap allocation.
            pub fn new(value: impl Into<SmallStr>) -> $name {
                $name(value.into())
            }

            /// The full value, for the person themself or an authorised, audited read.
            pub fn reveal(&self) -> &str {
                self.0.as_str()
            }

            pub fn masked(&self) -> String {
                $mask(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.masked())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.masked())
            }
        }
    };
}

masked!(
    /// An 18-digit resident ID number (身份证号).
    CertNo,
    mask_certno
);
masked!(
    /// A person's name.
    PersonName,
    mask_name
);
masked!(
    /// A mobile phone number.
    Phone,
    mask_phone
);

/// `370302199001010114` → `3703**********0114`.
pub fn mask_certno(v: &str) -> String {
    mask_middle(v, 4, 4)
}

/// `张三` → `张*`, `张建国` → `张*国`, `欧阳建国` → `欧**国`.
pub fn mask_name(v: &str) -> String {
    let chars: Vec<char> = v.chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".to_string(),
        2 => format!("{}*", chars[0]),
        n => {
            let mut s = String::new();
            s.push(chars[0]);
            s.extend(std::iter::repeat_n('*', n - 2));
            s.push(chars[n - 1]);
            s
        }
    }
}

/// `13812345678` → `138****5678`.
pub fn mask_phone(v: &str) -> String {
    mask_middle(v, 3, 4)
}

/// The fields of a person that are encrypted at rest where the deployment enables it, and
/// found again through a keyed hash of their normalised value (the store's `privacy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PiiField {
    CertNo,
    Phone,
}

impl PiiField {
    /// Names the field in the keyed hash and the cipher's associated data, so the same
    /// digits as a phone number and as an ID number never hash or open alike.
    pub fn tag(self) -> &'static str {
        match self {
            PiiField::CertNo => "certno",
            PiiField::Phone => "phone",
        }
    }

    /// The form every look-up and every stored value is hashed in: what a clerk or a
    /// person types and what the registry holds meet here.
    pub fn normalise(self, value: &str) -> String {
        match self {
            PiiField::CertNo => normalise_certno(value),
            PiiField::Phone => normalise_phone(value),
        }
    }
}

/// An ID number as stored: no surrounding space, the check character `X` in upper case
/// (`37060220050612002x` → `37060220050612002X`).
pub fn normalise_certno(v: &str) -> String {
    v.trim().to_ascii_uppercase()
}

/// A phone number as stored: spaces and hyphens people type between groups of digits left
/// out (`138 0000-5678` → `13800005678`).
pub fn normalise_phone(v: &str) -> String {
    v.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect()
}

fn mask_middle(v: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = v.chars().collect();
    if chars.len() <= head + tail {
        return "*".repeat(chars.len());
    }
    let mut s: String = chars[..head].iter().collect();
    s.extend(std::iter::repeat_n('*', chars.len() - head - tail));
    s.extend(&chars[chars.len() - tail..]);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_as_design_says() {
        assert_eq!(mask_certno("370302199001010114"), "3703**********0114");
        assert_eq!(mask_name("张建国"), "张*国");
        assert_eq!(mask_name("李四"), "李*");
        assert_eq!(mask_phone("13812345678"), "138****5678");
        let c = CertNo::new("370302199001010114");
        assert_eq!(format!("{c:?}"), "CertNo(3703**********0114)");
        assert!(!format!("{c}").contains("19900101"));
    }

    #[test]
    fn look_ups_meet_the_stored_form() {
        assert_eq!(
            PiiField::CertNo.normalise(" 37060220050612002x "),
            "37060220050612002X"
        );
        assert_eq!(PiiField::Phone.normalise("138 0000-5678"), "13800005678");
        assert_eq!(PiiField::Phone.normalise("13800005678"), "13800005678");
        assert_ne!(PiiField::CertNo.tag(), PiiField::Phone.tag());
    }
}
