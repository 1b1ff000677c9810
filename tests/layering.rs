//! The core (`nn`, `methods`, `train`) depends on nothing above it: not on the command line
//! (clap), not on the file formats (csv, `io`), not on the studies, their checked specs or
//! runners. Names for the command line are provided at the edge (`cli.rs`) from the core's
//! own `name()`s. A module split rather than a crate split (see the README's Architecture):
//! this test is what enforces it.

use std::path::Path;

/// Every `.rs` file under `dir`, with its text.
fn sources(dir: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            files.push((path.display().to_string(), text));
        }
    }
    files
}

#[test]
fn the_core_uses_neither_the_command_line_nor_the_file_formats_nor_anything_above_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let forbidden = [
        "clap",
        "csv::",
        "crate::io",
        "crate::cli",
        "crate::config",
        "crate::runner",
        "crate::study",
        "crate::rl",
        "crate::envs",
    ];
    let mut checked = 0;
    for module in ["nn", "methods", "train"] {
        for (path, text) in sources(&root.join(module)) {
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for word in forbidden {
                    assert!(
                        !code.contains(word),
                        "{path}:{}: the core refers to {word}: {line}",
                        n + 1
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} files found under src/");
}
