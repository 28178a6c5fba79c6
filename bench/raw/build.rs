fn main() {
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(&[
        "noop",
        "noop_async",
        "subscribe",
        "report",
        "open_second",
        "second_image",
    ])))
    .expect("failed to run tauri-build");
}
