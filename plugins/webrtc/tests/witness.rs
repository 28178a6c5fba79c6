//! `finOpenWitnessVideo`'s call against a real Janus (Debian's `janus`, VideoRoom over its HTTP
//! API) inside a private network: the test plays the agent with a native peer of its own
//! (a test pattern, a tone and a data channel for its decision), Booth's call joins the room,
//! and what the agent says becomes the seed's `videoFlag`.

#![cfg(target_os = "linux")]

mod common;

use booth_testkit::janus::Janus as JanusServer;
use booth_testkit::netns::{run_in_private_network, ADDRESSES};
use booth_webrtc::agent::Agent;
use booth_webrtc::call::{run, CallObserver, CallSetup, Phase};
use booth_webrtc::peer::Peer;
use booth_webrtc::record::{play_back, Recorder};
use booth_webrtc::stream::LocalTrack;
use booth_webrtc::witness::{Outcome, WitnessRequest, WitnessSection};
use common::{close_to, cpu_ticks, mean, pattern_camera, pluggable_camera};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

const ROOM: u64 = 4321;
const PIN: &str = "见证-1";
const AGENT_COLOURS: ([u8; 3], [u8; 3]) = ([220, 30, 30], [30, 30, 220]);
const CUSTOMER_COLOURS: ([u8; 3], [u8; 3]) = ([30, 200, 30], [230, 230, 30]);

async fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "waited {limit:?} for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn join_agent(server: &JanusServer) -> Agent {
    let camera = pattern_camera(AGENT_COLOURS.0, AGENT_COLOURS.1);
    Agent::join(&server.url(), ROOM, PIN, "坐席 007", &camera).await.expect("the agent joins")
}

/// The call screen stand-in: what the call reported.
#[derive(Default)]
struct Screen {
    phases: Mutex<Vec<(Phase, String)>>,
    agent: Mutex<Option<Peer>>,
    customer: Mutex<Option<LocalTrack>>,
}

impl CallObserver for Screen {
    fn progress(&self, phase: Phase, status: &str) {
        println!("call: {phase:?} {status}");
        self.phases.lock().unwrap().push((phase, status.to_string()));
    }
    fn agent(&self, peer: &Peer) {
        *self.agent.lock().unwrap() = Some(peer.clone());
    }
    fn customer(&self, track: &LocalTrack) {
        *self.customer.lock().unwrap() = Some(track.clone());
    }
}

impl Screen {
    fn in_call_times(&self) -> usize {
        self.phases.lock().unwrap().iter().filter(|(p, s)| *p == Phase::InCall && s.starts_with("通话中")).count()
    }
    /// Every status line shown while in the call (they name the agent).
    fn in_call_lines(&self) -> Vec<String> {
        self.phases.lock().unwrap().iter().filter(|(p, _)| *p == Phase::InCall).map(|(_, s)| s.clone()).collect()
    }
    fn saw(&self, phase: Phase) -> bool {
        self.phases.lock().unwrap().iter().any(|(p, _)| *p == phase)
    }
}

struct Call {
    screen: Arc<Screen>,
    stop: watch::Sender<Option<String>>,
    done: tokio::task::JoinHandle<Outcome>,
    started: Instant,
}

fn setup(
    janus: &JanusServer,
    camera: &booth_camera::Camera,
    pin: &str,
    record: Option<&Path>,
    section: WitnessSection,
) -> CallSetup {
    let request = WitnessRequest::parse(&json!({
        "videoType": "janus", "videoIp": janus.address, "videoPort": janus.port.to_string(),
        "loginName": "张三", "roomId": ROOM.to_string(), "roomName": "开户见证", "roomPwd": pin
    }))
    .unwrap();
    CallSetup {
        request,
        section,
        recordings: record.map(Path::to_path_buf),
        camera: camera.clone(),
        microphone: Some("audiotestsrc is-live=true wave=sine freq=660 volume=0.4".into()),
        speaker: None,
    }
}

fn start(setup: CallSetup) -> Call {
    let screen = Arc::new(Screen::default());
    let (stop, rx) = watch::channel(None);
    let observer: Arc<dyn CallObserver> = screen.clone();
    Call { screen, stop, done: tokio::spawn(run(setup, observer, rx)), started: Instant::now() }
}

