//! Every string a person sees on the pages, in Chinese (the default) and English.
//!
//! [`Dict`] is one struct with one field per string, and [`ZH`] and [`EN`] are its two
//! values: a string missing in either language does not compile. Strings with parameters
//! carry `{0}`, `{1}`… and are filled by [`fill`]. Names of national codes (relation classes,
//! insurance types, medical types…) come from `gongji-core` in Chinese and from the
//! functions at the bottom in English.

use std::fmt::Display;

use gongji_core::codes::{
    AccountUse, Admdvs, CertType, ChargeLevel, Gender, HospitalLevel, InstitutionKind, InsuStatus,
    Insutype, MedType, MutualAidUse, RelationClass,
};

/// The page language. Chinese unless the person chose English.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub fn parse(code: &str) -> Option<Lang> {
        match code.trim().to_ascii_lowercase().as_str() {
            "zh" | "zh-cn" | "cn" => Some(Lang::Zh),
            "en" | "en-us" | "en-gb" => Some(Lang::En),
            _ => None,
        }
    }

    /// The value of `?lang=` and of the `lang` cookie.
    pub const fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The `lang` attribute of `<html>`.
    pub const fn html_lang(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub const fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    pub const fn t(self) -> &'static Dict {
        match self {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }

    pub const fn is_en(self) -> bool {
        matches!(self, Lang::En)
    }
}

/// Replaces `{0}`, `{1}`… in `template` by `args`.
pub fn fill(template: &str, args: &[&dyn Display]) -> String {
    let mut out = template.to_string();
    for (i, a) in args.iter().enumerate() {
        out = out.replace(&format!("{{{i}}}"), &a.to_string());
    }
    out
}

/// One language's strings. Field names say where a string is used.
pub struct Dict {
    // ---- layout ----
    pub site_name: &'static str,
    pub site_sub: &'static str,
    /// The label of the link to the other language, written in that language.
    pub switch_to_other: &'static str,
    pub switch_aria: &'static str,
    pub skip_to_content: &'static str,
    pub nav_label: &'static str,
    pub nav_home: &'static str,
    pub nav_guide: &'static str,
    pub nav_terminal: &'static str,
    pub footer_demo: &'static str,
    pub footer_project: &'static str,
    pub footer_hotline: &'static str,
    pub yuan: &'static str,
    pub back_home: &'static str,

    // ---- home ----
    pub home_title: &'static str,
    pub home_lead: &'static str,
    pub home_entries: &'static str,
    pub entry_mine: &'static str,
    pub entry_mine_desc: &'static str,
    pub entry_guide: &'static str,
    pub entry_guide_desc: &'static str,
    pub entry_nearby: &'static str,
    pub entry_nearby_desc: &'static str,
    pub entry_terminal: &'static str,
    pub entry_terminal_desc: &'static str,
    pub entry_staff: &'static str,
    pub entry_staff_desc: &'static str,
    pub soon_badge: &'static str,
    pub how_title: &'static str,
    pub how_1_title: &'static str,
    pub how_1: &'static str,
    pub how_2_title: &'static str,
    pub how_2: &'static str,
    pub how_3_title: &'static str,
    pub how_3: &'static str,
    pub home_regions: &'static str,
    pub home_regions_lead: &'static str,

    // ---- coming soon ----
    pub soon_title: &'static str,
    /// {0}: the feature's name.
    pub soon_text: &'static str,
    pub soon_meanwhile: &'static str,

    // ---- guide list ----
    pub guide_title: &'static str,
    pub guide_lead: &'static str,
    /// {0}: today's date.
    pub guide_today: &'static str,
    pub level_province: &'static str,
    pub level_city: &'static str,
    /// {0}: version, {1}: effective date.
    pub guide_version: &'static str,
    pub guide_scope_now: &'static str,
    pub guide_open: &'static str,
    pub guide_not_found: &'static str,
    pub guide_not_found_text: &'static str,

    // ---- guide detail ----
    pub g_toc: &'static str,
    pub g_what: &'static str,
    pub g_what_1: &'static str,
    pub g_what_2: &'static str,
    pub g_uses: &'static str,
    pub g_who: &'static str,
    /// {0}: today's date.
    pub g_scope_today: &'static str,
    pub g_scope_none: &'static str,
    pub g_scope_history: &'static str,
    /// {0}: date.
    pub g_from: &'static str,
    pub g_period_current: &'static str,
    pub g_period_past: &'static str,
    pub g_period_future: &'static str,
    pub g_scope_rule: &'static str,
    /// {0}: insurance types.
    pub g_holder: &'static str,
    /// {0}: insurance types.
    pub g_relative: &'static str,
    pub g_same_province: &'static str,
    pub g_any_province: &'static str,
    pub g_no_public_medical: &'static str,
    pub g_binding_rules: &'static str,
    pub g_rule_one_spouse: &'static str,
    /// {0}: n.
    pub g_rule_max_holders: &'static str,
    pub g_rule_one_holder: &'static str,
    /// {0}: n.
    pub g_rule_max_relatives: &'static str,
    /// {0}: n.
    pub g_rule_max_changes: &'static str,
    pub g_rule_one_way: &'static str,
    pub g_rule_insured_normally: &'static str,
    pub g_rule_face: &'static str,
    pub g_rule_end_earlier: &'static str,
    pub g_rule_auto_end: &'static str,
    pub g_rule_none: &'static str,
    pub g_reserve: &'static str,
    /// {0}: amount.
    pub g_reserve_some: &'static str,
    /// {0}: amount; {1}: example balance; {2}: example shareable.
    pub g_reserve_example: &'static str,
    pub g_reserve_none: &'static str,
    pub g_limits_yes: &'static str,
    pub g_limits_no: &'static str,
    pub g_order: &'static str,
    pub g_order_1: &'static str,
    pub g_order_2_auto: &'static str,
    pub g_order_2_explicit: &'static str,
    pub g_order_3: &'static str,
    pub g_order_by_date: &'static str,
    pub g_order_by_available: &'static str,
    pub g_order_one_holder: &'static str,
    pub g_pool_excluded: &'static str,
    pub g_pool_not_excluded: &'static str,
    pub g_cred_holder: &'static str,
    pub g_cred_own: &'static str,
    pub g_pooling: &'static str,
    pub g_pooling_lead: &'static str,
    pub g_pooling_none: &'static str,
    pub g_col_rule: &'static str,
    pub g_col_levels: &'static str,
    pub g_col_deductible: &'static str,
    pub g_col_class_a: &'static str,
    pub g_col_class_b: &'static str,
    pub g_col_caps: &'static str,
    /// {0}: amount.
    pub g_cap_visit: &'static str,
    /// {0}: amount.
    pub g_cap_day: &'static str,
    /// {0}: amount.
    pub g_cap_year: &'static str,
    pub g_no_cap: &'static str,
    pub g_placeholder: &'static str,
    pub g_provisional: &'static str,
    pub g_second: &'static str,
    /// {0}: lower bound, {1}: upper bound, {2}: ratio.
    pub g_second_tier: &'static str,
    /// {0}: medical types.
    pub g_second_lead: &'static str,
    pub g_contrib: &'static str,
    pub g_contrib_lead: &'static str,
    /// {0}: year.
    pub g_contrib_year: &'static str,
    /// {0}: start, {1}: end.
    pub g_contrib_window: &'static str,
    /// {0}: date.
    pub g_contrib_extended: &'static str,
    /// {0}: first day, {1}: last day.
    pub g_contrib_days: &'static str,
    pub g_contrib_benefit: &'static str,
    pub g_contrib_open_now: &'static str,
    pub g_contrib_current: &'static str,
    pub g_col_category: &'static str,
    pub g_col_amount: &'static str,
    pub g_faq: &'static str,
    pub faq_q_qinqing: &'static str,
    pub faq_a_qinqing: &'static str,
    pub faq_q_refused: &'static str,
    pub faq_a_refused_lead: &'static str,
    pub faq_r_not_insured: &'static str,
    pub faq_r_region: &'static str,
    /// {0}: scope.
    pub faq_r_scope: &'static str,
    pub faq_r_identity: &'static str,
    pub faq_r_type: &'static str,
    pub faq_r_already_bound: &'static str,
    pub faq_r_one_way: &'static str,
    pub faq_r_paused: &'static str,
    /// {0}: n.
    pub faq_r_month: &'static str,
    pub faq_r_parents: &'static str,
    pub faq_a_refused_next: &'static str,
    pub faq_q_face: &'static str,
    pub faq_a_face: &'static str,
    pub faq_q_check: &'static str,
    pub faq_a_check: &'static str,
    pub faq_q_pay: &'static str,
    pub faq_a_pay: &'static str,
    pub g_source: &'static str,
    pub list_sep: &'static str,
    pub colon: &'static str,

