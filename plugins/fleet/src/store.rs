//! The package store: where signed updates are downloaded, checked, unpacked, switched to, and
//! rolled back from.
//!
//! ```text
//! packages/
//!   state.json          which release runs (current), the one before (previous), a trial
//!   releases/<app>-<version>-<sha12>/   unpacked, complete packages
//!   staging/            an unpack in progress
//!   downloads/          a download in progress
//! ```
//!
//! Every change of what runs is one atomic replacement of `state.json` (written to a temporary
//! file, flushed, renamed, the folder flushed), and `state.json` only ever names releases that
//! are complete on disk (unpacked in `staging/`, flushed, then renamed into `releases/`). A
//! power cut at any moment therefore leaves either the old state or the new one, each naming a
//! package that loads; what was half-downloaded or half-unpacked is deleted at the next start.
//!
//! A switch starts a **trial**: the next starts count (`boots`), and the running Booth confirms
//! the release once its page is shown without errors ([`judge_trial`]). Not shown within 30 s,
//! the launcher shown, page errors at start, or three starts without a confirmation (a crash
//! loop) roll back to the previous release.

use crate::signing::{SignError, UpdateManifest};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Starts without a confirmation after which a trial is rolled back (a crash loop).
pub const MAX_TRIAL_BOOTS: u32 = 3;
/// How long a new package has to show its page.
pub const TRIAL_DEADLINE: Duration = Duration::from_secs(30);
/// How long a shown page must stay free of errors before the release is confirmed.
pub const TRIAL_SETTLE: Duration = Duration::from_secs(3);
/// Unpacked size and file count limits.
const MAX_UNPACKED: u64 = 1024 * 1024 * 1024;
const MAX_FILES: usize = 20_000;

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error(transparent)]
    Signature(#[from] SignError),
    #[error("downgrade refused: {current} is installed, the package is {offered} (allowDowngrade to force)")]
    Downgrade { current: String, offered: String },
    #[error("this Booth is {booth}, the package needs {needs} or newer")]
    BoothTooOld { booth: String, needs: String },
    #[error("download: {0}")]
    Download(String),
    #[error("wrong package: {0}")]
    Mismatch(String),
    #[error("the package does not load: {0}")]
    BadPackage(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("an update is being tried already ({0}); wait for its result")]
    Busy(String),
}

impl UpdateError {
    /// Refusals (nothing was downloaded or changed) as against failures.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            UpdateError::Signature(_)
                | UpdateError::Downgrade { .. }
                | UpdateError::BoothTooOld { .. }
                | UpdateError::Busy(_)
        )
    }
}

fn ioe(path: &Path) -> impl FnOnce(io::Error) -> UpdateError + '_ {
    move |source| UpdateError::Io { path: path.to_path_buf(), source }
}

/// One unpacked package in `releases/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub name: String,
    pub app: String,
    pub version: String,
}

/// A switch being tried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Trial {
    pub release: Release,
    pub from: Option<Release>,
    /// Starts since the switch.
    pub boots: u32,
    /// The command that asked for it.
    pub command: Option<String>,
    pub started_at: u64,
}

/// How an update ended, kept until the agent has reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub app: String,
    pub version: String,
    pub from: Option<String>,
    /// `installed` (confirmed) or `rolled-back`.
    pub result: String,
    pub reason: String,
    pub command: Option<String>,
    pub at: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct State {
    current: Option<Release>,
    previous: Option<Release>,
    trial: Option<Trial>,
    #[serde(default)]
    outcomes: Vec<Outcome>,
}

/// What an install did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Installed {
    /// Switched; Booth must restart to try it.
    Switched { release: Release, from: Option<Release> },
    /// That exact package runs already.
    AlreadyCurrent(Release),
}

/// What the store says at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtStart {
    /// The release to run, if the store has one.
    pub package: Option<PathBuf>,
    pub release: Option<Release>,
    /// A trial is running: judge it.
    pub trial: Option<Trial>,
}

