//! Loading a package (folder, `.zip` or URL), serving its files, and guarding navigation.

use crate::manifest::{parse_origin, Manifest};
use booth_bridge::{Dialect, Family};
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use url::Url;

pub const MANIFEST: &str = "miniapp.json";
/// Largest `.zip` package Booth unpacks into memory.
pub const MAX_ZIP_BYTES: u64 = 512 * 1024 * 1024;

/// A refused package: the file and the problem, printed as one line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{}: {problem}", path.display())]
pub struct PackageError {
    pub path: PathBuf,
    pub problem: String,
}

fn err(path: impl Into<PathBuf>, problem: impl Into<String>) -> PackageError {
    PackageError { path: path.into(), problem: problem.into() }
}

/// Where a package's files live.
#[derive(Debug, Clone)]
pub enum Source {
    Dir(PathBuf),
    /// Unpacked into memory at load: paths inside the zip, relative to the folder holding the manifest.
    Zip {
        path: PathBuf,
        files: Arc<HashMap<String, Arc<Vec<u8>>>>,
    },
    /// Pages served by a web server; Booth serves nothing itself.
    Remote(Url),
}

/// A file to serve.
#[derive(Debug, Clone, PartialEq)]
pub struct Asset {
    pub bytes: Arc<Vec<u8>>,
    pub mime: &'static str,
}

#[derive(Debug, Clone)]
pub struct Package {
    pub manifest: Manifest,
    pub source: Source,
    /// `false` only for a development folder without a manifest (every permission, a warning).
    pub has_manifest: bool,
    permissions: HashSet<Family>,
    /// Allowed origins as `scheme://host[:port]` (see [`origin_key`]).
    origins: Vec<String>,
}

impl Package {
    /// Loads `spec`: a folder or `.zip` holding `miniapp.json`, or an `http(s)://` URL.
    pub fn load(spec: &str) -> Result<Package, PackageError> {
        if spec.starts_with("http://") || spec.starts_with("https://") {
            return Self::remote(spec);
        }
        let path = PathBuf::from(spec);
        let meta = std::fs::metadata(&path).map_err(|e| err(&path, format!("cannot open package ({e})")))?;
        if meta.is_dir() {
            Self::from_dir(&path)
        } else {
            Self::from_zip(&path)
        }
    }