    // ---- terminal ----
    pub term_title: &'static str,
    pub term_lead: &'static str,
    pub term_step_inst: &'static str,
    pub term_inst_select: &'static str,
    pub term_inst_choose: &'static str,
    pub term_inst_code: &'static str,
    pub term_inst_code_hint: &'static str,
    pub term_channel: &'static str,
    pub term_channel_window: &'static str,
    pub term_channel_self: &'static str,
    pub term_inst_ok: &'static str,
    pub term_inst_change: &'static str,
    pub term_inst_aid_yes: &'static str,
    pub term_inst_aid_no: &'static str,
    pub term_step_read: &'static str,
    pub term_cert_type: &'static str,
    pub term_cert_no: &'static str,
    pub term_cert_hint: &'static str,
    pub term_read: &'static str,
    pub term_name: &'static str,
    pub term_gender_age: &'static str,
    /// {0}: age.
    pub term_age: &'static str,
    pub term_insutype: &'static str,
    pub term_insu_place: &'static str,
    pub term_insu_status: &'static str,
    pub term_balance: &'static str,
    pub term_employer: &'static str,
    pub term_step_items: &'static str,
    pub term_item: &'static str,
    pub term_count: &'static str,
    pub term_price: &'static str,
    pub term_price_hint: &'static str,
    pub term_add: &'static str,
    pub term_cart_empty: &'static str,
    pub term_col_item: &'static str,
    pub term_col_price: &'static str,
    pub term_col_count: &'static str,
    pub term_col_amount: &'static str,
    pub term_remove: &'static str,
    pub term_total: &'static str,
    pub term_step_settle: &'static str,
    pub term_med_type: &'static str,
    pub term_acct_use: &'static str,
    pub term_holder_cert: &'static str,
    pub term_holder_cert_hint: &'static str,
    pub term_presettle: &'static str,
    pub term_settle: &'static str,
    pub term_confirm_settle: &'static str,
    pub term_preview: &'static str,
    pub term_preview_note: &'static str,
    pub term_receipt: &'static str,
    pub term_receipt_cancelled: &'static str,
    pub term_msgid: &'static str,
    pub term_setl_id: &'static str,
    pub term_setl_time: &'static str,
    pub term_patient: &'static str,
    pub term_medfee: &'static str,
    pub term_fund: &'static str,
    pub term_acct_total: &'static str,
    pub term_own_acct: &'static str,
    pub term_mutual: &'static str,
    /// {0}: masked holder name.
    pub term_mutual_from: &'static str,
    pub term_cash: &'static str,
    pub term_hosp_part: &'static str,
    pub term_balc_after: &'static str,
    pub term_details: &'static str,
    pub term_selfpay_parts: &'static str,
    pub term_fulamt: &'static str,
    pub term_overlmt: &'static str,
    pub term_preselfpay: &'static str,
    pub term_inscp: &'static str,
    pub term_print: &'static str,
    pub term_cancel: &'static str,
    pub term_cancel_confirm: &'static str,
    pub term_next: &'static str,
    pub term_cancelled_note: &'static str,
    pub term_log: &'static str,
    pub term_log_lead: &'static str,
    pub term_log_request: &'static str,
    pub term_log_response: &'static str,
    pub term_ok: &'static str,
    pub term_refused: &'static str,
    pub term_err_prefix: &'static str,
    pub term_err_no_inst: &'static str,
    pub term_err_unknown_inst: &'static str,
    pub term_err_no_cert: &'static str,
    pub term_err_no_person: &'static str,
    pub term_err_item: &'static str,
    pub term_err_count: &'static str,
    pub term_err_price: &'static str,
    pub term_err_cart_full: &'static str,
    pub term_err_cart_empty: &'static str,
    pub term_err_state: &'static str,
    pub term_err_gateway: &'static str,
    pub term_err_internal: &'static str,
    pub term_notice_read: &'static str,
    pub term_notice_settled: &'static str,
    pub term_notice_cancelled: &'static str,
    pub term_no_mutual: &'static str,
}

