//! The payment journal on a real file: what survives a power cut at every point of a write,
//! a damaged line in the middle, and reading it back while it is written.

use booth_payment::journal::{now_ms, Entry, Filter, Journal, Kind, State};
use std::io::Write;

fn entry(key: &str, trade: &str, amount: u64, state: State) -> Entry {
    Entry {
        at_ms: now_ms(),
        key: key.into(),
        trade: trade.into(),
        amount,
        kind: Kind::Face,
        state,
        payment_id: if state == State::Paid { format!("P-{key}") } else { String::new() },
        detail: String::new(),
        recovered: false,
        register: false,
    }
}

#[test]
fn attempts_survive_a_reopen_and_a_resolved_one_stays_resolved() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("payments/journal.log");
    {
        let j = Journal::open(&path).unwrap();
        j.append(entry("k1", "T1", 1250, State::Open)).unwrap();
        j.append(entry("k1", "T1", 1250, State::Paid)).unwrap();
        j.append(entry("k2", "T2", 99, State::Open)).unwrap();
        j.append(entry("k3", "T3", 500, State::Open)).unwrap();
        j.append(entry("k3", "T3", 500, State::Failed)).unwrap();
        // A late "unknown" for a paid attempt (a retry whose answer was lost) changes nothing.
        j.append(entry("k1", "T1", 1250, State::Unknown)).unwrap();
    }
    let j = Journal::open(&path).unwrap();
    assert_eq!(j.get("k1").unwrap().last.state, State::Paid);
    let open: Vec<String> = j.unresolved().into_iter().map(|a| a.last.trade).collect();
    assert_eq!(open, ["T2"]);
    let s = j.summary();
    assert_eq!((s.attempts, s.paid, s.failed, s.unresolved, s.paid_today_fen), (3, 1, 1, 1, 1250));
    assert_eq!(j.by_trade("T3").unwrap().last.state, State::Failed);
    assert_eq!(j.list(&Filter { since_ms: Some(now_ms() + 60_000), ..Filter::default() }).len(), 0);
    // The order is the order the attempts began.
    let all: Vec<String> = j.list(&Filter::default()).into_iter().map(|a| a.last.key).collect();
    assert_eq!(all, ["k1", "k2", "k3"]);
}

/// The power goes while a line is written: at any byte of it. The attempts before it are all
/// there, the torn line is gone from the file, and the next append makes a clean line.
#[test]
fn a_write_torn_at_any_byte_loses_only_that_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.log");
    {
        let j = Journal::open(&path).unwrap();
        j.append(entry("k1", "T1", 1250, State::Open)).unwrap();
        j.append(entry("k1", "T1", 1250, State::Paid)).unwrap();
    }
    let whole = std::fs::read(&path).unwrap();
    // The line a crash would have torn: the next "open".
    let probe = dir.path().join("probe.log");
    {
        let j = Journal::open(&probe).unwrap();
        j.append(entry("k2", "T2", 700, State::Open)).unwrap();
    }
    let next = std::fs::read(&probe).unwrap();
    for cut in 0..next.len() {
        let torn = dir.path().join(format!("torn-{cut}.log"));
        let mut bytes = whole.clone();
        bytes.extend_from_slice(&next[..cut]);
        std::fs::write(&torn, &bytes).unwrap();
        let j = Journal::open(&torn).unwrap();
        assert_eq!(j.get("k1").unwrap().last.state, State::Paid, "cut at {cut}");
        assert!(j.get("k2").is_none(), "cut at {cut}: a torn line is not an attempt");
        assert_eq!(std::fs::read(&torn).unwrap(), whole, "cut at {cut}: the torn tail is removed");
        j.append(entry("k3", "T3", 1, State::Open)).unwrap();
        drop(j);
        let again = Journal::open(&torn).unwrap();
        assert_eq!(again.get("k3").unwrap().last.state, State::Open, "cut at {cut}");
        assert_eq!(again.summary().corrupt, 0);
    }
    // The whole line (with its newline) is an attempt.
    let mut bytes = whole.clone();
    bytes.extend_from_slice(&next);
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(Journal::open(&path).unwrap().get("k2").unwrap().last.state, State::Open);
}

#[test]
fn a_damaged_line_in_the_middle_is_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.log");
    {
        let j = Journal::open(&path).unwrap();
        j.append(entry("k1", "T1", 100, State::Open)).unwrap();
        j.append(entry("k2", "T2", 200, State::Open)).unwrap();
        j.append(entry("k2", "T2", 200, State::Paid)).unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    // A flipped digit in the first line's amount: its checksum no longer holds.
    let damaged = text.replacen("\"amount\":100", "\"amount\":900", 1);
    assert_ne!(damaged, text);
    std::fs::write(&path, damaged).unwrap();
    let j = Journal::open(&path).unwrap();
    assert!(j.get("k1").is_none(), "a line that fails its checksum is not believed");
    assert_eq!(j.get("k2").unwrap().last.state, State::Paid);
    assert_eq!(j.summary().corrupt, 1);
}

#[test]
fn read_only_leaves_the_file_alone_and_refuses_appends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.log");
    let j = Journal::open(&path).unwrap();
    j.append(entry("k1", "T1", 100, State::Open)).unwrap();
    let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(b"0000").unwrap();
    let before = std::fs::read(&path).unwrap();
    let r = Journal::read_only(&path).unwrap();
    assert_eq!(r.unresolved().len(), 1);
    assert!(r.append(entry("k2", "T2", 1, State::Open)).is_err());
    assert_eq!(std::fs::read(&path).unwrap(), before, "a reader never truncates");
    assert!(Journal::read_only(&dir.path().join("none.log")).unwrap().list(&Filter::default()).is_empty());
    let broken = Journal::unavailable(&path);
    assert!(broken.append(entry("k9", "T9", 1, State::Open)).is_err());
}
