//! The devices' rows: each timed the way a page uses it — a call through Booth's bridge to the
//! real backend — next to the best direct path measured in the same run on the same stand-in.
//!
//! | row | Booth | direct path | stand-in |
//! | --- | --- | --- | --- |
//! | microphone | device → `initMicrophoneListener` event at the page's sink, less the chunk still filling | a bare cpal capture stream's callback | private PulseAudio, the speaker's monitor as the microphone; a beep played with `pacat` is timed by a `parec` at 5 ms (the reference both are measured against) |
//! | microphone drops | chunks lost over `--mic-minutes` of streaming | — | same |
//! | speech | `speech` call → first sound at the speaker | `espeak-ng --stdout \| pacat` | same; the speaker's monitor recorded by `parec` |
//! | receipt → ESC/POS | `receiptPrinting` call → the receipt's last byte at a TCP printer | parse + layout + raster alone | a loopback TCP listener |
//! | receipt → PDF | parse + layout + PDF, what the CUPS backend sends | — (the same code) | — |
//! | face | `Engine`: letterbox + BlazeFace + NMS + align + ResNet per frame | the two ONNX models alone on ready tensors | a 640×480 photo |
//! | 1:N search | `Gallery::find` over 10,000 and 100,000 faces | a flat scan of the same vectors | — |
//!
//! What the page side adds on top (Rust → webview) is the event rows of the main table.

use crate::run::{ratio, Line, Row};
use crate::stats::{self, median};
use base64::Engine as _;
use booth_bridge::{Bridge, Dialect, EventMessage, EventSink, Family, Screen, SessionId, SessionInfo};
use booth_testkit::pulse::{Pulse, Recording, RATE};
use serde_json::{json, Map, Value};
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How much to do.
pub struct DevicePlan {
    pub smoke: bool,
    pub mic_minutes: f64,
    /// Which of [`PARTS`] to measure (all when empty).
    pub only: Vec<String>,
}

/// The devices' rows in groups, as `--devices` names them.
pub const PARTS: [&str; 3] = ["receipt", "face", "sound"];

impl DevicePlan {
    fn wants(&self, part: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|p| p == part)
    }

    fn n(&self, full: usize, smoke: usize) -> usize {
        if self.smoke {
            smoke
        } else {
            full
        }
    }
}

