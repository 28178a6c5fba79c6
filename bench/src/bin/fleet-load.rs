//! The fleet load tool: N simulated terminals — the real agent, with a host that has no
//! windows — against one private mosquitto, and what it costs. Prints: time for all terminals
//! to connect, telemetry throughput, command round trips to one terminal and to all, a staged
//! rollout of a signed package to all of them from a local HTTP server, the broker's and the
//! simulator's memory and the broker's CPU, and the time for all terminals to reconnect after a
//! broker restart.
//!
//!   cargo run --release -p booth-bench --bin fleet-load -- [TERMINALS] [TELEMETRY_S]
//!
//! Defaults: 10000 terminals, telemetry every 30 s. Needs mosquitto; it raises its own (and so
//! the broker's) file-descriptor limit to 3 per terminal, which needs root or a hard limit that
//! high.

// It reads /proc and sets resource limits: Linux only.
#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("fleet-load: Linux only");
}

#[cfg(target_os = "linux")]
fn main() {
    linux::main()
}

#[cfg(target_os = "linux")]
mod linux {
    use booth_fleet::agent::{AgentOptions, AgentState};
    use booth_fleet::host::Windowless;
    use booth_fleet::operator::{Operator, OperatorOptions, PushOptions, Target};
    use booth_fleet::store::Store;
    use booth_fleet::{Agent, FleetHost, FleetSection};
    use serde_json::{json, Map};
    use std::path::Path;
    use std::path::PathBuf;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    /// The broker: a private mosquitto on a free loopback port (its own configuration and
    /// persistence in a temporary folder), restartable with what it persisted.
    struct Broker {
        dir: PathBuf,
        port: u16,
        child: Option<std::process::Child>,
    }

    impl Broker {
        fn start(dir: PathBuf) -> Broker {
            std::fs::create_dir_all(dir.join("data")).expect("broker dir");
            let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
            let conf = format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\n\
                 max_connections -1\nmax_keepalive 600\nmax_queued_messages 100000\nlog_dest none\n",
                dir.join("data").display()
            );
            std::fs::write(dir.join("mosquitto.conf"), conf).expect("mosquitto.conf");
            let mut b = Broker { dir, port, child: None };
            b.run();
            b
        }

