//! Helpers for driving `booth` through tauri-driver (WebDriver) in end-to-end tests.
//!
//! The test command (`scripts/test-all`) starts Xvfb and tauri-driver and sets `BOOTH_BIN`;
//! each test launches its own `booth run <fixture> --sim --control-port <free port>` through
//! `tauri:options`, and injects hardware events through the control endpoint.

pub mod provider;

use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The workspace root.
pub fn root() -> PathBuf {
    // At run time: a build reused from a clone elsewhere (a shared CARGO_TARGET_DIR) keeps that
    // clone's compile-time path.
    let dir = std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
    PathBuf::from(dir).join("../..").canonicalize().expect("workspace root")
}

/// The booth binary under test: `BOOTH_BIN`, else the workspace's debug build.
pub fn booth_bin() -> PathBuf {
    match std::env::var_os("BOOTH_BIN") {
        Some(p) => PathBuf::from(p),
        None => {
            let target =
                std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("target"));
            target.join("debug").join("booth")
        }
    }
}

/// A command running the booth under test as a child of the test, which the kernel stops
/// (SIGTERM) when the test's thread ends first — a test killed for its timeout would otherwise
/// leave a kiosk covering the display for the tests after it.
pub fn booth_command() -> std::process::Command {
    use std::os::unix::process::CommandExt;
    let mut c = std::process::Command::new(booth_bin());
    // SAFETY: prctl only sets a flag of the new process; nothing is allocated between fork and exec.
    unsafe {
        c.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    c
}

pub fn fixture(name: &str) -> String {
    root().join("tests/fixtures").join(name).display().to_string()
}

/// A free loopback port (bound then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => false,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

/// An HTTP request to a loopback port, or `None` when nothing answers there (yet).
pub fn try_http(port: u16, method: &str, path: &str, body: &str) -> Option<(u16, Value)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    let status = raw.split_whitespace().nth(1).and_then(|c| c.parse().ok())?;
    let body = raw.split("\r\n\r\n").nth(1).unwrap_or("");
    Some((status, serde_json::from_str(body).unwrap_or(Value::Null)))
}

/// One running booth driven through WebDriver.
pub struct Booth {
    pub client: Client,
    pub control_port: u16,
}

impl Booth {
    /// Launches `booth run <package> --control-port <port> [--sim] <extra…>` and waits until the
    /// page's runtime is up.
    pub async fn launch(package: &str, sim: bool, extra: &[&str]) -> Booth {
        let control_port = free_port();
        let mut args = vec!["run".to_string(), package.to_string(), "--control-port".into(), control_port.to_string()];
        if sim {
            args.push("--sim".into());
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        Self::start(args, control_port).await
    }

    /// Launches `booth dev <dir> --control-port <port> <extra…>` and waits until the page's
    /// runtime is up.
    pub async fn dev(dir: &str, extra: &[&str]) -> Booth {
        let control_port = free_port();
        let mut args = vec!["dev".to_string(), dir.to_string(), "--control-port".into(), control_port.to_string()];
        args.extend(extra.iter().map(|s| s.to_string()));
        Self::start(args, control_port).await
    }

    /// Launches booth with these arguments (its control endpoint on `control_port`).
    pub async fn start(args: Vec<String>, control_port: u16) -> Booth {
        Self::start_app(booth_bin(), args, control_port).await
    }

    /// Like [`Booth::launch`] without `--sim`, with these variables added to booth's
    /// environment (e.g. where a private sound server is). The driver starts the application
    /// with its own environment, so booth is started through a small wrapper script.
    pub async fn launch_with_env(package: &str, extra: &[&str], env: &[(String, String)]) -> Booth {
        use std::os::unix::fs::PermissionsExt;
        let control_port = free_port();
        let mut script = String::from("#!/bin/sh\n");
        for (k, v) in env {
            script.push_str(&format!("export {k}='{}'\n", v.replace('\'', "'\\''")));
        }
        script.push_str(&format!("exec '{}' \"$@\"\n", booth_bin().display()));
        let wrapper = std::env::temp_dir().join(format!("booth-e2e-env-{}-{control_port}.sh", std::process::id()));
        std::fs::write(&wrapper, script).expect("wrapper script");
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).expect("chmod wrapper");
        let mut args = vec!["run".to_string(), package.to_string(), "--control-port".into(), control_port.to_string()];
        args.extend(extra.iter().map(|s| s.to_string()));
        Self::start_app(wrapper, args, control_port).await
    }

