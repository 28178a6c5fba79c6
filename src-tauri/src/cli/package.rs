//! `booth package keygen` and `booth package sign`: the minisign key an operator signs fleet
//! updates with, and the signed manifest a terminal checks before it installs a package.

use super::args::PackageCommand;
use super::error::fail;
use booth_fleet::signing;
use std::path::{Path, PathBuf};

/// An encrypted key's password, from the environment (never a command-line argument, which
/// other users of the machine can see).
fn password() -> Option<String> {
    std::env::var("BOOTH_KEY_PASSWORD").ok().filter(|p| !p.is_empty())
}

pub fn run(cmd: PackageCommand) -> i32 {
    match cmd {
        PackageCommand::Keygen { key } => match keygen(&key) {
            Ok(public) => {
                println!("secret key: {} (keep it off the terminals)", key.display());
                println!("public key: {}.pub; for [fleet] update_keys (or command_keys):", key.display());
                println!("{public}");
                0
            }
            Err(e) => fail(e),
        },
        PackageCommand::Sign { package, key, min_booth } => {
            let min_booth = min_booth.unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_string());
            let signed = signing::load_secret_key(&key, password())
                .and_then(|sk| signing::sign_package_files(&package, &sk, &min_booth));
            match signed {
                Ok((manifest, sig, m)) => {
                    println!("signed {} {} (sha256 {}, {} bytes)", m.app, m.version, m.sha256, m.size);
                    println!("{}\n{}", manifest.display(), sig.display());
                    0
                }
                Err(e) => fail(e),
            }
        }
    }
}

/// Writes the key pair; returns the public key's line.
fn keygen(key: &Path) -> Result<String, String> {
    let public_path = PathBuf::from(format!("{}.pub", key.display()));
    for p in [key, public_path.as_path()] {
        if p.exists() {
            return Err(format!("{} exists; not overwritten", p.display()));
        }
    }
    let (public, secret) = signing::keygen(password()).map_err(|e| e.to_string())?;
    write_private(key, secret.as_bytes()).map_err(|e| format!("{}: {e}", key.display()))?;
    std::fs::write(&public_path, &public).map_err(|e| format!("{}: {e}", public_path.display()))?;
    Ok(public.lines().last().unwrap_or_default().to_string())
}

/// A new file only its owner can read.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)?.write_all(bytes)
}
