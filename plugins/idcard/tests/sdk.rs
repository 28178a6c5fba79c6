//! The vendor-SDK backends (`sdtapi` and `termb` style) and the WLT photo decoder, loaded at run
//! time from a stand-in library compiled from `tests/standin/vendor_reader.c` for each test (a
//! separate file per test, so tests running in parallel do not share its state).

mod common;

use base64::Engine;
use booth_idcard::sdk::Sdk;
use booth_idcard::{Backend, DecoderConfig, IdCardConfig};
use booth_testkit::sam::text_block;
use common::{answer, known_data, Rig, KNOWN};
use serde_json::{json, Value};
use std::ffi::{c_char, CString};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tempfile::TempDir;

/// Compiles the stand-in into `dir`.
fn build_standin(dir: &Path) -> PathBuf {
    let src = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("tests/standin/vendor_reader.c");
    let out = dir.join("libvendor_reader.so");
    let status = std::process::Command::new("cc")
        .args(["-shared", "-fPIC", "-O1", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .expect("run cc");
    assert!(status.success(), "cc failed");
    out
}

/// The test's own handle on the stand-in (the same library Booth loads: same state).
struct Standin {
    lib: libloading::Library,
}

type Place = unsafe extern "C" fn(*const u8, *const u8, *const *const c_char);

impl Standin {
    fn open(path: &Path) -> Standin {
        Standin { lib: unsafe { libloading::Library::new(path) }.expect("load the stand-in") }
    }

    fn place(&self, text: &[u8], photo: &[u8], fields: [&str; 9]) {
        let gbk: Vec<CString> =
            fields.iter().map(|f| CString::new(encoding_rs::GBK.encode(f).0.into_owned()).unwrap()).collect();
        let ptrs: Vec<*const c_char> = gbk.iter().map(|c| c.as_ptr()).collect();
        unsafe {
            let place: libloading::Symbol<Place> = self.lib.get("standin_place").unwrap();
            place(text.as_ptr(), photo.as_ptr(), ptrs.as_ptr());
        }
    }

    fn unplug(&self, yes: bool) {
        unsafe {
            let f: libloading::Symbol<unsafe extern "C" fn(i32)> = self.lib.get("standin_unplug").unwrap();
            f(i32::from(yes));
        }
    }

    fn reads(&self) -> i32 {
        unsafe {
            let f: libloading::Symbol<unsafe extern "C" fn() -> i32> = self.lib.get("standin_reads").unwrap();
            f()
        }
    }
}

/// termb libraries answer fields as text: names instead of codes, dates with separators.
const KNOWN_TERMB: [&str; 9] = [
    "李四",
    "女",
    "回族",
    "1985-12-24",
    "浙江省杭州市余杭区文一西路９６９号",
    "330106198512240021",
    "杭州市公安局余杭分局",
    "2023.05.29",
    "2043.05.29",
];

fn rig(sdk: Sdk, lib: &Path, decoder: Option<&Path>) -> Rig {
    Rig::new(IdCardConfig {
        backend: Backend::Sdk { sdk, library: lib.to_path_buf(), port: 1001 },
        photo_decoder: decoder.map(|d| DecoderConfig { library: d.to_path_buf(), symbol: "unpack".into(), flag: 0 }),
        ..IdCardConfig::default()
    })
}

const GET: &str = r#"{"action":"getIDCardInfo","taskId":"s","params":{"infoType":"base,photo,other","timeout":5000}}"#;

/// Width and height from a baseline JPEG's SOF0 marker.
fn jpeg_size(jpeg: &[u8]) -> (u16, u16) {
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8], "a JPEG");
    let mut i = 2;
    while i + 9 < jpeg.len() {
        assert_eq!(jpeg[i], 0xFF);
        let marker = jpeg[i + 1];
        let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
        if marker == 0xC0 {
            let h = u16::from_be_bytes([jpeg[i + 5], jpeg[i + 6]]);
            let w = u16::from_be_bytes([jpeg[i + 7], jpeg[i + 8]]);
            return (w, h);
        }
        i += 2 + len;
    }
    panic!("no SOF0");
}