        fn run(&mut self) {
            let child = std::process::Command::new("/usr/sbin/mosquitto")
                .arg("-c")
                .arg(self.dir.join("mosquitto.conf"))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("mosquitto (apt-get install mosquitto)");
            self.child = Some(child);
            while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
                std::thread::sleep(Duration::from_millis(20));
            }
        }

        fn stop(&mut self) {
            if let Some(mut c) = self.child.take() {
                // SAFETY: signalling the broker this tool started.
                unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
                let _ = c.wait();
            }
        }

        fn restart(&mut self) {
            self.stop();
            self.run();
        }

        fn pid(&self) -> Option<u32> {
            self.child.as_ref().map(|c| c.id())
        }

        fn url(&self) -> String {
            format!("mqtt://127.0.0.1:{}", self.port)
        }
    }

    impl Drop for Broker {
        fn drop(&mut self) {
            self.stop();
        }
    }

    /// Serves one file over HTTP/1.1 (the package server of the rollout), a thread per request.
    fn serve(path: &'static str, body: Vec<u8>) -> u16 {
        use std::io::{BufRead, BufReader, Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        let body = Arc::new(body);
        std::thread::spawn(move || {
            for conn in l.incoming().flatten() {
                let body = body.clone();
                std::thread::spawn(move || {
                    let Ok(read_half) = conn.try_clone() else { return };
                    let mut r = BufReader::new(read_half);
                    let mut line = String::new();
                    let _ = r.read_line(&mut line);
                    let asked = line.split_whitespace().nth(1).unwrap_or("").to_string();
                    loop {
                        let mut h = String::new();
                        if r.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                            break;
                        }
                    }
                    let mut w = conn;
                    if asked == path {
                        let _ =
                            write!(w, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                        let _ = w.write_all(&body);
                    } else {
                        let _ =
                            w.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                    }
                    let _ = r.read(&mut [0u8; 1]);
                });
            }
        });
        port
    }

    /// A small package (a few hundred bytes): miniapp.json and an entry page.
    fn package_zip(version: &str) -> Vec<u8> {
        use std::io::Write;
        let mut buf = std::io::Cursor::new(Vec::new());
        let mut w = zip::ZipWriter::new(&mut buf);
        let o = zip::write::SimpleFileOptions::default();
        let manifest = json!({"id": "shop", "name": "Shop", "version": version, "entry": "index.html"});
        w.start_file("miniapp.json", o).expect("zip");
        w.write_all(manifest.to_string().as_bytes()).expect("zip");
        w.start_file("index.html", o).expect("zip");
        w.write_all(b"<!doctype html><p>shop").expect("zip");
        w.finish().expect("zip");
        buf.into_inner()
    }

    /// This process's resident memory (bytes): the simulated terminals.
    fn own_rss() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    }

    /// The broker's resident memory (bytes) and CPU time used so far (seconds).
    fn broker_usage(pid: u32) -> (u64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let rss_kb = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0);
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let fields: Vec<&str> = stat.rsplit_once(')').map(|(_, r)| r.split_whitespace().collect()).unwrap_or_default();
        let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        // After the `)`: state is field 0, utime 11, stime 12.
        (rss_kb * 1024, (ticks(11) + ticks(12)) / hz.max(1.0))
    }

    fn percentile(sorted: &[f64], p: f64) -> f64 {
        if sorted.is_empty() {
            return f64::NAN;
        }
        sorted[((sorted.len() - 1) as f64 * p).round() as usize]
    }

    fn raise_fd_limit(want: u64) {
        let mut l = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit/setrlimit of this process with valid pointers.
        unsafe {
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut l);
            let max = l.rlim_max.max(want);
            if libc::setrlimit(libc::RLIMIT_NOFILE, &libc::rlimit { rlim_cur: want, rlim_max: max }) != 0 {
                libc::setrlimit(libc::RLIMIT_NOFILE, &libc::rlimit { rlim_cur: l.rlim_max, rlim_max: l.rlim_max });
            }
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut l);
        }
        println!("file descriptors: {}", l.rlim_cur);
    }

    async fn all_connected(states: &[Arc<AgentState>], connections: u64, limit: Duration) -> Option<Duration> {
        let t0 = Instant::now();
        loop {
            let n = states.iter().filter(|s| s.connected() && s.connections() >= connections).count();
            if n == states.len() {
                return Some(t0.elapsed());
            }
            if t0.elapsed() > limit {
                println!("  only {n} of {} connected after {limit:?}", states.len());
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn main() {
        let args: Vec<String> = std::env::args().collect();
        let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
        let telemetry_s: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(30);
        raise_fd_limit((n as u64) * 3 + 4096);
        let dir = tempfile::tempdir().expect("temp dir");
        // Started after the limit was raised: the broker inherits it.
        let mut broker = Broker::start(dir.path().join("broker"));
        let pid = broker.pid().unwrap_or(0);
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
        rt.block_on(async move {
            let (update_pk, update_sk) = booth_fleet::signing::keygen(None).expect("keygen");
            let update_sk = minisign::SecretKeyBox::from_string(&update_sk)
                .and_then(|b| b.into_unencrypted_secret_key())
                .expect("secret key");
            let devices = json!({"scanner": {"backend": "serial", "available": true}, "printer": {"backend": "cups", "available": true}});
            let (rss0, cpu0) = broker_usage(pid);
            println!("{n} terminals, telemetry every {telemetry_s} s, one mosquitto (pid {pid})");
            println!("broker at start: {:.1} MiB", rss0 as f64 / 1048576.0);

            // Connect them all.
            let t0 = Instant::now();
            let mut agents = Vec::with_capacity(n);
            let mut states = Vec::with_capacity(n);
            for i in 0..n {
                let section = FleetSection {
                    broker: broker.url(),
                    terminal_id: format!("L{i:05}"),
                    allow_insecure: true,
                    telemetry_s,
                    keepalive_s: 60,
                    update_keys: vec![update_pk.clone()],
                    ..Default::default()
                };
                let config = section.resolve("SN", &dir.path().join(format!("t{i}"))).expect("config");
                let store = Store::new(config.packages_dir.clone());
                let host = Arc::new(Windowless::new(store.clone()).with_devices(devices.clone()));
                let opts = AgentOptions { config, booth_version: "0.1.0".into(), store };
                let a = Arc::new(
                    Agent::start(&tokio::runtime::Handle::current(), opts, host.clone() as Arc<dyn FleetHost>)
                        .expect("agent"),
                );
                host.attach(&a);
                states.push(a.state());
                agents.push(a);
            }
            let started = t0.elapsed();
            let connected = all_connected(&states, 1, Duration::from_secs(600)).await;
            let (rss1, cpu1) = broker_usage(pid);
            println!(
                "connect: agents started in {:.2} s; all connected {} after the first start; broker {:.1} MiB, {:.1} CPU s; \
                 simulator {:.0} MiB ({:.1} KiB a terminal)",
                started.as_secs_f64(),
                connected.map(|d| format!("{:.2} s", (d + started).as_secs_f64())).unwrap_or("—".into()),
                rss1 as f64 / 1048576.0,
                cpu1 - cpu0,
                own_rss() as f64 / 1048576.0,
                own_rss() as f64 / 1024.0 / n as f64,
            );

            let mut oo = OperatorOptions::new(&broker.url(), true).expect("url");
            oo.client_id = Some("load-operator".into());
            let op = Operator::connect(oo.clone(), Duration::from_secs(30)).await.expect("operator");

            // Telemetry throughput, as an operator subscribed to all of it sees it.
            oo.client_id = Some("load-telemetry".into());
            let tel = Operator::connect(oo.clone(), Duration::from_secs(30)).await.expect("operator");
            tel.subscribe(&["booth/v1/t/+/telemetry".into()]).await.expect("subscribe");
            tokio::time::sleep(Duration::from_secs(2)).await;
            let before = tel.messages(|m| !m.retain).len();
            let (_, cpu_a) = broker_usage(pid);
            let window = Duration::from_secs(telemetry_s.max(10));
            tokio::time::sleep(window).await;
            let got = tel.messages(|m| !m.retain).len() - before;
            let (rss2, cpu_b) = broker_usage(pid);
            println!(
                "telemetry: {got} messages in {} s = {:.0}/s (expected {:.0}/s); broker {:.1} MiB, CPU {:.1} %",
                window.as_secs(),
                got as f64 / window.as_secs_f64(),
                n as f64 / telemetry_s as f64,
                rss2 as f64 / 1048576.0,
                (cpu_b - cpu_a) / window.as_secs_f64() * 100.0,
            );
            drop(tel);

            // Commands to one terminal, one after another.
            let ttl = Duration::from_secs(120);
            let mut rtt = Vec::new();
            for _ in 0..200 {
                let t = Instant::now();
                let r = op
                    .command(&Target::One("L00000".into()), "reload", Map::new(), None, ttl, Duration::from_secs(30))
                    .await
                    .expect("command");
                if r.results.first().is_some_and(|x| x.ok) {
                    rtt.push(t.elapsed().as_secs_f64() * 1000.0);
                }
            }
            rtt.sort_by(|a, b| a.total_cmp(b));
            println!(
                "command to one terminal: {} of 200 answered, p50 {:.1} ms, p99 {:.1} ms",
                rtt.len(),
                percentile(&rtt, 0.5),
                percentile(&rtt, 0.99)
            );

            // One command to all.
            let id = booth_fleet::operator::command_id();
            op.subscribe(&["booth/v1/t/+/cmd/res".into()]).await.expect("subscribe");
            let sent = booth_fleet::protocol::now_ms();
            let t = Instant::now();
            op.send_command(&Target::All, &id, "reload", Map::new(), None, ttl).await.expect("send");
            let mut last = 0;
            let mut still = Instant::now();
            while t.elapsed() < Duration::from_secs(300) {
                let k = op.results(&id).len();
                if k != last {
                    last = k;
                    still = Instant::now();
                }
                if k >= n || still.elapsed() > Duration::from_secs(15) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let mut lat: Vec<f64> = op.results(&id).iter().map(|r| r.at.saturating_sub(sent) as f64).collect();
            let all = lat.iter().cloned().fold(0.0, f64::max);
            lat.sort_by(|a, b| a.total_cmp(b));
            println!(
                "command to all: {} of {n} answered; the terminals ran it p50 {:.0} ms, p99 {:.0} ms, last {:.0} ms after it was sent",
                lat.len(),
                percentile(&lat, 0.5),
                percentile(&lat, 0.99),
                all
            );

            // A staged rollout of a signed package to every terminal: 10 first, then the rest;
            // each counts when its update event says installed.
            let work = dir.path().join("rollout");
            std::fs::create_dir_all(&work).expect("rollout dir");
            let zip = work.join("shop-2.0.0.zip");
            std::fs::write(&zip, package_zip("2.0.0")).expect("zip");
            booth_fleet::signing::sign_package_files(&zip, &update_sk, "0.1.0").expect("sign");
            let port = serve("/shop-2.0.0.zip", std::fs::read(&zip).expect("zip"));
            let push = PushOptions {
                url: format!("http://127.0.0.1:{port}/shop-2.0.0.zip"),
                first: 10,
                allow_downgrade: false,
                timeout: Duration::from_secs(600),
            };
            let (_, cpu_p0) = broker_usage(pid);
            let t = Instant::now();
            let report = op.push(&Target::All, Path::new(&zip), &push, None).await.expect("push");
            let took = t.elapsed();
            let (rss_p, cpu_p1) = broker_usage(pid);
            let installed = report.results.iter().filter(|r| r.result == "installed").count();
            let first_bad = report.results.iter().find(|r| !r.ok);
            println!(
                "staged rollout of {} bytes (10 first, then the rest): {installed} of {n} installed in {:.1} s ({:.0}/s); \
                 broker {:.1} MiB, {:.1} CPU s; simulator {:.0} MiB{}",
                std::fs::metadata(&zip).map(|m| m.len()).unwrap_or(0),
                took.as_secs_f64(),
                installed as f64 / took.as_secs_f64(),
                rss_p as f64 / 1048576.0,
                cpu_p1 - cpu_p0,
                own_rss() as f64 / 1048576.0,
                first_bad.map(|r| format!("; stopped at {}: {} {}", r.terminal, r.result, r.message)).unwrap_or_default(),
            );
            drop(op);

            // The broker restarts: every terminal reconnects (backoff 0.5 s doubling to 30 s).
            let t = Instant::now();
            broker.restart();
            let restarted = t.elapsed();
            let back = all_connected(&states, 2, Duration::from_secs(600)).await;
            let (rss3, _) = broker_usage(broker.pid().unwrap_or(0));
            println!(
                "broker restart: stopped and listening again in {:.2} s; all terminals back {} later; broker {:.1} MiB",
                restarted.as_secs_f64(),
                back.map(|d| format!("{:.2} s", d.as_secs_f64())).unwrap_or("—".into()),
                rss3 as f64 / 1048576.0,
            );
            drop(agents);
        });
    }
}
