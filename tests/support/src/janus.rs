//! A private Janus WebRTC server with only its VideoRoom plugin and its HTTP API: the media
//! server stand-in for `finOpenWitnessVideo`. [`Janus::start`] writes its own configuration in a
//! directory of its own (plugin and transport folders holding links to just those two
//! libraries), listens on the address given, and is stopped on drop. Tests run it inside their
//! private network (`netns`): ICE needs a non-loopback address, and nothing leaves it.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const BIN: &str = "/usr/bin/janus";
const LIBS: &str = "/usr/lib/x86_64-linux-gnu/janus";

/// A running private Janus.
pub struct Janus {
    dir: PathBuf,
    child: Option<Child>,
    pub address: String,
    pub port: u16,
}

impl Janus {
    /// Starts Janus listening on `address:port` and returns once its HTTP API answers.
    pub fn start(address: &str, port: u16) -> Janus {
        assert!(std::path::Path::new(BIN).exists(), "janus missing: apt-get install janus");
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "booth-janus-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["conf", "plugins", "transports"] {
            std::fs::create_dir_all(dir.join(sub)).expect("janus dir");
        }
        std::os::unix::fs::symlink(
            format!("{LIBS}/plugins/libjanus_videoroom.so"),
            dir.join("plugins/libjanus_videoroom.so"),
        )
        .expect("link the videoroom plugin");
        std::os::unix::fs::symlink(
            format!("{LIBS}/transports/libjanus_http.so"),
            dir.join("transports/libjanus_http.so"),
        )
        .expect("link the HTTP transport");
        let conf = dir.join("conf");
        std::fs::write(
            conf.join("janus.jcfg"),
            format!(
                "general: {{ configs_folder = \"{c}\" plugins_folder = \"{d}/plugins\" transports_folder = \"{d}/transports\" \
                 debug_level = 4 session_timeout = 30 }}\n\
                 media: {{ rtp_port_range = \"20000-40000\" }}\nnat: {{ ice_ignore_list = \"lo\" }}\n",
                c = conf.display(),
                d = dir.display()
            ),
        )
        .expect("janus.jcfg");
        std::fs::write(
            conf.join("janus.transport.http.jcfg"),
            format!(
                "general: {{ json = \"compact\" base_path = \"/janus\" http = true port = {port} ip = \"{address}\" https = false }}\n\
                 admin: {{ admin_http = false }}\n"
            ),
        )
        .expect("http config");
        std::fs::write(conf.join("janus.plugin.videoroom.jcfg"), "general: { }\n").expect("videoroom config");
        let log = std::fs::File::create(dir.join("janus.log")).expect("janus.log");
        let child = Command::new(BIN)
            .arg("-F")
            .arg(&conf)
            .arg("-o")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start janus");
        let mut j = Janus { dir, child: Some(child), address: address.into(), port };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = j.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("janus exited ({status}): {}", j.log());
            }
            if std::net::TcpStream::connect((address, port)).is_ok() {
                return j;
            }
            assert!(Instant::now() < deadline, "janus did not listen within 20 s: {}", j.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Its HTTP API, `http://address:port/janus`.
    pub fn url(&self) -> String {
        format!("http://{}:{}/janus", self.address, self.port)
    }

    /// What Janus logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("janus.log")).unwrap_or_default()
    }
}

impl Drop for Janus {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: kill(2) on the pid of a child this value owns and has not reaped.
            unsafe {
                libc::kill(c.id() as i32, libc::SIGTERM);
            }
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline && c.try_wait().ok().flatten().is_none() {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