async fn reads_known(sdk: Sdk) {
    let dir = TempDir::new().unwrap();
    let lib = build_standin(dir.path());
    let standin = Standin::open(&lib);
    let rig = rig(sdk, &lib, Some(&lib));
    rig.wait_available(true, Duration::from_secs(3)).await;
    assert_eq!(rig.idcard.status().backend, "sdk");
    assert!(rig.idcard.status().detail.contains(if sdk == Sdk::Sdtapi { "sdtapi" } else { "termb" }));
    rig.listen();

    let task = rig.pending(GET).await;
    let photo: Vec<u8> = (0..1024).map(|i| (i * 7 % 256) as u8).collect();
    standin.place(&text_block(KNOWN), &photo, KNOWN_TERMB);
    let mut body = answer(task, Duration::from_secs(3)).await;
    assert_eq!(body["success"], json!(true), "{body}");
    let photo_b64 = body["data"]["photoBase64"].as_str().unwrap().to_string();
    body["data"]["photoBase64"] = Value::from("");
    assert_eq!(body["data"], known_data());
    match sdk {
        // sdtapi gives the WLT bytes, which the configured decoder turns into the photo.
        Sdk::Sdtapi => {
            let jpeg = base64::engine::general_purpose::STANDARD.decode(&photo_b64).unwrap();
            assert!(photo_b64.starts_with("/9j/"));
            assert_eq!(jpeg_size(&jpeg), (102, 126));
        }
        // This termb stand-in has no GetBMPData: no photo.
        Sdk::Termb => assert_eq!(photo_b64, ""),
    }
    assert_eq!(rig.wait_events(1, Duration::from_secs(1)).await.len(), 1);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(standin.reads(), 1, "a card left on the reader is read once");

    // Unplug (the library's port fails) and replug.
    standin.unplug(true);
    rig.wait_available(false, Duration::from_secs(3)).await;
    let body = rig.call(GET).await;
    assert_eq!(body["errorCode"], json!("DEVICE_UNAVAILABLE"), "{body}");
    standin.unplug(false);
    rig.wait_available(true, Duration::from_secs(3)).await;
    let task = rig.pending(GET).await;
    standin.place(&text_block(KNOWN), &photo, KNOWN_TERMB);
    assert_eq!(answer(task, Duration::from_secs(3)).await["data"]["idNum"], json!("330106198512240021"));
}

#[tokio::test]
async fn sdtapi_library_reads_decodes_the_photo_and_recovers() {
    reads_known(Sdk::Sdtapi).await;
}

#[tokio::test]
async fn termb_library_reads_gbk_fields_and_recovers() {
    reads_known(Sdk::Termb).await;
}

#[tokio::test]
async fn missing_library_or_function_is_unavailable_with_a_reason() {
    let dir = TempDir::new().unwrap();
    let rig = rig(Sdk::Sdtapi, &dir.path().join("libnone.so"), None);
    rig.wait_available(false, Duration::from_secs(1)).await;
    common::wait_until(
        Duration::from_secs(2),
        "a load failure",
        || rig.idcard.status().detail.contains("无法加载"),
        || format!("{:?}", rig.idcard.status()),
    )
    .await;
    let body = rig.call(GET).await;
    assert_eq!(body["errorCode"], json!("DEVICE_UNAVAILABLE"), "{body}");
    assert!(body["message"].as_str().unwrap().contains("libnone.so"), "{body}");

    // A decoder library without the symbol: cards still read, photo empty.
    let lib = build_standin(dir.path());
    let standin = Standin::open(&lib);
    let rig = Rig::new(IdCardConfig {
        backend: Backend::Sdk { sdk: Sdk::Sdtapi, library: lib.clone(), port: 1001 },
        photo_decoder: Some(DecoderConfig { library: lib.clone(), symbol: "no_such_unpack".into(), flag: 0 }),
        ..IdCardConfig::default()
    });
    rig.wait_available(true, Duration::from_secs(3)).await;
    let task = rig.pending(GET).await;
    standin.place(&text_block(KNOWN), &[1u8; 1024], KNOWN_TERMB);
    assert_eq!(answer(task, Duration::from_secs(3)).await["data"], known_data());
}
