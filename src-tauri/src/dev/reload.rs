//! Hot reload for `booth dev`: watches the package folder and reports each burst of changes once.
//!
//! Saves are coalesced: a change starts a batch, which closes after [`QUIET`] without another
//! change (or [`LONGEST`] after it opened, so a build tool writing continuously still reloads).
//! The folder's parent is watched too, so deleting and recreating the folder (as some build tools
//! do) keeps working; while the folder is missing the batch waits for it to come back.

use notify::{EventKind, RecursiveMode, Watcher};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::time::{Duration, Instant};

/// A batch closes after this long without a change.
pub const QUIET: Duration = Duration::from_millis(40);
/// A batch closes at the latest this long after it opened.
pub const LONGEST: Duration = Duration::from_millis(150);
/// How long a batch waits for a deleted folder to reappear.
const REAPPEAR: Duration = Duration::from_secs(10);

/// Stops watching when dropped.
pub struct Watch {
    _stop: std::sync::mpsc::Sender<()>,
}

/// Editors' and build tools' scratch files, which never change what the page loads.
fn is_scratch(path: &Path) -> bool {
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.starts_with(".#")
        || name == "4913"
        || path.components().any(|c| c.as_os_str() == ".git" || c.as_os_str() == "node_modules")
}

/// Calls `on_change` with the changed files (relative to `dir`) after each burst of changes.
pub fn watch(dir: &Path, on_change: impl Fn(Vec<String>) + Send + 'static) -> notify::Result<Watch> {
    let dir = dir.canonicalize().map_err(|e| notify::Error::io(e).add_path(dir.to_path_buf()))?;
    let parent = dir.parent().map(Path::to_path_buf).unwrap_or_else(|| dir.clone());
    let (tx, rx) = channel::<notify::Result<notify::Event>>();
    let mut watcher = notify::recommended_watcher(move |e| {
        let _ = tx.send(e);
    })?;
    watcher.watch(&parent, RecursiveMode::NonRecursive)?;
    watcher.watch(&dir, RecursiveMode::Recursive)?;
    let (stop_tx, stop_rx) = channel::<()>();
    std::thread::Builder::new().name("booth-reload".into()).spawn(move || {
        let mut watching = true;
        let mut batch: BTreeSet<String> = BTreeSet::new();
        // (when the batch opened, when its last change came)
        let mut open: Option<(Instant, Instant)> = None;
        loop {
            if matches!(stop_rx.try_recv(), Err(std::sync::mpsc::TryRecvError::Disconnected)) {
                return;
            }
            let wait = match open {
                _ if !watching => Duration::from_millis(50),
                Some((first, last)) => {
                    QUIET.saturating_sub(last.elapsed()).min(LONGEST.saturating_sub(first.elapsed()))
                }
                None => Duration::from_millis(250),
            };
            match rx.recv_timeout(wait) {
                Ok(Ok(event)) if !matches!(event.kind, EventKind::Access(_)) => {
                    for path in event.paths {
                        let rel = if path == dir {
                            // The folder itself went or came back.
                            ".".to_string()
                        } else {
                            match path.strip_prefix(&dir) {
                                Ok(rel) if !is_scratch(rel) => rel.to_string_lossy().replace('\\', "/"),
                                _ => continue,
                            }
                        };
                        batch.insert(rel);
                        let now = Instant::now();
                        open = Some((open.map_or(now, |(first, _)| first), now));
                    }
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(target: "reload", error = %e, "watching the package folder"),
                Err(RecvTimeoutError::Disconnected) => return,
                Err(RecvTimeoutError::Timeout) => {}
            }
            // Keep the recursive watch on the folder across delete / recreate.
            let exists = dir.is_dir();
            if watching && !exists {
                let _ = watcher.unwatch(&dir);
                watching = false;
                tracing::info!(target: "reload", "package folder removed; waiting for it to come back");
            } else if !watching && exists {
                match watcher.watch(&dir, RecursiveMode::Recursive) {
                    Ok(()) => watching = true,
                    Err(e) => tracing::warn!(target: "reload", error = %e, "cannot watch the package folder again"),
                }
            }
            let Some((first, last)) = open else { continue };
            if last.elapsed() < QUIET && first.elapsed() < LONGEST {
                continue;
            }
            if !exists {
                if first.elapsed() < REAPPEAR {
                    continue;
                }
                tracing::warn!(target: "reload", "package folder still missing; reloading anyway");
            }
            batch.remove(".");
            open = None;
            on_change(std::mem::take(&mut batch).into_iter().collect());
        }
    })?;
    Ok(Watch { _stop: stop_tx })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    type Seen = Arc<Mutex<Vec<(Instant, Vec<String>)>>>;

    fn recorder() -> (Seen, impl Fn(Vec<String>) + Send + 'static) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        (seen, move |changed| s.lock().unwrap().push((Instant::now(), changed)))
    }

    fn wait_for(seen: &Mutex<Vec<(Instant, Vec<String>)>>, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while seen.lock().unwrap().len() < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn a_burst_of_saves_is_one_reload_naming_the_files() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("pkg");
        std::fs::create_dir_all(dir.join("js")).unwrap();
        let (seen, cb) = recorder();
        let _w = watch(&dir, cb).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let t0 = Instant::now();
        for i in 0..10 {
            std::fs::write(dir.join("index.html"), format!("v{i}")).unwrap();
            std::fs::write(dir.join("js/app.js"), format!("v{i}")).unwrap();
            std::fs::write(dir.join(".index.html.swp"), "x").unwrap();
        }
        wait_for(&seen, 1);
        std::thread::sleep(LONGEST * 2);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert_eq!(seen[0].1, vec!["index.html".to_string(), "js/app.js".to_string()]);
        let took = seen[0].0 - t0;
        assert!(took < Duration::from_millis(1000), "reported after {took:?}");
    }

    #[test]
    fn deleting_and_recreating_the_folder_keeps_working() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("dist");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("index.html"), "1").unwrap();
        let (seen, cb) = recorder();
        let _w = watch(&dir, cb).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        std::fs::remove_dir_all(&dir).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        assert!(seen.lock().unwrap().is_empty(), "no reload while the folder is missing");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("index.html"), "2").unwrap();
        wait_for(&seen, 1);
        std::thread::sleep(Duration::from_millis(300));
        // A later save inside the recreated folder is still seen (the recreation itself may
        // come as more than one batch on a busy machine: wait for the save's own).
        std::fs::write(dir.join("app.css"), "3").unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !seen.lock().unwrap().iter().any(|(_, c)| c.contains(&"app.css".to_string())) && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        let seen = seen.lock().unwrap();
        assert!(seen.len() >= 2, "{seen:?}");
        assert!(seen.last().unwrap().1.contains(&"app.css".to_string()), "{seen:?}");
    }
}
