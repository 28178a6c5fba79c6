//! `booth fleet`: the operator's side of the fleet (status, commands, settings, staged package
//! pushes), all in `booth_fleet::operator`; this is the command line around it.

use super::args::{FleetArgs, FleetCommand};
use super::error::fail;
use booth_fleet::operator::{self, ConfigOutcome, Operator, OperatorOptions, PushOptions, Target};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub fn run(args: FleetArgs) -> i32 {
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(format!("cannot start: {e}")),
    };
    match rt.block_on(main(args)) {
        Ok(code) => code,
        Err(e) => fail(e),
    }
}

fn read(what: &str, path: &std::path::Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{what} {}: {e}", path.display()))
}

/// The operator's connection file (`booth fleet --config`): what the options say, kept in one
/// place. Options and the environment win over it.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FleetFile {
    broker: Option<String>,
    #[serde(default)]
    allow_insecure: bool,
    username: Option<String>,
    password_file: Option<PathBuf>,
    ca_file: Option<PathBuf>,
    client_cert: Option<PathBuf>,
    client_key: Option<PathBuf>,
    prefix: Option<String>,
    /// The minisign secret key that signs commands and pushes.
    key: Option<PathBuf>,
}

/// Reads `--config` (a missing file is an error), else `<config dir>/booth/fleet.toml` when it
/// exists. Relative paths in it are taken from its folder.
fn load_file(explicit: Option<&Path>) -> Result<FleetFile, String> {
    let (path, must) = match explicit {
        Some(p) => (p.to_path_buf(), true),
        None => match dirs::config_dir() {
            Some(d) => (d.join("booth").join("fleet.toml"), false),
            None => return Ok(FleetFile::default()),
        },
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if !must && e.kind() == std::io::ErrorKind::NotFound => return Ok(FleetFile::default()),
        Err(e) => return Err(format!("--config {}: {e}", path.display())),
    };
    let mut f: FleetFile = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    for p in
        [&mut f.password_file, &mut f.ca_file, &mut f.client_cert, &mut f.client_key, &mut f.key].into_iter().flatten()
    {
        if p.is_relative() {
            *p = base.join(&*p);
        }
    }
    Ok(f)
}

fn options(a: &FleetArgs, f: &FleetFile) -> Result<OperatorOptions, String> {
    let broker = a
        .broker
        .as_deref()
        .or(f.broker.as_deref())
        .ok_or("no broker: --broker mqtts://…, BOOTH_FLEET_BROKER, or `broker` in fleet.toml (--config)")?;
    let mut o = OperatorOptions::new(broker, a.allow_insecure || f.allow_insecure).map_err(|e| e.to_string())?;
    let prefix = a.prefix.clone().or(f.prefix.clone()).unwrap_or_else(|| "booth/v1".into());
    booth_fleet::topics::check_prefix(&prefix).map_err(|e| format!("prefix: {e}"))?;
    o.prefix = prefix;
    o.username = a.username.clone().or(f.username.clone());
    if let Some(p) = a.password_file.as_ref().or(f.password_file.as_ref()) {
        let text = read("password file", p)?;
        o.password = Some(String::from_utf8_lossy(&text).lines().next().unwrap_or_default().to_string());
    }
    if let Some(p) = a.ca_file.as_ref().or(f.ca_file.as_ref()) {
        o.ca_pem = Some(read("CA file", p)?);
    }
    let identity = match (&a.client_cert, &a.client_key) {
        (Some(c), Some(k)) => Some((c, k)),
        _ => f.client_cert.as_ref().zip(f.client_key.as_ref()),
    };
    if let Some((c, k)) = identity {
        o.client_identity = Some((read("client certificate", c)?, read("client key", k)?));
    }
    if f.client_cert.is_some() != f.client_key.is_some() {
        return Err("fleet.toml: client_cert and client_key go together".into());
    }
    Ok(o)
}

