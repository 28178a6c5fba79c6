//! One running app under test (the bare Tauri baseline or Booth): its process, the commands the
//! driver sends it on stdin and the reports its page and its Rust side print.

use crate::procs;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Raw,
    Booth,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Raw => "raw Tauri",
            Kind::Booth => "Booth",
        }
    }
}

/// Where the binaries and the package are.
pub struct Setup {
    pub raw_bin: PathBuf,
    pub booth_bin: PathBuf,
    pub package: PathBuf,
    /// booth.toml for the runs: no log files.
    pub config: PathBuf,
    /// The same with `[display] compositing = "on"`.
    pub config_compositing: PathBuf,
}

enum Line {
    Report(Value),
    Stamps(Value),
    Other(String),
}

pub struct App {
    pub kind: Kind,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<Line>,
    /// The last lines the app printed that were not reports, for error messages.
    tail: Vec<String>,
    /// Wall clock (ms since the epoch) just before exec.
    pub exec_ms: f64,
}

fn wall_ms() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

fn read_lines(stream: impl std::io::Read + Send + 'static, tx: std::sync::mpsc::Sender<Line>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            let parsed = if let Some(i) = line.find("BENCH-STAMPS ") {
                serde_json::from_str(&line[i + 13..]).map(Line::Stamps).unwrap_or(Line::Other(line))
            } else if let Some(i) = line.find("BENCH ") {
                serde_json::from_str(&line[i + 6..]).map(Line::Report).unwrap_or(Line::Other(line))
            } else {
                Line::Other(line)
            };
            if tx.send(parsed).is_err() {
                break;
            }
        }
    });
}

impl App {
    /// Starts the app; `probe` gives Booth its hidden `--bench` flag (stdin commands).
    pub fn launch(kind: Kind, setup: &Setup, probe: bool) -> Result<App, String> {
        Self::launch_with(kind, setup, probe, &setup.config)
    }

