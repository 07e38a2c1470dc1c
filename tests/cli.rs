//! Tests of the real binary: fixtures against their hand-made expected outputs, stdin, several files,
//! options, errors, a live stream and a broken pipe.

use assert_cmd::Command;
use predicates::prelude::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

fn bin() -> Command {
    Command::cargo_bin("mfa-annotate").unwrap()
}

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut logs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort();
    assert!(logs.len() >= 5, "fixtures missing in {}", dir.display());
    logs
}

fn expected(log: &Path) -> Vec<u8> {
    let mut name = log.as_os_str().to_owned();
    name.push(".expected");
    std::fs::read(name).unwrap()
}

#[test]
fn every_fixture_gives_its_expected_output() {
    for log in fixtures() {
        let out = bin().arg(&log).output().unwrap();
        assert!(out.status.success(), "{}", log.display());
        assert!(out.stderr.is_empty());
        assert!(
            out.stdout == expected(&log),
            "{} differs from its .expected",
            log.display()
        );
    }
}

#[test]
fn fixtures_keep_crlf_and_a_missing_final_newline() {
    let crlf = fixtures()
        .into_iter()
        .find(|p| p.ends_with("windows-export-crlf.log"))
        .unwrap();
    let out = bin().arg(&crlf).output().unwrap().stdout;
    let lf = out.iter().filter(|&&b| b == b'\n').count();
    let crlfs = out.windows(2).filter(|w| w == b"\r\n").count();
    assert!(lf > 10 && lf == crlfs, "every line ends in CRLF");
    let last = fixtures()
        .into_iter()
        .find(|p| p.ends_with("no-final-newline.log"))
        .unwrap();
    let out = bin().arg(&last).output().unwrap().stdout;
    assert_ne!(out.last(), Some(&b'\n'));
    assert!(out.ends_with(b"(Mobile App Authenticated)"));
}

#[test]
fn stdin_and_dash_read_standard_input() {
    let log = &fixtures()[0];
    let input = std::fs::read(log).unwrap();
    bin()
        .write_stdin(input.clone())
        .assert()
        .success()
        .stdout(expected(log));
    bin()
        .arg("-")
        .write_stdin(input)
        .assert()
        .success()
        .stdout(expected(log));
}

#[test]
fn several_files_come_out_in_the_order_given() {
    let logs = fixtures();
    let mut want = expected(&logs[2]);
    want.extend(expected(&logs[0]));
    want.extend(expected(&logs[1]));
    bin()
        .args([&logs[2], &logs[0], &logs[1]])
        .assert()
        .success()
        .stdout(want);
}

#[test]
fn a_second_run_adds_nothing_and_strip_undoes_the_first() {
    for log in fixtures() {
        let once = expected(&log);
        bin()
            .write_stdin(once.clone())
            .assert()
            .success()
            .stdout(once.clone());
        let stripped_original = bin().arg("--strip").arg(&log).output().unwrap().stdout;
        bin()
            .arg("--strip")
            .write_stdin(once)
            .assert()
            .success()
            .stdout(stripped_original);
    }
    let plain = b"a callStatus=129, b\r\nresult code 7\n";
    let annotated = bin().write_stdin(&plain[..]).output().unwrap().stdout;
    bin()
        .arg("--strip")
        .write_stdin(annotated)
        .assert()
        .success()
        .stdout(&plain[..]);
}

#[test]
fn format_and_unknown_options() {
    bin()
        .args(["--format", " [{code} {kind}: {desc}]"])
        .write_stdin("callStatus=132 callStatus=5000\n")
        .assert()
        .success()
        .stdout("callStatus=132 [132 error: Fraud Reported] callStatus=5000 [5000 unknown: unknown MFA result code]\n");
    bin()
        .args(["--unknown", "keep"])
        .write_stdin("callStatus=99 callStatus=7\n")
        .assert()
        .success()
        .stdout("callStatus=99 callStatus=7 (Bypassed Auth)\n");
    let custom = bin()
        .args(["--format", " <{desc}>"])
        .write_stdin("Call Status: 20\n")
        .output()
        .unwrap()
        .stdout;
    assert_eq!(custom, b"Call Status: 20 <Text Message Sent>\n");
    bin()
        .args(["--strip", "--format", " <{desc}>"])
        .write_stdin(custom)
        .assert()
        .success()
        .stdout("Call Status: 20\n");
}

