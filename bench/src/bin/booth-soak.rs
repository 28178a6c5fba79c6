//! The soak run: a kiosk's day compressed (`scripts/soak`). Booth runs in kiosk mode with the
//! flight recorder and log files on, the fuzz package (`tests/fixtures/fuzz`) in its soak mode as
//! the customers (mostly valid calls through `my`, `wxfaceapp` and `ft`, 8 in flight, the page
//! reloading itself after every 1,000 calls), the idle reset every `idle_s`, and this driver
//! doing to it what a day does: web-process kills, device unplug/replug cycles across the
//! simulated devices and a pty serial scanner (socat), scans and ID cards. At scale 1 that is
//! 1,000,000 calls, 1,000 reloads, 100 web-process kills and 200 unplug/replug cycles.
//!
//!   cargo run --release -p booth-bench --bin booth-soak -- --booth target/release/booth [--scale 0.1]
//!       [--calls-only] [--wrap "heaptrack -o /tmp/booth-heap"]
//!
//! Prints RSS and PSS over time with a fitted slope, open file descriptors and threads at start
//! and end, log and recording sizes, recoveries, and every error line of the log and stderr.
//! Not for CI: a benchmark. It fails (exit 1) only when Booth dies or stops answering.

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("booth-soak: reads /proc; Linux only");
    std::process::exit(1);
}

#[cfg(target_os = "linux")]
#[path = "../procs.rs"]
#[allow(dead_code)]
mod procs;

