//! Tests of the real binary for filters (-m, --code, --kind, --unknown-only, -v, -c), -H/-n, grep-like exit
//! status, --stats, JSON Lines, lookups (--explain, --list-codes, --search), --codes-file and colour.
//! Every expected value is worked out by hand from the spec and the vendor table below.

use assert_cmd::assert::OutputAssertExt;
use assert_cmd::Command;
use base64::Engine;
use predicates::prelude::*;
use serde_json::{json, Value};
use std::fs;
use std::path::Path;
use std::process::Output;

/// The vendor table (Netop KB 366), copied from the spec's codes.tsv.
const TABLE: &str = "1\tPIN Entered\n2\tNo PIN Entered\n3\t# Not Pressed After Entry\n4\tNo Phone Input - Timed Out
5\tPIN Expired and Not Changed\n6\tUsed Cache\n7\tBypassed Auth\n8\tUsed Cache\n9\tUsed Cache\n10\tCall Disconnected
11\tCall Timed Out\n12\tInvalid Phone Input\n13\tGot Voicemail\n14\tUser is Blocked\n15\tStatus Pending
16\tVoiceprint Succeeded\n17\tVoiceprint Enrolled\n18\tVoiceprint Expired and Not Changed
19\tText Message Authenticated\n20\tText Message Sent\n21\tMobile App Authenticated\n22\tOATH Code Pending
23\tOATH Code Verified\n24\tFallback OATH Code Verified\n25\tFallback Security Questions Answered
100\tInvalid Phone Number\n101\tCall Already In Progress\n102\tPhone Unreachable\n103\tInternational Calls Not Allowed
104\tIN Mode Not Allowed\n105\tAccount Locked\n106\tInvalid Message\n107\tInvalid Phone Number Format
108\tUser Hung Up the Phone\n109\tInsufficient Balance\n110\tPhone Extensions Not Allowed\n111\tInvalid Extension
112\tFraud Code Entered\n113\tRollover Not Allowed\n114\tReturn PIN Mode Not Allowed\n115\tEvent Confirmation Not Allowed
116\tInvalid Event Parameter\n117\tUnable to Place Call\n118\tVoiceprint Failed\n119\tVoiceprint Mode Not Allowed
120\tText Message Could Not Be Sent\n121\tNo Text Message Reply Received\n122\tText Message OTP Incorrect
123\tText Message OTP + PIN Incorrect\n124\tText Message Mode Not Allowed\n125\tLocalization Not Allowed
126\tUser Licenses Exceeded\n127\tText Message User Licenses Exceeded\n128\tVoiceprint User Licenses Exceeded
129\tMobile App Denied\n130\tMobile App Invalid PIN\n131\tMobile App PIN Not Changed\n132\tFraud Reported
133\tMobile App No Response\n134\tMobile App Mode Not Allowed\n135\tMobile App All Devices Blocked
136\tMobile App Notification Failed\n137\tMobile App Invalid Result\n138\tOATH Code Incorrect\n139\tDuplicate OATH Code
140\tOATH Code Out of Date\n141\tOATH Token Mode Not Allowed\n142\tOATH Code Result Timeout";

/// 15 lines; fields: 1:129  2:20  4:21  5:132  6:0?  7:129+7  9:99?  10:112  11:0?  13:143?+0?  14:20  15:108
/// (? = unknown). So 12 lines with fields, 14 fields; lines 3, 8 and 12 have none.
const SAMPLE: &str = "\
2017-02-14T02:57:24Z|pfrad|callStatus=129, errorId=0
2017-02-14T02:57:25Z|pfrad|Call Status: 20
plain line without fields
MFA Server: rawCallStatus = 21 user=alice
<callStatus>132</callStatus>
callStatus=0 startup
NPS: callStatus=129 retry; Result Code: 007
status=200 ok
callStatus=99
Call Status: 112 fraud code
callStatus=0
heartbeat
callStatus=143 callStatus=0
sms.result=20
<callStatus>108</callStatus> done
";

/// SAMPLE annotated by hand, line for line.
const ANNOTATED: &str = "\
2017-02-14T02:57:24Z|pfrad|callStatus=129 (Mobile App Denied), errorId=0
2017-02-14T02:57:25Z|pfrad|Call Status: 20 (Text Message Sent)
plain line without fields
MFA Server: rawCallStatus = 21 (Mobile App Authenticated) user=alice
<callStatus>132 (Fraud Reported)</callStatus>
callStatus=0 (unknown MFA result code) startup
NPS: callStatus=129 (Mobile App Denied) retry; Result Code: 007 (Bypassed Auth)
status=200 ok
callStatus=99 (unknown MFA result code)
Call Status: 112 (Fraud Code Entered) fraud code
callStatus=0 (unknown MFA result code)
heartbeat
callStatus=143 (unknown MFA result code) callStatus=0 (unknown MFA result code)
sms.result=20 (Text Message Sent)
<callStatus>108 (User Hung Up the Phone)</callStatus> done
";

