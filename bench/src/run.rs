//! The benchmark itself: plan, rounds, measurements, the table and the JSON.

use crate::app::{self, App, Kind, Setup};
use crate::procs;
use crate::stats::{gaps_us, median, slope, Spread};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const USAGE: &str = "\
usage: booth-bench [--smoke] [--json FILE] [--bin-dir DIR] [--rounds N] [--apps-only | --devices-only]
                   [--devices LIST] [--mic-minutes M]

  --smoke          every measurement with tiny counts (well under a minute); for CI
  --json FILE      where to write the results [default: bench-results.json]
  --bin-dir DIR    where booth and booth-bench-raw are [default: $CARGO_TARGET_DIR/release]
  --rounds N       interleaved rounds per app [default: 3; smoke: 1]
  --apps-only      only Booth next to the bare Tauri app
  --devices-only   only the devices' rows (receipt, face, microphone, speech)
  --devices LIST   only these devices' rows, comma-separated: receipt, face, sound (microphone
                   and speech)
  --mic-minutes M  how long the microphone streams to count drops [default: 10; smoke: 0.05]

The apps need an X display (DISPLAY); scripts/bench builds the release binaries and starts one if
needed. The devices' rows need PulseAudio, espeak-ng, the receipt fonts and the face models
(scripts/bench installs them).";

/// How much of everything to do.
struct Plan {
    smoke: bool,
    rounds: usize,
    startup_runs: usize,
    warmup: u64,
    seq: u64,
    conc: u64,
    conc_rounds: u64,
    paced: u64,
    flat_small: u64,
    flat_pcm: u64,
    growth_calls: u64,
    /// Batches of `growth_calls` for the growth slope.
    growth_batches: usize,
    settle: Duration,
}

impl Plan {
    fn new(smoke: bool, rounds: Option<usize>) -> Plan {
        if smoke {
            Plan {
                smoke,
                rounds: rounds.unwrap_or(1),
                startup_runs: 1,
                warmup: 20,
                seq: 50,
                conc: 100,
                conc_rounds: 1,
                paced: 3,
                flat_small: 50,
                flat_pcm: 20,
                growth_calls: 200,
                growth_batches: 3,
                settle: Duration::from_millis(300),
            }
        } else {
            Plan {
                smoke,
                rounds: rounds.unwrap_or(3),
                startup_runs: 7,
                warmup: 500,
                seq: 2000,
                conc: 1000,
                conc_rounds: 5,
                paced: 50,
                flat_small: 5000,
                flat_pcm: 1000,
                growth_calls: 10_000,
                growth_batches: 10,
                settle: Duration::from_secs(2),
            }
        }
    }
}

/// A PCM chunk: 100 ms of 16 kHz 16-bit mono.
const PCM_BYTES: u64 = 3200;
/// Long enough for anything the page is asked to do.
const REPORT_WAIT: Duration = Duration::from_secs(180);

/// Events flat out, per round: events/s, and the page clock's p50 and max latency (ms).
type FlatOut = (Vec<f64>, Vec<f64>, Vec<f64>);

/// Everything measured for one app, over all rounds.
#[derive(Default)]
struct Measured {
    /// api → calls/s per round (Rust-side stamps), and every round trip (µs).
    seq: BTreeMap<String, (Vec<f64>, Vec<f64>)>,
    /// api → CPU seconds of the app's process and of the processes below it (the web
    /// processes) over the sequential chunks, and the calls they made.
    cpu: BTreeMap<String, (f64, f64, f64)>,
    /// api → calls/s per round of 1,000 in flight; "api/apart": each started a microtask after
    /// the one before (Booth's runtime then sends each in a message of its own).
    conc: BTreeMap<String, Vec<f64>>,
    /// "transport size" → emit → listener → call back (µs), and the page clock's p50 (ms) per round.
    paced: BTreeMap<String, (Vec<f64>, Vec<f64>)>,
    /// "transport size" → events/s per round, and the page clock's p50 and max latency (ms) per round.
    flat: BTreeMap<String, FlatOut>,
    /// Events that never arrived.
    lost: u64,
    /// PSS (kB) per round: alone, drift over one idle settle, both screens; and alone and both
    /// screens as if no other WebKit app ran on the machine.
    alone: Vec<f64>,
    drift: Vec<f64>,
    /// Per round: PSS (kB) before the growth batches and after each (after a fixed idle).
    growth: Vec<Vec<f64>>,
    both: Vec<f64>,
    alone_quiet: Vec<f64>,
    both_quiet: Vec<f64>,
    /// Booth with `[display] compositing = "on"`: PSS alone and both screens, and the same quiet.
    gpu: [Vec<f64>; 4],
    /// Why the two-screen figure is missing, if it is.
    both_note: Option<String>,
    /// Per process (name, kB) in the last round: alone and with both screens.
    breakdown_alone: Vec<(String, u64)>,
    breakdown_both: Vec<(String, u64)>,
    /// exec → DOMContentLoaded (ms) per run.
    startup: Vec<f64>,
}

fn apis(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Raw => &["noop", "noop_async"],
        Kind::Booth => &["my", "wx", "log"],
    }
}

/// Event paths: the raw app's Channel (the baseline) and `emit` → `listen`; Booth's bridge.
fn transports(kind: Kind) -> &'static [(&'static str, bool)] {
    match kind {
        Kind::Raw => &[("channel", false), ("event", true)],
        Kind::Booth => &[("bridge", false)],
    }
}

fn sleep(d: Duration) {
    std::thread::sleep(d)
}

