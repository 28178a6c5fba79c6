//! Memory and disk figures for telemetry.

use serde_json::{json, Value};
use std::path::Path;

/// `{rssBytes, totalBytes, availableBytes}` of this process and the machine (null when unknown).
pub fn memory() -> Value {
    let (rss, total, available) = imp::memory();
    json!({"rssBytes": rss, "totalBytes": total, "availableBytes": available})
}

/// `{path, freeBytes}` of the file system holding `path`.
pub fn disk(path: &Path) -> Value {
    let mut p = path;
    // The folder may not exist yet: ask about the nearest one that does.
    while !p.exists() {
        match p.parent() {
            Some(parent) => p = parent,
            None => break,
        }
    }
    json!({"path": path.display().to_string(), "freeBytes": imp::free_bytes(p)})
}

#[cfg(target_os = "linux")]
mod imp {
    use std::path::Path;

    fn kb_field(text: &str, name: &str) -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
    }

    pub fn memory() -> (Option<u64>, Option<u64>, Option<u64>) {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let info = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        (kb_field(&status, "VmRSS:"), kb_field(&info, "MemTotal:"), kb_field(&info, "MemAvailable:"))
    }

    pub fn free_bytes(path: &Path) -> Option<u64> {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: a NUL-terminated path and a zeroed struct the call fills.
        (unsafe { libc::statvfs(c.as_ptr(), &mut st) } == 0).then(|| st.f_bavail as u64 * st.f_frsize as u64)
    }
}

#[cfg(windows)]
mod imp {
    use std::os::windows::ffi::OsStrExt;
    use std::path::Path;
    use windows::core::PCWSTR;
    use windows::Win32::Storage::FileSystem::GetDiskFreeSpaceExW;
    use windows::Win32::System::ProcessStatus::{K32GetProcessMemoryInfo, PROCESS_MEMORY_COUNTERS};
    use windows::Win32::System::SystemInformation::{GlobalMemoryStatusEx, MEMORYSTATUSEX};
    use windows::Win32::System::Threading::GetCurrentProcess;

    pub fn memory() -> (Option<u64>, Option<u64>, Option<u64>) {
        let mut pmc =
            PROCESS_MEMORY_COUNTERS { cb: std::mem::size_of::<PROCESS_MEMORY_COUNTERS>() as u32, ..Default::default() };
        // SAFETY: the pseudo handle of this process and a struct of the size given.
        let rss = unsafe { K32GetProcessMemoryInfo(GetCurrentProcess(), &mut pmc, pmc.cb) }
            .as_bool()
            .then_some(pmc.WorkingSetSize as u64);
        let mut ms = MEMORYSTATUSEX { dwLength: std::mem::size_of::<MEMORYSTATUSEX>() as u32, ..Default::default() };
        // SAFETY: dwLength set as the call requires.
        let (total, avail) = match unsafe { GlobalMemoryStatusEx(&mut ms) } {
            Ok(()) => (Some(ms.ullTotalPhys), Some(ms.ullAvailPhys)),
            Err(_) => (None, None),
        };
        (rss, total, avail)
    }

    pub fn free_bytes(path: &Path) -> Option<u64> {
        let wide: Vec<u16> = path.as_os_str().encode_wide().chain(Some(0)).collect();
        let mut free = 0u64;
        // SAFETY: a NUL-terminated path; only the caller's free bytes are asked for.
        unsafe { GetDiskFreeSpaceExW(PCWSTR(wide.as_ptr()), Some(&mut free), None, None) }.ok()?;
        Some(free)
    }
}

#[cfg(not(any(target_os = "linux", windows)))]
mod imp {
    pub fn memory() -> (Option<u64>, Option<u64>, Option<u64>) {
        (None, None, None)
    }
    pub fn free_bytes(_: &std::path::Path) -> Option<u64> {
        None
    }
}
