//! Nothing trusted blindly about data sets: changed data is refused by `--resume` and
//! `merge`, copies of one data set give the same numbers wherever they lie, a split
//! without images is refused before anything is created, identical data sets are held
//! once and counted in the memory check, and a grown `--train-steps` retrains on resume.

mod support;

use std::fs;
use std::path::Path;
use std::sync::Arc;

use support::{bin, one_line_error, write_idx_set, TINY_OPTIMIZE};
use tempfile::TempDir;

fn optimize(data: &str, seeds: &str, out: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    bin()
        .args(TINY_OPTIMIZE)
        .args(["--data", data, "--seeds", seeds])
        .args(extra)
        .arg("--out-dir")
        .arg(out)
        .assert()
}

/// The rows of a CSV file without its first `skip` columns.
fn rows_without_columns(path: &Path, skip: usize) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|line| line.splitn(skip + 1, ',').last().unwrap().to_string())
        .collect()
}

#[test]
fn changed_data_is_refused_by_resume_and_merge_naming_the_data_set() {
    let dir = TempDir::new().unwrap();
    let data = dir.path().join("D");
    write_idx_set(&data, 60, 20, 3);
    let name = format!("mnist:{}", data.display());
    let first = dir.path().join("first");
    optimize(&name, "1", &first, &[]).success();
    // The files of D are replaced by another valid data set.
    write_idx_set(&data, 60, 20, 5);
    one_line_error(
        optimize(&name, "2", &first, &["--resume"]),
        2,
        &format!("data set '{name}' is not the one the run"),
    );
    // A run on the new data cannot be merged with one on the old.
    let second = dir.path().join("second");
    optimize(&name, "2", &second, &[]).success();
    let merged = dir.path().join("merged");
    one_line_error(
        bin()
            .arg("merge")
            .args([&first, &second])
            .arg("--out-dir")
            .arg(&merged)
            .assert(),
        2,
        &format!("data set '{name}' is not the same in"),
    );
    assert!(!merged.exists());
    // The metadata and the ledger record the data's digest.
    let meta = fs::read_to_string(first.join("optimize.meta.json")).unwrap();
    assert!(meta.contains("\"data\""), "the meta records the data sets");
    let ledger = fs::read_to_string(first.join("optimize.ledger.csv")).unwrap();
    assert!(ledger.starts_with("cell,data_sha256,"), "{ledger}");
    // Hiding the change in the metadata is caught by the ledger's digests.
    support::reseal_meta(&first, "optimize", |meta| {
        let now: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(second.join("optimize.meta.json")).unwrap())
                .unwrap();
        meta["data"] = now["data"].clone();
    });
    one_line_error(
        optimize(&name, "2", &first, &["--resume"]),
        2,
        "was computed on data set",
    );
}

#[test]
fn copies_of_a_data_set_in_different_places_give_equal_numbers() {
    let dir = TempDir::new().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("elsewhere/b"));
    write_idx_set(&a, 60, 20, 3);
    write_idx_set(&b, 60, 20, 3);
    let (out_a, out_b) = (dir.path().join("out-a"), dir.path().join("out-b"));
    optimize(&format!("mnist:{}", a.display()), "2", &out_a, &[]).success();
    optimize(&format!("mnist:{}", b.display()), "2", &out_b, &[]).success();
    // Everything but the data column (the first) is the same.
    let curves = |out: &Path| rows_without_columns(&out.join("optimize_curves.csv"), 1);
    assert_eq!(curves(&out_a), curves(&out_b));
    // The shipped set read from a directory is the shipped set: its numbers too.
    let shipped = dir.path().join("shipped");
    fs::create_dir(&shipped).unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/data/mnist");
    for entry in fs::read_dir(&source).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "gz") {
            fs::copy(&path, shipped.join(path.file_name().unwrap())).unwrap();
        }
    }
    let (out_mnist, out_dir) = (dir.path().join("out-mnist"), dir.path().join("out-dir"));
    optimize("mnist", "1", &out_mnist, &[]).success();
    optimize(&format!("mnist:{}", shipped.display()), "1", &out_dir, &[]).success();
    let curves = |out: &Path| rows_without_columns(&out.join("optimize_curves.csv"), 1);
    assert_eq!(curves(&out_mnist), curves(&out_dir));
    // Other data gives other numbers.
    assert_ne!(
        curves(&out_mnist),
        curves(&out_a)[..curves(&out_mnist).len()]
    );
}