fn signer(key: Option<&Path>) -> Result<Option<booth_fleet::signing::SecretKey>, String> {
    let password = std::env::var("BOOTH_KEY_PASSWORD").ok().filter(|p| !p.is_empty());
    key.map(|k| booth_fleet::signing::load_secret_key(k, password).map_err(|e| e.to_string())).transpose()
}

fn json_out(v: &impl serde::Serialize) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

async fn main(a: FleetArgs) -> Result<i32, String> {
    let file = load_file(a.config.as_deref())?;
    let op = Operator::connect(options(&a, &file)?, Duration::from_secs(15)).await.map_err(|e| e.to_string())?;
    let err = |e: operator::OperatorError| e.to_string();
    match a.command {
        FleetCommand::Status => {
            let views = op.status(Duration::from_millis(500)).await.map_err(err)?;
            if a.json {
                json_out(&views);
            } else if views.is_empty() {
                println!("no terminal has reported under {}", op.prefix());
            } else {
                print!("{}", operator::status_table(&views));
            }
            Ok(0)
        }
        FleetCommand::Cmd { target, name, args, key, ttl_s, timeout_s } => {
            let target = Target::parse(&target).map_err(err)?;
            let args = operator::parse_pairs(&args).map_err(err)?;
            let sk = signer(key.as_deref().or(file.key.as_deref()))?;
            let out = op
                .command(&target, &name, args, sk.as_ref(), Duration::from_secs(ttl_s), Duration::from_secs(timeout_s))
                .await
                .map_err(err)?;
            if a.json {
                json_out(&out);
            } else {
                for r in &out.results {
                    let data = if r.data.is_null() { String::new() } else { format!(" {}", r.data) };
                    println!("{}  {:?}  {}{data}", r.terminal, r.code, r.message);
                }
                for t in &out.missing {
                    println!("{t}  no answer within {timeout_s} s");
                }
            }
            let ok = out.missing.is_empty() && out.results.iter().all(|r| r.ok);
            Ok(if ok { 0 } else { 1 })
        }
        FleetCommand::Config { terminal, settings, timeout_s } => {
            let settings = operator::parse_pairs(&settings).map_err(err)?;
            if !booth_fleet::topics::valid_id(&terminal) {
                return Err(format!("`{terminal}` is not a terminal id"));
            }
            let out = op.config(&terminal, settings, Duration::from_secs(timeout_s)).await.map_err(err)?;
            if a.json {
                json_out(&out);
            }
            Ok(match out {
                ConfigOutcome::Applied { version, reported } => {
                    if !a.json {
                        let restart = reported["last"]["restartNeeded"] == true;
                        println!(
                            "{terminal} applied settings version {version}{}",
                            if restart { "; they take effect after: booth fleet cmd TID restart" } else { "" }
                        );
                    }
                    0
                }
                ConfigOutcome::Refused { version, error } => {
                    if !a.json {
                        println!("{terminal} refused settings version {version}: {error}");
                    }
                    1
                }
                ConfigOutcome::Pending { version } => {
                    if !a.json {
                        println!("settings version {version} published; {terminal} applies it when it is back");
                    }
                    0
                }
            })
        }
        FleetCommand::Push { target, package, url, first, allow_downgrade, key, timeout_s } => {
            let target = Target::parse(&target).map_err(err)?;
            let sk = signer(key.as_deref().or(file.key.as_deref()))?;
            let opts = PushOptions { url, first, allow_downgrade, timeout: Duration::from_secs(timeout_s) };
            let report = op.push(&target, &package, &opts, sk.as_ref()).await.map_err(err)?;
            if a.json {
                json_out(&report);
            } else {
                println!("{} {}", report.app, report.version);
                for r in &report.results {
                    println!("{}  stage {}  {}  {}", r.terminal, r.stage, r.result, r.message);
                }
                if !report.skipped.is_empty() {
                    println!("stopped; not tried: {}", report.skipped.join(" "));
                }
                if !report.offline.is_empty() {
                    println!("offline, not tried: {}", report.offline.join(" "));
                }
            }
            Ok(if report.ok() { 0 } else { 1 })
        }
    }
}
