//! The one helper the engine's acceptance tests share: a `World` that registers persons,
//! institutions and catalog items, funds accounts, binds and settles through a real
//! [`Engine`] on an in-memory SQLite store, and checks the ledger after every movement.
//! An API change of the engine touches this file only.

#![allow(dead_code)]

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use gongji_core::codes::{
    AccountUse, Admdvs, CertType, Channel, ChargeLevel, Gender, HospitalLevel, InstitutionKind,
    InsuStatus, Insutype, MedType, Relationship,
};
use gongji_core::domain::{Binding, CatalogItem, Institution, Person};
use gongji_core::ledger::LedgerAccount;
use gongji_core::pii::{CertNo, PersonName, Phone};
use gongji_core::policy::{Policy, PolicySet};
use gongji_core::pooling::FeeLine;
use gongji_core::premium::PremiumKind;
use gongji_core::{BasisPoints, Fen};
use gongji_engine::{
    BindCommand, BindingChange, CancelCommand, Cancelled, ChangeBindingCommand, Command,
    Credential, Engine, EngineError, MarkCategoryCommand, Outcome, PremiumCommand, PremiumPaid,
    Request, SettleCommand, Settled,
};
use gongji_store::{SqliteStore, Store};

/// A district of each seed region (the policy is found through the city or province).
pub const YANTAI: &str = "370602";
pub const ZIBO: &str = "370303";
pub const JINAN: &str = "370102";
pub const TAIYUAN: &str = "140105";
pub const YUNCHENG: &str = "140802";

pub const fn yuan(y: i64) -> i64 {
    y * 100
}

pub fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("test date")
}

/// 10:00 on a day.
pub fn at(text: &str) -> NaiveDateTime {
    day(text).and_hms_opt(10, 0, 0).expect("test time")
}

/// The seed presets with one policy changed.
pub fn presets_with(id: &str, edit: impl FnOnce(&mut Policy)) -> PolicySet {
    let mut policies = gongji_policy::presets().policies().to_vec();
    assert_eq!(policies.len(), 6, "all six presets load");
    let p = policies
        .iter_mut()
        .find(|p| p.id == id)
        .unwrap_or_else(|| panic!("no preset {id}"));
    edit(p);
    PolicySet::new(policies)
}

/// What a settlement paid from where, in fen; `aid` in the order the holders paid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paid {
    pub fund: i64,
    pub own: i64,
    pub aid: Vec<(String, i64)>,
    pub cash: i64,
}

pub fn paid(s: &Settled) -> Paid {
    let a = &s.decision.allocation;
    Paid {
        fund: s.decision.totals.fund_pay_sumamt.fen(),
        own: a.own.fen(),
        aid: a
            .draws
            .iter()
            .map(|d| (d.holder.clone(), d.amount.fen()))
            .collect(),
        cash: a.cash.fen(),
    }
}

/// Asserts a settlement went through and split exactly as expected.
#[track_caller]
pub fn check(got: Result<Settled, EngineError>, want: Paid) -> Settled {
    let s = match got {
        Ok(s) => s,
        Err(e) => panic!(
            "expected a settlement, got {}: {}",
            e.code(),
            e.message_en()
        ),
    };
    assert_eq!(paid(&s), want, "split of {}", s.setl_id);
    s
}

/// Asserts a request was refused with exactly `code`.
#[track_caller]
pub fn refused<T: std::fmt::Debug>(got: Result<T, EngineError>, code: &str) {
    match got {
        Ok(v) => panic!("expected {code}, but it went through: {v:?}"),
        Err(e) => assert_eq!(e.code(), code, "{}", e.message_en()),
    }
}

pub struct World {
    pub engine: Engine<SqliteStore>,
    seq: u32,
}

impl Default for World {
    fn default() -> World {
        World::new()
    }
}

impl World {
    /// The seed presets.
    pub fn new() -> World {
        World::with_policies(gongji_policy::presets())
    }

    pub fn with_policies(policies: PolicySet) -> World {
        let store = SqliteStore::open_in_memory().expect("in-memory store");
        World::with_store(store, policies)
    }

    /// An engine over an existing store (e.g. a database file reopened after a restart).
    /// Numbering of new persons, institutions and items continues after the stored ones.
    pub fn with_store(store: SqliteStore, policies: PolicySet) -> World {
        let engine = Engine::open(store, policies).expect("engine");
        let seq = engine.state().persons.len() as u32
            + engine.state().institutions.len() as u32
            + engine.state().catalog.len() as u32;
        World { engine, seq }
    }

    fn next(&mut self) -> u32 {
        self.seq += 1;
        self.seq
    }

