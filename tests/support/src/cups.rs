//! A private cupsd: the CUPS stand-in. [`Cupsd::start`] writes its own `cupsd.conf` and
//! `cups-files.conf` (configuration, spool, state, cache, logs and backends in one directory,
//! a free loopback port, no authentication) and runs `cupsd -f -c FILE -s FILE`, so the
//! machine's CUPS — if any — is neither used nor changed.
//!
//! Its backend directory links the system's backends and adds `capture`: a queue with
//! `capture:/NAME` as its device writes every job to `DIR/capture/NAME/job-N` and, while
//! `NAME.hang` exists, hangs as an absent printer does (the job stays "processing"); while
//! `NAME.paperout` exists it also reports `media-empty-error`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const CAPTURE: &str = r#"#!/bin/sh
# Booth test backend: copies the job into a folder; hangs while NAME.hang exists.
if [ $# -eq 0 ]; then echo 'direct capture "Booth" "Booth capture backend"'; exit 0; fi
name="${DEVICE_URI#capture:/}"
dir="@DIR@"
out="$dir/$name"
mkdir -p "$out"
if [ -n "$6" ]; then cat "$6"; else cat; fi > "$out/.job-$1"
while [ -e "$dir/$name.hang" ]; do
  if [ -e "$dir/$name.paperout" ]; then echo "STATE: +media-empty-error" >&2; fi
  sleep 0.1
done
echo "STATE: -media-empty-error" >&2
mv "$out/.job-$1" "$out/job-$1"
exit 0
"#;

/// A running private cupsd; stopped (SIGTERM) and its directory removed on drop.
pub struct Cupsd {
    dir: PathBuf,
    child: Option<Child>,
    pub port: u16,
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn mkdir(p: &Path, mode: u32) {
    std::fs::create_dir_all(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

impl Cupsd {
    /// Starts cupsd and returns once it answers (`lpstat -r`).
    pub fn start() -> Cupsd {
        assert!(
            Path::new("/usr/sbin/cupsd").exists(),
            "cupsd missing: apt-get install cups cups-client cups-bsd printer-driver-cups-pdf"
        );
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "booth-cupsd-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        // Filters run as `lp`: every folder on the way must let them through.
        mkdir(&dir, 0o755);
        for d in ["etc", "etc/ppd", "spool", "spool/tmp", "state", "cache", "log"] {
            mkdir(&dir.join(d), 0o755);
        }
        mkdir(&dir.join("capture"), 0o777);
        let lib = dir.join("lib");
        mkdir(&lib.join("backend"), 0o755);
        for sub in ["filter", "cgi-bin", "daemon", "driver", "monitor", "notifier"] {
            let _ = std::os::unix::fs::symlink(Path::new("/usr/lib/cups").join(sub), lib.join(sub));
        }
        if let Ok(entries) = std::fs::read_dir("/usr/lib/cups/backend") {
            for e in entries.flatten() {
                let _ = std::os::unix::fs::symlink(e.path(), lib.join("backend").join(e.file_name()));
            }
        }
        let capture = lib.join("backend/capture");
        std::fs::write(&capture, CAPTURE.replace("@DIR@", &dir.join("capture").display().to_string()))
            .expect("backend");
        // 0700: cupsd runs it as root, like cups-pdf.
        std::fs::set_permissions(&capture, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        let port = free_port();
        let d = |p: &str| dir.join(p).display().to_string();
        let files = format!(
            "ServerRoot {}\nRequestRoot {}\nTempDir {}\nStateDir {}\nCacheDir {}\nServerBin {}\n\
             DataDir /usr/share/cups\nDocumentRoot /usr/share/cups/doc-root\n\
             AccessLog {}\nErrorLog {}\nPageLog {}\nSystemGroup root\nFileDevice No\n",
            d("etc"),
            d("spool"),
            d("spool/tmp"),
            d("state"),
            d("cache"),
            lib.display(),
            d("log/access_log"),
            d("log/error_log"),
            d("log/page_log"),
        );
        let conf = format!(
            "Listen 127.0.0.1:{port}\nLogLevel debug\nWebInterface No\nBrowsing No\nDefaultAuthType None\n\
             DefaultPolicy open\nJobRetryInterval 1\n\
             <Location />\n  Order allow,deny\n  Allow all\n</Location>\n\
             <Policy open>\n  <Limit All>\n    Order deny,allow\n    Allow all\n  </Limit>\n</Policy>\n"
        );
        std::fs::write(dir.join("etc/cups-files.conf"), files).expect("cups-files.conf");
        std::fs::write(dir.join("etc/cupsd.conf"), conf).expect("cupsd.conf");
        let out = std::fs::File::create(dir.join("log/cupsd.out")).expect("log");
        let child = Command::new("/usr/sbin/cupsd")
            .arg("-f")
            .arg("-c")
            .arg(dir.join("etc/cupsd.conf"))
            .arg("-s")
            .arg(dir.join("etc/cups-files.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::from(out.try_clone().expect("log")))
            .stderr(Stdio::from(out))
            .spawn()
            .expect("start cupsd");
        let mut c = Cupsd { dir, child: Some(child), port };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = c.child.as_mut().and_then(|ch| ch.try_wait().ok().flatten()) {
                panic!("cupsd exited ({status}): {}", c.log());
            }
            // `lpstat -r` exits 0 either way; only its words tell.
            let (ok, out) = c.run("lpstat", &["-r"]);
            if ok && out.contains("scheduler is running") {
                break;
            }
            assert!(Instant::now() < deadline, "cupsd did not answer within 15 s: {}", c.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        c
    }

    /// `http://127.0.0.1:PORT`, for `[printer] server`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs a CUPS client command against this cupsd; (success, stdout + stderr).
    pub fn run(&self, cmd: &str, args: &[&str]) -> (bool, String) {
        let out = Command::new(cmd)
            .arg("-h")
            .arg(format!("127.0.0.1:{}", self.port))
            .args(args)
            .env("CUPS_SERVER", format!("127.0.0.1:{}", self.port))
            .env("LC_ALL", "C")
            .output();
        match out {
            Ok(o) => (
                o.status.success(),
                format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)),
            ),
            Err(e) => (false, format!("{cmd}: {e}")),
        }
    }

    fn lpadmin(&self, args: &[&str]) {
        let (ok, out) = self.run("lpadmin", args);
        assert!(ok, "lpadmin {args:?}: {out}\n{}", self.log());
    }

    /// A cups-pdf queue (the virtual PDF printer, with its PPD's page sizes).
    pub fn add_pdf_queue(&self, name: &str) {
        self.lpadmin(&["-p", name, "-E", "-v", "cups-pdf:/", "-P", "/usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd"]);
    }

    /// A queue whose jobs land in [`Cupsd::captured`]; with `ppd` the data is filtered for it
    /// first, without it the queue is raw.
    pub fn add_capture_queue(&self, name: &str, ppd: Option<&str>) {
        let uri = format!("capture:/{name}");
        match ppd {
            Some(p) => self.lpadmin(&["-p", name, "-E", "-v", &uri, "-P", p]),
            None => self.lpadmin(&["-p", name, "-E", "-v", &uri, "-m", "raw"]),
        }
    }

    /// Jobs a capture queue finished, as (job id, bytes), oldest first.
    pub fn captured(&self, name: &str) -> Vec<(u32, Vec<u8>)> {
        let mut jobs: Vec<(u32, Vec<u8>)> = std::fs::read_dir(self.dir.join("capture").join(name))
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| {
                        let n = e.file_name().to_string_lossy().strip_prefix("job-")?.parse().ok()?;
                        Some((n, std::fs::read(e.path()).ok()?))
                    })
                    .collect()
            })
            .unwrap_or_default();
        jobs.sort_by_key(|j| j.0);
        jobs
    }

    /// The capture queue's printer hangs (absent printer) or works again.
    pub fn set_hang(&self, name: &str, hang: bool) {
        flag(&self.dir.join("capture").join(format!("{name}.hang")), hang);
    }

    /// While hanging, the printer also reports that it is out of paper.
    pub fn set_paper_out(&self, name: &str, out: bool) {
        flag(&self.dir.join("capture").join(format!("{name}.paperout")), out);
    }

    /// `lpstat -W all -o`: every job with its state words.
    pub fn jobs(&self) -> String {
        let mut s = self.run("lpstat", &["-W", "not-completed", "-o"]).1;
        s.push_str(&self.run("lpstat", &["-W", "completed", "-o"]).1);
        s
    }

    /// Jobs not completed yet (pending, held, processing).
    pub fn active_jobs(&self) -> String {
        self.run("lpstat", &["-W", "not-completed", "-o"]).1
    }

    /// The newest PDF cups-pdf wrote since `since` (it writes where its own configuration says:
    /// `~/PDF` of a local user, else `/var/spool/cups-pdf/ANONYMOUS`).
    pub fn cups_pdf_output_since(since: std::time::SystemTime) -> Option<PathBuf> {
        let mut dirs = vec![PathBuf::from("/var/spool/cups-pdf/ANONYMOUS")];
        if let Some(home) = std::env::var_os("HOME") {
            dirs.push(Path::new(&home).join("PDF"));
        }
        dirs.push(PathBuf::from("/root/PDF"));
        dirs.iter()
            .filter_map(|d| std::fs::read_dir(d).ok())
            .flat_map(|rd| rd.flatten())
            .filter(|e| e.path().extension().is_some_and(|x| x == "pdf"))
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .filter(|(t, _)| *t >= since)
            .max_by_key(|(t, _)| *t)
            .map(|(_, p)| p)
    }

    /// cupsd's error log (debug level).
    pub fn log(&self) -> String {
        let mut s = std::fs::read_to_string(self.dir.join("log/cupsd.out")).unwrap_or_default();
        s.push_str(&std::fs::read_to_string(self.dir.join("log/error_log")).unwrap_or_default());
        s
    }

    /// Waits until `f` holds, for up to `within`.
    pub fn wait(&self, within: Duration, mut f: impl FnMut(&Cupsd) -> bool) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if f(self) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        f(self)
    }
}

fn flag(path: &Path, on: bool) {
    if on {
        std::fs::write(path, b"").expect("flag file");
    } else {
        let _ = std::fs::remove_file(path);
    }
}

impl Drop for Cupsd {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGTERM: cupsd stops its jobs' processes itself.
            unsafe {
                libc::kill(child.id() as i32, libc::SIGTERM);
            }
            let deadline = Instant::now() + Duration::from_secs(5);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::env::var_os("BOOTH_KEEP_CUPSD").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
