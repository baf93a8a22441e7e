//! What a holder does with a cross-province quota, for the REST API and the H5 alike: bind
//! a relative insured in another province (asked of that province first), grant or raise,
//! lower, end. Each writes this side's books first; what the peer must do is either asked
//! at once (eligibility, the binding, a lowering) or left in the outbox for the driver
//! (a grant, an end), so a crash or a lost peer delays it and loses nothing.

use std::time::Duration;

use gongji_core::quota::QuotaParties;
use gongji_core::Fen;
use rand::Rng;
use sha2::{Digest, Sha256};

use super::client::{self, CallError};
use super::ledger::{CrossBinding, QuotaView, Spending};
use super::wire::{self, BindIn, EligibilityIn, EligibilityOut, LowerIn, PartiesIn, StateOut};
use super::{PeerRefusal, Peers, QuotaLedger};
use crate::app::App;
use crate::service::{ServiceError, ServiceResult};

fn configured(app: &App) -> ServiceResult<(&Peers, &dyn QuotaLedger)> {
    let peers = app
        .peers
        .as_deref()
        .ok_or(ServiceError::Peer(PeerRefusal::NotConfigured))?;
    let ledger = peers
        .ledger()
        .ok_or(ServiceError::Peer(PeerRefusal::NotConfigured))?;
    Ok((peers, ledger.as_ref()))
}

/// A refusal the peer answered keeps its code and Chinese message; anything else is
/// "could not reach the peer".
fn from_call(e: CallError) -> ServiceError {
    match e {
        CallError::Refused { body, .. } => ServiceError::Peer(PeerRefusal::Refused {
            code: body.code,
            message_zh: body.message_zh,
        }),
        CallError::Failed(r) => ServiceError::Peer(r),
    }
}

/// What the holder asks: bind this relative, insured in `province`.
#[derive(Clone, Debug)]
pub struct BindAsk {
    pub holder_psn_no: String,
    pub province: u32,
    pub relative_certno: String,
    pub relative_name: String,
    pub relationship: String,
    /// `yyyy-MM-dd`.
    pub begin: String,
}

/// Binds across provinces: B checks and records its copy, then A records the holder's end.
/// If A's write fails after B's, B keeps a binding without quota, which the holder's next
/// attempt finds again (B's `bind_in` answers a repeat the same).
pub async fn bind(app: &App, ask: &BindAsk) -> ServiceResult<QuotaParties> {
    let (peers, ledger) = configured(app)?;
    let http = reqwest::Client::new();
    let eligible: EligibilityOut = client::call(
        &http,
        peers,
        ask.province,
        wire::PATH_ELIGIBILITY,
        &EligibilityIn {
            holder_psn_no: ask.holder_psn_no.clone(),
            relative_certno: ask.relative_certno.clone(),
            relative_name: ask.relative_name.clone(),
            relationship: ask.relationship.clone(),
            on: ask.begin.clone(),
        },
    )
    .await
    .map_err(from_call)?;
    let binding = CrossBinding {
        parties: QuotaParties {
            holder_province: peers.province,
            holder_psn_no: ask.holder_psn_no.clone(),
            relative_province: ask.province,
            relative_psn_no: eligible.relative_psn_no,
        },
        relationship: ask.relationship.clone(),
        begin: ask.begin.clone(),
    };
    let _: StateOut = client::call(
        &http,
        peers,
        ask.province,
        wire::PATH_BIND,
        &BindIn::of(&binding),
    )
    .await
    .map_err(from_call)?;
    ledger.bind_out(&binding).await?;
    Ok(binding.parties)
}

/// Grants (or raises by) `amount`: reserved now, credited in B by the driver.
pub async fn grant(app: &App, parties: &QuotaParties, amount: Fen) -> ServiceResult<String> {
    let (_, ledger) = configured(app)?;
    let t = ledger.reserve(parties, amount).await?;
    super::fault::point(super::fault::Point::AfterReserve);
    app.peer_wake.now();
    Ok(t.id)
}

