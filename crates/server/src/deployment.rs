//! How this process was deployed: the demo (development conveniences, each labelled 演示 on
//! the page) or production (`gongji serve --config`: real providers only, nothing shown that
//! a person should receive privately). Every convenience asks [`Deployment::is_demo`]; none
//! is on by default in production.

/// The two modes. There is no third: a convenience is either demo-only or not a convenience.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `gongji demo` and tests that want the development providers: the shown SMS code, the
    /// development face check, the open till.
    Demo,
    /// `gongji serve`.
    Production,
}

/// The deployment facts every handler may ask about.
#[derive(Clone, Debug)]
pub struct Deployment {
    pub mode: Mode,
    /// The site is served over HTTPS (directly with TLS or behind a terminating proxy):
    /// session cookies carry `Secure`.
    pub https: bool,
    /// Per-source limit of sign-in requests (`crate::limits`).
    pub sign_in_limit: crate::limits::SignInLimit,
    /// When set, `/metrics` answers only `Authorization: Bearer <token>` (besides the admin
    /// address, which the config may give).
    pub metrics_token: Option<String>,
}

impl Deployment {
    pub fn demo() -> Deployment {
        Deployment {
            mode: Mode::Demo,
            https: false,
            // The demo is tried by one person or driven by the browser tests from one
            // address, dozens of sign-ins a minute: a loose limit, said in its notice.
            sign_in_limit: crate::limits::SignInLimit {
                burst: 10_000,
                replenish_every: std::time::Duration::from_millis(10),
            },
            metrics_token: None,
        }
    }

    pub fn production() -> Deployment {
        Deployment {
            mode: Mode::Production,
            https: false,
            sign_in_limit: crate::limits::SignInLimit::default(),
            metrics_token: None,
        }
    }

    pub fn is_demo(&self) -> bool {
        self.mode == Mode::Demo
    }
}