const WITH_FIELDS: [usize; 12] = [1, 2, 4, 5, 6, 7, 9, 10, 11, 13, 14, 15];

fn bin() -> Command {
    let mut cmd = Command::cargo_bin("mfa-annotate").unwrap();
    cmd.env_remove("NO_COLOR").env_remove("CLICOLOR_FORCE");
    cmd
}

fn run(args: &[&str], stdin: &str) -> Output {
    bin().args(args).write_stdin(stdin).output().unwrap()
}

/// Runs on SAMPLE as stdin.
fn on_sample(args: &[&str]) -> Output {
    run(args, SAMPLE)
}

/// The annotated SAMPLE lines with these 1-based numbers, each with its `\n`.
fn pick(numbers: &[usize]) -> String {
    let lines: Vec<&str> = ANNOTATED.lines().collect();
    numbers
        .iter()
        .map(|&n| format!("{}\n", lines[n - 1]))
        .collect()
}

/// A filter on SAMPLE prints exactly these lines, with status 0, or nothing with status 1.
fn selects(args: &[&str], lines: &[usize]) {
    let status = i32::from(lines.is_empty());
    on_sample(args).assert().code(status).stdout(pick(lines));
}

/// The run ends with `status` and prints exactly `want`.
fn check(args: &[&str], stdin: &str, status: i32, want: &str) {
    run(args, stdin)
        .assert()
        .code(status)
        .stdout(want.to_string());
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Writes `content` to `dir/name` (creating folders) and returns the path as a string.
fn put(dir: &Path, name: &str, content: &[u8]) -> String {
    let path = dir.join(name);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, content).unwrap();
    path.to_str().unwrap().to_string()
}

fn table() -> Vec<(u64, &'static str)> {
    let pairs = TABLE.lines().map(|l| l.split_once('\t').unwrap());
    pairs.map(|(c, d)| (c.parse().unwrap(), d)).collect()
}

/// All runs of ASCII digits in a line, as numbers.
fn numbers(line: &str) -> Vec<u64> {
    let runs = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty());
    runs.map(|s| s.parse().unwrap()).collect()
}

fn has_line(text: &str, want: &str) -> bool {
    text.lines().any(|l| l.trim() == want)
}

fn strip_ansi(bytes: &[u8]) -> Vec<u8> {
    let (mut out, mut i) = (Vec::new(), 0);
    while i < bytes.len() {
        if bytes[i] == 0x1B && bytes.get(i + 1) == Some(&b'[') {
            i += 2;
            while i < bytes.len() && !(0x40..=0x7E).contains(&bytes[i]) {
                i += 1;
            }
        } else {
            out.push(bytes[i]);
        }
        i += 1;
    }
    out
}