async fn outcome(call: Call, limit: Duration) -> Outcome {
    tokio::time::timeout(limit, call.done).await.expect("the call ends").expect("the call's task")
}

fn section() -> WitnessSection {
    WitnessSection { reconnect_s: 8, agent_wait_s: 30, ..Default::default() }
}

#[test]
fn a_witnessed_call_through_janus_ends_as_the_agent_decides() {
    if !run_in_private_network("a_witnessed_call_through_janus_ends_as_the_agent_decides") {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let server = JanusServer::start(ADDRESSES[0], 8088);
        let camera = pattern_camera(CUSTOMER_COLOURS.0, CUSTOMER_COLOURS.1);
        let recordings = tempfile::tempdir().unwrap();

        // 1. Approved, recorded: both see each other, the agent's word ends the call with "0".
        let mut agent = join_agent(&server).await;
        let call = start(setup(&server, &camera, PIN, Some(recordings.path()), section()));
        let sees_customer = agent.watch_customer(Duration::from_secs(60)).await.unwrap();
        let screen = call.screen.clone();
        wait_until("the call to be in progress", Duration::from_secs(60), || screen.in_call_times() > 0).await;
        let in_call = call.started.elapsed();
        let agent_peer = screen.agent.lock().unwrap().clone().expect("the screen was given the agent");
        let video = |p: &Peer| p.remote_tracks().into_iter().find(|t| t.kind() == "video");
        let audio = |p: &Peer| p.remote_tracks().into_iter().find(|t| t.kind() == "audio");
        wait_until("Booth to see the agent", Duration::from_secs(30), || video(&agent_peer).is_some_and(|t| t.received() >= 1)).await;
        let first_frame = call.started.elapsed();
        wait_until("Booth to see the agent", Duration::from_secs(30), || video(&agent_peer).is_some_and(|t| t.received() >= 10)).await;
        wait_until("the agent to see the customer", Duration::from_secs(30), || {
            video(&sees_customer).is_some_and(|t| t.received() >= 10)
        })
        .await;
        wait_until("Booth to hear the agent", Duration::from_secs(30), || audio(&agent_peer).is_some_and(|t| t.audio_peak() > 3000)).await;
        wait_until("the agent to hear the customer", Duration::from_secs(30), || {
            audio(&sees_customer).is_some_and(|t| t.audio_peak() > 3000)
        })
        .await;
        let seen = video(&agent_peer).unwrap().latest().unwrap();
        assert!(close_to(mean(&seen, 0.05, 0.45), AGENT_COLOURS.0) && close_to(mean(&seen, 0.55, 0.95), AGENT_COLOURS.1));
        let seen = video(&sees_customer).unwrap().latest().unwrap();
        assert!(close_to(mean(&seen, 0.05, 0.45), CUSTOMER_COLOURS.0) && close_to(mean(&seen, 0.55, 0.95), CUSTOMER_COLOURS.1));
        // Let the recording hold a few seconds of both; meanwhile the CPU of the whole process
        // (Booth's call and recorder, and the agent: VP8 both ways, Opus both ways).
        let (cpu0, t0) = (cpu_ticks(), Instant::now());
        tokio::time::sleep(Duration::from_secs(3)).await;
        if let (Some(a), Some(b)) = (cpu0, cpu_ticks()) {
            println!(
                "a recorded call and its agent in one process: {:.0} % of one core",
                (b - a) as f64 / 100.0 / t0.elapsed().as_secs_f64() * 100.0
            );
        }
        agent.say("您好, 请出示身份证").unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!call.done.is_finished(), "a chat line is not a decision");
        agent.say("approved").unwrap();
        let decided = Instant::now();
        let o = outcome(call, Duration::from_secs(20)).await;
        println!(
            "approved: in call {} ms and the agent's first picture {} ms after the call started; answer {} ms after the agent's word",
            in_call.as_millis(),
            first_frame.as_millis(),
            decided.elapsed().as_millis()
        );
        assert_eq!((o.flag, o.reject_reason.as_str(), o.message.as_str()), ("0", "", "坐席审核通过"), "{o:?}");
        let file = o.recording.clone().expect("the reply names the recording");
        assert!(file.starts_with(recordings.path()) && file.extension().is_some_and(|e| e == "webm"), "{file:?}");
        let played = play_back(&file).unwrap();
        println!("recording: {} bytes, {} frames, {} ms of audio", std::fs::metadata(&file).unwrap().len(), played.frames, played.audio_ms);
        assert!(played.frames >= 45, "at least 3 s of pictures: {played:?}");
        assert!(played.audio_ms >= 3000 && played.audio_peak > 3000, "both voices recorded: {played:?}");
        let f = played.last.as_ref().unwrap();
        let bands = [mean(f, 0.05, 0.2), mean(f, 0.3, 0.45), mean(f, 0.55, 0.7), mean(f, 0.8, 0.95)];
        assert!(
            close_to(bands[0], AGENT_COLOURS.0)
                && close_to(bands[1], AGENT_COLOURS.1)
                && close_to(bands[2], CUSTOMER_COLOURS.0)
                && close_to(bands[3], CUSTOMER_COLOURS.1),
            "the agent on the left, the customer on the right: {bands:?}"
        );
        agent.leave().await;

        // 2. Rejected, with the agent's reason; not recorded.
        let mut agent = join_agent(&server).await;
        let call = start(setup(&server, &camera, PIN, None, section()));
        agent.watch_customer(Duration::from_secs(60)).await.unwrap();
        let screen = call.screen.clone();
        wait_until("the second call", Duration::from_secs(60), || screen.in_call_times() > 0).await;
        agent.say("rejected: 证件照片不清晰").unwrap();
        let o = outcome(call, Duration::from_secs(20)).await;
        assert_eq!((o.flag, o.reject_reason.as_str(), o.recording.as_ref()), ("2", "证件照片不清晰", None), "{o:?}");

        // 3. The person hangs up.
        let call = start(setup(&server, &camera, PIN, None, section()));
        let screen = call.screen.clone();
        wait_until("the third call", Duration::from_secs(60), || screen.in_call_times() > 0).await;
        call.stop.send(Some("客户挂断".into())).unwrap();
        let hung = Instant::now();
        let o = outcome(call, Duration::from_secs(10)).await;
        assert_eq!((o.flag, o.message.as_str()), ("1", "客户挂断"), "{o:?}");
        assert!(hung.elapsed() < Duration::from_secs(3), "hanging up took {:?}", hung.elapsed());

        // 4. The agent leaves without a decision.
        let call = start(setup(&server, &camera, PIN, None, section()));
        let screen = call.screen.clone();
        wait_until("the fourth call", Duration::from_secs(60), || screen.in_call_times() > 0).await;
        agent.leave().await;
        let o = outcome(call, Duration::from_secs(20)).await;
        assert_eq!(o.flag, "1", "{o:?}");
        assert!(o.message.contains("坐席已离开"), "{o:?}");

        // 5. A wrong room password: "1" at once, with Janus's reason.
        let call = start(setup(&server, &camera, "wrong", None, section()));
        let o = outcome(call, Duration::from_secs(10)).await;
        assert_eq!(o.flag, "1", "{o:?}");
        assert!(o.message.contains("无法进入房间") && o.message.contains("433"), "{o:?}");

        // 6. Nobody comes: the wait for an agent ends.
        let call = start(setup(&server, &camera, PIN, None, WitnessSection { agent_wait_s: 2, ..section() }));
        let screen = call.screen.clone();
        let o = outcome(call, Duration::from_secs(20)).await;
        assert!(o.flag == "1" && o.message.contains("没有坐席接入"), "{o:?}");
        assert!(screen.saw(Phase::Waiting));
        wait_until("the camera to stop after the calls", Duration::from_secs(10), || !camera.status().running).await;
    });
}