/// One launch of both apps, side by side: everything but start-up. Both stay up for the whole
/// round and take turns measure by measure (a chunk of calls, one event scenario), so both see
/// the same machine load within seconds of each other; memory figures leave out the pages the
/// other app shares (see `procs::pss_without_other_webkit`).
fn round(round: usize, setup: &Setup, plan: &Plan, raw: &mut Measured, booth: &mut Measured) -> Result<(), String> {
    let first = if round % 2 == 0 { Kind::Raw } else { Kind::Booth };
    let second = if first == Kind::Raw { Kind::Booth } else { Kind::Raw };
    let mut apps = Vec::new();
    for kind in [first, second] {
        apps.push(App::launch(kind, setup, true)?);
    }
    let outcome = (|| {
        for app in apps.iter_mut() {
            app.report("ready", Duration::from_secs(60))?;
            app.handshake(Duration::from_secs(30))?;
        }
        let [a, b] = apps.as_mut_slice() else { unreachable!("two apps") };
        let mut pair =
            if a.kind == Kind::Raw { [(a, &mut *raw), (b, &mut *booth)] } else { [(a, &mut *booth), (b, &mut *raw)] };
        measure(&mut pair, plan)?;
        Ok::<(), String>(())
    })();
    for app in apps {
        app.stop();
    }
    outcome
}

fn measure(pair: &mut [(&mut App, &mut Measured)], plan: &Plan) -> Result<(), String> {
    // (a) The package alone, (b) with the second screen showing a picture.
    sleep(plan.settle);
    let first: Vec<u64> = pair.iter().map(|(app, _)| app.pss().0).collect();
    sleep(plan.settle);
    for ((app, m), a1) in pair.iter_mut().zip(first) {
        let (a2, breakdown) = app.pss();
        m.alone.push(a2 as f64);
        m.drift.push((a2 as f64 - a1 as f64).abs());
        m.breakdown_alone = breakdown;
        m.alone_quiet.extend(app.pss_alone().map(|kb| kb as f64));
    }
    for (app, m) in pair.iter_mut() {
        let r = app.command(json!({"op": "secondary"}), REPORT_WAIT)?;
        if r["ok"] != true {
            m.both_note = Some(r["message"].as_str().unwrap_or("failed").to_string());
        }
    }
    sleep(plan.settle * 2);
    for (app, m) in pair.iter_mut() {
        if m.both_note.is_none() {
            let (both, breakdown) = app.pss();
            m.both.push(both as f64);
            m.breakdown_both = breakdown;
            m.both_quiet.extend(app.pss_alone().map(|kb| kb as f64));
        }
    }

    // Bridge round trips: chunks of sequential calls, then rounds of calls in flight, in turns.
    const CHUNKS: u64 = 4;
    for (app, _) in pair.iter_mut() {
        for &api in apis(app.kind) {
            app.command(json!({"op": "seq", "api": api, "n": plan.warmup}), REPORT_WAIT)?;
        }
        app.stamps()?;
    }
    for _ in 0..CHUNKS {
        for (app, m) in pair.iter_mut() {
            for &api in apis(app.kind) {
                let n = plan.seq.div_ceil(CHUNKS);
                let before = procs::tree_cpu_s(app.pid());
                let r = app.command(json!({"op": "seq", "api": api, "n": n}), REPORT_WAIT)?;
                let after = procs::tree_cpu_s(app.pid());
                let cpu = m.cpu.entry(api.to_string()).or_default();
                *cpu = (cpu.0 + after.0 - before.0, cpu.1 + after.1 - before.1, cpu.2 + n as f64);
                let (calls, _) = app.stamps()?;
                if api == "log" {
                    // Not a bridge call: timed by the page.
                    let ms = r["ms"].as_f64().unwrap_or(f64::NAN).max(1.0);
                    m.seq.entry(api.to_string()).or_default().0.push(n as f64 / (ms / 1000.0));
                    continue;
                }
                if calls.len() as u64 != n {
                    return Err(format!("{}: {} calls arrived of {n} ({api})", app.kind.name(), calls.len()));
                }
                let span = (calls[calls.len() - 1] - calls[0]) as f64 / 1e9;
                let entry = m.seq.entry(api.to_string()).or_default();
                entry.0.push((calls.len() - 1) as f64 / span);
                entry.1.extend(gaps_us(&calls));
            }
        }
    }
    for _ in 0..plan.conc_rounds {
        for (app, m) in pair.iter_mut() {
            for &api in apis(app.kind).iter().filter(|a| **a != "log") {
                for apart in [false, true] {
                    let r = app.command(
                        json!({"op": "conc", "api": api, "n": plan.conc, "rounds": 1, "apart": apart}),
                        REPORT_WAIT,
                    )?;
                    let ms = r["ms"].as_array().and_then(|a| a.first()).and_then(Value::as_f64).unwrap_or(f64::NAN);
                    let key = if apart { format!("{api}/apart") } else { api.to_string() };
                    m.conc.entry(key).or_default().push(plan.conc as f64 / (ms.max(1.0) / 1000.0));
                    app.stamps()?;
                }
            }
        }
    }

    // Events, scenario by scenario in turns.
    for (size, bytes) in [("small", 0), ("pcm", PCM_BYTES)] {
        for paced in [true, false] {
            for (app, m) in pair.iter_mut() {
                for &(transport, tauri_event) in transports(app.kind) {
                    events(app, m, plan, &format!("{transport} {size}"), bytes, paced, tauri_event)?;
                }
            }
        }
    }

    // (c) Growth as a slope, once everything above has warmed up: batches of calls in turns,
    // PSS read after a fixed idle (WebKitGTK 2.50 has no way to force a JavaScript garbage
    // collection from outside the page: webkit_web_context_garbage_collect_javascript_objects is
    // gone, and a page cannot ask for one; JavaScriptCore collects on its own timers when idle).
    sleep(plan.settle);
    let mut series: Vec<Vec<f64>> = pair.iter().map(|(app, _)| vec![app.pss().0 as f64]).collect();
    for _ in 0..plan.growth_batches {
        for (app, _) in pair.iter_mut() {
            app.command(json!({"op": "calls", "n": plan.growth_calls}), REPORT_WAIT)?;
            app.stamps()?;
        }
        sleep(plan.settle);
        for ((app, _), s) in pair.iter().zip(series.iter_mut()) {
            s.push(app.pss().0 as f64);
        }
    }
    for ((_, m), s) in pair.iter_mut().zip(series) {
        m.growth.push(s);
    }
    Ok(())
}