/// One JSON value per non-empty output line.
fn json_lines(bytes: &[u8]) -> Vec<Value> {
    let text = std::str::from_utf8(bytes).unwrap();
    let lines = text.lines().filter(|l| !l.trim().is_empty());
    lines.map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Every JSON value in the output (objects one after another or arrays of them), flattened.
fn json_values(bytes: &[u8]) -> Vec<Value> {
    let mut out = Vec::new();
    for v in serde_json::Deserializer::from_slice(bytes).into_iter::<Value>() {
        match v.unwrap() {
            Value::Array(items) => out.extend(items),
            other => out.push(other),
        }
    }
    out
}

/// `[lines, lines_with_fields, fields]` of a summary.
fn counts(summary: &Value) -> Value {
    json!([
        summary["lines"],
        summary["lines_with_fields"],
        summary["fields"]
    ])
}

/// The `codes` entries of a summary that are known (whether unknown ones are listed there too is open).
fn known_codes(summary: &Value) -> Vec<Value> {
    let codes = summary["codes"].as_array().expect("codes is an array");
    codes
        .iter()
        .filter(|c| c["known"] == json!(true))
        .cloned()
        .collect()
}

fn code(code: u64, count: u64, description: &str, kind: &str, fraud: bool) -> Value {
    json!({"code": code, "count": count, "description": description, "kind": kind,
           "fraud": fraud, "known": true})
}

/// The known codes of SAMPLE counted `times` over, in the table's order (count down, then code up).
fn sample_codes(times: u64) -> Vec<Value> {
    vec![
        code(20, 2 * times, "Text Message Sent", "result", false),
        code(129, 2 * times, "Mobile App Denied", "error", false),
        code(7, times, "Bypassed Auth", "result", false),
        code(21, times, "Mobile App Authenticated", "result", false),
        code(108, times, "User Hung Up the Phone", "error", false),
        code(112, times, "Fraud Code Entered", "error", true),
        code(132, times, "Fraud Reported", "error", true),
    ]
}

#[test]
fn sample_without_options_gives_the_hand_annotated_text() {
    check(&[], SAMPLE, 0, ANNOTATED);
}

#[test]
fn matching_prints_only_annotated_lines_that_have_a_field() {
    selects(&["-m"], &WITH_FIELDS);
    selects(&["--matching"], &WITH_FIELDS);
    check(&["-m"], "plain\nstatus=200\n", 1, "");
}

#[test]
fn code_list_takes_numbers_and_ranges_and_ignores_leading_zeros_in_the_log() {
    selects(&["--code", "129,132"], &[1, 5, 7]);
    selects(&["--code", "100-142"], &[1, 5, 7, 10, 15]); // 143 on line 13 is just outside
    selects(&["--code", "7,20-22"], &[2, 4, 7, 14]); // `Result Code: 007` on line 7 is code 7
    selects(&["--code", "0"], &[6, 11, 13]);
    selects(&["--code", "140"], &[]);
}

#[test]
fn an_invalid_code_list_is_a_usage_error() {
    for list in ["abc", "5-2"] {
        let out = on_sample(&["--code", list]).assert().code(2).stdout("");
        out.stderr(predicate::str::is_empty().not());
    }
}

#[test]
fn kind_selects_result_error_or_fraud_and_132_counts_as_error_too() {
    selects(&["--kind", "result"], &[2, 4, 7, 14]);
    selects(&["--kind", "error"], &[1, 5, 7, 10, 15]);
    selects(&["--kind", "fraud"], &[5, 10]);
}

#[test]
fn unknown_only_selects_codes_missing_from_the_table() {
    selects(&["--unknown-only"], &[6, 9, 11, 13]);
}

#[test]
fn field_filters_must_all_hold_for_the_same_field() {
    selects(&["--kind", "error", "--code", "129"], &[1, 7]);
    selects(&["--kind", "fraud", "--code", "100-131"], &[10]);
    selects(&["--unknown-only", "--code", "0-50"], &[6, 11, 13]);
    selects(&["-m", "--kind", "fraud"], &[5, 10]);
    // line 7 has an error field (129) and a field with code 7 (a result), but no field that is both
    selects(&["--kind", "error", "--code", "7"], &[]);
    selects(&["--kind", "result", "--code", "129"], &[]);
}

#[test]
fn invert_prints_exactly_the_lines_the_filter_drops() {
    selects(&["-v"], &[3, 8, 12]);
    selects(&["-m", "-v"], &[3, 8, 12]);
    let not_error = [2, 3, 4, 6, 8, 9, 11, 12, 13, 14];
    selects(&["--invert", "--kind", "error"], &not_error);
    let all_but_0 = [1, 2, 3, 4, 5, 7, 8, 9, 10, 12, 14, 15];
    selects(&["-v", "--unknown-only", "--code", "0"], &all_but_0);
    check(&["-v"], "callStatus=1\n", 1, "");
}

#[test]
fn exit_status_is_like_grep_with_a_filter_and_2_wins_over_1() {
    let dir = tempfile::tempdir().unwrap();
    let sample = put(dir.path(), "sample.log", SAMPLE.as_bytes());
    let plain = put(dir.path(), "plain.log", b"plain\n");
    let missing = dir.path().join("missing.log").to_str().unwrap().to_string();
    // without a filter: 0 even when nothing has a field (-n is not a filter)
    check(&[], "plain\n", 0, "plain\n");
    check(&["-n"], "plain\n", 0, "1:plain\n");
    // a missing file among others: 2, and the other file is still filtered
    let out = run(&["--kind", "error", &sample, &missing], "");
    let out = out.assert().code(2).stdout(pick(&[1, 5, 7, 10, 15]));
    out.stderr(predicate::str::contains("missing.log"));
    check(&["--kind", "error", &plain, &missing], "", 2, "");
    check(&["-m", &missing, &plain], "", 2, "");
    run(&["-c", &plain, &missing], "").assert().code(2);
    check(&[&plain, &missing], "", 2, "plain\n");
}

#[test]
fn count_prints_only_the_number_of_selected_lines_for_one_input() {
    check(&["-c"], SAMPLE, 0, "12\n");
    check(&["--count", "--kind", "error"], SAMPLE, 0, "5\n");
    check(&["-c", "-v"], SAMPLE, 0, "3\n");
    check(&["-c", "--unknown-only"], SAMPLE, 0, "4\n");
    check(&["-c", "--code", "140"], SAMPLE, 1, "0\n");
    let dir = tempfile::tempdir().unwrap();
    let one = put(dir.path(), "one.log", SAMPLE.as_bytes());
    check(&["-c", &one], "", 0, "12\n");
}

#[test]
fn count_prints_path_and_count_per_file_for_several_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let a = put(dir.path(), "a.log", SAMPLE.as_bytes());
    let b = put(dir.path(), "b.log", b"nothing here\n");
    check(&["-c", &a, &b], "", 0, &format!("{a}:12\n{b}:0\n"));
    let fraud = format!("{b}:0\n{a}:2\n");
    check(&["-c", "--kind", "fraud", &b, &a], "", 0, &fraud);
    check(&["-c", &b, &b], "", 1, &format!("{b}:0\n{b}:0\n"));
}

