//! Regional policy files: TOML in, [`gongji_core::policy::Policy`] out.
//!
//! A region's rules are data (DESIGN principle 4): a versioned TOML file under `policies/`
//! with an effective date. This crate reads such files, checks everything the model cannot
//! say by its types (codes, exact money, sorted periods, contiguous tiers, windows), and
//! converts them by hand into the core's types. The serde types never leave this crate, and
//! the core stays free of serde.
//!
//! Every error names the file, the line and the field:
//!
//! ```text
//! policies/shanxi.toml:12: payment.reserve: 金额最多2位小数 / at most 2 decimals
//! ```
//!
//! The seeds' regions ship as presets compiled into the binary ([`presets`]), so a `gongji`
//! started from any directory has them.

mod convert;
mod locate;
mod summary;
mod wire;

use std::fmt;
use std::path::Path;

use gongji_core::policy::{Policy, PolicySet};

pub use summary::render_summary;

/// The stable code of a policy file that does not hold valid policy.
pub const CODE_INVALID: &str = "GJ-POLICY-INVALID";
/// The stable code of a policy file or directory that cannot be read.
pub const CODE_UNREADABLE: &str = "GJ-POLICY-UNREADABLE";

/// What went wrong, broadly: the file's content, or reading it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyErrorKind {
    /// The text is not a valid policy (`GJ-POLICY-INVALID`).
    Invalid,
    /// The file or directory could not be read (`GJ-POLICY-UNREADABLE`).
    Unreadable,
}

impl PolicyErrorKind {
    pub const fn code(self) -> &'static str {
        match self {
            PolicyErrorKind::Invalid => CODE_INVALID,
            PolicyErrorKind::Unreadable => CODE_UNREADABLE,
        }
    }
}

/// A policy file refused, with where and why.
///
/// Displays as `FILE:LINE: FIELD: message`; the line or field is left out where there is none
/// (an unreadable file has neither).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    pub kind: PolicyErrorKind,
    /// The file as it was named to us, e.g. `policies/shanxi.toml`.
    pub file: String,
    /// 1-based line.
    pub line: Option<usize>,
    /// Dotted path of the field, arrays of tables numbered from 0: `pooling[1].ratio_class_a`.
    pub field: String,
    /// Chinese, then English: `金额最多2位小数 / at most 2 decimals`.
    pub message: String,
}