pub static ZH: Dict = Dict {
    site_name: "共济",
    site_sub: "职工医保个人账户家庭共济服务平台",
    switch_to_other: "English",
    switch_aria: "Switch to English",
    skip_to_content: "跳到主要内容",
    nav_label: "主导航",
    nav_home: "首页",
    nav_guide: "政策指南",
    nav_terminal: "机构收费终端",
    footer_demo: "本站为演示系统，人员、机构和金额均为合成数据，不含真实个人信息。",
    footer_project: "共济 Gongji · 开源的医保个人账户共济结算平台",
    footer_hotline: "政策咨询请拨打医保服务热线 12393",
    yuan: "元",
    back_home: "返回首页",

    home_title: "一人账户，全家共济",
    home_lead: "参加职工医保的您，可以把个人账户余额授权给配偶、父母、子女等近亲属使用：他们看病买药的个人负担、居民医保的个人缴费，都可以从您的账户支付。",
    home_entries: "常用服务",
    entry_mine: "我的共济",
    entry_mine_desc: "绑定家人、设置限额、查看余额和每一笔使用记录",
    entry_guide: "政策指南",
    entry_guide_desc: "各地共济范围、保留额、支付顺序，无需登录",
    entry_nearby: "附近机构",
    entry_nearby_desc: "查找身边支持共济的定点医院和药店",
    entry_terminal: "机构收费终端",
    entry_terminal_desc: "医院收费窗口、药店、自助机：读卡、预结算、结算、撤销",
    entry_staff: "经办人员",
    entry_staff_desc: "医保经办后台：人员查询、暂停共济、追回、报表",
    soon_badge: "即将上线",
    how_title: "共济怎么用",
    how_1_title: "绑定家人",
    how_1: "职工医保参保人（户主）在手机上绑定近亲属，可为每人设置限额。",
    how_2_title: "先用本人账户",
    how_2: "家人看病买药时，先用他自己的个人账户支付。",
    how_3_title: "不足部分共济",
    how_3: "本人账户不够时，差额从户主的账户支付，每一笔都有记录。",
    home_regions: "已接入地区",
    home_regions_lead: "点击地区查看当地政策：共济范围、保留额、限额和支付顺序。",

    soon_title: "即将上线",
    soon_text: "“{0}”正在建设中，很快与您见面。",
    soon_meanwhile: "您现在可以先看看政策指南，了解您所在地区的共济规则。",

    guide_title: "政策指南",
    guide_lead: "选择您参保的地区，了解家庭共济的范围、额度和支付规则。无需登录。",
    guide_today: "以下内容按今天（{0}）有效的政策显示。",
    level_province: "省级",
    level_city: "市级",
    guide_version: "版本 {0} · {1} 起施行",
    guide_scope_now: "现在可以共济的亲属",
    guide_open: "查看详情",
    guide_not_found: "没有找到这个地区的政策",
    guide_not_found_text: "请从政策指南的地区列表中选择。",

    g_toc: "本页目录",
    g_what: "什么是家庭共济",
    g_what_1: "职工医保个人账户家庭共济（简称“个账共济”），是指参加职工医保的人（户主）把自己个人账户的余额，授权给近亲属使用。",
    g_what_2: "共济的钱仍在户主的账户里，只有家人实际就医购药或缴费时才会支付，每一笔都记录在案，户主随时可以查询。",
    g_uses: "共济资金可以用于",
    g_who: "谁可以共济",
    g_scope_today: "今天（{0}）可以绑定的近亲属：",
    g_scope_none: "今天还没有生效的共济范围。",
    g_scope_history: "共济范围的变化",
    g_from: "{0} 起",
    g_period_current: "现行",
    g_period_past: "已调整",
    g_period_future: "尚未生效",
    g_scope_rule: "绑定按绑定当天有效的范围判断：范围扩大前已经绑定的，继续有效。",
    g_holder: "户主（出钱的一方）须参加：{0}。",
    g_relative: "家人（用钱的一方）须参加：{0}。",
    g_same_province: "双方都须在本省参保，跨省暂不能共济。",
    g_any_province: "不限参保省份。",
    g_no_public_medical: "享受公费医疗的人员不参加共济（户主和家人都是）。",
    g_binding_rules: "绑定规则",
    g_rule_one_spouse: "配偶只能绑定一人，父亲、母亲各只能绑定一人；子女人数不限。",
    g_rule_max_holders: "每位家人最多由 {0} 位户主绑定。",
    g_rule_one_holder: "每位家人只能由一位户主绑定。",
    g_rule_max_relatives: "每位户主最多绑定 {0} 位家人。",
    g_rule_max_changes: "每位户主每月最多绑定、解绑共 {0} 次。",
    g_rule_one_way: "单向绑定：已经被别人绑定的家人不能再当户主；已经当户主的人，也不能再被别人绑定。",
    g_rule_insured_normally: "户主须正常参保。因减员等原因中断参保时不能绑定，家人也暂时不能使用他的账户。",
    g_rule_face: "绑定和解绑都需要户主本人刷脸确认。",
    g_rule_end_earlier: "绑定的结束日期只能提前，不能推后。",
    g_rule_auto_end: "户主或家人任一方参保终止时，绑定自动解除。",
    g_rule_none: "没有额外的绑定限制。",
    g_reserve: "保留额与限额",
    g_reserve_some: "户主账户要保留 {0} 元，只有超出的部分可以共济。",
    g_reserve_example: "例如：账户余额 {1} 元，保留 {0} 元，可共济 {2} 元。",
    g_reserve_none: "不设保留额：户主账户的全部余额都可以共济。",
    g_limits_yes: "户主可以为每位家人单独设置限额（每笔、每月或每年最多用多少），保护自己的账户。",
    g_limits_no: "不设单独的家人限额。",
    g_order: "支付顺序",
    g_order_1: "先算医保统筹基金按规定支付的部分。",
    g_order_2_auto: "剩下的个人负担，先用家人自己的个人账户支付；不够时自动从户主账户共济。",
    g_order_2_explicit: "剩下的个人负担，先用家人自己的个人账户支付；需要共济时，在收费时明确选择使用共济。",
    g_order_3: "仍不够的部分，用现金、微信或支付宝等方式自付。",
    g_order_by_date: "一位家人有多位户主时，按绑定时间先后支付：先绑定的户主先付，付完再由下一位户主支付。",
    g_order_by_available: "一位家人有多位户主时，按可用余额从多到少支付：余额最多的户主先付。",
    g_order_one_holder: "本地区每位家人只能有一位户主，因此实际只由这一位户主支付。",
    g_pool_excluded: "统筹基金参与支付的费用（例如门诊统筹报销的就诊）暂不使用共济，只用本人账户和现金。",
    g_pool_not_excluded: "统筹基金报销后剩下的个人负担，也可以用共济支付。",
    g_cred_holder: "使用共济时，家人须出示户主的社保卡或医保电子凭证（凭户主凭证支取）。",
    g_cred_own: "使用共济时，家人出示自己的社保卡或医保电子凭证即可。",
    g_pooling: "门诊统筹待遇",
    g_pooling_lead: "统筹基金按以下规则报销门诊费用，报销后剩下的才由个人账户、共济和现金支付。",
    g_pooling_none: "本地区政策文件未规定门诊统筹。",
    g_col_rule: "待遇",
    g_col_levels: "医疗机构",
    g_col_deductible: "起付线（年）",
    g_col_class_a: "甲类报销",
    g_col_class_b: "乙类报销",
    g_col_caps: "最高支付",
    g_cap_visit: "每次 {0} 元",
    g_cap_day: "每天 {0} 元",
    g_cap_year: "每年 {0} 元",
    g_no_cap: "不设上限",
    g_placeholder: "标注“暂定”的数值是占位值，以当地医保局公布为准。",
    g_provisional: "暂定",
    g_second: "二次报销",
    g_second_tier: "全年累计超过 {0} 元至 {1} 元的部分，再报销 {2}",
    g_second_lead: "职工医保{0}的合规个人负担，结算时自动二次报销：",
    g_contrib: "居民医保个人缴费",
    g_contrib_lead: "居民医保每年缴一次费，缴费后第二年享受待遇。户主的个人账户可以为家人缴纳居民医保。",
    g_contrib_year: "{0} 年度",
    g_contrib_window: "征收期 {0} 至 {1}",
    g_contrib_extended: "延长至 {0}",
    g_contrib_days: "每月 {0}–{1} 日受理",
    g_contrib_benefit: "待遇享受期为当年 1 月 1 日至 12 月 31 日。",
    g_contrib_open_now: "正在征收",
    g_contrib_current: "本年度待遇",
    g_col_category: "人员类别",
    g_col_amount: "个人缴费",
    g_faq: "常见问题",
    faq_q_qinqing: "“亲情账户”和“家庭共济”是一回事吗？",
    faq_a_qinqing: "不是。“亲情账户”是在医保电子凭证里添加家人，帮老人、孩子出示他们自己的电子凭证二维码，花的是家人自己的钱；“家庭共济”是把您个人账户的钱授权给家人用。两者可以同时开通，互不影响。",
    faq_q_refused: "为什么绑定被拒绝了？",
    faq_a_refused_lead: "系统会告诉您具体原因，常见的有：",
    faq_r_not_insured: "对方没有参保，或参保状态不正常（暂停、终止）。",
    faq_r_region: "对方不在本省参保。",
    faq_r_scope: "关系不在共济范围内。本地区现在的范围是：{0}。",
    faq_r_identity: "姓名或身份证号填写有误，与参保登记不一致。",
    faq_r_type: "险种不符：户主须参加职工医保；享受公费医疗的人员不能参加。",
    faq_r_already_bound: "对方已经被其他户主绑定。",
    faq_r_one_way: "对方自己已经是户主，或您已经被别人绑定（单向绑定）。",
    faq_r_paused: "户主本人参保中断（减员）。",
    faq_r_month: "本月绑定、解绑已达 {0} 次。",
    faq_r_parents: "已经绑定了配偶，或父亲、母亲已经绑定过。",
    faq_a_refused_next: "按提示改正后可以重新申请；信息有误请到参保地医保经办机构更正，或拨打 12393 咨询。",
    faq_q_face: "刷脸总是失败怎么办？",
    faq_a_face: "请在光线充足的地方，摘下帽子和眼镜，正对手机屏幕。多次失败可以请家人协助，或带身份证到医保经办窗口办理。",
    faq_q_check: "绑定前能先查一下家人是否符合条件吗？",
    faq_a_check: "可以。在“我的共济”里输入家人的姓名和身份证号，先核验是否符合条件，再开始绑定。",
    faq_q_pay: "家人看病时怎么用共济？",
    faq_a_pay: "在支持共济的定点医院收费窗口、自助机或定点药店结算时，出示医保凭证，系统按上面的支付顺序自动计算，收据上会写明共济支付了多少、来自哪位户主。",
    g_source: "本页数字全部取自该地区的政策文件",
    list_sep: "、",
    colon: "：",

    term_title: "机构收费终端",
    term_lead: "模拟医院收费窗口、药店收银台或自助机：按国家医保“定点医药机构接口”报文读卡、预结算、结算和撤销。",
    term_step_inst: "选择机构",
    term_inst_select: "定点医药机构",
    term_inst_choose: "请选择机构",
    term_inst_code: "或输入机构编码",
    term_inst_code_hint: "12 位 fixmedins_code，例如 P37030000001",
    term_channel: "终端类型",
    term_channel_window: "收费窗口（opter_type 1）",
    term_channel_self: "自助终端（opter_type 2）",
    term_inst_ok: "确定",
    term_inst_change: "更换机构",
    term_inst_aid_yes: "支持共济",
    term_inst_aid_no: "不支持共济",
    term_step_read: "读取人员信息（1101）",
    term_cert_type: "凭证类型",
    term_cert_no: "证件号码",
    term_cert_hint: "身份证号、社保卡号或电子凭证令牌",
    term_read: "读卡",
    term_name: "姓名",
    term_gender_age: "性别 / 年龄",
    term_age: "{0} 岁",
    term_insutype: "险种",
    term_insu_place: "参保地",
    term_insu_status: "参保状态",
    term_balance: "个人账户余额",
    term_employer: "单位",
    term_step_items: "收费项目",
    term_item: "目录项目",
    term_count: "数量",
    term_price: "单价（元）",
    term_price_hint: "不填则按目录最高限价",
    term_add: "添加",
    term_cart_empty: "还没有收费项目。",
    term_col_item: "项目",
    term_col_price: "单价",
    term_col_count: "数量",
    term_col_amount: "金额",
    term_remove: "删除",
    term_total: "合计",
    term_step_settle: "结算",
    term_med_type: "医疗类别",
    term_acct_use: "个人账户使用",
    term_holder_cert: "户主证件号（选填）",
    term_holder_cert_hint: "凭户主社保卡或电子凭证共济的地区（如山西）填写户主的身份证号；其他地区留空。",
    term_presettle: "预结算",
    term_settle: "结算",
    term_confirm_settle: "确认结算",
    term_preview: "预结算结果（未扣款）",
    term_preview_note: "预结算只计算不扣款。确认无误后点击“结算”。",
    term_receipt: "医保结算单",
    term_receipt_cancelled: "结算撤销单",
    term_msgid: "机构报文号",
    term_setl_id: "结算流水号",
    term_setl_time: "结算时间",
    term_patient: "就医人",
    term_medfee: "医疗费总额",
    term_fund: "统筹基金支付",
    term_acct_total: "个人账户支付",
    term_own_acct: "本人个人账户",
    term_mutual: "家庭共济",
    term_mutual_from: "户主 {0}",
    term_cash: "现金支付",
    term_hosp_part: "医院负担",
    term_balc_after: "本人账户余额",
    term_details: "支付说明",
    term_selfpay_parts: "费用构成",
    term_fulamt: "全自费（丙类）",
    term_overlmt: "超限价自付",
    term_preselfpay: "先行自付（乙类）",
    term_inscp: "符合范围金额",
    term_print: "打印结算单",
    term_cancel: "撤销结算",
    term_cancel_confirm: "确定撤销这笔结算吗？所有款项将原路退回。",
    term_next: "下一位",
    term_cancelled_note: "已撤销。每一笔钱都已原路退回：统筹基金、本人账户和户主账户。",
    term_log: "接口报文",
    term_log_lead: "本次操作发给机构接口的报文和应答（与医院 HIS 发送的完全相同）。",
    term_log_request: "请求",
    term_log_response: "应答",
    term_ok: "成功",
    term_refused: "失败",
    term_err_prefix: "机构接口返回错误：",
    term_err_no_inst: "请先选择机构。",
    term_err_unknown_inst: "没有这个机构编码，请检查后重新输入。",
    term_err_no_cert: "请输入证件号码。",
    term_err_no_person: "请先读卡。",
    term_err_item: "请选择目录中的项目。",
    term_err_count: "数量须为 1 到 9999 的整数。",
    term_err_price: "单价须为大于 0 的金额，最多两位小数；此项目没有最高限价，请填写单价。",
    term_err_cart_full: "一次最多 50 个收费项目。",
    term_err_cart_empty: "请先添加收费项目。",
    term_err_state: "页面数据已失效，请重新开始。",
    term_err_gateway: "机构接口拒绝了网关认证：",
    term_err_internal: "系统暂时无法处理，请稍后重试。",
    term_notice_read: "已读取参保人信息。",
    term_notice_settled: "结算成功。",
    term_notice_cancelled: "结算已撤销。",
    term_no_mutual: "本次未使用家庭共济。",
};

