//! Helpers for driving booth through tauri-driver.