#[test]
fn filename_and_line_number_prefixes_are_exact_on_crlf_input() {
    let dir = tempfile::tempdir().unwrap();
    let crlf = b"start\r\ncallStatus=129\r\nidle\r\nCall Status: 20, done\r\nend\r\n";
    let p = put(dir.path(), "win.log", crlf);
    let l2 = "callStatus=129 (Mobile App Denied)\r\n";
    let l4 = "Call Status: 20 (Text Message Sent), done\r\n";
    let both = format!("{p}:2:{l2}{p}:4:{l4}");
    check(&["-H", "-n", "-m", &p], "", 0, &both);
    let named = format!("{p}:{l4}");
    check(&["--with-filename", "--kind", "result", &p], "", 0, &named);
    let all = format!("1:start\r\n2:{l2}3:idle\r\n4:{l4}5:end\r\n");
    check(&["--line-number", &p], "", 0, &all);
}

#[test]
fn line_numbers_are_exact_without_a_final_newline_and_restart_per_file() {
    let dir = tempfile::tempdir().unwrap();
    let last = put(dir.path(), "last.log", b"a\nb\ncallStatus=21");
    let want = format!("{last}:3:callStatus=21 (Mobile App Authenticated)");
    check(&["-H", "-n", "-m", &last], "", 0, &want);
    let x = put(dir.path(), "x.log", b"callStatus=7\nplain\n");
    let y = put(dir.path(), "y.log", b"plain\nplain\ncallStatus=8\n");
    let want = format!("{x}:1:callStatus=7 (Bypassed Auth)\n{y}:3:callStatus=8 (Used Cache)\n");
    check(&["-H", "-n", "-m", &x, &y], "", 0, &want);
}

#[test]
fn line_numbers_stay_exact_across_read_blocks_and_threads() {
    let mut big = Vec::new();
    for n in 1..=100_000 {
        match n {
            1 | 50_000 | 99_999 => big.extend(format!("line {n} callStatus=129\r\n").bytes()),
            100_000 => big.extend(b"callStatus=21"),
            _ => big.extend(format!("filler line {n:06}\r\n").bytes()),
        }
    }
    let want = "1:line 1 callStatus=129 (Mobile App Denied)\r\n\
                50000:line 50000 callStatus=129 (Mobile App Denied)\r\n\
                99999:line 99999 callStatus=129 (Mobile App Denied)\r\n\
                100000:callStatus=21 (Mobile App Authenticated)";
    let dir = tempfile::tempdir().unwrap();
    let p = put(dir.path(), "big.log", &big);
    for j in ["-j1", "-j4"] {
        for block in ["4096", "1048576"] {
            check(&["-n", "-m", j, "--block-size", block, &p], "", 0, want);
        }
        let stdin = bin()
            .args(["-n", "-m", j])
            .write_stdin(big.clone())
            .output();
        stdin.unwrap().assert().success().stdout(want);
        check(&["-c", j, &p], "", 0, "4\n");
    }
}

#[test]
fn stdin_is_called_stdin_in_prefixes() {
    let want = format!("<stdin>:5:{}<stdin>:10:{}", pick(&[5]), pick(&[10]));
    check(&["-H", "-n", "--kind", "fraud"], SAMPLE, 0, &want);
    let want = "<stdin>:2:callStatus=7 (Bypassed Auth)\n";
    check(&["-H", "-n", "-m", "-"], "x\ncallStatus=7\n", 0, want);
}

