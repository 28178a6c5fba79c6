//! The payment benchmark: N payments at once from T simulated terminals (each its own key id)
//! through Booth's real client against the reference provider on loopback, paid with member
//! codes by 50 members whose wallets cannot cover every payment (so some are declined).
//!
//!   cargo run --release -p booth-provider --example pay-load -- [payments] [terminals]
//!
//! Prints throughput and latency percentiles, and fails (exit 1) unless the ledger's charges
//! equal the successful replies exactly (count and fen) and every wallet's balance equals its
//! ledger. A benchmark, not a test: the figures depend on the machine.

use booth_provider::testing::RefProvider;
use booth_provider_client::wire::{PayCodeRequest, PayQueryRequest};
use booth_provider_client::{ClientConfig, Code, PayError, Provider, ProviderConfig};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

const MEMBERS: usize = 50;
const FUNDS: i64 = 20_000;

/// A small deterministic generator, so that runs are comparable.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let payments: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let terminals: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10).max(1);
    // The provider gets its own runtime (and blocking pool): the terminals' 1,000 blocking HTTP
    // calls must not take the threads the provider answers them with.
    let provider_rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    let keys: Vec<(String, String)> =
        (0..terminals).map(|i| (format!("T-{i:02}"), format!("secret-of-terminal-{i:02}-0123456789abcdef"))).collect();
    let refs: Vec<(&str, &str)> = keys.iter().map(|(k, s)| (k.as_str(), s.as_str())).collect();
    let p = provider_rt.block_on(RefProvider::start(&refs));
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    if let Err(e) = rt.block_on(run(&p, &keys, payments, terminals)) {
        eprintln!("pay-load: {e}");
        std::process::exit(1);
    }
}

async fn run(p: &RefProvider, keys: &[(String, String)], payments: usize, terminals: usize) -> Result<(), String> {
    let members: Vec<_> = (0..MEMBERS).map(|i| p.member(&format!("会员{i}"), FUNDS)).collect();
    let clients: Vec<Arc<Provider>> = keys
        .iter()
        .map(|(k, s)| {
            let cfg = ProviderConfig::Http {
                client: ClientConfig {
                    url: p.url(),
                    key_id: k.clone(),
                    secret: s.as_bytes().to_vec(),
                    timeout: Duration::from_secs(60),
                    retries: 2,
                },
                provider_liveness: false,
            };
            Provider::from_config(&cfg, None).ok_or("no client")
        })
        .collect::<Result<_, _>>()?;
    let mut rng = Lcg(0x5eed);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(payments);
    for i in 0..payments {
        let c = clients[i % terminals].clone();
        let m = &members[rng.next() as usize % MEMBERS];
        let req = PayCodeRequest {
            terminal: format!("SN-{:02}", i % terminals),
            code: m.code.clone(),
            amount: 100 + (rng.next() % 1901) as i64,
            out_trade_no: format!("L-{i:06}"),
            description: "午餐".into(),
        };
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let r = c.pay_code(&req, &Provider::new_idempotency_key()).await;
            (req, r, t.elapsed())
        }));
    }
    let mut latencies = Vec::with_capacity(payments);
    let mut ok_count = 0i64;
    let mut ok_sum = 0i64;
    let mut declined: HashMap<Code, usize> = HashMap::new();
    let mut unknown = Vec::new();
    for t in tasks {
        let (req, r, took) = t.await.map_err(|e| e.to_string())?;
        latencies.push(took);
        match r {
            Ok(pay) => {
                if pay.amount != req.amount || pay.out_trade_no != req.out_trade_no {
                    return Err(format!("{}: the reply is for another payment", req.out_trade_no));
                }
                ok_count += 1;
                ok_sum = ok_sum.checked_add(pay.amount).ok_or("overflow")?;
            }
            Err(PayError::Declined(e)) => *declined.entry(e.code).or_default() += 1,
            Err(PayError::Unknown(e)) => unknown.push((req, e)),
        }
    }
    let wall = started.elapsed();
    // An outcome the terminal did not learn is asked for, as Booth's journal would.
    let mut resolved = 0;
    for (req, _) in &unknown {
        let q = PayQueryRequest {
            terminal: req.terminal.clone(),
            out_trade_no: req.out_trade_no.clone(),
            face_code: String::new(),
        };
        if let Ok(pay) = clients[0].pay_query(&q).await {
            ok_count += 1;
            ok_sum += pay.amount;
            resolved += 1;
        }
    }
    latencies.sort();
    let ledger = p.ledger();
    let charges: Vec<_> = ledger.iter().filter(|e| e.kind == "CHARGE").collect();
    let ledger_sum: i64 = charges.iter().map(|e| e.amount).sum();
    let mut per_terminal: HashMap<&str, usize> = HashMap::new();
    for e in &charges {
        *per_terminal.entry(e.key_id.as_str()).or_default() += 1;
    }
    println!("payments: {payments} from {terminals} terminals (key ids), {MEMBERS} members with {FUNDS} fen each");
    println!(
        "succeeded: {ok_count} ({ok_sum} fen); declined: {declined:?}; outcome unknown: {} (resolved by query: {resolved})",
        unknown.len()
    );
    println!("ledger: {} charges, {ledger_sum} fen; charges per terminal: {:?}", charges.len(), {
        let mut v: Vec<_> = per_terminal.into_iter().collect();
        v.sort();
        v
    });
    println!(
        "wall {:.2} s, throughput {:.0} payments/s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        wall.as_secs_f64(),
        payments as f64 / wall.as_secs_f64(),
        percentile(&latencies, 0.50).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
    );
    if charges.len() as i64 != ok_count || ledger_sum != ok_sum {
        return Err(format!(
            "the ledger ({} charges, {ledger_sum} fen) differs from the successful replies ({ok_count}, {ok_sum} fen)",
            charges.len()
        ));
    }
    for m in &members {
        let sum: i64 = ledger.iter().filter(|e| e.person_id == m.person_id).map(|e| e.delta).sum();
        if p.balance(&m.person_id) != sum || sum < 0 {
            return Err(format!("{}: balance {} but ledger {sum}", m.person_id, p.balance(&m.person_id)));
        }
    }
    println!("ledger total == sum of successful replies: yes");
    Ok(())
}
