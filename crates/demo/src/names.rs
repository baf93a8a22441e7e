//! Word lists: surnames, given-name characters, employers, institution names.

use rand::rngs::SmallRng;
use rand::Rng;

use crate::regions::RegionSpec;

/// Common surnames with rough weights (northern China, Shandong and Shanxi flavour).
const SURNAMES: &[(&str, u16)] = &[
    ("王", 72),
    ("李", 70),
    ("张", 68),
    ("刘", 55),
    ("陈", 30),
    ("杨", 25),
    ("赵", 22),
    ("孙", 22),
    ("徐", 18),
    ("马", 16),
    ("高", 15),
    ("周", 14),
    ("郭", 14),
    ("黄", 12),
    ("吴", 12),
    ("朱", 12),
    ("宋", 12),
    ("于", 10),
    ("韩", 10),
    ("胡", 9),
    ("董", 9),
    ("姜", 9),
    ("郑", 8),
    ("冯", 8),
    ("曹", 8),
    ("田", 8),
    ("林", 7),
    ("梁", 7),
    ("许", 7),
    ("杜", 7),
    ("魏", 7),
    ("吕", 7),
    ("崔", 7),
    ("何", 6),
    ("程", 6),
    ("丁", 6),
    ("任", 6),
    ("贾", 6),
    ("孟", 6),
    ("闫", 6),
    ("罗", 5),
    ("谢", 5),
    ("唐", 5),
    ("肖", 5),
    ("袁", 5),
    ("苏", 5),
    ("范", 5),
    ("石", 5),
    ("白", 5),
    ("薛", 5),
    ("侯", 5),
    ("郝", 5),
    ("武", 5),
    ("邓", 4),
    ("彭", 4),
    ("潘", 4),
    ("蒋", 4),
    ("蔡", 4),
    ("姚", 4),
    ("卢", 4),
    ("金", 4),
    ("付", 4),
    ("秦", 4),
    ("尹", 4),
    ("段", 4),
    ("史", 4),
    ("常", 4),
    ("曾", 3),
    ("余", 3),
    ("叶", 3),
    ("沈", 3),
    ("谭", 3),
    ("陆", 3),
    ("夏", 3),
    ("方", 3),
    ("邹", 3),
    ("毕", 3),
    ("牛", 3),
    ("葛", 3),
    ("邢", 3),
    ("钟", 2),
    ("汪", 2),
    ("廖", 2),
    ("申", 2),
    ("耿", 2),
    ("翟", 2),
    ("裴", 2),
    ("房", 2),
    ("臧", 2),
    ("鞠", 2),
    ("隋", 2),
    ("栾", 2),
];

const MALE_CHARS: &[&str] = &[
    "伟", "刚", "勇", "毅", "俊", "峰", "强", "军", "平", "保", "东", "文", "辉", "力", "明", "永",
    "健", "世", "广", "志", "义", "兴", "良", "海", "山", "仁", "波", "宁", "贵", "福", "生", "龙",
    "元", "全", "国", "胜", "学", "祥", "才", "发", "武", "新", "利", "清", "飞", "彬", "富", "顺",
    "信", "子", "杰", "涛", "昌", "成", "康", "星", "光", "天", "达", "安", "岩", "中", "茂", "进",
    "林", "有", "坚", "和", "博", "诚", "先", "敬", "震", "振", "会", "思", "群", "豪", "心", "邦",
    "承", "乐", "绍", "功", "松", "善", "厚", "庆", "磊", "民", "友", "裕", "河", "哲", "江", "超",
    "浩", "亮", "政", "谦", "奇", "朗", "伯", "宏", "鸣", "朋", "斌", "栋", "维", "启", "克", "伦",
    "翔", "旭", "鹏", "泽", "晨", "辰", "士", "建", "家", "致", "树", "德", "行", "时", "泰", "盛",
    "雄", "钧", "冠", "腾", "楠", "航", "宇", "轩", "睿", "铭", "梓", "然", "凯", "卫", "红", "春",
];