/// The rows and the JSON of every device row.
pub fn measure(plan: &DevicePlan) -> Result<(Vec<Line>, Map<String, Value>), String> {
    let mut lines = vec![Line::Heading("devices: a page's call through Booth against the best direct path".into())];
    let mut json = Map::new();
    let started = Instant::now();
    type Part = fn(&DevicePlan, &mut Vec<Line>, &mut Map<String, Value>) -> Result<(), String>;
    let parts: [(&str, Part); 3] = [("receipt", receipt), ("face", face), ("sound", sound)];
    for (name, part) in parts.into_iter().filter(|(name, _)| plan.wants(name)) {
        part(plan, &mut lines, &mut json)?;
        eprintln!("booth-bench: {name} done ({:.0} s)", started.elapsed().as_secs_f64());
    }
    Ok((lines, json))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// `a - b` in ms, negative when `a` came first.
fn signed_ms(a: Instant, b: Instant) -> f64 {
    if a >= b {
        ms(a - b)
    } else {
        -ms(b - a)
    }
}

/// Nearest-rank quantile of unsorted values.
fn quantile(v: &[f64], q: f64) -> Option<f64> {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    stats::quantile(&s, q)
}

fn p50_p99(v: &[f64]) -> String {
    match (quantile(v, 0.5), quantile(v, 0.99)) {
        (Some(a), Some(b)) => format!("{a:.1} / {b:.1}"),
        _ => "—".into(),
    }
}

/// A page: what the bridge delivers, with arrival times.
#[derive(Default)]
struct Page {
    events: Mutex<Vec<(Instant, EventMessage)>>,
}

impl EventSink for Page {
    fn deliver(&self, m: EventMessage) -> bool {
        self.events.lock().unwrap_or_else(|p| p.into_inner()).push((Instant::now(), m));
        true
    }
}

impl Page {
    /// Microphone chunks from index `from` on: arrival and samples.
    fn chunks(&self, from: usize) -> Vec<(Instant, Vec<i16>)> {
        let events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        events
            .iter()
            .skip(from)
            .filter(|(_, m)| m.name == "initMicrophoneListener")
            .filter_map(|(t, m)| {
                let b64 = m.body["data"]["voiceContent"].as_str()?;
                let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
                Some((*t, bytes.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect()))
            })
            .collect()
    }

    fn len(&self) -> usize {
        self.events.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    fn clear(&self) {
        self.events.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

fn session(bridge: &Bridge, families: &[Family]) -> (SessionId, Arc<Page>) {
    let page = Arc::new(Page::default());
    let info = SessionInfo {
        key: "main".into(),
        package_id: "bench.devices".into(),
        permissions: families.iter().copied().collect(),
        dialects: [Dialect::My].into_iter().collect(),
        screen: Screen::Front,
        url: "booth://localhost/".into(),
    };
    let id = bridge.open_session(info, page.clone());
    (id, page)
}

/// The page's `my.call('ampeHHCommunication', …)`, as its text arrives from the webview.
async fn call(bridge: &Bridge, id: SessionId, action: &str, params: Value) -> Value {
    let req = json!({"action": action, "event": "open", "taskId": "1", "params": params});
    bridge.call(id, Dialect::My, "ampeHHCommunication", &req.to_string()).await.body
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().map_err(|e| e.to_string())
}

// ---------------------------------------------------------------------------------------
// Receipt

fn receipt(plan: &DevicePlan, lines: &mut Vec<Line>, json: &mut Map<String, Value>) -> Result<(), String> {
    use booth_printer::fonts::{FontChoice, Fonts};
    use booth_printer::layout::{Layout, Paper};
    use booth_printer::receipt::Receipt;
    use booth_printer::{escpos, pdf, BackendKind, Printer, PrinterConfig};
    let rounds = plan.n(30, 3);
    let list = booth_printer::sample::shop_receipt();
    let fonts = Fonts::load(&FontChoice::default()).map_err(|e| format!("receipt fonts: {e}"))?;
    let paper = Paper::new(58, 0.0).map_err(|e| format!("paper: {e}"))?;
    let finish = escpos::Finish { cut: true, drawer: false };

    // The direct path: the renderer on the page's list, nothing around it.
    let (mut raster_t, mut pdf_t, mut raster_len, mut pdf_len, mut lines_n) = (Vec::new(), Vec::new(), 0, 0, 0);
    for _ in 0..rounds {
        let t = Instant::now();
        let r = Receipt::parse(Some(&list)).map_err(|e| format!("receipt: {e}"))?;
        let layout = Layout::new(&r, &fonts, paper).map_err(|e| format!("layout: {e}"))?;
        let bytes = escpos::raster(&layout.render(&fonts), finish);
        raster_t.push(ms(t.elapsed()));
        raster_len = bytes.len();
        lines_n = layout.lines().count();
        let t = Instant::now();
        let r = Receipt::parse(Some(&list)).map_err(|e| format!("receipt: {e}"))?;
        let layout = Layout::new(&r, &fonts, paper).map_err(|e| format!("layout: {e}"))?;
        let bytes = pdf::render(&layout, &fonts).map_err(|e| format!("pdf: {e}"))?;
        pdf_t.push(ms(t.elapsed()));
        pdf_len = bytes.len();
    }

    // Booth: the page's call to a network ESC/POS printer (a loopback listener that reads
    // until the receipt's cut command has arrived).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("printer listener: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let arrivals: Arc<Mutex<Vec<(Instant, usize)>>> = Arc::default();
    let a2 = arrivals.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { break };
            let a3 = a2.clone();
            std::thread::spawn(move || {
                let (mut buf, mut n, mut tail) = (vec![0u8; 65536], 0usize, Vec::new());
                while let Ok(got) = conn.read(&mut buf) {
                    if got == 0 {
                        break;
                    }
                    n += got;
                    tail.extend_from_slice(&buf[..got]);
                    let keep = tail.len().saturating_sub(8);
                    tail.drain(..keep);
                    // GS V: the cut ends every receipt.
                    if tail.windows(2).any(|w| w == [0x1d, 0x56]) {
                        a3.lock().unwrap_or_else(|p| p.into_inner()).push((Instant::now(), n));
                        n = 0;
                        tail.clear();
                    }
                }
            });
        }
    });
    let config = PrinterConfig {
        backend: BackendKind::Escpos,
        port: format!("tcp://127.0.0.1:{port}"),
        status: false,
        ..PrinterConfig::default()
    };
    let rt = runtime()?;
    let printer = Printer::start(config);
    let bridge = Bridge::default();
    printer.register(&bridge);
    let (id, _page) = session(&bridge, &[Family::Printer]);
    let mut booth_t = Vec::new();
    let mut booth_len = 0;
    for i in 0..rounds + 1 {
        let before = arrivals.lock().unwrap_or_else(|p| p.into_inner()).len();
        let t = Instant::now();
        let reply = rt.block_on(call(&bridge, id, "receiptPrinting", json!({"printList": list})));
        if reply["success"] != true {
            printer.shutdown();
            return Err(format!("receiptPrinting: {reply}"));
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        let (at, n) = loop {
            if let Some(got) = arrivals.lock().unwrap_or_else(|p| p.into_inner()).get(before).copied() {
                break got;
            }
            if Instant::now() > deadline {
                printer.shutdown();
                return Err("receiptPrinting: the printer never got the receipt's end".into());
            }
            std::thread::sleep(Duration::from_micros(200));
        };
        // The first call opens the connection and loads the fonts: not timed.
        if i > 0 {
            booth_t.push(ms(at - t));
            booth_len = n;
        }
    }
    printer.shutdown();

    let (direct, booth) = (median(&raster_t), median(&booth_t));
    lines.push(Line::Row(
        Row::new(
            format!("receipt, 58 mm, {lines_n} lines + picture: → ESC/POS bytes, ms"),
            format!("{:.2}", direct.unwrap_or(f64::NAN)),
            format!("{:.2}", booth.unwrap_or(f64::NAN)),
            ratio(booth, direct),
        )
        .target("≤ 5 ms", booth.map(|b| b <= 5.0)),
    ));
    lines.push(Line::Row(Row::new(
        "  (bytes: direct; at the TCP printer)",
        raster_len.to_string(),
        booth_len.to_string(),
        None,
    )));
    let pdf_ms = median(&pdf_t);
    lines.push(Line::Row(
        Row::new(
            "receipt → PDF bytes (what the CUPS backend sends), ms",
            "—".into(),
            format!("{:.2}", pdf_ms.unwrap_or(f64::NAN)),
            None,
        )
        .target("≤ 50 ms", pdf_ms.map(|b| b <= 50.0)),
    ));
    json.insert(
        "receipt".into(),
        json!({"lines": lines_n, "rounds": rounds, "directRasterMs": raster_t, "boothEscposMs": booth_t,
               "pdfMs": pdf_t, "rasterBytes": raster_len, "boothBytes": booth_len, "pdfBytes": pdf_len}),
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Face

fn face(plan: &DevicePlan, lines: &mut Vec<Line>, json: &mut Map<String, Value>) -> Result<(), String> {
    use booth_face::detect::INPUT;
    use booth_face::embed::{align, l2_squared, DIM};
    use booth_face::gallery::{Gallery, Partition};
    use booth_face::models::{Model, DETECTOR_FILE, EMBEDDER_FILE};
    let dir = booth_testkit::face::face_dir();
    let models = dir.join("models");
    let engine = booth_face::Engine::load(&models)
        .map_err(|e| format!("face models in {}: {e} (. scripts/setup.sh; booth_face_models)", models.display()))?;
    let photo = std::fs::read(dir.join("samples/obama.jpg")).map_err(|e| format!("samples/obama.jpg: {e}"))?;
    let frame = booth_camera::Frame::decode(&photo).map_err(|e| format!("photo: {e}"))?.resized(640, 480);
    let frames = plan.n(100, 5);
    let per_frame = |f: &mut dyn FnMut() -> Result<(), String>| -> Result<Vec<f64>, String> {
        for _ in 0..3 {
            f()?;
        }
        (0..frames)
            .map(|_| {
                let t = Instant::now();
                f().map(|()| ms(t.elapsed()))
            })
            .collect()
    };
    let booth_t = per_frame(&mut || {
        let d = *engine.detect(&frame).map_err(|e| e.to_string())?.first().ok_or("no face in the photo")?;
        std::hint::black_box(engine.embedder.embed(&align(&frame, &d)).map_err(|e| e.to_string())?);
        Ok(())
    })?;
    // Direct: the two models on tensors made once (what ONNX Runtime alone costs).
    let det = Model::load(&models, DETECTOR_FILE, 1).map_err(|e| e.to_string())?;
    let emb = Model::load(&models, EMBEDDER_FILE, 1).map_err(|e| e.to_string())?;
    let det_in = vec![0.5f32; INPUT * INPUT * 3];
    let chip = booth_face::embed::CHIP;
    let emb_in = vec![128f32; 3 * chip * chip];
    let direct_t = per_frame(&mut || {
        det.run(
            "input:0",
            &[1, INPUT, INPUT, 3],
            det_in.clone(),
            &["Identity:0", "Identity_1:0", "Identity_2:0", "Identity_3:0"],
        )
        .map_err(|e| e.to_string())?;
        emb.run("input", &[1, 3, chip, chip], emb_in.clone(), &["embedding"]).map_err(|e| e.to_string())?;
        Ok(())
    })?;
    let (d, b) = (median(&direct_t), median(&booth_t));
    lines.push(Line::Row(Row::new(
        "face, 640×480: detection + embedding per frame, ms p50 / p99",
        p50_p99(&direct_t),
        p50_p99(&booth_t),
        ratio(b, d),
    )));
    let mut searches = Map::new();
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    for n in [plan.n(10_000, 1_000), plan.n(100_000, 5_000)] {
        let g = Gallery::open(&tmp.path().join(format!("g{n}")), &tmp.path().join(format!("k{n}")))
            .map_err(|e| format!("gallery: {e}"))?;
        let p = Partition::new("org", "canteen");
        let people = booth_face::test_support::pseudo_random_people(n, &p);
        g.add_many(people).map_err(|e| format!("gallery: {e}"))?;
        let flat: Vec<f32> =
            (0..n).flat_map(|i| booth_face::test_support::pseudo_random_embedding(i as u64).0).collect();
        let probes = plan.n(500, 20);
        let (mut booth_s, mut direct_s) = (Vec::with_capacity(probes), Vec::with_capacity(probes));
        for i in 0..probes {
            let probe = booth_face::test_support::pseudo_random_embedding(1_000_000 + i as u64);
            let t = Instant::now();
            std::hint::black_box(g.find(Some(&p), &probe));
            booth_s.push(ms(t.elapsed()));
            let t = Instant::now();
            let best = flat
                .chunks_exact(DIM)
                .map(|row| l2_squared(row, &probe.0))
                .enumerate()
                .min_by(|a, b| a.1.total_cmp(&b.1));
            std::hint::black_box(best);
            direct_s.push(ms(t.elapsed()));
        }
        let (d, b) = (median(&direct_s), median(&booth_s));
        lines.push(Line::Row(Row::new(
            format!("face 1:N search over {n} faces, ms p50 / p99"),
            p50_p99(&direct_s),
            p50_p99(&booth_s),
            ratio(b, d),
        )));
        searches.insert(n.to_string(), json!({"directMs": direct_s, "boothMs": booth_s}));
    }
    json.insert("face".into(), json!({"frameDirectMs": direct_t, "frameBoothMs": booth_t, "search": searches}));
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Sound: the microphone and speech on a private PulseAudio

/// The first sample louder than `level` from `from` on.
fn first_loud(samples: &[i16], from: usize, level: u16) -> Option<usize> {
    samples[from.min(samples.len())..].iter().position(|v| v.unsigned_abs() > level).map(|p| p + from)
}

/// When the recording's first loud sample at or after `t` was recorded.
fn heard_after(r: &Recording, t: Instant) -> Option<Instant> {
    r.time_of(first_loud(&r.samples, r.index_at(t), 1000)?)
}

/// Plays 100 ms of 1 kHz into the speaker (`spk`), as a separate client would.
fn beep(pulse: &Pulse) -> Result<std::process::Child, String> {
    let tone: Vec<i16> = (0..RATE / 10)
        .map(|i| ((f64::from(i) * 2.0 * std::f64::consts::PI * 1000.0 / f64::from(RATE)).sin() * 16000.0) as i16)
        .collect();
    pulse.play_into_speaker(&tone, RATE).map_err(|e| format!("pacat: {e}"))
}

/// The direct capture path: a cpal input stream on the default device, noting when a callback
/// brings a loud sample (the time that sample was captured, from the callback's arrival).
struct DirectCapture {
    _stream: cpal::Stream,
    loud: Arc<Mutex<Vec<Instant>>>,
}

impl DirectCapture {
    fn open() -> Result<DirectCapture, String> {
        use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
        let device = cpal::default_host().default_input_device().ok_or("no default input device")?;
        let config = device.default_input_config().map_err(|e| format!("direct capture: {e}"))?;
        let (rate, channels) = (f64::from(config.sample_rate()), usize::from(config.channels()).max(1));
        let loud: Arc<Mutex<Vec<Instant>>> = Arc::default();
        let (l1, l2) = (loud.clone(), loud.clone());
        // A loud sample at frame `i` of `frames` was captured (frames - i) periods before now.
        let note = move |l: &Mutex<Vec<Instant>>, first: Option<usize>, frames: usize| {
            if let Some(i) = first {
                let back = Duration::from_secs_f64((frames - i / channels) as f64 / rate);
                l.lock().unwrap_or_else(|p| p.into_inner()).push(Instant::now() - back);
            }
        };
        let on_error = |e: cpal::Error| eprintln!("booth-bench: direct capture: {e}");
        let stream = match config.sample_format() {
            cpal::SampleFormat::F32 => device.build_input_stream(
                config.config(),
                move |data: &[f32], _: &cpal::InputCallbackInfo| {
                    note(&l1, data.iter().position(|v| v.abs() > 1000.0 / 32768.0), data.len() / channels)
                },
                on_error,
                None,
            ),
            cpal::SampleFormat::I16 => device.build_input_stream(
                config.config(),
                move |data: &[i16], _: &cpal::InputCallbackInfo| {
                    note(&l2, data.iter().position(|v| v.unsigned_abs() > 1000), data.len() / channels)
                },
                on_error,
                None,
            ),
            other => return Err(format!("direct capture: sample format {other}")),
        }
        .map_err(|e| format!("direct capture: {e}"))?;
        stream.play().map_err(|e| format!("direct capture: {e}"))?;
        Ok(DirectCapture { _stream: stream, loud })
    }

    /// The first loud sample captured after `t`.
    fn heard_after(&self, t: Instant) -> Option<Instant> {
        self.loud.lock().unwrap_or_else(|p| p.into_inner()).iter().copied().find(|&x| x >= t)
    }
}

fn wait<T>(within: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn sound(plan: &DevicePlan, lines: &mut Vec<Line>, json: &mut Map<String, Value>) -> Result<(), String> {
    use booth_audio::{Audio, BuzzerConfig, MicrophoneConfig, SpeechConfig};
    let pulse = Pulse::start();
    pulse.export_env();
    // The microphone hears the speaker: what is played is captured.
    std::env::set_var("PULSE_SOURCE", "spk.monitor");
    let rec = pulse.record();
    rec.wait_for(Duration::from_secs(5), |r| r.samples.len() > 4800).ok_or("parec records nothing")?;
    let bridge = Bridge::default();
    let audio = Audio::start(
        &SpeechConfig { engine: "espeak".into(), ..SpeechConfig::default() },
        &BuzzerConfig { backend: "none".into(), ..BuzzerConfig::default() },
        &MicrophoneConfig { backend: "device".into(), ..MicrophoneConfig::default() },
        false,
        bridge.bus(),
    );
    audio.register(&bridge);
    let result = sound_rows(plan, &pulse, &rec, &bridge, &audio, lines, json);
    audio.shutdown();
    std::env::remove_var("PULSE_SOURCE");
    result
}

fn sound_rows(
    plan: &DevicePlan,
    pulse: &Pulse,
    rec: &booth_testkit::pulse::Recorder,
    bridge: &Bridge,
    audio: &Arc<booth_audio::Audio>,
    lines: &mut Vec<Line>,
    json: &mut Map<String, Value>,
) -> Result<(), String> {
    if !audio.output().wait_open(Duration::from_secs(10)) {
        return Err(format!("sound output: {:?}", audio.output().status()));
    }
    let rt = runtime()?;
    let (id, page) = session(bridge, &[Family::Speech, Family::Microphone]);
    bridge.subscribe(id, Dialect::My, "initMicrophoneListener").map_err(|e| format!("{e:?}"))?;

    // Microphone latency: a beep, timed by the reference recorder, by the direct stream and at
    // the page (less what of the chunk was still to fill after the beep's first sample).
    let direct = DirectCapture::open()?;
    let reply = rt.block_on(call(bridge, id, "startMicrophoneListener", json!({})));
    if reply["success"] != true {
        return Err(format!("startMicrophoneListener: {reply}"));
    }
    let beeps = plan.n(50, 3);
    let (mut booth_l, mut direct_l) = (Vec::new(), Vec::new());
    std::thread::sleep(Duration::from_millis(500));
    for _ in 0..beeps {
        let seen = page.len();
        let t = Instant::now();
        let mut player = beep(pulse)?;
        let at_page = wait(Duration::from_secs(5), || {
            page.chunks(seen).into_iter().find_map(|(at, c)| {
                let pos = c.iter().position(|v| v.unsigned_abs() > 1000)?;
                Some(at - Duration::from_secs_f64((c.len() - pos) as f64 / 16_000.0))
            })
        })
        .ok_or("the beep never reached the page")?;
        let heard = wait(Duration::from_secs(2), || heard_after(&rec.snapshot(), t)).ok_or("parec missed the beep")?;
        let direct_at =
            wait(Duration::from_secs(2), || direct.heard_after(t)).ok_or("the direct stream missed the beep")?;
        booth_l.push(signed_ms(at_page, heard));
        direct_l.push(signed_ms(direct_at, heard));
        let _ = player.wait();
        std::thread::sleep(Duration::from_millis(250));
    }
    drop(direct);
    lines.push(Line::Row(
        Row::new(
            "microphone: capture → listener beyond the chunk, ms p50 / p99",
            p50_p99(&direct_l),
            p50_p99(&booth_l),
            None,
        )
        .target("p99 ≤ 20 ms", quantile(&booth_l, 0.99).map(|p| p <= 20.0)),
    ));

    // Drops: stream for the planned time and count what arrived against what real time made.
    page.clear();
    let (dropped0, overruns0) = audio.microphone().losses();
    let span = Duration::from_secs_f64(plan.mic_minutes * 60.0);
    let t = Instant::now();
    std::thread::sleep(span);
    let elapsed = t.elapsed();
    let got = page.chunks(0).len();
    let (dropped1, overruns1) = audio.microphone().losses();
    rt.block_on(call(bridge, id, "stopMicrophoneListener", json!({})));
    let chunk_s = f64::from(booth_audio::MicrophoneConfig::default().chunk_ms) / 1000.0;
    let expected = (elapsed.as_secs_f64() / chunk_s).floor() as i64;
    let (dropped, overruns) = (dropped1 - dropped0, overruns1 - overruns0);
    lines.push(Line::Row(
        Row::new(
            format!("microphone: chunks in {:.1} min (real time: {expected}); lost", elapsed.as_secs_f64() / 60.0),
            "—".into(),
            format!("{got}; {dropped} + {overruns} samples"),
            None,
        )
        .target("0 drops", Some(dropped == 0 && overruns == 0 && (got as i64) >= expected - 2)),
    ));

    // Speech: a new 20-character sentence each time (so nothing comes from the phrase cache),
    // call → first sound at the speaker; the direct path is espeak-ng into pacat.
    let n = plan.n(10, 2);
    let (mut booth_s, mut cached_s, mut direct_s) = (Vec::new(), Vec::new(), Vec::new());
    // Where Booth's time goes: from the call's acceptance to the first PCM handed to the mixer
    // (synthesis), the rest is the way out to the speaker.
    let (mut made_s, mut made_cached_s) = (Vec::new(), Vec::new());
    let sentence = |i: usize| format!("请{}号顾客到窗口取餐，谢谢您的耐心等待。", i % 10);
    for i in 0..n {
        let text = sentence(i);
        for cached in [false, true] {
            let t = Instant::now();
            let reply = rt.block_on(call(bridge, id, "speech", json!({"text": text})));
            if reply["success"] != true {
                return Err(format!("speech: {reply}"));
            }
            let heard = wait(Duration::from_secs(5), || heard_after(&rec.snapshot(), t)).ok_or("speech never heard")?;
            let made = audio.speech().and_then(|s| s.last_first_audio_ms());
            if cached {
                cached_s.push(ms(heard - t));
                made_cached_s.extend(made);
            } else {
                booth_s.push(ms(heard - t));
                made_s.extend(made);
            }
            // Let it finish: the next call would queue behind it.
            wait(Duration::from_secs(20), || audio.speech().is_some_and(|s| !s.busy()).then_some(()));
            std::thread::sleep(Duration::from_millis(300));
        }
        let t = Instant::now();
        let mut play = Command::new("sh")
            .args(["-c", "espeak-ng -v cmn-latn-pinyin --stdout | pacat -p -d spk --latency-msec=10"])
            .envs(pulse.env())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("espeak-ng | pacat: {e}"))?;
        if let Some(mut stdin) = play.stdin.take() {
            let _ = stdin.write_all(text.as_bytes());
        }
        let heard =
            wait(Duration::from_secs(5), || heard_after(&rec.snapshot(), t)).ok_or("espeak-ng | pacat never heard")?;
        direct_s.push(ms(heard - t));
        let _ = play.wait();
        std::thread::sleep(Duration::from_millis(300));
    }
    let (d, b) = (median(&direct_s), median(&booth_s));
    lines.push(Line::Row(
        Row::new(
            "speech, 20 characters: call → first sound, ms p50 / p99",
            p50_p99(&direct_s),
            p50_p99(&booth_s),
            ratio(b, d),
        )
        .target("≤ 150 ms", quantile(&booth_s, 0.99).map(|p| p <= 150.0)),
    ));
    lines.push(Line::Row(Row::new(
        "  the same sentence again (phrase cache), ms p50 / p99",
        "—".into(),
        p50_p99(&cached_s),
        None,
    )));
    lines.push(Line::Row(Row::new(
        "  of which call → first PCM to the mixer, new / cached, ms p50",
        "—".into(),
        format!(
            "{:.1} / {:.1}",
            quantile(&made_s, 0.5).unwrap_or(f64::NAN),
            quantile(&made_cached_s, 0.5).unwrap_or(f64::NAN)
        ),
        None,
    )));
    json.insert(
        "microphone".into(),
        json!({"boothMs": booth_l, "directMs": direct_l, "streamS": elapsed.as_secs_f64(), "chunks": got,
               "expectedChunks": expected, "dropped": dropped, "overrunSamples": overruns}),
    );
    json.insert(
        "speech".into(),
        json!({"boothMs": booth_s, "cachedMs": cached_s, "directMs": direct_s,
               "firstPcmMs": made_s, "firstPcmCachedMs": made_cached_s}),
    );
    Ok(())
}
