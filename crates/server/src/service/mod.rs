//! The operations behind the REST API and the pages, as plain async functions over [`App`]
//! returning domain results. No HTTP here: no extractors, status codes or JSON. The pages
//! call these functions as the API handlers do.
//!
//! A service gathers facts (the engine's state on the writer thread, between batches; the
//! store's records through `App::read_store`, on reader connections beside the writer),
//! checks who may do what, and hands decisions to the engine (`App::submit`), whose commands
//! apply the rules of `gongji-core`. Nothing here decides a binding, a payment or a refusal
//! of its own: the codes it adds are about identity and access (sign-in, sessions, roles,
//! face verification, signed letters).
//!
//! [`App`]: crate::app::App

pub mod agents;
pub mod auth;
pub mod bubao;
pub mod collection;
pub mod family;
pub mod institutions;
pub mod notify;
pub mod operators;
pub mod people;
pub mod premiums;
pub mod providers;
pub mod proxy;
pub mod records;
pub mod reports;
pub mod reviews;
pub mod staff;

use std::fmt;

use gongji_core::codes::Relationship;
use gongji_core::domain::Person;
use gongji_core::Refusal;
use gongji_engine::EngineError;
use gongji_store::StoreError;

use crate::peer::PeerRefusal;

pub use auth::{Role, Subject};

/// The server's code table: the codes of answers no service error stands for (what the
/// framework refuses, a failed serialization), beside [`ServiceError::code`]. The core's,
/// the engine's, the store's and the wire's codes live in their own tables; no code is
/// written as a string anywhere else (`tests/codes.rs` checks).
pub mod codes {
    pub const API_NOT_FOUND: &str = "GJ-API-NOT-FOUND";
    pub const API_METHOD_NOT_ALLOWED: &str = "GJ-API-METHOD-NOT-ALLOWED";
    pub const API_BODY_TOO_LARGE: &str = "GJ-API-BODY-TOO-LARGE";
    pub const API_BAD_REQUEST: &str = "GJ-API-BAD-REQUEST";
    pub const API_INTERNAL: &str = "GJ-API-INTERNAL";
    /// An institution-interface answer that could not be serialized.
    pub const INTERNAL_SERIALIZE: &str = "GJ-INTERNAL-SERIALIZE";
    // The 国密 envelope of app partners (`open_api.rs`).
    /// Not the envelope's JSON, or a field missing or mistyped.
    pub const OPEN_MALFORMED: &str = "GJ-OPEN-MALFORMED";
    /// `encType`/`signType` other than SM4/SM2.
    pub const OPEN_UNSUPPORTED: &str = "GJ-OPEN-UNSUPPORTED";
    /// `signData` is not the partner's signature of this envelope.
    pub const OPEN_BAD_SIGNATURE: &str = "GJ-OPEN-BAD-SIGNATURE";
    /// `encData` does not decrypt with the partner's derived key.
    pub const OPEN_UNDECRYPTABLE: &str = "GJ-OPEN-UNDECRYPTABLE";
    /// The timestamp is outside ±300 s, or from before this process started.
    pub const OPEN_STALE_TIMESTAMP: &str = "GJ-OPEN-STALE-TIMESTAMP";
    /// The same signature was used within the window.
    pub const OPEN_REPLAYED: &str = "GJ-OPEN-REPLAYED";
    /// No partner is registered under the appCode.
    pub const OPEN_PARTNER_UNKNOWN: &str = "GJ-OPEN-PARTNER-UNKNOWN";
    /// The partner is registered but deactivated.
    pub const OPEN_PARTNER_INACTIVE: &str = "GJ-OPEN-PARTNER-INACTIVE";
    /// The partner's row cannot be used (sealed secret without the key, bad public key).
    pub const OPEN_PARTNER_UNUSABLE: &str = "GJ-OPEN-PARTNER-UNUSABLE";
    /// The deployment has no platform SM2 key (`[open_api] platform_key_file`).
    pub const OPEN_NOT_CONFIGURED: &str = "GJ-OPEN-NOT-CONFIGURED";
    // Calls between provinces (`peer/`).
    /// No `[province]` and `[[peers]]` on this server.
    pub const PEER_NOT_CONFIGURED: &str = "GJ-PEER-NOT-CONFIGURED";
    /// The calling province is not a configured peer.
    pub const PEER_UNKNOWN_PROVINCE: &str = "GJ-PEER-UNKNOWN-PROVINCE";
    /// A signature header missing or malformed.
    pub const PEER_MALFORMED: &str = "GJ-PEER-MALFORMED";
    /// The signature does not verify with the province's key.
    pub const PEER_BAD_SIGNATURE: &str = "GJ-PEER-BAD-SIGNATURE";
    /// The timestamp is outside ±300 s, or from before this process started.
    pub const PEER_STALE_TIMESTAMP: &str = "GJ-PEER-STALE-TIMESTAMP";
    /// The nonce was used within the window.
    pub const PEER_REPLAYED: &str = "GJ-PEER-REPLAYED";
    /// The peer could not be reached or failed (the step is retried).
    pub const PEER_UNREACHABLE: &str = "GJ-PEER-UNREACHABLE";
    /// The peer's answer is unsigned, wrongly signed or malformed (the step is retried).
    pub const PEER_BAD_ANSWER: &str = "GJ-PEER-BAD-ANSWER";
    /// The peer province refused what was asked; its own code is in the message.
    pub const PEER_REFUSED: &str = "GJ-PEER-REFUSED";
}

