//! The reference provider's own binary (`booth-provider`, built beside `booth`) for end-to-end
//! tests: a private configuration on a free loopback port, its admin command line before and
//! while it serves, and the server process, stopped when dropped.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A configured provider in a test's directory, not serving yet.
pub struct ProviderSetup {
    pub bin: PathBuf,
    pub config: PathBuf,
    dir: PathBuf,
    port: u16,
}

/// A serving provider; killed when dropped.
pub struct ProviderProcess {
    child: std::process::Child,
    pub url: String,
    pub setup: ProviderSetup,
}

impl Drop for ProviderProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ProviderSetup {
    /// Writes `booth-provider.toml` (owner-only, as the provider requires) in `dir` for one
    /// terminal key, with the face models in `models_dir`.
    pub fn new(dir: &Path, key: &str, secret: &str, models_dir: &Path) -> ProviderSetup {
        let bin = crate::booth_bin().with_file_name("booth-provider");
        assert!(bin.is_file(), "{} (cargo build -p booth-provider)", bin.display());
        let port = crate::free_port();
        let config = dir.join("booth-provider.toml");
        let text = format!(
            "listen = \"127.0.0.1:{port}\"\ndatabase = \"{}\"\nkey_file = \"{}\"\nmodels_dir = \"{}\"\n[clients]\n{key} = \"{secret}\"\n",
            dir.join("provider/provider.db").display(),
            dir.join("provider/templates.key").display(),
            models_dir.display(),
        );
        write_private(&config, &text);
        ProviderSetup { bin, config, dir: dir.to_path_buf(), port }
    }

    /// Runs one admin command (`person add …`, `wallet top-up …`) and returns its stdout, trimmed.
    pub fn cmd(&self, args: &[&str]) -> String {
        let out = std::process::Command::new(&self.bin)
            .arg("-c")
            .arg(&self.config)
            .args(args)
            .output()
            .expect("booth-provider");
        assert!(out.status.success(), "booth-provider {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Starts `serve` (its log in `provider.log`) and waits until it accepts connections.
    pub fn serve(self) -> ProviderProcess {
        let log = std::fs::File::create(self.dir.join("provider.log")).expect("provider.log");
        let child = std::process::Command::new(&self.bin)
            .arg("-c")
            .arg(&self.config)
            .arg("serve")
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .expect("booth-provider serve");
        let port = self.port;
        let provider = ProviderProcess { child, url: format!("http://127.0.0.1:{port}"), setup: self };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "booth-provider did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        provider
    }
}

/// Writes a file only its owner may read (booth.toml with a `[provider]` secret, the provider's
/// own configuration: both refuse to start otherwise).
pub fn write_private(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
}
