//! The hot set in memory: persons, balances, bindings, institutions, catalog and usage
//! counters, loaded from the store's snapshot and kept in step with every committed batch.
//!
//! Sized for a province (a million persons in well under 1 GiB): persons live in one
//! vector with two index tables of positions (by psn_no, by ID number) instead of maps
//! holding copies of their keys, and the short texts of the hot set ([`SmallStr`]: ID
//! numbers, names, phones, account keys) sit inside their values, not in heap blocks.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;

use gongji_core::domain::{Binding, CatalogItem, Institution, Person};
use gongji_core::money::Overflow;
use gongji_core::pooling::PoolUsage;
use gongji_core::premium::PremiumKind;
use gongji_core::{Fen, SmallStr};
use gongji_store::{FeeRow, PoolUsageDelta, RecoveryCaseRow, Snapshot, VisitRow};
use hashbrown::HashTable;

use crate::quota::QuotaBook;

#[derive(Debug, Default, Clone)]
pub struct State {
    /// The registry, by psn_no and by ID number.
    pub persons: Persons,
    /// account_key → balance.
    pub balances: HashMap<SmallStr, Fen>,
    pub bindings: HashMap<i64, Binding>,
    /// holder psn_no → binding ids.
    pub by_holder: BindingIndex,
    /// relative psn_no → binding ids.
    pub by_relative: BindingIndex,
    pub institutions: HashMap<String, Institution>,
    /// paasid → institution code.
    pub by_paasid: HashMap<String, String>,
    pub catalog: HashMap<String, CatalogItem>,
    pub pool_usage: HashMap<(String, String), HashMap<String, PoolUsage>>,
    pub binding_usage: HashMap<(i64, String), Fen>,
    /// (relative psn_no, year, kind) of every premium paid (R-R4, R-S6).
    pub premiums_paid: HashSet<(String, i32, PremiumKind)>,
    /// (psn_no, benefit year) → the contribution categories the agency's lists give (R-R5).
    pub contribution_categories: HashMap<(String, i32), Vec<String>>,
    pub binding_changes: HashMap<(String, String), u32>,
    /// Open visits by mdtrt_id, with their fee lines.
    pub visits: HashMap<String, (VisitRow, Vec<FeeRow>)>,
    /// Recovery cases (追回) by case id, open and repaid.
    pub recovery_cases: HashMap<i64, RecoveryCaseRow>,
    /// Cross-province quotas (R-N3): bindings, outbox, dedup rows and spend log.
    pub quota: QuotaBook,
    pub next_entry_id: i64,
    pub next_binding_id: i64,
    pub next_recovery_id: i64,
}

/// The persons of the registry: one vector, and tables of positions in it by psn_no and by
/// ID number (certno). Neither table holds a copy of its key, so a person costs its own
/// size plus a few bytes of index, instead of a map entry with a second psn_no and a
/// certno → psn_no map beside it.
///
/// Persons are only added or replaced, never removed (the registry keeps everyone).
#[derive(Clone, Default)]
pub struct Persons {
    rows: Vec<Person>,
    by_psn_no: HashTable<usize>,
    /// The latest person registered with each certno.
    by_certno: HashTable<usize>,
    hasher: RandomState,
}

impl std::fmt::Debug for Persons {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Persons")
            .field("len", &self.rows.len())
            .finish_non_exhaustive()
    }
}