    /// Starts the app, Booth with the given booth.toml.
    pub fn launch_with(kind: Kind, setup: &Setup, probe: bool, config: &Path) -> Result<App, String> {
        let mut cmd = match kind {
            Kind::Raw => Command::new(&setup.raw_bin),
            Kind::Booth => {
                let mut c = Command::new(&setup.booth_bin);
                c.arg("run").arg(&setup.package).arg("--config").arg(config);
                if probe {
                    c.arg("--bench");
                }
                c
            }
        };
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        // Booth's own logging would otherwise follow BOOTH_LOG from the caller's environment, and
        // both apps would inherit a compositing choice (Booth makes its own, the baseline keeps
        // WebKit's default).
        cmd.env_remove("BOOTH_LOG").env_remove("WEBKIT_DISABLE_COMPOSITING_MODE");
        let exec_ms = wall_ms();
        let mut child = cmd.spawn().map_err(|e| format!("cannot start {}: {e}", kind.name()))?;
        let (tx, lines) = channel();
        if let Some(out) = child.stdout.take() {
            read_lines(out, tx.clone());
        }
        if let Some(err) = child.stderr.take() {
            read_lines(err, tx);
        }
        let stdin = child.stdin.take();
        Ok(App { kind, child, stdin, lines, tail: Vec::new(), exec_ms })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn fail(&self, what: &str) -> String {
        let tail = self.tail.iter().rev().take(12).rev().cloned().collect::<Vec<_>>().join("\n    ");
        format!("{}: {what}\n  its last output:\n    {tail}", self.kind.name())
    }

    fn next(&mut self, deadline: Instant) -> Result<Line, String> {
        let wait = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(wait) {
            Ok(Line::Other(l)) => {
                self.tail.push(l.clone());
                if self.tail.len() > 200 {
                    self.tail.drain(..100);
                }
                Ok(Line::Other(l))
            }
            Ok(l) => Ok(l),
            Err(RecvTimeoutError::Timeout) => Err("timeout".into()),
            Err(RecvTimeoutError::Disconnected) => Err("exited".into()),
        }
    }

    /// Waits for the page's report of `op` (`error` reports fail at once).
    pub fn report(&mut self, op: &str, within: Duration) -> Result<Value, String> {
        let deadline = Instant::now() + within;
        loop {
            match self.next(deadline) {
                Ok(Line::Report(v)) if v["op"] == op => return Ok(v),
                Ok(Line::Report(v)) if v["op"] == "error" => return Err(self.fail(&format!("page error: {v}"))),
                Ok(_) => {}
                Err(why) => return Err(self.fail(&format!("no `{op}` report ({why} after {within:?})"))),
            }
        }
    }

    fn write(&mut self, line: &str) -> Result<(), String> {
        let stdin = self.stdin.as_mut().ok_or("stdin closed")?;
        writeln!(stdin, "{line}").and_then(|_| stdin.flush()).map_err(|e| format!("{}: stdin: {e}", self.kind.name()))
    }

    /// Sends a command to the page.
    pub fn send(&mut self, command: &Value) -> Result<(), String> {
        self.write(&format!("send cmd:{command}"))
    }

    /// Sends a command and waits for its report.
    pub fn command(&mut self, command: Value, within: Duration) -> Result<Value, String> {
        let op = command["op"].as_str().unwrap_or_default().to_string();
        self.send(&command)?;
        self.report(&op, within)
    }

    /// `emit N BYTES INTERVAL_US [event]` on the app's Rust side.
    pub fn emit(&mut self, n: u64, bytes: u64, interval_us: u64, tauri_event: bool) -> Result<(), String> {
        self.write(&format!("emit {n} {bytes} {interval_us}{}", if tauri_event { " event" } else { "" }))
    }

    /// Call arrivals and emits (ns, the app's clock) since the previous call.
    pub fn stamps(&mut self) -> Result<(Vec<u64>, Vec<u64>), String> {
        self.write("stamps")?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.next(deadline) {
                Ok(Line::Stamps(v)) => {
                    let list = |k: &str| {
                        v[k].as_array().map(|a| a.iter().filter_map(Value::as_u64).collect()).unwrap_or_default()
                    };
                    return Ok((list("calls"), list("emits")));
                }
                Ok(_) => {}
                Err(why) => return Err(self.fail(&format!("no stamps ({why})"))),
            }
        }
    }

    /// Waits until the page's listener is up: pings until one is answered.
    pub fn handshake(&mut self, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        let mut id = 0;
        while Instant::now() < deadline {
            id += 1;
            self.send(&json!({"op": "ping", "id": id}))?;
            match self.report("pong", Duration::from_millis(300)) {
                Ok(_) => return Ok(()),
                Err(e) if e.contains("exited") => return Err(e),
                Err(_) => {}
            }
        }
        Err(self.fail("the page never answered a ping"))
    }

    /// PSS of the app and every process below it (kB), and each process's.
    pub fn pss(&self) -> (u64, Vec<(String, u64)>) {
        procs::tree_pss(self.pid())
    }

    /// The same as if no other WebKit app ran on the machine (kB; needs root).
    pub fn pss_alone(&self) -> Option<u64> {
        procs::pss_without_other_webkit(self.pid())
    }

    /// Ends the app and everything it started.
    pub fn stop(mut self) {
        let below: Vec<u32> = procs::tree(self.pid()).into_iter().map(|(p, _)| p).skip(1).collect();
        self.stdin.take();
        procs::signal(self.pid(), libc::SIGTERM);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(3) {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        // WebKit's helpers end with their parent; make sure before the next measurement.
        let start = Instant::now();
        while below.iter().any(|p| procs::alive(*p)) && start.elapsed() < Duration::from_secs(3) {
            std::thread::sleep(Duration::from_millis(20));
        }
        for p in below.iter().filter(|p| procs::alive(**p)) {
            procs::signal(*p, libc::SIGKILL);
        }
    }
}

/// Size in bytes of a file.
pub fn file_size(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.len())
}