#[test]
fn a_witnessed_call_survives_a_short_network_loss_and_fails_after_a_long_one() {
    if !run_in_private_network("a_witnessed_call_survives_a_short_network_loss_and_fails_after_a_long_one") {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let server = JanusServer::start(ADDRESSES[0], 8088);
        let camera = pattern_camera(CUSTOMER_COLOURS.0, CUSTOMER_COLOURS.1);
        let agent = join_agent(&server).await;
        let call = start(setup(&server, &camera, PIN, None, section()));
        let screen = call.screen.clone();
        wait_until("the call", Duration::from_secs(60), || screen.in_call_times() > 0).await;

        network(false);
        let lost = Instant::now();
        wait_until("Booth to notice", Duration::from_secs(15), || screen.saw(Phase::Reconnecting)).await;
        let noticed = lost.elapsed();
        tokio::time::sleep(Duration::from_secs(2)).await;
        network(true);
        let back = Instant::now();
        wait_until("the call to come back", Duration::from_secs(30), || screen.in_call_times() > 1).await;
        println!(
            "network loss noticed in {} ms; in call again {} ms after it returned",
            noticed.as_millis(),
            back.elapsed().as_millis()
        );
        // Booth's own publisher of the lost session may still be in the room: it is not the agent.
        let agents = screen.in_call_lines();
        assert!(agents.iter().all(|s| s.ends_with("坐席 007")), "{agents:?}");
        // The agent's own connection to Janus went through the loss too: its first words may be
        // lost or held on the way to Booth's new subscription, so it says them again until heard.
        let (said, mut done) = (Instant::now(), call.done);
        let o = loop {
            agent.say("approved").unwrap();
            match tokio::time::timeout(Duration::from_secs(5), &mut done).await {
                Ok(o) => break o.expect("the call's task"),
                Err(_) => assert!(said.elapsed() < Duration::from_secs(60), "the call ends"),
            }
        };
        println!("the agent's decision ended the call {} ms after it was first said", said.elapsed().as_millis());
        assert_eq!(o.flag, "0", "{o:?}");

        // A loss longer than [witness] reconnect_s ends the call with "1".
        let call = start(setup(&server, &camera, PIN, None, WitnessSection { reconnect_s: 3, ..section() }));
        let screen = call.screen.clone();
        wait_until("the second call", Duration::from_secs(60), || screen.in_call_times() > 0).await;
        // The first call's publisher lost with the network may still be in the room (Janus lets
        // its session go only at its timeout); it is Booth's, not the agent.
        let agents = screen.in_call_lines();
        assert!(agents.iter().all(|s| s.ends_with("坐席 007")), "{agents:?}");
        network(false);
        let lost = Instant::now();
        let o = outcome(call, Duration::from_secs(30)).await;
        network(true);
        assert!(o.flag == "1" && o.message.contains("网络中断"), "{o:?}");
        println!("a lasting loss ended the call after {} ms", lost.elapsed().as_millis());
        drop(agent);
    });
}

