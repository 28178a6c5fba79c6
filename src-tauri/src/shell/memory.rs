//! Handing memory Booth freed back to the system. glibc keeps what Booth's threads freed in
//! their arenas, so after a burst of calls the process stays as large as at its peak although
//! nothing is in use; trimming returns the free pages. Done after an idle reset (nobody at the
//! terminal) and on the control endpoint's `POST /memory/trim`.

/// Returns the heap's free pages to the system; whether any were returned.
pub fn trim_heap() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim only walks glibc's own arenas under their locks.
        unsafe { libc::malloc_trim(0) != 0 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}
