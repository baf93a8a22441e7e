//! Every way the rules can say no. One stable code per variant, a Chinese message that
//! says why and what to do next (R-N5), and an English one.

use std::fmt;

use chrono::NaiveDate;

use crate::codes::RelationClass;
use crate::money::Fen;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    // --- binding (共济绑定) ---
    BindSelf,
    EndBeforeBegin,
    HolderNotEmployee,
    HolderPublicMedical,
    HolderInsuranceInterrupted,
    RelativeNotInsured,
    RelativeInsutypeNotAllowed,
    RelativePublicMedical,
    DifferentProvince,
    RelationshipOutOfScope {
        class: RelationClass,
        date: NaiveDate,
        allowed: Vec<RelationClass>,
    },
    FaceVerificationRequired,
    DuplicateBinding,
    RelativeAlreadyBound,
    RelativeIsHolder,
    HolderIsRelative,
    SpouseAlreadyBound,
    ParentAlreadyBound,
    TooManyHolders {
        max: u32,
    },
    TooManyRelatives {
        max: u32,
    },
    TooManyChanges {
        max: u32,
    },
    EndOnlyEarlier,
    BindingNotActive,
    LimitsNotAllowed,
    NoPolicy,
    /// The holder did not tick that he read the notice (告知书) (R-S7).
    NoticeNotAcknowledged,
    /// The commitment letter (承诺书) is not signed (R-S7).
    CommitmentNotSigned,
    /// The name given does not belong to the ID number given (R-N5).
    RelativeIdentityMismatch,
    /// The relation names a sex the relative's ID number does not have (a woman as 子).
    RelationSexMismatch {
        relationship: crate::codes::Relationship,
    },
    /// The two birth dates cannot be in this relation (a child older than the holder).
    RelationAgeImplausible {
        relationship: crate::codes::Relationship,
    },
    /// The commitment letter is signed with another name than the holder's.
    SignatureNotHolder,
    // --- settlement and payment ---
    PersonNotInsured,
    /// A resident who did not pay for the year while it was collected (R-R2).
    ResidentNotCovered {
        year: i32,
    },
    InvalidAmount,
    FeeTotalMismatch {
        declared: Fen,
        computed: Fen,
    },
    UnknownCatalogItem {
        code: String,
    },
    AmountOverflow,
    /// A fee line whose `pric × cnt` is a fen or more away from its `det_item_fee_sumamt`.
    FeeLineAmountMismatch {
        feedetl_sn: String,
        /// The exact product, yuan text with up to 10 decimals.
        price_times_count: String,
        amount: Fen,
    },
    /// The holder's credential was shown, but the bureau suspended his mutual aid for this
    /// relative (R-S7): said in plain words instead of a credential mismatch.
    HolderCredentialSuspended,
    // --- institution interface ---
    /// A pharmacy transaction (2101–2103) from an institution that is not a pharmacy.
    NotAPharmacy,
    /// A hospital transaction (2201–2208) from an institution that is not a hospital.
    NotAHospital,
    // --- premium (缴费) ---
    /// The holder's region does not let mutual aid pay this premium (R-S6); `what` names it.
    PremiumUseNotAllowed {
        what: &'static str,
    },
    PremiumNotBound,
    PremiumYearUnknown {
        year: i32,
    },
    PremiumCategoryUnknown,
    PremiumOutsideWindow,
    PremiumAlreadyPaid {
        year: i32,
        what: &'static str,
    },
    PremiumInsufficientBalance {
        available: Fen,
        needed: Fen,
    },
    PremiumRelativeNotResident,
    /// The large-expense supplement and long-term-care premiums are employees' (R-S6).
    PremiumRelativeNotEmployee,
    /// Outside the days an employee premium is collected.
    PremiumOutsideCollection {
        from: NaiveDate,
        to: NaiveDate,
    },
    /// A premium must be paid where the person is insured (R-R4).
    PremiumWrongPlace,
    /// The registry's category costs nothing (特困人员...): there is nothing to collect.
    PremiumNothingDue,
    /// A channel collected another amount than the registry's category costs.
    PremiumAmountMismatch {
        paid: Fen,
        due: Fen,
    },
    /// A row of a department's category list could not be read (R-R5); says why.
    CategoryListRowInvalid {
        detail: String,
    },
    // --- recovery (追回, R-S7) ---
    /// A recovery amount must be positive and within range.
    RecoveryInvalidAmount,
    /// The settlement is not a mutual-aid payment from this binding's holder for its relative.
    RecoveryNotMutualAid,
    /// The settlement was cancelled: its money went back already.
    RecoverySettlementCancelled,
    /// More than the mutual-aid payment (less what other cases claim) would be recovered.
    RecoveryExceedsPayment {
        available: Fen,
    },
    /// The case is not open (already repaid).
    RecoveryNotOpen,
    // --- 补报 (R-R2) ---
    BubaoNotPaid {
        year: i32,
    },
    BubaoSettlementCancelled,
    BubaoNothingWithheld,
    /// A settlement whose held-back share 补报 paid is not cancelled at the counter.
    BubaoPaidNoCancel,
    // --- cross-province quota (省际共济额度, R-N3) ---
    /// One of the two provinces has not opened cross-province mutual aid on this day.
    QuotaNotAllowed,
    /// A quota amount must be positive and within range.
    QuotaInvalidAmount,
    /// The grant would take the holder's account below its reserve.
    QuotaInsufficientBalance {
        available: Fen,
    },
    /// More than what is left of the quota would be returned.
    QuotaExceedsRemaining {
        remaining: Fen,
    },
    /// A transfer id seen before arrives with another amount: never applied.
    QuotaTransferMismatch,
    /// Only a reservation still waiting for the other province's answer can be released.
    QuotaTransferNotPending,
    /// There is no cross-province binding between these two that is in force on this day.
    QuotaNotBound,
    /// No transfer with this id was sent from this province.
    QuotaUnknownTransfer,
    /// A transfer id must start with its sender's province and say its direction.
    QuotaBadTransferId,
    /// The person is not insured in the province the request names.
    QuotaWrongProvince,
    // --- online requests staff review (登记与信息更正, R-R7) ---
    /// A correction that changes nothing.
    ReviewNothingChanged,
    /// A name that is not 2 to 20 characters of a person's name.
    ReviewNameInvalid,
    /// A mobile number that is not 11 digits starting with 1.
    ReviewPhoneInvalid,
    /// An ID number whose shape, birth date or check digit is wrong.
    ReviewIdNumberInvalid,
    /// A region that is not a 6-digit division code.
    ReviewRegionInvalid,
    /// A region this deployment does not serve: its agency registers the person.
    ReviewRegionNotServed,
    /// A rejection without a reason the person can read.
    ReviewReasonMissing,
    /// The request was approved or rejected already; it is decided once.
    ReviewAlreadyDecided,
    // --- invariants ---
    /// Postings that do not sum to zero: a bug; nothing is written.
    InternalUnbalanced,
}

