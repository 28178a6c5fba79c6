//! Edits of `booth.toml` that never leave a half-written or invalid file behind.
//!
//! An edit names a dotted key (`scanner.port`, `admin.pin_hash`, `keypad.keys."153"`) and a new
//! value, or none to remove the key. [`apply`] changes only those keys — the operator's comments,
//! blank lines and key order stay as they were — checks that the result is still a valid
//! [`Config`] (otherwise the file is left untouched and the error says why), and replaces the
//! file atomically: the new text goes to a temporary file in the same folder, is flushed to disk,
//! and is renamed over the old one (`rename` on Unix, then the folder is flushed too;
//! `MoveFileExW(REPLACE_EXISTING | WRITE_THROUGH)` on Windows). A reader, or Booth starting after
//! a power cut, sees either the old file or the new one, never a mix.
//!
//! Writers take a lock file next to the target (`.booth.toml.lock`, left in place) so two edits —
//! the admin screen and `booth pin`, say — cannot interleave or lose each other's change; while
//! holding it they also delete temporary files a killed writer left behind.
//!
//! Permissions: on Unix the new file gets the old one's mode and (when allowed) owner. On Windows
//! it gets the folder's inherited ACL, so an ACL set on `booth.toml` alone is not carried over.

use crate::config::Config;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a writer waits for another one to finish.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// One change: set `key` to `value`, or remove it when `value` is `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct Edit {
    /// A dotted TOML key; segments may be quoted (`keypad.keys."153"`).
    pub key: String,
    pub value: Option<toml::Value>,
}

impl Edit {
    pub fn set(key: impl Into<String>, value: impl Into<toml::Value>) -> Edit {
        Edit { key: key.into(), value: Some(value.into()) }
    }

    pub fn remove(key: impl Into<String>) -> Edit {
        Edit { key: key.into(), value: None }
    }

