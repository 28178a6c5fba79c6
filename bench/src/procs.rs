//! Processes: a process and everything below it, their PSS, and stopping them.

use std::collections::HashMap;

/// `(pid, name)` of `root` and every process below it.
pub fn tree(root: u32) -> Vec<(u32, String)> {
    let mut children: HashMap<u32, Vec<(u32, String)>> = HashMap::new();
    let mut root_name = String::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // `pid (comm) state ppid …`; comm may hold spaces and parentheses.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else { continue };
        let name = stat[open + 1..close].to_string();
        let ppid = stat.get(close + 2..).and_then(|r| r.split(' ').nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
        if pid == root {
            root_name = name.clone();
        }
        children.entry(ppid).or_default().push((pid, name));
    }
    let mut all = vec![(root, root_name)];
    let mut i = 0;
    while i < all.len() {
        if let Some(c) = children.get(&all[i].0) {
            all.extend(c.iter().cloned());
        }
        i += 1;
    }
    all
}

/// PSS of one process in kB (`Pss:` of smaps_rollup), if it is still there.
pub fn pss_kb(pid: u32) -> Option<u64> {
    field(pid, "smaps_rollup", "Pss:")
}

/// A number field of `/proc/<pid>/<file>` (`status`, `smaps_rollup`), e.g. `Pss_Anon:` in kB or
/// `Threads:`, if the process is still there.
pub fn field(pid: u32, file: &str, name: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).ok()?;
    text.lines().find_map(|l| l.strip_prefix(name)).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// PSS of `root` and everything below it: the total in kB, and each process's.
pub fn tree_pss(root: u32) -> (u64, Vec<(String, u64)>) {
    let mut each: Vec<(String, u64)> =
        tree(root).into_iter().filter_map(|(pid, name)| pss_kb(pid).map(|kb| (name, kb))).collect();
    each.sort_by_key(|e| std::cmp::Reverse(e.1));
    (each.iter().map(|(_, kb)| kb).sum(), each)
}

/// CPU time (user + system, seconds) used so far by `root`, and by everything below it.
pub fn tree_cpu_s(root: u32) -> (f64, f64) {
    // SAFETY: sysconf has no preconditions.
    let tick = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let (mut own, mut below) = (0.0, 0.0);
    for (pid, _) in tree(root) {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // After `(comm)`: state is field 3 of stat(5), utime 14 and stime 15.
        let fields: Vec<&str> = stat.rsplit_once(')').map(|(_, r)| r.split_whitespace().collect()).unwrap_or_default();
        let ticks: f64 = [11, 12].iter().filter_map(|&i| fields.get(i)?.parse::<f64>().ok()).sum();
        if pid == root {
            own += ticks / tick;
        } else {
            below += ticks / tick;
        }
    }
    (own, below)
}

pub fn alive(pid: u32) -> bool {
    std::fs::metadata(format!("/proc/{pid}")).is_ok()
        && std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
}

pub fn signal(pid: u32, sig: i32) {
    // SAFETY: kill(2) with a pid this program started (or one of its descendants).
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}

/// Resident pages of one process: physical frame number → how many of its pages map it.
/// Needs root (without it the kernel hides frame numbers and this returns nothing).
fn frames(pid: u32, into: &mut HashMap<u64, u32>, only: Option<&HashMap<u64, u32>>) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps"))?;
    let mut pagemap = std::fs::File::open(format!("/proc/{pid}/pagemap"))?;
    let mut range = None;
    let mut buf = Vec::new();
    for line in smaps.lines() {
        if let Some((a, b)) = line.split(' ').next().and_then(|r| r.split_once('-')) {
            if let (Ok(a), Ok(b)) = (u64::from_str_radix(a, 16), u64::from_str_radix(b, 16)) {
                range = Some((a, b));
                continue;
            }
        }
        let Some(rss) = line.strip_prefix("Rss:") else { continue };
        let resident = rss.trim().trim_end_matches("kB").trim().parse::<u64>().unwrap_or(0) > 0;
        let Some((a, b)) = range.take().filter(|_| resident) else { continue };
        buf.resize(((b - a) / 4096 * 8) as usize, 0);
        pagemap.seek(SeekFrom::Start(a / 4096 * 8))?;
        if pagemap.read_exact(&mut buf).is_err() {
            continue;
        }
        for entry in buf.chunks_exact(8) {
            let v = u64::from_le_bytes(entry.try_into().unwrap_or_default());
            let pfn = v & ((1 << 55) - 1);
            if v >> 63 == 1 && pfn != 0 && only.is_none_or(|o| o.contains_key(&pfn)) {
                *into.entry(pfn).or_default() += 1;
            }
        }
    }
    Ok(())
}

/// PSS of `root` and everything below it (kB) as if no other WebKit app ran on the machine.
///
/// PSS divides each shared page among every process mapping it, so other WebKit apps on a shared
/// machine (another Booth, a test run) lower it by sharing the WebKit libraries. This counts each
/// resident page of the tree divided only among the tree and the processes that are not WebKit
/// apps (the X server, the window manager, …): what PSS reads on a terminal that runs only Booth.
/// `None` without root.
pub fn pss_without_other_webkit(root: u32) -> Option<u64> {
    use std::io::{Read, Seek, SeekFrom};
    let ours: Vec<u32> = tree(root).into_iter().map(|(p, _)| p).collect();
    let mut mine = HashMap::new();
    for pid in &ours {
        let _ = frames(*pid, &mut mine, None);
    }
    if mine.is_empty() {
        return None;
    }
    let webkit_app = |pid: u32| {
        std::fs::read_to_string(format!("/proc/{pid}/maps")).is_ok_and(|m| {
            m.contains("libwebkit2gtk") || m.contains("libjavascriptcoregtk") || m.contains("libwebkitgtk")
        })
    };
    let mut others = HashMap::new();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        if !ours.contains(&pid) && webkit_app(pid) {
            let _ = frames(pid, &mut others, Some(&mine));
        }
    }
    let mut counts = std::fs::File::open("/proc/kpagecount").ok()?;
    let mut total = 0.0;
    let mut word = [0u8; 8];
    for (pfn, n) in &mine {
        let all = counts
            .seek(SeekFrom::Start(pfn * 8))
            .and_then(|_| counts.read_exact(&mut word))
            .map(|_| u64::from_le_bytes(word));
        let all = all.unwrap_or(u64::from(*n)).max(u64::from(*n));
        let sharers = all.saturating_sub(u64::from(others.get(pfn).copied().unwrap_or(0))).max(u64::from(*n));
        total += f64::from(*n) / sharers as f64;
    }
    Some((total * 4.0).round() as u64)
}
