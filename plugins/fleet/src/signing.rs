//! Signed package manifests: `booth package keygen` makes a minisign key pair, `booth package
//! sign` writes, next to `PKG.zip`, `PKG.zip.manifest.json` (app id, version, SHA-256, size,
//! lowest Booth version) and its minisign signature `PKG.zip.manifest.json.minisig`. A terminal
//! takes a package only when that manifest verifies with one of its pinned public keys and the
//! zip it downloads has that size and hash.

pub use minisign::SecretKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("{0}")]
    Key(String),
    #[error("bad signature: {0}")]
    BadSignature(String),
    #[error("bad manifest: {0}")]
    Manifest(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Package(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SignError + '_ {
    move |source| SignError::Io { path: path.to_path_buf(), source }
}

/// What a signed manifest says about a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateManifest {
    /// The package's `miniapp.json` id.
    pub app: String,
    /// Its version (semantic versioning: `1.4.0`).
    pub version: String,
    /// SHA-256 of the zip, lowercase hex.
    pub sha256: String,
    /// Size of the zip in bytes.
    pub size: u64,
    /// The lowest Booth version that runs it.
    pub min_booth: String,
}

impl UpdateManifest {
    pub fn parse(bytes: &[u8]) -> Result<UpdateManifest, SignError> {
        let m: UpdateManifest = serde_json::from_slice(bytes).map_err(|e| SignError::Manifest(e.to_string()))?;
        if !crate::topics::valid_id(&m.app) {
            return Err(SignError::Manifest(format!("app `{}` is not a package id", m.app)));
        }
        semver::Version::parse(&m.version).map_err(|e| SignError::Manifest(format!("version `{}`: {e}", m.version)))?;
        semver::Version::parse(&m.min_booth)
            .map_err(|e| SignError::Manifest(format!("minBooth `{}`: {e}", m.min_booth)))?;
        if m.sha256.len() != 64 || !m.sha256.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
            return Err(SignError::Manifest("sha256: 64 lowercase hex digits".into()));
        }
        if m.size == 0 || m.size > booth_miniapp_host::package::MAX_ZIP_BYTES {
            return Err(SignError::Manifest(format!("size {} out of range", m.size)));
        }
        Ok(m)
    }

    pub fn version(&self) -> semver::Version {
        semver::Version::parse(&self.version).unwrap_or_else(|_| semver::Version::new(0, 0, 0))
    }
}

/// A public key from config: the base64 line of a minisign `.pub` file, or the whole file.
pub fn parse_public_key(text: &str) -> Result<minisign::PublicKey, String> {
    let line = text.lines().map(str::trim).rfind(|l| !l.is_empty() && !l.starts_with("untrusted comment:"));
    let line = line.ok_or("empty key")?;
    minisign::PublicKey::from_base64(line).map_err(|e| format!("not a minisign public key ({e})"))
}

/// A new key pair: (public key file text, secret key file text). With a password the secret
/// key is encrypted (scrypt), as minisign does.
pub fn keygen(password: Option<String>) -> Result<(String, String), SignError> {
    let kp = match password {
        Some(p) => minisign::KeyPair::generate_encrypted_keypair(Some(p)),
        None => minisign::KeyPair::generate_unencrypted_keypair(),
    }
    .map_err(|e| SignError::Key(e.to_string()))?;
    let pk = kp.pk.to_box().map_err(|e| SignError::Key(e.to_string()))?.into_string();
    let sk = kp.sk.to_box(Some("Booth package signing key")).map_err(|e| SignError::Key(e.to_string()))?.into_string();
    Ok((pk, sk))
}

/// Reads a secret key file (`password` for an encrypted one).
pub fn load_secret_key(path: &Path, password: Option<String>) -> Result<minisign::SecretKey, SignError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let boxed =
        minisign::SecretKeyBox::from_string(&text).map_err(|e| SignError::Key(format!("{}: {e}", path.display())))?;
    let sk = match password {
        Some(p) => boxed.into_secret_key(Some(p)),
        None => boxed.into_unencrypted_secret_key(),
    };
    sk.map_err(|e| SignError::Key(format!("{}: {e}", path.display())))
}

/// SHA-256 (hex) and size of a reader's bytes.
pub fn hash_reader(mut r: impl Read) -> std::io::Result<(String, u64)> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut n = 0u64;
    loop {
        let k = r.read(&mut buf)?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((hex::encode(h.finalize()), n))
}

/// The manifest of `zip` (its `miniapp.json` id and version, checked by loading it) signed with
/// `sk`: (manifest JSON, minisign signature text).
pub fn sign_package(zip: &Path, sk: &minisign::SecretKey, min_booth: &str) -> Result<(String, String), SignError> {
    let spec = zip.to_string_lossy();
    let pkg = booth_miniapp_host::Package::load(&spec).map_err(|e| SignError::Package(e.to_string()))?;
    semver::Version::parse(&pkg.manifest.version).map_err(|e| {
        SignError::Package(format!(
            "{}: miniapp.json version `{}` is not x.y.z ({e})",
            zip.display(),
            pkg.manifest.version
        ))
    })?;
    let file = std::fs::File::open(zip).map_err(io(zip))?;
    let (sha256, size) = hash_reader(file).map_err(io(zip))?;
    let manifest = UpdateManifest {
        app: pkg.manifest.id.clone(),
        version: pkg.manifest.version.clone(),
        sha256,
        size,
        min_booth: min_booth.to_string(),
    };
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| SignError::Manifest(e.to_string()))? + "\n";
    UpdateManifest::parse(text.as_bytes())?;
    let sig = sign_bytes(text.as_bytes(), sk, &format!("booth package {} {}", manifest.app, manifest.version))?;
    Ok((text, sig))
}

