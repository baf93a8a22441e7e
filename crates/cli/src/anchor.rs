//! `gongji verify` and `gongji anchor`: the whole-database check with its hash chains, and
//! signed checkpoints of those chains (issue 12).
//!
//! An anchor is a small text file a bureau files elsewhere (with its auditors, on paper, in
//! another system): both chains' head hash and row count and the time, signed with SM2
//! (GB/T 32918, the signature the 密评 asks for) by a key the database never sees. Later,
//! `gongji verify --anchor FILE --anchor-key PUB` proves that the first `rows` rows of each
//! chain still hash to the anchored head: nothing before the anchor was changed, removed or
//! reordered, even by someone who rewrote every hash after the edit.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, Subcommand};
use gongji_store::chain::{from_hex, to_hex};
use gongji_store::{ChainAlg, ChainSummary, Checkpoint, Store, VerifyReport};
use sm2::dsa::signature::{Signer, Verifier};
use sm2::dsa::{Signature, SigningKey, VerifyingKey};
use sm2::elliptic_curve::Generate;
use sm2::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use sm2::{PublicKey, SecretKey};

use crate::registry::{Target, EXIT_FAILED, EXIT_OK, EXIT_UNUSABLE};

/// The distinguishing identifier of the signer (GM/T 0009's default user ID).
const DIST_ID: &str = "1234567812345678";

/// The first line of an anchor file.
const FORMAT: &str = "gongji-anchor v1";

#[derive(Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    target: Target,
    /// A signed anchor (`gongji anchor`): also prove that nothing before it changed.
    #[arg(long, value_name = "FILE")]
    anchor: Option<PathBuf>,
    /// The signer's SM2 public key (PEM, from `gongji anchor keygen`). Without it the
    /// anchor is checked against the key it carries, which proves the file intact but not
    /// who signed it.
    #[arg(long, value_name = "FILE", requires = "anchor")]
    anchor_key: Option<PathBuf>,
    /// Then check R-N3's conservation of cross-province quotas with this peer province (its
    /// code or URL), as `gongji province check --peer` does: every holder to the fen.
    #[arg(
        long,
        value_name = "PROVINCE",
        requires = "config",
        conflicts_with = "peers"
    )]
    peer: Option<String>,
    /// The same with every peer in the config.
    #[arg(long, requires = "config")]
    peers: bool,
    /// This province's config (its [province] key and [[peers]]), for --peer and --peers.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// This province's own server (default: http:// and the config's [http] listen).
    #[arg(long, value_name = "URL", requires = "config")]
    url: Option<String>,
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AnchorArgs {
    #[command(subcommand)]
    command: Option<AnchorCmd>,
    #[command(flatten)]
    target: Target,
    /// The SM2 private key (PKCS#8 PEM, from `gongji anchor keygen`).
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// The anchor file to write (never overwritten).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Subcommand)]
enum AnchorCmd {
    /// Make an SM2 key pair for signing anchors: the private key (PKCS#8 PEM, keep it away
    /// from the database's hosts) and the public key (PEM, give it to whoever verifies).
    Keygen {
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        #[arg(long, value_name = "FILE")]
        public: PathBuf,
    },
}

/// A refusal of these commands: its stable code, what to say, the exit code.
struct Failure {
    code: &'static str,
    message: String,
    exit: u8,
}

impl Failure {
    fn new(code: &'static str, exit: u8, message: String) -> Failure {
        Failure {
            code,
            message,
            exit,
        }
    }
}

fn report_failure(f: Failure) -> u8 {
    eprintln!("{}: {}", f.code, f.message);
    f.exit
}

/// The local check, then the check across provinces when asked: the first status that
/// is not OK is the answer, and both checks run so that the operator reads both.
pub fn verify(args: &VerifyArgs) -> u8 {
    let local = match run_verify(args) {
        Ok(code) => code,
        Err(f) => report_failure(f),
    };
    let Some(config) = args
        .config
        .as_deref()
        .filter(|_| args.peer.is_some() || args.peers)
    else {
        return local;
    };
    println!("跨省共济额度守恒 / cross-province quota conservation:");
    let across = crate::province::check(config, args.url.as_deref(), args.peer.as_deref());
    if local != EXIT_OK {
        local
    } else {
        across
    }
}

fn run_verify(args: &VerifyArgs) -> Result<u8, Failure> {
    let checkpoints = match &args.anchor {
        Some(path) => {
            let anchor = read_anchor(path)?;
            let key = match &args.anchor_key {
                Some(p) => read_public_key(p)?,
                None => {
                    println!(
                        "注意：未给 --anchor-key，只用锚点文件自带的公钥核对签名（证明文件完好，不证明签名者）\n\
                         note: no --anchor-key; the signature is checked with the key in the file itself"
                    );
                    anchor.public_key
                }
            };
            anchor.check_signature(&key)?;
            println!("锚点签名有效 / anchor signature valid: {}", path.display());
            anchor.checkpoints
        }
        None => Vec::new(),
    };
    let mut store = args
        .target
        .open_reader()
        .map_err(|e| Failure::new(CODE_DATABASE, EXIT_UNUSABLE, e))?;
    let started = Instant::now();
    let report = if checkpoints.is_empty() {
        store.verify()
    } else {
        store.verify_with(&checkpoints)
    }
    .map_err(|e| Failure::new(CODE_DATABASE, EXIT_UNUSABLE, e.to_string()))?;
    print!("{report}");
    println!("用时 elapsed: {:.2} s", started.elapsed().as_secs_f64());
    Ok(if report.is_clean() {
        EXIT_OK
    } else {
        EXIT_FAILED
    })
}

pub fn run(args: &AnchorArgs) -> u8 {
    let done = match &args.command {
        Some(AnchorCmd::Keygen { key, public }) => keygen(key, public),
        None => write_anchor(args),
    };
    match done {
        Ok(said) => {
            println!("{said}");
            EXIT_OK
        }
        Err(f) => report_failure(f),
    }
}

/// The stable codes of `verify` and `anchor`.
const CODE_DATABASE: &str = "GJ-VERIFY-DATABASE";
const CODE_KEY: &str = "GJ-ANCHOR-KEY";
const CODE_FILE: &str = "GJ-ANCHOR-FILE";
const CODE_SIGNATURE: &str = "GJ-ANCHOR-SIGNATURE";
const CODE_UNSOUND: &str = "GJ-ANCHOR-UNSOUND";
const CODE_EXISTS: &str = "GJ-ANCHOR-EXISTS";
const CODE_USAGE: &str = "GJ-ANCHOR-USAGE";

fn write_new(path: &Path, text: &str) -> Result<(), Failure> {
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| {
            let code = if e.kind() == std::io::ErrorKind::AlreadyExists {
                CODE_EXISTS
            } else {
                CODE_FILE
            };
            Failure::new(code, EXIT_UNUSABLE, format!("{}: {e}", path.display()))
        })?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| Failure::new(CODE_FILE, EXIT_UNUSABLE, format!("{}: {e}", path.display())))
}