impl Persons {
    /// Takes the persons of a snapshot as they are (no copy): a million persons are
    /// indexed in place, never held twice.
    pub fn from_vec(mut rows: Vec<Person>) -> Persons {
        rows.shrink_to_fit();
        let hasher = RandomState::new();
        let mut by_psn_no = HashTable::with_capacity(rows.len());
        for (i, p) in rows.iter().enumerate() {
            let h = hasher.hash_one(p.psn_no.as_str());
            if by_psn_no
                .find(h, |&j: &usize| rows[j].psn_no == p.psn_no)
                .is_some()
            {
                // The store's key forbids this; if it happens anyway, the later row wins,
                // as it would one insert at a time.
                let mut out = Persons::default();
                for p in rows {
                    out.insert(p);
                }
                return out;
            }
            by_psn_no.insert_unique(h, i, |&j| hasher.hash_one(rows[j].psn_no.as_str()));
        }
        let mut out = Persons {
            by_certno: HashTable::with_capacity(rows.len()),
            rows,
            by_psn_no,
            hasher,
        };
        for i in 0..out.rows.len() {
            out.index_certno(i);
        }
        out
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn position(&self, psn_no: &str) -> Option<usize> {
        let h = self.hasher.hash_one(psn_no);
        self.by_psn_no
            .find(h, |&i| self.rows[i].psn_no == psn_no)
            .copied()
    }

    pub fn get(&self, psn_no: &str) -> Option<&Person> {
        self.position(psn_no).map(|i| &self.rows[i])
    }

    pub fn contains_key(&self, psn_no: &str) -> bool {
        self.position(psn_no).is_some()
    }

    /// The person registered with this ID number (the latest one, should two share it).
    pub fn by_certno(&self, certno: &str) -> Option<&Person> {
        let h = self.hasher.hash_one(certno);
        self.by_certno
            .find(h, |&i| self.rows[i].certno.reveal() == certno)
            .map(|&i| &self.rows[i])
    }

    /// Every person, in the order they were loaded or added.
    pub fn values(&self) -> std::slice::Iter<'_, Person> {
        self.rows.iter()
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.rows.iter().map(|p| &p.psn_no)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Person)> {
        self.rows.iter().map(|p| (&p.psn_no, p))
    }

    /// Adds a person or replaces the one with the same psn_no; returns the replaced one.
    pub fn insert(&mut self, p: Person) -> Option<Person> {
        match self.position(&p.psn_no) {
            Some(i) => {
                self.unindex_certno(i);
                let old = std::mem::replace(&mut self.rows[i], p);
                self.index_certno(i);
                Some(old)
            }
            None => {
                let i = self.rows.len();
                let h = self.hasher.hash_one(p.psn_no.as_str());
                self.rows.push(p);
                let (rows, hasher) = (&self.rows, &self.hasher);
                self.by_psn_no
                    .insert_unique(h, i, |&j| hasher.hash_one(rows[j].psn_no.as_str()));
                self.index_certno(i);
                None
            }
        }
    }

    /// Points the certno of row `i` at row `i`, taking it from any other row that had it.
    fn index_certno(&mut self, i: usize) {
        let (rows, hasher) = (&self.rows, &self.hasher);
        let certno = rows[i].certno.reveal();
        let h = hasher.hash_one(certno);
        if let Ok(e) = self
            .by_certno
            .find_entry(h, |&j| rows[j].certno.reveal() == certno)
        {
            e.remove();
        }
        self.by_certno
            .insert_unique(h, i, |&j| hasher.hash_one(rows[j].certno.reveal()));
    }

    /// Removes the certno entry that points at row `i`, if there is one.
    fn unindex_certno(&mut self, i: usize) {
        let h = self.hasher.hash_one(self.rows[i].certno.reveal());
        if let Ok(e) = self.by_certno.find_entry(h, |&j| j == i) {
            e.remove();
        }
    }
}

impl<Q: AsRef<str> + ?Sized> std::ops::Index<&Q> for Persons {
    type Output = Person;

    /// Panics when no such person is registered, as `HashMap`'s index does.
    fn index(&self, psn_no: &Q) -> &Person {
        match self.get(psn_no.as_ref()) {
            Some(p) => p,
            None => panic!("no person {}", psn_no.as_ref()),
        }
    }
}

/// Binding ids by psn_no (one side of the bindings). Most persons take part in one
/// binding on a side, kept inline; a list is allocated only for more.
#[derive(Debug, Default, Clone)]
pub struct BindingIndex(HashMap<SmallStr, BindingIds>);

#[derive(Debug, Clone)]
enum BindingIds {
    One(i64),
    Many(Box<[i64]>),
}

impl BindingIds {
    fn as_slice(&self) -> &[i64] {
        match self {
            BindingIds::One(id) => std::slice::from_ref(id),
            BindingIds::Many(ids) => ids,
        }
    }
}

impl BindingIndex {
    /// The binding ids of `psn_no`, oldest first.
    pub fn get(&self, psn_no: &str) -> Option<&[i64]> {
        self.0.get(psn_no).map(BindingIds::as_slice)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &[i64])> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    fn push(&mut self, psn_no: &str, id: i64) {
        match self.0.get_mut(psn_no) {
            Some(ids) => {
                let mut all = Vec::with_capacity(ids.as_slice().len() + 1);
                all.extend_from_slice(ids.as_slice());
                all.push(id);
                *ids = BindingIds::Many(all.into_boxed_slice());
            }
            None => {
                self.0.insert(SmallStr::from(psn_no), BindingIds::One(id));
            }
        }
    }
}