/// Takes both ends' addresses away, or gives them back.
fn network(up: bool) {
    for (dev, addr) in [("booth0", ADDRESSES[0]), ("booth1", ADDRESSES[1])] {
        let args: Vec<String> = if up {
            vec!["addr".into(), "add".into(), format!("{addr}/24"), "dev".into(), dev.into()]
        } else {
            vec!["addr".into(), "flush".into(), "dev".into(), dev.into()]
        };
        let ok = std::process::Command::new("ip").args(&args).status().unwrap();
        assert!(ok.success(), "ip {args:?}");
    }
}

/// The child of [`a_recording_cut_by_a_crash_still_plays`]: records the customer for three
/// seconds, then dies without a word.
#[test]
fn recording_child_that_dies() {
    let Some(path) = std::env::var_os("BOOTH_WITNESS_RECORD_TO") else { return };
    let camera = pattern_camera(CUSTOMER_COLOURS.0, CUSTOMER_COLOURS.1);
    let track = LocalTrack::camera(&camera).unwrap();
    let recorder = Recorder::start(Path::new(&path)).unwrap();
    recorder.set_customer(&track, None);
    std::thread::sleep(Duration::from_millis(3200));
    std::process::abort();
}

#[test]
fn a_recording_cut_by_a_crash_still_plays() {
    let dir = tempfile::tempdir().unwrap();
    let file: PathBuf = dir.path().join("cut.webm");
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "recording_child_that_dies", "--nocapture", "--test-threads=1"])
        .env("BOOTH_WITNESS_RECORD_TO", &file)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success(), "the child was to die");
    let played = play_back(&file).unwrap();
    println!(
        "a recording cut after 3.2 s: {} bytes, {} frames",
        std::fs::metadata(&file).unwrap().len(),
        played.frames
    );
    assert!(played.frames >= 30, "at least 2 s of the 3.2 s before the crash play: {played:?}");
    let f = played.last.as_ref().unwrap();
    assert!(close_to(mean(f, 0.55, 0.7), CUSTOMER_COLOURS.0) && close_to(mean(f, 0.8, 0.95), CUSTOMER_COLOURS.1));
    assert!(close_to(mean(f, 0.05, 0.45), [0, 0, 0]), "no agent yet: the left is black");
}

