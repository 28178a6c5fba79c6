//! End to end, the fleet agent inside a real Booth (`booth run` under the X display, no
//! WebDriver) against a private mosquitto: `screenshot` uploads a PNG of the main window, a
//! killed web process is reported as a `crash`, and so is a Booth killed outright, at its next
//! start.

use booth_e2e::{booth_bin, fixture};
use booth_fleet::operator::{Operator, OperatorOptions, Target};
use booth_testkit::mosquitto::Mosquitto;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(30);

/// What was PUT, by path.
type Uploads = Arc<Mutex<HashMap<String, Vec<u8>>>>;

/// Takes PUTs (the pre-signed upload URLs stand-in).
fn upload_server() -> (u16, Uploads) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let puts: Uploads = Arc::default();
    let p = puts.clone();
    std::thread::spawn(move || {
        for conn in l.incoming().flatten() {
            let mut r = BufReader::new(conn.try_clone().unwrap());
            let mut line = String::new();
            r.read_line(&mut line).unwrap_or(0);
            let path = line.split_whitespace().nth(1).unwrap_or("").split('?').next().unwrap_or("").to_string();
            let mut len = 0usize;
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; len];
            r.read_exact(&mut body).ok();
            p.lock().unwrap().insert(path, body);
            let mut w = conn;
            let _ = w.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (port, puts)
}

struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        // SAFETY: signalling the child this test started.
        unsafe { libc_kill(self.0.id() as i32, 15) };
        let _ = self.0.wait();
    }
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

fn start_booth(config: &std::path::Path, data: &std::path::Path) -> Running {
    let child = std::process::Command::new(booth_bin())
        .args(["run", &fixture("basic"), "--config", &config.display().to_string()])
        .env("XDG_DATA_HOME", data)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("booth starts");
    Running(child)
}

fn web_processes(booth: u32) -> Vec<u32> {
    let out = std::process::Command::new("pgrep")
        .args(["-P", &booth.to_string(), "WebKitWebProces"])
        .output()
        .expect("pgrep");
    String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| l.trim().parse().ok()).collect()
}

async fn wait_event(op: &Operator, what: &str, f: impl Fn(&Value) -> bool) -> Value {
    let end = Instant::now() + DEADLINE;
    loop {
        if let Some(m) = op.messages(|m| m.topic == "booth/v1/t/E2E-1/event" && f(&m.json())).first() {
            return m.json();
        }
        let all: Vec<String> = op
            .messages(|_| true)
            .iter()
            .map(|m| format!("{} {}", m.topic, String::from_utf8_lossy(&m.payload)))
            .collect();
        assert!(Instant::now() < end, "no {what} event; saw {all:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screenshot_and_crashes_reach_the_fleet() {
    let broker = Mosquitto::start();
    let (upload_port, puts) = upload_server();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("booth.toml");
    std::fs::write(
        &config,
        format!(
            "[log]\ndir = \"\"\n[fleet]\nbroker = \"{}\"\nterminal_id = \"E2E-1\"\nallow_insecure = true\ntelemetry_s = 1\n",
            broker.url()
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let mut o = OperatorOptions::new(&broker.url(), true).unwrap();
    o.client_id = Some("e2e-operator".into());
    let op = Operator::connect(o, DEADLINE).await.unwrap();
    op.subscribe(&["booth/v1/t/E2E-1/#".into()]).await.unwrap();

    let booth = start_booth(&config, &data);
    let end = Instant::now() + DEADLINE;
    while op.messages(|m| m.topic == "booth/v1/t/E2E-1/status" && m.json()["state"] == "online").is_empty() {
        assert!(Instant::now() < end, "Booth's agent never came online");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A screenshot of the main window, uploaded to the URL the command gave.
    let mut args = Map::new();
    args.insert("url".into(), json!(format!("http://127.0.0.1:{upload_port}/shots/main.png?X-Sig=abc")));
    // The page may still be loading at first: the web view has something to draw once it has.
    let mut shot = None;
    for _ in 0..10 {
        let r = op
            .command(&Target::One("E2E-1".into()), "screenshot", args.clone(), None, DEADLINE, DEADLINE)
            .await
            .unwrap();
        assert_eq!(r.results.len(), 1, "{r:?}");
        if r.results[0].ok {
            shot = Some(r.results[0].clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let shot = shot.expect("a screenshot within 10 tries");
    let png = puts.lock().unwrap().get("/shots/main.png").cloned().expect("uploaded");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    let (w, h) = (
        u32::from_be_bytes([png[16], png[17], png[18], png[19]]),
        u32::from_be_bytes([png[20], png[21], png[22], png[23]]),
    );
    assert!(w >= 100 && h >= 100, "{w}×{h}");
    assert_eq!(shot.data["main"]["bytes"].as_u64(), Some(png.len() as u64), "{:?}", shot.data);
    println!("screenshot of the main window: {w}×{h}, {} bytes", png.len());

    // The page's web process killed: a crash (and the recovery that follows it).
    let pids = web_processes(booth.0.id());
    assert!(!pids.is_empty(), "no WebKitWebProcess under booth");
    for pid in pids {
        // SAFETY: a process of the Booth this test started.
        unsafe { libc_kill(pid as i32, 9) };
    }
    let e = wait_event(&op, "crash", |v| v["type"] == "crash").await;
    assert!(e["what"].as_str().unwrap_or("").contains("main window"), "{e}");
    wait_event(&op, "recovery", |v| v["type"] == "recovery" && v["window"] == "main").await;

    // Booth itself killed; at its next start it says the run before ended without exiting.
    let pid = booth.0.id();
    // SAFETY: the Booth this test started.
    unsafe { libc_kill(pid as i32, 9) };
    drop(booth);
    let _again = start_booth(&config, &data);
    let e = wait_event(&op, "Booth crash", |v| {
        v["type"] == "crash" && v["what"].as_str().unwrap_or("").contains("ended without exiting")
    })
    .await;
    assert!(e["what"].as_str().unwrap_or("").contains(&pid.to_string()), "{e}");
}
