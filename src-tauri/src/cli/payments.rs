//! `booth payments`: the payment journal, read without changing it (Booth may be running).

use super::args::PaymentsArgs;
use super::error::fail;
use booth_payment::journal::{self, Filter, Journal, State};

/// `booth payments`: lists attempts, then the summary; exit 0, or 1 when the journal cannot be
/// read. Nothing about the person is in the journal: trade number, amount, state, provider code.
pub fn run(args: PaymentsArgs) -> i32 {
    let path = match &args.journal {
        Some(p) => p.clone(),
        None => {
            let config = match crate::config::Config::load(args.config.as_deref()) {
                Ok((c, _)) => c,
                Err(e) => return fail(e),
            };
            let data = dirs::data_local_dir().unwrap_or_else(|| std::path::PathBuf::from("."));
            match config.payment.resolve(&data, "") {
                Ok(p) if args.sim => p.journal.with_file_name("journal-sim.log"),
                Ok(p) => p.journal,
                Err(e) => return fail(e),
            }
        }
    };
    let journal = match Journal::read_only(&path) {
        Ok(j) => j,
        Err(e) => return fail(e.to_string()),
    };
    let filter = Filter {
        since_ms: args.today.then(journal::today_start_ms),
        unresolved: args.unresolved,
        trade: args.trade.clone(),
    };
    let attempts = journal.list(&filter);
    if args.json {
        for a in &attempts {
            println!("{}", serde_json::to_string(a).unwrap_or_default());
        }
        return 0;
    }
    println!("{}", path.display());
    println!("{:<20} {:<34} {:>12} {:<6} {:<9} detail", "began (UTC)", "outTradeNo", "amount", "kind", "state");
    let mut paid = 0u64;
    for a in &attempts {
        let state = match a.last.state {
            State::Open => "open",
            State::Paid => "paid",
            State::Failed => "failed",
            State::Unknown => "unknown",
        };
        if a.last.state == State::Paid {
            paid += a.last.amount;
        }
        let mut detail = a.last.detail.clone();
        if a.last.recovered {
            detail = format!("{detail} (resolved at start-up)").trim().to_string();
        }
        println!(
            "{:<20} {:<34} {:>12} {:<6} {:<9} {}",
            utc(a.started_ms),
            a.last.trade,
            booth_payment::service::yuan(a.last.amount),
            format!("{:?}", a.last.kind).to_lowercase(),
            state,
            detail
        );
    }
    let unresolved = attempts.iter().filter(|a| !a.last.state.resolved()).count();
    println!("{} attempts, {} paid, {} unresolved", attempts.len(), booth_payment::service::yuan(paid), unresolved);
    let corrupt = journal.summary().corrupt;
    if corrupt > 0 {
        println!("{corrupt} damaged lines were skipped");
    }
    0
}

/// `YYYY-MM-DD HH:MM:SS` of a Unix millisecond (UTC; no time zone data needed).
fn utc(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_dates() {
        assert_eq!(super::utc(0), "1970-01-01 00:00:00");
        assert_eq!(super::utc(1_796_256_000_000), "2026-12-03 00:00:00");
        assert_eq!(super::utc(951_782_400_000 + 3_723_000), "2000-02-29 01:02:03");
    }
}
