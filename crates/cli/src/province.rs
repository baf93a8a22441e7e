//! `gongji province`: this province's SM2 key pair for its peers (`keygen`), and the check
//! of R-N3's conservation across two provinces (`check`, also `gongji verify --peer`).

use std::path::Path;

use gongji_nhsa::open_envelope::{self, SigningKey};
use gongji_server::config::Config;
use gongji_server::peer::{client, conservation, wire, Peer, Peers};
use rand::Rng;

use crate::registry::{EXIT_OK, EXIT_UNUSABLE};

/// Exit status when the books of two provinces disagree.
pub const EXIT_NOT_CONSERVED: u8 = 1;

/// Writes a new private key (mode 600; refuses to overwrite) and prints the public key that
/// peers put in their `[[peers]] public_key`.
pub fn keygen(key_file: &Path) -> u8 {
    let key = loop {
        let bytes: [u8; 32] = rand::rngs::OsRng.gen();
        // Out of the scalar range with probability about 2⁻³²: draw again.
        if let Ok(k) = open_envelope::signing_key_from_bytes(&bytes) {
            break k;
        }
    };
    let hex_text: String = key.to_bytes().iter().map(|b| format!("{b:02x}")).collect();
    if let Err(e) = crate::partner::write_private(key_file, &hex_text) {
        eprintln!("{e}");
        return EXIT_UNUSABLE;
    }
    println!(
        "已生成本省SM2私钥 / wrote this province's SM2 key: {}",
        key_file.display()
    );
    println!(
        "本省公钥（交给对方省份填入 [[peers]] public_key）/ public key for the peers' [[peers]] public_key:"
    );
    println!("{}", open_envelope::verifying_key_hex(key.verifying_key()));
    EXIT_OK
}

/// This province's peers as its config names them (keys read and checked).
pub fn peers_of(config: &Config) -> Result<Option<Peers>, String> {
    let Some(own) = &config.province else {
        return Ok(None);
    };
    let key: SigningKey = crate::partner::read_platform_key(&config.path(&own.key_file))?;
    let mut peers = Vec::new();
    for p in &config.peers {
        let key = open_envelope::verifying_key_from_hex(&p.public_key).map_err(|e| {
            format!(
                "{}: [[peers]] {} public_key: 不是SM2公钥 / not an SM2 public key: {e}",
                config.file().display(),
                p.code
            )
        })?;
        peers.push(Peer {
            code: p.code.0,
            url: p.url.trim_end_matches('/').to_string(),
            key,
        });
    }
    Ok(Some(Peers::new(own.code.0, key, peers)))
}

/// Asks this province's own server (`own_url`) and each peer for their figures, signed with
/// this province's key, and checks every holder's quota across each pair.
pub fn check(config_file: &Path, own_url: Option<&str>, only: Option<&str>) -> u8 {
    match check_inner(config_file, own_url, only) {
        Ok(true) => EXIT_OK,
        Ok(false) => EXIT_NOT_CONSERVED,
        Err(e) => {
            eprintln!("{e}");
            EXIT_UNUSABLE
        }
    }
}

fn check_inner(
    config_file: &Path,
    own_url: Option<&str>,
    only: Option<&str>,
) -> Result<bool, String> {
    let config = Config::load(config_file).map_err(|e| e.to_string())?;
    let peers = peers_of(&config)?.ok_or_else(|| {
        format!(
            "{}: 未配置 [province] / no [province] in the config",
            config_file.display()
        )
    })?;
    let own_url = own_url
        .map(str::to_string)
        .unwrap_or_else(|| format!("http://{}", config.http.listen.0));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let http = reqwest::Client::new();
        let own_key = peers.key().verifying_key().clone();
        let mut all_conserved = true;
        for peer in peers.peers() {
            let code = format!("{:02}", peer.code);
            if only.is_some_and(|o| o != code && o != peer.url) {
                continue;
            }
            let mine: wire::FiguresOut = client::call_at(
                &http,
                &peers,
                peers.province,
                &own_url,
                &own_key,
                wire::PATH_FIGURES,
                &wire::FiguresIn {
                    peer: Some(code.clone()),
                },
            )
            .await
            .map_err(|e| format!("{own_url}: {}", e.code()))?;
            let theirs: wire::FiguresOut = client::call(
                &http,
                &peers,
                peer.code,
                wire::PATH_FIGURES,
                &wire::FiguresIn::default(),
            )
            .await
            .map_err(|e| format!("{}: {}", peer.url, e.code()))?;
            let mine = mine.figures().map_err(|e| e.to_string())?;
            let theirs = theirs.figures().map_err(|e| e.to_string())?;
            let checks = conservation::check(peers.province, &mine, peer.code, &theirs);
            println!(
                "省份 {:02} ⇄ {code}：{} 位户主 / provinces {:02} ⇄ {code}: {} holders",
                peers.province,
                checks.len(),
                peers.province,
                checks.len()
            );
            for c in &checks {
                match &c.outcome {
                    Ok(p) => println!(
                        "  守恒 / conserved  {:02}→{:02} {}  在途 {}  剩余 {}  已用 {}  退回中 {}",
                        c.holder_province,
                        c.relative_province,
                        c.holder_psn_no,
                        p.granting,
                        p.remaining,
                        p.spent,
                        p.returning
                    ),
                    Err(d) => {
                        all_conserved = false;
                        println!(
                            "  不守恒 / NOT conserved  {:02}→{:02} {}  {d:?}",
                            c.holder_province, c.relative_province, c.holder_psn_no
                        );
                    }
                }
            }
        }
        Ok(all_conserved)
    })
}
