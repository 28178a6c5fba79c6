//! Reading the admin PIN from the terminal without showing it, or one line from a pipe.

use std::io::{BufRead, IsTerminal, Write};

/// A new PIN: asked twice without echo on a terminal, else the first line of standard input.
/// Checked against the PIN rules before it is returned.
pub fn read_new_pin() -> Result<String, String> {
    let stdin = std::io::stdin();
    let pin = if stdin.is_terminal() {
        let first = read_hidden("New admin PIN (4-12 digits): ")?;
        crate::kiosk::pin::check_rules(&first).map_err(|e| e.to_string())?;
        let again = read_hidden("Again: ")?;
        if first != again {
            return Err("the two PINs differ; nothing changed".into());
        }
        first
    } else {
        let mut line = String::new();
        stdin.lock().read_line(&mut line).map_err(|e| format!("cannot read the PIN from standard input ({e})"))?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    crate::kiosk::pin::check_rules(&pin).map_err(|e| e.to_string())?;
    Ok(pin)
}

/// Prompts on stderr and reads a line from the terminal with echo off (restored afterwards).
fn read_hidden(prompt: &str) -> Result<String, String> {
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let echo = EchoOff::new();
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    drop(echo);
    // Unix echoes the newline itself (ECHONL); the Windows console does not.
    #[cfg(windows)]
    eprintln!();
    read.map_err(|e| format!("cannot read the PIN ({e})"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Turns terminal echo off until dropped.
struct EchoOff {
    #[cfg(unix)]
    saved: Option<libc::termios>,
    #[cfg(windows)]
    saved: Option<(windows::Win32::Foundation::HANDLE, windows::Win32::System::Console::CONSOLE_MODE)>,
}

#[cfg(unix)]
impl EchoOff {
    fn new() -> EchoOff {
        // SAFETY: termios calls on standard input with a struct they fill.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(libc::STDIN_FILENO, &mut t) != 0 {
                return EchoOff { saved: None };
            }
            let saved = t;
            t.c_lflag &= !libc::ECHO;
            t.c_lflag |= libc::ECHONL;
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &t);
            EchoOff { saved: Some(saved) }
        }
    }
}

#[cfg(unix)]
impl Drop for EchoOff {
    fn drop(&mut self) {
        if let Some(t) = self.saved {
            // SAFETY: restoring the settings read in new().
            unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &t) };
        }
    }
}

#[cfg(windows)]
impl EchoOff {
    fn new() -> EchoOff {
        use windows::Win32::System::Console::{
            GetConsoleMode, GetStdHandle, SetConsoleMode, CONSOLE_MODE, ENABLE_ECHO_INPUT, STD_INPUT_HANDLE,
        };
        // SAFETY: console calls on this process's standard input handle.
        unsafe {
            let Ok(handle) = GetStdHandle(STD_INPUT_HANDLE) else { return EchoOff { saved: None } };
            let mut mode = CONSOLE_MODE::default();
            if GetConsoleMode(handle, &mut mode).is_err() {
                return EchoOff { saved: None };
            }
            let _ = SetConsoleMode(handle, CONSOLE_MODE(mode.0 & !ENABLE_ECHO_INPUT.0));
            EchoOff { saved: Some((handle, mode)) }
        }
    }
}

#[cfg(windows)]
impl Drop for EchoOff {
    fn drop(&mut self) {
        if let Some((handle, mode)) = self.saved {
            // SAFETY: restoring the mode read in new().
            let _ = unsafe { windows::Win32::System::Console::SetConsoleMode(handle, mode) };
        }
    }
}