#[test]
fn a_data_set_with_an_empty_split_is_refused_naming_the_file_before_anything_is_created() {
    let dir = TempDir::new().unwrap();
    let data = dir.path().join("D");
    write_idx_set(&data, 30, 0, 3);
    let name = format!("mnist:{}", data.display());
    let test_images = data.join("t10k-images-idx3-ubyte").display().to_string();
    let out = dir.path().join("out");
    one_line_error(
        bin()
            .args([
                "quality",
                "--data",
                &name,
                "--widths",
                "4",
                "--depths",
                "1",
                "--seeds",
                "1",
                "--samples",
                "2",
                "--quiet",
            ])
            .arg("--out-dir")
            .arg(&out)
            .assert(),
        2,
        &format!("'{test_images}': the test split has no images"),
    );
    assert!(!out.exists(), "quality created its out-dir");
    one_line_error(
        optimize(&name, "1", &out, &[]),
        2,
        &format!("'{test_images}': the test split has no images"),
    );
    assert!(!out.exists(), "optimize created its out-dir");
    write_idx_set(&data, 0, 10, 3);
    one_line_error(
        optimize(&name, "1", &out, &[]),
        2,
        "the training split has no images",
    );
    assert!(!out.exists());
}

#[test]
fn identical_data_sets_are_held_once_and_counted_in_the_memory_check() {
    use hesscale::data::{load_shared, planned_bytes, DataSet};
    let dir = TempDir::new().unwrap();
    let data = dir.path().join("D");
    write_idx_set(&data, 50, 10, 3);
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&data, &link).unwrap();
    let copy = dir.path().join("copy");
    write_idx_set(&copy, 50, 10, 3);
    let other = dir.path().join("other");
    write_idx_set(&other, 50, 10, 4);
    let sets: Vec<DataSet> = [&data, &link, &copy, &other]
        .iter()
        .map(|d| format!("mnist:{}", d.display()).parse().unwrap())
        .collect();
    let loaded = load_shared(&sets).unwrap();
    assert!(
        Arc::ptr_eq(&loaded[0], &loaded[1]),
        "a link is the same data"
    );
    assert!(
        Arc::ptr_eq(&loaded[0], &loaded[2]),
        "a copy is shared by digest"
    );
    assert!(
        !Arc::ptr_eq(&loaded[0], &loaded[3]),
        "other data is other data"
    );
    // The plan counts a directory once however many names it has (copies, unknown to be
    // copies before they are read, count each).
    let one = 60 * 785;
    assert_eq!(planned_bytes(&sets[..2]).unwrap(), one);
    assert_eq!(planned_bytes(&sets).unwrap(), 3 * one);

    // 24 directories whose headers declare 250,000 images each (196 MB): refused by the
    // memory check before anything is read or created.
    let mut names = Vec::new();
    for i in 0..24 {
        let big = dir.path().join(format!("big{i}"));
        write_idx_set(&big, 1, 1, 3);
        let path = big.join("train-images-idx3-ubyte");
        let mut bytes = fs::read(&path).unwrap();
        bytes[4..8].copy_from_slice(&250_000u32.to_be_bytes());
        fs::write(&path, bytes).unwrap();
        names.push(format!("mnist:{}", big.display()));
    }
    let out = dir.path().join("out");
    one_line_error(
        optimize(&names.join(","), "1", &out, &[]),
        2,
        "GiB of memory",
    );
    assert!(!out.exists());
}

#[test]
fn growing_train_steps_on_resume_retrains_the_data_cells() {
    let dir = TempDir::new().unwrap();
    let grid = |steps: &str| {
        vec![
            "quality".to_string(),
            "--data".into(),
            "random,mnist".into(),
            "--activations".into(),
            "tanh,relu".into(),
            "--widths".into(),
            "4".into(),
            "--depths".into(),
            "1".into(),
            "--seeds".into(),
            "2".into(),
            "--samples".into(),
            "2".into(),
            "--methods".into(),
            "hesscale,ggn".into(),
            "--train-steps".into(),
            steps.to_string(),
            "--quiet".into(),
        ]
    };
    let grown = dir.path().join("grown");
    bin()
        .args(grid("0,5"))
        .arg("--out-dir")
        .arg(&grown)
        .assert()
        .success();
    bin()
        .args(grid("0,5,20"))
        .arg("--out-dir")
        .arg(&grown)
        .arg("--resume")
        .assert()
        .success();
    let fresh = dir.path().join("fresh");
    bin()
        .args(grid("0,5,20"))
        .arg("--out-dir")
        .arg(&fresh)
        .assert()
        .success();
    for file in [
        "quality_runs.csv",
        "quality_summary.csv",
        "quality_training.csv",
        "quality_training_summary.csv",
    ] {
        assert_eq!(
            fs::read(grown.join(file)).unwrap(),
            fs::read(fresh.join(file)).unwrap(),
            "{file} differs from a fresh run"
        );
    }
    // Shrinking is still refused.
    one_line_error(
        bin()
            .args(grid("0,20"))
            .arg("--out-dir")
            .arg(&grown)
            .arg("--resume")
            .assert(),
        2,
        "records another configuration (train_steps: [0,5,20] vs [0,20]",
    );
}