#[test]
fn stats_text_summary_matches_a_hand_count() {
    let out = on_sample(&["--stats"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), ANNOTATED, "--stats keeps the normal output");
    let summary = String::from_utf8(out.stderr).unwrap();
    for want in ["lines read: 15", "lines with fields: 12", "fields: 14"] {
        assert!(has_line(&summary, want), "{want:?} missing in:\n{summary}");
    }
    // rows by count down, then code up: 20 and 129 twice, then 7, 21, 108, 112, 132 once
    let rows = [
        (20, 2, "Text Message Sent", "result"),
        (129, 2, "Mobile App Denied", "error"),
        (7, 1, "Bypassed Auth", "result"),
        (21, 1, "Mobile App Authenticated", "result"),
        (108, 1, "User Hung Up the Phone", "error"),
        (112, 1, "Fraud Code Entered", "error"),
        (132, 1, "Fraud Reported", "error"),
    ];
    let lines: Vec<&str> = summary.lines().map(str::trim).collect();
    let (mut positions, mut bars) = (Vec::new(), Vec::new());
    for (code, count, desc, kind) in rows {
        let i = lines.iter().position(|l| l.contains(desc)).expect(desc);
        let row = lines[i];
        let nums = numbers(row);
        assert!(
            nums.contains(&code) && nums.contains(&count) && row.contains(kind),
            "{row}"
        );
        positions.push(i);
        bars.push(row.matches('█').count());
    }
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    // the longest bar is the biggest count's; a count of 1 gets a shorter one, but one
    let longest = lines.iter().map(|l| l.matches('█').count()).max();
    assert_eq!((longest, bars[1]), (Some(bars[0]), bars[0]), "{bars:?}");
    assert!(bars[2..].iter().all(|&b| b >= 1 && b < bars[0]), "{bars:?}");
    let unknown = lines.iter().find(|l| l.starts_with("unknown codes:"));
    assert_eq!(unknown, Some(&"unknown codes: 0 (3), 99 (1), 143 (1)"));
}

#[test]
fn stats_count_every_line_read_even_when_filtered() {
    let out = on_sample(&["--stats", "--code", "129"]);
    assert_eq!(stdout(&out), pick(&[1, 7]));
    let summary = String::from_utf8(out.stderr).unwrap();
    for want in ["lines read: 15", "lines with fields: 12", "fields: 14"] {
        assert!(has_line(&summary, want), "{want:?} in:\n{summary}");
    }
    let only = stdout(&on_sample(&["--stats-only", "--kind", "fraud"]));
    assert!(has_line(&only, "fields: 14"), "{only}");
    assert!(!only.contains("pfrad"), "--stats-only prints no log lines");
}

#[test]
fn stats_json_is_one_object_with_the_hand_counts() {
    let only = on_sample(&["--stats-only", "--json"]);
    assert_eq!(only.status.code(), Some(0));
    let on_stderr = on_sample(&["--stats", "--json"]);
    for bytes in [&only.stdout, &on_stderr.stderr] {
        let v: Value = serde_json::from_slice(bytes).expect("exactly one JSON object");
        assert_eq!(v["path"], Value::Null);
        assert_eq!(counts(&v), json!([15, 12, 14]));
        assert_eq!(known_codes(&v), sample_codes(1));
        let unknown = json!([{"code": 0, "count": 3}, {"code": 99, "count": 1},
                             {"code": 143, "count": 1}]);
        assert_eq!(v["unknown"], unknown);
    }
}

#[test]
fn stats_per_file_gives_each_file_and_the_total() {
    let dir = tempfile::tempdir().unwrap();
    let a = put(dir.path(), "a.log", SAMPLE.as_bytes());
    let b = put(dir.path(), "b.log", b"callStatus=129\nplain\n");
    let text = stdout(&run(&["--stats-only", "--stats-per-file", &a, &b], ""));
    for want in [
        "lines read: 15",
        "lines read: 2",
        "lines read: 17",
        "fields: 15",
    ] {
        assert!(has_line(&text, want), "{want:?} in:\n{text}");
    }
    assert!(text.contains(&a) && text.contains(&b), "each file named");
    let out = run(&["--stats-only", "--stats-per-file", "--json", &a, &b], "");
    let values = json_values(&out.stdout);
    assert_eq!(values.len(), 3, "{values:?}");
    let by_path = |p: Value| values.iter().find(|v| v["path"] == p).unwrap().clone();
    let (va, vb, total) = (by_path(json!(a)), by_path(json!(b)), by_path(Value::Null));
    assert_eq!(counts(&va), json!([15, 12, 14]));
    assert_eq!(known_codes(&va), sample_codes(1));
    assert_eq!(counts(&vb), json!([2, 1, 1]));
    let denied = |n| code(129, n, "Mobile App Denied", "error", false);
    assert_eq!(known_codes(&vb), [denied(1)]);
    assert_eq!(vb["unknown"], json!([]));
    assert_eq!(counts(&total), json!([17, 13, 15]));
    assert_eq!(known_codes(&total)[0], denied(3));
}