impl State {
    pub fn from_snapshot(snap: Snapshot) -> State {
        let Snapshot {
            persons,
            balances,
            bindings,
            institutions,
            catalog,
            pool_usage,
            binding_usage,
            premiums_paid,
            contribution_categories,
            binding_changes,
            visits,
            fees,
            max_entry_id,
            max_binding_id,
            max_audit_id: _,
            recovery_cases,
            quota_bindings,
            quota_sent,
            quota_applied,
            quota_spends,
        } = snap;
        let mut s = State {
            // The snapshot's vector becomes the registry itself, indexed in place.
            persons: Persons::from_vec(persons),
            pool_usage,
            binding_usage,
            premiums_paid: premiums_paid
                .into_iter()
                .filter_map(|(psn_no, year, kind)| Some((psn_no, year, PremiumKind::parse(&kind)?)))
                .collect(),
            contribution_categories: contribution_categories.into_iter().fold(
                HashMap::new(),
                |mut by_person: HashMap<(String, i32), Vec<String>>, (psn_no, year, category)| {
                    let listed = by_person.entry((psn_no, year)).or_default();
                    if !listed.contains(&category) {
                        listed.push(category);
                    }
                    by_person
                },
            ),
            binding_changes,
            next_entry_id: max_entry_id + 1,
            next_binding_id: max_binding_id + 1,
            next_recovery_id: recovery_cases.iter().map(|c| c.case_id).max().unwrap_or(0) + 1,
            quota: QuotaBook::from_rows(quota_bindings, quota_sent, quota_applied, quota_spends),
            ..State::default()
        };
        // Each map is sized once: growing a large map rehashes it into a table twice the
        // size while the old one is still held (the peak memory of a load). Each key of
        // the snapshot's map is freed as it is moved over.
        s.balances.reserve(balances.len());
        for (key, balance) in balances {
            s.balances.insert(SmallStr::from(key), balance);
        }
        s.bindings.reserve(bindings.len());
        for b in bindings {
            s.put_binding(b);
        }
        for c in recovery_cases {
            s.recovery_cases.insert(c.case_id, c);
        }
        for i in institutions {
            s.put_institution(i);
        }
        for v in visits {
            s.visits.insert(v.mdtrt_id.clone(), (v, Vec::new()));
        }
        for f in fees {
            if let Some((_, fees)) = s.visits.get_mut(&f.mdtrt_id) {
                fees.push(f);
            }
        }
        for c in catalog {
            s.catalog.insert(c.code.clone(), c);
        }
        s
    }

    pub fn put_person(&mut self, p: Person) {
        self.persons.insert(p);
    }

    pub fn put_institution(&mut self, i: Institution) {
        self.by_paasid.insert(i.paasid.clone(), i.code.clone());
        self.institutions.insert(i.code.clone(), i);
    }

    pub fn put_binding(&mut self, b: Binding) {
        if !self.bindings.contains_key(&b.id) {
            self.by_holder.push(&b.holder, b.id);
            self.by_relative.push(&b.relative, b.id);
        }
        self.bindings.insert(b.id, b);
    }

    pub fn balance(&self, key: &str) -> Fen {
        self.balances.get(key).copied().unwrap_or(Fen::ZERO)
    }

    pub fn set_balance(&mut self, key: &str, balance: Fen) {
        match self.balances.get_mut(key) {
            Some(entry) => *entry = balance,
            None => {
                self.balances.insert(SmallStr::from(key), balance);
            }
        }
    }

    /// What a binding carried in a period (`YYYY`, `YYYY-MM` or `YYYY-MM-DD`).
    pub fn binding_used(&self, binding_id: i64, period: &str) -> Fen {
        self.binding_usage
            .get(&(binding_id, period.to_string()))
            .copied()
            .unwrap_or(Fen::ZERO)
    }

