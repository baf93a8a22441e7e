//! A small medical-insurance catalog (医保目录): drugs, services and consumables with
//! national-style codes, charge classes, price caps and class-B self-pay shares.

use gongji_core::codes::ChargeLevel;
use gongji_core::{BasisPoints, Fen};

use crate::CatalogRow;

/// (code, name, class 1/2/3, price cap in fen, self-pay in whole percent).
type Item = (&'static str, &'static str, u8, Option<i64>, u16);

const ITEMS: &[Item] = &[
    // Western drugs: X + ATC group + generic name + dosage form + spec + maker.
    ("XJ01CAA040E001010104327", "阿莫西林胶囊", 1, None, 0),
    ("XM01AEB093E002010101522", "布洛芬缓释胶囊", 2, None, 10),
    ("XA10BAE035A001010100483", "盐酸二甲双胍片", 1, None, 0),
    ("XC08CAA043A001010102214", "苯磺酸氨氯地平片", 1, None, 0),
    ("XC10AAA122A001010107721", "阿托伐他汀钙片", 2, None, 10),
    ("XC09CAL014A001010103310", "氯沙坦钾片", 2, None, 10),
    ("XJ01DCT063A001010101944", "头孢呋辛酯片", 2, None, 10),
    ("XA02BCA123E001010100768", "奥美拉唑肠溶胶囊", 2, None, 5),
    ("XB01ACA056A001010105402", "阿司匹林肠溶片", 1, None, 0),
    ("XR06AEL040A001010100259", "氯雷他定片", 2, None, 10),
    ("XN02BEA017A001010101188", "对乙酰氨基酚片", 1, None, 0),
    (
        "XA10AEG063B002010100876",
        "甘精胰岛素注射液",
        2,
        Some(7_500),
        20,
    ),
    ("XR05CBA061A001010102117", "盐酸氨溴索片", 2, None, 5),
    ("XJ01FAA071A001010103356", "阿奇霉素片", 2, None, 10),
    ("XC07ABM053A001010100631", "酒石酸美托洛尔片", 1, None, 0),
    ("XA11CCG018E001010100990", "骨化三醇软胶囊", 2, None, 15),
    ("XD07ACM193F001010101120", "糠酸莫米松乳膏", 2, None, 10),
    ("XS01AEZ032G001010100327", "左氧氟沙星滴眼液", 2, None, 5),
    ("XA11GAW005A001010106620", "维生素C片", 3, None, 0),
    // Chinese patent medicines.
    ("ZA01BAL0391010201234", "连花清瘟胶囊", 2, None, 10),
    ("ZA12BAF0145010103316", "复方丹参滴丸", 2, None, 10),
    ("ZA01AAB0033010301879", "板蓝根颗粒", 1, None, 0),
    ("ZA09AAL0217010103547", "六味地黄丸", 1, None, 0),
    ("ZA16AAX0088010200415", "西洋参含片", 3, None, 0),
    // Medical services (医疗服务项目).
    ("001101000010000", "普通门诊挂号费", 1, Some(100), 0),
    ("001102000010000", "普通门诊诊查费", 1, Some(1_000), 0),
    ("001102000030000", "副主任医师诊查费", 1, Some(2_000), 0),
    ("001102000050000", "急诊诊查费", 1, Some(1_200), 0),
    ("001103000010000", "普通病房床位费", 1, Some(3_000), 0),
    ("001204000010000", "肌肉注射", 1, Some(300), 0),
    ("001204000040000", "静脉输液", 1, Some(1_000), 0),
    ("002502010350000", "血细胞分析(血常规)", 1, Some(2_000), 0),
    ("002501010010000", "尿常规检查", 1, Some(800), 0),
    ("002503020010000", "丙氨酸氨基转移酶测定", 1, Some(500), 0),
    ("002503010060000", "糖化血红蛋白测定", 2, Some(5_000), 10),
    ("002201000010000", "常规心电图检查", 1, Some(1_500), 0),
    (
        "002202010010000",
        "彩色多普勒超声常规检查",
        1,
        Some(8_000),
        0,
    ),
    (
        "002103000010000",
        "X线计算机体层(CT)平扫",
        2,
        Some(15_000),
        10,
    ),
    ("002104000010000", "磁共振(MRI)平扫", 2, Some(45_000), 15),
    ("004100000010000", "普通针刺", 1, Some(2_500), 0),
    ("003107020010000", "牙拔除术", 2, Some(6_000), 10),
    ("003107010050000", "龈上洁治术(洁牙)", 3, None, 0),
    // Consumables (医用耗材).
    ("C0313011010100100012", "一次性使用输液器", 1, Some(350), 0),
    (
        "C0211010050100200457",
        "一次性使用无菌注射器",
        1,
        Some(100),
        0,
    ),
    ("C0604050030200101155", "血糖试纸", 2, Some(300), 20),
    (
        "C0108020020100201032",
        "冠状动脉药物洗脱支架",
        2,
        Some(70_000),
        20,
    ),
    ("C1003030010000100367", "人工晶状体", 2, Some(120_000), 15),
    ("C1111030010100100091", "医用外科口罩", 3, None, 0),
];

pub(crate) fn rows() -> Vec<CatalogRow> {
    ITEMS
        .iter()
        .map(|&(code, name, class, cap, percent)| CatalogRow {
            med_list_codg: code.to_string(),
            med_list_name: name.to_string(),
            chrgitm_lv: match class {
                1 => ChargeLevel::ClassA,
                2 => ChargeLevel::ClassB,
                _ => ChargeLevel::ClassC,
            },
            pric_uplmt_amt: cap.map(Fen::from_fen),
            selfpay_prop: BasisPoints::new(percent * 100).unwrap_or(BasisPoints::ZERO),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_b_alone_pays_first_and_codes_are_unique() {
        let rows = rows();
        assert!((35..=60).contains(&rows.len()));
        let mut codes: Vec<&str> = rows.iter().map(|r| r.med_list_codg.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), rows.len());
        for r in &rows {
            let bp = r.selfpay_prop.get();
            if r.chrgitm_lv == ChargeLevel::ClassB {
                assert!((500..=2000).contains(&bp), "{}", r.med_list_name);
            } else {
                assert_eq!(bp, 0, "{}", r.med_list_name);
            }
        }
        for level in ChargeLevel::ALL {
            assert!(rows.iter().any(|r| r.chrgitm_lv == *level));
        }
    }
}