/// [`sign_package`], written next to the zip: `PKG.zip.manifest.json` and
/// `PKG.zip.manifest.json.minisig`. Returns their paths and the manifest.
pub fn sign_package_files(
    zip: &Path,
    sk: &minisign::SecretKey,
    min_booth: &str,
) -> Result<(PathBuf, PathBuf, UpdateManifest), SignError> {
    let (manifest, sig) = sign_package(zip, sk, min_booth)?;
    let mpath = PathBuf::from(format!("{}.manifest.json", zip.display()));
    let spath = PathBuf::from(format!("{}.manifest.json.minisig", zip.display()));
    std::fs::write(&mpath, &manifest).map_err(io(&mpath))?;
    std::fs::write(&spath, &sig).map_err(io(&spath))?;
    Ok((mpath, spath, UpdateManifest::parse(manifest.as_bytes())?))
}

/// A minisign signature of `data`.
pub fn sign_bytes(data: &[u8], sk: &minisign::SecretKey, comment: &str) -> Result<String, SignError> {
    let trusted = format!("timestamp:{} {comment}", crate::protocol::now_ms() / 1000);
    minisign::sign(None, sk, Cursor::new(data), Some(&trusted), Some("signature from booth package sign"))
        .map(|b| b.into_string())
        .map_err(|e| SignError::Key(e.to_string()))
}

/// Whether `signature` (minisign text) verifies `data` with one of `keys`.
pub fn verify_bytes(data: &[u8], signature: &str, keys: &[String]) -> Result<(), SignError> {
    if keys.is_empty() {
        return Err(SignError::BadSignature("no keys pinned".into()));
    }
    let sig = minisign::SignatureBox::from_string(signature).map_err(|e| SignError::BadSignature(e.to_string()))?;
    let mut last = String::new();
    for k in keys {
        let pk = parse_public_key(k).map_err(SignError::Key)?;
        match minisign::verify(&pk, &sig, Cursor::new(data), true, false, false) {
            Ok(()) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
    }
    Err(SignError::BadSignature(format!("not signed by a pinned key ({last})")))
}

/// A command's signature as its MQTT 5 user property `signature` carries it: the minisign
/// signature text, hex-encoded (MQTT brokers refuse control characters such as its line breaks
/// in user properties).
pub fn sign_command(payload: &[u8], sk: &minisign::SecretKey) -> Result<String, SignError> {
    sign_bytes(payload, sk, "booth fleet command").map(hex::encode)
}

/// Checks a command's `signature` property (see [`sign_command`]) against `keys`.
pub fn verify_command(payload: &[u8], signature_hex: &str, keys: &[String]) -> Result<(), SignError> {
    let bytes = hex::decode(signature_hex.trim()).map_err(|_| SignError::BadSignature("signature: not hex".into()))?;
    let text = String::from_utf8(bytes).map_err(|_| SignError::BadSignature("signature: not text".into()))?;
    verify_bytes(payload, &text, keys)
}

/// The manifest, when `signature` verifies it with one of `keys`.
pub fn verify_manifest(manifest: &[u8], signature: &str, keys: &[String]) -> Result<UpdateManifest, SignError> {
    if keys.is_empty() {
        return Err(SignError::BadSignature("no update keys pinned (fleet.update_keys)".into()));
    }
    verify_bytes(manifest, signature, keys)?;
    UpdateManifest::parse(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify_with_two_pinned_keys() {
        let (pk1, sk1) = keygen(None).unwrap();
        let (pk2, _) = keygen(None).unwrap();
        let (pk3, sk3) = keygen(Some("pw".into())).unwrap();
        let sk1 = minisign::SecretKeyBox::from_string(&sk1).unwrap().into_unencrypted_secret_key().unwrap();
        let sk3 = minisign::SecretKeyBox::from_string(&sk3).unwrap().into_secret_key(Some("pw".into())).unwrap();
        let m = br#"{"app":"a","version":"1.0.0","sha256":"0000000000000000000000000000000000000000000000000000000000000000","size":1,"minBooth":"0.1.0"}"#;
        let s1 = sign_bytes(m, &sk1, "t").unwrap();
        let s3 = sign_bytes(m, &sk3, "t").unwrap();
        // Rotation: either pinned key verifies.
        assert_eq!(verify_manifest(m, &s1, &[pk2.clone(), pk1.clone()]).unwrap().app, "a");
        assert!(verify_manifest(m, &s3, &[pk1.clone(), pk3.clone()]).is_ok());
        assert!(matches!(verify_manifest(m, &s3, &[pk1.clone(), pk2.clone()]), Err(SignError::BadSignature(_))));
        let mut tampered = m.to_vec();
        tampered[20] = b'2';
        assert!(matches!(verify_manifest(&tampered, &s1, std::slice::from_ref(&pk1)), Err(SignError::BadSignature(_))));
        assert!(verify_manifest(m, &s1, &[]).is_err());
        assert!(parse_public_key(&pk1).is_ok(), "a whole .pub file");
        assert!(parse_public_key(pk1.lines().nth(1).unwrap()).is_ok(), "its key line");
    }
}
