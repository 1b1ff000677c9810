//! Records the git revision the binary is built from (`git rev-parse --short HEAD`) in
//! `HESSCALE_GIT_REVISION`, or `unknown` without git or outside a repository. Never fails
//! the build. Reruns when HEAD moves (a checkout or a commit on the current branch).

use std::path::Path;
use std::process::Command;

/// The trimmed standard output of `git args…`, if git ran and succeeded.
fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// Ask cargo to rerun this script when `path` (as git reports it) changes, if it exists.
fn watch(git_path: Option<String>) {
    if let Some(path) = git_path {
        if Path::new(&path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let revision = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    // HEAD names the branch; the branch's ref file (or packed-refs) moves on each commit.
    watch(git(&["rev-parse", "--git-path", "HEAD"]));
    if let Some(reference) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watch(git(&["rev-parse", "--git-path", &reference]));
    }
    watch(git(&["rev-parse", "--git-path", "packed-refs"]));
    println!("cargo:rustc-env=HESSCALE_GIT_REVISION={revision}");
}
