//! End to end, a full disk under Booth's own files: the log folder and the flight recording on
//! a 2 MiB tmpfs (mounted by the test: it needs root, as scripts/test-all has), filled up while
//! the page keeps calling. Booth keeps answering every call, `/health` `storage` says which
//! files cannot be written and how many records were dropped, and once there is room again both
//! write again: the recording stays valid JSON Lines (no half line) and the log says how many
//! lines it lost. Needs Xvfb, a window manager and tauri-driver: run through scripts/test-all.

use booth_e2e::{fixture, with_booth, Booth};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A small tmpfs, unmounted when dropped.
struct Tmpfs(PathBuf, #[allow(dead_code)] tempfile::TempDir);

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0755"), "booth-disk-test"])
            .arg(dir.path())
            .output()
            .expect("mount");
        assert!(
            out.status.success(),
            "cannot mount a tmpfs (this test needs root, as scripts/test-all has): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs(dir.path().to_path_buf(), dir)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the file system of `dir` up to the last byte with `dir/filler`.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let filler = dir.join("filler");
    let mut f = std::fs::File::create(&filler).expect("filler");
    let block = vec![0u8; 4096];
    loop {
        match f.write(&block) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(28) => break,
            Err(e) => panic!("filling the disk: {e}"),
        }
    }
    // The last partial block.
    while f.write(&[0u8]).is_ok_and(|n| n == 1) {}
    filler
}

async fn calls(b: &Booth, n: usize, tag: &str) {
    for i in 0..n {
        let info = b.ampe(json!({"action": "getDeviceInfo", "event": "open", "taskId": format!("{tag}{i}")})).await;
        assert_eq!(info["success"], true, "call {tag}{i} on a full disk: {info}");
        // Page output goes to the log files.
        b.client.execute(&format!("console.warn('disk test {tag}{i}'); return 1"), vec![]).await.expect("console");
    }
}

async fn storage_until(b: &Booth, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let (_, h) = b.control("GET", "/health", "");
        if ok(&h["storage"]) {
            return h;
        }
        assert!(start.elapsed() < Duration::from_secs(15), "{what}: {h}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver and root (a tmpfs); run by scripts/test-all"]
async fn a_full_disk_drops_logs_and_recording_cleanly_and_both_come_back() {
    let disk = Tmpfs::mount("2m");
    let conf = tempfile::tempdir().expect("temp dir");
    let config = conf.path().join("booth.toml");
    std::fs::write(&config, format!("[log]\ndir = \"{}\"\n", disk.0.join("logs").display())).expect("booth.toml");
    let recording = disk.0.join("flight.jsonl");
    let (config_arg, record_arg) = (config.display().to_string(), recording.display().to_string());
    with_booth(&fixture("basic"), &["--config", &config_arg, "--record", &record_arg], async |b| {
        calls(b, 5, "before").await;
        let h = storage_until(b, "files written at first", |s| s["log"]["ok"] == true && s["recording"]["ok"] == true)
            .await;
        assert_eq!(h["storage"]["recording"]["failures"], 0, "{h}");

        let filler = fill(&disk.0);
        // Every call is answered while nothing can be written.
        calls(b, 40, "full").await;
        let h =
            storage_until(b, "both files failing", |s| s["log"]["ok"] == false && s["recording"]["ok"] == false).await;
        let s = &h["storage"];
        // A few records still fit in the unused end of the recording's last page.
        assert!(s["recording"]["dropped"].as_u64().unwrap_or(0) >= 20, "{h}");
        assert!(s["recording"]["lastError"].as_str().unwrap_or_default().contains("No space left"), "{h}");
        assert_eq!(h["status"], "ok");

        // Room again: both write again, by themselves.
        std::fs::remove_file(&filler).expect("free the disk");
        calls(b, 5, "after").await;
        let h =
            storage_until(b, "both files writing again", |s| s["log"]["ok"] == true && s["recording"]["ok"] == true)
                .await;
        assert_eq!(h["storage"]["recording"]["failures"], 1, "said once: {h}");
        assert_eq!(h["storage"]["log"]["failures"], 1, "said once: {h}");
        assert_eq!(h["storage"]["recording"]["dropped"], 0, "{h}");

        // The recording: whole lines only, the calls before and after the full disk in it.
        let text = std::fs::read_to_string(&recording).expect("recording");
        let mut tasks = vec![];
        for line in text.lines() {
            let record: Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("not a whole record ({e}): {line}"));
            if let Some(t) = record["taskId"].as_str() {
                tasks.push(t.to_string());
            }
        }
        assert!(tasks.iter().any(|t| t == "before0") && tasks.iter().any(|t| t == "after4"), "{tasks:?}");
        // The log: the lines before and after, and what was lost in between.
        let start = Instant::now();
        loop {
            let mut log = String::new();
            for entry in std::fs::read_dir(disk.0.join("logs")).expect("log folder").flatten() {
                log.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
            }
            if log.contains("disk test after4") {
                assert!(log.contains("disk test before0"), "{log}");
                assert!(log.contains("lines were dropped"), "{log}");
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(10), "the log did not come back: {log}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    drop(disk);
}