    /// A development folder: with a manifest it loads as usual; without one it runs `index.html`
    /// with every dialect and permission.
    pub fn load_dev(dir: &Path) -> Result<Package, PackageError> {
        if dir.join(MANIFEST).exists() {
            return Self::from_dir(dir);
        }
        let root = dir.canonicalize().map_err(|e| err(dir, format!("cannot open folder ({e})")))?;
        if !root.join("index.html").is_file() {
            return Err(err(&root, format!("no {MANIFEST} and no index.html")));
        }
        let id = root.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "dev".into());
        let id: String = id
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '-' })
            .collect();
        let manifest = Manifest {
            schema: None,
            id: if id.is_empty() { "dev".into() } else { id },
            name: "development".into(),
            version: "0.0.0".into(),
            entry: "index.html".into(),
            dialects: Dialect::ALL.to_vec(),
            permissions: Family::GRANTABLE.iter().map(|f| f.as_str().to_string()).collect(),
            origins: vec![],
            secondary: None,
        };
        Ok(Self::new(manifest, Source::Dir(root), false))
    }

    /// Stands in for a package that cannot load, so that a kiosk can still show its launcher
    /// page (which says why and retries): no files, no dialects, no permissions.
    pub fn unavailable(spec: &str) -> Package {
        let manifest = Manifest {
            schema: None,
            id: "unavailable".into(),
            name: "Booth".into(),
            version: "0.0.0".into(),
            entry: "index.html".into(),
            dialects: vec![],
            permissions: vec![],
            origins: vec![],
            secondary: None,
        };
        Self::new(manifest, Source::Zip { path: PathBuf::from(spec), files: Arc::new(HashMap::new()) }, false)
    }

    fn new(manifest: Manifest, source: Source, has_manifest: bool) -> Package {
        let permissions = manifest.permission_set();
        let mut origins: Vec<String> =
            manifest.origins.iter().filter_map(|o| parse_origin(o).ok()).map(|o| o.ascii_serialization()).collect();
        if let Source::Remote(url) = &source {
            origins.extend(origin_key(url));
        }
        Package { manifest, source, has_manifest, permissions, origins }
    }

    fn from_dir(dir: &Path) -> Result<Package, PackageError> {
        let root = dir.canonicalize().map_err(|e| err(dir, format!("cannot open folder ({e})")))?;
        let manifest_path = root.join(MANIFEST);
        let text = std::fs::read_to_string(&manifest_path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => err(&root, format!("no {MANIFEST} in this folder")),
            _ => err(&manifest_path, format!("cannot read ({e})")),
        })?;
        let manifest = Manifest::parse(&text).map_err(|p| err(&manifest_path, p))?;
        let pkg = Self::new(manifest, Source::Dir(root), true);
        pkg.check_entries(&manifest_path)?;
        Ok(pkg)
    }

    fn from_zip(path: &Path) -> Result<Package, PackageError> {
        let file = std::fs::File::open(path).map_err(|e| err(path, format!("cannot open ({e})")))?;
        let mut archive = zip::ZipArchive::new(file).map_err(|e| err(path, format!("not a zip archive ({e})")))?;
        // The manifest may sit at the top or inside one folder (a zipped folder).
        let mut prefix = None;
        for i in 0..archive.len() {
            let Ok(f) = archive.by_index_raw(i) else { continue };
            let Ok(name) = f.name() else { continue };
            let name = name.replace('\\', "/");
            if let Some(p) = name.strip_suffix(MANIFEST) {
                let top_or_one_folder = p.is_empty() || (p.ends_with('/') && p.matches('/').count() == 1);
                if top_or_one_folder && prefix.as_ref().is_none_or(|old: &String| p.len() < old.len()) {
                    prefix = Some(p.to_string());
                }
            }
        }
        let Some(prefix) = prefix else {
            return Err(err(path, format!("no {MANIFEST} at the top of the archive")));
        };
        let mut files = HashMap::new();
        let mut total: u64 = 0;
        for i in 0..archive.len() {
            let mut f = archive.by_index(i).map_err(|e| err(path, format!("corrupt entry #{i} ({e})")))?;
            if f.is_dir() {
                continue;
            }
            let Some(safe) = f.enclosed_name() else {
                return Err(err(path, format!("entry `{}` escapes the archive", f.name().unwrap_or_default())));
            };
            let name = safe.to_string_lossy().replace('\\', "/");
            let Some(rel) = name.strip_prefix(&prefix) else { continue };
            total = total.saturating_add(f.size());
            if total > MAX_ZIP_BYTES {
                return Err(err(path, format!("unpacks to more than {MAX_ZIP_BYTES} bytes")));
            }
            let mut bytes = Vec::with_capacity(f.size().min(64 << 20) as usize);
            f.read_to_end(&mut bytes).map_err(|e| err(path, format!("corrupt entry `{name}` ({e})")))?;
            files.insert(rel.to_string(), Arc::new(bytes));
        }
        let manifest_name = format!("{}!/{prefix}{MANIFEST}", path.display());
        let text = files.get(MANIFEST).map(|b| String::from_utf8_lossy(b).to_string()).unwrap_or_default();
        let manifest = Manifest::parse(&text).map_err(|p| err(&manifest_name, p))?;
        let pkg = Self::new(manifest, Source::Zip { path: path.to_path_buf(), files: Arc::new(files) }, true);
        pkg.check_entries(Path::new(&manifest_name))?;
        Ok(pkg)
    }

    fn remote(spec: &str) -> Result<Package, PackageError> {
        let url = Url::parse(spec).map_err(|e| err(spec, format!("not a valid URL ({e})")))?;
        let host = url.host_str().ok_or_else(|| err(spec, "URL has no host"))?.to_string();
        let id: String =
            host.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '-' }).collect();
        let manifest = Manifest {
            schema: None,
            id,
            name: host,
            version: "remote".into(),
            entry: url.to_string(),
            dialects: Dialect::ALL.to_vec(),
            permissions: Family::GRANTABLE.iter().map(|f| f.as_str().to_string()).collect(),
            origins: vec![],
            secondary: None,
        };
        Ok(Self::new(manifest, Source::Remote(url), false))
    }

    /// Restricts a remote package's permissions (from booth.toml; remote pages have no manifest).
    pub fn restrict_permissions(&mut self, families: HashSet<Family>) {
        self.manifest.permissions = families.iter().map(|f| f.as_str().to_string()).collect();
        self.manifest.permissions.sort();
        self.permissions = families;
    }

    /// Narrows a remote package's grant by what its site's `/miniapp.json` says
    /// ([`crate::remote::fetch`]): permissions and dialects become the intersection, so the
    /// site can only take away. A manifest that is served but broken leaves no permission.
    /// Returns the line to log, `None` when nothing changes.
    pub fn narrow_by_site(&mut self, narrowing: &crate::remote::Narrowing) -> Option<String> {
        use crate::remote::Narrowing;
        let before = (self.permissions.clone(), self.manifest.dialects.clone());
        match narrowing {
            Narrowing::NotServed => return None,
            Narrowing::Unreadable(why) => {
                return Some(format!(
                    "the site's /miniapp.json cannot be read ({why}); booth.toml's grant stands unnarrowed"
                ))
            }
            Narrowing::Broken(why) => {
                self.restrict_permissions(HashSet::new());
                return Some(format!(
                    "the site's /miniapp.json is broken ({why}); no permissions besides device information"
                ));
            }
            Narrowing::Served(served) => {
                if let Some(wanted) = &served.permissions {
                    let kept = self.permissions.intersection(wanted).copied().collect();
                    self.restrict_permissions(kept);
                }
                if let Some(wanted) = &served.dialects {
                    self.manifest.dialects.retain(|d| wanted.contains(d));
                }
            }
        }
        if before == (self.permissions.clone(), self.manifest.dialects.clone()) {
            return None;
        }
        let mut perms: Vec<&str> = self.permissions.iter().map(|f| f.as_str()).collect();
        perms.sort();
        let dialects: Vec<&str> = self.manifest.dialects.iter().map(|d| d.as_str()).collect();
        Some(format!(
            "the site's /miniapp.json narrows the grant to permissions [{}], dialects [{}]",
            perms.join(", "),
            dialects.join(", ")
        ))
    }

    fn check_entries(&self, manifest_path: &Path) -> Result<(), PackageError> {
        let mut entries = vec![("entry", self.manifest.entry.as_str())];
        if let Some(s) = &self.manifest.secondary {
            entries.push(("secondary.entry", s.entry.as_str()));
        }
        for (field, entry) in entries {
            let file = entry.split(['?', '#']).next().unwrap_or(entry);
            if self.read(file).is_none() {
                return Err(err(manifest_path, format!("{field}: `{file}` does not exist in the package")));
            }
        }
        Ok(())
    }

    pub fn permissions(&self) -> &HashSet<Family> {
        &self.permissions
    }

    pub fn is_remote(&self) -> bool {
        matches!(self.source, Source::Remote(_))
    }

    /// Where the package is, for logs and `/health`.
    pub fn location(&self) -> String {
        match &self.source {
            Source::Dir(p) => p.display().to_string(),
            Source::Zip { path, .. } => path.display().to_string(),
            Source::Remote(u) => u.to_string(),
        }
    }

    /// Reads a file of a local package by its URL path (`/pages/a.html` or `pages/a.html`).
    /// `None` for anything outside the package, missing, or a remote package.
    pub fn read(&self, url_path: &str) -> Option<Asset> {
        let rel = clean_path(url_path)?;
        let rel = if rel.is_empty() { self.manifest.entry.clone() } else { rel };
        let bytes = match &self.source {
            Source::Dir(root) => {
                let full = root.join(&rel).canonicalize().ok()?;
                // Symlinks may not lead out of the package.
                if !full.starts_with(root) || !full.is_file() {
                    return None;
                }
                Arc::new(std::fs::read(full).ok()?)
            }
            Source::Zip { files, .. } => files.get(&rel)?.clone(),
            Source::Remote(_) => return None,
        };
        Some(Asset { bytes, mime: mime_for(&rel) })
    }

    /// Whether a page of this package may navigate to `url`. `app_origins` are the package's
    /// own scheme origin and Booth's UI origin, as [`origin_key`]s.
    pub fn allows_navigation(&self, url: &Url, app_origins: &[String]) -> bool {
        if url.as_str() == "about:blank" || url.as_str() == "about:srcdoc" {
            return true;
        }
        match origin_key(url) {
            Some(key) => app_origins.contains(&key) || self.origins.contains(&key),
            None => false,
        }
    }

    /// Origins besides the package's own scheme (manifest `origins`, or the remote package's).
    pub fn extra_origins(&self) -> &[String] {
        &self.origins
    }
}

