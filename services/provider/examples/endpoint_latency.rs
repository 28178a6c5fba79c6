//! How long the reference provider takes per endpoint, as Booth's client sees it (signed
//! requests over loopback, the provider in this process, built with the same profile as this
//! program): p50, p99 and the slowest of each endpoint. `[provider] timeout_ms`'s default is
//! chosen from these figures (README "Booth's side: `[provider]`").
//!
//! ```text
//! cargo run -p booth-provider --example endpoint_latency            # a debug provider
//! cargo run -p booth-provider --example endpoint_latency --release  # a release provider
//! ```
//!
//! Needs the face and OCR models (`. scripts/setup.sh; booth_face_models`, BOOTH_FACE_DIR).
//! Optional argument: requests per endpoint (default 30).

use base64::Engine as _;
use booth_provider::{App, Settings};
use booth_provider_client::wire::*;
use booth_provider_client::{Client, ClientConfig};
use booth_testkit::card::{bank_card, id_front, photographed, IdFront};
use booth_testkit::face as tk;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

const KEY_ID: &str = "T-1";
const SECRET: &str = "0123456789abcdef0123456789abcdef-bench";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn face(engine: &booth_face::Engine, photo: &str) -> Face {
    let values = engine.embed_photo(&tk::photo(photo)).map(|e| e.0.to_vec()).unwrap_or_else(|e| panic!("{photo}: {e}"));
    Face {
        image: b64(&tk::photo(photo).to_jpeg(90)),
        embedding: Embedding { model: FACE_MODEL.into(), version: FACE_MODEL_VERSION.into(), values },
        liveness: Liveness {
            method: "turn".into(),
            passed: true,
            steps: vec!["TURN_LEFT".into(), "TURN_RIGHT".into()],
        },
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(30);
    let dir = tempfile::tempdir().expect("temp dir");
    let models = tk::models_dir();
    let settings = Settings {
        listen: "127.0.0.1:0".parse().expect("address"),
        database: dir.path().join("provider.db"),
        key_file: dir.path().join("templates.key"),
        models_dir: Some(models.clone()),
        clients: HashMap::from([(KEY_ID.to_string(), SECRET.to_string())]),
        ..Settings::default()
    };
    let started = Instant::now();
    let app = App::open(settings).unwrap_or_else(|e| panic!("{e}"));
    let running = app.serve().await.expect("serve");
    println!(
        "provider up in {:?} (profile: {})",
        started.elapsed(),
        if cfg!(debug_assertions) { "debug" } else { "release" }
    );
    let client = Arc::new(Client::new(ClientConfig {
        url: running.url(),
        key_id: KEY_ID.into(),
        secret: SECRET.as_bytes().to_vec(),
        timeout: Duration::from_secs(120),
        retries: 0,
    }));
    let engine = booth_face::Engine::load(&models).unwrap_or_else(|e| panic!("{e}"));
    let obama = face(&engine, "obama.jpg");
    let enrolled: EnrollResponse = client
        .post(
            "/v1/face/enroll",
            &EnrollRequest {
                terminal: "T-1".into(),
                face: face(&engine, "obama2.jpg"),
                partition: Partition::default(),
                person: PersonInfo {
                    name: "测试".into(),
                    id_number: "110101199003070011".into(),
                    ..Default::default()
                },
                consent: Consent {
                    text: "同意".into(),
                    accepted_at: booth_provider_client::sign::now_s(),
                    terminal: "T-1".into(),
                },
            },
        )
        .await
        .expect("enrol");
    assert!(!enrolled.person_id.is_empty());
    let id_card = photographed(
        &id_front(&IdFront {
            name: "林晓雨",
            gender: "女",
            nation: "汉",
            birth: (1994, 7, 9),
            address: &["浙江省杭州市西湖区文三路", "88号2幢301室"],
            id_no: "33010619940709002X",
        }),
        1000,
        2.0,
        10,
        1,
    );
    let bank = photographed(&bank_card("示例银行", "借记卡", "6217000010012345677", "LIN XIAOYU"), 1000, -2.0, 10, 2);
    let ocr = |kind: &str, card: &booth_camera::Frame| OcrRequest {
        terminal: "T-1".into(),
        kind: kind.into(),
        image: b64(&card.to_jpeg(90)),
    };
    let photo = b64(&tk::photo("obama3.jpg").to_jpeg(90));

    println!("{n} requests per endpoint, one at a time:");
    println!("{:<28} {:>9} {:>9} {:>9}", "endpoint", "p50 ms", "p99 ms", "max ms");
    let mut slowest = (String::new(), Duration::ZERO);
    for name in [
        "GET /v1/capabilities",
        "face/search",
        "face/verify (photo)",
        "liveness",
        "ocr IDCard",
        "ocr BankCard",
        "certify/start",
    ] {
        let mut times = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            let ok = match name {
                "GET /v1/capabilities" => client.get::<Capabilities>("/v1/capabilities").await.is_ok(),
                "face/search" => client
                    .post::<serde_json::Value>(
                        "/v1/face/search",
                        &SearchRequest { terminal: "T-1".into(), face: obama.clone(), partition: None },
                    )
                    .await
                    .is_ok(),
                "face/verify (photo)" => client
                    .post::<serde_json::Value>(
                        "/v1/face/verify",
                        &VerifyRequest {
                            terminal: "T-1".into(),
                            face: obama.clone(),
                            id_number: String::new(),
                            name: String::new(),
                            photo: photo.clone(),
                        },
                    )
                    .await
                    .is_ok(),
                "liveness" => client
                    .post::<LivenessResponse>(
                        "/v1/liveness",
                        &LivenessRequest { terminal: "T-1".into(), face: obama.clone() },
                    )
                    .await
                    .is_ok(),
                "ocr IDCard" => client.post::<OcrResponse>("/v1/ocr", &ocr("IDCard", &id_card)).await.is_ok(),
                "ocr BankCard" => client.post::<OcrResponse>("/v1/ocr", &ocr("BankCard", &bank)).await.is_ok(),
                _ => client
                    .post::<CertifyStartResponse>(
                        "/v1/certify/start",
                        &CertifyStartRequest {
                            terminal: "T-1".into(),
                            cert_name: "测试".into(),
                            cert_no: "110101199003070011".into(),
                            return_url: "https://shop.example/done".into(),
                        },
                    )
                    .await
                    .is_ok(),
            };
            times.push(t.elapsed());
            assert!(ok, "{name} failed");
        }
        times.sort();
        let (p50, p99, max) = (percentile(&times, 0.5), percentile(&times, 0.99), times[times.len() - 1]);
        println!("{name:<28} {:>9.1} {:>9.1} {:>9.1}", ms(p50), ms(p99), ms(max));
        if p99 > slowest.1 {
            slowest = (name.to_string(), p99);
        }
    }
    println!("slowest endpoint: {} (p99 {:.0} ms)", slowest.0, ms(slowest.1));
    running.stop().await;
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