    /// From a JSON value (what the admin screen sends): `null` removes the key; numbers become
    /// integers when they are whole, else floats; objects become tables.
    pub fn from_json(key: impl Into<String>, value: &serde_json::Value) -> Result<Edit, SettingsError> {
        let key = key.into();
        let value = json_to_toml(value).map_err(|message| SettingsError::Key { key: key.clone(), message })?;
        Ok(Edit { key, value })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The edit itself is unusable (bad key, a value TOML cannot hold, a key inside a value).
    #[error("{key}: {message}")]
    Key { key: String, message: String },
    /// The edited file would not be a valid booth.toml; nothing was written.
    #[error("refused, booth.toml would be invalid: {0}")]
    Invalid(String),
    /// The current file is not valid TOML, so it cannot be edited key by key.
    #[error("{path}: cannot edit, the file is not valid TOML ({message})")]
    Unreadable { path: PathBuf, message: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

impl SettingsError {
    fn io(path: &Path, source: io::Error) -> SettingsError {
        SettingsError::Io { path: path.to_path_buf(), source }
    }
}

/// Applies `edits` to the file at `path` (created, with its folder, when missing) and returns the
/// configuration it now holds. On any error the file is unchanged.
pub fn apply(path: &Path, edits: &[Edit]) -> Result<Config, SettingsError> {
    let lock = FileLock::acquire(path).map_err(|e| SettingsError::io(path, e))?;
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(SettingsError::io(path, e)),
    };
    let (new_text, config) = edit_text(&text, edits).map_err(|e| match e {
        SettingsError::Unreadable { message, .. } => SettingsError::Unreadable { path: path.to_path_buf(), message },
        other => other,
    })?;
    if new_text != text || !path.exists() {
        write_locked(&lock, path, new_text.as_bytes()).map_err(|e| SettingsError::io(path, e))?;
    }
    Ok(config)
}

/// The text `edits` make of `text`, and the configuration it holds; no file is touched.
pub fn edit_text(text: &str, edits: &[Edit]) -> Result<(String, Config), SettingsError> {
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| SettingsError::Unreadable { path: PathBuf::new(), message: one_line(&e) })?;
    for edit in edits {
        apply_one(&mut doc, edit)?;
    }
    let new_text = doc.to_string();
    let config = Config::parse(&new_text).map_err(SettingsError::Invalid)?;
    Ok((new_text, config))
}

fn one_line(e: &toml_edit::TomlError) -> String {
    e.message().trim().replace('\n', " ")
}

fn apply_one(doc: &mut toml_edit::DocumentMut, edit: &Edit) -> Result<(), SettingsError> {
    let bad = |message: String| SettingsError::Key { key: edit.key.clone(), message };
    let path = toml_edit::Key::parse(&edit.key).map_err(|e| bad(format!("not a TOML key ({})", one_line(&e))))?;
    let Some((last, parents)) = path.split_last() else {
        return Err(bad("empty key".into()));
    };
    let mut table: &mut dyn toml_edit::TableLike = doc.as_table_mut();
    for (i, seg) in parents.iter().enumerate() {
        let here = path[..=i].iter().map(|k| k.display_repr().into_owned()).collect::<Vec<_>>().join(".");
        if table.get(seg.get()).is_none() {
            if edit.value.is_none() {
                return Ok(()); // removing a key under a table that does not exist: nothing to do
            }
            table.insert(seg.get(), toml_edit::Item::Table(toml_edit::Table::new()));
        }
        let item = table.get_mut(seg.get()).expect("inserted above");
        table = item.as_table_like_mut().ok_or_else(|| bad(format!("`{here}` is a value, not a table")))?;
    }
    let Some(value) = &edit.value else {
        table.remove(last.get());
        // A `[section]` left empty by the removal goes too (when it has no comment of its own).
        if parents.len() == 1 && table.is_empty() {
            let root = doc.as_table_mut();
            let bare = root
                .get(parents[0].get())
                .and_then(|i| i.as_table())
                .is_some_and(|t| t.decor().prefix().and_then(|p| p.as_str()).is_none_or(|p| !p.contains('#')));
            if bare {
                root.remove(parents[0].get());
            }
        }
        return Ok(());
    };
    let new_item =
        to_item(value, table.get(last.get()).is_some_and(|i| i.is_table()) || value.is_table()).map_err(bad)?;
    match table.get_mut(last.get()) {
        // Keep the comment after the old value and the spacing around it.
        Some(toml_edit::Item::Value(old)) if new_item.is_value() => {
            let decor = old.decor().clone();
            *old = new_item.into_value().expect("checked is_value");
            *old.decor_mut() = decor;
        }
        Some(slot) => *slot = new_item,
        None => {
            table.insert(last.get(), new_item);
        }
    }
    Ok(())
}

/// A table becomes a `[section]` when `as_section`, else an inline `{ … }`.
fn to_item(value: &toml::Value, as_section: bool) -> Result<toml_edit::Item, String> {
    match value {
        toml::Value::Table(t) if as_section => {
            let mut table = toml_edit::Table::new();
            for (k, v) in t {
                table.insert(k, to_item(v, v.is_table())?);
            }
            Ok(toml_edit::Item::Table(table))
        }
        other => Ok(toml_edit::Item::Value(to_value(other)?)),
    }
}

fn to_value(value: &toml::Value) -> Result<toml_edit::Value, String> {
    Ok(match value {
        toml::Value::String(s) => s.as_str().into(),
        toml::Value::Integer(i) => (*i).into(),
        toml::Value::Float(f) => (*f).into(),
        toml::Value::Boolean(b) => (*b).into(),
        toml::Value::Datetime(d) => {
            let dt: toml_edit::Datetime = d.to_string().parse().map_err(|_| format!("bad date-time {d}"))?;
            dt.into()
        }
        toml::Value::Array(items) => {
            let mut array = toml_edit::Array::new();
            for item in items {
                array.push(to_value(item)?);
            }
            toml_edit::Value::Array(array)
        }
        toml::Value::Table(t) => {
            let mut inline = toml_edit::InlineTable::new();
            for (k, v) in t {
                inline.insert(k, to_value(v)?);
            }
            toml_edit::Value::InlineTable(inline)
        }
    })
}

fn json_to_toml(value: &serde_json::Value) -> Result<Option<toml::Value>, String> {
    use serde_json::Value as J;
    Ok(Some(match value {
        J::Null => return Ok(None),
        J::Bool(b) => toml::Value::Boolean(*b),
        J::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => toml::Value::Integer(i),
            (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => toml::Value::Integer(f as i64),
            (None, Some(f)) => toml::Value::Float(f),
            _ => return Err(format!("{n} does not fit a TOML number")),
        },
        J::String(s) => toml::Value::String(s.clone()),
        J::Array(items) => toml::Value::Array(
            items
                .iter()
                .map(|i| json_to_toml(i)?.ok_or_else(|| "null inside an array".to_string()))
                .collect::<Result<_, _>>()?,
        ),
        J::Object(map) => {
            let mut table = toml::Table::new();
            for (k, v) in map {
                if let Some(v) = json_to_toml(v)? {
                    table.insert(k.clone(), v);
                }
            }
            toml::Value::Table(table)
        }
    }))
}

/// Replaces the file at `path` with `bytes` atomically (see the module notes), under the same
/// lock as [`apply`]. For Booth's small state files (PIN attempts, the lock-down marker).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let lock = FileLock::acquire(path)?;
    write_locked(&lock, path, bytes)
}