/// `scheme://host[:port]` of a URL with a host. The `url` crate treats custom schemes such as
/// `booth://` as opaque origins, so origins are compared as these strings instead.
pub fn origin_key(url: &Url) -> Option<String> {
    let host = url.host_str().filter(|h| !h.is_empty())?;
    Some(match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    })
}

/// Decodes and normalises a URL path to a package-relative path; `None` if it tries to leave.
fn clean_path(url_path: &str) -> Option<String> {
    let path = url_path.split(['?', '#']).next().unwrap_or("");
    let decoded = percent_decode(path)?;
    let mut parts = Vec::new();
    for seg in decoded.split(['/', '\\']) {
        match seg {
            "" | "." => {}
            ".." => return None,
            s if s.contains(':') || s.contains('\0') => return None,
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Content type by extension.
pub fn mime_for(path: &str) -> &'static str {
    let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "bmp" => "image/bmp",
        "wasm" => "application/wasm",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "ogg" => "audio/ogg",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const MANIFEST_OK: &str = r#"{"id":"t.pkg","name":"T","version":"1","entry":"index.html","permissions":["scanner"],"origins":["https://pay.example.com"]}"#;

    fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (p, c) in files {
            let full = d.path().join(p);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, c).unwrap();
        }
        d
    }

    fn zip_with(files: &[(&str, &str)]) -> tempfile::NamedTempFile {
        let f = tempfile::Builder::new().suffix(".zip").tempfile().unwrap();
        let mut w = zip::ZipWriter::new(f.reopen().unwrap());
        for (p, c) in files {
            w.start_file(*p, zip::write::SimpleFileOptions::default()).unwrap();
            w.write_all(c.as_bytes()).unwrap();
        }
        w.finish().unwrap();
        f
    }

    #[test]
    fn loads_a_folder_and_serves_inside_it_only() {
        let d = dir_with(&[("miniapp.json", MANIFEST_OK), ("index.html", "<p>hi"), ("js/a.js", "1")]);
        std::fs::write(d.path().parent().unwrap().join("secret.txt"), "no").ok();
        let p = Package::load(d.path().to_str().unwrap()).unwrap();
        assert_eq!(p.read("/").unwrap().mime, "text/html; charset=utf-8");
        assert_eq!(&**p.read("/js/a.js").unwrap().bytes, b"1");
        assert_eq!(&**p.read("/js/%61.js?x=1").unwrap().bytes, b"1");
        assert!(p.read("/../secret.txt").is_none());
        assert!(p.read("/js/..%2F..%2Fsecret.txt").is_none());
        assert!(p.read("/missing.js").is_none());
    }

    #[test]
    fn refuses_broken_folders_with_one_line_naming_the_file() {
        let none = dir_with(&[("index.html", "x")]);
        let e = Package::load(none.path().to_str().unwrap()).unwrap_err();
        assert!(e.to_string().contains("no miniapp.json"), "{e}");

        let bad_json = dir_with(&[("miniapp.json", "{ nope")]);
        let e = Package::load(bad_json.path().to_str().unwrap()).unwrap_err();
        assert!(e.to_string().contains("miniapp.json: key must be a string at line 1"), "{e}");

        let no_entry = dir_with(&[("miniapp.json", MANIFEST_OK)]);
        let e = Package::load(no_entry.path().to_str().unwrap()).unwrap_err();
        assert!(e.to_string().contains("entry: `index.html` does not exist"), "{e}");
        assert!(!e.to_string().contains('\n'));
    }

    #[test]
    fn loads_zips_flat_or_in_one_folder() {
        let flat = zip_with(&[("miniapp.json", MANIFEST_OK), ("index.html", "flat")]);
        let p = Package::load(flat.path().to_str().unwrap()).unwrap();
        assert_eq!(&**p.read("index.html").unwrap().bytes, b"flat");

        let nested = zip_with(&[("demo/miniapp.json", MANIFEST_OK), ("demo/index.html", "nested")]);
        let p = Package::load(nested.path().to_str().unwrap()).unwrap();
        assert_eq!(&**p.read("/index.html").unwrap().bytes, b"nested");

        let not_zip = tempfile::Builder::new().suffix(".zip").tempfile().unwrap();
        std::fs::write(not_zip.path(), "plain text").unwrap();
        let e = Package::load(not_zip.path().to_str().unwrap()).unwrap_err();
        assert!(e.to_string().contains("not a zip archive"), "{e}");

        let no_manifest = zip_with(&[("index.html", "x")]);
        let e = Package::load(no_manifest.path().to_str().unwrap()).unwrap_err();
        assert!(e.to_string().contains("no miniapp.json"), "{e}");
    }

    #[test]
    fn a_site_manifest_narrows_a_remote_grant_and_never_widens_it() {
        use crate::remote::{Narrowing, Served};
        let granted = |p: &Package| {
            let mut v: Vec<&str> = p.permissions().iter().map(|f| f.as_str()).collect();
            v.sort();
            v
        };
        let mut p = Package::load("https://shop.example/app/index.html").unwrap();
        p.restrict_permissions([Family::Scanner, Family::Printer].into_iter().collect());
        // The site asks for more than booth.toml grants: it keeps only the overlap.
        let served = Served {
            permissions: Some([Family::Scanner, Family::Payment, Family::Face].into_iter().collect()),
            dialects: Some([Dialect::My, Dialect::Ft].into_iter().collect()),
        };
        assert!(p.narrow_by_site(&Narrowing::Served(served)).is_some());
        assert_eq!(granted(&p), ["scanner"]);
        assert_eq!(p.manifest.dialects, [Dialect::My, Dialect::Ft]);
        assert_eq!(p.manifest.permissions, ["scanner"]);
        // Nothing served, or unreadable: booth.toml's grant stands; broken: nothing left.
        assert_eq!(p.narrow_by_site(&Narrowing::NotServed), None);
        assert!(p.narrow_by_site(&Narrowing::Unreadable("down".into())).unwrap().contains("unnarrowed"));
        assert_eq!(granted(&p), ["scanner"]);
        assert!(p.narrow_by_site(&Narrowing::Broken("not JSON".into())).is_some());
        assert!(granted(&p).is_empty());
        // Lists the site leaves out narrow nothing.
        let mut q = Package::load("https://shop.example/").unwrap();
        q.restrict_permissions([Family::Printer].into_iter().collect());
        assert_eq!(q.narrow_by_site(&Narrowing::Served(Served::default())), None);
        assert_eq!(granted(&q), ["printer"]);
        assert_eq!(q.manifest.dialects.len(), 3);
    }

    #[test]
    fn navigation_is_limited_to_allowed_origins() {
        let d = dir_with(&[("miniapp.json", MANIFEST_OK), ("index.html", "x")]);
        let p = Package::load(d.path().to_str().unwrap()).unwrap();
        let app = [origin_key(&Url::parse("booth://localhost/").unwrap()).unwrap()];
        let ok = |u: &str| p.allows_navigation(&Url::parse(u).unwrap(), &app);
        assert!(ok("https://pay.example.com/checkout?x=1"));
        assert!(ok("about:blank"));
        assert!(ok("booth://localhost/pages/two.html"));
        assert!(!ok("booth://other/"));
        assert!(!ok("https://evil.example.com/"));
        assert!(!ok("http://pay.example.com/"));
        assert!(!ok("file:///etc/passwd"));
        assert!(!ok("data:text/html,hi"));
    }

    #[test]
    fn remote_url_becomes_an_allowed_origin() {
        let p = Package::load("https://kiosk.example.com/app/index.html").unwrap();
        assert!(p.is_remote());
        assert!(p.allows_navigation(&Url::parse("https://kiosk.example.com/other").unwrap(), &[]));
        assert!(p.read("index.html").is_none());
    }
}