#[test]
fn bad_options_are_usage_errors() {
    bin()
        .arg("--no-such-flag")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("Usage"));
    bin().args(["--unknown", "maybe"]).assert().code(2);
    bin()
        .args(["--format", " {nope}"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--format").and(predicate::str::contains("nope")));
    bin()
        .args(["--format", "{desc}"])
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("must not start with"));
}

#[test]
fn help_has_examples_and_version_works() {
    bin()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Examples:"));
    bin()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn unreadable_and_missing_files_are_reported_and_the_rest_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.log");
    std::fs::write(&good, "callStatus=1\n").unwrap();
    let missing = dir.path().join("missing.log");
    // opens, but every read fails (EIO): an unreadable file even for root
    let a_dir = Path::new("/proc/self/mem");
    let out = bin().arg(&missing).arg(a_dir).arg(&good).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(out.stdout, b"callStatus=1 (PIN Entered)\n");
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "one line per failed file: {stderr}");
    assert!(
        lines[0].starts_with(&format!("mfa-annotate: {}: ", missing.display())),
        "{stderr}"
    );
    assert!(
        lines[1].starts_with(&format!("mfa-annotate: {}: ", a_dir.display())),
        "{stderr}"
    );
}

#[test]
fn a_live_stream_shows_each_line_at_once() {
    // One thread, parallel workers, and a line-oriented (filter) run with parallel workers.
    for args in [&["-j1"][..], &["-j2"], &["-j3", "-m"]] {
        live_stream(args);
    }
}

fn live_stream(args: &[&str]) {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("mfa-annotate"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout);
        loop {
            let mut line = String::new();
            if lines.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    for (input, want) in [
        ("callStatus=129\n", "callStatus=129 (Mobile App Denied)\n"),
        ("Call Status: 20\n", "Call Status: 20 (Text Message Sent)\n"),
    ] {
        stdin.write_all(input.as_bytes()).unwrap();
        stdin.flush().unwrap();
        // stdin stays open: the line must come back while the tool waits for more
        let got = rx
            .recv_timeout(Duration::from_secs(2))
            .unwrap_or_else(|_| panic!("{args:?}: line shown within 2 seconds"));
        assert_eq!(got, want, "{args:?}");
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

#[test]
fn line_buffered_still_gives_the_same_bytes() {
    let log = &fixtures()[0];
    bin()
        .arg("--line-buffered")
        .arg(log)
        .assert()
        .success()
        .stdout(expected(log));
}

#[test]
fn a_broken_pipe_is_a_quiet_normal_stop() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.log");
    let line = "2017-02-14T02:57:24.600871Z|0|1412|6452|pfrad|rawCallStatus = 21\n";
    std::fs::write(&big, line.repeat(200_000)).unwrap(); // ~13 MB, far more than a pipe holds
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("mfa-annotate"))
        .arg(&big)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 100];
    stdout.read_exact(&mut first).unwrap();
    assert!(first
        .starts_with(b"2017-02-14T02:57:24.600871Z|0|1412|6452|pfrad|rawCallStatus = 21 (Mobile"));
    drop(stdout); // like `| head -c 100`
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
    assert_eq!(stderr, "");
}

#[test]
fn invalid_utf8_and_nul_bytes_pass_through() {
    let input = b"\xff\x00\xfecallStatus=1\x00\xc3\x28\r\nx\x80 result code 7";
    bin()
        .write_stdin(&input[..])
        .assert()
        .success()
        .stdout(&b"\xff\x00\xfecallStatus=1 (PIN Entered)\x00\xc3\x28\r\nx\x80 result code 7 (Bypassed Auth)"[..]);
}

#[test]
fn a_100_mib_line_works() {
    let mut input = Vec::with_capacity(105 << 20);
    while input.len() < 100 << 20 {
        input.extend_from_slice(b"abcdefghij callStatus=132|");
    }
    let fields = input.len() / 26;
    let out = bin().write_stdin(input.clone()).output().unwrap();
    assert!(out.status.success());
    let annotation = b" (Fraud Reported)";
    assert_eq!(out.stdout.len(), input.len() + fields * annotation.len());
    assert!(out
        .stdout
        .starts_with(b"abcdefghij callStatus=132 (Fraud Reported)|abcdefghij"));
}
