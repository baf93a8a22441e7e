//! The 31 provincial-level divisions of the mainland by their two-digit code (GB/T 2260),
//! so that people are shown 山西省 and never "14".

const PROVINCES: [(u32, &str); 31] = [
    (11, "北京市"),
    (12, "天津市"),
    (13, "河北省"),
    (14, "山西省"),
    (15, "内蒙古自治区"),
    (21, "辽宁省"),
    (22, "吉林省"),
    (23, "黑龙江省"),
    (31, "上海市"),
    (32, "江苏省"),
    (33, "浙江省"),
    (34, "安徽省"),
    (35, "福建省"),
    (36, "江西省"),
    (37, "山东省"),
    (41, "河南省"),
    (42, "湖北省"),
    (43, "湖南省"),
    (44, "广东省"),
    (45, "广西壮族自治区"),
    (46, "海南省"),
    (50, "重庆市"),
    (51, "四川省"),
    (52, "贵州省"),
    (53, "云南省"),
    (54, "西藏自治区"),
    (61, "陕西省"),
    (62, "甘肃省"),
    (63, "青海省"),
    (64, "宁夏回族自治区"),
    (65, "新疆维吾尔自治区"),
];

/// The Chinese name of a province by its two-digit code; `None` for a code that is not one.
pub fn province_name(code: u32) -> Option<&'static str> {
    PROVINCES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_province_has_its_own_name_and_codes_that_are_none_have_no_name() {
        assert_eq!(province_name(14), Some("山西省"));
        assert_eq!(province_name(37), Some("山东省"));
        assert_eq!(province_name(65), Some("新疆维吾尔自治区"));
        let names: std::collections::BTreeSet<_> = PROVINCES.iter().map(|(_, n)| n).collect();
        assert_eq!(names.len(), 31, "no name twice");
        for code in [0, 10, 16, 40, 66, 71, 81, 82, 140000] {
            assert_eq!(province_name(code), None, "{code}");
        }
    }
}
