//! Code values that only the interface uses (settlement way, clearing type, reconciliation
//! result, the 2205 batch selector), and how the core's code types go onto the wire.
//!
//! The core's code types (`CertType`, `Insutype`, ...) have no serde; [`WireCode`] gives them
//! one serialization: their exact wire code as a JSON string.

use std::fmt;

use gongji_core::codes::{
    AccountUse, Admdvs, CertType, Channel, ChargeLevel, Gender, InsuStatus, Insutype, MedType,
};
use serde::{Serialize, Serializer};

/// A code type with one exact wire spelling per value.
pub trait WireCode {
    fn wire_code(&self) -> &'static str;
}

macro_rules! core_wire_code {
    ($($t:ty),+) => {
        $(impl WireCode for $t {
            fn wire_code(&self) -> &'static str {
                self.code()
            }
        })+
    };
}

core_wire_code!(
    AccountUse,
    CertType,
    Channel,
    ChargeLevel,
    Gender,
    InsuStatus,
    Insutype,
    MedType
);

/// `#[serde(serialize_with = "gongji_nhsa::wire_codes::serialize_code")]`.
pub fn serialize_code<T: WireCode, S: Serializer>(code: &T, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(code.wire_code())
}

/// An admdvs as its 6-digit string.
pub fn serialize_admdvs<S: Serializer>(a: &Admdvs, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(a)
}

/// A flag as the interface sends flags: the string `"1"` or `"0"`.
pub fn serialize_flag<S: Serializer>(flag: &bool, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(if *flag { "1" } else { "0" })
}

/// Parses a `"1"`/`"0"` flag.
pub fn parse_flag(code: &str) -> Option<bool> {
    match code.trim() {
        "1" => Some(true),
        "0" => Some(false),
        _ => None,
    }
}

macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $code:literal, $zh:literal;)+ }) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
        pub enum $name { $($(#[$vm])* $variant,)+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            pub fn parse(code: &str) -> Option<$name> {
                match code.trim() { $($code => Some($name::$variant),)+ _ => None }
            }

            pub const fn code(self) -> &'static str {
                match self { $($name::$variant => $code,)+ }
            }

            pub const fn name_zh(self) -> &'static str {
                match self { $($name::$variant => $zh,)+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.code())
            }
        }

        impl WireCode for $name {
            fn wire_code(&self) -> &'static str {
                self.code()
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.code())
            }
        }
    };
}

wire_enum!(
    /// psn_setlway.
    SetlWay {
        ByItem = "01", "按项目结算";
        ByQuota = "02", "按定额结算";
    }
);

wire_enum!(
    /// clr_type: the clearing categories this interface serves.
    ClrType {
        Outpatient = "11", "门诊";
        ChronicOutpatient = "14", "门诊慢特病";
        Inpatient = "21", "住院";
        Pharmacy = "41", "定点药店购药";
    }
);

wire_enum!(
    /// stmt_rslt of 3201.
    StmtResult {
        Balanced = "0", "对账一致";
        NotBalanced = "1", "对账不一致";
    }
);

/// `chrg_bchno` of 2205: one batch, or `"0000"` for every unsettled batch of the visit.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum BatchSelector {
    All,
    Batch(String),
}

impl BatchSelector {
    pub const ALL_CODE: &'static str = "0000";

    pub fn parse(code: &str) -> BatchSelector {
        if code == BatchSelector::ALL_CODE {
            BatchSelector::All
        } else {
            BatchSelector::Batch(code.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_codes_round_trip() {
        for w in SetlWay::ALL {
            assert_eq!(SetlWay::parse(w.code()), Some(*w));
        }
        for c in ClrType::ALL {
            assert_eq!(ClrType::parse(c.code()), Some(*c));
        }
        assert_eq!(
            serde_json::to_string(&StmtResult::NotBalanced).unwrap(),
            r#""1""#
        );
        assert_eq!(BatchSelector::parse("0000"), BatchSelector::All);
        assert_eq!(parse_flag("2"), None);
    }
}