#[cfg(target_os = "linux")]
fn main() {
    if let Err(e) = linux::main() {
        eprintln!("booth-soak: {e}");
        std::process::exit(1);
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use super::procs;
    use serde_json::{json, Value};
    use std::io::{Read, Seek, SeekFrom, Write};
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    struct Opts {
        booth: PathBuf,
        package: PathBuf,
        scale: f64,
        idle_s: u64,
        json: Option<PathBuf>,
        /// Stop the customers after this long even if the scale's calls are not all made.
        max_minutes: Option<f64>,
        /// Calls only: no reloads (the page's nor the idle reset's), no kills, no device cycles
        /// or inputs — to tell the memory the calls cost from what the rest of the day costs.
        calls_only: bool,
        /// A command Booth runs under (`--wrap "heaptrack -o /tmp/booth"`): a profiler or a
        /// debugger. Booth's own process is then found below it by name.
        wrap: Vec<String>,
    }

    fn opts() -> Result<Opts, String> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut o = Opts {
            booth: root.join("target/release/booth"),
            package: root.join("tests/fixtures/fuzz"),
            scale: 1.0,
            idle_s: 30,
            json: None,
            max_minutes: None,
            calls_only: false,
            wrap: vec![],
        };
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            let mut value = || args.next().ok_or(format!("{a} needs a value"));
            match a.as_str() {
                "--booth" => o.booth = value()?.into(),
                "--package" => o.package = value()?.into(),
                "--scale" => o.scale = value()?.parse().map_err(|e| format!("--scale: {e}"))?,
                "--idle-s" => o.idle_s = value()?.parse().map_err(|e| format!("--idle-s: {e}"))?,
                "--json" => o.json = Some(value()?.into()),
                "--max-minutes" => o.max_minutes = Some(value()?.parse().map_err(|e| format!("--max-minutes: {e}"))?),
                "--calls-only" => o.calls_only = true,
                "--wrap" => o.wrap = value()?.split_whitespace().map(str::to_string).collect(),
                other => return Err(format!("unknown argument {other}")),
            }
        }
        Ok(o)
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(17899)
    }

    /// One request to the control endpoint: (status, body); `None` when nothing answers.
    fn http(port: u16, method: &str, path: &str, body: &str) -> Option<(u16, Value)> {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).ok()?;
        let mut raw = String::new();
        s.read_to_string(&mut raw).ok()?;
        let status = raw.split_whitespace().nth(1)?.parse().ok()?;
        let body = raw.split("\r\n\r\n").nth(1).unwrap_or("");
        Some((status, serde_json::from_str(body).unwrap_or(Value::Null)))
    }

    /// A pty pair through socat: Booth's end (`dev`) and ours (`host`). Killing socat is the
    /// unplug; starting it again the replug.
    struct Pty {
        dev: PathBuf,
        host: PathBuf,
        child: Option<Child>,
    }

    impl Pty {
        fn start(dir: &Path) -> Result<Pty, String> {
            let mut p = Pty { dev: dir.join("scanner-dev"), host: dir.join("scanner-host"), child: None };
            p.plug()?;
            Ok(p)
        }
        fn plug(&mut self) -> Result<(), String> {
            let child = Command::new("socat")
                .arg(format!("pty,raw,echo=0,link={}", self.dev.display()))
                .arg(format!("pty,raw,echo=0,link={}", self.host.display()))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("socat: {e}"))?;
            self.child = Some(child);
            let start = Instant::now();
            while !(self.dev.exists() && self.host.exists()) {
                if start.elapsed() > Duration::from_secs(5) {
                    return Err("socat made no pty pair".into());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(())
        }
        fn unplug(&mut self) {
            if let Some(mut c) = self.child.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        fn scan(&self, code: &str) {
            if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(&self.host) {
                let _ = f.write_all(format!("{code}\r\n").as_bytes());
            }
        }
    }

    impl Drop for Pty {
        fn drop(&mut self) {
            self.unplug();
        }
    }

    /// Counts the flight recording's call records as it grows (and rotates).
    struct Tail {
        path: PathBuf,
        offset: u64,
        partial: Vec<u8>,
        calls: u64,
        failed: u64,
    }

    impl Tail {
        fn read(&mut self) {
            let len = std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
            if len < self.offset {
                // Rotated: the rest of the old file is FILE.1.
                let mut old = self.path.clone().into_os_string();
                old.push(".1");
                self.read_from(Path::new(&old));
                self.offset = 0;
                self.partial.clear();
            }
            let path = self.path.clone();
            self.read_from(&path);
        }
        fn read_from(&mut self, path: &Path) {
            let Ok(mut f) = std::fs::File::open(path) else { return };
            if f.seek(SeekFrom::Start(self.offset)).is_err() {
                return;
            }
            let mut buf = Vec::new();
            if f.read_to_end(&mut buf).is_err() {
                return;
            }
            self.offset += buf.len() as u64;
            self.partial.extend_from_slice(&buf);
            let mut start = 0;
            while let Some(i) = self.partial[start..].iter().position(|&b| b == b'\n') {
                let line = &self.partial[start..start + i];
                if has(line, b"\"type\":\"call\"") {
                    self.calls += 1;
                    if has(line, b"\"ok\":false") {
                        self.failed += 1;
                    }
                }
                start += i + 1;
            }
            self.partial.drain(..start);
        }
    }

    fn has(line: &[u8], needle: &[u8]) -> bool {
        line.windows(needle.len()).any(|w| w == needle)
    }

    fn kb_field(pid: u32, file: &str, field: &str) -> u64 {
        procs::field(pid, file, field).unwrap_or(0)
    }

    #[derive(Clone, Copy)]
    struct Sample {
        at_s: f64,
        calls: u64,
        rss_mb: f64,
        /// RSS split: anonymous memory (heaps, stacks, mmap'd arenas) and file pages (libraries).
        anon_mb: f64,
        file_mb: f64,
        pss_mb: f64,
        all_pss_mb: f64,
        fds: usize,
        threads: u64,
    }

    fn sample(pid: u32, start: Instant, calls: u64) -> Sample {
        Sample {
            at_s: start.elapsed().as_secs_f64(),
            calls,
            rss_mb: kb_field(pid, "status", "VmRSS:") as f64 / 1024.0,
            anon_mb: kb_field(pid, "status", "RssAnon:") as f64 / 1024.0,
            file_mb: kb_field(pid, "status", "RssFile:") as f64 / 1024.0,
            pss_mb: procs::pss_kb(pid).unwrap_or(0) as f64 / 1024.0,
            all_pss_mb: procs::tree_pss(pid).0 as f64 / 1024.0,
            fds: std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0),
            threads: kb_field(pid, "status", "Threads:"),
        }
    }

    /// Least-squares slope of `y` over `x`.
    fn slope(points: &[(f64, f64)]) -> f64 {
        let n = points.len() as f64;
        if n < 2.0 {
            return 0.0;
        }
        let (sx, sy) = points.iter().fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
        let (mx, my) = (sx / n, sy / n);
        let (num, den) =
            points.iter().fold((0.0, 0.0), |(a, b), (x, y)| (a + (x - mx) * (y - my), b + (x - mx).powi(2)));
        if den == 0.0 {
            0.0
        } else {
            num / den
        }
    }

    fn dir_size(p: &Path) -> u64 {
        std::fs::read_dir(p)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.metadata().ok())
            .filter(|m| m.is_file())
            .map(|m| m.len())
            .sum()
    }

    fn copy_package(from: &Path, to: &Path, calls_only: bool) -> Result<(), String> {
        std::fs::create_dir_all(to).map_err(|e| e.to_string())?;
        for entry in std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?.flatten() {
            if entry.path().is_file() {
                std::fs::copy(entry.path(), to.join(entry.file_name())).map_err(|e| e.to_string())?;
            }
        }
        // The soak mode of the fuzz page.
        let manifest = to.join("miniapp.json");
        let text = std::fs::read_to_string(&manifest).map_err(|e| e.to_string())?;
        let mut m: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        m["entry"] = json!(if calls_only { "index.html?soak=1&reload=0" } else { "index.html?soak=1" });
        if let Some(o) = m.as_object_mut() {
            o.remove("$schema");
        }
        std::fs::write(&manifest, m.to_string()).map_err(|e| e.to_string())
    }

    pub fn main() -> Result<(), String> {
        let mut o = opts()?;
        if o.calls_only {
            // No idle reset within a day.
            o.idle_s = 86_400;
        }
        if std::env::var_os("DISPLAY").is_none() {
            return Err("needs a DISPLAY (scripts/soak starts Xvfb)".into());
        }
        let target_calls = (1_000_000.0 * o.scale) as u64;
        let target_kills = if o.calls_only { 0 } else { (100.0 * o.scale).round() as u64 };
        let target_cycles = if o.calls_only { 0 } else { (200.0 * o.scale).round() as u64 };
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let package = dir.path().join("package");
        copy_package(&o.package, &package, o.calls_only)?;
        let mut pty = Pty::start(dir.path())?;
        let logs = dir.path().join("logs");
        let recording = dir.path().join("flight.jsonl");
        let config = dir.path().join("booth.toml");
        std::fs::write(
            &config,
            format!(
                "[log]\ndir = \"{}\"\n[control]\nfull_in_kiosk = true\n[kiosk]\nidle_s = {}\nidle_warning_s = 0\noperation_timeout_s = 5\n\
                 [scanner]\nbackend = \"serial\"\nport = \"{}\"\n[idcard]\nbackend = \"sim\"\n[presence]\nbackend = \"sim\"\n\
                 [pos]\nbackend = \"sim\"\n[keypad]\nbackend = \"sim\"\n[smartcard]\nbackend = \"sim\"\n[printer]\nbackend = \"sim\"\n\
                 [camera]\nbackend = \"sim\"\n[microphone]\nbackend = \"sim\"\n",
                logs.display(),
                o.idle_s,
                pty.dev.display()
            ),
        )
        .map_err(|e| e.to_string())?;
        let port = free_port();
        let stderr_path = dir.path().join("booth.stderr");
        let stderr = std::fs::File::create(&stderr_path).map_err(|e| e.to_string())?;
        println!(
            "==> booth-soak: {} calls, {} web-process kills, {} unplug/replug cycles, idle reset every {} s (scale {})",
            target_calls, target_kills, target_cycles, o.idle_s, o.scale
        );
        let mut booth = match o.wrap.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(&o.booth);
                c
            }
            None => Command::new(&o.booth),
        };
        let mut booth = booth
            .arg("run")
            .arg(&package)
            .arg("--kiosk")
            .arg("--config")
            .arg(&config)
            .arg("--control-port")
            .arg(port.to_string())
            .arg("--record")
            .arg(&recording)
            .env_remove("BOOTH_LOG")
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("{}: {e}", o.booth.display()))?;
        let start = Instant::now();
        while http(port, "GET", "/health", "").is_none() {
            if start.elapsed() > Duration::from_secs(if o.wrap.is_empty() { 30 } else { 120 }) {
                let _ = booth.kill();
                return Err("Booth did not start (no /health)".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // Under a wrapper, Booth is the process named after its file below the wrapper's.
        let name = o.booth.file_name().map(|n| n.to_string_lossy().chars().take(15).collect::<String>());
        let pid = if o.wrap.is_empty() {
            booth.id()
        } else {
            let below = procs::tree(booth.id()).into_iter().find(|(_, n)| Some(n) == name.as_ref());
            match below {
                Some((p, _)) => p,
                None => {
                    // Whatever answered /health is not ours to leave running: end the wrapper's tree.
                    for (p, _) in procs::tree(booth.id()).into_iter().skip(1) {
                        procs::signal(p, libc::SIGTERM);
                    }
                    let _ = booth.kill();
                    let _ = booth.wait();
                    return Err("no Booth process below the wrapper".into());
                }
            }
        };
        let mut tail = Tail { path: recording.clone(), offset: 0, partial: vec![], calls: 0, failed: 0 };
        // Settle before the first sample: the page loaded and calling.
        std::thread::sleep(Duration::from_secs(5));
        tail.read();
        let first = sample(pid, start, tail.calls);
        let mut samples = vec![first];
        let (mut kills, mut cycles, mut health_failures) = (0u64, 0u64, 0u64);
        let mut last_sample = Instant::now();
        let mut last_print = Instant::now();
        let mut tick = 0u64;
        let sim_cycles: [(&str, &str, &str, &str); 4] = [
            ("/sim/pos/unplug", "{}", "/sim/pos/plug", "{}"),
            ("/sim/card/reader", r#"{"connected":false}"#, "/sim/card/reader", r#"{"connected":true}"#),
            ("/sim/camera/unplug", "{}", "/sim/camera/plug", "{}"),
            ("/sim/printer/paper-out", "{}", "/sim/printer/paper-in", "{}"),
        ];
        loop {
            std::thread::sleep(Duration::from_millis(250));
            tick += 1;
            if let Some(status) = booth.try_wait().map_err(|e| e.to_string())? {
                return Err(format!("Booth exited ({status}) after {:.0} s", start.elapsed().as_secs_f64()));
            }
            tail.read();
            let progress = tail.calls as f64 / target_calls.max(1) as f64;
            if tail.calls >= target_calls {
                break;
            }
            if o.max_minutes.is_some_and(|m| start.elapsed().as_secs_f64() >= m * 60.0) {
                println!(
                    "==> booth-soak: stopped at the time limit with {} of {target_calls} calls ({:.0} %)",
                    tail.calls,
                    progress * 100.0
                );
                break;
            }
            // Customers' devices: a scan on the pty scanner, an ID card, someone in front.
            match if o.calls_only { 4 } else { tick % 4 } {
                4 => {}
                0 => pty.scan(&format!("69012345{:05}", tick % 100_000)),
                1 => {
                    let _ = http(port, "POST", "/sim/idcard/place", "{}");
                }
                2 => {
                    let _ = http(port, "POST", "/sim/idcard/remove", "{}");
                }
                _ => {
                    let _ = http(port, "POST", "/sim/presence/present", "{}");
                }
            }
            // Spread evenly: the k-th one when progress reaches (k + ½) / target.
            if kills < target_kills && progress * target_kills as f64 >= kills as f64 + 0.5 {
                let web: Vec<u32> = procs::tree(pid)
                    .into_iter()
                    .filter(|(p, n)| *p != pid && n.starts_with("WebKitWebProces"))
                    .map(|(p, _)| p)
                    .collect();
                if let Some(w) = web.first() {
                    procs::signal(*w, libc::SIGKILL);
                    kills += 1;
                }
            }
            if cycles < target_cycles && progress * target_cycles as f64 >= cycles as f64 + 0.5 {
                // Every fifth cycle the pty scanner, the others the simulated devices in turn.
                if cycles % 5 == 4 {
                    pty.unplug();
                    std::thread::sleep(Duration::from_millis(300));
                    pty.plug()?;
                } else {
                    let (a, ab, b, bb) = sim_cycles[(cycles % 5) as usize % sim_cycles.len()];
                    let _ = http(port, "POST", a, ab);
                    std::thread::sleep(Duration::from_millis(100));
                    let _ = http(port, "POST", b, bb);
                }
                cycles += 1;
            }
            if last_sample.elapsed() >= Duration::from_secs(10) {
                samples.push(sample(pid, start, tail.calls));
                last_sample = Instant::now();
                if http(port, "GET", "/health", "").is_none_or(|(s, _)| s != 200) {
                    health_failures += 1;
                    if health_failures > 6 {
                        let _ = booth.kill();
                        return Err("Booth stopped answering /health for a minute".into());
                    }
                } else {
                    health_failures = 0;
                }
            }
            if last_print.elapsed() >= Duration::from_secs(60) {
                let s = samples.last().copied().unwrap_or(first);
                println!(
                    "  {:>5.0} s  {:>9} calls  kills {kills:>3}  cycles {cycles:>3}  RSS {:.1} MB (anon {:.1}, file {:.1})  PSS {:.1} MB (all {:.1} MB)  fds {}  threads {}",
                    s.at_s, tail.calls, s.rss_mb, s.anon_mb, s.file_mb, s.pss_mb, s.all_pss_mb, s.fds, s.threads
                );
                last_print = Instant::now();
            }
        }
        let took = start.elapsed();
        // Settle, then the last sample.
        std::thread::sleep(Duration::from_secs(10));
        tail.read();
        let last = sample(pid, start, tail.calls);
        samples.push(last);
        let health = http(port, "GET", "/health", "").map(|(_, h)| h).unwrap_or(Value::Null);
        // What of Booth's memory is free memory its allocator keeps (returned by malloc_trim)
        // rather than memory in use: the difference between the last sample and this one.
        let _ = http(port, "POST", "/memory/trim", "{}");
        std::thread::sleep(Duration::from_secs(1));
        let trimmed = sample(pid, start, tail.calls);
        // SIGTERM: Booth closes its windows and flushes its log.
        procs::signal(pid, libc::SIGTERM);
        let stop = Instant::now();
        // A wrapper (a profiler) may take minutes to write its report after Booth ends.
        let grace = Duration::from_secs(if o.wrap.is_empty() { 10 } else { 600 });
        while booth.try_wait().ok().flatten().is_none() && stop.elapsed() < grace {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = booth.kill();
        let _ = booth.wait();
        pty.unplug();

        // Skip the first minute (start-up, caches filling) for the slopes.
        let steady: Vec<&Sample> = samples.iter().filter(|s| s.at_s >= 60.0).collect();
        let per_hour =
            |f: fn(&Sample) -> f64| slope(&steady.iter().map(|s| (s.at_s / 3600.0, f(s))).collect::<Vec<_>>());
        let rss_slope = per_hour(|s| s.rss_mb);
        let pss_slope = per_hour(|s| s.pss_mb);
        let all_slope = per_hour(|s| s.all_pss_mb);
        let per_million =
            |f: fn(&Sample) -> f64| slope(&steady.iter().map(|s| (s.calls as f64 / 1e6, f(s))).collect::<Vec<_>>());
        let mut rec_size = std::fs::metadata(&recording).map(|m| m.len()).unwrap_or(0);
        let mut old = recording.clone().into_os_string();
        old.push(".1");
        rec_size += std::fs::metadata(&old).map(|m| m.len()).unwrap_or(0);
        let log_size = dir_size(&logs);
        let mut errors = vec![];
        for entry in std::fs::read_dir(&logs).into_iter().flatten().flatten() {
            for line in std::fs::read_to_string(entry.path()).unwrap_or_default().lines() {
                if line.contains(" ERROR ") {
                    errors.push(line.to_string());
                }
            }
        }
        let stderr_errors: Vec<String> = std::fs::read_to_string(&stderr_path)
            .unwrap_or_default()
            .lines()
            // Booth's own error lines are in the log already; here what only stderr has: panics,
            // `booth: error:` lines and libraries' complaints.
            .filter(|l| !l.contains(" ERROR ") && !l.contains(" INFO ") && !l.contains(" WARN "))
            .filter(|l| l.contains("panicked") || l.contains("error:") || l.contains("error"))
            .map(str::to_string)
            .collect();
        let loads = health["shell"]["loads"]["main"]["count"].as_u64().unwrap_or(0);
        let recoveries = health["shell"]["recoveries"].as_array().map(|r| r.len()).unwrap_or(0);

        println!("\n==> booth-soak results ({:.1} min, scale {})", took.as_secs_f64() / 60.0, o.scale);
        println!("| figure | value |\n| --- | --- |");
        println!("| calls answered (flight recording) | {} ({} not ok: refusals and device errors the customers' calls asked for) |", tail.calls, tail.failed);
        println!("| calls per second | {:.0} |", tail.calls as f64 / took.as_secs_f64());
        println!("| page loads (reloads, idle resets, recoveries) | {loads} |");
        println!("| web-process kills / recoveries listed (last 50 kept) | {kills} / {recoveries} |");
        println!("| unplug/replug cycles (sim devices, pty scanner every 5th) | {cycles} |");
        println!(
            "| RSS of Booth, start → end | {:.1} → {:.1} MB; slope {:+.2} MB/h, {:+.2} MB per million calls |",
            first.rss_mb,
            last.rss_mb,
            rss_slope,
            per_million(|s| s.rss_mb)
        );
        println!(
            "| RSS of Booth: anonymous / file pages, start → end | {:.1} → {:.1} MB; slope {:+.2} MB/h / {:.1} → {:.1} MB; slope {:+.2} MB/h |",
            first.anon_mb,
            last.anon_mb,
            per_hour(|s| s.anon_mb),
            first.file_mb,
            last.file_mb,
            per_hour(|s| s.file_mb)
        );
        println!(
            "| RSS of Booth after malloc_trim at the end (free memory the allocator kept) | {:.1} MB (anonymous {:.1} MB; {:.1} MB returned) |",
            trimmed.rss_mb,
            trimmed.anon_mb,
            last.rss_mb - trimmed.rss_mb
        );
        println!(
            "| PSS of Booth, start → end | {:.1} → {:.1} MB; slope {:+.2} MB/h, {:+.2} MB per million calls |",
            first.pss_mb,
            last.pss_mb,
            pss_slope,
            per_million(|s| s.pss_mb)
        );
        println!(
            "| PSS of Booth and its web processes, start → end | {:.1} → {:.1} MB; slope {:+.2} MB/h |",
            first.all_pss_mb, last.all_pss_mb, all_slope
        );
        println!("| open file descriptors, start → end | {} → {} |", first.fds, last.fds);
        println!("| threads, start → end | {} → {} |", first.threads, last.threads);
        println!("| log files | {:.1} MB |", log_size as f64 / 1e6);
        println!("| flight recording (with FILE.1) | {:.1} MB |", rec_size as f64 / 1e6);
        println!("| error lines (log / stderr) | {} / {} |", errors.len(), stderr_errors.len());
        println!("\nsamples (s, calls, RSS MB, anon MB, file MB, PSS MB, all PSS MB, fds, threads):");
        for s in &samples {
            println!(
                "  {:>6.0} {:>9} {:>7.1} {:>7.1} {:>7.1} {:>7.1} {:>7.1} {:>4} {:>4}",
                s.at_s, s.calls, s.rss_mb, s.anon_mb, s.file_mb, s.pss_mb, s.all_pss_mb, s.fds, s.threads
            );
        }
        // Every error line, the same ones counted once.
        let mut seen = std::collections::BTreeMap::<String, usize>::new();
        for e in &errors {
            // Without the time stamp, so that repeats fold.
            let key = e.split_once(" ERROR ").map(|(_, r)| format!("log: {r}")).unwrap_or_else(|| e.clone());
            *seen.entry(key).or_default() += 1;
        }
        for e in &stderr_errors {
            *seen.entry(format!("stderr: {e}")).or_default() += 1;
        }
        if !seen.is_empty() {
            println!("\nerror lines (count × line):");
            for (line, n) in &seen {
                println!("  {n:>5} × {}", line.chars().take(300).collect::<String>());
            }
        }
        if let Some(path) = &o.json {
            let out = json!({
                "scale": o.scale, "seconds": took.as_secs_f64(), "calls": tail.calls, "notOk": tail.failed,
                "loads": loads, "kills": kills, "cycles": cycles,
                "rssStartMb": first.rss_mb, "rssEndMb": last.rss_mb, "rssSlopeMbPerHour": rss_slope,
                "anonStartMb": first.anon_mb, "anonEndMb": last.anon_mb, "anonSlopeMbPerHour": per_hour(|s| s.anon_mb),
                "rssAfterTrimMb": trimmed.rss_mb, "anonAfterTrimMb": trimmed.anon_mb,
                "fileStartMb": first.file_mb, "fileEndMb": last.file_mb, "fileSlopeMbPerHour": per_hour(|s| s.file_mb),
                "pssStartMb": first.pss_mb, "pssEndMb": last.pss_mb, "pssSlopeMbPerHour": pss_slope,
                "allPssStartMb": first.all_pss_mb, "allPssEndMb": last.all_pss_mb, "allPssSlopeMbPerHour": all_slope,
                "fds": [first.fds, last.fds], "threads": [first.threads, last.threads],
                "logBytes": log_size, "recordingBytes": rec_size,
                "errors": seen.iter().map(|(l, n)| json!({"line": l, "count": n})).collect::<Vec<_>>(),
            });
            std::fs::write(path, serde_json::to_string_pretty(&out).unwrap_or_default()).map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}
