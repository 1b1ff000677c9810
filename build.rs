//! Records the git revision the binary is built from in `HESSCALE_GIT_REVISION`:
//! `git describe --always --dirty --abbrev=12` (a tag or a 12-digit commit id, with
//! `-dirty` when tracked files differ from the commit), or `unknown` without git or
//! outside a repository. Never fails the build. Reruns when HEAD moves (a checkout or a
//! commit on the current branch) and when the sources change (which may make the tree
//! dirty or clean again).
//!
//! With the `mujoco` feature it also checks that `make mujoco` installed the MuJoCo library
//! and Gymnasium's models where `.cargo/config.toml` points `MUJOCO_DYNAMIC_LINK_DIR`
//! (`third_party/mujoco/lib`), failing the build with one line that says to run it when they
//! are missing; records that folder as the run-time path of every binary and test (so nothing
//! needs `LD_LIBRARY_PATH`); and passes the models' folder as `HESSCALE_MUJOCO_ASSETS`, from
//! which `src/envs/mujoco` embeds the XML files into the binary.

use std::path::{Path, PathBuf};
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
    // What the binary is compiled from; an edit there can make the tree dirty.
    for source in ["build.rs", "Cargo.toml", "Cargo.lock", "src"] {
        println!("cargo:rerun-if-changed={source}");
    }
    let revision = git(&["describe", "--always", "--dirty", "--abbrev=12"])
        .unwrap_or_else(|| "unknown".into());
    // HEAD names the branch; the branch's ref file (or packed-refs) moves on each commit.
    watch(git(&["rev-parse", "--git-path", "HEAD"]));
    if let Some(reference) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watch(git(&["rev-parse", "--git-path", &reference]));
    }
    watch(git(&["rev-parse", "--git-path", "packed-refs"]));
    println!("cargo:rustc-env=HESSCALE_GIT_REVISION={revision}");
    if std::env::var_os("CARGO_FEATURE_MUJOCO").is_some() {
        mujoco();
    }
}

/// The library folder of `make mujoco`'s install, its run-time path and the models' folder.
fn mujoco() {
    println!("cargo:rerun-if-env-changed=MUJOCO_DYNAMIC_LINK_DIR");
    let lib = std::env::var_os("MUJOCO_DYNAMIC_LINK_DIR").map(PathBuf::from);
    let installed = lib.as_ref().filter(|lib| {
        lib.join("libmujoco.so").exists() && lib.join("../assets/half_cheetah.xml").exists()
    });
    let Some(lib) = installed else {
        println!(
            "cargo::error=the `mujoco` feature needs MuJoCo 3.17.0 and Gymnasium's models in \
             third_party/mujoco: run `make mujoco` first"
        );
        return;
    };
    let assets = lib.join("../assets");
    println!("cargo:rerun-if-changed={}", assets.display());
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    println!(
        "cargo:rustc-env=HESSCALE_MUJOCO_ASSETS={}",
        assets.display()
    );
}