const FEMALE_CHARS: &[&str] = &[
    "秀", "娟", "英", "华", "慧", "巧", "美", "娜", "静", "淑", "惠", "珠", "翠", "雅", "芝", "玉",
    "萍", "红", "娥", "玲", "芬", "芳", "燕", "彩", "春", "菊", "兰", "凤", "洁", "梅", "琳", "素",
    "云", "莲", "真", "环", "雪", "荣", "爱", "霞", "香", "月", "媛", "艳", "瑞", "凡", "佳", "嘉",
    "琼", "勤", "珍", "贞", "莉", "桂", "叶", "璐", "娅", "琦", "晶", "妍", "茜", "秋", "珊", "莎",
    "锦", "青", "倩", "婷", "婉", "娴", "瑾", "颖", "露", "瑶", "怡", "雁", "蓓", "仪", "荷", "丹",
    "蓉", "君", "琴", "蕊", "薇", "菁", "梦", "岚", "婕", "馨", "韵", "园", "艺", "卿", "澜", "悦",
    "冰", "爽", "茗", "羽", "欣", "滢", "筠", "柔", "竹", "凝", "晓", "欢", "枫", "芸", "菲", "亚",
    "宜", "可", "舒", "丽", "妮", "宝", "诗", "涵", "萱", "雨", "思", "文", "敏", "晴", "琪", "一",
];

const BRANDS: &[&str] = &[
    "鲁信", "华瑞", "恒通", "宏达", "金泰", "新华", "海川", "正阳", "齐鲁", "泰和", "鑫源", "东方",
    "三利", "永盛", "博远", "中联", "德润", "汇丰", "瑞康", "天元", "盛世", "长城", "兴业", "方圆",
    "蓝海", "金桥", "华夏", "远航", "明德", "信达", "润华", "泰山", "黄河", "晋商", "汾河", "太行",
    "凯旋", "佳和", "万通", "锦程",
];

const INDUSTRIES: &[&str] = &[
    "机械制造",
    "化工",
    "建筑工程",
    "商贸",
    "电子科技",
    "食品",
    "物流",
    "纺织",
    "医药",
    "软件技术",
    "新材料",
    "汽车零部件",
    "能源",
    "环保科技",
    "农业发展",
    "置业",
    "餐饮管理",
    "物业服务",
    "精密仪器",
    "陶瓷",
];

const COMPANY_SUFFIXES: &[(&str, u16)] =
    &[("有限公司", 70), ("股份有限公司", 18), ("集团有限公司", 12)];

const BUREAUS: &[&str] = &[
    "财政局",
    "教育局",
    "医疗保障局",
    "人力资源和社会保障局",
    "卫生健康委员会",
    "市场监督管理局",
    "自然资源和规划局",
    "住房和城乡建设局",
    "交通运输局",
    "生态环境局",
    "统计局",
    "审计局",
    "民政局",
    "司法局",
    "税务局",
];

/// Street and neighbourhood names for community clinics and pharmacy branches.
pub(crate) const STREETS: &[&str] = &[
    "东城",
    "西城",
    "南关",
    "北关",
    "新华",
    "人民",
    "建设",
    "解放",
    "胜利",
    "和平",
    "文化",
    "花园",
    "湖滨",
    "车站",
    "兴华",
    "幸福",
    "朝阳",
    "龙泉",
    "金山",
    "凤凰",
    "青年",
    "中山",
    "长江",
    "黄河",
    "泰山",
    "府前",
    "新村",
    "科苑",
    "体育场",
    "公园",
    "南苑",
    "北苑",
    "滨河",
    "学府",
    "银河",
    "振兴",
];

/// Township names for township health centres (乡镇卫生院).
pub(crate) const TOWNS: &[&str] = &[
    "东庄", "西河", "南坡", "北岭", "石桥", "柳泉", "杨家", "马庄", "李村", "王集", "大店", "后营",
    "沙河", "洪山", "峪口", "白塔", "新城", "古城", "高庄", "双山",
];

/// Pharmacy chains.
pub(crate) const PHARMACY_CHAINS: &[&str] = &[
    "益丰",
    "老百姓",
    "漱玉平民",
    "立健",
    "大参林",
    "国大",
    "海王星辰",
    "同仁堂",
    "燕喜堂",
    "宏济堂",
    "一心堂",
    "华润",
    "康佰家",
    "百姓缘",
];

/// Private hospital brands.
pub(crate) const HOSPITAL_BRANDS: &[&str] = &[
    "仁和", "博爱", "华康", "济民", "同济", "福康", "安康", "慈济", "和平", "协和", "康宁", "康泰",
];

