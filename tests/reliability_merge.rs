//! Nothing lost or trusted blindly in `merge` and in what it reads: every cell of the grid
//! accounted for, metadata counts sealed by a digest, tables cross-checked and unledgered
//! rows refused, overlapping grids merged (their timings taken from one input), and the
//! out-dir kept as the user made it (its mode, a long name, a symbolic link, a lock path
//! that is a link, a lock left by a killed merge).

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use predicates::prelude::*;
use support::{bin, one_line_error, reseal_ledger, reseal_meta, TINY_OPTIMIZE, TINY_RL};
use tempfile::TempDir;

/// A small quality grid (16 cells) that runs in well under a second.
const QUALITY: &[&str] = &[
    "quality",
    "--widths",
    "4,5",
    "--depths",
    "1",
    "--inputs",
    "3",
    "--outputs",
    "4",
    "--activations",
    "tanh,relu",
    "--seeds",
    "4",
    "--samples",
    "4",
    "--methods",
    "hesscale,ggn",
    "--threads",
    "1",
    "--quiet",
];

/// The tiny rl grid at a sane and a diverging step size.
const RL_LRS: &[&str] = &["--lrs", "1e-3,1e30"];

fn run(args: &[&str], extra: &[&str], out: &Path) {
    bin()
        .args(args)
        .args(extra)
        .arg("--out-dir")
        .arg(out)
        .assert()
        .success();
}