/// The call screen stand-in on the bridge side: what Booth showed, updated and hid.
#[derive(Default)]
struct Shown(Mutex<Vec<(String, serde_json::Value)>>);

impl booth_webrtc::service::CallScreen for Shown {
    fn show(&self, window: &str, view: &serde_json::Value) -> Result<(), String> {
        self.0.lock().unwrap().push((format!("show {window}"), view.clone()));
        Ok(())
    }
    fn update(&self, window: &str, view: &serde_json::Value) {
        self.0.lock().unwrap().push((format!("update {window}"), view.clone()));
    }
    fn hide(&self, window: &str) {
        self.0.lock().unwrap().push((format!("hide {window}"), json!(null)));
    }
}

impl Shown {
    fn has(&self, what: &str, key: &str) -> bool {
        self.0.lock().unwrap().iter().any(|(w, v)| w.starts_with(what) && !v[key].is_null())
    }
    fn hidden(&self) -> bool {
        self.0.lock().unwrap().iter().any(|(w, _)| w.starts_with("hide"))
    }
}

/// `booth dev`: finOpenWitnessVideo on the bridge with the simulated agent, played through the
/// simulator registry as the panel plays it; the call screen seam sees the whole call.
#[test]
fn the_simulated_agent_decides_from_the_panel_through_the_bridge() {
    use booth_bridge::{api::Family, Bridge, Dialect, Screen, SessionInfo, SimRegistry};
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let bridge = Bridge::default();
        let sims = SimRegistry::default();
        let camera = pattern_camera(CUSTOMER_COLOURS.0, CUSTOMER_COLOURS.1);
        let config = booth_webrtc::WebRtcSection { microphone: "none".into(), speaker: "none".into() }.to_config();
        let webrtc = booth_webrtc::WebRtc::new(camera.clone(), config);
        let data = tempfile::tempdir().unwrap();
        webrtc.set_witness(WitnessSection { record: true, ..Default::default() }, data.path());
        webrtc.simulate_witness(&sims);
        let screen = Arc::new(Shown::default());
        webrtc.set_call_screen(screen.clone());
        webrtc.register(&bridge);
        let page = |key: &str| {
            let info = SessionInfo {
                key: key.into(),
                package_id: "demo".into(),
                permissions: [Family::Camera].into(),
                dialects: [Dialect::Ft].into(),
                screen: Screen::Front,
                url: "booth-app://demo/index.html".into(),
            };
            bridge.open_session(info, Arc::new(booth_testkit::events::Collect::default()))
        };
        let (a, b) = (page("main"), page("other"));
        let params = json!({"videoType": "janus", "videoIp": "10.0.0.9", "videoPort": "8088", "loginName": "张三", "roomId": "88"});
        // Booth's own loopback (its control endpoint lives there) is not a video service a page may name.
        let mut own = params.clone();
        own["videoIp"] = json!("127.0.0.1");
        let r = bridge.call(a, Dialect::Ft, "finOpenWitnessVideo", &own.to_string()).await;
        assert_eq!(r.body["errorCode"], "PERMISSION_DENIED", "{}", r.body);
        let no_call = sims.act("witness", "decide", &json!({"outcome": "approved"}));
        assert!(no_call.is_err(), "nothing to decide without a call");

        // Rejected from the panel, recorded.
        let call = {
            let (bridge, params) = (bridge.clone(), params.clone());
            tokio::spawn(async move { bridge.call(a, Dialect::Ft, "finOpenWitnessVideo", &params.to_string()).await })
        };
        wait_until("the simulated call", Duration::from_secs(10), || {
            sims.describe().to_string().contains("\"inCall\":true")
        })
        .await;
        let busy = bridge.call(b, Dialect::Ft, "finOpenWitnessVideo", &params.to_string()).await;
        assert_eq!(busy.body["errorCode"], "BUSY", "one call at a time: {}", busy.body);
        tokio::time::sleep(Duration::from_secs(2)).await;
        sims.act("witness", "decide", &json!({"outcome": "rejected", "reason": "证件照片不清晰"})).unwrap();
        let r = call.await.unwrap();
        assert!(r.ok, "{}", r.body);
        assert_eq!((&r.body["videoFlag"], &r.body["rejectReason"]), (&json!("2"), &json!("证件照片不清晰")), "{}", r.body);
        assert!(screen.has("show main", "roomName") && screen.has("update main", "agentUrl") && screen.has("update main", "selfUrl"));
        assert!(screen.hidden());
        let file = std::path::PathBuf::from(r.body["recording"].as_str().unwrap());
        assert!(file.starts_with(data.path().join("witness")), "{file:?}");
        let played = play_back(&file).unwrap();
        assert!(played.frames >= 20, "{played:?}");
        let f = played.last.as_ref().unwrap();
        assert!(close_to(mean(f, 0.02, 0.08), [22, 119, 255]), "the simulated agent on the left: {:?}", mean(f, 0.02, 0.08));
        assert!(close_to(mean(f, 0.55, 0.7), CUSTOMER_COLOURS.0) && close_to(mean(f, 0.8, 0.95), CUSTOMER_COLOURS.1));

        // The page goes away mid-call: the call ends by itself and the camera is let go.
        let call = {
            let (bridge, params) = (bridge.clone(), params.clone());
            tokio::spawn(async move { bridge.call(b, Dialect::Ft, "finOpenWitnessVideo", &params.to_string()).await })
        };
        wait_until("the second call", Duration::from_secs(10), || sims.describe().to_string().contains("\"calls\":2")).await;
        bridge.end_session(b);
        let _ = call.await;
        wait_until("the call slot to free", Duration::from_secs(10), || webrtc.status()["witnessCall"] == false).await;
        wait_until("the camera to stop", Duration::from_secs(10), || !camera.status().running).await;
    });
}