/// One event scenario: 10 per second each answered with a call (emit → listener → back, on the
/// app's clock), or flat out with only the last answered (events/s).
fn events(
    app: &mut App,
    m: &mut Measured,
    plan: &Plan,
    key: &str,
    bytes: u64,
    paced: bool,
    tauri_event: bool,
) -> Result<(), String> {
    let (n, interval, ack) = if paced {
        (plan.paced, 100_000, "each")
    } else {
        (if bytes == 0 { plan.flat_small } else { plan.flat_pcm }, 0, "last")
    };
    app.stamps()?;
    app.send(&json!({"op": "events", "n": n, "ack": ack, "tag": key, "timeoutMs": 60_000}))?;
    app.report("armed", Duration::from_secs(30))?;
    app.emit(n, bytes, interval, tauri_event)?;
    let r = app.report("events", Duration::from_micros(n * interval) + REPORT_WAIT)?;
    m.lost += n.saturating_sub(r["got"].as_u64().unwrap_or(0));
    let (calls, emits) = app.stamps()?;
    if paced {
        let entry = m.paced.entry(key.to_string()).or_default();
        entry.0.extend(emits.iter().zip(&calls).map(|(e, c)| c.saturating_sub(*e) as f64 / 1000.0));
        entry.1.extend(r["latencyMs"]["p50"].as_f64());
    } else {
        let entry = m.flat.entry(key.to_string()).or_default();
        if let (Some(first), Some(last)) = (emits.first(), calls.last()) {
            entry.0.push(n as f64 / (last.saturating_sub(*first) as f64 / 1e9));
        }
        entry.1.extend(r["latencyMs"]["p50"].as_f64());
        entry.2.extend(r["latencyMs"]["max"].as_f64());
    }
    Ok(())
}

/// Booth with GPU compositing forced on: memory alone and with both screens only.
fn compositing_session(setup: &Setup, plan: &Plan, m: &mut Measured) -> Result<(), String> {
    let mut app = App::launch_with(Kind::Booth, setup, true, &setup.config_compositing)?;
    let outcome = (|| {
        app.report("ready", Duration::from_secs(60))?;
        app.handshake(Duration::from_secs(30))?;
        sleep(plan.settle * 2);
        m.gpu[0].push(app.pss().0 as f64);
        m.gpu[2].extend(app.pss_alone().map(|kb| kb as f64));
        let r = app.command(json!({"op": "secondary"}), REPORT_WAIT)?;
        if r["ok"] == true {
            sleep(plan.settle * 2);
            m.gpu[1].push(app.pss().0 as f64);
            m.gpu[3].extend(app.pss_alone().map(|kb| kb as f64));
        }
        Ok::<(), String>(())
    })();
    app.stop();
    outcome
}

/// exec → DOMContentLoaded of the entry, plain `booth run` (no probe).
fn startup(kind: Kind, setup: &Setup) -> Result<f64, String> {
    let mut app = App::launch(kind, setup, false)?;
    let r = app.report("ready", Duration::from_secs(60));
    let exec = app.exec_ms;
    app.stop();
    let r = r?;
    r["dcl"].as_f64().map(|dcl| dcl - exec).ok_or_else(|| format!("{}: ready without dcl: {r}", kind.name()))
}

// --- the report -------------------------------------------------------------------------------

fn thousands(v: f64) -> String {
    let s = format!("{:.0}", v.round());
    let (sign, digits) = s.strip_prefix('-').map_or(("", s.as_str()), |d| ("-", d));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map_or("—".into(), f)
}

fn spread_text(s: &Spread) -> String {
    match (s.p50, s.p99, s.max) {
        (Some(a), Some(b), Some(c)) => format!("{} / {} / {}", thousands(a), thousands(b), thousands(c)),
        _ => "—".into(),
    }
}

pub(crate) fn ratio(booth: Option<f64>, raw: Option<f64>) -> Option<f64> {
    match (booth, raw) {
        (Some(b), Some(r)) if r > 0.0 => Some(b / r),
        _ => None,
    }
}

pub(crate) struct Row {
    label: String,
    raw: String,
    booth: String,
    ratio: Option<f64>,
    target: String,
    /// Some(met) when the row has a target.
    met: Option<bool>,
}

impl Row {
    pub(crate) fn new(label: impl Into<String>, raw: String, booth: String, ratio: Option<f64>) -> Row {
        Row { label: label.into(), raw, booth, ratio, target: String::new(), met: None }
    }
    pub(crate) fn target(mut self, text: &str, met: Option<bool>) -> Row {
        self.target = text.into();
        self.met = met;
        self
    }
}