/// The file name of `path`, for temporary and lock names next to it.
fn file_name(path: &Path) -> io::Result<String> {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file path"))
}

fn folder(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Temporary files are `.<name>.<pid>.<n>.tmp` next to the target.
fn is_temp_of(candidate: &str, name: &str) -> bool {
    candidate.strip_prefix('.').and_then(|r| r.strip_prefix(name)).is_some_and(|r| r.starts_with('.'))
        && candidate.ends_with(".tmp")
}

/// Temporary files next to `path` (left by a writer that was killed, or one at work).
pub fn temp_files(path: &Path) -> io::Result<Vec<PathBuf>> {
    let name = file_name(path)?;
    let mut found = Vec::new();
    for entry in fs::read_dir(folder(path))? {
        let entry = entry?;
        if is_temp_of(&entry.file_name().to_string_lossy(), &name) {
            found.push(entry.path());
        }
    }
    Ok(found)
}

fn write_locked(_lock: &FileLock, path: &Path, bytes: &[u8]) -> io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = file_name(path)?;
    let dir = folder(path);
    fs::create_dir_all(dir)?;
    // Holding the lock, no other writer is at work: any temporary file is a dead writer's.
    for stale in temp_files(path)? {
        let _ = fs::remove_file(stale);
    }
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let result = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        file.write_all(bytes)?;
        if let Ok(old) = fs::metadata(path) {
            keep_owner_and_mode(&file, &old);
        }
        file.sync_all()?;
        drop(file);
        replace(&tmp, path)?;
        sync_folder(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(unix)]
fn keep_owner_and_mode(file: &File, old: &fs::Metadata) {
    use std::os::unix::fs::MetadataExt;
    // Owner first: changing it may clear set-id bits that the mode then restores.
    if let Ok(new) = file.metadata() {
        if (new.uid(), new.gid()) != (old.uid(), old.gid()) {
            let _ = std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid()));
        }
    }
    let _ = file.set_permissions(old.permissions());
}

#[cfg(windows)]
fn keep_owner_and_mode(file: &File, old: &fs::Metadata) {
    // The read-only attribute is the only permission std carries; a read-only booth.toml makes
    // the rename fail, which is the operator's intent.
    let _ = file.set_permissions(old.permissions());
}

#[cfg(unix)]
fn replace(from: &Path, to: &Path) -> io::Result<()> {
    fs::rename(from, to)
}

