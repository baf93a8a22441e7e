//! The crash tests' hook: a process built with the `fault-test` feature and started with
//! `GONGJI_FAULT=<point>` aborts (no destructors, no flush: as abrupt as SIGKILL) when it
//! reaches that boundary of the quota protocol. Without the feature the points compile to
//! nothing, whatever the environment says.

/// The step boundaries of the protocol, on the side where each is crossed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Point {
    /// A: the grant is reserved and in the outbox, nothing sent yet.
    AfterReserve,
    /// A: B answered the step, A has not yet recorded the answer.
    AfterSend,
    /// B: a credit arrived, nothing applied yet.
    BeforeCredit,
    /// B: the credit is applied, the answer not yet sent.
    AfterCredit,
    /// A: the answer is recorded (grant confirmed, return credited back).
    AfterConfirm,
    /// B: unused quota taken out for a return, the answer not yet sent.
    AfterTakeReturn,
}

impl Point {
    pub fn name(self) -> &'static str {
        match self {
            Point::AfterReserve => "after-reserve",
            Point::AfterSend => "after-send",
            Point::BeforeCredit => "before-credit",
            Point::AfterCredit => "after-credit",
            Point::AfterConfirm => "after-confirm",
            Point::AfterTakeReturn => "after-take-return",
        }
    }
}

/// The environment variable that names the point to die at.
pub const ENV: &str = "GONGJI_FAULT";

#[cfg(feature = "fault-test")]
pub fn point(at: Point) {
    if std::env::var(ENV).is_ok_and(|v| v == at.name()) {
        eprintln!("GONGJI_FAULT: aborting at {}", at.name());
        std::process::abort();
    }
}

#[cfg(not(feature = "fault-test"))]
#[inline(always)]
pub fn point(_at: Point) {}