pub static EN: Dict = Dict {
    site_name: "Gongji",
    site_sub: "Family mutual aid of the employee medical-insurance personal account",
    switch_to_other: "中文",
    switch_aria: "切换到中文",
    skip_to_content: "Skip to main content",
    nav_label: "Main navigation",
    nav_home: "Home",
    nav_guide: "Policy guide",
    nav_terminal: "Terminal",
    footer_demo: "This is a demonstration: persons, institutions and amounts are synthetic; no real personal data.",
    footer_project: "Gongji · open-source settlement of personal-account mutual aid",
    footer_hotline: "Questions about the policy: medical-insurance hotline 12393",
    yuan: "yuan",
    back_home: "Back to the home page",

    home_title: "One account, the whole family covered",
    home_lead: "If you have employee medical insurance, you can let your spouse, parents, children and other near relatives use your personal-account balance: their own share of medical and pharmacy bills, and their resident-insurance premium, can be paid from your account.",
    home_entries: "Services",
    entry_mine: "My family aid",
    entry_mine_desc: "Bind relatives, set limits, see your balance and every payment",
    entry_guide: "Policy guide",
    entry_guide_desc: "Who counts, the reserve, the payment order in each region; no sign-in",
    entry_nearby: "Institutions nearby",
    entry_nearby_desc: "Find hospitals and pharmacies near you that accept mutual aid",
    entry_terminal: "Institution terminal",
    entry_terminal_desc: "Hospital window, pharmacy, self-service kiosk: read, pre-settle, settle, cancel",
    entry_staff: "Bureau staff",
    entry_staff_desc: "Console: search persons, suspend mutual aid, recover, reports",
    soon_badge: "Coming soon",
    how_title: "How mutual aid works",
    how_1_title: "Bind your family",
    how_1: "An employee-insured person (the holder) binds near relatives on the phone and may set a limit for each.",
    how_2_title: "Own account first",
    how_2: "When a relative sees a doctor or buys medicine, his own personal account pays first.",
    how_3_title: "The holder covers the rest",
    how_3: "When that is not enough, the difference is paid from the holder's account, and every payment is recorded.",
    home_regions: "Regions served",
    home_regions_lead: "Choose a region to read its rules: who counts, the reserve, limits and payment order.",

    soon_title: "Coming soon",
    soon_text: "\u{201c}{0}\u{201d} is being built and will open soon.",
    soon_meanwhile: "Meanwhile, the policy guide explains the mutual-aid rules of your region.",

    guide_title: "Policy guide",
    guide_lead: "Choose the region where you are insured to see who may share, how much, and in which order. No sign-in needed.",
    guide_today: "Shown as the policy stands today ({0}).",
    level_province: "Province",
    level_city: "City",
    guide_version: "Version {0} · in force from {1}",
    guide_scope_now: "Relatives who may share today",
    guide_open: "Read more",
    guide_not_found: "No policy found for this region",
    guide_not_found_text: "Please choose a region from the policy guide.",

    g_toc: "On this page",
    g_what: "What is family mutual aid",
    g_what_1: "Family mutual aid of the personal account (个账共济) lets a person with employee medical insurance (the holder) authorise near relatives to use the balance of his personal account.",
    g_what_2: "The money stays in the holder's account until a relative actually pays a medical bill or a premium with it; every payment is recorded and the holder can see it at any time.",
    g_uses: "Mutual-aid money may pay for",
    g_who: "Who may share",
    g_scope_today: "Near relatives who may be bound today ({0}):",
    g_scope_none: "No relationship scope is in force today.",
    g_scope_history: "How the scope has changed",
    g_from: "from {0}",
    g_period_current: "in force",
    g_period_past: "superseded",
    g_period_future: "not yet in force",
    g_scope_rule: "A binding is judged by the scope in force on its date: bindings made before the scope changed stay valid.",
    g_holder: "The holder (who shares) must have: {0}.",
    g_relative: "The relative (who spends) must have: {0}.",
    g_same_province: "Both must be insured in this province; mutual aid across provinces is not yet possible.",
    g_any_province: "Any province of insurance.",
    g_no_public_medical: "Persons under public medical care (公费医疗) take no part, as holder or as relative.",
    g_binding_rules: "Binding rules",
    g_rule_one_spouse: "One spouse, one father and one mother at most; any number of children.",
    g_rule_max_holders: "A relative may be bound by at most {0} holders.",
    g_rule_one_holder: "A relative may be bound by only one holder.",
    g_rule_max_relatives: "A holder may bind at most {0} relatives.",
    g_rule_max_changes: "A holder may bind or unbind at most {0} times a month in all.",
    g_rule_one_way: "Bindings go one way: a relative already bound by someone cannot become a holder, and a holder cannot be bound by someone else.",
    g_rule_insured_normally: "The holder must be insured normally: while his insurance is interrupted he cannot bind, and his relatives cannot use his account.",
    g_rule_face: "Binding and unbinding need the holder's face verification.",
    g_rule_end_earlier: "A binding's end date can only be moved earlier, never later.",
    g_rule_auto_end: "A binding ends by itself when either side's insurance ends.",
    g_rule_none: "No further binding restrictions.",
    g_reserve: "Reserve and limits",
    g_reserve_some: "The holder keeps a reserve of {0} yuan; only the balance above it may be shared.",
    g_reserve_example: "Example: with a balance of {1} yuan and a reserve of {0} yuan, {2} yuan may be shared.",
    g_reserve_none: "No reserve: the holder's whole balance may be shared.",
    g_limits_yes: "The holder may set a limit for each relative (per payment, per month or per year) to protect his own account.",
    g_limits_no: "There are no per-relative limits.",
    g_order: "Payment order",
    g_order_1: "First, the pooled fund pays its share under the rules.",
    g_order_2_auto: "The relative's own share is paid from his own personal account first; when it runs short, the holder's account pays the rest automatically.",
    g_order_2_explicit: "The relative's own share is paid from his own personal account first; mutual aid is used only when it is chosen explicitly at the counter.",
    g_order_3: "Whatever is still left is paid in cash, by WeChat or Alipay.",
    g_order_by_date: "When a relative has several holders, they pay in the order of binding: the earliest binding pays first, then the next.",
    g_order_by_available: "When a relative has several holders, the one with the largest available balance pays first.",
    g_order_one_holder: "Here a relative may have only one holder, so in practice that one holder pays.",
    g_pool_excluded: "A bill in which the pooled fund pays anything (outpatient pooling, for example) is settled without mutual aid: own account and cash only.",
    g_pool_not_excluded: "The personal share left after the pooled fund has paid may also be paid by mutual aid.",
    g_cred_holder: "To use mutual aid the relative presents the holder's social-security card or e-voucher.",
    g_cred_own: "To use mutual aid the relative presents his own social-security card or e-voucher.",
    g_pooling: "Outpatient pooling",
    g_pooling_lead: "The pooled fund reimburses outpatient costs as follows; only what is left is paid by personal accounts, mutual aid and cash.",
    g_pooling_none: "This region's policy file sets no outpatient pooling.",
    g_col_rule: "Benefit",
    g_col_levels: "Institutions",
    g_col_deductible: "Deductible (year)",
    g_col_class_a: "Class A",
    g_col_class_b: "Class B",
    g_col_caps: "Caps",
    g_cap_visit: "{0} yuan per visit",
    g_cap_day: "{0} yuan per day",
    g_cap_year: "{0} yuan per year",
    g_no_cap: "no cap",
    g_placeholder: "Values marked \u{201c}provisional\u{201d} are placeholders until the local bureau publishes them.",
    g_provisional: "provisional",
    g_second: "Second reimbursement",
    g_second_tier: "of the year's cumulative amount above {0} up to {1} yuan, {2} is refunded",
    g_second_lead: "The compliant personal burden of employee-insured {0} is reimbursed a second time at settlement:",
    g_contrib: "Resident-insurance premium",
    g_contrib_lead: "Resident insurance is paid once a year, for the benefits of the following year. A holder's personal account may pay a relative's resident premium.",
    g_contrib_year: "Benefit year {0}",
    g_contrib_window: "collection {0} to {1}",
    g_contrib_extended: "extended to {0}",
    g_contrib_days: "accepted on days {0}–{1} of each month",
    g_contrib_benefit: "Benefits run from 1 January to 31 December of the benefit year.",
    g_contrib_open_now: "collecting now",
    g_contrib_current: "this year's benefits",
    g_col_category: "Category",
    g_col_amount: "Premium",
    g_faq: "Questions people ask",
    faq_q_qinqing: "Is the \u{201c}family account\u{201d} (亲情账户) the same as family mutual aid?",
    faq_a_qinqing: "No. The family account adds relatives to your medical-insurance e-voucher so that you can show their own QR code for them (an elderly parent, a child): they spend their own money. Family mutual aid lets relatives spend money from your personal account. You can have both.",
    faq_q_refused: "Why was a binding refused?",
    faq_a_refused_lead: "The refusal always says why. The usual reasons:",
    faq_r_not_insured: "The relative is not insured, or the insurance is paused or has ended.",
    faq_r_region: "The relative is insured outside this province.",
    faq_r_scope: "The relationship is outside the scope. Here the scope is now: {0}.",
    faq_r_identity: "The name or ID number does not match the insurance registry.",
    faq_r_type: "Wrong insurance type: the holder must have employee insurance; persons under public medical care take no part.",
    faq_r_already_bound: "The relative is already bound by another holder.",
    faq_r_one_way: "The relative is a holder himself, or you are already someone's relative (one-way bindings).",
    faq_r_paused: "The holder's own insurance is interrupted.",
    faq_r_month: "This month's {0} bind and unbind operations are used up.",
    faq_r_parents: "A spouse is already bound, or the father or mother is already bound.",
    faq_a_refused_next: "Fix what the message says and apply again; wrong registry data is corrected at the insurance office, or call 12393.",
    faq_q_face: "Face verification keeps failing. What can I do?",
    faq_a_face: "Find good light, take off hat and glasses and face the screen. If it still fails, ask a family member to help or bring your ID card to an insurance office counter.",
    faq_q_check: "Can I check whether a relative qualifies before I start?",
    faq_a_check: "Yes. In \u{201c}My family aid\u{201d}, enter the relative's name and ID number to check eligibility first, then start the binding.",
    faq_q_pay: "How does a relative use mutual aid at the hospital?",
    faq_a_pay: "At the window, kiosk or pharmacy of an institution that accepts mutual aid, show the insurance credential; the system applies the payment order above, and the receipt says how much mutual aid paid and from which holder.",
    g_source: "Every number on this page comes from the region's policy file",
    list_sep: ", ",
    colon: ": ",

    term_title: "Institution terminal",
    term_lead: "A hospital window, pharmacy till or self-service kiosk: reads, pre-settles, settles and cancels with the messages of the national institution interface.",
    term_step_inst: "Choose the institution",
    term_inst_select: "Designated institution",
    term_inst_choose: "Choose an institution",
    term_inst_code: "Or enter the institution code",
    term_inst_code_hint: "12-character fixmedins_code, e.g. P37030000001",
    term_channel: "Terminal type",
    term_channel_window: "Charging window (opter_type 1)",
    term_channel_self: "Self-service terminal (opter_type 2)",
    term_inst_ok: "Confirm",
    term_inst_change: "Change institution",
    term_inst_aid_yes: "accepts mutual aid",
    term_inst_aid_no: "no mutual aid",
    term_step_read: "Read the person (1101)",
    term_cert_type: "Credential type",
    term_cert_no: "Credential number",
    term_cert_hint: "ID number, social-security card number or e-voucher token",
    term_read: "Read",
    term_name: "Name",
    term_gender_age: "Sex / age",
    term_age: "{0} years",
    term_insutype: "Insurance",
    term_insu_place: "Insured in",
    term_insu_status: "Status",
    term_balance: "Personal-account balance",
    term_employer: "Employer",
    term_step_items: "Items",
    term_item: "Catalog item",
    term_count: "Count",
    term_price: "Unit price (yuan)",
    term_price_hint: "Empty: the catalog price cap",
    term_add: "Add",
    term_cart_empty: "No items yet.",
    term_col_item: "Item",
    term_col_price: "Price",
    term_col_count: "Count",
    term_col_amount: "Amount",
    term_remove: "Remove",
    term_total: "Total",
    term_step_settle: "Settle",
    term_med_type: "Medical type",
    term_acct_use: "Personal account",
    term_holder_cert: "Holder's ID number (optional)",
    term_holder_cert_hint: "Where the holder's card authorises mutual aid (e.g. Shanxi), enter the holder's ID number; elsewhere leave it empty.",
    term_presettle: "Pre-settle",
    term_settle: "Settle",
    term_confirm_settle: "Confirm and settle",
    term_preview: "Pre-settlement (nothing charged)",
    term_preview_note: "A pre-settlement computes without charging. Press \u{201c}Settle\u{201d} when it is right.",
    term_receipt: "Settlement receipt",
    term_receipt_cancelled: "Cancellation receipt",
    term_msgid: "Message id (msgid)",
    term_setl_id: "Settlement id",
    term_setl_time: "Settled at",
    term_patient: "Patient",
    term_medfee: "Total medical cost",
    term_fund: "Pooled fund",
    term_acct_total: "Personal accounts",
    term_own_acct: "Own personal account",
    term_mutual: "Family mutual aid",
    term_mutual_from: "holder {0}",
    term_cash: "Cash",
    term_hosp_part: "Borne by the hospital",
    term_balc_after: "Own balance after",
    term_details: "How it was paid",
    term_selfpay_parts: "Cost breakdown",
    term_fulamt: "Fully self-paid (class C)",
    term_overlmt: "Above the price cap",
    term_preselfpay: "Class-B self-pay share",
    term_inscp: "Within the catalogue",
    term_print: "Print receipt",
    term_cancel: "Cancel settlement",
    term_cancel_confirm: "Cancel this settlement? Every amount goes back where it came from.",
    term_next: "Next patient",
    term_cancelled_note: "Cancelled. Every fen went back where it came from: pooled fund, own account and holders' accounts.",
    term_log: "Interface messages",
    term_log_lead: "The messages this step sent to the institution interface and its answers, exactly as a hospital HIS sends them.",
    term_log_request: "Request",
    term_log_response: "Response",
    term_ok: "ok",
    term_refused: "refused",
    term_err_prefix: "The institution interface refused:",
    term_err_no_inst: "Choose an institution first.",
    term_err_unknown_inst: "There is no institution with this code. Please check it.",
    term_err_no_cert: "Enter the credential number.",
    term_err_no_person: "Read the person first.",
    term_err_item: "Choose an item from the catalog.",
    term_err_count: "The count must be a whole number from 1 to 9999.",
    term_err_price: "The unit price must be above 0 with at most two decimals; this item has no price cap, so enter a price.",
    term_err_cart_full: "At most 50 items at once.",
    term_err_cart_empty: "Add an item first.",
    term_err_state: "The page data is no longer valid; please start again.",
    term_err_gateway: "The institution interface refused the gateway authentication:",
    term_err_internal: "The system cannot handle this right now; please try again.",
    term_notice_read: "Person read.",
    term_notice_settled: "Settled.",
    term_notice_cancelled: "Settlement cancelled.",
    term_no_mutual: "No mutual aid was used.",
};