fn keygen(key: &Path, public: &Path) -> Result<String, Failure> {
    let secret = SecretKey::generate();
    let private_pem = secret
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| Failure::new(CODE_KEY, EXIT_UNUSABLE, e.to_string()))?;
    let public_pem = secret
        .public_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| Failure::new(CODE_KEY, EXIT_UNUSABLE, e.to_string()))?;
    write_new(key, &private_pem)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let _ = std::fs::set_permissions(key, std::fs::Permissions::from_mode(0o600));
    }
    write_new(public, &public_pem)?;
    Ok(format!(
        "已生成 SM2 密钥对 / SM2 key pair written: 私钥 private {} , 公钥 public {}",
        key.display(),
        public.display()
    ))
}

fn read_text(path: &Path, code: &'static str) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map_err(|e| Failure::new(code, EXIT_UNUSABLE, format!("{}: {e}", path.display())))
}

fn read_public_key(path: &Path) -> Result<PublicKey, Failure> {
    PublicKey::from_public_key_pem(&read_text(path, CODE_KEY)?).map_err(|e| {
        Failure::new(
            CODE_KEY,
            EXIT_UNUSABLE,
            format!(
                "{}: 不是 SM2 公钥 / not an SM2 public key (PEM): {e}",
                path.display()
            ),
        )
    })
}

fn write_anchor(args: &AnchorArgs) -> Result<String, Failure> {
    let (Some(key_path), Some(out)) = (&args.key, &args.out) else {
        return Err(Failure::new(
            CODE_USAGE,
            EXIT_UNUSABLE,
            "需要 --key 和 --out / --key and --out are required (or: gongji anchor keygen)".into(),
        ));
    };
    let secret = SecretKey::from_pkcs8_pem(&read_text(key_path, CODE_KEY)?).map_err(|e| {
        Failure::new(
            CODE_KEY,
            EXIT_UNUSABLE,
            format!(
                "{}: 不是 SM2 私钥 / not an SM2 private key (PKCS#8 PEM): {e}",
                key_path.display()
            ),
        )
    })?;
    let signer = SigningKey::new(DIST_ID, &secret)
        .map_err(|e| Failure::new(CODE_KEY, EXIT_UNUSABLE, e.to_string()))?;
    let mut store = args
        .target
        .open_reader()
        .map_err(|e| Failure::new(CODE_DATABASE, EXIT_UNUSABLE, e))?;
    let report = store
        .verify()
        .map_err(|e| Failure::new(CODE_DATABASE, EXIT_UNUSABLE, e.to_string()))?;
    if !report.is_clean() {
        print!("{report}");
        return Err(Failure::new(
            CODE_UNSOUND,
            EXIT_FAILED,
            "数据库未通过检查，不为它签锚点 / the database fails verify; no anchor is signed"
                .into(),
        ));
    }
    let at = chrono::Utc::now()
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string();
    let body = anchor_body(&at, &report, &secret.public_key())?;
    let signature: Signature = signer.sign(body.as_bytes());
    let text = format!("{body}signature: {}\n", hex(&signature.to_bytes()));
    write_new(out, &text)?;
    let mut said = format!("已写锚点 / anchor written: {}\n", out.display());
    for c in &report.chains {
        let _ = writeln!(
            said,
            "  {} {} {} 行 rows, head {}",
            c.table,
            c.alg,
            c.rows,
            to_hex(&c.head)
        );
    }
    Ok(said.trim_end().to_string())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    s.as_bytes()
        .chunks(2)
        .map(|pair| {
            let pair = std::str::from_utf8(pair).ok().filter(|p| p.len() == 2)?;
            u8::from_str_radix(pair, 16).ok()
        })
        .collect()
}

