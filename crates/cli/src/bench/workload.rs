//! What the benchmark asks for: the facts it draws from (who can pay, who has a holder,
//! which pharmacies, which drugs), the mix (70% own-account purchases, 20% with mutual aid,
//! 5% cancels of earlier settlements, 5% premiums paid from a holder's account), and unique
//! msgids in the national format.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use chrono::{NaiveDate, NaiveDateTime};
use gongji_core::codes::{AccountUse, CertType, Channel, InstitutionKind, InsuStatus, MedType};
use gongji_core::ledger::LedgerAccount;
use gongji_core::pooling::FeeLine;
use gongji_core::premium::PremiumKind;
use gongji_core::Fen;
use gongji_engine::{
    CancelCommand, Command, Credential, Engine, Outcome, PremiumCommand, Render, Request,
    SettleCommand,
};
use gongji_store::Store;
use rand::rngs::SmallRng;
use rand::Rng;

/// The day the benchmark settles on (bindings and policies are judged on it).
pub const BENCH_DAY: (i32, u32, u32) = (2025, 10, 10);
/// The premium year offered (where a region has contribution standards).
const PREMIUM_YEAR: i32 = 2026;
/// The contribution category paid (普通人群).
const PREMIUM_CATEGORY: &str = "general";

pub fn bench_day() -> NaiveDate {
    let (y, m, d) = BENCH_DAY;
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

/// 08:00 on the bench day: the in-process server's clock starts there.
pub fn bench_morning() -> NaiveDateTime {
    bench_day().and_hms_opt(8, 0, 0).unwrap_or_default()
}

pub struct PersonRef {
    pub psn_no: String,
    pub certno: String,
    pub insutype: &'static str,
    pub admdvs: String,
}

pub struct InstRef {
    pub code: String,
    pub name: String,
    pub admdvs: String,
    pub paasid: String,
    pub token: String,
}

/// The facts the mix draws from, taken once from the loaded population.
pub struct Workload {
    /// Employees insured normally with money in their account.
    pub own_payers: Vec<PersonRef>,
    /// Relatives with a binding valid on the bench day (both sides insured normally), no
    /// money of their own (so a purchase draws on a holder), and a holder with money above
    /// his reserve: each of their purchases pays mutual aid.
    pub relatives: Vec<PersonRef>,
    /// For each of `relatives`, the holder's ID number where the holder's policy pays mutual
    /// aid only on the holder's credential (R-S12, Shanxi); the relative's own otherwise.
    pub relative_cards: Vec<Option<String>>,
    /// (holder, relative) where the relative's region has contribution standards, the
    /// relative's premium is unpaid and the holder can afford it; one pair per relative.
    pub premium_pairs: Vec<(String, String)>,
    /// The next pair to pay (shared by every client and run of one invocation).
    next_premium: AtomicUsize,
    /// Pharmacies open to mutual aid.
    pub pharmacies: Vec<InstRef>,
    /// (code, unit price).
    pub catalog: Vec<(String, Fen)>,
}

impl Workload {
    pub fn from_engine<S: Store>(engine: &Engine<S>) -> Workload {
        let state = engine.state();
        let day = bench_day();
        let person_ref = |p: &gongji_core::domain::Person| PersonRef {
            psn_no: p.psn_no.clone(),
            certno: p.certno.reveal().to_string(),
            insutype: p.insutype.code(),
            admdvs: p.admdvs.to_string(),
        };
        let mut own_payers: Vec<PersonRef> = state
            .persons
            .values()
            .filter(|p| p.insu_status == InsuStatus::Normal && p.is_employee())
            .filter(|p| {
                state
                    .balance(&LedgerAccount::Personal(p.psn_no.clone()).key())
                    .is_positive()
            })
            .map(person_ref)
            .collect();
        own_payers.sort_by(|a, b| a.psn_no.cmp(&b.psn_no));
        let mut bindings: Vec<_> = state
            .bindings
            .values()
            .filter(|b| b.is_valid_on(day))
            .collect();
        bindings.sort_by_key(|b| b.id);
        let mut relatives = Vec::new();
        let mut relative_cards = Vec::new();
        let mut premium_pairs = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut premium_relatives = std::collections::HashSet::new();
        for b in bindings {
            let (Some(h), Some(r)) = (state.persons.get(&b.holder), state.persons.get(&b.relative))
            else {
                continue;
            };
            if h.insu_status != InsuStatus::Normal || r.insu_status != InsuStatus::Normal {
                continue;
            }
            let holder_policy = engine.policies().for_admdvs(h.admdvs);
            let holder_available = state
                .balance(&LedgerAccount::Personal(h.psn_no.clone()).key())
                .saturating_sub_floor0(holder_policy.map_or(Fen::ZERO, |p| p.payment.reserve));
            let own_money = state
                .balance(&LedgerAccount::Personal(r.psn_no.clone()).key())
                .is_positive();
            if holder_available.is_positive() && !own_money && seen.insert(r.psn_no.clone()) {
                relatives.push(person_ref(r));
                relative_cards.push(
                    holder_policy
                        .filter(|p| p.payment.holder_credential_authorises)
                        .map(|_| h.certno.reveal().to_string()),
                );
            }
            // One pair per relative whose premium for the year is still unpaid, from a
            // holder who can afford it twice over above the reserve (settlements draw on the same account
            // meanwhile): a premium that the rules must refuse measures nothing.
            let amount = engine
                .policies()
                .for_admdvs(r.admdvs)
                .and_then(|p| p.contribution.as_ref())
                .and_then(|c| c.year(PREMIUM_YEAR))
                .and_then(|y| y.categories.iter().find(|c| c.code == PREMIUM_CATEGORY))
                .map(|c| c.amount);
            let reserve = engine
                .policies()
                .for_admdvs(h.admdvs)
                .map_or(Fen::ZERO, |p| p.payment.reserve);
            let available = state
                .balance(&LedgerAccount::Personal(h.psn_no.clone()).key())
                .saturating_sub_floor0(reserve);
            if let Some(amount) = amount {
                let affordable = amount
                    .checked_mul(2)
                    .is_some_and(|twice| available >= twice);
                if affordable
                    && !r.is_employee()
                    && !state.premiums_paid.contains(&(
                        r.psn_no.clone(),
                        PREMIUM_YEAR,
                        PremiumKind::Resident,
                    ))
                    && premium_relatives.insert(r.psn_no.clone())
                {
                    premium_pairs.push((h.psn_no.clone(), r.psn_no.clone()));
                }
            }
        }
        let mut pharmacies: Vec<InstRef> = state
            .institutions
            .values()
            .filter(|i| i.kind == InstitutionKind::Pharmacy && i.mutual_aid)
            .map(|i| InstRef {
                code: i.code.clone(),
                name: i.name.clone(),
                admdvs: i.admdvs.to_string(),
                paasid: i.paasid.clone(),
                token: i.token.clone(),
            })
            .collect();
        pharmacies.sort_by(|a, b| a.code.cmp(&b.code));
        let mut catalog: Vec<(String, Fen)> = state
            .catalog
            .values()
            .map(|c| {
                (
                    c.code.clone(),
                    c.price_cap
                        .unwrap_or(Fen::from_yuan(20))
                        .min(Fen::from_yuan(200)),
                )
            })
            .collect();
        catalog.sort();
        Workload {
            own_payers,
            relatives,
            relative_cards,
            premium_pairs,
            next_premium: AtomicUsize::new(0),
            pharmacies,
            catalog,
        }
    }

    pub fn is_usable(&self) -> bool {
        !self.own_payers.is_empty() && !self.pharmacies.is_empty() && !self.catalog.is_empty()
    }
}

/// A settlement made during a run, for a later cancel.
#[derive(Clone)]
pub struct Done {
    pub setl_id: String,
    pub mdtrt_id: String,
    pub psn_no: String,
    pub admdvs: String,
    pub inst: usize,
}

/// One operation of the mix.
pub enum Op {
    Settle {
        patient: usize,
        /// Drawn from `relatives` (mutual aid) or `own_payers`.
        mutual: bool,
        inst: usize,
        /// (catalog index, count)
        lines: Vec<(usize, i64)>,
    },
    Cancel(Done),
    Premium {
        pair: usize,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Own,
    MutualAid,
    Cancel,
    Premium,
}

impl Op {
    pub fn kind(&self) -> Kind {
        match self {
            Op::Settle { mutual: true, .. } => Kind::MutualAid,
            Op::Settle { .. } => Kind::Own,
            Op::Cancel(_) => Kind::Cancel,
            Op::Premium { .. } => Kind::Premium,
        }
    }
}

/// The settlements of a run that may still be cancelled.
#[derive(Default)]
pub struct Ledger {
    done: Mutex<Vec<Done>>,
}

impl Ledger {
    pub fn push(&self, d: Done) {
        if let Ok(mut v) = self.done.lock() {
            v.push(d);
        }
    }

    fn take_random(&self, rng: &mut SmallRng) -> Option<Done> {
        let mut v = self.done.lock().ok()?;
        if v.is_empty() {
            return None;
        }
        let i = rng.gen_range(0..v.len());
        Some(v.swap_remove(i))
    }
}

impl Workload {
    /// Pays the premium pairs again from the first, for the runs on another database.
    pub fn restart_premiums(&self) {
        self.next_premium.store(0, Ordering::Relaxed);
    }

    /// The next operation: 70% own account, 20% mutual aid, 5% cancels, 5% premiums. A
    /// cancel with nothing to cancel yet, or a premium when no relative's premium is left
    /// to pay, is an own-account purchase instead (the write load stays the same).
    pub fn plan(&self, rng: &mut SmallRng, ledger: &Ledger) -> Op {
        let roll = rng.gen_range(0..100);
        if roll >= 95 {
            // Each relative's premium is paid once: pairs are taken in turn, never twice.
            let pair = self.next_premium.fetch_add(1, Ordering::Relaxed);
            if pair < self.premium_pairs.len() {
                return Op::Premium { pair };
            }
        }
        if (90..95).contains(&roll) {
            if let Some(d) = ledger.take_random(rng) {
                return Op::Cancel(d);
            }
        }
        let mutual = (70..90).contains(&roll) && !self.relatives.is_empty();
        let patient = if mutual {
            rng.gen_range(0..self.relatives.len())
        } else {
            rng.gen_range(0..self.own_payers.len())
        };
        let lines = (0..rng.gen_range(1..=3))
            .map(|_| {
                (
                    rng.gen_range(0..self.catalog.len()),
                    rng.gen_range(1..=3i64),
                )
            })
            .collect();
        Op::Settle {
            patient,
            mutual,
            inst: rng.gen_range(0..self.pharmacies.len()),
            lines,
        }
    }

    /// The ID number presented for a purchase: a relative's holder's where the policy asks
    /// for it (R-S12), else the patient's own.
    pub fn card(&self, mutual: bool, i: usize) -> &str {
        match self.relative_cards.get(i) {
            Some(Some(holder)) if mutual => holder,
            _ => &self.patient(mutual, i).certno,
        }
    }

    pub fn patient(&self, mutual: bool, i: usize) -> &PersonRef {
        if mutual {
            &self.relatives[i]
        } else {
            &self.own_payers[i]
        }
    }

    /// The institution an operation is sent from (a premium comes from the app).
    pub fn institution_of(&self, op: &Op) -> &InstRef {
        let i = match op {
            Op::Settle { inst, .. } => *inst,
            Op::Cancel(d) => d.inst,
            Op::Premium { .. } => 0,
        };
        &self.pharmacies[i]
    }

    /// The operation as an engine request (the in-process runs and the baseline).
    pub fn request(&self, op: &Op, msgid: &str, at: NaiveDateTime) -> Request {
        let command = match op {
            Op::Settle {
                patient,
                mutual,
                inst,
                lines,
            } => Command::Settle(SettleCommand {
                institution: self.pharmacies[*inst].code.clone(),
                psn_no: self.patient(*mutual, *patient).psn_no.clone(),
                // A holder's card where R-S12 asks for it; the in-process runs present none
                // otherwise, as a pharmacy that reads no card.
                credential: match self.relative_cards.get(*patient) {
                    Some(Some(holder)) if *mutual => Some(Credential {
                        cert_type: CertType::IdCard,
                        number: holder.clone(),
                    }),
                    _ => None,
                },
                med_type: MedType::PharmacyPurchase,
                account_use: if *mutual {
                    AccountUse::OwnThenMutualAid
                } else {
                    AccountUse::OwnAccount
                },
                lines: lines
                    .iter()
                    .enumerate()
                    .map(|(sn, (item, count))| {
                        let (code, price) = &self.catalog[*item];
                        FeeLine {
                            sn: (sn + 1).to_string(),
                            item_code: code.clone(),
                            amount: Fen::from_fen(price.fen() * count),
                            count_e4: count * 10_000,
                            price: *price,
                        }
                    })
                    .collect(),
                declared_total: None,
                mdtrt_id: None,
                channel: Channel::Window,
                at,
                dry_run: false,
            }),
            Op::Cancel(d) => Command::Cancel(CancelCommand {
                institution: self.pharmacies[d.inst].code.clone(),
                setl_id: d.setl_id.clone(),
                psn_no: d.psn_no.clone(),
                channel: Channel::Window,
                at,
            }),
            Op::Premium { pair } => {
                let (holder, relative) = &self.premium_pairs[*pair];
                Command::Premium(PremiumCommand {
                    holder: holder.clone(),
                    relative: relative.clone(),
                    kind: PremiumKind::Resident,
                    year: PREMIUM_YEAR,
                    place: None,
                    channel: Channel::WeChat,
                    at,
                })
            }
        };
        Request::new(command)
            .with_msgid(msgid, msgid)
            .with_render(render())
    }
}

/// The answer stored with each entry of the in-process runs, so a replay has something to
/// return: the outcome's figures as JSON (about 300 bytes; the institution interface
/// stores its full national-format answer instead, see the HTTP runs).
pub fn render() -> Render {
    Box::new(|outcome: &Outcome| {
        match outcome {
        Outcome::Settled(s) => {
            let t = &s.decision.totals;
            format!(
                "{{\"infcode\":0,\"output\":{{\"setlinfo\":{{\"setl_id\":\"{}\",\"mdtrt_id\":\"{}\",\"psn_no\":\"{}\",\"fixmedins_code\":\"{}\",\"medfee_sumamt\":{},\"fund_pay_sumamt\":{},\"acct_pay\":{},\"acct_mulaid_pay\":{},\"psn_cash_pay\":{},\"setl_time\":\"{}\"}}}}}}",
                s.setl_id,
                s.mdtrt_id,
                s.patient.psn_no,
                s.institution.code,
                t.medfee_sumamt,
                t.fund_pay_sumamt,
                t.acct_pay,
                t.acct_mulaid_pay,
                t.psn_cash_pay,
                s.at.format("%Y-%m-%d %H:%M:%S")
            )
        }
        Outcome::Cancelled(c) => format!(
            "{{\"infcode\":0,\"output\":{{\"setlinfo\":{{\"setl_id\":\"{}\",\"mdtrt_id\":\"{}\",\"medfee_sumamt\":-{}}}}}}}",
            c.setl_id, c.mdtrt_id, c.medfee_sumamt
        ),
        Outcome::PremiumPaid(p) => format!(
            "{{\"code\":0,\"entry_id\":{},\"relative\":\"{}\",\"year\":{},\"amount\":\"{}\"}}",
            p.entry_id, p.relative, p.year, p.amount
        ),
        _ => "{\"infcode\":0}".to_string(),
    }
    })
}

/// Message ids in the national format, unique within an invocation: the institution code
/// (12 characters), a time (yyyyMMddHHmmss) and a 4-digit sequence. Each run takes its own
/// stretch of time, starting from the wall clock, 10,000 msgids per second of it, so runs
/// never share one and a later invocation (started later) does not meet an earlier one's.
pub struct MsgidClock {
    base: NaiveDateTime,
}

impl MsgidClock {
    pub fn starting_now() -> MsgidClock {
        MsgidClock {
            base: chrono::Local::now().naive_local(),
        }
    }

    /// Reserves msgids for `ops` operations.
    pub fn run(&mut self, ops: usize) -> Msgids {
        let base = self.base;
        let seconds = (ops / 10_000) as i64 + 2;
        self.base = base + chrono::Duration::seconds(seconds);
        Msgids { base }
    }
}

#[derive(Clone, Copy)]
pub struct Msgids {
    base: NaiveDateTime,
}

impl Msgids {
    pub fn get(&self, inst_code: &str, op: usize) -> String {
        let t = self.base + chrono::Duration::seconds((op / 10_000) as i64);
        format!("{inst_code}{}{:04}", t.format("%Y%m%d%H%M%S"), op % 10_000)
    }
}