// ---- names of codes ----

pub fn relation_class(lang: Lang, c: RelationClass) -> &'static str {
    match lang {
        Lang::Zh => c.name_zh(),
        Lang::En => match c {
            RelationClass::Spouse => "spouse",
            RelationClass::Child => "children",
            RelationClass::Grandchild => "grandchildren (paternal and maternal)",
            RelationClass::Parent => "parents",
            RelationClass::InLawParent => "parents-in-law",
            RelationClass::Grandparent => "grandparents (paternal and maternal)",
            RelationClass::Sibling => "brothers and sisters",
            RelationClass::SiblingSpouse => "spouses of siblings",
            RelationClass::Other => "others",
        },
    }
}

pub fn insutype(lang: Lang, t: Insutype) -> &'static str {
    match lang {
        Lang::Zh => t.name_zh(),
        Lang::En => match t {
            Insutype::Employee => "employee basic medical insurance",
            Insutype::EmployeeLargeExpense => "civil-servant medical subsidy",
            Insutype::LargeExpenseSupplement => "large-expense supplement",
            Insutype::RetiredCadre => "retired-cadre medical care",
            Insutype::EnterpriseSupplement => "enterprise supplementary insurance",
            Insutype::Resident => "urban-rural resident basic medical insurance",
            Insutype::ResidentSeriousIllness => "resident serious-illness insurance",
            Insutype::ResidentLargeExpense => "resident large-expense insurance",
            Insutype::LongTermCare => "long-term-care insurance",
            Insutype::Maternity => "maternity insurance",
        },
    }
}

