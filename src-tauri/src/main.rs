// Keep a console on Windows release builds off: Booth is a full-screen shell.
#![cfg_attr(all(not(debug_assertions), windows), windows_subsystem = "windows")]

fn main() {
    std::process::exit(booth_app::app::main());
}
