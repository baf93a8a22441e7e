//! The audit of a whole database: what `gongji verify` prints.

use std::collections::BTreeMap;
use std::fmt;

use gongji_core::Fen;

use crate::chain::{to_hex, ChainSummary};

/// One broken invariant, naming what is wrong where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    EntryUnbalanced {
        entry_id: i64,
        sum: Fen,
    },
    BalanceMismatch {
        account: String,
        stored: Fen,
        postings: Fen,
    },
    BelowZero {
        account: String,
        balance: Fen,
    },
    BelowFloor {
        account: String,
        entry_id: i64,
        balance_after: Fen,
        floor: Fen,
    },
    RunningBalance {
        account: String,
        entry_id: i64,
        recorded: Fen,
        computed: Fen,
    },
    CancelMismatch {
        cancel_entry: i64,
        original_entry: i64,
        detail: String,
    },
    CancelFlag {
        entry_id: i64,
        detail: String,
    },
    /// The first row of a hash chain that does not hash to what it stores.
    ChainBroken {
        table: String,
        id: i64,
        detail: String,
    },
    /// The chain's end disagrees with `chain_heads` (rows removed from its end).
    ChainHead {
        table: String,
        detail: String,
    },
    /// The chain does not pass through a signed anchor's head.
    AnchorMismatch {
        table: String,
        detail: String,
    },
    /// A usage counter (`pool_usage`, `binding_usage`), which later settlements' caps are
    /// decided on, disagrees with the chained `usage_log` rows it sums.
    UsageMismatch {
        table: String,
        key: String,
        stored: String,
        logged: String,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::EntryUnbalanced { entry_id, sum } => {
                write!(f, "entry {entry_id}: postings sum to {sum}, not 0.00 (分录不平衡)")
            }
            Violation::BalanceMismatch { account, stored, postings } => write!(
                f,
                "account {account}: stored balance {stored} but postings sum to {postings} (余额与分录不符)"
            ),
            Violation::BelowZero { account, balance } => {
                write!(f, "account {account}: balance {balance} is below zero (账户透支)")
            }
            Violation::BelowFloor { account, entry_id, balance_after, floor } => write!(
                f,
                "account {account}: entry {entry_id} left {balance_after}, below its floor {floor} (低于保留额)"
            ),
            Violation::RunningBalance { account, entry_id, recorded, computed } => write!(
                f,
                "account {account}: entry {entry_id} recorded balance {recorded}, postings give {computed} (流水余额不连续)"
            ),
            Violation::CancelMismatch { cancel_entry, original_entry, detail } => write!(
                f,
                "cancel {cancel_entry} of entry {original_entry}: {detail} (撤销与原交易不符)"
            ),
            Violation::CancelFlag { entry_id, detail } => {
                write!(f, "entry {entry_id}: {detail} (撤销标记不一致)")
            }
            Violation::ChainBroken { table, id, detail } => {
                write!(f, "{table} {id}: hash chain broken (哈希链断裂): {detail}")
            }
            Violation::ChainHead { table, detail } => {
                write!(f, "{table}: chain head (链头不符): {detail}")
            }
            Violation::AnchorMismatch { table, detail } => {
                write!(f, "{table}: anchor not matched (与锚点不符): {detail}")
            }
            Violation::UsageMismatch { table, key, stored, logged } => write!(
                f,
                "{table} {key}: counter holds {stored} but its usage_log rows sum to {logged} (用量计数与明细不符)"
            ),
        }
    }
}

/// Pool-usage counters that disagree with the sum of their `usage_log` rows (of entries that
/// exist): key, stored (deductible, fund, burden), logged. Portable SQL, no parameters.
pub(crate) const SQL_POOL_USAGE_MISMATCH: &str = "SELECT k.psn_no, k.period, k.cap_group,
        COALESCE(c.deductible_fen, 0), COALESCE(c.fund_fen, 0), COALESCE(c.burden_fen, 0),
        COALESCE(l.d, 0), COALESCE(l.f, 0), COALESCE(l.b, 0)
    FROM (SELECT psn_no, period, cap_group FROM pool_usage
          UNION SELECT psn_no, period, cap_group FROM usage_log WHERE kind = 'pool') k
    LEFT JOIN pool_usage c
        ON c.psn_no = k.psn_no AND c.period = k.period AND c.cap_group = k.cap_group
    LEFT JOIN (SELECT u.psn_no, u.period, u.cap_group, CAST(SUM(u.deductible_fen) AS BIGINT) AS d,
                      CAST(SUM(u.fund_fen) AS BIGINT) AS f, CAST(SUM(u.burden_fen) AS BIGINT) AS b
               FROM usage_log u JOIN journal j ON j.entry_id = u.entry_id
               WHERE u.kind = 'pool' GROUP BY u.psn_no, u.period, u.cap_group) l
        ON l.psn_no = k.psn_no AND l.period = k.period AND l.cap_group = k.cap_group
    WHERE COALESCE(c.deductible_fen, 0) <> COALESCE(l.d, 0)
       OR COALESCE(c.fund_fen, 0) <> COALESCE(l.f, 0)
       OR COALESCE(c.burden_fen, 0) <> COALESCE(l.b, 0)
    ORDER BY k.psn_no, k.period, k.cap_group";

