//! A private pcscd with vpcd virtual readers: the PC/SC stand-in.
//!
//! [`Pcscd::start`] writes a reader configuration into its own directory and runs
//! `pcscd --foreground --apdu --debug --config DIR`, so `/etc/reader.conf.d` stays untouched. The
//! configuration declares two vpcd drivers of two slots each, on free loopback ports:
//!
//! | reader name | what tests use it for |
//! | --- | --- |
//! | `Booth Card 00 00` | the card reader (CPU cards, social security cards) |
//! | `Booth Card 00 01` | a second contact slot (unused unless a test wants one) |
//! | `Booth PSAM 00 00` | PSAM slot 1 |
//! | `Booth PSAM 00 01` | PSAM slot 2 |
//!
//! A [`crate::vcard::VirtualCard`] inserted into a slot's port is a card in that reader.
//!
//! vpcd keeps its connections in globals indexed by slot number, so two readers of one loaded
//! driver share them: the second driver entry would take over the first one's slots. The PSAM
//! entry therefore loads a copy of the driver from the private directory, which the dynamic
//! loader treats as a separate library with its own globals.
//! pcscd listens on the fixed socket `/run/pcscd/pcscd.comm`, so one runs at a time: the guard
//! holds an exclusive lock (`$TMPDIR/booth-pcscd.lock`) for its lifetime, which makes tests that
//! use cards wait for each other even across processes. [`Pcscd::stop`] and [`Pcscd::restart`]
//! are what "pcscd restarted" looks like to Booth: every reader disappears, then comes back.

use std::fs::File;
use std::os::unix::io::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const PCSCD: &str = "pcscd";
const DRIVER: &str = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";
const PID_FILE: &str = "/run/pcscd/pcscd.pid";
const SOCKET: &str = "/run/pcscd/pcscd.comm";
/// Every private configuration directory has this in its path; a pcscd whose command line has
/// it was started by a test (e.g. one killed by a timeout) and may be stopped by the next.
const MARK: &str = "booth-pcscd-";

/// One of the four virtual readers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Card,
    Card2,
    Psam1,
    Psam2,
}

impl Slot {
    pub const ALL: [Slot; 4] = [Slot::Card, Slot::Card2, Slot::Psam1, Slot::Psam2];

    /// The PC/SC reader name pcscd gives it.
    pub fn reader_name(self) -> &'static str {
        match self {
            Slot::Card => "Booth Card 00 00",
            Slot::Card2 => "Booth Card 00 01",
            Slot::Psam1 => "Booth PSAM 00 00",
            Slot::Psam2 => "Booth PSAM 00 01",
        }
    }
}

/// A running private pcscd; stopped (SIGTERM, then waited for) on drop.
pub struct Pcscd {
    dir: PathBuf,
    child: Option<Child>,
    /// First port of the card driver's pair, first port of the PSAM driver's pair.
    ports: (u16, u16),
    starts: u32,
    _lock: Lock,
}