/// How many times A asks B for one lowering before telling the person B could not be
/// reached: each repeat carries the same lowering id, so B takes the amount out once.
pub const LOWER_TRIES: u32 = 3;

/// The wait before the second try; each further try waits as long again more.
const LOWER_RETRY_PAUSE: Duration = Duration::from_millis(200);

/// A new lowering id, `{province:02}L` and 32 hex digits: made once when the person confirms
/// (the confirmation form carries it), so that every repeat of that confirmation is the
/// same lowering.
pub fn new_lower_id(province: u32) -> String {
    let bytes: [u8; 16] = rand::rngs::OsRng.gen();
    format!("{province:02}L{}", hex::encode(bytes))
}

/// The lowering id of an app's `Idempotency-Key`, per province: the key's hash, so any key
/// up to its length limit makes an id of the wire's length.
pub fn lower_id_of_key(province: u32, key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    format!("{province:02}L{}", hex::encode(&digest[..16]))
}

/// Lowers the quota by `amount`: B takes it out at once and its driver sends it back.
/// Answers what B took out (zero when nothing was left). `lower_id` makes it once: a call
/// that got no answer is asked again with it ([`LOWER_TRIES`] in all), and a person who
/// submits the same confirmation twice lowers once.
pub async fn lower(
    app: &App,
    parties: &QuotaParties,
    amount: Fen,
    lower_id: &str,
) -> ServiceResult<Fen> {
    let (peers, _) = configured(app)?;
    let http = reqwest::Client::new();
    let ask = LowerIn {
        holder_psn_no: parties.holder_psn_no.clone(),
        relative_psn_no: parties.relative_psn_no.clone(),
        amount: Some(wire::amount_text(amount)),
        lower_id: Some(lower_id.to_string()),
    };
    let mut tries = 0;
    let out: StateOut = loop {
        tries += 1;
        match client::call(
            &http,
            peers,
            parties.relative_province,
            wire::PATH_LOWER,
            &ask,
        )
        .await
        {
            Ok(out) => break out,
            Err(CallError::Failed(PeerRefusal::Unreachable(why))) => {
                tracing::warn!(
                    lower_id,
                    tries,
                    why,
                    "减少额度未获应答 / lowering unanswered"
                );
                if tries >= LOWER_TRIES {
                    return Err(ServiceError::Peer(PeerRefusal::LowerUnanswered {
                        tries,
                        why,
                    }));
                }
                tokio::time::sleep(LOWER_RETRY_PAUSE * tries).await;
            }
            Err(e) => return Err(from_call(e)),
        }
    };
    match out.amount.as_deref() {
        Some(text) => wire::parse_amount(text),
        None => Ok(Fen::ZERO),
    }
}

/// Ends the binding: ending now; the driver has B end its copy and return what is left.
pub async fn end(app: &App, parties: &QuotaParties) -> ServiceResult<()> {
    let (_, ledger) = configured(app)?;
    ledger.end_out(parties).await?;
    app.peer_wake.now();
    Ok(())
}

/// The cross-province bindings of a person, on this side.
pub async fn quotas_of(app: &App, psn_no: &str) -> ServiceResult<Vec<QuotaView>> {
    let (_, ledger) = configured(app)?;
    ledger.quotas_of(psn_no).await
}

/// Where and when the relative spent a holder's quota, as B reports it.
pub async fn spends(app: &App, parties: &QuotaParties) -> ServiceResult<Vec<Spending>> {
    let (peers, _) = configured(app)?;
    let http = reqwest::Client::new();
    let out: wire::SpendingsOut = client::call(
        &http,
        peers,
        parties.relative_province,
        wire::PATH_SPENDING,
        &PartiesIn::of(parties),
    )
    .await
    .map_err(from_call)?;
    out.spends.iter().map(|s| s.spending()).collect()
}