pub(crate) enum Line {
    Heading(String),
    Row(Row),
}

/// The table; `columns`: what the first figure and the ratio are ("raw Tauri", "Booth/raw").
fn print_table(lines: &[Line], columns: (&str, &str)) {
    println!("{:<52} {:>20} {:>20} {:>9}  {:<10} ", "", columns.0, "Booth", columns.1, "target");
    for line in lines {
        match line {
            Line::Heading(h) => println!("{h}"),
            Line::Row(r) => {
                let status = match r.met {
                    Some(true) => "met",
                    Some(false) => "MISSED",
                    None => "",
                };
                println!(
                    "  {:<50} {:>20} {:>20} {:>9}  {:<10} {status}",
                    r.label,
                    r.raw,
                    r.booth,
                    opt(r.ratio, |x| format!("{x:.2}×")),
                    r.target
                );
            }
        }
    }
}

/// kB of /proc (KiB) as MB (10^6 bytes).
fn mb(kb: f64) -> String {
    format!("{:.1}", kb * 1024.0 / 1e6)
}

fn machine() -> Value {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string());
    let mem_kb: Option<f64> = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok());
    let os = read("/etc/os-release")
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|s| s.trim_matches('"').to_string());
    let webkit = std::process::Command::new("pkg-config")
        .args(["--modversion", "webkit2gtk-4.1"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    json!({
        "cpu": cpu,
        "cores": std::thread::available_parallelism().map(|n| n.get()).ok(),
        "memGiB": mem_kb.map(|k| (k / 1024.0 / 1024.0 * 10.0).round() / 10.0),
        "os": os,
        "kernel": read("/proc/sys/kernel/osrelease").trim(),
        "webkitgtk": webkit,
        "display": std::env::var("DISPLAY").ok(),
    })
}

/// The Tauri version both apps are built with (from the workspace's Cargo.lock).
fn tauri_version(root: &Path) -> Option<String> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).ok()?;
    let key = "\nname = \"tauri\"\nversion = \"";
    let rest = &lock[lock.find(key)? + key.len()..];
    Some(rest[..rest.find('"')?].to_string())
}

pub fn main() {
    std::process::exit(match run() {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("booth-bench: error: {e}");
            1
        }
    })
}

struct Options {
    smoke: bool,
    json: PathBuf,
    bin_dir: PathBuf,
    rounds: Option<usize>,
    /// Which parts run: the apps side by side, the devices' rows.
    apps: bool,
    devices: bool,
    /// Which devices' rows (all when empty).
    only: Vec<String>,
    mic_minutes: Option<f64>,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        smoke: false,
        json: PathBuf::from("bench-results.json"),
        bin_dir: std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root().join("target"))
            .join("release"),
        rounds: None,
        apps: true,
        devices: true,
        only: Vec::new(),
        mic_minutes: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value\n{USAGE}"));
        match a.as_str() {
            "--smoke" => o.smoke = true,
            "--json" => o.json = PathBuf::from(value("--json")?),
            "--bin-dir" => o.bin_dir = PathBuf::from(value("--bin-dir")?),
            "--rounds" => {
                o.rounds = Some(value("--rounds")?.parse().map_err(|_| format!("--rounds: a number\n{USAGE}"))?)
            }
            "--apps-only" => o.devices = false,
            "--devices-only" => o.apps = false,
            "--devices" => {
                o.apps = false;
                for d in value("--devices")?.split(',').map(str::trim).filter(|d| !d.is_empty()) {
                    if !crate::devices::PARTS.contains(&d) {
                        return Err(format!(
                            "--devices: `{d}` is not one of {}\n{USAGE}",
                            crate::devices::PARTS.join(", ")
                        ));
                    }
                    o.only.push(d.to_string());
                }
            }
            "--mic-minutes" => {
                o.mic_minutes =
                    Some(value("--mic-minutes")?.parse().map_err(|_| format!("--mic-minutes: a number\n{USAGE}"))?)
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    Ok(o)
}

/// The clone being measured: the current folder when it is one (scripts/bench and
/// scripts/test-all run from the clone's root), else the folder this binary was built from. A
/// binary from a shared CARGO_TARGET_DIR may have been built from another clone, since gone.
fn workspace_root() -> PathBuf {
    match std::env::current_dir() {
        Ok(dir) if dir.join("bench/package/miniapp.json").is_file() => dir,
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."),
    }
}

fn run() -> Result<(), String> {
    let o = options()?;
    let root = workspace_root().canonicalize().map_err(|e| format!("workspace: {e}"))?;
    let plan = Plan::new(o.smoke, o.rounds);
    let started = Instant::now();
    let mode = if plan.smoke { "smoke" } else { "full" };
    let booth_bin = o.bin_dir.join("booth");
    let (lines, mut results) = if o.apps { apps(&o, &root, &plan)? } else { (Vec::new(), Map::new()) };
    let device_lines = if o.devices {
        let dplan = crate::devices::DevicePlan {
            smoke: plan.smoke,
            mic_minutes: o.mic_minutes.unwrap_or(if plan.smoke { 0.05 } else { 10.0 }),
            only: o.only.clone(),
        };
        eprintln!("booth-bench: the devices' rows (microphone streams {:.1} min)", dplan.mic_minutes);
        let (dl, dj) = crate::devices::measure(&dplan)?;
        results.insert("devices".into(), Value::Object(dj));
        dl
    } else {
        Vec::new()
    };
    let machine = machine();
    let tauri = tauri_version(&root);
    println!();
    println!(
        "Booth benchmark ({mode}: {} round(s), interleaved) against a bare Tauri {} app, same build profile",
        plan.rounds,
        tauri.as_deref().unwrap_or("2")
    );
    println!(
        "machine: {} × {}, {} GiB RAM, {}, kernel {}, WebKitGTK {}",
        machine["cores"],
        machine["cpu"].as_str().unwrap_or("?"),
        machine["memGiB"],
        machine["os"].as_str().unwrap_or("?"),
        machine["kernel"].as_str().unwrap_or("?"),
        machine["webkitgtk"].as_str().unwrap_or("?"),
    );
    if plan.smoke {
        println!("(smoke mode: tiny counts, the figures mean little)");
    }
    println!();
    if !lines.is_empty() {
        print_table(&lines, ("raw Tauri", "Booth/raw"));
    }
    if !device_lines.is_empty() {
        println!();
        print_table(&device_lines, ("direct", "Booth/dir."));
    }
    let mut doc = Map::new();
    doc.insert("mode".into(), json!(mode));
    doc.insert("rounds".into(), json!(plan.rounds));
    doc.insert(
        "when".into(),
        json!(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)),
    );
    doc.insert("seconds".into(), json!(started.elapsed().as_secs_f64().round()));
    doc.insert("tauri".into(), json!(tauri));
    doc.insert("machine".into(), machine);
    doc.insert(
        "booth".into(),
        json!(std::process::Command::new(&booth_bin).arg("--version").output().ok().map(|o| String::from_utf8_lossy(
            &o.stdout
        )
        .trim()
        .to_string())),
    );
    for (k, v) in results {
        doc.insert(k, v);
    }
    let text = serde_json::to_string_pretty(&Value::Object(doc)).unwrap_or_default();
    std::fs::write(&o.json, text + "\n").map_err(|e| format!("{}: {e}", o.json.display()))?;
    println!("\nJSON: {}   ({:.0} s)", o.json.display(), started.elapsed().as_secs_f64());
    Ok(())
}