#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    pub fn new(dir: impl Into<PathBuf>) -> Store {
        Store { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn state_path(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    pub fn release_dir(&self, r: &Release) -> PathBuf {
        self.dir.join("releases").join(&r.name)
    }

    fn read_state(&self) -> State {
        match fs::read(self.state_path()) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                // Never half-written (atomic replacement): only a hand edit gets here.
                tracing::error!(error = %e, "packages/state.json is unreadable; running [package] source");
                State::default()
            }),
            Err(_) => State::default(),
        }
    }

    fn write_state(&self, s: &State) -> Result<(), UpdateError> {
        let bytes = serde_json::to_vec_pretty(s)
            .map_err(|e| UpdateError::Io { path: self.state_path(), source: io::Error::other(e) })?;
        write_atomic(&self.state_path(), &bytes).map_err(ioe(&self.state_path()))
    }

    /// The release that runs now (confirmed or on trial).
    pub fn current(&self) -> Option<Release> {
        self.read_state().current
    }

    pub fn trial(&self) -> Option<Trial> {
        self.read_state().trial
    }

    /// At Booth's start: removes what an interrupted update left, counts a trial's start (and
    /// rolls back a crash loop), and says which package to run.
    pub fn at_start(&self) -> AtStart {
        for leftover in ["staging", "downloads"] {
            let _ = fs::remove_dir_all(self.dir.join(leftover));
        }
        let mut s = self.read_state();
        if let Some(t) = &mut s.trial {
            t.boots += 1;
            if t.boots > MAX_TRIAL_BOOTS {
                let why = format!("{} starts without showing its page (a crash loop)", t.boots - 1);
                s = rolled_back(s, &why);
            }
            if let Err(e) = self.write_state(&s) {
                tracing::error!(error = %e, "cannot count the trial's start");
            }
        }
        // A release that is not on disk (removed by hand) cannot run: the one before it can.
        for _ in 0..2 {
            match &s.current {
                Some(r) if !self.release_dir(r).join(booth_miniapp_host::package::MANIFEST).is_file() => {
                    tracing::error!(release = %r.name, "the current release is missing; going back");
                    s.current = s.previous.take();
                    s.trial = None;
                }
                _ => break,
            }
        }
        AtStart { package: s.current.as_ref().map(|r| self.release_dir(r)), release: s.current.clone(), trial: s.trial }
    }

    /// Whether `manifest` may be installed: `Ok(Some(release))` when it runs already.
    pub fn check(
        &self,
        manifest: &UpdateManifest,
        allow_downgrade: bool,
        booth_version: &str,
    ) -> Result<Option<Release>, UpdateError> {
        let booth = semver::Version::parse(booth_version).unwrap_or_else(|_| semver::Version::new(0, 0, 0));
        let needs = semver::Version::parse(&manifest.min_booth).unwrap_or_else(|_| semver::Version::new(0, 0, 0));
        if booth < needs {
            return Err(UpdateError::BoothTooOld { booth: booth.to_string(), needs: needs.to_string() });
        }
        let s = self.read_state();
        if let Some(t) = &s.trial {
            return Err(UpdateError::Busy(format!("{} {}", t.release.app, t.release.version)));
        }
        let name = release_name(manifest);
        if let Some(cur) = &s.current {
            if cur.name == name {
                return Ok(Some(cur.clone()));
            }
            if cur.app == manifest.app && !allow_downgrade {
                let have = semver::Version::parse(&cur.version).unwrap_or_else(|_| semver::Version::new(0, 0, 0));
                if manifest.version() <= have {
                    return Err(UpdateError::Downgrade {
                        current: cur.version.clone(),
                        offered: manifest.version.clone(),
                    });
                }
            }
        }
        Ok(None)
    }

    /// Installs a package whose (verified) manifest is `manifest`, reading the zip from `body`:
    /// checks, download with size and hash check, unpack into staging, switch, trial.
    pub fn install(
        &self,
        manifest: &UpdateManifest,
        body: impl Read,
        allow_downgrade: bool,
        booth_version: &str,
        command: Option<&str>,
    ) -> Result<Installed, UpdateError> {
        if let Some(r) = self.check(manifest, allow_downgrade, booth_version)? {
            return Ok(Installed::AlreadyCurrent(r));
        }
        let zip = self.download(manifest, body)?;
        let release =
            Release { name: release_name(manifest), app: manifest.app.clone(), version: manifest.version.clone() };
        let result = self.unpack(&zip, manifest, &release);
        let _ = fs::remove_file(&zip);
        result?;
        self.switch(release, command)
    }

    fn download(&self, manifest: &UpdateManifest, body: impl Read) -> Result<PathBuf, UpdateError> {
        let dir = self.dir.join("downloads");
        fs::create_dir_all(&dir).map_err(ioe(&dir))?;
        let path = dir.join(format!("{}.zip", release_name(manifest)));
        let mut file = File::create(&path).map_err(ioe(&path))?;
        // One byte more than announced is enough to know it is too long.
        let mut limited = body.take(manifest.size + 1);
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut size = 0u64;
        loop {
            let k = limited.read(&mut buf).map_err(|e| UpdateError::Download(e.to_string()))?;
            if k == 0 {
                break;
            }
            hasher.update(&buf[..k]);
            file.write_all(&buf[..k]).map_err(ioe(&path))?;
            size += k as u64;
        }
        let sha = hex::encode(hasher.finalize());
        file.sync_all().map_err(ioe(&path))?;
        drop(file);
        if size != manifest.size {
            let _ = fs::remove_file(&path);
            return Err(UpdateError::Mismatch(format!(
                "{} bytes, the signed manifest says {}",
                if size > manifest.size { format!("more than {}", manifest.size) } else { size.to_string() },
                manifest.size
            )));
        }
        if sha != manifest.sha256 {
            let _ = fs::remove_file(&path);
            return Err(UpdateError::Mismatch(format!("SHA-256 {sha}, the signed manifest says {}", manifest.sha256)));
        }
        Ok(path)
    }

    fn unpack(&self, zip: &Path, manifest: &UpdateManifest, release: &Release) -> Result<(), UpdateError> {
        let target = self.release_dir(release);
        let s = self.read_state();
        let in_use = [&s.current, &s.previous].into_iter().flatten().any(|r| r.name == release.name);
        if in_use && target.join(booth_miniapp_host::package::MANIFEST).is_file() {
            return Ok(()); // the same bytes (same hash) unpacked before: reuse
        }
        let staging = self.dir.join("staging");
        let _ = fs::remove_dir_all(&staging);
        let into = staging.join(&release.name);
        fs::create_dir_all(&into).map_err(ioe(&into))?;
        let file = File::open(zip).map_err(ioe(zip))?;
        let mut archive =
            zip::ZipArchive::new(file).map_err(|e| UpdateError::BadPackage(format!("not a zip ({e})")))?;
        if archive.len() > MAX_FILES {
            return Err(UpdateError::BadPackage(format!("more than {MAX_FILES} files")));
        }
        let mut total = 0u64;
        let mut dirs = vec![into.clone()];
        for i in 0..archive.len() {
            let mut entry = archive.by_index(i).map_err(|e| UpdateError::BadPackage(e.to_string()))?;
            let Some(rel) = entry.enclosed_name() else {
                return Err(UpdateError::BadPackage(format!(
                    "`{}` leaves the package folder",
                    entry.name().unwrap_or_default()
                )));
            };
            let out = into.join(rel);
            if entry.is_dir() {
                fs::create_dir_all(&out).map_err(ioe(&out))?;
                dirs.push(out);
                continue;
            }
            if let Some(parent) = out.parent() {
                fs::create_dir_all(parent).map_err(ioe(parent))?;
                dirs.push(parent.to_path_buf());
            }
            let mut f = File::create(&out).map_err(ioe(&out))?;
            let room = MAX_UNPACKED.saturating_sub(total);
            let n = io::copy(&mut (&mut entry).take(room + 1), &mut f).map_err(ioe(&out))?;
            total += n;
            if total > MAX_UNPACKED {
                return Err(UpdateError::BadPackage(format!("unpacks to more than {MAX_UNPACKED} bytes")));
            }
            f.sync_all().map_err(ioe(&out))?;
        }
        dirs.sort();
        dirs.dedup();
        for d in dirs.iter().rev() {
            sync_dir(d);
        }
        // Files at the top, or inside one folder (as a zipped folder is).
        let root = package_root(&into).ok_or_else(|| UpdateError::BadPackage("no miniapp.json".into()))?;
        let pkg = booth_miniapp_host::Package::load(&root.to_string_lossy())
            .map_err(|e| UpdateError::BadPackage(e.to_string()))?;
        if pkg.manifest.id != manifest.app || pkg.manifest.version != manifest.version {
            return Err(UpdateError::Mismatch(format!(
                "miniapp.json says {} {}, the signed manifest {} {}",
                pkg.manifest.id, pkg.manifest.version, manifest.app, manifest.version
            )));
        }
        let releases = self.dir.join("releases");
        fs::create_dir_all(&releases).map_err(ioe(&releases))?;
        if target.exists() {
            // Left by an install that never switched: not named by state.json.
            fs::remove_dir_all(&target).map_err(ioe(&target))?;
        }
        fs::rename(&root, &target).map_err(ioe(&target))?;
        sync_dir(&releases);
        let _ = fs::remove_dir_all(&staging);
        Ok(())
    }

    /// Makes `release` current, on trial. One atomic write.
    fn switch(&self, release: Release, command: Option<&str>) -> Result<Installed, UpdateError> {
        let mut s = self.read_state();
        let from = s.current.clone();
        s.previous = from.clone();
        s.current = Some(release.clone());
        s.trial = Some(Trial {
            release: release.clone(),
            from: from.clone(),
            boots: 0,
            command: command.map(str::to_string),
            started_at: crate::protocol::now_ms(),
        });
        self.write_state(&s)?;
        tracing::warn!(app = %release.app, version = %release.version, "package switched; Booth restarts to try it");
        Ok(Installed::Switched { release, from })
    }

    /// The running release showed its page: it stays. Older releases are removed.
    pub fn confirm(&self) -> Result<(), UpdateError> {
        let mut s = self.read_state();
        let Some(t) = s.trial.take() else { return Ok(()) };
        s.outcomes.push(Outcome {
            app: t.release.app.clone(),
            version: t.release.version.clone(),
            from: t.from.as_ref().map(|r| r.version.clone()),
            result: "installed".into(),
            reason: "the page was shown".into(),
            command: t.command.clone(),
            at: crate::protocol::now_ms(),
        });
        trim(&mut s.outcomes);
        self.write_state(&s)?;
        tracing::info!(app = %t.release.app, version = %t.release.version, "update confirmed");
        self.prune(&s);
        Ok(())
    }

    /// Goes back to the previous release (or to `[package] source` when there was none).
    pub fn rollback(&self, why: &str) -> Result<(), UpdateError> {
        let s = self.read_state();
        if s.trial.is_none() {
            return Ok(());
        }
        tracing::error!(why, "update rolled back");
        self.write_state(&rolled_back(s, why))
    }

    /// A manual `[package] source` was set: the store's package stops running.
    pub fn detach(&self) -> Result<(), UpdateError> {
        let mut s = self.read_state();
        if s.current.is_none() {
            return Ok(());
        }
        s.previous = s.current.take();
        s.trial = None;
        self.write_state(&s)
    }

    /// Outcomes not reported yet; they stay until [`Store::reported`].
    pub fn outcomes(&self) -> Vec<Outcome> {
        self.read_state().outcomes
    }

    pub fn reported(&self, upto: &[Outcome]) {
        let mut s = self.read_state();
        s.outcomes.retain(|o| !upto.contains(o));
        let _ = self.write_state(&s);
    }

    fn prune(&self, s: &State) {
        let keep: Vec<&str> = [&s.current, &s.previous].into_iter().flatten().map(|r| r.name.as_str()).collect();
        if let Ok(entries) = fs::read_dir(self.dir.join("releases")) {
            for e in entries.flatten() {
                if !keep.contains(&e.file_name().to_string_lossy().as_ref()) {
                    let _ = fs::remove_dir_all(e.path());
                }
            }
        }
    }
}