/// Short names for tables.
pub fn insutype_short(lang: Lang, t: Insutype) -> &'static str {
    match (lang, t) {
        (Lang::Zh, Insutype::Employee) => "职工医保",
        (Lang::Zh, Insutype::Resident) => "居民医保",
        (Lang::En, Insutype::Employee) => "employee",
        (Lang::En, Insutype::Resident) => "resident",
        _ => insutype(lang, t),
    }
}

pub fn med_type(lang: Lang, m: MedType) -> &'static str {
    match lang {
        Lang::Zh => m.name_zh(),
        Lang::En => match m {
            MedType::GeneralOutpatient => "general outpatient",
            MedType::RegistrationOnly => "registration only",
            MedType::Emergency => "emergency",
            MedType::ChronicSpecialOutpatient => "chronic / special outpatient",
            MedType::Inpatient => "inpatient",
            MedType::PharmacyPurchase => "pharmacy purchase",
        },
    }
}

pub fn hospital_level(lang: Lang, l: HospitalLevel) -> &'static str {
    match lang {
        Lang::Zh => l.name_zh(),
        Lang::En => match l {
            HospitalLevel::Primary => "primary level",
            HospitalLevel::Level2 => "level 2 and below",
            HospitalLevel::Level3 => "level 3",
        },
    }
}

