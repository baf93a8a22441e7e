//! The hot set in memory: persons, balances, bindings, institutions, catalog and usage
//! counters, loaded from the store's snapshot and kept in step with every committed batch.

use std::collections::{HashMap, HashSet};

use gongji_core::domain::{Binding, CatalogItem, Institution, Person};
use gongji_core::pooling::PoolUsage;
use gongji_core::Fen;
use gongji_store::{FeeRow, RecoveryCaseRow, Snapshot, VisitRow};

#[derive(Debug, Default, Clone)]
pub struct State {
    pub persons: HashMap<String, Person>,
    /// certno → psn_no.
    pub by_certno: HashMap<String, String>,
    pub balances: HashMap<String, Fen>,
    pub bindings: HashMap<i64, Binding>,
    pub by_holder: HashMap<String, Vec<i64>>,
    pub by_relative: HashMap<String, Vec<i64>>,
    pub institutions: HashMap<String, Institution>,
    /// paasid → institution code.
    pub by_paasid: HashMap<String, String>,
    pub catalog: HashMap<String, CatalogItem>,
    pub pool_usage: HashMap<(String, String), HashMap<String, PoolUsage>>,
    pub binding_usage: HashMap<(i64, String), Fen>,
    pub premiums_paid: HashSet<(String, i32)>,
    pub binding_changes: HashMap<(String, String), u32>,
    /// Open visits by mdtrt_id, with their fee lines.
    pub visits: HashMap<String, (VisitRow, Vec<FeeRow>)>,
    /// Recovery cases (追回) by case id, open and repaid.
    pub recovery_cases: HashMap<i64, RecoveryCaseRow>,
    pub next_entry_id: i64,
    pub next_binding_id: i64,
    pub next_recovery_id: i64,
}

impl State {
    pub fn from_snapshot(snap: Snapshot) -> State {
        let mut s = State {
            balances: snap.balances,
            pool_usage: snap.pool_usage,
            binding_usage: snap.binding_usage,
            premiums_paid: snap.premiums_paid.into_iter().collect(),
            binding_changes: snap.binding_changes,
            next_entry_id: snap.max_entry_id + 1,
            next_binding_id: snap.max_binding_id + 1,
            next_recovery_id: snap
                .recovery_cases
                .iter()
                .map(|c| c.case_id)
                .max()
                .unwrap_or(0)
                + 1,
            ..State::default()
        };
        // Sized once: growing a map of a million persons rehashes it into a table twice
        // the size while the old one is still held (the peak memory of a load).
        s.persons.reserve(snap.persons.len());
        s.by_certno.reserve(snap.persons.len());
        s.bindings.reserve(snap.bindings.len());
        s.by_holder.reserve(snap.bindings.len());
        s.by_relative.reserve(snap.bindings.len());
        for c in snap.recovery_cases {
            s.recovery_cases.insert(c.case_id, c);
        }
        for p in snap.persons {
            s.put_person(p);
        }
        for b in snap.bindings {
            s.put_binding(b);
        }
        for i in snap.institutions {
            s.put_institution(i);
        }
        for v in snap.visits {
            s.visits.insert(v.mdtrt_id.clone(), (v, Vec::new()));
        }
        for f in snap.fees {
            if let Some((_, fees)) = s.visits.get_mut(&f.mdtrt_id) {
                fees.push(f);
            }
        }
        for c in snap.catalog {
            s.catalog.insert(c.code.clone(), c);
        }
        s
    }

    pub fn put_person(&mut self, p: Person) {
        self.by_certno
            .insert(p.certno.reveal().to_string(), p.psn_no.clone());
        self.persons.insert(p.psn_no.clone(), p);
    }

    pub fn put_institution(&mut self, i: Institution) {
        self.by_paasid.insert(i.paasid.clone(), i.code.clone());
        self.institutions.insert(i.code.clone(), i);
    }

    pub fn put_binding(&mut self, b: Binding) {
        if !self.bindings.contains_key(&b.id) {
            self.by_holder
                .entry(b.holder.clone())
                .or_default()
                .push(b.id);
            self.by_relative
                .entry(b.relative.clone())
                .or_default()
                .push(b.id);
        }
        self.bindings.insert(b.id, b);
    }

    pub fn balance(&self, key: &str) -> Fen {
        self.balances.get(key).copied().unwrap_or(Fen::ZERO)
    }

    pub fn add_to_balance(&mut self, key: &str, amount: Fen) -> Fen {
        let entry = self.balances.entry(key.to_string()).or_insert(Fen::ZERO);
        *entry = Fen::from_fen(entry.fen() + amount.fen());
        *entry
    }

    /// Every binding in which `psn_no` takes part, on either side.
    pub fn bindings_of(&self, psn_no: &str) -> impl Iterator<Item = &Binding> {
        let ids = self
            .by_holder
            .get(psn_no)
            .into_iter()
            .chain(self.by_relative.get(psn_no))
            .flatten();
        ids.filter_map(|id| self.bindings.get(id))
    }

    /// Bindings where `psn_no` is the relative.
    pub fn holders_of(&self, psn_no: &str) -> impl Iterator<Item = &Binding> {
        self.by_relative
            .get(psn_no)
            .into_iter()
            .flatten()
            .filter_map(|id| self.bindings.get(id))
    }

    pub fn usage_for(&self, psn_no: &str, year: &str, day: &str) -> HashMap<String, PoolUsage> {
        let mut out: HashMap<String, PoolUsage> = HashMap::new();
        if let Some(y) = self.pool_usage.get(&(psn_no.to_string(), year.to_string())) {
            for (group, u) in y {
                let e = out.entry(group.clone()).or_default();
                e.deductible_used_year = u.deductible_used_year;
                e.fund_paid_year = u.fund_paid_year;
                e.burden_year = u.burden_year;
            }
        }
        if let Some(d) = self.pool_usage.get(&(psn_no.to_string(), day.to_string())) {
            for (group, u) in d {
                out.entry(group.clone()).or_default().fund_paid_today = u.fund_paid_today;
            }
        }
        out
    }

    pub fn add_usage(
        &mut self,
        psn_no: &str,
        period: &str,
        group: &str,
        deductible: Fen,
        fund: Fen,
        burden: Fen,
    ) {
        let is_day = period.len() > 4;
        let u = self
            .pool_usage
            .entry((psn_no.to_string(), period.to_string()))
            .or_default()
            .entry(group.to_string())
            .or_default();
        let add = |a: Fen, b: Fen| Fen::from_fen(a.fen() + b.fen());
        if is_day {
            u.fund_paid_today = add(u.fund_paid_today, fund);
        } else {
            u.deductible_used_year = add(u.deductible_used_year, deductible);
            u.fund_paid_year = add(u.fund_paid_year, fund);
            u.burden_year = add(u.burden_year, burden);
        }
    }
}