fn weighted<'a>(rng: &mut SmallRng, items: &'a [(&'a str, u16)]) -> &'a str {
    let total: u32 = items.iter().map(|&(_, w)| u32::from(w)).sum();
    let mut pick = rng.gen_range(0..total.max(1));
    for &(item, w) in items {
        let w = u32::from(w);
        if pick < w {
            return item;
        }
        pick -= w;
    }
    items.first().map_or("", |&(item, _)| item)
}

/// Picks one element; `""` only for an empty list.
pub(crate) fn pick<'a>(rng: &mut SmallRng, items: &'a [&'a str]) -> &'a str {
    if items.is_empty() {
        ""
    } else {
        items[rng.gen_range(0..items.len())]
    }
}

pub(crate) fn surname(rng: &mut SmallRng) -> &'static str {
    weighted(rng, SURNAMES)
}

/// A full name: the surname and a one- or two-character given name.
pub(crate) fn full_name(rng: &mut SmallRng, surname: &str, male: bool) -> String {
    let chars = if male { MALE_CHARS } else { FEMALE_CHARS };
    let mut name = String::with_capacity(12);
    name.push_str(surname);
    let first = pick(rng, chars);
    name.push_str(first);
    if rng.gen_bool(0.72) {
        let mut second = pick(rng, chars);
        if second == first && rng.gen_bool(0.7) {
            second = pick(rng, chars);
        }
        name.push_str(second);
    }
    name
}

/// Chinese numerals 1..=99 as used in names such as 第二人民医院.
pub(crate) fn cn_number(n: usize) -> String {
    const DIGITS: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    match n {
        0..=9 => DIGITS[n].to_string(),
        10 => "十".to_string(),
        11..=19 => format!("十{}", DIGITS[n % 10]),
        20..=99 if n % 10 == 0 => format!("{}十", DIGITS[n / 10]),
        20..=99 => format!("{}十{}", DIGITS[n / 10], DIGITS[n % 10]),
        _ => n.to_string(),
    }
}

/// A district's name without its 区/县/市 suffix, e.g. "芝罘".
pub(crate) fn district_short(name: &str) -> &str {
    let short = name
        .strip_suffix('区')
        .or_else(|| name.strip_suffix('县'))
        .or_else(|| name.strip_suffix('市'))
        .unwrap_or(name);
    if short.chars().count() < 2 {
        name
    } else {
        short
    }
}

/// Employers of a region: companies, schools and hospitals (for 在职 and 退休 employees)
/// and government offices (for civil servants).
pub(crate) struct Employers {
    pub companies: Vec<String>,
    pub government: Vec<String>,
}

impl Employers {
    pub fn new(rng: &mut SmallRng, region: &RegionSpec, persons: usize) -> Employers {
        let city = region.short_name();
        let count = (persons / 40).clamp(20, 3000);
        let mut companies = Vec::with_capacity(count);
        for i in 0..count {
            let name = match rng.gen_range(0..100) {
                0..=84 => format!(
                    "{city}{}{}{}",
                    pick(rng, BRANDS),
                    pick(rng, INDUSTRIES),
                    weighted(rng, COMPANY_SUFFIXES)
                ),
                85..=91 => format!("{}第{}中学", region.name, cn_number(i % 20 + 1)),
                92..=95 => {
                    let district = region.districts[i % region.districts.len().max(1)].name;
                    format!("{}{district}实验小学", region.name)
                }
                _ => format!(
                    "{}{}",
                    city,
                    pick(
                        rng,
                        &[
                            "供电公司",
                            "自来水公司",
                            "公交集团有限公司",
                            "燃气有限公司",
                            "城市建设投资集团有限公司"
                        ]
                    )
                ),
            };
            companies.push(name);
        }
        let mut government = Vec::new();
        for bureau in BUREAUS {
            government.push(format!("{}{bureau}", region.name));
        }
        for district in &region.districts {
            government.push(format!("{}{}人民政府办公室", region.name, district.name));
            government.push(format!("{}{}财政局", region.name, district.name));
        }
        Employers {
            companies,
            government,
        }
    }

    pub fn company(&self, rng: &mut SmallRng) -> String {
        if self.companies.is_empty() {
            return String::new();
        }
        // Bigger employers first: a skewed pick favours the front of the list.
        let n = self.companies.len();
        let a = rng.gen_range(0..n);
        let b = rng.gen_range(0..n);
        self.companies[a.min(b)].clone()
    }

    pub fn government(&self, rng: &mut SmallRng) -> String {
        if self.government.is_empty() {
            return String::new();
        }
        self.government[rng.gen_range(0..self.government.len())].clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_chinese() {
        assert_eq!(cn_number(1), "一");
        assert_eq!(cn_number(10), "十");
        assert_eq!(cn_number(12), "十二");
        assert_eq!(cn_number(20), "二十");
        assert_eq!(cn_number(35), "三十五");
    }

    #[test]
    fn short_district_names() {
        assert_eq!(district_short("芝罘区"), "芝罘");
        assert_eq!(district_short("曹县"), "曹县");
        assert_eq!(district_short("龙口市"), "龙口");
        assert_eq!(district_short("东昌府区"), "东昌府");
    }
}