#[cfg(windows)]
fn replace(from: &Path, to: &Path) -> io::Result<()> {
    use std::os::windows::ffi::OsStrExt;
    use windows::core::PCWSTR;
    use windows::Win32::Storage::FileSystem::{MoveFileExW, MOVEFILE_REPLACE_EXISTING, MOVEFILE_WRITE_THROUGH};
    let wide = |p: &Path| p.as_os_str().encode_wide().chain(Some(0)).collect::<Vec<u16>>();
    let (from_w, to_w) = (wide(from), wide(to));
    let mut last = None;
    // A virus scanner or indexer briefly holding the target makes the move fail; try a few times.
    for attempt in 0..20 {
        // SAFETY: both strings are NUL-terminated and live across the call.
        match unsafe {
            MoveFileExW(
                PCWSTR(from_w.as_ptr()),
                PCWSTR(to_w.as_ptr()),
                MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH,
            )
        } {
            Ok(()) => return Ok(()),
            Err(e) => {
                last = Some(io::Error::from_raw_os_error(e.code().0 & 0xFFFF));
                std::thread::sleep(Duration::from_millis(10 * (attempt + 1)));
            }
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("MoveFileExW failed")))
}

#[cfg(unix)]
fn sync_folder(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(windows)]
fn sync_folder(_dir: &Path) -> io::Result<()> {
    // MOVEFILE_WRITE_THROUGH already waited for the rename to reach the disk.
    Ok(())
}

/// An exclusive lock on `.<name>.lock` next to a file, across processes and threads.
pub(crate) struct FileLock {
    _file: File,
}

impl FileLock {
    pub(crate) fn acquire(path: &Path) -> io::Result<FileLock> {
        let name = file_name(path)?;
        let dir = folder(path);
        fs::create_dir_all(dir)?;
        let lock_path = dir.join(format!(".{name}.lock"));
        let started = Instant::now();
        loop {
            match try_lock(&lock_path)? {
                Some(file) => return Ok(FileLock { _file: file }),
                None if started.elapsed() < LOCK_WAIT => std::thread::sleep(Duration::from_millis(5)),
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::WouldBlock,
                        format!("{} is held by another writer", lock_path.display()),
                    ))
                }
            }
        }
    }
}

#[cfg(unix)]
fn try_lock(lock_path: &Path) -> io::Result<Option<File>> {
    use std::os::unix::io::AsRawFd;
    let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(lock_path)?;
    // SAFETY: flock on a descriptor this function owns; the lock is released when it is closed.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(Some(file));
    }
    let e = io::Error::last_os_error();
    if e.kind() == io::ErrorKind::WouldBlock || e.raw_os_error() == Some(libc::EINTR) {
        Ok(None)
    } else {
        Err(e)
    }
}

