//! The population and the random requests of the simulator's clients.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{Datelike, Duration, NaiveDateTime};
use gongji_core::codes::{AccountUse, Channel, ChargeLevel, HospitalLevel, MedType, Relationship};
use gongji_core::domain::BindingStatus;
use gongji_core::premium::PremiumKind;
use gongji_core::Fen;
use gongji_engine::{
    BindCommand, BindingChange, CancelCommand, ChangeBindingCommand, Command, Engine,
    PremiumCommand, RecoveryAction, RecoveryCommand, Request, SettleCommand,
};
use gongji_store::SqliteStore;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;

use crate::auditor::{render, Auditor};
use crate::common::{at, World, JINAN, YUNCHENG};
use crate::faulty::FaultyStore;

pub struct Population {
    pub holders: Vec<String>,
    pub relatives: Vec<String>,
    /// Everyone with a personal account.
    pub employees: Vec<String>,
    /// The certificate number of everyone, for credentials.
    pub certnos: BTreeMap<String, String>,
    pub sites: [String; 3],
    pub items: [String; 3],
}

/// What the client expects of its answer.
#[derive(Clone, Debug)]
pub enum Expect {
    /// A new msgid: decided once.
    Fresh,
    /// The same msgid again after an answer that never arrived.
    Retry,
    /// An acknowledged msgid sent again: the first answer, word for word.
    Replay(String),
    /// An acknowledged msgid with another request: refused.
    Reuse,
    /// A pre-settlement: decided, nothing moved, no msgid.
    DryRun,
}

#[derive(Clone)]
pub struct Sent {
    pub msgid: Option<String>,
    pub hash: String,
    pub command: Command,
    pub expect: Expect,
}

impl Sent {
    pub fn request(&self) -> Request {
        let request = Request::new(self.command.clone());
        match &self.msgid {
            Some(m) => request
                .with_msgid(m.clone(), self.hash.clone())
                .with_render(Box::new(render)),
            None => request,
        }
    }

    pub fn retried(self) -> Sent {
        Sent {
            expect: Expect::Retry,
            ..self
        }
    }
}

/// A binding as the clients see it.
#[derive(Clone, Debug)]
pub struct BindingView {
    pub id: i64,
    pub holder: String,
    pub relative: String,
    pub active: bool,
}

pub fn bindings(engine: &mut Engine<FaultyStore>) -> Vec<BindingView> {
    let mut out: Vec<BindingView> = engine
        .state()
        .bindings
        .values()
        .map(|b| BindingView {
            id: b.id,
            holder: b.holder.clone(),
            relative: b.relative.clone(),
            active: b.status == BindingStatus::Active,
        })
        .collect();
    out.sort_by_key(|b| b.id);
    out
}

impl Population {
    /// Registers a small region's people, sites and items, funds and binds some of them,
    /// all before any fault; returns the opening personal balances.
    pub fn register(rng: &mut StdRng, path: &Path) -> (Population, BTreeMap<String, i64>) {
        let store = SqliteStore::open(path).expect("database file");
        let mut w = World::with_store(store, gongji_policy::presets());
        let region = *[JINAN, YUNCHENG].choose(rng).expect("regions");
        let holders: Vec<String> = (0..rng.gen_range(2..=4))
            .map(|_| w.employee(region, rng.gen_range(0..=600_000)))
            .collect();
        let mut employees = holders.clone();
        let relatives: Vec<String> = (0..rng.gen_range(2..=5))
            .map(|_| {
                if rng.gen_bool(0.4) {
                    let p = w.employee(region, rng.gen_range(0..=50_000));
                    employees.push(p.clone());
                    p
                } else {
                    w.resident(region)
                }
            })
            .collect();
        for holder in &holders {
            for relative in &relatives {
                if rng.gen_bool(0.5) {
                    let _ = w.bind(holder, relative, 21, "2025-01-01");
                }
            }
        }
        let sites = [
            w.pharmacy(region),
            w.hospital(region, HospitalLevel::Primary),
            w.hospital(region, HospitalLevel::Level3),
        ];
        let items = [
            w.item(ChargeLevel::ClassA, 0),
            w.item(ChargeLevel::ClassB, 1_000),
            w.item(ChargeLevel::ClassC, 0),
        ];
        let certnos = holders
            .iter()
            .chain(&relatives)
            .map(|p| (p.clone(), w.person_of(p).certno.reveal().to_string()))
            .collect();
        let opening = w
            .balances()
            .into_iter()
            .filter_map(|(k, b)| Some((k.strip_prefix("psn:")?.to_string(), b)))
            .collect();
        (
            Population {
                holders,
                relatives,
                employees,
                certnos,
                sites,
                items,
            },
            opening,
        )
    }

