//! The local programs `ft.finOpenOtherApp` may start: `[apps.<name>] command` of booth.toml,
//! nothing else. One runs at a time; one still running after its `max_s` is ended.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a program may run when its entry gives no `max_s`.
pub const DEFAULT_MAX: Duration = Duration::from_secs(600);
/// How often the runner looks at the program.
const POLL: Duration = Duration::from_millis(100);

/// One allow-listed program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// The entry's name (`[apps.<name>]`).
    pub name: String,
    /// The program and its arguments, as booth.toml lists them (no shell).
    pub command: Vec<String>,
    /// Ended when still running after this long.
    pub max: Duration,
}

/// How a program's run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It exited by itself (its exit code; `None` when a signal ended it).
    Exited(Option<i32>),
    /// It was still running after `max` and was ended.
    Ended,
}

/// Why a program could not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProgramError {
    #[error("[apps.{0}]: command is empty")]
    Empty(String),
    #[error("[apps.{0}]: cannot start {1} ({2})")]
    Spawn(String, String, String),
}

impl Program {
    /// Starts the program (its output goes nowhere: it has a screen, not a console).
    pub fn start(&self) -> Result<Child, ProgramError> {
        let (exe, args) = self.command.split_first().ok_or_else(|| ProgramError::Empty(self.name.clone()))?;
        Command::new(exe)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| ProgramError::Spawn(self.name.clone(), exe.clone(), e.to_string()))
    }

    /// Waits for `child` (started by [`Self::start`]) to exit, ending it at `max`.
    pub fn supervise(&self, mut child: Child) -> Outcome {
        let deadline = Instant::now() + self.max;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return Outcome::Exited(status.code()),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL),
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(program = %self.name, error = %e, "cannot watch the program; ending it");
                    break;
                }
            }
        }
        tracing::warn!(program = %self.name, max_s = self.max.as_secs(), "the program is still running: ending it");
        if let Err(e) = child.kill() {
            tracing::warn!(program = %self.name, error = %e, "cannot end the program");
        }
        let _ = child.wait();
        Outcome::Ended
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn program(command: &[&str], max: Duration) -> Program {
        Program { name: "t".into(), command: command.iter().map(|s| s.to_string()).collect(), max }
    }

    #[test]
    fn a_program_that_exits_is_seen_to_exit_with_its_code() {
        let p = program(&["sh", "-c", "exit 3"], Duration::from_secs(10));
        let child = p.start().expect("sh starts");
        assert_eq!(p.supervise(child), Outcome::Exited(Some(3)));
    }

    #[test]
    fn a_program_still_running_at_max_is_ended() {
        let p = program(&["sleep", "30"], Duration::from_millis(300));
        let started = Instant::now();
        let child = p.start().expect("sleep starts");
        let pid = child.id();
        assert_eq!(p.supervise(child), Outcome::Ended);
        assert!(started.elapsed() < Duration::from_secs(5), "ended at max, not at its own end");
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "the process is gone");
    }

    #[test]
    fn a_missing_program_is_an_error() {
        let p = program(&["/nonexistent/booth-program"], Duration::from_secs(1));
        assert!(matches!(p.start(), Err(ProgramError::Spawn(..))));
        assert!(matches!(program(&[], Duration::from_secs(1)).start(), Err(ProgramError::Empty(_))));
    }
}
