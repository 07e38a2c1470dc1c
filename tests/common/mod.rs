//! Helpers shared by the CLI test suites: the binary, small file trees, listings, a small tmpfs.
#![allow(dead_code)] // each suite uses some of them

use assert_cmd::Command;
use std::fs;
use std::path::{Path, PathBuf};

/// The binary under test (the debug build, so fault injection works: see `src/fault.rs`).
pub fn bin() -> Command {
    Command::cargo_bin("mfa-annotate").unwrap()
}

/// A small log with a CRLF line, and the same annotated.
pub const LOG: &str =
    "2017-02-14T02:57:24Z|pfrad|callStatus=129, x\r\nCall Status: 20\nplain line\n";
pub const ANNOTATED: &str =
    "2017-02-14T02:57:24Z|pfrad|callStatus=129 (Mobile App Denied), x\r\nCall Status: 20 (Text Message Sent)\nplain line\n";

/// Writes files (path relative to `root`, content).
pub fn tree(root: &Path, files: &[(&str, &[u8])]) {
    for (name, content) in files {
        let path = root.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }
}

/// Writes `n` files `f000.log`, `f001.log`, ... with the same content.
pub fn copies(root: &Path, n: usize, content: &[u8]) {
    for i in 0..n {
        tree(root, &[(&format!("f{i:03}.log"), content)]);
    }
}

/// Starts the binary on `path` with `args`, stderr piped.
pub fn spawn(args: &[&str], path: &Path) -> std::process::Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("mfa-annotate"))
        .args(args)
        .arg(path)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for a child with a deadline, so that a hang fails the test instead of blocking it.
pub fn wait(child: &mut std::process::Child, secs: u64) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("still running after {secs} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// All files under `root`, relative, sorted, including hidden ones (temporary files would show).
pub fn listing(root: &Path) -> Vec<String> {
    let mut out: Vec<String> = walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| !e.file_type().is_dir())
        .map(|e| e.path().strip_prefix(root).unwrap().display().to_string())
        .collect();
    out.sort();
    out
}

/// A tmpfs mounted for one test, unmounted when dropped.
pub struct SmallDisk(pub PathBuf);

impl SmallDisk {
    /// Mounts a tmpfs of `size` (like `256k`) on a new temporary folder; `None` where mounting is not
    /// allowed (it needs root; CI and the dev machines have it).
    pub fn mount(size: &str) -> Option<(tempfile::TempDir, SmallDisk)> {
        let dir = tempfile::tempdir().unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        let disk = SmallDisk(dir.path().to_path_buf());
        ok.then_some((dir, disk))
    }

    /// Remounts it read-only.
    pub fn read_only(&self) -> bool {
        std::process::Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}