/// Why a service did not do what was asked. Nothing was changed.
#[derive(Debug)]
pub enum ServiceError {
    /// The rules, the engine or the store said no; its stable code is reused.
    Engine(EngineError),
    /// No valid session.
    Unauthenticated,
    /// Signed in, but not allowed.
    Forbidden,
    /// No such thing, or not one the caller may see.
    NotFound(&'static str),
    /// The input is not what the operation takes.
    BadRequest(String),
    RateLimited {
        retry_after_secs: i64,
    },
    /// Real-name check: no registry person has this phone number.
    PhoneUnknown,
    /// Several registry persons share the phone: the ID number is needed too.
    PhoneShared,
    /// Wrong, expired or used-up SMS code.
    CodeInvalid,
    /// Wrong staff username or password.
    BadCredentials,
    /// The face verifier did not accept the holder.
    FaceRejected,
    /// Money would leave a personal account for someone else without the second factor
    /// (an SMS code or a passed face check; issue 13 item 7).
    SecondFactorRequired,
    /// The commitment letter signed is not the one the facts give (facts or day changed).
    CommitmentMismatch,
    /// The SMS provider failed.
    SmsUnavailable,
    /// No SMS provider is configured (production without `[sms]`).
    SmsNotConfigured,
    /// The face provider is not configured or could not be reached.
    FaceUnavailable,
    /// A call between provinces was refused or failed.
    Peer(crate::peer::PeerRefusal),
    /// No payment provider is configured (production without `[payment]`).
    PaymentNotConfigured,
    /// A payment notification whose signature is not the provider's.
    PaymentBadSignature,
    /// A payment notification for an order Gongji never made.
    PaymentUnknownOrder,
    /// A payment notification for another amount than its order's.
    PaymentAmountMismatch,
    /// The payment provider failed (a refund not taken); the provider will notify again.
    PaymentProviderFailed,
}

impl ServiceError {
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::Engine(e) => e.code(),
            ServiceError::Unauthenticated => "GJ-API-UNAUTHENTICATED",
            ServiceError::Forbidden => "GJ-API-FORBIDDEN",
            ServiceError::NotFound(_) => codes::API_NOT_FOUND,
            ServiceError::BadRequest(_) => codes::API_BAD_REQUEST,
            ServiceError::RateLimited { .. } => "GJ-API-RATE-LIMITED",
            ServiceError::PhoneUnknown => "GJ-AUTH-PHONE-UNKNOWN",
            ServiceError::PhoneShared => "GJ-AUTH-PHONE-SHARED",
            ServiceError::CodeInvalid => "GJ-AUTH-CODE-INVALID",
            ServiceError::BadCredentials => "GJ-AUTH-BAD-CREDENTIALS",
            ServiceError::FaceRejected => "GJ-FACE-REJECTED",
            ServiceError::SecondFactorRequired => "GJ-SECOND-FACTOR-REQUIRED",
            ServiceError::CommitmentMismatch => "GJ-BIND-COMMITMENT-MISMATCH",
            ServiceError::SmsUnavailable => "GJ-SMS-UNAVAILABLE",
            ServiceError::SmsNotConfigured => "GJ-SMS-NOT-CONFIGURED",
            ServiceError::FaceUnavailable => "GJ-FACE-UNAVAILABLE",
            ServiceError::Peer(r) => match r {
                PeerRefusal::NotConfigured => codes::PEER_NOT_CONFIGURED,
                PeerRefusal::UnknownProvince => codes::PEER_UNKNOWN_PROVINCE,
                PeerRefusal::Malformed(_) => codes::PEER_MALFORMED,
                PeerRefusal::BadSignature => codes::PEER_BAD_SIGNATURE,
                PeerRefusal::Stale => codes::PEER_STALE_TIMESTAMP,
                PeerRefusal::Replayed => codes::PEER_REPLAYED,
                PeerRefusal::Unreachable(_) | PeerRefusal::LowerUnanswered { .. } => {
                    codes::PEER_UNREACHABLE
                }
                PeerRefusal::BadAnswer(_) => codes::PEER_BAD_ANSWER,
                PeerRefusal::Refused { .. } => codes::PEER_REFUSED,
            },
            ServiceError::PaymentNotConfigured => "GJ-PAY-NOT-CONFIGURED",
            ServiceError::PaymentBadSignature => "GJ-PAY-BAD-SIGNATURE",
            ServiceError::PaymentUnknownOrder => "GJ-PAY-UNKNOWN-ORDER",
            ServiceError::PaymentAmountMismatch => "GJ-PAY-AMOUNT-MISMATCH",
            ServiceError::PaymentProviderFailed => "GJ-PAY-PROVIDER-FAILED",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            ServiceError::Engine(e) => e.message_zh(),
            ServiceError::Unauthenticated => "请先登录（登录已过期或未登录）。".into(),
            ServiceError::Forbidden => "您没有办理此项业务的权限。".into(),
            ServiceError::NotFound(what) => format!("未找到{what}，或您无权查看。"),
            ServiceError::BadRequest(detail) => format!("请求内容有误：{detail}"),
            ServiceError::RateLimited { retry_after_secs } => {
                format!("操作过于频繁，请{retry_after_secs}秒后再试。")
            }
            ServiceError::PhoneUnknown => "该手机号未登记在参保人员信息中，无法完成实名登录。请使用参保登记的手机号，或到医保经办机构更新手机号。".into(),
            ServiceError::PhoneShared => "该手机号登记在多位参保人名下，请同时输入本人身份证号。".into(),
            ServiceError::CodeInvalid => "验证码错误或已过期，请重新获取验证码。".into(),
            ServiceError::BadCredentials => "用户名或密码错误。".into(),
            ServiceError::FaceRejected => "人脸核验未通过，请本人在光线充足处重新刷脸。".into(),
            ServiceError::SecondFactorRequired => "为他人缴费将从您的个人账户扣款，请先输入发送到您手机的验证码，或刷脸确认。".into(),
            ServiceError::CommitmentMismatch => "承诺书内容已变化（绑定信息或日期不同），请重新生成承诺书并签名。".into(),
            ServiceError::SmsUnavailable => "短信发送失败，请稍后再试。".into(),
            ServiceError::SmsNotConfigured => "短信服务未配置，暂时无法用短信验证码登录。请到医保经办窗口或拨打热线办理。".into(),
            ServiceError::FaceUnavailable => "人脸核验服务暂不可用，请稍后再试，或到医保经办窗口办理。".into(),
            ServiceError::Peer(r) => match r {
                PeerRefusal::NotConfigured => "本省尚未与其他省份联通跨省共济。".into(),
                PeerRefusal::UnknownProvince => "发起请求的省份不在本省的跨省共济名单中。".into(),
                PeerRefusal::Malformed(e) => format!("跨省请求的签名信息不完整：{e}"),
                PeerRefusal::BadSignature => "跨省请求的签名核验未通过。".into(),
                PeerRefusal::Stale => "跨省请求的时间与本省时间相差过大，或是重启前的旧请求。".into(),
                PeerRefusal::Replayed => "这条跨省请求已经收到过，不再重复处理。".into(),
                PeerRefusal::Unreachable(_) => "暂时联系不上对方省份，系统会自动重试，请稍后查看。".into(),
                PeerRefusal::LowerUnanswered { tries, .. } => format!("试了{tries}次仍联系不上家人所在的省份，不能确定额度是否已减少。请稍后再确认办理一次：同一笔减少最多只减一次。"),
                PeerRefusal::BadAnswer(_) => "对方省份的应答未通过核验，系统会自动重试。".into(),
                PeerRefusal::Refused { code, message_zh } => format!("对方省份未同意：{message_zh}（{code}）"),
            },
            ServiceError::PaymentNotConfigured => "在线缴费服务未配置，暂时无法在线缴纳保费。请到医保经办窗口、代收点或银行网点缴费。".into(),
            ServiceError::PaymentBadSignature => "支付通知签名无效，已拒绝并记录。".into(),
            ServiceError::PaymentUnknownOrder => "支付通知对应的订单不存在，已拒绝并记录。".into(),
            ServiceError::PaymentAmountMismatch => "支付通知的金额与订单金额不一致，已拒绝并记录。".into(),
            ServiceError::PaymentProviderFailed => "支付机构暂时无法处理，请稍后再试。".into(),
        }
    }

    pub fn message_en(&self) -> String {
        match self {
            ServiceError::Engine(e) => e.message_en(),
            ServiceError::Unauthenticated => "Sign in first (no session, or it expired).".into(),
            ServiceError::Forbidden => "You may not do this.".into(),
            ServiceError::NotFound(what) => format!("No such {what}, or not yours to see."),
            ServiceError::BadRequest(detail) => format!("Bad request: {detail}"),
            ServiceError::RateLimited { retry_after_secs } => {
                format!("Too many requests; try again in {retry_after_secs} s.")
            }
            ServiceError::PhoneUnknown => {
                "No insured person is registered with this phone number.".into()
            }
            ServiceError::PhoneShared => {
                "Several insured persons share this phone number; give your ID number too.".into()
            }
            ServiceError::CodeInvalid => "Wrong or expired code.".into(),
            ServiceError::BadCredentials => "Wrong username or password.".into(),
            ServiceError::FaceRejected => "Face verification failed.".into(),
            ServiceError::SecondFactorRequired => {
                "Paying for someone else from your account needs the SMS code sent to your phone, or a face check.".into()
            }
            ServiceError::CommitmentMismatch => {
                "The signed commitment letter is not the current one; generate it again.".into()
            }
            ServiceError::SmsUnavailable => "The SMS could not be sent.".into(),
            ServiceError::SmsNotConfigured => {
                "No SMS service is configured; sign-in by SMS code is not available.".into()
            }
            ServiceError::FaceUnavailable => "The face verification service is unavailable.".into(),
            ServiceError::Peer(r) => match r {
                PeerRefusal::NotConfigured => {
                    "This province has no peer provinces configured.".into()
                }
                PeerRefusal::UnknownProvince => {
                    "The calling province is not a configured peer.".into()
                }
                PeerRefusal::Malformed(e) => format!("Malformed peer signature headers: {e}"),
                PeerRefusal::BadSignature => "The peer signature does not verify.".into(),
                PeerRefusal::Stale => {
                    "The peer request's timestamp is stale or from before this process started."
                        .into()
                }
                PeerRefusal::Replayed => "This peer request was already received.".into(),
                PeerRefusal::Unreachable(why) => {
                    format!("The peer province could not be reached ({why}); retrying.")
                }
                PeerRefusal::LowerUnanswered { tries, why } => format!(
                    "The relative's province did not answer after {tries} tries ({why}); the quota may not be lowered yet. Confirm again later: the same lowering is made at most once."
                ),
                PeerRefusal::BadAnswer(why) => {
                    format!("The peer province's answer did not verify ({why}); retrying.")
                }
                PeerRefusal::Refused { code, .. } => format!("The peer province refused ({code})."),
            },
            ServiceError::PaymentNotConfigured => {
                "No payment provider is configured; premiums cannot be paid online.".into()
            }
            ServiceError::PaymentBadSignature => {
                "The notification's signature is not valid.".into()
            }
            ServiceError::PaymentUnknownOrder => "The notification names no known order.".into(),
            ServiceError::PaymentAmountMismatch => {
                "The notification's amount differs from its order's.".into()
            }
            ServiceError::PaymentProviderFailed => "The payment provider failed; try again.".into(),
        }
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message_en())
    }
}