/// Booth and the bare app side by side: start-up, rounds, the table's rows and their JSON.
fn apps(o: &Options, root: &Path, plan: &Plan) -> Result<(Vec<Line>, Map<String, Value>), String> {
    if std::env::var_os("DISPLAY").is_none() {
        return Err("no DISPLAY: run under an X server (scripts/bench starts Xvfb when needed)".into());
    }
    let config_dir = std::env::temp_dir().join(format!("booth-bench-{}", std::process::id()));
    std::fs::create_dir_all(&config_dir).map_err(|e| format!("{}: {e}", config_dir.display()))?;
    // Removed however the run ends.
    struct Remove(PathBuf);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _remove = Remove(config_dir.clone());
    let config = config_dir.join("booth.toml");
    let config_compositing = config_dir.join("booth-compositing.toml");
    let text = "# booth-bench: no log files\n[log]\ndir = \"\"\n";
    std::fs::write(&config, text)
        .and_then(|_| std::fs::write(&config_compositing, format!("{text}[display]\ncompositing = \"on\"\n")))
        .map_err(|e| format!("{}: {e}", config_dir.display()))?;
    let setup = Setup {
        raw_bin: o.bin_dir.join("booth-bench-raw"),
        booth_bin: o.bin_dir.join("booth"),
        package: root.join("bench/package"),
        config,
        config_compositing,
    };
    for bin in [&setup.raw_bin, &setup.booth_bin] {
        if !bin.exists() {
            return Err(format!("{} is missing: build it first (scripts/bench does)", bin.display()));
        }
    }
    let started = Instant::now();
    let mut raw = Measured::default();
    let mut booth = Measured::default();
    let mode = if plan.smoke { "smoke" } else { "full" };
    eprintln!("booth-bench: {mode} run, {} round(s), binaries in {}", plan.rounds, o.bin_dir.display());

    // Start-up first, on a quiet machine; the order alternates. One untimed launch of each
    // first, so that neither pays for loading the libraries from disk.
    for kind in [Kind::Raw, Kind::Booth] {
        startup(kind, &setup)?;
    }
    for i in 0..plan.startup_runs {
        let order = if i % 2 == 0 { [Kind::Raw, Kind::Booth] } else { [Kind::Booth, Kind::Raw] };
        for kind in order {
            let ms = startup(kind, &setup)?;
            match kind {
                Kind::Raw => raw.startup.push(ms),
                Kind::Booth => booth.startup.push(ms),
            }
        }
    }
    eprintln!("booth-bench: start-up done ({:.0} s)", started.elapsed().as_secs_f64());
    for r in 0..plan.rounds {
        round(r, &setup, plan, &mut raw, &mut booth)?;
        compositing_session(&setup, plan, &mut booth)?;
        eprintln!("booth-bench: round {}/{} done ({:.0} s)", r + 1, plan.rounds, started.elapsed().as_secs_f64());
    }

    let sizes = (app::file_size(&setup.raw_bin), app::file_size(&setup.booth_bin));
    Ok(summarize(plan, &raw, &booth, sizes))
}

