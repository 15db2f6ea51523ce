//! `plenum loadtest` as a user runs it: it starts a node of its own, joins synthetic
//! WebRTC participants through the client API, and reports what flowed both ways. The
//! figures themselves (CPU, delivery ≥ 99 %) depend on the machine and are not asserted
//! here: this checks that every scenario kind really joins, sends, receives and leaves.

use std::process::Command;

use serde_json::Value;

fn loadtest(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_plenum"))
        .arg("loadtest")
        .args(args)
        .output()
        .expect("run plenum loadtest");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn stream<'a>(scenario: &'a Value, name: &str) -> &'a Value {
    scenario["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .find(|s| s["stream"] == name)
        .unwrap_or_else(|| panic!("no {name} stream in {scenario}"))
}

fn flowed_both_ways(scenario: &Value, name: &str) {
    let s = stream(scenario, name);
    for key in [
        "up_frames_sent",
        "up_frames_received",
        "down_frames_sent",
        "down_frames_received",
        "down_packets_received",
    ] {
        assert!(s[key].as_u64().expect(key) > 0, "{name} {key} in {s}");
    }
    // Nothing arrives that was not sent.
    assert!(
        s["up_frames_received"].as_u64() <= s["up_frames_sent"].as_u64(),
        "{s}"
    );
    assert!(
        s["down_frames_received"].as_u64() <= s["down_frames_sent"].as_u64(),
        "{s}"
    );
}

#[test]
fn scenarios_join_send_receive_and_report_as_json() {
    let (code, stdout, stderr) = loadtest(&[
        "--scenario",
        "personal-hd",
        "--scenario",
        "audio-only",
        "--scenario",
        "presentation",
        "--participants",
        "3",
        "--duration",
        "2",
        "--send",
        "320x180@300",
        "--json",
        "--no-pin",
    ]);
    // 0 when every requirement held, 1 when one missed (a debug build on a busy machine
    // can run media ticks over budget); the report is printed either way.
    assert!(matches!(code, Some(0 | 1)), "exit {code:?}: {stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let scenarios = report["scenarios"].as_array().expect("scenarios");
    assert_eq!(scenarios.len(), 3);
    for s in scenarios {
        let name = s["scenario"].as_str().expect("name");
        assert_eq!(s["participants"], 3, "{name}");
        assert_eq!(s["joined"], 3, "{name}: {}", s["errors"]);
        assert_eq!(s["held"], 3, "{name}");
        assert_eq!(s["leave_failures"], 0, "{name}");
        assert_eq!(s["join_to_first_frame"]["samples"], 3, "{name}");
        assert!(
            s["node_cpu_cores"].as_f64().expect("node cpu") > 0.0,
            "{name}"
        );
        assert!(
            s["node_memory_bytes"].as_u64().expect("node memory") > 0,
            "{name}"
        );
        assert!(s["generator_cpu_cores"].as_f64().is_some(), "{name}");
        flowed_both_ways(s, "audio");
    }
    flowed_both_ways(&scenarios[0], "video");
    assert!(
        !scenarios[1]["streams"]
            .as_array()
            .expect("streams")
            .iter()
            .any(|s| s["stream"] == "video"),
        "audio-only participants send and get no video"
    );
    flowed_both_ways(&scenarios[2], "video");
    flowed_both_ways(&scenarios[2], "presentation");
    assert_eq!(report["node_cpus"], Value::Null, "--no-pin");
}

#[test]
fn the_table_is_the_default_output() {
    let (code, stdout, stderr) = loadtest(&[
        "--scenario",
        "small-meetings",
        "--participants",
        "3",
        "--duration",
        "1",
        "--send",
        "160x90@100",
        "--no-pin",
    ]);
    assert!(matches!(code, Some(0 | 1)), "exit {code:?}: {stderr}");
    assert!(
        stdout.contains("scenario") && stdout.contains("part./core"),
        "{stdout}"
    );
    assert!(stdout.contains("small-meetings  3/3"), "{stdout}");
    assert!(
        stdout.contains("1 meeting of 3 SD video participants"),
        "{stdout}"
    );
}

#[test]
fn bad_arguments_are_refused_with_what_to_do() {
    let (code, _, stderr) = loadtest(&["--scenario", "everything"]);
    assert_eq!(code, Some(64));
    assert!(
        stderr.contains("unknown scenario \"everything\""),
        "{stderr}"
    );
    assert!(stderr.contains("personal-hd, shared-hd"), "{stderr}");

    let (code, _, stderr) = loadtest(&["--soak", "an hour"]);
    assert_eq!(code, Some(64));
    assert!(stderr.contains("not a duration like 1h"), "{stderr}");

    let (code, _, stderr) = loadtest(&["--participants", "0"]);
    assert_eq!(code, Some(2), "a usage error");
    assert!(stderr.contains("--participants"), "{stderr}");

    let (code, _, stderr) = loadtest(&["--send", "720p"]);
    assert_eq!(code, Some(64));
    assert!(stderr.contains("WxH@kbps"), "{stderr}");
}