    fn anyone(&self, rng: &mut StdRng) -> String {
        let group = if rng.gen_bool(0.75) {
            &self.relatives
        } else {
            &self.holders
        };
        group.choose(rng).cloned().unwrap_or_default()
    }

    fn credential(&self, psn_no: &str) -> Option<gongji_engine::Credential> {
        Some(gongji_engine::Credential {
            cert_type: gongji_core::codes::CertType::SocialSecurityCard,
            number: self.certnos.get(psn_no)?.clone(),
        })
    }

    fn settle(&self, rng: &mut StdRng, when: NaiveDateTime, dry_run: bool) -> SettleCommand {
        let patient = self.anyone(rng);
        let site = rng.gen_range(0..3);
        let lines = (0..rng.gen_range(1..=3))
            .map(|i| {
                let amount = if rng.gen_bool(0.9) {
                    rng.gen_range(1..=150_000)
                } else {
                    rng.gen_range(1_000_000..=3_000_000)
                };
                gongji_core::pooling::FeeLine {
                    sn: format!("{}", i + 1),
                    item_code: self.items[rng.gen_range(0..3)].clone(),
                    amount: Fen::from_fen(amount),
                    count_e4: 10_000,
                    price: Fen::from_fen(amount),
                }
            })
            .collect();
        let credential = match rng.gen_range(0..4) {
            0 => None,
            1 => self.credential(&patient),
            _ => self.holders.choose(rng).and_then(|h| self.credential(h)),
        };
        SettleCommand {
            institution: self.sites[site].clone(),
            psn_no: patient,
            credential,
            med_type: [
                MedType::PharmacyPurchase,
                MedType::GeneralOutpatient,
                MedType::ChronicSpecialOutpatient,
            ][site],
            account_use: [
                AccountUse::CashOnly,
                AccountUse::OwnAccount,
                AccountUse::OwnThenMutualAid,
                AccountUse::OwnThenMutualAid,
            ][rng.gen_range(0..4)],
            lines,
            declared_total: None,
            mdtrt_id: None,
            channel: Channel::Window,
            at: when,
            dry_run,
        }
    }
}

/// The simulated clock: ten months from March 2025 over the run, so autumn's premiums and
/// the month and year limits come into play.
fn clock(round: usize, rounds: usize) -> NaiveDateTime {
    let days = (round * 300 / rounds.max(1)) as i64;
    at("2025-03-01") + Duration::days(days)
}

