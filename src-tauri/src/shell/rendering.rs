//! How WebKitGTK draws pages: GPU compositing (`[display] compositing`).
//!
//! WebKitGTK composites pages with OpenGL by default. Where the machine has no GPU (a virtual
//! machine, a kiosk PC without a GPU driver, Xvfb), Mesa runs that OpenGL on the CPU (llvmpipe):
//! slower than drawing without compositing, and on the benchmark machine it cost the web process
//! about 70 MB PSS (README, Performance). `auto` therefore turns compositing off when there is no
//! GPU render node (`/dev/dri/renderD*`) and leaves WebKit's default otherwise; `on` and `off`
//! decide. WebKit reads the choice from the environment (`WEBKIT_DISABLE_COMPOSITING_MODE`), which
//! its web processes inherit; an operator's own setting of that variable is kept.

use crate::config::Compositing;

/// What Booth decided and why, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub compositing: bool,
    pub why: &'static str,
}

/// The decision for `setting` on a machine with (or without) a GPU render node.
pub fn decide(setting: Compositing, env_set: bool, gpu: bool) -> Decision {
    match setting {
        _ if env_set => Decision { compositing: false, why: "WEBKIT_DISABLE_COMPOSITING_MODE is set" },
        Compositing::On => Decision { compositing: true, why: "[display] compositing = \"on\"" },
        Compositing::Off => Decision { compositing: false, why: "[display] compositing = \"off\"" },
        Compositing::Auto if gpu => Decision { compositing: true, why: "a GPU render node is present" },
        Compositing::Auto => Decision { compositing: false, why: "no GPU render node (/dev/dri/renderD*)" },
    }
}

/// Whether the machine has a GPU render node.
fn gpu_render_node() -> bool {
    std::fs::read_dir("/dev/dri")
        .map(|d| d.flatten().any(|e| e.file_name().to_string_lossy().starts_with("renderD")))
        .unwrap_or(false)
}

/// Applies `[display] compositing`. Call before any window exists and before other threads
/// start (it sets an environment variable).
pub fn apply(setting: Compositing) -> Decision {
    if !cfg!(target_os = "linux") {
        return Decision { compositing: true, why: "not WebKitGTK" };
    }
    let env_set = std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_some();
    let d = decide(setting, env_set, gpu_render_node());
    if !d.compositing && !env_set {
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_follows_the_gpu_and_explicit_settings_win() {
        assert!(decide(Compositing::Auto, false, true).compositing);
        assert!(!decide(Compositing::Auto, false, false).compositing);
        assert!(decide(Compositing::On, false, false).compositing);
        assert!(!decide(Compositing::Off, false, true).compositing);
        let env = decide(Compositing::On, true, true);
        assert!(!env.compositing && env.why.contains("WEBKIT_DISABLE_COMPOSITING_MODE"));
    }
}
