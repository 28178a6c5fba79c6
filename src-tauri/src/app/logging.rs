//! Logging: stderr, and daily files unless booth.toml turns them off.

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
                let (writer, guard) = tracing_appender::non_blocking(appender);
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