    /// Runs one request; after anything that may have moved money the ledger is audited.
    pub fn execute(&mut self, request: Request) -> Result<Outcome, EngineError> {
        let moves_money = !matches!(
            request.command,
            Command::RegisterPerson(_)
                | Command::RegisterInstitution(_)
                | Command::RegisterCatalogItem(_)
                | Command::Bind(_)
                | Command::ChangeBinding(_)
        );
        let result = self.engine.execute(request);
        if moves_money {
            self.verify();
        }
        result
    }

    fn register(&mut self, command: Command) {
        match self.execute(Request::new(command)) {
            Ok(Outcome::Registered) => {}
            other => panic!("registration failed: {other:?}"),
        }
    }

    /// A normally insured person with a valid 18-digit ID number (GB 11643 check digit).
    pub fn person(&mut self, admdvs: &str, insutype: Insutype) -> String {
        let n = self.next();
        let birth = day("1960-01-01") + Duration::days(i64::from(n) * 97);
        let certno = gongji_testkit::idcard::certno(admdvs, birth, (n % 1000) as u16);
        let male = (n % 1000) % 2 == 1;
        let psn_no = format!("{admdvs}{n:08}");
        let person = Person {
            psn_no: psn_no.clone(),
            certno: CertNo::new(certno),
            name: PersonName::new(format!("测试{n}")),
            gender: if male { Gender::Male } else { Gender::Female },
            birth_date: birth,
            insutype,
            psn_type: if insutype == Insutype::Employee {
                "11".into()
            } else {
                "1501".into()
            },
            admdvs: Admdvs::parse(admdvs).expect("admdvs"),
            insu_status: InsuStatus::Normal,
            civil_servant: false,
            public_medical: false,
            employer_name: String::new(),
            phone: Phone::new(format!("138{n:08}")),
        };
        self.register(Command::RegisterPerson(person));
        psn_no
    }

    /// An employee-insured person with `balance` fen in the personal account.
    pub fn employee(&mut self, admdvs: &str, balance: i64) -> String {
        let p = self.person(admdvs, Insutype::Employee);
        if balance > 0 {
            self.fund(&p, balance);
        }
        p
    }

    /// A resident-insured person (no personal account).
    pub fn resident(&mut self, admdvs: &str) -> String {
        self.person(admdvs, Insutype::Resident)
    }

    pub fn person_of(&self, psn_no: &str) -> Person {
        self.engine.state().persons[psn_no].clone()
    }

    /// Changes a registered person (insurance status, public-medical flag...).
    pub fn update_person(&mut self, psn_no: &str, edit: impl FnOnce(&mut Person)) {
        let mut p = self.person_of(psn_no);
        edit(&mut p);
        self.register(Command::RegisterPerson(p));
    }

    pub fn set_status(&mut self, psn_no: &str, status: InsuStatus) {
        self.update_person(psn_no, |p| p.insu_status = status);
    }

    pub fn institution_with(
        &mut self,
        admdvs: &str,
        kind: InstitutionKind,
        level: HospitalLevel,
        mutual_aid: bool,
    ) -> String {
        let n = self.next();
        let prefix = if kind == InstitutionKind::Pharmacy {
            "P"
        } else {
            "H"
        };
        let code = format!("{prefix}{admdvs}{n:05}");
        self.register(Command::RegisterInstitution(Institution {
            code: code.clone(),
            name: format!("测试机构{n}"),
            kind,
            level,
            admdvs: Admdvs::parse(admdvs).expect("admdvs"),
            lat: 36.0,
            lon: 117.0,
            mutual_aid,
            paasid: format!("paas{n}"),
            token: format!("token{n}"),
            contact: Default::default(),
        }));
        code
    }

    pub fn pharmacy(&mut self, admdvs: &str) -> String {
        self.institution_with(
            admdvs,
            InstitutionKind::Pharmacy,
            HospitalLevel::Primary,
            true,
        )
    }

    pub fn hospital(&mut self, admdvs: &str, level: HospitalLevel) -> String {
        self.institution_with(admdvs, InstitutionKind::Medical, level, true)
    }

    /// A catalog item without a price cap; `selfpay_bp` is the class-B first self-paid share.
    pub fn item(&mut self, level: ChargeLevel, selfpay_bp: u16) -> String {
        let n = self.next();
        let code = format!("ITEM{n:05}");
        self.register(Command::RegisterCatalogItem(CatalogItem {
            code: code.clone(),
            name: format!("测试项目{n}"),
            level,
            price_cap: None,
            selfpay_prop: BasisPoints::new(selfpay_bp).expect("ratio"),
        }));
        code
    }

