//! enumerateDevices as a page calls it, again and again: the device list comes from one
//! running monitor, so listing opens nothing that stays open (each listing used to leave the
//! PulseAudio provider's connection behind: a memfd and two pipes).

#![cfg(target_os = "linux")]

fn descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

#[test]
fn listing_devices_again_and_again_leaves_no_descriptors_open() {
    let first = booth_webrtc::service::devices().expect("the device list");
    let before = descriptors();
    for _ in 0..100 {
        let again = booth_webrtc::service::devices().expect("the device list");
        assert_eq!(again.len(), first.len(), "the same devices each time");
    }
    let after = descriptors();
    assert!(after <= before + 3, "{before} descriptors before 100 listings, {after} after");
    println!("{} devices; {before} → {after} descriptors over 100 listings", first.len());
}
