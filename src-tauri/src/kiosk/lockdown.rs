//! The desktop around Booth: taskbar and notifications (deviceConfig hideNavigationBar and
//! hindeNotificationBar).

/// Shows or hides the desktop's taskbar. On Linux Booth's fullscreen window covers the
/// desktop's panels, so the window's fullscreen state (set by the caller) is all there is.
pub fn set_taskbar_visible(_visible: bool) -> Result<(), String> {
    Ok(())
}

/// Allows or suppresses desktop notification banners: GNOME's `show-banners` when that
/// desktop is there; kiosk compositors (cage) run no notification service at all.
pub fn set_notifications(allowed: bool) -> Result<(), String> {
    let schema = "org.gnome.desktop.notifications";
    let has_gnome = std::process::Command::new("gsettings")
        .args(["writable", schema, "show-banners"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_gnome {
        return Ok(());
    }
    let set = std::process::Command::new("gsettings")
        .args(["set", schema, "show-banners", if allowed { "true" } else { "false" }])
        .status()
        .map_err(|e| format!("gsettings: {e}"))?;
    if set.success() {
        Ok(())
    } else {
        Err(format!("gsettings set {schema} show-banners failed ({set})"))
    }
}
