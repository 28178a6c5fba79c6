//! The SAM serial backend against a frame-level module emulator on a socat pty pair.
//!
//! The emulator (`booth_testkit::sam`) is written from the protocol description (it shares no
//! code with Booth's decoder): it answers find / select / read-base-information frames, checks
//! every command's checksum, and can corrupt the checksum of its read replies. Killing socat is
//! an unplug.

mod common;

use booth_idcard::{Backend, IdCardConfig};
use booth_testkit::pty::Socat;
use booth_testkit::sam::{text_block, Emulator, Module};
use common::{answer, known_data, wait_until, Rig, KNOWN};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tempfile::TempDir;

fn sam_rig(socat: &Socat) -> Rig {
    Rig::new(IdCardConfig {
        backend: Backend::Sam { port: socat.app().display().to_string(), baud: 115_200 },
        ..IdCardConfig::default()
    })
}

const GET_ALL: &str =
    r#"{"action":"getIDCardInfo","event":"open","taskId":"3","params":{"infoType":"base,photo,other","timeout":5000}}"#;

#[tokio::test]
async fn sam_reads_a_known_identity() {
    let dir = TempDir::new().unwrap();
    let socat = Socat::start(dir.path());
    let emu = Emulator::start(&socat, Arc::new(Mutex::new(Module::default())));
    let rig = sam_rig(&socat);
    rig.wait_available(true, Duration::from_secs(3)).await;
    assert_eq!(rig.idcard.status().backend, "sam");
    rig.listen();

    // Polling without a card reads nothing.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(rig.sink.all().is_empty());

    let task = rig.pending(GET_ALL).await;
    let placed = Instant::now();
    emu.place(text_block(KNOWN));
    let body = answer(task, Duration::from_secs(3)).await;
    eprintln!("card placed → reply in {:?}", placed.elapsed());
    assert_eq!(
        body,
        json!({"action": "getIDCardInfo", "event": "open", "taskId": "3", "success": true, "message": "成功", "data": known_data()})
    );
    assert_eq!(rig.wait_events(1, Duration::from_secs(1)).await, [known_data()]);

    // The card stays on the reader: it is not read again. Lifted and placed again: read again,
    // and only the asked-for groups come back.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(emu.reads(), 1);
    let task = rig.pending(r#"{"action":"getIDCardInfo","taskId":"4","params":{"infoType":"base"}}"#).await;
    emu.place(text_block(KNOWN));
    let body = answer(task, Duration::from_secs(3)).await;
    assert_eq!(body["data"], json!({"name": "李四", "idNum": "330106198512240021"}));
    assert_eq!(rig.wait_events(2, Duration::from_secs(1)).await.len(), 2);
    assert_eq!(emu.module.lock().unwrap().bad_commands, 0, "every command frame had a valid checksum");
}

#[tokio::test]
async fn sam_corrupt_checksum_frame_is_rejected() {
    let dir = TempDir::new().unwrap();
    let socat = Socat::start(dir.path());
    let emu = Emulator::start(&socat, Arc::new(Mutex::new(Module::default())));
    let rig = sam_rig(&socat);
    rig.wait_available(true, Duration::from_secs(3)).await;
    rig.listen();

    // Every read reply corrupt: nothing reaches the page, the call times out, the reader stays up.
    emu.module.lock().unwrap().corrupt_reads = usize::MAX;
    let task = rig.pending(r#"{"action":"getIDCardInfo","taskId":"c","params":{"timeout":1500}}"#).await;
    emu.place(text_block(KNOWN));
    let body = answer(task, Duration::from_secs(3)).await;
    assert_eq!(body["success"], json!(false), "{body}");
    assert_eq!(body["message"], json!("超时"), "{body}");
    assert_eq!(body["data"], json!({}), "{body}");
    assert!(emu.reads() >= 2, "the module was asked again after each rejected frame: {}", emu.reads());
    assert!(rig.sink.all().is_empty(), "{:?}", rig.sink.all());
    assert!(rig.idcard.status().available, "a corrupt frame is not an unplug");

    // One corrupt reply, then a good one: the card arrives once, from the good frame.
    emu.module.lock().unwrap().corrupt_reads = 1;
    emu.module.lock().unwrap().reads = 0;
    let task = rig.pending(GET_ALL).await;
    emu.place(text_block(KNOWN));
    let body = answer(task, Duration::from_secs(3)).await;
    assert_eq!(body["data"], known_data());
    assert_eq!(emu.reads(), 2);
    assert_eq!(rig.wait_events(1, Duration::from_secs(1)).await, [known_data()]);
}

#[tokio::test]
async fn sam_unplug_and_replug() {
    let dir = TempDir::new().unwrap();
    let mut socat = Socat::start(dir.path());
    let port = socat.app().display().to_string();
    let module = Arc::new(Mutex::new(Module::default()));
    let emu = Emulator::start(&socat, module.clone());
    let rig = sam_rig(&socat);
    rig.wait_available(true, Duration::from_secs(3)).await;

    // A call waiting during the unplug is answered DEVICE_UNAVAILABLE, naming the port.
    let task = rig.pending(GET_ALL).await;
    let killed = Instant::now();
    socat.kill();
    drop(emu);
    let body = answer(task, Duration::from_secs(3)).await;
    assert_eq!(body["errorCode"], json!("DEVICE_UNAVAILABLE"), "{body}");
    assert!(body["message"].as_str().unwrap().contains(&port), "{body}");
    eprintln!("unplug noticed in {:?}", killed.elapsed());

    // While unplugged: answered at once.
    let started = Instant::now();
    let body = rig.call(GET_ALL).await;
    assert_eq!(body["errorCode"], json!("DEVICE_UNAVAILABLE"), "{body}");
    assert!(started.elapsed() < Duration::from_millis(300));

    // Replug: the same IdCard reads again.
    socat.restart();
    let emu = Emulator::start(&socat, module);
    let replugged = Instant::now();
    rig.wait_available(true, Duration::from_secs(3)).await;
    eprintln!("replug noticed in {:?}", replugged.elapsed());
    let task = rig.pending(GET_ALL).await;
    emu.place(text_block(KNOWN));
    assert_eq!(answer(task, Duration::from_secs(3)).await["data"], known_data());
}

#[tokio::test]
async fn sam_missing_port_is_unavailable() {
    let dir = TempDir::new().unwrap();
    let port = dir.path().join("no-such-tty").display().to_string();
    let rig = Rig::new(IdCardConfig {
        backend: Backend::Sam { port: port.clone(), baud: 115_200 },
        ..IdCardConfig::default()
    });
    wait_until(
        Duration::from_secs(2),
        "an open failure",
        || !rig.idcard.status().detail.contains("尚未打开"),
        || format!("{:?}", rig.idcard.status()),
    )
    .await;
    let body = rig.call(GET_ALL).await;
    assert_eq!(body["errorCode"], json!("DEVICE_UNAVAILABLE"), "{body}");
    assert!(body["message"].as_str().unwrap().contains(&port), "{body}");
}