impl Refusal {
    /// The stable code; tests, clients and docs rely on it.
    pub fn code(&self) -> &'static str {
        use Refusal::*;
        match self {
            BindSelf => "GJ-BIND-SELF",
            EndBeforeBegin => "GJ-BIND-END-BEFORE-BEGIN",
            HolderNotEmployee => "GJ-BIND-HOLDER-NOT-EMPLOYEE",
            HolderPublicMedical => "GJ-BIND-HOLDER-PUBLIC-MEDICAL",
            HolderInsuranceInterrupted => "GJ-BIND-HOLDER-INSURANCE-INTERRUPTED",
            RelativeNotInsured => "GJ-BIND-RELATIVE-NOT-INSURED",
            RelativeInsutypeNotAllowed => "GJ-BIND-RELATIVE-INSUTYPE",
            RelativePublicMedical => "GJ-BIND-RELATIVE-PUBLIC-MEDICAL",
            DifferentProvince => "GJ-BIND-DIFFERENT-PROVINCE",
            RelationshipOutOfScope { .. } => "GJ-BIND-RELATIONSHIP-OUT-OF-SCOPE",
            FaceVerificationRequired => "GJ-BIND-FACE-REQUIRED",
            DuplicateBinding => "GJ-BIND-DUPLICATE",
            RelativeAlreadyBound => "GJ-BIND-RELATIVE-ALREADY-BOUND",
            RelativeIsHolder => "GJ-BIND-RELATIVE-IS-HOLDER",
            HolderIsRelative => "GJ-BIND-HOLDER-IS-RELATIVE",
            SpouseAlreadyBound => "GJ-BIND-SPOUSE-LIMIT",
            ParentAlreadyBound => "GJ-BIND-PARENT-LIMIT",
            TooManyHolders { .. } => "GJ-BIND-TOO-MANY-HOLDERS",
            TooManyRelatives { .. } => "GJ-BIND-TOO-MANY-RELATIVES",
            TooManyChanges { .. } => "GJ-BIND-TOO-MANY-CHANGES",
            EndOnlyEarlier => "GJ-BIND-END-ONLY-EARLIER",
            BindingNotActive => "GJ-BIND-NOT-ACTIVE",
            HolderCredentialSuspended => "GJ-SETL-BINDING-SUSPENDED",
            LimitsNotAllowed => "GJ-BIND-LIMITS-NOT-ALLOWED",
            NoPolicy => "GJ-POLICY-NOT-FOUND",
            NoticeNotAcknowledged => "GJ-BIND-NOTICE-NOT-ACKNOWLEDGED",
            CommitmentNotSigned => "GJ-BIND-COMMITMENT-NOT-SIGNED",
            RelativeIdentityMismatch => "GJ-BIND-IDENTITY-MISMATCH",
            RelationSexMismatch { .. } => "GJ-BIND-RELATION-SEX",
            RelationAgeImplausible { .. } => "GJ-BIND-RELATION-AGE",
            SignatureNotHolder => "GJ-BIND-SIGNATURE-NOT-HOLDER",
            PersonNotInsured => "GJ-SETL-PERSON-NOT-INSURED",
            ResidentNotCovered { .. } => "GJ-SETL-RESIDENT-NOT-COVERED",
            InvalidAmount => "GJ-SETL-INVALID-AMOUNT",
            FeeTotalMismatch { .. } => "GJ-SETL-FEE-MISMATCH",
            UnknownCatalogItem { .. } => "GJ-SETL-UNKNOWN-ITEM",
            AmountOverflow => "GJ-SETL-AMOUNT-OVERFLOW",
            FeeLineAmountMismatch { .. } => "GJ-SETL-LINE-AMOUNT-MISMATCH",
            NotAPharmacy => "GJ-INST-NOT-PHARMACY",
            NotAHospital => "GJ-INST-NOT-HOSPITAL",
            PremiumUseNotAllowed { .. } => "GJ-PREMIUM-USE-NOT-ALLOWED",
            PremiumNotBound => "GJ-PREMIUM-NOT-BOUND",
            PremiumYearUnknown { .. } => "GJ-PREMIUM-YEAR-UNKNOWN",
            PremiumCategoryUnknown => "GJ-PREMIUM-CATEGORY-UNKNOWN",
            PremiumOutsideWindow => "GJ-PREMIUM-OUTSIDE-WINDOW",
            PremiumAlreadyPaid { .. } => "GJ-PREMIUM-ALREADY-PAID",
            PremiumInsufficientBalance { .. } => "GJ-PREMIUM-INSUFFICIENT-BALANCE",
            PremiumRelativeNotResident => "GJ-PREMIUM-RELATIVE-NOT-RESIDENT",
            PremiumRelativeNotEmployee => "GJ-PREMIUM-RELATIVE-NOT-EMPLOYEE",
            PremiumOutsideCollection { .. } => "GJ-PREMIUM-OUTSIDE-COLLECTION",
            PremiumWrongPlace => "GJ-PREMIUM-WRONG-PLACE",
            PremiumNothingDue => "GJ-PREMIUM-NOTHING-DUE",
            PremiumAmountMismatch { .. } => "GJ-PREMIUM-AMOUNT-MISMATCH",
            CategoryListRowInvalid { .. } => "GJ-CATEGORY-LIST-ROW-INVALID",
            RecoveryInvalidAmount => "GJ-RECOVERY-INVALID-AMOUNT",
            RecoveryNotMutualAid => "GJ-RECOVERY-NOT-MUTUAL-AID",
            RecoverySettlementCancelled => "GJ-RECOVERY-SETTLEMENT-CANCELLED",
            RecoveryExceedsPayment { .. } => "GJ-RECOVERY-EXCEEDS-PAYMENT",
            RecoveryNotOpen => "GJ-RECOVERY-NOT-OPEN",
            BubaoNotPaid { .. } => "GJ-BUBAO-NOT-PAID",
            BubaoSettlementCancelled => "GJ-BUBAO-SETTLEMENT-CANCELLED",
            BubaoNothingWithheld => "GJ-BUBAO-NOTHING-WITHHELD",
            BubaoPaidNoCancel => "GJ-BUBAO-PAID-NO-CANCEL",
            QuotaNotAllowed => "GJ-QUOTA-NOT-ALLOWED",
            QuotaInvalidAmount => "GJ-QUOTA-INVALID-AMOUNT",
            QuotaInsufficientBalance { .. } => "GJ-QUOTA-INSUFFICIENT-BALANCE",
            QuotaExceedsRemaining { .. } => "GJ-QUOTA-EXCEEDS-REMAINING",
            QuotaTransferMismatch => "GJ-QUOTA-TRANSFER-MISMATCH",
            QuotaTransferNotPending => "GJ-QUOTA-TRANSFER-NOT-PENDING",
            QuotaNotBound => "GJ-QUOTA-NOT-BOUND",
            QuotaUnknownTransfer => "GJ-QUOTA-UNKNOWN-TRANSFER",
            QuotaBadTransferId => "GJ-QUOTA-BAD-TRANSFER-ID",
            QuotaWrongProvince => "GJ-QUOTA-WRONG-PROVINCE",
            ReviewNothingChanged => "GJ-REVIEW-NOTHING-CHANGED",
            ReviewNameInvalid => "GJ-REVIEW-NAME-INVALID",
            ReviewPhoneInvalid => "GJ-REVIEW-PHONE-INVALID",
            ReviewIdNumberInvalid => "GJ-REVIEW-ID-NUMBER-INVALID",
            ReviewRegionInvalid => "GJ-REVIEW-REGION-INVALID",
            ReviewRegionNotServed => "GJ-REVIEW-REGION-NOT-SERVED",
            ReviewReasonMissing => "GJ-REVIEW-REASON-MISSING",
            ReviewAlreadyDecided => "GJ-REVIEW-ALREADY-DECIDED",
            InternalUnbalanced => "GJ-INTERNAL-UNBALANCED",
        }
    }

    /// Plain Chinese: why, and what to do next.
    pub fn message_zh(&self) -> String {
        use Refusal::*;
        match self {
            BindSelf => "不能把自己绑定为共济关系人。".into(),
            EndBeforeBegin => "结束日期早于开始日期，请重新选择日期。".into(),
            HolderNotEmployee => "只有参加职工基本医疗保险的人员才能把个人账户共济给家人。居民医保参保人没有可共济的个人账户。".into(),
            HolderPublicMedical => "享受公费医疗的人员不能开通个人账户家庭共济。".into(),
            HolderInsuranceInterrupted => "您的职工医保处于暂停或终止状态（减员），暂不能绑定或使用家庭共济。恢复参保后即可办理，请咨询单位或医保经办机构。".into(),
            RelativeNotInsured => "这位亲属目前不是正常参保状态。请先为其办理参保（例如缴纳城乡居民医保），再来绑定。".into(),
            RelativeInsutypeNotAllowed => "这位亲属的参保险种不在本地共济范围内，请咨询医保经办机构。".into(),
            RelativePublicMedical => "这位亲属享受公费医疗，不能作为共济关系人。".into(),
            DifferentProvince => "家庭共济仅限省内：您和这位亲属须在同一省份参保。若亲属在外省参保，暂不能绑定。".into(),
            RelationshipOutOfScope { class, date, allowed } => {
                let names: Vec<&str> = allowed.iter().map(|c| c.name_zh()).collect();
                format!(
                    "按本地{}起执行的政策，“{}”不在共济范围内。可以绑定的是：{}。",
                    date.format("%Y年%m月%d日"),
                    class.name_zh(),
                    names.join("、")
                )
            }
            FaceVerificationRequired => "本地要求户主本人刷脸验证后才能绑定或解绑，请完成人脸识别后再提交。".into(),
            DuplicateBinding => "您已经绑定了这位亲属，无需重复绑定。".into(),
            RelativeAlreadyBound => "这位亲属已被其他职工绑定为共济关系人，本地规定一位亲属只能由一位户主绑定。如需更换，请先由原户主解绑。".into(),
            RelativeIsHolder => "这位亲属本人已开通共济并绑定了其他家人，本地规定共济关系为单向，不能再被绑定。".into(),
            HolderIsRelative => "您已作为关系人被他人绑定，本地规定共济关系为单向，您不能再绑定其他亲属。".into(),
            SpouseAlreadyBound => "您已绑定一位配偶，配偶只能绑定一位。".into(),
            ParentAlreadyBound => "父亲、母亲各只能绑定一位（父母合计不超过两位），您已绑定的父母已达上限。".into(),
            TooManyHolders { max } => format!("这位亲属已被{max}位户主绑定，达到本地上限。"),
            TooManyRelatives { max } => format!("您已绑定{max}位亲属，达到本地上限。如需绑定新亲属，请先解绑一位。"),
            TooManyChanges { max } => format!("本月绑定、解绑已达{max}次上限，请下月再办理。"),
            EndOnlyEarlier => "共济结束日期只能提前，不能延后。如需延长，请到期后重新绑定。".into(),
            BindingNotActive => "该共济绑定已失效或被暂停，无法办理此项业务。".into(),
            HolderCredentialSuspended => "这位家人的共济已被医保经办机构暂停，不能用户主的凭证付款。请出示患者本人的社保卡或医保电子凭证结算，或请户主联系医保经办机构。".into(),
            LimitsNotAllowed => "本地政策不支持为亲属设置使用限额。".into(),
            NoPolicy => "您所在地区尚未配置家庭共济政策，请咨询当地医保经办机构。".into(),
            NoticeNotAcknowledged => "请先阅读《个人账户家庭共济告知书》并勾选“已阅读并知晓”，再提交绑定。".into(),
            CommitmentNotSigned => "请在《家庭共济关系承诺书》上签名后再提交绑定。".into(),
            RelativeIdentityMismatch => "亲属的姓名与身份证号不一致，请核对后重新输入（姓名须与身份证上完全一致）。".into(),
            RelationSexMismatch { relationship } => format!("按身份证号，这位亲属的性别与所选关系“{}”不符，请重新选择亲属关系（关系指这位亲属是您的什么人）。", relationship.name_zh()),
            RelationAgeImplausible { relationship } => format!("按身份证号中的出生日期，这位亲属不可能是您的“{}”（例如子女应比您年轻，父母、祖父母应比您年长），请重新选择亲属关系（关系指这位亲属是您的什么人）。", relationship.name_zh()),
            SignatureNotHolder => "承诺书须由户主本人签名：请输入您本人的姓名（与身份证上一致）。".into(),
            PersonNotInsured => "该人员当前不是正常参保状态，不能医保结算，请按自费处理或咨询医保经办机构。".into(),
            ResidentNotCovered { year } => format!("该居民未缴纳{year}年度城乡居民医保，本年度缴费期已过，统筹基金不能支付；请按自费处理或咨询医保经办机构。"),
            InvalidAmount => "金额无效（不能为负数或超出范围）。".into(),
            FeeTotalMismatch { declared, computed } => format!("医疗费总额{declared}元与明细合计{computed}元不一致，请核对费用明细。"),
            UnknownCatalogItem { code } => format!("医保目录中没有编码为{code}的项目，请核对目录编码。"),
            AmountOverflow => "金额超出系统可处理的范围。".into(),
            FeeLineAmountMismatch { feedetl_sn, price_times_count, amount } => format!("费用明细{feedetl_sn}：单价×数量为{price_times_count}元，与明细金额{amount}元相差1分或以上，请核对单价、数量和金额后重新上传。"),
            NotAPharmacy => "本机构不是定点零售药店，不能办理药店购药交易（2101–2103）；定点医疗机构请按门诊流程办理（2201–2208）。".into(),
            NotAHospital => "本机构不是定点医疗机构，不能办理就诊交易（2201–2208）；定点零售药店请使用购药交易（2101–2103）。".into(),
            PremiumUseNotAllowed { what } => format!("本地医保政策不允许用个人账户共济资金为亲属缴纳{what}，请通过其他渠道缴费。"),
            PremiumNotBound => "您与这位亲属之间没有有效的共济绑定，请先绑定后再代缴保费。".into(),
            PremiumYearUnknown { year } => format!("{year}年度的缴费标准尚未公布，请稍后再试。"),
            PremiumCategoryUnknown => "缴费档次不存在，请重新选择缴费人群类别。".into(),
            PremiumOutsideWindow => "当前不在集中缴费期内（每年9月1日至12月25日，每月1日至25日可缴），请在缴费期内办理。".into(),
            PremiumAlreadyPaid { year, what } => format!("这位亲属{year}年度的{what}已经缴费，无需重复缴纳。"),
            PremiumInsufficientBalance { available, needed } => format!("个人账户可共济余额{available}元，不足以缴纳{needed}元。可以改用微信、支付宝等方式缴费。"),
            PremiumRelativeNotResident => "只有参加城乡居民医保的亲属才需要缴纳居民医保保费。".into(),
            PremiumRelativeNotEmployee => "职工大额医疗费用补助和长期护理保险只能为参加职工医保的亲属缴纳。".into(),
            PremiumOutsideCollection { from, to } => format!("该项保费的缴费期为{from}至{to}，当前不在缴费期内。"),
            PremiumWrongPlace => "只能在参保人的参保地缴费，请选择正确的参保缴费地。".into(),
            PremiumNothingDue => "按参保人的缴费人群类别，本年度个人无需缴费（由政府资助），不必下单。".into(),
            PremiumAmountMismatch { paid, due } => format!("实收{paid}元与应缴{due}元不一致，不能按这笔金额入账。"),
            CategoryListRowInvalid { detail } => format!("名单行无法读取：{detail}"),
            RecoveryInvalidAmount => "追回金额须大于0且不超过系统上限，请核对金额。".into(),
            RecoveryNotMutualAid => "该笔结算没有从这一共济绑定的户主账户支付，不能按家庭共济追回，请核对结算号和绑定。".into(),
            RecoverySettlementCancelled => "该笔结算已经撤销，资金已原路退回，无需追回。".into(),
            RecoveryExceedsPayment { available } => format!("追回金额超过该笔共济支付尚可追回的{available}元，请核对金额。"),
            RecoveryNotOpen => "该追回案件不是待追回状态（可能已经追回到账），不能重复办理。".into(),
            BubaoNotPaid { year } => format!("尚未缴纳{year}年度城乡居民医保，缴费后才能补报统筹基金应付的部分。"),
            BubaoSettlementCancelled => "这笔结算已经撤销，费用已原路退回，不再补报。".into(),
            BubaoNothingWithheld => "这笔结算没有暂未支付的统筹基金部分，无需补报。".into(),
            BubaoPaidNoCancel => "这笔结算的统筹基金部分已经补报给本人，不能在收费窗口撤销；请联系医保经办机构处理。".into(),
            QuotaNotAllowed => "您或家人所在省份尚未开通跨省共济，暂时不能给外省的家人划拨额度。".into(),
            QuotaInvalidAmount => "额度须大于0元且不超过系统上限，请重新填写。".into(),
            QuotaInsufficientBalance { available } => format!("个人账户可共济余额{available}元，不够划拨这么多额度，请改小金额。"),
            QuotaExceedsRemaining { remaining } => format!("家人那边的额度只剩{remaining}元，退回金额不能超过它。"),
            QuotaTransferMismatch => "这笔额度划拨与之前收到的同号划拨金额不一致，未执行，请联系医保经办机构核对。".into(),
            QuotaTransferNotPending => "这笔额度划拨已经有了结果，不能再退回。".into(),
            QuotaNotBound => "您与这位外省家人之间没有当天有效的跨省共济绑定，请先办理绑定。".into(),
            QuotaUnknownTransfer => "查无此笔额度划拨，请核对划拨编号。".into(),
            QuotaBadTransferId => "额度划拨编号格式不对，未执行，请联系医保经办机构核对。".into(),
            QuotaWrongProvince => "此人不在所填省份参保，请核对参保省份。".into(),
            ReviewNothingChanged => "您填写的信息与现有登记相同，无需更正。".into(),
            ReviewNameInvalid => "姓名应为2到20个字，请按身份证上的姓名填写。".into(),
            ReviewPhoneInvalid => "手机号码应为以1开头的11位数字，请重新填写。".into(),
            ReviewIdNumberInvalid => "身份证号码不正确（位数、出生日期或最后一位校验码不对），请对照身份证重新填写。".into(),
            ReviewRegionInvalid => "请选择参保地区。".into(),
            ReviewRegionNotServed => "所选地区不在本平台的服务范围内，请从列出的地区中选择，或到参保地医保经办机构办理登记。".into(),
            ReviewReasonMissing => "不通过时请写明原因，申请人会看到这段话。".into(),
            ReviewAlreadyDecided => "这份申请已经审核过，不能再次审核。".into(),
            InternalUnbalanced => "系统内部校验未通过，本笔业务未执行，请稍后重试或联系医保经办机构。".into(),
        }
    }

    pub fn message_en(&self) -> String {
        use Refusal::*;
        match self {
            BindSelf => "A person cannot bind themself.".into(),
            EndBeforeBegin => "The end date is before the begin date.".into(),
            HolderNotEmployee => "Only employee-insured persons have a personal account to share.".into(),
            HolderPublicMedical => "Public-medical (公费医疗) persons cannot share their account.".into(),
            HolderInsuranceInterrupted => "The holder's employee insurance is paused or terminated; mutual aid is unavailable until it resumes.".into(),
            RelativeNotInsured => "The relative is not currently insured.".into(),
            RelativeInsutypeNotAllowed => "The relative's insurance type is not covered by mutual aid here.".into(),
            RelativePublicMedical => "Public-medical (公费医疗) persons cannot be bound.".into(),
            DifferentProvince => "Mutual aid is provincial: holder and relative must be insured in the same province.".into(),
            RelationshipOutOfScope { class, date, .. } => format!("Relationship '{}' is outside the scope of the policy in force on {date}.", class.key()),
            FaceVerificationRequired => "The holder's face verification is required.".into(),
            DuplicateBinding => "This relative is already bound by you.".into(),
            RelativeAlreadyBound => "The relative is already bound by another holder; only one holder per relative here.".into(),
            RelativeIsHolder => "The relative is a holder already; bindings here are one-way.".into(),
            HolderIsRelative => "You are already someone's relative; bindings here are one-way.".into(),
            SpouseAlreadyBound => "A spouse is already bound.".into(),
            ParentAlreadyBound => "At most one father and one mother (two parents in all) may be bound.".into(),
            TooManyHolders { max } => format!("The relative already has {max} holders, the regional maximum."),
            TooManyRelatives { max } => format!("You have bound {max} relatives, the regional maximum."),
            TooManyChanges { max } => format!("At most {max} bind/unbind operations per month."),
            EndOnlyEarlier => "An end date may only be moved earlier.".into(),
            BindingNotActive => "The binding is not active.".into(),
            HolderCredentialSuspended => "The bureau suspended this holder's mutual aid for the patient: pay with the patient's own credential, or the holder contacts the bureau.".into(),
            LimitsNotAllowed => "The regional policy does not allow per-relative limits.".into(),
            NoPolicy => "No mutual-aid policy is configured for this region.".into(),
            NoticeNotAcknowledged => "The holder must acknowledge the mutual-aid notice before binding.".into(),
            CommitmentNotSigned => "The commitment letter must be signed before binding.".into(),
            RelativeIdentityMismatch => "The name does not match the ID number.".into(),
            RelationSexMismatch { relationship } => format!("By the ID number, the relative's sex does not fit relationship {relationship}."),
            RelationAgeImplausible { relationship } => format!("By the birth dates in the ID numbers, the relative cannot be in relationship {relationship} to the holder."),
            SignatureNotHolder => "The commitment letter must be signed with the holder's own name.".into(),
            PersonNotInsured => "The person is not currently insured.".into(),
            ResidentNotCovered { year } => format!("The resident did not pay for {year} and its collection is over; the pooled fund cannot pay."),
            InvalidAmount => "Invalid amount.".into(),
            FeeTotalMismatch { declared, computed } => format!("medfee_sumamt {declared} differs from the sum of fee details {computed}."),
            UnknownCatalogItem { code } => format!("Unknown catalog item {code}."),
            AmountOverflow => "Amount out of range.".into(),
            FeeLineAmountMismatch { feedetl_sn, price_times_count, amount } => format!("Fee line {feedetl_sn}: price × count is {price_times_count}, a fen or more away from its amount {amount}."),
            NotAPharmacy => "This institution is not a pharmacy: it may not call the pharmacy transactions 2101–2103.".into(),
            NotAHospital => "This institution is not a hospital: it may not call the visit transactions 2201–2208.".into(),
            PremiumUseNotAllowed { .. } => "The holder's region does not allow paying this premium from mutual aid.".into(),
            PremiumNotBound => "No valid binding between holder and relative.".into(),
            PremiumYearUnknown { year } => format!("No contribution standard for {year}."),
            PremiumCategoryUnknown => "Unknown contribution category.".into(),
            PremiumOutsideWindow => "Outside the collection window.".into(),
            PremiumAlreadyPaid { year, .. } => format!("The premium for {year} is already paid."),
            PremiumInsufficientBalance { available, needed } => format!("Shareable balance {available} is less than {needed}."),
            PremiumRelativeNotResident => "Only resident-insured relatives pay the resident premium.".into(),
            PremiumRelativeNotEmployee => "Only employee-insured relatives pay the large-expense and long-term-care premiums.".into(),
            PremiumOutsideCollection { from, to } => format!("This premium is collected from {from} to {to}."),
            PremiumWrongPlace => "A premium is paid only at the person's insured location.".into(),
            PremiumNothingDue => "The person's category owes nothing this year.".into(),
            PremiumAmountMismatch { paid, due } => format!("Collected {paid} but {due} is due."),
            CategoryListRowInvalid { detail } => format!("The list row cannot be read: {detail}"),
            RecoveryInvalidAmount => "A recovery amount must be positive and within range.".into(),
            RecoveryNotMutualAid => "The settlement is not a mutual-aid payment from this binding's holder.".into(),
            RecoverySettlementCancelled => "The settlement was cancelled; its money was returned already.".into(),
            RecoveryExceedsPayment { available } => format!("At most {available} of this payment can still be recovered."),
            RecoveryNotOpen => "The recovery case is not open.".into(),
            BubaoNotPaid { year } => format!("The resident premium for {year} is not paid yet; the fund's share is settled once it is."),
            BubaoSettlementCancelled => "The settlement was cancelled; nothing is settled retroactively.".into(),
            BubaoNothingWithheld => "Nothing of this settlement was held back from the pooled fund.".into(),
            BubaoPaidNoCancel => "The fund share of this settlement was paid retroactively; it cannot be cancelled at the counter.".into(),
            QuotaNotAllowed => "Cross-province mutual aid is not open in both provinces.".into(),
            QuotaInvalidAmount => "A quota amount must be positive and within range.".into(),
            QuotaInsufficientBalance { available } => format!("Only {available} can be granted above the reserve."),
            QuotaExceedsRemaining { remaining } => format!("Only {remaining} of the quota is left to return."),
            QuotaTransferMismatch => "A transfer id seen before arrived with another amount; not applied.".into(),
            QuotaTransferNotPending => "The transfer is no longer waiting for an answer.".into(),
            QuotaNotBound => "There is no cross-province binding between these two in force on this day.".into(),
            QuotaUnknownTransfer => "No transfer with this id was sent from this province.".into(),
            QuotaBadTransferId => "The transfer id does not name its sending province and direction.".into(),
            QuotaWrongProvince => "The person is not insured in the province named.".into(),
            ReviewNothingChanged => "The correction changes nothing.".into(),
            ReviewNameInvalid => "A name is 2 to 20 characters, as on the ID card.".into(),
            ReviewPhoneInvalid => "A mobile number is 11 digits starting with 1.".into(),
            ReviewIdNumberInvalid => "The ID number's length, birth date or check digit is wrong.".into(),
            ReviewRegionInvalid => "Choose the region of insurance.".into(),
            ReviewRegionNotServed => "This platform does not serve the region chosen: choose one of the regions listed, or register at that region's insurance agency.".into(),
            ReviewReasonMissing => "A rejection needs a reason the applicant can read.".into(),
            ReviewAlreadyDecided => "This request has been decided already.".into(),
            InternalUnbalanced => "Internal check failed: postings do not balance; nothing was done.".into(),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message_zh())
    }
}

impl std::error::Error for Refusal {}
