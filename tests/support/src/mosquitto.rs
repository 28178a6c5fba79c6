//! A private mosquitto: the MQTT broker stand-in. [`Mosquitto::start`] writes its own
//! configuration (a free loopback port, anonymous clients, persistence in its own directory)
//! and runs `mosquitto -c FILE`, so the machine's broker — if any — is neither used nor changed.
//! [`Mosquitto::stop`] and [`Mosquitto::restart`] are "the broker went away and came back" on
//! the same port, with what it persisted (retained messages, sessions).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const BIN: &str = "/usr/sbin/mosquitto";

/// A running private mosquitto; stopped (SIGTERM) and its directory removed on drop.
pub struct Mosquitto {
    dir: PathBuf,
    child: Option<Child>,
    pub port: u16,
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

impl Mosquitto {
    /// Starts mosquitto and returns once it accepts connections.
    pub fn start() -> Mosquitto {
        Self::start_with("")
    }

    /// Like [`Mosquitto::start`], with more configuration lines (limits, ACLs …).
    pub fn start_with(extra: &str) -> Mosquitto {
        assert!(Path::new(BIN).exists(), "mosquitto missing: apt-get install mosquitto");
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "booth-mosquitto-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("data")).expect("mosquitto dir");
        let port = free_port();
        let conf = format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\n\
             log_dest file {}\nlog_type all\nmax_queued_messages 100000\n{extra}\n",
            dir.join("data").display(),
            dir.join("mosquitto.log").display(),
        );
        std::fs::write(dir.join("mosquitto.conf"), conf).expect("mosquitto.conf");
        let mut m = Mosquitto { dir, child: None, port };
        m.run();
        m
    }

    fn run(&mut self) {
        let child = Command::new(BIN)
            .arg("-c")
            .arg(self.dir.join("mosquitto.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mosquitto");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("mosquitto exited ({status}): {}", self.log());
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            assert!(Instant::now() < deadline, "mosquitto did not listen within 15 s: {}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `mqtt://127.0.0.1:PORT`, for `[fleet] broker` (with `allow_insecure`).
    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// The broker's process id (for its CPU and memory figures).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Stops the broker (SIGTERM: it saves what it persists) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: signalling a child this process started and has not reaped.
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(10);
            while c.try_wait().ok().flatten().is_none() {
                if Instant::now() > deadline {
                    let _ = c.kill();
                    let _ = c.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Starts it again on the same port with the same persistence.
    pub fn restart(&mut self) {
        self.stop();
        self.run();
    }

    pub fn log(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("mosquitto.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(60)..].join("\n")
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