/// Medians across rounds, pooled distributions, ratios, targets: the table and the JSON.
fn summarize(
    plan: &Plan,
    raw: &Measured,
    booth: &Measured,
    sizes: (Option<u64>, Option<u64>),
) -> (Vec<Line>, Map<String, Value>) {
    let mut lines = Vec::new();
    let mut out = Map::new();
    let rate = |v: Option<f64>| opt(v, |x| format!("{}/s", thousands(x)));
    let at_least = |r: Option<f64>, bound: f64| r.map(|r| r >= bound);

    // Bridge.
    let seq = |m: &Measured, api: &str| m.seq.get(api).map(|(r, g)| (median(r), Spread::of(g))).unwrap_or_default();
    let conc = |m: &Measured, api: &str| m.conc.get(api).and_then(|r| median(r));
    let (sync_rate, sync_spread) = seq(raw, "noop");
    let (async_rate, async_spread) = seq(raw, "noop_async");
    let (sync_conc, async_conc) = (conc(raw, "noop"), conc(raw, "noop_async"));
    // The baseline is the faster of the two no-op commands, measure by measure.
    let faster = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    let raw_rate = faster(sync_rate, async_rate);
    let raw_spread = if async_rate > sync_rate { async_spread } else { sync_spread };
    let raw_conc = faster(sync_conc, async_conc);
    let raw_apart = faster(conc(raw, "noop/apart"), conc(raw, "noop_async/apart"));
    lines.push(Line::Heading(format!(
        "bridge round trip, sequential ({} calls a round; raw: the faster no-op command)",
        thousands(plan.seq as f64)
    )));
    let names = [("my", "my.call ampeHHCommunication getDeviceInfo"), ("wx", "wxfaceapp.checkWxFacePayOsInfo")];
    let mut bridge_json = Map::new();
    for (api, label) in names {
        let (r, s) = seq(booth, api);
        lines.push(Line::Row(
            Row::new(format!("{label}, calls/s"), rate(raw_rate), rate(r), ratio(r, raw_rate))
                .target("≥ 0.9×", at_least(ratio(r, raw_rate), 0.9)),
        ));
        lines.push(Line::Row(Row::new(
            "  round trip p50 / p99 / max, µs",
            spread_text(&raw_spread),
            spread_text(&s),
            ratio(s.p50, raw_spread.p50),
        )));
        bridge_json.insert(
            api.into(),
            json!({"sequentialPerSecond": r, "roundTripUs": s.json(), "concurrentPerSecond": conc(booth, api),
                "concurrentApartPerSecond": conc(booth, &format!("{api}/apart"))}),
        );
    }
    bridge_json.insert("trivialCommandSequentialPerSecond".into(), json!(seq(booth, "log").0));
    lines.push(Line::Row(Row::new(
        "(raw: main-thread no-op; async no-op), calls/s",
        format!("{}; {}", rate(sync_rate), rate(async_rate)),
        String::new(),
        None,
    )));
    let log_rate = seq(booth, "log").0;
    lines.push(Line::Row(Row::new(
        "(Booth: a trivial command from the package page), calls/s",
        String::new(),
        rate(log_rate),
        ratio(log_rate, raw_rate),
    )));
    // Where a call's time goes: CPU of the app's own process and of its web processes per call
    // (the baseline: the same no-op as above), from /proc over the sequential chunks.
    let cpu_us = |m: &Measured, api: &str| {
        m.cpu.get(api).filter(|c| c.2 > 0.0).map(|&(own, web, n)| (own / n * 1e6, web / n * 1e6))
    };
    let raw_cpu = cpu_us(raw, if async_rate > sync_rate { "noop_async" } else { "noop" });
    let cpu_text = |c: Option<(f64, f64)>| c.map_or_else(|| "—".to_string(), |(a, w)| format!("{a:.0} / {w:.0}"));
    let mut cpu_json = Map::new();
    for (api, label) in [("my", "my.call"), ("wx", "wxfaceapp"), ("log", "trivial command")] {
        let c = cpu_us(booth, api);
        lines.push(Line::Row(Row::new(
            format!("  CPU per call, {label}: app / web processes, µs"),
            cpu_text(raw_cpu),
            cpu_text(c),
            ratio(c.map(|(a, w)| a + w), raw_cpu.map(|(a, w)| a + w)),
        )));
        cpu_json.insert(api.into(), json!(c.map(|(app, web)| json!({"app": app, "web": web}))));
    }
    cpu_json.insert("raw".into(), json!(raw_cpu.map(|(app, web)| json!({"app": app, "web": web}))));
    bridge_json.insert("cpuPerCallUs".into(), Value::Object(cpu_json));
    lines.push(Line::Heading(format!(
        "bridge, {} calls in flight ({} rounds)",
        thousands(plan.conc as f64),
        plan.conc_rounds * plan.rounds as u64
    )));
    for (api, label) in names {
        let c = conc(booth, api);
        lines.push(Line::Row(
            Row::new(format!("{label}, calls/s"), rate(raw_conc), rate(c), ratio(c, raw_conc))
                .target("≥ 0.9×", at_least(ratio(c, raw_conc), 0.9)),
        ));
        let apart = conc(booth, &format!("{api}/apart"));
        lines.push(Line::Row(Row::new(
            "  started a microtask apart (one message a call), calls/s",
            rate(raw_apart),
            rate(apart),
            ratio(apart, raw_apart),
        )));
    }
    lines.push(Line::Row(Row::new(
        "(raw: main-thread no-op; async no-op), calls/s",
        format!("{}; {}", rate(sync_conc), rate(async_conc)),
        String::new(),
        None,
    )));
    out.insert(
        "bridge".into(),
        json!({
            "booth": bridge_json,
            "raw": {
                "noop": {"sequentialPerSecond": sync_rate, "roundTripUs": sync_spread.json(), "concurrentPerSecond": sync_conc,
                    "concurrentApartPerSecond": conc(raw, "noop/apart")},
                "noopAsync": {"sequentialPerSecond": async_rate, "roundTripUs": async_spread.json(), "concurrentPerSecond": async_conc,
                    "concurrentApartPerSecond": conc(raw, "noop_async/apart")},
            },
            "baseline": "the faster of noop and noopAsync, per measure",
            "sequentialCalls": plan.seq, "inFlight": plan.conc,
        }),
    );

    // Events.
    lines.push(Line::Heading(format!(
        "events, Rust → page listener (raw: a Channel; PCM chunk = {PCM_BYTES} bytes as base64)"
    )));
    let mut events_json = Map::new();
    for (size, label) in [("small", "small event"), ("pcm", "PCM chunk")] {
        let paced =
            |m: &Measured, t: &str| m.paced.get(&format!("{t} {size}")).map(|(l, _)| Spread::of(l)).unwrap_or_default();
        let (pr, pb) = (paced(raw, "channel"), paced(booth, "bridge"));
        lines.push(Line::Row(Row::new(
            format!("{label}, 10/s: emit → listener → call back, µs"),
            spread_text(&pr),
            spread_text(&pb),
            ratio(pb.p50, pr.p50),
        )));
        let flat = |m: &Measured, t: &str| {
            m.flat
                .get(&format!("{t} {size}"))
                .map(|(r, p50, max)| (median(r), median(p50), median(max)))
                .unwrap_or_default()
        };
        let (fr, fb) = (flat(raw, "channel"), flat(booth, "bridge"));
        lines.push(Line::Row(Row::new(
            format!("{label}, flat out: events/s"),
            rate(fr.0),
            rate(fb.0),
            ratio(fb.0, fr.0),
        )));
        let ms = |v: (Option<f64>, Option<f64>, Option<f64>)| match (v.1, v.2) {
            (Some(a), Some(b)) => format!("{a:.0} / {b:.0}"),
            _ => "—".into(),
        };
        lines.push(Line::Row(Row::new("  page clock latency p50 / max, ms", ms(fr), ms(fb), None)));
        let (er, ef) = (paced(raw, "event"), flat(raw, "event"));
        lines.push(Line::Row(Row::new(
            "  (raw emit → listen: 10/s p50 µs; flat out/s)",
            format!("{}; {}", opt(er.p50, thousands), rate(ef.0)),
            String::new(),
            None,
        )));
        events_json.insert(
            size.into(),
            json!({
                "pacedRoundTripUs": {"raw": pr.json(), "booth": pb.json(), "rawEmit": er.json()},
                "flatOutPerSecond": {"raw": fr.0, "booth": fb.0, "rawEmit": ef.0},
                "flatOutPageLatencyMs": {"raw": {"p50": fr.1, "max": fr.2}, "booth": {"p50": fb.1, "max": fb.2}},
            }),
        );
    }
    events_json.insert("paced".into(), json!(plan.paced));
    events_json.insert("flatOut".into(), json!({"small": plan.flat_small, "pcm": plan.flat_pcm}));
    events_json.insert("lost".into(), json!({"raw": raw.lost, "booth": booth.lost}));
    out.insert("events".into(), Value::Object(events_json));
    if raw.lost + booth.lost > 0 {
        lines.push(Line::Row(Row::new("events lost", raw.lost.to_string(), booth.lost.to_string(), None)));
    }

    // Start-up.
    let (sr, sb) = (median(&raw.startup), median(&booth.startup));
    lines.push(Line::Heading(format!(
        "start-up, exec → DOMContentLoaded of the entry (median of {})",
        plan.startup_runs
    )));
    lines.push(Line::Row(
        Row::new("ms", opt(sr, |x| format!("{x:.0}")), opt(sb, |x| format!("{x:.0}")), ratio(sb, sr))
            .target("≤ 1.1×", ratio(sb, sr).map(|r| r <= 1.1)),
    ));
    out.insert(
        "startupMs".into(),
        json!({"raw": raw.startup, "booth": booth.startup, "rawMedian": sr, "boothMedian": sb}),
    );

    // Memory.
    lines.push(Line::Heading("memory, PSS of the app and every WebKit process below it, MB (10^6 bytes)".into()));
    lines.push(Line::Heading(
        "  (in brackets: as if no other WebKit app ran on this shared machine, as on a terminal)".into(),
    ));
    let with_quiet = |pss: Option<f64>, quiet: Option<f64>| match (pss, quiet) {
        (Some(p), Some(q)) => format!("{} ({})", mb(p), mb(q)),
        (Some(p), None) => mb(p),
        _ => "—".into(),
    };
    let (ar, ab) = (median(&raw.alone), median(&booth.alone));
    let (aqr, aqb) = (median(&raw.alone_quiet), median(&booth.alone_quiet));
    lines.push(Line::Row(Row::new(
        "package alone",
        with_quiet(ar, aqr),
        with_quiet(ab, aqb),
        ratio(aqb.or(ab), aqr.or(ar)),
    )));
    let (br, bb) = (median(&raw.both), median(&booth.both));
    let (bqr, bqb) = (median(&raw.both_quiet), median(&booth.both_quiet));
    let both_booth = match (&booth.both_note, bb) {
        (_, Some(_)) => with_quiet(bb, bqb),
        (Some(note), None) => format!("n/a ({note})"),
        _ => "—".into(),
    };
    // The bound holds for a terminal: judged on the quiet figure when there is one.
    let judged = bqb.or(bb);
    lines.push(Line::Row(
        Row::new(
            "+ second screen showing a picture (raw: 2nd window)",
            with_quiet(br, bqr),
            both_booth,
            ratio(judged, bqr.or(br)),
        )
        .target("≤ 200 MB", judged.map(|kb| kb * 1024.0 <= 200e6)),
    ));
    let g = |i: usize| median(&booth.gpu[i]);
    lines.push(Line::Row(Row::new(
        "  Booth with [display] compositing = \"on\": alone",
        String::new(),
        with_quiet(g(0), g(2)),
        ratio(g(2).or(g(0)), aqr.or(ar)),
    )));
    lines.push(Line::Row(Row::new(
        "  Booth with [display] compositing = \"on\": both screens",
        String::new(),
        with_quiet(g(1), g(3)),
        ratio(g(3).or(g(1)), bqr.or(br)),
    )));
    // Growth: the least-squares slope of PSS over the batches, per round; the median of the
    // rounds, with the largest standard error of a round's fit as its spread.
    let slopes = |m: &Measured| -> (Vec<f64>, Vec<f64>) { m.growth.iter().filter_map(|s| slope(s)).unzip() };
    let ((sr, er), (sb, eb)) = (slopes(raw), slopes(booth));
    let worst = |e: &[f64]| e.iter().copied().fold(None, |a: Option<f64>, x| Some(a.map_or(x, |a| a.max(x))));
    let (gr, gb) = (median(&sr), median(&sb));
    let (ger, geb) = (worst(&er), worst(&eb));
    let shown = |g: Option<f64>, e: Option<f64>| match (g, e) {
        (Some(g), Some(e)) => format!("{g:+.0} ± {e:.0}"),
        _ => "—".to_string(),
    };
    // Within noise: no more than the baseline's slope (or zero) plus twice the two fits' errors.
    let within = match (gb, gr, geb, ger) {
        (Some(b), Some(r), Some(e1), Some(e2)) => Some(b <= r.max(0.0) + 2.0 * (e1 * e1 + e2 * e2).sqrt()),
        _ => None,
    };
    lines.push(Line::Row(
        Row::new(
            format!("growth, kB per {} calls ({} batches)", thousands(plan.growth_calls as f64), plan.growth_batches),
            shown(gr, ger),
            shown(gb, geb),
            None,
        )
        .target("≤ raw + noise", within),
    ));
    let (dr, db) = (median(&raw.drift), median(&booth.drift));
    lines.push(Line::Row(Row::new("  idle drift over one settle, MB", opt(dr, mb), opt(db, mb), None)));
    let breakdown =
        |b: &[(String, u64)]| b.iter().map(|(n, kb)| json!({"process": n, "pssKiB": kb})).collect::<Vec<_>>();
    out.insert(
        "memoryKiB".into(),
        json!({
            "raw": {"alone": raw.alone, "bothScreens": raw.both, "growth": raw.growth, "idleDrift": raw.drift,
                    "aloneWithoutOtherWebKit": raw.alone_quiet, "bothScreensWithoutOtherWebKit": raw.both_quiet,
                    "processesAlone": breakdown(&raw.breakdown_alone), "processesBoth": breakdown(&raw.breakdown_both)},
            "booth": {"alone": booth.alone, "bothScreens": booth.both, "growth": booth.growth, "idleDrift": booth.drift,
                      "aloneWithoutOtherWebKit": booth.alone_quiet, "bothScreensWithoutOtherWebKit": booth.both_quiet,
                      "bothScreensNote": booth.both_note,
                      "processesAlone": breakdown(&booth.breakdown_alone), "processesBoth": breakdown(&booth.breakdown_both)},
            "boothCompositingOn": {"alone": booth.gpu[0], "bothScreens": booth.gpu[1],
                                   "aloneWithoutOtherWebKit": booth.gpu[2], "bothScreensWithoutOtherWebKit": booth.gpu[3]},
            "growthCalls": plan.growth_calls,
            "growthSlopeKiBPerBatch": {"raw": sr, "rawError": er, "booth": sb, "boothError": eb},
        }),
    );
    for (name, m) in [("raw Tauri", raw), ("Booth", booth)] {
        let list = |b: &[(String, u64)]| {
            b.iter().map(|(n, kb)| format!("{n} {}", mb(*kb as f64))).collect::<Vec<_>>().join(", ")
        };
        if !m.breakdown_both.is_empty() {
            lines.push(Line::Heading(format!("  {name}, both screens: {}", list(&m.breakdown_both))));
        }
    }

    // Binary size.
    let size = |b: Option<u64>| b.map(|v| v as f64);
    lines.push(Line::Heading("binary size (release profile: thin LTO, stripped)".into()));
    let (zr, zb) = (size(sizes.0), size(sizes.1));
    lines.push(Line::Row(Row::new(
        "MB",
        opt(zr, |x| format!("{:.1}", x / 1e6)),
        opt(zb, |x| format!("{:.1}", x / 1e6)),
        ratio(zb, zr),
    )));
    out.insert("binaryBytes".into(), json!({"raw": sizes.0, "booth": sizes.1}));

    let targets: Vec<Value> = lines
        .iter()
        .filter_map(|l| match l {
            Line::Row(r) if !r.target.is_empty() => Some(json!({"measure": r.label, "target": r.target, "met": r.met, "ratio": r.ratio, "booth": r.booth, "raw": r.raw})),
            _ => None,
        })
        .collect();
    out.insert("targets".into(), json!(targets));
    (lines, out)
}