#[test]
fn stats_are_identical_for_j1_to_j4_on_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "a.log", SAMPLE.as_bytes());
    put(dir.path(), "b.log", SAMPLE.replace('\n', "\r\n").as_bytes());
    put(dir.path(), "sub/c.log", b"callStatus=129\nnone\n");
    put(dir.path(), "sub/d.log", b"callStatus=0");
    let folder = dir.path().to_str().unwrap();
    // SAMPLE twice, plus one 129 and one 0: 129 (5) now comes before 20 (4)
    let mut want_codes = sample_codes(2);
    want_codes[1] = code(129, 5, "Mobile App Denied", "error", false);
    want_codes.swap(0, 1);
    let want_unknown = json!([{"code": 0, "count": 7}, {"code": 99, "count": 2},
                              {"code": 143, "count": 2}]);
    let stats = |j: usize, args: &[&str]| -> Vec<u8> {
        let jn = format!("-j{j}");
        run(
            &[&[jn.as_str(), "--stats-only", folder][..], args].concat(),
            "",
        )
        .stdout
    };
    let per_file = |j: usize| {
        let mut values = json_values(&stats(j, &["--stats-per-file", "--json"]));
        values.sort_by_key(|v| v["path"].to_string());
        values
    };
    let (text_j1, per_file_j1) = (stats(1, &[]), per_file(1));
    assert_eq!(per_file_j1.len(), 5, "four files and the total");
    for j in 1..=4 {
        let v: Value = serde_json::from_slice(&stats(j, &["--json"])).unwrap();
        assert_eq!(counts(&v), json!([33, 26, 30]), "-j{j}");
        assert_eq!(known_codes(&v), want_codes, "-j{j}");
        assert_eq!(v["unknown"], want_unknown, "-j{j}");
        assert!(stats(j, &[]) == text_j1, "text summary differs at -j{j}");
        assert_eq!(per_file(j), per_file_j1, "per-file at -j{j}");
    }
}

#[test]
fn json_lines_describe_each_field_exactly() {
    let input: &[u8] = b"callStatus=129, Call Status: 20\r\nx <callStatus>132</callStatus>\n\
                         plain\ncaf\xE9 rawCallStatus=0\nResult Code: 007";
    let out = bin().arg("--json").write_stdin(input).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let mut objects = json_lines(&out.stdout);
    assert_eq!(objects.len(), 5, "one object per field");
    let bytes = objects[3].as_object_mut().unwrap().remove("text_bytes");
    let bytes = bytes.expect("text_bytes on the invalid UTF-8 line");
    let exact: &[u8] = b"caf\xE9 rawCallStatus=0";
    let decoded = base64::engine::general_purpose::STANDARD.decode(bytes.as_str().unwrap());
    assert_eq!(decoded.unwrap(), exact);
    assert!(objects.iter().all(|o| o.get("text_bytes").is_none()));
    let first = "callStatus=129, Call Status: 20";
    let want = [
        json!({"path": null, "line": 1, "byte_offset": 0, "field": "callStatus", "code": 129,
               "description": "Mobile App Denied", "kind": "error", "known": true,
               "fraud": false, "text": first}),
        json!({"path": null, "line": 1, "byte_offset": 16, "field": "Call Status", "code": 20,
               "description": "Text Message Sent", "kind": "result", "known": true,
               "fraud": false, "text": first}),
        // the XML field starts at its `<`
        json!({"path": null, "line": 2, "byte_offset": 35, "field": "callStatus", "code": 132,
               "description": "Fraud Reported", "kind": "error", "known": true, "fraud": true,
               "text": "x <callStatus>132</callStatus>"}),
        json!({"path": null, "line": 4, "byte_offset": 75, "field": "rawCallStatus", "code": 0,
               "description": null, "kind": "unknown", "known": false, "fraud": false,
               "text": "caf\u{FFFD} rawCallStatus=0"}),
        json!({"path": null, "line": 5, "byte_offset": 91, "field": "Result Code", "code": 7,
               "description": "Bypassed Auth", "kind": "result", "known": true,
               "fraud": false, "text": "Result Code: 007"}),
    ];
    for (got, want) in objects.iter().zip(&want) {
        assert_eq!(got, want);
    }
}