#[test]
fn a_camera_unplugged_mid_call_is_waited_for_then_ends_the_call() {
    if !run_in_private_network("a_camera_unplugged_mid_call_is_waited_for_then_ends_the_call") {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let server = JanusServer::start(ADDRESSES[0], 8088);
        let (camera, plugged) = pluggable_camera(CUSTOMER_COLOURS.0, CUSTOMER_COLOURS.1);
        let _agent = join_agent(&server).await;
        let call = start(setup(&server, &camera, PIN, None, WitnessSection { camera_gone_s: 4, ..section() }));
        let screen = call.screen.clone();
        wait_until("the call", Duration::from_secs(60), || screen.in_call_times() > 0).await;
        let gone = |s: &Screen| s.phases.lock().unwrap().iter().filter(|(_, t)| t.starts_with("摄像头已断开")).count();

        // Out for a moment: the screen says so, the call waits, and goes on when it is back.
        plugged.store(false, std::sync::atomic::Ordering::SeqCst);
        wait_until("the screen to say the camera is gone", Duration::from_secs(10), || gone(&screen) > 0).await;
        plugged.store(true, std::sync::atomic::Ordering::SeqCst);
        wait_until("the call to go on", Duration::from_secs(15), || screen.in_call_times() > 1).await;
        assert!(!call.done.is_finished());

        // Out for longer than [witness] camera_gone_s: "1".
        plugged.store(false, std::sync::atomic::Ordering::SeqCst);
        let unplugged = Instant::now();
        let o = outcome(call, Duration::from_secs(30)).await;
        assert!(o.flag == "1" && o.message.contains("摄像头断开超过 4 秒"), "{o:?}");
        println!("a camera gone for good ended the call {} ms after it went", unplugged.elapsed().as_millis());
    });
}
