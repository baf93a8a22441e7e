//! The national code tables we speak: admdvs, insutype, insurance status,
//! GB/T 4761 family relations, certificate, medical and charge-item types, channels.
//!
//! Each code type parses from and prints to its wire code exactly.

use std::fmt;

/// A 6-digit administrative division code (医保区划), e.g. 370300 Zibo.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Admdvs(u32);

impl Admdvs {
    pub fn parse(text: &str) -> Option<Admdvs> {
        let t = text.trim();
        if t.len() == 6 && t.bytes().all(|b| b.is_ascii_digit()) && !t.starts_with('0') {
            t.parse().ok().map(Admdvs)
        } else {
            None
        }
    }

    pub const fn from_code(code: u32) -> Option<Admdvs> {
        if code >= 100_000 && code <= 999_999 {
            Some(Admdvs(code))
        } else {
            None
        }
    }

    pub const fn code(self) -> u32 {
        self.0
    }

    /// The 2-digit province prefix (37 Shandong, 14 Shanxi): the shard key.
    pub const fn province(self) -> u32 {
        self.0 / 10_000
    }

    /// The province's own code, e.g. 370000.
    pub const fn province_admdvs(self) -> Admdvs {
        Admdvs(self.province() * 10_000)
    }

    /// The city's code (first 4 digits, then 00), e.g. 370303 → 370300.
    pub const fn city_admdvs(self) -> Admdvs {
        Admdvs(self.0 / 100 * 100)
    }

    pub const fn same_province(self, other: Admdvs) -> bool {
        self.province() == other.province()
    }
}

impl fmt::Display for Admdvs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06}", self.0)
    }
}

macro_rules! code_enum {
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
    };
}

code_enum!(
    /// 险种. Only 310 and 390 carry personal-account rules; the others are accepted and stored.
    Insutype {
        Employee = "310", "职工基本医疗保险";
        EmployeeLargeExpense = "320", "公务员医疗补助";
        LargeExpenseSupplement = "330", "大额医疗费用补助";
        RetiredCadre = "340", "离休人员医疗保障";
        EnterpriseSupplement = "370", "企业补充医疗保险";
        Resident = "390", "城乡居民基本医疗保险";
        ResidentSeriousIllness = "391", "城乡居民大病医疗保险";
        ResidentLargeExpense = "392", "大额医疗保险";
        LongTermCare = "410", "长期护理保险";
        Maternity = "510", "生育保险";
    }
);

code_enum!(
    /// 参保状态 psn_insu_stas.
    InsuStatus {
        Normal = "1", "正常参保";
        /// 暂停参保 (减员, interrupted).
        Paused = "2", "暂停参保";
        Terminated = "4", "终止参保";
    }
);

code_enum!(
    Gender {
        Male = "1", "男";
        Female = "2", "女";
        Unknown = "9", "未说明";
    }
);

code_enum!(
    /// mdtrt_cert_type / the certificate a person presents.
    CertType {
        EVoucher = "01", "医保电子凭证";
        IdCard = "02", "居民身份证";
        SocialSecurityCard = "03", "社会保障卡";
    }
);

code_enum!(
    /// med_type.
    MedType {
        GeneralOutpatient = "11", "普通门诊";
        RegistrationOnly = "12", "门诊挂号";
        Emergency = "13", "急诊";
        ChronicSpecialOutpatient = "14", "门诊慢特病";
        Inpatient = "21", "普通住院";
        PharmacyPurchase = "41", "定点药店购药";
    }
);

code_enum!(
    /// chrgitm_lv: 甲类 / 乙类 / 丙类.
    ChargeLevel {
        ClassA = "01", "甲类";
        ClassB = "02", "乙类";
        ClassC = "03", "丙类";
    }
);

code_enum!(
    /// fixmedins_type.
    InstitutionKind {
        Medical = "1", "定点医疗机构";
        Pharmacy = "2", "定点零售药店";
    }
);

