//! The build this binary is: its version and the git revision it was compiled from,
//! recorded in every output's metadata.

/// The tool's name and version, e.g. `hesscale-cli 0.1.0`.
pub fn tool_version() -> String {
    format!("hesscale-cli {}", env!("CARGO_PKG_VERSION"))
}

/// The git revision the binary was built from (`git describe --always --dirty
/// --abbrev=12` at build time: `-dirty` marks a build from a modified tree), or `unknown`.
pub fn git_revision() -> &'static str {
    env!("HESSCALE_GIT_REVISION")
}