/// The next request of some client.
#[allow(clippy::too_many_arguments)]
pub fn next(
    rng: &mut StdRng,
    pop: &Population,
    bindings: &[BindingView],
    auditor: &Auditor,
    acknowledged: &BTreeMap<String, (String, Command)>,
    msgid: String,
    round: usize,
    rounds: usize,
) -> Sent {
    let when = clock(round, rounds);
    let fresh = |command: Command| Sent {
        hash: format!("h-{msgid}"),
        msgid: Some(msgid.clone()),
        command,
        expect: Expect::Fresh,
    };
    let active: Vec<&BindingView> = bindings.iter().filter(|b| b.active).collect();
    let change = |b: &BindingView, change: BindingChange| {
        Command::ChangeBinding(ChangeBindingCommand {
            binding_id: b.id,
            change,
            channel: Channel::WeChat,
            actor: b.holder.clone(),
            at: when,
        })
    };
    match rng.gen_range(0..100) {
        0..=39 => fresh(Command::Settle(pop.settle(rng, when, false))),
        40..=43 => Sent {
            msgid: None,
            hash: String::new(),
            command: Command::Settle(pop.settle(rng, when, true)),
            expect: Expect::DryRun,
        },
        44..=53 => {
            let settled: Vec<_> = auditor.settlements.iter().collect();
            match settled.choose(rng) {
                Some((setl_id, s)) => fresh(Command::Cancel(CancelCommand {
                    institution: s.institution.clone(),
                    setl_id: (*setl_id).clone(),
                    psn_no: s.patient.clone(),
                    channel: Channel::Window,
                    at: when,
                })),
                None => fresh(Command::Settle(pop.settle(rng, when, false))),
            }
        }
        54..=60 => fresh(Command::Fund {
            psn_no: pop.employees.choose(rng).cloned().unwrap_or_default(),
            amount: Fen::from_fen(rng.gen_range(1..=100_000)),
            at: when,
        }),
        61..=64 => fresh(Command::Bind(BindCommand {
            holder: pop.holders.choose(rng).cloned().unwrap_or_default(),
            relative: pop.relatives.choose(rng).cloned().unwrap_or_default(),
            relationship: Relationship::from_code(21).expect("relationship 21"),
            begin: when.date(),
            end: None,
            limit_per_payment: None,
            limit_per_month: None,
            face_verified: true,
            channel: Channel::WeChat,
            actor: "sim".into(),
            at: when,
            restored: None,
        })),
        65..=66 => match active.choose(rng) {
            Some(b) => fresh(change(
                b,
                BindingChange::Unbind {
                    face_verified: true,
                },
            )),
            None => fresh(Command::Settle(pop.settle(rng, when, false))),
        },
        67..=70 => match active.choose(rng) {
            Some(b) => {
                let limit = |rng: &mut StdRng, most: i64| {
                    rng.gen_bool(0.5)
                        .then(|| Fen::from_fen(rng.gen_range(0..=most)))
                };
                let limits = gongji_engine::Limits {
                    per_payment: limit(rng, 50_000),
                    per_day: None,
                    per_month: limit(rng, 100_000),
                    per_year: None,
                };
                fresh(change(b, BindingChange::Limits(limits)))
            }
            None => fresh(Command::Settle(pop.settle(rng, when, false))),
        },
        71..=75 => match active.choose(rng) {
            Some(b) => fresh(Command::Premium(PremiumCommand {
                holder: b.holder.clone(),
                relative: b.relative.clone(),
                year: when.year() + 1,
                kind: PremiumKind::Resident,
                place: None,
                channel: Channel::WeChat,
                at: when,
            })),
            None => fresh(Command::Settle(pop.settle(rng, when, false))),
        },
        76..=80 => {
            let repayable: Vec<i64> = auditor
                .cases
                .iter()
                .filter(|(_, c)| !c.repaid)
                .map(|(id, _)| *id)
                .collect();
            let action = match (rng.gen_bool(0.5), repayable.choose(rng)) {
                (true, Some(case_id)) => Some(RecoveryAction::Repaid { case_id: *case_id }),
                _ => auditor
                    .drawn_settlements()
                    .choose(rng)
                    .map(|(setl_id, binding_id, drawn)| RecoveryAction::Open {
                        binding_id: *binding_id,
                        setl_id: setl_id.clone(),
                        amount: Fen::from_fen(rng.gen_range(1..=*drawn)),
                        reason: "模拟：违规共济支付".into(),
                    }),
            };
            match action {
                Some(action) => fresh(Command::Recovery(RecoveryCommand {
                    action,
                    channel: Channel::Window,
                    actor: "staff".into(),
                    at: when,
                })),
                None => fresh(Command::Settle(pop.settle(rng, when, false))),
            }
        }
        81..=93 => {
            let answered: Vec<_> = acknowledged.iter().collect();
            match answered.choose(rng) {
                Some((msgid, (hash, command))) => Sent {
                    msgid: Some((*msgid).clone()),
                    hash: hash.clone(),
                    command: command.clone(),
                    expect: Expect::Replay(
                        auditor.answers.get(*msgid).cloned().unwrap_or_default(),
                    ),
                },
                None => fresh(Command::Settle(pop.settle(rng, when, false))),
            }
        }
        _ => {
            let answered: Vec<_> = acknowledged.iter().collect();
            match answered.choose(rng) {
                Some((msgid, (hash, command))) => Sent {
                    msgid: Some((*msgid).clone()),
                    hash: format!("{hash}-other"),
                    command: command.clone(),
                    expect: Expect::Reuse,
                },
                None => fresh(Command::Settle(pop.settle(rng, when, false))),
            }
        }
    }
}