/// The signed part of an anchor: every line but the signature.
fn anchor_body(at: &str, report: &VerifyReport, key: &PublicKey) -> Result<String, Failure> {
    let mut body = format!("{FORMAT}\nat: {at}\n");
    for ChainSummary {
        table,
        alg,
        head,
        rows,
        ..
    } in &report.chains
    {
        let _ = writeln!(body, "chain: {table} {alg} {rows} {}", to_hex(head));
    }
    let verifying = VerifyingKey::new(DIST_ID, *key)
        .map_err(|e| Failure::new(CODE_KEY, EXIT_UNUSABLE, e.to_string()))?;
    let _ = writeln!(body, "public_key: {}", hex(&verifying.to_sec1_bytes()));
    Ok(body)
}

/// An anchor file as read: what was signed, the signature, and what it says.
struct Anchor {
    body: String,
    signature: Signature,
    public_key: PublicKey,
    checkpoints: Vec<Checkpoint>,
}

impl Anchor {
    fn check_signature(&self, key: &PublicKey) -> Result<(), Failure> {
        let verifying = VerifyingKey::new(DIST_ID, *key)
            .map_err(|e| Failure::new(CODE_KEY, EXIT_UNUSABLE, e.to_string()))?;
        verifying
            .verify(self.body.as_bytes(), &self.signature)
            .map_err(|_| {
                Failure::new(
                    CODE_SIGNATURE,
                    EXIT_FAILED,
                    "锚点签名无效：文件被改动或公钥不对 / the anchor's signature does not verify: \
                     the file was altered or the key is not the signer's"
                        .into(),
                )
            })
    }
}

fn read_anchor(path: &Path) -> Result<Anchor, Failure> {
    let text = read_text(path, CODE_FILE)?;
    let malformed = |why: &str| {
        Failure::new(
            CODE_FILE,
            EXIT_UNUSABLE,
            format!(
                "{}: 不是锚点文件 / not an anchor file: {why}",
                path.display()
            ),
        )
    };
    let split = text
        .rfind("signature: ")
        .ok_or_else(|| malformed("no signature line"))?;
    let (body, sig_line) = text.split_at(split);
    let signature = sig_line
        .trim_end()
        .strip_prefix("signature: ")
        .and_then(unhex)
        .and_then(|b| Signature::from_slice(&b).ok())
        .ok_or_else(|| malformed("the signature is not 64 bytes of hex"))?;
    let mut lines = body.lines();
    if lines.next() != Some(FORMAT) {
        return Err(malformed("unknown format"));
    }
    let mut checkpoints = Vec::new();
    let mut public_key = None;
    for line in lines {
        if let Some(rest) = line.strip_prefix("chain: ") {
            let parts: Vec<&str> = rest.split(' ').collect();
            let [table, alg, rows, head] = parts.as_slice() else {
                return Err(malformed("a chain line is not `table alg rows head`"));
            };
            ChainAlg::from_code(alg).ok_or_else(|| malformed("unknown chain algorithm"))?;
            checkpoints.push(Checkpoint {
                table: (*table).to_string(),
                rows: rows.parse().map_err(|_| malformed("row count"))?,
                head: from_hex(head).ok_or_else(|| malformed("head hash"))?,
            });
        } else if let Some(rest) = line.strip_prefix("public_key: ") {
            public_key = unhex(rest).and_then(|b| PublicKey::from_sec1_bytes(&b).ok());
        } else if !line.starts_with("at: ") {
            return Err(malformed("unknown line"));
        }
    }
    if checkpoints.is_empty() {
        return Err(malformed("no chain lines"));
    }
    Ok(Anchor {
        body: body.to_string(),
        signature,
        public_key: public_key.ok_or_else(|| malformed("no public key"))?,
        checkpoints,
    })
}