fn rolled_back(mut s: State, why: &str) -> State {
    let Some(t) = s.trial.take() else { return s };
    s.outcomes.push(Outcome {
        app: t.release.app.clone(),
        version: t.release.version.clone(),
        from: t.from.as_ref().map(|r| r.version.clone()),
        result: "rolled-back".into(),
        reason: why.to_string(),
        command: t.command.clone(),
        at: crate::protocol::now_ms(),
    });
    trim(&mut s.outcomes);
    s.current = t.from;
    s.previous = Some(t.release);
    s
}

fn trim(outcomes: &mut Vec<Outcome>) {
    let excess = outcomes.len().saturating_sub(20);
    outcomes.drain(..excess);
}

fn release_name(m: &UpdateManifest) -> String {
    format!("{}-{}-{}", m.app, m.version, &m.sha256[..12])
}

/// The folder holding `miniapp.json`: `dir` itself or its only sub-folder.
fn package_root(dir: &Path) -> Option<PathBuf> {
    if dir.join(booth_miniapp_host::package::MANIFEST).is_file() {
        return Some(dir.to_path_buf());
    }
    let entries: Vec<_> = fs::read_dir(dir).ok()?.flatten().collect();
    match entries.as_slice() {
        [one] if one.path().join(booth_miniapp_host::package::MANIFEST).is_file() => Some(one.path()),
        _ => None,
    }
}