/// Binding-usage counters likewise: binding_id, month, stored, logged.
pub(crate) const SQL_BINDING_USAGE_MISMATCH: &str = "SELECT k.binding_id, k.month,
        COALESCE(c.amount_fen, 0), COALESCE(l.a, 0)
    FROM (SELECT binding_id, month FROM binding_usage
          UNION SELECT binding_id, period FROM usage_log WHERE kind = 'binding') k
    LEFT JOIN binding_usage c ON c.binding_id = k.binding_id AND c.month = k.month
    LEFT JOIN (SELECT u.binding_id, u.period, CAST(SUM(u.amount_fen) AS BIGINT) AS a
               FROM usage_log u JOIN journal j ON j.entry_id = u.entry_id
               WHERE u.kind = 'binding' GROUP BY u.binding_id, u.period) l
        ON l.binding_id = k.binding_id AND l.period = k.month
    WHERE COALESCE(c.amount_fen, 0) <> COALESCE(l.a, 0)
    ORDER BY k.binding_id, k.month";

/// A pool-usage row of [`SQL_POOL_USAGE_MISMATCH`] as a violation.
pub(crate) fn pool_usage_mismatch(
    key: [String; 3],
    stored: [i64; 3],
    logged: [i64; 3],
) -> Violation {
    let money = |v: [i64; 3]| {
        format!(
            "deductible {} fund {} burden {}",
            Fen::from_fen(v[0]),
            Fen::from_fen(v[1]),
            Fen::from_fen(v[2])
        )
    };
    Violation::UsageMismatch {
        table: "pool_usage".into(),
        key: key.join("/"),
        stored: money(stored),
        logged: money(logged),
    }
}

/// A binding-usage row of [`SQL_BINDING_USAGE_MISMATCH`] as a violation.
pub(crate) fn binding_usage_mismatch(
    binding_id: i64,
    month: String,
    stored: i64,
    logged: i64,
) -> Violation {
    Violation::UsageMismatch {
        table: "binding_usage".into(),
        key: format!("binding {binding_id} {month}"),
        stored: Fen::from_fen(stored).to_string(),
        logged: Fen::from_fen(logged).to_string(),
    }
}

#[derive(Clone, Debug, Default)]
pub struct VerifyReport {
    pub entries: u64,
    pub postings: u64,
    pub accounts: u64,
    pub settlements: u64,
    pub cancels: u64,
    /// Sum of balances by account kind (`psn`, `fund`, `inst`, `cash`, ...): the trial balance.
    pub totals_by_kind: BTreeMap<String, Fen>,
    pub violations: Vec<Violation>,
    /// The hash chains as recomputed from the rows (journal, then audit_log).
    pub chains: Vec<ChainSummary>,
}

impl VerifyReport {
    pub fn is_clean(&self) -> bool {
        self.violations.is_empty()
    }

    /// The trial balance: all balances together sum to zero; `None` when the sum overflows,
    /// which no sound ledger does.
    pub fn trial_balance(&self) -> Option<Fen> {
        Fen::checked_sum(self.totals_by_kind.values().copied())
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "检查了 {} 笔分录、{} 条记账、{} 个账户、{} 笔结算（其中撤销 {} 笔）",
            self.entries, self.postings, self.accounts, self.settlements, self.cancels
        )?;
        match self.trial_balance() {
            Some(sum) => writeln!(f, "试算平衡 trial balance: {sum}")?,
            None => writeln!(f, "试算平衡 trial balance: 溢出 overflow")?,
        }
        for (kind, total) in &self.totals_by_kind {
            writeln!(f, "  {kind:<10} {total:>18}")?;
        }
        for c in &self.chains {
            writeln!(
                f,
                "哈希链 chain {:<9} {} 行 rows, {} head {}{}",
                c.table,
                c.rows,
                c.alg,
                to_hex(&c.head),
                if c.intact {
                    ""
                } else {
                    " (断于此后 broken after this)"
                }
            )?;
        }
        if self.violations.is_empty() {
            writeln!(f, "结果：全部通过 / OK")
        } else {
            writeln!(
                f,
                "结果：发现 {} 处问题 / violations:",
                self.violations.len()
            )?;
            for v in &self.violations {
                writeln!(f, "  - {v}")?;
            }
            Ok(())
        }
    }
}
