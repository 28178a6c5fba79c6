//! Logging: stderr, and daily files unless booth.toml turns them off.

/// Log lines waiting for the file writer's thread.
const LOG_QUEUE_LINES: usize = 16_384;

/// Logs to stderr and, unless turned off, to daily files (kept `keep_days`). The returned guard
/// flushes the file writer when Booth exits.
pub fn init(log: &crate::config::LogSection) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    use std::io::IsTerminal;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{fmt, EnvFilter};
    let filter = EnvFilter::try_from_env("BOOTH_LOG")
        .or_else(|_| EnvFilter::try_new(&log.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let stderr = fmt::layer().with_ansi(std::io::stderr().is_terminal()).with_writer(std::io::stderr);
    let mut problem = None;
    // The appender prunes old files before it creates the folder, and says so on stderr when
    // the folder is missing (every first start on a machine): the folder comes first.
    let ready = |dir: &std::path::Path| {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        tracing_appender::rolling::Builder::new()
            .rotation(tracing_appender::rolling::Rotation::DAILY)
            .filename_prefix("booth")
            .filename_suffix("log")
            .max_log_files(log.keep_days.max(1))
            .build(dir)
            .map_err(|e| e.to_string())
    };
    let (file, guard) = match log.dir() {
        Some(dir) => match ready(&dir) {
            Ok(appender) => {
                // The appender's default queue is 128,000 lines, all of it allocated and touched at
                // start (4.1 MB of Booth's heap); 16,384 lines (0.5 MB) outlast any burst Booth
                // logs while the disk keeps up, and a queue that does fill drops lines, as before.
                let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
                    .buffered_lines_limit(LOG_QUEUE_LINES)
                    .lossy(true)
                    .finish(Watched { inner: appender, dir: dir.clone() });
                (Some(fmt::layer().with_ansi(false).with_writer(writer)), Some(guard))
            }
            Err(e) => {
                problem = Some(format!("log files off: cannot write to {} ({e})", dir.display()));
                (None, None)
            }
        },
        None => (None, None),
    };
    let _ = tracing_subscriber::registry().with(filter).with(stderr).with(file).try_init();
    if let Some(p) = problem {
        tracing::warn!("{p}");
    }
    guard
}

/// The log files' writer, watched: the appender's worker drops a line it cannot write without a
/// word, so a full disk would silently end the log. This says so once on stderr when writing
/// stops (and in `/health` `storage`), and in the file itself when it works again.
struct Watched<W> {
    inner: W,
    dir: std::path::PathBuf,
}

impl<W: std::io::Write> std::io::Write for Watched<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        use crate::devices::storage::{Change, LOG};
        match self.inner.write_all(buf) {
            Ok(()) => {
                if let Change::Recovered { dropped } = LOG.wrote() {
                    // Starts a fresh line: the last line before the failure may be cut off.
                    let note = format!(
                        "\n{} WARN booth: the log files could not be written for a while (disk full?); {dropped} lines were dropped\n",
                        chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
                    );
                    let _ = self.inner.write_all(note.as_bytes());
                    eprintln!("booth: log files in {} are written again ({dropped} lines dropped)", self.dir.display());
                }
            }
            Err(e) => {
                if LOG.failed(&e) == Change::Failed {
                    eprintln!(
                        "booth: error: cannot write the log files in {} ({e}); log lines are dropped until it can",
                        self.dir.display()
                    );
                }
            }
        }
        // Never an error: the worker would only drop the line anyway.
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = self.inner.flush();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A writer whose disk is full until `room` is set.
    struct Disk {
        room: std::sync::Arc<std::sync::atomic::AtomicBool>,
        got: Vec<u8>,
    }

    impl Write for Disk {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.room.load(std::sync::atomic::Ordering::SeqCst) {
                self.got.extend_from_slice(buf);
                Ok(buf.len())
            } else {
                Err(std::io::Error::from_raw_os_error(28))
            }
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_full_disk_drops_lines_and_the_log_says_how_many_when_it_has_room_again() {
        use crate::devices::storage::LOG;
        let room = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let mut w = Watched { inner: Disk { room: room.clone(), got: vec![] }, dir: "/var/log/booth".into() };
        w.write_all(b"one\n").unwrap();
        room.store(false, std::sync::atomic::Ordering::SeqCst);
        for _ in 0..5 {
            assert_eq!(w.write(b"lost\n").unwrap(), 5, "the worker never sees an error");
        }
        assert_eq!(LOG.report()["ok"], false);
        assert_eq!(LOG.report()["dropped"], 5);
        room.store(true, std::sync::atomic::Ordering::SeqCst);
        w.write_all(b"two\n").unwrap();
        let text = String::from_utf8(w.inner.got.clone()).unwrap();
        assert!(text.starts_with("one\ntwo\n\n"), "{text}");
        assert!(text.contains("5 lines were dropped"), "{text}");
        assert!(!text.contains("lost"));
        assert_eq!(LOG.report()["ok"], true);
    }
}