impl std::error::Error for ServiceError {}

impl From<EngineError> for ServiceError {
    fn from(e: EngineError) -> ServiceError {
        ServiceError::Engine(e)
    }
}

impl From<Refusal> for ServiceError {
    fn from(r: Refusal) -> ServiceError {
        ServiceError::Engine(EngineError::Refused(r))
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> ServiceError {
        ServiceError::Engine(EngineError::Store(e))
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// A person as others see them in lists: masked personal data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonRef {
    pub psn_no: String,
    pub name_masked: String,
    pub certno_masked: String,
    pub admdvs: String,
}

impl PersonRef {
    pub fn of(p: &Person) -> PersonRef {
        PersonRef {
            psn_no: p.psn_no.clone(),
            name_masked: p.name.masked(),
            certno_masked: p.certno.masked(),
            admdvs: p.admdvs.to_string(),
        }
    }

    /// A psn_no the registry does not know (never expected; shown as is).
    pub fn unknown(psn_no: &str) -> PersonRef {
        PersonRef {
            psn_no: psn_no.to_string(),
            name_masked: String::new(),
            certno_masked: String::new(),
            admdvs: String::new(),
        }
    }
}

/// A relationship code with its Chinese name.
pub fn relationship_name(r: Relationship) -> &'static str {
    r.name_zh()
}