fn merge(dirs: &[&Path], out: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    bin()
        .arg("merge")
        .args(dirs)
        .arg("--out-dir")
        .arg(out)
        .args(extra)
        .assert()
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The names in a directory, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Two shards of the quality grid.
fn quality_shards(dir: &Path) -> (PathBuf, PathBuf) {
    let (one, two) = (dir.join("s1"), dir.join("s2"));
    run(QUALITY, &["--shard", "1/2"], &one);
    run(QUALITY, &["--shard", "2/2"], &two);
    (one, two)
}

#[test]
fn merge_accounts_for_every_cell_and_metadata_counts_are_sealed() {
    let dir = TempDir::new().unwrap();
    let (one, two) = quality_shards(dir.path());
    let out = dir.path().join("m");
    // A count edited in a meta is caught by the record's digest.
    let meta = one.join("quality.meta.json");
    let text = fs::read_to_string(&meta).unwrap();
    fs::write(&meta, text.replacen("\"shard\": 8", "\"shard\": 0", 1)).unwrap();
    one_line_error(
        merge(&[&one, &two], &out, &[]),
        2,
        "does not match its digest (sha256)",
    );
    // With the digest recomputed and the ledger cut to its header, the shard's cells are
    // still missing: the merge says so instead of merging 8 of 16 cells.
    fs::write(&meta, &text).unwrap();
    reseal_meta(&one, "quality", |meta| meta["cells"]["shard"] = 0.into());
    let ledger = one.join("quality.ledger.csv");
    let header = fs::read_to_string(&ledger)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    fs::write(&ledger, header + "\n").unwrap();
    one_line_error(
        merge(&[&one, &two], &out, &[]),
        2,
        "records 16 cells in its grid and 0 in shard 1/2, but its configuration gives 16 and 8",
    );
    reseal_meta(&one, "quality", |meta| meta["cells"]["shard"] = 8.into());
    one_line_error(
        merge(&[&one, &two], &out, &[]),
        2,
        "is incomplete: 8 of its 8 cells are not finished",
    );
    assert!(!out.exists());

    // Runs of grids that leave a hole in their union: refused, naming the cells, unless
    // a partial merge is asked for.
    let four = dir.path().join("four");
    run(QUALITY, &["--widths", "4", "--seeds", "2"], &four);
    let five = dir.path().join("five");
    run(QUALITY, &["--widths", "5", "--seeds", "4"], &five);
    one_line_error(
        merge(&[&four, &five], &out, &[]),
        2,
        "4 of the 16 cells of the inputs' combined grid are in no input ('tanh/cross_entropy/mean/random/1/4/2'",
    );
    assert!(!out.exists());
    merge(&[&four, &five], &out, &["--partial"])
        .success()
        .stderr(predicate::str::contains(
            "merge: partial: 4 of the 16 cells",
        ));
    // The merged out-dir is a run of the union with those cells to do.
    run(QUALITY, &["--widths", "4,5", "--resume"], &out);
    let fresh = dir.path().join("fresh");
    run(QUALITY, &[], &fresh);
    for file in ["quality_runs.csv", "quality_summary.csv"] {
        assert_eq!(read(&out.join(file)), read(&fresh.join(file)), "{file}");
    }
}

#[test]
fn merging_overlapping_grids_keeps_the_first_inputs_timings() {
    let dir = TempDir::new().unwrap();
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    run(TINY_OPTIMIZE, &["--seeds", "1"], &one);
    run(TINY_OPTIMIZE, &["--seeds", "2"], &two);
    let out = dir.path().join("m");
    merge(&[&one, &two], &out, &[])
        .success()
        .stderr(predicate::str::contains(
            "1 cells are in more than one input with the same results; their timings are those \
             of the first input given",
        ));
    let timing = |dir: &Path| {
        fs::read_to_string(dir.join("optimize_timing.csv"))
            .unwrap()
            .lines()
            .nth(1)
            .unwrap()
            .to_string()
    };
    assert_eq!(timing(&out), timing(&one));
    let fresh = dir.path().join("fresh");
    run(TINY_OPTIMIZE, &["--seeds", "2"], &fresh);
    for file in ["optimize_curves.csv", "optimize_summary.csv"] {
        assert_eq!(read(&out.join(file)), read(&fresh.join(file)), "{file}");
    }
    // Results that differ are still a conflict.
    let curves = two.join("optimize_curves.csv");
    let text = fs::read_to_string(&curves).unwrap();
    let row = text.lines().nth(2).unwrap();
    let (start, accuracy) = row.rsplit_once(',').unwrap().0.rsplit_once(',').unwrap();
    let _ = accuracy;
    fs::write(
        &curves,
        text.replacen(row, &format!("{start},0.5,false"), 1),
    )
    .unwrap();
    reseal_ledger(&two, "optimize");
    one_line_error(
        merge(&[&one, &two], &dir.path().join("m2"), &[]),
        2,
        "differs between",
    );
}

#[test]
fn merge_into_an_empty_directory_keeps_its_mode() {
    let dir = TempDir::new().unwrap();
    let (one, two) = quality_shards(dir.path());
    let out = dir.path().join("m");
    fs::create_dir(&out).unwrap();
    fs::set_permissions(&out, fs::Permissions::from_mode(0o700)).unwrap();
    merge(&[&one, &two], &out, &[]).success();
    assert_eq!(
        fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert!(out.join("quality_summary.csv").exists());
}

#[test]
fn merge_into_a_long_legal_name_works_and_leaves_nothing_beside_it() {
    let dir = TempDir::new().unwrap();
    let (one, two) = quality_shards(dir.path());
    let parent = dir.path().join("p");
    fs::create_dir(&parent).unwrap();
    let out = parent.join("m".repeat(250));
    merge(&[&one, &two], &out, &[]).success();
    assert!(out.join("quality_summary.csv").exists());
    assert_eq!(names(&parent), ["m".repeat(250)]);
}

#[test]
fn merge_follows_an_out_dir_that_is_a_symlink_to_an_empty_directory() {
    let dir = TempDir::new().unwrap();
    let (one, two) = quality_shards(dir.path());
    let target = dir.path().join("target");
    fs::create_dir(&target).unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    merge(&[&one, &two], &link, &[]).success();
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(target.join("quality_summary.csv").exists());
}

#[test]
fn a_lock_path_that_is_a_link_is_refused_and_its_target_kept() {
    let dir = TempDir::new().unwrap();
    let precious = dir.path().join("precious");
    fs::write(&precious, "keep me").unwrap();
    // A study's out-dir.
    let out = dir.path().join("od");
    fs::create_dir(&out).unwrap();
    std::os::unix::fs::symlink("../precious", out.join(".lock")).unwrap();
    one_line_error(
        bin()
            .args(TINY_OPTIMIZE)
            .args(["--seeds", "1", "--out-dir"])
            .arg(&out)
            .assert(),
        2,
        "is a symbolic link, not a lock file this tool made",
    );
    assert_eq!(fs::read_to_string(&precious).unwrap(), "keep me");
    // A merge's lock beside its out-dir.
    let (one, two) = quality_shards(dir.path());
    let parent = dir.path().join("P");
    fs::create_dir(&parent).unwrap();
    let planted = parent.join(hesscale::io::lock::beside_name("merged".as_ref(), ".lock"));
    std::os::unix::fs::symlink(&precious, &planted).unwrap();
    one_line_error(
        merge(&[&one, &two], &parent.join("merged"), &[]),
        2,
        "is a symbolic link",
    );
    assert_eq!(fs::read_to_string(&precious).unwrap(), "keep me");
    assert!(
        fs::symlink_metadata(&planted).is_ok(),
        "the link is left alone"
    );
}

#[test]
fn the_lock_of_a_killed_merge_neither_blocks_nor_lingers() {
    let dir = TempDir::new().unwrap();
    let (one, two) = quality_shards(dir.path());
    let parent = dir.path().join("P");
    fs::create_dir(&parent).unwrap();
    // What a merge into P/m1 killed with kill -9 leaves: its lock file (no process holds
    // its lock) and its staging directory.
    let lock = parent.join(hesscale::io::lock::beside_name("m1".as_ref(), ".lock"));
    fs::write(
        &lock,
        "pid 999999, started 2026-01-01T00:00:00Z: hesscale-cli merge\n",
    )
    .unwrap();
    let staging = parent.join(hesscale::io::lock::beside_name(
        "m1".as_ref(),
        ".partial-999999",
    ));
    fs::create_dir(&staging).unwrap();
    // A merge into another out-dir of the same folder removes both.
    merge(&[&one, &two], &parent.join("m2"), &[]).success();
    assert_eq!(names(&parent), ["m2"]);
    // A merge into the killed one's out-dir takes it over and leaves nothing else.
    fs::write(&lock, "pid 999999\n").unwrap();
    merge(&[&one, &two], &parent.join("m1"), &[]).success();
    assert_eq!(names(&parent), ["m1", "m2"]);
}

#[test]
fn forged_rows_are_refused_even_with_their_digests_recomputed() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("rl");
    run(TINY_RL, RL_LRS, &out);
    let runs = out.join("rl_runs.csv");
    let original = fs::read_to_string(&runs).unwrap();
    let merged = dir.path().join("m");
    let refused = |message: &str| {
        one_line_error(merge(&[&out], &merged, &[]), 2, message);
        one_line_error(
            bin()
                .args(TINY_RL)
                .args(RL_LRS)
                .arg("--out-dir")
                .arg(&out)
                .arg("--resume")
                .assert(),
            2,
            message,
        );
    };
    // More episodes than the curves hold.
    let line = original.lines().nth(1).unwrap();
    let fields: Vec<&str> = line.split(',').collect();
    let forged = format!("{},999,{}", fields[..7].join(","), fields[8]);
    fs::write(&runs, original.replacen(line, &forged, 1)).unwrap();
    reseal_ledger(&out, "rl");
    refused("999 episodes, but rl_curves.csv holds");
    // A run marked diverged that took every step.
    assert_eq!(fields[8], "false", "{line}");
    let forged = format!("{},true", fields[..8].join(","));
    fs::write(&runs, original.replacen(line, &forged, 1)).unwrap();
    reseal_ledger(&out, "rl");
    refused("diverged, but it took all 400 steps");
    // A diverged run's timing row that disagrees on its steps.
    fs::write(&runs, &original).unwrap();
    reseal_ledger(&out, "rl");
    let timing = out.join("rl_timing.csv");
    let text = fs::read_to_string(&timing).unwrap();
    let line = text.lines().nth(2).unwrap();
    let fields: Vec<&str> = line.split(',').collect();
    let forged = format!("{},400,{}", fields[..6].join(","), fields[7]);
    fs::write(&timing, text.replacen(line, &forged, 1)).unwrap();
    reseal_ledger(&out, "rl");
    refused("rl_timing.csv records 400 steps");
    fs::write(&timing, &text).unwrap();
    reseal_ledger(&out, "rl");
    // Rows appended after the last ledgered cell.
    let curves = out.join("rl_curves.csv");
    let text = fs::read_to_string(&curves).unwrap();
    let last = text.lines().last().unwrap().to_string();
    fs::write(&curves, format!("{text}{last}\n")).unwrap();
    refused("rl_curves.csv': 1 row no ledger line accounts for");
    assert!(!merged.exists());

    // optimize: a timing row whose steps disagree with the curve.
    let out = dir.path().join("opt");
    run(TINY_OPTIMIZE, &["--seeds", "1"], &out);
    let timing = out.join("optimize_timing.csv");
    let text = fs::read_to_string(&timing).unwrap();
    let line = text.lines().nth(1).unwrap();
    let fields: Vec<&str> = line.split(',').collect();
    let forged = format!("{},7,{}", fields[..10].join(","), fields[11..].join(","));
    fs::write(&timing, text.replacen(line, &forged, 1)).unwrap();
    reseal_ledger(&out, "optimize");
    one_line_error(
        merge(&[&out], &merged, &[]),
        2,
        "optimize_timing.csv records 7 steps",
    );
}
