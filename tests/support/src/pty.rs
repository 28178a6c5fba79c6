//! A socat pty pair: the serial-device stand-in.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SOCAT: &str = "socat";
const POLL: Duration = Duration::from_millis(10);

/// One socat pair of linked ptys in `dir`; killed (and its links removed) on drop.
pub struct Socat {
    dir: PathBuf,
    child: Option<Child>,
    starts: u32,
}

impl Socat {
    pub fn start(dir: &Path) -> Socat {
        let mut s = Socat { dir: dir.to_path_buf(), child: None, starts: 0 };
        s.spawn();
        s
    }

    pub fn dev(&self) -> PathBuf {
        self.dir.join("dev")
    }

    pub fn app(&self) -> PathBuf {
        self.dir.join("app")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join(format!("socat{}.log", self.starts))).unwrap_or_default()
    }

    /// Starts socat and waits until both links exist.
    fn spawn(&mut self) {
        assert!(self.child.is_none(), "socat is already running");
        self.starts += 1;
        let log = File::create(self.dir.join(format!("socat{}.log", self.starts))).expect("socat log");
        let child = Command::new(SOCAT)
            .arg("-d")
            .arg("-d")
            .arg(format!("pty,raw,echo=0,link={}", self.dev().display()))
            .arg(format!("pty,raw,echo=0,link={}", self.app().display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {SOCAT}: {e}"));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(5);
        // `exists` follows the links: true once they point at live ptys.
        while !(self.dev().exists() && self.app().exists()) {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().expect("try_wait") {
                panic!("socat exited early ({status}): {}", self.log());
            }
            assert!(Instant::now() < deadline, "socat links did not appear within 5 s: {}", self.log());
            std::thread::sleep(POLL);
        }
    }

    /// An unplug: kills socat (SIGKILL), reaps it, and removes its links at once so that the
    /// scanner can never reopen a dangling link whose pty number another test got meanwhile.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(self.dev());
        let _ = std::fs::remove_file(self.app());
    }

    /// A replug: the same link names, new ptys.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Writes `bytes` to the device end, as the scanner hardware would.
    pub fn send(&self, bytes: &[u8]) {
        let mut dev = OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open(self.dev())
            .unwrap_or_else(|e| panic!("open {}: {e}", self.dev().display()));
        dev.write_all(bytes).expect("write to the device end");
        dev.flush().expect("flush");
    }
}

impl Drop for Socat {
    fn drop(&mut self) {
        self.kill();
    }
}