code_enum!(
    /// hosp_lv as we use it for pooling: primary-level, level 2 and below, level 3.
    HospitalLevel {
        Primary = "1", "基层医疗机构";
        Level2 = "2", "二级及以下";
        Level3 = "3", "三级";
    }
);

code_enum!(
    /// acct_used_flag.
    AccountUse {
        CashOnly = "0", "不使用个人账户";
        /// Own account; mutual aid follows only where the region's policy says so.
        OwnAccount = "1", "使用个人账户";
        OwnThenMutualAid = "2", "个人账户后共济";
    }
);

code_enum!(
    /// Where a request came from (R-Y4, R-Y5): institution opter_type 1-3 and app channels.
    Channel {
        Window = "1", "窗口";
        SelfServiceTerminal = "2", "自助终端";
        MobileTerminal = "3", "移动终端";
        WeChat = "wechat", "微信公众号";
        Alipay = "alipay", "支付宝";
        AiShandong = "aishandong", "爱山东";
        Web = "web", "网上服务大厅";
        StaffConsole = "console", "经办后台";
        BatchImport = "import", "批量导入";
    }
);

code_enum!(
    /// What mutual aid may pay for (R-Y2, R-S6).
    MutualAidUse {
        MedicalCost = "medical", "就医购药个人负担";
        ResidentPremium = "resident_premium", "城乡居民医保个人缴费";
        LargeExpensePremium = "large_expense_premium", "职工大额医疗费用补助缴费";
        LongTermCarePremium = "ltc_premium", "长期护理保险缴费";
    }
);

/// A GB/T 4761-2008 family relation code, as given by the holder about the relative
/// ("the relative is my ...").
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Relationship(u8);

/// The classes of relation that policies speak of.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum RelationClass {
    Spouse,
    Child,
    Grandchild,
    Parent,
    InLawParent,
    Grandparent,
    Sibling,
    SiblingSpouse,
    Other,
}

impl RelationClass {
    pub const ALL: &'static [RelationClass] = &[
        RelationClass::Spouse,
        RelationClass::Child,
        RelationClass::Grandchild,
        RelationClass::Parent,
        RelationClass::InLawParent,
        RelationClass::Grandparent,
        RelationClass::Sibling,
        RelationClass::SiblingSpouse,
        RelationClass::Other,
    ];

    pub fn parse(name: &str) -> Option<RelationClass> {
        RelationClass::ALL
            .iter()
            .copied()
            .find(|c| c.key() == name.trim())
    }

    /// The name used in policy files.
    pub const fn key(self) -> &'static str {
        match self {
            RelationClass::Spouse => "spouse",
            RelationClass::Child => "child",
            RelationClass::Grandchild => "grandchild",
            RelationClass::Parent => "parent",
            RelationClass::InLawParent => "in_law_parent",
            RelationClass::Grandparent => "grandparent",
            RelationClass::Sibling => "sibling",
            RelationClass::SiblingSpouse => "sibling_spouse",
            RelationClass::Other => "other",
        }
    }

    pub const fn name_zh(self) -> &'static str {
        match self {
            RelationClass::Spouse => "配偶",
            RelationClass::Child => "子女",
            RelationClass::Grandchild => "孙子女、外孙子女",
            RelationClass::Parent => "父母",
            RelationClass::InLawParent => "公婆、岳父母",
            RelationClass::Grandparent => "祖父母、外祖父母",
            RelationClass::Sibling => "兄弟姐妹",
            RelationClass::SiblingSpouse => "兄弟姐妹的配偶",
            RelationClass::Other => "其他",
        }
    }
}

/// Which parent a parent code names, for the R-S8 caps.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ParentRole {
    Father,
    Mother,
    Either,
}

impl Relationship {
    pub fn parse(text: &str) -> Option<Relationship> {
        let t = text.trim();
        if t.len() == 2 && t.bytes().all(|b| b.is_ascii_digit()) {
            Relationship::from_code(t.parse().ok()?)
        } else {
            None
        }
    }

