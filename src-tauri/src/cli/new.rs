//! `booth new <DIR>`: a mini-program that `booth dev` runs at once, showing the calls most
//! terminals start with (device info and the scanner).

use std::path::Path;

const INDEX: &str = include_str!("../../templates/new/index.html");
const README: &str = include_str!("../../templates/new/README.md");

fn id_from(name: &str) -> String {
    let id: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c.to_ascii_lowercase() } else { '-' })
        .collect::<String>()
        .trim_matches('-')
        .to_string();
    if id.is_empty() {
        "miniapp".into()
    } else {
        id
    }
}

/// Creates `dir` (or fills it if it exists and is empty).
pub fn create(dir: &Path, name: Option<&str>) -> Result<(), String> {
    let shown = dir.display();
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(|e| format!("{shown}: cannot read ({e})"))?;
        if entries.next().is_some() {
            return Err(format!("{shown}: exists and is not empty"));
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{shown}: cannot create ({e})"))?;
    let folder = dir
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().to_string()))
        .unwrap_or_else(|| "miniapp".into());
    let name = name.map(str::to_string).unwrap_or_else(|| folder.clone());
    let manifest = serde_json::json!({
        "id": id_from(&folder),
        "name": name,
        "version": "0.1.0",
        "entry": "index.html",
        "dialects": ["my", "wxfaceapp", "ft"],
        "permissions": ["scanner"],
    });
    let files = [
        ("miniapp.json", serde_json::to_string_pretty(&manifest).unwrap_or_default() + "\n"),
        ("index.html", INDEX.replace("{{name}}", &html_escape(&name))),
        ("README.md", README.replace("{{name}}", &name).replace("{{dir}}", &shown.to_string())),
    ];
    for (file, text) in files {
        let path = dir.join(file);
        std::fs::write(&path, text).map_err(|e| format!("{}: cannot write ({e})", path.display()))?;
    }
    Ok(())
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_a_package_that_loads_and_refuses_a_non_empty_folder() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("My Shop");
        create(&dir, None).unwrap();
        let pkg = booth_miniapp_host::Package::load(dir.to_str().unwrap()).unwrap();
        assert_eq!(pkg.manifest.id, "my-shop");
        assert_eq!(pkg.manifest.name, "My Shop");
        let index = std::fs::read_to_string(dir.join("index.html")).unwrap();
        assert!(index.contains("getDeviceInfo") && index.contains("initQRListener"));
        let e = create(&dir, None).unwrap_err();
        assert!(e.ends_with("exists and is not empty"), "{e}");
    }
}