pub fn mutual_aid_use(lang: Lang, u: MutualAidUse) -> &'static str {
    match lang {
        Lang::Zh => u.name_zh(),
        Lang::En => match u {
            MutualAidUse::MedicalCost => {
                "the relative's own share of bills at designated hospitals and pharmacies"
            }
            MutualAidUse::ResidentPremium => "the relative's resident-insurance premium",
            MutualAidUse::LargeExpensePremium => {
                "the relative's employee large-expense supplement premium"
            }
            MutualAidUse::LongTermCarePremium => "the relative's long-term-care insurance premium",
        },
    }
}

pub fn charge_level(lang: Lang, c: ChargeLevel) -> &'static str {
    match lang {
        Lang::Zh => c.name_zh(),
        Lang::En => match c {
            ChargeLevel::ClassA => "class A",
            ChargeLevel::ClassB => "class B",
            ChargeLevel::ClassC => "class C",
        },
    }
}

pub fn institution_kind(lang: Lang, k: InstitutionKind) -> &'static str {
    match lang {
        Lang::Zh => match k {
            InstitutionKind::Medical => "医疗机构",
            InstitutionKind::Pharmacy => "药店",
        },
        Lang::En => match k {
            InstitutionKind::Medical => "hospital",
            InstitutionKind::Pharmacy => "pharmacy",
        },
    }
}

