//! A throwaway PostgreSQL cluster for tests (cargo feature `testing`).
//!
//! [`PgCluster::start`] runs `initdb` into a fresh temporary directory and starts a server
//! that listens only on a unix socket inside that directory (nothing on the network, no
//! clash with another cluster), with `fsync=on` like production. When the tests run as
//! root, the directory is handed to the `postgres` user and the server runs as that user
//! (PostgreSQL refuses to run as root). Databases are created on demand
//! ([`PgCluster::create_db`]); `Drop` stops the server with `pg_ctl stop -m immediate` and
//! removes the directory. A cluster kept in a `static` is never dropped, so a small
//! watchdog process does the same once the test process has gone, however it ended.
//!
//! The binaries come from `/usr/lib/postgresql/15/bin` or `pg_config --bindir`;
//! `scripts/ensure-postgres.sh` installs them (`apt-get install -y postgresql`).

use std::fs::OpenOptions;
use std::io::Write as _;
use std::net::TcpListener;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

const INSTALL_HINT: &str =
    "run `apt-get install -y postgresql` (scripts/ensure-postgres.sh does it for the test script)";

/// A running throwaway cluster. The superuser is `postgres`; authentication is `trust`.
pub struct PgCluster {
    extra_conf: String,
    dir: Option<tempfile::TempDir>,
    bindir: PathBuf,
    data: PathBuf,
    socket_dir: PathBuf,
    port: u16,
    /// `Some("postgres")` when the tests run as root.
    run_as: Option<&'static str>,
    watchdog: Option<Child>,
    stopped: bool,
}

/// Where and how [`PgCluster::start_with`] runs a cluster.
#[derive(Clone, Debug, Default)]
pub struct ClusterOptions {
    /// The directory to create the cluster's directory in; default: see `scratch_parent`
    /// (memory when there is `/dev/shm`). A benchmark puts it on the disk it measures.
    pub parent: Option<PathBuf>,
    /// Lines appended to `postgresql.conf` (later lines win), e.g. `shared_buffers = 1GB`.
    pub extra_conf: String,
}

impl PgCluster {
    /// `initdb` + start. An `Err` says what is missing or what the server said.
    pub fn start() -> Result<PgCluster, String> {
        PgCluster::start_with(&ClusterOptions::default())
    }

    /// [`PgCluster::start`] in a given place and with extra settings.
    pub fn start_with(options: &ClusterOptions) -> Result<PgCluster, String> {
        let bindir = find_bindir()?;
        let run_as = if is_root()? { Some("postgres") } else { None };
        let parent = options.parent.clone().unwrap_or_else(scratch_parent);
        let dir = tempfile::Builder::new()
            .prefix("gongji-pg-")
            .tempdir_in(&parent)
            .map_err(|e| {
                format!(
                    "cannot make a temporary directory in {}: {e}",
                    parent.display()
                )
            })?;
        let data = dir.path().join("data");
        let socket_dir = dir.path().join("sock");
        std::fs::create_dir(&socket_dir)
            .map_err(|e| format!("cannot create {}: {e}", socket_dir.display()))?;
        if let Some(user) = run_as {
            let out = Command::new("chown")
                .arg("-R")
                .arg(format!("{user}:{user}"))
                .arg(dir.path())
                .output()
                .map_err(|e| format!("cannot run chown: {e}"))?;
            check(
                &out,
                &format!("chown of the cluster directory to `{user}` (does the user exist? {INSTALL_HINT})"),
            )?;
        }
        // The port only names the socket file (`.s.PGSQL.<port>`): the server does not
        // listen on TCP. A free loopback port keeps it unique anyway.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| format!("cannot find a free port: {e}"))?;
        let mut cluster = PgCluster {
            extra_conf: options.extra_conf.clone(),
            dir: Some(dir),
            bindir,
            data,
            socket_dir,
            port,
            run_as,
            watchdog: None,
            stopped: true,
        };
        cluster.init_and_start()?;
        Ok(cluster)
    }

