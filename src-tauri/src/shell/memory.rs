//! Booth's memory and glibc's allocator.
//!
//! - [`tune_allocator`], at start: glibc raises its mmap threshold each time a large block it
//!   had mapped on its own is freed (up to 32 MiB), and from then on puts blocks of that size in
//!   its arenas. Booth's large buffers (camera frames, device replies, WebKit's messages) then
//!   leave holes there that the next ones do not fit: measured with `booth-soak --calls-only`
//!   (README, Reliability), Booth's anonymous memory rose about 18 MB in seven minutes while the
//!   memory in use (heaptrack) stayed flat, and `malloc_trim` gave back 4 MB of it. A fixed
//!   threshold keeps every block of 128 KiB or more in its own mapping, returned whole when
//!   freed, and two arenas keep the small blocks of Booth's threads from spreading over many.
//! - [`trim_heap`]: glibc keeps what Booth's threads freed in their arenas, so after a burst of
//!   calls the process stays as large as at its peak although nothing is in use; trimming
//!   returns the free pages. Done after an idle reset (nobody at the terminal) and on the
//!   control endpoint's `POST /memory/trim`.

use std::sync::OnceLock;

/// Blocks at least this large get their own mapping (glibc's default before its dynamic
/// threshold, and its documented starting value).
pub const MMAP_THRESHOLD: usize = 128 * 1024;
/// glibc's arenas for Booth's threads (glibc's own limit is eight per core).
pub const ARENAS: usize = 2;

static TUNED: OnceLock<String> = OnceLock::new();

/// Sets glibc's mmap threshold and arena limit for Booth's own process (its web processes are
/// not affected: WebKit uses its own allocator there). An operator's `MALLOC_MMAP_THRESHOLD_`,
/// `MALLOC_ARENA_MAX` or `GLIBC_TUNABLES` keeps what it sets. Call first in `main`, before any
/// other thread starts. Returns what was done, also kept for [`tuned`].
pub fn tune_allocator() -> &'static str {
    TUNED.get_or_init(|| {
        let env = |name: &str| std::env::var_os(name).is_some();
        let tunables = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
        let threshold_set = env("MALLOC_MMAP_THRESHOLD_") || tunables.contains("mmap_threshold");
        let arenas_set = env("MALLOC_ARENA_MAX") || tunables.contains("arena_max");
        let mut done = vec![];
        if !threshold_set && set(Param::MmapThreshold, MMAP_THRESHOLD) {
            done.push(format!("mmap threshold fixed at {} KiB", MMAP_THRESHOLD / 1024));
        }
        if !arenas_set && set(Param::ArenaMax, ARENAS) {
            done.push(format!("{ARENAS} arenas"));
        }
        if threshold_set || arenas_set {
            done.push("the rest as the environment sets it".into());
        }
        if done.is_empty() {
            "the system allocator's defaults".into()
        } else {
            done.join(", ")
        }
    })
}

/// What [`tune_allocator`] did, for the log (`None` before it ran).
pub fn tuned() -> Option<&'static str> {
    TUNED.get().map(String::as_str)
}

#[allow(dead_code)] // used only with glibc
enum Param {
    MmapThreshold,
    ArenaMax,
}

fn set(param: Param, value: usize) -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let param = match param {
            Param::MmapThreshold => libc::M_MMAP_THRESHOLD,
            Param::ArenaMax => libc::M_ARENA_MAX,
        };
        // SAFETY: mallopt only changes glibc's own parameters under its lock; both values are
        // within what glibc accepts.
        unsafe { libc::mallopt(param, value.min(i32::MAX as usize) as i32) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        let _ = (param, value);
        false
    }
}

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

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    /// Bytes glibc holds in blocks mapped on their own.
    fn mapped() -> usize {
        // SAFETY: mallinfo2 reads glibc's counters.
        unsafe { libc::mallinfo2() }.hblkhd
    }

    /// With glibc's dynamic threshold, freeing a 4 MiB block raises the threshold to 4 MiB and
    /// the next 1 MiB block lands in an arena; tuned, it is mapped on its own and unmapped when
    /// freed. (Each test runs in its own process under nextest; the default runner shares one,
    /// which this test does not depend on: the tuning is process-wide and idempotent.)
    #[test]
    fn after_tuning_large_blocks_stay_out_of_the_arenas_even_after_a_large_free() {
        assert!(tune_allocator().contains("mmap threshold fixed at 128 KiB"), "{}", tune_allocator());
        assert_eq!(tuned(), Some(tune_allocator()));
        let big = vec![1u8; 4 << 20];
        drop(std::hint::black_box(big));
        let before = mapped();
        let block = std::hint::black_box(vec![1u8; 1 << 20]);
        let during = mapped();
        drop(block);
        let after = mapped();
        assert!(
            during >= before + (1 << 20),
            "a 1 MiB block after a 4 MiB free was not mapped on its own: {before} → {during}"
        );
        assert!(after < during, "the block was not unmapped when freed: {during} → {after}");
    }
}