    /// Adds to what a binding carried in a period (`YYYY`, `YYYY-MM` or `YYYY-MM-DD`).
    pub fn add_binding_usage(
        &mut self,
        binding_id: i64,
        period: &str,
        amount: Fen,
    ) -> Result<(), Overflow> {
        let used = self
            .binding_usage
            .entry((binding_id, period.to_string()))
            .or_insert(Fen::ZERO);
        *used = used.checked_add(amount).ok_or(Overflow)?;
        Ok(())
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

    /// Adds a usage delta to the counters of its person, period and cap group. Nothing
    /// changes on overflow.
    pub fn add_usage(&mut self, delta: &PoolUsageDelta) -> Result<(), Overflow> {
        let is_day = delta.period.len() > 4;
        let u = self
            .pool_usage
            .entry((delta.psn_no.clone(), delta.period.clone()))
            .or_default()
            .entry(delta.cap_group.clone())
            .or_default();
        let add = |a: Fen, b: Fen| a.checked_add(b).ok_or(Overflow);
        if is_day {
            u.fund_paid_today = add(u.fund_paid_today, delta.fund)?;
        } else {
            let deductible = add(u.deductible_used_year, delta.deductible)?;
            let fund = add(u.fund_paid_year, delta.fund)?;
            let burden = add(u.burden_year, delta.burden)?;
            u.deductible_used_year = deductible;
            u.fund_paid_year = fund;
            u.burden_year = burden;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use gongji_core::codes::{Admdvs, Gender, InsuStatus, Insutype};
    use gongji_core::pii::{CertNo, PersonName, Phone};

    fn person(psn_no: &str, certno: &str) -> Person {
        Person {
            psn_no: psn_no.to_string(),
            certno: CertNo::new(certno),
            name: PersonName::new("张建国"),
            gender: Gender::Male,
            birth_date: NaiveDate::from_ymd_opt(1990, 1, 1).expect("a date"),
            insutype: Insutype::Employee,
            psn_type: "11".to_string(),
            admdvs: Admdvs::from_code(370300).expect("an admdvs"),
            insu_status: InsuStatus::Normal,
            civil_servant: false,
            public_medical: false,
            employer_name: String::new(),
            phone: Phone::new("13800005678"),
        }
    }

    #[test]
    fn persons_by_psn_no_and_certno() {
        let mut ps = Persons::from_vec(vec![person("P1", "C1"), person("P2", "C2")]);
        assert_eq!(ps.len(), 2);
        assert_eq!(ps["P1"].certno.reveal(), "C1");
        assert_eq!(ps.by_certno("C2").map(|p| p.psn_no.as_str()), Some("P2"));
        assert!(ps.get("P3").is_none() && ps.by_certno("C3").is_none());

        // A new ID number for P1: the old one no longer finds anybody.
        assert!(ps.insert(person("P1", "C9")).is_some());
        assert_eq!(ps.len(), 2);
        assert!(ps.by_certno("C1").is_none());
        assert_eq!(ps.by_certno("C9").map(|p| p.psn_no.as_str()), Some("P1"));

        // A new person, then many more (the tables grow and rehash).
        assert!(ps.insert(person("P3", "C3")).is_none());
        for i in 0..1000 {
            ps.insert(person(&format!("X{i}"), &format!("Y{i}")));
        }
        assert_eq!(ps.len(), 1003);
        for i in 0..1000 {
            let p = ps.by_certno(&format!("Y{i}")).map(|p| p.psn_no.clone());
            assert_eq!(p, Some(format!("X{i}")));
            assert!(ps.contains_key(&format!("X{i}")));
        }
        assert_eq!(ps.keys().filter(|k| k.starts_with('P')).count(), 3);
    }

    #[test]
    fn a_snapshot_with_a_repeated_psn_no_keeps_the_later_row() {
        let ps = Persons::from_vec(vec![
            person("P1", "C1"),
            person("P2", "C2"),
            person("P1", "C3"),
        ]);
        assert_eq!(ps.len(), 2);
        assert_eq!(ps["P1"].certno.reveal(), "C3");
        assert!(ps.by_certno("C1").is_none());
        assert_eq!(ps.by_certno("C2").map(|p| p.psn_no.as_str()), Some("P2"));
    }

    #[test]
    fn binding_index_keeps_every_id_in_order() {
        let mut ix = BindingIndex::default();
        ix.push("P1", 1);
        ix.push("P2", 2);
        ix.push("P1", 3);
        ix.push("P1", 4);
        assert_eq!(ix.get("P1"), Some(&[1, 3, 4][..]));
        assert_eq!(ix.get("P2"), Some(&[2][..]));
        assert_eq!(ix.get("P3"), None);
        assert_eq!(ix.len(), 2);
    }
}