/// Replaces `path` with `bytes` atomically: temporary file, flush, rename, flush the folder.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = OpenOptions::new().write(true).create(true).truncate(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        sync_dir(dir);
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(unix)]
fn sync_dir(dir: &Path) {
    if let Ok(f) = File::open(dir) {
        let _ = f.sync_all();
    }
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) {
    // Windows cannot open a folder to flush it; NTFS journals the rename itself.
}

/// How the page of a release on trial is doing, as the shell sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageState {
    /// Not loaded yet.
    Loading,
    /// The package's page is shown.
    Shown,
    /// The launcher shows instead, or the page reported errors at start.
    Failed(String),
}

impl PageState {
    /// How the package's page is doing, from the shell's report (the `shell` object of
    /// `/health`: `startErrors`, `launcher`, `launcherStatus`, `recoveries`, `loads`). An
    /// uncaught error of the package's page in its first seconds, the launcher showing for any
    /// reason, or a page's web process ending, fails a trial; a finished load of the main
    /// window with no launcher is a shown page.
    pub fn from_shell(report: &serde_json::Value) -> PageState {
        if let Some(e) = report["startErrors"].as_array().and_then(|e| e.first()).and_then(|e| e.as_str()) {
            return PageState::Failed(format!("the page reported an error at start: {e}"));
        }
        if let Some(r) = report["recoveries"].as_array().and_then(|r| r.last()) {
            let why = r["why"].as_str().unwrap_or("ended");
            return PageState::Failed(format!("the page's web process ended ({why})"));
        }
        match report["launcher"].as_str() {
            Some("exit") => return PageState::Failed("the mini-program closed itself".into()),
            Some(_) => {
                let status = report["launcherStatus"].as_str().unwrap_or("");
                let why = if status.is_empty() { "the launcher shows" } else { status };
                return PageState::Failed(why.to_string());
            }
            None => {}
        }
        if report["loads"]["main"]["count"].as_u64().unwrap_or(0) > 0 {
            PageState::Shown
        } else {
            PageState::Loading
        }
    }
}