impl Pcscd {
    /// Takes the lock, stops a pcscd left over by an earlier test, writes the configuration and
    /// starts pcscd, returning once it says "daemon ready".
    pub fn start() -> Pcscd {
        let lock = Lock::acquire(&std::env::temp_dir().join("booth-pcscd.lock"));
        stop_leftover();
        static N: AtomicU32 = AtomicU32::new(0);
        let dir =
            std::env::temp_dir().join(format!("{MARK}{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("reader.conf.d")).expect("pcscd config dir");
        let psam_driver = dir.join("libifdvpcd-psam.so");
        std::fs::copy(DRIVER, &psam_driver)
            .unwrap_or_else(|e| panic!("{DRIVER}: {e} (apt-get install pcscd vsmartcard-vpcd)"));
        let ports = (free_port_pair(), free_port_pair());
        let conf = format!(
            "FRIENDLYNAME \"Booth Card\"\nDEVICENAME /dev/null:{}\nLIBPATH {DRIVER}\nCHANNELID {}\n\n\
             FRIENDLYNAME \"Booth PSAM\"\nDEVICENAME /dev/null:{}\nLIBPATH {}\nCHANNELID {}\n",
            ports.0,
            ports.0,
            ports.1,
            psam_driver.display(),
            ports.1
        );
        std::fs::write(dir.join("reader.conf.d").join("booth-vpcd"), conf).expect("reader config");
        let mut p = Pcscd { dir, child: None, ports, starts: 0, _lock: lock };
        p.spawn();
        p
    }

    /// The TCP port a virtual card connects to, to be inserted into `slot`.
    pub fn port(&self, slot: Slot) -> u16 {
        match slot {
            Slot::Card => self.ports.0,
            Slot::Card2 => self.ports.0 + 1,
            Slot::Psam1 => self.ports.1,
            Slot::Psam2 => self.ports.1 + 1,
        }
    }

    /// The private configuration directory (`pcscd -c DIR/reader.conf.d`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// pcscd's log of the current run (APDUs included).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path(self.starts)).unwrap_or_default()
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    fn log_path(&self, n: u32) -> PathBuf {
        self.dir.join(format!("pcscd{n}.log"))
    }

    fn spawn(&mut self) {
        assert!(self.child.is_none(), "pcscd is already running");
        self.starts += 1;
        let log_path = self.log_path(self.starts);
        let log = File::create(&log_path).expect("pcscd log");
        let err = log.try_clone().expect("pcscd log");
        let mut cmd = Command::new(PCSCD);
        cmd.args(["--foreground", "--apdu", "--debug", "--config"])
            .arg(self.dir.join("reader.conf.d"))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err));
        // SAFETY: prctl is async-signal-safe; it only asks the kernel to SIGTERM pcscd when the
        // test thread that started it ends, so a test killed mid-way leaves no daemon behind.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let child =
            cmd.spawn().unwrap_or_else(|e| panic!("cannot start {PCSCD} (apt-get install pcscd vsmartcard-vpcd): {e}"));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            // Ready, and its socket there for clients (a client a moment too early got NoService).
            if log.contains("daemon ready") && Path::new(SOCKET).exists() {
                break;
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                self.child = None;
                panic!("pcscd exited early ({status}):\n{log}");
            }
            assert!(Instant::now() < deadline, "pcscd not ready within 10 s:\n{log}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops pcscd (SIGTERM) and waits until it has exited and removed its socket: to Booth,
    /// every reader is gone and the PC/SC service has stopped.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            terminate(child.id() as i32);
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    /// Stops and starts pcscd with the same configuration (same reader names and ports).
    /// Virtual cards must be inserted again: their connections ended with the old daemon.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

impl Drop for Pcscd {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn terminate(pid: i32) {
    // SAFETY: plain kill(2) on a process id we started.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
}

/// A pcscd started by an earlier test that did not get to stop it (its configuration path has
/// [`MARK`]) is stopped; any other running pcscd is an error: tests need the socket.
fn stop_leftover() {
    let Ok(pid) = std::fs::read_to_string(PID_FILE) else { return };
    let Ok(pid) = pid.trim().parse::<i32>() else { return };
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    if cmdline.is_empty() {
        return; // stale pid file: pcscd cleans it up itself
    }
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    assert!(
        cmdline.contains(MARK),
        "another pcscd is running (pid {pid}: {cmdline}); smart card tests start their own: stop it first"
    );
    terminate(pid);
    let deadline = Instant::now() + Duration::from_secs(5);
    while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Two consecutive free loopback ports (vpcd listens on PORT and PORT+1). Bound, then released:
/// nothing may connect to a vpcd port to test it, since a connection is a card insertion.
fn free_port_pair() -> u16 {
    for _ in 0..100 {
        let a = std::net::TcpListener::bind("0.0.0.0:0").expect("bind");
        let port = a.local_addr().expect("addr").port();
        if port < u16::MAX && std::net::TcpListener::bind(("0.0.0.0", port + 1)).is_ok() {
            return port;
        }
    }
    panic!("no two consecutive free ports");
}

/// An exclusive `flock` on a file, released when dropped (or when the process ends).
struct Lock {
    _file: File,
}

impl Lock {
    fn acquire(path: &Path) -> Lock {
        let f = File::options().create(true).truncate(false).write(true).open(path).expect("lock file");
        // SAFETY: flock on a descriptor we own.
        let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
        assert_eq!(r, 0, "flock {}: {}", path.display(), std::io::Error::last_os_error());
        Lock { _file: f }
    }
}