#[cfg(windows)]
fn try_lock(lock_path: &Path) -> io::Result<Option<File>> {
    use std::os::windows::fs::OpenOptionsExt;
    const ERROR_SHARING_VIOLATION: i32 = 32;
    const ERROR_ACCESS_DENIED: i32 = 5;
    // No sharing: while one handle is open, every other open fails with a sharing violation.
    match OpenOptions::new().read(true).write(true).create(true).truncate(false).share_mode(0).open(lock_path) {
        Ok(f) => Ok(Some(f)),
        Err(e) if matches!(e.raw_os_error(), Some(ERROR_SHARING_VIOLATION | ERROR_ACCESS_DENIED)) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
# Terminal T-17, canteen entrance. Ask Li before changing the scanner.
[terminal]
sn = \"T-17\"   # printed on the back plate

# The scanner is on the left USB port.
[scanner]
backend = \"serial\"
port = \"/dev/ttyACM0\"  # by-id path is better
baud = 9600

[log]
level = \"info\"
";

    #[test]
    fn edits_keep_comments_and_order() {
        let (text, config) = edit_text(
            SAMPLE,
            &[Edit::set("scanner.baud", 115200), Edit::set("terminal.sn", "T-18"), Edit::set("control.port", 17801)],
        )
        .unwrap();
        assert_eq!(config.scanner.baud, 115200);
        assert_eq!(config.terminal.sn.as_deref(), Some("T-18"));
        assert_eq!(config.control.port, Some(17801));
        let expected = SAMPLE.replace("baud = 9600", "baud = 115200").replace("\"T-17\"   #", "\"T-18\"   #")
            + "\n[control]\nport = 17801\n";
        assert_eq!(text, expected);
    }

    #[test]
    fn removing_and_quoted_keys() {
        let (text, config) = edit_text(SAMPLE, &[Edit::remove("terminal.sn"), Edit::remove("nothing.here")]).unwrap();
        assert!(!text.contains("sn ="), "{text}");
        assert!(text.contains("changing the scanner.\n[terminal]\n"), "a commented section stays: {text}");
        let (text, _) =
            edit_text("[log]\nlevel = \"info\"\n\n[admin]\npin_hash = \"x\"\n", &[Edit::remove("admin.pin_hash")])
                .unwrap();
        assert_eq!(text, "[log]\nlevel = \"info\"\n", "an empty bare section goes");
        assert_eq!(config.terminal.sn, None);
        let keys = toml::Value::Array(vec!["Numpad0".into(), "Digit0".into()]);
        let (text, config) = edit_text("", &[Edit::set("keypad.keys.\"153\"", keys)]).unwrap();
        assert_eq!(config.keypad.keys.get("153").map(|v| v.len()), Some(2), "{text}");
    }

    #[test]
    fn invalid_edits_are_refused() {
        let e = edit_text(SAMPLE, &[Edit::set("scanner.backend", "usb")]).unwrap_err();
        assert!(matches!(&e, SettingsError::Invalid(m) if m.contains("scanner.backend")), "{e}");
        let e = edit_text(SAMPLE, &[Edit::set("scaner.port", "COM3")]).unwrap_err();
        assert!(matches!(&e, SettingsError::Invalid(m) if m.contains("unknown field")), "{e}");
        let e = edit_text(SAMPLE, &[Edit::set("scanner.port.inner", 1)]).unwrap_err();
        assert!(matches!(&e, SettingsError::Key { message, .. } if message.contains("not a table")), "{e}");
        let e = edit_text(SAMPLE, &[Edit::set("scanner..port", 1)]).unwrap_err();
        assert!(matches!(e, SettingsError::Key { .. }), "{e}");
        let e = edit_text("[scanner\n", &[]).unwrap_err();
        assert!(matches!(e, SettingsError::Unreadable { .. }), "{e}");
    }

    #[test]
    fn json_values() {
        let e = Edit::from_json("scanner.baud", &serde_json::json!(19200)).unwrap();
        assert_eq!(e.value, Some(toml::Value::Integer(19200)));
        let e = Edit::from_json("scanner.baud", &serde_json::json!(19200.0)).unwrap();
        assert_eq!(e.value, Some(toml::Value::Integer(19200)));
        assert_eq!(Edit::from_json("scanner.port", &serde_json::Value::Null).unwrap().value, None);
        let e = Edit::from_json("package.remote_permissions", &serde_json::json!(["scanner", "payment"])).unwrap();
        let (_, config) = edit_text("", &[e]).unwrap();
        assert_eq!(config.package.remote_permissions.unwrap(), vec!["scanner", "payment"]);
        assert!(Edit::from_json("a.b", &serde_json::json!([1, null])).is_err());
    }

    #[test]
    fn apply_writes_the_file_and_refusal_leaves_it_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("conf").join("booth.toml");
        // A missing file (and folder) is created.
        let config = apply(&path, &[Edit::set("terminal.sn", "T-1")]).unwrap();
        assert_eq!(config.terminal.sn.as_deref(), Some("T-1"));
        fs::write(&path, SAMPLE).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        }
        let before = fs::metadata(&path).unwrap().modified().unwrap();
        let e = apply(&path, &[Edit::set("scanner.baud", 0)]).unwrap_err();
        assert!(e.to_string().contains("scanner.baud"), "{e}");
        assert_eq!(fs::read_to_string(&path).unwrap(), SAMPLE);
        assert_eq!(fs::metadata(&path).unwrap().modified().unwrap(), before);

        apply(&path, &[Edit::set("scanner.baud", 19200)]).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), SAMPLE.replace("9600", "19200"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
        }
        assert!(temp_files(&path).unwrap().is_empty());
        // A file that is not TOML is not rewritten.
        fs::write(&path, "[scanner\nbaud = 1\n").unwrap();
        assert!(matches!(apply(&path, &[Edit::set("scanner.baud", 2)]), Err(SettingsError::Unreadable { .. })));
        assert_eq!(fs::read_to_string(&path).unwrap(), "[scanner\nbaud = 1\n");
    }

    #[test]
    fn concurrent_writers_lose_no_edit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("booth.toml");
        fs::write(&path, "[keypad.keys]\n").unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let path = path.clone();
                std::thread::spawn(move || {
                    for i in 0..10 {
                        let key = format!("keypad.keys.\"{}\"", 200 + t * 10 + i);
                        apply(&path, &[Edit::set(key, toml::Value::Array(vec!["Digit1".into()]))]).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let config = Config::parse(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(config.keypad.keys.len(), 40);
    }

    /// The text of version `i` of the file the killed writer rewrites: large enough that a write
    /// takes a while, and each version differs in one key.
    fn version(i: usize) -> String {
        let mut text = String::from("# rewritten while being killed\n");
        for line in 0..4000 {
            text.push_str(&format!("# padding line {line:05} so that one write spans many blocks\n"));
        }
        text.push_str(&format!("[terminal]\nsn = \"V-{i}\"\n"));
        text
    }

    const VERSIONS: usize = 7;
    const CHILD_ENV: &str = "BOOTH_SETTINGS_KILL_CHILD";

    /// Runs only as the child of `kill_mid_write_leaves_a_whole_file`: rewrites the file forever.
    #[test]
    #[ignore = "helper process of kill_mid_write_leaves_a_whole_file"]
    fn kill_mid_write_child() {
        let Some(path) = std::env::var_os(CHILD_ENV) else { return };
        let path = PathBuf::from(path);
        for i in 0.. {
            let (current, _) =
                edit_text(&version(0), &[Edit::set("terminal.sn", format!("V-{}", i % VERSIONS))]).unwrap();
            assert_eq!(current, version(i % VERSIONS));
            write_atomic(&path, current.as_bytes()).unwrap();
        }
    }

    #[test]
    fn kill_mid_write_leaves_a_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("booth.toml");
        write_atomic(&path, version(0).as_bytes()).unwrap();
        let exe = std::env::current_exe().unwrap();
        // This module's path without the crate's name, as the test harness names tests.
        let child_test = format!("{}::kill_mid_write_child", module_path!().split_once("::").unwrap().1);
        let mut seed =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let (mut seen, mut leftovers) = (std::collections::BTreeSet::new(), 0);
        let runs = 40;
        for _ in 0..runs {
            let mut child = std::process::Command::new(&exe)
                .args(["--exact", &child_test, "--ignored", "--nocapture"])
                .env(CHILD_ENV, &path)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(Duration::from_micros(5_000 + next() % 60_000));
            child.kill().unwrap(); // SIGKILL on Unix, TerminateProcess on Windows
            child.wait().unwrap();
            let text = fs::read_to_string(&path).unwrap();
            let sn = Config::parse(&text).unwrap().terminal.sn.unwrap();
            let i: usize = sn.strip_prefix("V-").unwrap().parse().unwrap();
            assert_eq!(text, version(i), "the file is not one whole version");
            seen.insert(i);
            let temps = temp_files(&path).unwrap();
            assert!(temps.len() <= 1, "{temps:?}");
            leftovers += temps.len();
        }
        eprintln!("{runs} kills: versions seen {seen:?}, {leftovers} killed mid-write (temporary file left)");
        assert!(seen.len() > 1, "the writer never got to write: the kills proved nothing");
        // The next write cleans what the killed writers left.
        write_atomic(&path, version(0).as_bytes()).unwrap();
        assert!(temp_files(&path).unwrap().is_empty());
    }
}