    fn root(&self) -> &Path {
        self.dir
            .as_ref()
            .map_or(Path::new("/nonexistent"), |d| d.path())
    }

    /// A command for one of the server binaries, as the user that owns the cluster.
    fn pg_command(&self, binary: &str) -> Result<Command, String> {
        let program = self.bindir.join(binary);
        let mut cmd = match self.run_as {
            None => Command::new(&program),
            Some(user) => {
                let runuser = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"]
                    .into_iter()
                    .map(Path::new)
                    .find(|p| p.exists())
                    .ok_or_else(|| "runuser not found (util-linux)".to_string())?;
                let mut c = Command::new(runuser);
                c.args(["-u", user, "--"]).arg(&program);
                c
            }
        };
        cmd.current_dir(self.root())
            .env("LC_ALL", "C")
            .stdin(Stdio::null());
        Ok(cmd)
    }

    fn init_and_start(&mut self) -> Result<(), String> {
        let out = self
            .pg_command("initdb")?
            .arg("-D")
            .arg(&self.data)
            .args(["-A", "trust", "-E", "UTF8", "--locale=C", "-U", "postgres"])
            // The cluster is thrown away: skip initdb's own final fsync of every file.
            // The server itself runs with fsync=on.
            .arg("--no-sync")
            .output()
            .map_err(|e| format!("cannot run initdb: {e}"))?;
        check(&out, "initdb")?;
        let conf = format!(
            "\n# gongji test cluster\nlisten_addresses = ''\nunix_socket_directories = '{}'\n\
             port = {}\nfsync = on\nsynchronous_commit = on\nmax_connections = 40\n\
             shared_buffers = 32MB\n{}\n",
            self.socket_dir.display(),
            self.port,
            self.extra_conf
        );
        OpenOptions::new()
            .append(true)
            .open(self.data.join("postgresql.conf"))
            .and_then(|mut f| f.write_all(conf.as_bytes()))
            .map_err(|e| format!("cannot write postgresql.conf: {e}"))?;
        let log = self.root().join("server.log");
        let out = self
            .pg_command("pg_ctl")?
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60", "start"])
            .output()
            .map_err(|e| format!("cannot run pg_ctl: {e}"))?;
        if let Err(e) = check(&out, "pg_ctl start") {
            let tail = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: String = tail
                .lines()
                .rev()
                .take(20)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n");
            return Err(format!("{e}\nserver log:\n{tail}"));
        }
        self.stopped = false;
        self.watchdog = self.spawn_watchdog().ok();
        Ok(())
    }

    /// Stops the server and removes the directory once this process has exited, also when
    /// no destructor runs (a `static`, a panic with `abort`, a kill).
    fn spawn_watchdog(&self) -> std::io::Result<Child> {
        let script = r#"pid=$1; dir=$2; shift 2
while kill -0 "$pid" 2>/dev/null; do sleep 0.5; done
"$@" >/dev/null 2>&1
rm -rf "$dir""#;
        let mut stop: Vec<String> = Vec::new();
        if let Some(user) = self.run_as {
            stop.extend(["runuser", "-u", user, "--"].map(String::from));
        }
        stop.push(self.bindir.join("pg_ctl").display().to_string());
        stop.extend(["-D".to_string(), self.data.display().to_string()]);
        stop.extend(["-m", "immediate", "-w", "stop"].map(String::from));
        Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("gongji-pg-watchdog")
            .arg(std::process::id().to_string())
            .arg(self.root())
            .args(stop)
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Out of the terminal's process group: Ctrl-C on the tests must not kill it.
            .process_group(0)
            .spawn()
    }

    /// The connection URL of database `db` (over the cluster's unix socket).
    pub fn url(&self, db: &str) -> String {
        let host: String = self
            .socket_dir
            .display()
            .to_string()
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        format!("postgresql://postgres@{host}:{}/{db}", self.port)
    }