    /// Money into a personal account from outside (Funding).
    pub fn fund(&mut self, psn_no: &str, amount: i64) {
        let got = self.execute(Request::new(Command::Fund {
            psn_no: psn_no.to_string(),
            amount: Fen::from_fen(amount),
            at: at("2024-01-01"),
        }));
        assert!(matches!(got, Ok(Outcome::Funded { .. })), "{got:?}");
    }

    /// A bind request made on its begin day, face verified, through WeChat.
    pub fn bind_cmd(
        &self,
        holder: &str,
        relative: &str,
        relationship: u8,
        begin: &str,
    ) -> BindCommand {
        BindCommand {
            holder: holder.to_string(),
            relative: relative.to_string(),
            relationship: Relationship::from_code(relationship).expect("relationship"),
            begin: day(begin),
            end: None,
            limit_per_payment: None,
            limit_per_month: None,
            face_verified: true,
            channel: Channel::WeChat,
            actor: holder.to_string(),
            at: at(begin),
            restored: None,
        }
    }

    pub fn run_bind(&mut self, cmd: BindCommand) -> Result<Binding, EngineError> {
        match self.execute(Request::new(Command::Bind(cmd)))? {
            Outcome::Binding(b) => Ok(*b),
            other => panic!("unexpected {other:?}"),
        }
    }

    pub fn bind(
        &mut self,
        holder: &str,
        relative: &str,
        relationship: u8,
        begin: &str,
    ) -> Result<Binding, EngineError> {
        let cmd = self.bind_cmd(holder, relative, relationship, begin);
        self.run_bind(cmd)
    }

    pub fn change(
        &mut self,
        binding_id: i64,
        change: BindingChange,
        on: &str,
    ) -> Result<Binding, EngineError> {
        let command = Command::ChangeBinding(ChangeBindingCommand {
            binding_id,
            change,
            channel: Channel::WeChat,
            actor: "holder".into(),
            at: at(on),
        });
        match self.execute(Request::new(command))? {
            Outcome::Binding(b) => Ok(*b),
            other => panic!("unexpected {other:?}"),
        }
    }

    pub fn unbind(&mut self, binding_id: i64, on: &str) -> Result<Binding, EngineError> {
        self.change(
            binding_id,
            BindingChange::Unbind {
                face_verified: true,
            },
            on,
        )
    }

    /// A visit: one fee line (count 1) per `(item, amount in fen)`, own account used
    /// (acct_used_flag 1), no credential presented.
    pub fn visit(
        &self,
        patient: &str,
        institution: &str,
        med_type: MedType,
        lines: &[(&str, i64)],
        on: &str,
    ) -> SettleCommand {
        SettleCommand {
            institution: institution.to_string(),
            psn_no: patient.to_string(),
            credential: None,
            med_type,
            account_use: AccountUse::OwnAccount,
            lines: lines
                .iter()
                .enumerate()
                .map(|(i, (item, amount))| FeeLine {
                    sn: format!("{}", i + 1),
                    item_code: (*item).to_string(),
                    amount: Fen::from_fen(*amount),
                    count_e4: 10_000,
                    price: Fen::from_fen(*amount),
                })
                .collect(),
            declared_total: None,
            mdtrt_id: None,
            channel: Channel::Window,
            at: at(on),
            dry_run: false,
        }
    }

    /// A pharmacy purchase (med_type 41): no pooled fund, pure personal-account spending.
    pub fn bill(
        &self,
        patient: &str,
        pharmacy: &str,
        lines: &[(&str, i64)],
        on: &str,
    ) -> SettleCommand {
        self.visit(patient, pharmacy, MedType::PharmacyPurchase, lines, on)
    }

    /// The social-security card (ID number) of `owner`, presented at the window.
    pub fn card(&self, owner: &str) -> Option<Credential> {
        Some(Credential {
            cert_type: CertType::SocialSecurityCard,
            number: self.person_of(owner).certno.reveal().to_string(),
        })
    }

    pub fn with_card(&self, mut cmd: SettleCommand, owner: &str) -> SettleCommand {
        cmd.credential = self.card(owner);
        cmd
    }