    /// Launches `app` (booth, or a script that runs it) with these arguments.
    pub async fn start_app(app: PathBuf, args: Vec<String>, control_port: u16) -> Booth {
        reap_leftovers();
        register(control_port);
        let caps = json!({
            "tauri:options": { "application": app.display().to_string(), "args": args },
        });
        let caps = caps.as_object().cloned().expect("object");
        let url = driver_url();
        // A session whose test was killed while the driver was still creating it holds the
        // driver's one session until the driver notices its browser is gone.
        let start = Instant::now();
        let client = loop {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e)
                    if e.to_string().contains("Maximum number of active sessions") && start.elapsed() < DRIVER_BUSY =>
                {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(e) if e.to_string().contains("Maximum number of active sessions") => panic!(
                    "tauri-driver at {url} still holds another session after {DRIVER_BUSY:?} ({e}): a test killed \
                     while its session was being created leaves one the driver never ends; restart tauri-driver"
                ),
                Err(e) => panic!("cannot reach tauri-driver at {url} ({e}); run through scripts/test-all"),
            }
        };
        if let Ok(Some(session)) = client.session_id().await {
            register_session(control_port, &session);
        }
        let booth = Booth { client, control_port };
        booth
            .wait_for("return !!window.__BOOTH__ && document.readyState === 'complete'", Duration::from_secs(15))
            .await;
        booth
    }

    /// Polls a JS expression (a `return …` body) until it is truthy (as JS counts it: not
    /// null, false, 0 or "").
    pub async fn wait_for(&self, js: &str, within: Duration) -> Value {
        let start = Instant::now();
        loop {
            match self.client.execute(js, vec![]).await {
                Ok(v) if truthy(&v) => return v,
                Ok(_) | Err(_) if start.elapsed() < within => tokio::time::sleep(Duration::from_millis(50)).await,
                Ok(v) => panic!("`{js}` still {v} after {within:?}"),
                Err(e) => panic!("`{js}` failed: {e}"),
            }
        }
    }

    /// Runs async JS: the body gets `done` (call it with the result) and `arg`.
    pub async fn run_async(&self, body: &str, arg: Value) -> Value {
        let script = format!("const done = arguments[arguments.length - 1]; const arg = arguments[0]; {body}");
        self.client.execute_async(&script, vec![arg]).await.unwrap_or_else(|e| panic!("script failed: {e}\n{body}"))
    }

    /// `my.call('ampeHHCommunication', params, cb)` → the reply.
    pub async fn ampe(&self, params: Value) -> Value {
        self.run_async("my.call('ampeHHCommunication', arg, done);", params).await
    }

    /// Starts `my.call('ampeHHCommunication', params)` without waiting: the reply will land in
    /// `window.<var>` (read it with [`Booth::ampe_result`]). Gives the call 300 ms to reach the
    /// device before returning, so a test can then produce the device event.
    pub async fn ampe_pending(&self, var: &str, params: Value) {
        let script = "const v = arguments[0]; window[v] = null; my.call('ampeHHCommunication', arguments[1], function (r) { window[v] = r; }); return true;";
        self.client.execute(script, vec![Value::from(var), params]).await.expect("start the call");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    /// The reply of an [`Booth::ampe_pending`] call, waiting up to 5 s for it.
    pub async fn ampe_result(&self, var: &str) -> Value {
        self.wait_for(&format!("return window[{}]", Value::from(var)), Duration::from_secs(5)).await
    }

    /// An HTTP request to the control endpoint: (status, JSON body).
    pub fn control(&self, method: &str, path: &str, body: &str) -> (u16, Value) {
        http(self.control_port, method, path, body)
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// Where each booth a test starts is registered: a file named after its control port holding
/// the test process's id and, once the driver has made it, the WebDriver session. The driver starts booth, so booth outlives a test process that is
/// killed (a timeout): a kiosk left fullscreen above everything takes the next tests' clicks
/// and windows, and they fail for no fault of their own.
fn registry() -> PathBuf {
    std::env::temp_dir().join("booth-e2e-booths")
}

/// How long a new session waits for the driver's one session to be free.
const DRIVER_BUSY: Duration = Duration::from_secs(30);

fn driver_url() -> String {
    std::env::var("TAURI_DRIVER_URL").unwrap_or_else(|_| "http://127.0.0.1:4444".into())
}

fn register(control_port: u16) {
    let dir = registry();
    std::fs::create_dir_all(&dir).expect("booth registry");
    std::fs::write(dir.join(control_port.to_string()), std::process::id().to_string()).expect("register booth");
}

/// Adds the WebDriver session to a booth's registration, so that the session of a killed test
/// can be ended as well.
fn register_session(control_port: u16, session: &str) {
    let text = format!("{} {session}", std::process::id());
    let _ = std::fs::write(registry().join(control_port.to_string()), text);
}

/// `DELETE /session/<id>` on the driver (a plain HTTP URL), ignoring the answer.
fn end_session(session: &str) {
    let url = driver_url();
    let Some(authority) = url.strip_prefix("http://").map(|r| r.split('/').next().unwrap_or(r)) else { return };
    let Ok(mut s) = TcpStream::connect(authority) else { return };
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let req = format!(
        "DELETE /session/{session} HTTP/1.1\r\nHost: {authority}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if s.write_all(req.as_bytes()).is_ok() {
        let _ = s.read_to_end(&mut Vec::new());
    }
}

/// Stops every registered booth whose test process is gone (ended, or killed before it could
/// stop its booth), and forgets it.
pub fn reap_leftovers() {
    let Ok(entries) = std::fs::read_dir(registry()) else { return };
    for e in entries.flatten() {
        let Some(port) = e.file_name().to_str().and_then(|n| n.parse::<u16>().ok()) else { continue };
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        let mut words = text.split_whitespace();
        let (owner, session) = (words.next().unwrap_or_default(), words.next());
        if !owner.is_empty() && std::path::Path::new("/proc").join(owner).exists() {
            continue;
        }
        if let Some(pid) = booth_pid(port) {
            eprintln!("stopping booth {pid} (control port {port}) left by test process {owner}");
            stop_process(pid);
        }
        if let Some(session) = session {
            end_session(session);
        }
        let _ = std::fs::remove_file(e.path());
    }
}

/// SIGTERM, then SIGKILL if the process is still there after 5 s.
fn stop_process(pid: u32) {
    let alive = || std::path::Path::new("/proc").join(pid.to_string()).exists();
    let _ = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    let start = Instant::now();
    while alive() && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
    }
    if alive() {
        let _ = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status();
    }
}

/// The id of the first visible window whose name matches `pattern` (xdotool's regular
/// expression), polled for up to `within`. (xdotool's `--sync` would wait forever: a test that
/// hangs instead of failing says nothing of what it waited for.)
pub fn visible_window(pattern: &str, within: Duration) -> String {
    let start = Instant::now();
    loop {
        if let Some(id) = visible_window_now(pattern) {
            return id;
        }
        assert!(start.elapsed() < within, "no visible window named `{pattern}` after {within:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The id of the first visible window whose name matches `pattern`, if one shows now.
pub fn visible_window_now(pattern: &str) -> Option<String> {
    let out = std::process::Command::new("xdotool")
        .args(["search", "--onlyvisible", "--name", pattern])
        .output()
        .expect("xdotool");
    String::from_utf8_lossy(&out.stdout).lines().next().map(|id| id.trim().to_string())
}

/// Gives the visible window named `pattern` the keyboard focus, as a person clicking on it
/// would, and waits (up to 5 s) until the X server says it has it.
pub fn activate_window(pattern: &str) {
    let id = visible_window(pattern, Duration::from_secs(10));
    let start = Instant::now();
    loop {
        let _ = std::process::Command::new("xdotool").args(["windowactivate", &id]).output();
        let out = std::process::Command::new("xdotool").arg("getactivewindow").output().expect("xdotool");
        if String::from_utf8_lossy(&out.stdout).trim() == id {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "window `{pattern}` ({id}) not focused after 5 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The process id of the booth serving its control endpoint on `control_port` (the driver
/// starts it, so the test does not hold it as a child): found in `/proc` by its command line.
pub fn booth_pid(control_port: u16) -> Option<u32> {
    let port = control_port.to_string();
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        let is_booth = args.first().is_some_and(|a0| a0.ends_with(b"booth"));
        let has_port = args.windows(2).any(|w| w[0] == b"--control-port" && w[1] == port.as_bytes());
        (is_booth && has_port).then_some(pid)
    })
}

/// Presses a button of Booth's face screen (`cancel`, `agree`, …) in the window titled `title`
/// as a person does: a click of the X server where the button is (the screen ignores clicks a
/// script makes, and its shadow root is closed).
pub async fn press_face_button(b: &Booth, title: &str, action: &str) {
    let js = format!("return window.__boothFace.where('{action}')");
    let at = b.wait_for(&js, Duration::from_secs(20)).await;
    touch(title, &at);
}

/// A click of the X server at `at` ({x, y}: CSS pixels of the page) in the window named `title`.
pub fn touch(title: &str, at: &Value) {
    let window = visible_window(&format!("^{title}$"), Duration::from_secs(10));
    let (x, y) = (at["x"].as_i64().expect("x").to_string(), at["y"].as_i64().expect("y").to_string());
    let out = std::process::Command::new("xdotool")
        .args(["mousemove", "--window", &window, &x, &y, "click", "1"])
        .output()
        .expect("xdotool");
    assert!(out.status.success(), "xdotool: {}", String::from_utf8_lossy(&out.stderr));
}

/// The web processes (WebKitWebProcess) directly under booth's process `booth`.
pub fn web_processes(booth: u32) -> Vec<u32> {
    let out = std::process::Command::new("pgrep")
        .args(["-P", &booth.to_string(), "WebKitWebProces"])
        .output()
        .expect("pgrep");
    String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| l.trim().parse().ok()).collect()
}

/// `GET /health` of a running booth.
pub fn health(b: &Booth) -> Value {
    b.control("GET", "/health", "").1
}

/// Waits (polling every 50 ms) for `/health` to satisfy `ok`, and returns it; fails the test
/// with `what` and the last answer after `within`.
pub async fn health_until(b: &Booth, what: &str, within: Duration, ok: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let h = health(b);
        if ok(&h) {
            return h;
        }
        assert!(start.elapsed() < within, "{what}: still not after {within:?}: {h}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The main window's address in a `/health` answer.
pub fn main_url(h: &Value) -> String {
    h["windows"]["main"]["url"].as_str().unwrap_or_default().to_string()
}

/// Launches booth with every device simulated, runs `test` against it, and always closes the
/// WebDriver session (which ends booth) — also when the test panics, so that the next test gets
/// a free driver.
pub async fn with_booth(package: &str, extra: &[&str], test: impl AsyncFnOnce(&Booth)) {
    run_with(Booth::launch(package, true, extra).await, test).await
}

/// Like [`with_booth`], with the device backends of the configuration (pass `--config FILE`).
pub async fn with_real_booth(package: &str, extra: &[&str], test: impl AsyncFnOnce(&Booth)) {
    run_with(Booth::launch(package, false, extra).await, test).await
}

/// Like [`with_real_booth`], with variables added to booth's environment.
pub async fn with_real_booth_env(
    package: &str,
    extra: &[&str],
    env: &[(String, String)],
    test: impl AsyncFnOnce(&Booth),
) {
    run_with(Booth::launch_with_env(package, extra, env).await, test).await
}

/// Like [`with_booth`], for `booth dev <dir> <extra…>`.
pub async fn with_dev(dir: &str, extra: &[&str], test: impl AsyncFnOnce(&Booth)) {
    run_with(Booth::dev(dir, extra).await, test).await
}

async fn run_with(booth: Booth, test: impl AsyncFnOnce(&Booth)) {
    use futures::FutureExt;
    let outcome = std::panic::AssertUnwindSafe(test(&booth)).catch_unwind().await;
    booth.close().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Serves a folder over HTTP on 127.0.0.1:`port` (python3's http.server) for remote-package tests.
pub fn serve_dir(dir: &str, port: u16) -> std::process::Child {
    let child = std::process::Command::new("python3")
        .args(["-m", "http.server", &port.to_string(), "--bind", "127.0.0.1", "--directory", dir])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("python3 http.server");
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(10), "http.server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

/// A minimal HTTP/1.1 client for the loopback control endpoint.
pub fn http(port: u16, method: &str, path: &str, body: &str) -> (u16, Value) {
    try_http(port, method, path, body).unwrap_or_else(|| panic!("control endpoint on port {port} not answering"))
}