    /// Creates an empty database and returns its URL. Names are `[a-z0-9_]`, at most 63.
    pub fn try_create_db(&self, name: &str) -> Result<String, String> {
        let valid = !name.is_empty()
            && name.len() <= 63
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            return Err(format!("invalid database name {name:?}: use [a-z0-9_]"));
        }
        let mut admin = ::postgres::Client::connect(&self.url("postgres"), ::postgres::NoTls)
            .map_err(|e| format!("cannot connect to the test cluster: {e}"))?;
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .map_err(|e| format!("CREATE DATABASE {name}: {e}"))?;
        Ok(self.url(name))
    }

    /// [`PgCluster::try_create_db`] for tests: panics with the reason.
    pub fn create_db(&self, name: &str) -> String {
        match self.try_create_db(name) {
            Ok(url) => url,
            Err(e) => panic!("{e}"),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// Stops the server now (`pg_ctl stop -m immediate`): a crash, as far as the data
    /// knows. Idempotent.
    pub fn stop(&mut self) {
        if !self.stopped {
            if let Ok(mut cmd) = self.pg_command("pg_ctl") {
                let _ = cmd
                    .arg("-D")
                    .arg(&self.data)
                    .args(["-m", "immediate", "-w", "stop"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
            self.stopped = true;
        }
        if let Some(mut w) = self.watchdog.take() {
            let _ = w.kill();
            let _ = w.wait();
        }
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.stop();
        // TempDir's own Drop removes the directory.
    }
}

fn check(out: &Output, what: &str) -> Result<(), String> {
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Where the cluster lives: `GONGJI_PG_TMPDIR` if set, else `/dev/shm` when there is one (a
/// throwaway cluster needs no disk: the server still runs with `fsync=on`, so every commit
/// takes the durable path, but on memory the flush costs nothing and the suite stays fast),
/// else the system's temporary directory.
fn scratch_parent() -> PathBuf {
    if let Some(dir) = std::env::var_os("GONGJI_PG_TMPDIR") {
        return PathBuf::from(dir);
    }
    let shm = Path::new("/dev/shm");
    let writable = std::fs::metadata(shm).is_ok_and(|m| m.is_dir() && !m.permissions().readonly());
    if writable {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

fn find_bindir() -> Result<PathBuf, String> {
    let debian = PathBuf::from("/usr/lib/postgresql/15/bin");
    if debian.join("initdb").is_file() {
        return Ok(debian);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        if out.status.success() {
            let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
                return Ok(dir);
            }
        }
    }
    Err(format!(
        "PostgreSQL server binaries not found (no initdb in /usr/lib/postgresql/15/bin or in \
         `pg_config --bindir`): {INSTALL_HINT}"
    ))
}

fn is_root() -> Result<bool, String> {
    let out = Command::new("id")
        .arg("-u")
        .output()
        .map_err(|e| format!("cannot run `id -u`: {e}"))?;
    check(&out, "id -u")?;
    Ok(String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// Whether PostgreSQL tests must run: `CI=true` (or `1`), or `GONGJI_REQUIRE_PG=1`.
pub fn pg_required() -> bool {
    let on = |name: &str| {
        std::env::var(name).is_ok_and(|v| {
            let v = v.trim().to_ascii_lowercase();
            v == "1" || v == "true" || v == "yes"
        })
    };
    on("CI") || on("GONGJI_REQUIRE_PG")
}

/// One cluster per test process, started on first use and shared by every test in it.
pub fn shared() -> Result<&'static PgCluster, String> {
    static CLUSTER: OnceLock<Result<PgCluster, String>> = OnceLock::new();
    CLUSTER
        .get_or_init(PgCluster::start)
        .as_ref()
        .map_err(Clone::clone)
}

/// The shared cluster for a PostgreSQL test. When it cannot start, the test fails if
/// [`pg_required`] (CI), else it is skipped with a line on stderr that the test harness
/// does not capture, so a skip is never silent.
pub fn shared_or_skip(test: &str) -> Option<&'static PgCluster> {
    match shared() {
        Ok(c) => Some(c),
        Err(e) if pg_required() => panic!("PostgreSQL is required (CI) but cannot start: {e}"),
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test} on PostgreSQL: {e} (set CI=true to make this a failure)"
            );
            None
        }
    }
}