    pub fn from_code(code: u8) -> Option<Relationship> {
        // GB/T 4761 uses 10-99; 01 (本人) and 02 (户主) are not relations one binds.
        (10..=99).contains(&code).then_some(Relationship(code))
    }

    pub const fn code(self) -> u8 {
        self.0
    }

    pub const fn class(self) -> RelationClass {
        match self.0 {
            10..=19 => RelationClass::Spouse,
            20..=39 => RelationClass::Child,
            40..=49 => RelationClass::Grandchild,
            50..=52 => RelationClass::Parent,
            53..=59 => RelationClass::InLawParent,
            60..=69 => RelationClass::Grandparent,
            70 | 71 | 73 | 75 | 77 => RelationClass::Sibling,
            72 | 74 | 76 | 78 => RelationClass::SiblingSpouse,
            _ => RelationClass::Other,
        }
    }

    pub const fn parent_role(self) -> Option<ParentRole> {
        match self.0 {
            50 => Some(ParentRole::Either),
            51 => Some(ParentRole::Father),
            52 => Some(ParentRole::Mother),
            _ => None,
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self.0 {
            10 => "配偶",
            11 => "夫",
            12 => "妻",
            20 => "子",
            30 => "女",
            28 => "女婿",
            38 => "儿媳",
            21..=29 => "儿子",
            31..=39 => "女儿",
            40 => "孙子女",
            41 => "孙子",
            42 => "孙女",
            43 => "外孙子",
            44 => "外孙女",
            50 => "父母",
            51 => "父亲",
            52 => "母亲",
            53 => "公公",
            54 => "婆婆",
            55 => "岳父",
            56 => "岳母",
            60 => "祖父母",
            61 => "祖父",
            62 => "祖母",
            63 => "外祖父",
            64 => "外祖母",
            71 => "兄",
            73 => "弟",
            75 => "姐姐",
            77 => "妹妹",
            70 => "兄弟姐妹",
            72 => "嫂",
            74 => "弟媳",
            76 => "姐夫",
            78 => "妹夫",
            97 => "其他亲属",
            99 => "非亲属",
            _ => self.class().name_zh(),
        }
    }
}

impl fmt::Display for Relationship {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relationship_classes_follow_gbt_4761() {
        let class = |c: &str| Relationship::parse(c).map(|r| r.class());
        assert_eq!(class("10"), Some(RelationClass::Spouse));
        assert_eq!(class("12"), Some(RelationClass::Spouse));
        assert_eq!(class("21"), Some(RelationClass::Child));
        assert_eq!(class("36"), Some(RelationClass::Child));
        assert_eq!(class("44"), Some(RelationClass::Grandchild));
        assert_eq!(class("52"), Some(RelationClass::Parent));
        assert_eq!(class("55"), Some(RelationClass::InLawParent));
        assert_eq!(class("63"), Some(RelationClass::Grandparent));
        assert_eq!(class("77"), Some(RelationClass::Sibling));
        assert_eq!(class("76"), Some(RelationClass::SiblingSpouse));
        assert_eq!(class("97"), Some(RelationClass::Other));
        assert_eq!(class("01"), None);
        assert_eq!(class("5"), None);
    }

    #[test]
    fn admdvs_prefixes() {
        let a = Admdvs::parse("370303").unwrap();
        assert_eq!(a.province(), 37);
        assert_eq!(a.city_admdvs().to_string(), "370300");
        assert_eq!(a.province_admdvs().to_string(), "370000");
        assert!(Admdvs::parse("37030").is_none());
        assert!(Admdvs::parse("0370303").is_none());
    }

    #[test]
    fn codes_round_trip() {
        for t in Insutype::ALL {
            assert_eq!(Insutype::parse(t.code()), Some(*t));
        }
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.code()), Some(*c));
        }
    }
}