    /// Settles; every answer satisfies the setlinfo identities and its postings sum to zero.
    pub fn settle(&mut self, cmd: SettleCommand) -> Result<Settled, EngineError> {
        match self.execute(Request::new(Command::Settle(cmd)))? {
            Outcome::Settled(s) => {
                assert_settlement_sound(&s);
                Ok(*s)
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    pub fn cancel(&mut self, s: &Settled, on: &str) -> Result<Cancelled, EngineError> {
        let command = Command::Cancel(CancelCommand {
            institution: s.institution.code.clone(),
            setl_id: s.setl_id.clone(),
            psn_no: s.patient.psn_no.clone(),
            channel: Channel::Window,
            at: at(on),
        });
        match self.execute(Request::new(command))? {
            Outcome::Cancelled(c) => Ok(*c),
            other => panic!("unexpected {other:?}"),
        }
    }

    pub fn premium_cmd(&self, holder: &str, relative: &str, year: i32, on: &str) -> PremiumCommand {
        PremiumCommand {
            holder: holder.to_string(),
            relative: relative.to_string(),
            kind: PremiumKind::Resident,
            year,
            place: None,
            channel: Channel::WeChat,
            at: at(on),
        }
    }

    /// The agency marks the relative's category for the year from a department's list.
    pub fn mark_category(
        &mut self,
        psn_no: &str,
        year: i32,
        category: &str,
        on: &str,
    ) -> Result<Outcome, EngineError> {
        self.execute(Request::new(Command::MarkCategory(MarkCategoryCommand {
            psn_no: psn_no.to_string(),
            year,
            category: category.to_string(),
            source_dept: "民政局".into(),
            list_date: at(on).date(),
            staff: "staff1".into(),
            at: at(on),
        })))
    }

    /// Pays a resident relative's premium; a category other than `general` is first marked
    /// in the registry, as the agency would from a department's list (R-R5).
    pub fn premium(
        &mut self,
        holder: &str,
        relative: &str,
        year: i32,
        category: &str,
        on: &str,
    ) -> Result<PremiumPaid, EngineError> {
        if category != "general" {
            self.mark_category(relative, year, category, on)?;
        }
        let cmd = self.premium_cmd(holder, relative, year, on);
        match self.execute(Request::new(Command::Premium(cmd)))? {
            Outcome::PremiumPaid(p) => Ok(*p),
            other => panic!("unexpected {other:?}"),
        }
    }

    /// A person's personal-account balance in fen.
    pub fn balance(&self, psn_no: &str) -> i64 {
        self.account(&LedgerAccount::Personal(psn_no.to_string()).key())
    }

    /// Any ledger account's balance in fen, by key (`cash`, `fund:140802:390102`...).
    pub fn account(&self, key: &str) -> i64 {
        self.engine.state().balance(key).fen()
    }

    /// Non-zero balances of the engine's memory, by account key.
    pub fn balances(&self) -> BTreeMap<String, i64> {
        self.engine
            .state()
            .balances
            .iter()
            .filter(|(_, b)| !b.is_zero())
            .map(|(k, b)| (k.to_string(), b.fen()))
            .collect()
    }

    /// The store's audit is clean, the trial balance is zero, no personal account is below
    /// zero, and the engine's memory agrees with the database account by account.
    #[track_caller]
    pub fn verify(&mut self) {
        let report = self.engine.store_mut().verify().expect("verify runs");
        assert!(report.is_clean(), "ledger violations:\n{report}");
        assert_eq!(report.trial_balance(), Some(Fen::ZERO), "{report}");
        let stored: BTreeMap<String, i64> = self
            .engine
            .store_mut()
            .balances()
            .expect("balances")
            .into_iter()
            .filter(|(_, b)| !b.is_zero())
            .map(|(k, b)| (k, b.fen()))
            .collect();
        let memory = self.balances();
        assert_eq!(memory, stored, "engine state and store disagree");
        assert_eq!(memory.values().sum::<i64>(), 0, "all balances sum to zero");
        for (k, b) in &memory {
            assert!(!k.starts_with("psn:") || *b >= 0, "{k} is below zero: {b}");
        }
    }
}

/// The setlinfo identities hold and the postings sum to zero.
#[track_caller]
pub fn assert_settlement_sound(s: &Settled) {
    let d = &s.decision;
    assert!(d.totals.identities_hold(), "identities: {:?}", d.totals);
    let sum: i64 = d.postings.postings().iter().map(|p| p.amount.fen()).sum();
    assert_eq!(sum, 0, "postings of {} sum to {sum}", s.setl_id);
    assert_eq!(
        d.totals.acct_mulaid_pay,
        d.allocation.mutual_aid_total(),
        "acct_mulaid_pay is the sum of the draws"
    );
    for draw in &d.allocation.draws {
        assert!(
            draw.balance_after >= draw.reserve,
            "draw leaves {} below its reserve {}",
            draw.holder,
            draw.reserve
        );
    }
}
