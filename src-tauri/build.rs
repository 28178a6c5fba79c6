fn main() {
    // Declaring the app commands makes Tauri enforce the capability files for them, which is
    // what lets mini-program pages (served from `booth://` or an allow-listed remote origin)
    // reach exactly these commands and nothing else.
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(&[
        "booth_attach",
        "booth_call",
        "booth_subscribe",
        "booth_log",
        "booth_input",
        "booth_shell",
        "booth_admin",
    ])))
    .expect("failed to run tauri-build");
}
