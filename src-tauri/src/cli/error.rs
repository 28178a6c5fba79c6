//! How a sub-command reports a failure: one line on stderr, exit code 2.

/// Prints `booth: error: MESSAGE` and returns the exit code for a refused command.
pub fn fail(message: impl std::fmt::Display) -> i32 {
    eprintln!("booth: error: {message}");
    2
}