pub fn insu_status(lang: Lang, s: InsuStatus) -> &'static str {
    match lang {
        Lang::Zh => s.name_zh(),
        Lang::En => match s {
            InsuStatus::Normal => "insured normally",
            InsuStatus::Paused => "paused",
            InsuStatus::Terminated => "terminated",
        },
    }
}

pub fn gender(lang: Lang, g: Gender) -> &'static str {
    match lang {
        Lang::Zh => g.name_zh(),
        Lang::En => match g {
            Gender::Male => "male",
            Gender::Female => "female",
            Gender::Unknown => "not stated",
        },
    }
}

pub fn cert_type(lang: Lang, c: CertType) -> &'static str {
    match lang {
        Lang::Zh => c.name_zh(),
        Lang::En => match c {
            CertType::EVoucher => "medical-insurance e-voucher",
            CertType::IdCard => "resident ID card",
            CertType::SocialSecurityCard => "social-security card",
        },
    }
}

pub fn account_use(lang: Lang, a: AccountUse) -> &'static str {
    match lang {
        Lang::Zh => match a {
            AccountUse::CashOnly => "不使用个人账户（0）",
            AccountUse::OwnAccount => "使用个人账户，按地区政策共济（1）",
            AccountUse::OwnThenMutualAid => "个人账户，不足时家庭共济（2）",
        },
        Lang::En => match a {
            AccountUse::CashOnly => "do not use personal accounts (0)",
            AccountUse::OwnAccount => "own account; mutual aid where the region says (1)",
            AccountUse::OwnThenMutualAid => "own account, then family mutual aid (2)",
        },
    }
}

/// A region's name. `fallback` (the policy's Chinese name) is used for regions we do not know.
pub fn region_name(lang: Lang, admdvs: Admdvs, fallback: &str) -> String {
    let known = match (lang, admdvs.code()) {
        (Lang::Zh, 370000) => Some("山东省"),
        (Lang::Zh, 370100) => Some("济南市"),
        (Lang::Zh, 370300) => Some("淄博市"),
        (Lang::Zh, 370600) => Some("烟台市"),
        (Lang::Zh, 140000) => Some("山西省"),
        (Lang::Zh, 140100) => Some("太原市"),
        (Lang::Zh, 140800) => Some("运城市"),
        (Lang::En, 370000) => Some("Shandong Province"),
        (Lang::En, 370100) => Some("Jinan"),
        (Lang::En, 370300) => Some("Zibo"),
        (Lang::En, 370600) => Some("Yantai"),
        (Lang::En, 140000) => Some("Shanxi Province"),
        (Lang::En, 140100) => Some("Taiyuan"),
        (Lang::En, 140800) => Some("Yuncheng"),
        _ => None,
    };
    match known {
        Some(n) => n.to_string(),
        None if lang.is_en() => format!("Region {admdvs}"),
        None => fallback.to_string(),
    }
}

/// The name of a policy as a page title.
pub fn policy_title(lang: Lang, admdvs: Admdvs, name_zh: &str) -> String {
    match lang {
        Lang::Zh => name_zh.to_string(),
        Lang::En => format!(
            "{}: personal-account mutual aid",
            region_name(lang, admdvs, name_zh)
        ),
    }
}

/// A pooling rule's name: the file's Chinese name, or built from its codes in English.
pub fn pooling_rule_name(lang: Lang, name_zh: &str, insutype: Insutype) -> String {
    match lang {
        Lang::Zh => name_zh.to_string(),
        Lang::En => format!("{} outpatient pooling", insutype_short(lang, insutype)),
    }
}

/// A contribution category: the file's Chinese name, or the English of a known code.
pub fn contribution_category(lang: Lang, code: &str, name_zh: &str) -> String {
    if !lang.is_en() {
        return name_zh.to_string();
    }
    match code {
        "general" => "general residents",
        "special_hardship" => "special hardship (orphans, children without de-facto carers)",
        "returned_to_poverty" => "returned to poverty",
        "monitored" => "monitored by rural revitalisation",
        "minimum_subsistence" => "minimum subsistence (低保)",
        "disabled_elderly_minor" => {
            "disabled without work capacity, low-income aged 60+, and minors"
        }
        other => other,
    }
    .to_string()
}

/// A name with its code: `职工基本医疗保险（310）`, `employee basic medical insurance (310)`.
pub fn with_code(lang: Lang, name: &str, code: &dyn Display) -> String {
    match lang {
        Lang::Zh => format!("{name}（{code}）"),
        Lang::En => format!("{name} ({code})"),
    }
}

/// `6000` basis points as `60%`.
pub fn percent(bp: gongji_core::BasisPoints) -> String {
    let v = bp.get();
    if v.is_multiple_of(100) {
        format!("{}%", v / 100)
    } else {
        let f = format!("{:02}", v % 100);
        format!("{}.{}%", v / 100, f.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_numbered_places() {
        assert_eq!(fill("{0} 至 {1}，{0}", &[&"a", &2]), "a 至 2，a");
    }

    #[test]
    fn languages_parse() {
        assert_eq!(Lang::parse("EN"), Some(Lang::En));
        assert_eq!(Lang::parse("zh-CN"), Some(Lang::Zh));
        assert_eq!(Lang::parse("fr"), None);
    }

    #[test]
    fn percents() {
        let p = |v| gongji_core::BasisPoints::new(v).map(percent);
        assert_eq!(p(6000).as_deref(), Some("60%"));
        assert_eq!(p(5550).as_deref(), Some("55.5%"));
    }
}