#[test]
fn json_lines_give_the_path_and_only_fields_matching_the_filters() {
    let dir = tempfile::tempdir().unwrap();
    let p = put(dir.path(), "s.log", SAMPLE.as_bytes());
    let all = json_lines(&run(&["--json", &p], "").stdout);
    assert_eq!(all.len(), 14);
    assert!(all.iter().all(|o| o["path"] == json!(p)));
    let line_code = |args: &[&str]| -> Vec<(u64, u64)> {
        let objects = json_lines(&run(&[&["--json", p.as_str()][..], args].concat(), "").stdout);
        let pair = |o: &Value| (o["line"].as_u64().unwrap(), o["code"].as_u64().unwrap());
        objects.iter().map(pair).collect()
    };
    let results = [(2, 20), (4, 21), (7, 7), (14, 20)];
    assert_eq!(line_code(&["--kind", "result"]), results);
    let zeros = [(1, 129), (6, 0), (7, 129), (11, 0), (13, 0)];
    assert_eq!(line_code(&["--code", "129,0"]), zeros);
    let unknown = line_code(&["--unknown-only", "--code", "100-200"]);
    assert_eq!(unknown, [(13, 143)]);
}

#[test]
fn explain_describes_each_code_and_fails_on_an_unknown_one() {
    let out = run(&["--explain", "129", "132", "7"], "");
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    let says = |i: usize, code: u64, words: &[&str]| {
        assert!(numbers(lines[i]).contains(&code), "{:?}", lines[i]);
        assert!(words.iter().all(|w| lines[i].contains(w)), "{:?}", lines[i]);
    };
    says(0, 129, &["error", "Mobile App Denied"]);
    says(1, 132, &["error", "Fraud Reported"]);
    says(2, 7, &["result", "Bypassed Auth"]);
    let kind_132 = lines[1].replace("Fraud Reported", "").to_lowercase();
    assert!(kind_132.contains("fraud"), "kind of 132: {:?}", lines[1]);
    let out = run(&["--explain", "129", "999"], "");
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(numbers(lines[1]).contains(&999) && lines[1].to_lowercase().contains("unknown"));
}

#[test]
fn list_codes_prints_all_68_aligned_and_as_a_json_array() {
    let table = table();
    assert_eq!(table.len(), 68);
    let out = run(&["--list-codes"], "");
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 68, "{text}");
    let (mut columns, mut seen) = (Vec::new(), Vec::new());
    for line in &lines {
        let code = numbers(line)[0];
        let (_, desc) = table.iter().find(|(c, _)| *c == code).expect(line);
        let at = line.find(desc).expect(line);
        columns.push(line[..at].chars().count());
        seen.push(code);
    }
    assert!(
        columns.iter().all(|&c| c == columns[0]),
        "aligned: {columns:?}"
    );
    seen.sort();
    assert_eq!(seen, table.iter().map(|(c, _)| *c).collect::<Vec<_>>());
    let out = run(&["--list-codes", "--json"], "");
    let Value::Array(mut array) = serde_json::from_slice::<Value>(&out.stdout).unwrap() else {
        panic!("not a JSON array");
    };
    array.sort_by_key(|o| o["code"].as_u64());
    let object = |&(c, d): &(u64, &str)| {
        let kind = if c < 100 { "result" } else { "error" };
        json!({"code": c, "description": d, "kind": kind, "fraud": c == 112 || c == 132})
    };
    let want: Vec<Value> = table.iter().map(object).collect();
    assert_eq!(array, want);
}

#[test]
fn search_needs_every_word_case_insensitively() {
    let out = run(&["--search", "oath", "timeout"], "");
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(numbers(&text).contains(&142) && text.contains("OATH Code Result Timeout"));
    let out = run(&["--search", "MOBILE", "app"], "");
    assert_eq!(out.status.code(), Some(0));
    let mut codes: Vec<u64> = stdout(&out).lines().map(|l| numbers(l)[0]).collect();
    codes.sort();
    assert_eq!(codes, [21, 129, 130, 131, 133, 134, 135, 136, 137]);
    run(&["--search", "zebra"], "").assert().code(1);
    run(&["--search", "oath", "zebra"], "").assert().code(1);
}