impl PolicyError {
    /// `GJ-POLICY-INVALID` or `GJ-POLICY-UNREADABLE`.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    fn unreadable(file: &str, message: String) -> PolicyError {
        PolicyError {
            kind: PolicyErrorKind::Unreadable,
            file: file.to_owned(),
            line: None,
            field: String::new(),
            message,
        }
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.field.is_empty() {
            write!(f, ": {}", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for PolicyError {}

/// Parses and validates one policy file's text. `file_name` is used only in errors.
pub fn parse_policy(file_name: &str, text: &str) -> Result<Policy, PolicyError> {
    convert::parse(file_name, text).map(|p| p.policy)
}

fn read(path: &Path) -> Result<String, PolicyError> {
    std::fs::read_to_string(path).map_err(|e| {
        PolicyError::unreadable(
            &path.display().to_string(),
            format!("无法读取策略文件 / cannot read the policy file: {e}"),
        )
    })
}

/// Reads and validates one policy file.
pub fn load_file(path: &Path) -> Result<Policy, PolicyError> {
    let text = read(path)?;
    parse_policy(&path.display().to_string(), &text)
}

/// One file of a set, parsed, with where it came from.
struct Loaded {
    file: String,
    parsed: convert::Parsed,
}

/// Refuses two files for one admdvs (the lookup would be ambiguous) or one id.
fn assemble(loaded: Vec<Loaded>) -> Result<PolicySet, Vec<PolicyError>> {
    let mut errors = Vec::new();
    for (i, l) in loaded.iter().enumerate() {
        let p = &l.parsed.policy;
        if let Some(first) = loaded[..i]
            .iter()
            .find(|o| o.parsed.policy.admdvs == p.admdvs)
        {
            errors.push(PolicyError {
                kind: PolicyErrorKind::Invalid,
                file: l.file.clone(),
                line: Some(l.parsed.admdvs_line),
                field: "admdvs".into(),
                message: format!(
                    "区划 {} 已由 {} 定义，一个区划只能有一个策略文件 / admdvs {} is already defined by {}; one file per admdvs",
                    p.admdvs, first.file, p.admdvs, first.file
                ),
            });
        }
        if let Some(first) = loaded[..i].iter().find(|o| o.parsed.policy.id == p.id) {
            errors.push(PolicyError {
                kind: PolicyErrorKind::Invalid,
                file: l.file.clone(),
                line: Some(l.parsed.id_line),
                field: "id".into(),
                message: format!(
                    "id \"{}\" 已由 {} 使用 / id \"{}\" is already used by {}",
                    p.id, first.file, p.id, first.file
                ),
            });
        }
    }
    if errors.is_empty() {
        Ok(PolicySet::new(
            loaded.into_iter().map(|l| l.parsed.policy).collect(),
        ))
    } else {
        Err(errors)
    }
}

/// Reads every `*.toml` file in `dir` (not its subdirectories), in file-name order, and
/// returns them as a set, or every error found in any of them.
///
/// An empty directory is an error: a deployment without policies cannot settle anything.
pub fn load_dir(dir: &Path) -> Result<PolicySet, Vec<PolicyError>> {
    let dir_name = dir.display().to_string();
    let entries = std::fs::read_dir(dir).map_err(|e| {
        vec![PolicyError::unreadable(
            &dir_name,
            format!("无法读取策略目录 / cannot read the policy directory: {e}"),
        )]
    })?;
    let mut paths = Vec::new();
    let mut errors = Vec::new();
    for entry in entries {
        match entry {
            Ok(e) => {
                let path = e.path();
                if path.extension().is_some_and(|x| x == "toml") && path.is_file() {
                    paths.push(path);
                }
            }
            Err(e) => errors.push(PolicyError::unreadable(
                &dir_name,
                format!("无法读取策略目录 / cannot read the policy directory: {e}"),
            )),
        }
    }
    paths.sort();
    if paths.is_empty() && errors.is_empty() {
        return Err(vec![PolicyError::unreadable(
            &dir_name,
            "目录中没有 *.toml 策略文件 / no *.toml policy files in the directory".into(),
        )]);
    }
    let mut loaded = Vec::with_capacity(paths.len());
    for path in paths {
        let file = path.display().to_string();
        match read(&path).and_then(|text| convert::parse(&file, &text)) {
            Ok(parsed) => loaded.push(Loaded { file, parsed }),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    assemble(loaded)
}

/// The seeds' regions, as (file name, text), compiled in from `policies/`.
pub const PRESET_FILES: &[(&str, &str)] = &[
    (
        "policies/shandong.toml",
        include_str!("../../../policies/shandong.toml"),
    ),
    (
        "policies/shandong-jinan.toml",
        include_str!("../../../policies/shandong-jinan.toml"),
    ),
    (
        "policies/shandong-yantai.toml",
        include_str!("../../../policies/shandong-yantai.toml"),
    ),
    (
        "policies/shandong-zibo.toml",
        include_str!("../../../policies/shandong-zibo.toml"),
    ),
    (
        "policies/shanxi.toml",
        include_str!("../../../policies/shanxi.toml"),
    ),
    (
        "policies/shanxi-yuncheng.toml",
        include_str!("../../../policies/shanxi-yuncheng.toml"),
    ),
];

/// The presets parsed and checked as a set, or every error found.
pub fn try_presets() -> Result<PolicySet, Vec<PolicyError>> {
    let mut loaded = Vec::with_capacity(PRESET_FILES.len());
    let mut errors = Vec::new();
    for (file, text) in PRESET_FILES {
        match convert::parse(file, text) {
            Ok(parsed) => loaded.push(Loaded {
                file: (*file).to_owned(),
                parsed,
            }),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    assemble(loaded)
}

/// The seeds' regions as a policy set (Shandong, Jinan, Yantai, Zibo, Shanxi, Yuncheng).
///
/// The presets are compiled in and a unit test proves they all parse as a set, so this never
/// fails in a built binary; should that test ever be skipped and a preset be broken, the
/// result is an empty set rather than a panic.
pub fn presets() -> PolicySet {
    try_presets().unwrap_or_default()
}

#[cfg(test)]
mod tests;
