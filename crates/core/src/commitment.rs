//! The relationship commitment (承诺制, R-S7): the notice (告知书) a holder reads before
//! binding, and the commitment letter (承诺书) generated from the binding's facts, which the
//! holder signs and the system keeps with its hash.
//!
//! Pure text: the same facts always give the same letter, byte for byte, so the letter a
//! holder was shown can be regenerated and compared by its hash when he signs it.

use chrono::NaiveDate;

use crate::codes::Relationship;
use crate::pii::{mask_certno, mask_name};
use crate::policy::Policy;
use crate::refusal::Refusal;

/// The version of the notice text below; kept with every signed letter.
pub const NOTICE_VERSION: &str = "2026.1";

/// What a region's notice says that its policy decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoticeTerms {
    /// The holder may set per-payment and per-month limits (R-S3).
    pub limits_allowed: bool,
    /// An end date may be moved earlier only, never later (R-S9; Shanxi).
    pub end_date_only_earlier: bool,
}

impl NoticeTerms {
    pub fn of(policy: &Policy) -> NoticeTerms {
        NoticeTerms {
            limits_allowed: policy.payment.per_relative_limits,
            end_date_only_earlier: policy.binding.end_date_only_earlier,
        }
    }
}

/// 个人账户家庭共济告知书, as the region's policy has it; `None` when the region is not
/// known (the public notice), which promises only what every region keeps.
pub fn notice_zh(terms: Option<NoticeTerms>) -> String {
    let changes = match terms {
        Some(t) => {
            let limits = if t.limits_allowed {
                "，也可以设置每笔和每月的使用限额"
            } else {
                ""
            };
            let end = if t.end_date_only_earlier {
                "共济结束日期只能提前，不能延后"
            } else {
                "共济结束日期可以提前，也可以延后"
            };
            format!("五、户主可以随时解除共济关系{limits}；{end}。")
        }
        None => {
            "五、户主可以随时解除共济关系；能否设置使用限额、共济结束日期能否延后，以本地政策为准。"
                .to_string()
        }
    };
    format!(
        "个人账户家庭共济告知书\n\
一、职工医保参保人（户主）可将本人个人账户资金授权给符合本地政策的近亲属（关系人）使用，用于关系人在定点医药机构就医购药的个人负担费用，以及政策允许的关系人参保缴费。\n\
二、共济资金只能用于政策规定的用途，不得套取、转让或用于非医疗消费。\n\
三、户主应如实填报与关系人的亲属关系，并对其真实性负责。\n\
四、经查实亲属关系不真实或违规使用共济资金的，医保经办机构将暂停家庭共济，并依法追回违规支付的资金。\n\
{changes}\n\
六、户主或关系人任一方参保终止，共济关系按政策自动终止。"
    )
}

/// The facts a commitment letter states.
#[derive(Clone, Debug)]
pub struct LetterFacts<'a> {
    pub holder_name: &'a str,
    pub holder_certno: &'a str,
    pub relative_name: &'a str,
    pub relative_certno: &'a str,
    pub relationship: Relationship,
    pub begin: NaiveDate,
    pub end: Option<NaiveDate>,
    /// The policy the binding is judged by (e.g. `shandong-jinan 2024.1`).
    pub policy: &'a str,
    /// The day the letter is made and signed.
    pub date: NaiveDate,
}

/// 家庭共济关系承诺书: the binding's facts and the holder's promise. Names and ID numbers
/// are masked in the letter itself, so a copy shown on a screen or kept in an archive
/// carries no full ID number; the binding row links the letter to the persons.
pub fn commitment_letter(f: &LetterFacts<'_>) -> String {
    let end = f.end.map_or(
        "长期（至本人解除或参保终止）".to_string(),
        |d| d.format("%Y年%m月%d日").to_string(),
    );
    format!(
        "家庭共济关系承诺书\n\
         本人{holder}（身份证号{hcert}），现申请将本人职工医保个人账户授权给{relative}（身份证号{rcert}）共济使用。\n\
         {relative}是本人的{relation}。\n\
         共济期间：自{begin}起至{end}。\n\
         适用政策：{policy}。\n\
         本人已阅读并知晓《个人账户家庭共济告知书》，承诺以上亲属关系真实。\
         如有虚假，愿承担暂停家庭共济、追回违规支付资金等责任。\n\
         承诺人：{holder}\n\
         日期：{date}",
        holder = mask_name(f.holder_name),
        hcert = mask_certno(f.holder_certno),
        relative = mask_name(f.relative_name),
        rcert = mask_certno(f.relative_certno),
        relation = f.relationship.name_zh(),
        begin = f.begin.format("%Y年%m月%d日"),
        end = end,
        policy = f.policy,
        date = f.date.format("%Y年%m月%d日"),
    )
}

/// What R-S7 asks before a binding: the notice acknowledged and the letter signed.
pub fn check_commitment(notice_acknowledged: bool, signature: &str) -> Result<(), Refusal> {
    if !notice_acknowledged {
        return Err(Refusal::NoticeNotAcknowledged);
    }
    if signature.trim().is_empty() {
        return Err(Refusal::CommitmentNotSigned);
    }
    Ok(())
}

/// The letter is signed by the holder himself: the signature is his name as on his ID card
/// (spaces around it aside).
pub fn check_signature(signature: &str, holder_name: &str) -> Result<(), Refusal> {
    if signature.trim().is_empty() {
        return Err(Refusal::CommitmentNotSigned);
    }
    if signature.trim() != holder_name.trim() {
        return Err(Refusal::SignatureNotHolder);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_are_deterministic_and_masked() {
        let d = NaiveDate::from_ymd_opt(2025, 10, 10).unwrap();
        let f = LetterFacts {
            holder_name: "张建国",
            holder_certno: "370102199001010114",
            relative_name: "李四",
            relative_certno: "370102199201010120",
            relationship: Relationship::from_code(12).unwrap(),
            begin: d,
            end: None,
            policy: "shandong-jinan 2024.1",
            date: d,
        };
        let a = commitment_letter(&f);
        assert_eq!(a, commitment_letter(&f));
        assert!(a.contains("张*国") && a.contains("3701**********0114"));
        assert!(!a.contains("199001010114"));
        assert_eq!(
            check_commitment(false, "x"),
            Err(Refusal::NoticeNotAcknowledged)
        );
        assert_eq!(
            check_commitment(true, " "),
            Err(Refusal::CommitmentNotSigned)
        );
        assert_eq!(check_commitment(true, "张建国"), Ok(()));
        assert_eq!(check_signature(" 张建国 ", "张建国"), Ok(()));
        assert_eq!(
            check_signature("签名", "张建国"),
            Err(Refusal::SignatureNotHolder)
        );
        assert_eq!(
            check_signature("", "张建国"),
            Err(Refusal::CommitmentNotSigned)
        );
    }
}