/// The store's release Booth runs at a start with `[fleet]` on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FromStore {
    pub package: PathBuf,
    pub release: Release,
    /// Set while the release is being tried.
    pub trial: Option<Trial>,
}

/// Chooses the package at start: a package named on the command line (`named`), else the
/// store's release (`Some`), else `[package] source` (`None`). Call once per start: a trial's
/// start is counted (three without a confirmation roll it back) and what an interrupted update
/// left is removed.
pub fn start_from(store: &Store, named: bool) -> Option<FromStore> {
    if named {
        return None;
    }
    let at = store.at_start();
    match (at.package, at.release) {
        (Some(package), Some(release)) => Some(FromStore { package, release, trial: at.trial }),
        _ => None,
    }
}

/// Judges a trial: confirms once the page has been shown for [`TRIAL_SETTLE`] without failing,
/// rolls back when it fails or is not shown within `deadline`. Returns whether Booth must restart
/// (after a rollback). Blocking: run it on a thread of its own.
pub fn judge_trial(store: &Store, deadline: Duration, mut probe: impl FnMut() -> PageState) -> bool {
    let started = Instant::now();
    let mut shown_since: Option<Instant> = None;
    loop {
        match probe() {
            PageState::Failed(why) => {
                let _ = store.rollback(&format!("the new package failed at start: {why}"));
                return true;
            }
            PageState::Shown => {
                let since = *shown_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= TRIAL_SETTLE {
                    return store.confirm().is_err();
                }
            }
            PageState::Loading => shown_since = None,
        }
        if started.elapsed() >= deadline && shown_since.is_none() {
            let _ = store.rollback(&format!("the new package did not show its page within {} s", deadline.as_secs()));
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn package_zip(app: &str, version: &str) -> Vec<u8> {
        let mut buf = io::Cursor::new(Vec::new());
        {
            let mut w = zip::ZipWriter::new(&mut buf);
            let o = zip::write::SimpleFileOptions::default();
            w.start_file("miniapp.json", o).unwrap();
            let m = json!({"id": app, "name": "T", "version": version, "entry": "index.html"});
            w.write_all(m.to_string().as_bytes()).unwrap();
            w.start_file("index.html", o).unwrap();
            w.write_all(version.as_bytes()).unwrap();
            w.finish().unwrap();
        }
        buf.into_inner()
    }

    fn manifest(zip: &[u8], app: &str, version: &str) -> UpdateManifest {
        UpdateManifest {
            app: app.into(),
            version: version.into(),
            sha256: hex::encode(Sha256::digest(zip)),
            size: zip.len() as u64,
            min_booth: "0.1.0".into(),
        }
    }

    fn install(store: &Store, version: &str) -> Release {
        let zip = package_zip("t.pkg", version);
        match store.install(&manifest(&zip, "t.pkg", version), &zip[..], false, "0.1.0", Some("c-1")).unwrap() {
            Installed::Switched { release, .. } => release,
            other => panic!("{other:?}"),
        }
    }

    /// The version the chosen package's page shows.
    fn runs(store: &Store) -> Option<(String, bool)> {
        start_from(store, false).map(|s| (fs::read_to_string(s.package.join("index.html")).unwrap(), s.trial.is_some()))
    }

    /// v1 installed and confirmed.
    fn with_v1() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("packages"));
        install(&store, "1.0.0");
        assert_eq!(runs(&store), Some(("1.0.0".into(), true)));
        store.confirm().unwrap();
        let o = store.outcomes();
        assert_eq!((o.len(), o[0].result.as_str(), o[0].version.as_str()), (1, "installed", "1.0.0"));
        store.reported(&o);
        (dir, store)
    }

    #[test]
    fn an_empty_store_or_a_named_package_runs_the_source() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("packages"));
        assert_eq!(start_from(&store, false), None);
        install(&store, "1.0.0");
        // Named on the command line: the store is not looked at, the trial not counted.
        assert_eq!(start_from(&store, true), None);
        assert_eq!(store.trial().unwrap().boots, 0);
        assert_eq!(runs(&store), Some(("1.0.0".into(), true)));
    }

    #[test]
    fn a_source_set_by_hand_detaches_the_store() {
        let (_dir, store) = with_v1();
        store.detach().unwrap();
        assert_eq!(runs(&store), None, "[package] source runs");
        // The next pushed update runs again, and may be a higher version than the detached one.
        install(&store, "2.0.0");
        assert_eq!(runs(&store), Some(("2.0.0".into(), true)));
    }

    #[test]
    fn a_confirmed_update_runs_at_every_start() {
        let (_dir, store) = with_v1();
        install(&store, "2.0.0");
        assert_eq!(runs(&store), Some(("2.0.0".into(), true)));
        store.confirm().unwrap();
        for _ in 0..5 {
            assert_eq!(runs(&store), Some(("2.0.0".into(), false)));
        }
        let o = store.outcomes();
        assert_eq!((o[0].result.as_str(), o[0].from.as_deref()), ("installed", Some("1.0.0")));
    }

    #[test]
    fn a_crash_loop_rolls_back_at_the_next_start() {
        let (_dir, store) = with_v1();
        install(&store, "2.0.0");
        for _ in 0..MAX_TRIAL_BOOTS {
            assert_eq!(runs(&store), Some(("2.0.0".into(), true)));
        }
        assert_eq!(runs(&store), Some(("1.0.0".into(), false)));
        let o = store.outcomes();
        assert_eq!((o.len(), o[0].result.as_str(), o[0].version.as_str()), (1, "rolled-back", "2.0.0"));
        assert!(o[0].reason.contains("crash loop"), "{}", o[0].reason);
        assert_eq!(o[0].command.as_deref(), Some("c-1"));
        // The release rolled back from is kept as previous; a new install may follow.
        assert_eq!(store.trial(), None);
        install(&store, "2.0.1");
        assert_eq!(runs(&store), Some(("2.0.1".into(), true)));
    }

    #[test]
    fn a_first_install_that_fails_goes_back_to_the_source() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("packages"));
        install(&store, "1.0.0");
        assert!(runs(&store).is_some());
        assert!(judge_trial(&store, Duration::from_millis(200), || PageState::Loading));
        assert_eq!(start_from(&store, false), None);
        assert_eq!(store.outcomes()[0].result, "rolled-back");
    }

    #[test]
    fn power_cut_between_staging_and_switch_runs_the_old_release() {
        let (dir, store) = with_v1();
        // v2 downloaded and unpacked into releases/, then the power went before state.json
        // named it; a second update was half unpacked in staging/ and half downloaded.
        let zip = package_zip("t.pkg", "2.0.0");
        let m = manifest(&zip, "t.pkg", "2.0.0");
        let path = store.download(&m, &zip[..]).unwrap();
        let v2 = Release { name: release_name(&m), app: m.app.clone(), version: m.version.clone() };
        store.unpack(&path, &m, &v2).unwrap();
        assert!(store.release_dir(&v2).join("miniapp.json").is_file());
        let half = dir.path().join("packages/staging/t.pkg-3.0.0-x");
        fs::create_dir_all(&half).unwrap();
        fs::write(half.join("index.html"), b"<p>half").unwrap();
        fs::write(dir.path().join("packages/downloads/t.pkg-3.0.0-x.zip"), b"PK\x03").unwrap();

        assert_eq!(runs(&store), Some(("1.0.0".into(), false)));
        assert!(!dir.path().join("packages/staging").exists());
        assert!(!dir.path().join("packages/downloads").exists());
        assert!(store.outcomes().is_empty());
        // The update sent again installs over what was left.
        assert_eq!(install(&store, "2.0.0"), v2);
        assert_eq!(runs(&store), Some(("2.0.0".into(), true)));
    }

    #[test]
    fn power_cut_during_the_switch_leaves_a_release_that_runs() {
        let (dir, store) = with_v1();
        install(&store, "2.0.0");
        // The temporary state file written, not yet renamed over state.json.
        let before = fs::read(dir.path().join("packages/state.json")).unwrap();
        fs::write(dir.path().join("packages/.state.json.1.tmp"), &before[..before.len() / 2]).unwrap();
        assert_eq!(runs(&store), Some(("2.0.0".into(), true)));
        // A release removed by hand: the one before it runs.
        fs::remove_dir_all(store.release_dir(&store.current().unwrap())).unwrap();
        assert_eq!(runs(&store), Some(("1.0.0".into(), false)));
    }

    #[test]
    fn a_trial_that_never_shows_its_page_is_rolled_back() {
        let (_dir, store) = with_v1();
        install(&store, "2.0.0");
        assert_eq!(runs(&store), Some(("2.0.0".into(), true)));
        let started = Instant::now();
        assert!(judge_trial(&store, Duration::from_millis(300), || PageState::Loading));
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert_eq!(runs(&store), Some(("1.0.0".into(), false)));
        let o = store.outcomes();
        assert_eq!(o[0].result, "rolled-back");
        assert!(o[0].reason.contains("did not show its page"), "{}", o[0].reason);
    }

    #[test]
    fn a_trial_whose_page_fails_is_rolled_back_and_one_shown_is_confirmed() {
        let (_dir, store) = with_v1();
        install(&store, "2.0.0");
        runs(&store);
        let mut n = 0;
        let failed = judge_trial(&store, TRIAL_DEADLINE, || {
            n += 1;
            if n < 3 {
                PageState::Loading
            } else {
                PageState::Failed("booth://localhost/index.html: HTTP 503".into())
            }
        });
        assert!(failed);
        assert!(store.outcomes()[0].reason.contains("HTTP 503"));
        store.reported(&store.outcomes());

        install(&store, "2.0.1");
        runs(&store);
        assert!(!judge_trial(&store, TRIAL_DEADLINE, || PageState::Shown));
        assert_eq!(runs(&store), Some(("2.0.1".into(), false)));
        let o = store.outcomes();
        assert_eq!((o[0].result.as_str(), o[0].from.as_deref()), ("installed", Some("1.0.0")));
    }

    #[test]
    fn the_shell_report_says_how_the_page_does() {
        let ok = json!({"launcher": null, "launcherStatus": "", "recoveries": [], "loads": {"main": {"count": 1}}});
        assert_eq!(PageState::from_shell(&ok), PageState::Shown);
        let loading = json!({"launcher": null, "recoveries": [], "loads": {}});
        assert_eq!(PageState::from_shell(&loading), PageState::Loading);
        let failed = json!({"launcher": "failed", "launcherStatus": "no miniapp.json", "recoveries": [],
            "loads": {"main": {"count": 2}}});
        assert_eq!(PageState::from_shell(&failed), PageState::Failed("no miniapp.json".into()));
        let exit = json!({"launcher": "exit", "recoveries": [], "loads": {"main": {"count": 2}}});
        assert!(matches!(PageState::from_shell(&exit), PageState::Failed(_)));
        let crashed = json!({"launcher": null, "recoveries": [{"window": "main", "why": "crashed"}],
            "loads": {"main": {"count": 2}}});
        assert_eq!(PageState::from_shell(&crashed), PageState::Failed("the page's web process ended (crashed)".into()));
        assert_eq!(PageState::from_shell(&json!(null)), PageState::Loading);
        let threw = json!({"launcher": null, "recoveries": [], "loads": {"main": {"count": 1}},
            "startErrors": ["Uncaught TypeError: app.start is not a function"]});
        assert_eq!(
            PageState::from_shell(&threw),
            PageState::Failed(
                "the page reported an error at start: Uncaught TypeError: app.start is not a function".into()
            )
        );
        let clean = json!({"launcher": null, "recoveries": [], "loads": {"main": {"count": 1}}, "startErrors": []});
        assert_eq!(PageState::from_shell(&clean), PageState::Shown);
    }
}