#[test]
fn codes_file_overrides_and_adds_codes_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let tsv = b"code\tdescription\n# Danish\n\n129\tMobilapp afvist\n42\tCustom Result\n\
                150\tCustom Error\n";
    let f = put(dir.path(), "da.tsv", tsv);
    let log = "callStatus=129 x\ncallStatus=42\ncallStatus=150\n";
    let with = |args: &[&str]| run(&[&["--codes-file", f.as_str()][..], args].concat(), log);
    let (l1, l2, l3) = (
        "callStatus=129 (Mobilapp afvist) x\n",
        "callStatus=42 (Custom Result)\n",
        "callStatus=150 (Custom Error)\n",
    );
    assert_eq!(stdout(&with(&[])), format!("{l1}{l2}{l3}"));
    assert_eq!(stdout(&with(&["--kind", "result"])), l2);
    let numbered = format!("1:{l1}3:{l3}");
    assert_eq!(stdout(&with(&["--kind", "error", "-n"])), numbered);
    assert_eq!(with(&["--unknown-only"]).status.code(), Some(1));
    let explain = with(&["--explain", "129", "42", "150"]);
    assert_eq!(explain.status.code(), Some(0));
    let text = stdout(&explain);
    let lines: Vec<&str> = text.lines().collect();
    let says = |i: usize, a: &str, b: &str| lines[i].contains(a) && lines[i].contains(b);
    assert!(
        says(0, "129", "Mobilapp afvist") && !text.contains("Mobile App"),
        "{text}"
    );
    assert!(
        says(1, "result", "Custom Result") && says(2, "error", "Custom Error"),
        "{text}"
    );
    let listed = stdout(&with(&["--list-codes"]));
    assert_eq!(listed.lines().filter(|l| !l.trim().is_empty()).count(), 70);
    assert!(stdout(&with(&["--search", "AFVIST"])).contains("129"));
    let stats = with(&["--stats-only", "--json"]).stdout;
    let stats: Value = serde_json::from_slice(&stats).unwrap();
    assert_eq!(stats["unknown"], json!([]));
    let want = [
        code(42, 1, "Custom Result", "result", false),
        code(129, 1, "Mobilapp afvist", "error", false),
        code(150, 1, "Custom Error", "error", false),
    ];
    assert_eq!(known_codes(&stats), want);
    let fields = json_lines(&with(&["--json"]).stdout);
    let custom = &fields[2];
    assert_eq!(custom["description"], json!("Custom Error"));
    assert_eq!(
        (&custom["kind"], &custom["known"]),
        (&json!("error"), &json!(true))
    );
}

#[test]
fn malformed_codes_file_is_refused_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[u8], usize); 3] = [
        (b"code\tdescription\n# comment\n\n129 no tab\n", 4),
        (b"abc\tNot a number\n", 1),
        (b"# x\n129\tfine\n5\t\n", 3),
    ];
    for (i, (content, line)) in cases.iter().enumerate() {
        let f = put(dir.path(), &format!("bad{i}.tsv"), content);
        let out = run(&["--codes-file", &f], "callStatus=129\n");
        let named = predicate::str::contains(format!("{f}:{line}:"));
        out.assert().code(2).stdout("").stderr(named);
    }
}

#[test]
fn color_always_adds_escapes_that_strip_to_the_plain_output() {
    let cases: [&[&str]; 3] = [&[], &["-H", "-n", "-m"], &["--kind", "error", "-n"]];
    for args in cases {
        let plain = on_sample(&[&["--color", "never"][..], args].concat()).stdout;
        let coloured = on_sample(&[&["--color", "always"][..], args].concat()).stdout;
        assert!(!plain.contains(&0x1B), "{args:?}");
        assert!(coloured.windows(2).any(|w| w == b"\x1b["), "{args:?}");
        assert!(
            strip_ansi(&coloured) == plain,
            "stripped differs with {args:?}"
        );
    }
    check(&["--color", "never"], SAMPLE, 0, ANNOTATED);
}

#[test]
fn color_auto_gives_none_when_piped_or_with_no_color() {
    let cases: [&[&str]; 3] = [
        &[],
        &["--color", "auto"],
        &["--color=auto", "-H", "-n", "-m"],
    ];
    for args in cases {
        assert!(!on_sample(args).stdout.contains(&0x1B), "{args:?}");
        let out = bin()
            .args(args)
            .env("NO_COLOR", "1")
            .write_stdin(SAMPLE)
            .output();
        assert!(!out.unwrap().stdout.contains(&0x1B), "NO_COLOR {args:?}");
    }
}

#[test]
fn color_is_never_written_into_output_files() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    put(&logs, "a.log", SAMPLE.as_bytes());
    let out = dir.path().join("out");
    let cmd = bin()
        .args(["--color", "always", "-o"])
        .arg(&out)
        .arg(logs)
        .output();
    cmd.unwrap().assert().success();
    assert_eq!(fs::read_to_string(out.join("a.log")).unwrap(), ANNOTATED);
    let p = put(dir.path(), "in-place.log", SAMPLE.as_bytes());
    run(&["--color", "always", "--in-place", &p], "")
        .assert()
        .success();
    assert_eq!(fs::read_to_string(p).unwrap(), ANNOTATED);
}
